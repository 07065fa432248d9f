//! Workspaces a customer binds to their billing account, and the usage API the workspaces call with
//! their own key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use backend::Store;
use backend::change_binding::WorkspaceMove;
use backend::usage::{MAX_RECORDS_PER_REPORT, RejectedRecord, UsageIngested, UsageInput};
use backend::workspaces::{Workspace, WorkspaceError, WorkspaceWithKey};
use serde::Deserialize;

use super::{ApiError, json};
use crate::auth::CustomerSession;

pub(crate) fn workspace_error(error: WorkspaceError) -> ApiError {
    ApiError::from(error)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"workspace_id": "ws-prod", "name": "Production"}))]
pub(super) struct BindRequest {
    /// 1–64 letters, digits, `-`, `_` or `.`; bound to one account only.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    workspace_id: String,
    /// 1–100 characters, without control characters.
    #[schema(pattern = r"^[^\u0000-\u001F\u007F-\u009F]{1,100}$")]
    name: String,
    /// The console's owner token for this workspace: required when the server has a console key
    /// (`CONSOLE_SIGNING_KEY`), so nobody binds a workspace that is not theirs.
    #[serde(default)]
    #[schema(nullable = false)]
    console_token: Option<String>,
}

/// Bind a workspace
///
/// customer + X-CSRF-Token: binds a workspace to the account; the answer carries its API key,
/// shown this once.
#[utoipa::path(
    post,
    path = "/workspaces",
    tag = "workspaces",
    security(("session" = [], "csrf" = [])),
    request_body = BindRequest,
    responses(
        (status = 201, description = "The workspace and its API key (shown this once)", body = super::schema::WorkspaceWithKey),
        (status = 401, description = "`console_token_invalid` (`field: console_token`)", body = super::ApiErrorBody),
        (status = 403, description = "`console_token_required`, `console_token_other_workspace` or `forbidden_role` (not an owner token), with `field: console_token`", body = super::ApiErrorBody),
        (status = 409, description = "`workspace_already_bound` (to this account) or `workspace_bound_elsewhere`", body = super::ApiErrorBody),
        (status = 422, description = "`workspace_id_invalid` or `workspace_name_invalid` (with `field`)", body = super::ApiErrorBody),
        (status = 503, description = "`console_not_configured`: a console token sent to a server without a console key", body = super::ApiErrorBody),
    ),
)]
pub async fn bind(
    State(store): State<Store>,
    session: CustomerSession,
    body: json::RawBody,
) -> Result<(StatusCode, Json<WorkspaceWithKey>), ApiError> {
    session.require_csrf_header()?;
    let request: BindRequest = json::parse(body)?;
    let account = session.account_id;
    let bound = store
        .bind_workspace(
            account,
            request.workspace_id.trim(),
            &request.name,
            request.console_token.as_deref(),
        )
        .await
        .map_err(workspace_error)?;
    Ok((StatusCode::CREATED, Json(bound)))
}

/// Workspaces
///
/// customer: the account's workspaces (keys are never shown again, only their prefix).
#[utoipa::path(
    get,
    path = "/workspaces",
    tag = "workspaces",
    security(("session" = [])),
    responses((status = 200, description = "The account's workspaces", body = Vec<super::schema::Workspace>)),
)]
pub async fn list(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<Vec<Workspace>>, ApiError> {
    let account = session.account_id;
    Ok(Json(
        store.workspaces(account).await.map_err(workspace_error)?,
    ))
}

/// Rotate a workspace's key
///
/// customer + X-CSRF-Token: a new API key for the workspace; the old one stops working at once.
#[utoipa::path(
    post,
    path = "/workspaces/{id}/key",
    tag = "workspaces",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The workspace id")),
    responses((status = 200, description = "The workspace and its new API key (shown this once)", body = super::schema::WorkspaceWithKey)),
)]
pub async fn rotate_key(
    State(store): State<Store>,
    session: CustomerSession,
    Path(workspace_id): Path<String>,
) -> Result<Json<WorkspaceWithKey>, ApiError> {
    session.require_csrf_header()?;
    let account = session.account_id;
    refuse_nul(&workspace_id)?;
    Ok(Json(
        store
            .rotate_workspace_key(account, &workspace_id)
            .await
            .map_err(workspace_error)?,
    ))
}

