//! AWS Marketplace (SaaS, pay as you go).
//!
//! - **Fulfillment**: the buyer's browser POSTs `x-amzn-marketplace-token` to our fulfillment
//!   URL; `ResolveCustomer` (Metering Service, JSON 1.1, SigV4 under the signing name
//!   `aws-marketplace`) turns it into the customer (`CustomerAWSAccountId` + `LicenseArn`, or the
//!   legacy `CustomerIdentifier`) and the product code; the subscription is stored and the buyer
//!   signs in (or up) and chooses the workspaces it pays for.
//! - **Notifications**: Amazon SNS posts the subscription topic's messages (`subscribe-success`,
//!   `subscribe-fail`, `unsubscribe-pending`, `unsubscribe-success`, `entitlement-updated`);
//!   each is verified (the signing certificate's URL is an SNS host, the RSA signature over the
//!   documented string to sign, the topic, the timestamp, each message once) before it is read.
//! - **Metering**: `BatchMeterUsage`, at most 25 records a call, each record's timestamp within
//!   AWS's 6-hour window; a record AWS leaves unprocessed is retried; a record is sent with the
//!   same timestamp and quantity every time, so AWS counts a repeat once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::metering::DueMetering;
use super::{Cloud, CloudError, NewSubscription, SubscriptionStatus};
use crate::store::Store;

use super::hmac_sha256;
use crate::auth::hex;

/// AWS Signature Version 4 (the IAM user guide's "Create a signed AWS API request").
pub mod sigv4 {
    use super::{Digest, Sha256, hex, hmac_sha256};

    fn encode(text: &str) -> String {
        crate::cloud::metering::percent_encode(text)
    }

    /// The canonical request. `headers`: (name, value) of every signed header.
    pub fn canonical_request(
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        body: &[u8],
    ) -> String {
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.split('/').map(encode).collect::<Vec<_>>().join("/")
        };
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
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect();
        headers.sort();
        let canonical: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed = headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(";");
        format!(
            "{method}\n{path}\n{query}\n{canonical}\n{signed}\n{}",
            hex(&Sha256::digest(body))
        )
    }

    /// `date/region/service/aws4_request`.
    pub fn scope(amz_date: &str, region: &str, service: &str) -> String {
        format!(
            "{}/{region}/{service}/aws4_request",
            &amz_date[..8.min(amz_date.len())]
        )
    }

    pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical_request.as_bytes()))
        )
    }

    pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
        let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        let k_region = hmac_sha256(&k_date, region.as_bytes());
        let k_service = hmac_sha256(&k_region, service.as_bytes());
        hmac_sha256(&k_service, b"aws4_request")
    }

    pub fn signature(secret: &str, region: &str, service: &str, string_to_sign: &str) -> String {
        let date = string_to_sign.lines().nth(1).unwrap_or_default();
        let key = signing_key(secret, &date[..8.min(date.len())], region, service);
        hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
    }

    /// The `Authorization` header of a request signed with these headers.
    pub fn authorization(
        access_key_id: &str,
        secret: &str,
        region: &str,
        service: &str,
        amz_date: &str,
        canonical_request: &str,
        headers: &[(String, String)],
    ) -> String {
        let scope = scope(amz_date, region, service);
        let to_sign = string_to_sign(amz_date, &scope, canonical_request);
        let mut signed: Vec<String> = headers
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        signed.sort();
        format!(
            "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={}",
            signed.join(";"),
            signature(secret, region, service, &to_sign)
        )
    }

    /// What an `Authorization` header says: (access key id, scope, signed header names,
    /// signature).
    pub fn parse_authorization(header: &str) -> Option<(String, String, Vec<String>, String)> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            match name {
                "Credential" => credential = Some(value.to_owned()),
                "SignedHeaders" => signed = Some(value.split(';').map(str::to_owned).collect()),
                "Signature" => signature = Some(value.to_owned()),
                _ => return None,
            }
        }
        let (access_key_id, scope) = credential?
            .split_once('/')
            .map(|(a, s)| (a.to_owned(), s.to_owned()))?;
        Some((access_key_id, scope, signed?, signature?))
    }
}

/// Who bought: what `ResolveCustomer` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCustomer {
    /// Legacy integrations (`CustomerIdentifier`); not given to products listed since 2026.
    pub customer_identifier: Option<String>,
    pub customer_aws_account_id: Option<String>,
    pub product_code: String,
    pub license_arn: Option<String>,
}

impl AwsCustomer {
    /// The account id the buyer knows (their AWS account), or the legacy identifier.
    pub fn account(&self) -> Option<&str> {
        self.customer_aws_account_id
            .as_deref()
            .or(self.customer_identifier.as_deref())
    }

    /// The subscription's key: one per product and customer.
    pub fn order_ref(&self) -> Option<String> {
        let who = self
            .customer_identifier
            .as_deref()
            .or(self.customer_aws_account_id.as_deref())?;
        Some(format!("{}/{who}", self.product_code))
    }
}

