//! Charging a workspace's daily bill: the `billing` waterfall decides what pays for each line, and
//! every amount taken becomes a posting naming the bill line and the instrument.

use std::collections::HashMap;

use billing::{
    Amount, BillingItem, Charge, PaymentSource, PlanLine, Settlement, Totals, Wallet, plan,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::accounts::{self, AccountSnapshot, fen};
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::sql::Placeholders;
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
    /// The cloud subscription a cloud-settled bill is charged to (what its metering record
    /// names); `None` for a bill paid through the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_subscription: Option<i64>,
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

/// One account of a batch as the waterfall leaves it after each of its bills.
struct AccountState {
    id: i64,
    before: Wallet,
    wallet: Wallet,
    id_of: HashMap<String, i64>,
}

/// A bill of the batch that will be written: its request, its key and the waterfall's plan.
struct Planned<'a> {
    index: usize,
    key: &'a IdempotencyKey,
    request: &'a BillCharge,
    plan: billing::DeductionPlan,
}

impl Store {
    /// Charges one workspace-day. Charging the same bill again (same workspace, day and charges)
    /// returns the first result and changes nothing, whatever the idempotency key.
    pub async fn charge_bill(
        &self,
        key: &IdempotencyKey,
        request: &BillCharge,
    ) -> Result<BillCharged, LedgerError> {
        let bills = [(key.clone(), request.clone())];
        let mut results = self.charge_bills(&bills).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(LedgerError::Corrupt("a bill charged with no result".into())))
    }

    /// Charges many bills in one database transaction (group commit: the nightly settlement
    /// writes hundreds of bills per commit). Each bill keeps every guarantee of [`charge_bill`]:
    /// it is charged whole or not at all, once under its key and once per workspace-day, with its
    /// account locked (PostgreSQL: the batch's accounts in id order, so batches never deadlock);
    /// the bills of one account see each other's effect on the wallet, in the order given.
    ///
    /// A bill refused by a rule (a bad request, a bill of another account, a key reused for other
    /// charges) gets its error in the result and writes nothing; the others are charged. An error
    /// of the database fails the whole batch, nothing written: the caller retries bill by bill.
    pub async fn charge_bills(
        &self,
        bills: &[(IdempotencyKey, BillCharge)],
    ) -> Result<Vec<Result<BillCharged, LedgerError>>, LedgerError> {
        retry_after_conflict(|| self.charge_bills_once(bills)).await
    }

    async fn charge_bills_once(
        &self,
        bills: &[(IdempotencyKey, BillCharge)],
    ) -> Result<Vec<Result<BillCharged, LedgerError>>, LedgerError> {
        let mut results: Vec<Option<Result<BillCharged, LedgerError>>> = bills
            .iter()
            .map(|(_, request)| check_request(request).err().map(Err))
            .collect();
        // A batch names each bill and each key once; a second mention is refused, not guessed at.
        let mut seen_bills = std::collections::HashSet::new();
        let mut seen_keys = std::collections::HashSet::new();
        for (index, (key, request)) in bills.iter().enumerate() {
            let fresh_bill = seen_bills.insert((request.workspace_id.as_str(), request.day));
            let fresh_key = seen_keys.insert(key.as_str());
            if results[index].is_none() && !(fresh_bill && fresh_key) {
                results[index] = Some(Err(LedgerError::Corrupt(format!(
                    "bill {}:{} or key '{key}' appears twice in one batch",
                    request.workspace_id, request.day
                ))));
            }
        }
        let pending = |results: &[Option<Result<BillCharged, LedgerError>>]| -> Vec<usize> {
            (0..bills.len()).filter(|&i| results[i].is_none()).collect()
        };
        if pending(&results).is_empty() {
            return Ok(results.into_iter().flatten().collect());
        }

        let mut tx = self.begin_write().await?;
        let account_ids: std::collections::BTreeSet<i64> = pending(&results)
            .into_iter()
            .map(|i| bills[i].1.account_id)
            .collect();
        let locked = accounts::lock_many(self, &mut tx, &account_ids).await?;
        // A cloud bill was priced outside this transaction: its workspace must still settle
        // through that subscription, and the subscription must still be active, now that the
        // account is locked (switching and ending lock it too). Otherwise the run prices it again.
        let cloud_bills: Vec<usize> = pending(&results)
            .into_iter()
            .filter(|&i| bills[i].1.cloud_subscription.is_some())
            .collect();
        for index in cloud_bills {
            let request = &bills[index].1;
            let current: Option<(Option<i64>, Option<String>)> = sqlx::query_as(
                "SELECT w.cloud_subscription_id, s.status FROM workspaces w \
                 LEFT JOIN cloud_subscriptions s ON s.id = w.cloud_subscription_id \
                 WHERE w.workspace_id = $1 AND w.unbound_at IS NULL",
            )
            .bind(request.workspace_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let still = matches!(&current, Some((Some(id), Some(status)))
                if Some(*id) == request.cloud_subscription && status == "active");
            if !still {
                results[index] = Some(Err(LedgerError::SettlementChanged(
                    request.workspace_id.clone(),
                )));
            }
        }
        // The workspace may have moved to another account (change binding, which locks this
        // account too) after it was priced: a bill goes only to the account the workspace is
        // bound to now, so the run prices it again for the new one.
        let workspace_ids: Vec<&str> = pending(&results)
            .into_iter()
            .map(|i| bills[i].1.workspace_id.as_str())
            .collect();
        let bound_to = bound_accounts(&mut tx, &workspace_ids).await?;
        for index in pending(&results) {
            let request = &bills[index].1;
            if bound_to
                .get(request.workspace_id.as_str())
                .is_some_and(|owner| *owner != request.account_id)
            {
                results[index] = Some(Err(LedgerError::SettlementChanged(
                    request.workspace_id.clone(),
                )));
            }
        }
        for index in pending(&results) {
            if !locked.contains_key(&bills[index].1.account_id) {
                results[index] = Some(Err(LedgerError::AccountNotFound(bills[index].1.account_id)));
            }
        }

        // Replays: a key seen before answers what it answered then.
        let keys: Vec<&IdempotencyKey> =
            pending(&results).into_iter().map(|i| &bills[i].0).collect();
        let stored = idempotency::stored(&mut tx, &keys).await?;
        for index in pending(&results) {
            let (key, request) = &bills[index];
            if let Some(row) = stored.get(key.as_str()) {
                results[index] = Some(row.replay(key, OPERATION, request).and_then(|done| {
                    done.ok_or_else(|| LedgerError::Corrupt(format!("key '{key}' has no result")))
                }));
            }
        }

        // A workspace-day charged before under another key: the same charges replay its first
        // answer, other charges are a conflict.
        let existing = existing_bills(
            &mut tx,
            &pending(&results)
                .into_iter()
                .map(|i| &bills[i].1)
                .collect::<Vec<_>>(),
        )
        .await?;
        if !existing.is_empty() {
            let first_keys: Vec<IdempotencyKey> = existing
                .values()
                .map(|e| IdempotencyKey::new(e.key.clone()))
                .collect::<Result<_, _>>()?;
            let first_stored =
                idempotency::stored(&mut tx, &first_keys.iter().collect::<Vec<_>>()).await?;
            for index in pending(&results) {
                let request = &bills[index].1;
                let Some(found) = existing.get(&(request.workspace_id.clone(), request.day)) else {
                    continue;
                };
                results[index] = Some(if found.account_id != request.account_id {
                    Err(LedgerError::BillOfAnotherAccount {
                        workspace_id: request.workspace_id.clone(),
                        day: request.day,
                        owner: found.account_id,
                        asked: request.account_id,
                    })
                } else {
                    let first_key = IdempotencyKey::new(found.key.clone())?;
                    match first_stored
                        .get(found.key.as_str())
                        .map(|row| row.replay(&first_key, OPERATION, request))
                    {
                        Some(Ok(Some(done))) => Ok(done),
                        None | Some(Ok(None)) => Err(LedgerError::Corrupt(format!(
                            "bill {} has no stored result",
                            found.bill_id
                        ))),
                        Some(Err(LedgerError::IdempotencyKeyReused { .. })) => {
                            Err(LedgerError::BillConflict {
                                workspace_id: request.workspace_id.clone(),
                                day: request.day,
                                bill_id: found.bill_id,
                            })
                        }
                        Some(Err(e)) => Err(e),
                    }
                });
            }
        }

        let to_charge = pending(&results);
        if to_charge.is_empty() {
            tx.commit().await?;
            return Ok(results.into_iter().flatten().collect());
        }
        // The waterfall, bill after bill, on each account's wallet as the batch leaves it.
        let charged_at = self.now();
        let now = to_micros(charged_at);
        let charged_accounts: std::collections::BTreeSet<i64> =
            to_charge.iter().map(|&i| bills[i].1.account_id).collect();
        let mut instruments = accounts::load_instruments_of(&mut tx, &charged_accounts).await?;
        let mut states: HashMap<i64, AccountState> = HashMap::new();
        for &account_id in &charged_accounts {
            let account = &locked[&account_id];
            let held = instruments.remove(&account_id).unwrap_or_default();
            let id_of = held.iter().map(|i| (i.number.clone(), i.id)).collect();
            let wallet = AccountSnapshot {
                id: account.id,
                name: String::new(),
                cash: fen(account.cash_fen)?,
                arrears: fen(account.arrears_fen)?,
                instruments: held,
            }
            .wallet()?;
            states.insert(
                account_id,
                AccountState {
                    id: account_id,
                    before: wallet.clone(),
                    wallet,
                    id_of,
                },
            );
        }
        let mut planned = Vec::with_capacity(to_charge.len());
        for index in to_charge {
            let (key, request) = &bills[index];
            let state = states
                .get_mut(&request.account_id)
                .ok_or(LedgerError::AccountNotFound(request.account_id))?;
            let plan = plan(
                request.settlement,
                charged_at,
                &state.wallet,
                &request.charges,
            );
            state.wallet = plan.wallet_after.clone();
            planned.push(Planned {
                index,
                key,
                request,
                plan,
            });
        }

        let written = write_bills(self, &mut tx, &planned, &states, now, charged_at).await?;
        for (planned, done) in planned.iter().zip(written) {
            results[planned.index] = Some(Ok(done));
        }
        tx.commit().await?;
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(LedgerError::Corrupt(
                        "a bill of the batch was left unanswered".into(),
                    ))
                })
            })
            .collect())
    }
}

