//! Top-ups a customer starts: an online payment (Alipay, or the local sandbox that plays Alipay)
//! or a bank transfer quoting a reference code. Opening one moves no money; the wallet is credited
//! when the payment notification arrives (`settle_online_payment`, exactly once per trade) or when
//! an operator records the transfer (`Store::credit_cash` with the reference code).

use billing::Amount;
use billing::wallet_rules::check_top_up_amount;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::accounts::{self, fen};
use crate::cash::{CashCredit, CashCredited, CashSource, credit_locked};
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::store::{Store, retry_after_conflict};
use crate::time::{from_micros, to_micros};

pub use billing::wire::{TopUpMethod, TopUpStatus};

fn method_of(code: &str) -> Result<TopUpMethod, LedgerError> {
    TopUpMethod::from_code(code)
        .ok_or_else(|| LedgerError::Corrupt(format!("top-up method '{code}'")))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUp {
    pub id: i64,
    pub account_id: i64,
    pub method: TopUpMethod,
    pub amount: Amount,
    /// Alipay's `out_trade_no`, or the code to write on the bank transfer.
    pub reference: String,
    pub status: TopUpStatus,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Alipay's own trade number once paid.
    pub provider_trade_no: Option<String>,
    pub transaction_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpRequest {
    pub account_id: i64,
    pub amount: Amount,
    pub method: TopUpMethod,
}

/// A payment the gateway reports as made (its notification already verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlinePayment {
    pub out_trade_no: String,
    pub provider_trade_no: String,
    /// The amount the gateway says was paid, exactly as it wrote it (`88.88`).
    pub total_amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// This notification credited the wallet.
    Credited {
        top_up: TopUp,
        credited: CashCredited,
    },
    /// An earlier notification of the same trade already did; nothing changed.
    AlreadyPaid(TopUp),
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("no online top-up has out_trade_no '{0}'")]
    UnknownTrade(String),
    #[error("top-up '{out_trade_no}' is for {expected}, the notification says '{notified}'")]
    AmountMismatch {
        out_trade_no: String,
        expected: Amount,
        notified: String,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sqlx::Error> for PaymentError {
    fn from(e: sqlx::Error) -> PaymentError {
        PaymentError::Ledger(LedgerError::Database(e))
    }
}

const OPERATION: &str = "open_top_up";
/// Online top-ups one account may have waiting for payment at once.
pub const MAX_PENDING_ONLINE: i64 = 10;

/// The canonical `BT-XXXXXXXXXX` of a bank-transfer code written with or without its dash
/// (already upper-cased), if it is one.
pub(crate) fn top_up_code(folded: &str) -> Option<String> {
    let rest = folded.strip_prefix("BT")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    (rest.len() == 10 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| format!("BT-{rest}"))
}

/// The activation codes' unambiguous alphabet: a reference is read off a screen and typed into a
/// bank's transfer form.
use crate::vouchers::CODE_ALPHABET as REFERENCE_ALPHABET;
pub const MAX_LISTED: i64 = 100;

fn new_reference(method: TopUpMethod, now: DateTime<Utc>) -> String {
    let mut rng = rand::rng();
    match method {
        // out_trade_no: at most 64 letters, digits and underscores, unique per merchant.
        TopUpMethod::Alipay => format!(
            "BC{}{:012}",
            now.format("%Y%m%d"),
            rng.random_range(0..1_000_000_000_000u64)
        ),
        // `BT-` and 10 characters: 50 bits, short enough to type, never guessed into someone else's top-up.
        TopUpMethod::BankTransfer => {
            let code: String = (0..10)
                .map(|_| {
                    char::from(REFERENCE_ALPHABET[rng.random_range(0..REFERENCE_ALPHABET.len())])
                })
                .collect();
            format!("BT-{code}")
        }
    }
}

pub(crate) const COLUMNS: &str = "id, account_id, method, amount_fen, reference, status, created_at, paid_at, provider_trade_no, transaction_id, closed_at";

pub(crate) fn top_up_of(row: &AnyRow) -> Result<TopUp, LedgerError> {
    let status: String = row.try_get("status")?;
    let closed = row.try_get::<Option<i64>, _>("closed_at")?.is_some();
    Ok(TopUp {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        method: method_of(&row.try_get::<String, _>("method")?)?,
        amount: fen(row.try_get("amount_fen")?)?,
        reference: row.try_get("reference")?,
        status: if status == "paid" {
            TopUpStatus::Paid
        } else if closed {
            TopUpStatus::Closed
        } else {
            TopUpStatus::Pending
        },
        created_at: from_micros(row.try_get("created_at")?),
        paid_at: row.try_get::<Option<i64>, _>("paid_at")?.map(from_micros),
        provider_trade_no: row.try_get("provider_trade_no")?,
        transaction_id: row.try_get("transaction_id")?,
    })
}

async fn by_reference(
    tx: &mut Transaction<'static, Any>,
    reference: &str,
) -> Result<Option<TopUp>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM top_ups WHERE reference = $1"
    ))
    .bind(reference)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(top_up_of).transpose()
}

