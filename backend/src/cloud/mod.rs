//! Cloud marketplace settlement (issue 17): subscriptions that arrive from a marketplace, the
//! workspaces that settle through them (at most one change of method per calendar month), and
//! what happens when a subscription ends.
//!
//! - `aliyun`: Alibaba Cloud Marketplace's SaaS SPI (the token rule, the actions).
//! - `aws`: AWS Marketplace (SigV4 calls: ResolveCustomer, BatchMeterUsage; SNS notifications).
//! - `huawei`: Huawei Cloud KooGallery's SaaS interface V2 (body signature, activities, Query
//!   Order, the usage push).
//! - `metering`: what cloud-settled bills charged, pushed to each marketplace.
//! - this module: the store side every marketplace shares.

pub mod aliyun;
pub mod aws;
pub mod huawei;
pub mod metering;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::mail::outbox::{Outgoing, enqueue};
use crate::mail::templates::Mail;
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};

/// HMAC-SHA256 of `text` under `key`: what Huawei's and AWS's request signatures are built of.
pub(crate) fn hmac_sha256(key: &[u8], text: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(text);
    mac.finalize().into_bytes().to_vec()
}

/// The marketplaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    Aliyun,
    Aws,
    Huawei,
}

impl Cloud {
    pub fn code(self) -> &'static str {
        match self {
            Cloud::Aliyun => "aliyun",
            Cloud::Aws => "aws",
            Cloud::Huawei => "huawei",
        }
    }

    pub fn from_code(code: &str) -> Option<Cloud> {
        match code {
            "aliyun" => Some(Cloud::Aliyun),
            "aws" => Some(Cloud::Aws),
            "huawei" => Some(Cloud::Huawei),
            _ => None,
        }
    }

    /// The marketplace's name as customers know it.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Aliyun => "Alibaba Cloud Marketplace",
            Cloud::Aws => "AWS Marketplace",
            Cloud::Huawei => "Huawei Cloud KooGallery",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Expired,
    Released,
}

impl SubscriptionStatus {
    pub fn code(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Expired => "expired",
            SubscriptionStatus::Released => "released",
        }
    }

    fn from_code(code: &str) -> SubscriptionStatus {
        match code {
            "active" => SubscriptionStatus::Active,
            "expired" => SubscriptionStatus::Expired,
            _ => SubscriptionStatus::Released,
        }
    }
}

/// A subscription as the account holder sees it (Account > Cloud accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudAccount {
    pub cloud: Cloud,
    /// The buyer's account at the cloud (Alibaba `aliUid`).
    pub cloud_account_id: String,
    pub instance_id: String,
    pub status: SubscriptionStatus,
    pub valid_until: Option<DateTime<Utc>>,
    /// The workspaces settling through it now.
    pub workspaces: Vec<String>,
}

/// How a workspace is to settle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum SettlementChoice {
    Account,
    Aliyun {
        account_id: String,
        instance_id: String,
    },
    Huawei {
        account_id: String,
        instance_id: String,
    },
    /// The buyer's AWS account id (or legacy customer identifier) and the instance Billing
    /// Center showed them after AWS Marketplace sent them here.
    Aws {
        account_id: String,
        instance_id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("no active subscription of this cloud account has instance '{0}'")]
    InstanceNotFound(String),
    #[error("this subscription has ended")]
    SubscriptionEnded,
    #[error("this instance settles for another Billing Center account")]
    InstanceOfAnotherAccount,
    #[error(
        "the workspace changed its settlement method this month already; it may change again from {next}"
    )]
    ChangedThisMonth { next: chrono::NaiveDate },
    #[error("this marketplace is not available for settlement yet")]
    CloudUnavailable,
    #[error("no workspace '{0}' is bound to this account")]
    WorkspaceNotFound(String),
    #[error("{field} must be 1 to 128 visible characters")]
    InvalidField { field: &'static str },
    #[error("the note must be 1 to 300 characters, without control characters")]
    InvalidNote,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
}

fn check_field(field: &'static str, value: &str) -> Result<(), CloudError> {
    let ok = (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(CloudError::InvalidField { field })
    }
}

/// An unguessable instance id: the proof a buyer types in to settle a workspace through it.
fn new_instance_id(cloud: Cloud) -> String {
    format!("bc-{}-{}", cloud.code(), crate::auth::random_token(16))
}

