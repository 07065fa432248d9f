use std::process::ExitCode;

use clap::Parser;
use server::cli::{Cli, Command, run_plan};
use server::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
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
        Command::Serve => serve(),
    }
}

fn serve() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bundle = config.site_root.join("pkg").join(format!("{}.js", app::OUTPUT_NAME));
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
        tracing::info!("Billing Center listening on http://{}", config.site_addr);
        let app = server::router::app(config.leptos_options());
        match axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await {
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
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
