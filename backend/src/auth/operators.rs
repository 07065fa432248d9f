//! Operators: a separate role with its own sign-in and API tokens for /api/v1/ops/*. Tokens are
//! shown once and stored as SHA-256; each expires (default 90 days, at most 365), can be listed
//! and revoked by id or by presenting it. Disabling an operator ends all its sessions and tokens at
//! once and keeps it from signing in until it is enabled again. Issuing, revoking, disabling and
//! enabling each write their audit row inside their own transaction.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::auth::audit::{OperatorAct, record};
use crate::auth::customers::{check_username, unique_violation_on};
use crate::auth::password::check_new_password;
use crate::auth::rate_limit::Action;
use crate::auth::sessions::{Principal, delete_other_sessions};
use crate::auth::{AuthError, random_token, sha256_hex};
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};

pub const TOKEN_PREFIX: &str = "bco_";
/// How long a token lives unless its issuer says otherwise.
pub const DEFAULT_TOKEN_DAYS: i64 = 90;
pub const MAX_TOKEN_DAYS: i64 = 365;
/// `last_used_at` is written at most this often, so API calls do not write on every request.
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// The client recorded in the audit log for what the command line does.
pub const CLI: &str = "cli";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub id: i64,
    pub username: String,
}

/// A token just issued: the secret is in `token`, shown this once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

/// What is known about a token besides its secret (never kept) and its hash (never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub operator_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub status: TokenStatus,
}

/// What a presented token is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    Valid {
        operator: Operator,
        token_id: i64,
    },
    /// No such token (or not one of ours at all).
    Unknown,
    Revoked,
    /// The token was valid until `at` (exclusive).
    Expired {
        at: DateTime<Utc>,
    },
    /// The token's operator is disabled.
    OperatorDisabled,
}

/// Who revokes a token by id: the command line (any token) or an operator (only their own).
#[derive(Debug, Clone, Copy)]
pub enum Revoker<'a> {
    Cli,
    Operator(&'a OperatorAct),
}

/// What disabling an operator ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disabled {
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

