use std::process::ExitCode;

use backend::auth::operators::{CLI, Revoker};
use clap::Parser;
use server::cli::{
    Cli, Command, LedgerCommand, OperatorCommand, PricesCommand, read_secret_line, run_plan,
};
use server::config::Config;

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
        Command::Settle { day } => with_config(|config| async move {
            let store = match config.open_store().await {
                Ok(store) => store,
                Err(e) => return fail(e),
            };
            let code = match day {
                Some(day) => match store
                    .settle_day(day, server::settlement::process_owner())
                    .await
                {
                    Ok(report) => {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&report).unwrap_or_default()
                        );
                        if report.failures.is_empty() {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                },
                None => {
                    let charged = server::settlement::settle_due_days(&store).await;
                    println!("{charged} bills charged");
                    ExitCode::SUCCESS
                }
            };
            store.close().await;
            code
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
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
        let listener = match tokio::net::TcpListener::bind(config.site_addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", config.site_addr);
                return ExitCode::FAILURE;
            }
        };
        let store = match config.open_store().await {
            Ok(store) => store,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
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
                }
                Err(e) => {
                    eprintln!("error: cannot add the demo data: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        if config.settlement_scheduler {
            server::settlement::spawn_scheduler(store.clone());
            tracing::info!(
                "nightly settlement at 00:00 {}",
                config.settlement_timezone.name()
            );
        }
        let app = server::router::app(config.leptos_options(), store, config.settings())
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
