//! Online payment gateways. One protocol, Alipay's (`alipay`); two counterparties: Alipay itself
//! when the merchant keys are configured, or the built-in sandbox (`sandbox`), which plays Alipay's
//! side on this server with keys of its own, kept in the database.

pub mod alipay;
pub mod sandbox;
mod service;

pub use service::{
    BankPayee, NOTIFY_PATH, OnlinePayments, OpenTopUpError, PayWith, PayingFrom, Payments,
    SANDBOX_GATEWAY_PATH, SANDBOX_SCAN_PATH, call_gateway,
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

/// What the customer sees at Alipay as the thing bought.
fn trade_subject(top_up: &TopUp) -> String {
    format!("Billing Center top-up {}", top_up.reference)
}

/// When Alipay stops taking payment for `top_up`: reconciliation closes a top-up a day after it
/// was opened, and Alipay stops an hour before, so nothing can be paid into a closed top-up.
fn trade_expiry(top_up: &TopUp) -> String {
    alipay_timestamp(
        top_up.created_at + chrono::Duration::hours(crate::reconciliation::CLOSE_AFTER_HOURS - 1),
    )
}

/// `text` as a QR code (error correction L), an `<svg>` element string (no XML declaration) that
/// scales to its box, for a page to show inline; None when it does not fit in a QR code. Drawn in
/// module units, one path of horizontal runs: a few KiB even for a long code, where a rectangle
/// per module in pixels weighs a hundred.
pub fn qr_svg(text: &str) -> Option<String> {
    use std::fmt::Write;
    const QUIET_ZONE: usize = 4;
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|color| color == qrcode::Color::Dark)
        .collect();
    let mut path = String::new();
    for (y, row) in dark.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] {
                x += 1;
            }
            let run = x - start;
            let _ = write!(
                path,
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    let size = width + 2 * QUIET_ZONE;
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="240" height="240" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    ))
}

/// Where the sandbox sends a request addressed to `url` under `public_url` (its notifications,
/// and the merchant's API calls to the sandbox gateway): to this very process over plain HTTP on
/// its listen address (`local_url`), whatever `PUBLIC_URL` is: behind an https proxy the public
/// address may not even be reachable from the server, and the sandbox has no business calling
/// anybody else. It is still a real HTTP request to the real endpoint, so the production path is
/// what it exercises.
pub fn delivery_url(public_url: &str, local_url: &str, url: &str) -> Result<String, String> {
    match url.strip_prefix(public_url) {
        Some(path) if path.starts_with('/') => Ok(format!("{local_url}{path}")),
        _ => Err(format!(
            "the sandbox only calls this server ({public_url}), not '{url}'"
        )),
    }
}

impl AlipayMerchant {
    /// What every web checkout of `top_up` asks for (`page.pay` and `wap.pay` alike); None unless
    /// it is an Alipay top-up.
    fn web_pay(
        &self,
        top_up: &TopUp,
        notify_url: &str,
        return_url: &str,
        now: DateTime<Utc>,
    ) -> Option<alipay::PagePay> {
        (top_up.method == TopUpMethod::Alipay).then(|| alipay::PagePay {
            app_id: self.app_id.clone(),
            out_trade_no: top_up.reference.clone(),
            total_amount: top_up.amount.as_decimal().to_string(),
            subject: trade_subject(top_up),
            notify_url: notify_url.to_owned(),
            return_url: return_url.to_owned(),
            timestamp: alipay_timestamp(now),
            time_expire: Some(trade_expiry(top_up)),
        })
    }

    /// Where the customer's browser goes to pay `top_up`: the gateway with a signed page-pay request.
    pub fn checkout_url(
        &self,
        top_up: &TopUp,
        notify_url: &str,
        return_url: &str,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let request = self.web_pay(top_up, notify_url, return_url, now)?;
        Some(alipay::url_with_params(
            &self.gateway_url,
            &alipay::page_pay_params(&request, &self.merchant_key),
        ))
    }

    /// Where a phone's browser goes to pay `top_up`: the gateway with a signed wap-pay request
    /// (Alipay's mobile checkout, which hands over to the Alipay app). `quit_url` is where a
    /// customer who gives up is sent.
    pub fn wap_pay_url(
        &self,
        top_up: &TopUp,
        notify_url: &str,
        return_url: &str,
        quit_url: &str,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let request = self.web_pay(top_up, notify_url, return_url, now)?;
        Some(alipay::url_with_params(
            &self.gateway_url,
            &alipay::wap_pay_params(&request, quit_url, &self.merchant_key),
        ))
    }

