//! Double-entry postings. Every ledger transaction is a set of postings that sums to zero; a
//! posting's amount is signed credit-positive: a customer's cash, a voucher or a card (what we owe
//! the customer) grows with positive postings, while arrears receivable, payment clearing, cloud
//! receivable and promotion (what others owe us, or what we spent) grow with negative ones. So the
//! customer's net cash position is simply customer_cash + arrears_receivable.

use std::collections::HashMap;

use billing::InstrumentKind;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

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

/// The customer's balances, as statements and movements show them. This is the one mapping from
/// ledger accounts to what the customer sees ([`CustomerBalance::of`] in Rust and
/// [`CustomerBalance::sql_condition`] in SQL, kept equal by a test); everything else in the ledger
/// (revenue, clearing, breakage, promotion) is ours, not the customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerBalance {
    Cash,
    /// What the customer owes; grows as arrears receivable is debited.
    Arrears,
    /// Regular and discount vouchers.
    Vouchers,
    PrepaidCards,
    /// Charges collected by a cloud marketplace (what paid a bill, never a wallet balance).
    Cloud,
}

impl CustomerBalance {
    pub const ALL: [CustomerBalance; 5] = [
        CustomerBalance::Cash,
        CustomerBalance::Arrears,
        CustomerBalance::Vouchers,
        CustomerBalance::PrepaidCards,
        CustomerBalance::Cloud,
    ];

    /// The wallet's balances, in the order `transaction_balances` stores them (cloud is what paid
    /// a bill, never a balance the customer holds).
    pub const WALLET: [CustomerBalance; 4] = [
        CustomerBalance::Cash,
        CustomerBalance::Arrears,
        CustomerBalance::Vouchers,
        CustomerBalance::PrepaidCards,
    ];

    /// Its name in reports (`ledger check`), and the prefix of its `transaction_balances` columns
    /// (`<column>_change_fen`, `<column>_after_fen`).
    pub fn name(self) -> &'static str {
        match self {
            CustomerBalance::Cash => "cash",
            CustomerBalance::Arrears => "arrears",
            CustomerBalance::Vouchers => "vouchers",
            CustomerBalance::PrepaidCards => "prepaid_cards",
            CustomerBalance::Cloud => "cloud",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            CustomerBalance::PrepaidCards => "cards",
            other => other.name(),
        }
    }

    /// The balance a posting to `account` (of an instrument of `instrument` kind) moves.
    pub fn of(
        account: LedgerAccount,
        instrument: Option<InstrumentKind>,
    ) -> Option<CustomerBalance> {
        match (account, instrument) {
            (LedgerAccount::CustomerCash, _) => Some(CustomerBalance::Cash),
            (LedgerAccount::ArrearsReceivable, _) => Some(CustomerBalance::Arrears),
            (LedgerAccount::Instrument, Some(InstrumentKind::PrepaidCard)) => {
                Some(CustomerBalance::PrepaidCards)
            }
            (LedgerAccount::Instrument, Some(_)) => Some(CustomerBalance::Vouchers),
            (LedgerAccount::CloudReceivable, _) => Some(CustomerBalance::Cloud),
            _ => None,
        }
    }

    /// The same mapping as a SQL condition on a posting aliased `p` joined (LEFT) to its
    /// instrument aliased `i`.
    pub fn sql_condition(self) -> &'static str {
        match self {
            CustomerBalance::Cash => "p.ledger_account = 'customer_cash'",
            CustomerBalance::Arrears => "p.ledger_account = 'arrears_receivable'",
            CustomerBalance::Vouchers => {
                "p.ledger_account = 'instrument' AND i.kind <> 'prepaid_card'"
            }
            CustomerBalance::PrepaidCards => {
                "p.ledger_account = 'instrument' AND i.kind = 'prepaid_card'"
            }
            CustomerBalance::Cloud => "p.ledger_account = 'cloud_receivable'",
        }
    }

    /// A posting's amount as a change of this balance seen by the customer: arrears grow when
    /// arrears receivable is debited (a negative posting), every other balance with the posting.
    pub fn change(self, amount_fen: i64) -> i64 {
        match self {
            CustomerBalance::Arrears => -amount_fen,
            _ => amount_fen,
        }
    }

    /// `CAST(SUM(CASE WHEN <this balance> THEN <sign>p.amount_fen ELSE 0 END) AS BIGINT)`: what the
    /// postings `p` moved this balance by, negated when `paid` (what the balance paid of a bill).
    pub fn sql_sum(self, paid: bool) -> String {
        let sign = match (self, paid) {
            (CustomerBalance::Arrears, false) | (_, true) => "-",
            _ => "",
        };
        format!(
            "CAST(SUM(CASE WHEN {} THEN {sign}p.amount_fen ELSE 0 END) AS BIGINT)",
            self.sql_condition()
        )
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
    pub instrument_kind: Option<InstrumentKind>,
    pub bill_line_id: Option<i64>,
    pub amount_fen: i64,
}

