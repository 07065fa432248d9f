//! Expiring instruments whose validity window has ended: what is left on them moves to breakage,
//! as a ledger transaction the statements show. Each instrument expires once: the sweep takes only
//! instruments not yet marked expired, under the account lock, so a repeated or concurrent sweep is
//! harmless without an idempotency key.

use billing::{Amount, InstrumentKind};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, INSTRUMENT_COLUMNS, fen, instrument_from_row};
use crate::error::LedgerError;
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::store::Store;
use crate::time::to_micros;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredInstrument {
    pub account_id: i64,
    pub instrument_id: i64,
    pub number: String,
    pub kind: InstrumentKind,
    /// What was left and went to breakage (zero for an instrument that was used up).
    pub breakage: Amount,
    pub transaction_id: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpirySweep {
    pub expired: Vec<ExpiredInstrument>,
    /// Accounts whose expiry failed (logged); the next sweep tries them again.
    pub failed_accounts: Vec<i64>,
}

impl Store {
    /// Expires every instrument whose window ended at or before now, one account at a time.
    pub async fn expire_instruments(&self) -> Result<ExpirySweep, LedgerError> {
        let now = self.now();
        let account_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT account_id FROM instruments WHERE expired_at IS NULL AND valid_until <= $1 ORDER BY account_id",
        )
        .bind(to_micros(now))
        .fetch_all(self.pool())
        .await?;
        let mut sweep = ExpirySweep::default();
        for account_id in account_ids {
            // One account's failure must not hold back every account after it.
            match self.expire_account_instruments(account_id).await {
                Ok(expired) => sweep.expired.extend(expired),
                Err(e) => {
                    tracing::error!(account_id, error = %e, "expiring instruments failed");
                    sweep.failed_accounts.push(account_id);
                }
            }
        }
        Ok(sweep)
    }

    async fn expire_account_instruments(
        &self,
        account_id: i64,
    ) -> Result<Vec<ExpiredInstrument>, LedgerError> {
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, account_id).await?;
        let now = self.now();
        let rows = sqlx::query(&format!(
            "SELECT {INSTRUMENT_COLUMNS} FROM instruments \
             WHERE account_id = $1 AND expired_at IS NULL AND valid_until <= $2 ORDER BY id"
        ))
        .bind(account.id)
        .bind(to_micros(now))
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in &rows {
            let instrument = instrument_from_row(row)?;
            let left = instrument.balance.fen();
            let transaction_id = if left > 0 {
                let id = ledger::open_transaction(
                    &mut tx,
                    account.id,
                    TransactionKind::Expiry,
                    &instrument.number,
                    to_micros(now),
                )
                .await?;
                ledger::post(
                    &mut tx,
                    id,
                    account.id,
                    &[
                        Posting::instrument(instrument.id, instrument.kind, -left),
                        Posting::new(LedgerAccount::Breakage, left),
                    ],
                )
                .await?;
                Some(id)
            } else {
                None
            };
            sqlx::query("UPDATE instruments SET balance_fen = 0, expired_at = $1 WHERE id = $2")
                .bind(to_micros(now))
                .bind(instrument.id)
                .execute(&mut *tx)
                .await?;
            let done = ExpiredInstrument {
                account_id: account.id,
                instrument_id: instrument.id,
                number: instrument.number.clone(),
                kind: instrument.kind,
                breakage: fen(left)?,
                transaction_id,
            };
            expired.push(done);
        }
        tx.commit().await?;
        Ok(expired)
    }
}
