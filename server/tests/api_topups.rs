//! Top-ups end to end through HTTP: the customer API, Alipay's notification (verified, credited
//! once per trade however often and in whatever order it arrives) and the sandbox gateway.

mod support;

use axum::http::StatusCode;
use backend::payments::AlipayMerchant;
use backend::payments::alipay::{self, Params, PrivateKey, PublicKey};
use serde_json::{Value, json};
use server::payments::OnlinePayments;
use support::app::{Customer, TestApp};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../backend/tests/fixtures/alipay/"
);
const APP_ID: &str = "2021000000000000";
const SELLER_ID: &str = "2088000000000009";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
}

/// This server as an Alipay merchant with the test keys; `alipay_signer` plays Alipay.
fn with_alipay(mut app: TestApp) -> (TestApp, PrivateKey) {
    let merchant = AlipayMerchant {
        app_id: APP_ID.into(),
        merchant_key: PrivateKey::parse(&fixture("test_merchant_private_key.pem")).unwrap(),
        alipay_key: PublicKey::parse(&fixture("test_alipay_public_key.pem")).unwrap(),
        gateway_url: alipay::PRODUCTION_GATEWAY.into(),
        seller_id: Some(SELLER_ID.into()),
    };
    app.settings.online_payments = OnlinePayments::Alipay(merchant);
    (
        app,
        PrivateKey::parse(&fixture("test_alipay_private_key.pem")).unwrap(),
    )
}

async fn open_top_up(app: &TestApp, who: &Customer, body: Value) -> support::app::Reply {
    let headers = [
        ("cookie", who.cookie.as_str()),
        ("x-csrf-token", who.csrf.as_str()),
    ];
    app.call("POST", "/api/v1/topups", Some(body), &headers, "10.0.0.1")
        .await
}

async fn cash(app: &TestApp, who: &Customer) -> Value {
    app.call(
        "GET",
        "/api/v1/wallet",
        None,
        &[("cookie", &who.cookie)],
        "10.0.0.1",
    )
    .await
    .body["cash"]
        .clone()
}

