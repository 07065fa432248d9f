//! How this server takes money in, as one value both surfaces use: the pages' server functions and
//! the JSON API open top-ups and find where to pay them through [`Payments`], so neither decides
//! alone whether online payment is possible.

use std::time::Duration;

use super::alipay;
use super::sandbox::SandboxAlipay;
use super::{AlipayMerchant, delivery_url, qr_svg};
use crate::topups::{TopUp, TopUpMethod, TopUpRequest, TopUpStatus};
use crate::{IdempotencyKey, LedgerError, Store};

/// Where the sandbox gateway takes page-pay requests, under the public URL.
pub const SANDBOX_GATEWAY_PATH: &str = "/sandbox/alipay/gateway.do";
/// The sandbox's scan page, under the public URL: what its QR codes open on a phone.
pub const SANDBOX_SCAN_PATH: &str = "/sandbox/alipay/scan";
/// How long a page waits for the gateway to make a QR code before offering its checkout instead
/// (the page is rendered meanwhile), and to reach it at all.
pub const PRECREATE_TIMEOUT: Duration = Duration::from_secs(5);
pub const GATEWAY_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many QR codes are remembered (pending top-ups close within a day, at most ten an
/// account); past it the memory starts again.
const QR_CODES_KEPT: usize = 10_000;
/// Where Alipay sends its asynchronous payment notifications, under the public URL.
pub const NOTIFY_PATH: &str = "/payments/alipay/notify";

#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per process, built once from the configuration; boxing would only make every match and construction noisier"
)]
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

    /// Where `merchant`'s API calls (`alipay.trade.precreate`, `alipay.trade.query`) go:
    /// Alipay's gateway, or for the sandbox this very process over plain HTTP (`delivery_url`).
    pub fn api_url(
        &self,
        merchant: &AlipayMerchant,
        public_url: &str,
        local_url: &str,
    ) -> Result<String, String> {
        match self {
            OnlinePayments::Sandbox => delivery_url(public_url, local_url, &merchant.gateway_url),
            OnlinePayments::Alipay(_) | OnlinePayments::Unavailable => {
                Ok(merchant.gateway_url.clone())
            }
        }
    }
}

/// One API call to the gateway as Alipay takes them (the signed parameters as a form POST),
/// returning the answer's body for its method's verifier; the client's timeouts apply.
pub async fn call_gateway(
    http: &reqwest::Client,
    url: &str,
    params: &super::alipay::Params,
) -> Result<String, String> {
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    http.post(url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(form)
        .send()
        .await
        .map_err(|e| format!("the gateway did not answer: {e}"))?
        .text()
        .await
        .map_err(|e| format!("the gateway's answer could not be read: {e}"))
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

/// Where a customer pays from, told by the browser's User-Agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayingFrom {
    Desktop,
    Phone,
    WeChat,
}

impl PayingFrom {
    /// WeChat's own browser (`MicroMessenger`, which blocks Alipay's pages), a phone or tablet
    /// browser (and DingTalk's and HarmonyOS's), or else a desktop (an empty or unknown agent too).
    pub fn of_user_agent(user_agent: &str) -> PayingFrom {
        let agent = user_agent.to_ascii_lowercase();
        if agent.contains("micromessenger") {
            PayingFrom::WeChat
        } else if [
            "mobile",
            "android",
            "iphone",
            "ipad",
            "dingtalk",
            "harmonyos",
        ]
        .iter()
        .any(|word| agent.contains(word))
        {
            PayingFrom::Phone
        } else {
            PayingFrom::Desktop
        }
    }
}

/// How to pay a pending online top-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayWith {
    /// Send the browser to the gateway: Alipay's mobile web pay on a phone (hands over to the
    /// Alipay app), or Alipay's desktop checkout page when no QR code could be made.
    Gateway { url: String },
    /// Desktop: a code to scan with the Alipay app, shown in the page (`svg` is the rendered QR
    /// code, an `<svg>` element string), and Alipay's own checkout page as the alternative.
    QrCode {
        code: String,
        svg: String,
        page_pay_url: String,
    },
    /// WeChat: Alipay's pages are blocked; the page tells the customer to open it in the system
    /// browser.
    OpenInBrowser,
}

