//! Headers every response carries: a Content-Security-Policy (pages send their own, with the
//! nonce of their inline scripts; see `app::content_security_policy`), `X-Content-Type-Options`,
//! `Referrer-Policy`, `X-Frame-Options` for browsers older than `frame-ancestors`, and HSTS when
//! the public URL is https.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Whether to send Strict-Transport-Security (the public URL is https).
#[derive(Debug, Clone, Copy)]
pub struct Hsts(pub bool);

/// One year, subdomains included: what browsers' preload lists ask for.
const HSTS_VALUE: &str = "max-age=31536000; includeSubDomains";

pub async fn add_security_headers(
    State(Hsts(hsts)): State<Hsts>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(policy) = HeaderValue::from_str(&app::content_security_policy(None))
    {
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
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS_VALUE),
        );
    }
    response
}
