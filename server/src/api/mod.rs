//! The JSON API under `/api/v1`. Every error is `{"error":{"code","message"}}` with a status that
//! says what kind of problem it is; internal details are logged, never returned.

mod accounts;
mod error;
pub mod error_shape;
mod idempotency;
mod json;
mod ops;
mod plan;
pub(crate) mod statements;
pub mod topups;
mod wallet;
mod workspaces;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

pub use error::ApiError;

/// The billing account of the signed-in customer (every customer route works on their own).
pub(crate) async fn customer_account(
    store: &backend::Store,
    session: &crate::auth::CustomerSession,
) -> Result<i64, ApiError> {
    Ok(store
        .customer(session.customer_id)
        .await
        .map_err(accounts::auth_error)?
        .billing_account_id)
}

use crate::router::AppState;

/// 10,000 usage records with ids of 128 characters fit.
const USAGE_BODY_LIMIT: usize = 8 * 1024 * 1024;

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
        // customer (+ X-CSRF-Token to bind or rotate): workspaces and their usage API keys.
        .route("/workspaces", get(workspaces::list).post(workspaces::bind))
        .route("/workspaces/{id}/key", post(workspaces::rotate_key))
        // workspace API key (Bearer): a usage report of up to 10,000 records.
        .route(
            "/usage",
            post(workspaces::report_usage).layer(DefaultBodyLimit::max(USAGE_BODY_LIMIT)),
        )
        // customer: statements, as JSON or `format=csv`.
        .route("/bills", get(statements::bills))
        .route("/consumption", get(statements::consumption))
        .route("/transactions", get(statements::transactions))
        // operator token: settle a day now; the days whose settlement failed, with the reasons.
        .route(
            "/ops/settlements",
            post(ops::settle).get(ops::settlement_failures),
        )
        // operator token: void a usage record that cannot be billed (audited, with a reason).
        .route("/ops/usage/void", post(ops::void_usage))
        // operator token: payment flags (what the gateway said against the books); resolve one.
        .route("/ops/payment-flags", get(ops::payment_flags))
        .route(
            "/ops/payment-flags/{id}/resolve",
            post(ops::resolve_payment_flag),
        )
        // operator token: the audit log.
        .route("/ops/audit", get(ops::audit_log))
        // operator token: the caller's own tokens (never a secret or a hash); revoke one of them.
        .route("/ops/tokens", get(ops::tokens))
        .route("/ops/tokens/{id}", delete(ops::revoke_token))
        // operator token: record a bank transfer; issue vouchers or generate codes; assign a card.
        .route("/ops/bank-transfers", post(ops::record_bank_transfer))
        .route("/ops/vouchers", post(ops::vouchers))
        .route("/ops/prepaid-cards", post(ops::assign_card))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}
