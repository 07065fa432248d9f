//! Alibaba Cloud Marketplace's SPI over HTTP (`GET /marketplace/aliyun`), both databases: signed
//! calls create, renew, expire and release; forged, tampered and replayed-with-changes calls are
//! 403 and change nothing; without `ALIYUN_MARKET_KEY` the endpoint does not exist. Then the
//! customer's side: switching a workspace through the API, and the cloud accounts list.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use backend::cloud::aliyun::spi_token;
use serde_json::json;
use support::app::TestApp;

const KEY: &str = "the isv key of the marketplace";

fn with_key(mut app: TestApp) -> TestApp {
    app.settings.aliyun_market_key = Some(Arc::from(KEY));
    app
}

/// The query of a call as the marketplace sends it: URL-encoded, with its token.
fn signed(params: &[(&str, &str)], key: &str) -> String {
    let map: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let token = spi_token(&map, key);
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    query.append_pair("token", &token);
    query.finish()
}

fn create(order: &str) -> Vec<(&'static str, String)> {
    vec![
        ("action", "createInstance".into()),
        ("aliUid", "1234567890".into()),
        ("orderBizId", order.into()),
        ("orderId", "205060317920890".into()),
        ("productCode", "cmgj00012345".into()),
        ("skuId", "yuncode1234500001".into()),
        ("trial", "false".into()),
        ("expiredOn", "2027-01-01 00:00:00".into()),
    ]
}

