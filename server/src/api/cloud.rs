//! Cloud marketplace settlement: a workspace's settlement method and the account's cloud
//! accounts (the subscriptions it named).

use axum::Json;
use axum::extract::{Path, State};
use backend::Store;
use backend::cloud::{CloudAccount, SettlementChoice};
use backend::workspaces::Workspace;
use serde::Deserialize;

use super::{ApiError, json};
use crate::auth::{ClientAddress, CustomerSession, OperatorToken};

/// `{"method": "account"}`, or a cloud with the buyer's account id there and the instance id
/// Billing Center gave the subscription.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"method": "aliyun", "account_id": "1234567890", "instance_id": "bc-aliyun-3f9a0c1d2e4b5a6978c1d2e3f4a5b6c7"}))]
pub(super) struct SettlementRequest {
    /// `account`, `aliyun`, `huawei` or `aws`.
    #[schema(pattern = "^(account|aliyun|huawei|aws)$")]
    method: String,
    /// The buyer's account id at the cloud (Alibaba `aliUid`, Huawei `customerId`, the AWS
    /// account id); with a cloud method.
    #[serde(default)]
    #[schema(nullable = false)]
    account_id: Option<String>,
    /// The subscription's instance id, as the marketplace shows it to the buyer.
    #[serde(default)]
    #[schema(nullable = false)]
    instance_id: Option<String>,
}

fn choice(request: SettlementRequest) -> Result<SettlementChoice, ApiError> {
    let cloud = |request: &SettlementRequest| -> Result<(String, String), ApiError> {
        match (&request.account_id, &request.instance_id) {
            (Some(account), Some(instance)) => Ok((account.clone(), instance.clone())),
            _ => Err(ApiError::unprocessable(
                "invalid_request",
                "a cloud method needs account_id and instance_id",
            )),
        }
    };
    match request.method.as_str() {
        "account" if request.account_id.is_none() && request.instance_id.is_none() => {
            Ok(SettlementChoice::Account)
        }
        "account" => Err(ApiError::unprocessable(
            "invalid_request",
            "the account method takes no account_id or instance_id",
        )),
        "aliyun" => {
            let (account_id, instance_id) = cloud(&request)?;
            Ok(SettlementChoice::Aliyun {
                account_id,
                instance_id,
            })
        }
        "huawei" => {
            let (account_id, instance_id) = cloud(&request)?;
            Ok(SettlementChoice::Huawei {
                account_id,
                instance_id,
            })
        }
        "aws" => {
            let (account_id, instance_id) = cloud(&request)?;
            Ok(SettlementChoice::Aws {
                account_id,
                instance_id,
            })
        }
        _ => Err(ApiError::unprocessable(
            "invalid_request",
            "method is account, aliyun, huawei or aws",
        )),
    }
}

/// Change a workspace's settlement method
///
/// customer + X-CSRF-Token: the workspace settles through the account or through a cloud
/// subscription, from the next bill; at most once per calendar month (settlement timezone).
#[utoipa::path(
    put,
    path = "/workspaces/{id}/settlement",
    tag = "workspaces",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The workspace id")),
    request_body = SettlementRequest,
    responses(
        (status = 200, description = "The workspace as it settles now", body = super::schema::Workspace),
        (status = 404, description = "`workspace_not_found`, or `cloud_instance_not_found` (no subscription of that cloud account has this instance)", body = super::ApiErrorBody),
        (status = 409, description = "`settlement_changed_this_month`, `cloud_subscription_ended` or `cloud_instance_of_another_account`", body = super::ApiErrorBody),
        (status = 422, description = "`invalid_request` or `cloud_field_invalid` (with `field`)", body = super::ApiErrorBody),
    ),
)]
pub async fn change_settlement(
    State(store): State<Store>,
    session: CustomerSession,
    Path(workspace_id): Path<String>,
    body: json::RawBody,
) -> Result<Json<Workspace>, ApiError> {
    session.require_csrf_header()?;
    let request: SettlementRequest = json::parse(body)?;
    let choice = choice(request)?;
    let account = session.account_id;
    Ok(Json(
        store
            .change_settlement(account, &workspace_id, &choice)
            .await?,
    ))
}

/// Cloud accounts
///
/// customer: the cloud subscriptions the account settles through (or named once), with the
/// workspaces using each.
#[utoipa::path(
    get,
    path = "/cloud-accounts",
    tag = "workspaces",
    security(("session" = [])),
    responses((status = 200, description = "The account's cloud accounts", body = Vec<super::schema::CloudAccount>)),
)]
pub async fn cloud_accounts(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<Vec<CloudAccount>>, ApiError> {
    let account = session.account_id;
    Ok(Json(store.cloud_accounts(account).await?))
}

/// What an operator says of a metering record they reported to the marketplace by hand.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "reported in the AWS Marketplace portal, case 1234"}))]
pub(super) struct ResolveMetering {
    /// How it was reported (1 to 300 characters, without control characters): kept with the
    /// record and in the audit log.
    #[schema(min_length = 1, max_length = 300)]
    note: String,
}

/// Resolve a metering record by hand
///
/// operator: a record the marketplace will not take any more (past AWS's 6-hour window, a
/// customer AWS says is not subscribed) was reported by hand: it is marked pushed, with the
/// note; audited.
#[utoipa::path(
    post,
    path = "/ops/metering/{id}/resolve",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The metering record (as /ops lists it)")),
    request_body = ResolveMetering,
    responses(
        (status = 204, description = "Marked pushed"),
        (status = 404, description = "`not_found`: no waiting record has this id", body = super::ApiErrorBody),
        (status = 422, description = "`invalid_request`", body = super::ApiErrorBody),
    ),
)]
pub async fn resolve_metering(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(id): Path<i64>,
    body: json::RawBody,
) -> Result<axum::http::StatusCode, ApiError> {
    let request: ResolveMetering = json::parse(body)?;
    if store
        .resolve_metering(id, &operator, &request.note, &client)
        .await?
    {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "no waiting metering record has this id",
        ))
    }
}
