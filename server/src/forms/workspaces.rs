//! The workspaces page's form posts (customer + CSRF): bind a workspace, give one a new key. The new
//! key travels to the page in a short-lived HttpOnly cookie (`app::workspaces::NEW_KEY_COOKIE`),
//! which the page clears as it shows it: a key never appears in a URL or a log line.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use backend::workspaces::{WorkspaceError, WorkspaceWithKey};
use serde::Deserialize;

use super::{back_with, see_other};
use crate::router::AppState;

async fn account_of(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<i64, Response> {
    super::customer_account(&state.store, headers, csrf, "/workspaces").await
}

fn back(error: WorkspaceError) -> Response {
    let (code, field) = match &error {
        WorkspaceError::InvalidWorkspaceId(_) => ("workspace_id_invalid", Some("workspace_id")),
        WorkspaceError::InvalidName => ("workspace_name_invalid", Some("name")),
        WorkspaceError::AlreadyBoundHere(_) => ("workspace_already_bound", Some("workspace_id")),
        WorkspaceError::BoundElsewhere(_) => ("workspace_bound_elsewhere", Some("workspace_id")),
        WorkspaceError::NotFound(_) => ("workspace_not_found", None),
        WorkspaceError::Database(e) => {
            tracing::error!(error = %e, "workspace form failed");
            ("internal", None)
        }
    };
    back_with("/workspaces", code, field, &[], "")
}

/// To the page, carrying the new key in a cookie only /workspaces receives, for two minutes.
fn show_key(made: &WorkspaceWithKey, secure: bool) -> Response {
    let cookie = format!(
        "{}={}:{}; Path=/workspaces; HttpOnly; SameSite=Strict; Max-Age=120{}",
        app::workspaces::NEW_KEY_COOKIE,
        made.workspace.workspace_id,
        made.api_key,
        if secure { "; Secure" } else { "" }
    );
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => see_other("/workspaces", Some(cookie)),
        Err(_) => back_with("/workspaces", "internal", None, &[], ""),
    }
}

#[derive(Debug, Deserialize)]
pub struct BindForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    workspace_id: String,
    #[serde(default)]
    name: String,
}

/// customer + CSRF: binds a workspace and shows its key once.
pub async fn bind_workspace(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<BindForm>,
) -> Response {
    let account_id = match account_of(&state, &headers, &form.csrf).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    match state
        .store
        .bind_workspace(account_id, form.workspace_id.trim(), &form.name)
        .await
    {
        Ok(made) => show_key(&made, state.settings.secure_cookies.0),
        Err(e) => back(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
}

/// customer + CSRF: replaces a workspace's key and shows the new one once.
pub async fn rotate_workspace_key(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let account_id = match account_of(&state, &headers, &form.csrf).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    match state
        .store
        .rotate_workspace_key(account_id, &workspace_id)
        .await
    {
        Ok(made) => show_key(&made, state.settings.secure_cookies.0),
        Err(e) => back(e),
    }
}
