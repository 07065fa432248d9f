//! Double-entry postings. Every ledger transaction is a set of postings that sums to zero; a
//! posting's amount is signed credit-positive: a customer's cash, a voucher or a card (what we owe
//! the customer) grows with positive postings, while arrears receivable, payment clearing, cloud
//! receivable and promotion (what others owe us, or what we spent) grow with negative ones. So the
//! customer's net cash position is simply customer_cash + arrears_receivable.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::error::LedgerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAccount {
    /// The customer's cash balance.
    CustomerCash,
    /// What the customer owes after a bill that nothing else could pay.
    ArrearsReceivable,
    /// One voucher's or one prepaid card's balance (the posting names the instrument).
    Instrument,
    /// Earned: the amounts of charged bill lines.
    Revenue,
    /// Money received from a payment provider or a bank, not yet reconciled.
    PaymentClearing,
    /// Instrument balances that expired unused.
    Breakage,
    /// Charges a cloud marketplace collects on our behalf.
    CloudReceivable,
    /// The cost of vouchers we gave away (regular vouchers, gift discount vouchers).
    Promotion,
    /// Prepaid cards a partner or operator assigned without the customer paying us.
    PartnerClearing,
}

impl LedgerAccount {
    pub const ALL: [LedgerAccount; 9] = [
        LedgerAccount::CustomerCash,
        LedgerAccount::ArrearsReceivable,
        LedgerAccount::Instrument,
        LedgerAccount::Revenue,
        LedgerAccount::PaymentClearing,
        LedgerAccount::Breakage,
        LedgerAccount::CloudReceivable,
        LedgerAccount::Promotion,
        LedgerAccount::PartnerClearing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            LedgerAccount::CustomerCash => "customer_cash",
            LedgerAccount::ArrearsReceivable => "arrears_receivable",
            LedgerAccount::Instrument => "instrument",
            LedgerAccount::Revenue => "revenue",
            LedgerAccount::PaymentClearing => "payment_clearing",
            LedgerAccount::Breakage => "breakage",
            LedgerAccount::CloudReceivable => "cloud_receivable",
            LedgerAccount::Promotion => "promotion",
            LedgerAccount::PartnerClearing => "partner_clearing",
        }
    }
}

/// What a ledger transaction records, as stored in `ledger_transactions.kind` (the customer's
/// movements name it the same way: one enum, `billing::wire::MovementKind`).
pub(crate) use billing::wire::MovementKind as TransactionKind;

/// A stored transaction kind; anything else is corrupt data.
pub(crate) fn transaction_kind(code: &str) -> Result<TransactionKind, LedgerError> {
    TransactionKind::from_code(code)
        .ok_or_else(|| LedgerError::Corrupt(format!("ledger transaction kind '{code}'")))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Posting {
    pub ledger_account: LedgerAccount,
    pub instrument_id: Option<i64>,
    pub bill_line_id: Option<i64>,
    pub amount_fen: i64,
}

impl Posting {
    pub(crate) fn new(ledger_account: LedgerAccount, amount_fen: i64) -> Posting {
        Posting {
            ledger_account,
            instrument_id: None,
            bill_line_id: None,
            amount_fen,
        }
    }

    pub(crate) fn instrument(instrument_id: i64, amount_fen: i64) -> Posting {
        Posting {
            ledger_account: LedgerAccount::Instrument,
            instrument_id: Some(instrument_id),
            bill_line_id: None,
            amount_fen,
        }
    }

    pub(crate) fn for_line(mut self, bill_line_id: i64) -> Posting {
        self.bill_line_id = Some(bill_line_id);
        self
    }
}

/// Opens a ledger transaction; its postings follow with [`post`].
pub(crate) async fn open_transaction(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    kind: TransactionKind,
    memo: &str,
    at_micros: i64,
) -> Result<i64, LedgerError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_transactions (account_id, kind, memo, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account_id)
    .bind(kind.code())
    .bind(memo)
    .bind(at_micros)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// One ledger transaction's postings, for [`post_many`].
pub(crate) struct Entry {
    pub transaction_id: i64,
    pub account_id: i64,
    pub postings: Vec<Posting>,
}

/// Writes the postings of many transactions in multi-row INSERTs, each transaction's set checked
/// to balance first (as [`post`] does), so nothing unbalanced is written.
pub(crate) async fn post_many(
    tx: &mut Transaction<'static, Any>,
    entries: &[Entry],
) -> Result<(), LedgerError> {
    for entry in entries {
        let sum: i128 = entry
            .postings
            .iter()
            .map(|p| i128::from(p.amount_fen))
            .sum();
        if sum != 0 {
            return Err(LedgerError::Corrupt(format!(
                "transaction {} does not balance: {:?}",
                entry.transaction_id, entry.postings
            )));
        }
    }
    let rows: Vec<(&Entry, &Posting)> = entries
        .iter()
        .flat_map(|e| {
            e.postings
                .iter()
                .filter(|p| p.amount_fen != 0)
                .map(move |p| (e, p))
        })
        .collect();
    let sql = crate::sql::Placeholders::of(tx);
    for chunk in rows.chunks(sql.rows_per_statement(6)) {
        let statement = format!(
            "INSERT INTO postings (transaction_id, account_id, ledger_account, instrument_id, bill_line_id, amount_fen) VALUES {}",
            sql.rows(chunk.len(), 6, 1)
        );
        let mut query = sqlx::query(&statement);
        for (entry, posting) in chunk {
            query = query
                .bind(entry.transaction_id)
                .bind(entry.account_id)
                .bind(posting.ledger_account.code())
                .bind(posting.instrument_id)
                .bind(posting.bill_line_id)
                .bind(posting.amount_fen);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Writes a balanced set of postings. Refuses (as a programming error surfaced as `Corrupt`) any
/// set that does not sum to zero, so an unbalanced transaction can never be committed.
pub(crate) async fn post(
    tx: &mut Transaction<'static, Any>,
    transaction_id: i64,
    account_id: i64,
    postings: &[Posting],
) -> Result<(), LedgerError> {
    let entry = Entry {
        transaction_id,
        account_id,
        postings: postings.to_vec(),
    };
    post_many(tx, std::slice::from_ref(&entry)).await
}
