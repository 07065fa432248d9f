//! Operators: a separate role with its own sign-in and API tokens for /api/v1/ops/*. Tokens are
//! shown once and stored as SHA-256; each can be revoked.

use serde::Serialize;
use sqlx::Row;

use crate::auth::customers::{check_username, unique_violation_on};
use crate::auth::password::{check_new_password, hash_password};
use crate::auth::{AuthError, random_token, sha256_hex};
use crate::store::Store;
use crate::time::to_micros;

pub const TOKEN_PREFIX: &str = "bco_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub id: i64,
    pub username: String,
}

impl Store {
    pub async fn create_operator(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Operator, AuthError> {
        check_username(username)?;
        check_new_password(username, password)?;
        let hash = hash_password(password.to_owned()).await;
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

    /// Same rules as customers: rate limited, timing-safe, one error for unknown login or wrong password.
    pub async fn sign_in_operator(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> Result<Operator, AuthError> {
        let login = login.trim().to_lowercase();
        let row =
            sqlx::query("SELECT id, username, password_hash FROM operators WHERE username = $1")
                .bind(&login)
                .fetch_optional(self.pool())
                .await?;
        let attempt = self
            .begin_sign_in_attempt(&format!("operator:{login}"), client)
            .await?;
        let stored = row
            .as_ref()
            .map(|r| r.try_get::<String, _>("password_hash"))
            .transpose()?;
        if !self.check_password(stored, password).await {
            return Err(AuthError::InvalidCredentials);
        }
        self.sign_in_succeeded(&attempt).await?;
        let row = row.expect("a verified password has a row");
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

    /// A new API token for the operator: returned once, stored hashed, audited.
    pub async fn issue_operator_token(
        &self,
        operator: &Operator,
        client: &str,
    ) -> Result<String, AuthError> {
        let token = format!("{TOKEN_PREFIX}{}", random_token(32));
        let now = to_micros(self.now());
        let mut tx = self.pool().begin().await?;
        let token_id: i64 = sqlx::query_scalar(
            "INSERT INTO operator_tokens (operator_id, token_sha256, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(operator.id)
        .bind(sha256_hex(&token))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "operator_token.issue",
            None,
            &format!("token {token_id}"),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes a token; true when a live token was revoked.
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
        crate::auth::audit::record(
            &mut tx,
            operator_id,
            "operator_token.revoke",
            None,
            &format!("token {id}"),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The operator a live token belongs to.
    pub async fn operator_for_token(&self, token: &str) -> Result<Option<Operator>, AuthError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT o.id, o.username FROM operator_tokens t JOIN operators o ON o.id = t.operator_id \
             WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL",
        )
        .bind(sha256_hex(token))
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(Operator {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
            })
        })
        .transpose()
    }
}