fn notification(
    signer: &PrivateKey,
    out_trade_no: &str,
    amount: &str,
    status: &str,
    edit: impl FnOnce(&mut Params),
) -> String {
    let mut params: Params = [
        ("app_id", APP_ID),
        ("auth_app_id", APP_ID),
        ("seller_id", SELLER_ID),
        ("out_trade_no", out_trade_no),
        ("trade_no", "2026112322001400000000000001"),
        ("total_amount", amount),
        ("trade_status", status),
        ("notify_type", "trade_status_sync"),
        ("notify_time", "2026-11-23 20:00:00"),
        ("notify_id", "n1"),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("subject", "Billing Center top-up"),
        (
            "fund_bill_list",
            r#"[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]"#,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    alipay::sign_notification(&mut params, signer);
    edit(&mut params);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish()
}

async fn notify(app: &TestApp, form: &str) -> (StatusCode, String) {
    let (status, _, body) = app
        .raw("POST", "/payments/alipay/notify", Some(form), None)
        .await;
    (status, body)
}

async fn an_alipay_top_up_is_credited_once_however_often_alipay_notifies(app: TestApp) {
    let (app, alipay_signer) = with_alipay(app);
    let alice = app.customer("alice").await;
    let opened = open_top_up(&app, &alice, json!({"amount": "88.88", "method": "alipay"})).await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    assert_eq!(
        (opened.body["status"].clone(), opened.body["amount"].clone()),
        (json!("pending"), json!("88.88"))
    );
    let trade = opened.body["reference"].as_str().unwrap().to_owned();
    let checkout = opened.body["checkout_url"].as_str().unwrap();
    assert!(
        checkout.starts_with("https://openapi.alipay.com/gateway.do?"),
        "{checkout}"
    );
    // The checkout request is one Alipay accepts: signed with the merchant key, page-pay, our notify URL.
    let params = alipay::params_from_pairs(
        form_urlencoded::parse(checkout.split_once('?').unwrap().1.as_bytes()).into_owned(),
    )
    .unwrap();
    alipay::verify_request(
        &params,
        &PublicKey::parse(&fixture("test_merchant_public_key.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        params["notify_url"],
        "http://127.0.0.1:3000/payments/alipay/notify"
    );
    assert!(params["biz_content"].contains(&format!(r#""out_trade_no":"{trade}""#)));
    assert_eq!(cash(&app, &alice).await, json!("0.00"));

    // TRADE_FINISHED may come first; then TRADE_SUCCESS, then 100 repeats of either.
    assert_eq!(
        notify(
            &app,
            &notification(&alipay_signer, &trade, "88.88", "TRADE_FINISHED", |_| {})
        )
        .await,
        (StatusCode::OK, "success".into())
    );
    assert_eq!(cash(&app, &alice).await, json!("88.88"));
    for i in 0..100 {
        let status = if i % 2 == 0 {
            "TRADE_SUCCESS"
        } else {
            "TRADE_FINISHED"
        };
        let reply = notify(
            &app,
            &notification(&alipay_signer, &trade, "88.88", status, |_| {}),
        )
        .await;
        assert_eq!(reply, (StatusCode::OK, "success".into()));
    }
    assert_eq!(cash(&app, &alice).await, json!("88.88"));
    let listed = app
        .call(
            "GET",
            "/api/v1/topups",
            None,
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(listed.body[0]["status"], json!("paid"));
    assert_eq!(
        listed.body[0]["checkout_url"],
        Value::Null,
        "a paid top-up has nothing left to pay"
    );
    let movements = app
        .call(
            "GET",
            "/api/v1/movements",
            None,
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(movements.body.as_array().unwrap().len(), 1);
    app.finish().await;
}

async fn notifications_that_do_not_check_out_credit_nothing(app: TestApp) {
    let (app, alipay_signer) = with_alipay(app);
    let alice = app.customer("alice").await;
    let opened = open_top_up(&app, &alice, json!({"amount": "88.88", "method": "alipay"})).await;
    let trade = opened.body["reference"].as_str().unwrap().to_owned();
    let refused = |form: String| {
        let app = &app;
        async move {
            let (status, body) = notify(app, &form).await;
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::BAD_REQUEST, "failure"),
                "{form}"
            );
        }
    };
    // Wrong amount, though correctly signed.
    refused(notification(
        &alipay_signer,
        &trade,
        "8.88",
        "TRADE_SUCCESS",
        |_| {},
    ))
    .await;
    // Forged: the amount changed after signing; signed by another key; no signature at all.
    refused(notification(
        &alipay_signer,
        &trade,
        "88.88",
        "TRADE_SUCCESS",
        |p| {
            p.insert("total_amount".into(), "888.88".into());
        },
    ))
    .await;
    let stranger = PrivateKey::parse(&fixture("test_merchant_private_key.pem")).unwrap();
    refused(notification(
        &stranger,
        &trade,
        "88.88",
        "TRADE_SUCCESS",
        |_| {},
    ))
    .await;
    refused(notification(
        &alipay_signer,
        &trade,
        "88.88",
        "TRADE_SUCCESS",
        |p| {
            p.remove("sign");
        },
    ))
    .await;
    // Unknown trade; another merchant's app id or seller (both correctly signed).
    refused(notification(
        &alipay_signer,
        "BC20261123000000000000",
        "88.88",
        "TRADE_SUCCESS",
        |_| {},
    ))
    .await;
    let other_app = notification(&alipay_signer, &trade, "88.88", "TRADE_SUCCESS", |p| {
        p.insert("app_id".into(), "2021999999999999".into());
        alipay::sign_notification(
            p,
            &PrivateKey::parse(&fixture("test_alipay_private_key.pem")).unwrap(),
        );
    });
    refused(other_app).await;
    let other_seller = notification(&alipay_signer, &trade, "88.88", "TRADE_SUCCESS", |p| {
        p.insert("seller_id".into(), "2088999999999999".into());
        alipay::sign_notification(
            p,
            &PrivateKey::parse(&fixture("test_alipay_private_key.pem")).unwrap(),
        );
    });
    refused(other_seller).await;
    refused("not a form %%%&&&".into()).await;
    // A trade that is not paid yet is acknowledged and credits nothing.
    let waiting = notify(
        &app,
        &notification(&alipay_signer, &trade, "88.88", "WAIT_BUYER_PAY", |_| {}),
    )
    .await;
    assert_eq!(waiting, (StatusCode::OK, "success".into()));
    assert_eq!(cash(&app, &alice).await, json!("0.00"));
    let one = app
        .call(
            "GET",
            &format!("/api/v1/topups/{}", opened.body["id"]),
            None,
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(one.body["status"], json!("pending"));
    app.finish().await;
}

async fn bad_top_up_requests_get_specific_errors(app: TestApp) {
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    for (body, field) in [
        (json!({"amount": "0", "method": "alipay"}), "amount"),
        (
            json!({"amount": "1000000.01", "method": "alipay"}),
            "amount",
        ),
    ] {
        let reply = open_top_up(&app, &alice, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["field"], json!(field), "{}", reply.body);
    }
    for body in [
        json!({"amount": "1.001", "method": "alipay"}),
        json!({"amount": "10", "method": "wechat"}),
        json!({"amount": "10"}),
    ] {
        let reply = open_top_up(&app, &alice, body.clone()).await;
        assert!(reply.status.is_client_error(), "{body}: {}", reply.status);
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let no_csrf = app
        .call(
            "POST",
            "/api/v1/topups",
            Some(json!({"amount": "10", "method": "alipay"})),
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let anonymous = app
        .call(
            "POST",
            "/api/v1/topups",
            Some(json!({"amount": "10", "method": "alipay"})),
            &[],
            "10.0.0.1",
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let listed = app
        .call(
            "GET",
            "/api/v1/topups",
            None,
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(listed.body, json!([]), "nothing was opened");

    let bank = open_top_up(
        &app,
        &alice,
        json!({"amount": "5000", "method": "bank_transfer"}),
    )
    .await;
    assert_eq!(bank.status, StatusCode::CREATED);
    let reference = bank.body["bank_transfer"]["reference"].as_str().unwrap();
    assert!(reference.starts_with("BT-") && bank.body["checkout_url"].is_null());
    assert!(
        bank.body["bank_transfer"]["payee_account"]
            .as_str()
            .is_some_and(|a| !a.is_empty())
    );
    let theirs = app
        .call(
            "GET",
            &format!("/api/v1/topups/{}", bank.body["id"]),
            None,
            &[("cookie", &bob.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn the_sandbox_checkout_verifies_requests_and_refuses_tampering(app: TestApp) {
    let alice = app.customer("alice").await;
    let opened = open_top_up(&app, &alice, json!({"amount": "12.34", "method": "alipay"})).await;
    let checkout = opened.body["checkout_url"].as_str().unwrap().to_owned();
    let path = checkout
        .strip_prefix("http://127.0.0.1:3000")
        .expect("the sandbox lives on this server");
    assert!(path.starts_with("/sandbox/alipay/gateway.do?"));
    let (status, _, page) = app.raw("GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("¥12.34")
            && page.contains("<svg")
            && page.contains(r#"data-testid="sandbox-pay""#),
        "{page}"
    );
    assert!(page.contains(r#"<html lang="en">"#) && page.contains("Pay ¥12.34"));
    assert!(!page.contains("付款"), "one language at a time: {page}");
    // The language the customer chose in the app (its cookie) carries over to the checkout.
    let (_, _, page) = app.raw("GET", path, None, Some("none; lang=zh-CN")).await;
    assert!(
        page.contains(r#"<html lang="zh-CN">"#) && page.contains("付款 ¥12.34"),
        "{page}"
    );
    assert!(!page.contains("Pay ¥"), "{page}");
    let tampered = path.replace("12.34", "0.01");
    let (status, _, page) = app.raw("GET", &tampered, None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("does not verify"), "{page}");
    app.finish().await;
}

async fn the_sandbox_is_off_when_alipay_is_configured(app: TestApp) {
    let (app, _) = with_alipay(app);
    let (status, _, page) = app
        .raw("GET", "/sandbox/alipay/gateway.do?app_id=1", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("sandbox-pay"), "{page}");
    app.finish().await;
}

/// The value of `name="csrf"` in a page.
fn csrf_of(html: &str) -> String {
    let start =
        html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn the_ops_forms_record_transfers_issue_vouchers_and_assign_cards(app: TestApp) {
    let alice = app.customer("alice").await;
    let bank = open_top_up(
        &app,
        &alice,
        json!({"amount": "300", "method": "bank_transfer"}),
    )
    .await;
    let reference = bank.body["reference"].as_str().unwrap().to_owned();
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
    signed_in.assert_goes_to("/ops");
    let session = signed_in.session_cookie().unwrap();
    let (_, _, page) = app.raw("GET", "/ops", None, Some(&session)).await;
    let csrf = csrf_of(&page);
    for action in [
        "/fn/ops_record_bank_transfer",
        "/fn/ops_vouchers",
        "/fn/ops_assign_card",
        "/fn/ops_sign_out",
    ] {
        assert!(
            page.contains(&format!(r#"action="{action}""#)),
            "{action} in {page}"
        );
    }
    let post = |endpoint: &'static str, form: String| {
        let app = &app;
        let session = session.clone();
        async move { app.form_post(endpoint, "/ops", &form, Some(&session)).await }
    };

    // Bad input goes back to /ops naming the field, and credits nothing.
    for (form, code, field) in [
        (
            format!("csrf={csrf}&account=nobody&amount=300&reference={reference}"),
            "account_unknown",
            Some("bank_transfers.account"),
        ),
        (
            format!("csrf={csrf}&account=alice&amount=3.001&reference={reference}"),
            "amount_invalid",
            Some("bank_transfers.amount"),
        ),
        (
            format!("csrf={csrf}&account=alice&amount=300&reference="),
            "reference_invalid",
            Some("bank_transfers.reference"),
        ),
        (
            format!("csrf=wrong&account=alice&amount=300&reference={reference}"),
            "csrf_failed",
            None,
        ),
    ] {
        post("ops_record_bank_transfer", form)
            .await
            .assert_error(code, field);
    }
    assert_eq!(cash(&app, &alice).await, json!("0.00"));
    // Three forms have a customer field; the error shows at the one that was sent.
    let refused = post(
        "ops_assign_card",
        format!("csrf={csrf}&account=nobody&denomination=200"),
    )
    .await;
    refused.assert_error("account_unknown", Some("prepaid_cards.account"));
    let (_, _, page) = app.raw("GET", &refused.path(), None, Some(&session)).await;
    assert_eq!(page.matches("class=\"field-error\"").count(), 1, "{page}");
    assert!(page.contains("data-testid=\"error-prepaid_cards-account\""));
    let recorded = post(
        "ops_record_bank_transfer",
        format!("csrf={csrf}&account=alice&amount=300&reference={reference}"),
    )
    .await;
    assert!(
        recorded.redirects() && recorded.error.is_none(),
        "{recorded:?}"
    );
    assert!(
        recorded
            .path()
            .starts_with("/ops?done=bank%20transfer%20BT-"),
        "{}",
        recorded.location
    );
    assert_eq!(cash(&app, &alice).await, json!("300.00"));
    let paid = app
        .call(
            "GET",
            "/api/v1/topups",
            None,
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(paid.body[0]["status"], json!("paid"));
    // The same transfer posted again replays; the same reference with another amount is refused.
    let again = post(
        "ops_record_bank_transfer",
        format!("csrf={csrf}&account=alice&amount=300&reference={reference}"),
    )
    .await;
    assert!(
        again.error.is_none() && again.path().starts_with("/ops?done="),
        "{again:?}"
    );
    post(
        "ops_record_bank_transfer",
        format!("csrf={csrf}&account=alice&amount=301&reference={reference}"),
    )
    .await
    .assert_error("duplicate_receipt", Some("bank_transfers.reference"));
    assert_eq!(cash(&app, &alice).await, json!("300.00"));

    // Generated codes: /ops names the batch, which downloads as a CSV file Excel opens as UTF-8.
    let generated = post(
        "ops_vouchers",
        format!("csrf={csrf}&face_value=20&valid_days=30&count=3"),
    )
    .await;
    assert!(
        generated.redirects()
            && generated.error.is_none()
            && generated
                .path()
                .starts_with("/ops?done=generated%203%20activation%20codes"),
        "{generated:?}"
    );
    let batch: i64 = generated
        .query("codes")
        .unwrap_or_else(|| panic!("a batch in {}", generated.location))
        .parse()
        .unwrap();
    let download = format!("/ops/activation-codes/{batch}");
    let (status, headers, csv) = app.raw("GET", &download, None, Some(&session)).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(
        headers["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"activation-codes-batch-{batch}.csv\"")
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = csv.strip_prefix('\u{feff}').expect("a BOM");
    assert!(
        body.ends_with("\r\n") && !body.replace("\r\n", "").contains('\n'),
        "CRLF: {body:?}"
    );
    let rows: Vec<&str> = body.lines().collect();
    assert_eq!(rows.len(), 4, "{body}");
    assert_eq!(rows[0], "code,face_value,valid_days");
    // Each code as customers are given it (and as the old CSV had it): XXXX-XXXX-XXXX-XXXX.
    assert!(
        rows[1..].iter().all(|r| r.len() == 19 + ",20.00,30".len()
            && r.ends_with(",20.00,30")
            && r.char_indices()
                .take(19)
                .all(|(i, c)| (c == '-') == [4, 9, 14].contains(&i))),
        "{rows:?}"
    );
    let codes: Vec<String> = rows[1..]
        .iter()
        .map(|r| r.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        3,
        "three different codes: {codes:?}"
    );
    // The codes are the batch's: one of them activates for alice.
    let activated = app
        .call(
            "POST",
            "/api/v1/vouchers/activate",
            Some(json!({"code": codes[0]})),
            &[("cookie", &alice.cookie), ("x-csrf-token", &alice.csrf)],
            "10.0.0.1",
        )
        .await;
    assert_eq!(activated.status, StatusCode::CREATED, "{}", activated.body);
    // Downloading again gives the same codes; only an operator session downloads; each
    // download is audited.
    let (_, _, second) = app.raw("GET", &download, None, Some(&session)).await;
    assert_eq!(second, csv);
    let customer_session = alice.cookie.strip_prefix("bc_session=").unwrap();
    let (status, _, body) = app
        .raw("GET", &download, None, Some(customer_session))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!codes.iter().any(|c| body.contains(c.as_str())), "{body}");
    let (status, _, body) = app.raw("GET", &download, None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!codes.iter().any(|c| body.contains(c.as_str())), "{body}");
    // Another operator does not take codes generated by someone else.
    app.store
        .create_operator("ops_other", "correct horse battery")
        .await
        .unwrap();
    let other = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_other&password=correct+horse+battery",
            None,
        )
        .await
        .session_cookie()
        .unwrap();
    let (status, _, body) = app.raw("GET", &download, None, Some(&other)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("only the operator who generated"), "{body}");
    assert!(!codes.iter().any(|c| body.contains(c.as_str())), "{body}");
    let (status, _, _) = app
        .raw(
            "GET",
            &format!("/ops/activation-codes/{}", batch + 1000),
            None,
            Some(&session),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let downloads = app
        .store
        .audit_log(None, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "activation_codes.download")
        .count();
    assert_eq!(
        downloads, 2,
        "each download is audited, refusals are not downloads"
    );

    post(
        "ops_vouchers",
        format!("csrf={csrf}&face_value=20&valid_days=0&account=alice"),
    )
    .await
    .assert_error("valid_days_invalid", Some("vouchers.valid_days"));
    let issued = post(
        "ops_vouchers",
        format!("csrf={csrf}&face_value=20&valid_days=30&account=alice"),
    )
    .await;
    assert!(
        issued.error.is_none()
            && issued.path().starts_with("/ops?done=issued%20voucher%20RV")
            && issued.query("codes").is_none(),
        "{issued:?}"
    );
    post(
        "ops_assign_card",
        format!("csrf={csrf}&account=alice&denomination=150"),
    )
    .await
    .assert_error("denomination_invalid", Some("prepaid_cards.denomination"));
    let assigned = post(
        "ops_assign_card",
        format!("csrf={csrf}&account=alice&denomination=200"),
    )
    .await;
    assert!(
        assigned.error.is_none()
            && assigned
                .path()
                .starts_with("/ops?done=assigned%20card%20PC"),
        "{assigned:?}"
    );
    let wallet = app
        .call(
            "GET",
            "/api/v1/wallet",
            None,
            &[("cookie", &alice.cookie)],
            "10.0.0.1",
        )
        .await;
    // 20.00 issued, 20.00 from the activated code; the card of 200.00.
    assert_eq!(
        (
            wallet.body["regular_voucher"].clone(),
            wallet.body["prepaid_card"].clone()
        ),
        (json!("40.00"), json!("200.00"))
    );
    let (_, _, page) = app.raw("GET", "/ops", None, Some(&session)).await;
    for action in [
        "bank_transfer.record",
        "voucher.generate_codes",
        "activation_codes.download",
        "voucher.issue",
        "prepaid_card.assign",
    ] {
        assert!(page.contains(action), "{action} is audited");
    }
    app.finish().await;
}

on_both_databases!(
    the_ops_forms_record_transfers_issue_vouchers_and_assign_cards,
    an_alipay_top_up_is_credited_once_however_often_alipay_notifies,
    notifications_that_do_not_check_out_credit_nothing,
    bad_top_up_requests_get_specific_errors,
    the_sandbox_checkout_verifies_requests_and_refuses_tampering,
    the_sandbox_is_off_when_alipay_is_configured,
);
