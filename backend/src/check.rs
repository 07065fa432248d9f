//! `billing-center ledger check`: recomputes every balance from the postings and reports each
//! difference. The stored balances are a cache of the ledger; this proves the cache is right, and
//! that the records around the ledger agree with it. It checks that:
//!
//! - every ledger transaction has postings (only a bill of 0.00 may have none) and they sum to 0;
//! - every posting belongs to its transaction's billing account, and so does the instrument it
//!   names (a transaction never touches two customers' money);
//! - each account's cash and arrears, and each instrument's balance, equal their postings;
//! - an expired instrument holds nothing, stored or from its postings;
//! - every cash receipt is a cash credit: money received through payment clearing, all of it
//!   credited to cash and arrears; every paid top-up received and credited exactly its amount;
//! - every ledger transaction's stored changes of the customer's balances, and balances after it
//!   (`transaction_balances`), equal its postings and the running sums of its account's postings up to it;
//! - every daily bill's total equals its lines and its revenue postings;
//! - every monthly bill counts and adds up the daily bills of its account, workspace and month.
//!
//! Every check is one set-based query; the report lists each difference found.

use std::fmt;

use serde::Serialize;
use sqlx::Row;

use crate::error::LedgerError;
use crate::ledger::CustomerBalance;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    UnbalancedTransaction {
        transaction_id: i64,
        sum_fen: i64,
    },
    Cash {
        account_id: i64,
        stored_fen: i64,
        from_postings_fen: i64,
    },
    Arrears {
        account_id: i64,
        stored_fen: i64,
        from_postings_fen: i64,
    },
    Instrument {
        instrument_id: i64,
        stored_fen: i64,
        from_postings_fen: i64,
    },
    BillLines {
        bill_id: i64,
        total_fen: i64,
        lines_fen: i64,
    },
    BillRevenue {
        bill_id: i64,
        total_fen: i64,
        revenue_fen: i64,
    },
    /// A ledger transaction with no postings (other than the transaction of a bill of 0.00).
    EmptyTransaction {
        transaction_id: i64,
        transaction_kind: String,
    },
    /// A posting recorded against another billing account than its transaction's.
    PostingOfAnotherAccount {
        posting_id: i64,
        transaction_id: i64,
        transaction_account_id: i64,
        posting_account_id: i64,
    },
    /// A posting naming an instrument of another billing account than its transaction's.
    InstrumentOfAnotherAccount {
        posting_id: i64,
        transaction_id: i64,
        transaction_account_id: i64,
        instrument_id: i64,
        instrument_account_id: i64,
    },
    /// An instrument marked expired that still holds money.
    ExpiredInstrumentBalance {
        instrument_id: i64,
        stored_fen: i64,
        from_postings_fen: i64,
    },
    /// A cash receipt whose transaction did not receive money through payment clearing, or did not
    /// credit all of it (and nothing more) to cash and arrears.
    CashReceipt {
        source: String,
        reference: String,
        transaction_id: i64,
        received_fen: i64,
        credited_fen: i64,
    },
    /// A paid top-up whose ledger transaction did not receive and credit exactly its amount.
    TopUp {
        top_up_id: i64,
        transaction_id: Option<i64>,
        amount_fen: i64,
        received_fen: i64,
        credited_fen: i64,
    },
    /// A monthly bill that does not count or add up the daily bills of its month.
    MonthlyBill {
        monthly_bill_id: i64,
        account_id: i64,
        workspace_id: String,
        month: String,
        daily_bills: i64,
        total_fen: i64,
        bills_found: i64,
        bills_total_fen: i64,
    },
    /// A ledger transaction whose stored change of a customer balance (`cash`, `arrears`,
    /// `vouchers`, `prepaid_cards`), or the balance after it, is not what the postings give.
    RunningBalance {
        transaction_id: i64,
        account_id: i64,
        balance: String,
        /// None: the transaction has no stored balances at all.
        stored_change_fen: Option<i64>,
        change_fen: i64,
        stored_after_fen: Option<i64>,
        after_fen: i64,
    },
    /// A closed month with daily bills of a workspace that has no monthly bill.
    MissingMonthlyBill {
        account_id: i64,
        workspace_id: String,
        month: String,
        bills_found: i64,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::UnbalancedTransaction {
                transaction_id,
                sum_fen,
            } => {
                write!(
                    f,
                    "ledger transaction {transaction_id}: postings sum to {sum_fen} fen, not 0"
                )
            }
            Discrepancy::Cash {
                account_id,
                stored_fen,
                from_postings_fen,
            } => {
                write!(
                    f,
                    "account {account_id}: cash is {stored_fen} fen but its postings give {from_postings_fen}"
                )
            }
            Discrepancy::Arrears {
                account_id,
                stored_fen,
                from_postings_fen,
            } => {
                write!(
                    f,
                    "account {account_id}: arrears are {stored_fen} fen but its postings give {from_postings_fen}"
                )
            }
            Discrepancy::Instrument {
                instrument_id,
                stored_fen,
                from_postings_fen,
            } => write!(
                f,
                "instrument {instrument_id}: balance is {stored_fen} fen but its postings give {from_postings_fen}"
            ),
            Discrepancy::BillLines {
                bill_id,
                total_fen,
                lines_fen,
            } => {
                write!(
                    f,
                    "bill {bill_id}: total is {total_fen} fen but its lines add up to {lines_fen}"
                )
            }
            Discrepancy::BillRevenue {
                bill_id,
                total_fen,
                revenue_fen,
            } => {
                write!(
                    f,
                    "bill {bill_id}: total is {total_fen} fen but its revenue postings add up to {revenue_fen}"
                )
            }
            Discrepancy::EmptyTransaction {
                transaction_id,
                transaction_kind,
            } => write!(
                f,
                "ledger transaction {transaction_id} ({transaction_kind}) has no postings"
            ),
            Discrepancy::PostingOfAnotherAccount {
                posting_id,
                transaction_id,
                transaction_account_id,
                posting_account_id,
            } => write!(
                f,
                "posting {posting_id} of ledger transaction {transaction_id} (account {transaction_account_id}) \
                 is recorded against account {posting_account_id}"
            ),
            Discrepancy::InstrumentOfAnotherAccount {
                posting_id,
                transaction_id,
                transaction_account_id,
                instrument_id,
                instrument_account_id,
            } => write!(
                f,
                "posting {posting_id} of ledger transaction {transaction_id} (account {transaction_account_id}) \
                 names instrument {instrument_id} of account {instrument_account_id}"
            ),
            Discrepancy::ExpiredInstrumentBalance {
                instrument_id,
                stored_fen,
                from_postings_fen,
            } => write!(
                f,
                "instrument {instrument_id} is expired but holds {stored_fen} fen ({from_postings_fen} from its postings), not 0"
            ),
            Discrepancy::CashReceipt {
                source,
                reference,
                transaction_id,
                received_fen,
                credited_fen,
            } => write!(
                f,
                "cash receipt {source} '{reference}' (ledger transaction {transaction_id}): \
                 received {received_fen} fen through payment clearing but credited {credited_fen} to cash and arrears"
            ),
            Discrepancy::TopUp {
                top_up_id,
                transaction_id,
                amount_fen,
                received_fen,
                credited_fen,
            } => {
                let transaction = transaction_id.map_or_else(
                    || "no ledger transaction".to_owned(),
                    |t| format!("ledger transaction {t}"),
                );
                write!(
                    f,
                    "top-up {top_up_id} is paid with {amount_fen} fen but {transaction} \
                     received {received_fen} and credited {credited_fen}"
                )
            }
            Discrepancy::MonthlyBill {
                monthly_bill_id,
                account_id,
                workspace_id,
                month,
                daily_bills,
                total_fen,
                bills_found,
                bills_total_fen,
            } => write!(
                f,
                "monthly bill {monthly_bill_id} ({month}, workspace '{workspace_id}', account {account_id}): \
                 {daily_bills} daily bills of {total_fen} fen, but its daily bills are {bills_found} of {bills_total_fen} fen"
            ),
            Discrepancy::RunningBalance {
                transaction_id,
                account_id,
                balance,
                stored_change_fen,
                change_fen,
                stored_after_fen,
                after_fen,
            } => match (stored_change_fen, stored_after_fen) {
                (Some(stored_change), Some(stored_after)) => write!(
                    f,
                    "ledger transaction {transaction_id} (account {account_id}) stores {balance} changed by \
                     {stored_change} fen to {stored_after}, but its postings give {change_fen} to {after_fen}"
                ),
                _ => write!(
                    f,
                    "ledger transaction {transaction_id} (account {account_id}) has no stored balances; \
                     its postings give {balance} changed by {change_fen} fen to {after_fen}"
                ),
            },
            Discrepancy::MissingMonthlyBill {
                account_id,
                workspace_id,
                month,
                bills_found,
            } => write!(
                f,
                "month {month} is closed, but workspace '{workspace_id}' of account {account_id} has \
                 {bills_found} daily bills in it and no monthly bill"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerReport {
    pub transactions: i64,
    pub postings: i64,
    pub accounts: i64,
    pub instruments: i64,
    pub bills: i64,
    pub discrepancies: Vec<Discrepancy>,
}

impl LedgerReport {
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

impl fmt::Display for LedgerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checked {} ledger transactions, {} postings, {} accounts, {} instruments, {} bills",
            self.transactions, self.postings, self.accounts, self.instruments, self.bills
        )?;
        if self.discrepancies.is_empty() {
            write!(f, "every balance matches its postings")
        } else {
            write!(f, "{} discrepancies:", self.discrepancies.len())?;
            for d in &self.discrepancies {
                write!(f, "\n  {d}")?;
            }
            Ok(())
        }
    }
}

