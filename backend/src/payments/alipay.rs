//! Alipay's open-platform protocol, as far as a web checkout needs it: RSA2 signatures
//! (SHA256withRSA, PKCS#1 v1.5, base64), the signed `alipay.trade.page.pay` (desktop) and
//! `alipay.trade.wap.pay` (phone browser) requests the customer's browser is sent to, the
//! `alipay.trade.precreate` call that makes a QR code to scan, `alipay.trade.query`, and the
//! verification of the asynchronous notification Alipay posts back.
//! Pure functions over keys and parameters; no IO.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// Where Alipay's production gateway takes requests.
pub const PRODUCTION_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
/// The method of a desktop web checkout.
pub const PAGE_PAY_METHOD: &str = "alipay.trade.page.pay";
/// The product code Alipay requires for `alipay.trade.page.pay`.
pub const PAGE_PAY_PRODUCT: &str = "FAST_INSTANT_TRADE_PAY";
/// The method of a checkout in a phone's browser ("手机网站支付").
pub const WAP_PAY_METHOD: &str = "alipay.trade.wap.pay";
/// The product code Alipay requires for `alipay.trade.wap.pay`.
pub const WAP_PAY_PRODUCT: &str = "QUICK_WAP_WAY";
/// The method that makes a trade and its QR code for the buyer to scan ("当面付" precreate). The
/// merchant's server calls it (a form POST to the gateway) and reads the JSON answer.
pub const PRECREATE_METHOD: &str = "alipay.trade.precreate";
/// The node of a gateway answer that holds `alipay.trade.precreate`'s result (and that Alipay signs).
pub const PRECREATE_RESPONSE: &str = "alipay_trade_precreate_response";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AlipayError {
    #[error("the {which} is neither a PEM nor a base64 DER RSA key (PKCS#8 or PKCS#1)")]
    UnreadableKey { which: &'static str },
    #[error("the parameters carry no sign")]
    MissingSign,
    #[error("sign_type must be RSA2 (got '{0}')")]
    UnsupportedSignType(String),
    #[error("the sign is not base64")]
    SignNotBase64,
    #[error("the signature does not verify with the configured public key")]
    BadSignature,
    #[error("the notification lacks the parameter '{0}'")]
    MissingParameter(&'static str),
    #[error("'{0}' appears more than once")]
    RepeatedParameter(String),
    #[error("the gateway's answer is not the expected JSON: {0}")]
    MalformedResponse(String),
    #[error("the gateway refused the request: {code} {sub_code} {message}")]
    GatewayRefused {
        code: String,
        sub_code: String,
        message: String,
    },
}

/// The merchant's (or, in the sandbox, Alipay's) private key.
#[derive(Clone)]
pub struct PrivateKey(RsaPrivateKey);

/// A public key that signatures are checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(RsaPublicKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// Alipay's key tool hands out keys as bare base64 DER; OpenSSL writes PEM. Both are taken.
fn der_of(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    BASE64.decode(body).ok()
}

impl PrivateKey {
    pub fn parse(text: &str) -> Result<PrivateKey, AlipayError> {
        let unreadable = AlipayError::UnreadableKey {
            which: "private key",
        };
        let der = der_of(text).ok_or(unreadable.clone())?;
        RsaPrivateKey::from_pkcs8_der(&der)
            .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
            .map(PrivateKey)
            .map_err(|_| unreadable)
    }

    /// A new 2048-bit key (the sandbox's own keys).
    pub fn generate() -> PrivateKey {
        let mut rng = rsa::rand_core::OsRng;
        PrivateKey(RsaPrivateKey::new(&mut rng, 2048).expect("2048-bit RSA key generation"))
    }

    pub fn to_pem(&self) -> String {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an RSA key encodes as PKCS#8")
            .to_string()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.to_public_key())
    }

    /// RSA2: SHA256withRSA over the UTF-8 content, base64.
    pub fn sign(&self, content: &str) -> String {
        let signature = SigningKey::<Sha256>::new(self.0.clone()).sign(content.as_bytes());
        BASE64.encode(signature.to_bytes())
    }
}

impl PublicKey {
    pub fn parse(text: &str) -> Result<PublicKey, AlipayError> {
        let unreadable = AlipayError::UnreadableKey {
            which: "public key",
        };
        let der = der_of(text).ok_or(unreadable.clone())?;
        RsaPublicKey::from_public_key_der(&der)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
            .map(PublicKey)
            .map_err(|_| unreadable)
    }

    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA key encodes as SPKI")
    }

    pub fn verify(&self, content: &str, sign: &str) -> Result<(), AlipayError> {
        let bytes = BASE64
            .decode(sign.trim())
            .map_err(|_| AlipayError::SignNotBase64)?;
        let signature =
            Signature::try_from(bytes.as_slice()).map_err(|_| AlipayError::BadSignature)?;
        VerifyingKey::<Sha256>::new(self.0.clone())
            .verify(content.as_bytes(), &signature)
            .map_err(|_| AlipayError::BadSignature)
    }
}