fn aliyun_only(
    aliyun: backend::cloud::metering::AliyunMetering,
) -> backend::cloud::metering::MeteringTargets {
    backend::cloud::metering::MeteringTargets {
        aliyun: Some(aliyun),
        ..Default::default()
    }
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn the_spi_answers_only_signed_calls(app: TestApp) {
    let app = with_key(app);
    let params = create("order-1");
    let query = signed(&pairs(&params), KEY);
    let created = app
        .call(
            "GET",
            &format!("/marketplace/aliyun?{query}"),
            None,
            &[],
            "10.0.0.3",
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let instance = created.body["instanceId"].as_str().unwrap().to_owned();
    assert!(instance.starts_with("bc-aliyun-"));
    // The marketplace retries: the same instance.
    let again = app
        .call(
            "GET",
            &format!("/marketplace/aliyun?{query}"),
            None,
            &[],
            "10.0.0.3",
        )
        .await;
    assert_eq!(again.body["instanceId"], instance.as_str());

    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cloud_subscriptions")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    // Forged: another key; tampered: a parameter changed after signing; missing token.
    let forged = signed(&pairs(&create("order-2")), "not the key");
    let tampered = signed(&pairs(&create("order-3")), KEY).replace("order-3", "order-4");
    let unsigned =
        "action=createInstance&aliUid=1&orderBizId=order-5&productCode=p&skuId=s".to_owned();
    let repeated = format!("{}&aliUid=666", signed(&pairs(&create("order-6")), KEY));
    for (query, status) in [
        (forged, 403),
        (tampered, 403),
        (unsigned, 403),
        (repeated, 400),
    ] {
        let refused = app
            .call(
                "GET",
                &format!("/marketplace/aliyun?{query}"),
                None,
                &[],
                "10.0.0.3",
            )
            .await;
        assert_eq!(refused.status, status, "{query}: {}", refused.body);
        assert_eq!(refused.body["success"], false);
    }
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cloud_subscriptions")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(before, after, "refused calls change nothing");

    // A signed call with a bad value, an unknown action.
    let bad = signed(
        &[
            ("action", "renewInstance"),
            ("instanceId", &instance),
            ("expiredOn", "soon"),
        ],
        KEY,
    );
    assert_eq!(
        app.call(
            "GET",
            &format!("/marketplace/aliyun?{bad}"),
            None,
            &[],
            "10.0.0.3"
        )
        .await
        .status,
        400
    );
    let unknown = signed(&[("action", "dance")], KEY);
    assert_eq!(
        app.call(
            "GET",
            &format!("/marketplace/aliyun?{unknown}"),
            None,
            &[],
            "10.0.0.3"
        )
        .await
        .status,
        400
    );

    // Renew, expire, release.
    for action in ["renewInstance", "expiredInstance", "releaseInstance"] {
        let mut params = vec![("action", action), ("instanceId", instance.as_str())];
        if action == "renewInstance" {
            params.push(("expiredOn", "2028-01-01 00:00:00"));
        }
        if action == "releaseInstance" {
            params.push(("isRefund", "false"));
        }
        let query = signed(&params, KEY);
        let done = app
            .call(
                "GET",
                &format!("/marketplace/aliyun?{query}"),
                None,
                &[],
                "10.0.0.3",
            )
            .await;
        assert_eq!(done.status, 200, "{action}: {}", done.body);
        assert_eq!(done.body["success"], true);
    }
    let status: String =
        sqlx::query_scalar("SELECT status FROM cloud_subscriptions WHERE instance_id = $1")
            .bind(&instance)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(status, "released");
    let unknown_instance = signed(
        &[
            ("action", "expiredInstance"),
            ("instanceId", "bc-aliyun-nope"),
        ],
        KEY,
    );
    assert_eq!(
        app.call(
            "GET",
            &format!("/marketplace/aliyun?{unknown_instance}"),
            None,
            &[],
            "10.0.0.3"
        )
        .await
        .status,
        404
    );
    app.finish().await;
}

async fn without_a_key_there_is_no_spi(app: TestApp) {
    let query = signed(&pairs(&create("order-1")), KEY);
    let answer = app
        .call(
            "GET",
            &format!("/marketplace/aliyun?{query}"),
            None,
            &[],
            "10.0.0.3",
        )
        .await;
    assert_eq!(answer.status, 404);
    app.finish().await;
}

async fn a_customer_switches_a_workspace_through_the_api(app: TestApp) {
    let app = with_key(app);
    let query = signed(&pairs(&create("order-1")), KEY);
    let created = app
        .call(
            "GET",
            &format!("/marketplace/aliyun?{query}"),
            None,
            &[],
            "10.0.0.3",
        )
        .await;
    let instance = created.body["instanceId"].as_str().unwrap().to_owned();
    let alice = app.customer("alice").await;
    let bound = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-a", "name": "A"})),
        )
        .await;
    assert_eq!(bound.status, 201);
    for (body, status, code) in [
        (
            json!({"method": "aliyun", "account_id": "1234567890"}),
            422,
            "invalid_request",
        ),
        (json!({"method": "paypal"}), 422, "invalid_request"),
        (
            json!({"method": "account", "instance_id": "x"}),
            422,
            "invalid_request",
        ),
        (
            json!({"method": "aliyun", "account_id": "42", "instance_id": instance}),
            404,
            "cloud_instance_not_found",
        ),
    ] {
        let refused = app
            .as_customer(
                &alice,
                "PUT",
                "/api/v1/workspaces/ws-a/settlement",
                Some(body.clone()),
            )
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.body);
        assert_eq!(refused.body["error"]["code"], code, "{body}");
    }
    let switched = app
        .as_customer(
            &alice,
            "PUT",
            "/api/v1/workspaces/ws-a/settlement",
            Some(json!({"method": "aliyun", "account_id": "1234567890", "instance_id": instance})),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    assert_eq!(switched.body["settlement"], "cloud");
    let again = app
        .as_customer(
            &alice,
            "PUT",
            "/api/v1/workspaces/ws-a/settlement",
            Some(json!({"method": "account"})),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"]["code"], "settlement_changed_this_month");
    let accounts = app
        .as_customer(&alice, "GET", "/api/v1/cloud-accounts", None)
        .await;
    assert_eq!(accounts.status, 200);
    assert_eq!(
        accounts.body,
        json!([{"cloud": "aliyun", "cloud_account_id": "1234567890", "instance_id": instance,
            "status": "active", "valid_until": "2026-12-31T16:00:00Z", "workspaces": ["ws-a"]}])
    );
    app.finish().await;
}

on_both_databases!(
    the_spi_answers_only_signed_calls,
    without_a_key_there_is_no_spi,
    a_customer_switches_a_workspace_through_the_api,
);

/// The whole path on a served router with the marketplace sandbox on: subscribe in the sandbox
/// (which calls the SPI over HTTP, signed), switch a workspace, settle a day, push its metering
/// (first to an endpoint that is down: retried, then to the sandbox: received once), and
/// unsubscribe (the workspace is back on the account).
async fn the_sandbox_plays_the_marketplace_end_to_end(mut app: TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}", listener.local_addr().unwrap());
    let config = server::config::Config::from_lookup(|n| {
        [
            ("MARKETPLACE_SANDBOX", "on".to_owned()),
            (
                "LEPTOS_SITE_ADDR",
                local.trim_start_matches("http://").to_owned(),
            ),
        ]
        .into_iter()
        .find(|(name, _)| *name == n)
        .map(|(_, v)| v)
    })
    .unwrap();
    assert!(config.marketplace_sandbox);
    app.settings.local_url = local.clone();
    app.settings.aliyun_market_key = config.settings().aliyun_market_key;
    app.settings.marketplace_sandbox = true;
    let served = server::router::app(
        config.leptos_options(),
        app.store.clone(),
        app.settings.clone(),
    )
    .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, served).await });

    let subscribed = app
        .raw(
            "POST",
            "/sandbox/marketplace/subscribe",
            Some("ali_uid=1234567890"),
            None,
        )
        .await;
    let location = subscribed
        .1
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let instance = location
        .split_once("created=")
        .expect(&location)
        .1
        .to_owned();
    assert!(instance.starts_with("bc-aliyun-"), "{location}");

    let alice = app.customer("alice").await;
    app.as_customer(
        &alice,
        "POST",
        "/api/v1/workspaces",
        Some(json!({"workspace_id": "ws-a", "name": "A"})),
    )
    .await;
    let switched = app
        .as_customer(
            &alice,
            "PUT",
            "/api/v1/workspaces/ws-a/settlement",
            Some(json!({"method": "aliyun", "account_id": "1234567890", "instance_id": instance})),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    let me = app.as_customer(&alice, "GET", "/api/v1/me", None).await;
    let account = me.body["billing_account_id"].as_i64().unwrap();
    let workspace = app.store.workspace(account, "ws-a").await.unwrap();
    let day = app.store.today() - chrono::Duration::days(1);
    app.store
        .ingest_usage(
            &workspace,
            &[backend::usage::UsageInput {
                id: "r1".into(),
                item: "network".into(),
                retention_days: None,
                quantity: "3".into(),
                day: day.to_string(),
            }],
        )
        .await
        .unwrap();
    let report = app.store.settle_day(day, "test").await.unwrap();
    assert_eq!(report.bills_charged, 1, "{report:?}");

    // The marketplace is unreachable: the record waits, with the reason.
    let mut down = config.aliyun_metering.clone().unwrap();
    down.endpoint = "http://127.0.0.1:9/".into();
    assert_eq!(
        app.store
            .push_due_metering(&aliyun_only(down.clone()))
            .await
            .unwrap(),
        (0, 1)
    );
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM cloud_metering")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(error.unwrap().contains("cannot reach"));
    // The person on call sees it: in the metrics and on /ops.
    let failing = app.store.failing_metering(10).await.unwrap();
    assert_eq!(
        (failing.len(), failing[0].instance_id.as_str()),
        (1, instance.as_str())
    );
    let (_, _, metrics) = app.raw("GET", "/metrics", None, None).await;
    assert!(
        metrics.contains("cloud_metering_records{state=\"failing\"} 1"),
        "{metrics}"
    );
    app.store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let signed_in = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_admin&password=correct+horse+battery",
            None,
        )
        .await;
    let session = signed_in.session_cookie().expect("a session cookie");
    let (_, _, ops) = app.raw("GET", "/ops", None, Some(&session)).await;
    let section = ops
        .split(r#"data-testid="failing-metering""#)
        .nth(1)
        .expect("the section");
    assert!(
        section.contains(&instance) && section.contains("cannot reach"),
        "{section}"
    );
    // Up again, after the backoff: pushed once, received once.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let up = config.aliyun_metering.clone().unwrap();
    assert_eq!(
        app.store
            .push_due_metering(&aliyun_only(up.clone()))
            .await
            .unwrap(),
        (1, 0)
    );
    assert_eq!(
        app.store
            .push_due_metering(&aliyun_only(up.clone()))
            .await
            .unwrap(),
        (0, 0)
    );
    assert!(app.store.failing_metering(10).await.unwrap().is_empty());
    assert_eq!(app.store.metering_summary().await.unwrap().pushed, 1);
    let received = app.store.sandbox_metering(10).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].instance_id, instance);
    assert_eq!(received[0].value, "600", "3 hosts × 2.00 = 6.00, in fen");
    let (_, _, page) = app.raw("GET", "/sandbox/marketplace", None, None).await;
    assert!(page.contains(&instance));
    // A forged push is refused by the sandbox.
    let forged = app
        .raw(
            "POST",
            "/sandbox/aliyun/market",
            Some("Action=PushMeteringData&Version=2015-11-01&Signature=forged&Metering=%5B%5D"),
            None,
        )
        .await;
    assert_eq!(forged.0, 400);

    // Unsubscribe in the sandbox: the workspace is back on the account.
    let ended = app
        .raw(
            "POST",
            "/sandbox/marketplace/end",
            Some(&format!("instance_id={instance}&action=releaseInstance")),
            None,
        )
        .await;
    assert!(
        ended
            .1
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("ended="),
        "{:?}",
        ended.1
    );
    let workspace = app.store.workspace(account, "ws-a").await.unwrap();
    assert_eq!(workspace.settlement, billing::Settlement::Account);
    server.abort();
    app.finish().await;
}

