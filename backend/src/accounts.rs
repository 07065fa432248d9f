//! Billing accounts as the ledger sees them: balances, instruments, and the row lock that
//! serialises every money operation of one account.

use billing::{Amount, Instrument, InstrumentKind, Wallet};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::error::LedgerError;
use crate::sql::Placeholders;
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};

pub use billing::wire::InstrumentOrigin;

/// A voucher or prepaid card as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentRecord {
    pub id: i64,
    /// What the customer sees: `RV…` regular voucher, `DV…` discount voucher, `PC…` prepaid card.
    pub number: String,
    pub kind: InstrumentKind,
    pub origin: InstrumentOrigin,
    pub face_value: Amount,
    pub balance: Amount,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
    /// When the expiry sweep moved what was left to breakage.
    pub expired_at: Option<DateTime<Utc>>,
}

impl InstrumentRecord {
    /// Its status at `now`: expired once the sweep has taken what was left, otherwise what the
    /// balance and the validity window say (`billing::InstrumentStatus::of`).
    pub fn status_at(&self, now: DateTime<Utc>) -> billing::InstrumentStatus {
        if self.expired_at.is_some() {
            billing::InstrumentStatus::Expired
        } else {
            billing::InstrumentStatus::of(self.balance, self.valid_from, self.valid_until, now)
        }
    }
}

pub fn instrument_number(kind: InstrumentKind, id: i64) -> String {
    let prefix = match kind {
        InstrumentKind::RegularVoucher => "RV",
        InstrumentKind::DiscountVoucher => "DV",
        InstrumentKind::PrepaidCard => "PC",
    };
    format!("{prefix}{id:08}")
}

fn kind_from_code(code: &str) -> Option<InstrumentKind> {
    InstrumentKind::ALL.into_iter().find(|k| k.code() == code)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    pub id: i64,
    pub name: String,
    pub cash: Amount,
    pub arrears: Amount,
    pub instruments: Vec<InstrumentRecord>,
}

impl AccountSnapshot {
    /// Its vouchers (or prepaid cards), newest first; with a period, those activated (a card:
    /// bought or assigned) on one of its days in the settlement timezone `zone`.
    pub fn instruments_of(
        &self,
        vouchers: bool,
        period: Option<crate::statements::Period>,
        zone: chrono_tz::Tz,
    ) -> Vec<&InstrumentRecord> {
        self.instruments
            .iter()
            .rev()
            .filter(|i| i.kind.is_voucher() == vouchers)
            .filter(|i| {
                period.is_none_or(|p| {
                    let day = i.activated_at.with_timezone(&zone).date_naive();
                    p.from <= day && day <= p.to
                })
            })
            .collect()
    }

    /// The wallet the waterfall plans on: every instrument with something left on it.
    pub fn wallet(&self) -> Result<Wallet, LedgerError> {
        let instruments = self
            .instruments
            .iter()
            .filter(|i| !i.balance.is_zero())
            .map(|i| Instrument {
                id: i.number.clone(),
                kind: i.kind,
                balance: i.balance,
                valid_from: i.valid_from,
                valid_until: i.valid_until,
                activated_at: i.activated_at,
            })
            .collect();
        Ok(Wallet::new(self.cash, self.arrears, instruments)?)
    }
}

pub(crate) const INSTRUMENT_COLUMNS: &str = "id, kind, origin, face_value_fen, balance_fen, valid_from, valid_until, activated_at, expired_at";

pub(crate) fn instrument_from_row(row: &AnyRow) -> Result<InstrumentRecord, LedgerError> {
    let id: i64 = row.try_get("id")?;
    let kind_code: String = row.try_get("kind")?;
    let origin_code: String = row.try_get("origin")?;
    let kind = kind_from_code(&kind_code)
        .ok_or_else(|| LedgerError::Corrupt(format!("instrument {id}: kind '{kind_code}'")))?;
    let origin = InstrumentOrigin::from_code(&origin_code)
        .ok_or_else(|| LedgerError::Corrupt(format!("instrument {id}: origin '{origin_code}'")))?;
    Ok(InstrumentRecord {
        id,
        number: instrument_number(kind, id),
        kind,
        origin,
        face_value: fen(row.try_get("face_value_fen")?)?,
        balance: fen(row.try_get("balance_fen")?)?,
        valid_from: from_micros(row.try_get("valid_from")?),
        valid_until: from_micros(row.try_get("valid_until")?),
        activated_at: from_micros(row.try_get("activated_at")?),
        expired_at: row
            .try_get::<Option<i64>, _>("expired_at")?
            .map(from_micros),
    })
}

