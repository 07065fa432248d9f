//! The Leptos UI of Billing Center: a single-page app on server functions. Pages render complete
//! on the server and hydrate; from then on the router moves between sections and each reads its
//! data through its server function (`#[server]`, under `/fn/`). Forms are `ActionForm`s on server
//! functions, which also work as plain HTML forms where WebAssembly does not run.

#![recursion_limit = "256"]

pub mod account;
pub mod clock;
pub mod error;
pub mod form;
pub mod i18n;
pub mod layout;
pub mod pages;
pub mod panel;
pub mod preview;
#[cfg(feature = "ssr")]
pub mod server_side;
pub mod statements;
pub mod support;
pub mod url;
pub mod wallet;
pub mod workspaces;

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos_meta::MetaTags;
use leptos_meta::{Meta, Stylesheet, Title, provide_meta_context};
use leptos_router::Lazy;
use leptos_router::SsrMode;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

mod routes;

use crate::i18n::{Lang, Msg, t};
use crate::layout::Shell;

/// The name of the site's JS/WASM/CSS bundle under `/pkg`.
pub const OUTPUT_NAME: &str = "billing-center";

/// Whether the built-in payment sandbox is on (PRODUCT.md §2: visibly marked on every page).
/// The server provides it; it writes it into `<html data-payment-sandbox>`, where the hydrating
/// client reads it back, as it does the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaymentSandbox(pub bool);

#[cfg(feature = "ssr")]
fn payment_sandbox() -> PaymentSandbox {
    use_context::<PaymentSandbox>().unwrap_or_default()
}

#[cfg(not(feature = "ssr"))]
fn payment_sandbox() -> PaymentSandbox {
    PaymentSandbox(
        document()
            .document_element()
            .and_then(|html| html.get_attribute("data-payment-sandbox"))
            .is_some_and(|v| v == "on"),
    )
}

/// The Content-Security-Policy of everything this server sends: only its own scripts, styles,
/// images and connections; WebAssembly compiled from its own bundle (`'wasm-unsafe-eval'`); inline
/// scripts only with the page's nonce (Leptos's hydration and resource scripts carry it); inline
/// styles allowed (the sandbox checkout's page style; CSS cannot run code); never framed
/// (`frame-ancestors 'none'`: the workspace panel will open exactly its own route when it comes).
/// Form targets are not restricted: a top-up form is redirected on to the payment gateway.
pub fn content_security_policy(nonce: Option<&str>, frame_ancestors: &[String]) -> String {
    let ancestors = if frame_ancestors.is_empty() {
        "'none'".to_owned()
    } else {
        frame_ancestors.join(" ")
    };
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors {ancestors}"
    )
}

/// The HTML document the server renders around [`App`].
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = request_lang();
    let sandbox = payment_sandbox().0.then_some("on");
    view! {
        <!DOCTYPE html>
        <html lang=lang.code() data-payment-sandbox=sandbox>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The language negotiated for the request being rendered (cookie, then Accept-Language).
#[cfg(feature = "ssr")]
pub fn request_lang() -> Lang {
    let parts = use_context::<http::request::Parts>();
    let header = |name: http::header::HeaderName| {
        parts
            .as_ref()
            .and_then(|p| p.headers.get(&name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Lang::negotiate(
        header(http::header::COOKIE).as_deref(),
        header(http::header::ACCEPT_LANGUAGE).as_deref(),
    )
}

/// On the client the language is the one the server wrote into `<html lang>`.
#[cfg(not(feature = "ssr"))]
fn request_lang() -> Lang {
    document()
        .document_element()
        .and_then(|html| html.get_attribute("lang"))
        .and_then(|code| Lang::from_code(&code))
        .unwrap_or_default()
}

/// The language the app renders in: chosen in the top bar, it renders the app again in place.
#[derive(Debug, Clone, Copy)]
pub struct LanguageChoice(RwSignal<Lang>);

impl LanguageChoice {
    /// Remembers `lang` in the `lang` cookie (what `/lang/{code}` sets) and switches to it.
    pub fn choose(self, lang: Lang) {
        #[cfg(feature = "hydrate")]
        {
            let cookie = format!(
                "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                crate::i18n::LANG_COOKIE,
                lang.code()
            );
            let _ = js_sys::Reflect::set(&document(), &"cookie".into(), &cookie.into());
            if let Some(html) = document().document_element() {
                let _ = html.set_attribute("lang", lang.code());
            }
        }
        self.0.set(lang);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = RwSignal::new(request_lang());
    provide_context(LanguageChoice(lang));
    provide_context(lang.get_untracked());
    provide_context(payment_sandbox());
    account::provide_session();

    // The title is rendered after the page's stream, outside its reactive owner (leptos_meta
    // 0.8): a reference-counted handle keeps the language readable there, where an arena-backed
    // signal is looked up in whatever arena the worker thread holds (a panic under load).
    let title_lang: ArcRwSignal<Lang> = lang.into();
    view! {
        <Stylesheet id="leptos" href=format!("/pkg/{OUTPUT_NAME}.css")/>
        <Title formatter=move |page: String| format!("{page} · {}", Msg::AppName.text(title_lang.get()))/>
        <Meta name="description" content=t(Msg::OverviewIntro)/>
        // Async rendering: every page waits for its data (the signed-in customer) and is sent
        // complete, so it reads the same without JavaScript; out-of-order streaming would leave
        // Suspense content to a script.
        // Rendered again, in place, when the language changes (each text is looked up once).
        {move || {
            provide_context(lang.get());
            view! {
        <Router>
            <Shell>
                <Routes fallback=pages::NotFound>
                    <Route ssr=SsrMode::Async path=path!("") view={Lazy::<routes::OverviewRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("preview") view={Lazy::<routes::PreviewRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("wallet") view={Lazy::<routes::WalletRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("wallet/top-ups/:id") view={Lazy::<routes::TopUpRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("bills") view={Lazy::<routes::StatementsRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("workspaces") view={Lazy::<routes::WorkspacesRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("bind") view={Lazy::<routes::WorkspacesRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("workspaces/:ws") view={Lazy::<routes::OwnPanelRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("embed/workspaces/:ws") view={Lazy::<routes::EmbeddedPanelRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("support") view={Lazy::<routes::SupportRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("support/new") view={Lazy::<routes::NewTicketRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("support/:id") view={Lazy::<routes::TicketRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("account") view={Lazy::<routes::AccountRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("account/notifications") view={Lazy::<routes::NotificationsRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("account/enterprise") view={Lazy::<routes::EnterpriseRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("reset-password") view={Lazy::<routes::ResetPasswordRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("confirm-email") view={Lazy::<routes::ConfirmEmailRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("signin") view={Lazy::<routes::SignInRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("signup") view={Lazy::<routes::SignUpRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("ops") view={Lazy::<routes::OpsRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("ops/tickets/:id") view={Lazy::<routes::OpsTicketRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("ops/enterprise/:account") view={Lazy::<routes::OpsEnterpriseRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("ops/accounts") view={Lazy::<routes::OpsAccountsRoute>::new()}/>
                    <Route ssr=SsrMode::Async path=path!("ops/accounts/:id") view={Lazy::<routes::OpsAccountRoute>::new()}/>
                </Routes>
            </Shell>
        </Router>
            }
            .into_any()
        }}
    }
}
