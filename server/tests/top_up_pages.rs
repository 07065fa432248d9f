//! The top-up page's server functions as a stranger would call them: another customer's top-up,
//! no session, an id that is not a number. None of them shows or changes anything.

mod support;

use serde_json::json;
use support::app::TestApp;

async fn a_top_up_is_shown_only_to_its_customer(app: TestApp) {
    let alice = app.sign_up("alice").await;
    let alice_session = alice.session_cookie().unwrap();
    let alice_csrf = alice.body["csrf_token"].as_str().unwrap().to_owned();
    let opened = app
        .fn_call(
            "top_up",
            &format!("csrf={alice_csrf}&idempotency_key=k1&amount=20&method=bank_transfer"),
            Some(&alice_session),
        )
        .await;
    assert!(opened.status.is_success(), "{:?}", opened.body);
    let url = opened.body["url"].as_str().unwrap().to_owned();
    let id = url.rsplit('/').next().unwrap().to_owned();

    let own = app
        .fn_call(
            "load_top_up_status",
            &format!("id={id}"),
            Some(&alice_session),
        )
        .await;
    assert_eq!(own.body, json!("pending"));
    let own_page = app
        .fn_call("load_top_up", &format!("id={id}"), Some(&alice_session))
        .await;
    assert_eq!(
        own_page.body["top_up"]["amount"], "¥20.00",
        "{:?}",
        own_page.body
    );

    let bob = app.sign_up("bob").await;
    let bob_session = bob.session_cookie().unwrap();
    for (endpoint, cookie) in [
        ("load_top_up_status", Some(bob_session.as_str())),
        ("load_top_up", Some(bob_session.as_str())),
        ("load_top_up_status", None),
        ("load_top_up", None),
    ] {
        let seen = app.fn_call(endpoint, &format!("id={id}"), cookie).await;
        assert!(seen.status.is_success(), "{endpoint}: {:?}", seen.body);
        assert_eq!(seen.body, json!(null), "{endpoint} as {cookie:?}");
    }
    // Bob cannot send Alice's top-up to the gateway either.
    let bob_csrf = bob.body["csrf_token"].as_str().unwrap().to_owned();
    let paid = app
        .fn_call(
            "pay_top_up",
            &format!("csrf={bob_csrf}&id={id}"),
            Some(&bob_session),
        )
        .await;
    assert_eq!(paid.body["code"], "top_up_not_found", "{:?}", paid.body);

    // An id that is not a number is a refused request, not somebody's top-up.
    let garbage = app
        .raw_from(
            "POST",
            "/fn/load_top_up_status",
            Some("id=1%20OR%201%3D1"),
            Some(&alice_session),
            "10.0.0.7",
            &[("accept", "application/json")],
        )
        .await;
    assert!(
        garbage.0.is_client_error() || garbage.0.is_server_error(),
        "{garbage:?}"
    );
    assert!(!garbage.2.contains("pending"), "{garbage:?}");
    app.finish().await;
}

on_both_databases!(a_top_up_is_shown_only_to_its_customer);
