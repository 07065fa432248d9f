//! `billing-center bench settlement|ingest`: the figures come out as JSON beside the database's
//! own rates, and the throwaway database is gone afterwards (SQLite file; PostgreSQL database).

use std::process::Command;

/// The PostgreSQL tests run one at a time: one of them checks that no benchmark database is left.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn bench(args: &[&str], database_url: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .arg("bench")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary starts");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("the database alone"));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn positive(figures: &serde_json::Value, field: &str) {
    assert!(
        figures[field].as_f64().is_some_and(|v| v > 0.0),
        "{field}: {figures}"
    );
}

#[test]
fn the_benchmarks_print_their_figures_and_leave_nothing_behind_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("billing-center-bench-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let settled = bench(
        &["settlement", "--workspaces", "120", "--batch", "50"],
        &url,
    );
    assert_eq!(settled["database"], "sqlite");
    assert_eq!(settled["bills"], 120);
    assert_eq!(settled["batch_size"], 50);
    assert_eq!(
        settled["sqlite_synchronous"], 2,
        "durable: synchronous FULL"
    );
    for field in [
        "bills_per_second",
        "rows_per_bill",
        "raw_commits_per_second",
        "raw_batched_bills_per_second",
    ] {
        positive(&settled, field);
    }
    let ingested = bench(
        &["ingest", "--records", "2500", "--per-report", "1000"],
        &url,
    );
    assert_eq!(ingested["records"], 2500);
    positive(&ingested, "records_per_second");
    positive(&ingested, "raw_rows_per_second");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(
        left.is_empty(),
        "the throwaway database is removed: {left:?}"
    );
    // Its output closed at once (`| head -1`): the database is still removed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["bench", "settlement", "--workspaces", "50"])
        .env("DATABASE_URL", &url)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap();
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "removed with its output closed: {left:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_settlement_benchmark_drops_its_postgresql_database() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let admin = std::env::var("BILLING_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let settled = bench(&["settlement", "--workspaces", "120"], &admin);
    assert_eq!(settled["database"], "postgresql");
    assert_eq!(settled["bills"], 120);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let left: i64 = runtime.block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'billing\\_bench\\_%'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap()
    });
    assert_eq!(left, 0, "no billing_bench_* database is left");
}

/// A `dbname=` in DATABASE_URL's query names the configured database; the benchmark still runs
/// on a database of its own and writes nothing there.
#[test]
fn a_dbname_in_the_url_does_not_lead_the_benchmark_to_the_real_database() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let admin = std::env::var("BILLING_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("billing_test_bench_target_{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let real_url = runtime.block_on(async {
        use sqlx::{Connection, Executor};
        let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
        connection
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        let real_url = format!("{base}/{name}");
        let store = backend::Store::open(&real_url).await.unwrap();
        store.create_billing_account("Real customer").await.unwrap();
        store.close().await;
        real_url
    });
    let (base, _) = admin.rsplit_once('/').unwrap();
    let tricky = format!("{base}/postgres?dbname={name}");
    let settled = bench(&["settlement", "--workspaces", "60"], &tricky);
    assert_eq!(settled["bills"], 60);
    runtime.block_on(async {
        let store = backend::Store::connect(&real_url).await.unwrap();
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM billing_accounts")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(
            accounts, 1,
            "nothing was written to the configured database"
        );
        store.close().await;
        use sqlx::{Connection, Executor};
        let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
        connection
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
    });
}