/// What cloud-settled bills charged to the cloud, as metering records for the marketplace (one
/// per bill, in the bill's transaction; pushed later by the metering worker).
async fn write_metering(
    tx: &mut Transaction<'static, Any>,
    rows: &[(i64, i64, &Planned<'_>)],
    now: i64,
) -> Result<(), LedgerError> {
    for (_, bill_id, p) in rows {
        let cloud = p.plan.totals.cloud;
        let Some(subscription) = p.request.cloud_subscription else {
            // Only a bill charged by hand (`charge_bill` with a cloud settlement and no
            // subscription) gets here: the nightly settlement always names the subscription.
            if !cloud.is_zero() {
                tracing::warn!(bill = bill_id, %cloud, "a cloud-settled bill without a subscription is not metered");
            }
            continue;
        };
        if cloud.is_zero() {
            continue;
        }
        sqlx::query(
            "INSERT INTO cloud_metering (subscription_id, bill_id, usage_day, amount_fen, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(subscription)
        .bind(*bill_id)
        .bind(p.request.day.to_string())
        .bind(cloud.fen())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The mail a batch of bills causes (low balance, arrears, high consumption), in its transaction.
async fn alert(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    planned: &[Planned<'_>],
    states: &HashMap<i64, AccountState>,
    written: &[BillCharged],
    charged_at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    use crate::mail::alerts::{AccountCharged, BillTotal, after_bills};
    let mut last_transaction: HashMap<i64, i64> = HashMap::new();
    for done in written {
        last_transaction.insert(done.account_id, done.transaction_id);
    }
    let accounts: Vec<AccountCharged> = states
        .values()
        .filter_map(|state| {
            Some(AccountCharged {
                account_id: state.id,
                before: &state.before,
                after: &state.wallet,
                last_transaction_id: *last_transaction.get(&state.id)?,
            })
        })
        .collect();
    let bills: Vec<BillTotal> = planned
        .iter()
        .map(|p| BillTotal {
            account_id: p.request.account_id,
            workspace_id: &p.request.workspace_id,
            day: p.request.day,
            total: p.plan.totals.total(),
        })
        .collect();
    after_bills(store, tx, &accounts, &bills, charged_at).await?;
    Ok(())
}

/// The rules a bill must meet before anything is read: a workspace id, usage matching its
/// charges, and `billing::wallet_rules::check_bill_charges`.
fn check_request(request: &BillCharge) -> Result<(), LedgerError> {
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
    })
}

struct ExistingBill {
    bill_id: i64,
    account_id: i64,
    key: String,
}

/// The bills already stored for these workspace-days.
/// The account each bound workspace of `workspace_ids` is bound to now.
async fn bound_accounts(
    tx: &mut Transaction<'static, Any>,
    workspace_ids: &[&str],
) -> Result<HashMap<String, i64>, LedgerError> {
    let mut found = HashMap::new();
    let sql = Placeholders::of(tx);
    for chunk in workspace_ids.chunks(sql.rows_per_statement(1)) {
        let statement = format!(
            "SELECT w.workspace_id, w.account_id FROM workspaces w \
             JOIN (VALUES {}) v ON w.workspace_id = v.column1 WHERE w.unbound_at IS NULL",
            sql.rows(chunk.len(), 1, 1)
        );
        let mut query = sqlx::query(&statement);
        for workspace_id in chunk {
            query = query.bind(*workspace_id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            found.insert(row.try_get("workspace_id")?, row.try_get("account_id")?);
        }
    }
    Ok(found)
}

async fn existing_bills(
    tx: &mut Transaction<'static, Any>,
    requests: &[&BillCharge],
) -> Result<HashMap<(String, NaiveDate), ExistingBill>, LedgerError> {
    let mut found = HashMap::new();
    let sql = Placeholders::of(tx);
    // One day at a time, the workspaces as a VALUES list joined to the bills: a plan that stays
    // a lookup per workspace however the table grew since its statistics (an IN list of
    // hundreds was a scan of every bill on PostgreSQL while the settlement filled the table).
    let mut by_day: std::collections::BTreeMap<NaiveDate, Vec<&str>> = Default::default();
    for request in requests {
        by_day
            .entry(request.day)
            .or_default()
            .push(request.workspace_id.as_str());
    }
    for (day, workspaces) in by_day {
        for chunk in workspaces.chunks(sql.rows_per_statement(1)) {
            let statement = format!(
                "SELECT b.id, b.account_id, b.idempotency_key, b.workspace_id FROM bills b \
                 JOIN (VALUES {}) w ON b.workspace_id = w.column1 WHERE b.bill_date = {}",
                sql.rows(chunk.len(), 1, 1),
                sql.nth(chunk.len() + 1)
            );
            let mut query = sqlx::query(&statement);
            for workspace_id in chunk {
                query = query.bind(*workspace_id);
            }
            query = query.bind(day.to_string());
            for row in query.fetch_all(&mut **tx).await? {
                found.insert(
                    (row.try_get("workspace_id")?, day),
                    ExistingBill {
                        bill_id: row.try_get("id")?,
                        account_id: row.try_get("account_id")?,
                        key: row.try_get("idempotency_key")?,
                    },
                );
            }
        }
    }
    Ok(found)
}

/// A bill line to write: its bill, its number in the bill, what was planned and what was priced.
type LineRow<'a> = (i64, i64, &'a PlanLine, Option<&'a LineUsage>);

/// Ids for `count` new rows of `table`, taken before the rows are written so that none has to be
/// read back (on SQLite every returned row crosses over from sqlx's worker thread). SQLite: this
/// transaction holds the database's write lock, so the ids after the largest are free;
/// PostgreSQL: from the table's identity sequence.
async fn reserve_ids(
    tx: &mut Transaction<'static, Any>,
    table: &'static str,
    count: usize,
) -> Result<Vec<i64>, LedgerError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let count = i64::try_from(count).map_err(|_| LedgerError::Corrupt("too many rows".into()))?;
    if tx.backend_name().eq_ignore_ascii_case("sqlite") {
        let largest: i64 = sqlx::query_scalar(&format!(
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table}"
        ))
        .fetch_one(&mut **tx)
        .await?;
        Ok((1..=count).map(|n| largest + n).collect())
    } else {
        Ok(sqlx::query_scalar(&format!(
            "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)"
        ))
        .bind(count)
        .fetch_all(&mut **tx)
        .await?)
    }
}

/// Writes the planned bills set-based: their ledger transactions, bills, lines and postings in
/// multi-row INSERTs, the instruments and accounts they changed in one UPDATE each, and every
/// bill's answer under its key. Returns each bill's answer, in the order planned.
async fn write_bills(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    planned: &[Planned<'_>],
    states: &HashMap<i64, AccountState>,
    now: i64,
    charged_at: DateTime<Utc>,
) -> Result<Vec<BillCharged>, LedgerError> {
    // Ids are taken first, so that nothing written has to be read back.
    let sql = Placeholders::of(tx);
    let transaction_ids = reserve_ids(tx, "ledger_transactions", planned.len()).await?;
    let bill_ids = reserve_ids(tx, "bills", planned.len()).await?;
    let line_count = planned.iter().map(|p| p.plan.lines.len()).sum();
    let line_ids = reserve_ids(tx, "bill_lines", line_count).await?;
    let rows: Vec<(i64, i64, &Planned)> = transaction_ids
        .iter()
        .zip(&bill_ids)
        .zip(planned)
        .map(|((t, b), p)| (*t, *b, p))
        .collect();
    for chunk in rows.chunks(sql.rows_per_statement(5)) {
        let statement = format!(
            "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES {}",
            sql.rows(chunk.len(), 5, 1)
        );
        let mut query = sqlx::query(&statement);
        for (transaction_id, _, p) in chunk {
            query = query
                .bind(*transaction_id)
                .bind(p.request.account_id)
                .bind(TransactionKind::BillCharge.code())
                .bind(format!("{}:{}", p.request.workspace_id, p.request.day))
                .bind(now);
        }
        query.execute(&mut **tx).await?;
    }
    for chunk in rows.chunks(sql.rows_per_statement(10)) {
        let statement = format!(
            "INSERT INTO bills (id, account_id, workspace_id, bill_date, settlement, charged_at, total_fen, \
             transaction_id, idempotency_key, line_count) VALUES {}",
            sql.rows(chunk.len(), 10, 1)
        );
        let mut query = sqlx::query(&statement);
        for (transaction_id, bill_id, p) in chunk {
            query = query
                .bind(*bill_id)
                .bind(p.request.account_id)
                .bind(p.request.workspace_id.as_str())
                .bind(p.request.day.to_string())
                .bind(settlement_code(p.request.settlement))
                .bind(now)
                .bind(p.plan.totals.total().fen())
                .bind(*transaction_id)
                .bind(p.key.as_str())
                .bind(p.plan.lines.len() as i64);
        }
        query.execute(&mut **tx).await?;
    }

    // Lines, numbered from 1 in each bill, their ids in bill and line order.
    let lines: Vec<LineRow> = rows
        .iter()
        .flat_map(|(_, bill_id, p)| {
            p.plan
                .lines
                .iter()
                .enumerate()
                .map(move |(i, line)| (*bill_id, i as i64 + 1, line, p.request.usage.get(i)))
        })
        .collect();
    if lines.len() != line_ids.len() {
        return Err(LedgerError::Corrupt(format!(
            "{} lines, {} ids",
            lines.len(),
            line_ids.len()
        )));
    }
    let numbered: Vec<(i64, &LineRow)> = line_ids.iter().copied().zip(&lines).collect();
    for chunk in numbered.chunks(sql.rows_per_statement(10)) {
        let statement = format!(
            "INSERT INTO bill_lines (id, bill_id, line_no, item, amount_fen, retention_days, quantity, units, \
             unit_price, price_version) VALUES {}",
            sql.rows(chunk.len(), 10, 1)
        );
        let mut query = sqlx::query(&statement);
        for (line_id, (bill_id, line_no, line, priced)) in chunk {
            query = query
                .bind(*line_id)
                .bind(*bill_id)
                .bind(*line_no)
                .bind(line.item.code())
                .bind(line.amount.fen())
                .bind(priced.and_then(|u| u.retention_days).map(i64::from))
                .bind(priced.map(|u| u.quantity.to_string()))
                .bind(priced.map(|u| u.units.to_string()))
                .bind(priced.map(|u| u.unit_price.to_string()))
                .bind(priced.map(|u| u.price_version.clone()));
        }
        query.execute(&mut **tx).await?;
    }
    let mut next_line_id = line_ids.iter().copied();

    // Postings (each bill's set balanced, checked by ledger::post_many) and the answers.
    let mut entries = Vec::with_capacity(planned.len());
    let mut answers = Vec::with_capacity(planned.len());
    for (transaction_id, bill_id, p) in rows.iter().copied() {
        let state = &states[&p.request.account_id];
        let mut postings = Vec::new();
        let mut charged_lines = Vec::with_capacity(p.plan.lines.len());
        for (line_no, line) in (1u32..).zip(&p.plan.lines) {
            let line_id = next_line_id.next().ok_or_else(|| {
                LedgerError::Corrupt(format!("bill {bill_id}: no id for line {line_no}"))
            })?;
            postings
                .push(Posting::new(LedgerAccount::Revenue, line.amount.fen()).for_line(line_id));
            for payment in &line.paid {
                let taken = -payment.amount.fen();
                let posting = match &payment.source {
                    PaymentSource::Instrument { id, kind } => {
                        let instrument_id = *state.id_of.get(id).ok_or_else(|| {
                            LedgerError::Corrupt(format!("the plan used unknown instrument {id}"))
                        })?;
                        Posting::instrument(instrument_id, *kind, taken)
                    }
                    PaymentSource::Cash => Posting::new(LedgerAccount::CustomerCash, taken),
                    PaymentSource::Arrears => Posting::new(LedgerAccount::ArrearsReceivable, taken),
                    PaymentSource::Cloud => Posting::new(LedgerAccount::CloudReceivable, taken),
                };
                postings.push(posting.for_line(line_id));
            }
            charged_lines.push(ChargedLine {
                line_no,
                item: line.item,
                amount: line.amount,
                paid: line
                    .paid
                    .iter()
                    .map(|paid| LinePayment {
                        source: paid.source.name().to_owned(),
                        amount: paid.amount,
                    })
                    .collect(),
            });
        }
        entries.push(ledger::Entry {
            transaction_id,
            account_id: p.request.account_id,
            postings,
        });
        let after = &p.plan.wallet_after;
        answers.push(BillCharged {
            bill_id,
            transaction_id,
            account_id: p.request.account_id,
            workspace_id: p.request.workspace_id.clone(),
            day: p.request.day,
            settlement: p.request.settlement,
            charged_at,
            lines: charged_lines,
            totals: p.plan.totals,
            cash_after: after.cash(),
            arrears_after: after.arrears(),
        });
    }
    ledger::post_many(tx, &entries).await?;

    // What the batch changed: each instrument's and account's balance as the last bill left it.
    let mut instrument_balances = Vec::new();
    let mut account_balances = Vec::new();
    for state in states.values() {
        for (old, new) in state
            .before
            .instruments()
            .iter()
            .zip(state.wallet.instruments())
        {
            if old.balance != new.balance {
                instrument_balances.push((state.id_of[&new.id], new.balance.fen()));
            }
        }
        account_balances.push((
            state.id,
            state.wallet.cash().fen(),
            state.wallet.arrears().fen(),
        ));
    }
    accounts::set_instrument_balances(tx, &instrument_balances).await?;
    accounts::set_balances_of(tx, &account_balances).await?;

    write_metering(tx, &rows, now).await?;
    alert(store, tx, planned, states, &answers, charged_at).await?;
    let remembered: Vec<(&IdempotencyKey, &BillCharge, &BillCharged)> = planned
        .iter()
        .zip(&answers)
        .map(|(p, done)| (p.key, p.request, done))
        .collect();
    idempotency::remember_many(tx, OPERATION, &remembered, now).await?;
    Ok(answers)
}
