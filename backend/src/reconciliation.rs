//! Online top-ups against what the gateway knows (issue 12). A notification can be lost: Alipay
//! retries for about a day, but a merchant that was down or refused it may never hear. So pending
//! top-ups older than [`QUERY_AFTER_MINUTES`] are asked about (`alipay.trade.query`, by the server's
//! scheduler) at most every [`QUERY_EVERY_MINUTES`]; a paid trade is credited through the same
//! [`Store::settle_online_payment`] a notification uses, and a top-up still unpaid
//! [`CLOSE_AFTER_HOURS`] after it was opened is closed. What contradicts our books (a trade closed
//! or refunded after we credited it, a paid amount that is not the top-up's) is never ignored:
//! it becomes a payment flag, listed for operators until one resolves it.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::audit::OperatorAct;
use crate::error::LedgerError;
use crate::store::Store;
use crate::time::{from_micros, to_micros};
use crate::topups::{COLUMNS, TopUp, top_up_of};

/// A pending online top-up is asked about once it is this old (a customer paying right now is
/// not disturbed; a lost notification is noticed within minutes).
pub const QUERY_AFTER_MINUTES: i64 = 5;
/// And asked about again at most this often.
pub const QUERY_EVERY_MINUTES: i64 = 5;
/// An online top-up not paid within this long is closed.
pub const CLOSE_AFTER_HOURS: i64 = 24;
/// Top-ups asked about per scheduler tick.
pub const QUERIES_PER_TICK: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// Alipay reports the trade closed although we credited it (a full refund closes a trade).
    ClosedAfterCredit,
    /// Alipay reports a refund of the trade (credited already, or not yet: its payment's
    /// notification may have been lost).
    RefundedAfterCredit,
    /// Alipay reports a paid amount that is not the top-up's.
    AmountMismatch,
}

impl FlagKind {
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::ClosedAfterCredit => "closed_after_credit",
            FlagKind::RefundedAfterCredit => "refunded_after_credit",
            FlagKind::AmountMismatch => "amount_mismatch",
        }
    }

    fn parse(code: &str) -> Result<FlagKind, LedgerError> {
        match code {
            "closed_after_credit" => Ok(FlagKind::ClosedAfterCredit),
            "refunded_after_credit" => Ok(FlagKind::RefundedAfterCredit),
            "amount_mismatch" => Ok(FlagKind::AmountMismatch),
            other => Err(LedgerError::Corrupt(format!("payment flag kind '{other}'"))),
        }
    }
}

/// Something the gateway said that our books do not agree with, for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFlag {
    pub id: i64,
    pub top_up_id: i64,
    pub account_id: i64,
    pub reference: String,
    pub kind: FlagKind,
    pub detail: String,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolution: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("no payment flag {0}")]
    NotFound(i64),
    #[error("payment flag {0} is resolved already")]
    AlreadyResolved(i64),
    #[error("the resolution must be 1 to 500 characters, without control characters")]
    InvalidResolution,
    #[error("{0}")]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for FlagError {
    fn from(e: sqlx::Error) -> FlagError {
        FlagError::Ledger(e.into())
    }
}