impl Posting {
    pub(crate) fn new(ledger_account: LedgerAccount, amount_fen: i64) -> Posting {
        Posting {
            ledger_account,
            instrument_id: None,
            instrument_kind: None,
            bill_line_id: None,
            amount_fen,
        }
    }

    pub(crate) fn instrument(instrument_id: i64, kind: InstrumentKind, amount_fen: i64) -> Posting {
        Posting {
            ledger_account: LedgerAccount::Instrument,
            instrument_id: Some(instrument_id),
            instrument_kind: Some(kind),
            bill_line_id: None,
            amount_fen,
        }
    }

    pub(crate) fn for_line(mut self, bill_line_id: i64) -> Posting {
        self.bill_line_id = Some(bill_line_id);
        self
    }

    /// The customer's balance this posting moves, and by how much as the customer sees it.
    fn customer_change(&self) -> Option<(CustomerBalance, i64)> {
        CustomerBalance::of(self.ledger_account, self.instrument_kind)
            .map(|balance| (balance, balance.change(self.amount_fen)))
    }
}

/// A transaction's changes of, or balances after it of, the wallet's balances in fen, in the
/// order of [`CustomerBalance::WALLET`].
type Balances = [i64; 4];

fn wallet_changes(postings: &[Posting]) -> Balances {
    let mut changes = [0; 4];
    for (balance, change) in postings.iter().filter_map(Posting::customer_change) {
        if let Some(slot) = CustomerBalance::WALLET.iter().position(|b| *b == balance) {
            changes[slot] += change;
        }
    }
    changes
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
    record_running_balances(tx, entries).await
}

/// Stores each transaction's changes of the customer's balances and the balances after it
/// (`transaction_balances`):
/// the balances after the account's previous transaction plus its changes, in id order. Every
/// writer holds the account's lock (`accounts::lock_many`) from before it takes a transaction id
/// until it commits, so within an account id order is the order of the writes.
async fn record_running_balances(
    tx: &mut Transaction<'static, Any>,
    entries: &[Entry],
) -> Result<(), LedgerError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut ordered: Vec<&Entry> = entries.iter().collect();
    ordered.sort_by_key(|e| e.transaction_id);
    let mut seen = std::collections::HashSet::new();
    let first_of_account: Vec<(i64, i64)> = ordered
        .iter()
        .filter(|e| seen.insert(e.account_id))
        .map(|e| (e.account_id, e.transaction_id))
        .collect();
    let sql = crate::sql::Placeholders::of(tx);
    let mut running: HashMap<i64, Balances> = HashMap::with_capacity(first_of_account.len());
    for chunk in first_of_account.chunks(sql.rows_per_statement(2)) {
        let statement = format!(
            "SELECT b.account_id, b.cash_after_fen, b.arrears_after_fen, b.vouchers_after_fen, b.cards_after_fen \
             FROM (VALUES {}) v JOIN transaction_balances b ON b.transaction_id = \
             (SELECT MAX(x.transaction_id) FROM transaction_balances x \
              WHERE x.account_id = v.column1 AND x.transaction_id < v.column2)",
            sql.rows(chunk.len(), 2, 1)
        );
        let mut query = sqlx::query(&statement);
        for (account_id, transaction_id) in chunk {
            query = query.bind(*account_id).bind(*transaction_id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            running.insert(
                row.try_get("account_id")?,
                [
                    row.try_get("cash_after_fen")?,
                    row.try_get("arrears_after_fen")?,
                    row.try_get("vouchers_after_fen")?,
                    row.try_get("cards_after_fen")?,
                ],
            );
        }
    }
    let mut rows: Vec<(i64, i64, Balances, Balances)> = Vec::with_capacity(ordered.len());
    for entry in ordered {
        let changes = wallet_changes(&entry.postings);
        let after = running.entry(entry.account_id).or_insert([0; 4]);
        for (sum, change) in after.iter_mut().zip(changes) {
            *sum += change;
        }
        rows.push((entry.transaction_id, entry.account_id, changes, *after));
    }
    for chunk in rows.chunks(sql.rows_per_statement(10)) {
        let statement = format!(
            "INSERT INTO transaction_balances (transaction_id, account_id, cash_change_fen, arrears_change_fen, \
             vouchers_change_fen, cards_change_fen, cash_after_fen, arrears_after_fen, vouchers_after_fen, \
             cards_after_fen) VALUES {}",
            sql.rows(chunk.len(), 10, 1)
        );
        let mut query = sqlx::query(&statement);
        for (id, account_id, changes, after) in chunk {
            query = query.bind(*id).bind(*account_id);
            for value in changes.iter().chain(after) {
                query = query.bind(*value);
            }
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
