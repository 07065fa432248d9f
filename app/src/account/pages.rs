//! Sign up, sign in and the account page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::error_message;
use super::session::use_session;
use crate::i18n::{Msg, t};

/// What a failed post sent back: the error code, its field, and the values typed.
#[derive(Debug, Clone, Default)]
struct Returned {
    error: Option<String>,
    field: Option<String>,
    values: Vec<(String, String)>,
}

impl Returned {
    fn read() -> Returned {
        let query = use_query_map().get_untracked();
        let get = |k: &str| query.get(k).filter(|v| !v.is_empty());
        let values = [
            "username",
            "email",
            "phone",
            "login",
            "contact_name",
            "company",
        ]
        .iter()
        .filter_map(|k| get(k).map(|v| ((*k).to_owned(), v)))
        .collect();
        Returned {
            error: get("error"),
            field: get("field"),
            values,
        }
    }

    fn value(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// The message for `name` if the error belongs to that field.
    fn error_at(&self, name: &str) -> Option<Msg> {
        (self.field.as_deref() == Some(name))
            .then(|| self.error.as_deref().map(error_message))
            .flatten()
    }

    /// The message of an error that belongs to no field.
    fn form_error(&self) -> Option<Msg> {
        if self.field.is_some() {
            None
        } else {
            self.error.as_deref().map(error_message)
        }
    }
}

#[component]
fn Field(
    name: &'static str,
    label: Msg,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(default = None)] value: Option<String>,
    #[prop(default = None)] hint: Option<Msg>,
    #[prop(default = None)] error: Option<Msg>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let id = format!("f-{name}");
    let described = error
        .map(|_| format!("{name}-error"))
        .or_else(|| hint.map(|_| format!("{name}-hint")));
    view! {
        <div class="field" class:has-error=error.is_some()>
            <label for=id.clone()>{t(label)}</label>
            <input id=id name=name type=kind autocomplete=autocomplete value=value.unwrap_or_default() required=required
                aria-invalid=error.map(|_| "true") aria-describedby=described/>
            {hint.filter(|_| error.is_none()).map(|h| view! { <p class="hint" id=format!("{name}-hint")>{t(h)}</p> })}
            {error.map(|e| view! {
                <p class="field-error" id=format!("{name}-error") data-testid=format!("error-{name}")>{t(e)}</p>
            })}
        </div>
    }
}

