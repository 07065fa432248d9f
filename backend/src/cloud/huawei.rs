//! Huawei Cloud KooGallery (云商店), SaaS access V2: the marketplace POSTs a JSON body naming
//! its `activity` to one production URL, with `signature`, `timestamp` (Unix milliseconds) and
//! `nonce` in the query. The signature is
//! `hex(HMAC-SHA256(key, key + nonce + timestamp + hex(HMAC-SHA256(key, body))))` under the
//! seller's access key (`HUAWEI_MARKET_KEY`); the timestamp is within 60 s of now and a nonce is
//! taken once (a captured call replays nothing). Answers carry `resultCode` (`000000` success,
//! `000001` authentication failed, `000002` invalid parameter, `000003` no such instance,
//! `000005` internal error) and a `Body-Sign` header over the answer.
//!
//! A new instance names only its order: the buyer (its Huawei account id) and the expiry are
//! read with the Query Order open API, signed with the seller's AK/SK (APIG `SDK-HMAC-SHA256`).
//! What a cloud-settled bill charged is pushed with the usage-data API
//! (`POST …/isv/usage-data`, headers `signature`/`ts`/`nonce`), one record per bill whose
//! `metering_sn` is the record's own id, so a push repeated after a lost answer is counted once.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

use super::{Cloud, CloudError, NewSubscription, SubscriptionStatus};
use crate::store::Store;

/// How far the marketplace's timestamp may be from our clock.
pub const TIMESTAMP_WINDOW_MS: i64 = 60_000;

use super::hmac_sha256;
use crate::auth::hex;

/// The request signature KooGallery puts in the query (lower-case hex; it sends upper case,
/// so compare without case).
pub fn body_signature(key: &str, nonce: &str, timestamp: &str, body: &[u8]) -> String {
    let canonical = format!(
        "{key}{nonce}{timestamp}{}",
        hex(&hmac_sha256(key.as_bytes(), body))
    );
    hex(&hmac_sha256(key.as_bytes(), canonical.as_bytes()))
}

/// The `Body-Sign` header of an answer: `sign_type="HMAC-SHA256", signature="base64(…)"`.
pub fn answer_body_sign(key: &str, body: &[u8]) -> String {
    format!(
        "sign_type=\"HMAC-SHA256\", signature=\"{}\"",
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), body))
    )
}

/// The result codes of KooGallery's SaaS interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    Success,
    AuthenticationFailed,
    InvalidParameter,
    InstanceNotFound,
    Internal,
}