/// Unbind a workspace
///
/// customer + X-CSRF-Token: unbinds one of the account's workspaces once nothing it reported is
/// left to settle (its key stops working at once; its bills stay in the history).
#[utoipa::path(
    delete,
    path = "/workspaces/{id}",
    tag = "workspaces",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The workspace id")),
    responses(
        (status = 204, description = "Unbound"),
        (status = 409, description = "`unsettled_usage`: usage of today or of a day not billed yet", body = super::ApiErrorBody),
    ),
)]
pub async fn unbind(
    State(store): State<Store>,
    session: CustomerSession,
    Path(workspace_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    session.require_csrf_header()?;
    let account = session.account_id;
    refuse_nul(&workspace_id)?;
    store
        .unbind_workspace(account, &workspace_id)
        .await
        .map_err(workspace_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"console_token": "eyJhbGciOiJIUzI1NiJ9.…"}))]
pub(super) struct ChangeBindingRequest {
    /// The console's owner token for this workspace.
    #[schema(min_length = 1)]
    console_token: String,
}

/// Change a workspace's binding
///
/// customer + X-CSRF-Token: moves a workspace bound to another account onto this one. Allowed only
/// between two accounts verified as the same enterprise (the same credit code), for the owner the
/// console vouches for. Bills already made stay with the other account; the next daily bill comes
/// here. The workspace gets a new usage key (shown this once); its cloud settlement and cost alert
/// are not carried over; both account holders are mailed.
#[utoipa::path(
    post,
    path = "/workspaces/{id}/binding",
    tag = "workspaces",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The workspace id")),
    request_body = ChangeBindingRequest,
    responses(
        (status = 200, description = "The workspace, now bound here, and its new API key (shown this once)", body = super::schema::WorkspaceWithKey),
        (status = 401, description = "`console_token_invalid` (`field: console_token`)", body = super::ApiErrorBody),
        (status = 403, description = "`not_verified` (either account), or `console_token_required`, `console_token_other_workspace`, `forbidden_role` with `field: console_token`", body = super::ApiErrorBody),
        (status = 404, description = "`workspace_not_found`: the workspace is bound to no account", body = super::ApiErrorBody),
        (status = 409, description = "`different_enterprise`, or `workspace_already_bound` (here already)", body = super::ApiErrorBody),
        (status = 503, description = "`console_not_configured`: this server has no console key", body = super::ApiErrorBody),
    ),
)]
pub async fn change_binding(
    State(store): State<Store>,
    session: CustomerSession,
    Path(workspace_id): Path<String>,
    body: json::RawBody,
) -> Result<Json<WorkspaceWithKey>, ApiError> {
    session.require_csrf_header()?;
    let request: ChangeBindingRequest = json::parse(body)?;
    let account = session.account_id;
    refuse_nul(&workspace_id)?;
    Ok(Json(
        store
            .change_binding(account, &workspace_id, &request.console_token)
            .await
            .map_err(workspace_error)?,
    ))
}