    /// The signed `alipay.trade.precreate` call that makes `top_up`'s QR code, to be posted to the
    /// gateway; None unless it is an Alipay top-up.
    pub fn precreate_params(
        &self,
        top_up: &TopUp,
        notify_url: &str,
        now: DateTime<Utc>,
    ) -> Option<Params> {
        (top_up.method == TopUpMethod::Alipay).then(|| {
            let request = alipay::Precreate {
                out_trade_no: top_up.reference.clone(),
                total_amount: top_up.amount.as_decimal().to_string(),
                subject: trade_subject(top_up),
                notify_url: notify_url.to_owned(),
                timestamp: alipay_timestamp(now),
                time_expire: Some(trade_expiry(top_up)),
            };
            alipay::precreate_params(&self.app_id, &request, &self.merchant_key)
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topups::TopUpStatus;

    fn merchant() -> AlipayMerchant {
        let fixture = |name| {
            std::fs::read_to_string(format!(
                "{}/tests/fixtures/alipay/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        AlipayMerchant {
            app_id: "2021000000000000".into(),
            merchant_key: PrivateKey::parse(&fixture("test_merchant_private_key.pem")).unwrap(),
            alipay_key: PublicKey::parse(&fixture("test_alipay_public_key.pem")).unwrap(),
            gateway_url: "https://openapi.alipay.com/gateway.do".into(),
            seller_id: None,
        }
    }

    fn top_up(method: TopUpMethod) -> TopUp {
        TopUp {
            id: 7,
            account_id: 1,
            method,
            amount: billing::Amount::from_fen(1_234),
            reference: "BC20261123000000000007".into(),
            status: TopUpStatus::Pending,
            created_at: DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
                .unwrap()
                .to_utc(),
            paid_at: None,
            provider_trade_no: None,
            transaction_id: None,
        }
    }

    fn params_of(url: &str) -> Params {
        let (_, query) = url.split_once('?').unwrap();
        alipay::params_from_pairs(form_urlencoded::parse(query.as_bytes()).into_owned()).unwrap()
    }

    fn biz(params: &Params) -> serde_json::Value {
        serde_json::from_str(&params["biz_content"]).unwrap()
    }

    #[test]
    fn every_way_to_pay_asks_for_the_same_trade() {
        let merchant = merchant();
        let top_up = self::top_up(TopUpMethod::Alipay);
        let now = top_up.created_at;
        let (notify, back) = (
            "https://b.example/payments/alipay/notify",
            "https://b.example/wallet/top-ups/7",
        );
        let page = params_of(&merchant.checkout_url(&top_up, notify, back, now).unwrap());
        let wap = params_of(
            &merchant
                .wap_pay_url(&top_up, notify, back, back, now)
                .unwrap(),
        );
        let precreate = merchant.precreate_params(&top_up, notify, now).unwrap();
        for (params, method) in [
            (&page, alipay::PAGE_PAY_METHOD),
            (&wap, alipay::WAP_PAY_METHOD),
            (&precreate, alipay::PRECREATE_METHOD),
        ] {
            alipay::verify_request(params, &merchant.merchant_key.public_key()).unwrap();
            assert_eq!(params["method"], method);
            assert_eq!(params["notify_url"], notify);
            let content = biz(params);
            assert_eq!(
                content["out_trade_no"], "BC20261123000000000007",
                "{method}"
            );
            assert_eq!(content["total_amount"], "12.34", "{method}");
            assert_eq!(
                content["subject"], "Billing Center top-up BC20261123000000000007",
                "{method}"
            );
            // 23 hours after 20:00 Beijing time.
            assert_eq!(content["time_expire"], "2026-11-24 19:00:00", "{method}");
        }
        assert_eq!(biz(&wap)["quit_url"], back);
        assert_eq!(wap["return_url"], back);
        assert!(!precreate.contains_key("return_url"));
        let bank = self::top_up(TopUpMethod::BankTransfer);
        assert_eq!(merchant.checkout_url(&bank, notify, back, now), None);
        assert_eq!(merchant.wap_pay_url(&bank, notify, back, back, now), None);
        assert_eq!(merchant.precreate_params(&bank, notify, now), None);
    }

    #[test]
    fn a_qr_code_is_an_svg_element() {
        let svg = qr_svg("https://b.example/sandbox/alipay/scan?x=1").unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert_ne!(
            svg,
            qr_svg("https://b.example/sandbox/alipay/scan?x=2").unwrap()
        );
        assert_eq!(qr_svg(&"x".repeat(8_000)), None, "too long for a QR code");
    }

    #[test]
    fn the_drawing_has_exactly_the_codes_dark_modules_and_stays_small() {
        let text = format!(
            "https://b.example/sandbox/alipay/scan?{}",
            "a=b&".repeat(150)
        );
        let svg = qr_svg(&text).unwrap();
        assert!(svg.len() < 40_000, "{} bytes", svg.len());
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
            .unwrap();
        let width = code.width();
        let expected: std::collections::BTreeSet<(usize, usize)> = code
            .to_colors()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == qrcode::Color::Dark)
            .map(|(i, _)| (i % width + 4, i / width + 4))
            .collect();
        let path = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        let mut drawn = std::collections::BTreeSet::new();
        for run in path.split('z').filter(|r| !r.is_empty()) {
            let run = run.strip_prefix('M').unwrap();
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (n, _) = rest.split_once('v').unwrap();
            let (x, y, n): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
            for dx in 0..n {
                assert!(drawn.insert((x + dx, y)), "a module drawn twice");
            }
        }
        assert_eq!(drawn, expected);
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", width + 8)));
    }
}
