//! The whole HTTP surface in one `Router`: Leptos pages, the JSON API, the language switch, health,
//! and the built site's static files.

use app::{App, shell};
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use leptos::context::provide_context;
use std::sync::{Arc, OnceLock};

use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;

use crate::auth::SecureCookies;
use crate::{api, forms, language, payments};

/// Everything the router needs besides the store (from `Config::settings`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub secure_cookies: SecureCookies,
    /// The address people and payment gateways use, without a trailing slash.
    pub public_url: String,
    /// This process's own address over plain HTTP (the listen address), where the payment sandbox
    /// delivers its notifications.
    pub local_url: String,
    pub online_payments: crate::payments::OnlinePayments,
    pub bank_payee: crate::payments::BankPayee,
    /// The scheduler's heartbeat when this process runs it (`/readyz` checks it).
    pub scheduler: Option<Arc<crate::settlement::SchedulerHealth>>,
    /// Peers whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: crate::config::TrustedProxies,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: backend::Store,
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for backend::Store {
    fn from_ref(state: &AppState) -> backend::Store {
        state.store.clone()
    }
}

impl FromRef<AppState> for SecureCookies {
    fn from_ref(state: &AppState) -> SecureCookies {
        state.settings.secure_cookies
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

pub fn app(leptos_options: LeptosOptions, store: backend::Store, settings: Settings) -> Router {
    let state = AppState {
        leptos_options: leptos_options.clone(),
        store,
        settings: Arc::new(settings),
    };
    // Once per process: generating the list sets a process-wide flag that parks any Resource first
    // polled meanwhile, forever (leptos issue #4773). Rendering while another router is being
    // built (tests build one per request) would then hang.
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let sandbox = state.settings.online_payments.is_sandbox();
    let hsts = state.settings.public_url.starts_with("https://");
    // The sandbox gateway exists only when switched on: otherwise /sandbox/* is the site's 404.
    let sandbox_routes = if sandbox {
        Router::new()
            .route(
                payments::SANDBOX_GATEWAY_PATH,
                get(payments::sandbox_checkout).post(payments::sandbox_gateway_api),
            )
            .route("/sandbox/alipay/pay", post(payments::sandbox_pay))
    } else {
        Router::new()
    };
    // What every rendered page (and the not-found page) reads on the server.
    let page_context = {
        let store = state.store.clone();
        let payee = state.settings.bank_payee.clone();
        move || {
            // The nonce the security headers made for this request (see `security_headers`).
            if let Some(nonce) =
                leptos::prelude::use_context::<http::request::Parts>().and_then(|parts| {
                    parts
                        .extensions
                        .get::<crate::security_headers::CspNonce>()
                        .cloned()
                })
            {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
            provide_context(store.clone());
            provide_context(app::PaymentSandbox(sandbox));
            provide_context(app::wallet::BankPayeeDetails {
                name: payee.name.clone(),
                bank: payee.bank.clone(),
                account: payee.account.clone(),
            });
        }
    };
    Router::new()
        .nest("/api/v1", api::routes())
        .route("/lang/{code}", get(language::switch_language))
        // Liveness: the process answers. Readiness: it can do its work (database, scheduler).
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readiness))
        // The account pages' form posts (see `forms`): anonymous for sign-up/in, customer + CSRF otherwise.
        .route("/signup", post(forms::sign_up))
        .route("/signin", post(forms::sign_in))
        .route("/signout", post(forms::sign_out))
        .route("/account/profile", post(forms::update_profile))
        .route("/account/password", post(forms::change_password))
        .route("/ops/signin", post(forms::ops_sign_in))
        .route("/ops/signout", post(forms::ops_sign_out))
        // The wallet page's forms (customer + CSRF) and the operators' (operator + CSRF).
        .route("/wallet/top-up", post(forms::top_up))
        .route("/wallet/top-ups/{id}/pay", post(forms::pay_top_up))
        .route("/wallet/vouchers/activate", post(forms::activate_voucher))
        .route("/wallet/prepaid-cards", post(forms::buy_prepaid_card))
        .route("/workspaces/bind", post(forms::bind_workspace))
        .route("/workspaces/{id}/key", post(forms::rotate_workspace_key))
        .route("/ops/bank-transfers", post(forms::ops_record_bank_transfer))
        .route("/ops/vouchers", post(forms::ops_vouchers))
        .route("/ops/prepaid-cards", post(forms::ops_assign_card))
        // Alipay's server (signature-checked): the asynchronous payment notification.
        .route(payments::NOTIFY_PATH, post(payments::alipay_notify))
        .merge(sandbox_routes)
        .leptos_routes_with_context(&state, routes, page_context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell))
        .layer(axum::middleware::from_fn(
            crate::auth::refuse_cross_site_writes,
        ))
        .layer(axum::middleware::from_fn(api::error_shape::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            crate::security_headers::Hsts(hsts),
            crate::security_headers::add_security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.trusted_proxies.clone(),
            crate::auth::resolve_client_address,
        ))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// 200 `ready` when the database answers within 3 s and (where this process runs it) the
/// scheduler finished a tick in the last 3 minutes; otherwise 503 with what is wrong, one line
/// each, for the person on call.
async fn readiness(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    let mut problems = Vec::new();
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("database: {e}")),
        Err(_) => problems.push("database: no answer within 3 s".to_owned()),
    }
    if let Some(health) = &state.settings.scheduler {
        let since = health.seconds_since_tick();
        let stale = i64::try_from(crate::settlement::STALE_AFTER.as_secs()).unwrap_or(i64::MAX);
        if since > stale {
            problems.push(format!(
                "scheduler: no settlement tick for {since} s (expected one a minute)"
            ));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n")
    }
}
