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
    [
        ("login_client", format!("{login}\u{1f}{client}")),
        ("client", client.to_owned()),
        ("login", login),
    ]
}

/// One sign-in attempt, counted before the password is checked.
#[derive(Debug, Clone)]
pub struct SignInAttempt {
    login: String,
    client: String,
    at: i64,
    rows: Vec<i64>,
}

impl Store {
    /// Counts the attempt first and then checks the windows, so a burst of parallel attempts cannot
    /// all slip under the limit. A refused attempt is taken back out: being refused does not
    /// prolong the wait. `login` should be canonical (the account when known).
    pub async fn begin_sign_in_attempt(
        &self,
        login: &str,
        client: &str,
    ) -> Result<SignInAttempt, AuthError> {
        let now = self.now();
        let mut attempt = SignInAttempt {
            login: login.to_owned(),
            client: client.to_owned(),
            at: to_micros(now),
            rows: Vec::new(),
        };
        let mut tx = self.pool().begin().await?;
        for (scope, subject) in subjects(login, client) {
            let id: i64 =
                sqlx::query_scalar("INSERT INTO sign_in_failures (scope, subject, at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(scope)
                    .bind(subject)
                    .bind(attempt.at)
                    .fetch_one(&mut *tx)
                    .await?;
            attempt.rows.push(id);
        }
        // Old rows are useless: keep the table small as we go.
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(
                attempt.at
                    - Duration::minutes(2 * WINDOW_MINUTES)
                        .num_microseconds()
                        .unwrap_or(0),
            )
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let since = to_micros(now - Duration::minutes(WINDOW_MINUTES));
        for ((scope, subject), (_, limit)) in subjects(login, client).into_iter().zip(LIMITS) {
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM sign_in_failures WHERE scope = $1 AND subject = $2 AND at > $3",
            )
            .bind(scope)
            .bind(&subject)
            .bind(since)
            .fetch_one(self.pool())
            .await?;
            if count > limit {
                self.forget_attempt(&attempt).await?;
                let free_at = oldest.unwrap_or(since)
                    + Duration::minutes(WINDOW_MINUTES)
                        .num_microseconds()
                        .unwrap_or(0);
                let retry_after_secs = ((free_at - attempt.at) / 1_000_000).max(1);
                return Err(AuthError::RateLimited { retry_after_secs });
            }
        }
        Ok(attempt)
    }

    /// The password was right: this attempt was no failure, and the failures of this login from
    /// this address are forgiven.
    pub async fn sign_in_succeeded(&self, attempt: &SignInAttempt) -> Result<(), AuthError> {
        self.forget_attempt(attempt).await?;
        let [(scope, subject), ..] = subjects(&attempt.login, &attempt.client);
        sqlx::query("DELETE FROM sign_in_failures WHERE scope = $1 AND subject = $2")
            .bind(scope)
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn forget_attempt(&self, attempt: &SignInAttempt) -> Result<(), AuthError> {
        for id in &attempt.rows {
            sqlx::query("DELETE FROM sign_in_failures WHERE id = $1")
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }
}
