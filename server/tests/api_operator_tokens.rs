//! Operator tokens over HTTP: listing and revoking one's own by id, expiry, and disabled operators
//! (tokens, sessions and the /ops sign-in), on both databases, driving the whole router.

mod support;

use axum::http::StatusCode;
use backend::ManualClock;
use backend::auth::operators::CLI;
use chrono::{Duration, Utc};
use support::app::TestApp;

const PASSWORD: &str = "correct horse battery";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn operators_list_and_revoke_their_own_tokens_only(app: TestApp) {
    let alice = app
        .store
        .create_operator("alice_ops", PASSWORD)
        .await
        .unwrap();
    let bob = app
        .store
        .create_operator("bob_ops", PASSWORD)
        .await
        .unwrap();
    let a1 = app
        .store
        .issue_operator_token_for(&alice, 30, CLI)
        .await
        .unwrap();
    let a2 = app
        .store
        .issue_operator_token_for(&alice, 7, CLI)
        .await
        .unwrap();
    let b1 = app
        .store
        .issue_operator_token_for(&bob, 30, CLI)
        .await
        .unwrap();
    let (a1_auth, a2_auth, b1_auth) = (bearer(&a1.token), bearer(&a2.token), bearer(&b1.token));

    assert_eq!(
        app.call("GET", "/api/v1/ops/tokens", None, &[], "10.0.0.1")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let listed = app
        .call(
            "GET",
            "/api/v1/ops/tokens",
            None,
            &[("authorization", &a1_auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let tokens = listed.body.as_array().unwrap();
    let ids: Vec<i64> = tokens.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [a2.id, a1.id], "alice's own tokens, newest first");
    let mut keys: Vec<&str> = tokens[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "operator_id",
            "revoked_at",
            "status"
        ]
    );
    assert_eq!(tokens[0]["status"], "active");
    let expires: chrono::DateTime<Utc> = tokens[0]["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, a2.expires_at);
    assert!(
        tokens[0]["last_used_at"].is_null(),
        "a2 was never presented"
    );
    assert!(
        !tokens[1]["last_used_at"].is_null(),
        "a1 is presenting itself"
    );
    let text = listed.body.to_string();
    assert!(
        !text.contains(&a1.token[4..]) && !text.contains(&a2.token[4..]),
        "no secret is ever listed"
    );
    let hash: String = sqlx::query_scalar("SELECT token_sha256 FROM operator_tokens WHERE id = $1")
        .bind(a1.id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(!text.contains(&hash), "nor a hash");

    // Another operator's token, an unknown id and a non-number are the same 404.
    for path in [
        format!("/api/v1/ops/tokens/{}", b1.id),
        "/api/v1/ops/tokens/999999".to_owned(),
        "/api/v1/ops/tokens/abc".to_owned(),
    ] {
        let refused = app
            .call(
                "DELETE",
                &path,
                None,
                &[("authorization", &a1_auth)],
                "10.0.0.1",
            )
            .await;
        assert_eq!(
            (refused.status, refused.body["error"]["code"].clone()),
            (StatusCode::NOT_FOUND, serde_json::json!("not_found")),
            "{path}"
        );
    }
    let bobs = app
        .call(
            "GET",
            "/api/v1/ops/tokens",
            None,
            &[("authorization", &b1_auth)],
            "10.0.0.2",
        )
        .await;
    assert_eq!(bobs.status, StatusCode::OK, "bob's token still works");
    assert_eq!(bobs.body.as_array().unwrap().len(), 1);

    let path = format!("/api/v1/ops/tokens/{}", a2.id);
    for _ in 0..2 {
        let revoked = app
            .call(
                "DELETE",
                &path,
                None,
                &[("authorization", &a1_auth)],
                "10.0.0.1",
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    }
    let with_a2 = app
        .call(
            "GET",
            "/api/v1/ops/tokens",
            None,
            &[("authorization", &a2_auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (with_a2.status, with_a2.body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, serde_json::json!("unauthorized"))
    );
    let log = app.store.audit_log(None, 100).await.unwrap();
    let revokes: Vec<_> = log
        .iter()
        .filter(|r| r.action == "operator_token.revoke")
        .map(|r| (r.operator_id, r.detail.clone(), r.client.clone()))
        .collect();
    assert_eq!(
        revokes,
        [(
            alice.id,
            format!("token {}, by id", a2.id),
            "10.0.0.1".to_owned()
        )],
        "one audit row, from the caller, for one revocation"
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.action == "operator_token.list")
            .count(),
        2,
        "each listing is audited"
    );
    // A token may revoke itself.
    let own = app
        .call(
            "DELETE",
            &format!("/api/v1/ops/tokens/{}", a1.id),
            None,
            &[("authorization", &a1_auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(own.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/ops/tokens",
            None,
            &[("authorization", &a1_auth)],
            "10.0.0.1"
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    app.finish().await;
}

async fn an_expired_token_is_refused_with_its_own_code(mut app: TestApp) {
    let clock = ManualClock::new(Utc::now());
    app.store = app.store.clone().with_clock(clock.clone());
    let ops = app
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let issued = app
        .store
        .issue_operator_token_for(&ops, 1, CLI)
        .await
        .unwrap();
    let auth = bearer(&issued.token);
    clock.advance(Duration::days(1) - Duration::microseconds(1));
    let alive = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", &auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(alive.status, StatusCode::OK, "{}", alive.body);
    clock.advance(Duration::microseconds(1));
    let expired = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", &auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.body["error"]["code"], "token_expired",
        "{}",
        expired.body
    );
    assert!(
        expired.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired at"),
        "{}",
        expired.body
    );
    let unknown = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", "Bearer bco_0000")],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, serde_json::json!("unauthorized")),
        "an unknown token is told apart from an expired one"
    );
    app.finish().await;
}

async fn a_disabled_operator_has_no_tokens_sessions_or_sign_in(app: TestApp) {
    let ops = app
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let token = app.store.issue_operator_token(&ops, CLI).await.unwrap();
    let auth = bearer(&token);
    let signed_in = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_admin&password=correct+horse+battery",
            None,
        )
        .await;
    signed_in.assert_goes_to("/ops");
    let session = signed_in.session_cookie().expect("a session cookie");
    let (_, _, html) = app.raw("GET", "/ops", None, Some(&session)).await;
    assert!(html.contains(r#"data-testid="operator">ops_admin<"#));
    let csrf = {
        let marker = r#"name="csrf" value=""#;
        let at = html.find(marker).expect("a CSRF field") + marker.len();
        html[at..].split('"').next().unwrap().to_owned()
    };

    app.store
        .disable_operator(&ops, CLI)
        .await
        .unwrap()
        .unwrap();

    let refused = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", &auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].clone()),
        (
            StatusCode::UNAUTHORIZED,
            serde_json::json!("operator_disabled")
        )
    );
    // Its session is over: the page shows the sign-in form, the money forms are told so (even
    // with the session's own CSRF token) and record nothing.
    let (_, _, html) = app.raw("GET", "/ops", None, Some(&session)).await;
    assert!(
        !html.contains(r#"data-testid="operator""#) && html.contains(r#"action="/fn/ops_sign_in""#),
        "{html}"
    );
    app.form_post(
        "ops_record_bank_transfer",
        "/ops",
        &format!("csrf={csrf}&account=alice&amount=1.00&reference=R-1"),
        Some(&session),
    )
    .await
    .assert_error("session_ended", None);
    let receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cash_receipts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(receipts, 0);
    // The right password is refused with its own message; a wrong one says nothing more.
    let disabled = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_admin&password=correct+horse+battery",
            None,
        )
        .await;
    disabled.assert_error("operator_disabled", None);
    assert_eq!(
        disabled.error.as_ref().unwrap().typed("login"),
        Some("ops_admin")
    );
    assert!(disabled.headers.get("set-cookie").is_none());
    let (_, _, html) = app.raw("GET", &disabled.path(), None, None).await;
    assert!(html.contains("This operator is disabled."), "{html}");
    app.form_post("ops_sign_in", "/ops", "login=ops_admin&password=nope", None)
        .await
        .assert_error("invalid_credentials", None);

    app.store.enable_operator(&ops, CLI).await.unwrap();
    let again = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_admin&password=correct+horse+battery",
            None,
        )
        .await;
    again.assert_goes_to("/ops");
    assert!(again.session_cookie().is_some());
    let old = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", &auth)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (old.status, old.body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, serde_json::json!("unauthorized")),
        "enabling does not bring the old token back"
    );
    app.finish().await;
}

on_both_databases!(
    operators_list_and_revoke_their_own_tokens_only,
    an_expired_token_is_refused_with_its_own_code,
    a_disabled_operator_has_no_tokens_sessions_or_sign_in,
);
