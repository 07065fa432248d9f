//! The account pages: sign up, sign in, and the account page (profile, password, sign out). Each
//! is a plain HTML form posting to the server (`server::forms`), which answers with a redirect;
//! errors come back in the query string as a code and a field, shown next to that field.

mod ops;
mod overview;
mod pages;
mod session;

pub use ops::OpsPage;
pub(crate) use overview::load_overview;
pub use overview::{AccountOverview, AccountOverviewView};
pub use pages::{AccountPage, SignInPage, SignUpPage};
pub use session::{AccountMenu, SessionView, provide_session};

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
        "session_ended" => Msg::ErrSessionEnded,
        "csrf_failed" => Msg::ErrCsrf,
        _ => Msg::ErrInternal,
    }
}
