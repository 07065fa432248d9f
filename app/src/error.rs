//! The error every server function returns: the code of `backend::problem::Problem` (one
//! vocabulary from the database to the page), the field it concerns, and for rate limits when to
//! try again. It travels as JSON to the browser, and without WebAssembly in the URL the form is
//! sent back to (`__err`), so a page renders the same message at the same field either way.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::Msg;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<i64>,
    /// What was typed into the form's non-secret fields, for a plain form post: the page it goes
    /// back to shows it again (with WebAssembly the form is never re-rendered, so it stays).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub typed: Vec<(String, String)>,
    /// The HTTP status of the answer: the problem's kind (`backend::problem::ProblemKind`), or
    /// for the app's own codes what its constructor says; absent means invalid (422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl AppError {
    /// A value of the form the caller must fix (422).
    pub fn new(code: &str) -> AppError {
        AppError {
            code: code.to_owned(),
            field: None,
            retry_after_secs: None,
            typed: Vec::new(),
            status: None,
        }
    }

    /// The caller must sign in (again): 401.
    pub fn unauthorised(code: &str) -> AppError {
        AppError::new(code).with_status(401)
    }

    /// Signed in, but this request may not do it (a bad CSRF token): 403.
    pub fn forbidden(code: &str) -> AppError {
        AppError::new(code).with_status(403)
    }

    /// What it names is not there for this caller: 404.
    pub fn not_found(code: &str) -> AppError {
        AppError::new(code).with_status(404)
    }

    /// Too many attempts: 429, with when to try again.
    pub fn rate_limited(code: &str, retry_after_secs: i64) -> AppError {
        AppError {
            retry_after_secs: Some(retry_after_secs),
            ..AppError::new(code).with_status(429)
        }
    }

    /// Ours, or the network's: 500.
    pub fn failed(code: &str) -> AppError {
        AppError::new(code).with_status(500)
    }

    pub fn with_status(mut self, status: u16) -> AppError {
        self.status = Some(status);
        self
    }

    /// The same error, shown at `field`.
    pub fn at(mut self, field: &str) -> AppError {
        self.field = Some(field.to_owned());
        self
    }

    /// What was typed into `field` before the form came back with this error.
    pub fn typed(&self, field: &str) -> Option<String> {
        self.typed
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }

    /// The HTTP status of this error's answer to the app's `fetch` (a plain form post is
    /// redirected instead).
    pub fn status(&self) -> u16 {
        self.status.unwrap_or(422)
    }

    /// What the page says.
    pub fn message(&self) -> Msg {
        crate::account::error_message(&self.code)
    }

    /// The message if this error belongs to `field`.
    pub fn at_field(&self, field: &str) -> Option<Msg> {
        (self.field.as_deref() == Some(field)).then(|| self.message())
    }

    /// The message if this error belongs to no field of the form (`fields`).
    pub fn outside(&self, fields: &[&str]) -> Option<Msg> {
        match self.field.as_deref() {
            Some(field) if fields.contains(&field) => None,
            _ => Some(self.message()),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field})", self.code),
            None => f.write_str(&self.code),
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> AppError {
        match value {
            // The request did not carry the form it should (a hand-made post, a stale page).
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::new("form_invalid")
            }
            // The browser could not reach the server, or what came back is not the server
            // function's answer (a proxy's error page, an unavailable database).
            ServerFnErrorErr::Request(_)
            | ServerFnErrorErr::Response(_)
            | ServerFnErrorErr::Deserialization(_) => AppError::failed("network"),
            other => {
                #[cfg(feature = "ssr")]
                leptos::logging::error!("server function failed: {other}");
                let _ = other;
                AppError::failed("internal")
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<backend::problem::Problem> for AppError {
    fn from(problem: backend::problem::Problem) -> AppError {
        AppError {
            code: problem.code.to_owned(),
            field: problem.field.map(str::to_owned),
            retry_after_secs: problem.retry_after_secs,
            typed: Vec::new(),
            status: Some(problem.kind.http_status()),
        }
    }
}

#[cfg(feature = "ssr")]
macro_rules! from_domain_error {
    ($($error:ty),*) => {$(
        impl From<$error> for AppError {
            fn from(error: $error) -> AppError {
                backend::problem::Problem::from(error).into()
            }
        }
    )*};
}

#[cfg(feature = "ssr")]
from_domain_error!(
    backend::LedgerError,
    backend::auth::AuthError,
    backend::workspaces::WorkspaceError,
    backend::console::ConsoleTokenError,
    backend::payments::OpenTopUpError,
    backend::mail::MailError,
    backend::cloud::CloudError,
    backend::enterprise::EnterpriseError,
    backend::support::SupportError,
    backend::work_queue::WorkQueueError,
    backend::ops_accounts::OpsAccountError
);
