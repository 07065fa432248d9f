//! The wallet page's form posts (customer + CSRF): open a top-up, go on to pay one, activate a
//! voucher code, buy a prepaid card. Errors go back to `/wallet` with a code and the field.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use backend::auth::AuthError;
use backend::prepaid_cards::PrepaidCardPurchase;
use backend::topups::{TopUpMethod, TopUpRequest, TopUpStatus};
use backend::vouchers::CodeActivation;
use backend::{IdempotencyKey, LedgerError};
use billing::Amount;
use billing::wallet_rules::PrepaidCardError;
use serde::Deserialize;

use super::{CsrfForm, back_with, see_other};
use crate::auth::ClientAddress;
use crate::payments::OpenTopUpError;
use crate::router::AppState;

async fn account_of(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<i64, Response> {
    super::customer_account(&state.store, headers, csrf, "/wallet").await
}

fn internal(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "wallet form failed");
    back_with("/wallet", "internal", None, &[], "")
}

/// The key of one of the wallet's money forms (see `forms::form_key`).
fn key(
    account_id: i64,
    form: &str,
    submitted: &str,
    fragment: &str,
) -> Result<IdempotencyKey, Response> {
    super::form_key(&format!("customer{account_id}"), form, submitted)
        .map_err(|_| back_with("/wallet", "form_invalid", None, &[], fragment))
}

/// The same form sent again with other values (the browser's back button, then a change).
fn already_sent(fragment: &str) -> Response {
    back_with("/wallet", "form_already_sent", None, &[], fragment)
}

#[derive(Debug, Deserialize)]
pub struct TopUpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
}

/// customer + CSRF: opens a top-up; Alipay goes straight to the checkout, a bank transfer to the
/// page with the payee and the reference.
pub async fn top_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TopUpForm>,
) -> Response {
    let account_id = match account_of(&state, &headers, &form.csrf).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let echo = [("amount", form.amount.as_str())];
    let bad_amount = || {
        back_with(
            "/wallet",
            "amount_invalid",
            Some("amount"),
            &echo,
            "#top-up",
        )
    };
    let Ok(amount) = Amount::parse(form.amount.trim()) else {
        return bad_amount();
    };
    let method = match form.method.as_str() {
        "alipay" => TopUpMethod::Alipay,
        "bank_transfer" => TopUpMethod::BankTransfer,
        _ => {
            return back_with(
                "/wallet",
                "method_invalid",
                Some("method"),
                &echo,
                "#top-up",
            );
        }
    };
    let key = match key(account_id, "top_up", &form.idempotency_key, "#top-up") {
        Ok(key) => key,
        Err(response) => return response,
    };
    match state
        .open_top_up(
            &key,
            &TopUpRequest {
                account_id,
                amount,
                method,
            },
        )
        .await
    {
        Ok(top_up) => go_pay(&state, top_up).await,
        Err(OpenTopUpError::Ledger(LedgerError::TopUp(_))) => bad_amount(),
        Err(OpenTopUpError::Ledger(LedgerError::IdempotencyKeyReused { .. })) => {
            already_sent("#top-up")
        }
        Err(OpenTopUpError::Ledger(LedgerError::TooManyPendingTopUps { .. })) => back_with(
            "/wallet",
            "too_many_pending_top_ups",
            Some("method"),
            &echo,
            "#top-up",
        ),
        Err(OpenTopUpError::PaymentsUnavailable) => back_with(
            "/wallet",
            "payments_unavailable",
            Some("method"),
            &echo,
            "#top-up",
        ),
        Err(OpenTopUpError::Ledger(e)) => internal(&e),
    }
}

/// Pending online top-ups go to the gateway; everything else to its page.
async fn go_pay(state: &AppState, top_up: backend::topups::TopUp) -> Response {
    let page = format!("/wallet/top-ups/{}", top_up.id);
    if top_up.method != TopUpMethod::Alipay || top_up.status != TopUpStatus::Pending {
        return see_other(&page, None);
    }
    match crate::api::topups::view(state, top_up).await {
        Ok(view) => see_other(view.checkout_url.as_deref().unwrap_or(&page), None),
        Err(e) => internal(&format!("{e:?}")),
    }
}

/// customer + CSRF: back to the gateway for a top-up that is still waiting for payment.
pub async fn pay_top_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let account_id = match account_of(&state, &headers, &form.csrf).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return see_other("/wallet", None);
    };
    match state.store.top_up(account_id, id).await {
        Ok(Some(top_up)) => go_pay(&state, top_up).await,
        Ok(None) => see_other("/wallet", None),
        Err(e) => internal(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// customer + CSRF: activates a code; failed codes are rate limited (apart from sign-ins).
pub async fn activate_voucher(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<ActivateForm>,
) -> Response {
    let account_id = match account_of(&state, &headers, &form.csrf).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let back = |code: &str| back_with("/wallet", code, Some("code"), &[], "#vouchers");
    let attempt = match state
        .store
        .begin_attempt(
            backend::auth::rate_limit::Action::CodeActivation,
            &format!("account#{account_id}"),
            &client,
        )
        .await
    {
        Ok(attempt) => attempt,
        Err(AuthError::RateLimited { .. }) => return back("too_many_attempts"),
        Err(e) => return internal(&e),
    };
    let key = match IdempotencyKey::generated(&format!("customer{account_id}")) {
        Ok(key) => key,
        Err(e) => return internal(&e),
    };
    match state
        .store
        .activate_code(
            &key,
            &CodeActivation {
                account_id,
                code: form.code,
            },
        )
        .await
    {
        Ok(done) => {
            if let Err(e) = state.store.attempt_succeeded(&attempt).await {
                return internal(&e);
            }
            see_other(
                &format!("/wallet?activated={}#vouchers", done.voucher.number),
                None,
            )
        }
        Err(LedgerError::CodeNotFound(_) | LedgerError::CodeTooLong { .. }) => {
            back("code_not_found")
        }
        Err(LedgerError::CodeAlreadyUsed(_)) => back("code_already_used"),
        Err(LedgerError::CodeExpired { .. }) => back("code_expired"),
        Err(e) => internal(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    denomination: String,
}

/// customer + CSRF: buys a prepaid card with cash.
pub async fn buy_prepaid_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
    let account_id = match account_of(&state, &headers, &form.csrf).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let echo = [("denomination", form.denomination.as_str())];
    let back = |code: &str| {
        back_with(
            "/wallet",
            code,
            Some("denomination"),
            &echo,
            "#prepaid-cards",
        )
    };
    let Ok(denomination) = Amount::parse(form.denomination.trim()) else {
        return back("denomination_invalid");
    };
    let key = match key(
        account_id,
        "prepaid_card",
        &form.idempotency_key,
        "#prepaid-cards",
    ) {
        Ok(key) => key,
        Err(response) => return response,
    };
    match state
        .store
        .buy_prepaid_card(
            &key,
            &PrepaidCardPurchase {
                account_id,
                denomination,
            },
        )
        .await
    {
        Ok(done) => see_other(
            &format!("/wallet?bought={}#prepaid-cards", done.card.number),
            None,
        ),
        Err(LedgerError::PrepaidCard(PrepaidCardError::InsufficientCash { .. })) => {
            back("insufficient_cash")
        }
        Err(LedgerError::PrepaidCard(_)) => back("denomination_invalid"),
        Err(LedgerError::IdempotencyKeyReused { .. }) => already_sent("#prepaid-cards"),
        Err(e) => internal(&e),
    }
}