/// A Metering Service call that failed: AWS's error type (`InvalidTokenException`, …) or why
/// it could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct AwsCallError {
    pub kind: String,
    pub message: String,
}

impl AwsCallError {
    fn new(kind: &str, message: impl Into<String>) -> AwsCallError {
        AwsCallError {
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    /// The buyer's registration token is not (or no longer) good: they start again at AWS.
    pub fn is_bad_token(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "InvalidTokenException" | "ExpiredTokenException"
        )
    }
}

/// Where and as whom Billing Center calls the AWS Marketplace Metering Service (the
/// `AWS_MARKETPLACE_*` settings: product code, access key, secret, session token, SNS topic,
/// region, metering endpoint, dimension).
#[derive(Clone)]
pub struct AwsMarketplace {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// With temporary credentials (`AWS_MARKETPLACE_SESSION_TOKEN`).
    pub session_token: Option<String>,
    pub product_code: String,
    /// The pay-as-you-go dimension, priced at 0.01 yuan a unit; the quantity is fen.
    pub dimension: String,
    /// The subscription topic whose messages are taken (others are refused).
    pub topic_arn: String,
    pub notifications: SnsVerifier,
}

impl std::fmt::Debug for AwsMarketplace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsMarketplace")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("product_code", &self.product_code)
            .finish_non_exhaustive()
    }
}

pub const SIGNING_NAME: &str = "aws-marketplace";
/// The marketplace sandbox's SNS signing key and certificate: public on purpose, like every
/// sandbox key (the sandbox is refused together with real marketplace keys).
pub const SANDBOX_SNS_KEY: &str = include_str!("sandbox/sns-signing-key.pem");
pub const SANDBOX_SNS_CERTIFICATE: &str = include_str!("sandbox/sns-signing-cert.pem");
/// How long after its event AWS takes a usage record.
pub const METERING_WINDOW_HOURS: i64 = 6;
pub const MAX_RECORDS_PER_CALL: usize = 25;

impl AwsMarketplace {
    /// One signed JSON 1.1 call (`X-Amz-Target: AWSMPMeteringService.{action}`).
    pub async fn call(
        &self,
        action: &str,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Value, AwsCallError> {
        let url = reqwest::Url::parse(&self.endpoint).map_err(|e| {
            AwsCallError::new("Configuration", format!("AWS_METERING_ENDPOINT: {e}"))
        })?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let body = body.to_string();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let target = format!("AWSMPMeteringService.{action}");
        let mut headers = vec![
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            ),
            ("host".to_owned(), host),
            ("x-amz-date".to_owned(), amz_date.clone()),
            ("x-amz-target".to_owned(), target.clone()),
        ];
        // Temporary credentials (a role's) carry a session token, signed like the rest.
        if let Some(token) = &self.session_token {
            headers.push(("x-amz-security-token".to_owned(), token.clone()));
        }
        let canonical =
            sigv4::canonical_request("POST", url.path(), &[], &headers, body.as_bytes());
        let authorization = sigv4::authorization(
            &self.access_key_id,
            &self.secret_access_key,
            &self.region,
            SIGNING_NAME,
            &amz_date,
            &canonical,
            &headers,
        );
        let mut request = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Date", &amz_date)
            .header("X-Amz-Target", &target)
            .header("Authorization", authorization);
        if let Some(token) = &self.session_token {
            request = request.header("X-Amz-Security-Token", token);
        }
        let answer = request
            .body(body)
            .timeout(std::time::Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| {
                AwsCallError::new(
                    "Unreachable",
                    format!("cannot reach {}: {e}", self.endpoint),
                )
            })?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or_default();
        if status.is_success() {
            return Ok(json);
        }
        // `__type` may carry a namespace (`com.amazonaws…#InvalidTokenException`).
        let kind = json["__type"]
            .as_str()
            .map(|t| {
                t.rsplit('#')
                    .next()
                    .unwrap_or(t)
                    .split(':')
                    .next()
                    .unwrap_or(t)
                    .to_owned()
            })
            .unwrap_or_else(|| format!("HTTP {status}"));
        let message = json["message"]
            .as_str()
            .or(json["Message"].as_str())
            .unwrap_or_default();
        Err(AwsCallError::new(
            &kind,
            message.chars().take(300).collect::<String>(),
        ))
    }

