//! The command line: `billing-center [serve]` and `billing-center plan`.

use std::io::Read;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "billing-center",
    version,
    about = "Billing Center: a self-hostable pay-as-you-go billing platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the JSON API on LEPTOS_SITE_ADDR (default 127.0.0.1:3000). The default.
    Serve {
        /// First add demo data (once): the customer `demo` with two workspaces and 60 settled days.
        #[arg(long)]
        demo: bool,
    },
    /// Read a plan request (JSON) on stdin and print the deduction plan (JSON) on stdout.
    Plan,
    /// Create the database if needed and apply pending migrations (the server also does this on start).
    Migrate,
    /// Manage operators (the separate role that runs the billing center).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Work with the ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Settle a finished day's usage now (idempotent: a settled day charges nothing again). Without
    /// --day, settles every past day that is due, as the server does each minute. Exits 0 only
    /// when everything asked is settled; 1 when a day is busy (another process holds its lease),
    /// incomplete or failed, so a cron job learns that nothing (or not everything) was settled.
    Settle {
        /// The day to settle, YYYY-MM-DD, in the settlement timezone.
        #[arg(long, value_parser = parse_day)]
        day: Option<chrono::NaiveDate>,
        /// While a day is busy, wait for its lease to end (polling every 2 s), at most this many
        /// seconds (default 300 when given without a value).
        #[arg(long, num_args = 0..=1, default_missing_value = "300", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        wait: Option<u64>,
    },
    /// Expire the vouchers and prepaid cards whose validity has ended (what is left goes to
    /// breakage); the server does this every minute and after every settled day.
    Expire,
    /// Work with the price catalog.
    Prices {
        #[command(subcommand)]
        command: PricesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Add the price versions of a catalog file (JSON, like billing/prices/catalog.json); each takes
    /// effect on its effective_from day. Refused whole if any version is invalid or clashes.
    Load { file: std::path::PathBuf },
    /// Print the catalog in force (shipped versions and loaded ones) as JSON.
    Show,
}

pub fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    billing::day::parse_day(text).ok_or_else(|| format!("'{text}' is not a day like 2026-11-22"))
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator; the password is read from stdin (one line).
    Create {
        #[arg(long)]
        username: String,
    },
    /// Print a new API token for /api/v1/ops/* (shown once; stored hashed).
    Token {
        #[arg(long)]
        username: String,
    },
    /// Revoke an API token read from stdin.
    RevokeToken,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute every balance from the postings and report any difference (exit 1 if one is found).
    Check,
}

/// `billing-center plan`: the result on stdout and exit 0, or one line on stderr and exit 1.
pub fn run_plan(stdin: &mut impl Read) -> Result<String, String> {
    let mut input = String::new();
    stdin
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read stdin as UTF-8 text: {e}"))?;
    billing::plan_json::evaluate_json(&input).map_err(|e| e.to_string())
}

/// The first line of stdin without its line ending (a password or a token).
pub fn read_secret_line(stdin: &mut impl std::io::BufRead) -> Result<String, String> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        return Err("expected the secret on stdin, got nothing".into());
    }
    Ok(line)
}
