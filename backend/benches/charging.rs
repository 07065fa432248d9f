//! Bills charged per second on SQLite and PostgreSQL, next to the rate of plain one-row INSERT
//! transactions on the same database, so the cost of the ledger is seen against the database's own
//! commit limit. Each bill has 10 charges and is paid from a wallet of 5 instruments plus cash.
//!
//!     cargo bench -p backend --bench charging            # BENCH_BILLS=2000 for more
//!
//! PostgreSQL is taken from BILLING_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! a fresh database is created and dropped.

#![allow(clippy::float_arithmetic)] // rates for people to read, not money

use std::time::{Duration, Instant};

use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::prepaid_cards::PrepaidCardAssignment;
use backend::vouchers::VoucherIssue;
use backend::{IdempotencyKey, Store};
use billing::wallet_rules::VoucherValidity;
use billing::{Amount, BillingItem, Charge, Settlement};
use chrono::NaiveDate;
use sqlx::{Connection, Executor};

fn key(text: String) -> IdempotencyKey {
    IdempotencyKey::new(text).unwrap()
}

/// An account with 5 instruments (3 vouchers, 2 cards) that last the whole run, and cash.
async fn funded_account(store: &Store, tag: &str) -> i64 {
    let account = store.create_billing_account(tag).await.unwrap();
    for n in 0..3 {
        let issue = VoucherIssue {
            account_id: account,
            face_value: Amount::from_yuan(1_000_000),
            validity: VoucherValidity::DaysFromActivation(3_650),
        };
        store
            .issue_voucher(&key(format!("{tag}-v{n}")), &issue)
            .await
            .unwrap();
    }
    for n in 0..2 {
        let assign = PrepaidCardAssignment {
            account_id: account,
            denomination: Amount::from_yuan(1_000_000),
            assigned_by: "bench".into(),
        };
        store
            .assign_prepaid_card(&key(format!("{tag}-c{n}")), &assign)
            .await
            .unwrap();
    }
    let credit = CashCredit {
        account_id: account,
        amount: Amount::from_yuan(1_000_000),
        source: CashSource::BankTransfer,
        reference: "bench".into(),
    };
    store
        .credit_cash(&key(format!("{tag}-cash")), &credit)
        .await
        .unwrap();
    account
}

fn bill(account_id: i64, workspace: &str, n: usize) -> BillCharge {
    BillCharge {
        usage: Vec::new(),
        account_id,
        workspace_id: workspace.to_owned(),
        day: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(n as i64),
        cloud_subscription: None,
        settlement: Settlement::Account,
        charges: (0..10)
            .map(|i| Charge {
                item: BillingItem::ALL[i % BillingItem::ALL.len()],
                amount: Amount::from_fen(1_234 + i as i64),
            })
            .collect(),
    }
}

/// Charges `bills` bills spread over `accounts` accounts charged in parallel.
async fn charge_bills(store: &Store, tag: &str, bills: usize, accounts: usize) -> Duration {
    let mut ids = Vec::new();
    for a in 0..accounts {
        ids.push(funded_account(store, &format!("{tag}-a{a}")).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (a, account) in ids.into_iter().enumerate() {
        let store = store.clone();
        let tag = format!("{tag}-a{a}");
        let count = bills / accounts;
        tasks.push(tokio::spawn(async move {
            for n in 0..count {
                store
                    .charge_bill(&key(format!("{tag}-b{n}")), &bill(account, &tag, n))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

/// The same number of one-row INSERT transactions, with the same parallelism.
async fn raw_inserts(store: &Store, count: usize, parallel: usize) -> Duration {
    store
        .pool()
        .execute("CREATE TABLE IF NOT EXISTS bench_raw (id BIGINT, amount_fen BIGINT)")
        .await
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..parallel {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..count / parallel {
                let mut tx = store.pool().begin().await.unwrap();
                sqlx::query("INSERT INTO bench_raw (id, amount_fen) VALUES ($1, $2)")
                    .bind((p * 1_000_000 + n) as i64)
                    .bind(1_234_i64)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

async fn measure(name: &str, store: &Store, bills: usize) {
    for parallel in [1, 8] {
        let tag = format!("{name}-p{parallel}");
        let billed = charge_bills(store, &tag, bills, parallel).await;
        let raw = raw_inserts(store, bills, parallel).await;
        let bills_per_s = bills as f64 / billed.as_secs_f64();
        let raw_per_s = bills as f64 / raw.as_secs_f64();
        println!(
            "{name:<10} {parallel} writer(s): {bills} bills in {:>6.2} s = {bills_per_s:>7.0} bills/s | \
             {bills} plain INSERT transactions = {raw_per_s:>7.0} tx/s | bills/raw = {:.2}",
            billed.as_secs_f64(),
            bills_per_s / raw_per_s
        );
    }
}

fn main() {
    let bills: usize = std::env::var("BENCH_BILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(800);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("billing-center-bench-{}", std::process::id()));
        let store = Store::open(&format!("sqlite://{}/bench.db", dir.display()))
            .await
            .unwrap();
        measure("sqlite", &store, bills).await;
        store.close().await;
        std::fs::remove_dir_all(&dir).ok();

        let admin = std::env::var("BILLING_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
            println!("postgresql: skipped, nothing answers at {admin}");
            return;
        };
        let name = format!("billing_bench_{}", std::process::id());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let store = Store::open(&url).await.unwrap();
        measure("postgresql", &store, bills).await;
        store.close().await;
        conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
    });
}
