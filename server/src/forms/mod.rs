//! The account pages' plain HTML form posts. Each handler does the work and answers 303 See Other:
//! on success to the next page, on failure back to the form with `error=<code>`, `field=<name>` and
//! the non-secret values typed, so the page shows the message at its field. Passwords never go in
//! a URL. Works the same with or without WebAssembly.

/// The idempotency key of a money form: the page renders a random `idempotency_key` into its
/// forms, so the same form posted twice (a double click, a resent request) is the same request
/// under the same key and replays the first answer instead of acting twice. Scoped by the caller
/// and the form. A post without the field (a page from before, a hand-made request) gets a fresh
/// key; a malformed one is refused.
pub(crate) fn form_key(
    scope: &str,
    form: &str,
    submitted: &str,
) -> Result<backend::IdempotencyKey, FormKeyError> {
    let submitted = submitted.trim();
    if submitted.is_empty() {
        return backend::IdempotencyKey::generated(&format!("{scope}:{form}"))
            .map_err(|_| FormKeyError);
    }
    let well_formed = submitted.len() <= 64 && submitted.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Err(FormKeyError);
    }
    backend::IdempotencyKey::new(format!("{scope}:form:{form}:{submitted}"))
        .map_err(|_| FormKeyError)
}

/// A form's `idempotency_key` field that is not what the page renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FormKeyError;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::Store;
use backend::auth::AuthError;
use backend::auth::customers::{ProfileUpdate, SignUp};
use backend::auth::sessions::Principal;
use serde::Deserialize;

use crate::auth::{
    ClientAddress, SecureCookies, clear_session_cookie, constant_time_eq, session_cookie_of,
    set_session_cookie,
};

mod ops;
mod wallet;
mod workspaces;

pub use ops::{ops_assign_card, ops_record_bank_transfer, ops_vouchers};
pub use wallet::{activate_voucher, buy_prepaid_card, pay_top_up, top_up};
pub use workspaces::{bind_workspace, rotate_workspace_key};

fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("a local path"),
    );
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `/path?error=code&field=f&k=v…` for the values that are safe to echo.
fn back_to(path: &str, error: &AuthError, echo: &[(&str, &str)]) -> Response {
    back_to_field(path, error, error.field(), echo)
}

/// As [`back_to`], naming the form's own field when it differs from the error's.
fn back_to_field(
    path: &str,
    error: &AuthError,
    field: Option<&str>,
    echo: &[(&str, &str)],
) -> Response {
    if let AuthError::Database(e) = error {
        tracing::error!(error = %e, "form post failed");
    }
    let retry = match error {
        AuthError::RateLimited { retry_after_secs } => retry_after_secs.to_string(),
        _ => String::new(),
    };
    let echo: Vec<(&str, &str)> = [("retry", retry.as_str())]
        .into_iter()
        .chain(echo.iter().copied())
        .collect();
    back_with(path, error.code(), field, &echo, "")
}

/// `/path?error=code&field=f&k=v…#anchor` for errors that are not about signing in.
fn back_with(
    path: &str,
    code: &str,
    field: Option<&str>,
    echo: &[(&str, &str)],
    anchor: &str,
) -> Response {
    let mut query = format!("error={code}");
    if let Some(field) = field {
        query.push_str(&format!("&field={field}"));
    }
    for (name, value) in echo.iter().filter(|(_, v)| !v.is_empty()) {
        query.push_str(&format!(
            "&{name}={}",
            app::url::percent_encode(value, false)
        ));
    }
    see_other(&format!("{path}?{query}{anchor}"), None)
}

/// After a sign-up or sign-in: a new session and on to `next`, or back to the form with the error.
async fn start_session_or_back(
    store: &Store,
    principal: Result<Principal, AuthError>,
    secure: SecureCookies,
    next: &str,
    form: &str,
    echo: &[(&str, &str)],
) -> Response {
    match principal {
        Ok(principal) => match store.start_session(principal).await {
            Ok(session) => see_other(next, Some(set_session_cookie(&session, secure))),
            Err(e) => back_to(form, &e, echo),
        },
        Err(e) => back_to(form, &e, echo),
    }
}

#[derive(Debug, Deserialize)]
pub struct SignUpForm {
    username: String,
    email: String,
    #[serde(default)]
    phone: String,
    password: String,
}

