//! The benchmarks an operator runs on their own machine (`billing-center bench …`): the nightly
//! settlement and usage ingest, each beside the same database's own rates measured in the same
//! run, so the ratio says how close the product is to what the disk and the database allow.
//!
//! Both run on a throwaway database of the configured kind (see `server`'s `bench` command),
//! filled here with direct multi-row INSERTs (the setup is not what is measured).

#![allow(clippy::float_arithmetic)] // rates for people to read, not money

use std::time::{Duration, Instant};

use billing::Amount;
use chrono::NaiveDate;
use serde::Serialize;

use crate::cash::{CashCredit, CashSource};
use crate::error::LedgerError;
use crate::idempotency::IdempotencyKey;
use crate::settlement::SettlementStatus;
use crate::sql::Placeholders;
use crate::store::{Backend, Store};
use crate::usage::UsageInput;
use crate::vouchers::VoucherIssue;
use crate::workspaces::Workspace;

/// Workspaces per account in the benchmark (as in a company with many projects).
pub const WORKSPACES_PER_ACCOUNT: usize = 50;
/// Usage records per workspace-day: three billing items.
const RECORDS_PER_WORKSPACE: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct SettlementFigures {
    pub database: &'static str,
    /// SQLite's `synchronous` setting (2 = FULL: every commit reaches the disk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlite_synchronous: Option<i64>,
    pub workspaces: usize,
    pub accounts: usize,
    pub batch_size: usize,
    /// Settlement runs at once on the day (as that many processes would), and its shards.
    pub processes: usize,
    pub shards: i64,
    pub bills: u32,
    pub seconds: f64,
    pub bills_per_second: f64,
    /// Rows the settlement wrote per bill (bills, lines, ledger transactions, postings, answers).
    pub rows_per_bill: f64,
    /// The database alone: one-row INSERT transactions per second (its commit rate).
    pub raw_commits_per_second: f64,
    /// The database alone: a bill's worth of rows in multi-row INSERTs, a thousand bills' worth
    /// per transaction, as bills per second (what group commit can at best approach).
    pub raw_batched_bills_per_second: f64,
    pub ratio_to_raw_batched: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestFigures {
    pub database: &'static str,
    pub records: usize,
    pub records_per_report: usize,
    pub seconds: f64,
    pub records_per_second: f64,
    /// The database alone: usage-record-sized rows in multi-row INSERTs, one transaction per
    /// report's worth, as records per second.
    pub raw_rows_per_second: f64,
    pub ratio_to_raw: f64,
}

fn database(store: &Store) -> &'static str {
    match store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    }
}

fn rate(count: f64, elapsed: Duration) -> f64 {
    count / elapsed.as_secs_f64().max(1e-9)
}

/// The day the benchmarks bill: yesterday in the settlement timezone.
fn bench_day(store: &Store) -> NaiveDate {
    store.today().pred_opt().unwrap_or(store.today())
}

/// Refuses to run anywhere but on an empty database: the benchmarks credit cash from nothing and
/// settle a day, which must never reach a real ledger.
async fn ensure_empty(store: &Store) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM billing_accounts")
        .fetch_one(store.pool())
        .await?;
    if accounts > 0 {
        return Err(format!(
            "the benchmark database already holds {accounts} accounts; it runs only on a database of its own"
        )
        .into());
    }
    Ok(())
}

