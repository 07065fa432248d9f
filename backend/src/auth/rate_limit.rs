//! Sign-in rate limiting, in the database so that every server process sees the same counts.
//! Sliding 15-minute windows of failures:
//! - 5 per (login, client address): the usual brute force from one place;
//! - 20 per client address across logins: one place trying many accounts;
//! - 100 per login across addresses: a distributed attack on one account.
//!
//! Nothing locks for good: failures age out of the window. A successful sign-in clears its
//! (login, client) failures. The per-login limit is deliberately high, so an attacker spraying from
//! many addresses slows the account down for everybody only after 100 failures in 15 minutes.

use chrono::Duration;

use crate::auth::AuthError;
use crate::store::Store;
use crate::time::to_micros;

pub const WINDOW_MINUTES: i64 = 15;
const LIMITS: [(&str, i64); 3] = [("login_client", 5), ("client", 20), ("login", 100)];

fn subjects(login: &str, client: &str) -> [(&'static str, String); 3] {
    let login = login.trim().to_lowercase();
    [("login_client", format!("{login}\u{1f}{client}")), ("client", client.to_owned()), ("login", login)]
}

impl Store {
    /// Refuses with `RateLimited` when any window is full; the wait is until its oldest failure ages out.
    pub async fn check_sign_in_allowed(&self, login: &str, client: &str) -> Result<(), AuthError> {
        let now = self.now();
        let since = to_micros(now - Duration::minutes(WINDOW_MINUTES));
        for ((scope, subject), (_, limit)) in subjects(login, client).into_iter().zip(LIMITS) {
            let row: (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM sign_in_failures WHERE scope = $1 AND subject = $2 AND at > $3",
            )
            .bind(scope)
            .bind(&subject)
            .bind(since)
            .fetch_one(self.pool())
            .await?;
            if row.0 >= limit {
                let oldest = row.1.unwrap_or(since);
                let free_at = oldest + Duration::minutes(WINDOW_MINUTES).num_microseconds().unwrap_or(0);
                let retry_after_secs = ((free_at - to_micros(now)) / 1_000_000).max(1);
                return Err(AuthError::RateLimited { retry_after_secs });
            }
        }
        Ok(())
    }

    pub async fn record_sign_in_failure(&self, login: &str, client: &str) -> Result<(), AuthError> {
        let now = to_micros(self.now());
        let mut tx = self.pool().begin().await?;
        for (scope, subject) in subjects(login, client) {
            sqlx::query("INSERT INTO sign_in_failures (scope, subject, at) VALUES ($1, $2, $3)")
                .bind(scope)
                .bind(subject)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        // Old rows are useless: keep the table small as we go.
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(now - Duration::minutes(2 * WINDOW_MINUTES).num_microseconds().unwrap_or(0))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_sign_in_failures(&self, login: &str, client: &str) -> Result<(), AuthError> {
        let [(scope, subject), ..] = subjects(login, client);
        sqlx::query("DELETE FROM sign_in_failures WHERE scope = $1 AND subject = $2")
            .bind(scope)
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