fn form_error(message: Option<Msg>) -> impl IntoView {
    message
        .map(|m| view! { <p class="form-error" role="alert" data-testid="form-error">{t(m)}</p> })
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let back = Returned::read();
    view! {
        <Title text=t(Msg::NavSignUp)/>
        <h1>{t(Msg::SignUpTitle)}</h1>
        <form class="card auth-form" method="post" action="/signup" novalidate>
            {form_error(back.form_error())}
            <Field name="username" label=Msg::Username kind="text" autocomplete="username" required=true
                value=back.value("username") hint=Some(Msg::UsernameHint) error=back.error_at("username")/>
            <Field name="email" label=Msg::Email kind="email" autocomplete="email" required=true
                value=back.value("email") error=back.error_at("email")/>
            <Field name="phone" label=Msg::Phone kind="tel" autocomplete="tel"
                value=back.value("phone") error=back.error_at("phone")/>
            <Field name="password" label=Msg::Password kind="password" autocomplete="new-password" required=true
                hint=Some(Msg::PasswordHint) error=back.error_at("password")/>
            <button type="submit" class="button">{t(Msg::NavSignUp)}</button>
            <p>{t(Msg::HaveAccount)}" "<a href="/signin" rel="external">{t(Msg::NavSignIn)}</a></p>
        </form>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let back = Returned::read();
    let signed_out = use_query_map().get_untracked().get("signed_out").is_some();
    view! {
        <Title text=t(Msg::NavSignIn)/>
        <h1>{t(Msg::SignInTitle)}</h1>
        <form class="card auth-form" method="post" action="/signin" novalidate>
            {signed_out.then(|| view! { <p class="notice" data-testid="signed-out">{t(Msg::SignedOut)}</p> })}
            {form_error(back.form_error())}
            <Field name="login" label=Msg::Login kind="text" autocomplete="username" required=true value=back.value("login")/>
            <Field name="password" label=Msg::Password kind="password" autocomplete="current-password" required=true/>
            <button type="submit" class="button">{t(Msg::NavSignIn)}</button>
            <p>{t(Msg::NoAccountYet)}" "<a href="/signup" rel="external">{t(Msg::NavSignUp)}</a></p>
        </form>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    let back = Returned::read();
    let query = use_query_map().get_untracked();
    let notice = match (
        query.get("welcome").is_some(),
        query.get("saved").as_deref(),
    ) {
        (true, _) => Some(Msg::Welcome),
        (_, Some("profile")) => Some(Msg::Saved),
        (_, Some("password")) => Some(Msg::PasswordChanged),
        _ => None,
    };
    view! {
        <Title text=t(Msg::NavAccount)/>
        <h1>{t(Msg::NavAccount)}</h1>
        <Suspense fallback=|| ()>
            {move || {
                let back = back.clone();
                Suspend::new(async move {
                    let Some(me) = session.await else {
                        return view! {
                            <p class="notice">{t(Msg::SignInToSee)}</p>
                            <a class="button" href="/signin" rel="external">{t(Msg::NavSignIn)}</a>
                        }.into_any();
                    };
                    let failed = back.error.is_some();
                    let shown = |name: &str, stored: &str| {
                        if failed { back.value(name).unwrap_or_default() } else { stored.to_owned() }
                    };
                    view! {
                        {notice.map(|n| view! { <p class="notice" role="status" data-testid="notice">{t(n)}</p> })}
                        {form_error(back.form_error())}
                        <p>{t(Msg::SignedInAs)}" "<strong data-testid="username">{me.username.clone()}</strong></p>
                        <form class="card auth-form" method="post" action="/account/profile" novalidate>
                            <h2>{t(Msg::ProfileTitle)}</h2>
                            <input type="hidden" name="csrf" value=me.csrf_token.clone()/>
                            <Field name="email" label=Msg::Email kind="email" autocomplete="email" required=true
                                value=Some(shown("email", &me.email)) error=back.error_at("email")/>
                            <Field name="phone" label=Msg::Phone kind="tel" autocomplete="tel"
                                value=Some(shown("phone", &me.phone)) error=back.error_at("phone")/>
                            <Field name="contact_name" label=Msg::ContactName kind="text" autocomplete="name"
                                value=Some(shown("contact_name", &me.contact_name)) error=back.error_at("contact_name")/>
                            <Field name="company" label=Msg::Company kind="text" autocomplete="organization"
                                value=Some(shown("company", &me.company)) error=back.error_at("company")/>
                            <button type="submit" class="button">{t(Msg::Save)}</button>
                        </form>
                        <form class="card auth-form" method="post" action="/account/password" novalidate>
                            <h2>{t(Msg::PasswordTitle)}</h2>
                            <input type="hidden" name="csrf" value=me.csrf_token.clone()/>
                            <Field name="current_password" label=Msg::CurrentPassword kind="password"
                                autocomplete="current-password" required=true error=back.error_at("current_password")/>
                            <Field name="new_password" label=Msg::NewPassword kind="password" autocomplete="new-password"
                                required=true hint=Some(Msg::PasswordHint) error=back.error_at("new_password")/>
                            <button type="submit" class="button">{t(Msg::PasswordTitle)}</button>
                        </form>
                        <form method="post" action="/signout">
                            <input type="hidden" name="csrf" value=me.csrf_token.clone()/>
                            <button type="submit" class="button secondary" data-testid="sign-out">{t(Msg::SignOut)}</button>
                        </form>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