/// Parameters by name. Alipay's parameter names are unique; a repeated one is refused rather than
/// letting one copy be verified and another be used.
pub type Params = BTreeMap<String, String>;

pub fn params_from_pairs(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<Params, AlipayError> {
    let mut params = Params::new();
    for (name, value) in pairs {
        if params.insert(name.clone(), value).is_some() {
            return Err(AlipayError::RepeatedParameter(name));
        }
    }
    Ok(params)
}

/// The string to sign: every parameter but those named in `excluded` and those with an empty
/// value, sorted by name (byte order), as `name=value` joined with `&`, values not URL-encoded.
pub fn content_to_sign(params: &Params, excluded: &[&str]) -> String {
    params
        .iter()
        .filter(|(name, value)| !value.is_empty() && !excluded.contains(&name.as_str()))
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A request is signed over every parameter but `sign` itself (`sign_type` included).
pub fn sign_request(params: &mut Params, key: &PrivateKey) {
    params.remove("sign");
    let sign = key.sign(&content_to_sign(params, &["sign"]));
    params.insert("sign".to_owned(), sign);
}

/// What Alipay does with a request: checks `sign` over everything but `sign`.
pub fn verify_request(params: &Params, key: &PublicKey) -> Result<(), AlipayError> {
    check_sign_type(params)?;
    let sign = params
        .get("sign")
        .filter(|s| !s.is_empty())
        .ok_or(AlipayError::MissingSign)?;
    key.verify(&content_to_sign(params, &["sign"]), sign)
}

/// A notification (and a synchronous return) is signed over everything but `sign` and `sign_type`.
pub fn sign_notification(params: &mut Params, key: &PrivateKey) {
    params.remove("sign");
    let sign = key.sign(&content_to_sign(params, &["sign", "sign_type"]));
    params.insert("sign".to_owned(), sign);
}

fn check_sign_type(params: &Params) -> Result<(), AlipayError> {
    match params.get("sign_type").map(String::as_str) {
        Some("RSA2") => Ok(()),
        Some(other) => Err(AlipayError::UnsupportedSignType(other.to_owned())),
        None => Err(AlipayError::UnsupportedSignType(String::new())),
    }
}

/// The trade states Alipay reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    WaitBuyerPay,
    TradeClosed,
    TradeSuccess,
    TradeFinished,
    Other,
}

impl TradeStatus {
    pub fn parse(text: &str) -> TradeStatus {
        match text {
            "WAIT_BUYER_PAY" => TradeStatus::WaitBuyerPay,
            "TRADE_CLOSED" => TradeStatus::TradeClosed,
            "TRADE_SUCCESS" => TradeStatus::TradeSuccess,
            "TRADE_FINISHED" => TradeStatus::TradeFinished,
            _ => TradeStatus::Other,
        }
    }

    /// Only these two mean the money has arrived.
    pub fn is_paid(self) -> bool {
        matches!(self, TradeStatus::TradeSuccess | TradeStatus::TradeFinished)
    }
}

/// The parts of a verified notification the merchant acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub app_id: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub total_amount: String,
    pub trade_status: TradeStatus,
    pub seller_id: Option<String>,
    /// What was refunded of the trade, when Alipay notifies a refund (`refund_fee`).
    pub refund_fee: Option<String>,
}

