//! The operator audit log: who did what, to which account, when, from where. Rows are only ever
//! inserted (database triggers refuse UPDATE and DELETE).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::auth::AuthError;
use crate::store::Store;
use crate::time::{from_micros, to_micros};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub operator_id: i64,
    pub action: String,
    pub account_id: Option<i64>,
    pub detail: String,
    pub client: String,
    pub at: DateTime<Utc>,
}

/// An operator acting through the API or the /ops pages. The audit row of a money action is written
/// inside the action's own transaction, so the action and its record exist together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAct {
    pub operator_id: i64,
    /// Where the request came from (the client address).
    pub client: String,
}

/// Writes the audit row of `by`'s action, when an operator asked for it, inside the action's transaction.
pub(crate) async fn record_act(
    tx: &mut Transaction<'static, Any>,
    by: Option<&OperatorAct>,
    action: &str,
    account_id: Option<i64>,
    detail: &str,
    at_micros: i64,
) -> Result<(), sqlx::Error> {
    match by {
        Some(by) => {
            record(
                tx,
                by.operator_id,
                action,
                account_id,
                detail,
                &by.client,
                at_micros,
            )
            .await
        }
        None => Ok(()),
    }
}

/// Writes an audit row inside the transaction of the action it records.
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    operator_id: i64,
    action: &str,
    account_id: Option<i64>,
    detail: &str,
    client: &str,
    at_micros: i64,
) -> Result<(), sqlx::Error> {
    // A detail quotes what a caller sent, which may hold a NUL (PostgreSQL text cannot).
    let detail = detail.replace('\0', "\\0");
    sqlx::query(
        "INSERT INTO audit_log (operator_id, action, account_id, detail, client, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(operator_id)
    .bind(action)
    .bind(account_id)
    .bind(detail)
    .bind(client)
    .bind(at_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Records an operator action that has no transaction of its own (e.g. viewing an account).
    pub async fn audit(
        &self,
        operator_id: i64,
        action: &str,
        account_id: Option<i64>,
        detail: &str,
        client: &str,
    ) -> Result<(), AuthError> {
        let mut tx = self.pool().begin().await?;
        record(
            &mut tx,
            operator_id,
            action,
            account_id,
            detail,
            client,
            to_micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest entries first, optionally of one account.
    pub async fn audit_log(
        &self,
        account_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, AuthError> {
        let rows = match account_id {
            Some(id) => {
                sqlx::query(
                    "SELECT * FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(id)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1")
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    id: r.try_get("id")?,
                    operator_id: r.try_get("operator_id")?,
                    action: r.try_get("action")?,
                    account_id: r.try_get("account_id")?,
                    detail: r.try_get("detail")?,
                    client: r.try_get("client")?,
                    at: from_micros(r.try_get("at")?),
                })
            })
            .collect()
    }
}
