//! Configuration from the environment. Every setting has a default that runs the product locally.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use leptos::config::LeptosOptions;

/// Where the server listens and where the built site (JS, WASM, CSS, public files) lives.
#[derive(Debug, Clone)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR`, default `127.0.0.1:3000`.
    pub site_addr: SocketAddr,
    /// `LEPTOS_SITE_ROOT`, default `target/site` (what `scripts/site.sh` builds).
    pub site_root: PathBuf,
    /// `DATABASE_URL`, default `sqlite://data/billing-center.db`; `postgres://…` selects PostgreSQL.
    pub database_url: String,
    /// `PREPAID_CARD_VALIDITY_DAYS`, default 365: how long a card bought or assigned stays valid.
    pub prepaid_card_validity_days: i64,
    /// `PUBLIC_URL`, the address people use (default `http://` + the listen address). When it is
    /// https, session cookies are `Secure`.
    pub public_url: String,
    /// How online top-ups are paid: Alipay when `ALIPAY_APP_ID`, `ALIPAY_PRIVATE_KEY_FILE`,
    /// `ALIPAY_PUBLIC_KEY_FILE` and `ALIPAY_SELLER_ID` are set (with `ALIPAY_GATEWAY_URL`); the
    /// built-in sandbox gateway only with `PAYMENT_SANDBOX=on` (or `serve --demo`); otherwise none:
    /// online top-ups are refused and bank transfers still work.
    pub online_payments: crate::payments::OnlinePayments,
    /// `BANK_PAYEE_NAME`, `BANK_PAYEE_BANK`, `BANK_PAYEE_ACCOUNT`: where customers send bank transfers.
    pub bank_payee: crate::payments::BankPayee,
    /// Days end, and are settled, at 00:00 in this timezone (SETTLEMENT_TIMEZONE, IANA name).
    pub settlement_timezone: chrono_tz::Tz,
    /// Whether this process runs the nightly settlement (SETTLEMENT_SCHEDULER=off to leave it to others).
    pub settlement_scheduler: bool,
    /// `SETTLEMENT_LEASE_SECONDS` (5 to 3600, default 30): how soon another process takes over the
    /// day of a settlement run that died.
    pub settlement_lease_seconds: i64,
    /// `SETTLEMENT_BATCH_SIZE` (1 to 5000, default 2000): daily bills charged per transaction.
    pub settlement_batch_size: usize,
    /// `SETTLEMENT_SHARDS` (1 to 256; default 1 on SQLite, 4 on PostgreSQL): into how many parts,
    /// each under its own lease, a day is split so that several processes settle it together.
    pub settlement_shards: Option<i64>,
    /// `TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For` names the client (default none).
    pub trusted_proxies: TrustedProxies,
    /// `SIGN_UPS_PER_HOUR`: sign-ups one client address may attempt per hour (default 10).
    pub sign_ups_per_hour: i64,
    /// `METRICS_TOKEN` (16 to 256 visible ASCII characters): when set, `/metrics` wants it as a
    /// bearer token; unset, `/metrics` is open (keep it off the public internet at the proxy).
    pub metrics_token: Option<String>,
    /// `CONSOLE_SIGNING_KEY` (at least 32 bytes): the secret the SaaS console signs its tokens
    /// with (docs/INTEGRATION.md). Set, binding a workspace needs the console's owner token.
    pub console_key: Option<backend::console::ConsoleKey>,
    /// `CONSOLE_ORIGINS`: the origins (space separated) allowed to frame the workspace panel.
    pub console_origins: Vec<String>,
    /// The console key is the demo's own (`serve --demo`): it signs the demo console's tokens,
    /// but binding by id stays open, as on a standalone install.
    pub demo_console: bool,
    /// `SMTP_URL` (lettre's form: `smtp://host:port`, `smtp://host:port?tls=required`,
    /// `smtps://user:password@host`) and `SMTP_FROM`: where mail is delivered, and from whom.
    /// Unset, messages wait in the outbox (shown at /ops).
    pub smtp: Option<SmtpSettings>,
    /// `OPERATOR_ALERT_EMAIL` (comma separated), `OPERATOR_ALERT_LANGUAGE` (zh-CN or en) and
    /// `ARREARS_GRACE_DAYS` (1 to 90, default 14); links in mail point at `PUBLIC_URL`.
    pub mail: backend::mail::MailSettings,
    /// `MAIL_GIVE_UP_HOURS` (1 to 168, default 24): how long a message is retried.
    pub mail_give_up_hours: i64,
    /// `ALIYUN_MARKET_KEY`: the ISV key of Alibaba Cloud Marketplace's SPI (its token).
    pub aliyun_market_key: Option<String>,
    /// `ALIYUN_ACCESS_KEY_ID` + `ALIYUN_ACCESS_KEY_SECRET` (together), `ALIYUN_MARKET_ENDPOINT`
    /// (default `https://market.aliyuncs.com/`), `ALIYUN_METERING_KEY` (default `Unit`): where
    /// what Alibaba-settled workspaces cost is pushed (`PushMeteringData`).
    pub aliyun_metering: Option<backend::cloud::metering::AliyunMetering>,
    /// `HUAWEI_MARKET_KEY` (the SaaS interface's access key; it also signs usage pushes) with
    /// `HUAWEI_ACCESS_KEY_ID` + `HUAWEI_ACCESS_KEY_SECRET` (AK/SK, for Query Order) and
    /// `HUAWEI_MARKET_ENDPOINT` (default `https://mkt.myhuaweicloud.com`): all three keys or none.
    pub huawei_market: Option<backend::cloud::huawei::HuaweiMarket>,
    /// `AWS_MARKETPLACE_PRODUCT_CODE`, `AWS_MARKETPLACE_ACCESS_KEY_ID`,
    /// `AWS_MARKETPLACE_SECRET_ACCESS_KEY` and `AWS_MARKETPLACE_SNS_TOPIC_ARN` (all four or none;
    /// their own names, so the host's `AWS_*` for other tools change nothing),
    /// `AWS_MARKETPLACE_SESSION_TOKEN` (temporary credentials), `AWS_MARKETPLACE_REGION`
    /// (default `us-east-1`), `AWS_MARKETPLACE_METERING_ENDPOINT` (default the region's Metering
    /// Service), `AWS_MARKETPLACE_DIMENSION` (default `usage_fen`).
    pub aws_marketplace: Option<backend::cloud::aws::AwsMarketplace>,
    /// `MARKETPLACE_SANDBOX=on` (or `serve --demo`): the built-in marketplace plays Alibaba Cloud
    /// Marketplace, AWS Marketplace and Huawei Cloud KooGallery on this server (`/sandbox/marketplace`). For
    /// demos and tests only.
    pub marketplace_sandbox: bool,
}