/// Verifies an asynchronous notification exactly as Alipay specifies: drop `sign` and `sign_type`,
/// sort, join `k=v` with `&`, verify RSA2 with Alipay's public key. Checking app id, trade and
/// amount against the merchant's own records is the caller's next step.
pub fn verify_notification(
    params: &Params,
    alipay_key: &PublicKey,
) -> Result<Notification, AlipayError> {
    if let Some(sign_type) = params.get("sign_type").filter(|s| s.as_str() != "RSA2") {
        return Err(AlipayError::UnsupportedSignType(sign_type.clone()));
    }
    let sign = params
        .get("sign")
        .filter(|s| !s.is_empty())
        .ok_or(AlipayError::MissingSign)?;
    alipay_key.verify(&content_to_sign(params, &["sign", "sign_type"]), sign)?;
    let required = |name: &'static str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or(AlipayError::MissingParameter(name))
    };
    Ok(Notification {
        app_id: required("app_id")?,
        out_trade_no: required("out_trade_no")?,
        trade_no: required("trade_no")?,
        total_amount: required("total_amount")?,
        trade_status: TradeStatus::parse(&required("trade_status")?),
        seller_id: params.get("seller_id").filter(|v| !v.is_empty()).cloned(),
        refund_fee: params
            .get("refund_fee")
            .filter(|v| {
                v.parse::<rust_decimal::Decimal>()
                    .is_ok_and(|d| !d.is_zero())
            })
            .cloned(),
    })
}

/// What a web checkout asks for: a desktop one (`page_pay_params`) or one in a phone's browser
/// (`wap_pay_params`). Alipay takes the same request parameters for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePay {
    pub app_id: String,
    pub out_trade_no: String,
    /// Yuan with two decimals, as Alipay wants it: `88.88`.
    pub total_amount: String,
    pub subject: String,
    pub notify_url: String,
    pub return_url: String,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub timestamp: String,
    /// After this moment (`yyyy-MM-dd HH:mm:ss`, Beijing time) Alipay no longer takes payment.
    pub time_expire: Option<String>,
}

/// The request parameters every method shares (`app_id`, `method`, `format=JSON`,
/// `charset=utf-8`, `sign_type=RSA2`, `timestamp`, `version=1.0`), the method's own ones and
/// `biz_content`, signed.
fn signed_request_params(
    app_id: &str,
    method: &str,
    timestamp: &str,
    own: &[(&str, &str)],
    biz_content: &serde_json::Value,
    key: &PrivateKey,
) -> Params {
    let biz_content = biz_content.to_string();
    let mut params: Params = [
        ("app_id", app_id),
        ("method", method),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", timestamp),
        ("version", "1.0"),
    ]
    .into_iter()
    .chain(own.iter().copied())
    .chain([("biz_content", biz_content.as_str())])
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    sign_request(&mut params, key);
    params
}

/// `page.pay` and `wap.pay`: `biz_content` holds out_trade_no, total_amount, subject,
/// product_code, time_expire when set and (`wap.pay`) quit_url; `notify_url` and `return_url` are
/// request parameters.
fn web_pay_params(
    request: &PagePay,
    method: &str,
    product_code: &str,
    quit_url: Option<&str>,
    key: &PrivateKey,
) -> Params {
    let mut biz = serde_json::json!({
        "out_trade_no": request.out_trade_no,
        "product_code": product_code,
        "total_amount": request.total_amount,
        "subject": request.subject,
    });
    if let Some(expire) = &request.time_expire {
        biz["time_expire"] = serde_json::json!(expire);
    }
    if let Some(quit_url) = quit_url {
        biz["quit_url"] = serde_json::json!(quit_url);
    }
    signed_request_params(
        &request.app_id,
        method,
        &request.timestamp,
        &[
            ("notify_url", request.notify_url.as_str()),
            ("return_url", request.return_url.as_str()),
        ],
        &biz,
        key,
    )
}

/// The signed parameters of an `alipay.trade.page.pay` request (product `FAST_INSTANT_TRADE_PAY`).
pub fn page_pay_params(request: &PagePay, key: &PrivateKey) -> Params {
    web_pay_params(request, PAGE_PAY_METHOD, PAGE_PAY_PRODUCT, None, key)
}

/// The signed parameters of an `alipay.trade.wap.pay` request: the checkout in a phone's browser
/// (product `QUICK_WAP_WAY`). Alipay requires `quit_url` in `biz_content`: where its page sends a
/// buyer who gives up paying. Parameters otherwise as for `page.pay`.
pub fn wap_pay_params(request: &PagePay, quit_url: &str, key: &PrivateKey) -> Params {
    web_pay_params(
        request,
        WAP_PAY_METHOD,
        WAP_PAY_PRODUCT,
        Some(quit_url),
        key,
    )
}

