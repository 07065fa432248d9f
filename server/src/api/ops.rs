//! Operator endpoints, authenticated by an operator API token. Every call is audited.

use axum::Json;
use axum::extract::{Query, State};
use backend::Store;
use backend::auth::audit::AuditRecord;
use serde::Deserialize;

use super::ApiError;
use super::accounts::auth_error;
use crate::auth::{ClientAddress, OperatorToken};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    account: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// operator: the newest audit entries, optionally of one account (by customer username).
pub async fn audit_log(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    if !(1..=1000).contains(&query.limit) {
        return Err(ApiError::unprocessable("invalid_field", "limit must be 1 to 1000").with_field(Some("limit")));
    }
    let account_id = match &query.account {
        Some(username) => match store.customer_by_username(username).await {
            Ok(customer) => Some(customer.billing_account_id),
            Err(backend::auth::AuthError::NotFound(_)) => {
                // Looking for an account that does not exist is recorded too.
                let detail = format!("looked for the audit log of unknown account {username}");
                store.audit(operator.id, "audit_log.read", None, &detail, &client).await.map_err(auth_error)?;
                return Err(ApiError::not_found("no such account"));
            }
            Err(e) => return Err(auth_error(e)),
        },
        None => None,
    };
    let detail = match &query.account {
        Some(username) => format!("read the audit log of {username}"),
        None => "read the audit log".to_owned(),
    };
    store.audit(operator.id, "audit_log.read", account_id, &detail, &client).await.map_err(auth_error)?;
    Ok(Json(store.audit_log(account_id, query.limit).await.map_err(auth_error)?))
}
