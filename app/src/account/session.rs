//! Who is signed in, for pages: a server function read as a resource. The server renders it into
//! the page (so hydration shows the same), and the app asks again when a sign-in, sign-up or
//! sign-out changes it (`SessionEpoch`).

use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{Msg, t};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub username: String,
    pub email: String,
    pub phone: String,
    pub contact_name: String,
    pub company: String,
    /// Whether the address was proven by its confirmation link.
    pub email_confirmed: bool,
    /// Goes into every form of the page as the hidden `csrf` field.
    pub csrf_token: String,
}

/// The signed-in customer, or none.
#[leptos::server(prefix = "/fn", endpoint = "session")]
pub async fn load_session() -> Result<Option<SessionView>, AppError> {
    use crate::server_side::{customer, store};
    let Some(me) = customer().await? else {
        return Ok(None);
    };
    let customer = store()?.customer(me.customer_id).await?;
    Ok(Some(SessionView {
        username: customer.username,
        email: customer.email,
        phone: customer.phone.unwrap_or_default(),
        contact_name: customer.contact_name.unwrap_or_default(),
        company: customer.company.unwrap_or_default(),
        email_confirmed: customer.email_confirmed,
        csrf_token: me.csrf_token,
    }))
}

pub type SessionResource = Resource<Result<Option<SessionView>, AppError>>;

/// Bumped after anything that signs in or out, so the session resource (and every page that
/// depends on who is signed in) is read again.
#[derive(Debug, Clone, Copy)]
pub struct SessionEpoch(pub RwSignal<u32>);

impl SessionEpoch {
    pub fn changed(self) {
        self.0.update(|n| *n += 1);
    }

    pub fn track(self) -> u32 {
        self.0.get()
    }
}

pub fn use_epoch() -> SessionEpoch {
    expect_context::<SessionEpoch>()
}

/// Creates the session resource for the app and puts it (and its epoch) in context.
pub fn provide_session() {
    let epoch = SessionEpoch(RwSignal::new(0));
    provide_context(epoch);
    let resource: SessionResource = Resource::new(move || epoch.track(), |_| load_session());
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
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await {
                        Ok(Some(me)) => view! {
                            <A href="/account" attr:data-testid="signed-in-as">{me.username}</A>
                        }.into_any(),
                        _ => view! {
                            <A href="/signin">{t(Msg::NavSignIn)}</A>
                            <A href="/signup">{t(Msg::NavSignUp)}</A>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
