//! Pages that are not big enough for a module of their own.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::i18n::{Msg, t};

/// Signed in: the account's balances and movements. Otherwise: what the product is.
#[component]
pub fn Overview() -> impl IntoView {
    let epoch = crate::account::use_epoch();
    let overview = Resource::new(move || epoch.track(), |_| crate::account::load_overview());
    view! {
        <Title text=t(Msg::NavOverview)/>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(Some(overview)) => view! {
                        <h1>{t(Msg::OverviewTitle)}</h1>
                        <crate::account::AccountOverviewView overview/>
                    }.into_any(),
                    Ok(None) => view! { <Introduction/> }.into_any(),
                    Err(e) => crate::form::load_failed(&e),
                }
            })}
        </Transition>
    }
}

#[component]
fn Introduction() -> impl IntoView {
    view! {
        <h1>{t(Msg::OverviewTitle)}</h1>
        <p class="lead">{t(Msg::OverviewIntro)}</p>
        <section class="card">
            <h2>{t(Msg::OverviewOrderTitle)}</h2>
            <ul>
                <li>{t(Msg::OverviewOrderAccount)}</li>
                <li>{t(Msg::OverviewOrderCloud)}</li>
                <li>{t(Msg::OverviewOrderRestricted)}</li>
            </ul>
            <A href="/preview" attr:class="button">{t(Msg::OverviewTryPreview)}</A>
        </section>
    }
}

/// A navigation section whose features arrive with later issues: says so plainly.
#[component]
pub fn Unavailable(title: Msg) -> impl IntoView {
    view! {
        <Title text=t(title)/>
        <h1>{t(title)}</h1>
        <p class="notice">{t(Msg::SectionUnavailable)}</p>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text=t(Msg::NotFoundTitle)/>
        <h1>{t(Msg::NotFoundTitle)}</h1>
        <p>{t(Msg::NotFoundBody)}</p>
        <A href="/">{t(Msg::BackToOverview)}</A>
    }
}