/// Accounts with cash and a voucher, and `workspaces` workspaces bound to them.
async fn accounts_and_workspaces(
    store: &Store,
    workspaces: usize,
) -> Result<Vec<(i64, String)>, LedgerError> {
    let accounts = workspaces.div_ceil(WORKSPACES_PER_ACCOUNT).max(1);
    let mut ids = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let account = store.create_billing_account(&format!("Bench {a}")).await?;
        store
            .credit_cash(
                &IdempotencyKey::new(format!("bench-cash-{a}"))?,
                &CashCredit {
                    account_id: account,
                    amount: Amount::from_yuan(100_000),
                    source: CashSource::BankTransfer,
                    reference: format!("BENCH-{a}"),
                },
            )
            .await?;
        store
            .issue_voucher(
                &IdempotencyKey::new(format!("bench-voucher-{a}"))?,
                &VoucherIssue {
                    account_id: account,
                    face_value: Amount::from_yuan(500),
                    validity: billing::wallet_rules::VoucherValidity::DaysFromActivation(365),
                },
            )
            .await?;
        ids.push(account);
    }
    let bound: Vec<(i64, String)> = (0..workspaces)
        .map(|w| (ids[w % accounts], format!("bench-ws-{w:07}")))
        .collect();
    let now = crate::time::to_micros(store.now());
    let mut tx = store.begin_write().await?;
    let sql = Placeholders::of(&tx);
    for chunk in bound.chunks(sql.rows_per_statement(8)) {
        let statement = format!(
            "INSERT INTO workspaces (workspace_id, account_id, name, settlement, key_hash, key_prefix, bound_at, \
             key_rotated_at) VALUES {}",
            sql.rows(chunk.len(), 8, 1)
        );
        let mut query = sqlx::query(&statement);
        for (account, workspace_id) in chunk {
            query = query
                .bind(workspace_id.as_str())
                .bind(*account)
                .bind("bench")
                .bind("account")
                .bind(format!("bench-hash-{workspace_id}"))
                .bind("bench")
                .bind(now)
                .bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(bound)
}

/// Settles one day of `workspaces` workspaces (three usage records each) by `processes` runs at
/// once, each as its own owner of leases (as separate server processes would), and measures it.
pub async fn settlement(
    store: &Store,
    workspaces: usize,
    processes: usize,
) -> Result<SettlementFigures, Box<dyn std::error::Error + Send + Sync>> {
    ensure_empty(store).await?;
    let day = bench_day(store);
    let bound = accounts_and_workspaces(store, workspaces).await?;
    let now = crate::time::to_micros(store.now());
    let mut tx = store.begin_write().await?;
    let sql = Placeholders::of(&tx);
    for chunk in bound.chunks(sql.rows_per_statement(7 * RECORDS_PER_WORKSPACE)) {
        let statement = format!(
            "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, retention_days, quantity, \
             received_at) VALUES {}",
            sql.rows(chunk.len() * RECORDS_PER_WORKSPACE, 7, 1)
        );
        let mut query = sqlx::query(&statement);
        for (n, (_, workspace_id)) in chunk.iter().enumerate() {
            for (item, retention, quantity) in [
                ("logs", Some(7_i64), format!("{}", 1_000_000 + n)),
                ("network", None, "3".to_owned()),
                ("time_series", Some(7_i64), format!("{}", 20_000 + n)),
            ] {
                query = query
                    .bind(workspace_id.as_str())
                    .bind(format!("{item}-1"))
                    .bind(day.to_string())
                    .bind(item)
                    .bind(retention)
                    .bind(quantity)
                    .bind(now);
            }
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;

    let rows_before = ledger_rows(store).await?;
    let started = Instant::now();
    let runs: Vec<_> = (0..processes.max(1))
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move { store.settle_day(day, &format!("bench-{p}")).await })
        })
        .collect();
    let mut reports = Vec::with_capacity(runs.len());
    for run in runs {
        reports.push(run.await??);
    }
    let elapsed = started.elapsed();
    let bills_charged: u32 = reports.iter().map(|r| r.bills_charged).sum();
    let failures: Vec<_> = reports.iter().flat_map(|r| r.failures.clone()).collect();
    let report = crate::settlement::SettlementReport {
        bills_charged,
        failures,
        status: if reports
            .iter()
            .any(|r| r.status == SettlementStatus::Settled)
            && bills_charged as usize == workspaces
        {
            SettlementStatus::Settled
        } else {
            SettlementStatus::Incomplete
        },
        ..reports.remove(0)
    };
    if report.status != SettlementStatus::Settled {
        return Err(format!(
            "the benchmark day did not settle: {:?}, {} bills charged, {} failures (first: {:?})",
            report.status,
            report.bills_charged,
            report.failures.len(),
            report.failures.first()
        )
        .into());
    }
    let rows_per_bill =
        (ledger_rows(store).await? - rows_before) as f64 / f64::from(report.bills_charged.max(1));
    let raw_commits_per_second = raw_commits(store, 500).await?;
    let raw_batched_bills_per_second = raw_batched(
        store,
        workspaces.min(20_000),
        rows_per_bill.round() as usize,
        1_000,
    )
    .await?;
    let bills_per_second = rate(f64::from(report.bills_charged), elapsed);
    Ok(SettlementFigures {
        database: database(store),
        sqlite_synchronous: sqlite_synchronous(store).await?,
        workspaces,
        accounts: workspaces.div_ceil(WORKSPACES_PER_ACCOUNT).max(1),
        batch_size: store.settlement_batch_size(),
        processes: processes.max(1),
        shards: store.settlement_shards(),
        bills: report.bills_charged,
        seconds: elapsed.as_secs_f64(),
        bills_per_second,
        rows_per_bill,
        raw_commits_per_second,
        raw_batched_bills_per_second,
        ratio_to_raw_batched: bills_per_second / raw_batched_bills_per_second.max(1e-9),
    })
}

