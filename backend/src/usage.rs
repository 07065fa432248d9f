//! Usage reported by a workspace (PRODUCT.md §4): one record per item, retention and day, with an
//! id of the reporter's choosing so that a retried report counts once. Each record is checked on its
//! own; the good ones are stored, the others come back with the reason.

use billing::pricing::parse_quantity;
use billing::{Amount, BillingItem, PriceCatalog};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::bills::MAX_CHARGE_YUAN;
use crate::store::{Backend, Store};
use crate::time::to_micros;
use crate::workspaces::Workspace;

/// The most records one report may carry.
pub const MAX_RECORDS_PER_REPORT: usize = 10_000;
/// Rows per INSERT statement (SQLite allows 32,766 parameters; 7 per row).
const ROWS_PER_INSERT: usize = 1_000;

/// One record as the reporter sent it; checked by [`Store::ingest_usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageInput {
    pub id: String,
    pub item: String,
    pub retention_days: Option<i64>,
    pub quantity: String,
    pub day: String,
}

/// Why a record was not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRecord {
    /// Position in the report, from 0.
    pub index: usize,
    pub id: Option<String>,
    /// `invalid_record`, `invalid_id`, `unknown_item`, `retention_not_priced`, `invalid_quantity`,
    /// `invalid_day`, `future_day` or `day_settled`.
    pub code: String,
    pub reason: String,
}

