//! The connection to the database: SQLite by default, PostgreSQL when the URL says so. Both run the
//! same SQL (integers and text only, `$n` placeholders) through sqlx's `Any` driver; the only
//! differences are the migrations and how a write transaction serialises on a billing account.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::clock::{Clock, SystemClock};

/// Where the data lives when DATABASE_URL is not set: a file under ./data.
pub const DEFAULT_SETTLEMENT_TIMEZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/billing-center.db";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL must start with sqlite:// or postgres:// (got '{0}')")]
    UnsupportedUrl(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
    prepaid_card_validity_days: i64,
    settlement_timezone: chrono_tz::Tz,
    settlement_lease_seconds: i64,
    settlement_batch_size: usize,
    settlement_shards: i64,
    sign_ups_per_hour: i64,
    console_key: Option<crate::console::ConsoleKey>,
    binding_needs_console_proof: bool,
    mail: Arc<crate::mail::MailSettings>,
    password_checks: Arc<std::sync::atomic::AtomicU64>,
    password_hashes: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects and applies any pending migrations: what the server does on start.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating. A SQLite file (and its directory) is created if missing.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let options = AnyPoolOptions::new().max_connections(match backend {
            // One writer at a time is SQLite's rule anyway; a few connections let readers through.
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        });
        let options = match backend {
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    // A 32 MiB page cache per connection (SQLite's default is 2 MiB) and reads
                    // through a memory map keep the settlement's index lookups out of read(2).
                    conn.execute(
                        "PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
                         PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options,
        };
        if backend == Backend::Postgres {
            // One plain connection first: the pool retries a refused connection until its acquire
            // timeout (30 s); a server that is down should be said so at once.
            use sqlx::Connection;
            sqlx::AnyConnection::connect(&url)
                .await
                .map_err(StoreError::Connect)?
                .close()
                .await
                .ok();
        }
        let pool = options.connect(&url).await.map_err(StoreError::Connect)?;
        if backend == Backend::Sqlite && !url.contains(":memory:") {
            // WAL is a property of the file: set once, it stays.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_all(&pool)
                .await?;
        }
        Ok(Store {
            pool,
            backend,
            clock: Arc::new(SystemClock),
            prepaid_card_validity_days: billing::wallet_rules::DEFAULT_PREPAID_CARD_VALIDITY_DAYS,
            settlement_timezone: DEFAULT_SETTLEMENT_TIMEZONE,
            settlement_lease_seconds: crate::settlement::LEASE_SECONDS,
            settlement_batch_size: crate::settlement::BATCH_SIZE,
            settlement_shards: crate::settlement::default_shards(backend),
            sign_ups_per_hour: crate::auth::rate_limit::DEFAULT_SIGN_UPS_PER_HOUR,
            console_key: None,
            binding_needs_console_proof: false,
            mail: Arc::default(),
            password_checks: Arc::default(),
            password_hashes: Arc::default(),
        })
    }

    pub fn with_clock(mut self, clock: impl Clock) -> Store {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a prepaid card bought or assigned from now on stays valid (default 365 days).
    pub fn with_prepaid_card_validity_days(
        mut self,
        days: i64,
    ) -> Result<Store, crate::LedgerError> {
        if !(1..=3650).contains(&days) {
            return Err(crate::LedgerError::InvalidValidityDays(days));
        }
        self.prepaid_card_validity_days = days;
        Ok(self)
    }

    /// How many sign-ups one client address may attempt per hour (default 10; see `auth::rate_limit`).
    pub fn with_sign_ups_per_hour(mut self, limit: i64) -> Store {
        self.sign_ups_per_hour = limit.max(1);
        self
    }

    pub fn sign_ups_per_hour(&self) -> i64 {
        self.sign_ups_per_hour
    }

    /// How many sign-in password checks (argon2 verifications) this store ran: lets tests prove
    /// that an unknown login does the same work as a wrong password, without timing anything.
    /// Days begin and end, and settle at 00:00, in this timezone (PRODUCT.md §4).
    pub fn with_settlement_timezone(mut self, timezone: chrono_tz::Tz) -> Store {
        self.settlement_timezone = timezone;
        self
    }

    pub fn settlement_timezone(&self) -> chrono_tz::Tz {
        self.settlement_timezone
    }

    /// How long a settlement run's lease lasts without a heartbeat (default
    /// [`crate::settlement::LEASE_SECONDS`]); a killed run's day is taken over after it.
    pub fn with_settlement_lease_seconds(mut self, seconds: i64) -> Store {
        self.settlement_lease_seconds = seconds.clamp(2, 3_600);
        self
    }

    pub fn settlement_lease_seconds(&self) -> i64 {
        self.settlement_lease_seconds
    }

    /// The key the SaaS console signs its tokens with (`CONSOLE_SIGNING_KEY`). With one, binding
    /// a workspace needs the console's owner token for it; without one (a standalone install),
    /// a workspace is bound by its id.
    /// `binding_needs_proof` is false only for the demo's public key.
    pub fn with_console_key(
        mut self,
        key: Option<crate::console::ConsoleKey>,
        binding_needs_proof: bool,
    ) -> Store {
        self.binding_needs_console_proof = key.is_some() && binding_needs_proof;
        self.console_key = key;
        self
    }

    /// Where mail's links point, who the operators are, the arrears grace period.
    pub fn with_mail_settings(mut self, settings: crate::mail::MailSettings) -> Store {
        self.mail = Arc::new(settings);
        self
    }

    pub fn mail_settings(&self) -> &crate::mail::MailSettings {
        &self.mail
    }

    /// Whether binding a workspace needs the console's owner token.
    pub fn binding_needs_console_proof(&self) -> bool {
        self.binding_needs_console_proof
    }

    pub fn console_key(&self) -> Option<&crate::console::ConsoleKey> {
        self.console_key.as_ref()
    }

    /// A console token's claims, verified now; `ConsoleNotConfigured` without a console key.
    pub fn verify_console_token(
        &self,
        token: &str,
    ) -> Result<crate::console::ConsoleClaims, crate::workspaces::WorkspaceError> {
        let key = self
            .console_key()
            .ok_or(crate::workspaces::WorkspaceError::ConsoleNotConfigured)?;
        Ok(key.verify(token, self.now())?)
    }

    /// How many daily bills the settlement charges per transaction (default
    /// [`crate::settlement::BATCH_SIZE`], 1 to 5,000).
    pub fn with_settlement_batch_size(mut self, bills: usize) -> Store {
        self.settlement_batch_size = bills.clamp(1, 5_000);
        self
    }

    pub fn settlement_batch_size(&self) -> usize {
        self.settlement_batch_size
    }

    /// Into how many shards a day whose settlement starts from now on is split (1 to
    /// [`crate::settlement::MAX_SHARDS`]; default [`crate::settlement::default_shards`]).
    pub fn with_settlement_shards(mut self, shards: i64) -> Store {
        self.settlement_shards = shards.clamp(1, crate::settlement::MAX_SHARDS);
        self
    }

    pub fn settlement_shards(&self) -> i64 {
        self.settlement_shards
    }

    /// Today's date in the settlement timezone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now()
            .with_timezone(&self.settlement_timezone)
            .date_naive()
    }

    pub fn password_checks(&self) -> u64 {
        self.password_checks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many new password hashes (sign-up, password change, operator creation) this store made:
    /// lets tests prove that a refused attempt does no argon2 work.
    pub fn password_hashes(&self) -> u64 {
        self.password_hashes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) async fn hash_password(&self, password: &str) -> String {
        self.password_hashes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::auth::password::hash_password(password.to_owned()).await
    }

    /// Every sign-in goes through here: one argon2 verification, against a dummy hash when the
    /// login is unknown.
    pub(crate) async fn check_password(&self, stored: Option<String>, password: &str) -> bool {
        self.password_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::auth::password::verify_password(stored, password.to_owned()).await
    }

    pub fn prepaid_card_validity_days(&self) -> i64 {
        self.prepaid_card_validity_days
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Whether the database answers (a `SELECT 1`): what readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
    }

    /// Closes the pool, waiting at most 5 seconds: sqlx's `close` waits for every connection to
    /// come back, and was seen to wait forever on a current-thread runtime when a connection's
    /// return was never scheduled. The connections are dropped either way.
    pub async fn close(&self) {
        if tokio::time::timeout(std::time::Duration::from_secs(5), self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("closing the database pool timed out after 5 s");
        }
    }

    /// A read-only transaction that sees one consistent snapshot (PostgreSQL's default isolation
    /// would let two statements see different commits).
    pub(crate) async fn begin_read(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin().await,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        }
    }

    /// A write transaction. On SQLite it takes the database's write lock at once (BEGIN IMMEDIATE),
    /// so a transaction that reads balances and then writes cannot lose a race to another writer.
    /// On PostgreSQL, callers lock the billing account row next (see `accounts::lock`).
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            // Explicit: the row lock protocol relies on READ COMMITTED whatever the server's default.
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await
            }
        }
    }
}

