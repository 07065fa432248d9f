//! Headers every response carries: a Content-Security-Policy (`app::content_security_policy`),
//! `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options` for browsers older than
//! `frame-ancestors`, and HSTS when the public URL is https. Pages under `/embed/` may be framed
//! by exactly the console's origins (`frame-ancestors` = `CONSOLE_ORIGINS`, no X-Frame-Options).
//!
//! The nonce of a page's inline scripts (Leptos's hydration and resource scripts) is made here,
//! before the page renders: it goes into the request ([`CspNonce`]), the router gives it to Leptos
//! as the page's nonce, and an HTML answer's policy names it. One place decides, so a page and its
//! policy cannot disagree.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// What the headers depend on: whether to send Strict-Transport-Security (the public URL is
/// https), and who may frame the embeddable panel (`CONSOLE_ORIGINS`).
#[derive(Debug, Clone)]
pub struct HeaderSettings {
    pub hsts: bool,
    pub console_origins: std::sync::Arc<[String]>,
}

/// The pages made to be framed by the console (the workspace panel); every other answer may
/// not be framed at all.
const EMBEDDABLE: &str = "/embed/";

/// One year, subdomains included: what browsers' preload lists ask for.
const HSTS_VALUE: &str = "max-age=31536000; includeSubDomains";

/// The nonce of this request's inline scripts (128 random bits, hex).
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

pub async fn add_security_headers(
    State(settings): State<HeaderSettings>,
    mut request: Request,
    next: Next,
) -> Response {
    let embeddable = request.uri().path().starts_with(EMBEDDABLE);
    let nonce = backend::auth::random_token(16);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let ancestors: &[String] = if embeddable {
        &settings.console_origins
    } else {
        &[]
    };
    let policy = app::content_security_policy(html.then_some(nonce.as_str()), ancestors);
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if !embeddable {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if settings.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS_VALUE),
        );
    }
    response
}
