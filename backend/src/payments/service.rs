//! How this server takes money in, as one value both surfaces use: the pages' server functions and
//! the JSON API open top-ups and find where to pay them through [`Payments`], so neither decides
//! alone whether online payment is possible.

use super::AlipayMerchant;
use super::sandbox::SandboxAlipay;
use crate::topups::{TopUp, TopUpMethod, TopUpRequest, TopUpStatus};
use crate::{IdempotencyKey, LedgerError, Store};

/// Where the sandbox gateway takes page-pay requests, under the public URL.
pub const SANDBOX_GATEWAY_PATH: &str = "/sandbox/alipay/gateway.do";
/// Where Alipay sends its asynchronous payment notifications, under the public URL.
pub const NOTIFY_PATH: &str = "/payments/alipay/notify";

#[derive(Debug, Clone)]
pub enum OnlinePayments {
    /// Real Alipay with the merchant's keys.
    Alipay(AlipayMerchant),
    /// The built-in sandbox gateway (keys in the database), for demos and tests only.
    Sandbox,
    /// Neither: online top-ups are refused (`payments_unavailable`); bank transfers still work.
    Unavailable,
}

impl OnlinePayments {
    pub fn is_sandbox(&self) -> bool {
        matches!(self, OnlinePayments::Sandbox)
    }
}

/// The account customers send bank transfers to, shown on the bank-transfer page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BankPayee {
    pub name: String,
    pub bank: String,
    pub account: String,
}

impl BankPayee {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> BankPayee {
        let get = |name: &str, default: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        BankPayee {
            name: get(
                "BANK_PAYEE_NAME",
                "Billing Center Demo Co., Ltd. (set BANK_PAYEE_NAME)",
            ),
            bank: get(
                "BANK_PAYEE_BANK",
                "Demo Bank, Shanghai Branch (set BANK_PAYEE_BANK)",
            ),
            account: get("BANK_PAYEE_ACCOUNT", "6222 0000 0000 0000 000"),
        }
    }
}

/// Why a top-up could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenTopUpError {
    #[error("online payments are not configured on this server; pay by bank transfer")]
    PaymentsUnavailable,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The gateways of this server and the addresses they send people and notifications to.
#[derive(Debug, Clone)]
pub struct Payments {
    pub online: OnlinePayments,
    /// The address people and gateways use, without a trailing slash.
    pub public_url: String,
    pub bank_payee: BankPayee,
}

impl Payments {
    /// The merchant side in use: configured Alipay, the sandbox's merchant identity, or none.
    pub async fn merchant(&self, store: &Store) -> Result<Option<AlipayMerchant>, LedgerError> {
        match &self.online {
            OnlinePayments::Alipay(merchant) => Ok(Some(merchant.clone())),
            OnlinePayments::Sandbox => Ok(Some(self.sandbox(store).await?.merchant().clone())),
            OnlinePayments::Unavailable => Ok(None),
        }
    }

    /// The sandbox gateway's keys (made once, kept in the database).
    pub async fn sandbox(&self, store: &Store) -> Result<SandboxAlipay, LedgerError> {
        store
            .sandbox_alipay(&format!("{}{SANDBOX_GATEWAY_PATH}", self.public_url))
            .await
    }

    /// Opens a top-up: an online one only when this server can take online payments.
    pub async fn open_top_up(
        &self,
        store: &Store,
        key: &IdempotencyKey,
        request: &TopUpRequest,
    ) -> Result<TopUp, OpenTopUpError> {
        if request.method == TopUpMethod::Alipay
            && matches!(self.online, OnlinePayments::Unavailable)
        {
            return Err(OpenTopUpError::PaymentsUnavailable);
        }
        Ok(store.open_top_up(key, request).await?)
    }

    /// Where to pay a pending online top-up (the gateway with a signed page-pay request).
    pub async fn checkout_url(
        &self,
        store: &Store,
        top_up: &TopUp,
    ) -> Result<Option<String>, LedgerError> {
        if (top_up.method, top_up.status) != (TopUpMethod::Alipay, TopUpStatus::Pending) {
            return Ok(None);
        }
        Ok(self.merchant(store).await?.and_then(|merchant| {
            merchant.checkout_url(
                top_up,
                &self.notify_url(),
                &self.return_url(top_up),
                store.now(),
            )
        }))
    }

    pub fn notify_url(&self) -> String {
        format!("{}{NOTIFY_PATH}", self.public_url)
    }

    /// The page a customer returns to from the gateway (it shows the status; it never credits).
    pub fn return_url(&self, top_up: &TopUp) -> String {
        format!("{}/wallet/top-ups/{}", self.public_url, top_up.id)
    }
}