impl RejectedRecord {
    pub fn new(index: usize, id: Option<&str>, code: &str, reason: impl Into<String>) -> Self {
        RejectedRecord {
            index,
            id: id.map(str::to_owned),
            code: code.to_owned(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageIngested {
    /// Records stored now.
    pub accepted: usize,
    /// Records whose id was seen before (in an earlier report or earlier in this one).
    pub duplicates: usize,
    pub rejected: Vec<RejectedRecord>,
}

/// Every `code` a [`RejectedRecord`] may carry, as documented in API.md. [`check_record`] gives
/// all but two: `invalid_record` (a record of the wrong JSON shape, refused by the server before
/// it becomes a [`UsageInput`]) and `day_settled` (decided by [`Store::ingest_usage`] against the
/// settlement runs and monthly bills).
pub const REJECTION_CODES: [&str; 8] = [
    "invalid_record",
    "invalid_id",
    "unknown_item",
    "retention_not_priced",
    "invalid_quantity",
    "invalid_day",
    "future_day",
    "day_settled",
];

/// A record that passed [`check_record`]: what [`Store::ingest_usage`] stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRecord {
    pub id: String,
    pub day: NaiveDate,
    pub item: BillingItem,
    pub retention_days: Option<u32>,
    /// The quantity normalised (`1.50` is stored as `1.5`).
    pub quantity: String,
}

fn check_record_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_graphic())
}

/// Checks one record (at `index` in its report) against the catalog and today's date (in the
/// settlement timezone). Pure, no IO: a refusal carries one of [`REJECTION_CODES`] and the reason.
pub fn check_record(
    index: usize,
    input: &UsageInput,
    catalog: &PriceCatalog,
    today: NaiveDate,
) -> Result<CheckedRecord, RejectedRecord> {
    let id = Some(input.id.as_str());
    let reject = |code: &str, reason: String| RejectedRecord::new(index, id, code, reason);
    if !check_record_id(&input.id) {
        return Err(reject(
            "invalid_id",
            "id must be 1 to 128 printable ASCII characters without spaces".into(),
        ));
    }
    let day = billing::day::parse_day(&input.day).ok_or_else(|| {
        reject(
            "invalid_day",
            format!("day '{}' is not a date like 2026-11-22", input.day),
        )
    })?;
    if day > today {
        return Err(reject(
            "future_day",
            format!("day {day} is in the future (today is {today})"),
        ));
    }
    let item: BillingItem = input
        .item
        .parse()
        .map_err(|e: billing::item::UnknownBillingItem| reject("unknown_item", e.to_string()))?;
    let retention_days = match input.retention_days {
        None => None,
        Some(days) => Some(u32::try_from(days).ok().filter(|d| *d > 0).ok_or_else(|| {
            reject(
                "retention_not_priced",
                format!("retention_days must be a positive number of days (got {days})"),
            )
        })?),
    };
    let prices = catalog
        .for_day(day)
        .and_then(|list| list.check_priced(item, retention_days).map(|()| list))
        .map_err(|e| reject("retention_not_priced", e.to_string()))?;
    let quantity =
        parse_quantity(&input.quantity).map_err(|e| reject("invalid_quantity", e.to_string()))?;
    // A record the settlement could not charge as one bill line is a metering fault: refused now,
    // rather than failing its day's settlement at every retry.
    let max = Amount::from_yuan(MAX_CHARGE_YUAN);
    match prices.price(item, retention_days, quantity) {
        Ok(priced) if priced.amount <= max => {}
        Ok(priced) => {
            return Err(reject(
                "invalid_quantity",
                format!(
                    "quantity {quantity} of {item} would cost {}, more than the {max} a bill line may be",
                    priced.amount
                ),
            ));
        }
        Err(e) => return Err(reject("invalid_quantity", e.to_string())),
    }
    Ok(CheckedRecord {
        id: input.id.clone(),
        day,
        item,
        retention_days,
        quantity: quantity.to_string(),
    })
}

impl Store {
    /// Stores a workspace's usage report. A record id already stored for the workspace counts as a
    /// duplicate and changes nothing; invalid records are returned with their reason. Days already
    /// being settled are refused (the settlement holds the day's lock while it reads its usage), and
    /// so are the days of a month whose monthly bills are assembled.
    pub async fn ingest_usage(
        &self,
        workspace: &Workspace,
        records: &[UsageInput],
    ) -> Result<UsageIngested, sqlx::Error> {
        let catalog = self.price_catalog().await?;
        let today = self.today();
        let mut outcome = UsageIngested::default();
        let mut good = Vec::with_capacity(records.len());
        let mut seen = std::collections::HashSet::new();
        for (index, input) in records.iter().enumerate() {
            match check_record(index, input, &catalog, today) {
                Ok(record) => {
                    if seen.insert(record.id.clone()) {
                        good.push((index, record));
                    } else {
                        outcome.duplicates += 1;
                    }
                }
                Err(rejected) => outcome.rejected.push(rejected),
            }
        }
        if good.is_empty() {
            return Ok(outcome);
        }
        let mut days: Vec<NaiveDate> = good.iter().map(|(_, r)| r.day).collect();
        days.sort();
        days.dedup();

        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            // Shared with other reports, exclusive with the start of the day's settlement.
            for day in &days {
                sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtext($1))::text")
                    .bind(format!("settlement:{day}"))
                    .fetch_one(&mut *tx)
                    .await?;
            }
        }
        // A day is closed once its settlement started, or once its month was assembled into
        // monthly bills (a new daily bill of that month would be missing from them).
        let mut settled = std::collections::HashSet::new();
        for day in &days {
            let run: Option<String> =
                sqlx::query_scalar("SELECT status FROM settlement_runs WHERE usage_day = $1")
                    .bind(day.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            let month_built: Option<i64> =
                sqlx::query_scalar("SELECT id FROM monthly_bills WHERE month = $1 LIMIT 1")
                    .bind(day.format("%Y-%m").to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            if run.is_some() || month_built.is_some() {
                settled.insert(*day);
            }
        }
        let (good, late): (Vec<_>, Vec<_>) = good
            .into_iter()
            .partition(|(_, r)| !settled.contains(&r.day));
        for (index, record) in late {
            outcome.rejected.push(RejectedRecord::new(
                index,
                Some(&record.id),
                "day_settled",
                format!("day {} is already settled", record.day),
            ));
        }
        let now = to_micros(self.now());
        for chunk in good.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, retention_days, quantity, received_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let n = i * 5;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, $2)",
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7
                ));
            }
            sql.push_str(" ON CONFLICT (workspace_id, record_id) DO NOTHING");
            let mut query = sqlx::query(&sql).bind(&workspace.workspace_id).bind(now);
            for (_, record) in chunk {
                query = query
                    .bind(&record.id)
                    .bind(record.day.to_string())
                    .bind(record.item.code())
                    .bind(record.retention_days.map(i64::from))
                    .bind(&record.quantity);
            }
            let inserted = query.execute(&mut *tx).await?.rows_affected() as usize;
            outcome.accepted += inserted;
            outcome.duplicates += chunk.len() - inserted;
        }
        tx.commit().await?;
        outcome.rejected.sort_by_key(|r| r.index);
        Ok(outcome)
    }
}