/// The pending bank-transfer top-up a received transfer quotes, if any. A reference code of
/// another account is refused: the operator typed the wrong account or the wrong code. So is the
/// code of a top-up already paid: the same transfer recorded again under another spelling would
/// credit twice, and a genuine second transfer has its own bank receipt number. And so is a
/// transfer of another amount than the pending top-up's: marking it paid would say the top-up was
/// credited in full.
pub(crate) async fn pending_bank_transfer(
    tx: &mut Transaction<'static, Any>,
    transfer: &CashCredit,
) -> Result<Option<i64>, LedgerError> {
    let Some(top_up) = by_reference(tx, transfer.reference.trim()).await? else {
        return Ok(None);
    };
    if top_up.method != TopUpMethod::BankTransfer {
        return Ok(None);
    }
    if top_up.account_id != transfer.account_id {
        return Err(LedgerError::ReferenceOfAnotherAccount {
            reference: top_up.reference,
            owner: top_up.account_id,
        });
    }
    if top_up.status == TopUpStatus::Paid {
        return Err(LedgerError::TopUpAlreadyPaid {
            reference: top_up.reference,
            top_up_id: top_up.id,
            transaction_id: top_up.transaction_id.unwrap_or_default(),
        });
    }
    if top_up.status != TopUpStatus::Pending {
        return Ok(None);
    }
    if top_up.amount != transfer.amount {
        return Err(LedgerError::TopUpAmountMismatch {
            reference: top_up.reference,
            expected: top_up.amount,
            got: transfer.amount,
        });
    }
    Ok(Some(top_up.id))
}

