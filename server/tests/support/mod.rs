//! Drives the whole router in-process with `oneshot`: no socket, no port.

#![allow(dead_code, unused_macros)]

pub mod app;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use server::config::Config;
use tower::ServiceExt;

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A store in a fresh SQLite file, removed when dropped.
pub struct TempStore {
    pub store: backend::Store,
    path: std::path::PathBuf,
}

impl TempStore {
    pub async fn new() -> TempStore {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir()
            .join("billing-center-tests")
            .join(format!("server-{}-{n}.db", std::process::id()));
        let store = backend::Store::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("a test store opens");
        TempStore { store, path }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(format!("{}{suffix}", self.path.display())).ok();
        }
    }
}

pub async fn send(request: Request<Body>) -> TestResponse {
    let config = Config::from_lookup(|_| None).expect("default config");
    let uri = request.uri().clone();
    let limit = std::time::Duration::from_secs(10);
    let temp = tokio::time::timeout(limit, TempStore::new())
        .await
        .unwrap_or_else(|_| panic!("{uri}: opening the store hung"));
    let app = server::router::app(
        config.leptos_options(),
        temp.store.clone(),
        config.settings(),
    );
    let response: Response<Body> = tokio::time::timeout(limit, app.oneshot(request))
        .await
        .unwrap_or_else(|_| panic!("{uri}: no response"))
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = tokio::time::timeout(limit, response.into_body().collect())
        .await
        .unwrap_or_else(|_| panic!("{uri}: the body never ended"))
        .unwrap()
        .to_bytes();
    temp.store.close().await;
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(uri: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder.body(Body::empty()).unwrap()).await
}

pub async fn post_json(uri: &str, body: impl Into<String>) -> TestResponse {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.into()))
        .unwrap();
    send(request).await
}

/// The example request of issue 2's `plan` contract.
pub fn example_plan_request() -> serde_json::Value {
    serde_json::json!({
        "settlement": "account",
        "at": "2026-11-23T00:00:00+08:00",
        "wallet": {"cash": "100.00", "arrears": "0.00", "instruments": [
            {"id": "v1", "kind": "regular_voucher", "balance": "10.00",
             "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z",
             "activated_at": "2026-01-01T00:00:00Z"}
        ]},
        "charges": [{"item": "logs", "amount": "12.34"}]
    })
}

/// The text inside the first element carrying `attribute` (e.g. `data-testid="total"`), in
/// server-rendered HTML. Enough for the flat elements these tests look at.
pub fn text_of<'a>(html: &'a str, attribute: &str) -> Option<&'a str> {
    let at = html.find(attribute)?;
    let start = at + html[at..].find('>')? + 1;
    let end = start + html[start..].find('<')?;
    Some(&html[start..end])
}
