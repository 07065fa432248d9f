//! Change binding (issue 18, seed 003): a workspace owner moves a workspace from the account it is
//! bound to onto another account they are signed in to, which the product allows only between two
//! accounts verified as the same enterprise (the same unified social credit code).
//!
//! Proof and rules, in order: the console's owner token for the workspace (always required here: a
//! move takes a workspace away from an account whose holder is not asking); the workspace bound to
//! another account; both accounts verified (403 `not_verified`); the same credit code (409
//! `different_enterprise`). The move itself, in one transaction with both accounts locked in id
//! order: the workspace row changes account and gets a new usage key (the old one was shown to the
//! other account's people), its cloud settlement and cost alert are dropped (they were the other
//! account's choices), the move is recorded for both accounts' history, and both holders are
//! mailed. Bills already made stay with the account that paid them; the next daily bill, and any
//! day not billed yet, goes to the new account, because settlement charges the workspace's account
//! at the time it runs.

use billing::enterprise::VerificationState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::console::ConsoleRole;
use crate::mail::templates::Mail;
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};
use crate::workspaces::{WorkspaceError, WorkspaceWithKey, new_key};

/// One move, as one of the two accounts sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceMove {
    pub workspace_id: String,
    /// `in`: the workspace came to this account; `out`: it left it.
    pub direction: MoveDirection,
    /// The username of the other account.
    pub other_account: String,
    pub moved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MoveDirection {
    In,
    Out,
}

impl Store {
    /// Moves `workspace_id` onto `to_account`, proven by `console_token` (the console's owner token
    /// for the workspace). Returns the workspace as now bound, with its new usage key (shown once).
    pub async fn change_binding(
        &self,
        to_account: i64,
        workspace_id: &str,
        console_token: &str,
    ) -> Result<WorkspaceWithKey, WorkspaceError> {
        let token = console_token.trim();
        if token.is_empty() {
            return Err(WorkspaceError::ConsoleTokenRequired);
        }
        let claims = self.verify_console_token(token)?;
        claims
            .for_workspace(workspace_id)?
            .with_role(&[ConsoleRole::Owner])?;

        let now = self.now();
        let mut tx = self.begin_write().await?;
        let from_account: i64 = sqlx::query_scalar(
            "SELECT account_id FROM workspaces WHERE workspace_id = $1 AND unbound_at IS NULL",
        )
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| WorkspaceError::NotBound(workspace_id.to_owned()))?;
        if from_account == to_account {
            return Err(WorkspaceError::AlreadyBoundHere(workspace_id.to_owned()));
        }
        // Both accounts, in id order (a move the other way at the same time waits, not deadlocks).
        crate::accounts::lock_many(
            self,
            &mut tx,
            &std::collections::BTreeSet::from([from_account, to_account]),
        )
        .await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        // Read again under the locks: the workspace may have moved or been unbound meanwhile.
        let still: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT account_id FROM workspaces WHERE workspace_id = $1 AND unbound_at IS NULL{lock}"
        ))
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
        match still {
            Some(owner) if owner == from_account => {}
            Some(owner) if owner == to_account => {
                return Err(WorkspaceError::AlreadyBoundHere(workspace_id.to_owned()));
            }
            Some(_) => return Err(WorkspaceError::BoundElsewhere(workspace_id.to_owned())),
            None => return Err(WorkspaceError::NotBound(workspace_id.to_owned())),
        }
        let code_of = |account: i64| {
            sqlx::query(
                "SELECT state, credit_code FROM enterprise_verifications WHERE account_id = $1",
            )
            .bind(account)
        };
        let verified_code =
            |row: Option<sqlx::any::AnyRow>| -> Result<Option<String>, sqlx::Error> {
                let Some(row) = row else { return Ok(None) };
                let state: String = row.try_get("state")?;
                (VerificationState::from_code(&state) == Some(VerificationState::Verified))
                    .then(|| row.try_get("credit_code"))
                    .transpose()
            };
        let to_code = verified_code(code_of(to_account).fetch_optional(&mut *tx).await?)?
            .ok_or(WorkspaceError::NotVerified("this account"))?;
        let from_code = verified_code(code_of(from_account).fetch_optional(&mut *tx).await?)?
            .ok_or(WorkspaceError::NotVerified(
                "the account the workspace is bound to",
            ))?;
        if to_code != from_code {
            return Err(WorkspaceError::DifferentEnterprise);
        }

        let (api_key, key_prefix, key_hash) = new_key();
        sqlx::query(
            "UPDATE workspaces SET account_id = $1, key_hash = $2, key_prefix = $3, key_rotated_at = $4, \
             settlement = 'account', cloud_subscription_id = NULL, daily_cost_alert_fen = NULL \
             WHERE workspace_id = $5 AND account_id = $6 AND unbound_at IS NULL",
        )
        .bind(to_account)
        .bind(&key_hash)
        .bind(&key_prefix)
        .bind(to_micros(now))
        .bind(workspace_id)
        .bind(from_account)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO workspace_moves (workspace_id, from_account_id, to_account_id, console_user, moved_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(workspace_id)
        .bind(from_account)
        .bind(to_account)
        .bind(&claims.sub)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;

        let usernames = usernames(&mut tx, &[from_account, to_account]).await?;
        let name_of = |id: i64| usernames.get(&id).cloned().unwrap_or_default();
        let to = crate::mail::alerts::recipients(&mut tx, &[from_account, to_account]).await?;
        for (account, moved_in, other) in [
            (from_account, false, to_account),
            (to_account, true, from_account),
        ] {
            let Some(recipient) = to.get(&account) else {
                continue;
            };
            crate::mail::outbox::enqueue(
                &mut tx,
                self.settlement_timezone(),
                &crate::mail::outbox::Outgoing {
                    account_id: Some(account),
                    recipient: recipient.email.clone(),
                    language: recipient.language,
                    dedupe_key: None,
                    mail: Mail::WorkspaceMoved {
                        workspace: workspace_id.to_owned(),
                        moved_in,
                        other_account: name_of(other),
                        at: now,
                        link: self.mail_settings().link("/workspaces"),
                    },
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        let workspace = self.workspace(to_account, workspace_id).await?;
        Ok(WorkspaceWithKey { workspace, api_key })
    }

    /// The workspaces moved onto and off the account, newest first.
    pub async fn workspace_moves(
        &self,
        account_id: i64,
    ) -> Result<Vec<WorkspaceMove>, WorkspaceError> {
        let rows = sqlx::query(
            "SELECT m.workspace_id, m.from_account_id, m.moved_at, c.username AS other_account \
             FROM workspace_moves m JOIN customers c ON c.billing_account_id = \
             CASE WHEN m.from_account_id = $1 THEN m.to_account_id ELSE m.from_account_id END \
             WHERE m.from_account_id = $1 OR m.to_account_id = $1 ORDER BY m.moved_at DESC, m.id DESC",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WorkspaceMove {
                    workspace_id: row.try_get("workspace_id")?,
                    direction: if row.try_get::<i64, _>("from_account_id")? == account_id {
                        MoveDirection::Out
                    } else {
                        MoveDirection::In
                    },
                    other_account: row.try_get("other_account")?,
                    moved_at: from_micros(row.try_get("moved_at")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(WorkspaceError::from)
    }
}

async fn usernames(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    accounts: &[i64],
) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    let mut found = std::collections::HashMap::new();
    for account in accounts {
        let name: Option<String> =
            sqlx::query_scalar("SELECT username FROM customers WHERE billing_account_id = $1")
                .bind(*account)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(name) = name {
            found.insert(*account, name);
        }
    }
    Ok(found)
}
