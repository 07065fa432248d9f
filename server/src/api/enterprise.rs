//! Enterprise (real-name) verification: the customer's submission and the operators' review.

use axum::Json;
use axum::extract::{Path, State};
use backend::Store;
use backend::enterprise::{Enterprise, EnterpriseSubmission, Review};
use serde::Deserialize;

use super::{ApiError, json};
use crate::auth::{ClientAddress, CustomerSession, OperatorToken};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enterprise_name": "杭州示例科技有限公司", "credit_code": "91330100716105852F", "contact_name": "王小明", "contact_phone": "+86 138 0000 0000", "licence_attachment_id": 42}))]
pub(super) struct SubmitEnterprise {
    /// The enterprise's registered name (1 to 100 characters).
    #[schema(max_length = 100)]
    enterprise_name: String,
    /// The unified social credit code: 18 characters, the last a check character (GB 32100-2015).
    #[schema(max_length = 18)]
    credit_code: String,
    /// Who to call about the verification (1 to 50 characters).
    #[schema(max_length = 50)]
    contact_name: String,
    /// Digits with spaces, `+`, `-`, `(`, `)` (5 to 20 digits).
    #[schema(max_length = 32)]
    contact_phone: String,
    /// The business licence, uploaded first (`POST /attachments`): a PNG, JPEG or PDF of this
    /// account's, or the one already on file.
    licence_attachment_id: i64,
}

/// The account's enterprise verification
///
/// customer: `state` is `unverified`, `pending_review`, `verified` or `rejected` (with the
/// operator's `rejection_reason`), and what was submitted.
#[utoipa::path(
    get,
    path = "/enterprise",
    tag = "accounts",
    security(("session" = [])),
    responses((status = 200, description = "The verification", body = super::schema::EnterpriseVerification)),
)]
pub async fn enterprise(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<Enterprise>, ApiError> {
    let account = session.account_id;
    Ok(Json(store.enterprise(account).await?))
}

/// Submit the enterprise for verification
///
/// customer + X-CSRF-Token: the submission waits for an operator's review (`pending_review`).
/// A rejected one may be submitted again; a verified one submitted again is reviewed again.
#[utoipa::path(
    post,
    path = "/enterprise",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    request_body = SubmitEnterprise,
    responses(
        (status = 200, description = "Waiting for review", body = super::schema::EnterpriseVerification),
        (status = 400, description = "`invalid_credit_code` (field `credit_code`)", body = super::ApiErrorBody),
        (status = 404, description = "`attachment_not_found` (field `licence_attachment_id`): no unused upload of this account", body = super::ApiErrorBody),
        (status = 409, description = "`verification_pending`: one waits for review already; `attachment_in_use`", body = super::ApiErrorBody),
        (status = 422, description = "`invalid_request`, `enterprise_field_invalid` (with `field`), or `attachment_type_refused` (the licence is not an image or a PDF)", body = super::ApiErrorBody),
    ),
)]
pub async fn submit_enterprise(
    State(store): State<Store>,
    session: CustomerSession,
    body: json::RawBody,
) -> Result<Json<Enterprise>, ApiError> {
    session.require_csrf_header()?;
    let request: SubmitEnterprise = json::parse(body)?;
    let account = session.account_id;
    Ok(Json(
        store
            .submit_enterprise(
                account,
                &EnterpriseSubmission {
                    enterprise_name: request.enterprise_name,
                    credit_code: request.credit_code,
                    contact_name: request.contact_name,
                    contact_phone: request.contact_phone,
                    licence_attachment_id: request.licence_attachment_id,
                },
            )
            .await?,
    ))
}

/// Withdraw the submission
///
/// customer + X-CSRF-Token: takes back the submission that waits for review (`withdrawn`); an
/// operator can then no longer decide it, and the customer may submit again.
#[utoipa::path(
    post,
    path = "/enterprise/withdraw",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Withdrawn", body = super::schema::EnterpriseVerification),
        (status = 409, description = "`verification_not_pending`: nothing waits for review; `verification_changed`: not the submission of `submitted_at`", body = super::ApiErrorBody),
    ),
)]
pub async fn withdraw_enterprise(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<Enterprise>, ApiError> {
    session.require_csrf_header()?;
    let account = session.account_id;
    Ok(Json(store.withdraw_enterprise(account).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "reject", "reason": "The licence is not legible."}))]
pub(super) struct ReviewRequest {
    /// `approve` or `reject`.
    #[schema(pattern = "^(approve|reject)$")]
    decision: String,
    /// Why, with `reject` (1 to 500 characters); shown to the customer.
    #[serde(default)]
    #[schema(nullable = false, max_length = 500)]
    reason: Option<String>,
    /// The `submitted_at` of the submission the operator was shown: if it was withdrawn and
    /// submitted again since, 409 `verification_changed` and nothing is decided.
    #[serde(default)]
    #[schema(nullable = false)]
    submitted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Review an enterprise verification
///
/// operator: approve or reject (with a reason) the submission of account `{id}` that waits for
/// review; audited; the account holder is mailed.
#[utoipa::path(
    post,
    path = "/ops/enterprise/{id}/review",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The billing account")),
    request_body = ReviewRequest,
    responses(
        (status = 200, description = "Decided", body = super::schema::EnterpriseVerification),
        (status = 404, description = "`account_unknown`: no such account (or an id that is not one)", body = super::ApiErrorBody),
        (status = 409, description = "`verification_not_pending`: nothing waits for review", body = super::ApiErrorBody),
        (status = 422, description = "`invalid_request` or `enterprise_field_invalid` (field `reason`)", body = super::ApiErrorBody),
    ),
)]
pub async fn review_enterprise(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(account): Path<String>,
    body: json::RawBody,
) -> Result<Json<Enterprise>, ApiError> {
    let account = super::support::path_id(&account, || {
        ApiError::from(backend::enterprise::EnterpriseError::AccountNotFound)
    })?;
    let request: ReviewRequest = json::parse(body)?;
    let shown = request.submitted_at;
    let review = match (request.decision.as_str(), request.reason) {
        ("approve", None) => Review::Approve,
        ("reject", Some(reason)) => Review::Reject { reason },
        ("approve", Some(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "an approval takes no reason",
            ));
        }
        ("reject", None) => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "a rejection needs a reason",
            ));
        }
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_request",
                "decision is approve or reject",
            ));
        }
    };
    Ok(Json(
        store
            .review_enterprise_shown(&operator, account, &review, shown, &client)
            .await?,
    ))
}

/// An account's enterprise verification (operators)
///
/// operator: what account `{id}` submitted, with its licence (`GET /ops/attachments/{id}`);
/// the view is audited.
#[utoipa::path(
    get,
    path = "/ops/enterprise/{id}",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The billing account")),
    responses(
        (status = 200, description = "The verification", body = super::schema::EnterpriseVerification),
        (status = 404, description = "`account_unknown`", body = super::ApiErrorBody),
    ),
)]
pub async fn ops_enterprise(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(account): Path<String>,
) -> Result<Json<Enterprise>, ApiError> {
    let account = super::support::path_id(&account, || {
        ApiError::from(backend::enterprise::EnterpriseError::AccountNotFound)
    })?;
    Ok(Json(
        store
            .enterprise_for_operator(&operator, account, &client)
            .await?,
    ))
}
