//! Caller-given idempotency keys. The first request under a key stores its response in the same
//! transaction as its effects; a replay of the same request returns that response and changes
//! nothing; the same key with a different request is refused.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{Any, Row, Transaction};

use crate::error::LedgerError;

pub const MAX_KEY_LEN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn new(key: impl Into<String>) -> Result<IdempotencyKey, LedgerError> {
        let key = key.into();
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(LedgerError::InvalidIdempotencyKey(format!(
                "an idempotency key must be 1 to {MAX_KEY_LEN} characters (got {})",
                key.len()
            )));
        }
        if !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(LedgerError::InvalidIdempotencyKey(
                "an idempotency key may only contain printable ASCII without spaces".into(),
            ));
        }
        Ok(IdempotencyKey(key))
    }

    /// A fresh key for a request that came without one: it never replays anything.
    pub fn generated(scope: &str) -> Result<IdempotencyKey, LedgerError> {
        IdempotencyKey::new(format!("{scope}:auto:{}", crate::auth::random_token(16)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome stored under `key`, if this exact request already ran.
pub(crate) async fn replay<Req: Serialize, Res: DeserializeOwned>(
    tx: &mut Transaction<'static, Any>,
    key: &IdempotencyKey,
    operation: &str,
    request: &Req,
) -> Result<Option<Res>, LedgerError> {
    match stored(tx, &[key]).await?.get(key.as_str()) {
        Some(row) => row.replay(key, operation, request),
        None => Ok(None),
    }
}

/// What a key stored: the operation, the request's fingerprint and the answer.
pub(crate) struct StoredKey {
    operation: String,
    request: String,
    response: String,
}

impl StoredKey {
    /// The stored answer if `request` is the request stored under `key`; a key reused for
    /// another request or operation is refused.
    pub(crate) fn replay<Req: Serialize, Res: DeserializeOwned>(
        &self,
        key: &IdempotencyKey,
        operation: &str,
        request: &Req,
    ) -> Result<Option<Res>, LedgerError> {
        if self.operation != operation || self.request != fingerprint(request)? {
            return Err(LedgerError::IdempotencyKeyReused {
                key: key.to_string(),
                operation: self.operation.clone(),
            });
        }
        serde_json::from_str(&self.response)
            .map(Some)
            .map_err(|e| LedgerError::Corrupt(format!("stored response of key '{key}': {e}")))
    }
}

/// What each of these keys stored, for those that were used before.
pub(crate) async fn stored(
    tx: &mut Transaction<'static, Any>,
    keys: &[&IdempotencyKey],
) -> Result<std::collections::HashMap<String, StoredKey>, LedgerError> {
    let mut found = std::collections::HashMap::new();
    let sql = crate::sql::Placeholders::of(tx);
    for chunk in keys.chunks(sql.rows_per_statement(1)) {
        let statement = format!(
            "SELECT i.key, i.operation, i.request, i.response FROM idempotency_keys i \
             JOIN (VALUES {}) k ON i.key = k.column1",
            sql.rows(chunk.len(), 1, 1)
        );
        let mut query = sqlx::query(&statement);
        for key in chunk {
            query = query.bind(key.as_str());
        }
        for row in query.fetch_all(&mut **tx).await? {
            found.insert(
                row.try_get("key")?,
                StoredKey {
                    operation: row.try_get("operation")?,
                    request: row.try_get("request")?,
                    response: row.try_get("response")?,
                },
            );
        }
    }
    Ok(found)
}

/// Stores many answers of one operation, each under its key, in multi-row INSERTs.
pub(crate) async fn remember_many<Req: Serialize, Res: Serialize>(
    tx: &mut Transaction<'static, Any>,
    operation: &str,
    answered: &[(&IdempotencyKey, &Req, &Res)],
    at_micros: i64,
) -> Result<(), LedgerError> {
    let sql = crate::sql::Placeholders::of(tx);
    for chunk in answered.chunks(sql.rows_per_statement(5)) {
        let statement = format!(
            "INSERT INTO idempotency_keys (key, operation, request, response, created_at) VALUES {}",
            sql.rows(chunk.len(), 5, 1)
        );
        let mut query = sqlx::query(&statement);
        for (key, request, response) in chunk {
            let response =
                serde_json::to_string(response).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
            query = query
                .bind(key.as_str())
                .bind(operation)
                .bind(fingerprint(request)?)
                .bind(response)
                .bind(at_micros);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) async fn remember<Req: Serialize, Res: Serialize>(
    tx: &mut Transaction<'static, Any>,
    key: &IdempotencyKey,
    operation: &str,
    request: &Req,
    response: &Res,
    at_micros: i64,
) -> Result<(), LedgerError> {
    remember_many(tx, operation, &[(key, request, response)], at_micros).await
}

fn fingerprint<Req: Serialize>(request: &Req) -> Result<String, LedgerError> {
    serde_json::to_string(request).map_err(|e| LedgerError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_and_not_empty() {
        assert!(IdempotencyKey::new("alipay:2026112300001").is_ok());
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new("é").is_err());
        assert!(IdempotencyKey::new("k".repeat(MAX_KEY_LEN)).is_ok());
        assert!(IdempotencyKey::new("k".repeat(MAX_KEY_LEN + 1)).is_err());
    }
}
