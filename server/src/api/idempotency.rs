//! The optional `Idempotency-Key` header of money-moving POSTs, scoped so that keys of different
//! callers never meet: a retried request with the same key returns the first result.

use axum::http::HeaderMap;
use backend::IdempotencyKey;

use super::ApiError;

pub const MAX_KEY_LEN: usize = 100;

/// The caller's key under `scope` (e.g. `customer7`, `ops`), or a fresh one when none was sent.
pub fn request_key(headers: &HeaderMap, scope: &str) -> Result<IdempotencyKey, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} printable characters"),
        )
    };
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(key)) if !key.is_empty() && key.len() <= MAX_KEY_LEN => {
            IdempotencyKey::new(format!("{scope}:{key}"))
        }
        Some(_) => return Err(invalid()),
        None => IdempotencyKey::generated(scope),
    };
    key.map_err(|_| invalid())
}

/// The `Idempotency-Key` header, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKeyHeader {
    /// Optional, 1 to 100 printable characters, scoped to the caller's account (operators: to
    /// the operator API): a retried request with the same key and body returns the first result;
    /// the same key with another body is `409 idempotency_key_reused`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 100,
        pattern = r"^[!-~]{1,100}$"
    )]
    pub idempotency_key: Option<String>,
}