/// The gateway URL with the parameters in its query, URL-encoded: where the browser goes to pay.
pub fn url_with_params(gateway: &str, params: &Params) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let separator = if gateway.contains('?') { '&' } else { '?' };
    format!("{gateway}{separator}{query}")
}

/// The `biz_content` JSON of a page-pay or wap-pay request, read back (the sandbox gateway's side).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PagePayContent {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    pub product_code: String,
    #[serde(default)]
    pub time_expire: Option<String>,
    /// `wap.pay` only (and required there): where a buyer who gives up is sent.
    #[serde(default)]
    pub quit_url: Option<String>,
}

/// What a QR-code trade asks for (`alipay.trade.precreate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precreate {
    pub out_trade_no: String,
    /// Yuan with two decimals: `88.88`.
    pub total_amount: String,
    pub subject: String,
    /// Where Alipay posts the notification once the code is paid (a request parameter).
    pub notify_url: String,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub timestamp: String,
    /// After this moment (`yyyy-MM-dd HH:mm:ss`, Beijing time) the code can no longer be paid.
    pub time_expire: Option<String>,
}

/// The signed parameters of an `alipay.trade.precreate` call, to be posted to the gateway as a
/// form. `notify_url` is a request parameter; `biz_content` holds out_trade_no, total_amount,
/// subject and time_expire when set. There is no `return_url`: nobody's browser comes back.
pub fn precreate_params(app_id: &str, request: &Precreate, key: &PrivateKey) -> Params {
    let mut biz = serde_json::json!({
        "out_trade_no": request.out_trade_no,
        "total_amount": request.total_amount,
        "subject": request.subject,
    });
    if let Some(expire) = &request.time_expire {
        biz["time_expire"] = serde_json::json!(expire);
    }
    signed_request_params(
        app_id,
        PRECREATE_METHOD,
        &request.timestamp,
        &[("notify_url", request.notify_url.as_str())],
        &biz,
        key,
    )
}

/// The `biz_content` JSON of a precreate request, read back (the sandbox gateway's side).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PrecreateContent {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    #[serde(default)]
    pub time_expire: Option<String>,
}

pub const TRADE_QUERY_METHOD: &str = "alipay.trade.query";
/// The node of a gateway answer that holds `alipay.trade.query`'s result (and that Alipay signs).
pub const TRADE_QUERY_RESPONSE: &str = "alipay_trade_query_response";

/// The signed parameters of an `alipay.trade.query` for one of our trades (by `out_trade_no`).
pub fn trade_query_params(
    app_id: &str,
    out_trade_no: &str,
    timestamp: &str,
    key: &PrivateKey,
) -> Params {
    signed_request_params(
        app_id,
        TRADE_QUERY_METHOD,
        timestamp,
        &[],
        &serde_json::json!({ "out_trade_no": out_trade_no }),
        key,
    )
}

/// What Alipay knows of a trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeQuery {
    /// `ACQ.TRADE_NOT_EXIST`: the customer never got as far as paying (Alipay creates the trade
    /// only when the buyer opens its checkout).
    NotFound,
    Found {
        out_trade_no: String,
        trade_no: String,
        total_amount: String,
        trade_status: TradeStatus,
    },
}

