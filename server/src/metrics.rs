//! `GET /metrics` in the Prometheus text format, from the `metrics` facade and
//! `metrics-exporter-prometheus`: HTTP requests by route and status with latency histograms, the
//! nightly settlement's runs, bills and duration, usage records accepted and refused, the
//! database pool and the scheduler's heartbeat. docs/OPERATIONS.md lists them and the alerts to
//! set. Labels name route templates and error codes, never a customer, a path or an id.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use backend::settlement::{SettlementReport, SettlementStatus};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency buckets, seconds: the pages' target is 20 ms at p99.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Settlement run buckets, seconds: a day of a million workspaces is minutes.
const RUN_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0,
];

/// The process's recorder, installed on first use (one per process: the `metrics` macros write
/// to the global recorder, so every router of a process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("settlement_run_duration_seconds".into()),
                    RUN_BUCKETS,
                )
            });
        match builder.and_then(PrometheusBuilder::install_recorder) {
            Ok(handle) => {
                describe();
                metrics::gauge!("billing_center_build_info", "version" => env!("CARGO_PKG_VERSION"))
                    .set(1.0);
                handle
            }
            Err(e) => {
                // Only if something else installed a recorder first: /metrics then shows nothing
                // recorded, which the operator sees at once, rather than the process failing.
                tracing::error!(error = %e, "cannot install the metrics recorder");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "HTTP requests by method, route template and status, and how long they took"
    );
    describe_counter!(
        "settlement_runs_total",
        "Settlement runs of a day by outcome (settled, incomplete, busy, already_settled, error)"
    );
    describe_histogram!(
        "settlement_run_duration_seconds",
        Unit::Seconds,
        "How long each settlement run took, by outcome"
    );
    describe_counter!(
        "settlement_bills_charged_total",
        "Daily bills charged by settlement runs"
    );
    describe_counter!(
        "settlement_bills_failed_total",
        "Daily bills a settlement run could not charge (the day stays incomplete)"
    );
    describe_gauge!(
        "settlement_last_run_bills_charged",
        "Bills charged by this process's last settlement run that did work"
    );
    describe_gauge!(
        "settlement_last_run_bills_failed",
        "Bills that failed in this process's last settlement run that did work"
    );
    describe_gauge!(
        "settlement_last_settled_timestamp_seconds",
        Unit::Seconds,
        "When this process last finished settling a day completely (Unix time)"
    );
    describe_gauge!(
        "settlement_scheduler_seconds_since_tick",
        Unit::Seconds,
        "Seconds since this process's settlement scheduler last ticked (absent when it runs none)"
    );
    describe_counter!("usage_records_accepted_total", "Usage records stored");
    describe_counter!(
        "usage_records_duplicate_total",
        "Usage records whose id was seen before (answered, not stored again)"
    );
    describe_counter!(
        "usage_records_refused_total",
        "Usage records refused, by the code the workspace was answered with"
    );
    describe_gauge!(
        "db_pool_connections",
        "Database pool connections by state (in_use, idle) and the pool's max"
    );
    describe_gauge!(
        "mail_outbox_messages",
        "Outbox messages by state: pending (waiting, retrying among them), sent, failed (given up)"
    );
    describe_gauge!(
        "mail_outbox_oldest_pending_seconds",
        "How long the oldest message waiting in the outbox has waited"
    );
    describe_gauge!(
        "cloud_metering_records",
        "Metering records for the cloud marketplaces by state: pending (failing among them), pushed"
    );
    describe_gauge!(
        "cloud_metering_oldest_pending_seconds",
        "How long the oldest metering record waiting to be pushed has waited"
    );
}

/// What the router's `/metrics` needs: the bearer token when one is configured, the store (for
/// its pool) and the scheduler's heartbeat.
#[derive(Clone)]
pub struct MetricsState {
    pub token: Option<Arc<str>>,
    pub store: backend::Store,
    pub scheduler: Option<Arc<crate::settlement::SchedulerHealth>>,
}

