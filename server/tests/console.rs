//! Black-box: the console's side (issue 15). Token rules at the HTTP surface, binding with the
//! console's proof (squatted ids refused), unbinding, usage reported with the console's service
//! token, the console's status of a workspace (arrears and since when), and the panel's role
//! matrix and numbers (equal to the statements), on both databases.

mod support;

use axum::http::StatusCode;
use backend::console::{ConsoleClaims, ConsoleKey, ConsoleRole};
use serde_json::{Value, json};
use support::app::TestApp;

const KEY: &str = "the console's signing key, 32 bytes or more";

fn key() -> ConsoleKey {
    ConsoleKey::from_text(KEY).unwrap()
}

fn with_console(mut app: TestApp) -> TestApp {
    app.store = app.store.clone().with_console_key(Some(key()), true);
    app
}

fn token(app: &TestApp, ws: &str, role: ConsoleRole) -> String {
    key().sign(&ConsoleClaims::new(
        "console-user-1",
        ws,
        role,
        app.store.now(),
        600,
    ))
}

async fn with_bearer(
    app: &TestApp,
    method: &str,
    uri: &str,
    bearer: &str,
    body: Option<Value>,
) -> support::app::Reply {
    let header = format!("Bearer {bearer}");
    app.call(method, uri, body, &[("authorization", &header)], "10.0.0.2")
        .await
}

fn code(reply: &support::app::Reply) -> &str {
    reply.body["error"]["code"].as_str().unwrap_or_default()
}