    /// `ResolveCustomer`: the buyer behind a registration token.
    pub async fn resolve_customer(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AwsCustomer, AwsCallError> {
        let answer = self
            .call(
                "ResolveCustomer",
                &serde_json::json!({"RegistrationToken": token}),
                now,
            )
            .await?;
        read_customer(&answer)
    }

    /// The usage record of one metering record (its timestamp assigned).
    pub fn usage_record(&self, record: &DueMetering, timestamp: i64) -> Value {
        let mut usage = serde_json::json!({
            "Timestamp": timestamp,
            "Dimension": self.dimension,
            "Quantity": record.amount_fen,
        });
        let customer = &record.customer;
        if let (Some(account), Some(license)) =
            (&customer.customer_aws_account_id, &customer.license_arn)
        {
            usage["CustomerAWSAccountId"] = Value::String(account.clone());
            usage["LicenseArn"] = Value::String(license.clone());
        } else if let Some(identifier) = &customer.customer_identifier {
            usage["CustomerIdentifier"] = Value::String(identifier.clone());
        }
        usage
    }

    /// `BatchMeterUsage`, at most 25 records a call and never mixing the two ways of naming a
    /// customer (AWS refuses a call that does): the outcome of each record, in order. Records
    /// outside the window (with a quarter of an hour to spare) are not sent.
    pub async fn push(&self, records: &[DueMetering], now: DateTime<Utc>) -> Vec<PushOutcome> {
        let mut outcomes: Vec<PushOutcome> = Vec::with_capacity(records.len());
        let (mut by_license, mut by_identifier) = (Vec::new(), Vec::new());
        for (i, record) in records.iter().enumerate() {
            let Some(timestamp) = record.meter_timestamp else {
                outcomes.push(Err(PushFailure::retry(
                    "waiting for its metering second (one a second per customer)",
                )));
                continue;
            };
            let age = now.timestamp() - timestamp;
            if age > METERING_WINDOW_HOURS * 3600 - 15 * 60 {
                outcomes.push(Err(PushFailure::permanent(format!(
                    "outside AWS Marketplace's {METERING_WINDOW_HOURS}-hour metering window ({} min old): report it to AWS by hand, then resolve it (POST /api/v1/ops/metering/{}/resolve)",
                    age / 60,
                    record.id
                ))));
                continue;
            }
            outcomes.push(Err(PushFailure::retry("not sent")));
            if record.customer.license_arn.is_some() {
                by_license.push((i, timestamp));
            } else {
                by_identifier.push((i, timestamp));
            }
        }
        for (group, legacy) in [(by_license, false), (by_identifier, true)] {
            for chunk in group.chunks(MAX_RECORDS_PER_CALL) {
                let usage: Vec<Value> = chunk
                    .iter()
                    .map(|&(i, t)| self.usage_record(&records[i], t))
                    .collect();
                let mut body = serde_json::json!({"UsageRecords": usage});
                if legacy {
                    body["ProductCode"] = Value::String(self.product_code.clone());
                }
                match self.call("BatchMeterUsage", &body, now).await {
                    Ok(answer) => {
                        for &(i, t) in chunk {
                            outcomes[i] =
                                batch_outcome(&answer, &self.usage_record(&records[i], t));
                        }
                    }
                    Err(e) => {
                        for &(i, _) in chunk {
                            outcomes[i] = Err(PushFailure::retry(format!("BatchMeterUsage: {e}")));
                        }
                    }
                }
            }
        }
        outcomes
    }
}

pub use super::metering::{PushFailure, PushOutcome};

/// The same usage record: customer, dimension and time (AWS may echo the time as a float).
fn same_record(a: &Value, b: &Value) -> bool {
    let second = |v: &Value| v["Timestamp"].as_f64().map(|t| t.floor() as i64);
    second(a).is_some()
        && second(a) == second(b)
        && ["Dimension", "CustomerIdentifier", "CustomerAWSAccountId"]
            .iter()
            .all(|k| a[*k].as_str() == b[*k].as_str())
}

/// What `BatchMeterUsage` said of `usage`.
fn batch_outcome(answer: &Value, usage: &Value) -> PushOutcome {
    let results = answer["Results"].as_array().cloned().unwrap_or_default();
    if let Some(result) = results
        .iter()
        .find(|r| same_record(&r["UsageRecord"], usage))
    {
        return match result["Status"].as_str() {
            Some("Success") => Ok(()),
            Some("CustomerNotSubscribed") => Err(PushFailure::permanent(
                "AWS: CustomerNotSubscribed (the buyer's subscription is not active at AWS)",
            )),
            Some("DuplicateRecord") => Err(PushFailure::permanent(
                "AWS: DuplicateRecord (a record with this customer, dimension and time but another quantity was metered)",
            )),
            other => Err(PushFailure::retry(format!("AWS answered status {other:?}"))),
        };
    }
    let unprocessed = answer["UnprocessedRecords"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if unprocessed.iter().any(|r| same_record(r, usage)) {
        return Err(PushFailure::retry(
            "AWS left the record unprocessed; retried",
        ));
    }
    Err(PushFailure::retry(
        "AWS's answer does not mention the record; retried",
    ))
}

/// Reads `ResolveCustomer`'s answer.
pub fn read_customer(answer: &Value) -> Result<AwsCustomer, AwsCallError> {
    let text = |name: &str| {
        answer[name]
            .as_str()
            .filter(|v| !v.is_empty() && v.len() <= 2048)
            .map(str::to_owned)
    };
    let product_code = text("ProductCode").ok_or_else(|| {
        AwsCallError::new("InvalidAnswer", "ResolveCustomer named no ProductCode")
    })?;
    let customer = AwsCustomer {
        customer_identifier: text("CustomerIdentifier"),
        customer_aws_account_id: text("CustomerAWSAccountId"),
        product_code,
        license_arn: text("LicenseArn"),
    };
    if customer.account().is_none() {
        return Err(AwsCallError::new(
            "InvalidAnswer",
            "ResolveCustomer named neither CustomerAWSAccountId nor CustomerIdentifier",
        ));
    }
    Ok(customer)
}

/// Amazon SNS message verification.
pub mod sns {
    use super::*;

    /// Where signing certificates come from: Amazon SNS's hosts (fetched over HTTPS, kept), or
    /// the marketplace sandbox's one certificate at one URL.
    #[derive(Clone)]
    pub enum Certificates {
        Amazon {
            kept: Arc<Mutex<HashMap<String, Vec<u8>>>>,
        },
        Sandbox {
            url: String,
            pem: String,
        },
    }

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum SnsError {
        #[error("the body is not an SNS message: {0}")]
        Malformed(String),
        #[error("SigningCertURL is not an Amazon SNS certificate: {0}")]
        CertificateUrl(String),
        #[error("the signing certificate cannot be had: {0}")]
        Certificate(String),
        #[error("the signature does not match")]
        BadSignature,
        #[error("SignatureVersion '{0}' is not 1 or 2")]
        SignatureVersion(String),
        #[error("the message is from topic '{0}', not the subscription topic")]
        Topic(String),
        #[error("the message is more than an hour old (or from the future)")]
        Stale,
    }

    /// SNS's own host in the topic's region (`sns.<region>.amazonaws.com`, `.com.cn` in China:
    /// not any `sns.*.amazonaws.com`, which other AWS services' buckets can also be), https, no
    /// port, user or query, a `.pem`.
    pub fn amazon_certificate_url(url: &str, region: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        url.scheme() == "https"
            && url.port().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.path().ends_with(".pem")
            && sns_host(region).is_some_and(|host| url.host_str() == Some(host.as_str()))
    }

    /// `sns.<region>.amazonaws.com` (`.com.cn` for China's regions), for a region name.
    pub fn sns_host(region: &str) -> Option<String> {
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Some(format!("sns.{region}.{suffix}"))
    }

    /// The documented string to sign: `Key\nValue\n` for each key present, in this order.
    pub fn string_to_sign(message: &Value) -> Result<String, SnsError> {
        let kind = message["Type"].as_str().unwrap_or_default();
        let keys: &[&str] = match kind {
            "Notification" => &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ],
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
            other => {
                return Err(SnsError::Malformed(format!(
                    "Type '{}'",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        let mut text = String::new();
        for key in keys {
            match &message[*key] {
                Value::String(value) => {
                    text.push_str(key);
                    text.push('\n');
                    text.push_str(value);
                    text.push('\n');
                }
                Value::Null if *key == "Subject" => {}
                _ => return Err(SnsError::Malformed(format!("{key} is missing"))),
            }
        }
        Ok(text)
    }

    #[derive(Debug)]
    struct RsaSha1;

    impl rustls_pki_types::SignatureVerificationAlgorithm for RsaSha1 {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), rustls_pki_types::InvalidSignature> {
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                public_key,
            )
            .verify(message, signature)
            .map_err(|_| rustls_pki_types::InvalidSignature)
        }

        fn public_key_alg_id(&self) -> rustls_pki_types::AlgorithmIdentifier {
            rustls_pki_types::alg_id::RSA_ENCRYPTION
        }

        fn signature_alg_id(&self) -> rustls_pki_types::AlgorithmIdentifier {
            // Only named in webpki's errors.
            rustls_pki_types::alg_id::RSA_PKCS1_SHA256
        }
    }

    pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, SnsError> {
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| SnsError::Certificate("not a PEM certificate".into()))
    }

    /// Whether `signature` (base64) is the certificate's key's signature of `text`.
    pub fn signature_matches(
        certificate_der: &[u8],
        version: &str,
        text: &str,
        signature: &str,
    ) -> Result<(), SnsError> {
        let der = rustls_pki_types::CertificateDer::from(certificate_der.to_vec());
        let certificate = webpki::EndEntityCert::try_from(&der)
            .map_err(|e| SnsError::Certificate(format!("{e:?}")))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| SnsError::BadSignature)?;
        let algorithm: &dyn rustls_pki_types::SignatureVerificationAlgorithm = match version {
            "1" => &RsaSha1,
            "2" => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            other => return Err(SnsError::SignatureVersion(other.chars().take(8).collect())),
        };
        certificate
            .verify_signature(algorithm, text.as_bytes(), &signature)
            .map_err(|_| SnsError::BadSignature)
    }

    /// Signs `message` as Amazon SNS does (SignatureVersion 2), with the marketplace sandbox's
    /// key: only the sandbox sends what this signs.
    pub fn sandbox_sign(message: &mut Value) -> Result<(), SnsError> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(super::SANDBOX_SNS_KEY)
            .map_err(|e| SnsError::Certificate(e.to_string()))?;
        message["SignatureVersion"] = Value::String("2".into());
        let text = string_to_sign(message)?;
        let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(key).sign(text.as_bytes());
        message["Signature"] =
            Value::String(base64::engine::general_purpose::STANDARD.encode(signature.to_vec()));
        Ok(())
    }

    /// A verified SNS message.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Verified {
        pub kind: String,
        pub message_id: String,
        pub topic_arn: String,
        pub message: String,
        pub subscribe_url: Option<String>,
        /// When SNS says the event happened (what orders events that arrive out of order).
        pub timestamp: DateTime<Utc>,
    }