/// `GET /metrics`.
pub async fn render(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.token {
        let sent = crate::auth::bearer_token(&headers).unwrap_or("");
        if !crate::auth::constant_time_eq(sent.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics: send the METRICS_TOKEN as a bearer token\n",
            )
                .into_response();
        }
    }
    let pool = state.store.pool();
    let idle = pool.num_idle();
    let in_use = usize::try_from(pool.size())
        .unwrap_or(usize::MAX)
        .saturating_sub(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(in_use as f64);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("db_pool_connections", "state" => "max")
        .set(f64::from(pool.options().get_max_connections()));
    if let Some(scheduler) = &state.scheduler {
        metrics::gauge!("settlement_scheduler_seconds_since_tick")
            .set(scheduler.seconds_since_tick() as f64);
    }
    match state.store.outbox_summary().await {
        Ok(outbox) => {
            for (name, count) in [
                ("pending", outbox.pending),
                ("retrying", outbox.retrying),
                ("sent", outbox.sent),
                ("failed", outbox.failed),
            ] {
                metrics::gauge!("mail_outbox_messages", "state" => name).set(count as f64);
            }
            metrics::gauge!("mail_outbox_oldest_pending_seconds")
                .set(outbox.oldest_pending_seconds as f64);
        }
        Err(e) => tracing::error!(error = %e, "metrics: cannot read the outbox"),
    }
    match state.store.metering_summary().await {
        Ok(metering) => {
            for (name, count) in [
                ("pending", metering.pending),
                ("failing", metering.failing),
                ("pushed", metering.pushed),
            ] {
                metrics::gauge!("cloud_metering_records", "state" => name).set(count as f64);
            }
            metrics::gauge!("cloud_metering_oldest_pending_seconds")
                .set(metering.oldest_pending_seconds as f64);
        }
        Err(e) => tracing::error!(error = %e, "metrics: cannot read the cloud metering"),
    }
    let handle = handle();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// The route a request matched, left on its response by [`name_route`] for [`record_request`].
#[derive(Clone)]
struct RouteLabel(Arc<str>);

/// Inside the router (a route layer): names the matched route template on the response.
pub async fn name_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let label = matched.map(|m| RouteLabel(Arc::from(m.as_str())));
    let mut response = next.run(request).await;
    if let Some(label) = label {
        response.extensions_mut().insert(label);
    }
    response
}

/// Around everything: times the request and records it under its route (`fallback` for what no
/// route matched: the static files, the not-found page).
pub async fn record_request(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| Arc::from("fallback"), |r| r.0.clone());
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route.to_string(),
        "status" => response.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// One settlement run's figures (`status` as in the report, or `error` when the run failed).
pub fn record_settlement(result: Result<&SettlementReport, ()>, took: Duration) {
    let status = match result {
        Ok(report) => match report.status {
            SettlementStatus::Settled => "settled",
            SettlementStatus::Incomplete => "incomplete",
            SettlementStatus::Busy => "busy",
            SettlementStatus::AlreadySettled => "already_settled",
        },
        Err(()) => "error",
    };
    metrics::counter!("settlement_runs_total", "status" => status).increment(1);
    if let Ok(report) = result {
        if report.status == SettlementStatus::Busy {
            return;
        }
        let failed = report.failures.len() as u64;
        metrics::histogram!("settlement_run_duration_seconds", "status" => status)
            .record(took.as_secs_f64());
        metrics::counter!("settlement_bills_charged_total")
            .increment(u64::from(report.bills_charged));
        metrics::counter!("settlement_bills_failed_total").increment(failed);
        metrics::gauge!("settlement_last_run_bills_charged").set(f64::from(report.bills_charged));
        metrics::gauge!("settlement_last_run_bills_failed").set(failed as f64);
        if report.status == SettlementStatus::Settled {
            metrics::gauge!("settlement_last_settled_timestamp_seconds")
                .set(chrono::Utc::now().timestamp() as f64);
        }
    }
}

/// One usage report's outcome.
pub fn record_usage(outcome: &backend::usage::UsageIngested) {
    metrics::counter!("usage_records_accepted_total").increment(outcome.accepted as u64);
    metrics::counter!("usage_records_duplicate_total").increment(outcome.duplicates as u64);
    for rejected in &outcome.rejected {
        metrics::counter!("usage_records_refused_total", "code" => rejected.code.clone())
            .increment(1);
    }
}