/// A subscription arriving from a marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub cloud: Cloud,
    pub cloud_account_id: String,
    pub order_ref: String,
    pub product_code: String,
    pub sku_id: String,
    pub valid_until: Option<DateTime<Utc>>,
}

/// The first day of the month after `at`'s month, in `timezone`.
fn next_month(at: DateTime<Utc>, timezone: chrono_tz::Tz) -> chrono::NaiveDate {
    let day = at.with_timezone(&timezone).date_naive();
    let (year, month) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(day)
}

fn same_month(a: DateTime<Utc>, b: DateTime<Utc>, timezone: chrono_tz::Tz) -> bool {
    let (a, b) = (a.with_timezone(&timezone), b.with_timezone(&timezone));
    (a.year(), a.month()) == (b.year(), b.month())
}

impl Store {
    /// A marketplace's new subscription: answers its instance id; the same order again answers
    /// the same instance (marketplaces retry).
    pub async fn create_subscription(&self, new: &NewSubscription) -> Result<String, CloudError> {
        check_field("aliUid", &new.cloud_account_id)?;
        check_field("orderBizId", &new.order_ref)?;
        let now = to_micros(self.now());
        let instance_id = new_instance_id(new.cloud);
        sqlx::query(
            "INSERT INTO cloud_subscriptions (cloud, cloud_account_id, instance_id, order_ref, product_code, \
             sku_id, status, valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8) \
             ON CONFLICT (cloud, order_ref) DO NOTHING",
        )
        .bind(new.cloud.code())
        .bind(&new.cloud_account_id)
        .bind(&instance_id)
        .bind(&new.order_ref)
        .bind(&new.product_code)
        .bind(&new.sku_id)
        .bind(new.valid_until.map(to_micros))
        .bind(now)
        .execute(self.pool())
        .await?;
        let stored: String = sqlx::query_scalar(
            "SELECT instance_id FROM cloud_subscriptions WHERE cloud = $1 AND order_ref = $2",
        )
        .bind(new.cloud.code())
        .bind(&new.order_ref)
        .fetch_one(self.pool())
        .await?;
        Ok(stored)
    }

