//! The pieces every form of the app is made of. A form is an `ActionForm` on a server function:
//! with WebAssembly it is sent by `fetch`, its button shows that it is pending, its errors appear at
//! their fields and focus moves to the first; without, it posts as plain HTML and comes back with
//! the error in the URL, which `ServerAction::new` reads back, so both render the same.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;
use crate::i18n::{Msg, t};

/// The error of an action's last run, if it failed.
pub fn last_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// The value of an action's last run, if it succeeded.
pub fn last_success<S>(action: ServerAction<S>) -> Signal<Option<S::Output>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::ok))
}

/// Counts an action's successful runs: a page reads its data again after each (not after a
/// failure, which would clear what was typed).
pub fn successes<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Memo::new(move |previous: Option<&usize>| {
        let version = action.version().get();
        let succeeded = action.value().with(|v| matches!(v, Some(Ok(_))));
        if succeeded {
            version
        } else {
            previous.copied().unwrap_or(0)
        }
    })
}

/// What was typed into `field` before a plain form post came back with an error.
pub fn typed(error: Signal<Option<AppError>>, field: &str) -> Option<String> {
    error.get_untracked().and_then(|e| e.typed(field))
}

/// The message for `field` when the error is about it.
pub fn error_at(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<Msg>> {
    Signal::derive(move || error.get().and_then(|e| e.at_field(field)))
}

/// After a failed run, moves focus to the first field marked invalid (or the form's own error).
pub fn focus_first_error(error: Signal<Option<AppError>>) {
    Effect::new(move |_| {
        if error.get().is_some() {
            #[cfg(feature = "hydrate")]
            request_animation_frame(|| {
                use wasm_bindgen::JsCast;
                let found = document()
                    .query_selector("[aria-invalid='true'], [data-form-error]")
                    .ok()
                    .flatten();
                if let Some(element) = found.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = element.focus();
                }
            });
        }
    });
}

/// A labelled text input with its hint and its error.
#[component]
pub fn Field(
    name: &'static str,
    label: Msg,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] hint: Option<Msg>,
    #[prop(optional, into)] error: Option<Signal<Option<Msg>>>,
    #[prop(optional)] required: bool,
    /// The element id, when two forms on a page have a field of the same name.
    #[prop(optional)]
    id: Option<String>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    /// The error's test id is `error-<this>`: the field's name unless given.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView {
    let testid = testid.map(str::to_owned).unwrap_or_else(|| match &id {
        Some(id) => id.strip_prefix("f-").unwrap_or(id).to_owned(),
        None => name.to_owned(),
    });
    let id = id.unwrap_or_else(|| format!("f-{name}"));
    let error = error.unwrap_or_else(|| Signal::derive(|| None));
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            if error.get().is_some() {
                Some(error_id.clone())
            } else {
                hint.map(|_| hint_id.clone())
            }
        }
    };
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{t(label)}</label>
            <input id=id.clone() name=name type=kind autocomplete=autocomplete value=value.unwrap_or_default()
                required=required inputmode=inputmode placeholder=placeholder
                aria-invalid=move || error.get().map(|_| "true") aria-describedby=described/>
            {move || match (error.get(), hint) {
                (Some(e), _) => view! {
                    <p class="field-error" id=error_id.clone() data-testid=format!("error-{testid}")>{t(e)}</p>
                }.into_any(),
                (None, Some(h)) => view! { <p class="hint" id=hint_id.clone()>{t(h)}</p> }.into_any(),
                (None, None) => ().into_any(),
            }}
        </div>
    }
}

/// What a customer's page shows to someone not signed in as a customer.
pub fn sign_in_first() -> AnyView {
    view! {
        <p class="notice">{t(Msg::SignInForWallet)}</p>
        <leptos_router::components::A href="/signin" attr:class="button">{t(Msg::NavSignIn)}</leptos_router::components::A>
    }
    .into_any()
}

/// What a page shows when its data could not be read.
pub fn load_failed(error: &AppError) -> AnyView {
    view! { <p class="form-error" role="alert">{t(error.message())}</p> }.into_any()
}

/// An error of the whole form (not of one field).
#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<Msg>>) -> impl IntoView {
    move || {
        message.get().map(|m| {
            view! { <p class="form-error" role="alert" tabindex="-1" data-form-error="" data-testid="form-error">{t(m)}</p> }
        })
    }
}

/// The form's submit button: disabled and marked busy while the action runs.
#[component]
pub fn Submit(
    label: Msg,
    #[prop(into)] pending: Signal<bool>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] secondary: bool,
) -> impl IntoView {
    view! {
        <button type="submit" class="button" class:secondary=secondary data-testid=testid
            disabled=move || pending.get() aria-busy=move || pending.get().then_some("true")>
            {move || if pending.get() { t(Msg::Working) } else { t(label) }}
        </button>
    }
}

/// A success notice, with what was made (a voucher's number, a card's).
#[component]
pub fn Notice(#[prop(into)] notice: Signal<Option<(Msg, String)>>) -> impl IntoView {
    move || {
        notice.get().map(|(msg, detail)| {
            view! { <p class="notice" role="status" data-testid="notice">{t(msg)}" "<strong>{detail}</strong></p> }
        })
    }
}
