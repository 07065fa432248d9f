//! Statements (PRODUCT.md §4): monthly bills, consumption details and income and expenditure, read
//! from bills and postings so that they always agree with the ledger. Periods are days in the
//! settlement timezone, both ends included.

use billing::Amount;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::accounts::fen;
use crate::error::LedgerError;
use crate::ledger::CustomerBalance;
use crate::store::Store;
use crate::time::{from_micros, to_micros};

/// The largest page any statement returns.
pub const MAX_PAGE_SIZE: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// From 1.
    pub number: i64,
    pub size: i64,
}

impl Page {
    fn offset(self) -> i64 {
        (self.number.max(1) - 1) * self.size
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// What paid an amount, by kind of source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidBy {
    pub vouchers: Amount,
    pub prepaid_cards: Amount,
    pub cash: Amount,
    pub arrears: Amount,
    pub cloud: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlyBill {
    pub month: String,
    pub workspace_id: String,
    pub daily_bills: i64,
    pub total: Amount,
    pub paid_by: PaidBy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumptionLine {
    pub day: NaiveDate,
    pub workspace_id: String,
    pub item: String,
    pub retention_days: Option<i64>,
    pub quantity: Option<String>,
    pub units: Option<String>,
    pub unit_price: Option<String>,
    pub amount: Amount,
    pub paid_by: PaidBy,
    pub charged_at: DateTime<Utc>,
}

/// One ledger transaction as the customer sees it, with the balances after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub transaction_id: i64,
    pub at: DateTime<Utc>,
    pub kind: billing::wire::MovementKind,
    pub memo: String,
    /// Signed changes in fen; arrears grow positive when the customer owes more.
    pub cash_change_fen: i64,
    pub arrears_change_fen: i64,
    pub vouchers_change_fen: i64,
    pub prepaid_cards_change_fen: i64,
    pub cash_after: Amount,
    pub arrears_after: Amount,
    pub vouchers_after: Amount,
    pub prepaid_cards_after: Amount,
}

/// The columns [`transaction_from_row`] reads.
/// The columns [`transaction_from_row`] reads, from `ledger_transactions t` joined to its
/// `transaction_balances b`.
pub(crate) const TRANSACTION_COLUMNS: &str = "t.id, t.kind, t.memo, t.created_at, b.cash_change_fen, \
     b.arrears_change_fen, b.vouchers_change_fen, b.cards_change_fen, b.cash_after_fen, b.arrears_after_fen, \
     b.vouchers_after_fen, b.cards_after_fen";
pub(crate) const TRANSACTIONS_WITH_BALANCES: &str =
    "ledger_transactions t JOIN transaction_balances b ON b.transaction_id = t.id";

pub(crate) fn transaction_from_row(r: &sqlx::any::AnyRow) -> Result<Transaction, LedgerError> {
    Ok(Transaction {
        transaction_id: r.try_get("id")?,
        at: from_micros(r.try_get("created_at")?),
        kind: crate::ledger::transaction_kind(&r.try_get::<String, _>("kind")?)?,
        memo: r.try_get("memo")?,
        cash_change_fen: r.try_get("cash_change_fen")?,
        arrears_change_fen: r.try_get("arrears_change_fen")?,
        vouchers_change_fen: r.try_get("vouchers_change_fen")?,
        prepaid_cards_change_fen: r.try_get("cards_change_fen")?,
        cash_after: fen(r.try_get("cash_after_fen")?)?,
        arrears_after: fen(r.try_get("arrears_after_fen")?)?,
        vouchers_after: fen(r.try_get("vouchers_after_fen")?)?,
        prepaid_cards_after: fen(r.try_get("cards_after_fen")?)?,
    })
}

fn paid_by(
    vouchers: i64,
    cards: i64,
    cash: i64,
    arrears: i64,
    cloud: i64,
) -> Result<PaidBy, LedgerError> {
    Ok(PaidBy {
        vouchers: fen(vouchers)?,
        prepaid_cards: fen(cards)?,
        cash: fen(cash)?,
        arrears: fen(arrears)?,
        cloud: fen(cloud)?,
    })
}

impl Store {
    /// The first instant of `day` in the settlement timezone.
    pub(crate) fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        let tz = self.settlement_timezone();
        tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
    }

    /// The account's monthly bills, newest month first; of one month when given (`YYYY-MM`).
    pub async fn monthly_bills(
        &self,
        account_id: i64,
        month: Option<&str>,
    ) -> Result<Vec<MonthlyBill>, LedgerError> {
        let rows = sqlx::query(
            "SELECT * FROM monthly_bills WHERE account_id = $1 AND ($2 = '' OR month = $2) \
             ORDER BY month DESC, workspace_id",
        )
        .bind(account_id)
        .bind(month.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MonthlyBill {
                    month: r.try_get("month")?,
                    workspace_id: r.try_get("workspace_id")?,
                    daily_bills: r.try_get("daily_bills")?,
                    total: fen(r.try_get("total_fen")?)?,
                    paid_by: paid_by(
                        r.try_get("voucher_fen")?,
                        r.try_get("card_fen")?,
                        r.try_get("cash_fen")?,
                        r.try_get("arrears_fen")?,
                        r.try_get("cloud_fen")?,
                    )?,
                })
            })
            .collect()
    }

    /// Consumption details: one line per bill line, oldest day first, with what paid it.
    pub async fn consumption(
        &self,
        account_id: i64,
        period: Period,
        workspace_id: Option<&str>,
        page: Page,
    ) -> Result<Paged<ConsumptionLine>, LedgerError> {
        // Bills in (day, workspace) order, their lines counted on the bill: the total reads one
        // index, and a page needs no more bills than the lines it skips and shows (a bill with
        // lines has at least one).
        let bills = "FROM bills b WHERE b.account_id = $1 AND b.bill_date >= $2 AND b.bill_date <= $3 \
             AND ($4 = '' OR b.workspace_id = $4)";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT CAST(COALESCE(SUM(b.line_count), 0) AS BIGINT) {bills}"
        ))
        .bind(account_id)
        .bind(period.from.to_string())
        .bind(period.to.to_string())
        .bind(workspace_id.unwrap_or(""))
        .fetch_one(self.pool())
        .await?;
        // The page's lines, then what paid each of them (its postings, by customer balance) in a
        // query of its own: a list of line ids keeps that a lookup per line on every planner.
        let rows = sqlx::query(&format!(
            "SELECT l.id, b.bill_date, b.workspace_id, b.charged_at, l.item, l.retention_days, l.quantity, \
             l.units, l.unit_price, l.amount_fen \
             FROM (SELECT b.id, b.bill_date, b.workspace_id, b.charged_at {bills} AND b.line_count > 0 \
             ORDER BY b.bill_date, b.workspace_id LIMIT $5) b JOIN bill_lines l ON l.bill_id = b.id \
             ORDER BY b.bill_date, b.workspace_id, l.line_no LIMIT $6 OFFSET $7"
        ))
        .bind(account_id)
        .bind(period.from.to_string())
        .bind(period.to.to_string())
        .bind(workspace_id.unwrap_or(""))
        .bind(page.offset().saturating_add(page.size))
        .bind(page.size)
        .bind(page.offset())
        .fetch_all(self.pool())
        .await?;
        let line_ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let mut paid: std::collections::HashMap<i64, PaidBy> =
            std::collections::HashMap::with_capacity(line_ids.len());
        if !line_ids.is_empty() {
            let sql = crate::sql::Placeholders::for_backend(self.backend());
            let statement = format!(
                "SELECT p.bill_line_id, {vouchers} AS voucher_fen, {cards} AS card_fen, {cash} AS cash_fen, \
                 {arrears} AS arrears_fen, {cloud} AS cloud_fen FROM postings p \
                 LEFT JOIN instruments i ON i.id = p.instrument_id \
                 WHERE p.bill_line_id IN ({}) GROUP BY p.bill_line_id",
                sql.list(line_ids.len(), 1),
                vouchers = CustomerBalance::Vouchers.sql_sum(true),
                cards = CustomerBalance::PrepaidCards.sql_sum(true),
                cash = CustomerBalance::Cash.sql_sum(true),
                arrears = CustomerBalance::Arrears.sql_sum(true),
                cloud = CustomerBalance::Cloud.sql_sum(true),
            );
            let mut query = sqlx::query(&statement);
            for id in &line_ids {
                query = query.bind(*id);
            }
            for r in query.fetch_all(self.pool()).await? {
                paid.insert(
                    r.try_get("bill_line_id")?,
                    paid_by(
                        r.try_get("voucher_fen")?,
                        r.try_get("card_fen")?,
                        r.try_get("cash_fen")?,
                        r.try_get("arrears_fen")?,
                        r.try_get("cloud_fen")?,
                    )?,
                );
            }
        }
        let items = rows
            .iter()
            .map(|r| {
                let day: String = r.try_get("bill_date")?;
                let id: i64 = r.try_get("id")?;
                Ok(ConsumptionLine {
                    day: day
                        .parse()
                        .map_err(|_| LedgerError::Corrupt(format!("bill date '{day}'")))?,
                    workspace_id: r.try_get("workspace_id")?,
                    item: r.try_get("item")?,
                    retention_days: r.try_get("retention_days")?,
                    quantity: r.try_get("quantity")?,
                    units: r.try_get("units")?,
                    unit_price: r.try_get("unit_price")?,
                    amount: fen(r.try_get("amount_fen")?)?,
                    paid_by: paid.remove(&id).unwrap_or_default(),
                    charged_at: from_micros(r.try_get("charged_at")?),
                })
            })
            .collect::<Result<_, LedgerError>>()?;
        Ok(Paged {
            items,
            page: page.number,
            per_page: page.size,
            total,
        })
    }

    /// Income and expenditure: every ledger transaction of the account in the period, newest
    /// first, with the cash, arrears, voucher and card balances right after it (stored with each
    /// transaction, so a page reads its own rows whatever the history).
    pub async fn transactions(
        &self,
        account_id: i64,
        period: Period,
        page: Page,
    ) -> Result<Paged<Transaction>, LedgerError> {
        let from = to_micros(self.start_of(period.from));
        let until = to_micros(self.start_of(period.to.succ_opt().unwrap_or(period.to)));
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ledger_transactions \
             WHERE account_id = $1 AND created_at >= $2 AND created_at < $3",
        )
        .bind(account_id)
        .bind(from)
        .bind(until)
        .fetch_one(self.pool())
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {TRANSACTION_COLUMNS} FROM {TRANSACTIONS_WITH_BALANCES} \
             WHERE t.account_id = $1 AND t.created_at >= $2 AND t.created_at < $3 \
             ORDER BY t.created_at DESC, t.id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(account_id)
        .bind(from)
        .bind(until)
        .bind(page.size)
        .bind(page.offset())
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .iter()
            .map(transaction_from_row)
            .collect::<Result<_, LedgerError>>()?;
        Ok(Paged {
            items,
            page: page.number,
            per_page: page.size,
            total,
        })
    }
}