    /// A renewal: the subscription is valid until `valid_until` (and active again if it had
    /// expired and the new date is still ahead; a released one stays released). A renewal that
    /// does not move the date later (a retry, or a captured call replayed) changes nothing and
    /// is answered as done.
    pub async fn renew_subscription(
        &self,
        cloud: Cloud,
        instance_id: &str,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<(), CloudError> {
        let now = to_micros(self.now());
        let exists: Option<String> = sqlx::query_scalar(
            "SELECT status FROM cloud_subscriptions WHERE cloud = $1 AND instance_id = $2",
        )
        .bind(cloud.code())
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?;
        match exists.as_deref() {
            None | Some("released") => {
                return Err(CloudError::InstanceNotFound(instance_id.to_owned()));
            }
            _ => {}
        }
        let Some(valid_until) = valid_until.map(to_micros) else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE cloud_subscriptions SET valid_until = $1, \
             status = CASE WHEN status = 'expired' AND $1 > $2 THEN 'active' ELSE status END, \
             ended_at = CASE WHEN status = 'expired' AND $1 > $2 THEN NULL ELSE ended_at END \
             WHERE cloud = $3 AND instance_id = $4 AND status <> 'released' \
             AND (valid_until IS NULL OR valid_until < $1)",
        )
        .bind(valid_until)
        .bind(now)
        .bind(cloud.code())
        .bind(instance_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A frozen (expired) subscription thawed by its marketplace: active again. The workspaces
    /// that were switched back to the account stay there until their holder switches again.
    pub async fn reactivate_subscription(
        &self,
        cloud: Cloud,
        instance_id: &str,
    ) -> Result<(), CloudError> {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM cloud_subscriptions WHERE cloud = $1 AND instance_id = $2",
        )
        .bind(cloud.code())
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await?;
        match status.as_deref() {
            None | Some("released") => Err(CloudError::InstanceNotFound(instance_id.to_owned())),
            _ => {
                // Not past its date: a thawed subscription the sweep would end again stays ended.
                sqlx::query(
                    "UPDATE cloud_subscriptions SET status = 'active', ended_at = NULL \
                     WHERE cloud = $1 AND instance_id = $2 AND status = 'expired' \
                     AND (valid_until IS NULL OR valid_until > $3)",
                )
                .bind(cloud.code())
                .bind(instance_id)
                .bind(to_micros(self.now()))
                .execute(self.pool())
                .await?;
                Ok(())
            }
        }
    }

    /// A marketplace whose calls cannot be replayed sets the date as it says, earlier or later
    /// (an expired subscription whose new date is ahead is active again).
    pub async fn set_subscription_date(
        &self,
        cloud: Cloud,
        instance_id: &str,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<(), CloudError> {
        let Some(valid_until) = valid_until.map(to_micros) else {
            return self.renew_subscription(cloud, instance_id, None).await;
        };
        let changed = sqlx::query(
            "UPDATE cloud_subscriptions SET valid_until = $1, \
             status = CASE WHEN status = 'expired' AND $1 > $2 THEN 'active' ELSE status END, \
             ended_at = CASE WHEN status = 'expired' AND $1 > $2 THEN NULL ELSE ended_at END \
             WHERE cloud = $3 AND instance_id = $4 AND status <> 'released'",
        )
        .bind(valid_until)
        .bind(to_micros(self.now()))
        .bind(cloud.code())
        .bind(instance_id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(CloudError::InstanceNotFound(instance_id.to_owned()));
        }
        Ok(())
    }

    /// Subscriptions still active a day after their `valid_until`: the marketplace's
    /// expiry call was missed, so they end here (workspaces back to the account, one mail).
    pub async fn expire_lapsed_subscriptions(&self) -> Result<Vec<String>, CloudError> {
        let cutoff = to_micros(self.now() - chrono::Duration::days(1));
        let lapsed: Vec<(String, String)> = sqlx::query_as(
            "SELECT cloud, instance_id FROM cloud_subscriptions \
             WHERE status = 'active' AND valid_until IS NOT NULL AND valid_until < $1 ORDER BY id",
        )
        .bind(cutoff)
        .fetch_all(self.pool())
        .await?;
        let mut ended = Vec::with_capacity(lapsed.len());
        for (cloud, instance_id) in lapsed {
            let Some(cloud) = Cloud::from_code(&cloud) else {
                continue;
            };
            // One that cannot be ended now is tried again next tick; the others go on.
            match self
                .end_subscription(cloud, &instance_id, SubscriptionStatus::Expired)
                .await
            {
                Ok(_) => ended.push(instance_id),
                Err(e) => {
                    tracing::error!(instance = %instance_id, error = %e, "cannot end a lapsed subscription")
                }
            }
        }
        Ok(ended)
    }

    /// A subscription ended (expired or released): every workspace it settled goes back to
    /// account settlement from the next bill, and the account holder is mailed once, in the
    /// same transaction. Metering already written stays due. Ending an ended subscription again
    /// changes nothing.
    pub async fn end_subscription(
        &self,
        cloud: Cloud,
        instance_id: &str,
        status: SubscriptionStatus,
    ) -> Result<Vec<String>, CloudError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT id, account_id, status FROM cloud_subscriptions WHERE cloud = $1 AND instance_id = $2{}",
            if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" }
        ))
        .bind(cloud.code())
        .bind(instance_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| CloudError::InstanceNotFound(instance_id.to_owned()))?;
        let id: i64 = row.try_get("id")?;
        let account_id: Option<i64> = row.try_get("account_id")?;
        let was = SubscriptionStatus::from_code(&row.try_get::<String, _>("status")?);
        if let Some(account_id) = account_id {
            // The settlement batch locks the account's row: a switch back and a bill never cross.
            crate::accounts::lock(self, &mut tx, account_id).await?;
        }
        // Released is final; expired may become released.
        let new_status = if was == SubscriptionStatus::Released {
            SubscriptionStatus::Released
        } else {
            status
        };
        // A subscription renewed after it expired ends again with a new `ended_at`: its second
        // end is mailed too; expired then released is one end, one mail.
        let ended_at: i64 = sqlx::query_scalar(
            "UPDATE cloud_subscriptions SET status = $1, ended_at = COALESCE(ended_at, $2) WHERE id = $3 \
             RETURNING ended_at",
        )
        .bind(new_status.code())
        .bind(to_micros(now))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let switched: Vec<String> = sqlx::query_scalar(
            "UPDATE workspaces SET settlement = 'account', cloud_subscription_id = NULL \
             WHERE cloud_subscription_id = $1 RETURNING workspace_id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if let (Some(account_id), false) = (account_id, switched.is_empty()) {
            let to = crate::mail::alerts::recipients(&mut tx, &[account_id]).await?;
            if let Some(to) = to.get(&account_id) {
                enqueue(
                    &mut tx,
                    self.settlement_timezone(),
                    &Outgoing {
                        account_id: Some(account_id),
                        recipient: to.email.clone(),
                        language: to.language,
                        dedupe_key: Some(format!("cloud_ended:{id}:{ended_at}")),
                        mail: Mail::CloudSubscriptionEnded {
                            cloud: cloud.name().to_owned(),
                            instance_id: instance_id.to_owned(),
                            workspaces: switched.clone(),
                            link: self.mail_settings().link("/workspaces"),
                        },
                    },
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(switched)
    }

    /// Switches one of the account's workspaces to `choice`, at most once per calendar month (in
    /// the settlement timezone); the next bill charged is paid the new way. A cloud instance
    /// must be an active subscription of the cloud account named; the first Billing Center
    /// account that names it owns it. Choosing what is already chosen changes nothing.
    pub async fn change_settlement(
        &self,
        account_id: i64,
        workspace_id: &str,
        choice: &SettlementChoice,
    ) -> Result<crate::workspaces::Workspace, CloudError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        crate::accounts::lock(self, &mut tx, account_id).await?;
        let row = sqlx::query(&format!(
            "SELECT * FROM workspaces WHERE workspace_id = $1 AND account_id = $2 AND unbound_at IS NULL{}",
            if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" }
        ))
        .bind(workspace_id.replace('\0', ""))
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| CloudError::WorkspaceNotFound(workspace_id.chars().take(64).collect()))?;
        let workspace = crate::workspaces::workspace_of(&row)?;
        let subscription = match choice {
            SettlementChoice::Account => None,
            SettlementChoice::Aliyun {
                account_id: cloud_account,
                instance_id,
            }
            | SettlementChoice::Huawei {
                account_id: cloud_account,
                instance_id,
            }
            | SettlementChoice::Aws {
                account_id: cloud_account,
                instance_id,
            } => {
                let cloud = match choice {
                    SettlementChoice::Huawei { .. } => Cloud::Huawei,
                    SettlementChoice::Aws { .. } => Cloud::Aws,
                    _ => Cloud::Aliyun,
                };
                check_field("account_id", cloud_account)?;
                check_field("instance_id", instance_id)?;
                let found = sqlx::query(&format!(
                    "SELECT id, status, account_id FROM cloud_subscriptions \
                     WHERE cloud = $1 AND instance_id = $2 AND cloud_account_id = $3{}",
                    if self.backend() == Backend::Postgres {
                        " FOR UPDATE"
                    } else {
                        ""
                    }
                ))
                .bind(cloud.code())
                .bind(instance_id)
                .bind(cloud_account)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| CloudError::InstanceNotFound(instance_id.clone()))?;
                if found.try_get::<String, _>("status")? != "active" {
                    return Err(CloudError::SubscriptionEnded);
                }
                let owner: Option<i64> = found.try_get("account_id")?;
                if owner.is_some_and(|o| o != account_id) {
                    return Err(CloudError::InstanceOfAnotherAccount);
                }
                Some(found.try_get::<i64, _>("id")?)
            }
        };
        if workspace.cloud_subscription_id == subscription {
            tx.commit().await?;
            return Ok(workspace);
        }
        if let Some(changed) = workspace.settlement_changed_at
            && same_month(changed, now, self.settlement_timezone())
        {
            return Err(CloudError::ChangedThisMonth {
                next: next_month(now, self.settlement_timezone()),
            });
        }
        if let Some(subscription) = subscription {
            // Claimed by this account, unless another claimed it first (checked above under
            // this transaction; the WHERE keeps a racing claim from taking it twice).
            let claimed = sqlx::query(
                "UPDATE cloud_subscriptions SET account_id = $1 WHERE id = $2 AND status = 'active' \
                 AND (account_id IS NULL OR account_id = $1)",
            )
            .bind(account_id)
            .bind(subscription)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                return Err(CloudError::InstanceOfAnotherAccount);
            }
        }
        let row = sqlx::query(
            "UPDATE workspaces SET settlement = $1, cloud_subscription_id = $2, settlement_changed_at = $3 \
             WHERE workspace_id = $4 RETURNING *",
        )
        .bind(if subscription.is_some() { "cloud" } else { "account" })
        .bind(subscription)
        .bind(to_micros(now))
        .bind(&workspace.workspace_id)
        .fetch_one(&mut *tx)
        .await?;
        let changed = crate::workspaces::workspace_of(&row)?;
        tx.commit().await?;
        Ok(changed)
    }

    /// The account's cloud accounts (subscriptions it named), newest first.
    pub async fn cloud_accounts(&self, account_id: i64) -> Result<Vec<CloudAccount>, CloudError> {
        let rows = sqlx::query(
            "SELECT id, cloud, cloud_account_id, instance_id, status, valid_until FROM cloud_subscriptions \
             WHERE account_id = $1 ORDER BY id DESC",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let workspaces: Vec<String> = sqlx::query_scalar(
                "SELECT workspace_id FROM workspaces WHERE cloud_subscription_id = $1 ORDER BY workspace_id",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            let Some(cloud) = Cloud::from_code(&row.try_get::<String, _>("cloud")?) else {
                continue;
            };
            accounts.push(CloudAccount {
                cloud,
                cloud_account_id: row.try_get("cloud_account_id")?,
                instance_id: row.try_get("instance_id")?,
                status: SubscriptionStatus::from_code(&row.try_get::<String, _>("status")?),
                valid_until: row
                    .try_get::<Option<i64>, _>("valid_until")?
                    .map(from_micros),
                workspaces,
            });
        }
        Ok(accounts)
    }

    /// The cloud account id of an active subscription, by its instance.
    pub async fn cloud_subscription(
        &self,
        cloud: Cloud,
        instance_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT cloud_account_id FROM cloud_subscriptions WHERE cloud = $1 AND instance_id = $2 AND status = 'active'",
        )
        .bind(cloud.code())
        .bind(instance_id)
        .fetch_optional(self.pool())
        .await
    }

    /// Which cloud a subscription belongs to (what the console's status names).
    pub async fn cloud_of_subscription(&self, id: i64) -> Result<Option<Cloud>, sqlx::Error> {
        let code: Option<String> =
            sqlx::query_scalar("SELECT cloud FROM cloud_subscriptions WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(code.as_deref().and_then(Cloud::from_code))
    }

    /// Metering records of a subscription (for the sandbox and tests): (usage day, amount, pushed).
    pub async fn metering_of(
        &self,
        cloud: Cloud,
        instance_id: &str,
    ) -> Result<Vec<(String, billing::Amount, bool)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT m.usage_day, m.amount_fen, m.pushed_at FROM cloud_metering m \
             JOIN cloud_subscriptions s ON s.id = m.subscription_id \
             WHERE s.cloud = $1 AND s.instance_id = $2 ORDER BY m.id",
        )
        .bind(cloud.code())
        .bind(instance_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("usage_day")?,
                    billing::Amount::from_fen(r.try_get("amount_fen")?),
                    r.try_get::<Option<i64>, _>("pushed_at")?.is_some(),
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_month_is_the_settlement_timezones() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-11-30 16:30 UTC is already December 1st in Shanghai.
        let late_november_utc = Utc.with_ymd_and_hms(2026, 11, 30, 16, 30, 0).unwrap();
        let december = Utc.with_ymd_and_hms(2026, 12, 15, 0, 0, 0).unwrap();
        let november = Utc.with_ymd_and_hms(2026, 11, 30, 15, 30, 0).unwrap();
        assert!(same_month(late_november_utc, december, tz));
        assert!(!same_month(november, december, tz));
        assert_eq!(
            next_month(november, tz),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            next_month(december, tz),
            chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }

    #[test]
    fn instance_ids_are_unguessable() {
        let a = new_instance_id(Cloud::Aliyun);
        assert!(a.starts_with("bc-aliyun-") && a.len() == "bc-aliyun-".len() + 32);
        assert_ne!(a, new_instance_id(Cloud::Aliyun));
    }
}
