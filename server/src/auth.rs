//! Who is calling: the session cookie (customers and operators on pages), the CSRF token, operator
//! API tokens, and the client address that rate limits count and audit rows record.
//!
//! CSRF: the session cookie is SameSite=Lax, and every state-changing request authenticated by the
//! cookie must also carry the session's CSRF token (header `X-CSRF-Token` for the JSON API, a
//! hidden `csrf` field for form posts). Sign-in and sign-up are not cookie-authenticated.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use backend::Store;
use backend::auth::ResolvedClient;
use backend::auth::operators::TokenCheck;
use backend::auth::sessions::{NewSession, Principal, Viewer};

use crate::api::ApiError;
use crate::config::TrustedProxies;

pub use backend::auth::sessions::SESSION_COOKIE;
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether cookies get `Secure` (the site is served over https).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecureCookies(pub bool);

/// The caller's address, as resolved once per request by [`resolve_client_address`]: the socket
/// peer, or, when the peer is one of `TRUSTED_PROXIES`, the client it forwarded for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ResolvedClient(client)) = parts.extensions.get::<ResolvedClient>() {
            return Ok(ClientAddress(client.clone()));
        }
        // Outside the router's middleware: the peer, trusting nothing it says.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddress(client_address(
            peer,
            &parts.headers,
            &TrustedProxies::default(),
        )))
    }
}

/// Middleware: works out the client address once and puts it in the request's extensions
/// ([`ResolvedClient`]), where the [`ClientAddress`] extractor and the pages read it.
pub async fn resolve_client_address(
    axum::extract::State(trusted): axum::extract::State<TrustedProxies>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_address(peer, request.headers(), &trusted);
    request.extensions_mut().insert(ResolvedClient(client));
    next.run(request).await
}

/// The client of a request from `peer`. Only a trusted peer may name the client, through
/// `X-Forwarded-For` (the header every common proxy appends to): the entries are read from the
/// right, skipping trusted proxies, and the first address that is not one of them is the client.
/// Entries further left were written by the client itself and are never believed. `Forwarded`
/// and `X-Real-IP` are not read: a proxy that does not set them passes a client's own copy through.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client.to_string();
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        if !trusted.contains(client) {
            break;
        }
        match parse_hop(hop) {
            Some(address) => client = address.to_canonical(),
            // Garbage: the hop that wrote it (a trusted proxy) is as far as we can tell.
            None => break,
        }
    }
    client.to_string()
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
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
    HeaderValue::from_str(&backend::auth::sessions::session_cookie(session, secure.0))
        .expect("hex ids make a valid header")
}

pub fn clear_session_cookie(secure: SecureCookies) -> HeaderValue {
    HeaderValue::from_str(&backend::auth::sessions::cleared_session_cookie(secure.0))
        .expect("a valid header")
}

/// Middleware: reads the session cookie's session once per request and puts the [`Viewer`] in the
/// request's extensions, where the API's extractors, the pages and the server functions read it.
/// The built site's files need no viewer and cost no database read.
pub async fn resolve_viewer(
    axum::extract::State(store): axum::extract::State<Store>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let static_file = path.starts_with("/pkg/") || path == "/favicon.svg";
    if !static_file {
        match store.viewer(session_cookie_of(request.headers())).await {
            Ok(viewer) => {
                request.extensions_mut().insert(viewer);
            }
            Err(error) => {
                tracing::error!(%error, "could not read the session");
                // The app reads a server function's error as JSON of its own shape.
                if path.starts_with("/fn/") {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::CONTENT_TYPE, "application/json")],
                        r#"{"code":"internal"}"#,
                    )
                        .into_response();
                }
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database does not answer; try again in a moment\n",
                )
                    .into_response();
            }
        }
    }
    next.run(request).await
}

/// The viewer the middleware resolved, or (outside the router) resolved now.
async fn viewer_of(parts: &Parts, store: &Store) -> Result<Viewer, ApiError> {
    if let Some(viewer) = parts.extensions.get::<Viewer>() {
        return Ok(viewer.clone());
    }
    store
        .viewer(session_cookie_of(&parts.headers))
        .await
        .map_err(ApiError::internal)
}

