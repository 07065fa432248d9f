//! `POST /api/v1/plan`: the same contract as `billing-center plan`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use billing::plan_json::{PlanRequest, PlanRequestError};

use super::ApiError;

/// Compute a deduction plan
///
/// Computes a deduction plan (PRODUCT.md §3) without changing anything: the same contract as
/// `billing-center plan` on the command line.
#[utoipa::path(
    post,
    path = "/plan",
    tag = "plan",
    request_body = super::schema::PlanRequest,
    responses(
        (status = 200, description = "The plan: each charge's payments in the order taken, the totals per kind of source, the wallet after", body = super::schema::PlanResponse),
        (status = 422, description = "`invalid_wallet` (a wallet that breaks its rules: cash and arrears both above zero, ids not unique or reserved); `too_large` (more than 10,000 charges or 1,000 instruments)", body = super::ApiErrorBody),
    ),
)]
pub async fn plan(body: super::json::RawBody) -> Result<Response, ApiError> {
    let body = super::json::body_text(body)?;
    let response = PlanRequest::from_json(body.as_str())
        .and_then(|request| request.evaluate())
        .map_err(plan_error)?;
    let json = serde_json::to_string(&response).expect("a plan always serialises");
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

fn plan_error(error: PlanRequestError) -> ApiError {
    match error {
        PlanRequestError::MalformedJson(_) => {
            ApiError::bad_request(error.code(), error.to_string())
        }
        _ => ApiError::unprocessable(error.code(), error.to_string()),
    }
}
