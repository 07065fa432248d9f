//! Customer accounts and sessions: `POST /accounts`, `POST /session`, `DELETE /session`, `GET /me`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::Store;
use backend::auth::AuthError;
use backend::auth::customers::{Customer, SignUp};
use backend::auth::sessions::Principal;
use serde::{Deserialize, Serialize};

use super::{ApiError, json};
use crate::auth::{
    ClientAddress, CustomerSession, SecureCookies, clear_session_cookie, set_session_cookie,
};

#[derive(Debug, Serialize)]
pub struct Me {
    #[serde(flatten)]
    pub customer: Customer,
    /// Send back as `X-CSRF-Token` on state-changing requests.
    pub csrf_token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    login: String,
    password: String,
}

pub fn auth_error(error: AuthError) -> ApiError {
    let field = error.field();
    let message = error.to_string();
    match error {
        AuthError::UsernameTaken | AuthError::EmailTaken => {
            ApiError::new(StatusCode::CONFLICT, "taken", message).with_field(field)
        }
        AuthError::InvalidCredentials => {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message)
        }
        AuthError::RateLimited { retry_after_secs } => {
            let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
            e.retry_after = Some(retry_after_secs);
            e
        }
        AuthError::NotFound(_) => ApiError::not_found(message),
        AuthError::OperatorDisabled => {
            ApiError::new(StatusCode::UNAUTHORIZED, "operator_disabled", message)
        }
        AuthError::Database(e) => ApiError::internal(e),
        AuthError::Ledger(e) => ApiError::internal(e),
        _ => ApiError::unprocessable("invalid_field", message).with_field(field),
    }
}

async fn signed_in(
    store: &Store,
    customer: Customer,
    secure: SecureCookies,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let session = store
        .start_session(Principal::Customer(customer.id))
        .await
        .map_err(auth_error)?;
    let cookie = set_session_cookie(&session, secure);
    let body = Me {
        customer,
        csrf_token: session.csrf_token,
    };
    Ok((status, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// anonymous: opens an account and signs it in. Limited per client address (429 before any work).
pub async fn sign_up(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    body: json::RawBody,
) -> Result<Response, ApiError> {
    let request: SignUp = json::parse(body)?;
    let customer = store
        .sign_up_from(&request, &client)
        .await
        .map_err(auth_error)?;
    signed_in(&store, customer, secure, StatusCode::CREATED).await
}

/// anonymous: signs in by username or email; a new session id every time.
pub async fn sign_in(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    body: json::RawBody,
) -> Result<Response, ApiError> {
    let request: SignIn = json::parse(body)?;
    let customer = store
        .sign_in_customer(&request.login, &request.password, &client)
        .await
        .map_err(auth_error)?;
    signed_in(&store, customer, secure, StatusCode::OK).await
}

/// customer (+ CSRF): ends the session on the server.
pub async fn sign_out(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    session: CustomerSession,
) -> Result<Response, ApiError> {
    session.require_csrf_header()?;
    store
        .end_session(&session.session_id)
        .await
        .map_err(auth_error)?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_session_cookie(secure))],
    )
        .into_response())
}

/// customer: who is signed in, and the CSRF token of the session.
pub async fn me(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<Me>, ApiError> {
    let customer = store
        .customer(session.customer_id)
        .await
        .map_err(auth_error)?;
    Ok(Json(Me {
        customer,
        csrf_token: session.csrf_token,
    }))
}

#[derive(Debug, Serialize)]
pub struct AccountBalances {
    pub id: i64,
    pub name: String,
    pub cash: billing::Amount,
    pub arrears: billing::Amount,
}

/// customer: the balances of the caller's own billing account. Any other id, existing or not,
/// is the same 404: a customer never learns whether another account exists.
pub async fn account(
    State(store): State<Store>,
    session: CustomerSession,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<AccountBalances>, ApiError> {
    let not_found = || ApiError::not_found("no such account");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let customer = store
        .customer(session.customer_id)
        .await
        .map_err(auth_error)?;
    if customer.billing_account_id != id {
        return Err(not_found());
    }
    let snapshot = store.account(id).await.map_err(ApiError::internal)?;
    Ok(Json(AccountBalances {
        id,
        name: snapshot.name,
        cash: snapshot.cash,
        arrears: snapshot.arrears,
    }))
}
