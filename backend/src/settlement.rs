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
pub const BATCH_SIZE: usize = 2_000;

/// The most shards a day may be split into.
pub const MAX_SHARDS: i64 = 256;

/// Shards per day unless configured: PostgreSQL is shared by many processes, so a day is split
/// for up to four of them; SQLite has one writer, so splitting would only add work.
pub fn default_shards(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

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
    /// Another process holds the lease of a part (shard) of the day that is not settled yet and
    /// is settling it.
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

/// One shard of a day whose lease this run took.
#[derive(Debug, Clone, Copy)]
struct Shard {
    index: i64,
    /// The day's shard count; `index == of` is the sweep.
    of: i64,
}

impl Shard {
    fn is_sweep(self) -> bool {
        self.index == self.of
    }
}

/// Renews a shard's lease every [`heartbeat_period`] while its run lives; dropped (the run
/// ended, or its task was cancelled) it stops, so a dead run's lease simply runs out.
struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Heartbeat {
    fn start(store: Store, day: NaiveDate, shard: i64, owner: String) -> Heartbeat {
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = lost.clone();
        let task = tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(heartbeat_period(store.settlement_lease_seconds()));
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.renew_lease(day, shard, &owner).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%day, shard, %owner, "another process took over the settlement lease");
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

/// How a transaction holds a day's lock ([`Store::lock_day`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayLock {
    Exclusive,
    Shared,
}

/// Whether a shard's lease row is held, now, by another process than `owner`.
fn held_by_other(row: &sqlx::any::AnyRow, owner: &str, now: i64) -> Result<bool, sqlx::Error> {
    let holder: Option<String> = row.try_get("lease_owner")?;
    let expires: Option<i64> = row.try_get("lease_until")?;
    Ok(expires.is_some_and(|t| t > now) && holder.as_deref() != Some(owner))
}

/// Where a day's shards stand, read after a run has done what it could.
#[derive(Debug)]
struct ShardsState {
    all_done: bool,
    /// Shards another process holds a live lease on.
    held_by_others: usize,
}

/// Sums a day's records per (item, retention), in catalog item order.
pub(crate) type DayUsage = BTreeMap<(BillingItem, Option<u32>), Decimal>;

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
        if self.open_run(day).await? {
            report.status = SettlementStatus::AlreadySettled;
            report.bills_found = self.bills_of_day(day).await?;
            return Ok(report);
        }
        let catalog = self.price_catalog().await?;
        report.bills_found = self.bills_of_day(day).await?;
        // Every shard nobody else is settling, once per run (a shard that failed is left for the
        // next run rather than retried at once).
        let mut tried = std::collections::BTreeSet::new();
        let mut lost_a_shard = false;
        while let Some(shard) = self.take_shard(day, owner, &tried).await? {
            tried.insert(shard.index);
            let heartbeat = Heartbeat::start(self.clone(), day, shard.index, owner.to_owned());
            let failed_before = report.failures.len();
            let charged_before = report.bills_charged;
            let workspace_ids = self.unbilled_workspaces(day, shard).await?;
            for batch in workspace_ids.chunks(self.settlement_batch_size()) {
                if heartbeat.lost() {
                    break;
                }
                let (bills, unpriced) = self.price_workspaces(&catalog, batch, day).await?;
                report.failures.extend(unpriced);
                self.charge_batch(&bills, &heartbeat, &mut report).await;
            }
            if heartbeat.lost() {
                lost_a_shard = true;
                continue;
            }
            drop(heartbeat);
            let failures = &report.failures[failed_before..];
            self.release_shard(
                day,
                shard,
                owner,
                report.bills_charged - charged_before,
                failures,
            )
            .await?;
        }
        let state = self.shards_state(day, owner).await?;
        if !state.all_done {
            report.status = if !report.failures.is_empty() {
                SettlementStatus::Incomplete
            } else if state.held_by_others > 0 || lost_a_shard {
                SettlementStatus::Busy
            } else {
                // A shard that failed in an earlier run and was not retried by this one.
                SettlementStatus::Incomplete
            };
            return Ok(report);
        }
        let bills = i64::from(self.bills_of_day(day).await?);
        let marked = sqlx::query(
            "UPDATE settlement_runs SET status = 'done', finished_at = $1, bills = $2, failures = '' \
             WHERE usage_day = $3 AND status = 'running'",
        )
        .bind(to_micros(self.now()))
        .bind(bills)
        .bind(day.to_string())
        .execute(self.pool())
        .await?;
        if marked.rows_affected() == 0 {
            // Another process finished the last shard at the same moment and closes the day.
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
        Ok(report)
    }

    /// Days whose last run could not bill every workspace, oldest first, with each failure: what
    /// an operator looks at (`GET /api/v1/ops/settlements`, /ops).
    pub async fn settlement_failures(&self) -> Result<Vec<DayFailures>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT s.usage_day, s.failures FROM settlement_shards s JOIN settlement_runs r \
             ON r.usage_day = s.usage_day WHERE r.status = 'running' AND s.status = 'running' \
             AND s.failures <> '' ORDER BY s.usage_day, s.shard",
        )
        .fetch_all(self.pool())
        .await?;
        let mut days: Vec<DayFailures> = Vec::new();
        for row in rows {
            let day: String = row.try_get("usage_day")?;
            let failures: String = row.try_get("failures")?;
            let Ok(day) = day.parse::<NaiveDate>() else {
                continue;
            };
            let failures: Vec<WorkspaceFailure> =
                serde_json::from_str(&failures).unwrap_or_else(|_| {
                    vec![WorkspaceFailure {
                        workspace_id: String::new(),
                        reason: failures.clone(),
                    }]
                });
            match days.last_mut() {
                Some(last) if last.day == day => last.failures.extend(failures),
                _ => days.push(DayFailures { day, failures }),
            }
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

    /// Starts the day's settlement if nothing did (its row, split into the configured number of
    /// shards plus the sweep); true when the day is settled already. Reports written after this
    /// see the day as settled (they take the same advisory lock shared; see `ingest_usage`).
    async fn open_run(&self, day: NaiveDate) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        self.lock_day(&mut tx, day, DayLock::Exclusive).await?;
        let row = sqlx::query("SELECT status, shards FROM settlement_runs WHERE usage_day = $1")
            .bind(day.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let shards = match row {
            Some(row) if row.try_get::<String, _>("status")? == "done" => {
                tx.commit().await?;
                return Ok(true);
            }
            Some(row) => row.try_get::<i64, _>("shards")?,
            None => {
                sqlx::query(
                    "INSERT INTO settlement_runs (usage_day, status, started_at, shards) \
                     VALUES ($1, 'running', $2, $3)",
                )
                .bind(day.to_string())
                .bind(to_micros(self.now()))
                .bind(self.settlement_shards())
                .execute(&mut *tx)
                .await?;
                self.settlement_shards()
            }
        };
        // The shards and the sweep (also for a day a version without shards started).
        for shard in 0..=shards {
            sqlx::query(
                "INSERT INTO settlement_shards (usage_day, shard, status) VALUES ($1, $2, 'running') \
                 ON CONFLICT (usage_day, shard) DO NOTHING",
            )
            .bind(day.to_string())
            .bind(shard)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(false)
    }

    /// PostgreSQL: the day's advisory lock until `tx` ends. Starting the day, taking a shard,
    /// voiding a record and closing a month take it exclusively; usage reports take it shared,
    /// so they wait for each other only through it. SQLite: the write transaction is the lock.
    pub(crate) async fn lock_day(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        day: impl std::fmt::Display,
        how: DayLock,
    ) -> Result<(), sqlx::Error> {
        if self.backend() == Backend::Postgres {
            let lock = match how {
                DayLock::Exclusive => "pg_advisory_xact_lock",
                DayLock::Shared => "pg_advisory_xact_lock_shared",
            };
            sqlx::query(&format!("SELECT {lock}(hashtext($1))::text"))
                .bind(format!("settlement:{day}"))
                .fetch_one(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Takes the lease of the first shard of the day that is not done, not `tried` by this run and
    /// not held by a live lease of another process; the sweep only once every other shard is done.
    async fn take_shard(
        &self,
        day: NaiveDate,
        owner: &str,
        tried: &std::collections::BTreeSet<i64>,
    ) -> Result<Option<Shard>, sqlx::Error> {
        let now = to_micros(self.now());
        let until = now + self.settlement_lease_seconds() * 1_000_000;
        let mut tx = self.begin_write().await?;
        self.lock_day(&mut tx, day, DayLock::Exclusive).await?;
        let of: i64 = sqlx::query_scalar("SELECT shards FROM settlement_runs WHERE usage_day = $1")
            .bind(day.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT shard, status, lease_owner, lease_until FROM settlement_shards \
             WHERE usage_day = $1 ORDER BY shard",
        )
        .bind(day.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut others_open = false;
        let mut chosen = None;
        for row in &rows {
            let shard: i64 = row.try_get("shard")?;
            if row.try_get::<String, _>("status")? == "done" {
                continue;
            }
            let held = held_by_other(row, owner, now)?;
            let is_sweep = shard == of;
            if is_sweep && others_open {
                break;
            }
            if !is_sweep {
                others_open = true;
            }
            if !held && !tried.contains(&shard) {
                chosen = Some(shard);
                break;
            }
        }
        if let Some(index) = chosen {
            sqlx::query(
                "UPDATE settlement_shards SET lease_owner = $1, lease_until = $2 \
                 WHERE usage_day = $3 AND shard = $4",
            )
            .bind(owner)
            .bind(until)
            .bind(day.to_string())
            .bind(index)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(chosen.map(|index| Shard { index, of }))
    }

    /// Extends a shard's lease; false when another process has taken it over.
    async fn renew_lease(
        &self,
        day: NaiveDate,
        shard: i64,
        owner: &str,
    ) -> Result<bool, sqlx::Error> {
        let until = to_micros(self.now()) + self.settlement_lease_seconds() * 1_000_000;
        let updated = sqlx::query(
            "UPDATE settlement_shards SET lease_until = $1 \
             WHERE usage_day = $2 AND shard = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(until)
        .bind(day.to_string())
        .bind(shard)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Ends this run's hold on a shard: done when everything in it was billed, otherwise left for
    /// the next run with what failed. Only while the lease is still this run's.
    async fn release_shard(
        &self,
        day: NaiveDate,
        shard: Shard,
        owner: &str,
        bills: u32,
        failures: &[WorkspaceFailure],
    ) -> Result<(), sqlx::Error> {
        let (status, failures) = if failures.is_empty() {
            ("done", String::new())
        } else {
            (
                "running",
                serde_json::to_string(failures).unwrap_or_default(),
            )
        };
        let failed = serde_json::from_str::<Vec<WorkspaceFailure>>(&failures).unwrap_or_default();
        let mut tx = self.begin_write().await?;
        let released = sqlx::query(
            "UPDATE settlement_shards SET status = $1, failures = $2, bills = bills + $3, finished_at = $4, \
             lease_owner = NULL, lease_until = NULL WHERE usage_day = $5 AND shard = $6 AND lease_owner = $7",
        )
        .bind(status)
        .bind(failures)
        .bind(i64::from(bills))
        .bind(to_micros(self.now()))
        .bind(day.to_string())
        .bind(shard.index)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if released == 1 && !failed.is_empty() {
            // Once per day, however many shards and runs fail on it.
            crate::mail::alerts::tell_operators(
                self,
                &mut tx,
                format!("settlement_failed:{day}"),
                crate::mail::templates::Mail::OperatorSettlementFailed {
                    day,
                    failures: failed.len() as i64,
                    first_error: format!("{}: {}", failed[0].workspace_id, failed[0].reason),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn shards_state(&self, day: NaiveDate, owner: &str) -> Result<ShardsState, sqlx::Error> {
        let now = to_micros(self.now());
        let rows = sqlx::query(
            "SELECT status, lease_owner, lease_until FROM settlement_shards WHERE usage_day = $1",
        )
        .bind(day.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut state = ShardsState {
            all_done: true,
            held_by_others: 0,
        };
        for row in &rows {
            if row.try_get::<String, _>("status")? != "done" {
                state.all_done = false;
                if held_by_other(row, owner, now)? {
                    state.held_by_others += 1;
                }
            }
        }
        Ok(state)
    }

    /// The workspaces of a shard with usage that day and no bill yet (a resume skips the billed
    /// ones here); the sweep takes every such workspace of the day.
    async fn unbilled_workspaces(
        &self,
        day: NaiveDate,
        shard: Shard,
    ) -> Result<Vec<String>, sqlx::Error> {
        let unbilled = "SELECT DISTINCT u.workspace_id FROM usage_records u \
             LEFT JOIN workspaces w ON w.workspace_id = u.workspace_id \
             WHERE u.usage_day = $1 AND u.voided_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.workspace_id = u.workspace_id AND b.bill_date = $1)";
        if shard.is_sweep() {
            return sqlx::query_scalar(&format!("{unbilled} ORDER BY u.workspace_id"))
                .bind(day.to_string())
                .fetch_all(self.pool())
                .await;
        }
        // An unbound workspace (it fails to price, and says why) belongs to shard 0.
        sqlx::query_scalar(&format!(
            "{unbilled} AND COALESCE(w.account_id, 0) % $2 = $3 ORDER BY u.workspace_id"
        ))
        .bind(day.to_string())
        .bind(shard.of)
        .bind(shard.index)
        .fetch_all(self.pool())
        .await
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
            "SELECT * FROM workspaces WHERE unbound_at IS NULL AND workspace_id IN ({})",
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
        // Exclusive with every usage report of the month's days still in flight.
        let mut d = first;
        while d <= last {
            self.lock_day(&mut tx, d, DayLock::Exclusive).await?;
            d += Duration::days(1);
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
pub(crate) fn add_usage(
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
            cloud_subscription: match workspace.settlement {
                billing::Settlement::Cloud => workspace.cloud_subscription_id,
                billing::Settlement::Account => None,
            },
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
