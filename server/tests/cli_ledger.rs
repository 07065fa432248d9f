//! `billing-center migrate` and `billing-center ledger check`, run as the binary.

use std::process::{Command, Output};

use backend::IdempotencyKey;
use backend::cash::{CashCredit, CashSource};
use billing::Amount;
use sqlx::{Connection, Executor};

fn run(args: &[&str], database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("the binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_sqlite_url(name: &str) -> (String, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("billing-center-cli-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let path = dir.join("nested").join("ledger.db");
    (format!("sqlite://{}", path.display()), dir)
}

#[tokio::test]
async fn migrate_creates_the_sqlite_file_and_check_reports_a_tampered_balance() {
    let (url, dir) = temp_sqlite_url("tamper");
    let migrated = run(&["migrate"], &url);
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    assert!(text(&migrated.stdout).contains("migrated to the latest schema"));
    assert!(dir.join("nested").join("ledger.db").is_file());

    let store = backend::Store::connect(&url).await.unwrap();
    let account = store.create_billing_account("Acme").await.unwrap();
    let credit = CashCredit {
        account_id: account,
        amount: Amount::from_yuan(25),
        source: CashSource::BankTransfer,
        reference: "receipt-1".into(),
    };
    store
        .credit_cash(&IdempotencyKey::new("receipt-1").unwrap(), &credit)
        .await
        .unwrap();

    let clean = run(&["ledger", "check"], &url);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    assert!(
        text(&clean.stdout).contains("every balance matches its postings"),
        "{}",
        text(&clean.stdout)
    );

    sqlx::query("UPDATE billing_accounts SET cash_fen = 1")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let dirty = run(&["ledger", "check"], &url);
    assert_eq!(dirty.status.code(), Some(1));
    let out = text(&dirty.stdout);
    assert!(
        out.contains("1 discrepancies") && out.contains("cash is 1 fen but its postings give 2500"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_database_url_exits_2_with_a_specific_error() {
    let output = run(&["ledger", "check"], "mysql://localhost/x");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr).trim(),
        "error: DATABASE_URL='mysql://localhost/x' must start with sqlite:// or postgres://"
    );
}

#[test]
fn checking_a_database_that_was_never_migrated_fails_without_creating_tables() {
    let (url, dir) = temp_sqlite_url("empty");
    let output = run(&["ledger", "check"], &url);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no such table"),
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn migrate_and_check_work_on_postgresql() {
    let admin = std::env::var("BILLING_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("billing_test_cli_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("a PostgreSQL server (scripts/test.sh starts one)");
    conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("BILLING_TEST_POSTGRES_URL needs a database path"),
    };
    let migrated = run(&["migrate"], &url);
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    let again = run(&["migrate"], &url);
    assert!(
        again.status.success(),
        "migrating twice is harmless: {}",
        text(&again.stderr)
    );
    let check = run(&["ledger", "check"], &url);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