/// A signed-in customer (401 otherwise).
#[derive(Debug, Clone)]
pub struct CustomerSession {
    pub customer_id: i64,
    /// The customer's billing account, read with the session.
    pub account_id: i64,
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

pub use backend::auth::constant_time_eq;

/// The credential of `Authorization: Bearer <credential>`, as sent (an operator token, a
/// workspace key, a console token, the metrics token).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

impl<S> FromRequestParts<S> for CustomerSession
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let store = Store::from_ref(state);
        match viewer_of(parts, &store).await? {
            Viewer::Session {
                principal: Principal::Customer(customer_id),
                account_id: Some(account_id),
                session_id,
                csrf_token,
            } => Ok(CustomerSession {
                customer_id,
                account_id,
                session_id,
                csrf_token,
                headers: parts.headers.clone(),
            }),
            Viewer::Session { .. } => Err(ApiError::unauthorized("sign in as a customer")),
            Viewer::Anonymous if session_cookie_of(&parts.headers).is_some() => Err(
                ApiError::unauthorized("your session has ended; sign in again"),
            ),
            Viewer::Anonymous => Err(ApiError::unauthorized("sign in first")),
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
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("operator endpoints need Authorization: Bearer <operator token>")
        })?;
        match store
            .check_operator_token(token.trim())
            .await
            .map_err(ApiError::internal)?
        {
            TokenCheck::Valid { operator, .. } => Ok(OperatorToken(operator)),
            TokenCheck::Expired { at } => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                format!(
                    "the operator token expired at {}; ask for a new one (billing-center operator token USERNAME)",
                    at.to_rfc3339()
                ),
            )),
            TokenCheck::OperatorDisabled => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "operator_disabled",
                "the operator of this token is disabled",
            )),
            TokenCheck::Unknown | TokenCheck::Revoked => Err(ApiError::unauthorized(
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

    #[test]
    fn only_a_trusted_peer_names_the_client_and_only_through_x_forwarded_for() {
        let none = TrustedProxies::default();
        let proxies = TrustedProxies::parse("10.0.0.1, 10.1.0.0/16").unwrap();
        let peer = |ip: &str| Some(ip.parse::<IpAddr>().unwrap());
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6")]);
        // Nobody trusted: the peer, whatever it says.
        assert_eq!(
            client_address(peer("203.0.113.9"), &spoofed, &none),
            "203.0.113.9"
        );
        assert_eq!(
            client_address(peer("10.0.0.1"), &spoofed, &none),
            "10.0.0.1"
        );
        // An untrusted peer's header is ignored even when proxies are configured.
        assert_eq!(
            client_address(peer("203.0.113.9"), &spoofed, &proxies),
            "203.0.113.9"
        );
        // A trusted proxy: the client it appended.
        assert_eq!(
            client_address(peer("10.0.0.1"), &spoofed, &proxies),
            "6.6.6.6"
        );
        // The client's own entries (left) are not believed: the proxy appended the real one.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.1.2.3")]);
        assert_eq!(
            client_address(peer("10.0.0.1"), &chain, &proxies),
            "198.51.100.7"
        );
        // Several headers are one list, in order.
        let mut split = HeaderMap::new();
        split.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        split.append("x-forwarded-for", HeaderValue::from_static("198.51.100.8"));
        assert_eq!(
            client_address(peer("10.0.0.1"), &split, &proxies),
            "198.51.100.8"
        );
        // Ports and brackets; IPv4-mapped peers.
        let ported = headers(&[("x-forwarded-for", "[2001:db8::1]:443")]);
        assert_eq!(
            client_address(peer("::ffff:10.0.0.1"), &ported, &proxies),
            "2001:db8::1"
        );
        assert_eq!(
            client_address(
                peer("10.0.0.1"),
                &headers(&[("x-forwarded-for", "198.51.100.9:80")]),
                &proxies
            ),
            "198.51.100.9"
        );
        // Garbage, no header, or only proxies: as far as the proxies tell.
        let garbage = headers(&[("x-forwarded-for", "1.1.1.1, not-an-ip")]);
        assert_eq!(
            client_address(peer("10.0.0.1"), &garbage, &proxies),
            "10.0.0.1"
        );
        assert_eq!(
            client_address(peer("10.0.0.1"), &HeaderMap::new(), &proxies),
            "10.0.0.1"
        );
        let all_proxies = headers(&[("x-forwarded-for", "10.1.0.5")]);
        assert_eq!(
            client_address(peer("10.0.0.1"), &all_proxies, &proxies),
            "10.1.0.5"
        );
        // Other headers are never read.
        let others = headers(&[("forwarded", "for=6.6.6.6"), ("x-real-ip", "6.6.6.6")]);
        assert_eq!(
            client_address(peer("10.0.0.1"), &others, &proxies),
            "10.0.0.1"
        );
        assert_eq!(client_address(None, &spoofed, &proxies), "unknown");
    }

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
