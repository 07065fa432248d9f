//! Paying a top-up from where the customer is (`Payments::pay_with`): a desktop gets a QR code the
//! gateway made (`alipay.trade.precreate`) to scan with a phone, a phone goes to the gateway's
//! mobile checkout (`alipay.trade.wap.pay`), WeChat is told to open a browser. The sandbox plays
//! Alipay on a real socket (it is called, and it notifies, over HTTP); only its verified
//! notification credits, once however often a code is paid. Both databases.

mod support;

use axum::http::StatusCode;
use backend::ManualClock;
use backend::payments::alipay::{self, Params, PrivateKey, PublicKey};
use backend::payments::{OnlinePayments, PayWith, PayingFrom, Payments};
use backend::topups::{TopUp, TopUpStatus};
use serde_json::{Value, json};
use support::app::{TestApp, cookie, hidden_fields};

/// The public address people use (behind an https proxy); the sandbox calls this process on its
/// listen address instead.
const PUBLIC: &str = "https://billing.example.com";

/// The app served on a real socket, and the `Payments` it serves with.
struct Served {
    app: TestApp,
    payments: Payments,
    clock: ManualClock,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn new(mut app: TestApp) -> Served {
        let clock = ManualClock::new(chrono::Utc::now());
        app.store = app.store.clone().with_clock(clock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        app.settings.public_url = PUBLIC.into();
        app.settings.local_url = format!("http://{}", listener.local_addr().unwrap());
        let config = server::config::Config::from_lookup(|_| None).unwrap();
        let served = server::router::app(
            config.leptos_options(),
            app.store.clone(),
            app.settings.clone(),
        )
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let serving = tokio::spawn(async move { axum::serve(listener, served).await });
        let payments = Payments::new(
            app.settings.online_payments.clone(),
            app.settings.public_url.clone(),
            app.settings.local_url.clone(),
            app.settings.bank_payee.clone(),
        );
        Served {
            app,
            payments,
            clock,
            serving,
        }
    }

    async fn finish(self) {
        self.serving.abort();
        self.app.finish().await;
    }

    /// A signed-up customer's session cookie and CSRF token.
    async fn customer(&self, name: &str) -> (String, String) {
        let reply = self.app.sign_up(name).await;
        (
            cookie(&reply.session_cookie().unwrap()),
            reply.body["csrf_token"].as_str().unwrap().to_owned(),
        )
    }

    /// A top-up opened through the API, as the store has it.
    async fn open(&self, who: &(String, String), amount: &str, method: &str) -> TopUp {
        let headers = [("cookie", who.0.as_str()), ("x-csrf-token", who.1.as_str())];
        let reply = self
            .app
            .call(
                "POST",
                "/api/v1/topups",
                Some(json!({"amount": amount, "method": method})),
                &headers,
                "10.0.0.1",
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        self.top_up(reply.body["reference"].as_str().unwrap()).await
    }

    async fn top_up(&self, reference: &str) -> TopUp {
        self.app
            .store
            .top_up_by_reference(reference)
            .await
            .unwrap()
            .unwrap()
    }

    async fn cash(&self, who: &(String, String)) -> Value {
        self.app
            .call(
                "GET",
                "/api/v1/wallet",
                None,
                &[("cookie", who.0.as_str())],
                "10.0.0.1",
            )
            .await
            .body["cash"]
            .clone()
    }

    async fn pay_with(&self, top_up: &TopUp, from: PayingFrom) -> Option<PayWith> {
        self.payments
            .pay_with(&self.app.store, top_up, from)
            .await
            .unwrap()
    }

    /// A page of this server by its public URL.
    async fn get(&self, url: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        self.app.raw("GET", path_of(url), None, None).await
    }

    /// A form posted to `path` with `fields`.
    async fn post_form(
        &self,
        path: &str,
        fields: Vec<(String, String)>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.app.raw("POST", path, Some(&form), None).await
    }
}

fn path_of(url: &str) -> &str {
    url.strip_prefix(PUBLIC)
        .unwrap_or_else(|| panic!("under the public URL: {url}"))
}

fn params_of(url: &str) -> Params {
    let (_, query) = url.split_once('?').unwrap();
    alipay::params_from_pairs(form_urlencoded::parse(query.as_bytes()).into_owned()).unwrap()
}

fn url_with(base: &str, params: &Params) -> String {
    alipay::url_with_params(base, params)
}

async fn a_desktop_pays_by_scanning_a_code_and_is_credited_once(app: TestApp) {
    let served = Served::new(app).await;
    let alice = served.customer("alice").await;
    let top_up = served.open(&alice, "25.00", "alipay").await;
    let Some(PayWith::QrCode {
        code,
        svg,
        page_pay_url,
    }) = served.pay_with(&top_up, PayingFrom::Desktop).await
    else {
        panic!("a QR code for a desktop");
    };
    assert!(
        code.starts_with(&format!("{PUBLIC}/sandbox/alipay/scan?")),
        "{code}"
    );
    assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{svg}");
    // The gateway is asked once per top-up: with the gateway out of reach, the same service
    // (clones share what it remembers) still shows the code it made.
    let mut cut_off = served.payments.clone();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    cut_off.local_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let again = cut_off
        .pay_with(&served.app.store, &top_up, PayingFrom::Desktop)
        .await
        .unwrap();
    assert!(
        matches!(&again, Some(PayWith::QrCode { code: same, .. }) if *same == code),
        "{again:?}"
    );
    assert_eq!(
        Some(page_pay_url.clone()),
        served
            .payments
            .checkout_url(&served.app.store, &top_up)
            .await
            .unwrap(),
        "Alipay's checkout page as the alternative"
    );
    // The alternative is the desktop checkout, as it always was.
    let (status, _, desktop) = served.get(&page_pay_url).await;
    assert_eq!(status, StatusCode::OK, "{desktop}");
    for testid in [
        "sandbox-amount",
        "sandbox-qr",
        "sandbox-pay",
        "sandbox-pay-lost",
    ] {
        assert!(
            desktop.contains(&format!(r#"data-testid="{testid}""#)),
            "{testid}"
        );
    }
    assert!(!desktop.contains("sandbox-quit"));

    // The code opens the scan page on the phone: the amount and a pay button, no code to scan.
    let (status, _, scan) = served.get(&code).await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    assert!(scan.contains("¥25.00"), "{scan}");
    assert!(scan.contains(r#"data-testid="sandbox-pay""#), "{scan}");
    assert!(
        scan.contains(r#"action="/sandbox/alipay/scan/pay""#),
        "{scan}"
    );
    assert!(!scan.contains("sandbox-qr") && !scan.contains("sandbox-quit"));
    let fields = hidden_fields(&scan);
    assert_eq!(
        fields.iter().cloned().collect::<Params>(),
        params_of(&code),
        "the pay form carries the code's signed parameters"
    );

    // A code with another amount is refused, shown or paid, and credits nothing.
    let mut cheaper = params_of(&code);
    cheaper.insert("total_amount".into(), "0.01".into());
    let (status, _, page) = served
        .get(&url_with(
            &format!("{PUBLIC}/sandbox/alipay/scan"),
            &cheaper,
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(!page.contains("sandbox-pay"), "{page}");
    let (status, _, page) = served
        .post_form("/sandbox/alipay/scan/pay", cheaper.into_iter().collect())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert_eq!(served.cash(&alice).await, json!("0.00"));
    assert_eq!(
        served.top_up(&top_up.reference).await.status,
        TopUpStatus::Pending
    );
    // Opening the scan page pays nothing either.
    assert_eq!(
        served
            .app
            .store
            .sandbox_trade(&top_up.reference)
            .await
            .unwrap(),
        None
    );

    // Paid: the phone shows "paid" (no redirect), the notification credited the top-up.
    let (status, headers, paid) = served
        .post_form("/sandbox/alipay/scan/pay", fields.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert!(headers.get("location").is_none());
    assert!(paid.contains(r#"data-testid="sandbox-paid""#), "{paid}");
    let credited = served.top_up(&top_up.reference).await;
    assert_eq!(credited.status, TopUpStatus::Paid);
    assert_eq!(served.cash(&alice).await, json!("25.00"));
    let (trade_no, _, _) = served
        .app
        .store
        .sandbox_trade(&top_up.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        credited.provider_trade_no.as_deref(),
        Some(trade_no.as_str())
    );

    // Paid again (the same page, the same code): nothing more is credited.
    let (status, _, again) = served.post_form("/sandbox/alipay/scan/pay", fields).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(again.contains(r#"data-testid="sandbox-paid""#), "{again}");
    assert_eq!(served.cash(&alice).await, json!("25.00"));
    assert_eq!(served.top_up(&top_up.reference).await, credited);
    // And a paid top-up has nothing left to pay.
    for from in [PayingFrom::Desktop, PayingFrom::Phone, PayingFrom::WeChat] {
        assert_eq!(served.pay_with(&credited, from).await, None, "{from:?}");
    }
    served.finish().await;
}

async fn a_phone_pays_at_the_mobile_checkout_and_goes_back_to_the_top_up(app: TestApp) {
    let served = Served::new(app).await;
    let bob = served.customer("bob").await;
    let top_up = served.open(&bob, "12.34", "alipay").await;
    let Some(PayWith::Gateway { url }) = served.pay_with(&top_up, PayingFrom::Phone).await else {
        panic!("the gateway for a phone");
    };
    assert!(
        url.starts_with(&format!("{PUBLIC}/sandbox/alipay/gateway.do?")),
        "{url}"
    );
    assert_eq!(params_of(&url)["method"], alipay::WAP_PAY_METHOD);
    let back = served.payments.return_url(&top_up);
    assert_eq!(back, format!("{PUBLIC}/wallet/top-ups/{}", top_up.id));

    // The phone layout: the amount, a pay button, the way back; no QR code.
    let (status, _, page) = served.get(&url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("¥12.34"), "{page}");
    assert!(page.contains(r#"data-testid="sandbox-pay""#), "{page}");
    assert!(
        page.contains(&format!(r#"href="{back}" data-testid="sandbox-quit""#)),
        "{page}"
    );
    assert!(!page.contains("sandbox-qr"), "{page}");
    assert_eq!(
        served.cash(&bob).await,
        json!("0.00"),
        "showing pays nothing"
    );

    let fields = hidden_fields(&page);
    let (status, headers, body) = served
        .post_form("/sandbox/alipay/pay", fields.clone())
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = headers["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{back}?")), "{location}");
    assert_eq!(
        served.top_up(&top_up.reference).await.status,
        TopUpStatus::Paid
    );
    assert_eq!(served.cash(&bob).await, json!("12.34"));
    // Paying again credits nothing more.
    let (status, _, body) = served.post_form("/sandbox/alipay/pay", fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(served.cash(&bob).await, json!("12.34"));
    served.finish().await;
}

async fn wechat_is_told_to_open_a_browser_and_only_pending_online_top_ups_are_paid(app: TestApp) {
    let served = Served::new(app).await;
    let carol = served.customer("carol").await;
    let online = served.open(&carol, "8.00", "alipay").await;
    assert_eq!(
        served.pay_with(&online, PayingFrom::WeChat).await,
        Some(PayWith::OpenInBrowser)
    );
    let bank = served.open(&carol, "100.00", "bank_transfer").await;
    for from in [PayingFrom::Desktop, PayingFrom::Phone, PayingFrom::WeChat] {
        assert_eq!(served.pay_with(&bank, from).await, None, "{from:?}");
    }
    // Online payments switched off: nothing to pay with, even a pending Alipay top-up.
    let off = Payments::new(
        OnlinePayments::Unavailable,
        PUBLIC.into(),
        served.payments.local_url.clone(),
        served.payments.bank_payee.clone(),
    );
    for from in [PayingFrom::Desktop, PayingFrom::Phone, PayingFrom::WeChat] {
        assert_eq!(
            off.pay_with(&served.app.store, &online, from)
                .await
                .unwrap(),
            None,
            "{from:?}"
        );
    }
    served.finish().await;
}

/// Without a QR code the customer can still pay: at Alipay's checkout page.
async fn without_a_code_from_the_gateway_a_desktop_gets_the_checkout_page(app: TestApp) {
    let served = Served::new(app).await;
    let dave = served.customer("dave").await;
    let top_up = served.open(&dave, "30.00", "alipay").await;
    let (store, top_up) = (&served.app.store, &top_up);
    let page_pay = |payments: Payments| async move {
        let url = payments.checkout_url(store, top_up).await.unwrap().unwrap();
        let got = payments
            .pay_with(store, top_up, PayingFrom::Desktop)
            .await
            .unwrap();
        (got, url)
    };

    // The gateway does not answer: this process's address is a closed port.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = Payments::new(
        OnlinePayments::Sandbox,
        PUBLIC.into(),
        closed_url,
        served.payments.bank_payee.clone(),
    );
    let (got, url) = page_pay(unreachable).await;
    assert_eq!(got, Some(PayWith::Gateway { url }));

    // The gateway refuses: the request is signed with a key it does not know.
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/../backend/tests/fixtures/alipay/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let sandbox_merchant = served.payments.merchant(store).await.unwrap().unwrap();
    let gateway = format!("{}/sandbox/alipay/gateway.do", served.payments.local_url);
    let as_merchant = |merchant: backend::payments::AlipayMerchant| {
        Payments::new(
            OnlinePayments::Alipay(merchant),
            PUBLIC.into(),
            served.payments.local_url.clone(),
            served.payments.bank_payee.clone(),
        )
    };
    let foreign_key = backend::payments::AlipayMerchant {
        merchant_key: PrivateKey::parse(&fixture("test_merchant_private_key.pem")).unwrap(),
        gateway_url: gateway.clone(),
        ..sandbox_merchant.clone()
    };
    let (got, url) = page_pay(as_merchant(foreign_key)).await;
    assert_eq!(got, Some(PayWith::Gateway { url }));

    // The gateway answers, but not with Alipay's signature: its code is not shown.
    let forged_answer = backend::payments::AlipayMerchant {
        alipay_key: PublicKey::parse(&fixture("test_alipay_public_key.pem")).unwrap(),
        gateway_url: gateway.clone(),
        ..sandbox_merchant.clone()
    };
    let (got, url) = page_pay(as_merchant(forged_answer)).await;
    assert_eq!(got, Some(PayWith::Gateway { url }));

    // The same merchant, keys right: a code (so the cases above fail for the reason they say).
    let right = backend::payments::AlipayMerchant {
        gateway_url: gateway,
        ..sandbox_merchant
    };
    let (got, _) = page_pay(as_merchant(right)).await;
    assert!(matches!(got, Some(PayWith::QrCode { .. })), "{got:?}");

    // The trade is past its time: the gateway makes no code, and a code made before is gone.
    let Some(PayWith::QrCode { code, .. }) = served.pay_with(top_up, PayingFrom::Desktop).await
    else {
        panic!("a QR code while the top-up is young");
    };
    served.clock.advance(chrono::Duration::hours(23));
    let (got, url) = page_pay(served.payments.clone()).await;
    assert_eq!(got, Some(PayWith::Gateway { url }));
    let (status, _, page) = served.get(&code).await;
    assert_eq!(status, StatusCode::GONE, "{page}");
    let (status, _, page) = served
        .post_form(
            "/sandbox/alipay/scan/pay",
            params_of(&code).into_iter().collect(),
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "{page}");
    // (The session has expired meanwhile: the books are read from the store.)
    assert_eq!(
        store.account(top_up.account_id).await.unwrap().cash,
        billing::Amount::ZERO
    );
    assert_eq!(store.sandbox_trade(&top_up.reference).await.unwrap(), None);
    assert_eq!(
        served.top_up(&top_up.reference).await.status,
        TopUpStatus::Pending
    );
    served.finish().await;
}

/// The sandbox gateway's API checks a precreate as Alipay does: a broken signature gets Alipay's
/// error JSON and no trade, and methods it does not have are refused the same way.
async fn the_gateway_refuses_a_precreate_it_cannot_verify(app: TestApp) {
    let served = Served::new(app).await;
    let erin = served.customer("erin").await;
    let top_up = served.open(&erin, "40.00", "alipay").await;
    let store = &served.app.store;
    let merchant = served.payments.merchant(store).await.unwrap().unwrap();
    let signed = merchant
        .precreate_params(&top_up, &served.payments.notify_url(), store.now())
        .unwrap();
    let post = |params: Params| {
        let served = &served;
        async move {
            let (status, headers, body) = served
                .post_form("/sandbox/alipay/gateway.do", params.into_iter().collect())
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json")
            );
            body
        }
    };
    // Signed as it should be, the gateway answers with a code Alipay's key verifies.
    let answer = post(signed.clone()).await;
    alipay::verify_precreate(&answer, &top_up.reference, &merchant.alipay_key).unwrap();

    let mut broken = signed.clone();
    broken.insert(
        "biz_content".into(),
        signed["biz_content"].replace("40.00", "0.01"),
    );
    assert_ne!(broken, signed);
    let mut unsigned = signed.clone();
    unsigned.remove("sign");
    let mut other_method = signed.clone();
    other_method.insert("method".into(), "alipay.trade.refund".into());
    alipay::sign_request(&mut other_method, &merchant.merchant_key);
    for (case, params, why) in [
        ("broken signature", broken, "signature"),
        ("no signature", unsigned, "sign"),
        ("unknown method", other_method, "alipay.trade.refund"),
    ] {
        let body = post(params).await;
        let answer: Value = serde_json::from_str(&body).unwrap();
        let error = &answer["error_response"];
        assert_eq!(error["code"], "40002", "{case}: {body}");
        assert!(
            error["sub_msg"].as_str().unwrap().contains(why),
            "{case}: {body}"
        );
        assert!(answer.get("alipay_trade_precreate_response").is_none());
        assert!(
            alipay::verify_precreate(&body, &top_up.reference, &merchant.alipay_key).is_err(),
            "{case}"
        );
    }
    // Nothing was recorded or paid.
    assert_eq!(store.sandbox_trade(&top_up.reference).await.unwrap(), None);
    assert_eq!(
        served.top_up(&top_up.reference).await.status,
        TopUpStatus::Pending
    );
    assert_eq!(served.cash(&erin).await, json!("0.00"));
    served.finish().await;
}

on_both_databases!(
    a_desktop_pays_by_scanning_a_code_and_is_credited_once,
    a_phone_pays_at_the_mobile_checkout_and_goes_back_to_the_top_up,
    wechat_is_told_to_open_a_browser_and_only_pending_online_top_ups_are_paid,
    without_a_code_from_the_gateway_a_desktop_gets_the_checkout_page,
    the_gateway_refuses_a_precreate_it_cannot_verify,
);