async fn binding_needs_the_owners_token(app: TestApp) {
    let app = with_console(app);
    let squatter = app.customer("squatter").await;
    let owner = app.customer("owner").await;
    let bind = |token: Option<String>| {
        let mut body = json!({"workspace_id": "ws-prod", "name": "Production"});
        if let Some(token) = token {
            body["console_token"] = token.into();
        }
        body
    };

    // Without a token, with a token for another workspace, or an administrator's: refused.
    let refused = app
        .as_customer(&squatter, "POST", "/api/v1/workspaces", Some(bind(None)))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(code(&refused), "console_token_required");
    assert_eq!(refused.body["error"]["field"], "console_token");
    let other = token(&app, "ws-other", ConsoleRole::Owner);
    let refused = app
        .as_customer(
            &squatter,
            "POST",
            "/api/v1/workspaces",
            Some(bind(Some(other))),
        )
        .await;
    assert_eq!(
        (refused.status, code(&refused)),
        (StatusCode::FORBIDDEN, "console_token_other_workspace")
    );
    let admin = token(&app, "ws-prod", ConsoleRole::Administrator);
    let refused = app
        .as_customer(
            &squatter,
            "POST",
            "/api/v1/workspaces",
            Some(bind(Some(admin))),
        )
        .await;
    assert_eq!(
        (refused.status, code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden_role")
    );
    let forged = ConsoleKey::from_text("not the console's key, but long enough")
        .unwrap()
        .sign(&ConsoleClaims::new(
            "x",
            "ws-prod",
            ConsoleRole::Owner,
            app.store.now(),
            600,
        ));
    let refused = app
        .as_customer(
            &squatter,
            "POST",
            "/api/v1/workspaces",
            Some(bind(Some(forged))),
        )
        .await;
    assert_eq!(
        (refused.status, code(&refused)),
        (StatusCode::UNAUTHORIZED, "console_token_invalid")
    );
    assert!(
        app.store
            .bound_workspace("ws-prod")
            .await
            .unwrap()
            .is_none()
    );

    // The owner's token binds it; the squatter cannot take it afterwards, even with a token.
    let owner_token = token(&app, "ws-prod", ConsoleRole::Owner);
    let bound = app
        .as_customer(
            &owner,
            "POST",
            "/api/v1/workspaces",
            Some(bind(Some(owner_token.clone()))),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    let refused = app
        .as_customer(
            &squatter,
            "POST",
            "/api/v1/workspaces",
            Some(bind(Some(owner_token))),
        )
        .await;
    assert_eq!(
        (refused.status, code(&refused)),
        (StatusCode::CONFLICT, "workspace_bound_elsewhere")
    );
    assert!(
        app.store
            .bound_workspace("ws-prod")
            .await
            .unwrap()
            .unwrap()
            .console_bound
    );
    app.finish().await;
}

async fn without_a_console_key_binding_by_id_stays(app: TestApp) {
    let alice = app.customer("alice").await;
    let bound = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-a", "name": "A"})),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    // The console's endpoints say the server has no console.
    let status = with_bearer(
        &app,
        "GET",
        "/api/v1/console/workspaces/ws-a",
        "a.b.c",
        None,
    )
    .await;
    assert_eq!(
        (status.status, code(&status)),
        (StatusCode::SERVICE_UNAVAILABLE, "console_not_configured")
    );
    app.finish().await;
}

async fn unbinding_waits_for_the_last_bill(app: TestApp) {
    let alice = app.customer("alice").await;
    let bound = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-a", "name": "A"})),
        )
        .await;
    let key = bound.body["api_key"].as_str().unwrap().to_owned();
    let yesterday = app.store.today().pred_opt().unwrap();
    let report = with_bearer(
        &app,
        "POST",
        "/api/v1/usage",
        &key,
        Some(json!({"records": [{"id": "r1", "item": "time_series", "retention_days": 7, "quantity": "1000", "day": yesterday.to_string()}]})),
    )
    .await;
    assert_eq!(report.body["accepted"], 1, "{}", report.body);

    let refused = app
        .as_customer(&alice, "DELETE", "/api/v1/workspaces/ws-a", None)
        .await;
    assert_eq!(
        (refused.status, code(&refused)),
        (StatusCode::CONFLICT, "unsettled_usage")
    );
    app.store.settle_day(yesterday, "test").await.unwrap();
    let unbound = app
        .as_customer(&alice, "DELETE", "/api/v1/workspaces/ws-a", None)
        .await;
    assert_eq!(unbound.status, StatusCode::NO_CONTENT, "{}", unbound.body);
    // The key stops working; the bill stays in the history; another account may bind it now.
    let report = with_bearer(
        &app,
        "POST",
        "/api/v1/usage",
        &key,
        Some(json!({"records": [{"id": "r2", "item": "time_series", "retention_days": 7, "quantity": "1", "day": yesterday.to_string()}]})),
    )
    .await;
    assert_eq!(report.status, StatusCode::UNAUTHORIZED);
    let listed = app
        .as_customer(&alice, "GET", "/api/v1/workspaces", None)
        .await;
    assert_eq!(listed.body, json!([]));
    let history = app
        .as_customer(
            &alice,
            "GET",
            &format!("/api/v1/consumption?from={yesterday}&to={yesterday}"),
            None,
        )
        .await;
    assert_eq!(history.body["total"], 1, "{}", history.body);
    let again = app
        .as_customer(&alice, "DELETE", "/api/v1/workspaces/ws-a", None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let bob = app.customer("bob").await;
    let rebound = app
        .as_customer(
            &bob,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-a", "name": "A at Bob's"})),
        )
        .await;
    assert_eq!(rebound.status, StatusCode::CREATED, "{}", rebound.body);
    // What the workspace reported for Alice is not Bob's usage.
    let panel = app
        .store
        .workspace_panel("ws-a", ConsoleRole::Owner, None)
        .await
        .unwrap();
    let usage = panel.usage.unwrap();
    assert!(usage.yesterday.is_empty(), "{usage:?}");
    assert!(panel.usage_30_days.is_empty());
    app.finish().await;
}

async fn the_console_reports_usage_and_reads_the_status(app: TestApp) {
    let app = with_console(app);
    let owner = app.customer("owner").await;
    let bound = app
        .as_customer(
            &owner,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "Production",
                    "console_token": token(&app, "ws-prod", ConsoleRole::Owner)})),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    let service = token(&app, "ws-prod", ConsoleRole::Service);
    let yesterday = app.store.today().pred_opt().unwrap();

    let before = with_bearer(
        &app,
        "GET",
        "/api/v1/console/workspaces/ws-prod",
        &service,
        None,
    )
    .await;
    assert_eq!(
        before.body,
        json!({"bound": true, "settlement": "account", "arrears": "0.00", "arrears_since": null, "grace_period_ends": null})
    );
    let unknown = token(&app, "ws-nobody", ConsoleRole::Service);
    let nobody = with_bearer(
        &app,
        "GET",
        "/api/v1/console/workspaces/ws-nobody",
        &unknown,
        None,
    )
    .await;
    assert_eq!(
        nobody.body,
        json!({"bound": false, "settlement": null, "arrears": "0.00", "arrears_since": null, "grace_period_ends": null})
    );

    // Usage with the service token (no per-workspace key); an owner token may not report.
    let records = json!({"records": [{"id": "r1", "item": "time_series", "retention_days": 7, "quantity": "250000", "day": yesterday.to_string()}]});
    let reported = with_bearer(
        &app,
        "POST",
        "/api/v1/usage",
        &service,
        Some(records.clone()),
    )
    .await;
    assert_eq!(reported.body["accepted"], 1, "{}", reported.body);
    let owner_token = token(&app, "ws-prod", ConsoleRole::Owner);
    let refused = with_bearer(&app, "POST", "/api/v1/usage", &owner_token, Some(records)).await;
    assert_eq!(
        (refused.status, code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden_role")
    );

    // Charged with no money: arrears, since the bill's time.
    let settled = app.store.settle_day(yesterday, "test").await.unwrap();
    assert_eq!(settled.bills_charged, 1, "{settled:?}");
    let after = with_bearer(
        &app,
        "GET",
        "/api/v1/console/workspaces/ws-prod",
        &service,
        None,
    )
    .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    assert_ne!(after.body["arrears"], "0.00", "{}", after.body);
    let since: chrono::DateTime<chrono::Utc> = after.body["arrears_since"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (app.store.now() - since).num_seconds().abs() < 60,
        "{since}"
    );
    // The grace period (ARREARS_GRACE_DAYS, default 14) ends 14 days after the arrears began.
    let ends: chrono::DateTime<chrono::Utc> = after.body["grace_period_ends"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ends - since, chrono::Duration::days(14));

    // A token for one workspace never opens another; an owner token is not the service's.
    let other = with_bearer(
        &app,
        "GET",
        "/api/v1/console/workspaces/ws-nobody",
        &service,
        None,
    )
    .await;
    assert_eq!(
        (other.status, code(&other)),
        (StatusCode::FORBIDDEN, "console_token_other_workspace")
    );
    let as_owner = with_bearer(
        &app,
        "GET",
        "/api/v1/console/workspaces/ws-prod",
        &owner_token,
        None,
    )
    .await;
    assert_eq!(
        (as_owner.status, code(&as_owner)),
        (StatusCode::FORBIDDEN, "forbidden_role")
    );
    app.finish().await;
}

async fn the_panel_by_role_and_its_numbers(app: TestApp) {
    let app = with_console(app);
    let owner = app.customer("owner").await;
    let bound = app
        .as_customer(
            &owner,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "Production",
                    "console_token": token(&app, "ws-prod", ConsoleRole::Owner)})),
        )
        .await;
    let key = bound.body["api_key"].as_str().unwrap().to_owned();
    let today = app.store.today();
    let yesterday = today.pred_opt().unwrap();
    let reported = with_bearer(
        &app,
        "POST",
        "/api/v1/usage",
        &key,
        Some(json!({"records": [
            {"id": "y1", "item": "time_series", "retention_days": 7, "quantity": "120000", "day": yesterday.to_string()},
            {"id": "y2", "item": "logs", "retention_days": 7, "quantity": "3.5", "day": yesterday.to_string()},
            {"id": "y3", "item": "logs", "retention_days": 7, "quantity": "1.25", "day": yesterday.to_string()},
            {"id": "t1", "item": "time_series", "retention_days": 7, "quantity": "5000", "day": today.to_string()},
        ]})),
    )
    .await;
    assert_eq!(reported.body["accepted"], 4, "{}", reported.body);
    app.store.settle_day(yesterday, "test").await.unwrap();

    let month = yesterday.format("%Y-%m").to_string();
    let uri = format!("/api/v1/panel/workspaces/ws-prod?month={month}");
    let panel = with_bearer(
        &app,
        "GET",
        &uri,
        &token(&app, "ws-prod", ConsoleRole::Owner),
        None,
    )
    .await;
    assert_eq!(panel.status, StatusCode::OK, "{}", panel.body);
    let p = &panel.body;
    assert_eq!(p["workspace_id"], "ws-prod");
    assert_eq!(p["bound"], true);
    assert_eq!(
        p["actions"],
        json!([
            "recharge",
            "billing_center",
            "settlement_method",
            "change_binding"
        ])
    );
    assert_eq!(p["account"]["name"], "owner");
    assert_eq!(
        p["usage"]["today"],
        json!([{"item": "time_series", "retention_days": 7, "quantity": "5000"}])
    );
    assert_eq!(
        p["usage"]["yesterday"],
        json!([
            {"item": "time_series", "retention_days": 7, "quantity": "120000"},
            {"item": "logs", "retention_days": 7, "quantity": "4.75"},
        ])
    );
    // The cost equals the statements: the consumption lines of the month for this workspace.
    let first = format!("{month}-01");
    let lines = app
        .as_customer(
            &owner,
            "GET",
            &format!(
                "/api/v1/consumption?from={first}&to={yesterday}&workspace=ws-prod&per_page=100"
            ),
            None,
        )
        .await;
    let mut by_item = std::collections::BTreeMap::<String, i64>::new();
    let mut total = 0;
    for line in lines.body["items"].as_array().unwrap() {
        let fen = billing::Amount::parse(line["amount"].as_str().unwrap())
            .unwrap()
            .fen();
        *by_item
            .entry(line["item"].as_str().unwrap().to_owned())
            .or_default() += fen;
        total += fen;
    }
    assert!(total > 0);
    assert_eq!(p["cost"]["month"], month);
    assert_eq!(
        p["cost"]["total"],
        billing::Amount::from_fen(total).to_string()
    );
    for cost in p["cost"]["by_item"].as_array().unwrap() {
        let fen = billing::Amount::parse(cost["amount"].as_str().unwrap())
            .unwrap()
            .fen();
        assert_eq!(
            by_item.get(cost["item"].as_str().unwrap()),
            Some(&fen),
            "{cost}"
        );
    }
    assert_eq!(
        p["cost"]["by_item"].as_array().unwrap().len(),
        by_item.len()
    );
    assert_eq!(
        p["cost"]["by_day"],
        json!([{"day": yesterday.to_string(), "amount": billing::Amount::from_fen(total).to_string()}])
    );
    assert_eq!(
        p["account"]["arrears"],
        billing::Amount::from_fen(total).to_string()
    );

    // An administrator sees the same without buttons; a member, a service token or another
    // workspace's token sees nothing.
    let admin = with_bearer(
        &app,
        "GET",
        &uri,
        &token(&app, "ws-prod", ConsoleRole::Administrator),
        None,
    )
    .await;
    assert_eq!(admin.status, StatusCode::OK);
    assert_eq!(admin.body["actions"], json!([]));
    assert_eq!(admin.body["cost"], p["cost"]);
    for (ws, role, expected) in [
        ("ws-prod", ConsoleRole::Member, "forbidden_role"),
        ("ws-prod", ConsoleRole::Service, "forbidden_role"),
        (
            "ws-other",
            ConsoleRole::Owner,
            "console_token_other_workspace",
        ),
    ] {
        let refused = with_bearer(&app, "GET", &uri, &token(&app, ws, role), None).await;
        assert_eq!(
            (refused.status, code(&refused)),
            (StatusCode::FORBIDDEN, expected)
        );
        assert!(refused.body.get("account").is_none());
    }
    let bad_month = with_bearer(
        &app,
        "GET",
        "/api/v1/panel/workspaces/ws-prod?month=2026-13",
        &token(&app, "ws-prod", ConsoleRole::Owner),
        None,
    )
    .await;
    assert_eq!(
        (bad_month.status, code(&bad_month)),
        (StatusCode::UNPROCESSABLE_ENTITY, "month_invalid")
    );
    // An unbound workspace: 200, bound false, no account data.
    let unbound = with_bearer(
        &app,
        "GET",
        "/api/v1/panel/workspaces/ws-free",
        &token(&app, "ws-free", ConsoleRole::Owner),
        None,
    )
    .await;
    assert_eq!(unbound.status, StatusCode::OK);
    assert_eq!(unbound.body["bound"], false);
    assert!(unbound.body.get("account").is_none());
    app.finish().await;
}

