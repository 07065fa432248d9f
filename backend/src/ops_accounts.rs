//! An operator's view of customers (issue 18): finding an account by username, email, enterprise
//! (name or credit code) or workspace id, and one account's dossier — balances, enterprise
//! verification, workspaces, monthly bills, tickets and the newest movements of money. Every
//! search and every dossier read is audited: operators see customers' data only on the record.

use serde::Serialize;
use sqlx::Row;

use crate::auth::operators::Operator;
use crate::enterprise::Enterprise;
use crate::movements::Movement;
use crate::statements::MonthlyBill;
use crate::store::Store;
use crate::support::{TicketFilter, TicketSummary};
use crate::time::to_micros;
use crate::workspaces::Workspace;

/// At most this many accounts answer a search.
pub const MAX_HITS: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountHit {
    pub account_id: i64,
    pub username: String,
    pub email: String,
    pub enterprise_name: Option<String>,
    /// The workspaces bound to it now.
    pub workspaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountDossier {
    pub account_id: i64,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: String,
    pub cash: billing::Amount,
    pub arrears: billing::Amount,
    pub enterprise: Enterprise,
    pub workspaces: Vec<Workspace>,
    pub monthly_bills: Vec<MonthlyBill>,
    pub tickets: Vec<TicketSummary>,
    /// The newest 50.
    pub movements: Vec<Movement>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpsAccountError {
    #[error("q must be 2 to 100 characters")]
    InvalidQuery,
    #[error("no such account")]
    AccountNotFound,
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
    #[error(transparent)]
    Workspace(#[from] crate::workspaces::WorkspaceError),
    #[error(transparent)]
    Enterprise(#[from] crate::enterprise::EnterpriseError),
    #[error(transparent)]
    Support(#[from] crate::support::SupportError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Store {
    /// Accounts whose customer's username or email, enterprise name or credit code, or a bound
    /// workspace's id contains `query` (case-insensitive for ASCII). Audited.
    pub async fn search_accounts(
        &self,
        operator: &Operator,
        query: &str,
        client: &str,
    ) -> Result<Vec<AccountHit>, OpsAccountError> {
        let query = query.trim();
        if !(2..=100).contains(&query.chars().count()) || query.contains('\0') {
            return Err(OpsAccountError::InvalidQuery);
        }
        let pattern = format!(
            "%{}%",
            query
                .to_ascii_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows = sqlx::query(&format!(
            "SELECT c.billing_account_id, c.username, c.email, e.enterprise_name FROM customers c \
             LEFT JOIN enterprise_verifications e ON e.account_id = c.billing_account_id \
             WHERE LOWER(c.username) LIKE $1 ESCAPE '\\' OR LOWER(c.email) LIKE $1 ESCAPE '\\' \
             OR LOWER(e.enterprise_name) LIKE $1 ESCAPE '\\' OR LOWER(e.credit_code) LIKE $1 ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM workspaces w WHERE w.account_id = c.billing_account_id \
                        AND w.unbound_at IS NULL AND LOWER(w.workspace_id) LIKE $1 ESCAPE '\\') \
             ORDER BY c.username LIMIT {MAX_HITS}"
        ))
        .bind(&pattern)
        .fetch_all(self.pool())
        .await?;
        let mut hits = Vec::with_capacity(rows.len());
        for row in &rows {
            let account_id: i64 = row.try_get("billing_account_id")?;
            hits.push(AccountHit {
                account_id,
                username: row.try_get("username")?,
                email: row.try_get("email")?,
                enterprise_name: row.try_get("enterprise_name")?,
                workspaces: self
                    .workspaces(account_id)
                    .await?
                    .into_iter()
                    .map(|w| w.workspace_id)
                    .collect(),
            });
        }
        let mut tx = self.begin_write().await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "account.search",
            None,
            &format!("{query} ({} found)", hits.len()),
            client,
            to_micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(hits)
    }

    /// One account as an operator sees it. Audited.
    pub async fn account_dossier(
        &self,
        operator: &Operator,
        account_id: i64,
        client: &str,
    ) -> Result<AccountDossier, OpsAccountError> {
        let snapshot = match self.account(account_id).await {
            Ok(snapshot) => snapshot,
            Err(crate::LedgerError::AccountNotFound(_)) => {
                return Err(OpsAccountError::AccountNotFound);
            }
            Err(e) => return Err(e.into()),
        };
        let holder = self.customer_of_account(account_id).await?;
        let dossier = AccountDossier {
            account_id,
            username: holder.as_ref().map(|c| c.username.clone()),
            email: holder.as_ref().map(|c| c.email.clone()),
            name: snapshot.name,
            cash: snapshot.cash,
            arrears: snapshot.arrears,
            enterprise: self.enterprise(account_id).await?,
            workspaces: self.workspaces(account_id).await?,
            monthly_bills: self.monthly_bills(account_id, None).await?,
            tickets: self
                .tickets(
                    account_id,
                    &TicketFilter {
                        per_page: 100,
                        ..TicketFilter::default()
                    },
                )
                .await?,
            movements: self.movements(account_id, 50).await?,
        };
        let mut tx = self.begin_write().await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "account.view",
            Some(account_id),
            dossier.username.as_deref().unwrap_or(&dossier.name),
            client,
            to_micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(dossier)
    }
}

impl From<OpsAccountError> for crate::problem::Problem {
    fn from(error: OpsAccountError) -> crate::problem::Problem {
        use crate::problem::{Problem, ProblemKind};
        match error {
            OpsAccountError::InvalidQuery => {
                Problem::new("invalid_field", ProblemKind::Invalid, error.to_string()).at("q")
            }
            OpsAccountError::AccountNotFound => {
                Problem::new("account_unknown", ProblemKind::NotFound, error.to_string())
            }
            OpsAccountError::Ledger(e) => Problem::from(e),
            OpsAccountError::Workspace(e) => Problem::from(e),
            OpsAccountError::Enterprise(e) => Problem::from(e),
            OpsAccountError::Support(e) => Problem::from(e),
            OpsAccountError::Auth(e) => Problem::from(e),
            OpsAccountError::Database(e) => Problem::internal(&e),
        }
    }
}
