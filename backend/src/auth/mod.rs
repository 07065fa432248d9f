//! Who may move which money: customers (the login of a billing account), operators, sessions,
//! the rate limiter and the operator audit log (issue 4; limits and operator tokens: issue 12).

pub mod audit;
pub mod customers;
pub mod operators;
pub mod password;
pub mod rate_limit;
pub mod sessions;

use sha2::{Digest, Sha256};

/// The client address of a request as the server resolved it: the socket peer, or the client a
/// trusted reverse proxy forwarded for. The server puts it in each request's extensions; it is what
/// rate limits count and audit rows record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedClient(pub String);

/// What went wrong with a sign-up, a sign-in or a profile change. Field errors name their field.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("username must be 3 to 32 characters of a-z, 0-9, '_' and '-'")]
    InvalidUsername,
    #[error("email must look like name@example.com (at most 254 characters)")]
    InvalidEmail,
    #[error("phone must be 5 to 20 digits, optionally with +, spaces or dashes")]
    InvalidPhone,
    #[error("{field} may be at most {max} characters, without control characters")]
    InvalidText { field: &'static str, max: usize },
    #[error("{0}")]
    WeakPassword(#[from] password::PasswordRule),
    #[error("unsupported language '{0}'; supported: zh-CN, en")]
    UnsupportedLanguage(String),
    #[error("this username is taken")]
    UsernameTaken,
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Deliberately the same for an unknown login and a wrong password.
    #[error("the login or the password is wrong")]
    InvalidCredentials,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: i64 },
    /// The operator's password was right, but the operator is disabled.
    #[error("this operator is disabled")]
    OperatorDisabled,
    #[error("a token lives 1 to {max} days, not {days}", max = operators::MAX_TOKEN_DAYS)]
    InvalidTokenDays { days: i64 },
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
}

impl AuthError {
    /// A stable code for the error: forms carry it in a redirect, pages translate it.
    pub fn code(&self) -> &'static str {
        use password::PasswordRule;
        match self {
            AuthError::InvalidUsername => "username_invalid",
            AuthError::InvalidEmail => "email_invalid",
            AuthError::InvalidPhone => "phone_invalid",
            AuthError::InvalidText { .. } => "text_invalid",
            AuthError::WeakPassword(PasswordRule::TooShort) => "password_too_short",
            AuthError::WeakPassword(PasswordRule::TooLong) => "password_too_long",
            AuthError::WeakPassword(PasswordRule::SameAsUsername) => "password_same_as_username",
            AuthError::WeakPassword(PasswordRule::TooCommon) => "password_too_common",
            AuthError::UnsupportedLanguage(_) => "language_unsupported",
            AuthError::UsernameTaken => "username_taken",
            AuthError::EmailTaken => "email_taken",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::WrongCurrentPassword => "wrong_current_password",
            AuthError::RateLimited { .. } => "rate_limited",
            AuthError::OperatorDisabled => "operator_disabled",
            AuthError::InvalidTokenDays { .. } => "token_days_invalid",
            AuthError::NotFound(_) => "not_found",
            AuthError::Database(_) | AuthError::Ledger(_) => "internal",
        }
    }

    /// The form field the error belongs to, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AuthError::InvalidUsername | AuthError::UsernameTaken => Some("username"),
            AuthError::InvalidEmail | AuthError::EmailTaken => Some("email"),
            AuthError::UnsupportedLanguage(_) => Some("language"),
            AuthError::InvalidPhone => Some("phone"),
            AuthError::InvalidText { field, .. } => Some(field),
            AuthError::WeakPassword(_) => Some("password"),
            AuthError::WrongCurrentPassword => Some("current_password"),
            _ => None,
        }
    }
}

/// Compares secrets (CSRF tokens) in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes as hex: session ids, CSRF tokens, API tokens.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex(&buf)
}

pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