/// The gateways of this server and the addresses they send people and notifications to.
#[derive(Debug, Clone)]
pub struct Payments {
    pub online: OnlinePayments,
    /// The address people and gateways use, without a trailing slash.
    pub public_url: String,
    /// This process's own address over plain HTTP (its listen address): where calls to the
    /// sandbox gateway go (see `delivery_url`).
    pub local_url: String,
    pub bank_payee: BankPayee,
    /// Calls to the gateway (`alipay.trade.precreate`).
    pub http: reqwest::Client,
    /// The verified QR code of each pending top-up it was made for (by `out_trade_no`): the
    /// gateway is asked once per top-up, not at every view of its page. A code stays payable until
    /// the trade's `time_expire`, and a process that does not have it asks again.
    qr_codes: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

impl Payments {
    /// The gateways with an HTTP client of their own.
    pub fn new(
        online: OnlinePayments,
        public_url: String,
        local_url: String,
        bank_payee: BankPayee,
    ) -> Payments {
        let http = reqwest::Client::builder()
            .timeout(PRECREATE_TIMEOUT)
            .connect_timeout(GATEWAY_CONNECT_TIMEOUT)
            .build()
            .unwrap_or_default();
        Payments {
            online,
            public_url,
            local_url,
            bank_payee,
            http,
            qr_codes: Default::default(),
        }
    }

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

    /// The merchant to pay `top_up` through, when it is a pending Alipay top-up and online
    /// payments are on.
    async fn merchant_for(
        &self,
        store: &Store,
        top_up: &TopUp,
    ) -> Result<Option<AlipayMerchant>, LedgerError> {
        if (top_up.method, top_up.status) != (TopUpMethod::Alipay, TopUpStatus::Pending) {
            return Ok(None);
        }
        self.merchant(store).await
    }

    /// Where to pay a pending online top-up (the gateway with a signed page-pay request).
    pub async fn checkout_url(
        &self,
        store: &Store,
        top_up: &TopUp,
    ) -> Result<Option<String>, LedgerError> {
        Ok(self
            .merchant_for(store, top_up)
            .await?
            .and_then(|merchant| self.page_pay_url(&merchant, top_up, store)))
    }

    fn page_pay_url(
        &self,
        merchant: &AlipayMerchant,
        top_up: &TopUp,
        store: &Store,
    ) -> Option<String> {
        merchant.checkout_url(
            top_up,
            &self.notify_url(),
            &self.return_url(top_up),
            store.now(),
        )
    }

    /// How to pay `top_up` from `from`; None if it is not a pending Alipay top-up or online
    /// payments are off. A phone goes to Alipay's mobile checkout (back to the top-up's page when
    /// done or given up); a desktop gets a QR code made by the gateway (`alipay.trade.precreate`)
    /// with Alipay's checkout page as the alternative, or only that page when the gateway made no
    /// code (the reason is logged); WeChat is told to open the page in a browser. Nothing here
    /// credits anything: only the gateway's verified notification (or reconciliation) does.
    pub async fn pay_with(
        &self,
        store: &Store,
        top_up: &TopUp,
        from: PayingFrom,
    ) -> Result<Option<PayWith>, LedgerError> {
        let Some(merchant) = self.merchant_for(store, top_up).await? else {
            return Ok(None);
        };
        let now = store.now();
        let back = self.return_url(top_up);
        Ok(match from {
            PayingFrom::WeChat => Some(PayWith::OpenInBrowser),
            PayingFrom::Phone => merchant
                .wap_pay_url(top_up, &self.notify_url(), &back, &back, now)
                .map(|url| PayWith::Gateway { url }),
            PayingFrom::Desktop => {
                let Some(page_pay_url) = self.page_pay_url(&merchant, top_up, store) else {
                    return Ok(None);
                };
                // A remembered code, while the gateway still takes payment for its trade.
                let payable_until = top_up.created_at
                    + chrono::Duration::hours(crate::reconciliation::CLOSE_AFTER_HOURS - 1);
                let remembered = self
                    .remembered_qr_code(top_up)
                    .filter(|_| now < payable_until);
                let code = match remembered {
                    Some(code) => Ok(code),
                    None => self.precreate(&merchant, top_up, now).await,
                }
                .and_then(|code| match qr_svg(&code) {
                    Some(svg) => Ok((code, svg)),
                    None => Err("the gateway's code does not fit in a QR code".to_owned()),
                });
                if let Ok((code, _)) = &code {
                    self.remember_qr_code(top_up, code);
                }
                Some(match code {
                    Ok((code, svg)) => PayWith::QrCode {
                        code,
                        svg,
                        page_pay_url,
                    },
                    Err(why) => {
                        tracing::warn!(top_up = top_up.id, trade = %top_up.reference, %why,
                            "alipay.trade.precreate made no QR code for the top-up; offering the gateway's checkout page");
                        PayWith::Gateway { url: page_pay_url }
                    }
                })
            }
        })
    }

