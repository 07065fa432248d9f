use std::process::ExitCode;

use backend::auth::operators::{CLI, Revoker};
use clap::Parser;
use server::cli::{
    BenchCommand, Cli, Command, LedgerCommand, OperatorCommand, PricesCommand, read_secret_line,
    run_plan,
};
use server::config::Config;

/// A line on stderr that is dropped, not a panic, when stderr is closed (`| head`): a benchmark
/// must get to dropping its database whatever happens to its output.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Plan => match run_plan(&mut std::io::stdin().lock()) {
            Ok(plan) => {
                println!("{plan}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { demo } => serve(demo),
        Command::Migrate => with_config(|config| async move {
            match config.open_store().await {
                Ok(store) => {
                    println!(
                        "{} is migrated to the latest schema",
                        redact(&config.database_url)
                    );
                    store.close().await;
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }),
        Command::Operator { command } => with_config(|config| async move {
            let store = match config.open_store().await {
                Ok(store) => store,
                Err(e) => return fail(e),
            };
            let result = operator_command(&store, command).await;
            store.close().await;
            match result {
                Ok(output) => {
                    println!("{output}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Settle { day, wait } => with_config(|config| async move {
            let store = match config.open_store().await {
                Ok(store) => store,
                Err(e) => return fail(e),
            };
            let code = settle_command(&store, day, wait).await;
            store.close().await;
            code
        }),
        Command::Expire => with_config(|config| async move {
            let store = match config.open_store().await {
                Ok(store) => store,
                Err(e) => return fail(e),
            };
            let result = store.expire_instruments().await;
            store.close().await;
            match result {
                Ok(sweep) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&sweep).unwrap_or_default()
                    );
                    if sweep.failed_accounts.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Bench { command } => with_config(|config| async move {
            let throwaway = match server::bench::Throwaway::create(&config).await {
                Ok(throwaway) => throwaway,
                Err(e) => return fail(e),
            };
            note!(
                "benchmark database: {} (dropped afterwards)",
                throwaway.name
            );
            let figures = tokio::select! {
                figures = bench_command(&config, &throwaway.url, command) => figures,
                _ = shutdown_signal() => Err("interrupted".to_owned()),
            };
            // Dropped before anything is printed: a closed stdout must not leave it behind.
            throwaway.drop().await;
            match figures {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Prices { command } => with_config(|config| async move {
            let store = match config.open_store().await {
                Ok(store) => store,
                Err(e) => return fail(e),
            };
            let result = match command {
                PricesCommand::Load { file } => match std::fs::read_to_string(&file) {
                    Ok(text) => store
                        .load_prices(&text)
                        .await
                        .map(|versions| format!("loaded price versions: {}", versions.join(", ")))
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(format!("cannot read {}: {e}", file.display())),
                },
                PricesCommand::Show => store
                    .price_catalog()
                    .await
                    .map(|c| serde_json::to_string_pretty(&c).unwrap_or_default())
                    .map_err(|e| e.to_string()),
            };
            store.close().await;
            match result {
                Ok(output) => {
                    println!("{output}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Ledger {
            command: LedgerCommand::Check,
        } => with_config(|config| async move {
            // A check reads; it does not migrate a database it was pointed at.
            let store = match backend::Store::connect(&config.database_url).await {
                Ok(store) => store,
                Err(e) => return fail(e),
            };
            let result = store.check_ledger().await;
            store.close().await;
            match result {
                Ok(report) => {
                    println!("{report}");
                    if report.is_clean() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => fail(e),
            }
        }),
    }
}

/// `billing-center settle`: prints each day's report; exit 0 only if everything asked is settled.
async fn settle_command(
    store: &backend::Store,
    day: Option<chrono::NaiveDate>,
    wait: Option<u64>,
) -> ExitCode {
    use backend::settlement::SettlementStatus;
    let deadline = wait.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    loop {
        let (reports, errors) = match day {
            Some(day) => match store
                .settle_day(day, &server::settlement::run_owner())
                .await
            {
                Ok(report) => (vec![report], Vec::new()),
                Err(e) => (Vec::new(), vec![(day, e.to_string())]),
            },
            None => {
                let tick = server::settlement::settle_due_days(store).await;
                (tick.reports, tick.errors)
            }
        };
        let busy = reports.iter().any(|r| r.status == SettlementStatus::Busy);
        let waiting = busy && deadline.is_some_and(|d| std::time::Instant::now() < d);
        if waiting {
            eprintln!("a day is busy (another process holds its lease); waiting");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            continue;
        }
        for report in &reports {
            println!(
                "{}",
                serde_json::to_string_pretty(report).unwrap_or_default()
            );
        }
        for (day, error) in &errors {
            eprintln!("error: settling {day}: {error}");
        }
        let settled = errors.is_empty()
            && reports.iter().all(|r| {
                matches!(
                    r.status,
                    SettlementStatus::Settled | SettlementStatus::AlreadySettled
                )
            });
        if busy {
            eprintln!(
                "error: a day is busy: another process is settling it (or died holding its lease, which runs out within {} s); run again, or pass --wait",
                store.settlement_lease_seconds()
            );
        }
        return if settled {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
}

async fn operator_command(
    store: &backend::Store,
    command: OperatorCommand,
) -> Result<String, String> {
    let mut stdin = std::io::stdin().lock();
    match command {
        OperatorCommand::Create { operator } => {
            let password = read_secret_line(&mut stdin)?;
            let operator = store
                .create_operator(operator.username(), &password)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "operator '{}' created (id {})",
                operator.username, operator.id
            ))
        }
        OperatorCommand::Token { operator, days } => {
            let operator = operator_named(store, operator.username()).await?;
            let issued = store
                .issue_operator_token_for(&operator, days, CLI)
                .await
                .map_err(|e| e.to_string())?;
            // stdout is the token alone, for scripts; the rest goes to stderr.
            eprintln!(
                "token {} for '{}', expires {} (shown once)",
                issued.id,
                operator.username,
                issued.expires_at.to_rfc3339()
            );
            Ok(issued.token)
        }
        OperatorCommand::Tokens { operator } => {
            let operator = operator_named(store, operator.username()).await?;
            let tokens = store
                .operator_tokens(operator.id)
                .await
                .map_err(|e| e.to_string())?;
            let table = server::cli::token_table(&tokens);
            match store
                .operator_disabled_at(operator.id)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(at) => Ok(format!(
                    "operator '{}' is disabled since {}\n{table}",
                    operator.username,
                    at.to_rfc3339()
                )),
                None => Ok(table),
            }
        }
        OperatorCommand::RevokeToken { id: Some(id) } => {
            match store
                .revoke_operator_token_by_id(id, Revoker::Cli)
                .await
                .map_err(|e| e.to_string())?
            {
                true => Ok(format!("token {id} revoked")),
                false => Ok(format!("token {id} was already revoked")),
            }
        }
        OperatorCommand::RevokeToken { id: None } => {
            let token = read_secret_line(&mut stdin)?;
            match store
                .revoke_operator_token(token.trim(), CLI)
                .await
                .map_err(|e| e.to_string())?
            {
                true => Ok("token revoked".to_owned()),
                false => Err("no live token matches".to_owned()),
            }
        }
        OperatorCommand::Disable { operator } => {
            let operator = operator_named(store, operator.username()).await?;
            match store
                .disable_operator(&operator, CLI)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(done) => Ok(format!(
                    "operator '{}' disabled: {} sessions ended, {} tokens revoked",
                    operator.username, done.sessions_ended, done.tokens_revoked
                )),
                None => Ok(format!(
                    "operator '{}' was already disabled",
                    operator.username
                )),
            }
        }
        OperatorCommand::Enable { operator } => {
            let operator = operator_named(store, operator.username()).await?;
            match store
                .enable_operator(&operator, CLI)
                .await
                .map_err(|e| e.to_string())?
            {
                true => Ok(format!(
                    "operator '{0}' enabled; its old tokens stay revoked (billing-center operator token {0})",
                    operator.username
                )),
                false => Ok(format!("operator '{}' was not disabled", operator.username)),
            }
        }
    }
}

async fn operator_named(
    store: &backend::Store,
    username: &str,
) -> Result<backend::auth::operators::Operator, String> {
    store
        .operator_by_username(username)
        .await
        .map_err(|e| e.to_string())
}

/// Runs a database command: exit 2 when it cannot run at all, so that 1 keeps its meaning.
/// Runs a benchmark on the throwaway database at `url`: its figures as JSON.
async fn bench_command(
    config: &Config,
    url: &str,
    command: BenchCommand,
) -> Result<String, String> {
    let store = backend::Store::open(url)
        .await
        .map_err(|e| e.to_string())?
        .with_settlement_timezone(config.settlement_timezone);
    if store.backend() == backend::Backend::Postgres {
        let current: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(store.pool())
            .await
            .map_err(|e| e.to_string())?;
        if !url.contains(&format!("/{current}")) {
            store.close().await;
            return Err(format!(
                "connected to '{current}', not to the benchmark's own database"
            ));
        }
    }
    let figures = match command {
        BenchCommand::Settlement {
            workspaces,
            batch,
            processes,
            shards,
        } => {
            let batch = batch.map_or(config.settlement_batch_size, |b| b as usize);
            let mut store = store.clone().with_settlement_batch_size(batch);
            if let Some(shards) = shards.map(|s| s as i64).or(config.settlement_shards) {
                store = store.with_settlement_shards(shards);
            }
            backend::bench::settlement(&store, workspaces as usize, processes as usize)
                .await
                .map(|f| {
                    note!(
                        "settlement on {} ({} runs at once, {} shards): {} bills in {:.2} s = {:.0} bills/s; the database \
                         alone: {:.0} commits/s, {:.0} bills' worth of rows/s batched ({:.2} of it)",
                        f.database, f.processes, f.shards, f.bills, f.seconds, f.bills_per_second, f.raw_commits_per_second,
                        f.raw_batched_bills_per_second, f.ratio_to_raw_batched
                    );
                    serde_json::to_string_pretty(&f).unwrap_or_default()
                })
        }
        BenchCommand::Statements { workspaces, days } => {
            backend::bench::statements(&store, workspaces as usize, days as u32)
                .await
                .map(|f| {
                    note!(
                        "statements on {}: {} bills over {} days ({} ledger transactions, {} postings) charged in {:.1} s",
                        f.database, f.bills, f.days, f.ledger_transactions, f.postings, f.history_seconds
                    );
                    for page in &f.pages {
                        note!(
                            "  {}: {} rows of {}, median {:.2} ms, max {:.2} ms",
                            page.page, page.rows, page.total, page.median_ms, page.max_ms
                        );
                    }
                    note!("  the database alone: a primary-key read, median {:.3} ms", f.raw_point_read_ms);
                    serde_json::to_string_pretty(&f).unwrap_or_default()
                })
        }
        BenchCommand::Ingest {
            records,
            per_report,
        } => backend::bench::ingest(&store, records as usize, per_report as usize)
            .await
            .map(|f| {
                note!(
                    "ingest on {}: {} records in {:.2} s = {:.0} records/s; the database alone: {:.0} rows/s ({:.2} of it)",
                    f.database, f.records, f.seconds, f.records_per_second, f.raw_rows_per_second, f.ratio_to_raw
                );
                serde_json::to_string_pretty(&f).unwrap_or_default()
            }),
    };
    store.close().await;
    figures.map_err(|e| e.to_string())
}

fn with_config<F, Fut>(command: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    runtime.block_on(command(config))
}

fn fail(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn serve(demo: bool) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match Config::from_env() {
        Ok(config) if demo => config
            .with_demo_sandbox()
            .with_demo_console()
            .with_marketplace_sandbox(),
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match &config.online_payments {
        server::payments::OnlinePayments::Sandbox => {
            let line = "payment sandbox is ON: online top-ups are paid by the built-in sandbox gateway and credit cash without real money (never in production)";
            println!("{line}");
            tracing::warn!("{line}");
        }
        server::payments::OnlinePayments::Unavailable => tracing::info!(
            "online payments are off (no ALIPAY_* keys, PAYMENT_SANDBOX not on): customers top up by bank transfer"
        ),
        server::payments::OnlinePayments::Alipay(_) => {
            tracing::info!("online payments through Alipay")
        }
    }
    let bundle = config
        .site_root
        .join("pkg")
        .join(format!("{}.js", app::OUTPUT_NAME));
    if !bundle.exists() {
        tracing::warn!(
            "{} is missing: pages will render but not hydrate. Build the site with scripts/site.sh.",
            bundle.display()
        );
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    runtime.block_on(async move {
        // One socket: until the database answers, a small server accepts on it (alive, not
        // ready); then the application does.
        let listening = std::net::TcpListener::bind(config.site_addr).and_then(|listener| {
            listener.set_nonblocking(true)?;
            let waiting = serve_while_waiting(listener.try_clone()?)?;
            Ok((tokio::net::TcpListener::from_std(listener)?, waiting))
        });
        let (listener, waiting) = match listening {
            Ok(listening) => listening,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", config.site_addr);
                return ExitCode::FAILURE;
            }
        };
        let opened = open_store_retrying(&config).await;
        // Its open connections get a moment to finish; the application takes the port anyway.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), waiting.stop()).await;
        let store = match opened {
            Some(Ok(store)) => store,
            Some(Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            None => return ExitCode::SUCCESS,
        };
        tracing::info!(
            "database {} ({:?}) is ready",
            redact(&config.database_url),
            store.backend()
        );
        tracing::info!("Billing Center listening on http://{}", config.site_addr);
        if demo {
            match store.seed_demo().await {
                Ok(outcome) => {
                    if let backend::demo::DemoOutcome::Created { bills } = outcome {
                        tracing::info!("demo data added: {bills} daily bills");
                    }
                    println!(
                        "Demo data: sign in at {}/signin as '{}' with the password '{}'",
                        config.public_url,
                        backend::demo::DEMO_USERNAME,
                        backend::demo::DEMO_PASSWORD
                    );
                    if config.demo_console {
                        println!(
                            "The demo console (the workspace panel as the SaaS console frames it): {}/demo/console",
                            config.public_url
                        );
                    }
                }
                Err(e) => {
                    eprintln!("error: cannot add the demo data: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let mut settings = config.settings();
        match config.mail_sender() {
            Some(sender) => {
                tracing::info!("mail is delivered over SMTP from {}", config.smtp.as_ref().map(|s| s.from.as_str()).unwrap_or(""));
                server::settlement::spawn_mail_sender(store.clone(), sender);
            }
            None => tracing::warn!("SMTP_URL is not set: mail waits in the outbox (see /ops)"),
        }
        server::settlement::spawn_metering_pusher(
            store.clone(),
            backend::cloud::metering::MeteringTargets {
                aliyun: config.aliyun_metering.clone(),
                huawei: config.huawei_market.clone(),
                aws: config.aws_marketplace.clone(),
            },
        );
        if config.marketplace_sandbox {
            println!(
                "Marketplace sandbox (plays Alibaba Cloud Marketplace; demos and tests only): {}{}",
                config.public_url,
                server::marketplace_sandbox::PAGE_PATH
            );
        }
        if config.settlement_scheduler {
            let health = server::settlement::SchedulerHealth::new();
            let reconciler = server::reconciliation::Reconciler::new(
                config.online_payments.clone(),
                config.public_url.clone(),
                config.local_url(),
            );
            server::settlement::spawn_scheduler(store.clone(), health.clone(), reconciler);
            settings.scheduler = Some(health);
            tracing::info!(
                "nightly settlement at 00:00 {}",
                config.settlement_timezone.name()
            );
        }
        let app = server::router::app(config.leptos_options(), store, settings)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        match axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: server stopped: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// What answers on the server's port while it waits for its database: `/healthz` 200 (the process
/// lives), everything else 503 saying why, so a load balancer and the person on call see a server
/// that is starting rather than one that hangs.
struct Waiting {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Waiting {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn serve_while_waiting(listener: std::net::TcpListener) -> std::io::Result<Waiting> {
    use axum::http::StatusCode;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let router = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .fallback(|| async {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "5")],
                "database: not reachable yet; the server is waiting for it\n",
            )
        });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Waiting { stop, task })
}

/// Opens the store; while the database cannot be reached, tries again with backoff (1 s doubling
/// to 30 s), saying so each time, instead of exiting: a server started before its database comes
/// back by itself. `None` when a shutdown signal came first.
async fn open_store_retrying(
    config: &Config,
) -> Option<Result<backend::Store, Box<dyn std::error::Error + Send + Sync>>> {
    let mut backoff = std::time::Duration::from_secs(1);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        match config.open_store().await {
            Ok(store) => return Some(Ok(store)),
            Err(e)
                if e.downcast_ref::<backend::StoreError>()
                    .is_some_and(|e| matches!(e, backend::StoreError::Connect(_))) =>
            {
                tracing::error!(
                    database = %redact(&config.database_url),
                    error = %e,
                    retry_in_seconds = backoff.as_secs(),
                    "the database cannot be reached; retrying"
                );
                eprintln!(
                    "database {} cannot be reached ({e}); retrying in {} s",
                    redact(&config.database_url),
                    backoff.as_secs()
                );
            }
            Err(e) => return Some(Err(e)),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = &mut shutdown => return None,
        }
        backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
