//! The JSON API under `/api/v1`. Every error is `{"error":{"code","message"}}` with a status that
//! says what kind of problem it is; internal details are logged, never returned.

mod accounts;
mod error;
mod idempotency;
mod json;
mod ops;
mod plan;
pub mod topups;
mod wallet;

use axum::Router;
use axum::routing::{get, post};

pub use error::ApiError;

use crate::router::AppState;

/// Who may call each endpoint is stated next to its route.
pub fn routes() -> Router<AppState> {
    Router::new()
        // anonymous: a plan is a pure computation on the caller's own input.
        .route("/plan", post(plan::plan))
        // anonymous: sign up (opens the account and signs it in).
        .route("/accounts", post(accounts::sign_up))
        // customer: their own billing account's balances; any other id is 404.
        .route("/accounts/{id}", get(accounts::account))
        // anonymous: sign in; customer + X-CSRF-Token: sign out.
        .route(
            "/session",
            post(accounts::sign_in).delete(accounts::sign_out),
        )
        // customer: the signed-in customer and the session's CSRF token.
        .route("/me", get(accounts::me))
        // customer: balances usable now; vouchers; prepaid cards.
        .route("/wallet", get(wallet::wallet))
        .route("/movements", get(wallet::movements))
        .route("/vouchers", get(wallet::vouchers))
        .route(
            "/prepaid-cards",
            get(wallet::prepaid_cards).post(wallet::buy_card),
        )
        // customer + X-CSRF-Token (+ optional Idempotency-Key): activate a code; buy a card (above).
        .route("/vouchers/activate", post(wallet::activate))
        // customer (+ X-CSRF-Token to open): top-ups by Alipay or bank transfer; one of them.
        .route("/topups", get(topups::list).post(topups::open))
        .route("/topups/{id}", get(topups::one))
        // operator token: the audit log.
        .route("/ops/audit", get(ops::audit_log))
        // operator token: record a bank transfer; issue vouchers or generate codes; assign a card.
        .route("/ops/bank-transfers", post(ops::record_bank_transfer))
        .route("/ops/vouchers", post(ops::vouchers))
        .route("/ops/prepaid-cards", post(ops::assign_card))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}
