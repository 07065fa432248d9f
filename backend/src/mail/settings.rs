//! What an account wants to be told: the low-balance threshold, which alerts are on, the
//! language of its mail. `GET`/`PUT /api/v1/notifications` and the settings page.

use std::collections::HashMap;

use billing::Amount;
use billing::alerts::{DEFAULT_LOW_BALANCE_THRESHOLD_FEN, MAX_LOW_BALANCE_THRESHOLD_FEN};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use super::{Language, MailError};
use crate::store::Store;
use crate::time::to_micros;

/// Which alerts are on. Account recovery and address confirmation are always sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerts {
    pub low_balance: bool,
    /// Arrears, their reminders, and a top-up that clears them.
    pub arrears: bool,
    pub top_up_credited: bool,
    /// Vouchers and prepaid cards expiring within 7 days.
    pub expiring: bool,
    /// A workspace's daily cost above the threshold set for it.
    pub daily_cost: bool,
}

impl Default for Alerts {
    fn default() -> Alerts {
        Alerts {
            low_balance: true,
            arrears: true,
            top_up_credited: true,
            expiring: true,
            daily_cost: true,
        }
    }
}

/// An account's notification settings as `GET /api/v1/notifications` answers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationSettings {
    pub low_balance_threshold: Amount,
    pub alerts: Alerts,
    pub language: Language,
    /// Where mail goes, and whether that address is confirmed (until it is, only its
    /// confirmation link is sent there).
    pub email: String,
    pub email_confirmed: bool,
}

/// A change of settings: what is given changes, what is left out stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    #[serde(default)]
    pub low_balance_threshold: Option<Amount>,
    #[serde(default)]
    pub alerts: Option<AlertsChange>,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsChange {
    pub low_balance: Option<bool>,
    pub arrears: Option<bool>,
    pub top_up_credited: Option<bool>,
    pub expiring: Option<bool>,
    pub daily_cost: Option<bool>,
}

/// The account-level part stored in `notification_settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    pub threshold: Amount,
    pub alerts: Alerts,
}

impl Default for Stored {
    fn default() -> Stored {
        Stored {
            threshold: Amount::from_fen(DEFAULT_LOW_BALANCE_THRESHOLD_FEN),
            alerts: Alerts::default(),
        }
    }
}

/// The stored settings of these accounts (the defaults for an account without a row), in one
/// statement per few hundred accounts: a batch of bills asks for all of its accounts.
pub(crate) async fn load(
    tx: &mut Transaction<'static, Any>,
    account_ids: &[i64],
) -> Result<HashMap<i64, Stored>, sqlx::Error> {
    let mut found: HashMap<i64, Stored> = account_ids
        .iter()
        .map(|id| (*id, Stored::default()))
        .collect();
    let sql = crate::sql::Placeholders::of(tx);
    for chunk in account_ids.chunks(sql.rows_per_statement(1)) {
        let statement = format!(
            "SELECT account_id, low_balance_threshold_fen, low_balance, arrears, top_up_credited, expiring, daily_cost \
             FROM notification_settings WHERE account_id IN ({})",
            sql.list(chunk.len(), 1)
        );
        let mut query = sqlx::query(&statement);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            found.insert(row.try_get("account_id")?, stored_from_row(&row)?);
        }
    }
    Ok(found)
}

fn stored_from_row(row: &sqlx::any::AnyRow) -> Result<Stored, sqlx::Error> {
    let flag = |name: &str| -> Result<bool, sqlx::Error> { Ok(row.try_get::<i64, _>(name)? != 0) };
    Ok(Stored {
        threshold: Amount::from_fen(row.try_get("low_balance_threshold_fen")?),
        alerts: Alerts {
            low_balance: flag("low_balance")?,
            arrears: flag("arrears")?,
            top_up_credited: flag("top_up_credited")?,
            expiring: flag("expiring")?,
            daily_cost: flag("daily_cost")?,
        },
    })
}