/// Workspaces moved
///
/// customer: the workspaces moved onto and off this account by change binding, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/moves",
    tag = "workspaces",
    security(("session" = [])),
    responses((status = 200, description = "The moves", body = Vec<super::schema::WorkspaceMove>)),
)]
pub async fn moves(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<Vec<WorkspaceMove>>, ApiError> {
    let account = session.account_id;
    Ok(Json(
        store
            .workspace_moves(account)
            .await
            .map_err(workspace_error)?,
    ))
}

/// No workspace id has a NUL; PostgreSQL refuses to compare text with one at all, so it is
/// answered here, the same on both databases (it was a 500 there; looked for after
/// Schemathesis found the same in POST /ops/usage/void).
fn refuse_nul(workspace_id: &str) -> Result<(), ApiError> {
    if workspace_id.contains('\0') {
        return Err(workspace_error(WorkspaceError::NotFound(
            workspace_id.replace('\0', "\\0"),
        )));
    }
    Ok(())
}

/// The workspace of `Authorization: Bearer <workspace key>`, or 401.
async fn workspace_of_key(store: &Store, headers: &HeaderMap) -> Result<Workspace, ApiError> {
    let key = crate::auth::bearer_token(headers).ok_or_else(|| {
        ApiError::unauthorized("send the workspace API key as Authorization: Bearer <key>")
    })?;
    let key = key.trim();
    // Not a workspace key: the console's service token, when this server trusts a console.
    if !key.starts_with(backend::workspaces::KEY_PREFIX) && store.console_key().is_some() {
        return store
            .workspace_of_console_service(key)
            .await
            .map_err(workspace_error);
    }
    store
        .workspace_by_key(key)
        .await
        .map_err(workspace_error)?
        .ok_or_else(|| {
            ApiError::unauthorized("this workspace API key is not valid (it may have been rotated)")
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageReport {
    records: Vec<serde_json::Value>,
}

/// A record of the wrong shape is refused on its own, like any other bad record.
fn usage_input(index: usize, value: serde_json::Value) -> Result<UsageInput, RejectedRecord> {
    let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    // Quantities may come as JSON numbers when they are whole; decimals must be strings (exact).
    let mut value = value;
    if let Some(q) = value.get_mut("quantity")
        && let Some(n) = q.as_u64()
    {
        *q = serde_json::Value::String(n.to_string());
    }
    serde_json::from_value::<StrictUsageInput>(value)
        .map(|r| UsageInput {
            id: r.id,
            item: r.item,
            retention_days: r.retention_days,
            quantity: r.quantity,
            day: r.day,
        })
        .map_err(|e| {
            RejectedRecord::new(
                index,
                id.as_deref(),
                "invalid_record",
                format!(
                    "a record is {{\"id\",\"item\",\"retention_days\"?,\"quantity\",\"day\"}}: {e}"
                ),
            )
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictUsageInput {
    id: String,
    item: String,
    #[serde(default)]
    retention_days: Option<i64>,
    quantity: String,
    day: String,
}

/// Report usage
///
/// workspace key: stores a usage report of up to 10,000 records (body up to 8 MB). A record id
/// stored before (or repeated in the report) is a duplicate and changes nothing; each bad record
/// is refused on its own (`rejected`), the others are stored.
#[utoipa::path(
    post,
    path = "/usage",
    tag = "workspaces",
    security(("workspace_key" = []), ("console_token" = [])),
    request_body = super::schema::UsageReport,
    responses(
        (status = 200, description = "What was stored, what was seen before, and each refused record with its code", body = super::schema::UsageIngested),
        (status = 403, description = "A console token that is not a service token (`forbidden_role`) or is for a workspace bound without the console's proof (`workspace_not_console_bound`)", body = super::ApiErrorBody),
        (status = 404, description = "`workspace_not_found`: a console token for a workspace not bound", body = super::ApiErrorBody),
        (status = 422, description = "`invalid_field` (`field: records`): no records, or more than 10,000", body = super::ApiErrorBody),
    ),
)]
pub async fn report_usage(
    State(store): State<Store>,
    headers: HeaderMap,
    body: json::RawBody,
) -> Result<Json<UsageIngested>, ApiError> {
    let workspace = workspace_of_key(&store, &headers).await?;
    let report: UsageReport = json::parse(body)?;
    if report.records.is_empty() || report.records.len() > MAX_RECORDS_PER_REPORT {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!(
                "a report has 1 to {MAX_RECORDS_PER_REPORT} records (got {})",
                report.records.len()
            ),
        )
        .with_field(Some("records")));
    }
    let mut inputs = Vec::with_capacity(report.records.len());
    let mut shape_errors = Vec::new();
    let mut positions = Vec::with_capacity(report.records.len());
    for (index, value) in report.records.into_iter().enumerate() {
        match usage_input(index, value) {
            Ok(input) => {
                positions.push(index);
                inputs.push(input);
            }
            Err(rejected) => shape_errors.push(rejected),
        }
    }
    let mut outcome = store
        .ingest_usage(&workspace, &inputs)
        .await
        .map_err(ApiError::internal)?;
    // The store numbered the well-formed records among themselves; give back report positions.
    for rejected in &mut outcome.rejected {
        rejected.index = positions[rejected.index];
    }
    outcome.rejected.extend(shape_errors);
    outcome.rejected.sort_by_key(|r| r.index);
    crate::metrics::record_usage(&outcome);
    Ok(Json(outcome))
}
