//! Account recovery, proof of address and alerts: `/password-reset`, `/email-confirmation`,
//! `/notifications`, a workspace's daily cost alert, and the outbox at `/ops/mail`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use backend::Store;
use backend::mail::settings::{NotificationSettings, SettingsChange};
use backend::workspaces::Workspace;
use serde::{Deserialize, Serialize};

use super::{ApiError, json};
use crate::auth::{CustomerSession, OperatorToken};

/// `{"message": …}`: what a 202 says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    message: &'static str,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "alice"}))]
pub(super) struct ResetRequest {
    /// The username or the email address.
    #[schema(max_length = 254)]
    login: String,
}

/// Ask for a password reset
///
/// anonymous: mails a link (`PUBLIC_URL/reset-password?token=…`, valid 30 minutes, once) to the
/// account whose username or email is `login`. Always 202, whether or not there is such an
/// account; at most 3 links per account per hour. An address never confirmed gets a new
/// confirmation link instead.
#[utoipa::path(
    post,
    path = "/password-reset",
    tag = "accounts",
    request_body = ResetRequest,
    responses((status = 202, description = "Accepted (the same answer for every login)", body = Accepted)),
)]
pub async fn password_reset(
    State(store): State<Store>,
    body: json::RawBody,
) -> Result<Response, ApiError> {
    let request: ResetRequest = json::parse(body)?;
    store.request_password_reset(&request.login).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "if an account has this login, a link to reset its password was mailed to its address",
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "3f9a…", "new_password": "a brand new passphrase"}))]
pub(super) struct ResetConfirm {
    /// The `token` of the mailed link.
    #[schema(max_length = 256)]
    token: String,
    /// The sign-up policy: 8–128 characters, not the username, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// Set a new password with a mailed link
///
/// anonymous: sets the password and ends every session of the account.
#[utoipa::path(
    post,
    path = "/password-reset/confirm",
    tag = "accounts",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session of the account has ended"),
        (status = 400, description = "`invalid_token`: the link is unknown, used or expired", body = super::ApiErrorBody),
        (status = 422, description = "`password_too_short`, `password_too_long`, `password_same_as_username` or `password_too_common` (`field: new_password`); the link stays usable", body = super::ApiErrorBody),
    ),
)]
pub async fn password_reset_confirm(
    State(store): State<Store>,
    body: json::RawBody,
) -> Result<StatusCode, ApiError> {
    let request: ResetConfirm = json::parse(body)?;
    store
        .reset_password(&request.token, &request.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a new confirmation link
///
/// customer + X-CSRF-Token: sends the account's address a new confirmation link (valid 24 hours;
/// at most 3 per hour).
#[utoipa::path(
    post,
    path = "/email-confirmation",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 202, description = "A link was mailed (unless 3 went out this hour)", body = Accepted),
        (status = 409, description = "`email_already_confirmed`", body = super::ApiErrorBody),
    ),
)]
pub async fn email_confirmation(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Response, ApiError> {
    session.require_csrf_header()?;
    store.resend_email_confirmation(session.customer_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "a confirmation link was mailed to the account's address",
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "3f9a…"}))]
pub(super) struct ConfirmEmail {
    /// The `token` of the mailed link.
    #[schema(max_length = 256)]
    token: String,
}

