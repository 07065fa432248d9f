//! `billing-center bench settlement|ingest`: the figures come out as JSON beside the database's
//! own rates, and the throwaway database is gone afterwards (SQLite file; PostgreSQL database).

use std::process::Command;

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
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_settlement_benchmark_drops_its_postgresql_database() {
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