impl Store {
    /// The notification settings of the customer's account.
    pub async fn notification_settings(
        &self,
        customer_id: i64,
    ) -> Result<NotificationSettings, MailError> {
        let mut tx = self.begin_read().await?;
        let settings = read_settings(&mut tx, customer_id).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Changes what is given; answers the settings after the change.
    pub async fn change_notification_settings(
        &self,
        customer_id: i64,
        change: &SettingsChange,
    ) -> Result<NotificationSettings, MailError> {
        if let Some(threshold) = change.low_balance_threshold
            && threshold.fen() > MAX_LOW_BALANCE_THRESHOLD_FEN
        {
            return Err(MailError::ThresholdTooLarge {
                max: Amount::from_fen(MAX_LOW_BALANCE_THRESHOLD_FEN),
            });
        }
        let language =
            match change.language.as_deref() {
                None => None,
                Some(code) => Some(Language::from_code(code).ok_or_else(|| {
                    MailError::UnsupportedLanguage(code.chars().take(40).collect())
                })?),
            };
        let mut tx = self.begin_write().await?;
        let account_id: i64 =
            sqlx::query_scalar("SELECT billing_account_id FROM customers WHERE id = $1")
                .bind(customer_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(crate::auth::AuthError::NotFound("customer"))?;
        let current = load(&mut tx, &[account_id]).await?[&account_id];
        let a = change.alerts.clone().unwrap_or_default();
        let alerts = Alerts {
            low_balance: a.low_balance.unwrap_or(current.alerts.low_balance),
            arrears: a.arrears.unwrap_or(current.alerts.arrears),
            top_up_credited: a.top_up_credited.unwrap_or(current.alerts.top_up_credited),
            expiring: a.expiring.unwrap_or(current.alerts.expiring),
            daily_cost: a.daily_cost.unwrap_or(current.alerts.daily_cost),
        };
        let threshold = change.low_balance_threshold.unwrap_or(current.threshold);
        let flag = |on: bool| i64::from(on);
        sqlx::query(
            "INSERT INTO notification_settings (account_id, low_balance_threshold_fen, low_balance, arrears, \
             top_up_credited, expiring, daily_cost, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (account_id) DO UPDATE SET low_balance_threshold_fen = excluded.low_balance_threshold_fen, \
             low_balance = excluded.low_balance, arrears = excluded.arrears, \
             top_up_credited = excluded.top_up_credited, expiring = excluded.expiring, \
             daily_cost = excluded.daily_cost, updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(threshold.fen())
        .bind(flag(alerts.low_balance))
        .bind(flag(alerts.arrears))
        .bind(flag(alerts.top_up_credited))
        .bind(flag(alerts.expiring))
        .bind(flag(alerts.daily_cost))
        .bind(to_micros(self.now()))
        .execute(&mut *tx)
        .await?;
        if let Some(language) = language {
            sqlx::query("UPDATE customers SET language = $1 WHERE id = $2")
                .bind(language.code())
                .bind(customer_id)
                .execute(&mut *tx)
                .await?;
        }
        let settings = read_settings(&mut tx, customer_id).await?;
        tx.commit().await?;
        Ok(settings)
    }
}

async fn read_settings(
    tx: &mut Transaction<'static, Any>,
    customer_id: i64,
) -> Result<NotificationSettings, MailError> {
    let row = sqlx::query(
        "SELECT billing_account_id, email, email_confirmed_at, language FROM customers WHERE id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(crate::auth::AuthError::NotFound("customer"))?;
    let account_id: i64 = row.try_get("billing_account_id")?;
    let stored = load(tx, &[account_id]).await?[&account_id];
    Ok(NotificationSettings {
        low_balance_threshold: stored.threshold,
        alerts: stored.alerts,
        language: Language::stored(&row.try_get::<String, _>("language")?),
        email: row.try_get("email")?,
        email_confirmed: row
            .try_get::<Option<i64>, _>("email_confirmed_at")?
            .is_some(),
    })
}

impl Store {
    /// Sets (or with `None` removes) the high-consumption alert of one of the account's bound
    /// workspaces: a day's bill above `threshold` is mailed.
    pub async fn set_daily_cost_alert(
        &self,
        account_id: i64,
        workspace_id: &str,
        threshold: Option<Amount>,
    ) -> Result<crate::workspaces::Workspace, MailError> {
        if let Some(threshold) = threshold
            && threshold.fen() > MAX_LOW_BALANCE_THRESHOLD_FEN
        {
            return Err(MailError::ThresholdTooLarge {
                max: Amount::from_fen(MAX_LOW_BALANCE_THRESHOLD_FEN),
            });
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE workspaces SET daily_cost_alert_fen = $1 WHERE workspace_id = $2 AND account_id = $3 \
             AND unbound_at IS NULL RETURNING *",
        )
        .bind(threshold.map(Amount::fen))
        .bind(workspace_id.replace('\0', ""))
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| MailError::WorkspaceNotFound(workspace_id.chars().take(64).collect()))?;
        let workspace = crate::workspaces::workspace_of(&row)?;
        tx.commit().await?;
        Ok(workspace)
    }
}
