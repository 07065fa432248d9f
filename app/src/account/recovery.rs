//! Account recovery and proof of address: `/reset-password` (ask for a link; with `?token=`,
//! choose the new password) and `/confirm-email?token=` (opening it confirms). The same
//! `backend` functions as `POST /api/v1/password-reset` and `/email-confirmation/confirm`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::form::{Field, FormError, Submit, error_at, focus_first_error, last_error, typed};
use crate::i18n::{Msg, t};

/// anonymous: mails a reset link to the account with this login, if there is one. The answer
/// is the same either way.
#[server(prefix = "/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(login: String) -> Result<(), AppError> {
    use crate::server_side::{go_to, store};
    store()?.request_password_reset(&login).await?;
    go_to("/reset-password?sent=1");
    Ok(())
}

/// anonymous: sets the password with the link's token; every session of the account ends.
#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::server_side::{go_to, store};
    store()?.reset_password(&token, &new_password).await?;
    go_to("/signin?reset=1");
    Ok(())
}

/// anonymous: what opening a confirmation link does.
#[server(prefix = "/fn", endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    crate::server_side::store()?.confirm_email(&token).await?;
    Ok(())
}

/// customer + CSRF: mails the account's address a new confirmation link.
#[server(prefix = "/fn", endpoint = "resend_confirmation")]
pub async fn resend_confirmation(#[server(default)] csrf: String) -> Result<(), AppError> {
    use crate::server_side::{acting_customer, go_to, store};
    let me = acting_customer(&csrf).await?;
    store()?.resend_email_confirmation(me.customer_id).await?;
    go_to("/account?saved=confirmation");
    Ok(())
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    view! {
        <Title text=t(Msg::ResetPasswordTitle)/>
        <h1>{t(Msg::ResetPasswordTitle)}</h1>
        {move || if token().is_empty() { view! { <AskForLink/> }.into_any() } else { view! { <ChooseNewPassword token=token()/> }.into_any() }}
    }
}

#[component]
fn AskForLink() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = last_error(action);
    focus_first_error(error);
    let query = use_query_map();
    let sent = move || {
        query.with(|q| q.get("sent").is_some())
            || action.value().with(|v| matches!(v, Some(Ok(()))))
    };
    view! {
        {move || sent().then(|| view! { <p class="notice" role="status" data-testid="reset-sent">{t(Msg::ResetLinkSent)}</p> })}
        <ActionForm action attr:class="card auth-form" attr:novalidate="">
            <p>{t(Msg::ResetPasswordIntro)}</p>
            <FormError message=Signal::derive(move || error.get().map(|e| e.message()))/>
            <Field name="login" label=Msg::Login autocomplete="username" required=true
                value=typed(error, "login").unwrap_or_default()/>
            <Submit label=Msg::SendResetLink pending=action.pending() testid="send-reset-link"/>
            <p><A href="/signin">{t(Msg::NavSignIn)}</A></p>
        </ActionForm>
    }
}

#[component]
fn ChooseNewPassword(token: String) -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = last_error(action);
    focus_first_error(error);
    view! {
        <ActionForm action attr:class="card auth-form" attr:novalidate="">
            <h2>{t(Msg::ChooseNewPassword)}</h2>
            <FormError message=Signal::derive(move || error.get().and_then(|e| e.outside(&["new_password"])))/>
            {move || error.get().is_some_and(|e| e.code == "invalid_token").then(|| view! {
                <p><A href="/reset-password">{t(Msg::SendResetLink)}</A></p>
            })}
            <input type="hidden" name="token" value=token.clone()/>
            <Field name="new_password" label=Msg::NewPassword kind="password" autocomplete="new-password"
                required=true hint=Msg::PasswordHint error=error_at(error, "new_password")/>
            <Submit label=Msg::SetNewPassword pending=action.pending() testid="set-new-password"/>
        </ActionForm>
    }
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("token")).unwrap_or_default();
    // Opening the link confirms: read once, on the server (the result travels with the page).
    let confirmed = OnceResource::new(confirm_email(token));
    view! {
        <Title text=t(Msg::ConfirmEmailTitle)/>
        <h1>{t(Msg::ConfirmEmailTitle)}</h1>
        <Suspense fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match confirmed.await {
                    Ok(()) => view! {
                        <p class="notice" role="status" data-testid="email-confirmed">{t(Msg::EmailConfirmed)}</p>
                        <A href="/account" attr:class="button">{t(Msg::NavAccount)}</A>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="form-error" role="alert" data-testid="email-link-invalid">{t(e.message())}</p>
                        <A href="/account" attr:class="button">{t(Msg::NavAccount)}</A>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
