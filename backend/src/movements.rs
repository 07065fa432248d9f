//! Every movement of the customer's money, newest first: one line per ledger transaction, with
//! what it did to cash, arrears, vouchers and prepaid cards (PRODUCT.md §4 "income and
//! expenditure"). Read from the postings, so it always agrees with the ledger.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::LedgerError;
use crate::store::Store;
use crate::time::from_micros;

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
        let rows = sqlx::query(
            "SELECT t.id, t.kind, t.memo, t.created_at, p.ledger_account, p.amount_fen, i.kind AS instrument_kind \
             FROM (SELECT id, kind, memo, created_at FROM ledger_transactions WHERE account_id = $1 ORDER BY id DESC LIMIT $2) t \
             JOIN postings p ON p.transaction_id = t.id \
             LEFT JOIN instruments i ON i.id = p.instrument_id \
             ORDER BY t.id DESC, p.id",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut by_transaction: BTreeMap<i64, Movement> = BTreeMap::new();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let movement = match by_transaction.entry(id) {
                std::collections::btree_map::Entry::Occupied(found) => found.into_mut(),
                std::collections::btree_map::Entry::Vacant(new) => new.insert(Movement {
                    transaction_id: id,
                    kind: crate::ledger::transaction_kind(&row.try_get::<String, _>("kind")?)?,
                    memo: row.try_get("memo")?,
                    at: from_micros(row.try_get("created_at")?),
                    cash_fen: 0,
                    arrears_fen: 0,
                    vouchers_fen: 0,
                    prepaid_cards_fen: 0,
                }),
            };
            let amount: i64 = row.try_get("amount_fen")?;
            let ledger_account: String = row.try_get("ledger_account")?;
            let instrument_kind: Option<String> = row.try_get("instrument_kind")?;
            match (ledger_account.as_str(), instrument_kind.as_deref()) {
                ("customer_cash", _) => movement.cash_fen += amount,
                ("arrears_receivable", _) => movement.arrears_fen -= amount,
                ("instrument", Some("prepaid_card")) => movement.prepaid_cards_fen += amount,
                ("instrument", Some(_)) => movement.vouchers_fen += amount,
                _ => {}
            }
        }
        Ok(by_transaction.into_values().rev().collect())
    }
}
