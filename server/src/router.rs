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
use crate::{api, downloads, language, payments};

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
    /// `METRICS_TOKEN`: when set, `/metrics` answers only requests bearing it.
    pub metrics_token: Option<Arc<str>>,
    /// `CONSOLE_ORIGINS`: who may frame the workspace panel (its `frame-ancestors`).
    pub console_origins: Vec<String>,
    /// `serve --demo` plays the console: `/demo/console` is served.
    pub demo_console: bool,
    /// Whether this server delivers mail (`SMTP_URL`); without it mail waits in the outbox.
    pub smtp_configured: bool,
    /// `ALIYUN_MARKET_KEY`: the key Alibaba Cloud Marketplace signs its SPI calls with; without
    /// it `/marketplace/aliyun` does not exist.
    pub aliyun_market_key: Option<Arc<str>>,
    /// AWS Marketplace: `/marketplace/aws` and its notifications are 404 without it.
    pub aws_marketplace: Option<Arc<backend::cloud::aws::AwsMarketplace>>,
    /// KooGallery's keys and endpoint: `/marketplace/huawei` is 404 without them.
    pub huawei_market: Option<Arc<backend::cloud::huawei::HuaweiMarket>>,
    /// `MARKETPLACE_SANDBOX=on`: `/sandbox/marketplace` and the metering receiver are served.
    pub marketplace_sandbox: bool,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: backend::Store,
    pub settings: Arc<Settings>,
    /// The gateways, built once from `settings` (what pages and API both open top-ups with).
    pub payments: Arc<backend::payments::Payments>,
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

impl FromRef<AppState> for crate::metrics::MetricsState {
    fn from_ref(state: &AppState) -> crate::metrics::MetricsState {
        crate::metrics::MetricsState {
            token: state.settings.metrics_token.clone(),
            store: state.store.clone(),
            scheduler: state.settings.scheduler.clone(),
        }
    }
}

impl FromRef<AppState> for Arc<Settings> {
    fn from_ref(state: &AppState) -> Arc<Settings> {
        state.settings.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

pub fn app(leptos_options: LeptosOptions, store: backend::Store, settings: Settings) -> Router {
    let payments = Arc::new(backend::payments::Payments::new(
        settings.online_payments.clone(),
        settings.public_url.clone(),
        settings.local_url.clone(),
        settings.bank_payee.clone(),
    ));
    // Before anything is recorded: what is recorded without a recorder is lost.
    crate::metrics::handle();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        store,
        settings: Arc::new(settings),
        payments,
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
            .route(payments::SANDBOX_PAY_PATH, post(payments::sandbox_pay))
            // What the sandbox's QR codes open on a phone, and its "pay".
            .route(payments::SANDBOX_SCAN_PATH, get(payments::sandbox_scan))
            .route(
                payments::SANDBOX_SCAN_PAY_PATH,
                post(payments::sandbox_scan_pay),
            )
    } else {
        Router::new()
    };
    // The marketplace sandbox (`MARKETPLACE_SANDBOX=on`, `serve --demo`): elsewhere a 404.
    let marketplace_routes = if state.settings.marketplace_sandbox {
        crate::marketplace_sandbox::routes()
    } else {
        Router::new()
    };
    // The demo's console (`serve --demo` only): elsewhere /demo/console is the site's 404.
    let demo_routes = if state.settings.demo_console {
        Router::new().route("/demo/console", get(crate::demo_console::page))
    } else {
        Router::new()
    };
    // What every rendered page, the not-found page and every server function read on the server.
    let page_context = {
        let store = state.store.clone();
        let payee = state.settings.bank_payee.clone();
        let site = app::server_side::Site {
            payments: state.payments.clone(),
            secure_cookies: state.settings.secure_cookies.0,
            console_origins: state.settings.console_origins.clone().into(),
            smtp_configured: state.settings.smtp_configured,
        };
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
            // An empty set of lazy routes to preload, replacing the one leptos_axum provides:
            // leptos 0.8 writes the preload links after the stream, outside the request's owner,
            // so under concurrent requests they landed in other responses (hundreds of them).
            provide_context(leptos::PrefetchLazyFn::default());
            provide_context(store.clone());
            provide_context(site.clone());
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
        // Prometheus (`METRICS_TOKEN` as a bearer token when set).
        .route("/metrics", get(crate::metrics::render))
        // operator session: a generated batch of activation codes as CSV.
        .route(
            "/ops/activation-codes/{batch}",
            get(downloads::activation_codes),
        )
        // operator session: a ticket's file or a business licence (audited).
        .route("/ops/attachments/{id}", get(downloads::attachment))
        // Alipay's server (signature-checked): the asynchronous payment notification.
        .route(payments::NOTIFY_PATH, post(payments::alipay_notify))
        // Alibaba Cloud Marketplace's SaaS SPI (token-checked; 404 without ALIYUN_MARKET_KEY).
        .route(
            crate::marketplace::ALIYUN_SPI_PATH,
            get(crate::marketplace::aliyun_spi),
        )
        // Huawei Cloud KooGallery's SaaS interface (signed, each nonce once; 404 without keys).
        .route(
            crate::marketplace::HUAWEI_INTERFACE_PATH,
            post(crate::marketplace::huawei_interface),
        )
        // AWS Marketplace: the buyer's browser (fulfillment) and Amazon SNS (signature-checked).
        .route(
            crate::marketplace::AWS_FULFILLMENT_PATH,
            get(crate::marketplace::aws_fulfillment_page).post(crate::marketplace::aws_fulfillment),
        )
        .route(
            crate::marketplace::AWS_NOTIFICATIONS_PATH,
            post(crate::marketplace::aws_notifications),
        )
        .merge(sandbox_routes)
        .merge(marketplace_routes)
        .merge(demo_routes)
        // The site's code and style: the brotli copy a release build wrote beside each file
        // (scripts/bundle-size.mjs, quality 11) to browsers that take brotli, else the file
        // (compressed on the fly below).
        .nest_service(
            "/pkg",
            tower::ServiceBuilder::new()
                // A cache in between must keep the brotli copy apart from the plain file.
                .layer(tower_http::set_header::SetResponseHeaderLayer::appending(
                    axum::http::header::VARY,
                    axum::http::HeaderValue::from_static("accept-encoding"),
                ))
                .service(
                    tower_http::services::ServeDir::new(
                        std::path::Path::new(leptos_options.site_root.as_ref())
                            .join(leptos_options.site_pkg_dir.as_ref()),
                    )
                    .precompressed_br(),
                ),
        )
        // Leptos pages, and the pages' server functions (`app`, `#[server(prefix = "/fn")]`, each
        // checking who may call it and the form's CSRF token itself) with the same context.
        .leptos_routes_with_context(&state, routes, page_context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // Every route's template, for the request metrics below (the fallback has none).
        .route_layer(axum::middleware::from_fn(crate::metrics::name_route))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell))
        .layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(state.settings.public_url.as_str()),
            server_function_answers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.store.clone(),
            crate::auth::resolve_viewer,
        ))
        .layer(axum::middleware::from_fn(
            crate::auth::refuse_cross_site_writes,
        ))
        .layer(axum::middleware::from_fn(api::error_shape::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            crate::security_headers::HeaderSettings {
                hsts,
                console_origins: state.settings.console_origins.clone().into(),
            },
            crate::security_headers::add_security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.trusted_proxies.clone(),
            crate::auth::resolve_client_address,
        ))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(crate::metrics::record_request))
        .with_state(state)
}