/// The raw text of the JSON value of `node` in a gateway answer: Alipay signs exactly these bytes,
/// so they are cut out of the body as sent, never re-serialised.
pub fn response_node<'a>(body: &'a str, node: &str) -> Option<&'a str> {
    let key = format!("\"{node}\"");
    let after_key = body.find(&key)? + key.len();
    let rest = &body[after_key..];
    let colon = rest.find(':')?;
    if !rest[..colon].trim().is_empty() {
        return None;
    }
    let value = rest[colon + 1..].trim_start();
    let start = body.len() - value.len();
    if !value.starts_with('{') {
        return None;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in value.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[start..start + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// A gateway answer as Alipay writes it: `{"<node>":<content>,"sign":"<RSA2 over content>"}`.
pub fn signed_response(node: &str, content: &serde_json::Value, key: &PrivateKey) -> String {
    let content = content.to_string();
    let sign = key.sign(&content);
    format!("{{\"{node}\":{content},\"sign\":\"{sign}\"}}")
}

/// The content of `node` in a gateway answer, verified with Alipay's public key over the bytes as
/// sent and then parsed. The node must appear exactly once, so a second (forged) copy elsewhere in
/// the body can be neither verified nor read.
fn verified_node(
    body: &str,
    node: &str,
    alipay_key: &PublicKey,
) -> Result<serde_json::Value, AlipayError> {
    let malformed = |why: String| AlipayError::MalformedResponse(why);
    let whole: serde_json::Value =
        serde_json::from_str(body).map_err(|e| AlipayError::MalformedResponse(e.to_string()))?;
    let content_text =
        response_node(body, node).ok_or_else(|| malformed(format!("no {node} node")))?;
    if body.matches(&format!("\"{node}\"")).count() != 1 {
        return Err(malformed(format!("the {node} node appears more than once")));
    }
    let sign = whole
        .get("sign")
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .ok_or(AlipayError::MissingSign)?;
    alipay_key.verify(content_text, sign)?;
    serde_json::from_str(content_text).map_err(|e| AlipayError::MalformedResponse(e.to_string()))
}

/// A string field of a verified answer, empty when absent.
fn text_of(content: &serde_json::Value, name: &str) -> String {
    content
        .get(name)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned()
}

/// A string field a successful answer must carry.
fn required_of(content: &serde_json::Value, name: &'static str) -> Result<String, AlipayError> {
    Some(text_of(content, name))
        .filter(|v| !v.is_empty())
        .ok_or(AlipayError::MissingParameter(name))
}

/// A refusal as Alipay words it: `code`, `sub_code`, `sub_msg`.
fn refused(content: &serde_json::Value) -> AlipayError {
    AlipayError::GatewayRefused {
        code: text_of(content, "code"),
        sub_code: text_of(content, "sub_code"),
        message: text_of(content, "sub_msg"),
    }
}

/// A successful answer names the trade it is about; one about another trade is refused.
fn check_answered_trade(
    content: &serde_json::Value,
    out_trade_no: &str,
) -> Result<String, AlipayError> {
    let answered = required_of(content, "out_trade_no")?;
    if answered != out_trade_no {
        return Err(AlipayError::MalformedResponse(
            "the answer is about another trade".to_owned(),
        ));
    }
    Ok(answered)
}

/// Verifies an `alipay.trade.query` answer about `out_trade_no` with Alipay's public key and reads
/// it. Everything is read from the signed bytes alone (a second node or a repeated key elsewhere in
/// the body is refused or ignored), and an answer about another trade is refused.
pub fn verify_trade_query(
    body: &str,
    out_trade_no: &str,
    alipay_key: &PublicKey,
) -> Result<TradeQuery, AlipayError> {
    let content = verified_node(body, TRADE_QUERY_RESPONSE, alipay_key)?;
    match text_of(&content, "code").as_str() {
        "10000" => Ok(TradeQuery::Found {
            out_trade_no: check_answered_trade(&content, out_trade_no)?,
            trade_no: required_of(&content, "trade_no")?,
            total_amount: required_of(&content, "total_amount")?,
            trade_status: TradeStatus::parse(&required_of(&content, "trade_status")?),
        }),
        "40004" if text_of(&content, "sub_code") == "ACQ.TRADE_NOT_EXIST" => {
            Ok(TradeQuery::NotFound)
        }
        _ => Err(refused(&content)),
    }
}

/// Verifies an `alipay.trade.precreate` answer about `out_trade_no` with Alipay's public key and
/// returns its `qr_code` (the URL the buyer's Alipay app opens when scanning). Alipay answers
/// `{"alipay_trade_precreate_response":{"code":"10000","msg":"Success","out_trade_no":…,
/// "qr_code":…},"sign":…}`, signing the node's bytes; read as `verify_trade_query` reads its answer.
/// Any code but `10000` is `GatewayRefused`.
pub fn verify_precreate(
    body: &str,
    out_trade_no: &str,
    alipay_key: &PublicKey,
) -> Result<String, AlipayError> {
    let content = verified_node(body, PRECREATE_RESPONSE, alipay_key)?;
    if text_of(&content, "code") != "10000" {
        return Err(refused(&content));
    }
    check_answered_trade(&content, out_trade_no)?;
    required_of(&content, "qr_code")
}

#[cfg(test)]
#[path = "alipay_tests.rs"]
mod tests;
