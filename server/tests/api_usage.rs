//! Black-box: bind a workspace, report usage with its key, settle by the operator API, read the
//! statements as JSON and CSV; and two server processes (the CLI) settling one day on PostgreSQL.

mod support;

use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::app::TestApp;

async fn report(app: &TestApp, key: &str, records: Value) -> support::app::Reply {
    let bearer = format!("Bearer {key}");
    app.call(
        "POST",
        "/api/v1/usage",
        Some(json!({ "records": records })),
        &[("authorization", &bearer)],
        "10.0.0.2",
    )
    .await
}

async fn operator_token(app: &TestApp) -> String {
    let operator = app
        .store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    format!(
        "Bearer {}",
        app.store
            .issue_operator_token(&operator, "test")
            .await
            .unwrap()
    )
}

async fn bind_report_settle_and_read_the_statements(app: TestApp) {
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    let yesterday = app.store.today().pred_opt().unwrap().to_string();
    let tomorrow = app.store.today().succ_opt().unwrap().to_string();

    let bound = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "生产环境"})),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    let key = bound.body["api_key"].as_str().unwrap().to_owned();
    let elsewhere = app
        .as_customer(
            &bob,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "mine"})),
        )
        .await;
    assert_eq!(
        (elsewhere.status, elsewhere.body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("workspace_bound_elsewhere"))
    );
    let no_csrf = app
        .call(
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-x", "name": "x"})),
            &[("cookie", alice.cookie.as_str())],
            "10.0.0.1",
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let listed = app
        .as_customer(&alice, "GET", "/api/v1/workspaces", None)
        .await;
    assert_eq!(listed.body[0]["workspace_id"], "ws-prod");
    assert!(
        listed.body[0].get("api_key").is_none(),
        "keys are shown once"
    );

    // Top up 100 so that cash pays.
    let token = operator_token(&app).await;
    let credited = app
        .call(
            "POST",
            "/api/v1/ops/bank-transfers",
            Some(json!({"account": "alice", "amount": "100", "reference": "R-1"})),
            &[("authorization", &token)],
            "10.9.9.9",
        )
        .await;
    assert_eq!(credited.status, StatusCode::CREATED);

    let records = json!([
        {"id": "r1", "item": "logs", "retention_days": 7, "quantity": "1500000", "day": yesterday},
        {"id": "r2", "item": "sms", "quantity": 30, "day": yesterday},
        {"id": "r1", "item": "logs", "retention_days": 7, "quantity": "1500000", "day": yesterday},
        {"id": "r3", "item": "logs", "retention_days": 5, "quantity": "1", "day": yesterday},
        {"id": "r4", "item": "sms", "quantity": "1", "day": tomorrow},
        {"id": "r5", "item": "sms", "quantity": "1"},
        "not a record",
    ]);
    let reply = report(&app, &key, records.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 2);
    assert_eq!(reply.body["duplicates"], 1);
    let codes: Vec<(u64, &str)> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (3, "retention_not_priced"),
            (4, "future_day"),
            (5, "invalid_record"),
            (6, "invalid_record")
        ]
    );
    let again = report(&app, &key, records).await;
    assert_eq!(
        (
            again.body["accepted"].clone(),
            again.body["duplicates"].clone()
        ),
        (json!(0), json!(3))
    );
    let forged = report(&app, "bcw_0000", json!([])).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let empty = report(&app, &key, json!([])).await;
    assert_eq!(empty.body["error"]["field"], "records");

    // A new key replaces the old one.
    let rotated = app
        .as_customer(&alice, "POST", "/api/v1/workspaces/ws-prod/key", None)
        .await;
    let new_key = rotated.body["api_key"].as_str().unwrap().to_owned();
    assert_eq!(
        report(
            &app,
            &key,
            json!([{"id":"x","item":"sms","quantity":"1","day":yesterday}])
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        report(
            &app,
            &new_key,
            json!([{"id":"r9","item":"network","quantity":"2","day":yesterday}])
        )
        .await
        .body["accepted"],
        1
    );

    // The operator settles yesterday: logs 1.5 × 1.2 = 1.80, SMS 3 × 1 = 3.00, network 2 × 2 = 4.00.
    let settle = |day: String| {
        let (app, token) = (&app, token.clone());
        async move {
            app.call(
                "POST",
                "/api/v1/ops/settlements",
                Some(json!({ "day": day })),
                &[("authorization", &token)],
                "10.9.9.9",
            )
            .await
        }
    };
    let settled = settle(yesterday.clone()).await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.body);
    assert_eq!(settled.body["status"], "settled");
    assert_eq!(settled.body["bills_charged"], 1);
    let twice = settle(yesterday.clone()).await;
    assert_eq!(twice.body["status"], "already_settled");
    let today = settle(app.store.today().to_string()).await;
    assert_eq!(today.body["error"]["code"], "day_not_over");
    let bad = settle("yesterday".into()).await;
    assert_eq!(bad.body["error"]["field"], "day");
    let wallet = app.as_customer(&alice, "GET", "/api/v1/wallet", None).await;
    assert_eq!(wallet.body["cash"], "91.20");

    // Consumption: three lines with quantity, unit price and what paid them.
    let uri = format!("/api/v1/consumption?from={yesterday}&to={yesterday}");
    let consumption = app.as_customer(&alice, "GET", &uri, None).await;
    assert_eq!(consumption.status, StatusCode::OK, "{}", consumption.body);
    assert_eq!(consumption.body["total"], 3);
    let lines = consumption.body["items"].as_array().unwrap();
    let summary: Vec<(String, String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap().into(),
                l["quantity"].as_str().unwrap().into(),
                l["unit_price"].as_str().unwrap().into(),
                l["paid_by"]["cash"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("logs".into(), "1500000".into(), "1.2".into(), "1.80".into()),
            ("network".into(), "2".into(), "2".into(), "4.00".into()),
            ("sms".into(), "30".into(), "1".into(), "3.00".into()),
        ]
    );
    let paged = app
        .as_customer(&alice, "GET", &format!("{uri}&per_page=2&page=2"), None)
        .await;
    assert_eq!(paged.body["items"].as_array().unwrap().len(), 1);
    let bob_sees = app.as_customer(&bob, "GET", &uri, None).await;
    assert_eq!(bob_sees.body["total"], 0, "only one's own bills");

    // Income and expenditure: the bill and the top-up, newest first, with balances after.
    let uri = format!("/api/v1/transactions?from={yesterday}&to={tomorrow}");
    let movements = app.as_customer(&alice, "GET", &uri, None).await;
    let items = movements.body["items"].as_array().unwrap();
    assert_eq!(items[0]["kind"], "bill_charge");
    assert_eq!(items[0]["cash_change_fen"], -880);
    assert_eq!(items[0]["cash_after"], "91.20");
    assert_eq!(items[1]["cash_after"], "100.00");

    // Statement totals equal the ledger: the lines add up to what left cash.
    let total: i64 = lines
        .iter()
        .map(|l| {
            billing::Amount::parse(l["amount"].as_str().unwrap())
                .unwrap()
                .fen()
        })
        .sum();
    assert_eq!(total, 880);

    // CSV: UTF-8 with a BOM, a header and one row per line.
    let (status, headers, csv) = app
        .raw(
            "GET",
            &format!("/api/v1/consumption?from={yesterday}&to={yesterday}&format=csv"),
            None,
            Some(alice.cookie.strip_prefix("bc_session=").unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let rows: Vec<&str> = csv
        .strip_prefix('\u{feff}')
        .expect("a BOM")
        .lines()
        .collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("day,workspace_id,item,"));
    assert!(
        rows[1].contains(",ws-prod,logs,7,1500000,1.5,1.2,1.80,"),
        "{}",
        rows[1]
    );

    // The headings in the customer's language when asked (the page's export link asks).
    for (lang, heading) in [
        (
            "zh-CN",
            "日期,工作空间,计费项,保存天数,用量,计费单位数,单价,金额,",
        ),
        (
            "en",
            "Day,Workspace,Billing item,Retention (days),Quantity,Billed units,Unit price,Amount,",
        ),
    ] {
        let (status, _, csv) = app
            .raw(
                "GET",
                &format!(
                    "/api/v1/consumption?from={yesterday}&to={yesterday}&format=csv&lang={lang}"
                ),
                None,
                Some(alice.cookie.strip_prefix("bc_session=").unwrap()),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert!(rows[0].starts_with(heading), "{lang}: {}", rows[0]);
        assert_eq!(rows.len(), 4, "the same rows in any language");
        assert!(
            rows[1].contains(",ws-prod,logs,7,"),
            "cells stay data: {}",
            rows[1]
        );
    }

    // Bad filters are named.
    for (query, field) in [
        ("format=csv&lang=fr", "lang"),
        ("lang=zh-CN", "lang"),
        ("from=2026-13-01", "from"),
        ("from=2026-11-02&to=2026-11-01", "to"),
        ("page=0", "page"),
        ("per_page=501", "per_page"),
        ("format=csv&page=0", "page"),
        ("format=csv&per_page=501", "per_page"),
        ("format=xls", "format"),
    ] {
        let reply = app
            .as_customer(&alice, "GET", &format!("/api/v1/consumption?{query}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(reply.body["error"]["field"], field, "{query}");
    }
    // A CSV export refuses the paging its JSON twin refuses.
    for list in ["bills", "transactions", "vouchers", "prepaid-cards"] {
        let reply = app
            .as_customer(
                &alice,
                "GET",
                &format!("/api/v1/{list}?format=csv&page=0"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{list}");
        assert_eq!(reply.body["error"]["field"], "page", "{list}");
    }
    // Voucher and card details: by activation day, and as CSV.
    let issued = app
        .call(
            "POST",
            "/api/v1/ops/vouchers",
            Some(json!({"account": "alice", "face_value": "30", "valid_days": 30})),
            &[("authorization", &token)],
            "10.9.9.9",
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED);
    let today = app.store.today().to_string();
    let listed = app
        .as_customer(
            &alice,
            "GET",
            &format!("/api/v1/vouchers?from={today}"),
            None,
        )
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let none = app
        .as_customer(
            &alice,
            "GET",
            &format!("/api/v1/vouchers?from={tomorrow}"),
            None,
        )
        .await;
    assert_eq!(none.body, json!([]));
    let (_, _, csv) = app
        .raw(
            "GET",
            "/api/v1/vouchers?format=csv",
            None,
            Some(alice.cookie.strip_prefix("bc_session=").unwrap()),
        )
        .await;
    let rows: Vec<&str> = csv
        .strip_prefix('\u{feff}')
        .expect("a BOM")
        .lines()
        .collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(
        rows[0].starts_with("number,kind,origin,face_value,"),
        "{}",
        rows[0]
    );
    let (_, _, zh) = app
        .raw(
            "GET",
            "/api/v1/vouchers?format=csv&lang=zh-CN",
            None,
            Some(alice.cookie.strip_prefix("bc_session=").unwrap()),
        )
        .await;
    assert!(
        zh.trim_start_matches('\u{feff}')
            .starts_with("编号,类型,来源,面额,余额,状态,激活时间,生效时间,失效时间\r\n"),
        "{zh}"
    );
    assert!(
        rows[1].contains(",regular_voucher,issued,30.00,30.00,active,"),
        "{}",
        rows[1]
    );
    let paged = app
        .as_customer(&alice, "GET", "/api/v1/prepaid-cards?page=2", None)
        .await;
    assert_eq!(paged.body["error"]["field"], "page");

    let bills = app
        .as_customer(&alice, "GET", "/api/v1/bills?month=2026-1", None)
        .await;
    assert_eq!(bills.body["error"]["field"], "month");
    app.store
        .check_ledger()
        .await
        .unwrap()
        .discrepancies
        .is_empty()
        .then_some(())
        .expect("the ledger balances");
    app.finish().await;
}

/// What the server's minute tick does: every past day with usage is settled, and last month gets
/// its monthly bills even when its last day had no usage.
async fn the_scheduler_settles_every_due_day_and_last_month(app: TestApp) {
    use chrono::Datelike;
    let account = app.store.create_billing_account("Acme").await.unwrap();
    let ws = app
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    let today = app.store.today();
    let last_month_day = today
        .with_day(1)
        .unwrap()
        .pred_opt()
        .unwrap()
        .pred_opt()
        .unwrap();
    let days = [last_month_day, today.pred_opt().unwrap()];
    for d in days {
        let record = backend::usage::UsageInput {
            id: d.to_string(),
            item: "network".into(),
            retention_days: None,
            quantity: "1".into(),
            day: d.to_string(),
        };
        app.store.ingest_usage(&ws, &[record]).await.unwrap();
    }
    let today_record = backend::usage::UsageInput {
        id: "today".into(),
        item: "network".into(),
        retention_days: None,
        quantity: "1".into(),
        day: today.to_string(),
    };
    app.store.ingest_usage(&ws, &[today_record]).await.unwrap();
    // The two past days are due; today is not over.
    assert_eq!(
        server::settlement::settle_due_days(&app.store)
            .await
            .bills_charged(),
        2
    );
    assert!(app.store.days_to_settle().await.unwrap().is_empty());
    assert_eq!(
        server::settlement::settle_due_days(&app.store)
            .await
            .bills_charged(),
        0,
        "nothing twice"
    );
    let months = app.store.monthly_bills(account, None).await.unwrap();
    assert!(
        months
            .iter()
            .any(|m| m.month == last_month_day.format("%Y-%m").to_string()),
        "{months:?}"
    );
    app.finish().await;
}

on_both_databases!(
    bind_report_settle_and_read_the_statements,
    the_scheduler_settles_every_due_day_and_last_month,
);

/// Two `billing-center settle` processes against one PostgreSQL database: each bill once.
#[tokio::test]
async fn two_processes_settle_a_day_once_on_postgresql() {
    let app = TestApp::postgres().await;
    let account = app.store.create_billing_account("Acme").await.unwrap();
    let yesterday = app.store.today().pred_opt().unwrap();
    for i in 0..30 {
        let ws = app
            .store
            .bind_workspace(account, &format!("ws-{i:02}"), "w", None)
            .await
            .unwrap()
            .workspace;
        let record = backend::usage::UsageInput {
            id: "r".into(),
            item: "network".into(),
            retention_days: None,
            quantity: "1".into(),
            day: yesterday.to_string(),
        };
        app.store.ingest_usage(&ws, &[record]).await.unwrap();
    }
    let url = app.database_url().unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_billing-center"))
            .args(["settle", "--day", &yesterday.to_string(), "--wait", "120"])
            .env("DATABASE_URL", &url)
            .env_remove("RUST_LOG")
            .output()
    };
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    for output in [&first, &second] {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let bills: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bills")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(bills, 30);
    // 30 bills of 2.00, all into arrears: charged once each.
    let account_now = app.store.account(account).await.unwrap();
    assert_eq!(account_now.arrears, billing::Amount::from_yuan(60));
    // Whichever process did not settle waited for the lease and found the day finished.
    let reports = format!(
        "{}{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(reports.contains("\"settled\""), "{reports}");
    assert!(reports.contains("\"already_settled\""), "{reports}");
    // A day whose lease another (live) process holds: without --wait, `settle` says so and
    // exits 1, so a cron job learns that nothing was settled.
    let before = yesterday.pred_opt().unwrap();
    sqlx::query(
        "INSERT INTO settlement_runs (usage_day, status, started_at, shards) VALUES ($1, 'running', 0, 1) \
         ON CONFLICT (usage_day) DO UPDATE SET status = 'running', shards = 1",
    )
    .bind(before.to_string())
    .execute(app.store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO settlement_shards (usage_day, shard, status, lease_owner, lease_until) \
         VALUES ($1, 0, 'running', 'elsewhere', $2) ON CONFLICT (usage_day, shard) DO UPDATE \
         SET status = 'running', lease_owner = 'elsewhere', lease_until = excluded.lease_until",
    )
    .bind(before.to_string())
    .bind((app.store.now() + chrono::Duration::seconds(50)).timestamp_micros())
    .execute(app.store.pool())
    .await
    .unwrap();
    let busy = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["settle", "--day", &before.to_string()])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1), "busy is not success");
    assert!(String::from_utf8_lossy(&busy.stdout).contains("\"busy\""));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("another process"));
    let bad = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["settle", "--day", "22/11/2026"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a day like 2026-11-22"));
    app.finish().await;
}

/// The /workspaces forms without a browser: the new key reaches the page once, in a cookie the
/// page clears; a bad id comes back at its field; the statements page renders the settled bill.
async fn the_workspace_forms_show_a_new_key_once(app: TestApp) {
    let alice = app.sign_up("alice").await;
    let session = alice.session_cookie().unwrap();
    let csrf = alice.body["csrf_token"].as_str().unwrap().to_owned();
    app.form_post(
        "bind_workspace",
        "/workspaces",
        &format!("csrf={csrf}&workspace_id=bad+id&name=x"),
        Some(&session),
    )
    .await
    .assert_error("workspace_id_invalid", Some("workspace_id"));
    let listed = app
        .call(
            "GET",
            "/api/v1/workspaces",
            None,
            &[("cookie", &support::app::cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(listed.body, json!([]), "nothing was bound");
    let bound = app
        .form_post(
            "bind_workspace",
            "/workspaces",
            &format!("csrf={csrf}&workspace_id=ws-1&name=One"),
            Some(&session),
        )
        .await;
    bound.assert_goes_to("/workspaces");
    assert!(!bound.location.contains("bcw_"), "no key in the URL");
    let new_key_cookie = |answer: &support::app::FormAnswer| {
        answer
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("bc_new_key="))
            .unwrap_or_else(|| panic!("a bc_new_key cookie: {answer:?}"))
    };
    let set = new_key_cookie(&bound);
    assert!(
        set.contains("HttpOnly") && set.contains("Path=/workspaces") && set.contains("Max-Age=120"),
        "{set}"
    );
    let flash = set.split(';').next().unwrap().to_owned();
    let key = flash.split_once(':').unwrap().1.to_owned();
    assert!(key.starts_with("bcw_"));
    assert!(app.store.workspace_by_key(&key).await.unwrap().is_some());
    let (_, headers, page) = app
        .raw(
            "GET",
            "/workspaces",
            None,
            Some(&format!("{session}; {flash}")),
        )
        .await;
    assert!(page.contains(&key), "the page shows the key");
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("bc_new_key=; Path=/workspaces"),
        "and clears it"
    );
    let (_, _, page) = app.raw("GET", "/workspaces", None, Some(&session)).await;
    assert!(!page.contains(&key));
    assert!(page.contains("ws-1"));
    assert!(
        page.contains(r#"action="/fn/rotate_workspace_key""#),
        "{page}"
    );
    // Rotating shows a new key the same way; the old one stops working.
    let rotated = app
        .form_post(
            "rotate_workspace_key",
            "/workspaces",
            &format!("csrf={csrf}&workspace_id=ws-1"),
            Some(&session),
        )
        .await;
    rotated.assert_goes_to("/workspaces");
    let rotated_cookie = new_key_cookie(&rotated);
    assert!(!rotated_cookie.contains(&key));
    let new_key = rotated_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .to_owned();
    assert!(app.store.workspace_by_key(&key).await.unwrap().is_none());
    assert!(
        app.store
            .workspace_by_key(&new_key)
            .await
            .unwrap()
            .is_some()
    );
    let refused = app
        .form_post(
            "rotate_workspace_key",
            "/workspaces",
            "csrf=wrong&workspace_id=ws-1",
            Some(&session),
        )
        .await;
    refused.assert_error("csrf_failed", None);
    assert!(refused.headers.get("set-cookie").is_none());
    assert!(
        app.store
            .workspace_by_key(&new_key)
            .await
            .unwrap()
            .is_some(),
        "a refused rotation changes nothing"
    );

    // The statements page, rendered on the server.
    let (status, _, page) = app
        .raw("GET", "/bills?view=transactions", None, Some(&session))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"statement-empty\""), "{page}");
    app.finish().await;
}

on_both_databases!(the_workspace_forms_show_a_new_key_once);
