//! Mail (issue 16), built as a bank would: nothing lost, nothing sent twice, nothing sent from
//! inside a failed transaction.
//!
//! - `outbox`: a message is rendered and written to the `outbox` table inside the transaction of
//!   the event that causes it (`enqueue`), so a rolled-back event sends nothing and a committed
//!   one is never forgotten; the sender claims due messages (PostgreSQL: `FOR UPDATE SKIP
//!   LOCKED`), and records each outcome.
//! - `sender`: delivery over SMTP with lettre, the retry schedule and the give-up rule.
//! - `templates`: every message in zh-CN and en, plain text and HTML, amounts as on the pages.
//! - `links`: the one-time links of password reset and address confirmation.
//! - `alerts`: which events tell the customer (and the operators) what, and to whom.
//! - `settings`: what each account wants to be told (`/api/v1/notifications`).

pub mod alerts;
pub mod links;
pub mod outbox;
pub mod sender;
pub mod settings;
pub mod templates;

use std::fmt;

/// The language a message is written in: the account's, chosen at sign-up from the page's and
/// changed in the notification settings. Codes are the pages' BCP 47 tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// Exactly a supported code (`zh-CN` or `en`, any case).
    pub fn from_code(code: &str) -> Option<Language> {
        if code.eq_ignore_ascii_case("zh-CN") {
            Some(Language::ZhCn)
        } else if code.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    }

    /// What a stored code means; an unknown one (never written by this code) reads as zh-CN.
    pub(crate) fn stored(code: &str) -> Language {
        Language::from_code(code).unwrap_or_default()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What mail needs to know about this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `PUBLIC_URL`, without a trailing slash: the links in mail point here.
    pub public_url: String,
    /// `OPERATOR_ALERT_EMAIL`: who receives the operators' alerts (none: they show at /ops only).
    pub operator_recipients: Vec<String>,
    /// `OPERATOR_ALERT_LANGUAGE` (default zh-CN).
    pub operator_language: Language,
    /// `ARREARS_GRACE_DAYS` (default 14).
    pub arrears_grace_days: i64,
}

impl Default for MailSettings {
    fn default() -> MailSettings {
        MailSettings {
            public_url: "http://127.0.0.1:3000".into(),
            operator_recipients: Vec::new(),
            operator_language: Language::default(),
            arrears_grace_days: billing::alerts::DEFAULT_ARREARS_GRACE_DAYS,
        }
    }
}

impl MailSettings {
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_url.trim_end_matches('/'))
    }
}

/// What went wrong with a mail setting or a mailed link.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("low_balance_threshold may be at most {max}")]
    ThresholdTooLarge { max: billing::Amount },
    #[error("unsupported language '{0}'; supported: zh-CN, en")]
    UnsupportedLanguage(String),
    /// Unknown, used, expired, or for an address the account no longer has.
    #[error("this link is unknown, used or expired; ask for a new one")]
    InvalidToken,
    #[error("this email address is already confirmed")]
    EmailConfirmed,
    #[error("no workspace '{0}' is bound to this account")]
    WorkspaceNotFound(String),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Ledger(#[from] crate::LedgerError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
