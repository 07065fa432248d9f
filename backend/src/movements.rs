//! Every movement of the customer's money, newest first: one line per ledger transaction, with
//! what it did to cash, arrears, vouchers and prepaid cards (PRODUCT.md §4 "income and
//! expenditure"), as `ledger::post_many` stored them with the transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::statements::{TRANSACTION_COLUMNS, TRANSACTIONS_WITH_BALANCES, transaction_from_row};
use crate::store::Store;

/// Signed changes in fen, as the customer sees them: arrears grow positive when the customer owes more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub transaction_id: i64,
    pub kind: billing::wire::MovementKind,
    pub memo: String,
    pub at: DateTime<Utc>,
    pub cash_fen: i64,
    pub arrears_fen: i64,
    pub vouchers_fen: i64,
    pub prepaid_cards_fen: i64,
}

pub const MAX_MOVEMENTS: i64 = 500;

impl Store {
    /// The newest `limit` (1..=500) movements of a billing account.
    pub async fn movements(
        &self,
        account_id: i64,
        limit: i64,
    ) -> Result<Vec<Movement>, LedgerError> {
        let limit = limit.clamp(1, MAX_MOVEMENTS);
        let rows = sqlx::query(&format!(
            "SELECT {TRANSACTION_COLUMNS} FROM {TRANSACTIONS_WITH_BALANCES} WHERE t.account_id = $1 \
             ORDER BY t.id DESC LIMIT $2"
        ))
        .bind(account_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let t = transaction_from_row(row)?;
                Ok(Movement {
                    transaction_id: t.transaction_id,
                    kind: t.kind,
                    memo: t.memo,
                    at: t.at,
                    cash_fen: t.cash_change_fen,
                    arrears_fen: t.arrears_change_fen,
                    vouchers_fen: t.vouchers_change_fen,
                    prepaid_cards_fen: t.prepaid_cards_change_fen,
                })
            })
            .collect()
    }
}
