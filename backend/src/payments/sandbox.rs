//! The built-in sandbox gateway: Alipay's side of a web checkout, played locally. It checks the
//! merchant's signed page-pay request as Alipay would, and once the customer presses "pay" it
//! writes the asynchronous notification and the synchronous return, signed with its own "Alipay"
//! key. Both key pairs are generated on first use and kept in the database (`gateway_keys`), so
//! every server process and every restart agrees on them.

use chrono::{DateTime, Utc};
use rand::Rng;

use super::alipay::{self, AlipayError, PagePayContent, Params, PrivateKey};
use super::{AlipayMerchant, alipay_timestamp};
use crate::error::LedgerError;
use crate::store::Store;
use crate::time::to_micros;

/// The sandbox's made-up merchant identity (real app ids and PIDs have the same shape).
pub const SANDBOX_APP_ID: &str = "9021000000000001";
pub const SANDBOX_SELLER_ID: &str = "2088000000000001";

const MERCHANT_KEY: &str = "sandbox.merchant";
const ALIPAY_KEY: &str = "sandbox.alipay";

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
    #[error("method must be alipay.trade.page.pay")]
    WrongMethod,
    #[error("biz_content is missing or is not page-pay JSON: {0}")]
    BadContent(String),
    #[error("product_code must be FAST_INSTANT_TRADE_PAY")]
    WrongProduct,
    #[error("total_amount must be 0.01 to 100000000.00 with at most two decimals (got '{0}')")]
    BadAmount(String),
    #[error("the request lacks {0}")]
    Missing(&'static str),
    #[error("method must be alipay.trade.query")]
    NotAQuery,
    #[error("the trade expired at {0} (Beijing time): it can no longer be paid")]
    Expired(String),
}

/// A verified page-pay request: what the checkout page shows and what paying it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    pub notify_url: String,
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

impl SandboxAlipay {
    /// The merchant configuration that pays through this sandbox at `gateway_url`.
    pub fn merchant(&self) -> &AlipayMerchant {
        &self.merchant
    }

    /// Checks a page-pay request the way Alipay's gateway does.
    pub fn checkout(&self, params: &Params) -> Result<Checkout, CheckoutError> {
        alipay::verify_request(params, &self.merchant.merchant_key.public_key())?;
        let get = |name: &'static str| {
            params
                .get(name)
                .filter(|v| !v.is_empty())
                .ok_or(CheckoutError::Missing(name))
        };
        let app_id = get("app_id")?;
        if app_id != &self.merchant.app_id {
            return Err(CheckoutError::UnknownApp(app_id.clone()));
        }
        if get("method")? != alipay::PAGE_PAY_METHOD {
            return Err(CheckoutError::WrongMethod);
        }
        let content: PagePayContent = serde_json::from_str(get("biz_content")?)
            .map_err(|e| CheckoutError::BadContent(e.to_string()))?;
        if content.product_code != alipay::PAGE_PAY_PRODUCT {
            return Err(CheckoutError::WrongProduct);
        }
        let amount_ok = billing::Amount::parse(&content.total_amount).is_ok_and(|a| !a.is_zero());
        if !amount_ok {
            return Err(CheckoutError::BadAmount(content.total_amount));
        }
        Ok(Checkout {
            out_trade_no: content.out_trade_no,
            total_amount: content.total_amount,
            subject: content.subject,
            notify_url: get("notify_url")?.clone(),
            return_url: get("return_url")?.clone(),
            time_expire: content.time_expire,
        })
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
