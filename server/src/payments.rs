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
use backend::html::escape;
use backend::payments::AlipayMerchant;
use backend::payments::alipay::{self, Params};
use backend::payments::sandbox::{Checkout, CheckoutPage, SandboxAlipay};
use backend::reconciliation::FlagKind;
use backend::topups::{OnlinePayment, PaymentError, PaymentOutcome};

use crate::router::AppState;

pub use backend::payments::{
    BankPayee, NOTIFY_PATH, OnlinePayments, OpenTopUpError, SANDBOX_GATEWAY_PATH,
    SANDBOX_SCAN_PATH, delivery_url,
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
a.quit{{display:block;text-align:center;margin-top:1rem;color:#1677ff}}
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

/// Where the sandbox's scan page takes its "pay".
pub const SANDBOX_SCAN_PAY_PATH: &str = "/sandbox/alipay/scan/pay";
/// Where the sandbox's checkout takes its "pay".
pub const SANDBOX_PAY_PATH: &str = "/sandbox/alipay/pay";

/// The signed parameters again, as the hidden fields of a pay form.
fn hidden_inputs(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect()
}

/// The sandbox's checkout: verifies the merchant's signed page-pay or wap-pay request as Alipay
/// does. On a desktop (page.pay) it shows the amount, a QR code of this very page (scan it to pay
/// from a phone) and a pay button; in a phone's browser (wap.pay) the amount, a pay button and a
/// way back to the merchant (`quit_url`).
pub async fn sandbox_checkout(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = lang_of(&headers);
    let refused = |status, why: &dyn std::fmt::Display| refused_page(lang, status, why);
    let (sandbox, page, params) =
        match verified_page(&state, lang, query.clone(), Arrival::Checkout).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let checkout = &page.checkout;
    if page.on_phone() {
        return phone_page(
            lang,
            &sandbox,
            checkout,
            &params,
            SANDBOX_PAY_PATH,
            page.quit_url(),
        );
    }
    let page_url = format!(
        "{}{SANDBOX_GATEWAY_PATH}?{}",
        state.settings.public_url,
        query.unwrap_or_default()
    );
    let Some(qr) = backend::payments::qr_svg(&page_url) else {
        return refused(
            StatusCode::BAD_REQUEST,
            &"the checkout URL does not fit a QR code",
        );
    };
    let hidden = hidden_inputs(&params);
    let text = |m: Msg| m.text(lang);
    let body = format!(
        r#"{summary}<div class="qr" data-testid="sandbox-qr" role="img" aria-label="{qr_label}">{qr}</div>
<p>{scan}</p>
<form method="post" action="{SANDBOX_PAY_PATH}">{hidden}<button type="submit" data-testid="sandbox-pay">{pay} ¥{amount}</button>
<button type="submit" name="sandbox_notification" value="lost" class="secondary" data-testid="sandbox-pay-lost">{pay_lost}</button></form>"#,
        summary = trade_summary(lang, &sandbox, checkout),
        qr_label = text(Msg::SandboxQrLabel),
        scan = text(Msg::SandboxScanOrPay),
        pay = text(Msg::SandboxPay),
        pay_lost = text(Msg::SandboxPayLost),
        amount = escape(&checkout.total_amount),
    );
    let page = sandbox_page(lang, text(Msg::SandboxCheckoutTitle), &body);
    Html(page).into_response()
}

/// What every sandbox checkout shows first: who it plays, that it is not real money, the
/// merchant, the trade and its subject, and the amount.
fn trade_summary(lang: Lang, sandbox: &SandboxAlipay, checkout: &Checkout) -> String {
    let text = |m: Msg| m.text(lang);
    format!(
        r#"<p class="brand">{brand}</p>
<p class="warn">{warning}</p>
<dl><dt>{merchant}</dt><dd>{app_id}</dd><dt>{order}</dt><dd data-testid="sandbox-trade">{trade}</dd><dt>{subject_label}</dt><dd>{subject}</dd></dl>
<p class="amount" data-testid="sandbox-amount">¥{amount}</p>
"#,
        brand = text(Msg::SandboxBrand),
        warning = text(Msg::SandboxWarning),
        merchant = text(Msg::SandboxMerchant),
        order = text(Msg::SandboxOrder),
        subject_label = text(Msg::SandboxSubject),
        app_id = escape(&sandbox.merchant().app_id),
        trade = escape(&checkout.out_trade_no),
        subject = escape(&checkout.subject),
        amount = escape(&checkout.total_amount),
    )
}

/// The checkout as a phone shows it (wap.pay, or a scanned code): the trade, the amount, a pay
/// button posting the signed parameters to `action`, and, for wap.pay, the way back to the
/// merchant. No QR code: the phone is what would scan it.
fn phone_page(
    lang: Lang,
    sandbox: &SandboxAlipay,
    checkout: &Checkout,
    params: &Params,
    action: &str,
    quit_url: Option<&str>,
) -> Response {
    let text = |m: Msg| m.text(lang);
    let quit = quit_url
        .map(|url| {
            format!(
                r#"<a class="quit" href="{}" data-testid="sandbox-quit">{}</a>"#,
                escape(url),
                Msg::SandboxBackToMerchant.text(lang)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"{summary}<form method="post" action="{action}">{hidden}<button type="submit" data-testid="sandbox-pay">{pay} ¥{amount}</button></form>
{quit}"#,
        summary = trade_summary(lang, sandbox, checkout),
        pay = text(Msg::SandboxPay),
        amount = escape(&checkout.total_amount),
        action = escape(action),
        hidden = hidden_inputs(params),
    );
    let page = sandbox_page(lang, text(Msg::SandboxCheckoutTitle), &body);
    Html(page).into_response()
}

/// How a request reached the sandbox: a merchant's web checkout (page.pay, wap.pay) or one of the
/// sandbox's own QR codes, scanned.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    Checkout,
    Scan,
}

/// The sandbox, the verified trade of a request and its parameters; or the refusal page (400 for
/// anything that does not verify, 410 for a trade past its `time_expire`).
async fn verified_page(
    state: &AppState,
    lang: Lang,
    query: Option<String>,
    arrival: Arrival,
) -> Result<(SandboxAlipay, CheckoutPage, Params), Response> {
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
    let page = match arrival {
        Arrival::Checkout => sandbox.checkout_page(&params),
        Arrival::Scan => sandbox.scanned(&params),
    }
    .map_err(|e| refused(StatusCode::BAD_REQUEST, &e))?;
    if page.checkout.expired(state.store.now()) {
        let why = backend::payments::sandbox::CheckoutError::Expired(
            page.checkout.time_expire.clone().unwrap_or_default(),
        );
        return Err(refused(StatusCode::GONE, &why));
    }
    Ok((sandbox, page, params))
}

/// A pay form's fields as the query they came from; the sandbox's own fields taken out first
/// (`sandbox_notification=lost` says whether to lose the notification).
fn pay_form(mut pairs: Vec<(String, String)>) -> (String, bool) {
    let lost = pairs
        .iter()
        .any(|(k, v)| k == "sandbox_notification" && v == "lost");
    pairs.retain(|(k, _)| k != "sandbox_notification");
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    (query, lost)
}

/// The sandbox's "pay": signs a TRADE_SUCCESS notification with the sandbox's Alipay key, posts it
/// to the merchant's notify URL as Alipay's server would, then sends the customer back to the
/// return URL with signed return parameters.
pub async fn sandbox_pay(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let refused = |status, why: &dyn std::fmt::Display| refused_page(lang, status, why);
    let (query, lost) = pay_form(pairs);
    let (sandbox, page, _) = match verified_page(&state, lang, Some(query), Arrival::Checkout).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let checkout = &page.checkout;
    let trade_no = match pay(&state, lang, &sandbox, checkout, lost).await {
        Ok(trade_no) => trade_no,
        Err(response) => return response,
    };
    let back = alipay::url_with_params(
        &checkout.return_url,
        &sandbox.return_params(checkout, &trade_no, state.store.now()),
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

/// What the sandbox's QR codes open on the phone that scans them: the code's trade verified with
/// the sandbox's own key (a changed code is refused, an expired one is gone) and a pay button.
pub async fn sandbox_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = lang_of(&headers);
    match verified_page(&state, lang, query, Arrival::Scan).await {
        Ok((sandbox, page, params)) => phone_page(
            lang,
            &sandbox,
            &page.checkout,
            &params,
            SANDBOX_SCAN_PAY_PATH,
            None,
        ),
        Err(response) => response,
    }
}

/// "Pay" on the scan page: the code verified again, then paid as at the checkout (`pay`), and
/// "paid" shown on the phone: a scanned code sends nobody anywhere.
pub async fn sandbox_scan_pay(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let (query, _) = pay_form(pairs);
    let (sandbox, page, _) = match verified_page(&state, lang, Some(query), Arrival::Scan).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = pay(&state, lang, &sandbox, &page.checkout, false).await {
        return response;
    }
    let body = format!(
        r#"<p class="brand">{brand}</p><h1 data-testid="sandbox-paid">{paid}</h1><p class="amount" data-testid="sandbox-amount">¥{amount}</p>"#,
        brand = Msg::SandboxBrand.text(lang),
        paid = Msg::SandboxPaid.text(lang),
        amount = escape(&page.checkout.total_amount),
    );
    Html(sandbox_page(lang, Msg::SandboxPaid.text(lang), &body)).into_response()
}

/// Pays a verified trade at the sandbox, for the checkout and a scanned code alike: records it
/// (as Alipay records a payment before it notifies, so a lost notification can be queried), then
/// delivers the signed TRADE_SUCCESS notification to the merchant's notify URL, unless asked to
/// lose it. A trade paid again keeps the number it was first paid under. Returns that number, or
/// the refusal page. Crediting is the merchant's, on the verified notification.
async fn pay(
    state: &AppState,
    lang: Lang,
    sandbox: &SandboxAlipay,
    checkout: &Checkout,
    lose_notification: bool,
) -> Result<String, Response> {
    let refused = |status, why: &dyn std::fmt::Display| refused_page(lang, status, why);
    let now = state.store.now();
    let new_trade_no = SandboxAlipay::new_trade_no(now);
    state
        .store
        .record_sandbox_trade(
            &checkout.out_trade_no,
            &new_trade_no,
            &checkout.total_amount,
        )
        .await
        .map_err(|e| refused(StatusCode::INTERNAL_SERVER_ERROR, &e))?;
    let trade_no = state
        .store
        .sandbox_trade(&checkout.out_trade_no)
        .await
        .map_err(|e| refused(StatusCode::INTERNAL_SERVER_ERROR, &e))?
        .map_or(new_trade_no, |(trade_no, _, _)| trade_no);
    let notification = sandbox.notification(checkout, &trade_no, "TRADE_SUCCESS", now);
    // "Pay, but lose the notification": what reconciliation is for (demos and tests).
    let delivered = if lose_notification {
        Ok("success".to_owned())
    } else {
        deliver(state, &checkout.notify_url, &notification).await
    };
    match delivered {
        Ok(reply) if reply.trim() == "success" => Ok(trade_no),
        Ok(reply) => {
            let why = format!(
                "the merchant answered '{}' instead of 'success'; Alipay would retry",
                reply.trim()
            );
            Err(refused(StatusCode::BAD_GATEWAY, &why))
        }
        Err(e) => Err(refused(
            StatusCode::BAD_GATEWAY,
            &format!("the notification could not be delivered: {e}"),
        )),
    }
}

/// The sandbox gateway's API calls (a form POST to gateway.do, as Alipay takes them):
/// `alipay.trade.query` and `alipay.trade.precreate`, answered in Alipay's signed JSON; anything
/// else, or a request that does not verify, gets Alipay's error JSON.
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
    let answer = match params.get("method").map(String::as_str) {
        Some(alipay::TRADE_QUERY_METHOD) => sandbox.answer_trade_query(&state.store, &params).await,
        Some(alipay::PRECREATE_METHOD) => sandbox.answer_precreate(
            &params,
            &format!("{}{SANDBOX_SCAN_PATH}", state.settings.public_url),
            state.store.now(),
        ),
        other => {
            return refused(&format!(
                "the sandbox gateway takes {} and {}, not '{}'",
                alipay::TRADE_QUERY_METHOD,
                alipay::PRECREATE_METHOD,
                other.unwrap_or_default()
            ));
        }
    };
    match answer {
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
