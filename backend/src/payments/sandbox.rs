//! The built-in sandbox gateway: Alipay's side of a web checkout, played locally. It checks the
//! merchant's signed page-pay (desktop) or wap-pay (phone browser) request as Alipay would, answers
//! a precreate call with a QR code that leads to its own "scan" page, and once the customer presses
//! "pay" it writes the asynchronous notification and the synchronous return, signed with its own
//! "Alipay" key. Both key pairs are generated on first use and kept in the database (`gateway_keys`), so
//! every server process and every restart agrees on them.

use chrono::{DateTime, Utc};
use rand::Rng;

use super::alipay::{self, AlipayError, PagePayContent, Params, PrecreateContent, PrivateKey};
use super::{AlipayMerchant, alipay_timestamp};
use crate::error::LedgerError;
use crate::store::Store;
use crate::time::to_micros;

/// The sandbox's made-up merchant identity (real app ids and PIDs have the same shape).
pub const SANDBOX_APP_ID: &str = "9021000000000001";
pub const SANDBOX_SELLER_ID: &str = "2088000000000001";

const MERCHANT_KEY: &str = "sandbox.merchant";
const ALIPAY_KEY: &str = "sandbox.alipay";

/// The `method` parameter of the sandbox's own scan-page URLs (the `qr_code` of its precreate
/// answers). Not an Alipay method: it keeps these signed parameters from being mistaken for any
/// other set the sandbox's Alipay key signs (notifications, returns).
pub const SCAN_METHOD: &str = "sandbox.precreate.scan";

/// Alipay's side: verifies requests with the merchant's public key, signs with its own key.
#[derive(Debug, Clone)]
pub struct SandboxAlipay {
    merchant: AlipayMerchant,
    alipay_key: PrivateKey,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckoutError {
    #[error(transparent)]
    Protocol(#[from] AlipayError),
    #[error("app_id '{0}' is not a merchant of this gateway")]
    UnknownApp(String),
    #[error("method must be alipay.trade.page.pay or alipay.trade.wap.pay")]
    WrongMethod,
    #[error("biz_content is missing or is not the method's JSON: {0}")]
    BadContent(String),
    #[error("alipay.trade.page.pay takes product_code FAST_INSTANT_TRADE_PAY only")]
    WrongProduct,
    #[error("alipay.trade.wap.pay takes product_code QUICK_WAP_WAY only")]
    WrongWapProduct,
    #[error("total_amount must be 0.01 to 100000000.00 with at most two decimals (got '{0}')")]
    BadAmount(String),
    #[error("the request lacks {0}")]
    Missing(&'static str),
    #[error("method must be alipay.trade.query")]
    NotAQuery,
    #[error("method must be alipay.trade.precreate")]
    NotAPrecreate,
    #[error("this is not a QR code this gateway made")]
    NotAScan,
    #[error("the trade expired at {0} (Beijing time): it can no longer be paid")]
    Expired(String),
}

/// A verified trade to pay: what the checkout page shows and what paying it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    pub notify_url: String,
    /// Where the buyer is sent back after paying. Empty for a scanned QR code (`scanned`): the
    /// phone that scanned it shows "paid" and goes nowhere.
    pub return_url: String,
    /// When Alipay stops taking payment (`yyyy-MM-dd HH:mm:ss`, Beijing time), if the merchant set it.
    pub time_expire: Option<String>,
}

impl Checkout {
    /// Whether the trade can no longer be paid at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        let Some(expire) = &self.time_expire else {
            return false;
        };
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
        chrono::NaiveDateTime::parse_from_str(expire, "%Y-%m-%d %H:%M:%S")
            .ok()
            .and_then(|t| t.and_local_timezone(beijing).single())
            .is_none_or(|t| t <= now)
    }
}

/// How the buyer reached the checkout, so that its page can be laid out for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `alipay.trade.page.pay`: a desktop browser, sent back to `return_url` after paying.
    Desktop,
    /// `alipay.trade.wap.pay`: a phone's browser, sent back to `return_url` after paying and to
    /// `quit_url` when giving up.
    Phone { quit_url: String },
    /// A precreated trade's QR code, scanned with a phone: after paying it shows "paid" (the
    /// checkout's `return_url` is empty).
    ScannedCode,
}

/// A verified trade and how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPage {
    pub checkout: Checkout,
    pub layout: Layout,
}