/// A workspace bound by id before the console key was set is not shown to the console's people:
/// nothing proves the account it is bound to is theirs.
async fn a_binding_without_the_consoles_proof_is_not_shown(app: TestApp) {
    let squatter = app.customer("early").await;
    let bound = app
        .as_customer(
            &squatter,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "Mine now"})),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED);
    let app = with_console(app);
    let panel = with_bearer(
        &app,
        "GET",
        "/api/v1/panel/workspaces/ws-prod",
        &token(&app, "ws-prod", ConsoleRole::Owner),
        None,
    )
    .await;
    assert_eq!(panel.status, StatusCode::OK);
    assert_eq!(panel.body["bound"], false, "{}", panel.body);
    assert!(panel.body.get("account").is_none());
    app.finish().await;
}

/// Each token rule at the HTTP surface: 401 with a JSON error and no data.
async fn bad_tokens_are_refused_with_401(app: TestApp) {
    let app = with_console(app);
    let now = app.store.now();
    let uri = "/api/v1/panel/workspaces/ws-prod";
    let claims = |lifetime, issued_ago: i64| {
        ConsoleClaims::new(
            "u",
            "ws-prod",
            ConsoleRole::Owner,
            now - chrono::Duration::seconds(issued_ago),
            lifetime,
        )
    };
    let mut wrong_audience = claims(300, 0);
    wrong_audience.aud = "someone-else".into();
    let mut wrong_issuer = claims(300, 0);
    wrong_issuer.iss = "not-console".into();
    let signed = |c: &ConsoleClaims| key().sign(c);
    let good = signed(&claims(300, 0));
    let (header, rest) = good.split_once('.').unwrap();
    let _ = header;
    let alg_none = format!("eyJhbGciOiJub25lIn0.{}.", rest.split_once('.').unwrap().0);
    let cases = [
        ("expired", signed(&claims(300, 301))),
        ("too long-lived", signed(&claims(901, 0))),
        ("issued in the future", signed(&claims(300, -120))),
        ("wrong audience", signed(&wrong_audience)),
        ("wrong issuer", signed(&wrong_issuer)),
        ("alg none", alg_none),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    for (what, token) in cases {
        let reply = with_bearer(&app, "GET", uri, &token, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.body
        );
        assert_eq!(code(&reply), "console_token_invalid", "{what}");
        assert!(reply.body.get("account").is_none());
    }
    let none = app.call("GET", uri, None, &[], "10.0.0.3").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        with_bearer(&app, "GET", uri, &good, None)
            .await
            .status
            .is_success()
    );
    app.finish().await;
}

on_both_databases!(
    binding_needs_the_owners_token,
    without_a_console_key_binding_by_id_stays,
    unbinding_waits_for_the_last_bill,
    the_console_reports_usage_and_reads_the_status,
    the_panel_by_role_and_its_numbers,
    bad_tokens_are_refused_with_401,
    a_binding_without_the_consoles_proof_is_not_shown,
);
