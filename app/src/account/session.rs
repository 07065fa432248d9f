//! Who is signed in, for pages. On the server it is read from the session cookie and the store;
//! the value travels to the browser with the page, so hydration shows the same thing. Links into
//! the account pages are full page loads (rel=external), so the browser never has to ask.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{Msg, t};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub username: String,
    pub email: String,
    pub phone: String,
    pub contact_name: String,
    pub company: String,
    /// Goes into every form of the page as the hidden `csrf` field.
    pub csrf_token: String,
}

pub type SessionResource = Resource<Option<SessionView>>;

/// The session id from the request's cookie.
#[cfg(feature = "ssr")]
pub(crate) fn session_cookie(parts: &http::request::Parts) -> Option<String> {
    let headers = parts.headers.get_all(http::header::COOKIE);
    backend::auth::sessions::session_id_from_cookies(headers.iter().filter_map(|v| v.to_str().ok()))
}

#[cfg(feature = "ssr")]
async fn load_session() -> Option<SessionView> {
    use backend::auth::sessions::Principal;
    let store = use_context::<backend::Store>()?;
    let parts = use_context::<http::request::Parts>()?;
    let id = session_cookie(&parts)?;
    let session = store.resume_session(&id).await.ok()??;
    let Principal::Customer(customer_id) = session.principal else {
        return None;
    };
    let customer = store.customer(customer_id).await.ok()?;
    Some(SessionView {
        username: customer.username,
        email: customer.email,
        phone: customer.phone.unwrap_or_default(),
        contact_name: customer.contact_name.unwrap_or_default(),
        company: customer.company.unwrap_or_default(),
        csrf_token: session.csrf_token,
    })
}

/// In the browser the value always comes from the server's render (the fetcher never runs during
/// hydration, and account links reload the page).
#[cfg(not(feature = "ssr"))]
async fn load_session() -> Option<SessionView> {
    None
}

/// Creates the session resource for the page and puts it in context.
pub fn provide_session() {
    let resource: SessionResource = Resource::new(|| (), |_| load_session());
    provide_context(resource);
}

pub fn use_session() -> SessionResource {
    expect_context::<SessionResource>()
}

/// The top bar's corner: sign in / sign up, or who is signed in.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="account-menu">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await {
                        Some(me) => view! {
                            <a href="/account" rel="external" data-testid="signed-in-as">{me.username}</a>
                        }.into_any(),
                        None => view! {
                            <a href="/signin" rel="external">{t(Msg::NavSignIn)}</a>
                            <a href="/signup" rel="external">{t(Msg::NavSignUp)}</a>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
