//! Every answer under `/api/v1` is in the API's contract, refusals included: whatever a layer
//! below the handlers answers in its own shape (axum's plain-text 400 for a query or path it cannot
//! read, an empty 405 for a wrong method, the site's HTML 404 for a path outside the API's
//! router) is rewritten here into `{"error":{"code","message"}}` with the same status and
//! headers. Handlers' own errors are JSON already and pass untouched.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::ApiError;

/// Rejections are short texts; anything longer is cut (and a 5xx text is never shown at all).
const MAX_MESSAGE_BYTES: usize = 2_048;

pub async fn json_errors(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match body.collect().await {
        Ok(bytes) => {
            let bytes = bytes.to_bytes();
            let cut = &bytes[..bytes.len().min(MAX_MESSAGE_BYTES)];
            String::from_utf8_lossy(cut).trim().to_owned()
        }
        Err(_) => String::new(),
    };
    let is_html = text.starts_with('<');
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("no such API endpoint or resource"),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            ApiError::new(
                status,
                "method_not_allowed",
                format!("this endpoint does not take that method (allowed: {allowed})"),
            )
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "payload_too_large", "the request body is too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            if text.is_empty() || is_html {
                "send the body as application/json".to_owned()
            } else {
                text
            },
        ),
        s if s.is_server_error() => ApiError::internal(format!("{s}: {text}")),
        s => ApiError::new(
            s,
            "bad_request",
            if text.is_empty() || is_html {
                s.canonical_reason().unwrap_or("bad request").to_owned()
            } else {
                text
            },
        ),
    };
    let mut rewritten = error.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}