impl ResultCode {
    pub fn code(self) -> &'static str {
        match self {
            ResultCode::Success => "000000",
            ResultCode::AuthenticationFailed => "000001",
            ResultCode::InvalidParameter => "000002",
            ResultCode::InstanceNotFound => "000003",
            ResultCode::Internal => "000005",
        }
    }

    /// The HTTP status answered with it (KooGallery reads the body; a proxy or a log reads this).
    pub fn http_status(self) -> u16 {
        match self {
            ResultCode::Success => 200,
            ResultCode::AuthenticationFailed => 403,
            ResultCode::InvalidParameter => 400,
            ResultCode::InstanceNotFound => 404,
            ResultCode::Internal => 500,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HuaweiError {
    #[error("the signature is missing or wrong")]
    BadSignature,
    #[error("the timestamp is missing or more than 60 seconds from now")]
    Stale,
    #[error("this nonce was used already")]
    Replayed,
    #[error("the body is not a JSON object")]
    NotJson,
    #[error("unknown activity '{0}'")]
    UnknownActivity(String),
    #[error("'{0}' is missing")]
    Missing(&'static str),
    #[error("'{name}' is not valid: {value}")]
    Invalid { name: &'static str, value: String },
}

impl HuaweiError {
    pub fn result_code(&self) -> ResultCode {
        match self {
            HuaweiError::BadSignature | HuaweiError::Stale | HuaweiError::Replayed => {
                ResultCode::AuthenticationFailed
            }
            _ => ResultCode::InvalidParameter,
        }
    }
}

/// Checks a call's signature and timestamp; nothing is read from the body before this passes.
/// (The nonce is checked against those already taken by [`Store::take_marketplace_nonce`].)
pub fn verify(
    key: &str,
    signature: Option<&str>,
    timestamp: Option<&str>,
    nonce: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), HuaweiError> {
    let (Some(signature), Some(timestamp), Some(nonce)) = (signature, timestamp, nonce) else {
        return Err(HuaweiError::BadSignature);
    };
    // The signed text joins nonce and timestamp without a separator: a digit moved from one to
    // the other would sign the same. KooGallery's nonce is letters and digits, its timestamp 13
    // digits without a leading zero, so neither can take a digit from the other.
    if !(16..=128).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(HuaweiError::BadSignature);
    }
    if timestamp.len() != 13
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
        || timestamp.starts_with('0')
    {
        return Err(HuaweiError::Stale);
    }
    let expected = body_signature(key, nonce, timestamp, body);
    if !crate::auth::constant_time_eq(
        signature.to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    ) {
        return Err(HuaweiError::BadSignature);
    }
    let millis: i64 = timestamp.parse().map_err(|_| HuaweiError::Stale)?;
    if (now.timestamp_millis() - millis).abs() > TIMESTAMP_WINDOW_MS {
        return Err(HuaweiError::Stale);
    }
    Ok(())
}

/// A verified call, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HuaweiCall {
    /// A new subscription: its order is read with Query Order.
    New {
        order_id: String,
        order_line_id: String,
    },
    /// Renewed (or a trial turned paid) until `valid_until`.
    Refresh {
        instance_id: String,
        valid_until: Option<DateTime<Utc>>,
    },
    Freeze {
        instance_id: String,
    },
    Unfreeze {
        instance_id: String,
    },
    Release {
        instance_id: String,
    },
    /// A new specification: nothing changes for pay-as-you-go settlement.
    Upgrade {
        instance_id: String,
    },
    Query {
        instance_ids: Vec<String>,
    },
}

fn text(body: &Value, name: &'static str) -> Result<String, HuaweiError> {
    match body.get(name) {
        Some(Value::String(v)) if !v.is_empty() => {
            if v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(v.clone())
            } else {
                Err(HuaweiError::Invalid {
                    name,
                    value: v.chars().take(40).collect(),
                })
            }
        }
        None | Some(Value::Null) => Err(HuaweiError::Missing(name)),
        Some(Value::String(_)) => Err(HuaweiError::Missing(name)),
        Some(other) => Err(HuaweiError::Invalid {
            name,
            value: other.to_string().chars().take(40).collect(),
        }),
    }
}

/// `expireTime`: UTC, `yyyyMMddHHmmss` (the documentation) or with milliseconds (its example).
pub fn expire_time(value: &str) -> Result<DateTime<Utc>, HuaweiError> {
    let invalid = || HuaweiError::Invalid {
        name: "expireTime",
        value: value.chars().take(40).collect(),
    };
    if !matches!(value.len(), 14 | 17) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    NaiveDateTime::parse_from_str(&value[..14], "%Y%m%d%H%M%S")
        .map(|t| t.and_utc())
        .map_err(|_| invalid())
}

/// Reads a verified body.
pub fn parse(body: &[u8]) -> Result<HuaweiCall, HuaweiError> {
    let body: Value = serde_json::from_slice(body).map_err(|_| HuaweiError::NotJson)?;
    if !body.is_object() {
        return Err(HuaweiError::NotJson);
    }
    let activity = text(&body, "activity")?;
    Ok(match activity.as_str() {
        "newInstance" => HuaweiCall::New {
            order_id: text(&body, "orderId")?,
            order_line_id: text(&body, "orderLineId")?,
        },
        "refreshInstance" => HuaweiCall::Refresh {
            instance_id: text(&body, "instanceId")?,
            valid_until: Some(expire_time(&text(&body, "expireTime")?)?),
        },
        "updateInstanceStatus" => {
            let instance_id = text(&body, "instanceId")?;
            match text(&body, "status")?.as_str() {
                "FREEZE" => HuaweiCall::Freeze { instance_id },
                "UNFREEZE" => HuaweiCall::Unfreeze { instance_id },
                other => {
                    return Err(HuaweiError::Invalid {
                        name: "status",
                        value: other.chars().take(40).collect(),
                    });
                }
            }
        }
        "releaseInstance" => HuaweiCall::Release {
            instance_id: text(&body, "instanceId")?,
        },
        "upgradeInstance" => HuaweiCall::Upgrade {
            instance_id: text(&body, "instanceId")?,
        },
        "queryInstance" => {
            let ids = match body.get("instanceId") {
                Some(Value::String(ids)) if !ids.is_empty() => ids.clone(),
                _ => return Err(HuaweiError::Missing("instanceId")),
            };
            let instance_ids: Vec<String> = ids.split(',').map(|s| s.trim().to_owned()).collect();
            if instance_ids.len() > 100 || instance_ids.iter().any(|i| i.is_empty()) {
                return Err(HuaweiError::Invalid {
                    name: "instanceId",
                    value: ids.chars().take(40).collect(),
                });
            }
            HuaweiCall::Query { instance_ids }
        }
        other => {
            return Err(HuaweiError::UnknownActivity(
                other.chars().take(40).collect(),
            ));
        }
    })
}

/// APIG `SDK-HMAC-SHA256` signing (Huawei Cloud's AK/SK authentication): the canonical request
/// (method, path ending in `/`, sorted query, lower-case headers, signed header names, hex
/// SHA-256 of the body), the string to sign (`SDK-HMAC-SHA256`, `X-Sdk-Date`, hex SHA-256 of
/// the canonical request), and hex HMAC-SHA256 under the secret key.
pub mod apig {
    use super::{hex, hmac_sha256};
    use sha2::{Digest, Sha256};

    fn encode(text: &str) -> String {
        crate::cloud::metering::percent_encode(text)
    }

    /// `headers`: (lower-case name, value), every header signed.
    pub fn canonical_request(
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        body: &[u8],
    ) -> String {
        let mut path: String = path.split('/').map(encode).collect::<Vec<_>>().join("/");
        if !path.ends_with('/') {
            path.push('/');
        }
        let mut query: Vec<(String, String)> =
            query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
        query.sort();
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        headers.sort();
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed = signed_headers(&headers);
        format!(
            "{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{}",
            hex(&Sha256::digest(body))
        )
    }

    pub fn signed_headers(headers: &[(String, String)]) -> String {
        let mut names: Vec<String> = headers
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        names.sort();
        names.join(";")
    }

    pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
        format!(
            "SDK-HMAC-SHA256\n{sdk_date}\n{}",
            hex(&Sha256::digest(canonical_request.as_bytes()))
        )
    }

    pub fn signature(secret: &str, string_to_sign: &str) -> String {
        hex(&hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
    }

    /// The `Authorization` header.
    pub fn authorization(access_key: &str, signed_headers: &str, signature: &str) -> String {
        format!(
            "SDK-HMAC-SHA256 Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    /// Reads an `Authorization` header back: (access key, signed headers, signature).
    pub fn parse_authorization(header: &str) -> Option<(String, Vec<String>, String)> {
        let rest = header.strip_prefix("SDK-HMAC-SHA256 ")?;
        let (mut access, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            match name {
                "Access" => access = Some(value.to_owned()),
                "SignedHeaders" => {
                    signed = Some(value.split(';').map(str::to_owned).collect::<Vec<_>>())
                }
                "Signature" => signature = Some(value.to_owned()),
                _ => return None,
            }
        }
        Some((access?, signed?, signature?))
    }
}

/// Where and as whom Billing Center talks to KooGallery: `HUAWEI_MARKET_KEY` (the interface's
/// access key; it also signs usage pushes), `HUAWEI_ACCESS_KEY_ID`/`HUAWEI_ACCESS_KEY_SECRET`
/// (AK/SK for Query Order), `HUAWEI_MARKET_ENDPOINT` (default `https://mkt.myhuaweicloud.com`).
#[derive(Clone)]
pub struct HuaweiMarket {
    pub endpoint: String,
    pub market_key: String,
    pub access_key_id: String,
    pub access_key_secret: String,
}

impl std::fmt::Debug for HuaweiMarket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuaweiMarket")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

pub const QUERY_ORDER_PATH: &str = "/api/mkp-openapi-public/global/v1/order/query";
pub const USAGE_DATA_PATH: &str = "/api/mkp-openapi-public/global/v1/isv/usage-data";

/// What Query Order says of a new order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuaweiOrder {
    pub customer_id: String,
    pub product_id: String,
    pub expire_time: Option<DateTime<Utc>>,
}

/// Reads Query Order's answer: `orderInfo.buyerInfo.customerId` and the order line's product
/// and expiry.
pub fn read_order(answer: &Value, order_line_id: &str) -> Result<HuaweiOrder, String> {
    if answer["resultCode"] != Value::String("MKT.0000".into()) {
        return Err(format!(
            "Query Order answered {}",
            answer.to_string().chars().take(300).collect::<String>()
        ));
    }
    let info = &answer["orderInfo"];
    let customer_id = info["buyerInfo"]["customerId"]
        .as_str()
        .filter(|c| !c.is_empty())
        .ok_or("Query Order named no buyerInfo.customerId")?
        .to_owned();
    let line = info["orderLine"]
        .as_array()
        .and_then(|lines| {
            lines
                .iter()
                .find(|l| l["orderLineId"].as_str() == Some(order_line_id))
        })
        .ok_or("Query Order has no such order line")?;
    let product_id = line["productInfo"]
        .as_array()
        .and_then(|p| p.first())
        .and_then(|p| p["productId"].as_str())
        .unwrap_or_default()
        .to_owned();
    let expire_time = match line["expireTime"].as_str() {
        Some(t) if !t.is_empty() => Some(expire_time(t).map_err(|e| e.to_string())?),
        _ => None,
    };
    Ok(HuaweiOrder {
        customer_id,
        product_id,
        expire_time,
    })
}

fn sdk_date(now: DateTime<Utc>) -> String {
    now.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The usage-data push's signature: base64(HMAC-SHA256(key, `ts={ts}&nonce={nonce}&body={body}`)).
pub fn usage_signature(key: &str, ts: &str, nonce: &str, body: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(
        key.as_bytes(),
        format!("ts={ts}&nonce={nonce}&body={body}").as_bytes(),
    ))
}

/// The usage record of one metering record: the usage day (00:00 to 24:00 in the settlement
/// timezone, written in UTC as `yyyyMMdd'T'HHmmss'Z'`), the amount in fen as the usage value
/// (the KooGallery product is priced at 0.01 yuan per unit), `metering_sn` = `bc-{id}`.
pub fn usage_body(
    record: &super::metering::DueMetering,
    timezone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> String {
    let start = day_start(record.usage_day, timezone);
    let end = start + chrono::Duration::days(1);
    let at = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    // Keys in natural (sorted) order: the body is signed as sent.
    serde_json::json!({"usage_records": [{
        "begin_time": at(start),
        "end_time": at(end),
        "instance_id": record.instance_id,
        "metering_sn": format!("bc-{}", record.id),
        "record_time": at(now),
        "usage_value": record.amount_fen.to_string(),
    }]})
    .to_string()
}

fn day_start(day: NaiveDate, timezone: chrono_tz::Tz) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(timezone).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl HuaweiMarket {
    /// Reads an order line with Query Order (AK/SK signed).
    pub async fn query_order(
        &self,
        order_id: &str,
        order_line_id: &str,
        now: DateTime<Utc>,
    ) -> Result<HuaweiOrder, String> {
        let url = reqwest::Url::parse(&format!(
            "{}{QUERY_ORDER_PATH}",
            self.endpoint.trim_end_matches('/')
        ))
        .map_err(|e| format!("HUAWEI_MARKET_ENDPOINT: {e}"))?;
        let query = vec![
            ("orderId".to_owned(), order_id.to_owned()),
            ("orderLineId".to_owned(), order_line_id.to_owned()),
        ];
        let date = sdk_date(now);
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let headers = vec![
            ("host".to_owned(), host),
            ("x-sdk-date".to_owned(), date.clone()),
        ];
        let canonical = apig::canonical_request("GET", url.path(), &query, &headers, b"");
        let signature = apig::signature(
            &self.access_key_secret,
            &apig::string_to_sign(&date, &canonical),
        );
        let answer = reqwest::Client::new()
            .get(url.clone())
            .query(&query)
            .header("X-Sdk-Date", &date)
            .header(
                "Authorization",
                apig::authorization(
                    &self.access_key_id,
                    &apig::signed_headers(&headers),
                    &signature,
                ),
            )
            .timeout(std::time::Duration::from_secs(3))
            .send()
            .await
            .map_err(|e| format!("cannot reach KooGallery's Query Order: {e}"))?;
        let body: Value = serde_json::from_str(&answer.text().await.unwrap_or_default())
            .map_err(|_| "Query Order did not answer JSON".to_owned())?;
        read_order(&body, order_line_id)
    }

    /// Pushes one metering record; `Err` says why (the worker retries; `metering_sn` makes a
    /// repeat count once).
    pub async fn push(
        &self,
        record: &super::metering::DueMetering,
        timezone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let body = usage_body(record, timezone, now);
        let ts = now.timestamp_millis().to_string();
        let nonce = crate::auth::random_token(16);
        let url = format!("{}{USAGE_DATA_PATH}", self.endpoint.trim_end_matches('/'));
        let answer = reqwest::Client::new()
            .post(&url)
            .header("Content-Type", "application/json;charset=utf8")
            .header(
                "signature",
                usage_signature(&self.market_key, &ts, &nonce, &body),
            )
            .header("ts", &ts)
            .header("nonce", &nonce)
            .body(body)
            .timeout(std::time::Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or_default();
        if status.is_success() && json["error_code"] == Value::String("MKT.0000".into()) {
            Ok(())
        } else {
            Err(format!(
                "usage-data answered {status}: {}",
                text.chars().take(300).collect::<String>()
            ))
        }
    }
}

/// What the interface answers.
#[derive(Debug, Clone, PartialEq)]
pub enum HuaweiAnswer {
    Instance(String),
    Done,
    /// queryInstance: the instances known, with where the buyer goes.
    Instances(Vec<String>),
}

impl Store {
    /// Takes a marketplace's nonce (or SNS message id) once, kept two hours: far past KooGallery's
    /// 60-second window and the hour an SNS message is taken;
    /// `false` if it was taken before: the call is a replay.
    pub async fn take_marketplace_nonce(
        &self,
        cloud: Cloud,
        nonce: &str,
    ) -> Result<bool, sqlx::Error> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM marketplace_nonces WHERE seen_at < $1")
            .bind(crate::time::to_micros(now - chrono::Duration::hours(2)))
            .execute(&mut *tx)
            .await?;
        let taken = sqlx::query(
            "INSERT INTO marketplace_nonces (cloud, nonce, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (cloud, nonce) DO NOTHING",
        )
        .bind(cloud.code())
        .bind(nonce)
        .bind(crate::time::to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(taken == 1)
    }

    /// Gives a nonce back (its call failed before it changed anything; the marketplace retries).
    pub async fn release_marketplace_nonce(
        &self,
        cloud: Cloud,
        nonce: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM marketplace_nonces WHERE cloud = $1 AND nonce = $2")
            .bind(cloud.code())
            .bind(nonce)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The instance already answered for a marketplace order, if any.
    pub async fn subscription_for_order(
        &self,
        cloud: Cloud,
        order_ref: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT instance_id FROM cloud_subscriptions WHERE cloud = $1 AND order_ref = $2",
        )
        .bind(cloud.code())
        .bind(order_ref)
        .fetch_optional(self.pool())
        .await
    }

    /// Carries out a verified call. A new instance already created answers the same instance
    /// without asking KooGallery again; otherwise its order is read with Query Order (an error
    /// there is `Err(Internal)`: KooGallery retries).
    pub async fn huawei_activity(
        &self,
        call: &HuaweiCall,
        market: &HuaweiMarket,
    ) -> Result<HuaweiAnswer, HuaweiFailure> {
        Ok(match call {
            HuaweiCall::New {
                order_id,
                order_line_id,
            } => {
                let order_ref = format!("{order_id}/{order_line_id}");
                if let Some(instance) = self
                    .subscription_for_order(Cloud::Huawei, &order_ref)
                    .await?
                {
                    return Ok(HuaweiAnswer::Instance(instance));
                }
                let order = market
                    .query_order(order_id, order_line_id, self.now())
                    .await
                    .map_err(HuaweiFailure::Upstream)?;
                HuaweiAnswer::Instance(
                    self.create_subscription(&NewSubscription {
                        cloud: Cloud::Huawei,
                        cloud_account_id: order.customer_id,
                        order_ref,
                        product_code: order.product_id,
                        sku_id: String::new(),
                        valid_until: order.expire_time,
                    })
                    .await?,
                )
            }
            HuaweiCall::Refresh {
                instance_id,
                valid_until,
            } => {
                // KooGallery's calls are signed with a nonce and a timestamp, so its date is taken
                // as it is, earlier too (a renewal period unsubscribed).
                self.set_subscription_date(Cloud::Huawei, instance_id, *valid_until)
                    .await?;
                HuaweiAnswer::Done
            }
            HuaweiCall::Freeze { instance_id } => {
                self.end_subscription(Cloud::Huawei, instance_id, SubscriptionStatus::Expired)
                    .await?;
                HuaweiAnswer::Done
            }
            HuaweiCall::Unfreeze { instance_id } => {
                self.reactivate_subscription(Cloud::Huawei, instance_id)
                    .await?;
                HuaweiAnswer::Done
            }
            HuaweiCall::Release { instance_id } => {
                self.end_subscription(Cloud::Huawei, instance_id, SubscriptionStatus::Released)
                    .await?;
                HuaweiAnswer::Done
            }
            HuaweiCall::Upgrade { instance_id } => {
                // Nothing to change for pay-as-you-go, but the instance must exist.
                self.renew_subscription(Cloud::Huawei, instance_id, None)
                    .await?;
                HuaweiAnswer::Done
            }
            HuaweiCall::Query { instance_ids } => {
                let mut known = Vec::new();
                for id in instance_ids {
                    let exists: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM cloud_subscriptions WHERE cloud = 'huawei' AND instance_id = $1",
                    )
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
                    if exists.is_some() {
                        known.push(id.clone());
                    }
                }
                HuaweiAnswer::Instances(known)
            }
        })
    }
}

/// Why a verified call was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum HuaweiFailure {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("Query Order failed: {0}")]
    Upstream(String),
}

impl From<sqlx::Error> for HuaweiFailure {
    fn from(e: sqlx::Error) -> Self {
        HuaweiFailure::Cloud(CloudError::Database(e))
    }
}

impl HuaweiFailure {
    pub fn result_code(&self) -> ResultCode {
        match self {
            HuaweiFailure::Cloud(CloudError::InstanceNotFound(_)) => ResultCode::InstanceNotFound,
            HuaweiFailure::Cloud(CloudError::InvalidField { .. }) => ResultCode::InvalidParameter,
            _ => ResultCode::Internal,
        }
    }
}

/// A request as received, for [`apig_verify`].
#[derive(Debug, Clone, Copy)]
pub struct ApigRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    /// Every header received (name, value); the signed ones are picked by name.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The sandbox's check of a Query Order call: the AK/SK signature over what was received.
pub fn apig_verify(
    access_key_id: &str,
    secret: &str,
    request: &ApigRequest<'_>,
    authorization: &str,
) -> bool {
    let ApigRequest {
        method,
        path,
        query,
        headers,
        body,
    } = *request;
    let Some((access, signed, signature)) = apig::parse_authorization(authorization) else {
        return false;
    };
    if access != access_key_id {
        return false;
    }
    let mut picked = Vec::new();
    for name in &signed {
        match headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(h) => picked.push(h.clone()),
            None => return false,
        }
    }
    let Some((_, date)) = picked
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-sdk-date"))
    else {
        return false;
    };
    let canonical = apig::canonical_request(method, path, query, &picked, body);
    crate::auth::constant_time_eq(
        signature.as_bytes(),
        apig::signature(secret, &apig::string_to_sign(date, &canonical)).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KooGallery's documented example body, nonce and timestamp; its page does not publish the
    /// key, so the signature under the key `test-access-key` was computed independently
    /// (`openssl dgst -sha256 -hmac`, twice) and is pinned here.
    const BODY: &str = r#"{"activity":"newInstance","businessId":"87b94795-0603-4e24-8ae5-69420d60e3c8","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}"#;
    const NONCE: &str = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA";
    const TIMESTAMP: &str = "1680508066618";

    #[test]
    fn the_body_signature_is_koogallerys_rule() {
        assert_eq!(
            body_signature("test-access-key", NONCE, TIMESTAMP, BODY.as_bytes()),
            OPENSSL_SIGNATURE
        );
    }

    const OPENSSL_SIGNATURE: &str =
        "271544acdac82601d0a6615631c4db54120d5ea32fc968493c8064281e125c7a";

    #[test]
    fn a_call_is_verified_before_it_is_read() {
        let at = DateTime::from_timestamp_millis(1_680_508_066_618 + 30_000).unwrap();
        let signature = body_signature("k", NONCE, TIMESTAMP, BODY.as_bytes()).to_uppercase();
        let ok = |sig: &str, ts: &str, body: &str, now| {
            verify("k", Some(sig), Some(ts), Some(NONCE), body.as_bytes(), now)
        };
        assert_eq!(ok(&signature, TIMESTAMP, BODY, at), Ok(()));
        assert_eq!(
            ok(&signature, TIMESTAMP, &BODY.replace("LVS\"", "LVT\""), at),
            Err(HuaweiError::BadSignature)
        );
        assert_eq!(
            verify(
                "other",
                Some(&signature),
                Some(TIMESTAMP),
                Some(NONCE),
                BODY.as_bytes(),
                at
            ),
            Err(HuaweiError::BadSignature)
        );
        assert_eq!(
            verify("k", None, Some(TIMESTAMP), Some(NONCE), BODY.as_bytes(), at),
            Err(HuaweiError::BadSignature)
        );
        // A nonce ending in a digit moved to the front of the timestamp signs the same text:
        // refused, so a captured call is not taken twice.
        let shifted_nonce = &NONCE[..NONCE.len() - 1];
        let shifted_timestamp = format!("{}{TIMESTAMP}", &NONCE[NONCE.len() - 1..]);
        assert_eq!(
            body_signature("k", shifted_nonce, &shifted_timestamp, BODY.as_bytes()).to_uppercase(),
            signature,
            "the same signed text"
        );
        assert!(
            verify(
                "k",
                Some(&signature),
                Some(&shifted_timestamp),
                Some(shifted_nonce),
                BODY.as_bytes(),
                at
            )
            .is_err()
        );
        let late = at + chrono::Duration::seconds(31);
        assert_eq!(
            ok(&signature, TIMESTAMP, BODY, late),
            Err(HuaweiError::Stale)
        );
        assert_eq!(
            parse(BODY.as_bytes()),
            Ok(HuaweiCall::New {
                order_id: "CS2211181819B4LVS".into(),
                order_line_id: "CS2211181819B4LVS-000001".into()
            })
        );
    }

    #[test]
    fn the_activities_are_read_as_documented() {
        let refresh = r#"{"activity":"refreshInstance","expireTime":"20221124023618256","instanceId":"i-1","orderId":"o","orderLineId":"o-1","productId":"p","scene":"RENEWAL","testFlag":"1"}"#;
        assert_eq!(
            parse(refresh.as_bytes()),
            Ok(HuaweiCall::Refresh {
                instance_id: "i-1".into(),
                valid_until: Some("2022-11-24T02:36:18Z".parse().unwrap())
            })
        );
        let freeze = r#"{"activity":"updateInstanceStatus","instanceId":"i-1","status":"FREEZE"}"#;
        assert_eq!(
            parse(freeze.as_bytes()),
            Ok(HuaweiCall::Freeze {
                instance_id: "i-1".into()
            })
        );
        assert!(matches!(
            parse(br#"{"activity":"updateInstanceStatus","instanceId":"i-1","status":"MELT"}"#),
            Err(HuaweiError::Invalid { name: "status", .. })
        ));
        assert_eq!(
            parse(br#"{"activity":"releaseInstance"}"#),
            Err(HuaweiError::Missing("instanceId"))
        );
        assert_eq!(
            parse(br#"{"activity":"deleteEverything"}"#),
            Err(HuaweiError::UnknownActivity("deleteEverything".into()))
        );
        assert_eq!(parse(b"[1]"), Err(HuaweiError::NotJson));
        assert_eq!(
            parse(br#"{"activity":"queryInstance","instanceId":"a,b"}"#),
            Ok(HuaweiCall::Query {
                instance_ids: vec!["a".into(), "b".into()]
            })
        );
        assert!(expire_time("2022112402361").is_err());
        assert!(
            expire_time("2022112402361é").is_err(),
            "not sliced inside a character"
        );
        assert!(expire_time("2022-11-24 02:3").is_err());
    }

    fn request<'a>(
        query: &'a [(String, String)],
        headers: &'a [(String, String)],
    ) -> ApigRequest<'a> {
        ApigRequest {
            method: "GET",
            path: QUERY_ORDER_PATH,
            query,
            headers,
            body: b"",
        }
    }

    #[test]
    fn query_order_is_signed_with_ak_sk() {
        let query = vec![
            ("orderLineId".to_owned(), "o-1".to_owned()),
            ("orderId".to_owned(), "o".to_owned()),
        ];
        let headers = vec![
            ("host".to_owned(), "mkt.myhuaweicloud.com".to_owned()),
            ("x-sdk-date".to_owned(), "20261207T103000Z".to_owned()),
        ];
        let canonical = apig::canonical_request("GET", QUERY_ORDER_PATH, &query, &headers, b"");
        assert_eq!(
            canonical,
            "GET\n/api/mkp-openapi-public/global/v1/order/query/\norderId=o&orderLineId=o-1\nhost:mkt.myhuaweicloud.com\nx-sdk-date:20261207T103000Z\n\nhost;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let signature =
            apig::signature("sk", &apig::string_to_sign("20261207T103000Z", &canonical));
        let authorization = apig::authorization("ak", "host;x-sdk-date", &signature);
        assert!(apig_verify(
            "ak",
            "sk",
            &request(&query, &headers),
            &authorization
        ));
        assert!(!apig_verify(
            "ak",
            "other",
            &request(&query, &headers),
            &authorization
        ));
        let mut tampered = query.clone();
        tampered[1].1 = "o2".into();
        assert!(!apig_verify(
            "ak",
            "sk",
            &request(&tampered, &headers),
            &authorization
        ));
    }

    #[test]
    fn a_usage_record_names_the_day_and_its_serial() {
        let record = super::super::metering::DueMetering {
            id: 42,
            cloud: Cloud::Huawei,
            instance_id: "bc-huawei-x".into(),
            usage_day: "2026-10-31".parse().unwrap(),
            amount_fen: 1500,
            attempt: 1,
            created_at: "2026-11-01T00:00:05Z".parse().unwrap(),
            customer: Default::default(),
            meter_timestamp: None,
        };
        let now = "2026-11-01T00:00:05Z".parse().unwrap();
        let body = usage_body(&record, chrono_tz::Asia::Shanghai, now);
        assert_eq!(
            body,
            r#"{"usage_records":[{"begin_time":"20261030T160000Z","end_time":"20261031T160000Z","instance_id":"bc-huawei-x","metering_sn":"bc-42","record_time":"20261101T000005Z","usage_value":"1500"}]}"#
        );
        let signature = usage_signature("k", "1700000000000", "n", &body);
        assert_eq!(signature, USAGE_SIGNATURE);
    }

    /// `openssl dgst -sha256 -hmac k -binary | base64` of the same text.
    const USAGE_SIGNATURE: &str = "vVAcDNo3G+NGwDAScRs8m1u6oJTWQM1LC1Fm+hOhcuI=";
}

/// An order the marketplace sandbox made (what its Query Order answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOrder {
    pub order_id: String,
    pub order_line_id: String,
    pub customer_id: String,
    pub product_id: String,
    /// `yyyyMMddHHmmss`, UTC.
    pub expire_time: String,
}

impl SandboxOrder {
    /// Query Order's answer for it.
    pub fn answer(&self) -> Value {
        serde_json::json!({
            "resultCode": "MKT.0000",
            "resultMsg": "success",
            "orderInfo": {
                "orderId": self.order_id,
                "orderType": "NEW",
                "buyerInfo": {"customerId": self.customer_id},
                "orderLine": [{
                    "orderLineId": self.order_line_id,
                    "chargingMode": "ON_DEMAND",
                    "expireTime": self.expire_time,
                    "productInfo": [{"productId": self.product_id}],
                }],
            },
        })
    }
}

impl Store {
    /// The sandbox records an order (KooGallery) or a registration token (AWS, as `order_id`).
    pub async fn sandbox_create_order(
        &self,
        cloud: Cloud,
        order: &SandboxOrder,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sandbox_orders (cloud, order_id, order_line_id, customer_id, product_id, expire_time, created_at) \
             VALUES ($7, $1, $2, $3, $4, $5, $6)",
        )
        .bind(&order.order_id)
        .bind(&order.order_line_id)
        .bind(&order.customer_id)
        .bind(&order.product_id)
        .bind(&order.expire_time)
        .bind(crate::time::to_micros(self.now()))
        .bind(cloud.code())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn sandbox_order(
        &self,
        cloud: Cloud,
        order_id: &str,
        order_line_id: &str,
    ) -> Result<Option<SandboxOrder>, sqlx::Error> {
        let row: Option<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT order_id, order_line_id, customer_id, product_id, expire_time FROM sandbox_orders \
             WHERE cloud = $3 AND order_id = $1 AND order_line_id = $2",
        )
        .bind(order_id)
        .bind(order_line_id)
        .bind(cloud.code())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(order_id, order_line_id, customer_id, product_id, expire_time)| SandboxOrder {
                order_id,
                order_line_id,
                customer_id,
                product_id,
                expire_time,
            },
        ))
    }
}
