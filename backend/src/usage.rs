//! Usage reported by a workspace (PRODUCT.md §4): one record per item, retention and day, with an
//! id of the reporter's choosing so that a retried report counts once. Each record is checked on its
//! own; the good ones are stored, the others come back with the reason.

use billing::pricing::parse_quantity;
use billing::{BillingItem, PriceCatalog};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::settlement::DayLock;
use crate::store::{Backend, Store};
use crate::time::to_micros;
use crate::workspaces::Workspace;

/// The most records one report may carry.
pub const MAX_RECORDS_PER_REPORT: usize = 10_000;

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
    /// `invalid_day`, `future_day`, `day_settled`, `line_too_large` (with this record the day's
    /// line of its item would charge more than a bill line may) or `workspace_unbound`.
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
/// all but three: `invalid_record` (a record of the wrong JSON shape, refused by the server before
/// it becomes a [`UsageInput`]), and `day_settled` and `line_too_large` (decided by
/// [`Store::ingest_usage`] against the settlement runs and the day's stored usage).
pub const REJECTION_CODES: [&str; 9] = [
    "invalid_record",
    "invalid_id",
    "unknown_item",
    "retention_not_priced",
    "invalid_quantity",
    "invalid_day",
    "future_day",
    "day_settled",
    "line_too_large",
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
    catalog
        .for_day(day)
        .and_then(|list| list.check_priced(item, retention_days))
        .map_err(|e| reject("retention_not_priced", e.to_string()))?;
    let quantity =
        parse_quantity(&input.quantity).map_err(|e| reject("invalid_quantity", e.to_string()))?;
    // Whether the record (with the rest of its day) can be charged as one bill line is decided
    // against the stored usage of the day: `line_too_large` in `Store::keep_chargeable`.
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
        // Shared with other reports, exclusive with the start of the day's settlement.
        for day in &days {
            self.lock_day(&mut tx, day, DayLock::Shared).await?;
        }
        if self.backend() == Backend::Postgres {
            // Exclusive per workspace and day: two reports of one workspace's day are serialised,
            // so the line cap below sees every record already accepted (SQLite's single writer
            // does this by itself).
            for day in &days {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
                    .bind(format!("usage:{}:{day}", workspace.workspace_id))
                    .fetch_one(&mut *tx)
                    .await?;
            }
        }
        // Still bound to the account whose key or token sent the report: an unbind that committed
        // since the key was checked leaves nothing behind it (PostgreSQL: FOR SHARE waits for an
        // unbind in flight; SQLite's single writer orders them by itself).
        let still_bound: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT 1 FROM workspaces WHERE workspace_id = $1 AND account_id = $2 AND unbound_at IS NULL{}",
            if self.backend() == Backend::Postgres { " FOR SHARE" } else { "" }
        ))
        .bind(&workspace.workspace_id)
        .bind(workspace.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        if still_bound.is_none() {
            for (index, record) in good {
                outcome.rejected.push(RejectedRecord::new(
                    index,
                    Some(&record.id),
                    "workspace_unbound",
                    format!("workspace {} is no longer bound", workspace.workspace_id),
                ));
            }
            return Ok(outcome);
        }
        // A day is closed once its settlement started, or once its month was closed into monthly
        // bills (a new daily bill of that month would be missing from them).
        let mut settled = std::collections::HashSet::new();
        for day in &days {
            let run: Option<String> =
                sqlx::query_scalar("SELECT status FROM settlement_runs WHERE usage_day = $1")
                    .bind(day.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            // A closed month has a 'done' run for every one of its days (see settlement).
            if run.is_some() {
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
        let (good, duplicates, too_large) =
            Self::keep_chargeable(&mut tx, workspace, good, &catalog).await?;
        outcome.duplicates += duplicates;
        outcome.rejected.extend(too_large);
        let now = to_micros(self.now());
        if self.backend() == Backend::Postgres && !good.is_empty() {
            // The whole report in one statement: each column one array parameter.
            let days: Vec<String> = good.iter().map(|(_, r)| r.day.to_string()).collect();
            let retention: Vec<Option<String>> = good
                .iter()
                .map(|(_, r)| r.retention_days.map(|d| d.to_string()))
                .collect();
            let inserted = sqlx::query(
                "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, retention_days, quantity, \
                 received_at) SELECT $1, r, d, i, t, q, $7 FROM UNNEST(CAST($2 AS text[]), CAST($3 AS text[]), \
                 CAST($4 AS text[]), CAST($5 AS bigint[]), CAST($6 AS text[])) AS u(r, d, i, t, q) \
                 ON CONFLICT (workspace_id, record_id) DO NOTHING",
            )
            .bind(&workspace.workspace_id)
            .bind(crate::sql::pg_array(good.iter().map(|(_, r)| Some(r.id.as_str()))))
            .bind(crate::sql::pg_array(days.iter().map(|d| Some(d.as_str()))))
            .bind(crate::sql::pg_array(good.iter().map(|(_, r)| Some(r.item.code()))))
            .bind(crate::sql::pg_array(retention.iter().map(|t| t.as_deref())))
            .bind(crate::sql::pg_array(good.iter().map(|(_, r)| Some(r.quantity.as_str()))))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
            outcome.accepted += inserted;
            outcome.duplicates += good.len() - inserted;
            tx.commit().await?;
            outcome.rejected.sort_by_key(|r| r.index);
            return Ok(outcome);
        }
        let sql = crate::sql::Placeholders::of(&tx);
        for chunk in good.chunks(sql.rows_per_statement(7)) {
            let statement = format!(
                "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, retention_days, quantity, \
                 received_at) VALUES {} ON CONFLICT (workspace_id, record_id) DO NOTHING",
                sql.rows(chunk.len(), 7, 1)
            );
            let mut query = sqlx::query(&statement);
            for (_, record) in chunk {
                query = query
                    .bind(&workspace.workspace_id)
                    .bind(&record.id)
                    .bind(record.day.to_string())
                    .bind(record.item.code())
                    .bind(record.retention_days.map(i64::from))
                    .bind(&record.quantity)
                    .bind(now);
            }
            let inserted = query.execute(&mut *tx).await?.rows_affected() as usize;
            outcome.accepted += inserted;
            outcome.duplicates += chunk.len() - inserted;
        }
        tx.commit().await?;
        outcome.rejected.sort_by_key(|r| r.index);
        Ok(outcome)
    }

    /// Leaves out records already stored (duplicates) and refuses, one by one in report order,
    /// any record that would take its day's line (workspace, day, item, retention) above what a
    /// bill line may charge: such a record could never be charged and would make its day fail
    /// settlement for ever. Reads the day's stored usage inside the report's transaction.
    async fn keep_chargeable(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        workspace: &Workspace,
        good: Vec<(usize, CheckedRecord)>,
        catalog: &PriceCatalog,
    ) -> Result<(Vec<(usize, CheckedRecord)>, usize, Vec<RejectedRecord>), sqlx::Error> {
        use rust_decimal::Decimal;
        use sqlx::Row;
        type Line = (NaiveDate, BillingItem, Option<u32>);
        let mut days: Vec<String> = good.iter().map(|(_, r)| r.day.to_string()).collect();
        days.sort();
        days.dedup();
        let mut stored_ids = std::collections::HashSet::new();
        let mut sums: std::collections::HashMap<Line, Decimal> = std::collections::HashMap::new();
        for day in &days {
            let rows = sqlx::query(
                "SELECT record_id, item, retention_days, quantity, voided_at FROM usage_records \
                 WHERE workspace_id = $1 AND usage_day = $2",
            )
            .bind(&workspace.workspace_id)
            .bind(day)
            .fetch_all(&mut **tx)
            .await?;
            let Ok(day) = day.parse::<NaiveDate>() else {
                continue;
            };
            for row in rows {
                stored_ids.insert(row.try_get::<String, _>("record_id")?);
                if row.try_get::<Option<i64>, _>("voided_at")?.is_some() {
                    continue;
                }
                let item: String = row.try_get("item")?;
                let (Ok(item), Ok(quantity)) = (
                    item.parse::<BillingItem>(),
                    row.try_get::<String, _>("quantity")?.parse::<Decimal>(),
                ) else {
                    continue;
                };
                let retention = row
                    .try_get::<Option<i64>, _>("retention_days")?
                    .and_then(|d| u32::try_from(d).ok());
                let sum = sums.entry((day, item, retention)).or_default();
                *sum = sum.saturating_add(quantity);
            }
        }
        let mut kept = Vec::with_capacity(good.len());
        let mut duplicates = 0;
        let mut refused = Vec::new();
        for (index, record) in good {
            if stored_ids.contains(&record.id) {
                duplicates += 1;
                continue;
            }
            let Ok(quantity) = record.quantity.parse::<Decimal>() else {
                continue;
            };
            let line = (record.day, record.item, record.retention_days);
            let sum = sums.get(&line).copied().unwrap_or_default();
            let priced = sum
                .checked_add(quantity)
                .ok_or_else(|| "the day's quantity overflows".to_owned())
                .and_then(|total| {
                    catalog
                        .for_day(record.day)
                        .and_then(|list| list.price(record.item, record.retention_days, total))
                        .map(|_| total)
                        .map_err(|e| e.to_string())
                });
            match priced {
                Ok(total) => {
                    sums.insert(line, total);
                    kept.push((index, record));
                }
                Err(reason) => refused.push(RejectedRecord::new(
                    index,
                    Some(&record.id),
                    "line_too_large",
                    format!(
                        "with this record the day's {} line could not be charged: {reason}",
                        record.item
                    ),
                )),
            }
        }
        Ok((kept, duplicates, refused))
    }
}

/// A usage record an operator voided: it stays stored (its id still counts as seen) and is left
/// out of settlement, so its day can be settled again without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidedUsage {
    pub workspace_id: String,
    pub record_id: String,
    pub day: NaiveDate,
    pub item: String,
    pub quantity: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VoidError {
    #[error("workspace {workspace_id} has no usage record '{record_id}'")]
    NotFound {
        workspace_id: String,
        record_id: String,
    },
    #[error(
        "usage record '{record_id}' is part of the daily bill of {workspace_id} for {day}, which is charged; a charged bill is corrected by a reversal, not by voiding its usage"
    )]
    AlreadyBilled {
        workspace_id: String,
        record_id: String,
        day: NaiveDate,
    },
    #[error("the reason must be 1 to 500 characters, without control characters")]
    InvalidReason,
    #[error("day {day} is being settled right now; void the record once the run has ended")]
    BeingSettled { day: NaiveDate },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Store {
    /// Voids one usage record that has not been billed (audited in the same transaction, with the
    /// reason). Voiding a voided record again changes nothing and answers the same.
    pub async fn void_usage_record(
        &self,
        by: &crate::auth::audit::OperatorAct,
        workspace_id: &str,
        record_id: &str,
        reason: &str,
    ) -> Result<VoidedUsage, VoidError> {
        use sqlx::Row;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control)
        {
            return Err(VoidError::InvalidReason);
        }
        let not_found = || VoidError::NotFound {
            workspace_id: workspace_id.to_owned(),
            record_id: record_id.to_owned(),
        };
        let mut tx = self.begin_write().await?;
        let Some(day_of_record) = sqlx::query_scalar::<_, String>(
            "SELECT usage_day FROM usage_records WHERE workspace_id = $1 AND record_id = $2",
        )
        .bind(workspace_id)
        .bind(record_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(not_found());
        };
        // Exclusive with the start of the day's settlement and the taking of its shards.
        self.lock_day(&mut tx, &day_of_record, DayLock::Exclusive)
            .await?;
        // A run that is settling the day now may have read the record already.
        let running: Option<i64> = sqlx::query_scalar(
            "SELECT lease_until FROM settlement_shards WHERE usage_day = $1 AND status = 'running' \
             AND lease_until > $2 LIMIT 1",
        )
        .bind(&day_of_record)
        .bind(to_micros(self.now()))
        .fetch_optional(&mut *tx)
        .await?;
        if running.is_some() {
            return Err(VoidError::BeingSettled {
                day: day_of_record.parse().map_err(|_| not_found())?,
            });
        }
        let Some(row) = sqlx::query(
            "SELECT u.usage_day, u.item, u.quantity, u.voided_at, u.void_reason, w.account_id FROM usage_records u \
             JOIN workspaces w ON w.workspace_id = u.workspace_id WHERE u.workspace_id = $1 AND u.record_id = $2",
        )
        .bind(workspace_id)
        .bind(record_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(not_found());
        };
        let day: String = row.try_get("usage_day")?;
        let day: NaiveDate = day.parse().map_err(|_| not_found())?;
        let mut voided = VoidedUsage {
            workspace_id: workspace_id.to_owned(),
            record_id: record_id.to_owned(),
            day,
            item: row.try_get("item")?,
            quantity: row.try_get("quantity")?,
            reason: reason.to_owned(),
        };
        if row.try_get::<Option<i64>, _>("voided_at")?.is_some() {
            voided.reason = row
                .try_get::<Option<String>, _>("void_reason")?
                .unwrap_or_default();
            return Ok(voided);
        }
        let billed: Option<i64> =
            sqlx::query_scalar("SELECT id FROM bills WHERE workspace_id = $1 AND bill_date = $2")
                .bind(workspace_id)
                .bind(day.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if billed.is_some() {
            return Err(VoidError::AlreadyBilled {
                workspace_id: workspace_id.to_owned(),
                record_id: record_id.to_owned(),
                day,
            });
        }
        let now = to_micros(self.now());
        sqlx::query(
            "UPDATE usage_records SET voided_at = $1, voided_by = $2, void_reason = $3 \
             WHERE workspace_id = $4 AND record_id = $5",
        )
        .bind(now)
        .bind(by.operator_id)
        .bind(reason)
        .bind(workspace_id)
        .bind(record_id)
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "voided usage record {record_id} of {workspace_id} for {day} ({} {}): {reason}",
            voided.quantity, voided.item
        );
        crate::auth::audit::record_act(
            &mut tx,
            Some(by),
            "usage.void",
            Some(row.try_get::<i64, _>("account_id")?),
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(voided)
    }
}
