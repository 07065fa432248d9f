//! Sign up, sign in and the account page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::actions::{ChangePassword, SignIn, SignOut, SignUp, UpdateProfile};
use super::recovery::ResendConfirmation;
use super::session::{use_epoch, use_session};
use crate::form::{
    Field, FormError, Submit, error_at, focus_first_error, last_error, successes, typed,
};
use crate::i18n::{Msg, t};

/// After a run of `action` that signed someone in or out, the app reads the session again.
fn session_changes_after<S>(action: ServerAction<S>)
where
    S: leptos::server_fn::ServerFn<Error = crate::error::AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let epoch = use_epoch();
    let done = successes(action);
    Effect::new(move |_| {
        if done.get() > 0 {
            epoch.changed();
        }
    });
}

/// `page`, carrying where to go after signing in or up (`?next=`).
pub(crate) fn with_next(page: &str, next: &str) -> String {
    if next.is_empty() {
        page.to_owned()
    } else {
        format!("{page}?next={}", crate::url::percent_encode(next, true))
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    session_changes_after(action);
    let error = last_error(action);
    focus_first_error(error);
    let fields = ["username", "email", "phone", "password"];
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let sign_in_href = move || with_next("/signin", &next());
    view! {
        <Title text=t(Msg::NavSignUp)/>
        <h1>{t(Msg::SignUpTitle)}</h1>
        <ActionForm action attr:class="card auth-form" attr:novalidate="">
            <FormError message=Signal::derive(move || error.get().and_then(|e| e.outside(&fields)))/>
            <Field name="username" label=Msg::Username autocomplete="username" required=true
                value=typed(error, "username").unwrap_or_default() hint=Msg::UsernameHint error=error_at(error, "username")/>
            <Field name="email" label=Msg::Email kind="email" autocomplete="email" required=true
                value=typed(error, "email").unwrap_or_default() error=error_at(error, "email")/>
            <Field name="phone" label=Msg::Phone kind="tel" autocomplete="tel"
                value=typed(error, "phone").unwrap_or_default() error=error_at(error, "phone")/>
            <Field name="password" label=Msg::Password kind="password" autocomplete="new-password" required=true
                hint=Msg::PasswordHint error=error_at(error, "password")/>
            <input type="hidden" name="next" value=next/>
            <Submit label=Msg::NavSignUp pending=action.pending()/>
            <p>{t(Msg::HaveAccount)}" "<A href=sign_in_href>{t(Msg::NavSignIn)}</A></p>
        </ActionForm>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    session_changes_after(action);
    let error = last_error(action);
    focus_first_error(error);
    let query = use_query_map();
    let signed_out = move || query.with(|q| q.get("signed_out").is_some());
    let reset = move || query.with(|q| q.get("reset").is_some());
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let sign_up_href = move || with_next("/signup", &next());
    view! {
        <Title text=t(Msg::NavSignIn)/>
        <h1>{t(Msg::SignInTitle)}</h1>
        <ActionForm action attr:class="card auth-form" attr:novalidate="">
            {move || signed_out().then(|| view! { <p class="notice" data-testid="signed-out">{t(Msg::SignedOut)}</p> })}
            {move || reset().then(|| view! { <p class="notice" role="status" data-testid="password-reset">{t(Msg::PasswordResetDone)}</p> })}
            <FormError message=Signal::derive(move || error.get().map(|e| e.message()))/>
            <Field name="login" label=Msg::Login autocomplete="username" required=true
                value=typed(error, "login").unwrap_or_default()/>
            <Field name="password" label=Msg::Password kind="password" autocomplete="current-password" required=true/>
            <input type="hidden" name="next" value=next/>
            <Submit label=Msg::NavSignIn pending=action.pending()/>
            <p><A href="/reset-password" attr:data-testid="forgot-password">{t(Msg::ForgotPassword)}</A></p>
            <p>{t(Msg::NoAccountYet)}" "<A href=sign_up_href>{t(Msg::NavSignUp)}</A></p>
        </ActionForm>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    let profile = ServerAction::<UpdateProfile>::new();
    let password = ServerAction::<ChangePassword>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let resend = ServerAction::<ResendConfirmation>::new();
    session_changes_after(sign_out);
    // A saved profile is read again (the top bar and the fields show what was stored).
    let epoch = use_epoch();
    let saved = successes(profile);
    Effect::new(move |_| {
        if saved.get() > 0 {
            epoch.changed();
        }
    });
    let profile_error = last_error(profile);
    let password_error = last_error(password);
    let sign_out_error = last_error(sign_out);
    focus_first_error(profile_error);
    focus_first_error(password_error);
    let query = use_query_map();
    let notice = move || {
        query.with(
            |q| match (q.get("welcome").is_some(), q.get("saved").as_deref()) {
                (true, _) => Some(Msg::Welcome),
                (_, Some("profile")) => Some(Msg::Saved),
                (_, Some("password")) => Some(Msg::PasswordChanged),
                (_, Some("confirmation")) => Some(Msg::ConfirmationSent),
                _ => None,
            },
        )
    };
    let form_error = Signal::derive(move || {
        profile_error
            .get()
            .and_then(|e| e.outside(&["email", "phone", "contact_name", "company"]))
            .or_else(|| {
                password_error
                    .get()
                    .and_then(|e| e.outside(&["current_password", "new_password"]))
            })
            .or_else(|| sign_out_error.get().map(|e| e.message()))
            .or_else(|| last_error(resend).get().map(|e| e.message()))
    });
    let resent = successes(resend);
    view! {
        <Title text=t(Msg::NavAccount)/>
        <h1>{t(Msg::NavAccount)}</h1>
        {move || notice().map(|n| view! { <p class="notice" role="status" data-testid="notice">{t(n)}</p> })}
        <FormError message=form_error/>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let Ok(Some(me)) = session.await else {
                    return view! {
                        <p class="notice">{t(Msg::SignInToSee)}</p>
                        <A href="/signin" attr:class="button">{t(Msg::NavSignIn)}</A>
                    }.into_any();
                };
                let (csrf_profile, csrf_password, csrf_sign_out, csrf_resend) =
                    (me.csrf_token.clone(), me.csrf_token.clone(), me.csrf_token.clone(), me.csrf_token.clone());
                let confirmed = me.email_confirmed;
                // What is stored (never what an error in the URL says was typed: anyone can write one).
                let (email, phone, contact_name, company) =
                    (me.email.clone(), me.phone.clone(), me.contact_name.clone(), me.company.clone());
                view! {
                    <p>{t(Msg::SignedInAs)}" "<strong data-testid="username">{me.username.clone()}</strong></p>
                    {(!confirmed).then(|| view! {
                        <div class="notice" data-testid="email-unconfirmed">
                            <p>{t(Msg::EmailNotConfirmed)}</p>
                            {move || (resent.get() > 0).then(|| view! { <p role="status">{t(Msg::ConfirmationSent)}</p> })}
                            <ActionForm action=resend>
                                <input type="hidden" name="csrf" value=csrf_resend.clone()/>
                                <Submit label=Msg::ResendConfirmation pending=resend.pending() secondary=true testid="resend-confirmation"/>
                            </ActionForm>
                        </div>
                    })}
                    <p><A href="/account/notifications" attr:data-testid="notifications-link">{t(Msg::NotificationsTitle)}</A></p>
                    <p><A href="/account/enterprise" attr:data-testid="enterprise-link">{t(Msg::EnterpriseTitle)}</A></p>
                    <ActionForm action=profile attr:class="card auth-form" attr:novalidate="">
                        <h2>{t(Msg::ProfileTitle)}</h2>
                        <input type="hidden" name="csrf" value=csrf_profile/>
                        <Field name="email" label=Msg::Email kind="email" autocomplete="email" required=true
                            value=email error=error_at(profile_error, "email")/>
                        <Field name="phone" label=Msg::Phone kind="tel" autocomplete="tel"
                            value=phone error=error_at(profile_error, "phone")/>
                        <Field name="contact_name" label=Msg::ContactName autocomplete="name"
                            value=contact_name error=error_at(profile_error, "contact_name")/>
                        <Field name="company" label=Msg::Company autocomplete="organization"
                            value=company error=error_at(profile_error, "company")/>
                        <Submit label=Msg::Save pending=profile.pending()/>
                    </ActionForm>
                    <ActionForm action=password attr:class="card auth-form" attr:novalidate="">
                        <h2>{t(Msg::PasswordTitle)}</h2>
                        <input type="hidden" name="csrf" value=csrf_password/>
                        <Field name="current_password" label=Msg::CurrentPassword kind="password"
                            autocomplete="current-password" required=true error=error_at(password_error, "current_password")/>
                        <Field name="new_password" label=Msg::NewPassword kind="password" autocomplete="new-password"
                            required=true hint=Msg::PasswordHint error=error_at(password_error, "new_password")/>
                        <Submit label=Msg::PasswordTitle pending=password.pending()/>
                    </ActionForm>
                    <ActionForm action=sign_out>
                        <input type="hidden" name="csrf" value=csrf_sign_out/>
                        <Submit label=Msg::SignOut pending=sign_out.pending() secondary=true testid="sign-out"/>
                    </ActionForm>
                }.into_any()
            })}
        </Transition>
    }
}
