//! The nightly settlement (PRODUCT.md §4): a finished day's usage is priced by the catalog and each
//! workspace's daily bill is charged through its settlement method.
//!
//! Safety with many processes and crashes rests on two things. A day is settled only by the
//! process holding its lease (a row in `settlement_runs` with an owner and an expiry, renewed by a
//! heartbeat while the run lives); a killed run's lease runs out within [`LEASE_SECONDS`] and the
//! next run resumes, skipping in one query every workspace already billed. And charging a bill is
//! itself idempotent (one bill per workspace and day, under the key `settle:<workspace>:<day>`), so
//! even two processes that both believed they held the lease could not charge a bill twice.
//!
//! A month is closed (its monthly bills built, once) only when it has ended and every day of it is
//! settled: [`Store::close_month_if_complete`] is that one rule, called after each settled day and
//! by the scheduler. Closing settles the month's days without usage too (zero bills), so no usage
//! can arrive afterwards for a month whose bills are built.

use std::collections::{BTreeMap, HashMap};

use billing::{BillingItem, Charge, PriceCatalog};
use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::bills::{BillCharge, LineUsage};
use crate::error::LedgerError;
use crate::idempotency::IdempotencyKey;
use crate::ledger::CustomerBalance;
use crate::store::{Backend, Store};
use crate::time::to_micros;
use crate::workspaces::{Workspace, workspace_of};

/// How many daily bills the nightly run charges per database transaction (group commit).
pub const BATCH_SIZE: usize = 500;

/// How long a run may go without renewing its lease before another process takes the day over.
pub const LEASE_SECONDS: i64 = 30;

/// How often a live run renews its lease: four times per lease, so a run survives three missed
/// beats (a database hiccup) before another process may take its day.
pub fn heartbeat_period(lease_seconds: i64) -> std::time::Duration {
    let lease_ms = u64::try_from(lease_seconds.max(1)).unwrap_or(1) * 1_000;
    std::time::Duration::from_millis((lease_ms / 4).max(250))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    /// Every workspace's bill for the day is charged.
    Settled,
    /// The day was settled before; nothing was charged now.
    AlreadySettled,
    /// Another process holds the day's lease and is settling it.
    Busy,
    /// Some workspaces could not be billed (see failures); the day will be tried again.
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceFailure {
    pub workspace_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementReport {
    pub day: NaiveDate,
    pub status: SettlementStatus,
    /// Bills charged by this run.
    pub bills_charged: u32,
    /// Bills of the day that an earlier (crashed or failed) run had charged.
    pub bills_found: u32,
    pub failures: Vec<WorkspaceFailure>,
    /// Monthly bills assembled by this run (when the day completed an ended month).
    pub monthly_bills: u32,
    /// Vouchers and prepaid cards expired after the day was settled (their rest to breakage).
    #[serde(default)]
    pub instruments_expired: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error(
        "day {day} is not over yet in {timezone} (today is {today}); only past days are settled"
    )]
    DayNotOver {
        day: NaiveDate,
        today: NaiveDate,
        timezone: String,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
}

/// A day whose settlement failed for some workspaces, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFailures {
    pub day: NaiveDate,
    pub failures: Vec<WorkspaceFailure>,
}

enum Lease {
    Held,
    Done,
    Busy,
}

/// Renews a run's lease every [`heartbeat_period`] while the run lives; dropped (the run ended,
/// or its task was cancelled) it stops, so a dead run's lease simply runs out.
struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Heartbeat {
    fn start(store: Store, day: NaiveDate, owner: String) -> Heartbeat {
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = lost.clone();
        let task = tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(heartbeat_period(store.settlement_lease_seconds()));
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.renew_lease(day, &owner).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%day, %owner, "another process took over the settlement lease");
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                    // A database hiccup: try again next beat; the lease has room for three.
                    Err(e) => tracing::warn!(%day, error = %e, "cannot renew the settlement lease"),
                }
            }
        });
        Heartbeat { task, lost }
    }

    fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sums a day's records per (item, retention), in catalog item order.
type DayUsage = BTreeMap<(BillingItem, Option<u32>), Decimal>;

