//! Crediting cash: an online payment or a bank transfer. What the customer owes is paid first;
//! only the rest becomes cash (PRODUCT.md §2).

use billing::Amount;
use billing::wallet_rules::{check_top_up_amount, split_top_up};
use serde::{Deserialize, Serialize};

use sqlx::{Any, Transaction};

use crate::accounts::{self, LockedAccount, fen};
use crate::auth::audit::{OperatorAct, record_act};
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::store::{Store, retry_after_conflict};
use crate::time::to_micros;
use crate::topups;

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

/// A bank transfer's reference as it is stored and compared: what a person types off a bank slip
/// or a screen varies in spaces, letter case, width (full-width characters from a Chinese input
/// method), look-alike dashes (word processors turn `-` into en dashes) and invisible characters,
/// none of which makes it another receipt. So: full-width ASCII folded to ASCII; every kind of
/// dash made `-`; whitespace and invisible format characters removed; ASCII letters upper-cased.
/// An ASCII dash stays significant in a bank's own receipt number (`12-345` is not `123-45`), but
/// a top-up code (`BT` and its 10 characters) comes out in its canonical `BT-…` form with or
/// without its dash, as bank memos often drop it: `BT-ABC… `, `btabc…` and `ｂｔ－ａｂｃ…` are one
/// reference. The one normaliser for the API, the /ops form and the store.
pub fn normalize_bank_reference(reference: &str) -> Result<String, LedgerError> {
    let dash = |c: char| {
        matches!(
            c,
            '-' | '\u{2010}'
                ..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' | '\u{ff0d}' | '\u{30fc}'
        )
    };
    let invisible = |c: char| {
        matches!(
            c,
            '\u{00ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
        )
    };
    let folded: String = reference
        .chars()
        .map(|c| match c {
            // U+FF01..U+FF5E are full-width forms of U+0021..U+007E.
            '\u{ff01}'..='\u{ff5e}' if c != '\u{ff0d}' => {
                char::from_u32(c as u32 - 0xfee0).unwrap_or(c)
            }
            other => other,
        })
        .filter(|c| !c.is_whitespace() && !invisible(*c))
        .map(|c| if dash(c) { '-' } else { c.to_ascii_uppercase() })
        .collect();
    let normalized = match crate::topups::top_up_code(&folded) {
        Some(code) => code,
        None => folded,
    };
    check_reference(&normalized)?;
    Ok(normalized)
}

pub(crate) fn check_reference(reference: &str) -> Result<(), LedgerError> {
    let ok = !reference.is_empty()
        && reference.chars().count() <= 128
        && !reference.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(LedgerError::InvalidReference)
    }
}

impl Store {
    /// Credits a payment or a bank transfer. The same receipt (source + reference) is credited once:
    /// under its first key a replay returns the first result, under another key it is refused.
    pub async fn credit_cash(
        &self,
        key: &IdempotencyKey,
        request: &CashCredit,
    ) -> Result<CashCredited, LedgerError> {
        let request = &normalized(request)?;
        retry_after_conflict(|| self.credit_cash_once(key, request, None)).await
    }

    /// An operator records a received bank transfer; the audit row is part of the credit. The bank's
    /// reference is the idempotency key: recording it again with the same amount returns the first
    /// credit, with another amount it is refused as a duplicate receipt.
    pub async fn record_bank_transfer(
        &self,
        by: &OperatorAct,
        account_id: i64,
        amount: Amount,
        reference: &str,
    ) -> Result<CashCredited, LedgerError> {
        let reference = &normalize_bank_reference(reference)?;
        let key = bank_transfer_key(reference)?;
        let request = CashCredit {
            account_id,
            amount,
            source: CashSource::BankTransfer,
            reference: reference.to_owned(),
        };
        match retry_after_conflict(|| self.credit_cash_once(&key, &request, Some(by))).await {
            Err(LedgerError::IdempotencyKeyReused { .. }) => {
                let transaction_id: i64 = sqlx::query_scalar(
                    "SELECT transaction_id FROM cash_receipts WHERE source = $1 AND reference = $2",
                )
                .bind(CashSource::BankTransfer.code())
                .bind(reference)
                .fetch_one(self.pool())
                .await?;
                Err(LedgerError::DuplicateReceipt {
                    source_name: CashSource::BankTransfer.code(),
                    reference: reference.to_owned(),
                    transaction_id,
                })
            }
            other => other,
        }
    }

