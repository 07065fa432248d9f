//! The payment sandbox is for demos and tests only (PRODUCT.md §2): off unless switched on, and
//! visibly marked on every page while on. Without it and without Alipay keys, online top-ups are
//! refused and bank transfers still work.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::app::{TestApp, cookie, hidden_fields, production_settings};

async fn signed_up(app: &TestApp, name: &str) -> (String, String) {
    let reply = app.sign_up(name).await;
    (
        cookie(&reply.session_cookie().unwrap()),
        reply.body["csrf_token"].as_str().unwrap().to_owned(),
    )
}

async fn without_keys_or_sandbox_online_top_ups_are_refused_and_bank_transfers_work(
    mut app: TestApp,
) {
    app.settings = production_settings();
    let (session, csrf) = signed_up(&app, "alice").await;
    let headers = [
        ("cookie", session.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let online = app
        .call(
            "POST",
            "/api/v1/topups",
            Some(json!({"amount": "100.00", "method": "alipay"})),
            &headers,
            "10.0.0.1",
        )
        .await;
    assert_eq!(online.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(online.body["error"]["code"], "payments_unavailable");
    let bank = app
        .call(
            "POST",
            "/api/v1/topups",
            Some(json!({"amount": "100.00", "method": "bank_transfer"})),
            &headers,
            "10.0.0.1",
        )
        .await;
    assert_eq!(bank.status, StatusCode::CREATED);
    let listed = app
        .call("GET", "/api/v1/topups", None, &headers, "10.0.0.1")
        .await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        1,
        "the refused top-up was not opened"
    );
    for path in [
        "/sandbox/alipay/gateway.do?app_id=9021000000000001",
        "/sandbox/alipay/pay",
    ] {
        let method = if path.ends_with("pay") { "POST" } else { "GET" };
        let (status, _, page) = app.raw(method, path, Some("out_trade_no=x"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("sandbox-pay"), "{page}");
    }
    // The wallet form says so at the method field.
    let (_, _, wallet) = app
        .raw(
            "GET",
            "/wallet",
            None,
            Some(session.trim_start_matches("bc_session=")),
        )
        .await;
    let csrf_field = wallet
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let refused = app
        .form_post(
            "top_up",
            "/wallet",
            &format!("csrf={csrf_field}&amount=10.00&method=alipay"),
            Some(session.trim_start_matches("bc_session=")),
        )
        .await;
    refused.assert_error("payments_unavailable", Some("method"));
    let listed = app
        .call("GET", "/api/v1/topups", None, &headers, "10.0.0.1")
        .await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        1,
        "the form opened no top-up either"
    );
    assert!(
        !wallet.contains("sandbox-banner"),
        "no banner without the sandbox"
    );
    app.finish().await;
}

async fn every_page_says_so_while_the_sandbox_is_on(app: TestApp) {
    for path in ["/", "/wallet", "/signin", "/preview", "/no-such-page"] {
        let (_, _, page) = app.raw("GET", path, None, None).await;
        assert!(
            page.contains(r#"data-testid="sandbox-banner""#)
                && page.contains(r#"data-payment-sandbox="on""#),
            "{path}: {page}"
        );
    }
    app.finish().await;
}

/// Behind a TLS-terminating proxy the public URL is https; the sandbox still delivers its
/// notification, over plain HTTP to this process's own listen address.
async fn the_sandbox_pays_behind_an_https_public_url(mut app: TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}", listener.local_addr().unwrap());
    app.settings.public_url = "https://billing.example.com".into();
    app.settings.local_url = local;
    let config = server::config::Config::from_lookup(|_| None).unwrap();
    let served = server::router::app(
        config.leptos_options(),
        app.store.clone(),
        app.settings.clone(),
    )
    .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, served).await });
    let (session, csrf) = signed_up(&app, "bob").await;
    let headers = [
        ("cookie", session.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let opened = app
        .call(
            "POST",
            "/api/v1/topups",
            Some(json!({"amount": "25.00", "method": "alipay"})),
            &headers,
            "10.0.0.1",
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let checkout = opened.body["checkout_url"].as_str().unwrap();
    let path = checkout
        .strip_prefix("https://billing.example.com")
        .expect("the checkout is under the public URL");
    let (status, _, page) = app.raw("GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(hidden_fields(&page))
        .finish();
    let (status, headers_back, page) = app
        .raw("POST", "/sandbox/alipay/pay", Some(&form), None)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(
        headers_back["location"]
            .to_str()
            .unwrap()
            .starts_with("https://billing.example.com/wallet/top-ups/")
    );
    let top_up = app
        .call(
            "GET",
            &format!("/api/v1/topups/{}", opened.body["id"]),
            None,
            &headers,
            "10.0.0.1",
        )
        .await;
    assert_eq!(top_up.body["status"], "paid", "{}", top_up.body);
    server.abort();
    app.finish().await;
}

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/// A wallet form posted to the server function `/fn/{endpoint}` from a phone's browser without
/// WebAssembly: where it sends the browser.
async fn form_post_from_a_phone(
    app: &TestApp,
    endpoint: &str,
    form: &str,
    session: &str,
) -> String {
    let (status, headers, body) = app
        .raw_from(
            "POST",
            &format!("/fn/{endpoint}"),
            Some(form),
            Some(session),
            "10.0.0.7",
            &[
                ("accept", "text/html"),
                ("referer", "http://localhost/wallet"),
                ("host", "localhost"),
                ("user-agent", IPHONE),
            ],
        )
        .await;
    assert!(
        matches!(status, StatusCode::SEE_OTHER | StatusCode::FOUND),
        "{status} {body}"
    );
    headers["location"].to_str().unwrap().to_owned()
}

/// The wallet's top-up form without WebAssembly: from a phone Alipay goes straight to the
/// (sandbox) mobile checkout, from a desktop to the top-up's page; "pay" on a pending top-up goes
/// to the checkout, a bank transfer to its own page.
async fn the_top_up_forms_go_to_the_checkout_and_back_to_it(app: TestApp) {
    let (session, csrf) = signed_up(&app, "carol").await;
    let session = session.trim_start_matches("bc_session=").to_owned();
    let headers = [("cookie", cookie(&session)), ("x-csrf-token", csrf.clone())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let checkout = form_post_from_a_phone(
        &app,
        "top_up",
        &format!("csrf={csrf}&amount=12.34&method=alipay"),
        &session,
    )
    .await;
    let path = checkout
        .strip_prefix("http://127.0.0.1:3000")
        .unwrap_or_else(|| panic!("the sandbox checkout on this server: {checkout}"));
    assert!(path.starts_with("/sandbox/alipay/gateway.do?"), "{path}");
    let (status, _, page) = app.raw("GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("¥12.34"), "{page}");
    assert!(
        page.contains(r#"data-testid="sandbox-quit""#) && !page.contains("sandbox-qr"),
        "the phone layout: {page}"
    );
    let listed = app
        .call("GET", "/api/v1/topups", None, &headers, "10.0.0.1")
        .await;
    let top_up = listed.body[0].clone();
    assert_eq!(
        (
            listed.body.as_array().unwrap().len(),
            top_up["amount"].clone(),
            top_up["status"].clone()
        ),
        (1, json!("12.34"), json!("pending")),
        "{}",
        listed.body
    );
    let id = top_up["id"].as_i64().unwrap();
    // Paying later goes to the checkout of the same top-up: from a desktop Alipay's checkout page.
    let again = app
        .form_post(
            "pay_top_up",
            &format!("/wallet/top-ups/{id}"),
            &format!("csrf={csrf}&id={id}"),
            Some(&session),
        )
        .await;
    assert!(again.redirects() && again.error.is_none(), "{again:?}");
    assert!(
        again
            .location
            .starts_with("http://127.0.0.1:3000/sandbox/alipay/gateway.do?"),
        "{}",
        again.location
    );
    let (_, _, page) = app
        .raw(
            "GET",
            again
                .location
                .strip_prefix("http://127.0.0.1:3000")
                .unwrap(),
            None,
            None,
        )
        .await;
    assert!(page.contains("¥12.34"), "{page}");
    assert!(
        page.contains(r#"data-testid="sandbox-qr""#) && !page.contains("sandbox-quit"),
        "the desktop layout: {page}"
    );
    // From a phone, its mobile checkout.
    let on_phone = form_post_from_a_phone(
        &app,
        "pay_top_up",
        &format!("csrf={csrf}&id={id}"),
        &session,
    )
    .await;
    let (_, _, page) = app
        .raw(
            "GET",
            on_phone
                .strip_prefix("http://127.0.0.1:3000/sandbox/alipay/gateway.do?")
                .map(|query| format!("/sandbox/alipay/gateway.do?{query}"))
                .unwrap_or_else(|| panic!("the sandbox checkout: {on_phone}"))
                .as_str(),
            None,
            None,
        )
        .await;
    assert!(
        page.contains("¥12.34") && page.contains(r#"data-testid="sandbox-quit""#),
        "{page}"
    );
    // Someone else's top-up, or none, is not found; a wrong token pays nothing.
    let (other, other_csrf) = signed_up(&app, "dave").await;
    app.form_post(
        "pay_top_up",
        &format!("/wallet/top-ups/{id}"),
        &format!("csrf={other_csrf}&id={id}"),
        Some(other.trim_start_matches("bc_session=")),
    )
    .await
    .assert_error("top_up_not_found", None);
    app.form_post(
        "pay_top_up",
        "/wallet/top-ups/999999",
        &format!("csrf={csrf}&id=999999"),
        Some(&session),
    )
    .await
    .assert_error("top_up_not_found", None);
    app.form_post(
        "pay_top_up",
        &format!("/wallet/top-ups/{id}"),
        &format!("csrf=wrong&id={id}"),
        Some(&session),
    )
    .await
    .assert_error("csrf_failed", None);
    // A bad amount is named at its field and opens nothing.
    app.form_post(
        "top_up",
        "/wallet",
        &format!("csrf={csrf}&amount=12.345&method=alipay"),
        Some(&session),
    )
    .await
    .assert_error("amount_invalid", Some("amount"));
    // A bank transfer goes to its page, with the payee and the reference.
    let bank = app
        .form_post(
            "top_up",
            "/wallet",
            &format!("csrf={csrf}&amount=100.00&method=bank_transfer"),
            Some(&session),
        )
        .await;
    assert!(bank.redirects() && bank.error.is_none(), "{bank:?}");
    let listed = app
        .call("GET", "/api/v1/topups", None, &headers, "10.0.0.1")
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2, "{}", listed.body);
    let bank_top_up = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["method"] == json!("bank_transfer"))
        .unwrap()
        .clone();
    assert_eq!(
        bank.path(),
        format!("/wallet/top-ups/{}", bank_top_up["id"])
    );
    let (status, _, page) = app.raw("GET", &bank.path(), None, Some(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(bank_top_up["reference"].as_str().unwrap()),
        "{page}"
    );
    // From a desktop an Alipay top-up goes to its own page (which shows the code to scan).
    let desktop = app
        .form_post(
            "top_up",
            "/wallet",
            &format!("csrf={csrf}&amount=5.00&method=alipay"),
            Some(&session),
        )
        .await;
    let listed = app
        .call("GET", "/api/v1/topups", None, &headers, "10.0.0.1")
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 3, "{}", listed.body);
    let desktop_top_up = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["amount"] == json!("5.00"))
        .unwrap()
        .clone();
    desktop.assert_goes_to(&format!("/wallet/top-ups/{}", desktop_top_up["id"]));
    app.finish().await;
}

#[test]
fn the_sandbox_only_notifies_its_own_server() {
    use server::payments::delivery_url;
    assert_eq!(
        delivery_url(
            "https://billing.example.com",
            "http://127.0.0.1:3000",
            "https://billing.example.com/payments/alipay/notify"
        ),
        Ok("http://127.0.0.1:3000/payments/alipay/notify".to_owned())
    );
    for elsewhere in [
        "https://attacker.example/payments/alipay/notify",
        "https://billing.example.com.attacker.example/x",
        "http://billing.example.com/payments/alipay/notify",
    ] {
        assert!(
            delivery_url(
                "https://billing.example.com",
                "http://127.0.0.1:3000",
                elsewhere
            )
            .is_err(),
            "{elsewhere}"
        );
    }
}

on_both_databases!(
    without_keys_or_sandbox_online_top_ups_are_refused_and_bank_transfers_work,
    every_page_says_so_while_the_sandbox_is_on,
    the_sandbox_pays_behind_an_https_public_url,
    the_top_up_forms_go_to_the_checkout_and_back_to_it,
);
