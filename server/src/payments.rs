//! Online payments over HTTP: Alipay's asynchronous notification (`POST /payments/alipay/notify`)
//! and the built-in sandbox gateway (`/sandbox/alipay/…`), which plays Alipay's side on this server
//! only when it is switched on (`PAYMENT_SANDBOX=on`, `serve --demo`): anyone who can reach it can
//! "pay", so a production server must never mount it. The protocol itself is `backend::payments`.

use app::i18n::{Lang, Msg};
use axum::Form;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use backend::payments::AlipayMerchant;
use backend::payments::alipay::{self, Params};
use backend::payments::sandbox::{Checkout, SandboxAlipay};
use backend::reconciliation::FlagKind;
use backend::topups::{OnlinePayment, PaymentError, PaymentOutcome};

use crate::router::AppState;

pub use backend::payments::{
    BankPayee, NOTIFY_PATH, OnlinePayments, OpenTopUpError, SANDBOX_GATEWAY_PATH,
};

impl AppState {
    /// The merchant side in use: configured Alipay, the sandbox's merchant identity, or none.
    pub async fn alipay_merchant(&self) -> Result<Option<AlipayMerchant>, backend::LedgerError> {
        self.payments.merchant(&self.store).await
    }

    /// Opens a top-up for the pages and the API alike (`backend::payments::Payments`).
    pub async fn open_top_up(
        &self,
        key: &backend::IdempotencyKey,
        request: &backend::topups::TopUpRequest,
    ) -> Result<backend::topups::TopUp, OpenTopUpError> {
        self.payments.open_top_up(&self.store, key, request).await
    }

    async fn sandbox(&self) -> Result<SandboxAlipay, backend::LedgerError> {
        self.payments.sandbox(&self.store).await
    }