    fn remembered_qr_code(&self, top_up: &TopUp) -> Option<String> {
        let codes = self.qr_codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.get(&top_up.reference).cloned()
    }

    fn remember_qr_code(&self, top_up: &TopUp, code: &str) {
        let mut codes = self.qr_codes.lock().unwrap_or_else(|e| e.into_inner());
        if codes.len() >= QR_CODES_KEPT {
            codes.clear();
        }
        codes.insert(top_up.reference.clone(), code.to_owned());
    }

    /// Where the merchant's API calls to the gateway go (`OnlinePayments::api_url`).
    fn api_url(&self, merchant: &AlipayMerchant) -> Result<String, String> {
        self.online
            .api_url(merchant, &self.public_url, &self.local_url)
    }

    /// Asks the gateway for `top_up`'s QR code (`alipay.trade.precreate`, a form POST) and returns
    /// the verified `qr_code`, or why there is none.
    async fn precreate(
        &self,
        merchant: &AlipayMerchant,
        top_up: &TopUp,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, String> {
        let params = merchant
            .precreate_params(top_up, &self.notify_url(), now)
            .ok_or_else(|| "not an Alipay top-up".to_owned())?;
        let body = call_gateway(&self.http, &self.api_url(merchant)?, &params).await?;
        alipay::verify_precreate(&body, &top_up.reference, &merchant.alipay_key)
            .map_err(|e| e.to_string())
    }

    pub fn notify_url(&self) -> String {
        format!("{}{NOTIFY_PATH}", self.public_url)
    }

    /// The page a customer returns to from the gateway (it shows the status; it never credits).
    pub fn return_url(&self, top_up: &TopUp) -> String {
        format!("{}/wallet/top-ups/{}", self.public_url, top_up.id)
    }
}

#[cfg(test)]
mod tests {
    use super::PayingFrom;

    #[test]
    fn where_a_customer_pays_from_is_told_by_the_user_agent() {
        for (agent, from) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                PayingFrom::Desktop,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                PayingFrom::Desktop,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                PayingFrom::Desktop,
            ),
            ("", PayingFrom::Desktop),
            ("curl/8.5.0", PayingFrom::Desktop),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                PayingFrom::Phone,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
                PayingFrom::Phone,
            ),
            // An Android tablet's Chrome says "Android" without "Mobile".
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                PayingFrom::Phone,
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
                PayingFrom::Phone,
            ),
            (
                "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/99.0.4844.88 Safari/537.36",
                PayingFrom::Phone,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AliApp(DingTalk/7.5.10) com.laiwang.DingTalk/31339047 Channel/201200 language/zh-Hans-CN UT4Aplus/0.0.6 WK",
                PayingFrom::Phone,
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 MMWEBSDK/20230202 MMWEBID/1234 MicroMessenger/8.0.33.2320(0x28002151) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
                PayingFrom::WeChat,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.34(0x18002234) NetType/WIFI Language/zh_CN",
                PayingFrom::WeChat,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13)",
                PayingFrom::WeChat,
            ),
        ] {
            assert_eq!(PayingFrom::of_user_agent(agent), from, "{agent}");
        }
    }
}
