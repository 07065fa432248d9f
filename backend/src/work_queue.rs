//! The operators' work queue (issue 18): everything waiting for an operator in one answer —
//! enterprise submissions to review, tickets nobody took, tickets of the caller's waiting for an
//! answer, payments flagged by reconciliation, and days whose settlement failed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::reconciliation::PaymentFlag;
use crate::settlement::DayFailures;
use crate::store::Store;
use crate::support::{TicketFilter, TicketSummary};
use crate::time::from_micros;

/// An enterprise submission waiting for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingReview {
    pub account_id: i64,
    /// The customer's username.
    pub account: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkQueue {
    /// Oldest first.
    pub enterprise_reviews: Vec<PendingReview>,
    /// Open tickets nobody took, oldest activity last.
    pub unassigned_tickets: Vec<TicketSummary>,
    /// The caller's tickets waiting for an answer (open or in progress).
    pub my_tickets: Vec<TicketSummary>,
    /// Unresolved.
    pub payment_flags: Vec<PaymentFlag>,
    pub settlement_failures: Vec<DayFailures>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkQueueError {
    #[error(transparent)]
    Support(#[from] crate::support::SupportError),
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Store {
    pub async fn work_queue(&self, operator_id: i64) -> Result<WorkQueue, WorkQueueError> {
        let rows = sqlx::query(
            "SELECT e.account_id, c.username, e.enterprise_name, e.credit_code, e.submitted_at \
             FROM enterprise_verifications e JOIN customers c ON c.billing_account_id = e.account_id \
             WHERE e.state = 'pending_review' ORDER BY e.submitted_at, e.account_id LIMIT 100",
        )
        .fetch_all(self.pool())
        .await?;
        let enterprise_reviews = rows
            .iter()
            .map(|r| {
                Ok(PendingReview {
                    account_id: r.try_get("account_id")?,
                    account: r.try_get("username")?,
                    enterprise_name: r.try_get("enterprise_name")?,
                    credit_code: r.try_get("credit_code")?,
                    submitted_at: from_micros(r.try_get("submitted_at")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let waiting = |state, assigned_to| TicketFilter {
            state: Some(state),
            assigned_to: Some(assigned_to),
            per_page: 100,
            ..TicketFilter::default()
        };
        use billing::support::TicketState;
        let unassigned_tickets = self.all_tickets(&waiting(TicketState::Open, None)).await?;
        let mut my_tickets = self
            .all_tickets(&waiting(TicketState::Open, Some(operator_id)))
            .await?;
        my_tickets.extend(
            self.all_tickets(&waiting(TicketState::InProgress, Some(operator_id)))
                .await?,
        );
        my_tickets.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        Ok(WorkQueue {
            enterprise_reviews,
            unassigned_tickets,
            my_tickets,
            payment_flags: self.payment_flags(false).await?,
            settlement_failures: self.settlement_failures().await?,
        })
    }
}