/// A stored fen count as an amount; a negative one means the store is broken.
pub(crate) fn fen(value: i64) -> Result<Amount, LedgerError> {
    if value < 0 {
        return Err(LedgerError::Corrupt(format!(
            "negative stored amount {value}"
        )));
    }
    Ok(Amount::from_fen(value))
}

/// The balances of a locked account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockedAccount {
    pub id: i64,
    pub cash_fen: i64,
    pub arrears_fen: i64,
}

/// Locks the account for the rest of the transaction. PostgreSQL: the row lock that every money
/// operation of this account takes first. SQLite: the transaction already holds the write lock.
pub(crate) async fn lock(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
) -> Result<LockedAccount, LedgerError> {
    lock_many(store, tx, &std::collections::BTreeSet::from([account_id]))
        .await?
        .remove(&account_id)
        .ok_or(LedgerError::AccountNotFound(account_id))
}

/// Locks the accounts for the rest of the transaction, in id order (so two batches wait for each
/// other rather than deadlock). Accounts that do not exist are absent from the answer.
pub(crate) async fn lock_many(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    account_ids: &std::collections::BTreeSet<i64>,
) -> Result<std::collections::HashMap<i64, LockedAccount>, LedgerError> {
    let ids: Vec<i64> = account_ids.iter().copied().collect();
    let sql = Placeholders::of(tx);
    let mut locked = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(sql.rows_per_statement(1)) {
        let lock = match store.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let statement = format!(
            "SELECT id, cash_fen, arrears_fen FROM billing_accounts WHERE id IN ({}) ORDER BY id{lock}",
            sql.list(chunk.len(), 1)
        );
        let mut query = sqlx::query(&statement);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let account = LockedAccount {
                id: row.try_get("id")?,
                cash_fen: row.try_get("cash_fen")?,
                arrears_fen: row.try_get("arrears_fen")?,
            };
            locked.insert(account.id, account);
        }
    }
    Ok(locked)
}

/// `CASE id WHEN … THEN … END` over `(id, value)` pairs, parameters from `first` in order.
fn case_of_id(sql: Placeholders, pairs: usize, first: usize) -> String {
    let mut case = String::from("CASE id");
    for i in 0..pairs {
        case.push_str(&format!(
            " WHEN {} THEN {}",
            sql.nth(first + 2 * i),
            sql.nth(first + 2 * i + 1)
        ));
    }
    case.push_str(" END");
    case
}

