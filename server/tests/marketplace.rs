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
        app.store.push_due_metering(Some(&down)).await.unwrap(),
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
        app.store.push_due_metering(Some(&up)).await.unwrap(),
        (1, 0)
    );
    assert_eq!(
        app.store.push_due_metering(Some(&up)).await.unwrap(),
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

on_both_databases!(
    the_sandbox_plays_the_marketplace_end_to_end,
    without_the_sandbox_its_pages_do_not_exist,
);
