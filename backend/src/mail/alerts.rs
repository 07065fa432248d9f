//! Which events tell whom what. Each function runs inside the transaction of its event and
//! writes the outbox there; the rules of when (crossing a threshold, arrears beginning, the grace
//! period) are `billing::alerts`.

use std::collections::HashMap;

use billing::alerts::{
    arrears_began, arrears_reminder_due, expires_soon, grace_period_ends, low_balance_crossed,
};
use billing::{Amount, Wallet};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{Any, Row, Transaction};

use super::Language;
use super::outbox::{Outgoing, enqueue};
use super::settings;
use super::templates::Mail;
use crate::store::Store;
use crate::time::{from_micros, to_micros};

/// A confirmed address of an account and the language its mail is written in.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    pub email: String,
    pub language: Language,
}

/// The confirmed addresses of these accounts (an account whose address is not confirmed has
/// none: nothing but its confirmation link goes to an unproven address).
pub(crate) async fn recipients(
    tx: &mut Transaction<'static, Any>,
    account_ids: &[i64],
) -> Result<HashMap<i64, Recipient>, sqlx::Error> {
    let mut found = HashMap::new();
    for id in account_ids {
        let row = sqlx::query(
            "SELECT email, language FROM customers WHERE billing_account_id = $1 AND email_confirmed_at IS NOT NULL",
        )
        .bind(*id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = row {
            found.insert(
                *id,
                Recipient {
                    email: row.try_get("email")?,
                    language: Language::stored(&row.try_get::<String, _>("language")?),
                },
            );
        }
    }
    Ok(found)
}

async fn tell(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    to: &Recipient,
    dedupe_key: Option<String>,
    mail: Mail,
) -> Result<bool, sqlx::Error> {
    enqueue(
        tx,
        store.settlement_timezone(),
        &Outgoing {
            account_id: Some(account_id),
            recipient: to.email.clone(),
            language: to.language,
            dedupe_key,
            mail,
        },
        store.now(),
    )
    .await
}

/// Writes an operators' alert to each `OPERATOR_ALERT_EMAIL` address, once per `dedupe` key.
pub(crate) async fn tell_operators(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    dedupe: String,
    mail: Mail,
) -> Result<(), sqlx::Error> {
    let settings = store.mail_settings();
    for recipient in &settings.operator_recipients {
        enqueue(
            tx,
            store.settlement_timezone(),
            &Outgoing {
                account_id: None,
                recipient: recipient.clone(),
                language: settings.operator_language,
                dedupe_key: Some(format!("{dedupe}:{recipient}")),
                mail: mail.clone(),
            },
            store.now(),
        )
        .await?;
    }
    Ok(())
}

/// One account of a batch of bills: its wallet before the batch and after it.
pub(crate) struct AccountCharged<'a> {
    pub account_id: i64,
    pub before: &'a Wallet,
    pub after: &'a Wallet,
    /// The ledger transaction of the account's last bill in the batch (names the crossing).
    pub last_transaction_id: i64,
}

/// One bill of a batch, for the high-consumption alert.
pub(crate) struct BillTotal<'a> {
    pub account_id: i64,
    pub workspace_id: &'a str,
    pub day: NaiveDate,
    pub total: Amount,
}

