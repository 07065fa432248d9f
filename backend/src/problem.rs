//! One vocabulary of errors from the database to the page. Every domain error of `backend` becomes
//! a [`Problem`]: a stable code (what pages translate and programs match on), the field it concerns,
//! what kind of problem it is (which decides an HTTP status) and an English message. The matches
//! are exhaustive, so a new error variant must be given its code here before anything compiles.
//!
//! Which error type where: `backend` functions return their own `LedgerError` / `AuthError` /
//! `WorkspaceError` / `OpenTopUpError`; a surface turns them into a `Problem` (`Problem::from`)
//! and then, in one `From` impl each, into its own shape: the server functions'
//! `app::error::AppError`, the JSON API's `ApiError`. Both answer the same code, field and status
//! (`ProblemKind::http_status`). Errors that are not the domain's (a request the API cannot read,
//! a form without its CSRF token) are made by the surface itself, with codes of their own.

use crate::LedgerError;
use crate::auth::AuthError;
use crate::auth::password::PasswordRule;
use crate::cloud::CloudError;
use crate::console::ConsoleTokenError;
use crate::mail::MailError;
use crate::payments::OpenTopUpError;
use crate::workspaces::WorkspaceError;
use billing::wallet_rules::PrepaidCardError;

/// What kind of problem, independent of the surface (the API maps each to one HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The request carries something this server cannot use: an unknown, used or expired link
    /// token (400).
    BadRequest,
    /// The request is wrong: fix the named field (422).
    Invalid,
    /// What it names does not exist, or not for this caller (404).
    NotFound,
    /// It collides with what already happened (409).
    Conflict,
    /// What was sent is larger than this accepts (413).
    TooLarge,
    /// Sign in, or show a valid credential (401).
    Unauthorised,
    /// The credential is valid but does not open this (403).
    Forbidden,
    /// Too many attempts: try again later (429).
    RateLimited,
    /// This server cannot do it now or is not set up for it (503).
    Unavailable,
    /// Our fault; logged, never detailed to the caller (500).
    Internal,
}

