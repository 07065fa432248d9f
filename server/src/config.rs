//! Configuration from the environment. Every setting has a default that runs the product locally.

use std::net::SocketAddr;
use std::path::PathBuf;

use leptos::config::LeptosOptions;

/// Where the server listens and where the built site (JS, WASM, CSS, public files) lives.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let site_addr = match lookup("LEPTOS_SITE_ADDR") {
            Some(value) => value
                .parse()
                .map_err(|_| ConfigError::BadAddress { name: "LEPTOS_SITE_ADDR", value: value.clone() })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let site_root = lookup("LEPTOS_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/site"));
        let database_url = lookup("DATABASE_URL")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| backend::store::DEFAULT_DATABASE_URL.to_owned());
        if !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| database_url.starts_with(p)) {
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
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => url.trim_end_matches('/').to_owned(),
            Some(url) => return Err(ConfigError::BadPublicUrl(url)),
            None => format!("http://{site_addr}"),
        };
        Ok(Config { site_addr, site_root, database_url, prepaid_card_validity_days, public_url })
    }

    /// Connects to the database and applies pending migrations.
    pub async fn open_store(&self) -> Result<backend::Store, Box<dyn std::error::Error + Send + Sync>> {
        Ok(backend::Store::open(&self.database_url).await?.with_prepaid_card_validity_days(self.prepaid_card_validity_days)?)
    }

    pub fn secure_cookies(&self) -> crate::auth::SecureCookies {
        crate::auth::SecureCookies(self.public_url.starts_with("https://"))
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
    }

    #[test]
    fn bad_database_settings_are_named_in_the_error() {
        let with = |name: &'static str, value: &'static str| {
            Config::from_lookup(move |n| (n == name).then(|| value.to_owned())).unwrap_err().to_string()
        };
        assert_eq!(with("DATABASE_URL", "mysql://x"), "DATABASE_URL='mysql://x' must start with sqlite:// or postgres://");
        assert!(with("PREPAID_CARD_VALIDITY_DAYS", "0").contains("from 1 to 3650"));
        assert!(with("PREPAID_CARD_VALIDITY_DAYS", "a year").contains("'a year'"));
    }

    #[test]
    fn a_bad_address_is_named_in_the_error() {
        let err = Config::from_lookup(|n| (n == "LEPTOS_SITE_ADDR").then(|| "localhost".to_owned())).unwrap_err();
        assert_eq!(err.to_string(), "LEPTOS_SITE_ADDR='localhost' is not a socket address like 127.0.0.1:3000");
    }
}
