//! The outbox: messages written in their event's transaction, claimed by one sender at a time,
//! retried with backoff, given up after a deadline with the failure shown to operators.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use super::Language;
use super::templates::{Mail, render};
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};

/// The longest wait between two attempts at one message.
pub const MAX_BACKOFF_SECONDS: i64 = 60;
/// How long a message is tried before it is given up, unless the sender is told otherwise.
pub const DEFAULT_GIVE_UP_AFTER_HOURS: i64 = 24;

/// Which kind of message: stored with it, counted in metrics, shown at /ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    PasswordReset,
    ConfirmEmail,
    EmailChanged,
    TopUpCredited,
    LowBalance,
    ArrearsBegan,
    ArrearsReminder,
    InstrumentExpiring,
    DailyCost,
    CloudSubscriptionEnded,
    EnterpriseReviewed,
    WorkspaceMoved,
    TicketReplied,
    OperatorSettlementFailed,
    OperatorPaymentFlagged,
    OperatorMailUndeliverable,
}

impl MailKind {
    pub fn of(mail: &Mail) -> MailKind {
        match mail {
            Mail::PasswordReset { .. } => MailKind::PasswordReset,
            Mail::ConfirmEmail { .. } => MailKind::ConfirmEmail,
            Mail::EmailChanged { .. } => MailKind::EmailChanged,
            Mail::TopUpCredited { .. } => MailKind::TopUpCredited,
            Mail::LowBalance { .. } => MailKind::LowBalance,
            Mail::ArrearsBegan { .. } => MailKind::ArrearsBegan,
            Mail::ArrearsReminder { .. } => MailKind::ArrearsReminder,
            Mail::InstrumentExpiring { .. } => MailKind::InstrumentExpiring,
            Mail::DailyCost { .. } => MailKind::DailyCost,
            Mail::CloudSubscriptionEnded { .. } => MailKind::CloudSubscriptionEnded,
            Mail::EnterpriseReviewed { .. } => MailKind::EnterpriseReviewed,
            Mail::WorkspaceMoved { .. } => MailKind::WorkspaceMoved,
            Mail::TicketReplied { .. } => MailKind::TicketReplied,
            Mail::OperatorSettlementFailed { .. } => MailKind::OperatorSettlementFailed,
            Mail::OperatorPaymentFlagged { .. } => MailKind::OperatorPaymentFlagged,
            Mail::OperatorMailUndeliverable { .. } => MailKind::OperatorMailUndeliverable,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password_reset",
            MailKind::ConfirmEmail => "confirm_email",
            MailKind::EmailChanged => "email_changed",
            MailKind::TopUpCredited => "top_up_credited",
            MailKind::LowBalance => "low_balance",
            MailKind::ArrearsBegan => "arrears",
            MailKind::ArrearsReminder => "arrears_reminder",
            MailKind::InstrumentExpiring => "instrument_expiring",
            MailKind::DailyCost => "daily_cost",
            MailKind::CloudSubscriptionEnded => "cloud_subscription_ended",
            MailKind::EnterpriseReviewed => "enterprise_reviewed",
            MailKind::WorkspaceMoved => "workspace_moved",
            MailKind::TicketReplied => "ticket_replied",
            MailKind::OperatorSettlementFailed => "operator_settlement_failed",
            MailKind::OperatorPaymentFlagged => "operator_payment_flagged",
            MailKind::OperatorMailUndeliverable => "operator_mail_undeliverable",
        }
    }
}

/// A message to write: to whom, in which language, and (for an alert that could be raised twice)
/// the key that makes it one message.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub account_id: Option<i64>,
    pub recipient: String,
    pub language: Language,
    pub dedupe_key: Option<String>,
    pub mail: Mail,
}

/// Writes `message` into the outbox inside the caller's transaction. A message whose dedupe key
/// was written before is not written again: returns whether it was written.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    timezone: chrono_tz::Tz,
    message: &Outgoing,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let content = render(&message.mail, message.language, timezone);
    let now = to_micros(now);
    let written = sqlx::query(
        "INSERT INTO outbox (account_id, kind, dedupe_key, recipient, language, subject, body_text, \
         body_html, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(message.account_id)
    .bind(MailKind::of(&message.mail).code())
    .bind(message.dedupe_key.as_deref())
    .bind(&message.recipient)
    .bind(message.language.code())
    .bind(&content.subject)
    .bind(&content.text)
    .bind(&content.html)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(written > 0)
}

/// A message a sender has claimed: it holds it until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_at: DateTime<Utc>,
    /// Attempts including this one.
    pub attempt: i64,
}

impl ClaimedMail {
    /// The Message-ID of every attempt at this message: a retry after an unknown outcome is the
    /// same message downstream.
    pub fn message_id(&self, domain: &str) -> String {
        format!(
            "<outbox-{}.{}@{domain}>",
            self.id,
            to_micros(self.created_at)
        )
    }
}

