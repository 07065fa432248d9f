//! One router over a fresh SQLite file or PostgreSQL database, driven in-process, for the black-box
//! API tests that run on both databases.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use backend::Store;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use server::auth::SecureCookies;
use server::config::Config;
use sqlx::{Connection, Executor};
use tower::ServiceExt;

/// The defaults with the payment sandbox on, as most tests pay through it.
pub fn default_settings() -> server::router::Settings {
    Config::from_lookup(|name| (name == "PAYMENT_SANDBOX").then(|| "on".to_owned()))
        .unwrap()
        .settings()
}

/// What a server started with no payment configuration at all uses.
pub fn production_settings() -> server::router::Settings {
    Config::from_lookup(|_| None).unwrap().settings()
}

pub struct TestApp {
    pub store: Store,
    pub secure: bool,
    /// Payment settings; the defaults use the sandbox gateway.
    pub settings: server::router::Settings,
    cleanup: Option<(String, String)>,
    path: Option<std::path::PathBuf>,
}

/// A signed-up customer as the API sees them: the `Cookie` header value and the CSRF token.
pub struct Customer {
    pub cookie: String,
    pub csrf: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn session_cookie(&self) -> Option<String> {
        let set = self.headers.get("set-cookie")?.to_str().ok()?;
        let value = set.split(';').next()?.strip_prefix("bc_session=")?;
        (!value.is_empty()).then(|| value.to_owned())
    }
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let path = std::env::temp_dir()
            .join("billing-center-tests")
            .join(format!("api-{}-{}.db", std::process::id(), rand_suffix()));
        let store = Store::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        TestApp {
            store,
            secure: false,
            settings: default_settings(),
            cleanup: None,
            path: Some(path),
        }
    }

    pub async fn postgres() -> TestApp {
        let admin = std::env::var("BILLING_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("billing_test_api_{}_{}", std::process::id(), rand_suffix());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("a PostgreSQL server (scripts/test.sh starts one)");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let store = Store::open(&url).await.unwrap();
        TestApp {
            store,
            secure: false,
            settings: default_settings(),
            cleanup: Some((admin, name)),
            path: None,
        }
    }

    /// The database URL, for processes of their own (the CLI).
    pub fn database_url(&self) -> Option<String> {
        match (&self.cleanup, &self.path) {
            (Some((admin, name)), _) => Some(format!("{}/{name}", admin.rsplit_once('/')?.0)),
            (None, Some(path)) => Some(format!("sqlite://{}", path.display())),
            (None, None) => None,
        }
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.cleanup
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await
        {
            conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .ok();
        }
        if let Some(path) = self.path {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
            }
        }
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
        client: &str,
    ) -> Reply {
        let config = Config::from_lookup(|_| None).unwrap();
        let app = server::router::app(
            config.leptos_options(),
            self.store.clone(),
            server::router::Settings {
                secure_cookies: SecureCookies(self.secure),
                ..self.settings.clone()
            },
        );
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).unwrap();
        let address: SocketAddr = format!("{client}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(address));
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A form post or page load: status, headers and the body as text.
    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        form: Option<&str>,
        cookie: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        self.raw_from(method, uri, form, cookie, "10.0.0.7", &[])
            .await
    }

    /// As [`TestApp::raw`], from the socket peer `client`, with extra headers.
    pub async fn raw_from(
        &self,
        method: &str,
        uri: &str,
        form: Option<&str>,
        cookie: Option<&str>,
        client: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let config = Config::from_lookup(|_| None).unwrap();
        let app = server::router::app(
            config.leptos_options(),
            self.store.clone(),
            server::router::Settings {
                secure_cookies: SecureCookies(self.secure),
                ..self.settings.clone()
            },
        );
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(cookie) = cookie {
            builder = builder.header("cookie", format!("bc_session={cookie}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match form {
            Some(form) => {
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
                Body::from(form.to_owned())
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).unwrap();
        let address: SocketAddr = format!("{client}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(address));
        let response = app.oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Any request at all: raw bytes as the body, the given headers, from 10.0.0.9.
    pub async fn send_bytes(
        &self,
        method: &str,
        uri: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let config = Config::from_lookup(|_| None).unwrap();
        let app = server::router::app(
            config.leptos_options(),
            self.store.clone(),
            server::router::Settings {
                secure_cookies: SecureCookies(self.secure),
                ..self.settings.clone()
            },
        );
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder.body(Body::from(body)).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo("10.0.0.9:40000".parse::<SocketAddr>().unwrap()));
        let response = app.oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    /// A page's form posted the way a browser without WebAssembly sends it: to the server function
    /// `/fn/{endpoint}`, with `Accept: text/html` and the page (`/wallet`, `/ops?x=1`) as an absolute
    /// `Referer`, from 10.0.0.7. `cookie` is the session's value (and may go on with `; other=…`).
    pub async fn form_post(
        &self,
        endpoint: &str,
        page: &str,
        form: &str,
        cookie: Option<&str>,
    ) -> FormAnswer {
        self.form_post_from(endpoint, page, form, cookie, "10.0.0.7")
            .await
    }

    /// As [`TestApp::form_post`], from the socket peer `client`.
    pub async fn form_post_from(
        &self,
        endpoint: &str,
        page: &str,
        form: &str,
        cookie: Option<&str>,
        client: &str,
    ) -> FormAnswer {
        let referer = format!("{ORIGIN}{page}");
        let (status, headers, body) = self
            .raw_from(
                "POST",
                &format!("/fn/{endpoint}"),
                Some(form),
                cookie,
                client,
                &[
                    ("accept", "text/html"),
                    ("referer", &referer),
                    ("host", "localhost"),
                ],
            )
            .await;
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let error = form_error(&location);
        if error.is_some() {
            // An error goes back to the page the form was on, naming the function that refused.
            let query = location
                .split_once('#')
                .map_or(location.as_str(), |(l, _)| l);
            assert!(
                query.starts_with(&format!("{referer}?"))
                    || query.starts_with(&format!("{referer}&")),
                "/fn/{endpoint}: the error goes back to {referer}: {location}"
            );
            assert_eq!(
                query_param(&location, "__path").as_deref(),
                Some(format!("/fn/{endpoint}").as_str()),
                "{location}"
            );
        }
        FormAnswer {
            status,
            headers,
            location,
            error,
            body,
        }
    }

    /// A server function called the way the app calls it (a `fetch`, no `Accept: text/html`):
    /// the form-encoded arguments in, the JSON answer out (the return value, or the error).
    pub async fn fn_call(&self, endpoint: &str, form: &str, cookie: Option<&str>) -> Reply {
        let (status, headers, body) = self
            .raw_from(
                "POST",
                &format!("/fn/{endpoint}"),
                Some(form),
                cookie,
                "10.0.0.7",
                &[("accept", "application/json")],
            )
            .await;
        let body = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/fn/{endpoint}: not JSON ({e}): {status} {body:?}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A customer signed up as `name`: their session cookie and CSRF token.
    pub async fn customer(&self, name: &str) -> Customer {
        let signed_up = self.sign_up(name).await;
        Customer {
            cookie: cookie(&signed_up.session_cookie().unwrap()),
            csrf: signed_up.body["csrf_token"].as_str().unwrap().into(),
        }
    }

    /// A JSON API call in `who`'s session, with their CSRF token, from 10.0.0.1.
    pub async fn as_customer(
        &self,
        who: &Customer,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        let headers = [
            ("cookie", who.cookie.as_str()),
            ("x-csrf-token", who.csrf.as_str()),
        ];
        self.call(method, uri, body, &headers, "10.0.0.1").await
    }

    pub async fn sign_up(&self, username: &str) -> Reply {
        let body = json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse battery"});
        self.call("POST", "/api/v1/accounts", Some(body), &[], "10.0.0.1")
            .await
    }
}

/// Where the forms say they were sent from (the `Referer`); server functions need it absolute.
pub const ORIGIN: &str = "http://localhost";

/// The error a server function put in the URL it sent a plain form post back to (`__err`): the
/// same JSON as its error body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct FormError {
    pub code: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub retry_after_secs: Option<i64>,
    /// What was typed into the form's non-secret fields, for the page to show again.
    #[serde(default)]
    pub typed: Vec<(String, String)>,
}

impl FormError {
    /// (code, field), for comparing in one `assert_eq!`.
    pub fn pair(&self) -> (&str, Option<&str>) {
        (self.code.as_str(), self.field.as_deref())
    }

    /// What came back as typed into `field`.
    pub fn typed(&self, field: &str) -> Option<&str> {
        self.typed
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// What a plain form post to a server function got back.
#[derive(Debug)]
pub struct FormAnswer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    /// The `Location` as sent (an error's is absolute: the `Referer` with `__path` and `__err`).
    pub location: String,
    /// The error in `location`, if any.
    pub error: Option<FormError>,
    pub body: String,
}

impl FormAnswer {
    /// Where the browser goes next, on this site (no `http://localhost`).
    pub fn path(&self) -> String {
        self.location
            .strip_prefix(ORIGIN)
            .unwrap_or(&self.location)
            .to_owned()
    }

    /// Whether the browser is sent on with a GET: 303 See Other is what the server means to send
    /// (`server_functions.rs` checks exactly that); a 302 is followed with a GET by browsers too.
    pub fn redirects(&self) -> bool {
        matches!(self.status, StatusCode::SEE_OTHER | StatusCode::FOUND)
    }

    /// A redirect to `path` with no error.
    #[track_caller]
    pub fn assert_goes_to(&self, path: &str) {
        assert!(self.redirects(), "{self:?}");
        assert_eq!(
            (self.error.as_ref(), self.path().as_str()),
            (None, path),
            "{self:?}"
        );
    }

    /// A redirect back to the page with the error `code` at `field`.
    #[track_caller]
    pub fn assert_error(&self, code: &str, field: Option<&str>) {
        assert!(self.redirects(), "{self:?}");
        assert_eq!(
            self.error.as_ref().map(FormError::pair),
            Some((code, field)),
            "{}",
            self.location
        );
    }

    /// The new `bc_session` value this answer set, if any (not a cleared one).
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|set| set.split(';').next()?.strip_prefix("bc_session="))
            .find(|value| !value.is_empty())
            .map(str::to_owned)
    }

    /// Every `Set-Cookie` of the answer, joined with newlines.
    pub fn set_cookies(&self) -> String {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A query parameter of `location`, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        query_param(&self.location, name)
    }
}

/// The value of the query parameter `name` of `url` (before any `#`), decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The error a server function sent a plain form post back with: `__err` in `location`, URL-safe
/// base64 (with padding) of the error's JSON. None when there is no `__err`; a panic when there is
/// one that does not decode (that is a bug worth seeing).
pub fn form_error(location: &str) -> Option<FormError> {
    let encoded = query_param(location, "__err")?;
    let json = decode_url_safe_base64(&encoded)
        .unwrap_or_else(|| panic!("__err is not URL-safe base64: {encoded:?} in {location}"));
    Some(serde_json::from_slice(&json).unwrap_or_else(|e| {
        panic!(
            "__err is not an error's JSON ({e}): {}",
            String::from_utf8_lossy(&json)
        )
    }))
}

/// Base64 with the URL-safe alphabet (`-`, `_`), padding optional. None for anything else.
pub fn decode_url_safe_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    (count < 6).then_some(out)
}

/// The hidden fields of the sandbox checkout's pay form, unescaped.
pub fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    page.split(r#"<input type="hidden" name=""#)
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split(r#"value=""#)
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// A name part no other test of this process has: a counter (two tests starting in the same
/// clock tick once got the same SQLite file, and one of them "database is locked"), with the
/// clock's nanoseconds so that runs do not meet leftovers of earlier ones.
pub fn rand_suffix() -> u32 {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos / 1000 * 1000 + n % 1000
}

pub fn cookie(session: &str) -> String {
    format!("bc_session={session}")
}

#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::support::app::TestApp::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::support::app::TestApp::postgres().await).await;
            }
        }
    )*};
}
