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

/// The signed-in customer and the session's CSRF token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": 1, "billing_account_id": 1, "username": "alice", "email": "alice@example.com", "phone": "+86 138 0000 0000", "contact_name": null, "company": null, "created_at": "2026-11-23T08:00:00Z", "csrf_token": "9f2c1b7e4d5a6c3b"}))]
pub struct Me {
    #[serde(flatten)]
    #[schema(value_type = super::schema::Customer)]
    pub customer: Customer,
    /// Send back as `X-CSRF-Token` on state-changing requests.
    pub csrf_token: String,
}

/// `login` is the username or the email.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "alice", "password": "correct horse battery"}))]
pub(super) struct SignIn {
    login: String,
    password: String,
}

pub fn auth_error(error: AuthError) -> ApiError {
    ApiError::from(error)
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

/// Sign up
///
/// anonymous: opens the billing account with its customer login and signs it in (the
/// `bc_session` cookie). Limited per client address (429 before any work).
#[utoipa::path(
    post,
    path = "/accounts",
    tag = "accounts",
    request_body = super::schema::SignUp,
    responses(
        (status = 201, description = "Signed up and signed in", body = Me,
            headers(("set-cookie" = String, description = "`bc_session=…; HttpOnly; SameSite=Lax; Path=/`"))),
        (status = 409, description = "`username_taken` or `email_taken` (`field` names which)", body = super::ApiErrorBody),
        (status = 422, description = "`language_unsupported`, `username_invalid`, `email_invalid`, `phone_invalid`, `text_invalid`, `password_too_short`, `password_too_long`, `password_same_as_username` or `password_too_common` (with `field`)", body = super::ApiErrorBody),
        (status = 429, description = "`rate_limited`: too many sign-ups from this address (Retry-After, in seconds)", body = super::ApiErrorBody,
            headers(("retry-after" = i64, description = "Seconds to wait"))),
    ),
)]
pub async fn sign_up(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    headers: axum::http::HeaderMap,
    body: json::RawBody,
) -> Result<Response, ApiError> {
    let mut request: SignUp = json::parse(body)?;
    if request.language.is_none() {
        // The language of the request (the pages' cookie, then Accept-Language).
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let lang =
            app::i18n::Lang::negotiate(header(header::COOKIE), header(header::ACCEPT_LANGUAGE));
        request.language = Some(lang.code().to_owned());
    }
    let customer = store
        .sign_up_from(&request, &client)
        .await
        .map_err(auth_error)?;
    signed_in(&store, customer, secure, StatusCode::CREATED).await
}

/// Sign in
///
/// anonymous: signs in by username or email; a new session id every time.
#[utoipa::path(
    post,
    path = "/session",
    tag = "accounts",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = Me,
            headers(("set-cookie" = String, description = "`bc_session=…; HttpOnly; SameSite=Lax; Path=/`"))),
        (status = 401, description = "`invalid_credentials`: wrong login or password (the same for both)", body = super::ApiErrorBody),
        (status = 429, description = "`rate_limited`: too many failed sign-ins (Retry-After, in seconds); nothing was checked", body = super::ApiErrorBody,
            headers(("retry-after" = i64, description = "Seconds to wait"))),
    ),
)]
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

/// Sign out
///
/// customer + X-CSRF-Token: ends the session on the server and clears the cookie.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "accounts",
    security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Signed out")),
)]
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

/// The signed-in customer
///
/// customer: who is signed in, and the CSRF token of the session.
#[utoipa::path(
    get,
    path = "/me",
    tag = "accounts",
    security(("session" = [])),
    responses((status = 200, description = "The signed-in customer", body = Me)),
)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountBalances {
    pub id: i64,
    pub name: String,
    #[schema(value_type = super::schema::Money)]
    pub cash: billing::Amount,
    #[schema(value_type = super::schema::Money)]
    pub arrears: billing::Amount,
}

/// A billing account's balances
///
/// customer: the balances of the caller's own billing account. Any other id, existing or not,
/// is the same 404: a customer never learns whether another account exists.
#[utoipa::path(
    get,
    path = "/accounts/{id}",
    tag = "accounts",
    security(("session" = [])),
    params(("id" = i64, Path, description = "The billing account id (`billing_account_id` of GET /me)")),
    responses((status = 200, description = "The account's balances", body = AccountBalances)),
)]
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
