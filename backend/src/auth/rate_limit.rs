//! Rate limits on what costs a password hash or could be guessed, in the database so that every
//! server process sees the same counts. Each action has buckets of its own (the `scope` column),
//! so one kind of attempt never uses up another's allowance, and strangers never share a bucket
//! unless they share an address:
//!
//! | action | buckets (sliding window) |
//! |---|---|
//! | customer sign-in (`sign_in.*`) | 5 failures per account and address, 20 per address, 100 per account (15 min) |
//! | operator sign-in at /ops (`operator_sign_in.*`) | the same limits, counted apart from customers |
//! | password change (`password.*`) | 5 wrong current passwords per account, 20 per address (15 min) |
//! | voucher-code activation (`activation.*`) | 10 failed codes per account, 30 per address (15 min) |
//! | sign-up (`sign_up.address`) | 10 sign-ups per address per hour, successful or not (configurable) |
//!
//! An attempt is counted before anything is checked, so a burst of parallel attempts cannot slip
//! under a limit, and a refused attempt does no work (no argon2 hash or verification). A refused
//! attempt is taken back out: being refused does not prolong the wait. Nothing locks for good:
//! attempts age out of the window. A success forgives the attempt itself and, for sign-in, the
//! failures of that account from that address; for a password change or an activation, that
//! account's failures. A sign-up is never forgiven: each one costs a 19 MiB hash.
//!
//! "Address" is the client address the server resolved (the socket peer, or the forwarded client
//! when the peer is a trusted proxy). The per-account limit of sign-in is deliberately high, so an
//! attacker spraying from many addresses slows the account down for everybody only after 100
//! failures in 15 minutes.

use chrono::Duration;

use crate::auth::AuthError;
use crate::store::Store;
use crate::time::to_micros;

/// The window of the sign-in, password and activation limits.
pub const WINDOW_MINUTES: i64 = 15;
/// Sign-ups allowed per client address and hour unless the store is told otherwise.
pub const DEFAULT_SIGN_UPS_PER_HOUR: i64 = 10;
/// Rows older than this are deleted as attempts go by (twice the longest window).
const KEEP: Duration = Duration::hours(2);

/// What is being attempted: each action counts in buckets of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignIn,
    OperatorSignIn,
    PasswordChange,
    CodeActivation,
    SignUp,
}

/// Whose attempts a bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Per {
    AccountAndAddress,
    Address,
    Account,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    scope: &'static str,
    per: Per,
    limit: i64,
    window: Duration,
}

const fn bucket(scope: &'static str, per: Per, limit: i64, window: Duration) -> Bucket {
    Bucket {
        scope,
        per,
        limit,
        window,
    }
}

const QUARTER: Duration = Duration::minutes(WINDOW_MINUTES);

impl Action {
    fn buckets(self, sign_ups_per_hour: i64) -> Vec<Bucket> {
        use Per::*;
        match self {
            Action::SignIn => vec![
                bucket("sign_in.account_address", AccountAndAddress, 5, QUARTER),
                bucket("sign_in.address", Address, 20, QUARTER),
                bucket("sign_in.account", Account, 100, QUARTER),
            ],
            Action::OperatorSignIn => vec![
                bucket(
                    "operator_sign_in.account_address",
                    AccountAndAddress,
                    5,
                    QUARTER,
                ),
                bucket("operator_sign_in.address", Address, 20, QUARTER),
                bucket("operator_sign_in.account", Account, 100, QUARTER),
            ],
            Action::PasswordChange => vec![
                bucket("password.account", Account, 5, QUARTER),
                bucket("password.address", Address, 20, QUARTER),
            ],
            Action::CodeActivation => vec![
                bucket("activation.account", Account, 10, QUARTER),
                bucket("activation.address", Address, 30, QUARTER),
            ],
            Action::SignUp => vec![bucket(
                "sign_up.address",
                Address,
                sign_ups_per_hour,
                Duration::hours(1),
            )],
        }
    }

    /// The bucket a success clears (besides the attempt itself), if any.
    fn cleared_on_success(self) -> Option<Per> {
        match self {
            Action::SignIn | Action::OperatorSignIn => Some(Per::AccountAndAddress),
            Action::PasswordChange | Action::CodeActivation => Some(Per::Account),
            Action::SignUp => None,
        }
    }
}

/// The address a bucket counts under: an IPv6 client by its /64 (one household or host gets a
/// whole /64 and can pick any address in it), an IPv4 client by its address.
fn address_bucket(client: &str) -> String {
    match client.parse::<std::net::Ipv6Addr>() {
        Ok(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v6) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Err(_) => client.to_owned(),
    }
}