/// How many messages are waiting, delivered and given up: for /ops and the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxSummary {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// How long the oldest waiting message has waited, in seconds.
    pub oldest_pending_seconds: i64,
    /// Waiting messages that have failed at least once (the mail server is down or refusing).
    pub retrying: i64,
}

/// One message as operators see it at /ops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// The wait after the `attempt`-th failed attempt: 1, 2, 4, … seconds, at most a minute.
pub fn backoff(attempt: i64) -> Duration {
    let exponent = attempt.clamp(1, 7) - 1;
    Duration::seconds((1i64 << exponent).min(MAX_BACKOFF_SECONDS))
}

impl Store {
    /// Claims up to `limit` due messages for `lease` (their next attempt moves past it, so a
    /// sender that dies holding them lets another take them when it ends). On PostgreSQL rows
    /// another sender is claiming are skipped (`FOR UPDATE SKIP LOCKED`); on SQLite the write
    /// lock orders claims.
    pub async fn claim_mail(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<ClaimedMail>, sqlx::Error> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT id, kind, recipient, subject, body_text, body_html, created_at, attempts \
             FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2{lock}"
        ))
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1 WHERE id = $2",
            )
            .bind(to_micros(now + lease))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            claimed.push(ClaimedMail {
                id,
                kind: row.try_get("kind")?,
                recipient: row.try_get("recipient")?,
                subject: row.try_get("subject")?,
                text: row.try_get("body_text")?,
                html: row.try_get("body_html")?,
                created_at: from_micros(row.try_get("created_at")?),
                attempt: row.try_get::<i64, _>("attempts")? + 1,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// The mail server accepted the message.
    pub async fn mail_sent(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE outbox SET sent_at = $1, last_error = NULL WHERE id = $2 AND sent_at IS NULL",
        )
        .bind(to_micros(self.now()))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An attempt failed. A permanent refusal (5xx), or a message older than `give_up_after`, is
    /// given up: marked failed and, unless it is itself such an alert, reported to the operators;
    /// anything else is tried again after [`backoff`]. Returns whether it was given up.
    pub async fn mail_failed(
        &self,
        mail: &ClaimedMail,
        error: &str,
        permanent: bool,
        give_up_after: Duration,
    ) -> Result<bool, sqlx::Error> {
        let now = self.now();
        let error: String = error.chars().take(500).collect();
        let give_up = permanent || now - mail.created_at >= give_up_after;
        let mut tx = self.begin_write().await?;
        if give_up {
            sqlx::query(
                "UPDATE outbox SET failed_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL",
            )
            .bind(to_micros(now))
            .bind(&error)
            .bind(mail.id)
            .execute(&mut *tx)
            .await?;
            if mail.kind != MailKind::OperatorMailUndeliverable.code() {
                super::alerts::tell_operators(
                    self,
                    &mut tx,
                    format!("undeliverable:{}", mail.id),
                    Mail::OperatorMailUndeliverable {
                        outbox_id: mail.id,
                        recipient: mail.recipient.clone(),
                        error: error.clone(),
                    },
                )
                .await?;
            }
        } else {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL",
            )
            .bind(to_micros(now + backoff(mail.attempt)))
            .bind(&error)
            .bind(mail.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(give_up)
    }

    pub async fn outbox_summary(&self) -> Result<OutboxSummary, sqlx::Error> {
        let row = sqlx::query(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
               CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS sent, \
               CAST(COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
               CAST(COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS retrying, \
               CAST(COALESCE(MIN(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN created_at END), 0) AS BIGINT) AS oldest \
             FROM outbox",
        )
        .fetch_one(self.pool())
        .await?;
        let oldest: i64 = row.try_get("oldest")?;
        let pending: i64 = row.try_get("pending")?;
        Ok(OutboxSummary {
            pending,
            sent: row.try_get("sent")?,
            failed: row.try_get("failed")?,
            retrying: row.try_get("retrying")?,
            oldest_pending_seconds: if pending > 0 {
                (self.now() - from_micros(oldest)).num_seconds().max(0)
            } else {
                0
            },
        })
    }

    /// Messages that were given up or are failing, newest first: what /ops shows.
    pub async fn troubled_mail(&self, limit: i64) -> Result<Vec<OutboxEntry>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, kind, recipient, subject, created_at, attempts, last_error, sent_at, failed_at \
             FROM outbox WHERE failed_at IS NOT NULL OR (sent_at IS NULL AND last_error IS NOT NULL) \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The latest messages to one address (newest first): what tests and operators look at.
    pub async fn mail_to(
        &self,
        recipient: &str,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, kind, recipient, subject, created_at, attempts, last_error, sent_at, failed_at \
             FROM outbox WHERE recipient = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(recipient)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<OutboxEntry, sqlx::Error> {
    Ok(OutboxEntry {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        created_at: from_micros(row.try_get("created_at")?),
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(from_micros),
        failed_at: row.try_get::<Option<i64>, _>("failed_at")?.map(from_micros),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<i64> = (1..=9).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