    impl Certificates {
        pub fn amazon() -> Certificates {
            Certificates::Amazon {
                kept: Arc::new(Mutex::new(HashMap::new())),
            }
        }

        async fn certificate(&self, url: &str, region: &str) -> Result<Vec<u8>, SnsError> {
            match self {
                Certificates::Sandbox { url: only, pem } => {
                    if url != only {
                        return Err(SnsError::CertificateUrl(url.chars().take(200).collect()));
                    }
                    pem_to_der(pem)
                }
                Certificates::Amazon { kept } => {
                    if !amazon_certificate_url(url, region) {
                        return Err(SnsError::CertificateUrl(url.chars().take(200).collect()));
                    }
                    if let Some(der) = kept.lock().ok().and_then(|k| k.get(url).cloned()) {
                        return Ok(der);
                    }
                    let pem = reqwest::Client::new()
                        .get(url)
                        .timeout(std::time::Duration::from_secs(5))
                        .send()
                        .await
                        .and_then(|r| r.error_for_status())
                        .map_err(|e| SnsError::Certificate(e.to_string()))?
                        .text()
                        .await
                        .map_err(|e| SnsError::Certificate(e.to_string()))?;
                    let der = pem_to_der(&pem)?;
                    if let Ok(mut kept) = kept.lock() {
                        kept.insert(url.to_owned(), der.clone());
                    }
                    Ok(der)
                }
            }
        }