impl CheckoutPage {
    /// Whether the page is shown on a phone (wap.pay or a scanned code).
    pub fn on_phone(&self) -> bool {
        !matches!(self.layout, Layout::Desktop)
    }

    /// Where a buyer who gives up goes (wap.pay only).
    pub fn quit_url(&self) -> Option<&str> {
        match &self.layout {
            Layout::Phone { quit_url } => Some(quit_url),
            _ => None,
        }
    }
}

/// Alipay's amount rule: 0.01 to 100000000.00 yuan, at most two decimals.
fn amount_ok(total_amount: &str) -> bool {
    billing::Amount::parse(total_amount).is_ok_and(|a| !a.is_zero())
}

/// A parameter that must be present and non-empty.
fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a String, CheckoutError> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or(CheckoutError::Missing(name))
}

impl SandboxAlipay {
    /// The merchant configuration that pays through this sandbox at `gateway_url`.
    pub fn merchant(&self) -> &AlipayMerchant {
        &self.merchant
    }

    /// Checks a page-pay or wap-pay request the way Alipay's gateway does (see `checkout_page`).
    pub fn checkout(&self, params: &Params) -> Result<Checkout, CheckoutError> {
        self.checkout_page(params).map(|page| page.checkout)
    }

    /// Checks a web checkout request the way Alipay's gateway does: the merchant's RSA2 signature,
    /// our app id, `alipay.trade.page.pay` with product `FAST_INSTANT_TRADE_PAY` (a desktop page)
    /// or `alipay.trade.wap.pay` with `QUICK_WAP_WAY` and a `quit_url` (a phone page), Alipay's
    /// amount rule, `notify_url` and `return_url`. Expiry is the caller's (`Checkout::expired`).
    pub fn checkout_page(&self, params: &Params) -> Result<CheckoutPage, CheckoutError> {
        alipay::verify_request(params, &self.merchant.merchant_key.public_key())?;
        let app_id = required(params, "app_id")?;
        if app_id != &self.merchant.app_id {
            return Err(CheckoutError::UnknownApp(app_id.clone()));
        }
        let on_phone = match required(params, "method")?.as_str() {
            alipay::PAGE_PAY_METHOD => false,
            alipay::WAP_PAY_METHOD => true,
            _ => return Err(CheckoutError::WrongMethod),
        };
        let content: PagePayContent = serde_json::from_str(required(params, "biz_content")?)
            .map_err(|e| CheckoutError::BadContent(e.to_string()))?;
        let layout = if on_phone {
            if content.product_code != alipay::WAP_PAY_PRODUCT {
                return Err(CheckoutError::WrongWapProduct);
            }
            let quit_url = content
                .quit_url
                .clone()
                .filter(|q| !q.is_empty())
                .ok_or(CheckoutError::Missing("biz_content.quit_url"))?;
            Layout::Phone { quit_url }
        } else {
            if content.product_code != alipay::PAGE_PAY_PRODUCT {
                return Err(CheckoutError::WrongProduct);
            }
            Layout::Desktop
        };
        if !amount_ok(&content.total_amount) {
            return Err(CheckoutError::BadAmount(content.total_amount));
        }
        Ok(CheckoutPage {
            checkout: Checkout {
                out_trade_no: content.out_trade_no,
                total_amount: content.total_amount,
                subject: content.subject,
                notify_url: required(params, "notify_url")?.clone(),
                return_url: required(params, "return_url")?.clone(),
                time_expire: content.time_expire,
            },
            layout,
        })
    }

