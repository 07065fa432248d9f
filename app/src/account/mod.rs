//! The account pages: sign up, sign in, and the account page (profile, password, sign out),
//! password reset and address confirmation, notification settings, and the operators' /ops. Each form is an `ActionForm` on a server function (`actions`, `ops`).

pub mod actions;
mod enterprise;
mod notifications;
mod ops;
mod ops_support;
mod overview;
mod pages;
mod recovery;
mod session;

pub use enterprise::{EnterprisePage, OpsEnterprisePage};
pub use notifications::NotificationsPage;
pub use ops::OpsPage;
pub use ops_support::{OpsAccountPage, OpsAccountsPage, OpsTicketPage, WorkQueue};
#[cfg(feature = "ssr")]
pub(crate) use overview::movement_name;
pub use overview::{AccountOverview, AccountOverviewView, load_overview};
pub(crate) use pages::with_next;
pub use pages::{AccountPage, SignInPage, SignUpPage};
pub use recovery::{ConfirmEmailPage, ResetPasswordPage};
pub use session::{
    AccountMenu, SessionEpoch, SessionView, load_session, provide_session, use_epoch,
};

use crate::i18n::Msg;

/// The message for an error code of `backend::auth::AuthError::code` or of the form handlers.
pub fn error_message(code: &str) -> Msg {
    match code {
        "username_invalid" => Msg::ErrUsernameInvalid,
        "username_taken" => Msg::ErrUsernameTaken,
        "email_invalid" => Msg::ErrEmailInvalid,
        "email_taken" => Msg::ErrEmailTaken,
        "phone_invalid" => Msg::ErrPhoneInvalid,
        "text_invalid" => Msg::ErrTextInvalid,
        "password_too_short" => Msg::ErrPasswordTooShort,
        "password_too_long" => Msg::ErrPasswordTooLong,
        "password_same_as_username" => Msg::ErrPasswordSameAsUsername,
        "password_too_common" => Msg::ErrPasswordTooCommon,
        "invalid_credentials" => Msg::ErrInvalidCredentials,
        "wrong_current_password" => Msg::ErrWrongCurrentPassword,
        "rate_limited" => Msg::ErrRateLimited,
        "operator_disabled" => Msg::ErrOperatorDisabled,
        "session_ended" => Msg::ErrSessionEnded,
        "csrf_failed" => Msg::ErrCsrf,
        "amount_invalid" => Msg::ErrAmountInvalid,
        "method_invalid" => Msg::ErrMethod,
        "payments_unavailable" => Msg::ErrPaymentsUnavailable,
        "too_many_pending_top_ups" => Msg::ErrTooManyPendingTopUps,
        "code_not_found" => Msg::ErrCodeNotFound,
        "workspace_id_invalid" => Msg::ErrWorkspaceId,
        "workspace_name_invalid" => Msg::ErrWorkspaceName,
        "workspace_already_bound" => Msg::ErrWorkspaceAlreadyBound,
        "workspace_bound_elsewhere" => Msg::ErrWorkspaceBoundElsewhere,
        "workspace_not_found" => Msg::ErrWorkspaceNotFound,
        "console_token_required" => Msg::ErrConsoleTokenRequired,
        "console_token_invalid" => Msg::ErrConsoleTokenInvalid,
        "console_token_other_workspace" => Msg::ErrConsoleTokenOtherWorkspace,
        "forbidden_role" => Msg::ErrForbiddenRole,
        "unsettled_usage" => Msg::ErrUnsettledUsage,
        "console_not_configured" => Msg::ErrConsoleNotConfigured,
        "month_invalid" => Msg::ErrMonthInvalid,
        "code_already_used" => Msg::ErrCodeUsed,
        "code_expired" => Msg::ErrCodeExpired,
        "insufficient_cash" => Msg::ErrInsufficientCash,
        "denomination_invalid" => Msg::ErrDenomination,
        "too_many_attempts" => Msg::ErrTooManyAttempts,
        "account_unknown" => Msg::ErrAccountUnknown,
        "duplicate_receipt" => Msg::ErrReferenceUsed,
        "reference_of_another_account" => Msg::ErrReferenceOther,
        "top_up_amount_mismatch" => Msg::ErrTopUpAmount,
        "reference_invalid" => Msg::ErrReferenceInvalid,
        "top_up_already_paid" => Msg::ErrTopUpAlreadyPaid,
        "idempotency_key_reused" => Msg::ErrFormAlreadySent,
        "idempotency_key_invalid" | "form_invalid" => Msg::ErrFormInvalid,
        "face_value_invalid" => Msg::ErrFaceValue,
        "valid_days_invalid" => Msg::ErrValidDays,
        "count_invalid" => Msg::ErrCount,
        "network" => Msg::ErrNetwork,
        "top_up_not_found" | "not_found" => Msg::ErrNotFound,
        "redeem_by_invalid" => Msg::ErrRedeemBy,
        "invalid_token" => Msg::ErrInvalidToken,
        "threshold_invalid" => Msg::ErrThreshold,
        "language_unsupported" => Msg::ErrLanguage,
        "email_already_confirmed" => Msg::ErrEmailConfirmed,
        "cloud_instance_not_found" => Msg::ErrCloudInstance,
        "cloud_subscription_ended" => Msg::ErrCloudEnded,
        "cloud_instance_of_another_account" => Msg::ErrCloudOther,
        "settlement_changed_this_month" => Msg::ErrSettlementMonth,
        "cloud_field_invalid" => Msg::ErrCloudField,
        "invalid_credit_code" => Msg::ErrCreditCode,
        "enterprise_field_invalid" => Msg::ErrEnterpriseField,
        "verification_pending" => Msg::ErrVerificationPending,
        "verification_not_pending" => Msg::ErrVerificationNotPending,
        "ticket_field_invalid" => Msg::ErrTicketField,
        "attachment_too_large" => Msg::ErrAttachmentTooLarge,
        "attachment_type_refused" => Msg::ErrAttachmentType,
        "attachment_empty" => Msg::ErrAttachmentEmpty,
        "too_many_attachments" => Msg::ErrTooManyAttachments,
        "attachment_not_found" => Msg::ErrAttachmentNotFound,
        "attachment_in_use" => Msg::ErrAttachmentInUse,
        "ticket_not_found" => Msg::ErrTicketNotFound,
        "ticket_state_conflict" => Msg::ErrTicketState,
        "ticket_not_closed" => Msg::ErrTicketNotClosed,
        "ticket_already_rated" => Msg::ErrTicketRated,
        "not_verified" => Msg::ErrNotVerified,
        "different_enterprise" => Msg::ErrDifferentEnterprise,
        "licence_required" => Msg::ErrLicenceRequired,
        "verification_changed" => Msg::ErrVerificationChanged,
        "ticket_already_assigned" => Msg::ErrTicketAssigned,
        _ => Msg::ErrInternal,
    }
}