    async fn credit_cash_once(
        &self,
        key: &IdempotencyKey,
        request: &CashCredit,
        by: Option<&OperatorAct>,
    ) -> Result<CashCredited, LedgerError> {
        check_top_up_amount(request.amount)?;
        check_reference(&request.reference)?;
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let now = to_micros(self.now());
        // A transfer quoting the reference code of a customer's bank-transfer top-up settles it.
        let top_up = match request.source {
            CashSource::BankTransfer => topups::pending_bank_transfer(&mut tx, request).await?,
            CashSource::OnlinePayment => None,
        };
        let done = credit_locked(self, &mut tx, &account, request, now).await?;
        if let Some(top_up_id) = top_up {
            topups::mark_paid(&mut tx, top_up_id, done.transaction_id, None, now).await?;
        }
        let detail = format!(
            "{} {} of {} (ledger transaction {})",
            request.source.code(),
            request.reference,
            request.amount,
            done.transaction_id
        );
        record_act(
            &mut tx,
            by,
            "bank_transfer.record",
            Some(account.id),
            &detail,
            now,
        )
        .await?;
        idempotency::remember(&mut tx, key, OPERATION, request, &done, now).await?;
        tx.commit().await?;
        Ok(done)
    }
}

/// A bank transfer's reference normalised; an online payment's trade number is the gateway's own.
fn normalized(request: &CashCredit) -> Result<CashCredit, LedgerError> {
    let mut request = request.clone();
    if request.source == CashSource::BankTransfer {
        request.reference = normalize_bank_reference(&request.reference)?;
    }
    Ok(request)
}

/// The reference itself when it can be a key (receipt numbers are ASCII), else a digest of it.
fn bank_transfer_key(reference: &str) -> Result<IdempotencyKey, LedgerError> {
    IdempotencyKey::new(format!("bank_transfer:{reference}")).or_else(|_| {
        IdempotencyKey::new(format!(
            "bank_transfer:sha256:{}",
            crate::auth::sha256_hex(reference)
        ))
    })
}

/// Credits `request` to an account the caller has locked, inside the caller's transaction: refuses a
/// receipt credited before, pays arrears first, posts, records the receipt, updates the balances.
pub(crate) async fn credit_locked(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    account: &LockedAccount,
    request: &CashCredit,
    now: i64,
) -> Result<CashCredited, LedgerError> {
    let credited: Option<i64> = sqlx::query_scalar(
        "SELECT transaction_id FROM cash_receipts WHERE source = $1 AND reference = $2",
    )
    .bind(request.source.code())
    .bind(&request.reference)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(transaction_id) = credited {
        return Err(LedgerError::DuplicateReceipt {
            source_name: request.source.code(),
            reference: request.reference.clone(),
            transaction_id,
        });
    }
    let split = split_top_up(fen(account.arrears_fen)?, request.amount);
    let cash_after = account.cash_fen + split.to_cash.fen();
    let arrears_after = account.arrears_fen - split.to_arrears.fen();

    let memo = format!("{}:{}", request.source.code(), request.reference);
    let transaction_id =
        ledger::open_transaction(tx, account.id, TransactionKind::CashCredit, &memo, now).await?;
    ledger::post(
        tx,
        transaction_id,
        account.id,
        &[
            Posting::new(LedgerAccount::PaymentClearing, -request.amount.fen()),
            Posting::new(LedgerAccount::ArrearsReceivable, split.to_arrears.fen()),
            Posting::new(LedgerAccount::CustomerCash, split.to_cash.fen()),
        ],
    )
    .await?;
    sqlx::query(
        "INSERT INTO cash_receipts (source, reference, transaction_id) VALUES ($1, $2, $3)",
    )
    .bind(request.source.code())
    .bind(&request.reference)
    .bind(transaction_id)
    .execute(&mut **tx)
    .await?;
    accounts::set_balances(tx, account.id, cash_after, arrears_after).await?;
    let credited = CashCredited {
        transaction_id,
        paid_arrears: split.to_arrears,
        added_to_cash: split.to_cash,
        cash_after: fen(cash_after)?,
        arrears_after: fen(arrears_after)?,
    };
    crate::mail::alerts::after_cash_credit(
        store,
        tx,
        account.id,
        transaction_id,
        &credited,
        request.amount,
    )
    .await?;
    Ok(credited)
}
