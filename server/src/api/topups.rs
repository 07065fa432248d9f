//! Top-ups of the signed-in customer: open one (online through Alipay or the sandbox, or by bank
//! transfer), list them, read one. Opening moves no money; the payment notification or the
//! operator's record of the transfer does.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use backend::topups::{TopUp, TopUpMethod, TopUpRequest, TopUpStatus};
use billing::Amount;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::idempotency::request_key;
use super::wallet::ledger_error;
use super::{ApiError, json};
use crate::auth::CustomerSession;
use crate::payments::BankPayee;
use crate::router::AppState;

/// Where to send a bank transfer, and what to write on it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BankTransferDetails {
    pub payee_name: String,
    pub payee_bank: String,
    pub payee_account: String,
    /// Write this on the transfer: it tells us whose top-up it is.
    pub reference: String,
}

/// A top-up. Opening one moves no money: `status` becomes `paid` (with `paid_at`) when the
/// payment notification or the operator's record of the transfer credits cash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopUpView {
    pub id: i64,
    #[schema(value_type = super::schema::TopUpMethod)]
    pub method: TopUpMethod,
    #[schema(value_type = super::schema::Money)]
    pub amount: Amount,
    /// Alipay's `out_trade_no`, or the `BT-` code to write on the bank transfer.
    pub reference: String,
    #[schema(value_type = super::schema::TopUpStatus)]
    pub status: TopUpStatus,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Where to pay (the gateway with a signed `alipay.trade.page.pay` request), while an
    /// online top-up is pending.
    pub checkout_url: Option<String>,
    /// For a bank transfer: the payee and the reference.
    pub bank_transfer: Option<BankTransferDetails>,
}

/// The view of a top-up, with where to pay it while it is pending.
pub async fn view(state: &AppState, top_up: TopUp) -> Result<TopUpView, ApiError> {
    let checkout_url = state
        .payments
        .checkout_url(&state.store, &top_up)
        .await
        .map_err(ledger_error)?;
    let bank_transfer = (top_up.method == TopUpMethod::BankTransfer).then(|| {
        let BankPayee {
            name,
            bank,
            account,
        } = state.settings.bank_payee.clone();
        BankTransferDetails {
            payee_name: name,
            payee_bank: bank,
            payee_account: account,
            reference: top_up.reference.clone(),
        }
    });
    Ok(TopUpView {
        id: top_up.id,
        method: top_up.method,
        amount: top_up.amount,
        reference: top_up.reference,
        status: top_up.status,
        created_at: top_up.created_at,
        paid_at: top_up.paid_at,
        checkout_url,
        bank_transfer,
    })
}

/// 0.01 to 1,000,000.00, by `alipay` or `bank_transfer`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "88.88", "method": "alipay"}))]
pub(super) struct OpenTopUp {
    #[schema(value_type = super::schema::TopUpAmount)]
    amount: Amount,
    #[schema(value_type = super::schema::TopUpMethod)]
    method: TopUpMethod,
}

/// Open a top-up
///
/// customer + CSRF (+ optional Idempotency-Key): opens a top-up of 0.01 to 1,000,000.00. For
/// `alipay`, pay at `checkout_url`; for `bank_transfer`, write `reference` on the transfer.
#[utoipa::path(
    post,
    path = "/topups",
    tag = "topups",
    security(("session" = [], "csrf" = [])),
    params(super::idempotency::IdempotencyKeyHeader),
    request_body = OpenTopUp,
    responses(
        (status = 201, description = "The pending top-up", body = TopUpView),
        (status = 409, description = "`too_many_pending_top_ups` (`field: method`): ten online top-ups of the account are waiting for payment", body = super::ApiErrorBody),
        (status = 422, description = "`amount_invalid` (`field: amount`): outside 0.01 to 1,000,000.00", body = super::ApiErrorBody),
        (status = 503, description = "`payments_unavailable`: no payment gateway is configured", body = super::ApiErrorBody),
    ),
)]
pub async fn open(
    State(state): State<AppState>,
    session: CustomerSession,
    headers: HeaderMap,
    body: json::RawBody,
) -> Result<(StatusCode, Json<TopUpView>), ApiError> {
    session.require_csrf_header()?;
    let request: OpenTopUp = json::parse(body)?;
    let account_id = session.account_id;
    let key = request_key(&headers, &format!("customer{account_id}"))?;
    let request = TopUpRequest {
        account_id,
        amount: request.amount,
        method: request.method,
    };
    let top_up = state
        .open_top_up(&key, &request)
        .await
        .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Json(view(&state, top_up).await?)))
}

/// Top-ups
///
/// customer: their newest top-ups (100 at most), newest first.
#[utoipa::path(
    get,
    path = "/topups",
    tag = "topups",
    security(("session" = [])),
    responses((status = 200, description = "The newest top-ups", body = Vec<TopUpView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    session: CustomerSession,
) -> Result<Json<Vec<TopUpView>>, ApiError> {
    let account_id = session.account_id;
    let top_ups = state
        .store
        .top_ups(account_id, backend::topups::MAX_LISTED)
        .await
        .map_err(ledger_error)?;
    let mut views = Vec::with_capacity(top_ups.len());
    for top_up in top_ups {
        views.push(view(&state, top_up).await?);
    }
    Ok(Json(views))
}

/// One top-up
///
/// customer: one of their top-ups; another account's is 404.
#[utoipa::path(
    get,
    path = "/topups/{id}",
    tag = "topups",
    security(("session" = [])),
    params(("id" = i64, Path, description = "The top-up id")),
    responses((status = 200, description = "The top-up", body = TopUpView)),
)]
pub async fn one(
    State(state): State<AppState>,
    session: CustomerSession,
    Path(id): Path<String>,
) -> Result<Json<TopUpView>, ApiError> {
    let not_found = || ApiError::not_found("no such top-up");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let account_id = session.account_id;
    let top_up = state
        .store
        .top_up(account_id, id)
        .await
        .map_err(ledger_error)?
        .ok_or_else(not_found)?;
    Ok(Json(view(&state, top_up).await?))
}
