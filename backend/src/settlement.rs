//! The nightly settlement (PRODUCT.md §4): a finished day's usage is priced by the catalog and each
//! workspace's daily bill is charged through its settlement method.
//!
//! Safety with many processes and crashes rests on two things. A day is settled only by the
//! process holding its lease (a row in `settlement_runs` with an owner and an expiry, renewed as
//! the run goes); a crashed run's lease expires and the next run resumes. And charging a bill is
//! itself idempotent (one bill per workspace and day, under the key `settle:<workspace>:<day>`), so
//! even two processes that both believed they held the lease could not charge a bill twice.

use std::collections::BTreeMap;

use billing::{BillingItem, Charge, PriceCatalog};
use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::bills::{BillCharge, LineUsage};
use crate::error::LedgerError;
use crate::idempotency::IdempotencyKey;
use crate::store::{Backend, Store};
use crate::time::to_micros;
use crate::workspaces::{Workspace, workspace_of};

/// How long a run may go without renewing its lease before another process takes the day over.
pub const LEASE_SECONDS: i64 = 300;

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
    /// Monthly bills assembled by this run (when the day ended a month).
    pub monthly_bills: u32,
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

enum Lease {
    Held,
    Done,
    Busy,
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
        let catalog = self.price_catalog().await?;
        let workspace_ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT workspace_id FROM usage_records WHERE usage_day = $1 ORDER BY workspace_id",
        )
        .bind(day.to_string())
        .fetch_all(self.pool())
        .await?;
        for workspace_id in workspace_ids {
            if !self.renew_lease(day, owner).await? {
                report.status = SettlementStatus::Busy;
                return Ok(report);
            }
            let billed: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM bills WHERE workspace_id = $1 AND bill_date = $2",
            )
            .bind(&workspace_id)
            .bind(day.to_string())
            .fetch_optional(self.pool())
            .await?;
            if billed.is_some() {
                report.bills_found += 1;
                continue;
            }
            match self.settle_workspace(&catalog, &workspace_id, day).await {
                Ok(()) => report.bills_charged += 1,
                Err(reason) => {
                    tracing::error!(%workspace_id, %day, %reason, "a daily bill could not be charged");
                    report.failures.push(WorkspaceFailure {
                        workspace_id,
                        reason,
                    });
                }
            }
        }
        let finished = to_micros(self.now());
        if report.failures.is_empty() {
            sqlx::query(
                "UPDATE settlement_runs SET status = 'done', finished_at = $1, lease_owner = NULL, lease_until = NULL, \
                 bills = $2, failures = '' WHERE usage_day = $3 AND lease_owner = $4",
            )
            .bind(finished)
            .bind(i64::from(report.bills_charged + report.bills_found))
            .bind(day.to_string())
            .bind(owner)
            .execute(self.pool())
            .await?;
            if let Some(last_day) = self.ended_month_all_settled(day).await? {
                report.monthly_bills = self.build_monthly_bills(last_day).await?;
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

    /// The last day of `day`'s month once that day is settled and so is every other day of the
    /// month with usage: the month's daily bills are final and its monthly bills can be assembled.
    /// Normally that is when its last day is settled; after a failed run, when the late day is.
    async fn ended_month_all_settled(
        &self,
        day: NaiveDate,
    ) -> Result<Option<NaiveDate>, sqlx::Error> {
        let first = day.with_day(1).unwrap_or(day);
        let last_day =
            (first + Duration::days(32)).with_day(1).unwrap_or(first) - Duration::days(1);
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM usage_records u WHERE u.usage_day >= $1 AND u.usage_day <= $2 \
             AND NOT EXISTS (SELECT 1 FROM settlement_runs r WHERE r.usage_day = u.usage_day AND r.status = 'done')",
        )
        .bind(first.to_string())
        .bind(last_day.to_string())
        .fetch_one(self.pool())
        .await?;
        let last_settled: Option<String> = sqlx::query_scalar(
            "SELECT status FROM settlement_runs WHERE usage_day = $1 AND status = 'done'",
        )
        .bind(last_day.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok((open == 0 && last_settled.is_some()).then_some(last_day))
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
        let until = now + LEASE_SECONDS * 1_000_000;
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
        let until = to_micros(self.now()) + LEASE_SECONDS * 1_000_000;
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

    async fn day_usage(&self, workspace_id: &str, day: NaiveDate) -> Result<DayUsage, String> {
        let rows = sqlx::query(
            "SELECT item, retention_days, quantity FROM usage_records WHERE workspace_id = $1 AND usage_day = $2",
        )
        .bind(workspace_id)
        .bind(day.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(|e| e.to_string())?;
        let mut usage = DayUsage::new();
        for row in rows {
            let item: String = row.try_get("item").map_err(|e| e.to_string())?;
            let item: BillingItem = item.parse().map_err(|e| format!("stored usage: {e}"))?;
            let retention: Option<i64> =
                row.try_get("retention_days").map_err(|e| e.to_string())?;
            let retention = retention.and_then(|d| u32::try_from(d).ok());
            let quantity: String = row.try_get("quantity").map_err(|e| e.to_string())?;
            let quantity: Decimal = quantity
                .parse()
                .map_err(|e| format!("stored quantity '{quantity}': {e}"))?;
            let sum = usage.entry((item, retention)).or_default();
            *sum = sum
                .checked_add(quantity)
                .ok_or_else(|| format!("the day's {item} quantity overflows"))?;
        }
        Ok(usage)
    }

    /// Prices one workspace's day and charges its bill. Errors are reasons for the run's report.
    async fn settle_workspace(
        &self,
        catalog: &PriceCatalog,
        workspace_id: &str,
        day: NaiveDate,
    ) -> Result<(), String> {
        let row = sqlx::query("SELECT * FROM workspaces WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_one(self.pool())
            .await
            .map_err(|e| e.to_string())?;
        let workspace: Workspace = workspace_of(&row).map_err(|e| e.to_string())?;
        let prices = catalog.for_day(day).map_err(|e| e.to_string())?;
        let mut charges = Vec::new();
        let mut usage = Vec::new();
        for ((item, retention), quantity) in self.day_usage(workspace_id, day).await? {
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
        let request = BillCharge {
            account_id: workspace.account_id,
            workspace_id: workspace.workspace_id.clone(),
            day,
            settlement: workspace.settlement,
            charges,
            usage,
        };
        let key = IdempotencyKey::new(format!("settle:{workspace_id}:{day}"))
            .map_err(|e| e.to_string())?;
        self.charge_bill(&key, &request)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Assembles the monthly bills of the month `last_day` ends, from its daily bills. Returns how
    /// many were made now (a month assembled before is left as it is).
    pub async fn build_monthly_bills(&self, last_day: NaiveDate) -> Result<u32, sqlx::Error> {
        let first = last_day.with_day(1).unwrap_or(last_day);
        let month = first.format("%Y-%m").to_string();
        // What paid each daily bill, by kind of source, from the bill's postings.
        let rows = sqlx::query(
            "SELECT b.account_id, b.workspace_id, COUNT(DISTINCT b.id) AS daily_bills, \
             CAST(SUM(CASE WHEN p.ledger_account = 'revenue' THEN p.amount_fen ELSE 0 END) AS BIGINT) AS total_fen, \
             CAST(SUM(CASE WHEN p.ledger_account = 'instrument' AND i.kind <> 'prepaid_card' THEN -p.amount_fen ELSE 0 END) AS BIGINT) AS voucher_fen, \
             CAST(SUM(CASE WHEN p.ledger_account = 'instrument' AND i.kind = 'prepaid_card' THEN -p.amount_fen ELSE 0 END) AS BIGINT) AS card_fen, \
             CAST(SUM(CASE WHEN p.ledger_account = 'customer_cash' THEN -p.amount_fen ELSE 0 END) AS BIGINT) AS cash_fen, \
             CAST(SUM(CASE WHEN p.ledger_account = 'arrears_receivable' THEN -p.amount_fen ELSE 0 END) AS BIGINT) AS arrears_fen, \
             CAST(SUM(CASE WHEN p.ledger_account = 'cloud_receivable' THEN -p.amount_fen ELSE 0 END) AS BIGINT) AS cloud_fen \
             FROM bills b LEFT JOIN postings p ON p.transaction_id = b.transaction_id \
             LEFT JOIN instruments i ON i.id = p.instrument_id \
             WHERE b.bill_date >= $1 AND b.bill_date <= $2 \
             GROUP BY b.account_id, b.workspace_id",
        )
        .bind(first.to_string())
        .bind(last_day.to_string())
        .fetch_all(self.pool())
        .await?;
        let now = to_micros(self.now());
        let mut made = 0;
        for row in rows {
            let inserted = sqlx::query(
                "INSERT INTO monthly_bills (account_id, workspace_id, month, daily_bills, total_fen, voucher_fen, card_fen, \
                 cash_fen, arrears_fen, cloud_fen, built_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (account_id, workspace_id, month) DO NOTHING",
            )
            .bind(row.try_get::<i64, _>("account_id")?)
            .bind(row.try_get::<String, _>("workspace_id")?)
            .bind(&month)
            .bind(row.try_get::<i64, _>("daily_bills")?)
            .bind(row.try_get::<Option<i64>, _>("total_fen")?.unwrap_or(0))
            .bind(row.try_get::<Option<i64>, _>("voucher_fen")?.unwrap_or(0))
            .bind(row.try_get::<Option<i64>, _>("card_fen")?.unwrap_or(0))
            .bind(row.try_get::<Option<i64>, _>("cash_fen")?.unwrap_or(0))
            .bind(row.try_get::<Option<i64>, _>("arrears_fen")?.unwrap_or(0))
            .bind(row.try_get::<Option<i64>, _>("cloud_fen")?.unwrap_or(0))
            .bind(now)
            .execute(self.pool())
            .await?;
            made += u32::try_from(inserted.rows_affected()).unwrap_or(0);
        }
        Ok(made)
    }
}
