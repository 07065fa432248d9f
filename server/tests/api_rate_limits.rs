//! Rate limits over HTTP: each action has buckets of its own, per account and per client address;
//! sign-up is limited per address; a refusal is 429 with the JSON error and `Retry-After` on the
//! API and the form error on pages; forwarded headers count only from a trusted proxy. On both
//! databases, driving the whole router.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use server::config::TrustedProxies;
use support::app::{FormAnswer, Reply, TestApp, cookie};

const PASSWORD: &str = "correct horse battery";

/// (session cookie, CSRF token) of a new customer.
async fn customer(app: &TestApp, username: &str) -> (String, String) {
    let reply = app.sign_up(username).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (
        reply.session_cookie().unwrap(),
        reply.body["csrf_token"].as_str().unwrap().to_owned(),
    )
}

fn sign_up_body(username: &str) -> Value {
    json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD})
}

async fn sign_up_from(
    app: &TestApp,
    username: &str,
    peer: &str,
    headers: &[(&str, &str)],
) -> Reply {
    app.call(
        "POST",
        "/api/v1/accounts",
        Some(sign_up_body(username)),
        headers,
        peer,
    )
    .await
}

fn assert_rate_limited(reply: &Reply, max_wait: i64) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["error"]["code"], "rate_limited",
        "{}",
        reply.body
    );
    assert!(reply.body["error"]["message"].is_string());
    let wait: i64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=max_wait).contains(&wait), "Retry-After: {wait}");
}