pub(crate) async fn mark_paid(
    tx: &mut Transaction<'static, Any>,
    top_up_id: i64,
    transaction_id: i64,
    provider_trade_no: Option<&str>,
    now: i64,
) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE top_ups SET status = 'paid', paid_at = $1, transaction_id = $2, provider_trade_no = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(now)
    .bind(transaction_id)
    .bind(provider_trade_no)
    .bind(top_up_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Opens a top-up: validates the amount and gives it a reference. Moves no money.
    pub async fn open_top_up(
        &self,
        key: &IdempotencyKey,
        request: &TopUpRequest,
    ) -> Result<TopUp, LedgerError> {
        retry_after_conflict(|| self.open_top_up_once(key, request)).await
    }

    async fn open_top_up_once(
        &self,
        key: &IdempotencyKey,
        request: &TopUpRequest,
    ) -> Result<TopUp, LedgerError> {
        check_top_up_amount(request.amount)?;
        let mut tx = self.begin_write().await?;
        accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        // Each pending online top-up is asked about at the gateway until it is paid or closed:
        // one account may not queue more than a handful.
        if request.method == TopUpMethod::Alipay {
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM top_ups WHERE account_id = $1 AND method = 'alipay' \
                 AND status = 'pending' AND closed_at IS NULL",
            )
            .bind(request.account_id)
            .fetch_one(&mut *tx)
            .await?;
            if pending >= MAX_PENDING_ONLINE {
                return Err(LedgerError::TooManyPendingTopUps {
                    max: MAX_PENDING_ONLINE,
                });
            }
        }
        let now = self.now();
        let reference = new_reference(request.method, now);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO top_ups (account_id, method, amount_fen, reference, status, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id",
        )
        .bind(request.account_id)
        .bind(request.method.code())
        .bind(request.amount.fen())
        .bind(&reference)
        .bind(to_micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let top_up = TopUp {
            id,
            account_id: request.account_id,
            method: request.method,
            amount: request.amount,
            reference,
            status: TopUpStatus::Pending,
            created_at: from_micros(to_micros(now)),
            paid_at: None,
            provider_trade_no: None,
            transaction_id: None,
        };
        idempotency::remember(&mut tx, key, OPERATION, request, &top_up, to_micros(now)).await?;
        tx.commit().await?;
        Ok(top_up)
    }

    /// One top-up of an account (`None` for another account's).
    /// A top-up by its reference (Alipay's `out_trade_no` or the `BT-` code), of any account.
    pub async fn top_up_by_reference(&self, reference: &str) -> Result<Option<TopUp>, LedgerError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM top_ups WHERE reference = $1"
        ))
        .bind(reference)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(top_up_of).transpose()
    }

    pub async fn top_up(&self, account_id: i64, id: i64) -> Result<Option<TopUp>, LedgerError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM top_ups WHERE id = $1 AND account_id = $2"
        ))
        .bind(id)
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(top_up_of).transpose()
    }

    /// The newest top-ups of an account (at most [`MAX_LISTED`]).
    pub async fn top_ups(&self, account_id: i64, limit: i64) -> Result<Vec<TopUp>, LedgerError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM top_ups WHERE account_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(account_id)
        .bind(limit.clamp(1, MAX_LISTED))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(top_up_of).collect()
    }

    /// Credits an online top-up the gateway reports as paid, exactly once per trade: a repeated or
    /// later notification (TRADE_FINISHED after TRADE_SUCCESS) finds it paid and changes nothing.
    /// The amount must be the top-up's to the fen; the gateway reporting another amount paid is
    /// refused and flagged for operators (`reconciliation`), whichever way it was reported.
    pub async fn settle_online_payment(
        &self,
        payment: &OnlinePayment,
    ) -> Result<PaymentOutcome, PaymentError> {
        let outcome = self.settle_online_payment_once(payment).await;
        if let Err(e @ PaymentError::AmountMismatch { .. }) = &outcome {
            let detail = format!(
                "the gateway reported trade {} paid: {e}",
                payment.provider_trade_no
            );
            if let Err(flag) = self
                .flag_payment(
                    &payment.out_trade_no,
                    crate::reconciliation::FlagKind::AmountMismatch,
                    &detail,
                )
                .await
            {
                tracing::error!(error = %flag, "cannot flag a payment");
            }
            tracing::error!(trade = %payment.out_trade_no, %detail, "payment flagged for operators");
        }
        outcome
    }

    async fn settle_online_payment_once(
        &self,
        payment: &OnlinePayment,
    ) -> Result<PaymentOutcome, PaymentError> {
        let mut tx = self.begin_write().await?;
        let unknown = || PaymentError::UnknownTrade(payment.out_trade_no.clone());
        let top_up = by_reference(&mut tx, &payment.out_trade_no)
            .await?
            .ok_or_else(unknown)?;
        if top_up.method != TopUpMethod::Alipay {
            return Err(unknown());
        }
        let account = accounts::lock(self, &mut tx, top_up.account_id).await?;
        // Read again under the account lock: a concurrent notification may have just paid it.
        let top_up = by_reference(&mut tx, &payment.out_trade_no)
            .await?
            .ok_or_else(unknown)?;
        if !amount_matches(top_up.amount, &payment.total_amount) {
            return Err(PaymentError::AmountMismatch {
                out_trade_no: top_up.reference,
                expected: top_up.amount,
                notified: payment.total_amount.clone(),
            });
        }
        if top_up.status == TopUpStatus::Paid {
            return Ok(PaymentOutcome::AlreadyPaid(top_up));
        }
        let now = to_micros(self.now());
        let credit = CashCredit {
            account_id: account.id,
            amount: top_up.amount,
            source: CashSource::OnlinePayment,
            reference: top_up.reference.clone(),
        };
        let credited = credit_locked(self, &mut tx, &account, &credit, now).await?;
        mark_paid(
            &mut tx,
            top_up.id,
            credited.transaction_id,
            Some(&payment.provider_trade_no),
            now,
        )
        .await?;
        let top_up = by_reference(&mut tx, &payment.out_trade_no)
            .await?
            .ok_or_else(unknown)?;
        tx.commit().await?;
        Ok(PaymentOutcome::Credited { top_up, credited })
    }
}

/// `88.88`, `88.880` and `88.8800` all match 88.88; `88.881` and `88.8` followed by junk do not.
fn amount_matches(expected: Amount, notified: &str) -> bool {
    notified
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|d| d == expected.as_decimal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_have_the_documented_shape() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 23, 8, 0, 0).unwrap();
        let alipay = new_reference(TopUpMethod::Alipay, now);
        assert!(
            alipay.starts_with("BC20261123") && alipay.len() == 22,
            "{alipay}"
        );
        assert!(alipay.chars().all(|c| c.is_ascii_alphanumeric()));
        let bank = new_reference(TopUpMethod::BankTransfer, now);
        assert_eq!(bank.len(), 13);
        assert!(
            bank[3..].bytes().all(|b| REFERENCE_ALPHABET.contains(&b)),
            "{bank}"
        );
    }

    #[test]
    fn notified_amounts_must_equal_the_top_up_to_the_fen() {
        let amount = Amount::from_fen(8_888);
        assert!(amount_matches(amount, "88.88"));
        assert!(amount_matches(amount, "88.880"));
        assert!(!amount_matches(amount, "88.881"));
        assert!(!amount_matches(amount, "88.87"));
        assert!(!amount_matches(amount, "88.88 "));
        assert!(!amount_matches(amount, ""));
        assert!(!amount_matches(amount, "8888"));
    }
}
