//! Alibaba Cloud Marketplace's SaaS SPI (云市场 SaaS 类商品 SPI): the marketplace calls
//! `GET /marketplace/aliyun?action=…&…&token=…`. The token is MD5 (lower-case hex) of every
//! query parameter but `token`, sorted by name, joined `k=v&…`, then `&key=` and the ISV's
//! key (`ALIYUN_MARKET_KEY`); values are compared URL-decoded, and parameters the marketplace
//! adds later are part of it (help.aliyun.com/document_detail/147280).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use md5::{Digest, Md5};

use super::{Cloud, CloudError, NewSubscription, SubscriptionStatus};
use crate::store::Store;

/// The token of `params` (without `token`) under `key`.
pub fn spi_token(params: &BTreeMap<String, String>, key: &str) -> String {
    let mut text = params
        .iter()
        .filter(|(name, _)| name.as_str() != "token")
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    text.push_str("&key=");
    text.push_str(key);
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `params` carry the right token for `key` (compared in constant time).
pub fn verify(params: &BTreeMap<String, String>, key: &str) -> bool {
    let Some(sent) = params.get("token") else {
        return false;
    };
    crate::auth::constant_time_eq(
        sent.to_ascii_lowercase().as_bytes(),
        spi_token(params, key).as_bytes(),
    )
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpiError {
    #[error("the token is missing or wrong")]
    BadToken,
    /// The signed text `k=v&…` cannot be read back unambiguously.
    #[error("a parameter name or value holds '&' or '='")]
    Ambiguous,
    #[error("unknown action '{0}'")]
    UnknownAction(String),
    #[error("parameter '{0}' is missing")]
    Missing(&'static str),
    #[error("parameter '{name}' is not valid: {value}")]
    Invalid { name: &'static str, value: String },
}

/// What an SPI call answers: `createInstance` its instance id, the others success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpiAnswer {
    Instance(String),
    Done,
}

fn required<'a>(
    params: &'a BTreeMap<String, String>,
    name: &'static str,
) -> Result<&'a str, SpiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or(SpiError::Missing(name))
}

/// `expiredOn`: `yyyy-MM-dd HH:mm:ss` in China time (the marketplace's).
fn expired_on(params: &BTreeMap<String, String>) -> Result<Option<DateTime<Utc>>, SpiError> {
    let Some(text) = params.get("expiredOn").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map_err(|_| {
        SpiError::Invalid {
            name: "expiredOn",
            value: text.chars().take(40).collect(),
        }
    })?;
    Ok(local
        .and_local_timezone(chrono_tz::Asia::Shanghai)
        .single()
        .map(|at| at.with_timezone(&Utc)))
}

/// A verified SPI call, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpiCall {
    Create(NewSubscription),
    Renew {
        instance_id: String,
        valid_until: Option<DateTime<Utc>>,
    },
    Expire {
        instance_id: String,
    },
    Release {
        instance_id: String,
    },
}

/// Checks the token and reads the call; nothing is decided before the token is right.
pub fn parse(params: &BTreeMap<String, String>, key: &str) -> Result<SpiCall, SpiError> {
    if params
        .iter()
        .any(|(k, v)| k.contains(['&', '=']) || v.contains(['&', '=']))
    {
        return Err(SpiError::Ambiguous);
    }
    if !verify(params, key) {
        return Err(SpiError::BadToken);
    }
    let action = required(params, "action")?;
    Ok(match action {
        "createInstance" => SpiCall::Create(NewSubscription {
            cloud: Cloud::Aliyun,
            cloud_account_id: required(params, "aliUid")?.to_owned(),
            order_ref: required(params, "orderBizId")?.to_owned(),
            product_code: required(params, "productCode")?.to_owned(),
            sku_id: required(params, "skuId")?.to_owned(),
            valid_until: expired_on(params)?,
        }),
        "renewInstance" => SpiCall::Renew {
            instance_id: required(params, "instanceId")?.to_owned(),
            valid_until: expired_on(params)?,
        },
        "expiredInstance" => SpiCall::Expire {
            instance_id: required(params, "instanceId")?.to_owned(),
        },
        "releaseInstance" => SpiCall::Release {
            instance_id: required(params, "instanceId")?.to_owned(),
        },
        other => return Err(SpiError::UnknownAction(other.chars().take(40).collect())),
    })
}

impl Store {
    /// Carries out a verified SPI call.
    pub async fn aliyun_spi(&self, call: &SpiCall) -> Result<SpiAnswer, CloudError> {
        Ok(match call {
            SpiCall::Create(new) => SpiAnswer::Instance(self.create_subscription(new).await?),
            SpiCall::Renew {
                instance_id,
                valid_until,
            } => {
                self.renew_subscription(Cloud::Aliyun, instance_id, *valid_until)
                    .await?;
                SpiAnswer::Done
            }
            SpiCall::Expire { instance_id } => {
                self.end_subscription(Cloud::Aliyun, instance_id, SubscriptionStatus::Expired)
                    .await?;
                SpiAnswer::Done
            }
            SpiCall::Release { instance_id } => {
                self.end_subscription(Cloud::Aliyun, instance_id, SubscriptionStatus::Released)
                    .await?;
                SpiAnswer::Done
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_token_is_alibabas_documented_rule() {
        // The documentation's example: p1=1&p2=2&p3=3&key=isvkey, MD5 in lower-case hex.
        let p = params(&[("p2", "2"), ("p1", "1"), ("p3", "3"), ("token", "ignored")]);
        assert_eq!(spi_token(&p, "isvkey"), "691b1c2be27485a87fb000de6f89f1d3");
        // A createInstance call; the value of expiredOn is compared decoded (with its space).
        let create = params(&[
            ("action", "createInstance"),
            ("aliUid", "1234567890"),
            ("expiredOn", "2026-01-01 00:00:00"),
            ("orderBizId", "3000123"),
            ("orderId", "205060317920890"),
            ("productCode", "cmgj00012345"),
            ("skuId", "yuncode1234500001"),
            ("trial", "false"),
        ]);
        assert_eq!(
            spi_token(&create, "isvkey"),
            "742555cc8ae25f430249c47a7fbc2ea6"
        );
    }

    #[test]
    fn a_forged_or_missing_token_decides_nothing() {
        let mut p = params(&[("action", "expiredInstance"), ("instanceId", "bc-aliyun-x")]);
        assert_eq!(parse(&p, "isvkey"), Err(SpiError::BadToken));
        p.insert("token".into(), spi_token(&p, "another key"));
        assert_eq!(parse(&p, "isvkey"), Err(SpiError::BadToken));
        let good = spi_token(&p, "isvkey");
        p.insert("token".into(), good);
        assert_eq!(
            parse(&p, "isvkey"),
            Ok(SpiCall::Expire {
                instance_id: "bc-aliyun-x".into()
            })
        );
        // A parameter changed after signing.
        p.insert("instanceId".into(), "bc-aliyun-y".into());
        assert_eq!(parse(&p, "isvkey"), Err(SpiError::BadToken));
        // Parameters folded into one another sign the same text: refused before the token.
        let folded = params(&[("action", "expiredInstance"), ("instanceId", "x&email=y")]);
        assert_eq!(parse(&folded, "isvkey"), Err(SpiError::Ambiguous));
    }

    #[test]
    fn expired_on_is_china_time() {
        let p = params(&[("expiredOn", "2026-12-31 23:59:59")]);
        assert_eq!(
            expired_on(&p).unwrap().unwrap().to_rfc3339(),
            "2026-12-31T15:59:59+00:00"
        );
        assert!(expired_on(&params(&[("expiredOn", "tomorrow")])).is_err());
    }
}