/// Ingests `records` usage records through `Store::ingest_usage`, in reports of
/// `per_report`, spread over workspaces of `per_report` records each, and measures it.
pub async fn ingest(
    store: &Store,
    records: usize,
    per_report: usize,
) -> Result<IngestFigures, Box<dyn std::error::Error + Send + Sync>> {
    ensure_empty(store).await?;
    let per_report = per_report.clamp(1, crate::usage::MAX_RECORDS_PER_REPORT);
    let reports = records.div_ceil(per_report).max(1);
    let bound = accounts_and_workspaces(store, reports).await?;
    let day = bench_day(store).to_string();
    let mut workspaces = Vec::with_capacity(bound.len());
    for (account, workspace_id) in &bound {
        workspaces.push(store.workspace(*account, workspace_id).await?);
    }
    let reports_of: Vec<(Workspace, Vec<UsageInput>)> = workspaces
        .into_iter()
        .enumerate()
        .map(|(r, workspace)| {
            let count = per_report.min(records - (r * per_report).min(records));
            let inputs = (0..count)
                .map(|n| UsageInput {
                    id: format!("r{r}-{n}"),
                    item: "network".into(),
                    retention_days: None,
                    quantity: format!("{}.5", n % 1000),
                    day: day.clone(),
                })
                .collect();
            (workspace, inputs)
        })
        .collect();
    let started = Instant::now();
    let mut accepted = 0;
    for (workspace, inputs) in &reports_of {
        accepted += store.ingest_usage(workspace, inputs).await?.accepted;
    }
    let elapsed = started.elapsed();
    if accepted != records {
        return Err(format!("{accepted} of {records} records were accepted").into());
    }
    let raw = raw_batched(store, records, 1, per_report).await?;
    let records_per_second = rate(records as f64, elapsed);
    Ok(IngestFigures {
        database: database(store),
        records,
        records_per_report: per_report,
        seconds: elapsed.as_secs_f64(),
        records_per_second,
        raw_rows_per_second: raw,
        ratio_to_raw: records_per_second / raw.max(1e-9),
    })
}

async fn sqlite_synchronous(store: &Store) -> Result<Option<i64>, sqlx::Error> {
    match store.backend() {
        Backend::Sqlite => Ok(Some(
            sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await?,
        )),
        Backend::Postgres => Ok(None),
    }
}

async fn ledger_rows(store: &Store) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM bills) + (SELECT COUNT(*) FROM bill_lines) + \
         (SELECT COUNT(*) FROM ledger_transactions) + (SELECT COUNT(*) FROM postings) + \
         (SELECT COUNT(*) FROM idempotency_keys)",
    )
    .fetch_one(store.pool())
    .await
}

