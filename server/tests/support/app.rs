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

    pub async fn sign_up(&self, username: &str) -> Reply {
        let body = json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse battery"});
        self.call("POST", "/api/v1/accounts", Some(body), &[], "10.0.0.1")
            .await
    }
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

pub fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
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
