//! Charging a workspace's daily bill: the `billing` waterfall decides what pays for each line, and
//! every amount taken becomes a posting naming the bill line and the instrument.

use std::collections::HashMap;

use billing::{Amount, BillingItem, Charge, PaymentSource, PlanLine, Settlement, Totals, plan};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::accounts::{self, AccountSnapshot, fen};
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::store::{Store, retry_after_conflict};
use crate::time::to_micros;

/// The rules of a bill's charges are `billing::wallet_rules::check_bill_charges`.
pub use billing::wallet_rules::MAX_CHARGES_PER_BILL;
/// One day of one billing item beyond this is a metering fault, not usage
/// (`billing::pricing::MAX_LINE_YUAN`, which usage ingest checks too).
pub const MAX_CHARGE_YUAN: i64 = billing::pricing::MAX_LINE_YUAN;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillCharge {
    pub account_id: i64,
    pub workspace_id: String,
    pub day: NaiveDate,
    pub settlement: Settlement,
    pub charges: Vec<Charge>,
    /// What each charge priced, in charge order, when the bill comes from reported usage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<LineUsage>,
}

/// The usage behind a bill line: the day's quantity of one item and retention, and its price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineUsage {
    pub retention_days: Option<u32>,
    pub quantity: rust_decimal::Decimal,
    pub units: rust_decimal::Decimal,
    pub unit_price: rust_decimal::Decimal,
    pub price_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePayment {
    /// An instrument number (`RV…`, `DV…`, `PC…`), or `cash`, `arrears`, `cloud`.
    pub source: String,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedLine {
    pub line_no: u32,
    pub item: BillingItem,
    pub amount: Amount,
    pub paid: Vec<LinePayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillCharged {
    pub bill_id: i64,
    pub transaction_id: i64,
    pub account_id: i64,
    pub workspace_id: String,
    pub day: NaiveDate,
    pub settlement: Settlement,
    /// The moment the waterfall ran; instruments usable at this moment took part.
    pub charged_at: DateTime<Utc>,
    pub lines: Vec<ChargedLine>,
    pub totals: Totals,
    pub cash_after: Amount,
    pub arrears_after: Amount,
}

const OPERATION: &str = "charge_bill";

pub(crate) fn check_workspace_id(id: &str) -> Result<(), LedgerError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(LedgerError::InvalidWorkspaceId(id.to_owned()))
    }
}

fn settlement_code(settlement: Settlement) -> &'static str {
    match settlement {
        Settlement::Account => "account",
        Settlement::Cloud => "cloud",
    }
}

/// Inserts the lines (numbered from 1) in one statement and returns their ids in line order.
async fn insert_lines(
    tx: &mut Transaction<'static, Any>,
    bill_id: i64,
    lines: &[PlanLine],
    usage: &[LineUsage],
) -> Result<Vec<i64>, LedgerError> {
    const COLUMNS: usize = 8;
    let mut sql = String::from(
        "INSERT INTO bill_lines (bill_id, line_no, item, amount_fen, retention_days, quantity, units, unit_price, price_version) VALUES ",
    );
    for i in 0..lines.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        let params: Vec<String> = (0..COLUMNS)
            .map(|c| format!("${}", i * COLUMNS + c + 2))
            .collect();
        sql.push_str(&format!("($1, {})", params.join(", ")));
    }
    let mut query = sqlx::query(&sql).bind(bill_id);
    for (index, line) in lines.iter().enumerate() {
        let priced = usage.get(index);
        query = query
            .bind(index as i64 + 1)
            .bind(line.item.code())
            .bind(line.amount.fen())
            .bind(priced.and_then(|u| u.retention_days).map(i64::from))
            .bind(priced.map(|u| u.quantity.to_string()))
            .bind(priced.map(|u| u.units.to_string()))
            .bind(priced.map(|u| u.unit_price.to_string()))
            .bind(priced.map(|u| u.price_version.clone()));
    }
    query.execute(&mut **tx).await?;
    // RETURNING's row order is not promised by SQL; ask by line number instead.
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM bill_lines WHERE bill_id = $1 ORDER BY line_no")
            .bind(bill_id)
            .fetch_all(&mut **tx)
            .await?;
    if ids.len() != lines.len() {
        return Err(LedgerError::Corrupt(format!(
            "bill {bill_id}: {} lines stored, {} planned",
            ids.len(),
            lines.len()
        )));
    }
    Ok(ids)
}

impl Store {
    /// Charges one workspace-day. Charging the same bill again (same workspace, day and charges)
    /// returns the first result and changes nothing, whatever the idempotency key.
    pub async fn charge_bill(
        &self,
        key: &IdempotencyKey,
        request: &BillCharge,
    ) -> Result<BillCharged, LedgerError> {
        retry_after_conflict(|| self.charge_bill_once(key, request)).await
    }

