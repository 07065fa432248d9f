//! Pushing what the clouds paid to the marketplaces. A cloud-settled bill's cloud part is a
//! `cloud_metering` row written in the bill's transaction; a worker in every process claims due
//! rows (PostgreSQL `FOR UPDATE SKIP LOCKED`, a lease), pushes them, and records the outcome:
//! retried with backoff (capped at a minute) until the marketplace takes them, never lost.
//!
//! Alibaba Cloud Marketplace: `PushMeteringData` (API 2015-11-01, RPC style, HMAC-SHA1 signature
//! v1), one record per bill: the instance, the usage day as `StartTime`/`EndTime` (Unix seconds,
//! the day in the settlement timezone), and one entity, `ALIYUN_METERING_KEY` (default `Unit`),
//! whose value is the amount in fen: the marketplace product is priced at 0.01 yuan per unit.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sqlx::Row;

use crate::store::{Backend, Store};
use crate::time::to_micros;

/// RFC 3986 percent-encoding as Alibaba's RPC signature wants it: unreserved characters stay,
/// everything else is `%XY` of its UTF-8 bytes (a space is `%20`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `METHOD&%2F&percentEncode(canonicalized query)`, every parameter but `Signature`, sorted.
pub fn rpc_string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical = params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical)
    )
}