/// Runs an operation once more if it lost a race on a UNIQUE constraint. Operations serialise per
/// account, but a few things are unique across accounts (idempotency keys, a workspace-day's bill,
/// a receipt): two accounts racing for one of them both pass their checks, and the loser fails on
/// the constraint. Its transaction has rolled back; run again, it sees the winner's commit and
/// answers properly (a replay, a conflict, a duplicate).
pub(crate) async fn retry_after_conflict<T, F, Fut>(
    mut operation: F,
) -> Result<T, crate::LedgerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::LedgerError>>,
{
    match operation().await {
        Err(crate::LedgerError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
            operation().await
        }
        other => other,
    }
}

/// Recognises the backend and, for SQLite, makes sure the file can be created.
fn normalise_url(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    };
    if rest.is_empty() {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    if rest.starts_with(":memory:") {
        return Ok((Backend::Sqlite, url.to_owned()));
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDirectory {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let query = if query.split('&').any(|p| p.starts_with("mode=")) {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok((Backend::Sqlite, format!("sqlite://{path}?{query}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_and_sqlite_files_are_created_on_demand() {
        let dir = std::env::temp_dir().join(format!("bc-url-{}", std::process::id()));
        let file = dir.join("nested").join("x.db");
        let (backend, url) = normalise_url(&format!("sqlite://{}", file.display())).unwrap();
        assert_eq!(backend, Backend::Sqlite);
        assert!(url.ends_with("x.db?mode=rwc"), "{url}");
        assert!(file.parent().unwrap().is_dir());
        let (backend, _) = normalise_url("postgres://u@127.0.0.1/db").unwrap();
        assert_eq!(backend, Backend::Postgres);
        assert!(matches!(
            normalise_url("mysql://x"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert!(matches!(
            normalise_url("sqlite://"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        let read_only = format!("sqlite://{}?mode=ro", file.display());
        assert_eq!(normalise_url(&read_only).unwrap().1, read_only);
        std::fs::remove_dir_all(dir).ok();
    }
}
