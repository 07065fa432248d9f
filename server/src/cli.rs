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
    /// Measure the nightly settlement or usage ingest on a throwaway database of DATABASE_URL's
    /// kind (created and dropped by the command), beside that database's own rates measured in
    /// the same run. Prints the figures as JSON.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Settle one day of N workspaces (three usage records each, 50 workspaces per account).
    Settlement {
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000))]
        workspaces: u64,
        /// Bills per transaction (default SETTLEMENT_BATCH_SIZE or 2000).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=5_000))]
        batch: Option<u64>,
        /// Settlement runs at once, as that many server processes would (each takes shards).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
        processes: u64,
        /// Shards per day (default SETTLEMENT_SHARDS, or 1 on SQLite and 4 on PostgreSQL).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
        shards: Option<u64>,
    },
    /// Charge one account's history (daily bills of up to 50 workspaces for --days days), then
    /// time its income and expenditure and consumption pages, newest, oldest and whole history.
    Statements {
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=50))]
        workspaces: u64,
        #[arg(long, default_value_t = 1_095, value_parser = clap::value_parser!(u64).range(30..=3_650))]
        days: u64,
    },
    /// Ingest N usage records through POST /api/v1/usage's backend, in reports of --per-report.
    Ingest {
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=20_000_000))]
        records: u64,
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        per_report: u64,
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
        #[command(flatten)]
        operator: OperatorName,
    },
    /// Print a new API token for /api/v1/ops/* (shown once; stored hashed; audited).
    Token {
        #[command(flatten)]
        operator: OperatorName,
        /// Days until the token expires.
        #[arg(long, default_value_t = backend::auth::operators::DEFAULT_TOKEN_DAYS,
              value_parser = clap::value_parser!(i64).range(1..=backend::auth::operators::MAX_TOKEN_DAYS))]
        days: i64,
    },
    /// List the operator's tokens: id, created, expires, last used, revoked (never the secret).
    Tokens {
        #[command(flatten)]
        operator: OperatorName,
    },
    /// Revoke a token: the one with --id, or the token read from stdin.
    RevokeToken {
        /// The token's id (see `operator tokens USERNAME`).
        #[arg(long)]
        id: Option<i64>,
    },
    /// Disable an operator: ends all its sessions and tokens at once; it cannot sign in until enabled.
    Disable {
        #[command(flatten)]
        operator: OperatorName,
    },
    /// Enable a disabled operator again (its old tokens stay revoked: issue a new one).
    Enable {
        #[command(flatten)]
        operator: OperatorName,
    },
}

/// An operator named by `USERNAME`, or by `--username USERNAME` as older scripts do.
#[derive(Debug, clap::Args)]
pub struct OperatorName {
    /// The operator's username.
    #[arg(value_name = "USERNAME", required_unless_present = "username")]
    name: Option<String>,
    /// The same as USERNAME.
    #[arg(long = "username", value_name = "USERNAME", conflicts_with = "name")]
    username: Option<String>,
}

impl OperatorName {
    pub fn username(&self) -> &str {
        self.name
            .as_deref()
            .or(self.username.as_deref())
            .unwrap_or_default()
    }
}

/// `operator tokens USERNAME`: one line per token, newest first.
pub fn token_table(tokens: &[backend::auth::operators::TokenInfo]) -> String {
    if tokens.is_empty() {
        return "no tokens".to_owned();
    }
    let time = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let optional =
        |at: &Option<chrono::DateTime<chrono::Utc>>| at.as_ref().map_or("-".to_owned(), time);
    let mut lines = vec![format!(
        "{:<6} {:<20} {:<20} {:<20} {:<20} status",
        "id", "created", "expires", "last used", "revoked"
    )];
    for t in tokens {
        let status = match t.status {
            backend::auth::operators::TokenStatus::Active => "active",
            backend::auth::operators::TokenStatus::Expired => "expired",
            backend::auth::operators::TokenStatus::Revoked => "revoked",
        };
        lines.push(format!(
            "{:<6} {:<20} {:<20} {:<20} {:<20} {status}",
            t.id,
            time(&t.created_at),
            time(&t.expires_at),
            optional(&t.last_used_at),
            optional(&t.revoked_at),
        ));
    }
    lines.join("\n")
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