/// Sums are cast to BIGINT: PostgreSQL's SUM(bigint) is NUMERIC, which the shared SQL avoids.
const UNBALANCED: &str = "SELECT transaction_id, CAST(SUM(amount_fen) AS BIGINT) AS total FROM postings \
     GROUP BY transaction_id HAVING SUM(amount_fen) <> 0 ORDER BY transaction_id";
/// A bill of 0.00 posts nothing (zero postings are not written), so its transaction is empty.
const EMPTY_TRANSACTIONS: &str = "SELECT t.id, t.kind FROM ledger_transactions t \
     WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id) \
     AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.transaction_id = t.id AND b.total_fen = 0) \
     ORDER BY t.id";
const FOREIGN_POSTINGS: &str = "SELECT p.id, p.transaction_id, t.account_id AS transaction_account, \
     p.account_id AS posting_account, p.instrument_id, i.account_id AS instrument_account \
     FROM postings p JOIN ledger_transactions t ON t.id = p.transaction_id \
     LEFT JOIN instruments i ON i.id = p.instrument_id \
     WHERE p.account_id <> t.account_id OR i.account_id <> t.account_id ORDER BY p.id";
const ACCOUNTS: &str = "SELECT a.id, a.cash_fen, a.arrears_fen, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.account_id = a.id AND p.ledger_account = 'customer_cash'), 0) AS BIGINT) AS cash_postings, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.account_id = a.id AND p.ledger_account = 'arrears_receivable'), 0) AS BIGINT) AS arrears_postings \
     FROM billing_accounts a ORDER BY a.id";
