//! The SaaS console's side of the API (docs/INTEGRATION.md): a workspace's status for the console
//! itself (service token) and the billing panel for its owners and administrators (their token).
//! Every route here is authenticated by a console token only: `Authorization: Bearer <jwt>`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use backend::Store;
use backend::console::{ConsoleClaims, ConsoleRole};
use backend::panel::{ConsoleStatus, WorkspacePanel};
use serde::Deserialize;

use super::ApiError;

/// The claims of `Authorization: Bearer <console token>`, verified: 401 without one or with one
/// that is not valid, 503 on a server without a console key.
pub(crate) fn console_claims(
    store: &Store,
    headers: &HeaderMap,
) -> Result<ConsoleClaims, ApiError> {
    let token = crate::auth::bearer_token(headers)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("send the console token as Authorization: Bearer <token>")
        })?;
    Ok(store.verify_console_token(token)?)
}

/// A workspace's status for the console
///
/// console service token: whether the workspace is bound, how it settles, and the paying
/// account's arrears and since when, so the console can warn or restrict it.
#[utoipa::path(
    get,
    path = "/console/workspaces/{ws}",
    tag = "console",
    security(("console_token" = [])),
    params(("ws" = String, Path, description = "The workspace id (the token's `ws`)")),
    responses(
        (status = 200, description = "The workspace's status", body = super::schema::ConsoleStatus),
        (status = 403, description = "`console_token_other_workspace` or `forbidden_role` (not a service token)", body = super::ApiErrorBody),
    ),
)]
pub async fn status(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(workspace_id): Path<String>,
) -> Result<Json<ConsoleStatus>, ApiError> {
    let claims = console_claims(&store, &headers)?;
    claims
        .for_workspace(&workspace_id)?
        .with_role(&[ConsoleRole::Service])?;
    Ok(Json(store.console_status(&workspace_id).await?))
}

/// Other parameters (a console's cache-buster) are ignored.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PanelQuery {
    /// `YYYY-MM`; default this month (settlement timezone).
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}$")]
    month: Option<String>,
}

/// A workspace's billing panel
///
/// console owner or administrator token: the paying account's balances, the usage reported
/// today and yesterday, what a month cost by item and by day, and what the role may do. A member
/// is refused (403 `forbidden_role`).
#[utoipa::path(
    get,
    path = "/panel/workspaces/{ws}",
    tag = "console",
    security(("console_token" = [])),
    params(("ws" = String, Path, description = "The workspace id (the token's `ws`)"), PanelQuery),
    responses(
        (status = 200, description = "The panel", body = super::schema::WorkspacePanel),
        (status = 403, description = "`console_token_other_workspace` or `forbidden_role` (a member or service token)", body = super::ApiErrorBody),
        (status = 422, description = "`month_invalid` (`field: month`)", body = super::ApiErrorBody),
    ),
)]
pub async fn panel(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(workspace_id): Path<String>,
    Query(query): Query<PanelQuery>,
) -> Result<Json<WorkspacePanel>, ApiError> {
    let claims = console_claims(&store, &headers)?;
    claims
        .for_workspace(&workspace_id)?
        .with_role(&[ConsoleRole::Owner, ConsoleRole::Administrator])?;
    let month = match query.month.as_deref() {
        None => None,
        Some(text) => Some(backend::panel::parse_month(text).ok_or_else(|| {
            ApiError::unprocessable(
                "month_invalid",
                format!("month must be YYYY-MM, like 2026-12 (got '{text}')"),
            )
            .with_field(Some("month"))
        })?),
    };
    Ok(Json(
        store
            .workspace_panel(&workspace_id, claims.role, month)
            .await?,
    ))
}