impl Store {
    /// Settles `day` (a day before today in the settlement timezone) as `owner` (a name for this
    /// process). Safe to call any number of times, from any number of processes.
    pub async fn settle_day(
        &self,
        day: NaiveDate,
        owner: &str,
    ) -> Result<SettlementReport, SettlementError> {
        let today = self.today();
        if day >= today {
            return Err(SettlementError::DayNotOver {
                day,
                today,
                timezone: self.settlement_timezone().name().to_owned(),
            });
        }
        let mut report = SettlementReport {
            day,
            status: SettlementStatus::Settled,
            bills_charged: 0,
            bills_found: 0,
            failures: Vec::new(),
            monthly_bills: 0,
            instruments_expired: 0,
        };
        match self.take_lease(day, owner).await? {
            Lease::Held => {}
            Lease::Done => {
                report.status = SettlementStatus::AlreadySettled;
                report.bills_found = self.bills_of_day(day).await?;
                return Ok(report);
            }
            Lease::Busy => {
                report.status = SettlementStatus::Busy;
                return Ok(report);
            }
        }
        let heartbeat = Heartbeat::start(self.clone(), day, owner.to_owned());
        let catalog = self.price_catalog().await?;
        report.bills_found = self.bills_of_day(day).await?;
        // Workspaces with usage that day and no bill yet: a resume skips the billed ones here.
        let workspace_ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT u.workspace_id FROM usage_records u WHERE u.usage_day = $1 AND u.voided_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.workspace_id = u.workspace_id AND b.bill_date = $1) \
             ORDER BY u.workspace_id",
        )
        .bind(day.to_string())
        .fetch_all(self.pool())
        .await?;
        for batch in workspace_ids.chunks(self.settlement_batch_size()) {
            if heartbeat.lost() {
                report.status = SettlementStatus::Busy;
                return Ok(report);
            }
            let (bills, unpriced) = self.price_workspaces(&catalog, batch, day).await?;
            report.failures.extend(unpriced);
            self.charge_batch(&bills, &heartbeat, &mut report).await;
        }
        let lost = heartbeat.lost();
        drop(heartbeat);
        if lost {
            report.status = SettlementStatus::Busy;
            return Ok(report);
        }
        let finished = to_micros(self.now());
        if report.failures.is_empty() {
            let marked = sqlx::query(
                "UPDATE settlement_runs SET status = 'done', finished_at = $1, lease_owner = NULL, lease_until = NULL, \
                 bills = $2, failures = '' WHERE usage_day = $3 AND lease_owner = $4",
            )
            .bind(finished)
            .bind(i64::from(report.bills_charged + report.bills_found))
            .bind(day.to_string())
            .bind(owner)
            .execute(self.pool())
            .await?;
            if marked.rows_affected() == 0 {
                // The lease ran out and another process holds the day: it finishes it.
                report.status = SettlementStatus::Busy;
                return Ok(report);
            }
            // The day is settled now, whatever follows: closing the month and expiring are retried
            // by the scheduler every minute, so their failure is logged, not the run's.
            match self.close_month_if_complete(day).await {
                Ok(made) => report.monthly_bills = made.unwrap_or(0),
                Err(e) => {
                    tracing::error!(%day, error = %e, "cannot close the month after settling a day")
                }
            }
            // What ran out by now goes to breakage after the day's bills took what they could.
            match self.expire_instruments().await {
                Ok(sweep) => report.instruments_expired = sweep.expired.len(),
                Err(e) => {
                    tracing::error!(%day, error = %e, "cannot expire instruments after settling a day")
                }
            }
        } else {
            let failures = serde_json::to_string(&report.failures).unwrap_or_default();
            sqlx::query(
                "UPDATE settlement_runs SET lease_owner = NULL, lease_until = NULL, failures = $1 \
                 WHERE usage_day = $2 AND lease_owner = $3",
            )
            .bind(failures)
            .bind(day.to_string())
            .bind(owner)
            .execute(self.pool())
            .await?;
            report.status = SettlementStatus::Incomplete;
        }
        Ok(report)
    }

    /// Days whose last run could not bill every workspace, oldest first, with each failure: what
    /// an operator looks at (`GET /api/v1/ops/settlements`, /ops).
    pub async fn settlement_failures(&self) -> Result<Vec<DayFailures>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT usage_day, failures, started_at FROM settlement_runs \
             WHERE status = 'running' AND failures <> '' ORDER BY usage_day",
        )
        .fetch_all(self.pool())
        .await?;
        let mut days = Vec::with_capacity(rows.len());
        for row in rows {
            let day: String = row.try_get("usage_day")?;
            let failures: String = row.try_get("failures")?;
            let Ok(day) = day.parse::<NaiveDate>() else {
                continue;
            };
            days.push(DayFailures {
                day,
                failures: serde_json::from_str(&failures).unwrap_or_else(|_| {
                    vec![WorkspaceFailure {
                        workspace_id: String::new(),
                        reason: failures.clone(),
                    }]
                }),
            });
        }
        Ok(days)
    }

    /// Past days that have usage but are not settled yet, oldest first: what the scheduler runs.
    pub async fn days_to_settle(&self) -> Result<Vec<NaiveDate>, sqlx::Error> {
        let days: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT u.usage_day FROM usage_records u \
             WHERE u.usage_day < $1 AND NOT EXISTS \
             (SELECT 1 FROM settlement_runs r WHERE r.usage_day = u.usage_day AND r.status = 'done') \
             ORDER BY u.usage_day",
        )
        .bind(self.today().to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(days.iter().filter_map(|d| d.parse().ok()).collect())
    }

    async fn bills_of_day(&self, day: NaiveDate) -> Result<u32, sqlx::Error> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bills WHERE bill_date = $1")
            .bind(day.to_string())
            .fetch_one(self.pool())
            .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Takes the day's lease if nobody holds a live one. Reports written after this see the day as
    /// settled (they take the same advisory lock shared; see `ingest_usage`).
    async fn take_lease(&self, day: NaiveDate, owner: &str) -> Result<Lease, sqlx::Error> {
        let now = to_micros(self.now());
        let until = now + self.settlement_lease_seconds() * 1_000_000;
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
                .bind(format!("settlement:{day}"))
                .fetch_one(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "SELECT status, lease_owner, lease_until FROM settlement_runs WHERE usage_day = $1",
        )
        .bind(day.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let lease = match row {
            None => {
                sqlx::query(
                    "INSERT INTO settlement_runs (usage_day, status, lease_owner, lease_until, started_at) \
                     VALUES ($1, 'running', $2, $3, $4)",
                )
                .bind(day.to_string())
                .bind(owner)
                .bind(until)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                Lease::Held
            }
            Some(row) => {
                let status: String = row.try_get("status")?;
                let holder: Option<String> = row.try_get("lease_owner")?;
                let expires: Option<i64> = row.try_get("lease_until")?;
                let live = expires.is_some_and(|t| t > now) && holder.as_deref() != Some(owner);
                if status == "done" {
                    Lease::Done
                } else if live {
                    Lease::Busy
                } else {
                    sqlx::query(
                        "UPDATE settlement_runs SET lease_owner = $1, lease_until = $2 WHERE usage_day = $3",
                    )
                    .bind(owner)
                    .bind(until)
                    .bind(day.to_string())
                    .execute(&mut *tx)
                    .await?;
                    Lease::Held
                }
            }
        };
        tx.commit().await?;
        Ok(lease)
    }

    /// Extends the lease; false when another process has taken it over.
    async fn renew_lease(&self, day: NaiveDate, owner: &str) -> Result<bool, sqlx::Error> {
        let until = to_micros(self.now()) + self.settlement_lease_seconds() * 1_000_000;
        let updated = sqlx::query(
            "UPDATE settlement_runs SET lease_until = $1 WHERE usage_day = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(until)
        .bind(day.to_string())
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Prices the day of each workspace of a batch, reading the batch's workspaces and usage in
    /// one query each: the bills to charge, and the workspaces that could not be priced.
    async fn price_workspaces(
        &self,
        catalog: &PriceCatalog,
        workspace_ids: &[String],
        day: NaiveDate,
    ) -> Result<(Vec<(IdempotencyKey, BillCharge)>, Vec<WorkspaceFailure>), sqlx::Error> {
        let placeholders = crate::sql::Placeholders::for_backend(self.backend());
        let sql = format!(
            "SELECT workspace_id, item, retention_days, quantity FROM usage_records \
             WHERE usage_day = {} AND voided_at IS NULL AND workspace_id IN ({})",
            placeholders.nth(1),
            placeholders.list(workspace_ids.len(), 2)
        );
        let mut query =
            sqlx::query_as::<_, (String, String, Option<i64>, String)>(&sql).bind(day.to_string());
        for id in workspace_ids {
            query = query.bind(id.as_str());
        }
        let mut usage: HashMap<String, Result<DayUsage, String>> = HashMap::new();
        for (workspace_id, item, retention, quantity) in query.fetch_all(self.pool()).await? {
            let entry = usage
                .entry(workspace_id)
                .or_insert_with(|| Ok(DayUsage::new()));
            if let Ok(sums) = entry
                && let Err(reason) = add_usage(sums, &item, retention, &quantity)
            {
                *entry = Err(reason);
            }
        }
        let sql = format!(
            "SELECT * FROM workspaces WHERE workspace_id IN ({})",
            placeholders.list(workspace_ids.len(), 1)
        );
        let mut query = sqlx::query(&sql);
        for id in workspace_ids {
            query = query.bind(id.as_str());
        }
        let mut workspaces = HashMap::new();
        for row in query.fetch_all(self.pool()).await? {
            let workspace: Result<Workspace, String> =
                workspace_of(&row).map_err(|e| e.to_string());
            let id: String = row.try_get("workspace_id")?;
            workspaces.insert(id, workspace);
        }
        let mut bills = Vec::with_capacity(workspace_ids.len());
        let mut failures = Vec::new();
        for workspace_id in workspace_ids {
            let priced = match (workspaces.remove(workspace_id), usage.remove(workspace_id)) {
                (Some(Ok(workspace)), Some(Ok(day_usage))) => {
                    bill_of_day(catalog, &workspace, day, day_usage)
                }
                (Some(Err(reason)), _) | (_, Some(Err(reason))) => Err(reason),
                (None, _) => Err(format!("workspace {workspace_id} is not bound")),
                (_, None) => Err("no usage left to bill (voided meanwhile)".to_owned()),
            };
            match priced {
                Ok(bill) => bills.push(bill),
                Err(reason) => {
                    tracing::error!(%workspace_id, %day, %reason, "a daily bill could not be priced");
                    failures.push(WorkspaceFailure {
                        workspace_id: workspace_id.clone(),
                        reason,
                    });
                }
            }
        }
        Ok((bills, failures))
    }

    /// Charges a batch's bills in one transaction; if the batch as a whole fails, bill by bill,
    /// so one bad bill never keeps the others from being charged.
    async fn charge_batch(
        &self,
        bills: &[(IdempotencyKey, BillCharge)],
        heartbeat: &Heartbeat,
        report: &mut SettlementReport,
    ) {
        if bills.is_empty() {
            return;
        }
        let results = match self.charge_bills(bills).await {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(day = %report.day, bills = bills.len(), error = %e,
                    "a settlement batch failed; charging its bills one by one");
                let mut results = Vec::with_capacity(bills.len());
                for (key, request) in bills {
                    // Another process took the day over: it charges what is left.
                    if heartbeat.lost() {
                        break;
                    }
                    results.push(self.charge_bill(key, request).await);
                }
                results
            }
        };
        for ((_, request), result) in bills.iter().zip(results) {
            match result {
                Ok(_) => report.bills_charged += 1,
                Err(e) => {
                    let reason = e.to_string();
                    tracing::error!(workspace_id = %request.workspace_id, day = %report.day, %reason,
                        "a daily bill could not be charged");
                    report.failures.push(WorkspaceFailure {
                        workspace_id: request.workspace_id.clone(),
                        reason,
                    });
                }
            }
        }
    }

    /// The one rule for monthly bills: the month of `day` is closed, and its monthly bills built,
    /// once it has ended (in the settlement timezone) and none of its days has usage still to
    /// settle. Returns the number of monthly bills built, or `None` while the month is not complete
    /// (or was closed before). Safe to call any number of times from any number of processes.
    pub async fn close_month_if_complete(
        &self,
        day: NaiveDate,
    ) -> Result<Option<u32>, sqlx::Error> {
        let first = day.with_day(1).unwrap_or(day);
        let Some(last) = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|next| next.pred_opt())
        else {
            return Ok(None);
        };
        if self.today() <= last {
            return Ok(None);
        }
        let month = first.format("%Y-%m").to_string();
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            // Exclusive with every usage report of the month's days still in flight.
            let mut d = first;
            while d <= last {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
                    .bind(format!("settlement:{d}"))
                    .fetch_one(&mut *tx)
                    .await?;
                d += Duration::days(1);
            }
        }
        let closed: Option<String> =
            sqlx::query_scalar("SELECT month FROM month_closings WHERE month = $1")
                .bind(&month)
                .fetch_optional(&mut *tx)
                .await?;
        if closed.is_some() {
            return Ok(None);
        }
        let open_days: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT DISTINCT u.usage_day FROM usage_records u \
             WHERE u.usage_day >= $1 AND u.usage_day <= $2 AND NOT EXISTS \
             (SELECT 1 FROM settlement_runs r WHERE r.usage_day = u.usage_day AND r.status = 'done')) open_days",
        )
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM settlement_runs WHERE usage_day >= $1 AND usage_day <= $2 AND status <> 'done'",
        )
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if open_days > 0 || running > 0 {
            return Ok(None);
        }
        let now = to_micros(self.now());
        // The month's days without usage are settled now, with no bills: usage can no longer
        // arrive for them (ingest refuses a settled day).
        let mut d = first;
        while d <= last {
            sqlx::query(
                "INSERT INTO settlement_runs (usage_day, status, started_at, finished_at, bills) \
                 VALUES ($1, 'done', $2, $2, 0) ON CONFLICT (usage_day) DO NOTHING",
            )
            .bind(d.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            d += Duration::days(1);
        }
        let made = build_monthly_bills(&mut tx, first, last, &month, now).await?;
        sqlx::query(
            "INSERT INTO month_closings (month, closed_at, monthly_bills) VALUES ($1, $2, $3)",
        )
        .bind(&month)
        .bind(now)
        .bind(i64::from(made))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(made))
    }

    /// Closes every ended month that is complete and not closed yet, oldest first (the
    /// scheduler's catch-up after downtime). Returns the monthly bills built.
    pub async fn close_complete_months(&self) -> Result<u32, sqlx::Error> {
        let this_month = self.today().with_day(1).unwrap_or(self.today());
        let months: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT substr(usage_day, 1, 7) AS month FROM usage_records WHERE usage_day < $1 \
             AND substr(usage_day, 1, 7) NOT IN (SELECT month FROM month_closings) ORDER BY month",
        )
        .bind(this_month.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut made = 0;
        for month in months {
            let Ok(first) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else {
                continue;
            };
            made += self.close_month_if_complete(first).await?.unwrap_or(0);
        }
        Ok(made)
    }
}