const INSTRUMENTS: &str = "SELECT i.id, i.balance_fen, i.expired_at, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.instrument_id = i.id), 0) AS BIGINT) AS from_postings \
     FROM instruments i ORDER BY i.id";
/// What a receipt's transaction received (payment clearing is debited) and credited to the
/// customer (cash, or arrears paid off).
const RECEIPTS: &str = "SELECT source, reference, transaction_id, received, credited FROM (\
     SELECT r.source, r.reference, r.transaction_id, \
     CAST(COALESCE(SUM(CASE WHEN p.ledger_account = 'payment_clearing' THEN -p.amount_fen ELSE 0 END), 0) AS BIGINT) AS received, \
     CAST(COALESCE(SUM(CASE WHEN p.ledger_account IN ('customer_cash', 'arrears_receivable') THEN p.amount_fen ELSE 0 END), 0) AS BIGINT) AS credited \
     FROM cash_receipts r LEFT JOIN postings p ON p.transaction_id = r.transaction_id \
     GROUP BY r.source, r.reference, r.transaction_id) x \
     WHERE received <= 0 OR received <> credited ORDER BY transaction_id, source, reference";
/// The same for paid top-ups, counting only postings of the top-up's own account.
const PAID_TOP_UPS: &str = "SELECT id, transaction_id, amount_fen, received, credited FROM (\
     SELECT u.id, u.transaction_id, u.amount_fen, \
     CAST(COALESCE(SUM(CASE WHEN p.ledger_account = 'payment_clearing' THEN -p.amount_fen ELSE 0 END), 0) AS BIGINT) AS received, \
     CAST(COALESCE(SUM(CASE WHEN p.ledger_account IN ('customer_cash', 'arrears_receivable') THEN p.amount_fen ELSE 0 END), 0) AS BIGINT) AS credited \
     FROM top_ups u LEFT JOIN postings p ON p.transaction_id = u.transaction_id AND p.account_id = u.account_id \
     WHERE u.status = 'paid' GROUP BY u.id, u.transaction_id, u.amount_fen) x \
     WHERE received <> amount_fen OR credited <> amount_fen ORDER BY id";