impl ProblemKind {
    /// The HTTP status both surfaces answer with: the JSON API's `ApiError` and the server
    /// functions' `AppError` alike.
    pub fn http_status(self) -> u16 {
        match self {
            ProblemKind::BadRequest => 400,
            ProblemKind::Invalid => 422,
            ProblemKind::NotFound => 404,
            ProblemKind::Conflict => 409,
            ProblemKind::TooLarge => 413,
            ProblemKind::Unauthorised => 401,
            ProblemKind::Forbidden => 403,
            ProblemKind::RateLimited => 429,
            ProblemKind::Unavailable => 503,
            ProblemKind::Internal => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub kind: ProblemKind,
    pub field: Option<&'static str>,
    pub message: String,
    pub retry_after_secs: Option<i64>,
}

impl Problem {
    pub fn new(code: &'static str, kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            code,
            kind,
            field: None,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Problem {
        Problem::new(code, ProblemKind::Invalid, message).at(field)
    }

    /// The same problem, about `field`.
    pub fn at(mut self, field: &'static str) -> Problem {
        self.field = Some(field);
        self
    }

    /// The customer an operator names does not exist (the API's `account` field; the /ops forms
    /// show it at their own account field).
    pub fn unknown_customer(username: &str) -> Problem {
        Problem::new(
            "account_unknown",
            ProblemKind::NotFound,
            format!("no customer is named '{username}'"),
        )
        .at("account")
    }

    /// Our fault: the cause is logged here, the caller learns only that it failed.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %cause, "internal error");
        Problem::new(
            "internal",
            ProblemKind::Internal,
            "something went wrong on our side; it has been logged",
        )
    }
}

impl From<LedgerError> for Problem {
    fn from(error: LedgerError) -> Problem {
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match &error {
            LedgerError::AccountNotFound(_) => p("account_unknown", NotFound),
            LedgerError::TopUp(_) => p("amount_invalid", Invalid).at("amount"),
            LedgerError::PrepaidCard(PrepaidCardError::InsufficientCash { .. }) => {
                p("insufficient_cash", Conflict).at("denomination")
            }
            LedgerError::PrepaidCard(
                PrepaidCardError::BelowMinimum(_)
                | PrepaidCardError::NotMultipleOf100(_)
                | PrepaidCardError::AboveMaximum(_),
            ) => p("denomination_invalid", Invalid).at("denomination"),
            LedgerError::VoucherValidity(_) => p("valid_days_invalid", Invalid).at("valid_days"),
            LedgerError::InvalidFaceValue { .. } => {
                p("face_value_invalid", Invalid).at("face_value")
            }
            LedgerError::InvalidCodeCount { .. } => p("count_invalid", Invalid).at("count"),
            LedgerError::RedeemByInPast(_) => p("redeem_by_invalid", Invalid).at("redeem_by"),
            LedgerError::CodeNotFound(_) | LedgerError::CodeTooLong { .. } => {
                p("code_not_found", NotFound).at("code")
            }
            LedgerError::CodeAlreadyUsed(_) => p("code_already_used", Conflict).at("code"),
            LedgerError::CodeExpired { .. } => p("code_expired", Invalid).at("code"),
            LedgerError::InvalidIdempotencyKey(_) => p("idempotency_key_invalid", Invalid),
            LedgerError::IdempotencyKeyReused { .. } => p("idempotency_key_reused", Conflict),
            LedgerError::InvalidChargeCount { .. } => p("charges_invalid", Invalid).at("charges"),
            LedgerError::InvalidWorkspaceId(_) => {
                p("workspace_id_invalid", Invalid).at("workspace_id")
            }
            LedgerError::BillConflict { .. } => p("bill_conflict", Conflict),
            LedgerError::BillOfAnotherAccount { .. } => p("bill_of_another_account", Conflict),
            LedgerError::Wallet(_) => p("invalid_wallet", Invalid),
            LedgerError::InvalidAccountName => p("account_name_invalid", Invalid).at("name"),
            LedgerError::InvalidReference => p("reference_invalid", Invalid).at("reference"),
            LedgerError::DuplicateReceipt { .. } => {
                p("duplicate_receipt", Conflict).at("reference")
            }
            LedgerError::TooManyPendingTopUps { .. } => {
                p("too_many_pending_top_ups", Conflict).at("method")
            }
            LedgerError::ReferenceOfAnotherAccount { .. } => {
                p("reference_of_another_account", Conflict).at("reference")
            }
            LedgerError::TopUpAlreadyPaid { .. } => {
                p("top_up_already_paid", Conflict).at("reference")
            }
            LedgerError::TopUpAmountMismatch { .. } => {
                p("top_up_amount_mismatch", Conflict).at("amount")
            }
            LedgerError::ChargeTooLarge { .. } => p("charge_too_large", Invalid).at("charges"),
            LedgerError::InvalidValidityDays(_) => {
                p("valid_days_invalid", Invalid).at("valid_days")
            }
            LedgerError::SettlementChanged(_) => p("settlement_changed", Conflict),
            LedgerError::Database(_) | LedgerError::Corrupt(_) => Problem::internal(&error),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Problem {
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            AuthError::InvalidUsername => p("username_invalid", Invalid).at("username"),
            AuthError::InvalidEmail => p("email_invalid", Invalid).at("email"),
            AuthError::InvalidPhone => p("phone_invalid", Invalid).at("phone"),
            AuthError::InvalidText { field, .. } => p("text_invalid", Invalid).at(field),
            AuthError::WeakPassword(rule) => p(
                match rule {
                    PasswordRule::TooShort => "password_too_short",
                    PasswordRule::TooLong => "password_too_long",
                    PasswordRule::SameAsUsername => "password_same_as_username",
                    PasswordRule::TooCommon => "password_too_common",
                },
                Invalid,
            )
            .at("password"),
            AuthError::UnsupportedLanguage(_) => p("language_unsupported", Invalid).at("language"),
            AuthError::UsernameTaken => p("username_taken", Conflict).at("username"),
            AuthError::EmailTaken => p("email_taken", Conflict).at("email"),
            AuthError::InvalidCredentials => p("invalid_credentials", Unauthorised),
            // The session is fine; a field of the form is wrong.
            AuthError::WrongCurrentPassword => {
                p("wrong_current_password", Invalid).at("current_password")
            }
            AuthError::RateLimited { retry_after_secs } => Problem {
                retry_after_secs: Some(retry_after_secs),
                ..p("rate_limited", RateLimited)
            },
            AuthError::OperatorDisabled => p("operator_disabled", Unauthorised),
            AuthError::InvalidTokenDays { .. } => p("token_days_invalid", Invalid).at("days"),
            AuthError::NotFound(_) => p("not_found", NotFound),
            AuthError::Ledger(e) => Problem::from(e),
            AuthError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<WorkspaceError> for Problem {
    fn from(error: WorkspaceError) -> Problem {
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            WorkspaceError::InvalidWorkspaceId(_) => {
                p("workspace_id_invalid", Invalid).at("workspace_id")
            }
            WorkspaceError::InvalidName => p("workspace_name_invalid", Invalid).at("name"),
            WorkspaceError::AlreadyBoundHere(_) => {
                p("workspace_already_bound", Conflict).at("workspace_id")
            }
            WorkspaceError::BoundElsewhere(_) => {
                p("workspace_bound_elsewhere", Conflict).at("workspace_id")
            }
            WorkspaceError::NotFound(_) => p("workspace_not_found", NotFound),
            WorkspaceError::ConsoleTokenRequired => {
                p("console_token_required", Forbidden).at("console_token")
            }
            WorkspaceError::ConsoleToken(e) => Problem::from(e).at("console_token"),
            WorkspaceError::UnsettledUsage(_) => p("unsettled_usage", Conflict),
            WorkspaceError::ConsoleNotConfigured => p("console_not_configured", Unavailable),
            WorkspaceError::Ledger(e) => Problem::from(e),
            WorkspaceError::NotConsoleBound(_) => p("workspace_not_console_bound", Forbidden),
            WorkspaceError::NotBound(_) => p("workspace_not_found", NotFound),
            WorkspaceError::NotVerified(_) => p("not_verified", Forbidden),
            WorkspaceError::DifferentEnterprise => p("different_enterprise", Conflict),
            WorkspaceError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<ConsoleTokenError> for Problem {
    fn from(error: ConsoleTokenError) -> Problem {
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            ConsoleTokenError::Malformed
            | ConsoleTokenError::Algorithm(_)
            | ConsoleTokenError::Signature
            | ConsoleTokenError::Claims(_)
            | ConsoleTokenError::Issuer(_)
            | ConsoleTokenError::Audience(_)
            | ConsoleTokenError::Expired
            | ConsoleTokenError::IssuedInFuture
            | ConsoleTokenError::TooLongLived(_) => p("console_token_invalid", Unauthorised),
            ConsoleTokenError::OtherWorkspace { .. } => {
                p("console_token_other_workspace", Forbidden)
            }
            ConsoleTokenError::ForbiddenRole(_) => p("forbidden_role", Forbidden),
        }
    }
}

impl From<MailError> for Problem {
    fn from(error: MailError) -> Problem {
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            MailError::ThresholdTooLarge { .. } => {
                p("threshold_invalid", Invalid).at("low_balance_threshold")
            }
            MailError::UnsupportedLanguage(_) => p("language_unsupported", Invalid).at("language"),
            MailError::InvalidToken => p("invalid_token", BadRequest).at("token"),
            MailError::EmailConfirmed => p("email_already_confirmed", Conflict).at("email"),
            MailError::WorkspaceNotFound(_) => p("workspace_not_found", NotFound),
            MailError::Auth(AuthError::WeakPassword(rule)) => {
                Problem::from(AuthError::WeakPassword(rule)).at("new_password")
            }
            MailError::Auth(e) => Problem::from(e),
            MailError::Ledger(e) => Problem::from(e),
            MailError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<CloudError> for Problem {
    fn from(error: CloudError) -> Problem {
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            CloudError::InstanceNotFound(_) => {
                p("cloud_instance_not_found", NotFound).at("instance_id")
            }
            CloudError::SubscriptionEnded => {
                p("cloud_subscription_ended", Conflict).at("instance_id")
            }
            CloudError::InstanceOfAnotherAccount => {
                p("cloud_instance_of_another_account", Conflict).at("instance_id")
            }
            CloudError::ChangedThisMonth { .. } => p("settlement_changed_this_month", Conflict),
            CloudError::CloudUnavailable => p("cloud_unavailable", Unavailable).at("method"),
            CloudError::WorkspaceNotFound(_) => p("workspace_not_found", NotFound),
            CloudError::InvalidField { field } => p("cloud_field_invalid", Invalid).at(field),
            CloudError::InvalidNote => p("invalid_request", Invalid).at("note"),
            CloudError::Ledger(e) => Problem::from(e),
            CloudError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<crate::enterprise::EnterpriseError> for Problem {
    fn from(error: crate::enterprise::EnterpriseError) -> Problem {
        use crate::enterprise::EnterpriseError;
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            EnterpriseError::InvalidCreditCode(_) => {
                p("invalid_credit_code", BadRequest).at("credit_code")
            }
            EnterpriseError::InvalidField { field, .. } => {
                p("enterprise_field_invalid", Invalid).at(field)
            }
            EnterpriseError::PendingReview => p("verification_pending", Conflict),
            EnterpriseError::NotPending => p("verification_not_pending", Conflict),
            EnterpriseError::ChangedSinceShown => p("verification_changed", Conflict),
            EnterpriseError::AccountNotFound => p("account_unknown", NotFound),
            EnterpriseError::Licence(e) => Problem::from(e).at("licence_attachment_id"),
            EnterpriseError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<crate::support::SupportError> for Problem {
    fn from(error: crate::support::SupportError) -> Problem {
        use crate::support::SupportError;
        use ProblemKind::*;
        let message = error.to_string();
        let p = |code, kind| Problem::new(code, kind, message.clone());
        match error {
            SupportError::InvalidField { field, .. } => {
                p("ticket_field_invalid", Invalid).at(field)
            }
            SupportError::AttachmentEmpty => p("attachment_empty", Invalid).at("file"),
            SupportError::AttachmentTooLarge => p("attachment_too_large", TooLarge).at("file"),
            SupportError::AttachmentTypeRefused => p("attachment_type_refused", Invalid).at("file"),
            SupportError::LicenceNotADocument => {
                p("attachment_type_refused", Invalid).at("licence_attachment_id")
            }
            SupportError::TooManyAttachments => {
                p("too_many_attachments", Invalid).at("attachments")
            }
            SupportError::AttachmentNotFound => p("attachment_not_found", NotFound),
            SupportError::AttachmentInUse => p("attachment_in_use", Conflict).at("attachments"),
            SupportError::TicketNotFound => p("ticket_not_found", NotFound),
            SupportError::Transition(_) => p("ticket_state_conflict", Conflict),
            SupportError::NotRateable => p("ticket_not_closed", Conflict),
            SupportError::AlreadyRated => p("ticket_already_rated", Conflict),
            SupportError::OperatorNotFound(_) => p("operator_not_found", NotFound).at("operator"),
            SupportError::AlreadyAssigned => p("ticket_already_assigned", Conflict),
            SupportError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<crate::work_queue::WorkQueueError> for Problem {
    fn from(error: crate::work_queue::WorkQueueError) -> Problem {
        use crate::work_queue::WorkQueueError;
        match error {
            WorkQueueError::Support(e) => Problem::from(e),
            WorkQueueError::Ledger(e) => Problem::from(e),
            WorkQueueError::Database(e) => Problem::internal(&e),
        }
    }
}

impl From<OpenTopUpError> for Problem {
    fn from(error: OpenTopUpError) -> Problem {
        match error {
            OpenTopUpError::PaymentsUnavailable => Problem::new(
                "payments_unavailable",
                ProblemKind::Unavailable,
                error.to_string(),
            )
            .at("method"),
            OpenTopUpError::Ledger(e) => Problem::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_is_internal_and_says_nothing_of_the_cause() {
        let problem = Problem::from(LedgerError::Corrupt("balance off by 1 fen".into()));
        assert_eq!(problem.kind, ProblemKind::Internal);
        assert_eq!(problem.code, "internal");
        assert!(!problem.message.contains("fen"));
    }

    #[test]
    fn field_errors_name_their_field() {
        let problem = Problem::from(LedgerError::CodeAlreadyUsed("ABCD".into()));
        assert_eq!(
            (problem.code, problem.field),
            ("code_already_used", Some("code"))
        );
        let problem = Problem::from(AuthError::RateLimited {
            retry_after_secs: 30,
        });
        assert_eq!(problem.retry_after_secs, Some(30));
        assert_eq!(problem.kind, ProblemKind::RateLimited);
    }
}