        /// Whether a SubscribeURL may be visited: SNS in the topic's region (or, in the sandbox,
        /// this server).
        pub fn subscribe_url_allowed(&self, url: &str, region: &str) -> bool {
            match self {
                Certificates::Sandbox { url: cert, .. } => {
                    let origin = |u: &str| reqwest::Url::parse(u).ok().map(|u| u.origin());
                    origin(url).is_some() && origin(url) == origin(cert)
                }
                Certificates::Amazon { .. } => reqwest::Url::parse(url).is_ok_and(|u| {
                    u.scheme() == "https"
                        && u.port().is_none()
                        && u.username().is_empty()
                        && sns_host(region).is_some_and(|h| u.host_str() == Some(h.as_str()))
                }),
            }
        }
    }

    /// Verifies an SNS body from `topic_arn`: nothing in it is read as a message until this
    /// passes.
    #[derive(Clone)]
    pub struct SnsVerifier {
        pub certificates: Certificates,
    }

    impl SnsVerifier {
        pub async fn verify(
            &self,
            body: &[u8],
            topic_arn: &str,
            now: DateTime<Utc>,
        ) -> Result<Verified, SnsError> {
            let message: Value =
                serde_json::from_slice(body).map_err(|_| SnsError::Malformed("not JSON".into()))?;
            let text = string_to_sign(&message)?;
            let field = |name: &str| message[name].as_str().unwrap_or_default().to_owned();
            // What costs nothing is checked before a certificate is fetched: the topic, the age.
            if field("TopicArn") != topic_arn {
                return Err(SnsError::Topic(
                    field("TopicArn").chars().take(200).collect(),
                ));
            }
            let at = DateTime::parse_from_rfc3339(&field("Timestamp"))
                .map_err(|_| SnsError::Malformed("Timestamp".into()))?
                .with_timezone(&Utc);
            if now - at > chrono::Duration::hours(1) || at - now > chrono::Duration::minutes(5) {
                return Err(SnsError::Stale);
            }
            // The topic's own region: arn:aws:sns:<region>:<account>:<name>.
            let region = topic_arn.split(':').nth(3).unwrap_or_default();
            let certificate = self
                .certificates
                .certificate(&field("SigningCertURL"), region)
                .await?;
            signature_matches(
                &certificate,
                &field("SignatureVersion"),
                &text,
                &field("Signature"),
            )?;
            Ok(Verified {
                kind: field("Type"),
                message_id: field("MessageId"),
                topic_arn: field("TopicArn"),
                message: field("Message"),
                subscribe_url: message["SubscribeURL"].as_str().map(str::to_owned),
                timestamp: at,
            })
        }
    }
}

