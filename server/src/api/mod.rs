//! The JSON API under `/api/v1`. Every error is `{"error":{"code","message"}}` with a status that
//! says what kind of problem it is; internal details are logged, never returned.

mod accounts;
mod cloud;
mod console;
mod enterprise;
mod error;
pub mod error_shape;
mod idempotency;
mod json;
mod mail;
mod openapi;
mod ops;
mod plan;
pub mod schema;
pub(crate) mod statements;
mod support;
pub(crate) use support::download as attachment_download;
pub mod topups;
mod wallet;
mod workspaces;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use error::{ApiError, ApiErrorBody};

use crate::router::AppState;

/// 10,000 usage records with ids of 128 characters fit.
const USAGE_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Who may call each endpoint is stated next to its route (and, for programs, in each handler's
/// `#[utoipa::path]`: the router and `GET /api/v1/openapi.json` come from the same declarations,
/// so a route cannot be left out of the document).
pub fn routes() -> Router<AppState> {
    let (router, _) = documented_routes().split_for_parts();
    router.fallback(|| async { ApiError::not_found("no such API endpoint") })
}

/// The OpenAPI 3.1 document of `/api/v1` (as served at `/api/v1/openapi.json`).
pub fn openapi_document() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| openapi::finish(documented_routes().split_for_parts().1))
}

fn documented_routes() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        // anonymous: this document.
        .routes(routes!(openapi::serve))
        // anonymous: a plan is a pure computation on the caller's own input.
        .routes(routes!(plan::plan))
        // anonymous: sign up (opens the account and signs it in).
        .routes(routes!(accounts::sign_up))
        // customer: their own billing account's balances; any other id is 404.
        .routes(routes!(accounts::account))
        // anonymous: sign in; customer + X-CSRF-Token: sign out.
        .routes(routes!(accounts::sign_in, accounts::sign_out))
        // customer: the signed-in customer and the session's CSRF token.
        .routes(routes!(accounts::me))
        // anonymous: ask for a password reset link (always 202); set the password with it.
        .routes(routes!(mail::password_reset))
        .routes(routes!(mail::password_reset_confirm))
        // customer + X-CSRF-Token: a new confirmation link; anonymous: confirm with one.
        .routes(routes!(mail::email_confirmation))
        .routes(routes!(mail::email_confirmation_confirm))
        // customer (+ X-CSRF-Token to change): notification settings.
        .routes(routes!(mail::notifications, mail::change_notifications))
        // customer: balances usable now; movements; vouchers; prepaid cards.
        .routes(routes!(wallet::wallet))
        .routes(routes!(wallet::movements))
        .routes(routes!(wallet::vouchers))
        // customer (+ X-CSRF-Token and optional Idempotency-Key to buy): prepaid cards.
        .routes(routes!(wallet::prepaid_cards, wallet::buy_card))
        // customer + X-CSRF-Token (+ optional Idempotency-Key): activate a code.
        .routes(routes!(wallet::activate))
        // customer (+ X-CSRF-Token to open): top-ups by Alipay or bank transfer; one of them.
        .routes(routes!(topups::list, topups::open))
        .routes(routes!(topups::one))
        // customer (+ X-CSRF-Token to bind or rotate): workspaces and their usage API keys.
        .routes(routes!(workspaces::list, workspaces::bind))
        .routes(routes!(workspaces::rotate_key))
        // customer + X-CSRF-Token: unbind a workspace with nothing left to settle.
        .routes(routes!(workspaces::unbind))
        // customer + X-CSRF-Token: change binding (same verified enterprise); customer: the moves.
        .routes(routes!(workspaces::change_binding))
        .routes(routes!(workspaces::moves))
        // customer + X-CSRF-Token: a workspace's high-consumption alert.
        .routes(routes!(mail::daily_cost_alert))
        // customer + X-CSRF-Token: a workspace's settlement method; customer: cloud accounts.
        .routes(routes!(cloud::change_settlement))
        .routes(routes!(cloud::cloud_accounts))
        // customer: the enterprise (real-name) verification; operator token: its review.
        .routes(routes!(
            enterprise::enterprise,
            enterprise::submit_enterprise
        ))
        .routes(routes!(enterprise::review_enterprise))
        .routes(routes!(enterprise::ops_enterprise))
        .routes(routes!(enterprise::withdraw_enterprise))
        // customer (+ X-CSRF-Token to change anything): uploads and the support center.
        .routes(routes!(support::upload).layer(DefaultBodyLimit::max(support::UPLOAD_BODY_LIMIT)))
        .routes(routes!(support::attachment))
        .routes(routes!(support::tickets, support::open_ticket))
        .routes(routes!(support::ticket))
        .routes(routes!(support::reply))
        .routes(routes!(support::withdraw))
        .routes(routes!(support::close))
        .routes(routes!(support::rate))
        // operator: the work queue, tickets, uploads and downloads (views and acts audited).
        .routes(routes!(support::queue))
        .routes(routes!(support::ops_tickets))
        .routes(routes!(support::ops_ticket))
        .routes(routes!(support::assign))
        .routes(routes!(support::ops_reply))
        .routes(
            routes!(support::ops_upload).layer(DefaultBodyLimit::max(support::UPLOAD_BODY_LIMIT)),
        )
        .routes(routes!(support::ops_attachment))
        .routes(routes!(support::search_accounts))
        .routes(routes!(support::account_dossier))
        // console service token: a workspace's status (bound, settlement, arrears).
        .routes(routes!(console::status))
        // console owner or administrator token: the workspace's billing panel.
        .routes(routes!(console::panel))
        // workspace API key, or a console service token for a workspace bound with the
        // console's proof (Bearer): a usage report of up to 10,000 records.
        .routes(routes!(workspaces::report_usage).layer(DefaultBodyLimit::max(USAGE_BODY_LIMIT)))
        // customer: statements, as JSON or `format=csv`.
        .routes(routes!(statements::bills))
        .routes(routes!(statements::consumption))
        .routes(routes!(statements::transactions))
        // operator token: settle a day now; the days whose settlement failed, with the reasons.
        .routes(routes!(ops::settle, ops::settlement_failures))
        // operator token: void a usage record that cannot be billed (audited, with a reason).
        .routes(routes!(ops::void_usage))
        // operator token: payment flags (what the gateway said against the books); resolve one.
        .routes(routes!(ops::payment_flags))
        .routes(routes!(ops::resolve_payment_flag))
        // operator token: the outbox (counts and the messages in trouble, never bodies).
        .routes(routes!(mail::outbox))
        // operator token: a metering record reported to its marketplace by hand.
        .routes(routes!(cloud::resolve_metering))
        // operator token: the audit log.
        .routes(routes!(ops::audit_log))
        // operator token: the caller's own tokens (never a secret or a hash); revoke one of them.
        .routes(routes!(ops::tokens))
        .routes(routes!(ops::revoke_token))
        // operator token: record a bank transfer; issue vouchers or generate codes; assign a card.
        .routes(routes!(ops::record_bank_transfer))
        .routes(routes!(ops::vouchers))
        .routes(routes!(ops::assign_card))
}