impl Store {
    /// Pending online top-ups to ask the gateway about now, oldest first.
    pub async fn top_ups_to_reconcile(&self) -> Result<Vec<TopUp>, LedgerError> {
        let now = to_micros(self.now());
        let minute = 60 * 1_000_000;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM top_ups WHERE method = 'alipay' AND status = 'pending' AND closed_at IS NULL \
             AND created_at <= $1 AND (checked_at IS NULL OR checked_at <= $2) \
             ORDER BY COALESCE(checked_at, 0), id LIMIT $3"
        ))
        .bind(now - QUERY_AFTER_MINUTES * minute)
        .bind(now - QUERY_EVERY_MINUTES * minute)
        .bind(QUERIES_PER_TICK)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(top_up_of).collect()
    }

    /// Records that the gateway was asked about `top_up_id` now; closes it when it has waited
    /// [`CLOSE_AFTER_HOURS`] and the gateway says nobody paid. Returns whether it was closed.
    pub async fn top_up_checked(
        &self,
        top_up_id: i64,
        unpaid_at_gateway: bool,
    ) -> Result<bool, LedgerError> {
        let now = to_micros(self.now());
        let close_before = now - CLOSE_AFTER_HOURS * 3_600 * 1_000_000;
        let closed = sqlx::query(
            "UPDATE top_ups SET checked_at = $1, closed_at = $1 WHERE id = $2 AND status = 'pending' \
             AND closed_at IS NULL AND created_at <= $3 AND $4",
        )
        .bind(now)
        .bind(top_up_id)
        .bind(close_before)
        .bind(unpaid_at_gateway)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1;
        if !closed {
            sqlx::query("UPDATE top_ups SET checked_at = $1 WHERE id = $2")
                .bind(now)
                .bind(top_up_id)
                .execute(self.pool())
                .await?;
        }
        Ok(closed)
    }

    /// Raises a flag for `top_up` (once per kind: a repeated notification does not pile up).
    /// Returns whether it is new.
    pub async fn flag_payment(
        &self,
        out_trade_no: &str,
        kind: FlagKind,
        detail: &str,
    ) -> Result<bool, LedgerError> {
        let Some(top_up_id) = self.top_up_by_reference(out_trade_no).await?.map(|t| t.id) else {
            return Ok(false);
        };
        let detail = detail.replace('\0', "");
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO payment_flags (top_up_id, kind, detail, raised_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (top_up_id, kind) DO NOTHING",
        )
        .bind(top_up_id)
        .bind(kind.code())
        .bind(&detail)
        .bind(to_micros(self.now()))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            crate::mail::alerts::tell_operators(
                self,
                &mut tx,
                format!("payment_flag:{top_up_id}:{}", kind.code()),
                crate::mail::templates::Mail::OperatorPaymentFlagged {
                    reference: out_trade_no.to_owned(),
                    kind: kind.code().to_owned(),
                    detail,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Payment flags, newest first; only the open ones unless `all`.
    pub async fn payment_flags(&self, all: bool) -> Result<Vec<PaymentFlag>, LedgerError> {
        let rows = sqlx::query(&format!(
            "SELECT f.id, f.top_up_id, f.kind, f.detail, f.raised_at, f.resolved_at, f.resolution, \
             t.account_id, t.reference FROM payment_flags f JOIN top_ups t ON t.id = f.top_up_id \
             {} ORDER BY f.id DESC LIMIT 500",
            if all {
                ""
            } else {
                "WHERE f.resolved_at IS NULL"
            }
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PaymentFlag {
                    id: row.try_get("id")?,
                    top_up_id: row.try_get("top_up_id")?,
                    account_id: row.try_get("account_id")?,
                    reference: row.try_get("reference")?,
                    kind: FlagKind::parse(&row.try_get::<String, _>("kind")?)?,
                    detail: row.try_get("detail")?,
                    raised_at: from_micros(row.try_get("raised_at")?),
                    resolved_at: row
                        .try_get::<Option<i64>, _>("resolved_at")?
                        .map(from_micros),
                    resolution: row.try_get("resolution")?,
                })
            })
            .collect()
    }

    /// An operator resolves a flag (what was done about it: refunded outside, reversed, …);
    /// audited in the same transaction.
    pub async fn resolve_payment_flag(
        &self,
        by: &OperatorAct,
        flag_id: i64,
        resolution: &str,
    ) -> Result<PaymentFlag, FlagError> {
        let resolution = resolution.trim();
        if resolution.is_empty()
            || resolution.chars().count() > 500
            || resolution.chars().any(char::is_control)
        {
            return Err(FlagError::InvalidResolution);
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT f.resolved_at, t.account_id, t.reference, f.kind FROM payment_flags f \
             JOIN top_ups t ON t.id = f.top_up_id WHERE f.id = $1",
        )
        .bind(flag_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(FlagError::NotFound(flag_id))?;
        if row.try_get::<Option<i64>, _>("resolved_at")?.is_some() {
            return Err(FlagError::AlreadyResolved(flag_id));
        }
        let now = to_micros(self.now());
        sqlx::query(
            "UPDATE payment_flags SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE id = $4",
        )
        .bind(now)
        .bind(by.operator_id)
        .bind(resolution)
        .bind(flag_id)
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "resolved payment flag {flag_id} ({} of {}): {resolution}",
            row.try_get::<String, _>("kind")?,
            row.try_get::<String, _>("reference")?
        );
        crate::auth::audit::record_act(
            &mut tx,
            Some(by),
            "payment_flag.resolve",
            Some(row.try_get::<i64, _>("account_id")?),
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        let flags = self.payment_flags(true).await?;
        flags
            .into_iter()
            .find(|f| f.id == flag_id)
            .ok_or(FlagError::NotFound(flag_id))
    }
}