/// The marketplace sandbox's own keys: public on purpose, like everything in a sandbox (it is
/// refused together with real marketplace keys).
pub const SANDBOX_ALIYUN_MARKET_KEY: &str = "billing-center-sandbox-isv-key";
pub const SANDBOX_ALIYUN_ACCESS_KEY_ID: &str = "sandbox-access-key-id";
pub const SANDBOX_ALIYUN_ACCESS_KEY_SECRET: &str = "billing-center-sandbox-access-secret";
/// Where the sandbox receives `PushMeteringData`.
pub const SANDBOX_ALIYUN_MARKET_PATH: &str = "/sandbox/aliyun/market";
pub const SANDBOX_HUAWEI_MARKET_KEY: &str = "billing-center-sandbox-koogallery-key";
pub const SANDBOX_HUAWEI_ACCESS_KEY_ID: &str = "sandbox-huawei-ak";
pub const SANDBOX_HUAWEI_ACCESS_KEY_SECRET: &str = "billing-center-sandbox-huawei-sk";
/// Where the sandbox plays KooGallery's open API (Query Order, usage-data) on this server.
pub const SANDBOX_HUAWEI_ENDPOINT_PATH: &str = "/sandbox/huawei";
pub const SANDBOX_AWS_PRODUCT_CODE: &str = "bcsandbox0product0code";
pub const SANDBOX_AWS_ACCESS_KEY_ID: &str = "AKIASANDBOXBILLINGCTR";
pub const SANDBOX_AWS_SECRET_ACCESS_KEY: &str = "billing-center-sandbox-aws-secret-access-key";
pub const SANDBOX_AWS_TOPIC_ARN: &str =
    "arn:aws:sns:us-east-1:000000000000:aws-mp-subscription-notification-bcsandbox0product0code";
/// Where the sandbox plays the AWS Marketplace Metering Service, and serves its SNS certificate.
pub const SANDBOX_AWS_METERING_PATH: &str = "/sandbox/aws/metering";
pub const SANDBOX_AWS_CERTIFICATE_PATH: &str = "/sandbox/aws/sns-certificate.pem";

/// Where mail goes out. The URL may hold credentials: never printed.
#[derive(Clone)]
pub struct SmtpSettings {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// The reverse proxies (addresses and CIDR ranges) allowed to say who the client is. Empty: trust
/// no forwarded header, the client is the socket peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpRange]>);

/// An address range `network/prefix` (a single address has the full prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`; the network is masked to its prefix.
    pub fn parse(text: &str) -> Option<IpRange> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let network = network.to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => bits,
        };
        if prefix > bits {
            return None;
        }
        Some(IpRange {
            network: mask(network, prefix),
            prefix,
        })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

impl TrustedProxies {
    /// Comma-separated addresses or CIDR ranges (spaces allowed, empty entries ignored); the first
    /// entry that is neither is the error.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| IpRange::parse(entry).ok_or_else(|| entry.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map(|ranges| TrustedProxies(ranges.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name}='{value}' is not a socket address like 127.0.0.1:3000")]
    BadAddress { name: &'static str, value: String },
    #[error("DATABASE_URL='{0}' must start with sqlite:// or postgres://")]
    BadDatabaseUrl(String),
    #[error("PREPAID_CARD_VALIDITY_DAYS='{0}' must be a whole number of days from 1 to 3650")]
    BadValidityDays(String),
    #[error("PUBLIC_URL='{0}' must start with https:// or http://")]
    BadPublicUrl(String),
    #[error(
        "Alipay needs ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY_FILE, ALIPAY_PUBLIC_KEY_FILE and ALIPAY_SELLER_ID together; {0} is not set"
    )]
    IncompleteAlipay(&'static str),
    #[error("{name}='{path}' cannot be read: {reason}")]
    UnreadableFile {
        name: &'static str,
        path: String,
        reason: String,
    },
    #[error("{name}: {reason}")]
    BadKey { name: &'static str, reason: String },
    #[error("{name}='{value}' must start with https://")]
    BadHttpsUrl { name: &'static str, value: String },
    #[error("SETTLEMENT_TIMEZONE='{0}' is not an IANA timezone name like Asia/Shanghai")]
    BadTimezone(String),
    #[error("SETTLEMENT_SCHEDULER='{0}' must be on or off")]
    BadSchedulerSwitch(String),
    #[error("SETTLEMENT_LEASE_SECONDS='{0}' must be a whole number of seconds from 5 to 3600")]
    BadLeaseSeconds(String),
    #[error("SETTLEMENT_BATCH_SIZE='{0}' must be a whole number of bills from 1 to 5000")]
    BadBatchSize(String),
    #[error("SETTLEMENT_SHARDS='{0}' must be a whole number of shards from 1 to 256")]
    BadShards(String),
    #[error("PAYMENT_SANDBOX='{0}' must be on or off")]
    BadSandboxSwitch(String),
    #[error(
        "PAYMENT_SANDBOX=on cannot be combined with Alipay keys: the sandbox plays Alipay, so it is for servers without real payments"
    )]
    SandboxWithAlipay,
    #[error(
        "TRUSTED_PROXIES: '{0}' is not an IP address or CIDR range (like 10.0.0.1, 10.0.0.0/8 or fd00::/8)"
    )]
    BadTrustedProxy(String),
    #[error("SIGN_UPS_PER_HOUR='{0}' must be a whole number from 1 to 100000")]
    BadSignUpLimit(String),
    #[error(
        "METRICS_TOKEN: a token of 16 to 256 visible ASCII characters (no spaces), got {0} characters"
    )]
    BadMetricsToken(usize),
    #[error("{0}")]
    BadConsoleKey(backend::console::ConsoleKeyTooShort),
    #[error(
        "CONSOLE_ORIGINS: '{0}' is not an origin (scheme://host[:port], no path), like https://console.example.com"
    )]
    BadConsoleOrigin(String),
    #[error(
        "CONSOLE_ORIGINS is set but CONSOLE_SIGNING_KEY is not: the panel can only be framed for a console that signs tokens"
    )]
    ConsoleOriginsWithoutKey,
    #[error("{0}")]
    BadSmtp(String),
    #[error(
        "SMTP_URL is set but SMTP_FROM is not: say who mail is from, like 'Billing Center <billing@example.com>'"
    )]
    SmtpWithoutFrom,
    #[error("OPERATOR_ALERT_EMAIL: '{0}' is not an email address")]
    BadOperatorEmail(String),
    #[error("OPERATOR_ALERT_LANGUAGE='{0}' must be zh-CN or en")]
    BadOperatorLanguage(String),
    #[error("ARREARS_GRACE_DAYS='{0}' must be a whole number of days from 1 to 90")]
    BadGraceDays(String),
    #[error("MAIL_GIVE_UP_HOURS='{0}' must be a whole number of hours from 1 to 168")]
    BadGiveUpHours(String),
    #[error(
        "ALIYUN_MARKET_KEY: the marketplace's ISV key, 16 to 256 visible ASCII characters (got {0} characters)"
    )]
    BadAliyunKey(usize),
    #[error("ALIYUN_ACCESS_KEY_ID and ALIYUN_ACCESS_KEY_SECRET go together; {0} is not set")]
    IncompleteAliyunAccessKey(&'static str),
    #[error(
        "HUAWEI_MARKET_KEY: KooGallery's access key, 16 to 256 visible ASCII characters (got {0} characters)"
    )]
    BadHuaweiKey(usize),
    #[error(
        "HUAWEI_MARKET_KEY, HUAWEI_ACCESS_KEY_ID and HUAWEI_ACCESS_KEY_SECRET go together; {0} is not set"
    )]
    IncompleteHuaweiKeys(&'static str),
    #[error(
        "AWS_MARKETPLACE_PRODUCT_CODE, AWS_MARKETPLACE_ACCESS_KEY_ID, AWS_MARKETPLACE_SECRET_ACCESS_KEY and AWS_MARKETPLACE_SNS_TOPIC_ARN go together; {0} is not set"
    )]
    IncompleteAwsKeys(&'static str),
    #[error(
        "AWS_MARKETPLACE_SNS_TOPIC_ARN='{0}' is not an SNS topic ARN (arn:aws:sns:region:account:name)"
    )]
    BadAwsTopic(String),
    #[error("AWS_MARKETPLACE_REGION='{0}' is not a region name such as us-east-1")]
    BadAwsRegion(String),
    #[error("MARKETPLACE_SANDBOX='{0}' must be on or off")]
    BadMarketplaceSandboxSwitch(String),
    #[error(
        "MARKETPLACE_SANDBOX=on cannot be combined with real marketplace keys (Alibaba Cloud, AWS, Huawei Cloud): the sandbox plays the marketplaces"
    )]
    MarketplaceSandboxWithKeys,
}

