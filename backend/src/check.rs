//! `billing-center ledger check`: recomputes every balance from the postings and reports each
//! difference. The stored balances are a cache of the ledger; this proves the cache is right.

use std::fmt;

use serde::Serialize;
use sqlx::Row;

use crate::error::LedgerError;
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
const ACCOUNTS: &str = "SELECT a.id, a.cash_fen, a.arrears_fen, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.account_id = a.id AND p.ledger_account = 'customer_cash'), 0) AS BIGINT) AS cash_postings, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.account_id = a.id AND p.ledger_account = 'arrears_receivable'), 0) AS BIGINT) AS arrears_postings \
     FROM billing_accounts a ORDER BY a.id";
const INSTRUMENTS: &str = "SELECT i.id, i.balance_fen, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.instrument_id = i.id), 0) AS BIGINT) AS from_postings \
     FROM instruments i ORDER BY i.id";
const BILLS: &str = "SELECT b.id, b.total_fen, \
     CAST(COALESCE((SELECT SUM(l.amount_fen) FROM bill_lines l WHERE l.bill_id = b.id), 0) AS BIGINT) AS lines_total, \
     CAST(COALESCE((SELECT SUM(p.amount_fen) FROM postings p WHERE p.transaction_id = b.transaction_id \
        AND p.ledger_account = 'revenue'), 0) AS BIGINT) AS revenue \
     FROM bills b ORDER BY b.id";

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
            if stored != from_postings {
                discrepancies.push(Discrepancy::Instrument {
                    instrument_id: row.try_get("id")?,
                    stored_fen: stored,
                    from_postings_fen: from_postings,
                });
            }
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
