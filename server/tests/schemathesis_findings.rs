//! What Schemathesis (scripts/schemathesis.sh, run against the server's own OpenAPI document)
//! found, one regression test each, on both databases. PostgreSQL refuses text with a NUL
//! character (`invalid byte sequence for encoding "UTF8": 0x00`); SQLite stores it. Text that can
//! never name a stored row is answered before it reaches the database, the same on both.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::app::{TestApp, cookie};

async fn operator(app: &TestApp) -> String {
    let operator = app
        .store
        .create_operator("finder_ops", "correct horse battery")
        .await
        .unwrap();
    let token = app
        .store
        .issue_operator_token_for(&operator, 30, backend::auth::operators::CLI)
        .await
        .unwrap();
    format!("Bearer {}", token.token)
}

/// Found: `POST /ops/usage/void` with a NUL in `record_id` was a 500 on PostgreSQL.
async fn voiding_a_record_named_with_a_nul_is_not_found(app: TestApp) {
    let bearer = operator(&app).await;
    let ops = [("authorization", bearer.as_str())];
    for (workspace_id, record_id) in [("ws-prod", "\u{0}\u{e0}"), ("ws\u{0}", "r-1")] {
        let reply = app
            .call(
                "POST",
                "/api/v1/ops/usage/void",
                Some(json!({"workspace_id": workspace_id, "record_id": record_id, "reason": "found by schemathesis"})),
                &ops,
                "10.0.0.1",
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{workspace_id:?} {record_id:?}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["code"], "not_found");
    }
    app.finish().await;
}

/// Found: `POST /ops/metering/{id}/resolve` with a NUL in `note` was a 500 on PostgreSQL. The
/// note is checked (no control characters) before any record is looked up.
async fn a_metering_note_with_a_nul_is_refused_at_the_note(app: TestApp) {
    let bearer = operator(&app).await;
    let reply = app
        .call(
            "POST",
            "/api/v1/ops/metering/10/resolve",
            Some(json!({"note": "\u{0}\u{c9}\u{6}"})),
            &[("authorization", bearer.as_str())],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error"]["code"], "invalid_request");
    assert_eq!(reply.body["error"]["field"], "note");
    app.finish().await;
}

/// Probed after that finding: every other text that goes into a query, with a NUL in it.
async fn text_with_a_nul_never_reaches_the_database(app: TestApp) {
    let bearer = operator(&app).await;
    let ops = [("authorization", bearer.as_str())];
    let signed_up = app.sign_up("finder").await;
    let session = cookie(&signed_up.session_cookie().unwrap());
    let csrf = signed_up.body["csrf_token"].as_str().unwrap().to_owned();
    let customer = [
        ("cookie", session.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let bound = app
        .call(
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-nul", "name": "NUL"})),
            &customer,
            "10.0.0.1",
        )
        .await;
    let key = format!("Bearer {}", bound.body["api_key"].as_str().unwrap());
    let probes = [
        ("GET", "/api/v1/ops/audit?account=a%00b", None, &ops[..]),
        (
            "POST",
            "/api/v1/ops/bank-transfers",
            Some(json!({"account": "finder", "amount": "1.00", "reference": "A\u{0}B"})),
            &ops[..],
        ),
        (
            "POST",
            "/api/v1/ops/vouchers",
            Some(json!({"account": "fin\u{0}der", "face_value": "1.00", "valid_days": 1})),
            &ops[..],
        ),
        (
            "POST",
            "/api/v1/ops/payment-flags/1/resolve",
            Some(json!({"resolution": "a\u{0}b"})),
            &ops[..],
        ),
        (
            "POST",
            "/api/v1/ops/usage/void",
            Some(json!({"workspace_id": "ws-nul", "record_id": "r", "reason": "a\u{0}b"})),
            &ops[..],
        ),
        (
            "POST",
            "/api/v1/session",
            Some(json!({"login": "fin\u{0}der", "password": "x\u{0}"})),
            &[][..],
        ),
        (
            "POST",
            "/api/v1/vouchers/activate",
            Some(json!({"code": "AB\u{0}CD"})),
            &customer[..],
        ),
        (
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "w\u{0}", "name": "n\u{0}"})),
            &customer[..],
        ),
    ];
    for (method, uri, body, headers) in probes {
        let reply = app.call(method, uri, body, headers, "10.0.0.3").await;
        assert!(
            reply.status.is_client_error() || reply.status.is_success(),
            "{method} {uri}: {} {}",
            reply.status,
            reply.body
        );
    }
    // Both were 500s on PostgreSQL: a filter that matches nothing, a workspace that is not there.
    let nothing = app
        .call(
            "GET",
            "/api/v1/consumption?workspace=a%00b&page=2&per_page=10",
            None,
            &customer,
            "10.0.0.3",
        )
        .await;
    assert_eq!(nothing.status, StatusCode::OK, "{}", nothing.body);
    assert_eq!(
        nothing.body,
        json!({"items": [], "page": 2, "per_page": 10, "total": 0})
    );
    let (status, _, csv) = app
        .raw_from(
            "GET",
            "/api/v1/consumption?workspace=%00&format=csv",
            None,
            Some(session.trim_start_matches("bc_session=")),
            "10.0.0.3",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv.lines().count(), 1, "only the header row: {csv:?}");
    let rotate = app
        .call(
            "POST",
            "/api/v1/workspaces/a%00b/key",
            None,
            &customer,
            "10.0.0.3",
        )
        .await;
    assert_eq!(rotate.status, StatusCode::NOT_FOUND, "{}", rotate.body);
    let usage = app
        .call(
            "POST",
            "/api/v1/usage",
            Some(json!({"records": [{"id": "r\u{0}", "item": "logs", "retention_days": 7, "quantity": "1", "day": "2026-01-01"}]})),
            &[("authorization", key.as_str())],
            "10.0.0.3",
        )
        .await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
    assert_eq!(usage.body["rejected"][0]["code"], "invalid_id");
    app.finish().await;
}

on_both_databases!(
    voiding_a_record_named_with_a_nul_is_not_found,
    a_metering_note_with_a_nul_is_refused_at_the_note,
    text_with_a_nul_never_reaches_the_database,
);