/// Adds one stored usage record to a day's sums.
fn add_usage(
    sums: &mut DayUsage,
    item: &str,
    retention: Option<i64>,
    quantity: &str,
) -> Result<(), String> {
    let item: BillingItem = item.parse().map_err(|e| format!("stored usage: {e}"))?;
    let retention = retention.and_then(|d| u32::try_from(d).ok());
    let quantity: Decimal = quantity
        .parse()
        .map_err(|e| format!("stored quantity '{quantity}': {e}"))?;
    let sum = sums.entry((item, retention)).or_default();
    *sum = sum
        .checked_add(quantity)
        .ok_or_else(|| format!("the day's {item} quantity overflows"))?;
    Ok(())
}

/// A workspace's daily bill from its day's usage, priced by the catalog, under the key that
/// makes the day's settlement charge it once: `settle:<workspace>:<day>`.
fn bill_of_day(
    catalog: &PriceCatalog,
    workspace: &Workspace,
    day: NaiveDate,
    day_usage: DayUsage,
) -> Result<(IdempotencyKey, BillCharge), String> {
    let prices = catalog.for_day(day).map_err(|e| e.to_string())?;
    let mut charges = Vec::new();
    let mut usage = Vec::new();
    for ((item, retention), quantity) in day_usage {
        let priced = prices
            .price(item, retention, quantity)
            .map_err(|e| e.to_string())?;
        charges.push(Charge {
            item,
            amount: priced.amount,
        });
        usage.push(LineUsage {
            retention_days: priced.retention_days,
            quantity: priced.quantity,
            units: priced.units,
            unit_price: priced.unit_price,
            price_version: priced.price_version,
        });
    }
    let key = IdempotencyKey::new(format!("settle:{}:{day}", workspace.workspace_id))
        .map_err(|e| e.to_string())?;
    Ok((
        key,
        BillCharge {
            account_id: workspace.account_id,
            workspace_id: workspace.workspace_id.clone(),
            day,
            settlement: workspace.settlement,
            charges,
            usage,
        },
    ))
}

