//! The pages' server functions (`/fn/…`) called the way the app calls them (a `fetch`, no
//! `Accept: text/html`): the answer is JSON, the return value or the error, never a redirect. The
//! same functions posted as plain HTML forms answer with a 303 instead (the other tests).

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::app::TestApp;

async fn an_action_answers_the_app_with_json_and_a_form_with_a_redirect(app: TestApp) {
    use backend::IdempotencyKey;
    use backend::vouchers::ActivationCodeBatch;
    use billing::Amount;
    use billing::wallet_rules::VoucherValidity;

    let alice = app.sign_up("alice").await;
    let session = alice.session_cookie().unwrap();
    let csrf = alice.body["csrf_token"].as_str().unwrap().to_owned();

    // A wrong code: an error status and the error's JSON, with the field it concerns.
    let wrong = app
        .fn_call(
            "activate_voucher",
            &format!("csrf={csrf}&code=2222-3333-4444-5555"),
            Some(&session),
        )
        .await;
    // The status is the problem's kind, as the JSON API answers the same problem.
    assert_eq!(wrong.status, StatusCode::NOT_FOUND, "{}", wrong.body);
    assert!(
        wrong.headers.get("location").is_none(),
        "no redirect for the app"
    );
    assert_eq!(
        wrong.body,
        json!({"code": "code_not_found", "field": "code", "status": 404})
    );
    // The JSON API answers the same problem with the same code, field and status: one
    // vocabulary, built from `backend::problem::Problem` on both surfaces.
    let cookie = support::app::cookie(&session);
    let headers = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    for (endpoint, form, uri, body) in [
        (
            "activate_voucher",
            format!("csrf={csrf}&code=2222-3333-4444-5555"),
            "/api/v1/vouchers/activate",
            json!({"code": "2222-3333-4444-5555"}),
        ),
        (
            "buy_prepaid_card",
            format!("csrf={csrf}&idempotency_key=k150&denomination=150"),
            "/api/v1/prepaid-cards",
            json!({"denomination": "150"}),
        ),
        (
            "buy_prepaid_card",
            format!("csrf={csrf}&idempotency_key=k1000&denomination=1000"),
            "/api/v1/prepaid-cards",
            json!({"denomination": "1000"}),
        ),
    ] {
        let page = app.fn_call(endpoint, &form, Some(&session)).await;
        let api = app
            .call("POST", uri, Some(body.clone()), &headers, "10.0.0.9")
            .await;
        assert_eq!(
            page.status, api.status,
            "{endpoint}: {} / {}",
            page.body, api.body
        );
        assert_eq!(
            page.body["code"], api.body["error"]["code"],
            "{endpoint} {body}"
        );
        assert_eq!(
            page.body.get("field"),
            api.body["error"].get("field"),
            "{endpoint}"
        );
    }

    // The same post as a plain form goes back to the wallet with the same error in the URL.
    let form = app
        .form_post(
            "activate_voucher",
            "/wallet",
            &format!("csrf={csrf}&code=2222-3333-4444-5555"),
            Some(&session),
        )
        .await;
    form.assert_error("code_not_found", Some("code"));
    // Without the session's token, or without a session, nothing is activated.
    let forged = app
        .fn_call("activate_voucher", "csrf=nope&code=x", Some(&session))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.body, json!({"code": "csrf_failed", "status": 403}));
    let anonymous = app
        .fn_call("activate_voucher", &format!("csrf={csrf}&code=x"), None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.body,
        json!({"code": "session_ended", "status": 401})
    );

    // A good code: 200 with what was made, and the voucher is in the wallet.
    let batch = ActivationCodeBatch {
        face_value: Amount::from_yuan(20),
        validity: VoucherValidity::DaysFromActivation(30),
        count: 1,
        redeem_by: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let code = app
        .store
        .generate_activation_codes(&IdempotencyKey::new("b1").unwrap(), &batch)
        .await
        .unwrap()
        .codes
        .remove(0);
    let activated = app
        .fn_call(
            "activate_voucher",
            &format!("csrf={csrf}&code={code}"),
            Some(&session),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    assert!(activated.headers.get("location").is_none());
    let number = activated.body["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("RV"), "{number}");

    // The wallet's data function: null for nobody, the wallet for its customer.
    let nobody = app.fn_call("wallet", "", None).await;
    assert_eq!((nobody.status, nobody.body), (StatusCode::OK, json!(null)));
    let wallet = app.fn_call("wallet", "", Some(&session)).await;
    assert_eq!(wallet.status, StatusCode::OK, "{}", wallet.body);
    assert_eq!(wallet.body["csrf_token"], json!(csrf), "{}", wallet.body);
    assert_eq!(
        wallet.body["vouchers_total"],
        json!("¥20.00"),
        "{}",
        wallet.body
    );
    let vouchers = wallet.body["vouchers"].as_array().unwrap();
    assert_eq!(vouchers.len(), 1, "{}", wallet.body);
    assert_eq!(vouchers[0]["number"], json!(number));
    assert_eq!(vouchers[0]["origin"], json!("activation_code"));
    // The other data functions answer nobody with null as well (the pages show "sign in").
    for endpoint in ["session", "overview", "workspaces", "ops_page"] {
        let reply = app.fn_call(endpoint, "", None).await;
        assert_eq!(
            (reply.status, reply.body.clone()),
            (StatusCode::OK, json!(null)),
            "/fn/{endpoint}"
        );
    }
    // A new workspace key is the action's answer for the app: no cookie carries it.
    let bound = app
        .fn_call(
            "bind_workspace",
            &format!("csrf={csrf}&workspace_id=ws-app&name=App"),
            Some(&session),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    assert_eq!(bound.body["workspace_id"], json!("ws-app"));
    let key = bound.body["api_key"].as_str().unwrap();
    assert!(key.starts_with("bcw_"), "{key}");
    assert!(app.store.workspace_by_key(key).await.unwrap().is_some());
    assert!(
        bound.headers.get("set-cookie").is_none() && bound.headers.get("location").is_none(),
        "{:?}",
        bound.headers
    );
    let listed = app.fn_call("workspaces", "", Some(&session)).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(
        listed.body.to_string().contains("ws-app"),
        "{}",
        listed.body
    );
    assert!(
        !listed.body.to_string().contains(key),
        "the key is shown once only"
    );
    // A customer is no operator.
    let ops = app.fn_call("ops_page", "", Some(&session)).await;
    assert_eq!((ops.status, ops.body), (StatusCode::OK, json!(null)));
    app.finish().await;
}

/// A plain form post is answered with 303 See Other, success or error, so that the browser GETs
/// the next page (a 302 leaves the method to the browser).
async fn a_plain_form_post_is_answered_with_see_other(app: TestApp) {
    app.sign_up("alice").await;
    let refused = app
        .form_post("sign_in", "/signin", "login=alice&password=wrong", None)
        .await;
    assert_eq!(
        refused.error.as_ref().map(|e| e.pair()),
        Some(("invalid_credentials", None))
    );
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{refused:?}");
    let signed_in = app
        .form_post(
            "sign_in",
            "/signin",
            "login=alice&password=correct+horse+battery",
            None,
        )
        .await;
    assert_eq!(signed_in.path(), "/account");
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{signed_in:?}");
    app.finish().await;
}

on_both_databases!(
    an_action_answers_the_app_with_json_and_a_form_with_a_redirect,
    a_plain_form_post_is_answered_with_see_other,
);

/// A plain form post goes back to its Referer only when that is a page of this site: a form on
/// another site (which a browser that sends no Origin or Sec-Fetch-Site lets through) cannot use
/// the answer to send people elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_goes_back_only_to_a_page_of_this_site() {
    let app = TestApp::sqlite().await;
    let post = |referer: &'static str| {
        let app = &app;
        async move {
            let (status, headers, _) = app
                .raw_from(
                    "POST",
                    "/fn/sign_in",
                    Some("login=nobody&password=wrong+password"),
                    None,
                    "10.0.0.40",
                    &[
                        ("accept", "text/html"),
                        ("referer", referer),
                        ("host", "localhost"),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            headers["location"].to_str().unwrap().to_owned()
        }
    };
    assert!(
        post("http://localhost/signin")
            .await
            .starts_with("http://localhost/signin?__path=")
    );
    let elsewhere = post("https://evil.example/phish").await;
    assert!(!elsewhere.contains("evil.example"), "{elsewhere}");
    assert!(elsewhere.starts_with('/'), "{elsewhere}");
    app.finish().await;
}