fn subject(per: Per, account: &str, client: &str) -> String {
    let client = &address_bucket(client);
    match per {
        Per::AccountAndAddress => format!("{account}\u{1f}{client}"),
        Per::Address => client.to_owned(),
        Per::Account => account.to_owned(),
    }
}

/// One counted attempt: the rows it added, so a refusal or a success can take them back.
#[derive(Debug, Clone)]
pub struct Attempt {
    action: Action,
    account: String,
    client: String,
    rows: Vec<i64>,
}

impl Store {
    /// Counts an attempt of `action` by `account` (canonical: the same whichever login names it;
    /// empty for sign-up) from `client`, then checks every bucket of the action. Over a limit, the
    /// attempt is taken back and refused with the seconds until it would be allowed.
    pub async fn begin_attempt(
        &self,
        action: Action,
        account: &str,
        client: &str,
    ) -> Result<Attempt, AuthError> {
        let now = to_micros(self.now());
        let buckets = action.buckets(self.sign_ups_per_hour());
        let mut attempt = Attempt {
            action,
            account: account.trim().to_lowercase(),
            client: client.to_owned(),
            rows: Vec::new(),
        };
        let mut tx = self.pool().begin().await?;
        for bucket in &buckets {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sign_in_failures (scope, subject, at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(bucket.scope)
            .bind(subject(bucket.per, &attempt.account, &attempt.client))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            attempt.rows.push(id);
        }
        // Old rows are useless: keep the table small as we go.
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(now - micros(KEEP))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        for bucket in &buckets {
            let since = now - micros(bucket.window);
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM sign_in_failures WHERE scope = $1 AND subject = $2 AND at > $3",
            )
            .bind(bucket.scope)
            .bind(subject(bucket.per, &attempt.account, &attempt.client))
            .bind(since)
            .fetch_one(self.pool())
            .await?;
            if count > bucket.limit {
                self.forget_attempt(&attempt).await?;
                let free_at = oldest.unwrap_or(since) + micros(bucket.window);
                let retry_after_secs = ((free_at - now) / 1_000_000).max(1);
                return Err(AuthError::RateLimited { retry_after_secs });
            }
        }
        Ok(attempt)
    }

    /// The attempt succeeded: it was no failure (except a sign-up, which always counts), and the
    /// earlier failures of its account (from its address, for a sign-in) are forgiven.
    pub async fn attempt_succeeded(&self, attempt: &Attempt) -> Result<(), AuthError> {
        let Some(per) = attempt.action.cleared_on_success() else {
            return Ok(());
        };
        self.forget_attempt(attempt).await?;
        let buckets = attempt.action.buckets(self.sign_ups_per_hour());
        if let Some(bucket) = buckets.iter().find(|b| b.per == per) {
            sqlx::query("DELETE FROM sign_in_failures WHERE scope = $1 AND subject = $2")
                .bind(bucket.scope)
                .bind(subject(per, &attempt.account, &attempt.client))
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    async fn forget_attempt(&self, attempt: &Attempt) -> Result<(), AuthError> {
        for id in &attempt.rows {
            sqlx::query("DELETE FROM sign_in_failures WHERE id = $1")
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }
}

fn micros(duration: Duration) -> i64 {
    duration.num_microseconds().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_an_ipv4_one_by_its_address() {
        assert_eq!(
            super::address_bucket("2001:db8:1:2:3:4:5:6"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            super::address_bucket("2001:db8:1:2:ffff::1"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(super::address_bucket("::ffff:10.0.0.7"), "10.0.0.7");
        assert_eq!(super::address_bucket("10.0.0.7"), "10.0.0.7");
        assert_eq!(super::address_bucket("unknown"), "unknown");
    }

    use super::*;

    #[test]
    fn every_action_has_buckets_of_its_own() {
        let actions = [
            Action::SignIn,
            Action::OperatorSignIn,
            Action::PasswordChange,
            Action::CodeActivation,
            Action::SignUp,
        ];
        let mut scopes: Vec<&str> = actions
            .iter()
            .flat_map(|a| a.buckets(DEFAULT_SIGN_UPS_PER_HOUR))
            .map(|b| b.scope)
            .collect();
        let all = scopes.len();
        scopes.sort();
        scopes.dedup();
        assert_eq!(scopes.len(), all, "a scope is shared: {scopes:?}");
        for action in actions {
            assert!(
                action
                    .buckets(DEFAULT_SIGN_UPS_PER_HOUR)
                    .iter()
                    .any(|b| b.per == Per::Address),
                "{action:?} has no per-address bucket"
            );
            assert!(
                action
                    .buckets(DEFAULT_SIGN_UPS_PER_HOUR)
                    .iter()
                    .all(|b| b.window <= KEEP / 2),
                "rows of {action:?} would be deleted inside its window"
            );
        }
    }
}
