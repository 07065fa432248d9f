//! `POST /api/v1/plan`: the same contract as `billing-center plan`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use billing::plan_json::{PlanRequest, PlanRequestError};

use super::ApiError;

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