/// After a batch of bills, in its transaction: low balance (once per crossing), arrears that
/// began, and workspaces whose day cost more than their owner's threshold.
pub(crate) async fn after_bills(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    accounts: &[AccountCharged<'_>],
    bills: &[BillTotal<'_>],
    charged_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // Decided in memory from the batch's settings (one read), so that the addresses are read
    // only for the accounts that have something to be told.
    let ids: Vec<i64> = accounts.iter().map(|a| a.account_id).collect();
    let wanted = settings::load(tx, &ids).await?;
    let maybe_low: Vec<&AccountCharged> = accounts
        .iter()
        .filter(|a| {
            let wants = wanted.get(&a.account_id).copied().unwrap_or_default();
            (wants.alerts.arrears && arrears_began(a.before, a.after))
                || (wants.alerts.low_balance
                    && low_balance_crossed(a.before, a.after, charged_at, wants.threshold))
        })
        .collect();
    let max_total = bills.iter().map(|b| b.total.fen()).max().unwrap_or(0);
    let daily_thresholds: HashMap<String, i64> = if max_total > 0 {
        let rows = sqlx::query(
            "SELECT workspace_id, daily_cost_alert_fen FROM workspaces \
             WHERE daily_cost_alert_fen IS NOT NULL AND daily_cost_alert_fen < $1",
        )
        .bind(max_total)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("workspace_id")?,
                    r.try_get("daily_cost_alert_fen")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?
    } else {
        HashMap::new()
    };
    let over: Vec<(&BillTotal, i64)> = bills
        .iter()
        .filter_map(|b| {
            daily_thresholds
                .get(b.workspace_id)
                .filter(|threshold| b.total.fen() > **threshold)
                .map(|threshold| (b, *threshold))
        })
        .collect();
    if maybe_low.is_empty() && over.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = maybe_low.iter().map(|a| a.account_id).collect();
    ids.extend(over.iter().map(|(b, _)| b.account_id));
    ids.sort_unstable();
    ids.dedup();
    let to = recipients(tx, &ids).await?;
    let mail = store.mail_settings().clone();
    for account in maybe_low {
        let (Some(to), Some(wants)) =
            (to.get(&account.account_id), wanted.get(&account.account_id))
        else {
            continue;
        };
        if wants.alerts.arrears && arrears_began(account.before, account.after) {
            tell(
                store,
                tx,
                account.account_id,
                to,
                Some(format!("arrears:{}", account.last_transaction_id)),
                Mail::ArrearsBegan {
                    arrears: account.after.arrears(),
                    grace_ends: grace_period_ends(charged_at, mail.arrears_grace_days),
                    link: mail.link("/wallet"),
                },
            )
            .await?;
        }
        if wants.alerts.low_balance
            && low_balance_crossed(account.before, account.after, charged_at, wants.threshold)
        {
            tell(
                store,
                tx,
                account.account_id,
                to,
                Some(format!("low_balance:{}", account.last_transaction_id)),
                Mail::LowBalance {
                    available: billing::alerts::available(account.after, charged_at),
                    threshold: wants.threshold,
                    link: mail.link("/wallet"),
                },
            )
            .await?;
        }
    }
    for (bill, threshold) in over {
        let (Some(to), Some(wants)) = (to.get(&bill.account_id), wanted.get(&bill.account_id))
        else {
            continue;
        };
        if wants.alerts.daily_cost {
            tell(
                store,
                tx,
                bill.account_id,
                to,
                Some(format!("daily_cost:{}:{}", bill.workspace_id, bill.day)),
                Mail::DailyCost {
                    workspace: bill.workspace_id.to_owned(),
                    day: bill.day,
                    cost: bill.total,
                    threshold: Amount::from_fen(threshold),
                    link: mail.link(&format!("/workspaces/{}", bill.workspace_id)),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// After cash was credited (a verified online payment, a recorded bank transfer), in its
/// transaction: the top-up mail, which also says when it cleared the arrears.
pub(crate) async fn after_cash_credit(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    transaction_id: i64,
    credited: &crate::cash::CashCredited,
    amount: Amount,
) -> Result<(), sqlx::Error> {
    let to = recipients(tx, &[account_id]).await?;
    let Some(to) = to.get(&account_id) else {
        return Ok(());
    };
    let wants = settings::load(tx, &[account_id]).await?[&account_id];
    let cleared = !credited.paid_arrears.is_zero() && credited.arrears_after.is_zero();
    if !(wants.alerts.top_up_credited || (cleared && wants.alerts.arrears)) {
        return Ok(());
    }
    tell(
        store,
        tx,
        account_id,
        to,
        Some(format!("top_up:{transaction_id}")),
        Mail::TopUpCredited {
            amount,
            paid_arrears: credited.paid_arrears,
            cash_after: credited.cash_after,
            arrears_after: credited.arrears_after,
            link: store.mail_settings().link("/wallet"),
        },
    )
    .await?;
    Ok(())
}

/// What one sweep of the alerts that depend on time wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertSweep {
    pub arrears_reminders: u32,
    pub expiring: u32,
}

impl Store {
    /// Whether a message with this dedupe key was written (a read, before a write transaction
    /// is opened for nothing).
    async fn mail_written(&self, dedupe_key: &str) -> Result<bool, sqlx::Error> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT id FROM outbox WHERE dedupe_key = $1")
                .bind(dedupe_key)
                .fetch_optional(self.pool())
                .await?
                .is_some(),
        )
    }

    /// Writes the alerts that come with time rather than with an event: arrears reminders
    /// during the grace period (day 3, day 7, the last day, the day it ends) and vouchers and
    /// prepaid cards expiring within 7 days. Each is written once (its dedupe key), so every
    /// process may sweep every minute.
    pub async fn sweep_alerts(&self) -> Result<AlertSweep, sqlx::Error> {
        let now = self.now();
        let mut sweep = AlertSweep::default();
        let grace_days = self.mail_settings().arrears_grace_days;
        let in_arrears: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, arrears_fen FROM billing_accounts WHERE arrears_fen > 0 ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        for (account_id, arrears_fen) in in_arrears {
            let Some(since) = self.arrears_since(account_id).await? else {
                continue;
            };
            let Some(day) = arrears_reminder_due(since, now, grace_days) else {
                continue;
            };
            let key = format!("arrears_reminder:{account_id}:{}:{day}", to_micros(since));
            if self.mail_written(&key).await? {
                continue;
            }
            let mut tx = self.begin_write().await?;
            let to = recipients(&mut tx, &[account_id]).await?;
            let wants = settings::load(&mut tx, &[account_id]).await?[&account_id];
            if let (Some(to), true) = (to.get(&account_id), wants.alerts.arrears) {
                let written = tell(
                    self,
                    &mut tx,
                    account_id,
                    to,
                    Some(key),
                    Mail::ArrearsReminder {
                        arrears: Amount::from_fen(arrears_fen),
                        grace_ends: grace_period_ends(since, grace_days),
                        ended: day >= grace_days,
                        link: self.mail_settings().link("/wallet"),
                    },
                )
                .await?;
                sweep.arrears_reminders += u32::from(written);
            }
            tx.commit().await?;
        }

        let soon = to_micros(now + Duration::days(billing::alerts::EXPIRY_NOTICE_DAYS));
        let expiring = sqlx::query(
            "SELECT id, account_id, kind, balance_fen, valid_until FROM instruments \
             WHERE expired_at IS NULL AND balance_fen > 0 AND valid_until > $1 AND valid_until <= $2 \
             AND valid_from <= $1 ORDER BY id",
        )
        .bind(to_micros(now))
        .bind(soon)
        .fetch_all(self.pool())
        .await?;
        for row in expiring {
            let id: i64 = row.try_get("id")?;
            let account_id: i64 = row.try_get("account_id")?;
            let balance = Amount::from_fen(row.try_get("balance_fen")?);
            let valid_until = from_micros(row.try_get("valid_until")?);
            let kind: String = row.try_get("kind")?;
            let Some(kind) = billing::InstrumentKind::ALL
                .into_iter()
                .find(|k| k.code() == kind)
            else {
                continue;
            };
            if !expires_soon(balance, valid_until, now)
                || self.mail_written(&format!("expiring:{id}")).await?
            {
                continue;
            }
            let mut tx = self.begin_write().await?;
            let to = recipients(&mut tx, &[account_id]).await?;
            let wants = settings::load(&mut tx, &[account_id]).await?[&account_id];
            if let (Some(to), true) = (to.get(&account_id), wants.alerts.expiring) {
                let written = tell(
                    self,
                    &mut tx,
                    account_id,
                    to,
                    Some(format!("expiring:{id}")),
                    Mail::InstrumentExpiring {
                        number: crate::accounts::instrument_number(kind, id),
                        voucher: kind.is_voucher(),
                        balance,
                        valid_until,
                        link: self.mail_settings().link("/wallet"),
                    },
                )
                .await?;
                sweep.expiring += u32::from(written);
            }
            tx.commit().await?;
        }
        Ok(sweep)
    }
}
