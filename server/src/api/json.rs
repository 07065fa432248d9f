//! Reading JSON request bodies with the API's own errors: not UTF-8 or not JSON is 400
//! `malformed_json`; JSON of the wrong shape (missing or unknown fields, wrong types) is 422
//! `invalid_request`.

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use super::ApiError;

/// What a handler takes as its body, so that even axum's rejections become JSON errors.
pub type RawBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

pub fn parse<T: DeserializeOwned>(body: RawBody) -> Result<T, ApiError> {
    let text = body_text(body)?;
    serde_json::from_str(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::unprocessable("invalid_request", e.to_string())
        }
        _ => ApiError::bad_request(
            "malformed_json",
            format!("the request body is not valid JSON: {e}"),
        ),
    })
}

/// The body as text, with the API's errors: a body over the 2 MB limit is 413 `too_large`, one that
/// is not UTF-8 is 400 `malformed_json` (axum's own rejections would answer in plain text).
pub fn body_text(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<String, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than this endpoint accepts (2 MB; 8 MB for usage reports)",
            )
        } else {
            ApiError::bad_request("malformed_json", rejection.body_text())
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("malformed_json", "the request body is not UTF-8 text"))
}