/// Assembles a month's monthly bills from its daily bills and what paid them (the postings), in
/// the closing transaction. A row left by an older version with other sums is corrected.
async fn build_monthly_bills(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    first: NaiveDate,
    last: NaiveDate,
    month: &str,
    now: i64,
) -> Result<u32, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT b.account_id, b.workspace_id, COUNT(DISTINCT b.id) AS daily_bills, \
         CAST(SUM(CASE WHEN p.ledger_account = 'revenue' THEN p.amount_fen ELSE 0 END) AS BIGINT) AS total_fen, \
         {} AS voucher_fen, {} AS card_fen, {} AS cash_fen, {} AS arrears_fen, {} AS cloud_fen \
         FROM bills b LEFT JOIN postings p ON p.transaction_id = b.transaction_id \
         LEFT JOIN instruments i ON i.id = p.instrument_id \
         WHERE b.bill_date >= $1 AND b.bill_date <= $2 \
         GROUP BY b.account_id, b.workspace_id",
        CustomerBalance::Vouchers.sql_sum(true),
        CustomerBalance::PrepaidCards.sql_sum(true),
        CustomerBalance::Cash.sql_sum(true),
        CustomerBalance::Arrears.sql_sum(true),
        CustomerBalance::Cloud.sql_sum(true),
    ))
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut made = 0;
    for row in rows {
        sqlx::query(
            "INSERT INTO monthly_bills (account_id, workspace_id, month, daily_bills, total_fen, voucher_fen, card_fen, \
             cash_fen, arrears_fen, cloud_fen, built_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (account_id, workspace_id, month) DO UPDATE SET daily_bills = excluded.daily_bills, \
             total_fen = excluded.total_fen, voucher_fen = excluded.voucher_fen, card_fen = excluded.card_fen, \
             cash_fen = excluded.cash_fen, arrears_fen = excluded.arrears_fen, cloud_fen = excluded.cloud_fen, \
             built_at = excluded.built_at",
        )
        .bind(row.try_get::<i64, _>("account_id")?)
        .bind(row.try_get::<String, _>("workspace_id")?)
        .bind(month)
        .bind(row.try_get::<i64, _>("daily_bills")?)
        .bind(row.try_get::<Option<i64>, _>("total_fen")?.unwrap_or(0))
        .bind(row.try_get::<Option<i64>, _>("voucher_fen")?.unwrap_or(0))
        .bind(row.try_get::<Option<i64>, _>("card_fen")?.unwrap_or(0))
        .bind(row.try_get::<Option<i64>, _>("cash_fen")?.unwrap_or(0))
        .bind(row.try_get::<Option<i64>, _>("arrears_fen")?.unwrap_or(0))
        .bind(row.try_get::<Option<i64>, _>("cloud_fen")?.unwrap_or(0))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        made += 1;
    }
    Ok(made)
}
