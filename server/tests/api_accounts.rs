//! Sign-up, sign-in, sessions, CSRF, rate limits and operator tokens through the JSON API, on both
//! databases, driving the whole router in-process.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::config::Config;
use support::app::{TestApp, cookie};
use tower::ServiceExt;

async fn sign_up_signs_in_with_a_strict_cookie_and_me_answers(app: TestApp) {
    let reply = app.sign_up("alice").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    assert!(!set_cookie.contains("Secure"), "plain http in tests");
    assert_eq!(reply.body["username"], "alice");
    assert!(reply.body.get("password_hash").is_none());
    let session = reply.session_cookie().unwrap();

    let me = app
        .call(
            "GET",
            "/api/v1/me",
            None,
            &[("cookie", &cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.body["username"].clone(), me.body["csrf_token"].clone()),
        (json!("alice"), reply.body["csrf_token"].clone())
    );
    let anonymous = app.call("GET", "/api/v1/me", None, &[], "10.0.0.1").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["error"]["code"], "unauthorized");
    let forged = app
        .call(
            "GET",
            "/api/v1/me",
            None,
            &[("cookie", &cookie(&"0".repeat(32)))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

async fn bad_sign_ups_get_specific_errors(app: TestApp) {
    app.sign_up("alice").await;
    let cases = [
        (
            json!({"username": "Al", "email": "a@example.com", "password": "correct horse battery"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "username",
        ),
        (
            json!({"username": "bob", "email": "nope", "password": "correct horse battery"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            json!({"username": "bob", "email": "b@example.com", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            json!({"username": "alice", "email": "x@example.com", "password": "correct horse battery"}),
            StatusCode::CONFLICT,
            "username",
        ),
        (
            json!({"username": "bob", "email": "alice@example.com", "password": "correct horse battery"}),
            StatusCode::CONFLICT,
            "email",
        ),
    ];
    for (body, status, field) in cases {
        let reply = app
            .call(
                "POST",
                "/api/v1/accounts",
                Some(body.clone()),
                &[],
                "10.0.0.1",
            )
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.body["error"]["field"], field, "{body}");
    }
    let unknown_field = json!({"username": "bob", "email": "b@example.com", "password": "correct horse battery", "admin": true});
    let reply = app
        .call(
            "POST",
            "/api/v1/accounts",
            Some(unknown_field),
            &[],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["error"]["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("invalid_request"))
    );

    let config = Config::from_lookup(|_| None).unwrap();
    for raw in [&b"{not json"[..], &[0xff, 0xfe][..]] {
        let request = Request::post("/api/v1/accounts")
            .body(Body::from(raw.to_vec()))
            .unwrap();
        let response = server::router::app(
            config.leptos_options(),
            app.store.clone(),
            config.settings(),
        )
        .oneshot(request)
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        assert_eq!(body["error"]["code"], "malformed_json");
    }
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(customers, 1);
    app.finish().await;
}

async fn sign_in_rotates_the_session_and_sign_out_needs_the_csrf_token(app: TestApp) {
    app.sign_up("alice").await;
    let sign_in = |login: &'static str, password: &'static str, client: &'static str| {
        let app = &app;
        async move {
            app.call(
                "POST",
                "/api/v1/session",
                Some(json!({"login": login, "password": password})),
                &[],
                client,
            )
            .await
        }
    };
    let first = sign_in("alice", "correct horse battery", "10.0.0.1").await;
    let second = sign_in("alice@example.com", "correct horse battery", "10.0.0.1").await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );
    let (one, two) = (
        first.session_cookie().unwrap(),
        second.session_cookie().unwrap(),
    );
    assert_ne!(one, two, "a new session id at every sign-in");

    let no_token = app
        .call(
            "DELETE",
            "/api/v1/session",
            None,
            &[("cookie", &cookie(&one))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (no_token.status, no_token.body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("csrf_failed"))
    );
    let wrong_token = app
        .call(
            "DELETE",
            "/api/v1/session",
            None,
            &[("cookie", &cookie(&one)), ("x-csrf-token", "abc")],
            "10.0.0.1",
        )
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
    let csrf = first.body["csrf_token"].as_str().unwrap();
    let out = app
        .call(
            "DELETE",
            "/api/v1/session",
            None,
            &[("cookie", &cookie(&one)), ("x-csrf-token", csrf)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/me",
            None,
            &[("cookie", &cookie(&one))],
            "10.0.0.1"
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(
            "GET",
            "/api/v1/me",
            None,
            &[("cookie", &cookie(&two))],
            "10.0.0.1"
        )
        .await
        .status,
        StatusCode::OK
    );

    let wrong = sign_in("alice", "not it at all", "10.0.0.5").await;
    let unknown = sign_in("nobody", "not it at all", "10.0.0.6").await;
    assert_eq!(
        (wrong.status, unknown.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        wrong.body, unknown.body,
        "the error never says which was wrong"
    );
    for _ in 0..4 {
        sign_in("alice", "not it at all", "10.0.0.5").await;
    }
    let limited = sign_in("alice", "correct horse battery", "10.0.0.5").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    let retry: i64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry));
    app.finish().await;
}

async fn cookies_are_secure_when_served_over_https(mut app: TestApp) {
    app.secure = true;
    let reply = app.sign_up("alice").await;
    assert!(
        reply.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    assert!(
        Config::from_lookup(|n| (n == "PUBLIC_URL").then(|| "https://billing.example.com".into()))
            .unwrap()
            .secure_cookies()
            .0
    );
    app.finish().await;
}

async fn operator_endpoints_need_a_live_token_and_are_audited(app: TestApp) {
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
    assert_eq!(
        app.call("GET", "/api/v1/ops/audit", None, &[], "10.0.0.1")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let bogus = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", "Bearer bco_nope")],
            "10.0.0.1",
        )
        .await;
    assert_eq!(bogus.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {token}");
    let reply = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", &bearer)],
            "10.9.9.9",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body[0]["action"], "audit_log.read");
    assert_eq!(reply.body[0]["client"], "10.9.9.9");
    let customer_session = app.sign_up("alice").await.session_cookie().unwrap();
    let as_customer = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("cookie", &cookie(&customer_session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        as_customer.status,
        StatusCode::UNAUTHORIZED,
        "a customer session is no operator token"
    );
    app.store
        .revoke_operator_token(&token, "test")
        .await
        .unwrap();
    let revoked = app
        .call(
            "GET",
            "/api/v1/ops/audit",
            None,
            &[("authorization", &bearer)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

fn csrf_in(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("the page has a CSRF field")
        + r#"name="csrf" value=""#.len();
    html[at..at + 32].to_owned()
}

async fn the_account_forms_work_without_javascript(app: TestApp) {
    // A refused sign-up goes back to the form with the code, the field and the typed values, never
    // the password.
    let refused = app
        .form_post(
            "sign_up",
            "/signup",
            "username=carol&email=carol%40example.com&phone=&password=iloveyou1",
            None,
        )
        .await;
    refused.assert_error("password_too_common", Some("password"));
    let error = refused.error.clone().unwrap();
    assert_eq!(
        (error.typed("username"), error.typed("email")),
        (Some("carol"), Some("carol@example.com"))
    );
    assert_eq!(error.typed("password"), None, "never the password");
    assert!(!refused.location.contains("iloveyou1"));
    assert!(refused.headers.get("set-cookie").is_none());
    let (_, _, html) = app.raw("GET", &refused.path(), None, None).await;
    assert!(
        html.contains(r#"data-testid="error-password""#) && html.contains("most common passwords"),
        "{html}"
    );
    assert!(html.contains(r#"value="carol""#), "{html}");
    assert!(!html.contains("iloveyou1"));

    let signed_up = app
        .form_post(
            "sign_up",
            "/signup",
            "username=carol&email=carol%40example.com&phone=&password=correct+horse+battery",
            None,
        )
        .await;
    signed_up.assert_goes_to("/account?welcome=1");
    let session = signed_up.session_cookie().expect("a session cookie");
    let (status, _, html) = app
        .raw("GET", "/account?welcome=1", None, Some(&session))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-testid="username">carol<"#), "{html}");
    assert!(
        !html.contains("<template"),
        "the page is complete without a script moving streamed parts in"
    );
    let csrf = csrf_in(&html);

    // Profile: saved with the token, refused without it.
    let forged = app
        .form_post(
            "update_profile",
            "/account",
            "email=carol%40example.com&company=Acme+Ltd",
            Some(&session),
        )
        .await;
    forged.assert_error("csrf_failed", None);
    let (_, _, html) = app.raw("GET", "/account", None, Some(&session)).await;
    assert!(!html.contains(r#"value="Acme Ltd""#), "nothing was saved");
    let form =
        format!("csrf={csrf}&email=carol%40example.com&phone=&contact_name=Carol&company=Acme+Ltd");
    app.form_post("update_profile", "/account", &form, Some(&session))
        .await
        .assert_goes_to("/account?saved=profile");
    let (_, _, html) = app
        .raw("GET", "/account?saved=profile", None, Some(&session))
        .await;
    assert!(html.contains(r#"value="Acme Ltd""#));
    let me = app
        .call(
            "GET",
            "/api/v1/me",
            None,
            &[("cookie", &cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(me.body["company"], json!("Acme Ltd"), "{}", me.body);

    // Password: the current one is checked.
    let form = format!("csrf={csrf}&current_password=wrong&new_password=another+long+secret");
    let wrong = app
        .form_post("change_password", "/account", &form, Some(&session))
        .await;
    wrong.assert_error("wrong_current_password", Some("current_password"));
    assert!(!wrong.location.contains("another"), "never a password");

    // Sign out needs the token; afterwards the session is gone.
    app.form_post("sign_out", "/account", "csrf=nope", Some(&session))
        .await
        .assert_error("csrf_failed", None);
    let (_, _, html) = app.raw("GET", "/account", None, Some(&session)).await;
    assert!(
        html.contains(r#"data-testid="username""#),
        "still signed in"
    );
    let signed_out = app
        .form_post(
            "sign_out",
            "/account",
            &format!("csrf={csrf}"),
            Some(&session),
        )
        .await;
    signed_out.assert_goes_to("/signin?signed_out=1");
    assert!(
        signed_out.set_cookies().contains("bc_session=;")
            && signed_out.set_cookies().contains("Max-Age=0"),
        "{}",
        signed_out.set_cookies()
    );
    let (_, _, html) = app.raw("GET", "/account", None, Some(&session)).await;
    assert!(!html.contains(r#"data-testid="username""#) && html.contains("/signin"));
    // The old session cannot act any more: its form posts are told the session ended.
    app.form_post(
        "update_profile",
        "/account",
        &format!("csrf={csrf}&email=carol%40example.com&company=Evil"),
        Some(&session),
    )
    .await
    .assert_error("session_ended", None);

    // Sign in: a wrong password comes back with the login typed, the right one signs in.
    let wrong = app
        .form_post("sign_in", "/signin", "login=carol&password=wrong", None)
        .await;
    wrong.assert_error("invalid_credentials", None);
    assert_eq!(wrong.error.as_ref().unwrap().typed("login"), Some("carol"));
    assert_eq!(wrong.error.as_ref().unwrap().typed("password"), None);
    assert!(wrong.session_cookie().is_none());
    let (_, _, html) = app.raw("GET", &wrong.path(), None, None).await;
    assert!(html.contains(r#"value="carol""#), "{html}");
    assert!(html.contains(r#"data-testid="form-error""#), "{html}");
    let signed_in = app
        .form_post(
            "sign_in",
            "/signin",
            "login=carol&password=correct+horse+battery",
            None,
        )
        .await;
    signed_in.assert_goes_to("/account");
    let new_session = signed_in.session_cookie().expect("a session cookie");
    assert_ne!(new_session, session, "a new session id");
    let (_, _, html) = app.raw("GET", "/account", None, Some(&new_session)).await;
    assert!(html.contains(r#"data-testid="username">carol<"#));
    app.finish().await;
}

async fn operators_sign_in_at_ops_and_see_the_audit_log(app: TestApp) {
    app.store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let wrong = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_admin&password=wrong",
            None,
        )
        .await;
    wrong.assert_error("invalid_credentials", None);
    assert_eq!(
        wrong.error.as_ref().unwrap().typed("login"),
        Some("ops_admin")
    );
    assert!(wrong.session_cookie().is_none());
    // A customer's password does not open /ops, and a customer session sees no operator data.
    let customer = app.sign_up("alice").await.session_cookie().unwrap();
    let (_, _, html) = app.raw("GET", "/ops", None, Some(&customer)).await;
    assert!(
        !html.contains(r#"data-testid="audit""#) && html.contains(r#"action="/fn/ops_sign_in""#),
        "{html}"
    );
    let as_customer = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=alice&password=correct+horse+battery",
            None,
        )
        .await;
    as_customer.assert_error("invalid_credentials", None);
    assert!(as_customer.session_cookie().is_none());

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
    assert!(
        html.contains(r#"data-testid="operator">ops_admin<"#),
        "{html}"
    );
    assert!(
        html.contains("operator.sign_in") && html.contains("10.0.0.7"),
        "the sign-in is audited with its address"
    );
    // An operator session is not a customer session.
    let (_, _, account) = app.raw("GET", "/account", None, Some(&session)).await;
    assert!(!account.contains(r#"data-testid="username""#));
    let me = app
        .call(
            "GET",
            "/api/v1/me",
            None,
            &[("cookie", &cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    let csrf = csrf_in(&html);
    app.form_post("ops_sign_out", "/ops", "csrf=nope", Some(&session))
        .await
        .assert_error("csrf_failed", None);
    let signed_out = app
        .form_post(
            "ops_sign_out",
            "/ops",
            &format!("csrf={csrf}"),
            Some(&session),
        )
        .await;
    signed_out.assert_goes_to("/ops");
    assert!(
        signed_out.set_cookies().contains("Max-Age=0"),
        "{}",
        signed_out.set_cookies()
    );
    let actions: Vec<String> = app
        .store
        .audit_log(None, 5)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions[..3],
        [
            "operator.sign_out".to_owned(),
            "audit_log.view".to_owned(),
            "operator.sign_in".to_owned()
        ]
    );
    let (_, _, html) = app.raw("GET", "/ops", None, Some(&session)).await;
    assert!(
        !html.contains(r#"data-testid="operator""#),
        "the session is over"
    );
    app.finish().await;
}

async fn a_customer_sees_only_their_own_account_and_others_are_404(app: TestApp) {
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let alice_cookie = cookie(&alice.session_cookie().unwrap());
    let (alice_account, bob_account) = (
        alice.body["billing_account_id"].as_i64().unwrap(),
        bob.body["billing_account_id"].as_i64().unwrap(),
    );
    let own = app
        .call(
            "GET",
            &format!("/api/v1/accounts/{alice_account}"),
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        own.body,
        json!({"id": alice_account, "name": "alice", "cash": "0.00", "arrears": "0.00"})
    );

    let others = app
        .call(
            "GET",
            &format!("/api/v1/accounts/{bob_account}"),
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    let missing = app
        .call(
            "GET",
            "/api/v1/accounts/999999",
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    let garbage = app
        .call(
            "GET",
            "/api/v1/accounts/abc",
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    for reply in [&others, &missing, &garbage] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(
            reply.body, others.body,
            "another account looks exactly like no account"
        );
    }
    assert!(!others.body.to_string().contains("bob"));
    let anonymous = app
        .call(
            "GET",
            &format!("/api/v1/accounts/{alice_account}"),
            None,
            &[],
            "10.0.0.1",
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

async fn writes_from_other_sites_are_refused_even_before_sign_in(app: TestApp) {
    app.sign_up("alice").await;
    let body = Some(json!({"login": "alice", "password": "correct horse battery"}));
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[
            ("origin", "https://evil.example"),
            ("host", "billing.example.com"),
        ][..],
    ] {
        let reply = app
            .call("POST", "/api/v1/session", body.clone(), headers, "10.0.0.1")
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].clone()),
            (StatusCode::FORBIDDEN, json!("cross_site_request"))
        );
    }
    let same_origin = app
        .call(
            "POST",
            "/api/v1/session",
            body,
            &[("sec-fetch-site", "same-origin")],
            "10.0.0.1",
        )
        .await;
    assert_eq!(same_origin.status, StatusCode::OK);
    let page = app
        .call(
            "GET",
            "/signin",
            None,
            &[("sec-fetch-site", "cross-site")],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "reading a page from a link is fine"
    );
    app.finish().await;
}

async fn the_wallet_api_activates_codes_and_buys_cards_for_the_caller_only(app: TestApp) {
    use backend::IdempotencyKey;
    use backend::cash::{CashCredit, CashSource};
    use backend::vouchers::{ActivationCodeBatch, VoucherIssue};
    use billing::Amount;
    use billing::wallet_rules::VoucherValidity;

    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let account = alice.body["billing_account_id"].as_i64().unwrap();
    let alice_cookie = cookie(&alice.session_cookie().unwrap());
    let csrf = alice.body["csrf_token"].as_str().unwrap().to_owned();
    let key = |k: &str| IdempotencyKey::new(k).unwrap();
    let credit = CashCredit {
        account_id: account,
        amount: Amount::from_yuan(300),
        source: CashSource::BankTransfer,
        reference: "r1".into(),
    };
    app.store.credit_cash(&key("r1"), &credit).await.unwrap();
    let issue = VoucherIssue {
        account_id: account,
        face_value: Amount::from_yuan(10),
        validity: VoucherValidity::DaysFromActivation(30),
    };
    app.store.issue_voucher(&key("v1"), &issue).await.unwrap();
    let batch = ActivationCodeBatch {
        face_value: Amount::from_yuan(20),
        validity: VoucherValidity::DaysFromActivation(30),
        count: 1,
        redeem_by: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let code = app
        .store
        .generate_activation_codes(&key("b1"), &batch)
        .await
        .unwrap()
        .codes
        .remove(0);

    let get = |uri: &'static str, cookie: String| {
        let app = &app;
        async move {
            app.call("GET", uri, None, &[("cookie", &cookie)], "10.0.0.1")
                .await
        }
    };
    let wallet = get("/api/v1/wallet", alice_cookie.clone()).await;
    assert_eq!(
        wallet.body,
        json!({"cash": "300.00", "arrears": "0.00", "regular_voucher": "10.00", "discount_voucher": "0.00", "prepaid_card": "0.00"})
    );

    let with_csrf = [
        ("cookie", alice_cookie.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let no_csrf = app
        .call(
            "POST",
            "/api/v1/vouchers/activate",
            Some(json!({"code": code})),
            &with_csrf[..1],
            "10.0.0.1",
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let wrong = app
        .call(
            "POST",
            "/api/v1/vouchers/activate",
            Some(json!({"code": "2222-3333-4444-5555"})),
            &with_csrf,
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("code_not_found"))
    );
    let activated = app
        .call(
            "POST",
            "/api/v1/vouchers/activate",
            Some(json!({"code": code.to_lowercase()})),
            &with_csrf,
            "10.0.0.1",
        )
        .await;
    assert_eq!(activated.status, StatusCode::CREATED, "{}", activated.body);
    assert_eq!(
        (
            activated.body["face_value"].clone(),
            activated.body["status"].clone()
        ),
        (json!("20.00"), json!("active"))
    );
    let again = app
        .call(
            "POST",
            "/api/v1/vouchers/activate",
            Some(json!({"code": code})),
            &with_csrf,
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (again.status, again.body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("code_already_used"))
    );
    let listed = get("/api/v1/vouchers", alice_cookie.clone()).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);

    for (body, status, code) in [
        // The codes the pages get too (backend::problem), with the status of their kind.
        (
            json!({"denomination": "150.00"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "denomination_invalid",
        ),
        (
            json!({"denomination": "1000.00"}),
            StatusCode::CONFLICT,
            "insufficient_cash",
        ),
        (
            json!({"denomination": 100}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
    ] {
        let reply = app
            .call(
                "POST",
                "/api/v1/prepaid-cards",
                Some(body.clone()),
                &with_csrf,
                "10.0.0.1",
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].clone()),
            (status, json!(code)),
            "{body}"
        );
    }
    let with_key = [with_csrf[0], with_csrf[1], ("idempotency-key", "buy-1")];
    let bought = app
        .call(
            "POST",
            "/api/v1/prepaid-cards",
            Some(json!({"denomination": "100.00"})),
            &with_key,
            "10.0.0.1",
        )
        .await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
    assert_eq!(bought.body["cash_after"], "200.00");
    let replay = app
        .call(
            "POST",
            "/api/v1/prepaid-cards",
            Some(json!({"denomination": "100.00"})),
            &with_key,
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        replay.body["card"]["number"], bought.body["card"]["number"],
        "the same key buys once"
    );
    let cards = get("/api/v1/prepaid-cards", alice_cookie.clone()).await;
    assert_eq!(cards.body.as_array().unwrap().len(), 1);
    assert_eq!(cards.body[0]["origin"], "purchased");
    assert_eq!(
        get("/api/v1/wallet", alice_cookie.clone()).await.body["prepaid_card"],
        "100.00"
    );

    let bob_cookie = cookie(&bob.session_cookie().unwrap());
    assert_eq!(
        get("/api/v1/vouchers", bob_cookie.clone()).await.body,
        json!([])
    );
    assert_eq!(get("/api/v1/wallet", bob_cookie).await.body["cash"], "0.00");

    // Guessing codes is limited: 10 failures per account in 15 minutes.
    let mut limited = false;
    for n in 0..11 {
        let guess = app
            .call(
                "POST",
                "/api/v1/vouchers/activate",
                Some(json!({"code": format!("GUESS{n}")})),
                &with_csrf,
                "10.0.0.1",
            )
            .await;
        limited |= guess.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited);
    app.finish().await;
}

async fn operators_record_transfers_issue_vouchers_and_assign_cards_with_an_audit_trail(
    app: TestApp,
) {
    let operator = app
        .store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let bearer = format!(
        "Bearer {}",
        app.store
            .issue_operator_token(&operator, "test")
            .await
            .unwrap()
    );
    let alice = app.sign_up("alice").await;
    let alice_cookie = cookie(&alice.session_cookie().unwrap());
    let ops = |uri: &'static str, body: Value| {
        let (app, bearer) = (&app, bearer.clone());
        async move {
            app.call(
                "POST",
                uri,
                Some(body),
                &[("authorization", &bearer)],
                "10.8.8.8",
            )
            .await
        }
    };

    let transfer = json!({"account": "alice", "amount": "500.00", "reference": "BANK-0001"});
    let recorded = ops("/api/v1/ops/bank-transfers", transfer.clone()).await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.body);
    assert_eq!(recorded.body["cash_after"], "500.00");
    let replayed = ops("/api/v1/ops/bank-transfers", transfer).await;
    assert_eq!(
        replayed.body["transaction_id"], recorded.body["transaction_id"],
        "one reference, one credit"
    );
    let other_amount = ops(
        "/api/v1/ops/bank-transfers",
        json!({"account": "alice", "amount": "1.00", "reference": "BANK-0001"}),
    )
    .await;
    assert_eq!(
        (
            other_amount.status,
            other_amount.body["error"]["code"].clone()
        ),
        (StatusCode::CONFLICT, json!("duplicate_receipt"))
    );
    let nobody = ops(
        "/api/v1/ops/bank-transfers",
        json!({"account": "nobody", "amount": "1.00", "reference": "BANK-0002"}),
    )
    .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let zero = ops(
        "/api/v1/ops/bank-transfers",
        json!({"account": "alice", "amount": "0.00", "reference": "BANK-0003"}),
    )
    .await;
    assert_eq!(
        (zero.status, zero.body["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("amount"))
    );

    let issued = ops(
        "/api/v1/ops/vouchers",
        json!({"face_value": "30.00", "valid_days": 30, "account": "alice"}),
    )
    .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    let codes = ops(
        "/api/v1/ops/vouchers",
        json!({"face_value": "5.00", "valid_days": 7, "count": 3}),
    )
    .await;
    assert_eq!(codes.body["codes"].as_array().unwrap().len(), 3);
    let both = ops(
        "/api/v1/ops/vouchers",
        json!({"face_value": "5.00", "valid_days": 7, "valid_until": "2030-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);
    let card = ops(
        "/api/v1/ops/prepaid-cards",
        json!({"account": "alice", "denomination": "200.00"}),
    )
    .await;
    assert_eq!(card.status, StatusCode::CREATED, "{}", card.body);

    let wallet = app
        .call(
            "GET",
            "/api/v1/wallet",
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        wallet.body,
        json!({"cash": "500.00", "arrears": "0.00", "regular_voucher": "30.00", "discount_voucher": "0.00", "prepaid_card": "200.00"})
    );
    let movements = app
        .call(
            "GET",
            "/api/v1/movements?limit=2",
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    let kinds: Vec<&str> = movements
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["prepaid_card_assignment", "voucher_issue"]);
    assert_eq!(movements.body[0]["prepaid_cards"], "200.00");
    let bad = app
        .call(
            "GET",
            "/api/v1/movements?limit=0",
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("limit"))
    );
    let garbage = app
        .call(
            "GET",
            "/api/v1/movements?limit=lots",
            None,
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    let as_customer = app
        .call(
            "POST",
            "/api/v1/ops/bank-transfers",
            Some(json!({"account": "alice", "amount": "9.00", "reference": "X"})),
            &[("cookie", &alice_cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(as_customer.status, StatusCode::UNAUTHORIZED);

    let actions: Vec<String> = app
        .store
        .audit_log(None, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    // Written with the credit itself: the replay and the refused transfers left no row.
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "bank_transfer.record")
            .count(),
        1,
        "{actions:?}"
    );
    for action in [
        "bank_transfer.record",
        "voucher.issue",
        "voucher.generate_codes",
        "prepaid_card.assign",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} missing from {actions:?}"
        );
    }
    app.store
        .check_ledger()
        .await
        .unwrap()
        .discrepancies
        .is_empty()
        .then_some(())
        .expect("the ledger balances");

    // The signed-in overview shows the same balances and the movements, in the HTML itself.
    let (_, _, html) = app
        .raw(
            "GET",
            "/",
            None,
            Some(alice_cookie.trim_start_matches("bc_session=")),
        )
        .await;
    assert!(
        html.contains(r#"data-testid="balance-cash">¥500.00<"#),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="balance-vouchers">¥30.00<"#));
    assert!(html.contains(r#"data-testid="balance-cards">¥200.00<"#));
    assert!(html.contains("Prepaid card assigned") && html.contains("Top-up"));
    let (_, _, anonymous) = app.raw("GET", "/", None, None).await;
    assert!(!anonymous.contains("balance-cash") && anonymous.contains("/preview"));
    app.finish().await;
}

on_both_databases!(
    sign_up_signs_in_with_a_strict_cookie_and_me_answers,
    bad_sign_ups_get_specific_errors,
    sign_in_rotates_the_session_and_sign_out_needs_the_csrf_token,
    cookies_are_secure_when_served_over_https,
    operator_endpoints_need_a_live_token_and_are_audited,
    the_account_forms_work_without_javascript,
    operators_sign_in_at_ops_and_see_the_audit_log,
    a_customer_sees_only_their_own_account_and_others_are_404,
    writes_from_other_sites_are_refused_even_before_sign_in,
    the_wallet_api_activates_codes_and_buys_cards_for_the_caller_only,
    operators_record_transfers_issue_vouchers_and_assign_cards_with_an_audit_trail,
);
