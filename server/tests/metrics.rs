//! `GET /metrics` black-box: requests by route template and status, usage records accepted and
//! refused by code, a settlement run's bills and duration, the database pool, and the bearer token
//! when `METRICS_TOKEN` is set. The recorder is one per process (every router of this test binary
//! shares it), so each check compares figures before and after what it does.

#![allow(clippy::float_arithmetic)] // metric samples, not money

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::app::{TestApp, cookie};

async fn scrape(app: &TestApp, headers: &[(&str, &str)]) -> (StatusCode, String, String) {
    let (status, reply_headers, body) = app
        .raw_from("GET", "/metrics", None, None, "10.0.0.3", headers)
        .await;
    let content_type = reply_headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, body)
}

/// The value of the sample whose name and labels are exactly `series` (0 when absent).
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

async fn requests_usage_and_settlement_are_counted(app: TestApp) {
    let (status, content_type, before) = scrape(&app, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");

    // Requests: a route with a parameter is counted under its template, never its path.
    for _ in 0..3 {
        app.raw("GET", "/healthz", None, None).await;
    }
    app.raw("GET", "/lang/not-a-language-xyz", None, None).await;

    // Usage: two accepted, one duplicate, refusals by code.
    let signed_up = app.sign_up("metrics_alice").await;
    let session = cookie(&signed_up.session_cookie().unwrap());
    let csrf = signed_up.body["csrf_token"].as_str().unwrap().to_owned();
    let bound = app
        .call(
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-metrics", "name": "m"})),
            &[
                ("cookie", session.as_str()),
                ("x-csrf-token", csrf.as_str()),
            ],
            "10.0.0.1",
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    let bearer = format!("Bearer {}", bound.body["api_key"].as_str().unwrap());
    let yesterday = app.store.today().pred_opt().unwrap().to_string();
    let tomorrow = app.store.today().succ_opt().unwrap().to_string();
    let reported = app
        .call(
            "POST",
            "/api/v1/usage",
            Some(json!({"records": [
                {"id": "r1", "item": "sms", "quantity": "3", "day": yesterday},
                {"id": "r2", "item": "network", "quantity": "2", "day": yesterday},
                {"id": "r1", "item": "sms", "quantity": "3", "day": yesterday},
                {"id": "r3", "item": "sms", "quantity": "1", "day": tomorrow},
                {"id": "r4", "item": "no_such_item", "quantity": "1", "day": yesterday},
            ]})),
            &[("authorization", bearer.as_str())],
            "10.0.0.2",
        )
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{}", reported.body);
    assert_eq!(reported.body["accepted"], 2);

    // Settlement: the scheduler's tick settles yesterday (one bill).
    let tick = server::settlement::settle_due_days(&app.store).await;
    assert!(tick.bills_charged() >= 1, "{tick:?}");

    let (_, _, after) = scrape(&app, &[]).await;
    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        grew(r#"http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}"#),
        3.0,
        "{after}"
    );
    assert!(
        grew(
            r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="10"}"#
        ) == 3.0,
        "a latency histogram with buckets: {after}"
    );
    assert_eq!(
        grew(
            r#"http_request_duration_seconds_count{method="GET",route="/lang/{code}",status="303"}"#
        ) + grew(
            r#"http_request_duration_seconds_count{method="GET",route="/lang/{code}",status="404"}"#
        ) + grew(
            r#"http_request_duration_seconds_count{method="GET",route="/lang/{code}",status="400"}"#
        ),
        1.0,
        "counted under the template: {after}"
    );
    assert!(!after.contains("not-a-language-xyz"), "no path in a label");
    assert_eq!(grew("usage_records_accepted_total"), 2.0, "{after}");
    assert_eq!(grew("usage_records_duplicate_total"), 1.0);
    assert_eq!(
        grew(r#"usage_records_refused_total{code="future_day"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        grew(r#"usage_records_refused_total{code="unknown_item"}"#),
        1.0
    );
    assert!(
        grew(r#"settlement_runs_total{status="settled"}"#) >= 1.0,
        "{after}"
    );
    assert!(grew("settlement_bills_charged_total") >= 1.0);
    assert!(
        grew(r#"settlement_run_duration_seconds_count{status="settled"}"#) >= 1.0,
        "{after}"
    );
    assert!(sample(&after, "settlement_last_settled_timestamp_seconds") > 1.7e9);
    assert!(
        sample(&after, r#"db_pool_connections{state="max"}"#) >= 1.0,
        "{after}"
    );
    assert!(after.contains("# HELP usage_records_refused_total"));
    assert!(after.contains("billing_center_build_info{version="));
    app.finish().await;
}

async fn a_configured_token_is_required(mut app: TestApp) {
    app.settings.metrics_token = Some("metrics-token-0123456789".into());
    let (status, _, body) = scrape(&app, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("http_request"), "{body}");
    let (status, _, _) = scrape(&app, &[("authorization", "Bearer metrics-token-wrong-000")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = scrape(
        &app,
        &[("authorization", "Bearer metrics-token-0123456789")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("db_pool_connections"), "{body}");
    app.finish().await;
}

#[test]
fn a_bad_token_is_refused_at_start() {
    for bad in ["short", "has a space in it 0123", &"x".repeat(257)] {
        let err = server::config::Config::from_lookup(|name| {
            (name == "METRICS_TOKEN").then(|| bad.to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("METRICS_TOKEN: "), "{err}");
    }
}

/// One test, the databases one after the other: the counters are the process's, so two tests
/// counting at once would see each other's requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_both_databases() {
    requests_usage_and_settlement_are_counted(TestApp::sqlite().await).await;
    requests_usage_and_settlement_are_counted(TestApp::postgres().await).await;
    a_configured_token_is_required(TestApp::sqlite().await).await;
}