pub use sns::SnsVerifier;

/// A subscription topic's message (the `Message` of a verified notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionEvent {
    pub action: String,
    pub customer_identifier: Option<String>,
    pub customer_aws_account_id: Option<String>,
    pub product_code: String,
}

pub fn read_event(message: &str) -> Result<SubscriptionEvent, String> {
    let json: Value =
        serde_json::from_str(message).map_err(|_| "the Message is not JSON".to_owned())?;
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| json[*n].as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(SubscriptionEvent {
        action: text(&["action"]).ok_or("the Message has no action")?,
        customer_identifier: text(&["customer-identifier", "CustomerIdentifier"]),
        customer_aws_account_id: text(&["customer-aws-account-id", "CustomerAWSAccountId"]),
        product_code: text(&["product-code", "ProductCode"])
            .ok_or("the Message has no product-code")?,
    })
}

impl Store {
    /// A buyer arrived from AWS Marketplace: their subscription (one per product and customer;
    /// new ones are active; one that ended becomes active again with AWS's subscribe-success).
    pub async fn aws_subscribe(&self, customer: &AwsCustomer) -> Result<String, CloudError> {
        let order_ref = customer
            .order_ref()
            .ok_or(CloudError::InvalidField { field: "customer" })?;
        let instance = self
            .create_subscription(&NewSubscription {
                cloud: Cloud::Aws,
                cloud_account_id: customer.account().unwrap_or_default().to_owned(),
                order_ref: order_ref.clone(),
                product_code: customer.product_code.clone(),
                sku_id: customer.license_arn.clone().unwrap_or_default(),
                valid_until: None,
            })
            .await?;
        // A subscription that ended stays ended here: a registration token replayed (it is good
        // for hours) proves nothing new; AWS's subscribe-success makes it active again.
        sqlx::query(
            "UPDATE cloud_subscriptions SET sku_id = $1 WHERE cloud = 'aws' AND instance_id = $2",
        )
        .bind(customer.license_arn.clone().unwrap_or_default())
        .bind(&instance)
        .execute(self.pool())
        .await?;
        Ok(instance)
    }

