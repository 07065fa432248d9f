//! Workspaces bound to a billing account (PRODUCT.md §1), and their usage API keys. A key is shown
//! once, when a workspace is bound or its key rotated; the store keeps only its SHA-256.

use billing::Settlement;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::{random_token, sha256_hex};
use crate::bills::check_workspace_id;
use crate::store::Store;
use crate::time::{from_micros, to_micros};

/// Every workspace key starts with this, so a leaked one is recognisable in logs and scanners.
pub const KEY_PREFIX: &str = "bcw_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub workspace_id: String,
    pub account_id: i64,
    pub name: String,
    pub settlement: Settlement,
    /// The first characters of the current key, to tell keys apart.
    pub key_prefix: String,
    pub bound_at: DateTime<Utc>,
    pub key_rotated_at: DateTime<Utc>,
    /// Bound with the console's owner token: the console's service token may report its usage.
    #[serde(skip)]
    pub console_bound: bool,
    /// The high-consumption alert: a day's bill above this is mailed to the account.
    pub daily_cost_alert: Option<billing::Amount>,
    /// The cloud subscription a cloud-settled workspace is charged to.
    #[serde(skip)]
    pub cloud_subscription_id: Option<i64>,
    /// When its settlement method last changed (at most once per calendar month).
    #[serde(skip)]
    pub settlement_changed_at: Option<DateTime<Utc>>,
}

