//! Who is calling: the session cookie (customers and operators on pages), the CSRF token, operator
//! API tokens, and the client address used by the sign-in rate limiter.
//!
//! CSRF: the session cookie is SameSite=Lax, and every state-changing request authenticated by the
//! cookie must also carry the session's CSRF token (header `X-CSRF-Token` for the JSON API, a
//! hidden `csrf` field for form posts). Sign-in and sign-up are not cookie-authenticated.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use backend::Store;
use backend::auth::sessions::{ABSOLUTE_LIFETIME, NewSession, Principal};

use crate::api::ApiError;

pub use backend::auth::sessions::SESSION_COOKIE;
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether cookies get `Secure` (the site is served over https).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecureCookies(pub bool);

/// The caller's address: the socket peer (a reverse proxy's address when behind one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ClientAddress(
            address.unwrap_or_else(|| "unknown".to_owned()),
        ))
    }
}

pub fn session_cookie_of(headers: &HeaderMap) -> Option<String> {
    backend::auth::sessions::session_id_from_cookies(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

pub fn set_session_cookie(session: &NewSession, secure: SecureCookies) -> HeaderValue {
    let secure = if secure.0 { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        session.id,
        ABSOLUTE_LIFETIME.num_seconds()
    );
    HeaderValue::from_str(&cookie).expect("hex ids make a valid header")
}

pub fn clear_session_cookie(secure: SecureCookies) -> HeaderValue {
    let secure = if secure.0 { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .expect("a valid header")
}

/// A signed-in customer (401 otherwise).
#[derive(Debug, Clone)]
pub struct CustomerSession {
    pub customer_id: i64,
    pub session_id: String,
    pub csrf_token: String,
    headers: HeaderMap,
}

impl CustomerSession {
    /// Refuses (403) a state-changing request that does not carry this session's CSRF token.
    pub fn require_csrf_header(&self) -> Result<(), ApiError> {
        let sent = self
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if constant_time_eq(sent.as_bytes(), self.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "missing or wrong X-CSRF-Token header",
            ))
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S> FromRequestParts<S> for CustomerSession
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let store = Store::from_ref(state);
        let id = session_cookie_of(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("sign in first"))?;
        let session = store
            .resume_session(&id)
            .await
            .map_err(ApiError::internal)?;
        match session {
            Some(active) => match active.principal {
                Principal::Customer(customer_id) => Ok(CustomerSession {
                    customer_id,
                    session_id: id,
                    csrf_token: active.csrf_token,
                    headers: parts.headers.clone(),
                }),
                Principal::Operator(_) => Err(ApiError::unauthorized("sign in as a customer")),
            },
            None => Err(ApiError::unauthorized(
                "your session has ended; sign in again",
            )),
        }
    }
}

/// An operator calling /api/v1/ops/* with `Authorization: Bearer bco_…` (401 otherwise).
#[derive(Debug, Clone)]
pub struct OperatorToken(pub backend::auth::operators::Operator);

impl<S> FromRequestParts<S> for OperatorToken
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let store = Store::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "operator endpoints need Authorization: Bearer <operator token>",
                )
            })?;
        match store
            .operator_for_token(token.trim())
            .await
            .map_err(ApiError::internal)?
        {
            Some(operator) => Ok(OperatorToken(operator)),
            None => Err(ApiError::unauthorized(
                "the operator token is unknown or revoked",
            )),
        }
    }
}

/// Refuses (403) a state-changing request that a browser says comes from another site. This is
/// what protects the forms that run before there is a session (sign-in, sign-up: "login CSRF")
/// and backs up the per-session token everywhere else. Requests without these headers (programs,
/// payment callbacks) are left to the other checks.
pub async fn refuse_cross_site_writes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let method = request.method();
    let writes = !(method == axum::http::Method::GET
        || method == axum::http::Method::HEAD
        || method == axum::http::Method::OPTIONS);
    if writes && is_cross_site(request.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "requests from other sites are refused",
        )
        .into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "cross-site" || site == "same-site";
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cross_site_writes_are_recognised_by_fetch_metadata_or_origin() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")])));
        assert!(is_cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "billing.example.com")
        ])));
        assert!(!is_cross_site(&headers(&[
            ("origin", "https://billing.example.com"),
            ("host", "billing.example.com")
        ])));
        assert!(is_cross_site(&headers(&[
            ("origin", "null"),
            ("host", "billing.example.com")
        ])));
        assert!(
            !is_cross_site(&headers(&[("host", "billing.example.com")])),
            "programs send no Origin"
        );
    }
}
