//! Server-side sessions in the database, so several server processes share them. The cookie holds
//! a 128-bit random id; the table holds only its SHA-256. Idle timeout 30 minutes, absolute
//! lifetime 12 hours, a new id at every sign-in, and a per-session CSRF token.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use crate::auth::{AuthError, random_token, sha256_hex};
use crate::store::Store;
use crate::time::{from_micros, to_micros};

/// The cookie that carries the session id (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "bc_session";
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, so reading pages does not write on every request.
const TOUCH_EVERY: Duration = Duration::minutes(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Customer(i64),
    Operator(i64),
}

impl Principal {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Principal::Customer(id) => ("customer", id),
            Principal::Operator(id) => ("operator", id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Goes in the cookie, never in the database.
    pub id: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    pub principal: Principal,
    /// The billing account a customer's session acts for (read with the session); none for an
    /// operator.
    pub account_id: Option<i64>,
    pub csrf_token: String,
}

impl Store {
    pub async fn start_session(&self, principal: Principal) -> Result<NewSession, AuthError> {
        let now = self.now();
        let session = NewSession {
            id: random_token(16),
            csrf_token: random_token(16),
            expires_at: now + ABSOLUTE_LIFETIME,
        };
        let (kind, id) = principal.parts();
        sqlx::query(
            "INSERT INTO sessions (id_sha256, principal_kind, principal_id, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(sha256_hex(&session.id))
        .bind(kind)
        .bind(id)
        .bind(&session.csrf_token)
        .bind(to_micros(now))
        .bind(to_micros(session.expires_at))
        .execute(self.pool())
        .await?;
        Ok(session)
    }

    /// The live session with this id, after checking both timeouts; an expired one is deleted.
    pub async fn resume_session(&self, id: &str) -> Result<Option<ActiveSession>, AuthError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let key = sha256_hex(id);
        // An operator's session also ends when the operator is disabled (or gone); a customer's
        // comes with the customer's billing account, so that pages need not read it again.
        let row = sqlx::query(
            "SELECT s.principal_kind, s.principal_id, s.csrf_token, s.last_seen_at, s.expires_at, \
             o.id AS operator_id, o.disabled_at, c.billing_account_id FROM sessions s \
             LEFT JOIN operators o ON s.principal_kind = 'operator' AND o.id = s.principal_id \
             LEFT JOIN customers c ON s.principal_kind = 'customer' AND c.id = s.principal_id \
             WHERE s.id_sha256 = $1",
        )
        .bind(&key)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now();
        let last_seen = from_micros(row.try_get("last_seen_at")?);
        let expires_at = from_micros(row.try_get("expires_at")?);
        let account_id: Option<i64> = row.try_get("billing_account_id")?;
        let is_operator = row.try_get::<String, _>("principal_kind")? == "operator";
        let operator_barred = is_operator
            && (row.try_get::<Option<i64>, _>("operator_id")?.is_none()
                || row.try_get::<Option<i64>, _>("disabled_at")?.is_some());
        let customer_gone = !is_operator && account_id.is_none();
        if operator_barred || customer_gone || now >= expires_at || now >= last_seen + IDLE_TIMEOUT
        {
            sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
                .bind(&key)
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        if now >= last_seen + TOUCH_EVERY {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
                .bind(to_micros(now))
                .bind(&key)
                .execute(self.pool())
                .await?;
        }
        let id: i64 = row.try_get("principal_id")?;
        let principal = if is_operator {
            Principal::Operator(id)
        } else {
            Principal::Customer(id)
        };
        Ok(Some(ActiveSession {
            principal,
            account_id,
            csrf_token: row.try_get("csrf_token")?,
        }))
    }

    pub async fn end_session(&self, id: &str) -> Result<(), AuthError> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(sha256_hex(id))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of `principal` except `keep` (the one changing the password).
    pub async fn end_other_sessions(
        &self,
        principal: Principal,
        keep: Option<&str>,
    ) -> Result<u64, AuthError> {
        let mut conn = self.pool().acquire().await?;
        delete_other_sessions(&mut conn, principal, keep).await
    }
}

/// Deletes every session of `principal` but `keep`, on a connection or inside a transaction.
pub(crate) async fn delete_other_sessions(
    conn: &mut sqlx::AnyConnection,
    principal: Principal,
    keep: Option<&str>,
) -> Result<u64, AuthError> {
    let (kind, id) = principal.parts();
    let keep = keep.map(sha256_hex).unwrap_or_default();
    let done = sqlx::query(
        "DELETE FROM sessions WHERE principal_kind = $1 AND principal_id = $2 AND id_sha256 <> $3",
    )
    .bind(kind)
    .bind(id)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The session id in a request's `Cookie` header values, if any.
pub fn session_id_from_cookies<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    cookie_headers
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Who is making a request, resolved once per request from its session cookie (the server's
/// `resolve_viewer` middleware puts it in the request's extensions, where the API's extractors,
/// the pages and the server functions all read it): the session row is read once per request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    /// A signed-in session: who (with a customer's billing account), the session's id (to end
    /// it) and its CSRF token.
    Session {
        principal: Principal,
        account_id: Option<i64>,
        session_id: String,
        csrf_token: String,
    },
}

impl Store {
    /// The viewer of a request carrying `session_id` (or none): anonymous when the session is
    /// unknown, ended or idle too long.
    pub async fn viewer(&self, session_id: Option<String>) -> Result<Viewer, AuthError> {
        let Some(session_id) = session_id else {
            return Ok(Viewer::Anonymous);
        };
        Ok(match self.resume_session(&session_id).await? {
            Some(active) => Viewer::Session {
                principal: active.principal,
                account_id: active.account_id,
                session_id,
                csrf_token: active.csrf_token,
            },
            None => Viewer::Anonymous,
        })
    }
}

/// The `Set-Cookie` value that starts a session in the browser (`secure` on https sites).
pub fn session_cookie(session: &NewSession, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        session.id,
        ABSOLUTE_LIFETIME.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends the browser's session.
pub fn cleared_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}