/// A workspace with its API key in clear: returned once, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceWithKey {
    pub workspace: Workspace,
    pub api_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("workspace id must be 1 to 64 letters, digits, '-', '_' or '.' (got '{0}')")]
    InvalidWorkspaceId(String),
    #[error("a workspace name must be 1 to 100 characters, without control characters")]
    InvalidName,
    #[error("workspace '{0}' is already bound to this account")]
    AlreadyBoundHere(String),
    #[error("workspace '{0}' is bound to another billing account")]
    BoundElsewhere(String),
    #[error("no workspace '{0}' is bound to this account")]
    NotFound(String),
    #[error("binding a workspace needs a console token: an owner token the console signed for it")]
    ConsoleTokenRequired,
    #[error(transparent)]
    ConsoleToken(#[from] crate::console::ConsoleTokenError),
    #[error(
        "workspace '{0}' has usage not settled yet: it can be unbound once its last day is billed"
    )]
    UnsettledUsage(String),
    #[error("this Billing Center has no console key (CONSOLE_SIGNING_KEY)")]
    ConsoleNotConfigured,
    #[error(
        "workspace '{0}' was bound without the console's proof: report its usage with its own key"
    )]
    NotConsoleBound(String),
    #[error("workspace '{0}' is bound to no billing account: bind it instead")]
    NotBound(String),
    #[error("changing a binding needs both accounts verified as an enterprise: {0} is not")]
    NotVerified(&'static str),
    #[error("the two accounts are verified as different enterprises (credit codes differ)")]
    DifferentEnterprise,
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub(crate) fn new_key() -> (String, String, String) {
    let key = format!("{KEY_PREFIX}{}", random_token(32));
    let prefix = key.chars().take(KEY_PREFIX.len() + 6).collect();
    let hash = sha256_hex(&key);
    (key, prefix, hash)
}

fn settlement_of(code: &str) -> Settlement {
    match code {
        "cloud" => Settlement::Cloud,
        _ => Settlement::Account,
    }
}

pub(crate) fn workspace_of(row: &sqlx::any::AnyRow) -> Result<Workspace, sqlx::Error> {
    Ok(Workspace {
        workspace_id: row.try_get("workspace_id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        settlement: settlement_of(&row.try_get::<String, _>("settlement")?),
        key_prefix: row.try_get("key_prefix")?,
        bound_at: from_micros(row.try_get("bound_at")?),
        key_rotated_at: from_micros(row.try_get("key_rotated_at")?),
        console_bound: row.try_get::<i64, _>("console_bound")? != 0,
        daily_cost_alert: row
            .try_get::<Option<i64>, _>("daily_cost_alert_fen")?
            .map(billing::Amount::from_fen),
        cloud_subscription_id: row.try_get("cloud_subscription_id")?,
        settlement_changed_at: row
            .try_get::<Option<i64>, _>("settlement_changed_at")?
            .map(from_micros),
    })
}

pub(crate) fn check_name(name: &str) -> Result<(), WorkspaceError> {
    let ok = (1..=100).contains(&name.chars().count()) && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(WorkspaceError::InvalidName)
    }
}

impl Store {
    /// Binds a workspace to an account and returns its first API key. A workspace is bound to one
    /// account at a time. With a console key configured (`CONSOLE_SIGNING_KEY`), `console_token`
    /// must be an owner token the console signed for this workspace, so nobody binds, and keeps,
    /// an id that is not theirs; without one (a standalone install, the demo) it is not needed,
    /// but a token sent is checked all the same.
    pub async fn bind_workspace(
        &self,
        account_id: i64,
        workspace_id: &str,
        name: &str,
        console_token: Option<&str>,
    ) -> Result<WorkspaceWithKey, WorkspaceError> {
        check_workspace_id(workspace_id)
            .map_err(|_| WorkspaceError::InvalidWorkspaceId(workspace_id.to_owned()))?;
        let name = name.trim();
        check_name(name)?;
        // A token sent is always checked (the demo's console key does not require one).
        let console_bound = match console_token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => {
                self.verify_console_token(token)?
                    .for_workspace(workspace_id)?
                    .with_role(&[crate::console::ConsoleRole::Owner])?;
                true
            }
            None if self.binding_needs_console_proof() => {
                return Err(WorkspaceError::ConsoleTokenRequired);
            }
            None => false,
        };
        let (api_key, key_prefix, key_hash) = new_key();
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT account_id FROM workspaces WHERE workspace_id = $1 AND unbound_at IS NULL",
        )
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
        match owner {
            Some(owner) if owner == account_id => {
                return Err(WorkspaceError::AlreadyBoundHere(workspace_id.to_owned()));
            }
            Some(_) => return Err(WorkspaceError::BoundElsewhere(workspace_id.to_owned())),
            None => {}
        }
        // A workspace unbound before is taken over (its usage history refers to its row). ON
        // CONFLICT: two accounts binding the same free workspace at once; one of them wins.
        let inserted = sqlx::query(
            "INSERT INTO workspaces (workspace_id, account_id, name, key_hash, key_prefix, bound_at, key_rotated_at, console_bound) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (workspace_id) DO UPDATE SET \
             account_id = excluded.account_id, name = excluded.name, key_hash = excluded.key_hash, \
             key_prefix = excluded.key_prefix, bound_at = excluded.bound_at, \
             key_rotated_at = excluded.key_rotated_at, console_bound = excluded.console_bound, \
             settlement = 'account', cloud_subscription_id = NULL, settlement_changed_at = NULL, \
             daily_cost_alert_fen = NULL, unbound_at = NULL \
             WHERE workspaces.unbound_at IS NOT NULL",
        )
        .bind(workspace_id)
        .bind(account_id)
        .bind(name)
        .bind(&key_hash)
        .bind(&key_prefix)
        .bind(now)
        .bind(i64::from(console_bound))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(WorkspaceError::BoundElsewhere(workspace_id.to_owned()));
        }
        tx.commit().await?;
        let workspace = self.workspace(account_id, workspace_id).await?;
        Ok(WorkspaceWithKey { workspace, api_key })
    }

    /// Unbinds one of the account's workspaces, once nothing it reported is left to settle (its
    /// usage of today, or of a day not billed yet, would otherwise be billed to nobody). Its key
    /// stops working at once; its bills and usage stay in the account's history.
    pub async fn unbind_workspace(
        &self,
        account_id: i64,
        workspace_id: &str,
    ) -> Result<(), WorkspaceError> {
        let mut tx = self.begin_write().await?;
        // PostgreSQL: locks the row, so a usage report in flight (FOR SHARE) finishes first or
        // sees it unbound.
        let bound: Option<String> = sqlx::query_scalar(&format!(
            "SELECT workspace_id FROM workspaces WHERE workspace_id = $1 AND account_id = $2 \
             AND unbound_at IS NULL{}",
            if self.backend() == crate::Backend::Postgres {
                " FOR UPDATE"
            } else {
                ""
            }
        ))
        .bind(workspace_id)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        if bound.is_none() {
            return Err(WorkspaceError::NotFound(workspace_id.to_owned()));
        }
        let unsettled: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM usage_records u WHERE u.workspace_id = $1 AND u.voided_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.workspace_id = u.workspace_id \
             AND b.bill_date = u.usage_day) LIMIT 1",
        )
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
        if unsettled.is_some() {
            return Err(WorkspaceError::UnsettledUsage(workspace_id.to_owned()));
        }
        // The key hash is replaced by one no key has (a hash of random bytes, never shown).
        let (_, _, dead_hash) = new_key();
        sqlx::query(
            "UPDATE workspaces SET unbound_at = $1, key_hash = $2, key_prefix = '', \
             settlement = 'account', cloud_subscription_id = NULL \
             WHERE workspace_id = $3 AND account_id = $4",
        )
        .bind(to_micros(self.now()))
        .bind(format!("unbound:{dead_hash}"))
        .bind(workspace_id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The workspace a console service token reports usage for: bound, and bound with the
    /// console's owner token (so the console vouches for the account it is bound to).
    pub async fn workspace_of_console_service(
        &self,
        token: &str,
    ) -> Result<Workspace, WorkspaceError> {
        let claims = self.verify_console_token(token)?;
        claims.with_role(&[crate::console::ConsoleRole::Service])?;
        let workspace = self
            .bound_workspace(&claims.ws)
            .await?
            .ok_or_else(|| WorkspaceError::NotFound(claims.ws.clone()))?;
        if !workspace.console_bound {
            return Err(WorkspaceError::NotConsoleBound(claims.ws));
        }
        Ok(workspace)
    }

    /// A bound workspace, whichever account it is bound to (the console's view of it).
    pub async fn bound_workspace(
        &self,
        workspace_id: &str,
    ) -> Result<Option<Workspace>, WorkspaceError> {
        let row =
            sqlx::query("SELECT * FROM workspaces WHERE workspace_id = $1 AND unbound_at IS NULL")
                .bind(workspace_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.as_ref().map(workspace_of).transpose()?)
    }

    /// Replaces a workspace's API key: the old one stops working at once.
    pub async fn rotate_workspace_key(
        &self,
        account_id: i64,
        workspace_id: &str,
    ) -> Result<WorkspaceWithKey, WorkspaceError> {
        let (api_key, key_prefix, key_hash) = new_key();
        let updated = sqlx::query(
            "UPDATE workspaces SET key_hash = $1, key_prefix = $2, key_rotated_at = $3 \
             WHERE workspace_id = $4 AND account_id = $5 AND unbound_at IS NULL",
        )
        .bind(&key_hash)
        .bind(&key_prefix)
        .bind(to_micros(self.now()))
        .bind(workspace_id)
        .bind(account_id)
        .execute(self.pool())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(WorkspaceError::NotFound(workspace_id.to_owned()));
        }
        let workspace = self.workspace(account_id, workspace_id).await?;
        Ok(WorkspaceWithKey { workspace, api_key })
    }

    /// One of the account's workspaces.
    pub async fn workspace(
        &self,
        account_id: i64,
        workspace_id: &str,
    ) -> Result<Workspace, WorkspaceError> {
        let row =
            sqlx::query("SELECT * FROM workspaces WHERE workspace_id = $1 AND account_id = $2 AND unbound_at IS NULL")
                .bind(workspace_id)
                .bind(account_id)
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| WorkspaceError::NotFound(workspace_id.to_owned()))?;
        Ok(workspace_of(&row)?)
    }

    /// The account's workspaces, by workspace id.
    pub async fn workspaces(&self, account_id: i64) -> Result<Vec<Workspace>, WorkspaceError> {
        let rows =
            sqlx::query("SELECT * FROM workspaces WHERE account_id = $1 AND unbound_at IS NULL ORDER BY workspace_id")
                .bind(account_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.iter().map(workspace_of).collect::<Result<_, _>>()?)
    }

    /// The workspace a usage API key belongs to, if any.
    pub async fn workspace_by_key(
        &self,
        api_key: &str,
    ) -> Result<Option<Workspace>, WorkspaceError> {
        if !api_key.starts_with(KEY_PREFIX) || api_key.len() > 200 {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT * FROM workspaces WHERE key_hash = $1 AND unbound_at IS NULL")
                .bind(sha256_hex(api_key))
                .fetch_optional(self.pool())
                .await?;
        Ok(row.as_ref().map(workspace_of).transpose()?)
    }
}
