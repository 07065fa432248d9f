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
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name}='{value}' is not a socket address like 127.0.0.1:3000")]
    BadAddress { name: &'static str, value: String },
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
        Ok(Config { site_addr, site_root })
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
    }

    #[test]
    fn a_bad_address_is_named_in_the_error() {
        let err = Config::from_lookup(|n| (n == "LEPTOS_SITE_ADDR").then(|| "localhost".to_owned())).unwrap_err();
        assert_eq!(err.to_string(), "LEPTOS_SITE_ADDR='localhost' is not a socket address like 127.0.0.1:3000");
    }
}