    /// Answers a merchant's `alipay.trade.precreate` as Alipay does. The request is checked like
    /// a trade query (the merchant's signature, our app id, the method) and its trade like a
    /// checkout (`biz_content` with out_trade_no, total_amount, subject; the amount rule;
    /// `notify_url`); a `time_expire` at or before `now` is `Expired`. The answer is Alipay's
    /// signed JSON whose `qr_code` is this sandbox's scan page, `{scan_base_url}?{params}`: the
    /// trade's out_trade_no, total_amount, subject, notify_url, time_expire when set and
    /// `method=SCAN_METHOD`, with `sign` a MAC keyed by the sandbox's Alipay key (`scan_mac`), so
    /// the scan page trusts them without anything stored. The MAC is deterministic: the same
    /// request gets the same code, as Alipay's does for an unpaid trade.
    pub fn answer_precreate(
        &self,
        params: &Params,
        scan_base_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, CheckoutError> {
        alipay::verify_request(params, &self.merchant.merchant_key.public_key())?;
        let app_id = required(params, "app_id")?;
        if app_id != &self.merchant.app_id {
            return Err(CheckoutError::UnknownApp(app_id.clone()));
        }
        if required(params, "method")? != alipay::PRECREATE_METHOD {
            return Err(CheckoutError::NotAPrecreate);
        }
        let content: PrecreateContent = serde_json::from_str(required(params, "biz_content")?)
            .map_err(|e| CheckoutError::BadContent(e.to_string()))?;
        if !amount_ok(&content.total_amount) {
            return Err(CheckoutError::BadAmount(content.total_amount));
        }
        let trade = Checkout {
            out_trade_no: content.out_trade_no,
            total_amount: content.total_amount,
            subject: content.subject,
            notify_url: required(params, "notify_url")?.clone(),
            return_url: String::new(),
            time_expire: content.time_expire,
        };
        if trade.expired(now) {
            return Err(CheckoutError::Expired(
                trade.time_expire.clone().unwrap_or_default(),
            ));
        }
        let mut scan: Params = [
            ("method", SCAN_METHOD),
            ("out_trade_no", trade.out_trade_no.as_str()),
            ("total_amount", trade.total_amount.as_str()),
            ("subject", trade.subject.as_str()),
            ("notify_url", trade.notify_url.as_str()),
        ]
        .into_iter()
        .chain(trade.time_expire.as_deref().map(|t| ("time_expire", t)))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mac = self.scan_mac(&scan);
        scan.insert("sign".to_owned(), mac);
        let answer = serde_json::json!({
            "code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no,
            "qr_code": alipay::url_with_params(scan_base_url, &scan),
        });
        Ok(alipay::signed_response(
            alipay::PRECREATE_RESPONSE,
            &answer,
            &self.alipay_key,
        ))
    }

    /// The trade behind one of this sandbox's QR codes (the query parameters of its scan page, see
    /// `answer_precreate`), its MAC checked (in constant time). Its `return_url` is
    /// empty: a scanned code is paid on the phone and sends nobody anywhere. Expiry is the
    /// caller's (`Checkout::expired`), as for `checkout`.
    pub fn scanned(&self, params: &Params) -> Result<CheckoutPage, CheckoutError> {
        let sign = params
            .get("sign")
            .filter(|s| !s.is_empty())
            .ok_or(AlipayError::MissingSign)?;
        if !crate::auth::constant_time_eq(sign.as_bytes(), self.scan_mac(params).as_bytes()) {
            return Err(AlipayError::BadSignature.into());
        }
        if required(params, "method")? != SCAN_METHOD {
            return Err(CheckoutError::NotAScan);
        }
        Ok(CheckoutPage {
            checkout: Checkout {
                out_trade_no: required(params, "out_trade_no")?.clone(),
                total_amount: required(params, "total_amount")?.clone(),
                subject: required(params, "subject")?.clone(),
                notify_url: required(params, "notify_url")?.clone(),
                return_url: String::new(),
                time_expire: params.get("time_expire").filter(|t| !t.is_empty()).cloned(),
            },
            layout: Layout::ScannedCode,
        })
    }

    /// What authenticates a scan page's parameters: HMAC-SHA256 keyed with the sandbox's own
    /// Alipay key, 128 bits, base64url. Short, so that the QR code stays easy to scan from a
    /// screen (an RSA signature would make the address three times as long); only this sandbox
    /// makes and checks it.
    fn scan_mac(&self, params: &Params) -> String {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.alipay_key.to_pem().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"sandbox.precreate.scan\n");
        mac.update(alipay::content_to_sign(params, &["sign", "sign_type"]).as_bytes());
        let tag = mac.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16])
    }

    /// A new Alipay trade number: `2026112322001` + 15 digits, like Alipay's.
    pub fn new_trade_no(now: DateTime<Utc>) -> String {
        format!(
            "{}22001{:015}",
            now.format("%Y%m%d"),
            rand::rng().random_range(0..1_000_000_000_000_000u64)
        )
    }

    /// The asynchronous notification of a paid (or otherwise changed) trade, signed.
    pub fn notification(
        &self,
        checkout: &Checkout,
        trade_no: &str,
        trade_status: &str,
        now: DateTime<Utc>,
    ) -> Params {
        let time = alipay_timestamp(now);
        let mut params: Params = [
            ("notify_time", time.as_str()),
            ("notify_type", "trade_status_sync"),
            ("notify_id", &format!("sandbox{}", to_micros(now))),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("sign_type", "RSA2"),
            ("app_id", &self.merchant.app_id),
            ("auth_app_id", &self.merchant.app_id),
            ("trade_no", trade_no),
            ("out_trade_no", &checkout.out_trade_no),
            ("trade_status", trade_status),
            ("total_amount", &checkout.total_amount),
            ("receipt_amount", &checkout.total_amount),
            ("buyer_pay_amount", &checkout.total_amount),
            ("invoice_amount", &checkout.total_amount),
            ("point_amount", "0.00"),
            ("subject", &checkout.subject),
            ("seller_id", SANDBOX_SELLER_ID),
            ("buyer_id", "2088000000000002"),
            ("gmt_create", time.as_str()),
            ("gmt_payment", time.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        alipay::sign_notification(&mut params, &self.alipay_key);
        params
    }

    /// The signed parameters Alipay appends to `return_url` when sending the customer back.
    pub fn return_params(&self, checkout: &Checkout, trade_no: &str, now: DateTime<Utc>) -> Params {
        let mut params: Params = [
            ("app_id", self.merchant.app_id.as_str()),
            ("method", "alipay.trade.page.pay.return"),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("sign_type", "RSA2"),
            ("timestamp", &alipay_timestamp(now)),
            ("trade_no", trade_no),
            ("out_trade_no", &checkout.out_trade_no),
            ("total_amount", &checkout.total_amount),
            ("seller_id", SANDBOX_SELLER_ID),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        alipay::sign_notification(&mut params, &self.alipay_key);
        params
    }
}

impl SandboxAlipay {
    /// Answers a merchant's `alipay.trade.query` as Alipay does: the request's signature checked,
    /// the answer signed with the sandbox's Alipay key, from the trades it was paid.
    pub async fn answer_trade_query(
        &self,
        store: &Store,
        params: &Params,
    ) -> Result<String, CheckoutError> {
        alipay::verify_request(params, &self.merchant.merchant_key.public_key())?;
        let get = |name: &'static str| {
            params
                .get(name)
                .filter(|v| !v.is_empty())
                .ok_or(CheckoutError::Missing(name))
        };
        if get("app_id")? != &self.merchant.app_id {
            return Err(CheckoutError::UnknownApp(get("app_id")?.clone()));
        }
        if get("method")? != alipay::TRADE_QUERY_METHOD {
            return Err(CheckoutError::NotAQuery);
        }
        let content: serde_json::Value = serde_json::from_str(get("biz_content")?)
            .map_err(|e| CheckoutError::BadContent(e.to_string()))?;
        let out_trade_no = content["out_trade_no"]
            .as_str()
            .ok_or(CheckoutError::Missing("biz_content.out_trade_no"))?;
        let trade = store
            .sandbox_trade(out_trade_no)
            .await
            .map_err(|e| CheckoutError::BadContent(e.to_string()))?;
        let answer = match trade {
            Some((trade_no, total_amount, trade_status)) => serde_json::json!({
                "code": "10000", "msg": "Success", "out_trade_no": out_trade_no,
                "trade_no": trade_no, "total_amount": total_amount, "trade_status": trade_status,
                "buyer_pay_amount": total_amount, "point_amount": "0.00",
            }),
            None => serde_json::json!({
                "code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在", "out_trade_no": out_trade_no,
            }),
        };
        Ok(alipay::signed_response(
            alipay::TRADE_QUERY_RESPONSE,
            &answer,
            &self.alipay_key,
        ))
    }
}

impl Store {
    /// The sandbox remembers a trade it was paid (before it notifies the merchant, as Alipay
    /// records a payment before notifying), so a lost notification can be queried.
    pub async fn record_sandbox_trade(
        &self,
        out_trade_no: &str,
        trade_no: &str,
        total_amount: &str,
    ) -> Result<(), LedgerError> {
        sqlx::query(
            "INSERT INTO sandbox_trades (out_trade_no, trade_no, total_amount, trade_status, paid_at) \
             VALUES ($1, $2, $3, 'TRADE_SUCCESS', $4) ON CONFLICT (out_trade_no) DO NOTHING",
        )
        .bind(out_trade_no)
        .bind(trade_no)
        .bind(total_amount)
        .bind(to_micros(self.now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A trade the sandbox was paid: (trade_no, total_amount, trade_status).
    pub async fn sandbox_trade(
        &self,
        out_trade_no: &str,
    ) -> Result<Option<(String, String, String)>, LedgerError> {
        let row = sqlx::query(
            "SELECT trade_no, total_amount, trade_status FROM sandbox_trades WHERE out_trade_no = $1",
        )
        .bind(out_trade_no)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(row) => {
                use sqlx::Row;
                Some((
                    row.try_get("trade_no")?,
                    row.try_get("total_amount")?,
                    row.try_get("trade_status")?,
                ))
            }
            None => None,
        })
    }

    /// The sandbox gateway served at `gateway_url`, with its keys (created on first use).
    pub async fn sandbox_alipay(&self, gateway_url: &str) -> Result<SandboxAlipay, LedgerError> {
        let merchant_key = self.gateway_key(MERCHANT_KEY).await?;
        let alipay_key = self.gateway_key(ALIPAY_KEY).await?;
        Ok(SandboxAlipay {
            merchant: AlipayMerchant {
                app_id: SANDBOX_APP_ID.to_owned(),
                merchant_key,
                alipay_key: alipay_key.public_key(),
                gateway_url: gateway_url.to_owned(),
                seller_id: Some(SANDBOX_SELLER_ID.to_owned()),
            },
            alipay_key,
        })
    }

    /// A key kept in `gateway_keys`, generated if absent. Two processes generating at once both
    /// insert-if-absent and then read back the one that won.
    async fn gateway_key(&self, name: &str) -> Result<PrivateKey, LedgerError> {
        let read = |pem: String| {
            PrivateKey::parse(&pem)
                .map_err(|e| LedgerError::Corrupt(format!("gateway key {name}: {e}")))
        };
        let stored: Option<String> =
            sqlx::query_scalar("SELECT private_key_pem FROM gateway_keys WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        if let Some(pem) = stored {
            return read(pem);
        }
        let generated = tokio::task::spawn_blocking(PrivateKey::generate)
            .await
            .map_err(|e| LedgerError::Corrupt(format!("key generation failed: {e}")))?;
        sqlx::query(
            "INSERT INTO gateway_keys (name, private_key_pem, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(generated.to_pem())
        .bind(to_micros(self.now()))
        .execute(self.pool())
        .await?;
        let pem: String =
            sqlx::query_scalar("SELECT private_key_pem FROM gateway_keys WHERE name = $1")
                .bind(name)
                .fetch_one(self.pool())
                .await?;
        read(pem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::alipay::{PagePay, Precreate, PublicKey};

    const MERCHANT_PRIVATE: &str =
        include_str!("../../tests/fixtures/alipay/test_merchant_private_key.pem");
    const MERCHANT_PUBLIC: &str =
        include_str!("../../tests/fixtures/alipay/test_merchant_public_key.pem");
    const ALIPAY_PRIVATE: &str =
        include_str!("../../tests/fixtures/alipay/test_alipay_private_key.pem");
    const ALIPAY_PUBLIC: &str =
        include_str!("../../tests/fixtures/alipay/test_alipay_public_key.pem");
    const SCAN_PAGE: &str = "https://billing.example.com/sandbox/alipay/scan";
    const NOTIFY: &str = "https://billing.example.com/payments/alipay/notify";

    /// The sandbox with the fixture keys instead of keys from the database.
    fn sandbox() -> SandboxAlipay {
        SandboxAlipay {
            merchant: AlipayMerchant {
                app_id: SANDBOX_APP_ID.to_owned(),
                merchant_key: PrivateKey::parse(MERCHANT_PRIVATE).unwrap(),
                alipay_key: PublicKey::parse(ALIPAY_PUBLIC).unwrap(),
                gateway_url: "https://billing.example.com/sandbox/alipay/gateway.do".to_owned(),
                seller_id: Some(SANDBOX_SELLER_ID.to_owned()),
            },
            alipay_key: PrivateKey::parse(ALIPAY_PRIVATE).unwrap(),
        }
    }

    fn merchant_key() -> PrivateKey {
        PrivateKey::parse(MERCHANT_PRIVATE).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn request() -> PagePay {
        PagePay {
            app_id: SANDBOX_APP_ID.into(),
            out_trade_no: "BC20261123000000000002".into(),
            total_amount: "66.60".into(),
            subject: "Billing Center top-up".into(),
            notify_url: NOTIFY.into(),
            return_url: "https://billing.example.com/wallet/top-up/return".into(),
            timestamp: "2026-11-23 20:00:00".into(),
            time_expire: Some("2026-11-24 19:00:00".into()),
        }
    }

    /// `params` with its biz_content rewritten and signed again with the merchant's key: a request
    /// the merchant really sent, only with other content.
    fn resigned(params: &Params, from: &str, to: &str) -> Params {
        let mut changed = params.clone();
        changed.insert(
            "biz_content".into(),
            params["biz_content"].replace(from, to),
        );
        assert_ne!(changed, *params, "'{from}' is in the biz_content");
        alipay::sign_request(&mut changed, &merchant_key());
        changed
    }

    #[test]
    fn a_wap_request_checks_out_on_a_phone_and_its_payment_is_notified() {
        let sandbox = sandbox();
        let quit = "https://billing.example.com/wallet/top-up";
        let params = alipay::wap_pay_params(&request(), quit, &merchant_key());
        let page = sandbox.checkout_page(&params).unwrap();
        assert_eq!(
            page.layout,
            Layout::Phone {
                quit_url: quit.into()
            }
        );
        assert!(page.on_phone());
        assert_eq!(page.quit_url(), Some(quit));
        let expected = Checkout {
            out_trade_no: "BC20261123000000000002".into(),
            total_amount: "66.60".into(),
            subject: "Billing Center top-up".into(),
            notify_url: NOTIFY.into(),
            return_url: "https://billing.example.com/wallet/top-up/return".into(),
            time_expire: Some("2026-11-24 19:00:00".into()),
        };
        assert_eq!(page.checkout, expected);
        assert_eq!(sandbox.checkout(&params), Ok(expected.clone()));
        let paid = sandbox.notification(
            &expected,
            "2026112322001000000000000001",
            "TRADE_SUCCESS",
            at("2026-11-23T12:01:00Z"),
        );
        let notified = sandbox.merchant().verify_notification(&paid).unwrap();
        assert_eq!(notified.out_trade_no, "BC20261123000000000002");
        assert_eq!(notified.total_amount, "66.60");
        // The desktop request still checks out, laid out for a desktop.
        let desktop = sandbox
            .checkout_page(&alipay::page_pay_params(&request(), &merchant_key()))
            .unwrap();
        assert_eq!(desktop.layout, Layout::Desktop);
        assert!(!desktop.on_phone());
        assert_eq!(desktop.quit_url(), None);
        assert_eq!(desktop.checkout, expected);
    }

    #[test]
    fn a_tampered_wap_request_is_refused() {
        let params = alipay::wap_pay_params(&request(), "https://x.example/", &merchant_key());
        let mut tampered = params.clone();
        tampered.insert(
            "biz_content".into(),
            params["biz_content"].replace("66.60", "0.01"),
        );
        assert_ne!(tampered, params);
        assert_eq!(
            sandbox().checkout(&tampered),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
        let mut elsewhere = params.clone();
        elsewhere.insert("notify_url".into(), "https://evil.example/notify".into());
        assert_eq!(
            sandbox().checkout(&elsewhere),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
        // Signed by another key than the merchant's.
        let mut foreign = params.clone();
        alipay::sign_request(&mut foreign, &PrivateKey::parse(ALIPAY_PRIVATE).unwrap());
        assert_eq!(
            sandbox().checkout(&foreign),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
    }

    #[test]
    fn each_method_takes_only_its_own_product_and_wap_needs_quit_url() {
        let sandbox = sandbox();
        let page = alipay::page_pay_params(&request(), &merchant_key());
        let page_with_wap_product = resigned(&page, "FAST_INSTANT_TRADE_PAY", "QUICK_WAP_WAY");
        assert_eq!(
            sandbox.checkout(&page_with_wap_product),
            Err(CheckoutError::WrongProduct)
        );
        let wap = alipay::wap_pay_params(&request(), "https://x.example/", &merchant_key());
        let wap_with_page_product = resigned(&wap, "QUICK_WAP_WAY", "FAST_INSTANT_TRADE_PAY");
        assert_eq!(
            sandbox.checkout(&wap_with_page_product),
            Err(CheckoutError::WrongWapProduct)
        );
        let without_quit = resigned(&wap, r#","quit_url":"https://x.example/""#, "");
        assert_eq!(
            sandbox.checkout(&without_quit),
            Err(CheckoutError::Missing("biz_content.quit_url"))
        );
        let empty_quit = resigned(&wap, "https://x.example/", "");
        assert_eq!(
            sandbox.checkout(&empty_quit),
            Err(CheckoutError::Missing("biz_content.quit_url"))
        );
        let mut precreate_method = wap.clone();
        precreate_method.insert("method".into(), alipay::PRECREATE_METHOD.into());
        alipay::sign_request(&mut precreate_method, &merchant_key());
        assert_eq!(
            sandbox.checkout(&precreate_method),
            Err(CheckoutError::WrongMethod)
        );
        let free = resigned(&wap, "66.60", "0.00");
        assert_eq!(
            sandbox.checkout(&free),
            Err(CheckoutError::BadAmount("0.00".into()))
        );
    }

    fn precreate(time_expire: Option<&str>) -> Params {
        alipay::precreate_params(
            SANDBOX_APP_ID,
            &Precreate {
                out_trade_no: "BC20261123000000000003".into(),
                total_amount: "12.34".into(),
                subject: "Billing Center top-up".into(),
                notify_url: NOTIFY.into(),
                timestamp: "2026-11-23 20:00:00".into(),
                time_expire: time_expire.map(str::to_owned),
            },
            &merchant_key(),
        )
    }

    /// The query parameters of a scan-page URL.
    fn scan_params(qr_code: &str) -> Params {
        let (base, query) = qr_code.split_once('?').unwrap();
        assert_eq!(base, SCAN_PAGE);
        alipay::params_from_pairs(form_urlencoded::parse(query.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn a_precreated_code_scans_into_its_trade_and_pays_like_any_other() {
        let sandbox = sandbox();
        let now = at("2026-11-23T12:00:00Z");
        let params = precreate(Some("2026-11-24 19:00:00"));
        let body = sandbox.answer_precreate(&params, SCAN_PAGE, now).unwrap();
        // The merchant reads the answer with Alipay's public key, as it would read Alipay's.
        let qr_code = alipay::verify_precreate(
            &body,
            "BC20261123000000000003",
            &sandbox.merchant().alipay_key,
        )
        .unwrap();
        let page = sandbox.scanned(&scan_params(&qr_code)).unwrap();
        assert_eq!(page.layout, Layout::ScannedCode);
        assert!(page.on_phone());
        assert_eq!(page.quit_url(), None);
        assert_eq!(
            page.checkout,
            Checkout {
                out_trade_no: "BC20261123000000000003".into(),
                total_amount: "12.34".into(),
                subject: "Billing Center top-up".into(),
                notify_url: NOTIFY.into(),
                return_url: String::new(),
                time_expire: Some("2026-11-24 19:00:00".into()),
            }
        );
        assert!(!page.checkout.expired(now));
        // Asked again (later), the same unpaid trade gets the same code.
        let again = sandbox
            .answer_precreate(&params, SCAN_PAGE, at("2026-11-23T13:00:00Z"))
            .unwrap();
        assert_eq!(again, body);
        let notified = sandbox
            .merchant()
            .verify_notification(&sandbox.notification(
                &page.checkout,
                "2026112322001000000000000003",
                "TRADE_SUCCESS",
                now,
            ))
            .unwrap();
        assert_eq!(notified.out_trade_no, "BC20261123000000000003");
        assert_eq!(notified.total_amount, "12.34");
        // Without time_expire the code carries none and never expires.
        let open_ended = sandbox
            .answer_precreate(&precreate(None), SCAN_PAGE, now)
            .unwrap();
        let qr_code = alipay::verify_precreate(
            &open_ended,
            "BC20261123000000000003",
            &sandbox.merchant().alipay_key,
        )
        .unwrap();
        let page = sandbox.scanned(&scan_params(&qr_code)).unwrap();
        assert_eq!(page.checkout.time_expire, None);
        assert!(!page.checkout.expired(at("2036-01-01T00:00:00Z")));
    }

    #[test]
    fn a_changed_or_foreign_code_is_refused_by_the_scan_page() {
        let sandbox = sandbox();
        let now = at("2026-11-23T12:00:00Z");
        let body = sandbox
            .answer_precreate(&precreate(Some("2026-11-24 19:00:00")), SCAN_PAGE, now)
            .unwrap();
        let qr_code = alipay::verify_precreate(
            &body,
            "BC20261123000000000003",
            &sandbox.merchant().alipay_key,
        )
        .unwrap();
        let scan = scan_params(&qr_code);
        sandbox.scanned(&scan).unwrap();
        for (name, value) in [
            ("total_amount", "0.01"),
            ("out_trade_no", "BC20261123000000000004"),
            ("notify_url", "https://evil.example/notify"),
            ("time_expire", "2036-01-01 00:00:00"),
        ] {
            let mut changed = scan.clone();
            changed.insert(name.into(), value.into());
            assert_eq!(
                sandbox.scanned(&changed),
                Err(CheckoutError::Protocol(AlipayError::BadSignature)),
                "{name}"
            );
        }
        let mut unexpiring = scan.clone();
        unexpiring.remove("time_expire");
        assert_eq!(
            sandbox.scanned(&unexpiring),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
        let mut unsigned = scan.clone();
        unsigned.remove("sign");
        assert_eq!(
            sandbox.scanned(&unsigned),
            Err(CheckoutError::Protocol(AlipayError::MissingSign))
        );
        // Signed by the merchant, not by the sandbox's Alipay key.
        let mut forged = scan.clone();
        alipay::sign_notification(&mut forged, &merchant_key());
        assert_eq!(
            sandbox.scanned(&forged),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
        // What the sandbox signs with its Alipay key (returns, notifications) is no code to pay.
        let mut rsa_signed = scan.clone();
        alipay::sign_notification(&mut rsa_signed, &sandbox.alipay_key);
        assert_eq!(
            sandbox.scanned(&rsa_signed),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
        // Nor are other parameters under the scan page's own MAC.
        let mut not_a_scan = scan.clone();
        not_a_scan.insert("method".into(), "alipay.trade.page.pay.return".into());
        let mac = sandbox.scan_mac(&not_a_scan);
        not_a_scan.insert("sign".into(), mac);
        assert_eq!(sandbox.scanned(&not_a_scan), Err(CheckoutError::NotAScan));
        // The code stays short enough to scan from a screen.
        let code = alipay::url_with_params("https://billing.example/sandbox/alipay/scan", &scan);
        assert!(code.len() < 400, "{} characters: {code}", code.len());
    }

    #[test]
    fn a_precreate_is_checked_like_any_request_and_refused_once_expired() {
        let sandbox = sandbox();
        let params = precreate(Some("2026-11-24 19:00:00"));
        // 19:00 Beijing time is 11:00 UTC.
        assert!(
            sandbox
                .answer_precreate(&params, SCAN_PAGE, at("2026-11-24T10:59:59Z"))
                .is_ok()
        );
        assert_eq!(
            sandbox.answer_precreate(&params, SCAN_PAGE, at("2026-11-24T11:00:00Z")),
            Err(CheckoutError::Expired("2026-11-24 19:00:00".into()))
        );
        let now = at("2026-11-23T12:00:00Z");
        let mut tampered = params.clone();
        tampered.insert(
            "biz_content".into(),
            params["biz_content"].replace("12.34", "0.01"),
        );
        assert_eq!(
            sandbox.answer_precreate(&tampered, SCAN_PAGE, now),
            Err(CheckoutError::Protocol(AlipayError::BadSignature))
        );
        let page_pay = alipay::page_pay_params(&request(), &merchant_key());
        assert_eq!(
            sandbox.answer_precreate(&page_pay, SCAN_PAGE, now),
            Err(CheckoutError::NotAPrecreate)
        );
        let mut other_app = params.clone();
        other_app.insert("app_id".into(), "2021000000000000".into());
        alipay::sign_request(&mut other_app, &merchant_key());
        assert_eq!(
            sandbox.answer_precreate(&other_app, SCAN_PAGE, now),
            Err(CheckoutError::UnknownApp("2021000000000000".into()))
        );
        let mut no_notify = params.clone();
        no_notify.remove("notify_url");
        alipay::sign_request(&mut no_notify, &merchant_key());
        assert_eq!(
            sandbox.answer_precreate(&no_notify, SCAN_PAGE, now),
            Err(CheckoutError::Missing("notify_url"))
        );
        let too_precise = resigned(&params, "12.34", "12.345");
        assert_eq!(
            sandbox.answer_precreate(&too_precise, SCAN_PAGE, now),
            Err(CheckoutError::BadAmount("12.345".into()))
        );
        let no_subject = resigned(&params, r#","subject":"Billing Center top-up""#, "");
        assert!(matches!(
            sandbox.answer_precreate(&no_subject, SCAN_PAGE, now),
            Err(CheckoutError::BadContent(_))
        ));
        // The fixture's public key is the merchant's key the sandbox verifies with.
        assert_eq!(
            PublicKey::parse(MERCHANT_PUBLIC).unwrap(),
            sandbox.merchant().merchant_key.public_key()
        );
    }
}
