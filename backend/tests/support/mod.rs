//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database on the server named by
//! BILLING_TEST_POSTGRES_URL (default: the machine's server on 127.0.0.1:5432). Every test gets
//! its own database, so tests can run in parallel and may tamper with data.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use backend::{Backend, IdempotencyKey, ManualClock, Store};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, Executor};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

pub fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::new(text).unwrap()
}

pub struct TestDb {
    pub store: Store,
    pub clock: ManualClock,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("billing_test_{}_{}_{}", std::process::id(), nanos, n)
}

pub fn postgres_admin_url() -> String {
    std::env::var("BILLING_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let db = TestDb::sqlite_unmigrated().await;
        db.store
            .migrate()
            .await
            .expect("the SQLite test store migrates");
        db
    }

    /// A fresh SQLite database with no tables: the test migrates it.
    pub async fn sqlite_unmigrated() -> TestDb {
        let dir = std::env::temp_dir().join("billing-center-tests");
        let path = dir.join(format!("{}.db", unique_name()));
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("the SQLite test store opens");
        TestDb::with_store(store, Cleanup::File(path))
    }

    pub async fn postgres() -> TestDb {
        let db = TestDb::postgres_unmigrated().await;
        db.store
            .migrate()
            .await
            .expect("the PostgreSQL test store migrates");
        db
    }

    /// A fresh PostgreSQL database with no tables: the test migrates it.
    pub async fn postgres_unmigrated() -> TestDb {
        let admin_url = postgres_admin_url();
        let name = unique_name();
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL tests need a server at {admin_url} ({e}). Run scripts/test.sh, which starts one, \
                 or set BILLING_TEST_POSTGRES_URL to a URL whose user may create databases."
            )
        });
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE");
        admin.close().await.ok();
        let url = database_url(&admin_url, &name);
        let store = Store::connect(&url)
            .await
            .expect("the PostgreSQL test store opens");
        TestDb::with_store(store, Cleanup::Database { admin_url, name })
    }

    pub async fn unmigrated(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite_unmigrated().await,
            Backend::Postgres => TestDb::postgres_unmigrated().await,
        }
    }

    pub async fn of(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite().await,
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    /// The same database, the store changed (settings, not the connection).
    pub fn map_store(self, change: impl FnOnce(Store) -> Store) -> TestDb {
        TestDb {
            store: change(self.store),
            ..self
        }
    }

    fn with_store(store: Store, cleanup: Cleanup) -> TestDb {
        let clock = ManualClock::new(start());
        TestDb {
            store: store.with_clock(clock.clone()),
            clock,
            cleanup,
        }
    }

    /// Drops the database. (A test that panics leaves it; scripts/test.sh removes leftovers.)
    pub async fn finish(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await
                        .ok();
                }
            }
        }
    }

    /// A customer signed up as `name` (`name@example.com`, confirmed, English): their billing
    /// account.
    pub async fn customer_account(&self, name: &str) -> i64 {
        let customer = self
            .store
            .sign_up(&backend::auth::customers::SignUp {
                username: name.into(),
                email: format!("{name}@example.com"),
                phone: None,
                password: "correct horse battery".into(),
                language: Some("en".into()),
            })
            .await
            .unwrap();
        self.store.mark_email_confirmed(customer.id).await.unwrap();
        customer.billing_account_id
    }

    /// Everything a rejected operation must leave untouched, as one comparable value.
    pub async fn fingerprint(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for sql in [
            "SELECT COUNT(*) FROM ledger_transactions",
            "SELECT COUNT(*) FROM postings",
            "SELECT COUNT(*) FROM idempotency_keys",
            "SELECT COUNT(*) FROM instruments",
            "SELECT COUNT(*) FROM bills",
            "SELECT COUNT(*) FROM activation_codes WHERE redeemed_by IS NOT NULL",
            "SELECT CAST(COALESCE(SUM(cash_fen), 0) AS BIGINT) FROM billing_accounts",
            "SELECT CAST(COALESCE(SUM(arrears_fen), 0) AS BIGINT) FROM billing_accounts",
            "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM instruments",
            "SELECT COUNT(*) FROM instruments WHERE expired_at IS NOT NULL",
        ] {
            out.push(
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(self.store.pool())
                    .await
                    .unwrap(),
            );
        }
        out
    }

    /// Panics with the report unless every balance matches its postings.
    pub async fn assert_ledger_clean(&self) {
        let report = self
            .store
            .check_ledger()
            .await
            .expect("the ledger check runs");
        assert!(report.is_clean(), "{report}");
    }
}

/// The admin URL with its database name replaced.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Declares each listed `async fn(TestDb)` as two tests, `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::support::TestDb::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::support::TestDb::postgres().await).await;
            }
        }
    )*};
}