/// `https://host[:port]` or `http://host[:port]`, without path, query or credentials.
fn is_origin(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let site_addr = match lookup("LEPTOS_SITE_ADDR") {
            Some(value) => value.parse().map_err(|_| ConfigError::BadAddress {
                name: "LEPTOS_SITE_ADDR",
                value: value.clone(),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let site_root = lookup("LEPTOS_SITE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target/site"));
        let database_url = lookup("DATABASE_URL")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| backend::store::DEFAULT_DATABASE_URL.to_owned());
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| database_url.starts_with(p))
        {
            return Err(ConfigError::BadDatabaseUrl(database_url));
        }
        let prepaid_card_validity_days = match lookup("PREPAID_CARD_VALIDITY_DAYS") {
            Some(value) => match value.parse::<i64>() {
                Ok(days) if (1..=3650).contains(&days) => days,
                _ => return Err(ConfigError::BadValidityDays(value)),
            },
            None => billing::wallet_rules::DEFAULT_PREPAID_CARD_VALIDITY_DAYS,
        };
        let public_url = match lookup("PUBLIC_URL") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(url) => return Err(ConfigError::BadPublicUrl(url)),
            None => format!("http://{site_addr}"),
        };
        let settlement_lease_seconds = match lookup("SETTLEMENT_LEASE_SECONDS") {
            Some(value) => match value.trim().parse::<i64>() {
                Ok(seconds) if (5..=3600).contains(&seconds) => seconds,
                _ => return Err(ConfigError::BadLeaseSeconds(value)),
            },
            None => backend::settlement::LEASE_SECONDS,
        };
        let settlement_batch_size = match lookup("SETTLEMENT_BATCH_SIZE") {
            Some(value) => match value.trim().parse::<usize>() {
                Ok(bills) if (1..=5000).contains(&bills) => bills,
                _ => return Err(ConfigError::BadBatchSize(value)),
            },
            None => backend::settlement::BATCH_SIZE,
        };
        let settlement_shards = match lookup("SETTLEMENT_SHARDS") {
            Some(value) => match value.trim().parse::<i64>() {
                Ok(shards) if (1..=backend::settlement::MAX_SHARDS).contains(&shards) => {
                    Some(shards)
                }
                _ => return Err(ConfigError::BadShards(value)),
            },
            None => None,
        };
        let online_payments = online_payments(&lookup)?;
        let bank_payee = crate::payments::BankPayee::from_lookup(&lookup);
        let settlement_timezone = match lookup("SETTLEMENT_TIMEZONE") {
            Some(name) => name
                .parse::<chrono_tz::Tz>()
                .map_err(|_| ConfigError::BadTimezone(name))?,
            None => backend::store::DEFAULT_SETTLEMENT_TIMEZONE,
        };
        let settlement_scheduler = match lookup("SETTLEMENT_SCHEDULER").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(ConfigError::BadSchedulerSwitch(other.to_owned())),
        };
        let trusted_proxies = TrustedProxies::parse(&lookup("TRUSTED_PROXIES").unwrap_or_default())
            .map_err(ConfigError::BadTrustedProxy)?;
        let sign_ups_per_hour = match lookup("SIGN_UPS_PER_HOUR") {
            Some(value) => match value.trim().parse::<i64>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => return Err(ConfigError::BadSignUpLimit(value)),
            },
            None => backend::auth::rate_limit::DEFAULT_SIGN_UPS_PER_HOUR,
        };
        let metrics_token = match lookup("METRICS_TOKEN") {
            Some(token)
                if (16..=256).contains(&token.len())
                    && token.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(token)
            }
            Some(token) => return Err(ConfigError::BadMetricsToken(token.len())),
            None => None,
        };
        let console_key = match lookup("CONSOLE_SIGNING_KEY") {
            Some(text) => Some(
                backend::console::ConsoleKey::from_text(&text)
                    .map_err(ConfigError::BadConsoleKey)?,
            ),
            None => None,
        };
        let mut console_origins = Vec::new();
        for origin in lookup("CONSOLE_ORIGINS")
            .unwrap_or_default()
            .split_whitespace()
        {
            let origin = origin.trim_end_matches('/');
            if !is_origin(origin) {
                return Err(ConfigError::BadConsoleOrigin(origin.to_owned()));
            }
            console_origins.push(origin.to_owned());
        }
        if !console_origins.is_empty() && console_key.is_none() {
            return Err(ConfigError::ConsoleOriginsWithoutKey);
        }
        let smtp = match (
            lookup("SMTP_URL").filter(|v| !v.is_empty()),
            lookup("SMTP_FROM"),
        ) {
            (None, _) => None,
            (Some(_), None) => return Err(ConfigError::SmtpWithoutFrom),
            (Some(url), Some(from)) => {
                // Checked here so a bad setting stops the server at start, not at the first mail.
                backend::mail::sender::Sender::new(&url, &from)
                    .map_err(|e| ConfigError::BadSmtp(e.to_string()))?;
                Some(SmtpSettings { url, from })
            }
        };
        let mut operator_recipients = Vec::new();
        for address in lookup("OPERATOR_ALERT_EMAIL")
            .unwrap_or_default()
            .split(',')
        {
            let address = address.trim();
            if address.is_empty() {
                continue;
            }
            let normalised = backend::auth::customers::normalise_email(address)
                .map_err(|_| ConfigError::BadOperatorEmail(address.to_owned()))?;
            operator_recipients.push(normalised);
        }
        let operator_language = match lookup("OPERATOR_ALERT_LANGUAGE") {
            Some(code) => backend::mail::Language::from_code(&code)
                .ok_or(ConfigError::BadOperatorLanguage(code))?,
            None => backend::mail::Language::default(),
        };
        let arrears_grace_days = match lookup("ARREARS_GRACE_DAYS") {
            Some(value) => match value.trim().parse::<i64>() {
                Ok(days) if (1..=billing::alerts::MAX_ARREARS_GRACE_DAYS).contains(&days) => days,
                _ => return Err(ConfigError::BadGraceDays(value)),
            },
            None => billing::alerts::DEFAULT_ARREARS_GRACE_DAYS,
        };
        let mail_give_up_hours = match lookup("MAIL_GIVE_UP_HOURS") {
            Some(value) => match value.trim().parse::<i64>() {
                Ok(hours) if (1..=168).contains(&hours) => hours,
                _ => return Err(ConfigError::BadGiveUpHours(value)),
            },
            None => backend::mail::outbox::DEFAULT_GIVE_UP_AFTER_HOURS,
        };
        let mail = backend::mail::MailSettings {
            public_url: public_url.clone(),
            operator_recipients,
            operator_language,
            arrears_grace_days,
        };
        let aliyun_market_key = match lookup("ALIYUN_MARKET_KEY") {
            Some(key)
                if (16..=256).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(key)
            }
            Some(key) => return Err(ConfigError::BadAliyunKey(key.len())),
            None => None,
        };
        let aliyun_metering = match (
            lookup("ALIYUN_ACCESS_KEY_ID").filter(|v| !v.is_empty()),
            lookup("ALIYUN_ACCESS_KEY_SECRET").filter(|v| !v.is_empty()),
        ) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::IncompleteAliyunAccessKey(
                    "ALIYUN_ACCESS_KEY_SECRET",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::IncompleteAliyunAccessKey(
                    "ALIYUN_ACCESS_KEY_ID",
                ));
            }
            (Some(access_key_id), Some(access_key_secret)) => {
                let endpoint = lookup("ALIYUN_MARKET_ENDPOINT")
                    .unwrap_or_else(|| "https://market.aliyuncs.com/".to_owned());
                if !endpoint.starts_with("https://") {
                    return Err(ConfigError::BadHttpsUrl {
                        name: "ALIYUN_MARKET_ENDPOINT",
                        value: endpoint,
                    });
                }
                Some(backend::cloud::metering::AliyunMetering {
                    endpoint,
                    access_key_id,
                    access_key_secret,
                    metering_key: lookup("ALIYUN_METERING_KEY")
                        .unwrap_or_else(|| "Unit".to_owned()),
                })
            }
        };
        let huawei_market = match (
            lookup("HUAWEI_MARKET_KEY").filter(|v| !v.is_empty()),
            lookup("HUAWEI_ACCESS_KEY_ID").filter(|v| !v.is_empty()),
            lookup("HUAWEI_ACCESS_KEY_SECRET").filter(|v| !v.is_empty()),
        ) {
            (None, None, None) => None,
            (Some(market_key), Some(access_key_id), Some(access_key_secret)) => {
                if !((16..=256).contains(&market_key.len())
                    && market_key.bytes().all(|b| b.is_ascii_graphic()))
                {
                    return Err(ConfigError::BadHuaweiKey(market_key.len()));
                }
                let endpoint = lookup("HUAWEI_MARKET_ENDPOINT")
                    .unwrap_or_else(|| "https://mkt.myhuaweicloud.com".to_owned());
                if !endpoint.starts_with("https://") {
                    return Err(ConfigError::BadHttpsUrl {
                        name: "HUAWEI_MARKET_ENDPOINT",
                        value: endpoint,
                    });
                }
                Some(backend::cloud::huawei::HuaweiMarket {
                    endpoint: endpoint.trim_end_matches('/').to_owned(),
                    market_key,
                    access_key_id,
                    access_key_secret,
                })
            }
            (key, id, secret) => {
                let missing = [
                    ("HUAWEI_MARKET_KEY", key.is_none()),
                    ("HUAWEI_ACCESS_KEY_ID", id.is_none()),
                    ("HUAWEI_ACCESS_KEY_SECRET", secret.is_none()),
                ]
                .into_iter()
                .find(|(_, missing)| *missing)
                .map(|(name, _)| name)
                .unwrap_or("HUAWEI_MARKET_KEY");
                return Err(ConfigError::IncompleteHuaweiKeys(missing));
            }
        };
        let aws_marketplace = match (
            lookup("AWS_MARKETPLACE_PRODUCT_CODE").filter(|v| !v.is_empty()),
            lookup("AWS_MARKETPLACE_ACCESS_KEY_ID").filter(|v| !v.is_empty()),
            lookup("AWS_MARKETPLACE_SECRET_ACCESS_KEY").filter(|v| !v.is_empty()),
            lookup("AWS_MARKETPLACE_SNS_TOPIC_ARN").filter(|v| !v.is_empty()),
        ) {
            (None, None, None, None) => None,
            (Some(product_code), Some(access_key_id), Some(secret_access_key), Some(topic_arn)) => {
                if !topic_arn.starts_with("arn:aws") || topic_arn.split(':').count() != 6 {
                    return Err(ConfigError::BadAwsTopic(topic_arn));
                }
                let region =
                    lookup("AWS_MARKETPLACE_REGION").unwrap_or_else(|| "us-east-1".to_owned());
                if region.is_empty()
                    || !region
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(ConfigError::BadAwsRegion(region));
                }
                let endpoint = lookup("AWS_MARKETPLACE_METERING_ENDPOINT").unwrap_or_else(|| {
                    format!("https://metering.marketplace.{region}.amazonaws.com")
                });
                if !endpoint.starts_with("https://") {
                    return Err(ConfigError::BadHttpsUrl {
                        name: "AWS_MARKETPLACE_METERING_ENDPOINT",
                        value: endpoint,
                    });
                }
                Some(backend::cloud::aws::AwsMarketplace {
                    endpoint,
                    region,
                    access_key_id,
                    secret_access_key,
                    session_token: lookup("AWS_MARKETPLACE_SESSION_TOKEN")
                        .filter(|v| !v.is_empty()),
                    product_code,
                    dimension: lookup("AWS_MARKETPLACE_DIMENSION")
                        .unwrap_or_else(|| "usage_fen".to_owned()),
                    topic_arn,
                    notifications: backend::cloud::aws::SnsVerifier {
                        certificates: backend::cloud::aws::sns::Certificates::amazon(),
                    },
                })
            }
            (code, id, secret, topic) => {
                let missing = [
                    ("AWS_MARKETPLACE_PRODUCT_CODE", code.is_none()),
                    ("AWS_MARKETPLACE_ACCESS_KEY_ID", id.is_none()),
                    ("AWS_MARKETPLACE_SECRET_ACCESS_KEY", secret.is_none()),
                    ("AWS_MARKETPLACE_SNS_TOPIC_ARN", topic.is_none()),
                ]
                .into_iter()
                .find(|(_, missing)| *missing)
                .map(|(name, _)| name)
                .unwrap_or("AWS_MARKETPLACE_PRODUCT_CODE");
                return Err(ConfigError::IncompleteAwsKeys(missing));
            }
        };
        let marketplace_sandbox = match lookup("MARKETPLACE_SANDBOX").as_deref().map(str::trim) {
            None | Some("off") | Some("") => false,
            Some("on") => true,
            Some(other) => return Err(ConfigError::BadMarketplaceSandboxSwitch(other.to_owned())),
        };
        if marketplace_sandbox
            && (aliyun_market_key.is_some()
                || aliyun_metering.is_some()
                || huawei_market.is_some()
                || aws_marketplace.is_some())
        {
            return Err(ConfigError::MarketplaceSandboxWithKeys);
        }
        let mut config = Config {
            aws_marketplace,
            huawei_market,
            aliyun_metering,
            marketplace_sandbox: false,
            aliyun_market_key,
            smtp,
            mail,
            mail_give_up_hours,
            console_key,
            console_origins,
            demo_console: false,
            metrics_token,
            settlement_timezone,
            settlement_scheduler,
            settlement_lease_seconds,
            settlement_batch_size,
            settlement_shards,
            trusted_proxies,
            sign_ups_per_hour,
            site_addr,
            site_root,
            database_url,
            prepaid_card_validity_days,
            public_url,
            online_payments,
            bank_payee,
        };
        if marketplace_sandbox {
            config = config.with_marketplace_sandbox();
        }
        Ok(config)
    }

    /// Plays the marketplaces on this server (`MARKETPLACE_SANDBOX=on`, `serve --demo`), unless
    /// real marketplace keys are configured: the SPI takes the sandbox's key, and metering is
    /// pushed to the sandbox on this process's own address.
    pub fn with_marketplace_sandbox(mut self) -> Config {
        if self.aliyun_market_key.is_none()
            && self.aliyun_metering.is_none()
            && self.huawei_market.is_none()
            && self.aws_marketplace.is_none()
        {
            self.marketplace_sandbox = true;
            self.aws_marketplace = Some(backend::cloud::aws::AwsMarketplace {
                endpoint: format!("{}{SANDBOX_AWS_METERING_PATH}", self.local_url()),
                region: "us-east-1".to_owned(),
                access_key_id: SANDBOX_AWS_ACCESS_KEY_ID.to_owned(),
                secret_access_key: SANDBOX_AWS_SECRET_ACCESS_KEY.to_owned(),
                session_token: None,
                product_code: SANDBOX_AWS_PRODUCT_CODE.to_owned(),
                dimension: "usage_fen".to_owned(),
                topic_arn: SANDBOX_AWS_TOPIC_ARN.to_owned(),
                notifications: backend::cloud::aws::SnsVerifier {
                    certificates: backend::cloud::aws::sns::Certificates::Sandbox {
                        url: format!("{}{SANDBOX_AWS_CERTIFICATE_PATH}", self.local_url()),
                        pem: backend::cloud::aws::SANDBOX_SNS_CERTIFICATE.to_owned(),
                    },
                },
            });
            self.huawei_market = Some(backend::cloud::huawei::HuaweiMarket {
                endpoint: format!("{}{SANDBOX_HUAWEI_ENDPOINT_PATH}", self.local_url()),
                market_key: SANDBOX_HUAWEI_MARKET_KEY.to_owned(),
                access_key_id: SANDBOX_HUAWEI_ACCESS_KEY_ID.to_owned(),
                access_key_secret: SANDBOX_HUAWEI_ACCESS_KEY_SECRET.to_owned(),
            });
            self.aliyun_market_key = Some(SANDBOX_ALIYUN_MARKET_KEY.to_owned());
            self.aliyun_metering = Some(backend::cloud::metering::AliyunMetering {
                endpoint: format!("{}{SANDBOX_ALIYUN_MARKET_PATH}", self.local_url()),
                access_key_id: SANDBOX_ALIYUN_ACCESS_KEY_ID.to_owned(),
                access_key_secret: SANDBOX_ALIYUN_ACCESS_KEY_SECRET.to_owned(),
                metering_key: "Unit".to_owned(),
            });
        }
        self
    }

    /// Plays the console (what `serve --demo` does) with a key made at random for this process,
    /// unless a console key is configured: only /demo/console, in this process, signs with it,
    /// so nobody else can make tokens for a public demo. The demo console page frames the panel
    /// from this server's own origin.
    pub fn with_demo_console(mut self) -> Config {
        if self.console_key.is_none() {
            self.console_key =
                backend::console::ConsoleKey::from_text(&backend::auth::random_token(32)).ok();
            self.demo_console = true;
            // The demo console is this server's own page (whatever name it is opened by).
            if !self.console_origins.iter().any(|o| o == "'self'") {
                self.console_origins.push("'self'".to_owned());
            }
        }
        self
    }

    /// Turns the payment sandbox on (what `serve --demo` does), unless real Alipay is configured.
    pub fn with_demo_sandbox(mut self) -> Config {
        if matches!(
            self.online_payments,
            crate::payments::OnlinePayments::Unavailable
        ) {
            self.online_payments = crate::payments::OnlinePayments::Sandbox;
        }
        self
    }

    /// Where this process itself answers: the listen address, with an unspecified IP (0.0.0.0,
    /// ::) replaced by loopback. The sandbox delivers its notifications here.
    pub fn local_url(&self) -> String {
        let mut addr = self.site_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    }

    /// Connects to the database and applies pending migrations.
    pub async fn open_store(
        &self,
    ) -> Result<backend::Store, Box<dyn std::error::Error + Send + Sync>> {
        let store = backend::Store::open(&self.database_url)
            .await?
            .with_prepaid_card_validity_days(self.prepaid_card_validity_days)?
            .with_settlement_timezone(self.settlement_timezone)
            .with_settlement_lease_seconds(self.settlement_lease_seconds)
            .with_settlement_batch_size(self.settlement_batch_size)
            .with_sign_ups_per_hour(self.sign_ups_per_hour)
            .with_console_key(self.console_key.clone(), !self.demo_console)
            .with_mail_settings(self.mail.clone());
        Ok(match self.settlement_shards {
            Some(shards) => store.with_settlement_shards(shards),
            None => store,
        })
    }

    /// The mail sender of this process, when `SMTP_URL` is set.
    pub fn mail_sender(&self) -> Option<backend::mail::sender::Sender> {
        let smtp = self.smtp.as_ref()?;
        let sender = backend::mail::sender::Sender::new(&smtp.url, &smtp.from).ok()?;
        Some(sender.give_up_after(chrono::Duration::hours(self.mail_give_up_hours)))
    }

    pub fn secure_cookies(&self) -> crate::auth::SecureCookies {
        crate::auth::SecureCookies(self.public_url.starts_with("https://"))
    }

    /// What the router needs besides the store.
    pub fn settings(&self) -> crate::router::Settings {
        crate::router::Settings {
            secure_cookies: self.secure_cookies(),
            public_url: self.public_url.clone(),
            local_url: self.local_url(),
            online_payments: self.online_payments.clone(),
            bank_payee: self.bank_payee.clone(),
            scheduler: None,
            trusted_proxies: self.trusted_proxies.clone(),
            metrics_token: self.metrics_token.as_deref().map(Arc::from),
            console_origins: self.console_origins.clone(),
            demo_console: self.demo_console,
            smtp_configured: self.smtp.is_some(),
            aliyun_market_key: self.aliyun_market_key.as_deref().map(Arc::from),
            huawei_market: self.huawei_market.clone().map(Arc::new),
            aws_marketplace: self.aws_marketplace.clone().map(Arc::new),
            marketplace_sandbox: self.marketplace_sandbox,
        }
    }

    /// Leptos's own options. The bundle is named [`app::OUTPUT_NAME`] and built by plain cargo and
    /// wasm-bindgen, so its WASM file keeps wasm-bindgen's `_bg` suffix (see scripts/site.sh).
    pub fn leptos_options(&self) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name(app::OUTPUT_NAME)
            .site_root(self.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(self.site_addr)
            .build()
    }
}

