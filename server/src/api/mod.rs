//! The JSON API under `/api/v1`. Every error is `{"error":{"code","message"}}` with a status that
//! says what kind of problem it is; internal details are logged, never returned.

mod error;
mod plan;

use axum::Router;
use axum::routing::post;

pub use error::ApiError;

use crate::router::AppState;

/// Who may call each endpoint is stated next to its route.
pub fn routes() -> Router<AppState> {
    Router::new()
        // anonymous: a plan is a pure computation on the caller's own input.
        .route("/plan", post(plan::plan))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}