/// Base64 of HMAC-SHA1 with `secret&` as the key.
pub fn rpc_signature(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(rpc_string_to_sign(method, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `params` carry a right `Signature` for `secret` (what the sandbox checks).
pub fn verify_rpc(method: &str, params: &BTreeMap<String, String>, secret: &str) -> bool {
    let Some(sent) = params.get("Signature") else {
        return false;
    };
    crate::auth::constant_time_eq(
        sent.as_bytes(),
        rpc_signature(method, params, secret).as_bytes(),
    )
}

/// Where and as whom metering is pushed to Alibaba (`ALIYUN_ACCESS_KEY_ID`,
/// `ALIYUN_ACCESS_KEY_SECRET`, `ALIYUN_MARKET_ENDPOINT`, `ALIYUN_METERING_KEY`).
#[derive(Clone)]
pub struct AliyunMetering {
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub metering_key: String,
}

impl std::fmt::Debug for AliyunMetering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunMetering")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where metering is pushed, per marketplace (`None`: not configured; its records wait).
#[derive(Debug, Clone, Default)]
pub struct MeteringTargets {
    pub aliyun: Option<AliyunMetering>,
    pub huawei: Option<super::huawei::HuaweiMarket>,
    pub aws: Option<super::aws::AwsMarketplace>,
}

/// Why a record was not pushed. A permanent failure (the marketplace refused it for good: past
/// its window, the customer not subscribed) is tried again only hourly, waiting for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushFailure {
    pub message: String,
    pub permanent: bool,
}

impl PushFailure {
    pub fn retry(message: impl Into<String>) -> PushFailure {
        PushFailure {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> PushFailure {
        PushFailure {
            message: message.into(),
            permanent: true,
        }
    }
}

pub type PushOutcome = Result<(), PushFailure>;

/// Who AWS meters (from the subscription): `CustomerAWSAccountId` with `LicenseArn`, or the
/// legacy `CustomerIdentifier`. Empty for the other clouds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeteredCustomer {
    pub customer_identifier: Option<String>,
    pub customer_aws_account_id: Option<String>,
    pub license_arn: Option<String>,
}

/// One metering record to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMetering {
    pub id: i64,
    pub cloud: super::Cloud,
    pub instance_id: String,
    pub usage_day: NaiveDate,
    pub amount_fen: i64,
    pub attempt: i64,
    pub created_at: DateTime<Utc>,
    pub customer: MeteredCustomer,
    /// AWS: the record's `Timestamp`, assigned once (the same on every attempt, so AWS counts a
    /// repeat once), one second apart per subscription, never before the subscription began.
    pub meter_timestamp: Option<i64>,
}

impl AliyunMetering {
    /// The signed form of a `PushMeteringData` call for `record`.
    pub fn request(
        &self,
        record: &DueMetering,
        timezone: chrono_tz::Tz,
        now: DateTime<Utc>,
        nonce: &str,
    ) -> BTreeMap<String, String> {
        let start = record
            .usage_day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(timezone).earliest())
            .map(|t| t.timestamp())
            .unwrap_or_default();
        let end = start + 24 * 3600;
        let metering = serde_json::json!([{
            "InstanceId": record.instance_id,
            "StartTime": start,
            "EndTime": end,
            "Entities": [{"Key": self.metering_key, "Value": record.amount_fen.to_string()}],
        }]);
        let mut params: BTreeMap<String, String> = [
            ("AccessKeyId", self.access_key_id.clone()),
            ("Action", "PushMeteringData".to_owned()),
            ("Format", "JSON".to_owned()),
            ("Metering", metering.to_string()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureNonce", nonce.to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("Timestamp", now.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("Version", "2015-11-01".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let signature = rpc_signature("POST", &params, &self.access_key_secret);
        params.insert("Signature".to_owned(), signature);
        params
    }

    /// Pushes one record; `Err` says why (the worker retries).
    pub async fn push(
        &self,
        record: &DueMetering,
        timezone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let params = self.request(record, timezone, now, &crate::auth::random_token(16));
        let answer = reqwest::Client::new()
            .post(&self.endpoint)
            .timeout(std::time::Duration::from_secs(15))
            .form(&params)
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.endpoint))?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if status.is_success() && json["Success"] == serde_json::Value::Bool(true) {
            Ok(())
        } else {
            Err(format!(
                "PushMeteringData answered {status}: {}",
                body.chars().take(300).collect::<String>()
            ))
        }
    }
}

impl Store {
    /// Claims up to `limit` metering records due now, for `lease`.
    pub async fn claim_metering(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<DueMetering>, sqlx::Error> {
        let now = self.now();
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM cloud_metering WHERE pushed_at IS NULL AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(to_micros(now))
        .fetch_optional(self.pool())
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF m SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT m.id, m.usage_day, m.amount_fen, m.attempts, m.created_at, m.meter_timestamp, \
             m.subscription_id, s.cloud, s.instance_id, s.cloud_account_id, s.order_ref, s.sku_id, \
             s.created_at AS subscribed_at \
             FROM cloud_metering m JOIN cloud_subscriptions s ON s.id = m.subscription_id \
             WHERE m.pushed_at IS NULL AND m.next_attempt_at <= $1 ORDER BY m.next_attempt_at, m.id LIMIT $2{lock}"
        ))
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            sqlx::query("UPDATE cloud_metering SET next_attempt_at = $1, attempts = attempts + 1 WHERE id = $2")
                .bind(to_micros(now + lease))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let Some(cloud) = super::Cloud::from_code(&row.try_get::<String, _>("cloud")?) else {
                continue;
            };
            let customer = if cloud == super::Cloud::Aws {
                let license: String = row.try_get("sku_id")?;
                let order_ref: String = row.try_get("order_ref")?;
                if license.is_empty() {
                    MeteredCustomer {
                        customer_identifier: order_ref.split_once('/').map(|(_, c)| c.to_owned()),
                        ..MeteredCustomer::default()
                    }
                } else {
                    MeteredCustomer {
                        customer_identifier: None,
                        customer_aws_account_id: Some(row.try_get("cloud_account_id")?),
                        license_arn: Some(license),
                    }
                }
            } else {
                MeteredCustomer::default()
            };
            let mut meter_timestamp: Option<i64> = row.try_get("meter_timestamp")?;
            if cloud == super::Cloud::Aws && meter_timestamp.is_none() {
                let subscription: i64 = row.try_get("subscription_id")?;
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(meter_timestamp) FROM cloud_metering WHERE subscription_id = $1",
                )
                .bind(subscription)
                .fetch_one(&mut *tx)
                .await?;
                let created = crate::time::from_micros(row.try_get("created_at")?).timestamp();
                let subscribed =
                    crate::time::from_micros(row.try_get("subscribed_at")?).timestamp();
                let second = created.max(subscribed).max(last.map_or(0, |l| l + 1));
                // Never a second still to come; until it has come the record waits.
                if second <= now.timestamp() {
                    sqlx::query("UPDATE cloud_metering SET meter_timestamp = $1 WHERE id = $2")
                        .bind(second)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    meter_timestamp = Some(second);
                }
            }
            claimed.push(DueMetering {
                meter_timestamp,
                created_at: crate::time::from_micros(row.try_get("created_at")?),
                customer,
                id,
                cloud,
                instance_id: row.try_get("instance_id")?,
                usage_day: row
                    .try_get::<String, _>("usage_day")?
                    .parse()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                amount_fen: row.try_get("amount_fen")?,
                attempt: row.try_get::<i64, _>("attempts")? + 1,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    pub async fn metering_pushed(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE cloud_metering SET pushed_at = $1, last_error = NULL WHERE id = $2 AND pushed_at IS NULL")
            .bind(to_micros(self.now()))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn metering_failed(
        &self,
        record: &DueMetering,
        failure: &PushFailure,
    ) -> Result<(), sqlx::Error> {
        let error = &failure.message;
        let next = if failure.permanent {
            self.now() + Duration::hours(1)
        } else {
            self.now() + crate::mail::outbox::backoff(record.attempt)
        };
        sqlx::query("UPDATE cloud_metering SET next_attempt_at = $1, last_error = $2 WHERE id = $3 AND pushed_at IS NULL")
            .bind(to_micros(next))
            .bind(error.chars().take(500).collect::<String>())
            .bind(record.id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// One round of the metering worker: claims what is due and pushes it to its marketplace.
    /// Records of a cloud this server cannot push to yet wait (they are retried, with the
    /// reason, until it can). Returns (pushed, failed).
    pub async fn push_due_metering(
        &self,
        targets: &MeteringTargets,
    ) -> Result<(u32, u32), sqlx::Error> {
        let (mut pushed, mut failed) = (0, 0);
        // Five pushes of at most 15 s each fit well inside the lease: no other process takes a
        // record this one is still pushing.
        let claimed = self.claim_metering(5, Duration::minutes(3)).await?;
        // AWS takes records in batches (up to 25 a call).
        let (for_aws, others): (Vec<DueMetering>, Vec<DueMetering>) = claimed
            .into_iter()
            .partition(|r| r.cloud == super::Cloud::Aws && targets.aws.is_some());
        let mut outcomes: Vec<(DueMetering, PushOutcome)> = Vec::new();
        if let Some(aws) = &targets.aws
            && !for_aws.is_empty()
        {
            let results = aws.push(&for_aws, self.now()).await;
            outcomes.extend(for_aws.into_iter().zip(results));
        }
        for record in others {
            let outcome = match (record.cloud, &targets.aliyun, &targets.huawei) {
                (super::Cloud::Aliyun, Some(aliyun), _) => aliyun
                    .push(&record, self.settlement_timezone(), self.now())
                    .await
                    .map_err(PushFailure::retry),
                (super::Cloud::Huawei, _, Some(huawei)) => huawei
                    .push(&record, self.settlement_timezone(), self.now())
                    .await
                    .map_err(PushFailure::retry),
                (cloud, _, _) => Err(PushFailure::permanent(format!(
                    "no metering endpoint is configured for {}",
                    cloud.code()
                ))),
            };
            outcomes.push((record, outcome));
        }
        for (record, outcome) in outcomes {
            match outcome {
                Ok(()) => {
                    self.metering_pushed(record.id).await?;
                    pushed += 1;
                }
                Err(failure) => {
                    tracing::warn!(metering = record.id, attempt = record.attempt, error = %failure.message,
                        permanent = failure.permanent, "metering not pushed");
                    self.metering_failed(&record, &failure).await?;
                    failed += 1;
                }
            }
        }
        Ok((pushed, failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rpc_signature_is_alibabas_documented_example() {
        // Alibaba Cloud's signature documentation (DescribeRegions, testid / testsecret).
        let params: BTreeMap<String, String> = [
            ("TimeStamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            rpc_string_to_sign("GET", &params),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            rpc_signature("GET", &params, "testsecret"),
            "CT9X0VtwR86fNWSnsc6v8YGOjuE="
        );
    }

    #[test]
    fn a_push_is_signed_and_names_the_day_in_the_settlement_timezone() {
        let aliyun = AliyunMetering {
            endpoint: "https://market.aliyuncs.com/".into(),
            access_key_id: "testid".into(),
            access_key_secret: "testsecret".into(),
            metering_key: "Unit".into(),
        };
        let record = DueMetering {
            id: 1,
            cloud: crate::cloud::Cloud::Aliyun,
            instance_id: "bc-aliyun-x".into(),
            usage_day: "2026-10-31".parse().unwrap(),
            amount_fen: 1500,
            attempt: 1,
            created_at: "2026-11-01T00:00:05Z".parse().unwrap(),
            customer: MeteredCustomer::default(),
            meter_timestamp: None,
        };
        let now = "2026-11-01T00:00:05Z".parse().unwrap();
        let params = aliyun.request(&record, chrono_tz::Asia::Shanghai, now, "nonce-1");
        assert!(verify_rpc("POST", &params, "testsecret"));
        assert!(!verify_rpc("POST", &params, "another secret"));
        let metering: serde_json::Value = serde_json::from_str(&params["Metering"]).unwrap();
        // 2026-10-31 00:00 in Shanghai is 2026-10-30 16:00 UTC.
        assert_eq!(metering[0]["StartTime"], 1_793_376_000);
        assert_eq!(metering[0]["EndTime"], 1_793_462_400);
        assert_eq!(metering[0]["Entities"][0]["Value"], "1500");
        assert_eq!(params["Timestamp"], "2026-11-01T00:00:05Z");
        let mut tampered = params.clone();
        tampered.insert(
            "Metering".into(),
            params["Metering"].replace("1500", "15000"),
        );
        assert!(!verify_rpc("POST", &tampered, "testsecret"));
    }
}

impl Store {
    /// An operator reported a record to its marketplace by hand (past AWS's window, say): it is
    /// pushed, with who said so, audited in the same transaction. `false` if there is no such
    /// waiting record.
    pub async fn resolve_metering(
        &self,
        id: i64,
        operator: &crate::auth::operators::Operator,
        note: &str,
        client: &str,
    ) -> Result<bool, super::CloudError> {
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 300 || note.chars().any(char::is_control) {
            return Err(super::CloudError::InvalidNote);
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let resolved = sqlx::query(
            "UPDATE cloud_metering SET pushed_at = $1, last_error = $2 WHERE id = $3 AND pushed_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(
            format!("resolved by hand by {}: {note}", operator.username),
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if resolved != 1 {
            return Ok(false);
        }
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "metering.resolve",
            None,
            &format!("metering {id}: {note}"),
            client,
            to_micros(now),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The metering records as operators see them: how many wait, fail, were pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MeteringSummary {
    pub pending: i64,
    /// Waiting records that failed at least once (the marketplace is down, refusing, or no
    /// endpoint is configured for it).
    pub failing: i64,
    pub pushed: i64,
    /// How long the oldest waiting record has waited, in seconds.
    pub oldest_pending_seconds: i64,
}

/// A record that is failing: what operators look at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailingMetering {
    pub id: i64,
    pub cloud: String,
    pub instance_id: String,
    pub usage_day: String,
    pub amount: billing::Amount,
    pub attempts: i64,
    pub last_error: String,
}

impl Store {
    pub async fn metering_summary(&self) -> Result<MeteringSummary, sqlx::Error> {
        let row = sqlx::query(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN pushed_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
               CAST(COALESCE(SUM(CASE WHEN pushed_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS failing, \
               CAST(COALESCE(SUM(CASE WHEN pushed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS pushed, \
               CAST(COALESCE(MIN(CASE WHEN pushed_at IS NULL THEN created_at END), 0) AS BIGINT) AS oldest \
             FROM cloud_metering",
        )
        .fetch_one(self.pool())
        .await?;
        let pending: i64 = row.try_get("pending")?;
        let oldest: i64 = row.try_get("oldest")?;
        Ok(MeteringSummary {
            pending,
            failing: row.try_get("failing")?,
            pushed: row.try_get("pushed")?,
            oldest_pending_seconds: if pending > 0 {
                (self.now() - crate::time::from_micros(oldest))
                    .num_seconds()
                    .max(0)
            } else {
                0
            },
        })
    }

    /// Records still waiting after a failed push, oldest first.
    pub async fn failing_metering(&self, limit: i64) -> Result<Vec<FailingMetering>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT m.id, s.cloud, s.instance_id, m.usage_day, m.amount_fen, m.attempts, m.last_error \
             FROM cloud_metering m JOIN cloud_subscriptions s ON s.id = m.subscription_id \
             WHERE m.pushed_at IS NULL AND m.last_error IS NOT NULL ORDER BY m.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FailingMetering {
                    id: r.try_get("id")?,
                    cloud: r.try_get("cloud")?,
                    instance_id: r.try_get("instance_id")?,
                    usage_day: r.try_get("usage_day")?,
                    amount: billing::Amount::from_fen(r.try_get("amount_fen")?),
                    attempts: r.try_get("attempts")?,
                    last_error: r
                        .try_get::<Option<String>, _>("last_error")?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// A metering record the marketplace sandbox received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMetering {
    pub instance_id: String,
    pub start_time: i64,
    pub end_time: i64,
    pub key: String,
    pub value: String,
}

impl Store {
    /// The sandbox received a verified `PushMeteringData` (its nonce is counted once).
    pub async fn sandbox_receive_metering(
        &self,
        nonce: &str,
        records: &[ReceivedMetering],
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        for r in records {
            sqlx::query(
                "INSERT INTO sandbox_metering (instance_id, start_time, end_time, metering_key, value, nonce, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (nonce, instance_id, start_time) DO NOTHING",
            )
            .bind(&r.instance_id)
            .bind(r.start_time)
            .bind(r.end_time)
            .bind(&r.key)
            .bind(&r.value)
            .bind(nonce)
            .bind(to_micros(self.now()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// The value the sandbox holds for (serial, instance, start), if any.
    pub async fn sandbox_metering_value(
        &self,
        nonce: &str,
        instance_id: &str,
        start_time: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT value FROM sandbox_metering WHERE nonce = $1 AND instance_id = $2 AND start_time = $3",
        )
        .bind(nonce)
        .bind(instance_id)
        .bind(start_time)
        .fetch_optional(self.pool())
        .await
    }

    /// What the sandbox received, newest first.
    pub async fn sandbox_metering(&self, limit: i64) -> Result<Vec<ReceivedMetering>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT instance_id, start_time, end_time, metering_key, value FROM sandbox_metering ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReceivedMetering {
                    instance_id: r.try_get("instance_id")?,
                    start_time: r.try_get("start_time")?,
                    end_time: r.try_get("end_time")?,
                    key: r.try_get("metering_key")?,
                    value: r.try_get("value")?,
                })
            })
            .collect()
    }

    /// Every subscription (the sandbox page lists them): cloud, account id, instance, status.
    pub async fn all_subscriptions(
        &self,
    ) -> Result<Vec<(String, String, String, String)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT cloud, cloud_account_id, instance_id, status FROM cloud_subscriptions ORDER BY id DESC LIMIT 100",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("cloud")?,
                    r.try_get("cloud_account_id")?,
                    r.try_get("instance_id")?,
                    r.try_get("status")?,
                ))
            })
            .collect()
    }
}
