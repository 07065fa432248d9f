//! Online payment gateways. One protocol, Alipay's (`alipay`); two counterparties: Alipay itself
//! when the merchant keys are configured, or the built-in sandbox (`sandbox`), which plays Alipay's
//! side on this server with keys of its own, kept in the database.

pub mod alipay;
pub mod sandbox;
mod service;

pub use service::{
    BankPayee, NOTIFY_PATH, OnlinePayments, OpenTopUpError, Payments, SANDBOX_GATEWAY_PATH,
};

use chrono::{DateTime, FixedOffset, Utc};

use crate::topups::{TopUp, TopUpMethod};
use alipay::{AlipayError, Notification, Params, PrivateKey, PublicKey};

/// Everything the merchant side needs: who we are at Alipay, our key, Alipay's key, where to send
/// the customer.
#[derive(Debug, Clone)]
pub struct AlipayMerchant {
    pub app_id: String,
    pub merchant_key: PrivateKey,
    pub alipay_key: PublicKey,
    pub gateway_url: String,
    /// When set, a notification must name this seller (Alipay's `seller_id`, the merchant's PID).
    pub seller_id: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    #[error(transparent)]
    Protocol(#[from] AlipayError),
    #[error("the notification is for app_id '{got}', not this merchant's '{expected}'")]
    WrongApp { expected: String, got: String },
    #[error("the notification is for seller '{got}', not this merchant's '{expected}'")]
    WrongSeller { expected: String, got: String },
}

/// Beijing time, as Alipay's `timestamp` parameter wants it.
pub fn alipay_timestamp(at: DateTime<Utc>) -> String {
    let beijing = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&beijing)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl AlipayMerchant {
    /// Where the customer's browser goes to pay `top_up`: the gateway with a signed page-pay request.
    pub fn checkout_url(
        &self,
        top_up: &TopUp,
        notify_url: &str,
        return_url: &str,
        now: DateTime<Utc>,
    ) -> Option<String> {
        if top_up.method != TopUpMethod::Alipay {
            return None;
        }
        let request = alipay::PagePay {
            app_id: self.app_id.clone(),
            out_trade_no: top_up.reference.clone(),
            total_amount: top_up.amount.as_decimal().to_string(),
            subject: format!("Billing Center top-up {}", top_up.reference),
            notify_url: notify_url.to_owned(),
            return_url: return_url.to_owned(),
            timestamp: alipay_timestamp(now),
            // Closed by reconciliation a day after it was opened: Alipay stops taking payment
            // an hour before, so nothing can be paid into a closed top-up.
            time_expire: Some(alipay_timestamp(
                top_up.created_at
                    + chrono::Duration::hours(crate::reconciliation::CLOSE_AFTER_HOURS - 1),
            )),
        };
        Some(alipay::url_with_params(
            &self.gateway_url,
            &alipay::page_pay_params(&request, &self.merchant_key),
        ))
    }

    /// A notification this merchant may act on: Alipay's signature, our app id, our seller.
    pub fn verify_notification(&self, params: &Params) -> Result<Notification, NotificationError> {
        let notification = alipay::verify_notification(params, &self.alipay_key)?;
        if notification.app_id != self.app_id {
            return Err(NotificationError::WrongApp {
                expected: self.app_id.clone(),
                got: notification.app_id,
            });
        }
        if let Some(expected) = &self.seller_id
            && notification.seller_id.as_deref() != Some(expected.as_str())
        {
            return Err(NotificationError::WrongSeller {
                expected: expected.clone(),
                got: notification.seller_id.unwrap_or_default(),
            });
        }
        Ok(notification)
    }
}