/// A scratch table as wide as a posting row.
async fn scratch(store: &Store) -> Result<(), sqlx::Error> {
    sqlx::query("DROP TABLE IF EXISTS bench_raw")
        .execute(store.pool())
        .await?;
    let id = match store.backend() {
        Backend::Sqlite => "INTEGER PRIMARY KEY",
        Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    };
    sqlx::query(&format!(
        "CREATE TABLE bench_raw (id {id}, a BIGINT NOT NULL, b BIGINT NOT NULL, c TEXT NOT NULL, d BIGINT NOT NULL)"
    ))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// One-row INSERT transactions per second.
async fn raw_commits(store: &Store, count: usize) -> Result<f64, sqlx::Error> {
    scratch(store).await?;
    let started = Instant::now();
    for n in 0..count {
        let mut tx = store.begin_write().await?;
        sqlx::query("INSERT INTO bench_raw (a, b, c, d) VALUES ($1, $2, $3, $4)")
            .bind(n as i64)
            .bind(1_i64)
            .bind("customer_cash")
            .bind(-100_i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(rate(count as f64, started.elapsed()))
}

/// `units` units of `rows_per_unit` rows each, in multi-row INSERTs with `units_per_commit`
/// units per transaction: units per second.
async fn raw_batched(
    store: &Store,
    units: usize,
    rows_per_unit: usize,
    units_per_commit: usize,
) -> Result<f64, sqlx::Error> {
    scratch(store).await?;
    let rows_per_unit = rows_per_unit.max(1);
    let units_per_commit = units_per_commit.max(1);
    let sql = Placeholders::for_backend(store.backend());
    let started = Instant::now();
    let mut done = 0;
    while done < units {
        let these = units_per_commit.min(units - done);
        let rows = these * rows_per_unit;
        let mut tx = store.begin_write().await?;
        let mut written = 0;
        while written < rows {
            let chunk = sql.rows_per_statement(4).min(rows - written);
            let statement = format!(
                "INSERT INTO bench_raw (a, b, c, d) VALUES {}",
                sql.rows(chunk, 4, 1)
            );
            let mut query = sqlx::query(&statement);
            for n in 0..chunk {
                query = query
                    .bind((written + n) as i64)
                    .bind(done as i64)
                    .bind("customer_cash")
                    .bind(-100_i64);
            }
            query.execute(&mut *tx).await?;
            written += chunk;
        }
        tx.commit().await?;
        done += these;
    }
    let elapsed = started.elapsed();
    sqlx::query("DROP TABLE bench_raw")
        .execute(store.pool())
        .await?;
    Ok(rate(units as f64, elapsed))
}

/// How long one statement page took, over repeated reads.
#[derive(Debug, Clone, Serialize)]
pub struct PageTiming {
    pub page: &'static str,
    pub rows: usize,
    pub total: i64,
    pub median_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementFigures {
    pub database: &'static str,
    pub workspaces: usize,
    pub days: u32,
    pub bills: usize,
    pub ledger_transactions: i64,
    pub postings: i64,
    /// Seconds to charge the history (batches of one day's bills).
    pub history_seconds: f64,
    pub pages: Vec<PageTiming>,
    /// The database alone: one primary-key read of a ledger transaction, median.
    pub raw_point_read_ms: f64,
}

const PAGE_READS: usize = 30;

async fn time_reads<F, Fut>(mut read: F) -> Result<(f64, f64), LedgerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), LedgerError>>,
{
    let mut times = Vec::with_capacity(PAGE_READS);
    for _ in 0..PAGE_READS {
        let started = Instant::now();
        read().await?;
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[times.len() - 1]))
}

/// One account with `workspaces` workspaces and `days` days of daily bills (three lines each, paid
/// by a voucher, cash and arrears as the wallet runs down, a top-up every month), then the income
/// and expenditure and consumption pages read at the newest, the oldest and across the whole
/// history, each read [`PAGE_READS`] times.
pub async fn statements(
    store: &Store,
    workspaces: usize,
    days: u32,
) -> Result<StatementFigures, Box<dyn std::error::Error + Send + Sync>> {
    use crate::bills::BillCharge;
    use crate::statements::{Page, Period};
    use billing::{BillingItem, Charge, Settlement};

    ensure_empty(store).await?;
    let first_day = NaiveDate::from_ymd_opt(2023, 1, 1).ok_or("no first day")?;
    let start = first_day.and_hms_opt(1, 0, 0).ok_or("no start")?.and_utc();
    let clock = crate::clock::ManualClock::new(start);
    let store = store.clone().with_clock(clock.clone());
    let bound = accounts_and_workspaces(&store, workspaces.min(WORKSPACES_PER_ACCOUNT)).await?;
    let account = bound.first().map(|(a, _)| *a).ok_or("no account")?;
    let started = Instant::now();
    let mut bills = 0;
    for d in 0..days {
        let day = first_day + chrono::Duration::days(i64::from(d));
        clock.set(start + chrono::Duration::days(i64::from(d) + 1));
        if d % 30 == 29 {
            store
                .credit_cash(
                    &IdempotencyKey::new(format!("bench-topup-{d}"))?,
                    &CashCredit {
                        account_id: account,
                        amount: Amount::from_yuan(2_000),
                        source: CashSource::BankTransfer,
                        reference: format!("BENCH-T{d}"),
                    },
                )
                .await?;
        }
        let batch: Vec<(IdempotencyKey, BillCharge)> = bound
            .iter()
            .map(|(account_id, workspace_id)| {
                Ok((
                    IdempotencyKey::new(format!("bench-bill-{workspace_id}-{day}"))?,
                    BillCharge {
                        account_id: *account_id,
                        workspace_id: workspace_id.clone(),
                        day,
                        cloud_subscription: None,
                        settlement: Settlement::Account,
                        charges: vec![
                            Charge {
                                item: BillingItem::Logs,
                                amount: Amount::from_fen(123),
                            },
                            Charge {
                                item: BillingItem::Network,
                                amount: Amount::from_fen(45),
                            },
                            Charge {
                                item: BillingItem::TimeSeries,
                                amount: Amount::from_fen(67),
                            },
                        ],
                        usage: Vec::new(),
                    },
                ))
            })
            .collect::<Result<_, LedgerError>>()?;
        for result in store.charge_bills(&batch).await? {
            result?;
            bills += 1;
        }
    }
    let history_seconds = started.elapsed().as_secs_f64();
    // Statistics as a live database has them: autovacuum analyzes a table once a tenth of it
    // changed, and here all of it was written a moment ago (a night adds one day in 1,095).
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    let last_day = first_day + chrono::Duration::days(i64::from(days.max(1)) - 1);
    let newest_month = Period {
        from: last_day - chrono::Duration::days(29),
        to: last_day,
    };
    let oldest_month = Period {
        from: first_day,
        to: first_day + chrono::Duration::days(29),
    };
    let everything = Period {
        from: first_day,
        to: last_day,
    };
    let first_page = Page {
        number: 1,
        size: 50,
    };
    let mut pages = Vec::new();
    for (name, period) in [
        (
            "income and expenditure, newest 30 days, page 1 of 50",
            newest_month,
        ),
        (
            "income and expenditure, oldest 30 days, page 1 of 50",
            oldest_month,
        ),
        (
            "income and expenditure, whole history, page 1 of 50",
            everything,
        ),
    ] {
        let shown = store.transactions(account, period, first_page).await?;
        let (median_ms, max_ms) = time_reads(|| async {
            store
                .transactions(account, period, first_page)
                .await
                .map(|_| ())
        })
        .await?;
        pages.push(PageTiming {
            page: name,
            rows: shown.items.len(),
            total: shown.total,
            median_ms,
            max_ms,
        });
    }
    for (name, period) in [
        ("consumption, newest 30 days, page 1 of 50", newest_month),
        ("consumption, oldest 30 days, page 1 of 50", oldest_month),
        ("consumption, whole history, page 1 of 50", everything),
    ] {
        let shown = store.consumption(account, period, None, first_page).await?;
        let (median_ms, max_ms) = time_reads(|| async {
            store
                .consumption(account, period, None, first_page)
                .await
                .map(|_| ())
        })
        .await?;
        pages.push(PageTiming {
            page: name,
            rows: shown.items.len(),
            total: shown.total,
            median_ms,
            max_ms,
        });
    }
    let (raw_point_read_ms, _) = time_reads(|| async {
        sqlx::query_scalar::<_, i64>("SELECT account_id FROM ledger_transactions WHERE id = $1")
            .bind(1_i64)
            .fetch_one(store.pool())
            .await
            .map(|_| ())
            .map_err(LedgerError::from)
    })
    .await?;
    let count = |table: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(store.pool())
                .await
        }
    };
    Ok(StatementFigures {
        database: database(&store),
        workspaces: bound.len(),
        days,
        bills,
        ledger_transactions: count("ledger_transactions").await?,
        postings: count("postings").await?,
        history_seconds,
        pages,
        raw_point_read_ms,
    })
}
