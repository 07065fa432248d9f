//! A money form posted twice (a double click, a resent request) acts once: the page renders its
//! idempotency key into the form, so the second post replays the first answer.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::app::{TestApp, cookie};

/// The value of the hidden field `name` in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a {name} field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn a_double_clicked_card_purchase_buys_one_card(app: TestApp) {
    let signed_up = app.sign_up("alice").await;
    let session = signed_up.session_cookie().unwrap();
    app.store
        .credit_cash(
            &backend::IdempotencyKey::new("fund").unwrap(),
            &backend::cash::CashCredit {
                account_id: app
                    .store
                    .customer_by_username("alice")
                    .await
                    .unwrap()
                    .billing_account_id,
                amount: billing::Amount::from_yuan(1_000),
                source: backend::cash::CashSource::BankTransfer,
                reference: "FUND-1".into(),
            },
        )
        .await
        .unwrap();
    let (_, _, wallet) = app.raw("GET", "/wallet", None, Some(&session)).await;
    let csrf = field(&wallet, "csrf");
    let key = field(&wallet, "idempotency_key");
    assert!(key.len() >= 16, "the page renders a key: {key}");
    let form = format!("csrf={csrf}&idempotency_key={key}&denomination=300");
    let mut locations = Vec::new();
    for _ in 0..2 {
        let answer = app
            .form_post("buy_prepaid_card", "/wallet", &form, Some(&session))
            .await;
        assert!(answer.redirects() && answer.error.is_none(), "{answer:?}");
        locations.push(answer.path());
    }
    assert_eq!(
        locations[0], locations[1],
        "the second post replays the first"
    );
    assert!(
        locations[0].starts_with("/wallet?bought=PC") && locations[0].ends_with("#prepaid-cards"),
        "{}",
        locations[0]
    );
    let number = locations[0]
        .strip_prefix("/wallet?bought=")
        .unwrap()
        .strip_suffix("#prepaid-cards")
        .unwrap()
        .to_owned();
    // The app sending the same form (the same key) gets the same card back, as JSON.
    let replayed = app.fn_call("buy_prepaid_card", &form, Some(&session)).await;
    assert_eq!(
        (replayed.status, replayed.body.clone()),
        (StatusCode::OK, json!({"number": number}))
    );
    let cards = app
        .call(
            "GET",
            "/api/v1/prepaid-cards",
            None,
            &[("cookie", &cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        cards.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        cards.body
    );
    // The same key with another denomination (back button, then a change) buys nothing.
    let changed = format!("csrf={csrf}&idempotency_key={key}&denomination=400");
    let refused = app
        .form_post("buy_prepaid_card", "/wallet", &changed, Some(&session))
        .await;
    assert_eq!(
        refused.error.as_ref().map(|e| e.code.as_str()),
        Some("idempotency_key_reused"),
        "{refused:?}"
    );
    // A fresh page has a fresh key: a second purchase is a new request.
    let (_, _, again) = app.raw("GET", "/wallet", None, Some(&session)).await;
    assert_ne!(field(&again, "idempotency_key"), key);
    // A malformed key is refused and buys nothing.
    let malformed = app
        .form_post(
            "buy_prepaid_card",
            "/wallet",
            &format!("csrf={csrf}&idempotency_key=%27%3B--&denomination=300"),
            Some(&session),
        )
        .await;
    assert_eq!(
        malformed.error.as_ref().map(|e| e.code.as_str()),
        Some("form_invalid"),
        "{malformed:?}"
    );
    let wallet = app
        .call(
            "GET",
            "/api/v1/wallet",
            None,
            &[("cookie", &cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(wallet.body["cash"], json!("700.00"), "{}", wallet.body);
    app.finish().await;
}

async fn a_double_clicked_top_up_opens_one_top_up(app: TestApp) {
    let signed_up = app.sign_up("bob").await;
    let session = signed_up.session_cookie().unwrap();
    let (_, _, wallet) = app.raw("GET", "/wallet", None, Some(&session)).await;
    let form = format!(
        "csrf={}&idempotency_key={}&amount=50.00&method=bank_transfer",
        field(&wallet, "csrf"),
        field(&wallet, "idempotency_key")
    );
    let mut locations = Vec::new();
    for _ in 0..2 {
        let answer = app
            .form_post("top_up", "/wallet", &form, Some(&session))
            .await;
        assert!(answer.redirects() && answer.error.is_none(), "{answer:?}");
        locations.push(answer.path());
    }
    assert_eq!(locations[0], locations[1]);
    assert!(
        locations[0].starts_with("/wallet/top-ups/"),
        "a bank transfer goes to its page: {}",
        locations[0]
    );
    // The same key with another amount opens nothing.
    let changed = form.replace("amount=50.00", "amount=60.00");
    let refused = app
        .form_post("top_up", "/wallet", &changed, Some(&session))
        .await;
    assert_eq!(
        refused.error.as_ref().map(|e| e.code.as_str()),
        Some("idempotency_key_reused"),
        "{refused:?}"
    );
    let top_ups = app
        .call(
            "GET",
            "/api/v1/topups",
            None,
            &[("cookie", &cookie(&session))],
            "10.0.0.1",
        )
        .await;
    assert_eq!(
        top_ups.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        top_ups.body
    );
    assert_eq!(top_ups.body[0]["amount"], json!("50.00"));
    assert_eq!(
        format!("/wallet/top-ups/{}", top_ups.body[0]["id"]),
        locations[0]
    );
    app.finish().await;
}

on_both_databases!(
    a_double_clicked_card_purchase_buys_one_card,
    a_double_clicked_top_up_opens_one_top_up,
);