/// Sets many accounts' balances, a few hundred per statement: `(account, cash, arrears)`.
pub(crate) async fn set_balances_of(
    tx: &mut Transaction<'static, Any>,
    balances: &[(i64, i64, i64)],
) -> Result<(), LedgerError> {
    let sql = Placeholders::of(tx);
    for chunk in balances.chunks(sql.rows_per_statement(5)) {
        let n = chunk.len();
        let statement = format!(
            "UPDATE billing_accounts SET cash_fen = {}, arrears_fen = {} WHERE id IN ({})",
            case_of_id(sql, n, 1),
            case_of_id(sql, n, 2 * n + 1),
            sql.list(n, 4 * n + 1)
        );
        let mut query = sqlx::query(&statement);
        for (id, cash, _) in chunk {
            query = query.bind(*id).bind(*cash);
        }
        for (id, _, arrears) in chunk {
            query = query.bind(*id).bind(*arrears);
        }
        for (id, _, _) in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Sets many instruments' balances, a few hundred per statement: `(instrument, balance)`.
pub(crate) async fn set_instrument_balances(
    tx: &mut Transaction<'static, Any>,
    balances: &[(i64, i64)],
) -> Result<(), LedgerError> {
    let sql = Placeholders::of(tx);
    for chunk in balances.chunks(sql.rows_per_statement(3)) {
        let n = chunk.len();
        let statement = format!(
            "UPDATE instruments SET balance_fen = {} WHERE id IN ({})",
            case_of_id(sql, n, 1),
            sql.list(n, 2 * n + 1)
        );
        let mut query = sqlx::query(&statement);
        for (id, balance) in chunk {
            query = query.bind(*id).bind(*balance);
        }
        for (id, _) in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Every instrument of these accounts, by account, each account's in id order.
pub(crate) async fn load_instruments_of(
    tx: &mut Transaction<'static, Any>,
    account_ids: &std::collections::BTreeSet<i64>,
) -> Result<std::collections::HashMap<i64, Vec<InstrumentRecord>>, LedgerError> {
    let ids: Vec<i64> = account_ids.iter().copied().collect();
    let sql = Placeholders::of(tx);
    let mut held: std::collections::HashMap<i64, Vec<InstrumentRecord>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(sql.rows_per_statement(1)) {
        let statement = format!(
            "SELECT account_id, {INSTRUMENT_COLUMNS} FROM instruments WHERE account_id IN ({}) ORDER BY account_id, id",
            sql.list(chunk.len(), 1)
        );
        let mut query = sqlx::query(&statement);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let account_id: i64 = row.try_get("account_id")?;
            held.entry(account_id)
                .or_default()
                .push(instrument_from_row(&row)?);
        }
    }
    Ok(held)
}

pub(crate) async fn set_balances(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    cash_fen: i64,
    arrears_fen: i64,
) -> Result<(), LedgerError> {
    set_balances_of(tx, &[(account_id, cash_fen, arrears_fen)]).await
}

pub(crate) struct NewInstrument {
    pub kind: InstrumentKind,
    pub origin: InstrumentOrigin,
    pub face_value_fen: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
}

/// Inserts an instrument holding its full face value; the caller posts the matching credit.
pub(crate) async fn insert_instrument(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    transaction_id: i64,
    new: &NewInstrument,
) -> Result<InstrumentRecord, LedgerError> {
    let row = sqlx::query(&format!(
        "INSERT INTO instruments (account_id, kind, origin, face_value_fen, balance_fen, valid_from, valid_until, \
         activated_at, transaction_id) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8) RETURNING {INSTRUMENT_COLUMNS}"
    ))
    .bind(account_id)
    .bind(new.kind.code())
    .bind(new.origin.code())
    .bind(new.face_value_fen)
    .bind(to_micros(new.valid_from))
    .bind(to_micros(new.valid_until))
    .bind(to_micros(new.activated_at))
    .bind(transaction_id)
    .fetch_one(&mut **tx)
    .await?;
    instrument_from_row(&row)
}

pub(crate) async fn load_instruments(
    tx: &mut sqlx::AnyConnection,
    account_id: i64,
) -> Result<Vec<InstrumentRecord>, LedgerError> {
    let rows = sqlx::query(&format!(
        "SELECT {INSTRUMENT_COLUMNS} FROM instruments WHERE account_id = $1 ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter().map(instrument_from_row).collect()
}

impl Store {
    /// Opens a billing account with empty balances. (Logins and profiles arrive with accounts, #4.)
    pub async fn create_billing_account(&self, name: &str) -> Result<i64, LedgerError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(LedgerError::InvalidAccountName);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO billing_accounts (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(to_micros(self.now()))
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The account's balances and every instrument it ever held, read in one consistent snapshot.
    pub async fn account(&self, account_id: i64) -> Result<AccountSnapshot, LedgerError> {
        let mut tx = self.begin_read().await?;
        let row = sqlx::query(
            "SELECT id, name, cash_fen, arrears_fen FROM billing_accounts WHERE id = $1",
        )
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(LedgerError::AccountNotFound(account_id))?;
        let instruments = load_instruments(&mut tx, account_id).await?;
        tx.commit().await?;
        Ok(AccountSnapshot {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            cash: fen(row.try_get("cash_fen")?)?,
            arrears: fen(row.try_get("arrears_fen")?)?,
            instruments,
        })
    }
}