fn online_payments(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<crate::payments::OnlinePayments, ConfigError> {
    use backend::payments::AlipayMerchant;
    use backend::payments::alipay::{PRODUCTION_GATEWAY, PrivateKey, PublicKey};
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let names = [
        "ALIPAY_APP_ID",
        "ALIPAY_PRIVATE_KEY_FILE",
        "ALIPAY_PUBLIC_KEY_FILE",
    ];
    let set: Vec<Option<String>> = names.iter().map(|n| get(n)).collect();
    let sandbox = match lookup("PAYMENT_SANDBOX").as_deref().map(str::trim) {
        None | Some("off") | Some("") => false,
        Some("on") => true,
        Some(other) => return Err(ConfigError::BadSandboxSwitch(other.to_owned())),
    };
    if set.iter().all(Option::is_none) {
        return Ok(if sandbox {
            crate::payments::OnlinePayments::Sandbox
        } else {
            crate::payments::OnlinePayments::Unavailable
        });
    }
    if sandbox {
        return Err(ConfigError::SandboxWithAlipay);
    }
    if let Some(missing) = names
        .iter()
        .zip(&set)
        .find(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
    {
        return Err(ConfigError::IncompleteAlipay(missing));
    }
    let read = |name: &'static str, path: &str| {
        std::fs::read_to_string(path).map_err(|e| ConfigError::UnreadableFile {
            name,
            path: path.to_owned(),
            reason: e.to_string(),
        })
    };
    let private_path = set[1].clone().unwrap_or_default();
    let public_path = set[2].clone().unwrap_or_default();
    let merchant_key = PrivateKey::parse(&read("ALIPAY_PRIVATE_KEY_FILE", &private_path)?)
        .map_err(|e| ConfigError::BadKey {
            name: "ALIPAY_PRIVATE_KEY_FILE",
            reason: e.to_string(),
        })?;
    let alipay_key =
        PublicKey::parse(&read("ALIPAY_PUBLIC_KEY_FILE", &public_path)?).map_err(|e| {
            ConfigError::BadKey {
                name: "ALIPAY_PUBLIC_KEY_FILE",
                reason: e.to_string(),
            }
        })?;
    // Without the seller id a notification for another merchant's trade with the same app could
    // not be told apart (Alipay's docs: verify seller_id).
    let Some(seller_id) = get("ALIPAY_SELLER_ID") else {
        return Err(ConfigError::IncompleteAlipay("ALIPAY_SELLER_ID"));
    };
    let gateway_url = get("ALIPAY_GATEWAY_URL").unwrap_or_else(|| PRODUCTION_GATEWAY.to_owned());
    // Trade queries are answered over this connection: never in the clear.
    if !gateway_url.starts_with("https://") {
        return Err(ConfigError::BadHttpsUrl {
            name: "ALIPAY_GATEWAY_URL",
            value: gateway_url,
        });
    }
    Ok(crate::payments::OnlinePayments::Alipay(AlipayMerchant {
        app_id: set[0].clone().unwrap_or_default().trim().to_owned(),
        merchant_key,
        alipay_key,
        gateway_url,
        seller_id: Some(seller_id),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_locally() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.site_root, PathBuf::from("target/site"));
        assert_eq!(config.database_url, "sqlite://data/billing-center.db");
        assert_eq!(config.prepaid_card_validity_days, 365);
        assert!(matches!(
            config.online_payments,
            crate::payments::OnlinePayments::Unavailable
        ));
    }

    #[test]
    fn the_settlement_shards_are_a_number_from_1_to_256() {
        let with = |value: &'static str| {
            Config::from_lookup(move |n| (n == "SETTLEMENT_SHARDS").then(|| value.to_owned()))
        };
        assert_eq!(
            Config::from_lookup(|_| None).unwrap().settlement_shards,
            None
        );
        assert_eq!(with(" 8 ").unwrap().settlement_shards, Some(8));
        for bad in ["0", "257", "-1", "two", ""] {
            assert_eq!(
                with(bad).unwrap_err(),
                ConfigError::BadShards(bad.into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_console_key_is_32_bytes_or_more_and_its_origins_are_origins() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |n| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == n)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let key = "a console key of thirty-two bytes, at least";
        assert!(matches!(
            with(&[("CONSOLE_SIGNING_KEY", "short")]),
            Err(ConfigError::BadConsoleKey(_))
        ));
        let config = with(&[
            (
                "CONSOLE_SIGNING_KEY",
                "a console key of thirty-two bytes, at least",
            ),
            (
                "CONSOLE_ORIGINS",
                "https://console.example.com  http://localhost:8080/",
            ),
        ])
        .unwrap();
        assert!(config.console_key.is_some() && !config.demo_console);
        assert_eq!(
            config.console_origins,
            ["https://console.example.com", "http://localhost:8080"]
        );
        for bad in [
            "console.example.com",
            "https://console.example.com/path",
            "https://user@console.example.com",
            "javascript:alert(1)",
            "https://console.example.com:port",
            "*",
        ] {
            let lookup = move |n: &str| match n {
                "CONSOLE_SIGNING_KEY" => Some(key.to_owned()),
                "CONSOLE_ORIGINS" => Some(bad.to_owned()),
                _ => None,
            };
            assert!(
                matches!(
                    Config::from_lookup(lookup),
                    Err(ConfigError::BadConsoleOrigin(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            with(&[("CONSOLE_ORIGINS", "https://console.example.com")]),
            Err(ConfigError::ConsoleOriginsWithoutKey)
        ));
        // The demo plays a console only when none is configured.
        let demo = with(&[]).unwrap().with_demo_console();
        assert!(demo.demo_console && demo.console_key.is_some());
        assert_eq!(demo.console_origins, ["'self'"]);
        let configured = with(&[(
            "CONSOLE_SIGNING_KEY",
            "a console key of thirty-two bytes, at least",
        )])
        .unwrap()
        .with_demo_console();
        assert!(!configured.demo_console);
    }

    #[test]
    fn the_settlement_batch_size_is_a_number_of_bills_from_1_to_5000() {
        let with = |value: &'static str| {
            Config::from_lookup(move |n| (n == "SETTLEMENT_BATCH_SIZE").then(|| value.to_owned()))
        };
        assert_eq!(
            Config::from_lookup(|_| None).unwrap().settlement_batch_size,
            backend::settlement::BATCH_SIZE
        );
        assert_eq!(with(" 200 ").unwrap().settlement_batch_size, 200);
        for bad in ["0", "5001", "-1", "many", ""] {
            assert_eq!(
                with(bad).unwrap_err(),
                ConfigError::BadBatchSize(bad.into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_payment_sandbox_is_off_unless_asked_for() {
        let with = |value: &'static str| {
            Config::from_lookup(move |n| (n == "PAYMENT_SANDBOX").then(|| value.to_owned()))
        };
        assert!(matches!(
            with("on").unwrap().online_payments,
            crate::payments::OnlinePayments::Sandbox
        ));
        assert!(matches!(
            with("off").unwrap().online_payments,
            crate::payments::OnlinePayments::Unavailable
        ));
        assert_eq!(
            with("yes").unwrap_err(),
            ConfigError::BadSandboxSwitch("yes".into())
        );
        let demo = Config::from_lookup(|_| None).unwrap().with_demo_sandbox();
        assert!(matches!(
            demo.online_payments,
            crate::payments::OnlinePayments::Sandbox
        ));
    }

    #[test]
    fn the_local_url_is_loopback_for_an_unspecified_listen_address() {
        let config =
            Config::from_lookup(|n| (n == "LEPTOS_SITE_ADDR").then(|| "0.0.0.0:8080".to_owned()))
                .unwrap();
        assert_eq!(config.local_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn the_settlement_timezone_and_scheduler_are_configurable_and_checked() {
        let with = |name: &'static str, value: &'static str| {
            Config::from_lookup(move |n| (n == name).then(|| value.to_owned()))
        };
        let defaults = Config::from_lookup(|_| None).unwrap();
        assert_eq!(defaults.settlement_timezone, chrono_tz::Asia::Shanghai);
        assert!(defaults.settlement_scheduler);
        assert_eq!(
            with("SETTLEMENT_TIMEZONE", "Europe/Berlin")
                .unwrap()
                .settlement_timezone,
            chrono_tz::Europe::Berlin
        );
        assert_eq!(
            with("SETTLEMENT_TIMEZONE", "Mars/Olympus").unwrap_err(),
            ConfigError::BadTimezone("Mars/Olympus".into())
        );
        assert!(
            !with("SETTLEMENT_SCHEDULER", "off")
                .unwrap()
                .settlement_scheduler
        );
        assert_eq!(
            with("SETTLEMENT_SCHEDULER", "no").unwrap_err(),
            ConfigError::BadSchedulerSwitch("no".into())
        );
    }

    #[test]
    fn alipay_is_configured_completely_or_not_at_all() {
        let fixtures = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../backend/tests/fixtures/alipay/"
        );
        let private = format!("{fixtures}test_merchant_private_key.pem");
        let public = format!("{fixtures}test_alipay_public_key.pem");
        let config = |pairs: Vec<(&'static str, String)>| {
            Config::from_lookup(move |n| {
                pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
            })
        };
        let full = config(vec![
            ("ALIPAY_APP_ID", "2021000000000000".into()),
            ("ALIPAY_PRIVATE_KEY_FILE", private.clone()),
            ("ALIPAY_PUBLIC_KEY_FILE", public.clone()),
            ("ALIPAY_SELLER_ID", "2088000000000001".into()),
        ])
        .unwrap();
        let crate::payments::OnlinePayments::Alipay(merchant) = full.online_payments else {
            panic!("Alipay expected")
        };
        assert_eq!(
            merchant.gateway_url,
            "https://openapi.alipay.com/gateway.do"
        );
        let partial = config(vec![("ALIPAY_APP_ID", "2021000000000000".into())]).unwrap_err();
        assert_eq!(
            partial,
            ConfigError::IncompleteAlipay("ALIPAY_PRIVATE_KEY_FILE")
        );
        let no_seller = config(vec![
            ("ALIPAY_APP_ID", "2021000000000000".into()),
            ("ALIPAY_PRIVATE_KEY_FILE", private.clone()),
            ("ALIPAY_PUBLIC_KEY_FILE", public.clone()),
        ])
        .unwrap_err();
        assert_eq!(no_seller, ConfigError::IncompleteAlipay("ALIPAY_SELLER_ID"));
        let with_sandbox = config(vec![
            ("ALIPAY_APP_ID", "2021000000000000".into()),
            ("ALIPAY_PRIVATE_KEY_FILE", private.clone()),
            ("ALIPAY_PUBLIC_KEY_FILE", public.clone()),
            ("ALIPAY_SELLER_ID", "2088000000000001".into()),
            ("PAYMENT_SANDBOX", "on".into()),
        ])
        .unwrap_err();
        assert_eq!(with_sandbox, ConfigError::SandboxWithAlipay);
        let swapped = config(vec![
            ("ALIPAY_APP_ID", "2021000000000000".into()),
            ("ALIPAY_PRIVATE_KEY_FILE", public.clone()),
            ("ALIPAY_PUBLIC_KEY_FILE", public.clone()),
        ])
        .unwrap_err();
        assert!(
            swapped
                .to_string()
                .starts_with("ALIPAY_PRIVATE_KEY_FILE: the private key is neither"),
            "{swapped}"
        );
        let missing = config(vec![
            ("ALIPAY_APP_ID", "2021000000000000".into()),
            ("ALIPAY_PRIVATE_KEY_FILE", "/nonexistent/key.pem".into()),
            ("ALIPAY_PUBLIC_KEY_FILE", public),
        ])
        .unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("ALIPAY_PRIVATE_KEY_FILE='/nonexistent/key.pem' cannot be read"),
            "{missing}"
        );
    }

    #[test]
    fn bad_database_settings_are_named_in_the_error() {
        let with = |name: &'static str, value: &'static str| {
            Config::from_lookup(move |n| (n == name).then(|| value.to_owned()))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            with("DATABASE_URL", "mysql://x"),
            "DATABASE_URL='mysql://x' must start with sqlite:// or postgres://"
        );
        assert!(with("PREPAID_CARD_VALIDITY_DAYS", "0").contains("from 1 to 3650"));
        assert!(with("PREPAID_CARD_VALIDITY_DAYS", "a year").contains("'a year'"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidr_ranges_and_default_to_none() {
        let with = |value: &'static str| {
            Config::from_lookup(move |n| (n == "TRUSTED_PROXIES").then(|| value.to_owned()))
        };
        let none = Config::from_lookup(|_| None).unwrap().trusted_proxies;
        assert!(none.is_empty());
        assert!(!none.contains("127.0.0.1".parse().unwrap()));
        assert!(with("").unwrap().trusted_proxies.is_empty());

        let trusted = with(" 10.0.0.1, 192.168.0.0/16,fd00::/8 ,::1,")
            .unwrap()
            .trusted_proxies;
        for inside in [
            "10.0.0.1",
            "192.168.0.1",
            "192.168.255.255",
            "fd12:3456::1",
            "::1",
            // An IPv4 peer on a dual-stack socket.
            "::ffff:10.0.0.1",
        ] {
            assert!(trusted.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["10.0.0.2", "192.169.0.1", "fe80::1", "::2", "1.2.3.4"] {
            assert!(!trusted.contains(outside.parse().unwrap()), "{outside}");
        }
        // Host bits are masked off; /0 trusts everything of that family.
        let all_v4 = with("0.0.0.0/0").unwrap().trusted_proxies;
        assert!(all_v4.contains("8.8.8.8".parse().unwrap()));
        assert!(!all_v4.contains("::8".parse().unwrap()));
        assert!(
            with("10.1.2.3/8")
                .unwrap()
                .trusted_proxies
                .contains("10.200.0.1".parse().unwrap())
        );

        for bad in [
            "proxy.example.com",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "10.0.0",
        ] {
            let err = Config::from_lookup(move |n| {
                (n == "TRUSTED_PROXIES").then(|| format!("10.0.0.1,{bad}"))
            })
            .unwrap_err();
            assert_eq!(err, ConfigError::BadTrustedProxy(bad.to_owned()));
            assert!(err.to_string().starts_with("TRUSTED_PROXIES: "), "{err}");
        }
    }

    #[test]
    fn the_sign_up_limit_is_configurable_and_checked() {
        let with = |value: &'static str| {
            Config::from_lookup(move |n| (n == "SIGN_UPS_PER_HOUR").then(|| value.to_owned()))
        };
        assert_eq!(Config::from_lookup(|_| None).unwrap().sign_ups_per_hour, 10);
        assert_eq!(with("500").unwrap().sign_ups_per_hour, 500);
        for bad in ["0", "-1", "many", "100001"] {
            assert_eq!(
                with(bad).unwrap_err(),
                ConfigError::BadSignUpLimit(bad.to_owned())
            );
        }
    }

    #[test]
    fn mail_settings_are_checked_at_start() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |n| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == n)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let config = with(&[
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("SMTP_FROM", "Billing Center <billing@example.com>"),
            (
                "OPERATOR_ALERT_EMAIL",
                "ops@example.com, oncall@example.com",
            ),
            ("ARREARS_GRACE_DAYS", "7"),
        ])
        .unwrap();
        assert!(config.mail_sender().is_some());
        assert_eq!(config.mail.operator_recipients.len(), 2);
        assert_eq!(config.mail.arrears_grace_days, 7);
        assert!(
            !format!("{:?}", config.smtp).contains("2525"),
            "the URL (credentials) is never printed"
        );
        assert_eq!(
            with(&[("SMTP_URL", "smtp://127.0.0.1:2525")]).unwrap_err(),
            ConfigError::SmtpWithoutFrom
        );
        assert!(matches!(
            with(&[("SMTP_URL", "ftp://x"), ("SMTP_FROM", "a@b.com")]).unwrap_err(),
            ConfigError::BadSmtp(_)
        ));
        assert!(matches!(
            with(&[("SMTP_URL", "smtp://x:25"), ("SMTP_FROM", "nobody")]).unwrap_err(),
            ConfigError::BadSmtp(_)
        ));
        assert_eq!(
            with(&[("OPERATOR_ALERT_EMAIL", "ops")]).unwrap_err(),
            ConfigError::BadOperatorEmail("ops".into())
        );
        assert_eq!(
            with(&[("ARREARS_GRACE_DAYS", "0")]).unwrap_err(),
            ConfigError::BadGraceDays("0".into())
        );
        assert_eq!(
            with(&[("ALIYUN_MARKET_KEY", "short")]).unwrap_err(),
            ConfigError::BadAliyunKey(5)
        );
        assert!(
            Config::from_lookup(|_| None)
                .unwrap()
                .mail_sender()
                .is_none()
        );
    }

    #[test]
    fn the_marketplace_sandbox_is_off_by_default_and_refused_with_real_keys() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |n| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == n)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let plain = with(&[]).unwrap();
        assert!(!plain.marketplace_sandbox && plain.aliyun_market_key.is_none());
        let sandbox = with(&[("MARKETPLACE_SANDBOX", "on")]).unwrap();
        assert!(sandbox.marketplace_sandbox);
        assert_eq!(
            sandbox.aliyun_market_key.as_deref(),
            Some(SANDBOX_ALIYUN_MARKET_KEY)
        );
        assert!(
            sandbox
                .aliyun_metering
                .unwrap()
                .endpoint
                .ends_with(SANDBOX_ALIYUN_MARKET_PATH)
        );
        assert_eq!(
            with(&[
                ("MARKETPLACE_SANDBOX", "on"),
                ("ALIYUN_MARKET_KEY", "a-real-isv-key-of-the-merchant")
            ])
            .unwrap_err(),
            ConfigError::MarketplaceSandboxWithKeys
        );
        assert_eq!(
            with(&[("MARKETPLACE_SANDBOX", "yes")]).unwrap_err(),
            ConfigError::BadMarketplaceSandboxSwitch("yes".into())
        );
        assert_eq!(
            with(&[("ALIYUN_ACCESS_KEY_ID", "id")]).unwrap_err(),
            ConfigError::IncompleteAliyunAccessKey("ALIYUN_ACCESS_KEY_SECRET")
        );
        let sandbox = with(&[("MARKETPLACE_SANDBOX", "on")]).unwrap();
        assert!(
            sandbox
                .huawei_market
                .unwrap()
                .endpoint
                .ends_with(SANDBOX_HUAWEI_ENDPOINT_PATH)
        );
        assert_eq!(
            with(&[
                ("HUAWEI_MARKET_KEY", "a-real-koogallery-access-key"),
                ("HUAWEI_ACCESS_KEY_ID", "ak")
            ])
            .unwrap_err(),
            ConfigError::IncompleteHuaweiKeys("HUAWEI_ACCESS_KEY_SECRET")
        );
        assert_eq!(
            with(&[
                ("HUAWEI_MARKET_KEY", "short"),
                ("HUAWEI_ACCESS_KEY_ID", "ak"),
                ("HUAWEI_ACCESS_KEY_SECRET", "sk")
            ])
            .unwrap_err(),
            ConfigError::BadHuaweiKey(5)
        );
        assert_eq!(
            with(&[
                ("AWS_MARKETPLACE_PRODUCT_CODE", "prod1"),
                ("AWS_MARKETPLACE_ACCESS_KEY_ID", "AKIA")
            ])
            .unwrap_err(),
            ConfigError::IncompleteAwsKeys("AWS_MARKETPLACE_SECRET_ACCESS_KEY")
        );
        let aws = with(&[
            ("AWS_MARKETPLACE_PRODUCT_CODE", "prod1"),
            ("AWS_MARKETPLACE_ACCESS_KEY_ID", "AKIA"),
            ("AWS_MARKETPLACE_SECRET_ACCESS_KEY", "secret"),
            (
                "AWS_MARKETPLACE_SNS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-prod1",
            ),
        ])
        .unwrap()
        .aws_marketplace
        .unwrap();
        assert_eq!(
            aws.endpoint,
            "https://metering.marketplace.us-east-1.amazonaws.com"
        );
        assert_eq!(
            with(&[
                ("AWS_MARKETPLACE_PRODUCT_CODE", "prod1"),
                ("AWS_MARKETPLACE_ACCESS_KEY_ID", "AKIA"),
                ("AWS_MARKETPLACE_SECRET_ACCESS_KEY", "secret"),
                ("AWS_MARKETPLACE_SNS_TOPIC_ARN", "my-topic"),
            ])
            .unwrap_err(),
            ConfigError::BadAwsTopic("my-topic".into())
        );
        assert!(
            with(&[("MARKETPLACE_SANDBOX", "on")])
                .unwrap()
                .aws_marketplace
                .is_some()
        );
        const HUAWEI: &[(&str, &str)] = &[
            ("HUAWEI_MARKET_KEY", "a-real-koogallery-access-key"),
            ("HUAWEI_ACCESS_KEY_ID", "ak"),
            ("HUAWEI_ACCESS_KEY_SECRET", "sk"),
        ];
        assert_eq!(
            with(HUAWEI).unwrap().huawei_market.unwrap().endpoint,
            "https://mkt.myhuaweicloud.com"
        );
        assert_eq!(
            with(&[
                ("HUAWEI_MARKET_KEY", "a-real-koogallery-access-key"),
                ("HUAWEI_ACCESS_KEY_ID", "ak"),
                ("HUAWEI_ACCESS_KEY_SECRET", "sk"),
                ("MARKETPLACE_SANDBOX", "on"),
            ])
            .unwrap_err(),
            ConfigError::MarketplaceSandboxWithKeys
        );
        // The demo plays the marketplace unless real keys are configured.
        let real = with(&[("ALIYUN_MARKET_KEY", "a-real-isv-key-of-the-merchant")])
            .unwrap()
            .with_marketplace_sandbox();
        assert!(!real.marketplace_sandbox);
        assert!(plain.with_marketplace_sandbox().marketplace_sandbox);
    }

    #[test]
    fn a_bad_address_is_named_in_the_error() {
        let err =
            Config::from_lookup(|n| (n == "LEPTOS_SITE_ADDR").then(|| "localhost".to_owned()))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "LEPTOS_SITE_ADDR='localhost' is not a socket address like 127.0.0.1:3000"
        );
    }
}