async fn password_changes_of_different_accounts_do_not_lock_each_other_out(app: TestApp) {
    let change = |session: String, csrf: String, current: &'static str, peer: String| {
        let app = &app;
        async move {
            let form =
                format!("csrf={csrf}&current_password={current}&new_password=a+brand+new+secret");
            app.form_post_from("change_password", "/account", &form, Some(&session), &peer)
                .await
        }
    };
    // 25 wrong current passwords across five accounts, each from its own address.
    let mut guessers = Vec::new();
    for n in 0..5 {
        let (session, csrf) = customer(&app, &format!("guesser{n}")).await;
        for _ in 0..5 {
            change(
                session.clone(),
                csrf.clone(),
                "guess",
                format!("10.0.1.{n}"),
            )
            .await
            .assert_error("wrong_current_password", Some("current_password"));
        }
        guessers.push((session, csrf));
    }
    let (bob, bob_csrf) = customer(&app, "bob").await;
    let changed: FormAnswer =
        change(bob, bob_csrf, "correct+horse+battery", "10.0.2.1".into()).await;
    changed.assert_goes_to("/account?saved=password");
    // The guesser is limited (from any address, even with the right password), and the page
    // says so.
    let (session, csrf) = guessers[0].clone();
    let limited = change(
        session.clone(),
        csrf,
        "correct+horse+battery",
        "10.0.3.3".into(),
    )
    .await;
    limited.assert_error("rate_limited", None);
    let wait = limited.error.as_ref().unwrap().retry_after_secs;
    assert!(wait.is_some_and(|s| s > 0), "{limited:?}");
    let (_, _, page) = app.raw("GET", &limited.path(), None, Some(&session)).await;
    assert!(page.contains(r#"data-testid="form-error""#), "{page}");
    // The password was not changed: the old one still signs in.
    let signed_in = app
        .call(
            "POST",
            "/api/v1/session",
            Some(json!({"login": "guesser0", "password": PASSWORD})),
            &[],
            "10.0.4.4",
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    app.finish().await;
}

async fn wrong_activation_codes_do_not_lock_out_sign_in(app: TestApp) {
    let mut customers = Vec::new();
    for name in ["alice", "bob", "carol"] {
        customers.push(customer(&app, name).await);
    }
    let activate = |n: usize| {
        let (session, csrf) = customers[n].clone();
        let app = &app;
        async move {
            app.call(
                "POST",
                "/api/v1/vouchers/activate",
                Some(json!({"code": "AAAA-BBBB-CCCC-DDDD"})),
                &[("cookie", &cookie(&session)), ("x-csrf-token", &csrf)],
                "10.0.0.5",
            )
            .await
        }
    };
    // 21 wrong codes from one address: more than sign-in allows from it (20).
    for _ in 0..7 {
        for n in 0..3 {
            let reply = activate(n).await;
            assert_eq!(
                (reply.status, reply.body["error"]["code"].clone()),
                (StatusCode::NOT_FOUND, json!("code_not_found")),
                "{}",
                reply.body
            );
        }
    }
    let signed_in = app
        .call(
            "POST",
            "/api/v1/session",
            Some(json!({"login": "alice", "password": PASSWORD})),
            &[],
            "10.0.0.5",
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::OK,
        "wrong codes do not use up sign-in's allowance: {}",
        signed_in.body
    );
    // Alice's own activation limit: 10 failures per 15 minutes.
    for _ in 0..3 {
        assert_eq!(activate(0).await.status, StatusCode::NOT_FOUND);
    }
    assert_rate_limited(&activate(0).await, 900);
    let (session, csrf) = customers[0].clone();
    app.form_post_from(
        "activate_voucher",
        "/wallet",
        &format!("csrf={csrf}&code=AAAA-BBBB-CCCC-DDDD"),
        Some(&session),
        "10.0.0.6",
    )
    .await
    .assert_error("too_many_attempts", Some("code"));
    assert_eq!(
        activate(1).await.status,
        StatusCode::NOT_FOUND,
        "bob has his own allowance"
    );
    app.finish().await;
}

async fn sign_up_from_one_address_is_limited(app: TestApp) {
    for n in 0..10 {
        let reply = sign_up_from(&app, &format!("user{n}"), "10.0.0.9", &[]).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{n}: {}", reply.body);
    }
    let hashes = app.store.password_hashes();
    let refused = sign_up_from(&app, "one_more", "10.0.0.9", &[]).await;
    assert_rate_limited(&refused, 3600);
    assert!(refused.headers.get("set-cookie").is_none());
    // The form answers with its error, and no password was hashed for either refusal.
    let refused = app
        .form_post_from(
            "sign_up",
            "/signup",
            "username=formuser&email=formuser%40example.com&phone=&password=correct+horse+battery",
            None,
            "10.0.0.9",
        )
        .await;
    refused.assert_error("rate_limited", None);
    let error = refused.error.clone().unwrap();
    assert!(
        error
            .retry_after_secs
            .is_some_and(|s| (1..=3600).contains(&s)),
        "{error:?}"
    );
    assert_eq!(
        (error.typed("username"), error.typed("email")),
        (Some("formuser"), Some("formuser@example.com"))
    );
    assert_eq!(error.typed("password"), None);
    assert!(!refused.location.contains("horse"), "never the password");
    assert!(refused.session_cookie().is_none());
    assert_eq!(
        app.store.password_hashes(),
        hashes,
        "no argon2 work when refused"
    );
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(customers, 10);
    assert_eq!(
        sign_up_from(&app, "one_more", "10.0.0.10", &[])
            .await
            .status,
        StatusCode::CREATED,
        "another address has its own allowance"
    );
    app.finish().await;
}

async fn forwarded_headers_count_only_from_a_trusted_proxy(mut app: TestApp) {
    // Nobody trusted (the default): a client naming itself differently each time is still its peer.
    for n in 0..10 {
        let forwarded = format!("198.51.100.{n}");
        let reply = sign_up_from(
            &app,
            &format!("spoof{n}"),
            "10.0.0.9",
            &[("x-forwarded-for", &forwarded)],
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let spoofed = sign_up_from(
        &app,
        "spoof_more",
        "10.0.0.9",
        &[("x-forwarded-for", "198.51.100.200")],
    )
    .await;
    assert_rate_limited(&spoofed, 3600);

    // A proxy is trusted, but this peer is not it: still the peer's bucket.
    app.settings.trusted_proxies = TrustedProxies::parse("10.0.0.8, 10.1.0.0/16").unwrap();
    let untrusted = sign_up_from(
        &app,
        "spoof_more",
        "10.0.0.9",
        &[("x-forwarded-for", "198.51.100.201")],
    )
    .await;
    assert_rate_limited(&untrusted, 3600);

    // Through the trusted proxy, each forwarded client has its own bucket.
    for n in 0..10 {
        let reply = sign_up_from(
            &app,
            &format!("proxied{n}"),
            "10.0.0.8",
            &[("x-forwarded-for", "203.0.113.1")],
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    assert_rate_limited(
        &sign_up_from(
            &app,
            "proxied_more",
            "10.0.0.8",
            &[("x-forwarded-for", "203.0.113.1")],
        )
        .await,
        3600,
    );
    // What the client wrote itself (left of what the proxies appended) is not believed.
    assert_rate_limited(
        &sign_up_from(
            &app,
            "proxied_more",
            "10.0.0.8",
            &[("x-forwarded-for", "203.0.113.77, 203.0.113.1, 10.1.2.3")],
        )
        .await,
        3600,
    );
    assert_eq!(
        sign_up_from(
            &app,
            "proxied_more",
            "10.0.0.8",
            &[("x-forwarded-for", "203.0.113.1, 203.0.113.2")]
        )
        .await
        .status,
        StatusCode::CREATED
    );

    // The forwarded client is also what the audit log records.
    let ops = app
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let token = app.store.issue_operator_token(&ops, "test").await.unwrap();
    let auth = format!("Bearer {token}");
    let read = |peer: &'static str| {
        let (app, auth) = (&app, auth.clone());
        async move {
            app.call(
                "GET",
                "/api/v1/ops/audit",
                None,
                &[("authorization", &auth), ("x-forwarded-for", "203.0.113.9")],
                peer,
            )
            .await
        }
    };
    assert_eq!(read("10.0.0.8").await.body[0]["client"], "203.0.113.9");
    assert_eq!(read("10.0.0.9").await.body[0]["client"], "10.0.0.9");
    app.finish().await;
}

on_both_databases!(
    password_changes_of_different_accounts_do_not_lock_each_other_out,
    wrong_activation_codes_do_not_lock_out_sign_in,
    sign_up_from_one_address_is_limited,
    forwarded_headers_count_only_from_a_trusted_proxy,
);
