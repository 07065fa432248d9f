//! Crediting cash: an online payment or a bank transfer. What the customer owes is paid first;
//! only the rest becomes cash (PRODUCT.md §2).

use billing::Amount;
use billing::wallet_rules::{check_top_up_amount, split_top_up};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, fen};
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::store::{Store, retry_after_conflict};
use crate::time::to_micros;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashSource {
    OnlinePayment,
    BankTransfer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashCredit {
    pub account_id: i64,
    pub amount: Amount,
    pub source: CashSource,
    /// The payment provider's trade number or the bank receipt number.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashCredited {
    pub transaction_id: i64,
    pub paid_arrears: Amount,
    pub added_to_cash: Amount,
    pub cash_after: Amount,
    pub arrears_after: Amount,
}

impl CashSource {
    pub fn code(self) -> &'static str {
        match self {
            CashSource::OnlinePayment => "online_payment",
            CashSource::BankTransfer => "bank_transfer",
        }
    }
}

const OPERATION: &str = "credit_cash";

pub(crate) fn check_reference(reference: &str) -> Result<(), LedgerError> {
    let ok = !reference.is_empty() && reference.chars().count() <= 128 && !reference.chars().any(char::is_control);
    if ok { Ok(()) } else { Err(LedgerError::InvalidReference) }
}

impl Store {
    /// Credits a payment or a bank transfer. The same receipt (source + reference) is credited once:
    /// under its first key a replay returns the first result, under another key it is refused.
    pub async fn credit_cash(&self, key: &IdempotencyKey, request: &CashCredit) -> Result<CashCredited, LedgerError> {
        retry_after_conflict(|| self.credit_cash_once(key, request)).await
    }

    async fn credit_cash_once(&self, key: &IdempotencyKey, request: &CashCredit) -> Result<CashCredited, LedgerError> {
        check_top_up_amount(request.amount)?;
        check_reference(&request.reference)?;
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let credited: Option<i64> =
            sqlx::query_scalar("SELECT transaction_id FROM cash_receipts WHERE source = $1 AND reference = $2")
                .bind(request.source.code())
                .bind(&request.reference)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(transaction_id) = credited {
            return Err(LedgerError::DuplicateReceipt {
                source_name: request.source.code(),
                reference: request.reference.clone(),
                transaction_id,
            });
        }
        let now = to_micros(self.now());
        let split = split_top_up(fen(account.arrears_fen)?, request.amount);
        let cash_after = account.cash_fen + split.to_cash.fen();
        let arrears_after = account.arrears_fen - split.to_arrears.fen();

        let memo = format!("{}:{}", request.source.code(), request.reference);
        let transaction_id = ledger::open_transaction(&mut tx, account.id, TransactionKind::CashCredit, &memo, now).await?;
        ledger::post(
            &mut tx,
            transaction_id,
            account.id,
            &[
                Posting::new(LedgerAccount::PaymentClearing, -request.amount.fen()),
                Posting::new(LedgerAccount::ArrearsReceivable, split.to_arrears.fen()),
                Posting::new(LedgerAccount::CustomerCash, split.to_cash.fen()),
            ],
        )
        .await?;
        sqlx::query("INSERT INTO cash_receipts (source, reference, transaction_id) VALUES ($1, $2, $3)")
            .bind(request.source.code())
            .bind(&request.reference)
            .bind(transaction_id)
            .execute(&mut *tx)
            .await?;
        accounts::set_balances(&mut tx, account.id, cash_after, arrears_after).await?;
        let done = CashCredited {
            transaction_id,
            paid_arrears: split.to_arrears,
            added_to_cash: split.to_cash,
            cash_after: fen(cash_after)?,
            arrears_after: fen(arrears_after)?,
        };
        idempotency::remember(&mut tx, key, OPERATION, request, &done, now).await?;
        tx.commit().await?;
        Ok(done)
    }
}