const BILLS: &str = "SELECT b.id, b.total_fen, \
     CAST(COALESCE((SELECT SUM(l.amount_fen) FROM bill_lines l WHERE l.bill_id = b.id), 0) AS BIGINT) AS lines_total, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.transaction_id = b.transaction_id \
        AND p.ledger_account = 'revenue'), 0) AS BIGINT) AS revenue \
     FROM bills b ORDER BY b.id";
/// A month's daily bills are the bills of its account and workspace dated in that month
/// (`bill_date` is `YYYY-MM-DD`, `month` is `YYYY-MM`).
/// Daily bills of a closed month whose workspace has no monthly bill for it.
const MISSING_MONTHLY_BILLS: &str = "SELECT b.account_id, b.workspace_id, c.month, COUNT(*) AS bills_found \
     FROM bills b JOIN month_closings c ON substr(b.bill_date, 1, 7) = c.month \
     WHERE NOT EXISTS (SELECT 1 FROM monthly_bills m WHERE m.account_id = b.account_id \
     AND m.workspace_id = b.workspace_id AND m.month = c.month) \
     GROUP BY b.account_id, b.workspace_id, c.month ORDER BY c.month, b.workspace_id";

const MONTHLY_BILLS: &str = "SELECT id, account_id, workspace_id, month, daily_bills, total_fen, bills_found, bills_total FROM (\
     SELECT m.id, m.account_id, m.workspace_id, m.month, m.daily_bills, m.total_fen, \
     COUNT(b.id) AS bills_found, CAST(COALESCE(SUM(b.total_fen), 0) AS BIGINT) AS bills_total \
     FROM monthly_bills m LEFT JOIN bills b ON b.account_id = m.account_id AND b.workspace_id = m.workspace_id \
        AND b.bill_date >= (m.month || '-01') AND b.bill_date <= (m.month || '-31') \
     GROUP BY m.id, m.account_id, m.workspace_id, m.month, m.daily_bills, m.total_fen) x \
     WHERE bills_found <> daily_bills OR bills_total <> total_fen ORDER BY id";

/// Transactions whose stored changes and balances after disagree with their postings.
fn running_balances_query() -> String {
    let stored: Vec<String> = CustomerBalance::WALLET
        .iter()
        .map(|b| format!("b.{0}_change_fen, b.{0}_after_fen", b.column()))
        .collect();
    let changes: Vec<String> = CustomerBalance::WALLET
        .iter()
        .map(|b| format!("{} AS {}_change", b.sql_sum(false), b.column()))
        .collect();
    let running: Vec<String> = CustomerBalance::WALLET
        .iter()
        .map(|b| {
            let column = b.column();
            format!(
                "{column}_change_fen, {column}_after_fen, {column}_change, \
                 CAST(SUM({column}_change) OVER (PARTITION BY account_id ORDER BY id) AS BIGINT) AS {column}_after"
            )
        })
        .collect();
    let differs: Vec<String> = CustomerBalance::WALLET
        .iter()
        .map(|b| {
            let column = b.column();
            format!(
                "{column}_change_fen IS NULL OR {column}_change <> {column}_change_fen \
                 OR {column}_after <> {column}_after_fen"
            )
        })
        .collect();
    format!(
        "SELECT * FROM (SELECT id, account_id, {running} FROM (\
         SELECT t.id, t.account_id, {stored}, {changes} FROM ledger_transactions t \
         LEFT JOIN transaction_balances b ON b.transaction_id = t.id LEFT JOIN postings p ON p.transaction_id = t.id LEFT JOIN instruments i ON i.id = p.instrument_id \
         GROUP BY t.id, t.account_id, {stored}) per_transaction) running \
         WHERE {differs} ORDER BY id",
        running = running.join(", "),
        stored = stored.join(", "),
        changes = changes.join(", "),
        differs = differs.join(" OR "),
    )
}