/// How a server function's answer leaves: a plain form post's redirect as 303 See Other (the
/// browser GETs the page), and an error with the status its code says (server functions answer
/// every error with 500; `AppError::status` says whose it is).
async fn server_function_answers(
    axum::extract::State(public_url): axum::extract::State<Arc<str>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    let is_server_function = request.uri().path().starts_with("/fn/");
    // Forms with files: only multipart bodies, and bounded (the server function reads the
    // body as a stream, past any extractor's limit), answered before it runs.
    if app::support::MULTIPART_FORMS.contains(&request.uri().path()) {
        use axum::response::IntoResponse;
        let error = |status: StatusCode, code: &str| {
            let body = serde_json::json!({"code": code, "status": status.as_u16()}).to_string();
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        };
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.to_ascii_lowercase().starts_with("multipart/form-data") && t.contains("boundary=")
            });
        if !multipart {
            return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|length| length > app::support::MULTIPART_BODY_LIMIT) {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "attachment_too_large");
        }
        let (parts, body) = request.into_parts();
        request = axum::extract::Request::from_parts(
            parts,
            axum::body::Body::new(http_body_util::Limited::new(
                body,
                app::support::MULTIPART_BODY_LIMIT,
            )),
        );
    }
    // A plain form post goes back to its Referer: only ever to a page of this site.
    if is_server_function && !referer_is_this_site(request.headers(), &public_url) {
        request.headers_mut().remove(header::REFERER);
    }
    let mut response = next.run(request).await;
    if !is_server_function {
        return response;
    }
    // Answers carry session cookies, CSRF tokens and new API keys: never cached.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    if response.status() == StatusCode::FOUND {
        *response.status_mut() = StatusCode::SEE_OTHER;
        return response;
    }
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Whether the request's `Referer` is a page of this site: of the host it was sent to, or of
/// `PUBLIC_URL`'s.
fn referer_is_this_site(headers: &axum::http::HeaderMap, public_url: &str) -> bool {
    use axum::http::header;
    let authority = |url: &str| -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let authority = rest.split(['/', '?', '#']).next()?;
        (!authority.is_empty()).then(|| authority.to_ascii_lowercase())
    };
    let Some(referer) = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(authority)
    else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    host.as_deref() == Some(referer.as_str()) || authority(public_url).as_deref() == Some(&referer)
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
