//! The shell every page lives in: brand, navigation, language switch. On desktop the navigation is
//! a sidebar; at phone widths (WeChat and DingTalk webviews) it becomes a scrollable tab strip.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::i18n::{Lang, Msg, t, use_lang};

const NAV: [(&str, Msg); 7] = [
    ("/", Msg::NavOverview),
    ("/wallet", Msg::NavWallet),
    ("/bills", Msg::NavBills),
    ("/workspaces", Msg::NavWorkspaces),
    ("/support", Msg::NavSupport),
    ("/account", Msg::NavAccount),
    ("/preview", Msg::NavPreview),
];

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let location = use_location();
    // A section is active on its own page and on the pages under it (a top-up under /wallet).
    let current = move || location.pathname.get();
    let sandbox = use_context::<crate::PaymentSandbox>().unwrap_or_default().0;
    // The embedded panel lives in the console's iframe: no Billing Center chrome around it (it
    // never navigates out of /embed/; its buttons open Billing Center in a new window).
    if location.pathname.get_untracked().starts_with("/embed/") {
        return view! { <main id="main" class="content embed">{children()}</main> }.into_any();
    }
    view! {
        <a class="skip-link" href="#main">{t(Msg::SkipToContent)}</a>
        {sandbox.then(|| view! {
            <p class="sandbox-banner" role="status" data-testid="sandbox-banner">{t(Msg::SandboxBanner)}</p>
        })}
        <div class="app">
            <header class="topbar">
                <A href="/" attr:class="brand">{t(Msg::AppName)}</A>
                <crate::account::AccountMenu/>
                <LanguageSwitch/>
            </header>
            <nav class="nav" aria-label=t(Msg::AppName)>
                <ul>
                    {NAV
                        .into_iter()
                        .map(|(href, msg)| {
                            let active = move || {
                                let path = current();
                                path == href || (href != "/" && path.starts_with(&format!("{href}/")))
                            };
                            view! {
                                <li>
                                    // The router's link: the app moves to the section and reads its
                                    // data through the section's server function.
                                    <A href=href attr:class=move || active().then_some("active")>{t(msg)}</A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <main id="main" class="content">{children()}</main>
        </div>
    }
    .into_any()
}

/// Links to `/lang/{code}`, which sets the `lang` cookie and comes back to this page (without
/// WebAssembly). In the app a click remembers the choice in the same cookie and renders the app
/// again in the new language, in place (`crate::LanguageChoice`).
#[component]
fn LanguageSwitch() -> impl IntoView {
    let location = use_location();
    let lang = use_lang();
    let back = move || {
        let path = location.pathname.get();
        let search = location.search.get();
        let target = if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        };
        crate::url::percent_encode(&target, true)
    };
    view! {
        <div class="lang-switch" role="group" aria-label=t(Msg::Language)>
            {Lang::ALL
                .into_iter()
                .map(|option| {
                    let href = move || format!("/lang/{}?next={}", option.code(), back());
                    let choose = move |ev: leptos::ev::MouseEvent| {
                        if let Some(choice) = use_context::<crate::LanguageChoice>() {
                            ev.prevent_default();
                            choice.choose(option);
                        }
                    };
                    view! {
                        <a href=href rel="external" hreflang=option.code() lang=option.code() on:click=choose
                            class:active=option == lang aria-current=(option == lang).then_some("true")>
                            {option.native_name()}
                        </a>
                    }
                })
                .collect_view()}
        </div>
    }
}