    async fn charge_bill_once(
        &self,
        key: &IdempotencyKey,
        request: &BillCharge,
    ) -> Result<BillCharged, LedgerError> {
        check_workspace_id(&request.workspace_id)?;
        if !request.usage.is_empty() && request.usage.len() != request.charges.len() {
            return Err(LedgerError::Corrupt(format!(
                "a bill with {} charges came with usage for {}",
                request.charges.len(),
                request.usage.len()
            )));
        }
        let amounts: Vec<Amount> = request.charges.iter().map(|c| c.amount).collect();
        billing::wallet_rules::check_bill_charges(&amounts).map_err(|e| match e {
            billing::wallet_rules::BillChargesError::Count { got, max } => {
                LedgerError::InvalidChargeCount { got, max }
            }
            billing::wallet_rules::BillChargesError::TooLarge { line, asked, max } => {
                LedgerError::ChargeTooLarge { line, asked, max }
            }
        })?;
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let existing = sqlx::query("SELECT id, account_id, idempotency_key FROM bills WHERE workspace_id = $1 AND bill_date = $2")
            .bind(&request.workspace_id)
            .bind(request.day.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(existing) = existing {
            let bill_id: i64 = existing.try_get("id")?;
            let owner: i64 = existing.try_get("account_id")?;
            if owner != request.account_id {
                return Err(LedgerError::BillOfAnotherAccount {
                    workspace_id: request.workspace_id.clone(),
                    day: request.day,
                    owner,
                    asked: request.account_id,
                });
            }
            let first_key = IdempotencyKey::new(existing.try_get::<String, _>("idempotency_key")?)?;
            return match idempotency::replay(&mut tx, &first_key, OPERATION, request).await {
                Ok(Some(done)) => Ok(done),
                Ok(None) => Err(LedgerError::Corrupt(format!(
                    "bill {bill_id} has no stored result"
                ))),
                Err(LedgerError::IdempotencyKeyReused { .. }) => Err(LedgerError::BillConflict {
                    workspace_id: request.workspace_id.clone(),
                    day: request.day,
                    bill_id,
                }),
                Err(e) => Err(e),
            };
        }

        let charged_at = self.now();
        let now = to_micros(charged_at);
        let instruments = accounts::load_instruments(&mut tx, account.id).await?;
        let id_of: HashMap<String, i64> = instruments
            .iter()
            .map(|i| (i.number.clone(), i.id))
            .collect();
        let before = AccountSnapshot {
            id: account.id,
            name: String::new(),
            cash: fen(account.cash_fen)?,
            arrears: fen(account.arrears_fen)?,
            instruments,
        };
        let wallet = before.wallet()?;
        let plan = plan(request.settlement, charged_at, &wallet, &request.charges);

        let transaction_id = ledger::open_transaction(
            &mut tx,
            account.id,
            TransactionKind::BillCharge,
            &format!("{}:{}", request.workspace_id, request.day),
            now,
        )
        .await?;
        let bill_id: i64 = sqlx::query_scalar(
            "INSERT INTO bills (account_id, workspace_id, bill_date, settlement, charged_at, total_fen, transaction_id, \
             idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(account.id)
        .bind(&request.workspace_id)
        .bind(request.day.to_string())
        .bind(settlement_code(request.settlement))
        .bind(now)
        .bind(plan.totals.total().fen())
        .bind(transaction_id)
        .bind(key.as_str())
        .fetch_one(&mut *tx)
        .await?;

        let line_ids = insert_lines(&mut tx, bill_id, &plan.lines, &request.usage).await?;
        let mut postings = Vec::new();
        let mut lines = Vec::with_capacity(plan.lines.len());
        for ((line_no, line), line_id) in (1u32..).zip(&plan.lines).zip(line_ids) {
            postings
                .push(Posting::new(LedgerAccount::Revenue, line.amount.fen()).for_line(line_id));
            for payment in &line.paid {
                let taken = -payment.amount.fen();
                let posting = match &payment.source {
                    PaymentSource::Instrument { id, .. } => {
                        let instrument_id = *id_of.get(id).ok_or_else(|| {
                            LedgerError::Corrupt(format!("the plan used unknown instrument {id}"))
                        })?;
                        Posting::instrument(instrument_id, taken)
                    }
                    PaymentSource::Cash => Posting::new(LedgerAccount::CustomerCash, taken),
                    PaymentSource::Arrears => Posting::new(LedgerAccount::ArrearsReceivable, taken),
                    PaymentSource::Cloud => Posting::new(LedgerAccount::CloudReceivable, taken),
                };
                postings.push(posting.for_line(line_id));
            }
            lines.push(ChargedLine {
                line_no,
                item: line.item,
                amount: line.amount,
                paid: line
                    .paid
                    .iter()
                    .map(|p| LinePayment {
                        source: p.source.name().to_owned(),
                        amount: p.amount,
                    })
                    .collect(),
            });
        }
        ledger::post(&mut tx, transaction_id, account.id, &postings).await?;

        for (old, new) in wallet
            .instruments()
            .iter()
            .zip(plan.wallet_after.instruments())
        {
            if old.balance != new.balance {
                accounts::set_instrument_balance(&mut tx, id_of[&new.id], new.balance.fen())
                    .await?;
            }
        }
        let after = &plan.wallet_after;
        accounts::set_balances(
            &mut tx,
            account.id,
            after.cash().fen(),
            after.arrears().fen(),
        )
        .await?;

        let done = BillCharged {
            bill_id,
            transaction_id,
            account_id: account.id,
            workspace_id: request.workspace_id.clone(),
            day: request.day,
            settlement: request.settlement,
            charged_at,
            lines,
            totals: plan.totals,
            cash_after: after.cash(),
            arrears_after: after.arrears(),
        };
        idempotency::remember(&mut tx, key, OPERATION, request, &done, now).await?;
        tx.commit().await?;
        Ok(done)
    }
}