/// anonymous; limited per client address
pub async fn sign_up(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<SignUpForm>,
) -> Response {
    let request = SignUp {
        username: form.username.trim().to_owned(),
        email: form.email.clone(),
        phone: Some(form.phone.clone()).filter(|p| !p.trim().is_empty()),
        password: form.password,
    };
    let echo = [
        ("username", form.username.as_str()),
        ("email", form.email.as_str()),
        ("phone", form.phone.as_str()),
    ];
    let principal = store
        .sign_up_from(&request, &client)
        .await
        .map(|c| Principal::Customer(c.id));
    start_session_or_back(
        &store,
        principal,
        secure,
        "/account?welcome=1",
        "/signup",
        &echo,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    login: String,
    password: String,
}

/// anonymous
pub async fn sign_in(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<SignInForm>,
) -> Response {
    let echo = [("login", form.login.as_str())];
    let principal = store
        .sign_in_customer(&form.login, &form.password, &client)
        .await
        .map(|c| Principal::Customer(c.id));
    start_session_or_back(&store, principal, secure, "/account", "/signin", &echo).await
}

/// The signed-in customer of a form post, after checking the form's CSRF token; otherwise where to go.
async fn customer_of(
    store: &Store,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(i64, String), Response> {
    let session_id =
        session_cookie_of(headers).ok_or_else(|| see_other("/signin?error=session_ended", None))?;
    let session = match store.resume_session(&session_id).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(see_other("/signin?error=session_ended", None)),
        Err(e) => return Err(back_to("/signin", &e, &[])),
    };
    let Principal::Customer(customer_id) = session.principal else {
        return Err(see_other("/signin?error=session_ended", None));
    };
    if csrf.is_empty() || !constant_time_eq(csrf.as_bytes(), session.csrf_token.as_bytes()) {
        return Err(see_other("/account?error=csrf_failed", None));
    }
    Ok((customer_id, session_id))
}

/// The billing account of a form post's signed-in customer (CSRF checked); otherwise the response:
/// to sign in, or back to `page` with `error=internal`.
async fn customer_account(
    store: &Store,
    headers: &HeaderMap,
    csrf: &str,
    page: &str,
) -> Result<i64, Response> {
    let (customer_id, _) = customer_of(store, headers, csrf).await?;
    store
        .customer(customer_id)
        .await
        .map(|c| c.billing_account_id)
        .map_err(|error| {
            tracing::error!(%error, page, "form post failed");
            back_with(page, "internal", None, &[], "")
        })
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// customer + CSRF
pub async fn sign_out(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (_, session_id) = match customer_of(&store, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(e) = store.end_session(&session_id).await {
        return back_to("/account", &e, &[]);
    }
    see_other("/signin?signed_out=1", Some(clear_session_cookie(secure)))
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    company: String,
}

/// customer + CSRF
pub async fn update_profile(
    State(store): State<Store>,
    headers: HeaderMap,
    Form(form): Form<ProfileForm>,
) -> Response {
    let (customer_id, _) = match customer_of(&store, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let update = ProfileUpdate {
        email: form.email.clone(),
        phone: Some(form.phone.clone()),
        contact_name: Some(form.contact_name.clone()),
        company: Some(form.company.clone()),
    };
    match store.update_profile(customer_id, &update).await {
        Ok(_) => see_other("/account?saved=profile", None),
        Err(e) => back_to(
            "/account",
            &e,
            &[
                ("email", &form.email),
                ("phone", &form.phone),
                ("contact_name", &form.contact_name),
                ("company", &form.company),
            ],
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: String,
    new_password: String,
}

/// customer + CSRF: ends every other session of the customer.
pub async fn change_password(
    State(store): State<Store>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let (customer_id, session_id) = match customer_of(&store, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match store
        .change_password(
            customer_id,
            &form.current_password,
            &form.new_password,
            Some(&session_id),
            &client,
        )
        .await
    {
        Ok(()) => see_other("/account?saved=password", None),
        // The password rules are about the new password, `new_password` on this form.
        Err(e @ AuthError::WeakPassword(_)) => {
            back_to_field("/account", &e, Some("new_password"), &[])
        }
        Err(e) => back_to("/account", &e, &[]),
    }
}

/// anonymous: the operators' sign-in at /ops.
pub async fn ops_sign_in(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    Form(form): Form<SignInForm>,
) -> Response {
    let echo = [("login", form.login.as_str())];
    let principal = store
        .sign_in_operator(&form.login, &form.password, &client)
        .await
        .map(|o| Principal::Operator(o.id));
    start_session_or_back(&store, principal, secure, "/ops", "/ops", &echo).await
}

/// operator + CSRF
pub async fn ops_sign_out(
    State(store): State<Store>,
    State(secure): State<SecureCookies>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some(session_id) = session_cookie_of(&headers) else {
        return see_other("/ops", None);
    };
    let Ok(Some(session)) = store.resume_session(&session_id).await else {
        return see_other("/ops", None);
    };
    let Principal::Operator(operator_id) = session.principal else {
        return see_other("/ops", None);
    };
    if form.csrf.is_empty()
        || !constant_time_eq(form.csrf.as_bytes(), session.csrf_token.as_bytes())
    {
        return see_other("/ops?error=csrf_failed", None);
    }
    if let Err(e) = store
        .audit(
            operator_id,
            "operator.sign_out",
            None,
            "signed out at /ops",
            &client,
        )
        .await
    {
        return back_to("/ops", &e, &[]);
    }
    if let Err(e) = store.end_session(&session_id).await {
        return back_to("/ops", &e, &[]);
    }
    see_other("/ops", Some(clear_session_cookie(secure)))
}