    /// The subscription an event is about, if Billing Center has it.
    async fn aws_subscription_of(
        &self,
        event: &SubscriptionEvent,
    ) -> Result<Option<String>, sqlx::Error> {
        for who in [&event.customer_identifier, &event.customer_aws_account_id]
            .into_iter()
            .flatten()
        {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT instance_id FROM cloud_subscriptions WHERE cloud = 'aws' \
                 AND (order_ref = $1 OR (product_code = $2 AND cloud_account_id = $3))",
            )
            .bind(format!("{}/{who}", event.product_code))
            .bind(&event.product_code)
            .bind(who)
            .fetch_optional(self.pool())
            .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Carries out a verified subscription-topic event that happened `at` (SNS's Timestamp);
    /// answers what it did (for the log). Messages arrive out of order: an event older than the
    /// last one applied to the subscription changes nothing.
    pub async fn aws_event(
        &self,
        event: &SubscriptionEvent,
        at: DateTime<Utc>,
    ) -> Result<&'static str, CloudError> {
        let Some(instance) = self.aws_subscription_of(event).await? else {
            // A notification can arrive before the buyer reaches the fulfillment URL.
            return Ok("no such subscription yet");
        };
        if matches!(
            event.action.as_str(),
            "subscribe-success" | "subscribe-fail" | "unsubscribe-success"
        ) {
            let newer = sqlx::query(
                "UPDATE cloud_subscriptions SET last_event_at = $1 WHERE cloud = 'aws' AND instance_id = $2 \
                 AND (last_event_at IS NULL OR last_event_at < $1)",
            )
            .bind(crate::time::to_micros(at))
            .bind(&instance)
            .execute(self.pool())
            .await?
            .rows_affected();
            if newer == 0 {
                return Ok("older than the last event applied: ignored");
            }
        }
        Ok(match event.action.as_str() {
            "subscribe-success" => {
                sqlx::query(
                    "UPDATE cloud_subscriptions SET status = 'active', ended_at = NULL \
                     WHERE cloud = 'aws' AND instance_id = $1",
                )
                .bind(&instance)
                .execute(self.pool())
                .await?;
                "active"
            }
            "subscribe-fail" => {
                self.end_subscription(Cloud::Aws, &instance, SubscriptionStatus::Expired)
                    .await?;
                "ended (payment failed)"
            }
            "unsubscribe-success" => {
                self.end_subscription(Cloud::Aws, &instance, SubscriptionStatus::Released)
                    .await?;
                "released"
            }
            // Metering already due is pushed as usual until unsubscribe-success.
            "unsubscribe-pending" => "unsubscribe pending",
            // Contracts are not sold: pay-as-you-go has no entitlements to read.
            "entitlement-updated" => "entitlement noted",
            _ => "unknown action ignored",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sigv4_is_the_iam_guides_example() {
        let headers = pairs(&[
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let query = pairs(&[("Version", "2010-05-08"), ("Action", "ListUsers")]);
        let canonical = sigv4::canonical_request("GET", "/", &query, &headers, b"");
        assert_eq!(
            canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sigv4::signing_key(SECRET, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            sigv4::authorization(
                "AKIDEXAMPLE",
                SECRET,
                "us-east-1",
                "iam",
                "20150830T123600Z",
                &canonical,
                &headers
            ),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn sigv4_signs_a_body_as_the_test_suite_does() {
        // aws-sig-v4-test-suite: get-vanilla and post-x-www-form-urlencoded.
        let headers = pairs(&[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let canonical = sigv4::canonical_request("GET", "/", &[], &headers, b"");
        assert!(
            sigv4::authorization(
                "AKIDEXAMPLE",
                SECRET,
                "us-east-1",
                "service",
                "20150830T123600Z",
                &canonical,
                &headers
            )
            .ends_with(
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
        let headers = pairs(&[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let canonical = sigv4::canonical_request("POST", "/", &[], &headers, b"Param1=value1");
        assert_eq!(
            sigv4::authorization(
                "AKIDEXAMPLE",
                SECRET,
                "us-east-1",
                "service",
                "20150830T123600Z",
                &canonical,
                &headers
            ),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
        let (id, scope, signed, signature) = sigv4::parse_authorization(&sigv4::authorization(
            "AKIDEXAMPLE",
            SECRET,
            "us-east-1",
            "service",
            "20150830T123600Z",
            &canonical,
            &headers,
        ))
        .unwrap();
        assert_eq!(id, "AKIDEXAMPLE");
        assert_eq!(scope, "20150830/us-east-1/service/aws4_request");
        assert_eq!(signed, vec!["content-type", "host", "x-amz-date"]);
        assert!(signature.starts_with("ff1189"));
    }

    #[test]
    fn only_amazon_sns_hosts_sign_certificates() {
        assert!(sns::amazon_certificate_url(
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem",
            "us-east-1"
        ));
        assert!(sns::amazon_certificate_url(
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            "cn-north-1"
        ));
        // Another region's host, or a bucket called `sns` (sns.s3-us-west-2.amazonaws.com).
        assert!(!sns::amazon_certificate_url(
            "https://sns.us-west-2.amazonaws.com/x.pem",
            "us-east-1"
        ));
        assert!(!sns::amazon_certificate_url(
            "https://sns.s3-us-west-2.amazonaws.com/x.pem",
            "us-west-2"
        ));
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.pem?x=1",
        ] {
            assert!(!sns::amazon_certificate_url(bad, "us-east-1"), "{bad}");
        }
    }

    /// A message signed with the sandbox's key (as `openssl dgst -sha256 -sign` would).
    fn signed(message: &mut Value, version: &str) {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(SANDBOX_SNS_KEY).unwrap();
        let text = sns::string_to_sign(message).unwrap();
        let signature = match version {
            "2" => rsa::pkcs1v15::SigningKey::<Sha256>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
            _ => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
        };
        message["SignatureVersion"] = Value::String(version.into());
        message["Signature"] =
            Value::String(base64::engine::general_purpose::STANDARD.encode(signature));
    }

    #[tokio::test]
    async fn an_sns_message_is_verified_before_it_is_read() {
        let url = "http://127.0.0.1:1/sandbox/aws/sns-certificate.pem";
        let verifier = SnsVerifier {
            certificates: sns::Certificates::Sandbox {
                url: url.into(),
                pem: SANDBOX_SNS_CERTIFICATE.into(),
            },
        };
        let topic = "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-prod1";
        let now: DateTime<Utc> = "2026-12-07T10:00:30Z".parse().unwrap();
        let mut message = serde_json::json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": topic,
            "Message": "{\"action\":\"unsubscribe-success\",\"customer-identifier\":\"X01EXAMPLEX\",\"product-code\":\"prod1\"}",
            "Timestamp": "2026-12-07T10:00:00.000Z",
            "SigningCertURL": url,
        });
        for version in ["1", "2"] {
            signed(&mut message, version);
            let verified = verifier
                .verify(message.to_string().as_bytes(), topic, now)
                .await
                .unwrap();
            assert_eq!(
                read_event(&verified.message).unwrap().action,
                "unsubscribe-success"
            );
        }
        let check = |m: &Value, at| {
            let verifier = verifier.clone();
            let body = m.to_string();
            async move { verifier.verify(body.as_bytes(), topic, at).await }
        };
        // Tampered after signing.
        let mut tampered = message.clone();
        tampered["Message"] = Value::String(
            message["Message"]
                .as_str()
                .unwrap()
                .replace("unsubscribe", "subscribe"),
        );
        assert_eq!(
            check(&tampered, now).await,
            Err(sns::SnsError::BadSignature)
        );
        // Another certificate URL (a forger's), another topic, an old message.
        let mut elsewhere = message.clone();
        elsewhere["SigningCertURL"] = Value::String("https://evil.example/cert.pem".into());
        assert!(matches!(
            check(&elsewhere, now).await,
            Err(sns::SnsError::CertificateUrl(_))
        ));
        assert!(matches!(
            verifier
                .verify(
                    message.to_string().as_bytes(),
                    "arn:aws:sns:us-east-1:1:other",
                    now
                )
                .await,
            Err(sns::SnsError::Topic(_))
        ));
        assert_eq!(
            check(&message, now + chrono::Duration::hours(2)).await,
            Err(sns::SnsError::Stale)
        );
        // Amazon's certificates come from SNS in the topic's region only: nothing else is fetched.
        let amazon = SnsVerifier {
            certificates: sns::Certificates::amazon(),
        };
        assert!(matches!(
            amazon
                .verify(message.to_string().as_bytes(), topic, now)
                .await,
            Err(sns::SnsError::CertificateUrl(_))
        ));
        let mut version = message.clone();
        version["SignatureVersion"] = Value::String("3".into());
        assert!(matches!(
            check(&version, now).await,
            Err(sns::SnsError::SignatureVersion(_))
        ));
        assert!(matches!(
            verifier.verify(b"not json", topic, now).await,
            Err(sns::SnsError::Malformed(_))
        ));
    }

    #[test]
    fn the_string_to_sign_is_snss() {
        let m = serde_json::json!({"Type": "Notification", "MessageId": "id", "TopicArn": "t",
            "Message": "Hello world", "Timestamp": "2022-07-28T21:24:08.324Z"});
        assert_eq!(
            sns::string_to_sign(&m).unwrap(),
            "Message\nHello world\nMessageId\nid\nTimestamp\n2022-07-28T21:24:08.324Z\nTopicArn\nt\nType\nNotification\n"
        );
        let c = serde_json::json!({"Type": "SubscriptionConfirmation", "MessageId": "id", "TopicArn": "t",
            "Message": "m", "Timestamp": "ts", "Token": "tok", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"});
        assert_eq!(
            sns::string_to_sign(&c).unwrap(),
            "Message\nm\nMessageId\nid\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\nts\nToken\ntok\nTopicArn\nt\nType\nSubscriptionConfirmation\n"
        );
    }

    #[test]
    fn batch_results_are_matched_to_their_records() {
        let a = serde_json::json!({"Timestamp": 100, "Dimension": "usage_fen", "CustomerAWSAccountId": "1", "Quantity": 5});
        let b = serde_json::json!({"Timestamp": 101, "Dimension": "usage_fen", "CustomerAWSAccountId": "1", "Quantity": 6});
        let c = serde_json::json!({"Timestamp": 102, "Dimension": "usage_fen", "CustomerAWSAccountId": "1", "Quantity": 7});
        let answer = serde_json::json!({
            "Results": [{"UsageRecord": a, "Status": "Success", "MeteringRecordId": "m1"},
                        {"UsageRecord": b, "Status": "CustomerNotSubscribed"}],
            "UnprocessedRecords": [c],
        });
        assert_eq!(batch_outcome(&answer, &a), Ok(()));
        let refused = batch_outcome(&answer, &b).unwrap_err();
        assert!(refused.message.contains("CustomerNotSubscribed") && refused.permanent);
        let unprocessed = batch_outcome(&answer, &c).unwrap_err();
        assert!(unprocessed.message.contains("unprocessed") && !unprocessed.permanent);
    }

    #[test]
    fn resolve_customer_needs_a_customer_and_a_product() {
        let new = read_customer(&serde_json::json!({"CustomerAWSAccountId": "123456789012",
            "ProductCode": "prod1", "LicenseArn": "arn:aws:license-manager::123456789012:license:l-1"}))
        .unwrap();
        assert_eq!(new.account(), Some("123456789012"));
        assert_eq!(new.order_ref().as_deref(), Some("prod1/123456789012"));
        let legacy = read_customer(
            &serde_json::json!({"CustomerIdentifier": "X01EXAMPLEX", "ProductCode": "prod1"}),
        )
        .unwrap();
        assert_eq!(legacy.order_ref().as_deref(), Some("prod1/X01EXAMPLEX"));
        assert!(read_customer(&serde_json::json!({"ProductCode": "prod1"})).is_err());
        assert!(read_customer(&serde_json::json!({"CustomerIdentifier": "X"})).is_err());
    }
}
