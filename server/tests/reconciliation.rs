//! A lost Alipay notification no longer leaves a paid top-up pending for ever: pending top-ups are
//! asked about with `alipay.trade.query` (here the sandbox answers, over real HTTP), paid ones are
//! credited once, unpaid ones close after a day, and a trade closed or refunded after it was
//! credited is flagged to operators, never ignored. Both databases.

mod support;

use axum::http::StatusCode;
use backend::ManualClock;
use backend::payments::sandbox::Checkout;
use serde_json::json;
use server::reconciliation::Reconciler;
use support::app::{TestApp, cookie, hidden_fields};

async fn lost_notifications_are_reconciled_and_contradictions_flagged(mut app: TestApp) {
    let clock = ManualClock::new(chrono::Utc::now());
    app.store = app.store.clone().with_clock(clock.clone());
    // The sandbox answers queries on this process's own address: serve the app for real.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    app.settings.local_url = format!("http://{}", listener.local_addr().unwrap());
    let config = server::config::Config::from_lookup(|_| None).unwrap();
    let served = server::router::app(
        config.leptos_options(),
        app.store.clone(),
        app.settings.clone(),
    )
    .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let serving = tokio::spawn(async move { axum::serve(listener, served).await });
    let reconciler = Reconciler::new(
        app.settings.online_payments.clone(),
        app.settings.public_url.clone(),
        app.settings.local_url.clone(),
    );

    let signed_up = app.sign_up("alice").await;
    let session = cookie(&signed_up.session_cookie().unwrap());
    let csrf = signed_up.body["csrf_token"].as_str().unwrap().to_owned();
    let headers = [
        ("cookie", session.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let open = |amount: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .call(
                    "POST",
                    "/api/v1/topups",
                    Some(json!({"amount": amount, "method": "alipay"})),
                    &headers,
                    "10.0.0.1",
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            reply.body
        }
    };
    let paid = open("66.60").await;
    let unpaid = open("10.00").await;

    // The customer pays, and the notification is lost on its way.
    let checkout = paid["checkout_url"].as_str().unwrap();
    let path = checkout.strip_prefix(&app.settings.public_url).unwrap();
    let (_, _, page) = app.raw("GET", path, None, None).await;
    let mut fields = hidden_fields(&page);
    fields.push(("sandbox_notification".into(), "lost".into()));
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let (status, _, _) = app
        .raw("POST", "/sandbox/alipay/pay", Some(&form), None)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    assert_eq!(
        cash(&app, &session).await,
        json!("0.00"),
        "nothing arrived yet"
    );

    // Too young to be asked about: a customer may be paying right now.
    assert_eq!(reconciler.reconcile(&app.store).await.asked, 0);
    clock.advance(chrono::Duration::minutes(6));
    let first = reconciler.reconcile(&app.store).await;
    assert_eq!(
        (first.asked, first.credited, first.closed, first.errors),
        (2, 1, 0, 0),
        "{first:?}"
    );
    assert_eq!(cash(&app, &session).await, json!("66.60"));
    // Asked again only after a while; credited once whatever happens.
    assert_eq!(reconciler.reconcile(&app.store).await.asked, 0);
    clock.advance(chrono::Duration::minutes(6));
    let second = reconciler.reconcile(&app.store).await;
    assert_eq!(
        (second.asked, second.credited),
        (1, 0),
        "only the unpaid one: {second:?}"
    );

    // A day later the unpaid one is closed.
    clock.advance(chrono::Duration::hours(25));
    let later = reconciler.reconcile(&app.store).await;
    assert_eq!((later.asked, later.closed), (1, 1), "{later:?}");
    // (A day on, the session has ended: read the store.)
    let account = app
        .store
        .customer_by_username("alice")
        .await
        .unwrap()
        .billing_account_id;
    let status = |id: &serde_json::Value| {
        let id = id.as_i64().unwrap();
        let app = &app;
        async move { app.store.top_up(account, id).await.unwrap().unwrap().status }
    };
    assert_eq!(
        status(&unpaid["id"]).await,
        backend::topups::TopUpStatus::Closed
    );
    assert_eq!(
        status(&paid["id"]).await,
        backend::topups::TopUpStatus::Paid
    );
    assert_eq!(
        reconciler.reconcile(&app.store).await.asked,
        0,
        "closed is not asked again"
    );

    // Alipay then says the credited trade was closed (a full refund): flagged once, for operators.
    let sandbox = app
        .store
        .sandbox_alipay(&format!(
            "{}/sandbox/alipay/gateway.do",
            app.settings.public_url
        ))
        .await
        .unwrap();
    let trade = Checkout {
        out_trade_no: paid["reference"].as_str().unwrap().to_owned(),
        total_amount: "66.60".into(),
        subject: "top-up".into(),
        notify_url: String::new(),
        return_url: String::new(),
        time_expire: None,
    };
    let mut closed = sandbox.notification(
        &trade,
        "2026112322001000000000000042",
        "TRADE_CLOSED",
        app.store.now(),
    );
    closed.insert("refund_fee".into(), "66.60".into());
    notify(&app, closed, 3).await;
    assert_eq!(
        app.store.account(account).await.unwrap().cash,
        billing::Amount::from_fen(6_660),
        "a flag moves no money by itself"
    );
    let operator = app
        .store
        .create_operator("ops_flags", "correct horse battery")
        .await
        .unwrap();
    let token = format!(
        "Bearer {}",
        app.store
            .issue_operator_token(&operator, "test")
            .await
            .unwrap()
    );
    let ops = [("authorization", token.as_str())];
    let flags = app
        .call("GET", "/api/v1/ops/payment-flags", None, &ops, "10.0.0.2")
        .await;
    assert_eq!(
        flags.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        flags.body
    );
    assert_eq!(flags.body[0]["kind"], "refunded_after_credit");
    let id = flags.body[0]["id"].as_i64().unwrap();
    let resolve = format!("/api/v1/ops/payment-flags/{id}/resolve");
    let bad = app
        .call(
            "POST",
            &resolve,
            Some(json!({"resolution": ""})),
            &ops,
            "10.0.0.2",
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let resolved = app
        .call(
            "POST",
            &resolve,
            Some(json!({"resolution": "refunded at Alipay; cash debited by hand"})),
            &ops,
            "10.0.0.2",
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    let again = app
        .call(
            "POST",
            &resolve,
            Some(json!({"resolution": "twice"})),
            &ops,
            "10.0.0.2",
        )
        .await;
    assert_eq!(again.body["error"]["code"], "flag_already_resolved");
    let open_flags = app
        .call("GET", "/api/v1/ops/payment-flags", None, &ops, "10.0.0.2")
        .await;
    assert_eq!(open_flags.body, json!([]));
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'payment_flag.resolve'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(audited, 1);

    // A trade closed without a refund after it was credited (Alipay closing a paid trade) is a
    // contradiction of its own, flagged once too.
    let closed = sandbox.notification(
        &trade,
        "2026112322001000000000000042",
        "TRADE_CLOSED",
        app.store.now(),
    );
    notify(&app, closed, 2).await;
    let flags = app
        .call("GET", "/api/v1/ops/payment-flags", None, &ops, "10.0.0.2")
        .await;
    assert_eq!(
        flags.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        flags.body
    );
    assert_eq!(flags.body[0]["kind"], "closed_after_credit");
    assert_eq!(
        app.store.account(account).await.unwrap().cash,
        billing::Amount::from_fen(6_660)
    );
    serving.abort();
    app.finish().await;
}

async fn cash(app: &TestApp, session: &str) -> serde_json::Value {
    app.call(
        "GET",
        "/api/v1/wallet",
        None,
        &[("cookie", session)],
        "10.0.0.1",
    )
    .await
    .body["cash"]
        .clone()
}

/// Signs a notification with the sandbox's "Alipay" key and delivers it `times` times; each is
/// acknowledged.
async fn notify(app: &TestApp, mut params: backend::payments::alipay::Params, times: usize) {
    backend::payments::alipay::sign_notification(&mut params, &sandbox_alipay_key(app).await);
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    for _ in 0..times {
        let (status, _, body) = app
            .raw("POST", "/payments/alipay/notify", Some(&form), None)
            .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "success"));
    }
}

/// The sandbox's own "Alipay" private key (kept in the database).
async fn sandbox_alipay_key(app: &TestApp) -> backend::payments::alipay::PrivateKey {
    let pem: String = sqlx::query_scalar(
        "SELECT private_key_pem FROM gateway_keys WHERE name = 'sandbox.alipay'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    backend::payments::alipay::PrivateKey::parse(&pem).unwrap()
}

on_both_databases!(lost_notifications_are_reconciled_and_contradictions_flagged);