    pub fn notify_url(&self) -> String {
        self.payments.notify_url()
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Alipay's server: the asynchronous notification. Verified as Alipay specifies, then app id,
/// seller, trade and amount are checked against our records; TRADE_SUCCESS / TRADE_FINISHED credit
/// the wallet once per trade. The body `success` tells Alipay to stop; anything else makes it retry.
pub async fn alipay_notify(State(state): State<AppState>, body: Bytes) -> Response {
    let failure = |status: StatusCode, why: &dyn std::fmt::Display| {
        tracing::warn!(%why, "Alipay notification refused");
        plain(status, "failure")
    };
    let params = match alipay::params_from_pairs(form_urlencoded::parse(&body).into_owned()) {
        Ok(params) => params,
        Err(e) => return failure(StatusCode::BAD_REQUEST, &e),
    };
    let merchant = match state.alipay_merchant().await {
        Ok(Some(merchant)) => merchant,
        Ok(None) => {
            return failure(
                StatusCode::NOT_FOUND,
                &"online payments are not configured on this server",
            );
        }
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let notification = match merchant.verify_notification(&params) {
        Ok(notification) => notification,
        Err(e) => return failure(StatusCode::BAD_REQUEST, &e),
    };
    // A trade closed, or refunded, after we credited it: never ignored, flagged for operators.
    if let Some(kind) = contradiction(&state.store, &notification).await {
        let detail = format!(
            "Alipay notified {:?}{} for trade {} ({})",
            notification.trade_status,
            notification
                .refund_fee
                .as_deref()
                .map(|r| format!(" with a refund of {r}"))
                .unwrap_or_default(),
            notification.out_trade_no,
            notification.trade_no
        );
        match state
            .store
            .flag_payment(&notification.out_trade_no, kind, &detail)
            .await
        {
            Ok(_) => {
                tracing::error!(trade = %notification.out_trade_no, %detail, "payment flagged for operators")
            }
            Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
        return plain(StatusCode::OK, "success");
    }
    if !notification.trade_status.is_paid() {
        // WAIT_BUYER_PAY, TRADE_CLOSED of an unpaid top-up: nothing arrived; acknowledged.
        return plain(StatusCode::OK, "success");
    }
    let payment = OnlinePayment {
        out_trade_no: notification.out_trade_no,
        provider_trade_no: notification.trade_no,
        total_amount: notification.total_amount,
    };
    match state.store.settle_online_payment(&payment).await {
        Ok(PaymentOutcome::Credited { top_up, .. }) => {
            tracing::info!(top_up = top_up.id, trade = %payment.out_trade_no, "online top-up credited");
            plain(StatusCode::OK, "success")
        }
        Ok(PaymentOutcome::AlreadyPaid(_)) => plain(StatusCode::OK, "success"),
        // A wrong amount is flagged for operators by the store.
        Err(e @ (PaymentError::UnknownTrade(_) | PaymentError::AmountMismatch { .. })) => {
            failure(StatusCode::BAD_REQUEST, &e)
        }
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// Whether a verified notification contradicts a credit already made: the trade closed, or a
/// refund, for a top-up we marked paid.
async fn contradiction(
    store: &backend::Store,
    notification: &alipay::Notification,
) -> Option<FlagKind> {
    // A refund is flagged whatever our books say: if its payment's notification was lost, the
    // trade may still be credited in full later (by reconciliation), and an operator must know.
    if notification.refund_fee.is_some() {
        return Some(FlagKind::RefundedAfterCredit);
    }
    let kind = if notification.trade_status == alipay::TradeStatus::TradeClosed {
        FlagKind::ClosedAfterCredit
    } else {
        return None;
    };
    let paid = store
        .top_up_by_reference(&notification.out_trade_no)
        .await
        .ok()
        .flatten()
        .is_some_and(|t| t.status == backend::topups::TopUpStatus::Paid);
    paid.then_some(kind)
}

fn params_of_query(query: Option<String>) -> Result<Params, alipay::AlipayError> {
    alipay::params_from_pairs(
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned(),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn sandbox_page(lang: Lang, title: &str, body: &str) -> String {
    let lang = lang.code();
    format!(
        r#"<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg" type="image/svg+xml"><title>{title}</title><style>
body{{font-family:system-ui,sans-serif;background:#eef3fb;margin:0;color:#1a2233}}
main{{max-width:26rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 2px 12px #0002}}
.brand{{color:#1677ff;font-weight:700}} .amount{{font-size:2rem;font-weight:700;margin:.5rem 0}}
.qr svg{{width:100%;max-width:14rem;height:auto;display:block;margin:1rem auto}}
button{{width:100%;padding:.8rem;font-size:1rem;background:#1677ff;color:#fff;border:0;border-radius:8px;cursor:pointer}}
button.secondary{{margin-top:.6rem;background:#fff;color:#1677ff;border:1px solid #1677ff;font-size:.85rem;padding:.5rem}}
.warn{{background:#fff4e5;padding:.6rem;border-radius:6px;font-size:.85rem}} .error{{color:#b42318}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;font-size:.9rem}} dd{{margin:0;word-break:break-all}}
</style></head><body><main>{body}</main></body></html>"#
    )
}

/// The language of a sandbox page: the app's cookie, then Accept-Language, as for every page.
fn lang_of(headers: &HeaderMap) -> Lang {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    Lang::negotiate(header(header::COOKIE), header(header::ACCEPT_LANGUAGE))
}

/// A refused sandbox request. The reason is for the developer testing an integration, in English.
fn refused_page(lang: Lang, status: StatusCode, why: &dyn std::fmt::Display) -> Response {
    let body = format!(
        r#"<p class="brand">{brand}</p><h1 class="error">{title}</h1><p class="error" data-testid="sandbox-error" lang="en">{why}</p>"#,
        brand = Msg::SandboxBrand.text(lang),
        title = Msg::SandboxRefused.text(lang),
        why = escape(&why.to_string())
    );
    let page = sandbox_page(lang, Msg::SandboxBrand.text(lang), &body);
    (status, Html(page)).into_response()
}

/// The sandbox's checkout: verifies the merchant's signed page-pay request as Alipay does and shows
/// the amount, a QR code of this very page (scan it to pay from a phone) and a pay button.
pub async fn sandbox_checkout(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = lang_of(&headers);
    let refused = |status, why: &dyn std::fmt::Display| refused_page(lang, status, why);
    let (sandbox, checkout, params) = match verified_checkout(&state, lang, query.clone()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page_url = format!(
        "{}{SANDBOX_GATEWAY_PATH}?{}",
        state.settings.public_url,
        query.unwrap_or_default()
    );
    let qr = match qrcode::QrCode::with_error_correction_level(
        page_url.as_bytes(),
        qrcode::EcLevel::L,
    ) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .build(),
        Err(e) => {
            return refused(
                StatusCode::BAD_REQUEST,
                &format!("the checkout URL does not fit a QR code: {e}"),
            );
        }
    };
    let hidden: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    let text = |m: Msg| m.text(lang);
    let body = format!(
        r#"<p class="brand">{brand}</p>
<p class="warn">{warning}</p>
<dl><dt>{merchant}</dt><dd>{app_id}</dd><dt>{order}</dt><dd data-testid="sandbox-trade">{trade}</dd><dt>{subject_label}</dt><dd>{subject}</dd></dl>
<p class="amount" data-testid="sandbox-amount">¥{amount}</p>
<div class="qr" data-testid="sandbox-qr" role="img" aria-label="{qr_label}">{qr}</div>
<p>{scan}</p>
<form method="post" action="/sandbox/alipay/pay">{hidden}<button type="submit" data-testid="sandbox-pay">{pay} ¥{amount}</button>
<button type="submit" name="sandbox_notification" value="lost" class="secondary" data-testid="sandbox-pay-lost">{pay_lost}</button></form>"#,
        brand = text(Msg::SandboxBrand),
        warning = text(Msg::SandboxWarning),
        merchant = text(Msg::SandboxMerchant),
        order = text(Msg::SandboxOrder),
        subject_label = text(Msg::SandboxSubject),
        qr_label = text(Msg::SandboxQrLabel),
        scan = text(Msg::SandboxScanOrPay),
        pay = text(Msg::SandboxPay),
        pay_lost = text(Msg::SandboxPayLost),
        app_id = escape(&sandbox.merchant().app_id),
        trade = escape(&checkout.out_trade_no),
        subject = escape(&checkout.subject),
        amount = escape(&checkout.total_amount),
    );
    let page = sandbox_page(lang, text(Msg::SandboxCheckoutTitle), &body);
    Html(page).into_response()
}

async fn verified_checkout(
    state: &AppState,
    lang: Lang,
    query: Option<String>,
) -> Result<(SandboxAlipay, Checkout, Params), Response> {
    let refused = |status, why: &dyn std::fmt::Display| refused_page(lang, status, why);
    if !state.settings.online_payments.is_sandbox() {
        // Not mounted then (see the router); kept so the handlers are safe on their own.
        return Err(refused(
            StatusCode::NOT_FOUND,
            &"the sandbox gateway is off",
        ));
    }
    let params = params_of_query(query).map_err(|e| refused(StatusCode::BAD_REQUEST, &e))?;
    let sandbox = state
        .sandbox()
        .await
        .map_err(|e| refused(StatusCode::INTERNAL_SERVER_ERROR, &e))?;
    let checkout = sandbox
        .checkout(&params)
        .map_err(|e| refused(StatusCode::BAD_REQUEST, &e))?;
    if checkout.expired(state.store.now()) {
        let why = backend::payments::sandbox::CheckoutError::Expired(
            checkout.time_expire.clone().unwrap_or_default(),
        );
        return Err(refused(StatusCode::GONE, &why));
    }
    Ok((sandbox, checkout, params))
}

/// The sandbox's "pay": signs a TRADE_SUCCESS notification with the sandbox's Alipay key, posts it
/// to the merchant's notify URL as Alipay's server would, then sends the customer back to the
/// return URL with signed return parameters.
pub async fn sandbox_pay(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(mut pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let refused = |status, why: &dyn std::fmt::Display| refused_page(lang, status, why);
    // The sandbox's own button, not part of the signed request.
    let pairs_lost = pairs
        .iter()
        .any(|(k, v)| k == "sandbox_notification" && v == "lost");
    pairs.retain(|(k, _)| k != "sandbox_notification");
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let (sandbox, checkout, _) = match verified_checkout(&state, lang, Some(query)).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let now = state.store.now();
    let trade_no = SandboxAlipay::new_trade_no(now);
    // Alipay records the payment before it notifies: a lost notification can be queried.
    if let Err(e) = state
        .store
        .record_sandbox_trade(&checkout.out_trade_no, &trade_no, &checkout.total_amount)
        .await
    {
        return refused(StatusCode::INTERNAL_SERVER_ERROR, &e);
    }
    let notification = sandbox.notification(&checkout, &trade_no, "TRADE_SUCCESS", now);
    // "Pay, but lose the notification": what reconciliation is for (demos and tests).
    let lost = pairs_lost;
    let delivered = if lost {
        Ok("success".to_owned())
    } else {
        deliver(&state, &checkout.notify_url, &notification).await
    };
    match delivered {
        Ok(reply) if reply.trim() == "success" => {}
        Ok(reply) => {
            let why = format!(
                "the merchant answered '{}' instead of 'success'; Alipay would retry",
                reply.trim()
            );
            return refused(StatusCode::BAD_GATEWAY, &why);
        }
        Err(e) => {
            return refused(
                StatusCode::BAD_GATEWAY,
                &format!("the notification could not be delivered: {e}"),
            );
        }
    }
    let back = alipay::url_with_params(
        &checkout.return_url,
        &sandbox.return_params(&checkout, &trade_no, now),
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(&back) {
        Ok(location) => {
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => refused(
            StatusCode::BAD_REQUEST,
            &"the return URL is not a valid header value",
        ),
    }
}

/// Where the sandbox delivers a notification addressed to `notify_url`: to this very process over
/// plain HTTP on its listen address (`local_url`), whatever `PUBLIC_URL` is: behind an https
/// proxy the public address may not even be reachable from the server, and the sandbox has no
/// business notifying anybody else. The notification is still a real HTTP request to the real
/// notify endpoint, so the production path is what it exercises.
pub fn delivery_url(public_url: &str, local_url: &str, notify_url: &str) -> Result<String, String> {
    match notify_url.strip_prefix(public_url) {
        Some(path) if path.starts_with('/') => Ok(format!("{local_url}{path}")),
        _ => Err(format!(
            "the sandbox only notifies this server ({public_url}), not '{notify_url}'"
        )),
    }
}

/// The sandbox gateway's API calls (a form POST to gateway.do, as Alipay takes them): today
/// `alipay.trade.query`, answered in Alipay's signed JSON.
pub async fn sandbox_gateway_api(
    State(state): State<AppState>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let json = |status: StatusCode, body: String| {
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )],
            body,
        )
            .into_response()
    };
    let refused = |why: &dyn std::fmt::Display| {
        let body = serde_json::json!({"error_response": {"code": "40002", "msg": "Invalid Arguments",
            "sub_code": "isv.invalid-parameter", "sub_msg": why.to_string()}});
        json(StatusCode::OK, body.to_string())
    };
    let params = match alipay::params_from_pairs(pairs) {
        Ok(params) => params,
        Err(e) => return refused(&e),
    };
    let sandbox = match state.sandbox().await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{{\"error\":\"{e}\"}}"),
            );
        }
    };
    match sandbox.answer_trade_query(&state.store, &params).await {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => refused(&e),
    }
}

/// POSTs a notification form to this server and returns the reply body.
async fn deliver(state: &AppState, notify_url: &str, params: &Params) -> Result<String, String> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let url = delivery_url(
        &state.settings.public_url,
        &state.settings.local_url,
        notify_url,
    )?;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let request = axum::http::Request::post(url)
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let send = client.request(request);
    let response = tokio::time::timeout(std::time::Duration::from_secs(15), send)
        .await
        .map_err(|_| "no answer within 15 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
