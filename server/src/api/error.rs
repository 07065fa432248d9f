use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa::ToSchema;

/// Every refusal of the API, whatever its status: `{"error":{"code","message","field"?}}`.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"error": {"code": "invalid_field", "field": "amount", "message": "the amount must be 0.01 to 1,000,000.00"}}))]
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

#[derive(Debug, ToSchema)]
pub struct ApiErrorDetail {
    /// A stable machine-readable code (docs/API.md lists them), e.g. `invalid_field`.
    pub code: String,
    /// For people; never an internal detail.
    pub message: String,
    /// The request field at fault, when the error is about one field.
    #[schema(nullable = false)]
    pub field: Option<String>,
}

/// An API error: an HTTP status, a stable machine-readable code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, for forms to show the message next to it.
    pub field: Option<&'static str>,
    /// Seconds to wait, sent as `Retry-After` (429).
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: Option<&'static str>) -> ApiError {
        self.field = field;
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// A failure whose details belong in the log, not in the response.
    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; try again",
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

/// Every domain error reaches programs as the pages get it: the problem's code, field and message,
/// with the status its kind gives (`ProblemKind::http_status`). Internal problems were logged
/// where they were made; the caller learns only that it failed.
impl From<backend::problem::Problem> for ApiError {
    fn from(problem: backend::problem::Problem) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(problem.kind.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: problem.code,
            message: problem.message,
            field: problem.field,
            retry_after: problem.retry_after_secs,
        }
    }
}

macro_rules! from_domain_error {
    ($($error:ty),*) => {$(
        impl From<$error> for ApiError {
            fn from(error: $error) -> ApiError {
                backend::problem::Problem::from(error).into()
            }
        }
    )*};
}

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}
