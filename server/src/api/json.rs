//! Reading JSON request bodies with the API's own errors: not UTF-8 or not JSON is 400
//! `malformed_json`; JSON of the wrong shape (missing or unknown fields, wrong types) is 422
//! `invalid_request`.

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use super::ApiError;

pub fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("malformed_json", "the request body is not UTF-8 text"))?;
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::unprocessable("invalid_request", e.to_string()),
        _ => ApiError::bad_request("malformed_json", format!("the request body is not valid JSON: {e}")),
    })
}
