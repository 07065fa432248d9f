//! What server functions and page loads read on the server: the store, the viewer the server's
//! middleware resolved for this request, the client address, and the site's payment gateways.
//! Only compiled with `ssr`; the browser calls the same functions over HTTP.

use std::sync::Arc;

use backend::Store;
use backend::auth::sessions::{Principal, Viewer};
use leptos::prelude::*;

use crate::error::AppError;

/// What the server provides to every page and server function besides the store.
#[derive(Clone)]
pub struct Site {
    pub payments: Arc<backend::payments::Payments>,
    /// Cookies get `Secure` (the site is served over https).
    pub secure_cookies: bool,
    /// `CONSOLE_ORIGINS`: who may frame the workspace panel (and is told its height).
    pub console_origins: Arc<[String]>,
    /// Whether this server delivers mail (`SMTP_URL` is set).
    pub smtp_configured: bool,
}

pub(crate) fn store() -> Result<Store, AppError> {
    use_context::<Store>().ok_or_else(|| missing("store"))
}

pub(crate) fn site() -> Result<Site, AppError> {
    use_context::<Site>().ok_or_else(|| missing("site"))
}

fn missing(what: &str) -> AppError {
    leptos::logging::error!("{what} missing from the server's context");
    AppError::failed("internal")
}

fn parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// Who is asking (resolved once per request by the server's `resolve_viewer` middleware).
pub(crate) fn viewer() -> Viewer {
    parts()
        .and_then(|p| p.extensions.get::<Viewer>().cloned())
        .unwrap_or_default()
}

/// The caller's address, as the server resolved it (the peer, or who a trusted proxy names).
pub(crate) fn client() -> String {
    parts()
        .and_then(|p| p.extensions.get::<backend::auth::ResolvedClient>().cloned())
        .map(|c| c.0)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Where the caller pays from (desktop, phone, inside WeChat), told by its User-Agent: a server
/// function called by the app carries the same User-Agent as the page.
pub(crate) fn paying_from() -> backend::payments::PayingFrom {
    let user_agent = parts()
        .and_then(|p| {
            p.headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    backend::payments::PayingFrom::of_user_agent(&user_agent)
}

/// A signed-in customer and their billing account.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub customer_id: i64,
    pub account_id: i64,
    pub session_id: String,
    pub csrf_token: String,
}

/// The signed-in customer, if the viewer is one (pages show "sign in" otherwise): what the
/// server's middleware read with the session, without another query.
pub(crate) async fn customer() -> Result<Option<Customer>, AppError> {
    let Viewer::Session {
        principal: Principal::Customer(customer_id),
        account_id: Some(account_id),
        session_id,
        csrf_token,
    } = viewer()
    else {
        return Ok(None);
    };
    Ok(Some(Customer {
        customer_id,
        account_id,
        session_id,
        csrf_token,
    }))
}

/// The customer an action is for: signed in, and the form carries the session's CSRF token.
pub(crate) async fn acting_customer(csrf: &str) -> Result<Customer, AppError> {
    let customer = customer()
        .await?
        .ok_or_else(|| AppError::unauthorised("session_ended"))?;
    check_csrf(csrf, &customer.csrf_token)?;
    Ok(customer)
}

/// A signed-in operator (the /ops role).
#[derive(Debug, Clone)]
pub(crate) struct Operator {
    pub operator_id: i64,
    pub username: String,
    pub session_id: String,
    pub csrf_token: String,
}

pub(crate) async fn operator() -> Result<Option<Operator>, AppError> {
    let Viewer::Session {
        principal: Principal::Operator(operator_id),
        session_id,
        csrf_token,
        ..
    } = viewer()
    else {
        return Ok(None);
    };
    let username = store()?.operator_by_id(operator_id).await?.username;
    Ok(Some(Operator {
        operator_id,
        username,
        session_id,
        csrf_token,
    }))
}

pub(crate) async fn acting_operator(csrf: &str) -> Result<Operator, AppError> {
    let operator = operator()
        .await?
        .ok_or_else(|| AppError::unauthorised("session_ended"))?;
    check_csrf(csrf, &operator.csrf_token)?;
    Ok(operator)
}

fn check_csrf(sent: &str, expected: &str) -> Result<(), AppError> {
    if sent.is_empty() || !backend::auth::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(AppError::forbidden("csrf_failed"));
    }
    Ok(())
}

/// Adds a `Set-Cookie` to the answer.
pub(crate) fn set_cookie(cookie: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(cookie),
    ) {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// After an action: on to `path` (a plain form post is redirected there; the app navigates).
pub(crate) fn go_to(path: &str) {
    leptos_axum::redirect(path);
}

/// The idempotency key of a money form: the page renders a random `idempotency_key` into its
/// forms, so the same form sent twice (a double click, a resent request) is the same request under
/// the same key and replays the first answer instead of acting twice. Scoped by the caller and the
/// form. A post without the field (a hand-made request) gets a fresh key; a malformed one is
/// refused.
pub(crate) fn form_key(
    scope: &str,
    form: &str,
    submitted: &str,
) -> Result<backend::IdempotencyKey, AppError> {
    let submitted = submitted.trim();
    if submitted.is_empty() {
        return Ok(backend::IdempotencyKey::generated(&format!(
            "{scope}:{form}"
        ))?);
    }
    let well_formed = submitted.len() <= 64 && submitted.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Err(AppError::new("form_invalid"));
    }
    Ok(backend::IdempotencyKey::new(format!(
        "{scope}:form:{form}:{submitted}"
    ))?)
}

/// A fresh key for the money forms of one render.
pub(crate) fn new_form_token() -> String {
    backend::auth::random_token(16)
}

/// Whether this request is a plain HTML form post (no WebAssembly): it wants a page back.
pub(crate) fn is_plain_form_post() -> bool {
    parts()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// After an action whose answer the app shows in place: a plain form post is sent on to `path`
/// (which shows the same from its query).
pub(crate) fn plain_post_goes_to(path: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(path);
    }
}

/// A plain form post that fails goes back to its page with what was typed into `fields` (never a
/// password), so the page can show it again. The error travels in the URL, where anyone can write
/// one: only forms where a pre-filled field moves no money and changes nothing stored use this
/// (sign-up, sign-in, binding a workspace), never a money form or the profile.
pub(crate) fn keep_typed<T>(
    result: Result<T, AppError>,
    fields: &[(&str, String)],
) -> Result<T, AppError> {
    result.map_err(|mut error| {
        if is_plain_form_post() {
            error.typed = fields
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
        }
        error
    })
}