impl Store {
    pub async fn create_operator(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Operator, AuthError> {
        check_username(username)?;
        check_new_password(username, password)?;
        let hash = self.hash_password(password).await;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO operators (username, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(username)
        .bind(hash)
        .bind(to_micros(self.now()))
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(id) => Ok(Operator {
                id,
                username: username.to_owned(),
            }),
            Err(e) if unique_violation_on(&e, "username") => Err(AuthError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn operator_by_username(&self, username: &str) -> Result<Operator, AuthError> {
        if username.contains('\0') {
            return Err(AuthError::NotFound("operator"));
        }
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        id.map(|id| Operator {
            id,
            username: username.to_owned(),
        })
        .ok_or(AuthError::NotFound("operator"))
    }

    pub async fn operator_by_id(&self, id: i64) -> Result<Operator, AuthError> {
        let username: Option<String> =
            sqlx::query_scalar("SELECT username FROM operators WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        username
            .map(|username| Operator { id, username })
            .ok_or(AuthError::NotFound("operator"))
    }

    /// Since when the operator is disabled, or `None` while it is enabled.
    pub async fn operator_disabled_at(&self, id: i64) -> Result<Option<DateTime<Utc>>, AuthError> {
        let row = sqlx::query("SELECT disabled_at FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(AuthError::NotFound("operator"))?;
        Ok(row
            .try_get::<Option<i64>, _>("disabled_at")?
            .map(from_micros))
    }

    /// Same rules as customers: rate limited, timing-safe, one error for unknown login or wrong
    /// password. A disabled operator with the right password is told so (`OperatorDisabled`).
    pub async fn sign_in_operator(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> Result<Operator, AuthError> {
        let login = login.trim().to_lowercase().replace('\0', "");
        let row = sqlx::query(
            "SELECT id, username, password_hash, disabled_at FROM operators WHERE username = $1",
        )
        .bind(&login)
        .fetch_optional(self.pool())
        .await?;
        let attempt = self
            .begin_attempt(Action::OperatorSignIn, &format!("operator:{login}"), client)
            .await?;
        let stored = row
            .as_ref()
            .map(|r| r.try_get::<String, _>("password_hash"))
            .transpose()?;
        if !self.check_password(stored, password).await {
            return Err(AuthError::InvalidCredentials);
        }
        self.attempt_succeeded(&attempt).await?;
        let row = row.expect("a verified password has a row");
        if row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
            return Err(AuthError::OperatorDisabled);
        }
        let operator = Operator {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
        };
        self.audit(
            operator.id,
            "operator.sign_in",
            None,
            "signed in at /ops",
            client,
        )
        .await?;
        Ok(operator)
    }

    /// A new API token for the operator, valid for [`DEFAULT_TOKEN_DAYS`]: returned once, stored
    /// hashed, audited.
    pub async fn issue_operator_token(
        &self,
        operator: &Operator,
        client: &str,
    ) -> Result<String, AuthError> {
        self.issue_operator_token_for(operator, DEFAULT_TOKEN_DAYS, client)
            .await
            .map(|issued| issued.token)
    }

    /// A new API token valid for `days` (1 to [`MAX_TOKEN_DAYS`]) from now. Refused for a disabled
    /// operator. The audit row is written in the same transaction.
    pub async fn issue_operator_token_for(
        &self,
        operator: &Operator,
        days: i64,
        client: &str,
    ) -> Result<IssuedToken, AuthError> {
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(AuthError::InvalidTokenDays { days });
        }
        let token = format!("{TOKEN_PREFIX}{}", random_token(32));
        let now = self.now();
        let expires_at = now + Duration::days(days);
        let mut tx = self.begin_write().await?;
        if lock_operator(self, &mut tx, operator.id).await?.is_some() {
            return Err(AuthError::OperatorDisabled);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operator_tokens (operator_id, token_sha256, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(operator.id)
        .bind(sha256_hex(&token))
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut tx,
            operator.id,
            "operator_token.issue",
            None,
            &format!(
                "token {id} for {}, expires {}",
                operator.username,
                expires_at.to_rfc3339()
            ),
            client,
            to_micros(now),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedToken {
            id,
            token,
            expires_at,
        })
    }

    /// Revokes the token presented; true when a live token was revoked.
    pub async fn revoke_operator_token(
        &self,
        token: &str,
        client: &str,
    ) -> Result<bool, AuthError> {
        let now = to_micros(self.now());
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE operator_tokens SET revoked_at = $1 WHERE token_sha256 = $2 AND revoked_at IS NULL \
             RETURNING id, operator_id",
        )
        .bind(now)
        .bind(sha256_hex(token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let (id, operator_id): (i64, i64) = (row.try_get("id")?, row.try_get("operator_id")?);
        record(
            &mut tx,
            operator_id,
            "operator_token.revoke",
            None,
            &format!("token {id}, presented"),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes token `id`. The command line may revoke any token; an operator only their own (any
    /// other id is `NotFound`, whether it exists or not). True when it was live and is revoked now;
    /// false when it was already revoked (nothing written, no second audit row).
    pub async fn revoke_operator_token_by_id(
        &self,
        id: i64,
        by: Revoker<'_>,
    ) -> Result<bool, AuthError> {
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT operator_id, revoked_at FROM operator_tokens WHERE id = $1 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT operator_id, revoked_at FROM operator_tokens WHERE id = $1",
        };
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AuthError::NotFound("token"))?;
        let owner: i64 = row.try_get("operator_id")?;
        let (operator_id, client) = match by {
            Revoker::Cli => (owner, CLI),
            Revoker::Operator(act) if act.operator_id == owner => {
                (act.operator_id, act.client.as_str())
            }
            Revoker::Operator(_) => return Err(AuthError::NotFound("token")),
        };
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            return Ok(false);
        }
        sqlx::query("UPDATE operator_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            operator_id,
            "operator_token.revoke",
            None,
            &format!("token {id}, by id"),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The operator's tokens, newest first, without secrets or hashes.
    pub async fn operator_tokens(&self, operator_id: i64) -> Result<Vec<TokenInfo>, AuthError> {
        let now = self.now();
        let rows = sqlx::query(
            "SELECT id, operator_id, created_at, expires_at, last_used_at, revoked_at \
             FROM operator_tokens WHERE operator_id = $1 ORDER BY id DESC",
        )
        .bind(operator_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let expires_at = from_micros(r.try_get("expires_at")?);
                let revoked_at = r.try_get::<Option<i64>, _>("revoked_at")?.map(from_micros);
                let status = if revoked_at.is_some() {
                    TokenStatus::Revoked
                } else if now >= expires_at {
                    TokenStatus::Expired
                } else {
                    TokenStatus::Active
                };
                Ok(TokenInfo {
                    id: r.try_get("id")?,
                    operator_id: r.try_get("operator_id")?,
                    created_at: from_micros(r.try_get("created_at")?),
                    expires_at,
                    last_used_at: r
                        .try_get::<Option<i64>, _>("last_used_at")?
                        .map(from_micros),
                    revoked_at,
                    status,
                })
            })
            .collect()
    }

    /// What the presented token is worth now. A valid token's `last_used_at` is brought up to date
    /// (at most once a minute). It expires at `expires_at` exactly.
    pub async fn check_operator_token(&self, token: &str) -> Result<TokenCheck, AuthError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
            return Ok(TokenCheck::Unknown);
        }
        let row = sqlx::query(
            "SELECT t.id, t.expires_at, t.revoked_at, t.last_used_at, o.id AS operator_id, o.username, \
             o.disabled_at FROM operator_tokens t JOIN operators o ON o.id = t.operator_id \
             WHERE t.token_sha256 = $1",
        )
        .bind(sha256_hex(token))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(TokenCheck::Unknown);
        };
        if row.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
            return Ok(TokenCheck::OperatorDisabled);
        }
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            return Ok(TokenCheck::Revoked);
        }
        let now = self.now();
        let expires_at = from_micros(row.try_get("expires_at")?);
        if now >= expires_at {
            return Ok(TokenCheck::Expired { at: expires_at });
        }
        let token_id: i64 = row.try_get("id")?;
        let last_used = row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(from_micros);
        if last_used.is_none_or(|at| now >= at + TOUCH_EVERY) {
            sqlx::query("UPDATE operator_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(to_micros(now))
                .bind(token_id)
                .execute(self.pool())
                .await?;
        }
        Ok(TokenCheck::Valid {
            operator: Operator {
                id: row.try_get("operator_id")?,
                username: row.try_get("username")?,
            },
            token_id,
        })
    }

    /// The operator a live token belongs to (not revoked, not expired, operator enabled).
    pub async fn operator_for_token(&self, token: &str) -> Result<Option<Operator>, AuthError> {
        Ok(match self.check_operator_token(token).await? {
            TokenCheck::Valid { operator, .. } => Some(operator),
            _ => None,
        })
    }

    /// Disables the operator: no sign-in, every session ended and every live token revoked, in one
    /// transaction with its audit row. `None` when it was already disabled (nothing written).
    pub async fn disable_operator(
        &self,
        operator: &Operator,
        client: &str,
    ) -> Result<Option<Disabled>, AuthError> {
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        if lock_operator(self, &mut tx, operator.id).await?.is_some() {
            return Ok(None);
        }
        sqlx::query("UPDATE operators SET disabled_at = $1 WHERE id = $2")
            .bind(now)
            .bind(operator.id)
            .execute(&mut *tx)
            .await?;
        let tokens_revoked = sqlx::query(
            "UPDATE operator_tokens SET revoked_at = $1 WHERE operator_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(operator.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sessions_ended =
            delete_other_sessions(&mut tx, Principal::Operator(operator.id), None).await?;
        record(
            &mut tx,
            operator.id,
            "operator.disable",
            None,
            &format!(
                "disabled {}: {sessions_ended} sessions ended, {tokens_revoked} tokens revoked",
                operator.username
            ),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Disabled {
            sessions_ended,
            tokens_revoked,
        }))
    }

    /// Lets a disabled operator sign in again (its old tokens stay revoked: issue new ones). False
    /// when it was not disabled (nothing written).
    pub async fn enable_operator(
        &self,
        operator: &Operator,
        client: &str,
    ) -> Result<bool, AuthError> {
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        if lock_operator(self, &mut tx, operator.id).await?.is_none() {
            return Ok(false);
        }
        sqlx::query("UPDATE operators SET disabled_at = NULL WHERE id = $1")
            .bind(operator.id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            operator.id,
            "operator.enable",
            None,
            &format!("enabled {}", operator.username),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Locks the operator's row for the rest of the write transaction (PostgreSQL; SQLite's write
/// transaction already holds the database lock), so that issuing a token and disabling the operator
/// serialise. Returns when it was disabled, if it is.
async fn lock_operator(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    id: i64,
) -> Result<Option<i64>, AuthError> {
    let sql = match store.backend() {
        Backend::Postgres => "SELECT disabled_at FROM operators WHERE id = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT disabled_at FROM operators WHERE id = $1",
    };
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(AuthError::NotFound("operator"))?;
    Ok(row.try_get("disabled_at")?)
}
