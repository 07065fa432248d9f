//! What can go wrong in a money operation. Every variant but `Database` is the caller's to fix, and
//! every one of them leaves the store exactly as it was.

use billing::wallet_rules::{PrepaidCardError, TopUpError, VoucherValidityError};
use billing::{Amount, WalletError};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("billing account {0} does not exist")]
    AccountNotFound(i64),
    #[error("{0}")]
    TopUp(#[from] TopUpError),
    #[error("{0}")]
    PrepaidCard(#[from] PrepaidCardError),
    #[error("{0}")]
    VoucherValidity(#[from] VoucherValidityError),
    #[error("a voucher's face value must be between 0.01 and {max} (asked {asked})")]
    InvalidFaceValue { asked: Amount, max: Amount },
    #[error("the number of activation codes must be between 1 and {max} (asked {asked})")]
    InvalidCodeCount { asked: u32, max: u32 },
    #[error("activation codes must be redeemable for some time: redeem_by {0} is already past")]
    RedeemByInPast(DateTime<Utc>),
    #[error("no activation code matches '{0}'")]
    CodeNotFound(String),
    #[error("activation code '{0}' has already been used")]
    CodeAlreadyUsed(String),
    #[error("activation code '{code}' expired at {at}")]
    CodeExpired { code: String, at: DateTime<Utc> },
    #[error("{0}")]
    InvalidIdempotencyKey(String),
    #[error("idempotency key '{key}' was already used for a different {operation} request")]
    IdempotencyKeyReused { key: String, operation: String },
    #[error("a bill needs between 1 and {max} charges (got {got})")]
    InvalidChargeCount { got: usize, max: usize },
    #[error("workspace id must be 1 to 64 letters, digits, '-', '_' or '.' (got '{0}')")]
    InvalidWorkspaceId(String),
    #[error(
        "the bill of workspace '{workspace_id}' for {day} was already charged with different charges (bill {bill_id})"
    )]
    BillConflict {
        workspace_id: String,
        day: NaiveDate,
        bill_id: i64,
    },
    #[error(
        "the bill of workspace '{workspace_id}' for {day} belongs to billing account {owner}, not {asked}"
    )]
    BillOfAnotherAccount {
        workspace_id: String,
        day: NaiveDate,
        owner: i64,
        asked: i64,
    },
    #[error("{0}")]
    Wallet(#[from] WalletError),
    #[error("account name must be 1 to 100 characters, without control characters")]
    InvalidAccountName,
    #[error("reference must be 1 to 128 printable characters")]
    InvalidReference,
    #[error(
        "{source_name} '{reference}' was already credited (ledger transaction {transaction_id})"
    )]
    DuplicateReceipt {
        source_name: &'static str,
        reference: String,
        transaction_id: i64,
    },
    #[error(
        "{max} online top-ups are already waiting for payment: pay one of them, or wait until they close (a day after they were opened)"
    )]
    TooManyPendingTopUps { max: i64 },
    #[error("reference '{reference}' belongs to a top-up of billing account {owner}")]
    ReferenceOfAnotherAccount { reference: String, owner: i64 },
    #[error(
        "reference '{reference}' is the code of top-up {top_up_id}, which is already paid (ledger transaction {transaction_id}); a second transfer quoting it needs its own bank receipt number"
    )]
    TopUpAlreadyPaid {
        reference: String,
        top_up_id: i64,
        transaction_id: i64,
    },
    #[error(
        "top-up '{reference}' is for {expected}, not {got}: record the transfer under the bank's own \
         reference, or with the top-up's amount"
    )]
    TopUpAmountMismatch {
        reference: String,
        expected: Amount,
        got: Amount,
    },
    #[error("a charge may be at most {max} (charge {line} asks {asked})")]
    ChargeTooLarge {
        line: usize,
        asked: Amount,
        max: Amount,
    },
    #[error("an activation code has {max} characters at most")]
    CodeTooLong { max: usize },
    #[error("prepaid card validity must be 1 to 3650 days (got {0})")]
    InvalidValidityDays(i64),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "workspace {0} changed its settlement method (or its cloud subscription ended) after the bill was priced; it is priced again"
    )]
    SettlementChanged(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}