async fn without_the_sandbox_its_pages_do_not_exist(app: TestApp) {
    let (status, _, _) = app.raw("GET", "/sandbox/marketplace", None, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = app
        .raw("POST", "/sandbox/aliyun/market", Some("Action=x"), None)
        .await;
    assert_eq!(status.as_u16() / 100, 4);
    app.finish().await;
}

/// KooGallery's side, served with the sandbox on: a purchase in the sandbox (its newInstance
/// names only the order; Billing Center reads the buyer with an AK/SK-signed Query Order), calls
/// that are forged, tampered, stale or replayed are 403 `000001` and change nothing, a
/// workspace switched to the instance, a settled day pushed as usage-data (a repeat after a lost
/// answer counted once by its `metering_sn`), and the release switching the workspace back.
async fn koogallery_end_to_end(mut app: TestApp) {
    use backend::cloud::huawei::{answer_body_sign, body_signature};
    use server::config::SANDBOX_HUAWEI_MARKET_KEY as KEY;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}", listener.local_addr().unwrap());
    let config = server::config::Config::from_lookup(|n| {
        [
            ("MARKETPLACE_SANDBOX", "on".to_owned()),
            (
                "LEPTOS_SITE_ADDR",
                local.trim_start_matches("http://").to_owned(),
            ),
        ]
        .into_iter()
        .find(|(name, _)| *name == n)
        .map(|(_, v)| v)
    })
    .unwrap();
    app.settings.local_url = local.clone();
    app.settings.huawei_market = config.settings().huawei_market;
    app.settings.marketplace_sandbox = true;
    let served = server::router::app(
        config.leptos_options(),
        app.store.clone(),
        app.settings.clone(),
    )
    .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, served).await });

    let subscribed = app
        .raw(
            "POST",
            "/sandbox/marketplace/subscribe-huawei",
            Some("customer_id=hw-customer-1"),
            None,
        )
        .await;
    let location = subscribed.1["location"].to_str().unwrap().to_owned();
    let instance = location
        .split_once("created=")
        .expect(&location)
        .1
        .to_owned();
    assert!(instance.starts_with("bc-huawei-"), "{location}");
    let accounts: Vec<(String, String)> = sqlx::query_as(
        "SELECT cloud_account_id, instance_id FROM cloud_subscriptions WHERE cloud = 'huawei'",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        accounts,
        vec![("hw-customer-1".to_owned(), instance.clone())]
    );

    // A call as KooGallery signs it, at `at` (Unix ms), with `nonce`.
    let call = |body: String, key: &str, at: i64, nonce: &str| {
        let signature = body_signature(key, nonce, &at.to_string(), body.as_bytes()).to_uppercase();
        (
            format!("/marketplace/huawei?signature={signature}&timestamp={at}&nonce={nonce}"),
            body,
        )
    };
    let post = |(path, body): (String, String)| {
        let app = &app;
        async move {
            let response = reqwest::Client::new()
                .post(format!("{}{path}", app.settings.local_url))
                .header("Content-Type", "application/json;charset=utf8")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let sign = response
                .headers()
                .get("body-sign")
                .map(|v| v.to_str().unwrap().to_owned());
            let text = response.text().await.unwrap();
            (status, sign, text)
        }
    };
    let now = || chrono::Utc::now().timestamp_millis();
    let renew = |until: &str| {
        json!({"activity": "refreshInstance", "scene": "RENEWAL", "orderId": "o", "orderLineId": "o-1",
               "instanceId": instance, "expireTime": until})
        .to_string()
    };
    let before: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT status, valid_until FROM cloud_subscriptions")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let release = json!({"activity": "releaseInstance", "instanceId": instance}).to_string();
    let (tampered_path, _) = call(release.clone(), KEY, now(), "NTAMPERED0000001");
    for (what, (path, body)) in [
        (
            "forged",
            call(release.clone(), "not the key", now(), "NFORGED000000001"),
        ),
        (
            "tampered",
            (
                tampered_path,
                release.replace("releaseInstance", "upgradeInstance"),
            ),
        ),
        (
            "stale",
            call(release.clone(), KEY, now() - 61_000, "NSTALE0000000001"),
        ),
        (
            "unsigned",
            ("/marketplace/huawei".to_owned(), release.clone()),
        ),
    ] {
        let (status, sign, text) = post((path, body)).await;
        assert_eq!(status, 403, "{what}: {text}");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["resultCode"], "000001", "{what}");
        assert_eq!(
            sign.unwrap(),
            answer_body_sign(KEY, text.as_bytes()),
            "{what}"
        );
    }
    // A genuine call once; the same call again is a replay.
    let captured = call(renew("20991231000000"), KEY, now(), "NRENEW0000000001");
    let (status, _, text) = post(captured.clone()).await;
    assert_eq!((status, text.contains("000000")), (200, true), "{text}");
    let (status, _, text) = post(captured).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("000001"), "{text}");
    let after: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT status, valid_until FROM cloud_subscriptions")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        after[0].0, before[0].0,
        "still active: nothing was released"
    );
    // Signed but wrong: an unknown instance, an unknown activity.
    let (status, _, text) = post(call(
        json!({"activity": "releaseInstance", "instanceId": "bc-huawei-nope"}).to_string(),
        KEY,
        now(),
        "NUNKNOWN00000001",
    ))
    .await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("000003"), "{text}");
    let (status, _, text) = post(call(
        json!({"activity": "dropTables"}).to_string(),
        KEY,
        now(),
        "NACTIVITY0000001",
    ))
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("000002"), "{text}");

    // The buyer switches a workspace with their Huawei account id and the instance.
    let alice = app.customer("alice").await;
    app.as_customer(
        &alice,
        "POST",
        "/api/v1/workspaces",
        Some(json!({"workspace_id": "ws-h", "name": "H"})),
    )
    .await;
    let wrong = app
        .as_customer(
            &alice,
            "PUT",
            "/api/v1/workspaces/ws-h/settlement",
            Some(
                json!({"method": "huawei", "account_id": "someone-else", "instance_id": instance}),
            ),
        )
        .await;
    assert_eq!(wrong.status, 404, "{}", wrong.body);
    let switched = app
        .as_customer(
            &alice,
            "PUT",
            "/api/v1/workspaces/ws-h/settlement",
            Some(
                json!({"method": "huawei", "account_id": "hw-customer-1", "instance_id": instance}),
            ),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    let me = app.as_customer(&alice, "GET", "/api/v1/me", None).await;
    let account = me.body["billing_account_id"].as_i64().unwrap();
    let workspace = app.store.workspace(account, "ws-h").await.unwrap();
    let day = app.store.today() - chrono::Duration::days(1);
    app.store
        .ingest_usage(
            &workspace,
            &[backend::usage::UsageInput {
                id: "r1".into(),
                item: "network".into(),
                retention_days: None,
                quantity: "3".into(),
                day: day.to_string(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        app.store
            .settle_day(day, "test")
            .await
            .unwrap()
            .bills_charged,
        1
    );
    let targets = backend::cloud::metering::MeteringTargets {
        huawei: config.huawei_market.clone(),
        ..Default::default()
    };
    assert_eq!(app.store.push_due_metering(&targets).await.unwrap(), (1, 0));
    // The answer was lost (as if): the record is pushed again, and counted once.
    sqlx::query("UPDATE cloud_metering SET pushed_at = NULL, next_attempt_at = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.store.push_due_metering(&targets).await.unwrap(), (1, 0));
    let received = app.store.sandbox_metering(10).await.unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        (received[0].instance_id.as_str(), received[0].value.as_str()),
        (instance.as_str(), "600")
    );
    assert_eq!(received[0].end_time - received[0].start_time, 86_400);
    // A usage push with a wrong signature is refused by the sandbox, as KooGallery would.
    let forged = reqwest::Client::new()
        .post(format!(
            "{local}/sandbox/huawei/api/mkp-openapi-public/global/v1/isv/usage-data"
        ))
        .header("signature", "forged")
        .header("ts", "1")
        .header("nonce", "n")
        .body(r#"{"usage_records":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 400);

    // Released in the sandbox: the workspace is back on the account.
    let ended = app
        .raw(
            "POST",
            "/sandbox/marketplace/end",
            Some(&format!(
                "cloud=huawei&instance_id={instance}&action=releaseInstance"
            )),
            None,
        )
        .await;
    assert!(
        ended.1["location"].to_str().unwrap().contains("ended="),
        "{:?}",
        ended.1
    );
    let workspace = app.store.workspace(account, "ws-h").await.unwrap();
    assert_eq!(workspace.settlement, billing::Settlement::Account);
    server.abort();
    app.finish().await;
}

async fn without_keys_there_is_no_koogallery_interface(app: TestApp) {
    let (status, _, _) = app
        .raw(
            "POST",
            "/marketplace/huawei?signature=x&timestamp=1&nonce=n",
            Some("{}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    app.finish().await;
}

/// AWS Marketplace, served with the sandbox on: the buyer's browser posts the registration token
/// to the fulfillment URL (resolved with a SigV4-signed ResolveCustomer), chooses a workspace, a
/// settled day is metered with BatchMeterUsage (a repeat counted once; a record past the 6-hour
/// window is not sent), SNS messages that are not Amazon's (forged certificate URL, tampered,
/// stale, another topic) are refused and a message is taken once, and unsubscribe-success
/// switches the workspace back; subscribing again brings the subscription back.
async fn aws_marketplace_end_to_end(mut app: TestApp) {
    use backend::cloud::aws::sns::sandbox_sign;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}", listener.local_addr().unwrap());
    let config = server::config::Config::from_lookup(|n| {
        [
            ("MARKETPLACE_SANDBOX", "on".to_owned()),
            (
                "LEPTOS_SITE_ADDR",
                local.trim_start_matches("http://").to_owned(),
            ),
        ]
        .into_iter()
        .find(|(name, _)| *name == n)
        .map(|(_, v)| v)
    })
    .unwrap();
    app.settings.local_url = local.clone();
    app.settings.aws_marketplace = config.settings().aws_marketplace;
    app.settings.marketplace_sandbox = true;
    let served = server::router::app(
        config.leptos_options(),
        app.store.clone(),
        app.settings.clone(),
    )
    .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, served).await });

    // The buyer subscribes at AWS; AWS's page posts the token to the fulfillment URL.
    let register = |account: &'static str| {
        let app = &app;
        async move {
            let (status, _, page) = app
                .raw(
                    "POST",
                    "/sandbox/marketplace/subscribe-aws",
                    Some(&format!("aws_account_id={account}")),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{page}");
            let token = page
                .split(r#"name="x-amzn-marketplace-token" value=""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect(&page)
                .to_owned();
            let form: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("x-amzn-marketplace-token", &token)
                .finish();
            app.raw("POST", "/marketplace/aws", Some(&form), None).await
        }
    };
    let (status, headers, _) = register("123456789012").await;
    assert_eq!(status, 303);
    // The instance travels in an HttpOnly cookie, never in the URL.
    assert_eq!(headers["location"], "/workspaces?aws=ready");
    let offer = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        offer.contains("HttpOnly") && offer.contains("SameSite=Lax"),
        "{offer}"
    );
    let instance = offer
        .strip_prefix("bc_aws_offer=")
        .and_then(|rest| rest.split(';').next())
        .expect(&offer)
        .to_owned();
    assert!(instance.starts_with("bc-aws-"), "{offer}");
    for form in ["x-amzn-marketplace-token=forged", "nothing=here"] {
        let (status, _, page) = app.raw("POST", "/marketplace/aws", Some(form), None).await;
        assert_eq!(status, 400, "{form}: {page}");
    }
    assert_eq!(
        app.store.all_subscriptions().await.unwrap().len(),
        1,
        "a refused registration stores nothing"
    );

    // The buyer chooses a workspace (the page's link fills the form in; here the API).
    let alice = app.customer("alice").await;
    app.as_customer(
        &alice,
        "POST",
        "/api/v1/workspaces",
        Some(json!({"workspace_id": "ws-w", "name": "W"})),
    )
    .await;
    let cookies = format!("{}; bc_aws_offer={instance}", alice.cookie);
    let (_, _, page) = app
        .raw_from(
            "GET",
            "/workspaces?aws=ready",
            None,
            None,
            "10.0.0.7",
            &[("cookie", cookies.as_str())],
        )
        .await;
    assert!(page.contains(r#"data-testid="aws-choose-ws-w""#), "{page}");
    let switched = app
        .as_customer(
            &alice,
            "PUT",
            "/api/v1/workspaces/ws-w/settlement",
            Some(json!({"method": "aws", "account_id": "123456789012", "instance_id": instance})),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    let me = app.as_customer(&alice, "GET", "/api/v1/me", None).await;
    let account = me.body["billing_account_id"].as_i64().unwrap();
    let workspace = app.store.workspace(account, "ws-w").await.unwrap();
    let day = app.store.today() - chrono::Duration::days(1);
    app.store
        .ingest_usage(
            &workspace,
            &[backend::usage::UsageInput {
                id: "r1".into(),
                item: "network".into(),
                retention_days: None,
                quantity: "3".into(),
                day: day.to_string(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        app.store
            .settle_day(day, "test")
            .await
            .unwrap()
            .bills_charged,
        1
    );
    let targets = backend::cloud::metering::MeteringTargets {
        aws: config.aws_marketplace.clone(),
        ..Default::default()
    };
    assert_eq!(app.store.push_due_metering(&targets).await.unwrap(), (1, 0));
    // Pushed again after a lost answer: AWS counts the same record once.
    sqlx::query("UPDATE cloud_metering SET pushed_at = NULL, next_attempt_at = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.store.push_due_metering(&targets).await.unwrap(), (1, 0));
    let received = app.store.sandbox_metering(10).await.unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        (
            received[0].instance_id.as_str(),
            received[0].key.as_str(),
            received[0].value.as_str()
        ),
        ("123456789012", "usage_fen", "600")
    );
    // A record older than AWS's window is not sent; it waits, saying why.
    sqlx::query(
        "UPDATE cloud_metering SET pushed_at = NULL, next_attempt_at = 0, created_at = created_at - 25200000000, \
         meter_timestamp = meter_timestamp - 25200",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    assert_eq!(app.store.push_due_metering(&targets).await.unwrap(), (0, 1));
    let failing = app.store.failing_metering(10).await.unwrap();
    assert!(failing[0].last_error.contains("6-hour"), "{failing:?}");
    // It waits an hour before the next try, for an operator who reports it by hand.
    assert_eq!(app.store.push_due_metering(&targets).await.unwrap(), (0, 0));
    let operator = app
        .store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let token = app
        .store
        .issue_operator_token(&operator, "test")
        .await
        .unwrap();
    let bearer = format!("Bearer {token}");
    let path = format!("/api/v1/ops/metering/{}/resolve", failing[0].id);
    let empty = app
        .call(
            "POST",
            &path,
            Some(json!({"note": " "})),
            &[("authorization", &bearer)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    // Control characters (a NUL among them, which PostgreSQL cannot store: a 500 Schemathesis
    // found) are refused at the note, and the record waits.
    for note in ["case\u{6}1234", "case\u{0}1234"] {
        let refused = app
            .call(
                "POST",
                &path,
                Some(json!({ "note": note })),
                &[("authorization", &bearer)],
                "10.0.0.1",
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert_eq!(refused.body["error"]["code"], "invalid_request");
        assert_eq!(refused.body["error"]["field"], "note", "{}", refused.body);
    }
    assert_eq!(app.store.failing_metering(10).await.unwrap().len(), 1);
    let resolved = app
        .call(
            "POST",
            &path,
            Some(json!({"note": "reported in the AWS portal"})),
            &[("authorization", &bearer)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(resolved.status, 204, "{}", resolved.body);
    assert!(app.store.failing_metering(10).await.unwrap().is_empty());
    let again = app
        .call(
            "POST",
            &path,
            Some(json!({"note": "twice"})),
            &[("authorization", &bearer)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.body);
    let anonymous = app
        .call("POST", &path, Some(json!({"note": "x"})), &[], "10.0.0.1")
        .await;
    assert_eq!(anonymous.status, 401);
    let audit = app.store.audit_log(None, 10).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "metering.resolve"),
        "{audit:?}"
    );

    // SNS: only Amazon's (here the sandbox's) signed messages of the topic, each once.
    let message = |action: &str, account: &str, at: chrono::DateTime<chrono::Utc>| {
        json!({
            "Type": "Notification",
            "MessageId": format!("m-{action}-{account}-{}", at.timestamp_micros()),
            "TopicArn": server::config::SANDBOX_AWS_TOPIC_ARN,
            "Message": json!({"action": action, "customer-aws-account-id": account,
                "product-code": server::config::SANDBOX_AWS_PRODUCT_CODE}).to_string(),
            "Timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "SigningCertURL": format!("{local}{}", server::config::SANDBOX_AWS_CERTIFICATE_PATH),
        })
    };
    let deliver = |body: serde_json::Value| {
        let local = local.clone();
        async move {
            let answer = reqwest::Client::new()
                .post(format!("{local}/marketplace/aws/notifications"))
                .header("content-type", "text/plain; charset=UTF-8")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let now = chrono::Utc::now();
    let mut forged = message("unsubscribe-success", "123456789012", now);
    forged["SigningCertURL"] = json!("https://evil.example/cert.pem");
    sandbox_sign(&mut forged).unwrap();
    let mut tampered = message("subscribe-success", "123456789012", now);
    sandbox_sign(&mut tampered).unwrap();
    tampered["Message"] = json!(
        tampered["Message"]
            .as_str()
            .unwrap()
            .replace("subscribe-success", "unsubscribe-success")
    );
    let mut stale = message(
        "unsubscribe-success",
        "123456789012",
        now - chrono::Duration::hours(2),
    );
    sandbox_sign(&mut stale).unwrap();
    let mut unsigned = message("unsubscribe-success", "123456789012", now);
    unsigned["SignatureVersion"] = json!("2");
    unsigned["Signature"] = json!("AAAA");
    let mut other_topic = message("unsubscribe-success", "123456789012", now);
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:000000000000:someone-else");
    sandbox_sign(&mut other_topic).unwrap();
    for (what, body, status) in [
        ("forged", forged, 403),
        ("tampered", tampered, 403),
        ("stale", stale, 400),
        ("unsigned", unsigned, 403),
        ("other topic", other_topic, 403),
    ] {
        let (got, text) = deliver(body).await;
        assert_eq!(got, status, "{what}: {text}");
    }
    assert_eq!(
        app.store
            .workspace(account, "ws-w")
            .await
            .unwrap()
            .settlement,
        billing::Settlement::Cloud,
        "no refused message changed anything"
    );
    // A message is taken once: delivered again, it does nothing.
    let mut early = message("subscribe-success", "999999999999", now);
    sandbox_sign(&mut early).unwrap();
    assert_eq!(
        deliver(early.clone()).await,
        (200, r#"{"message":"no such subscription yet"}"#.to_owned())
    );
    assert_eq!(
        deliver(early).await,
        (200, r#"{"message":"already taken"}"#.to_owned())
    );

    // Unsubscribed at AWS (the sandbox sends SNS's message): back on the account.
    let ended = app
        .raw(
            "POST",
            "/sandbox/marketplace/end",
            Some(&format!(
                "cloud=aws&account=123456789012&instance_id={instance}&action=releaseInstance"
            )),
            None,
        )
        .await;
    assert!(
        ended.1["location"].to_str().unwrap().contains("ended="),
        "{:?}",
        ended.1
    );
    assert_eq!(
        app.store
            .workspace(account, "ws-w")
            .await
            .unwrap()
            .settlement,
        billing::Settlement::Account
    );
    assert_eq!(
        app.store.all_subscriptions().await.unwrap()[0].3,
        "released"
    );
    // A registration token replayed (good for hours) does not bring it back; AWS's
    // subscribe-success does, unless it is older than the unsubscribe.
    let (status, headers, _) = register("123456789012").await;
    assert_eq!(status, 303);
    assert!(headers["set-cookie"].to_str().unwrap().contains(&instance));
    assert_eq!(
        app.store.all_subscriptions().await.unwrap()[0].3,
        "released"
    );
    let mut older = message(
        "subscribe-success",
        "123456789012",
        now - chrono::Duration::minutes(5),
    );
    sandbox_sign(&mut older).unwrap();
    let (status, text) = deliver(older).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("ignored"), "{text}");
    assert_eq!(
        app.store.all_subscriptions().await.unwrap()[0].3,
        "released"
    );
    let mut resubscribed = message("subscribe-success", "123456789012", chrono::Utc::now());
    sandbox_sign(&mut resubscribed).unwrap();
    assert_eq!(deliver(resubscribed).await.0, 200);
    assert_eq!(app.store.all_subscriptions().await.unwrap()[0].3, "active");
    server.abort();
    app.finish().await;
}

on_both_databases!(
    the_sandbox_plays_the_marketplace_end_to_end,
    without_the_sandbox_its_pages_do_not_exist,
    koogallery_end_to_end,
    aws_marketplace_end_to_end,
    without_keys_there_is_no_koogallery_interface,
);