/// Confirm an address with a mailed link
///
/// anonymous: what opening `PUBLIC_URL/confirm-email?token=…` does, for programs.
#[utoipa::path(
    post,
    path = "/email-confirmation/confirm",
    tag = "accounts",
    request_body = ConfirmEmail,
    responses(
        (status = 204, description = "The address is confirmed"),
        (status = 400, description = "`invalid_token`: unknown, used, expired, or for an address the account no longer has", body = super::ApiErrorBody),
    ),
)]
pub async fn email_confirmation_confirm(
    State(store): State<Store>,
    body: json::RawBody,
) -> Result<StatusCode, ApiError> {
    let request: ConfirmEmail = json::parse(body)?;
    store.confirm_email(&request.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Notification settings
///
/// customer: the low-balance threshold (default 100.00), which alerts are on, the language of
/// the account's mail and where it goes.
#[utoipa::path(
    get,
    path = "/notifications",
    tag = "accounts",
    security(("session" = [])),
    responses((status = 200, description = "The settings", body = super::schema::NotificationSettings)),
)]
pub async fn notifications(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<NotificationSettings>, ApiError> {
    Ok(Json(
        store.notification_settings(session.customer_id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"low_balance_threshold": "200.00", "alerts": {"expiring": false}, "language": "en"}))]
pub(super) struct NotificationsChange {
    /// Yuan with at most two decimals, 0 to 100,000,000.00.
    #[serde(default)]
    #[schema(value_type = Option<super::schema::MoneyInput>, nullable = false)]
    low_balance_threshold: Option<billing::Amount>,
    /// Only the alerts named change.
    #[serde(default)]
    #[schema(nullable = false)]
    alerts: Option<AlertsChange>,
    #[serde(default)]
    #[schema(value_type = Option<super::schema::Language>, nullable = false)]
    language: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsChange {
    #[serde(default)]
    #[schema(nullable = false)]
    low_balance: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    arrears: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    top_up_credited: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    expiring: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    daily_cost: Option<bool>,
}

/// Change notification settings
///
/// customer + X-CSRF-Token: what is given changes, what is left out stays.
#[utoipa::path(
    put,
    path = "/notifications",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    request_body = NotificationsChange,
    responses(
        (status = 200, description = "The settings after the change", body = super::schema::NotificationSettings),
        (status = 422, description = "`threshold_invalid` (`field: low_balance_threshold`) or `language_unsupported` (`field: language`)", body = super::ApiErrorBody),
    ),
)]
pub async fn change_notifications(
    State(store): State<Store>,
    session: CustomerSession,
    body: json::RawBody,
) -> Result<Json<NotificationSettings>, ApiError> {
    session.require_csrf_header()?;
    let request: NotificationsChange = json::parse(body)?;
    let change = SettingsChange {
        low_balance_threshold: request.low_balance_threshold,
        alerts: request
            .alerts
            .map(|a| backend::mail::settings::AlertsChange {
                low_balance: a.low_balance,
                arrears: a.arrears,
                top_up_credited: a.top_up_credited,
                expiring: a.expiring,
                daily_cost: a.daily_cost,
            }),
        language: request.language,
    };
    Ok(Json(
        store
            .change_notification_settings(session.customer_id, &change)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"threshold": "500.00"}))]
pub(super) struct DailyCostAlert {
    /// A day's bill above this is mailed; `null` turns the alert off.
    #[schema(value_type = Option<super::schema::MoneyInput>)]
    threshold: Option<billing::Amount>,
}

/// Set a workspace's daily cost alert
///
/// customer + X-CSRF-Token: the high-consumption alert of one of the account's workspaces.
#[utoipa::path(
    put,
    path = "/workspaces/{id}/daily-cost-alert",
    tag = "workspaces",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The workspace id")),
    request_body = DailyCostAlert,
    responses(
        (status = 200, description = "The workspace", body = super::schema::Workspace),
        (status = 404, description = "`workspace_not_found`: not bound to this account", body = super::ApiErrorBody),
        (status = 422, description = "`threshold_invalid`", body = super::ApiErrorBody),
    ),
)]
pub async fn daily_cost_alert(
    State(store): State<Store>,
    session: CustomerSession,
    Path(workspace_id): Path<String>,
    body: json::RawBody,
) -> Result<Json<Workspace>, ApiError> {
    session.require_csrf_header()?;
    let request: DailyCostAlert = json::parse(body)?;
    let account = session.account_id;
    Ok(Json(
        store
            .set_daily_cost_alert(account, &workspace_id, request.threshold)
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxReport {
    #[schema(value_type = super::schema::OutboxSummary)]
    summary: backend::mail::outbox::OutboxSummary,
    /// Messages given up or failing, newest first (at most 100).
    #[schema(value_type = Vec<super::schema::OutboxEntry>)]
    troubled: Vec<backend::mail::outbox::OutboxEntry>,
    /// Whether this server delivers mail (`SMTP_URL` is set).
    smtp_configured: bool,
}

/// The outbox
///
/// operator: how much mail waits, how much was given up, and the messages in trouble (never
/// their bodies: a reset link is the customer's alone).
#[utoipa::path(
    get,
    path = "/ops/mail",
    tag = "ops",
    security(("operator_token" = [])),
    responses((status = 200, description = "The outbox", body = OutboxReport)),
)]
pub async fn outbox(
    State(store): State<Store>,
    State(settings): State<std::sync::Arc<crate::router::Settings>>,
    OperatorToken(_operator): OperatorToken,
) -> Result<Json<OutboxReport>, ApiError> {
    Ok(Json(OutboxReport {
        summary: store.outbox_summary().await.map_err(ApiError::internal)?,
        troubled: store.troubled_mail(100).await.map_err(ApiError::internal)?,
        smtp_configured: settings.smtp_configured,
    }))
}