impl Store {
    pub async fn check_ledger(&self) -> Result<LedgerReport, LedgerError> {
        let mut tx = self.begin_read().await?;
        let mut discrepancies = Vec::new();
        for row in sqlx::query(UNBALANCED).fetch_all(&mut *tx).await? {
            discrepancies.push(Discrepancy::UnbalancedTransaction {
                transaction_id: row.try_get("transaction_id")?,
                sum_fen: row.try_get("total")?,
            });
        }
        for row in sqlx::query(EMPTY_TRANSACTIONS).fetch_all(&mut *tx).await? {
            discrepancies.push(Discrepancy::EmptyTransaction {
                transaction_id: row.try_get("id")?,
                transaction_kind: row.try_get("kind")?,
            });
        }
        for row in sqlx::query(FOREIGN_POSTINGS).fetch_all(&mut *tx).await? {
            let posting_id: i64 = row.try_get("id")?;
            let transaction_id: i64 = row.try_get("transaction_id")?;
            let transaction_account_id: i64 = row.try_get("transaction_account")?;
            let posting_account_id: i64 = row.try_get("posting_account")?;
            if posting_account_id != transaction_account_id {
                discrepancies.push(Discrepancy::PostingOfAnotherAccount {
                    posting_id,
                    transaction_id,
                    transaction_account_id,
                    posting_account_id,
                });
            }
            let instrument: (Option<i64>, Option<i64>) = (
                row.try_get("instrument_id")?,
                row.try_get("instrument_account")?,
            );
            if let (Some(instrument_id), Some(instrument_account_id)) = instrument
                && instrument_account_id != transaction_account_id
            {
                discrepancies.push(Discrepancy::InstrumentOfAnotherAccount {
                    posting_id,
                    transaction_id,
                    transaction_account_id,
                    instrument_id,
                    instrument_account_id,
                });
            }
        }
        for row in sqlx::query(&running_balances_query())
            .fetch_all(&mut *tx)
            .await?
        {
            for balance in CustomerBalance::WALLET {
                let (name, column) = (balance.name(), balance.column());
                let stored_change_fen: Option<i64> =
                    row.try_get(format!("{column}_change_fen").as_str())?;
                let change_fen: i64 = row.try_get(format!("{column}_change").as_str())?;
                let stored_after_fen: Option<i64> =
                    row.try_get(format!("{column}_after_fen").as_str())?;
                let after_fen: i64 = row.try_get(format!("{column}_after").as_str())?;
                if stored_change_fen != Some(change_fen) || stored_after_fen != Some(after_fen) {
                    discrepancies.push(Discrepancy::RunningBalance {
                        transaction_id: row.try_get("id")?,
                        account_id: row.try_get("account_id")?,
                        balance: name.to_owned(),
                        stored_change_fen,
                        change_fen,
                        stored_after_fen,
                        after_fen,
                    });
                }
            }
        }
        let accounts = sqlx::query(ACCOUNTS).fetch_all(&mut *tx).await?;
        for row in &accounts {
            let account_id: i64 = row.try_get("id")?;
            let (cash, cash_postings): (i64, i64) =
                (row.try_get("cash_fen")?, row.try_get("cash_postings")?);
            if cash != cash_postings {
                discrepancies.push(Discrepancy::Cash {
                    account_id,
                    stored_fen: cash,
                    from_postings_fen: cash_postings,
                });
            }
            // Arrears receivable is an asset: it grows with negative (debit) postings.
            let (arrears, arrears_postings): (i64, i64) = (
                row.try_get("arrears_fen")?,
                row.try_get("arrears_postings")?,
            );
            if arrears != -arrears_postings {
                discrepancies.push(Discrepancy::Arrears {
                    account_id,
                    stored_fen: arrears,
                    from_postings_fen: -arrears_postings,
                });
            }
        }
        let instruments = sqlx::query(INSTRUMENTS).fetch_all(&mut *tx).await?;
        for row in &instruments {
            let (stored, from_postings): (i64, i64) =
                (row.try_get("balance_fen")?, row.try_get("from_postings")?);
            let instrument_id: i64 = row.try_get("id")?;
            if stored != from_postings {
                discrepancies.push(Discrepancy::Instrument {
                    instrument_id,
                    stored_fen: stored,
                    from_postings_fen: from_postings,
                });
            }
            let expired = row.try_get::<Option<i64>, _>("expired_at")?.is_some();
            if expired && (stored != 0 || from_postings != 0) {
                discrepancies.push(Discrepancy::ExpiredInstrumentBalance {
                    instrument_id,
                    stored_fen: stored,
                    from_postings_fen: from_postings,
                });
            }
        }
        for row in sqlx::query(RECEIPTS).fetch_all(&mut *tx).await? {
            discrepancies.push(Discrepancy::CashReceipt {
                source: row.try_get("source")?,
                reference: row.try_get("reference")?,
                transaction_id: row.try_get("transaction_id")?,
                received_fen: row.try_get("received")?,
                credited_fen: row.try_get("credited")?,
            });
        }
        for row in sqlx::query(PAID_TOP_UPS).fetch_all(&mut *tx).await? {
            discrepancies.push(Discrepancy::TopUp {
                top_up_id: row.try_get("id")?,
                transaction_id: row.try_get("transaction_id")?,
                amount_fen: row.try_get("amount_fen")?,
                received_fen: row.try_get("received")?,
                credited_fen: row.try_get("credited")?,
            });
        }
        let bills = sqlx::query(BILLS).fetch_all(&mut *tx).await?;
        for row in &bills {
            let bill_id: i64 = row.try_get("id")?;
            let total: i64 = row.try_get("total_fen")?;
            let (lines, revenue): (i64, i64) =
                (row.try_get("lines_total")?, row.try_get("revenue")?);
            if lines != total {
                discrepancies.push(Discrepancy::BillLines {
                    bill_id,
                    total_fen: total,
                    lines_fen: lines,
                });
            }
            if revenue != total {
                discrepancies.push(Discrepancy::BillRevenue {
                    bill_id,
                    total_fen: total,
                    revenue_fen: revenue,
                });
            }
        }
        for row in sqlx::query(MONTHLY_BILLS).fetch_all(&mut *tx).await? {
            discrepancies.push(Discrepancy::MonthlyBill {
                monthly_bill_id: row.try_get("id")?,
                account_id: row.try_get("account_id")?,
                workspace_id: row.try_get("workspace_id")?,
                month: row.try_get("month")?,
                daily_bills: row.try_get("daily_bills")?,
                total_fen: row.try_get("total_fen")?,
                bills_found: row.try_get("bills_found")?,
                bills_total_fen: row.try_get("bills_total")?,
            });
        }
        for row in sqlx::query(MISSING_MONTHLY_BILLS)
            .fetch_all(&mut *tx)
            .await?
        {
            discrepancies.push(Discrepancy::MissingMonthlyBill {
                account_id: row.try_get("account_id")?,
                workspace_id: row.try_get("workspace_id")?,
                month: row.try_get("month")?,
                bills_found: row.try_get("bills_found")?,
            });
        }
        let transactions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_transactions")
            .fetch_one(&mut *tx)
            .await?;
        let postings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM postings")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(LedgerReport {
            transactions,
            postings,
            accounts: accounts.len() as i64,
            instruments: instruments.len() as i64,
            bills: bills.len() as i64,
            discrepancies,
        })
    }
}
