//! Real crashes, on both databases: `billing-center settle` killed with SIGKILL again and again
//! in the middle of a day of 2,000 workspaces, then let finish; a server killed while Alipay's
//! notifications pour in, then restarted while Alipay retries. Every workspace ends with exactly one
//! bill, every top-up is credited exactly once, no fen is created or lost, and `ledger check`
//! passes.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use backend::IdempotencyKey;
use backend::cash::{CashCredit, CashSource};
use backend::payments::alipay::{self, Params, PrivateKey};
use backend::topups::{TopUpMethod, TopUpRequest};
use billing::Amount;
use support::app::TestApp;

const WORKSPACES: usize = 2_000;
const ACCOUNTS: usize = 10;
const KILLS: usize = 5;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_billing-center"));
    command
        .env_remove("RUST_LOG")
        .env("SETTLEMENT_LEASE_SECONDS", "5")
        .env("SETTLEMENT_BATCH_SIZE", "100")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

fn ledger_check(url: &str) {
    let output = binary()
        .args(["ledger", "check"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "ledger check: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn a_settlement_killed_again_and_again_bills_every_workspace_once(app: TestApp) {
    let url = app.database_url().unwrap();
    let yesterday = app.store.today().pred_opt().unwrap();
    let mut accounts = Vec::new();
    for a in 0..ACCOUNTS {
        let account = app
            .store
            .create_billing_account(&format!("Acme {a}"))
            .await
            .unwrap();
        app.store
            .credit_cash(
                &IdempotencyKey::new(format!("fund-{a}")).unwrap(),
                &CashCredit {
                    account_id: account,
                    amount: Amount::from_yuan(100),
                    source: CashSource::BankTransfer,
                    reference: format!("FUND-{a}"),
                },
            )
            .await
            .unwrap();
        accounts.push(account);
    }
    for w in 0..WORKSPACES {
        let bound = app
            .store
            .bind_workspace(accounts[w % ACCOUNTS], &format!("ws-{w:05}"), "w", None)
            .await
            .unwrap();
        let report = app
            .store
            .ingest_usage(
                &bound.workspace,
                &[backend::usage::UsageInput {
                    id: "r1".into(),
                    item: "network".into(),
                    retention_days: None,
                    quantity: "1".into(),
                    day: yesterday.to_string(),
                }],
            )
            .await
            .unwrap();
        assert_eq!(report.accepted, 1);
    }
    // Each run is killed once it has charged another 150 bills (after waiting out the lease the
    // last one left): five kills, every one in the middle of the day.
    let mut progress = Vec::new();
    let mut bills = 0;
    for _ in 0..KILLS {
        let mut child: Child = binary()
            .args(["settle", "--day", &yesterday.to_string(), "--wait", "60"])
            .env("DATABASE_URL", &url)
            .spawn()
            .unwrap();
        let target = bills + 150;
        for _ in 0..6_000 {
            if count(&app, "SELECT COUNT(*) FROM bills").await >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no rollback but the database's own.
        child.wait().unwrap();
        bills = count(&app, "SELECT COUNT(*) FROM bills").await;
        progress.push(bills);
    }
    let finished = binary()
        .args(["settle", "--day", &yesterday.to_string(), "--wait", "60"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        finished.status.success(),
        "after {progress:?} bills: {}{}",
        String::from_utf8_lossy(&finished.stdout),
        String::from_utf8_lossy(&finished.stderr)
    );
    assert!(
        progress.windows(2).all(|w| w[0] < w[1])
            && progress[0] > 0
            && (progress[KILLS - 1] as usize) < WORKSPACES,
        "every run made progress and was killed mid-day: {progress:?}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM bills").await,
        WORKSPACES as i64,
        "one bill per workspace (killed runs left {progress:?})"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM (SELECT workspace_id FROM bills GROUP BY workspace_id HAVING COUNT(*) > 1) twice"
        )
        .await,
        0
    );
    // 2,000 bills of 2.00 each: exactly 4,000.00 left the accounts, into revenue.
    assert_eq!(
        count(
            &app,
            "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM postings WHERE ledger_account = 'revenue'"
        )
        .await,
        WORKSPACES as i64 * 200
    );
    assert_eq!(
        count(
            &app,
            "SELECT CAST(SUM(cash_fen - arrears_fen) AS BIGINT) FROM billing_accounts"
        )
        .await,
        ACCOUNTS as i64 * 10_000 - WORKSPACES as i64 * 200
    );
    ledger_check(&url);
    app.finish().await;
}

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../backend/tests/fixtures/alipay/"
);
const APP_ID: &str = "2021000000000000";
const SELLER_ID: &str = "2088000000000009";
const TOP_UPS: usize = 120;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(url: &str, port: u16) -> Child {
    binary()
        .args(["serve"])
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("SETTLEMENT_SCHEDULER", "off")
        .env("ALIPAY_APP_ID", APP_ID)
        .env("ALIPAY_SELLER_ID", SELLER_ID)
        .env(
            "ALIPAY_PRIVATE_KEY_FILE",
            format!("{FIXTURES}test_merchant_private_key.pem"),
        )
        .env(
            "ALIPAY_PUBLIC_KEY_FILE",
            format!("{FIXTURES}test_alipay_public_key.pem"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// POSTs a form to the server; `None` when the server is not there (killed, or not up yet).
async fn post_form(port: u16, path: &str, form: String) -> Option<String> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let request = axum::http::Request::post(format!("http://127.0.0.1:{port}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(axum::body::Bytes::from(form)))
        .ok()?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .ok()?
        .ok()?;
    let bytes = response.into_body().collect().await.ok()?.to_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Until `/readyz` answers 200: the port answers (503) before the database is open.
async fn wait_until_up(port: u16) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for _ in 0..300 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let asked = stream
                .write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .await;
            let mut answer = Vec::new();
            if asked.is_ok()
                && stream.read_to_end(&mut answer).await.is_ok()
                && answer.starts_with(b"HTTP/1.1 200")
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not start on port {port}");
}

fn signed_notification(signer: &PrivateKey, out_trade_no: &str, amount: &str, n: usize) -> String {
    let trade_no = format!("2026112322001{n:015}");
    let notify_id = format!("n{n}");
    let mut params: Params = [
        ("app_id", APP_ID),
        ("auth_app_id", APP_ID),
        ("seller_id", SELLER_ID),
        ("out_trade_no", out_trade_no),
        ("trade_no", trade_no.as_str()),
        ("total_amount", amount),
        ("trade_status", "TRADE_SUCCESS"),
        ("notify_type", "trade_status_sync"),
        ("notify_time", "2026-11-23 20:00:00"),
        ("notify_id", notify_id.as_str()),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    alipay::sign_notification(&mut params, signer);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish()
}

async fn a_server_killed_among_payment_notifications_credits_each_once(app: TestApp) {
    let url = app.database_url().unwrap();
    let signer = PrivateKey::parse(
        &std::fs::read_to_string(format!("{FIXTURES}test_alipay_private_key.pem")).unwrap(),
    )
    .unwrap();
    let mut notifications = Vec::new();
    let mut expected_fen = 0;
    for n in 0..TOP_UPS {
        let account = app
            .store
            .create_billing_account(&format!("Payer {n}"))
            .await
            .unwrap();
        let amount = Amount::from_fen(10_000 + n as i64);
        expected_fen += amount.fen();
        let top_up = app
            .store
            .open_top_up(
                &IdempotencyKey::new(format!("t{n}")).unwrap(),
                &TopUpRequest {
                    account_id: account,
                    amount,
                    method: TopUpMethod::Alipay,
                },
            )
            .await
            .unwrap();
        notifications.push(signed_notification(
            &signer,
            &top_up.reference,
            &amount.to_string(),
            n,
        ));
    }
    let port = free_port();
    let mut server = start_server(&url, port);
    wait_until_up(port).await;
    // Alipay sends everything at once (and again, concurrently); the server dies midway.
    let mut sending = Vec::new();
    for form in notifications.iter().chain(notifications.iter()).cloned() {
        sending.push(tokio::spawn(post_form(
            port,
            "/payments/alipay/notify",
            form,
        )));
    }
    // Killed as soon as the first credit is committed: the others are in flight or not yet read.
    for _ in 0..2_000 {
        if count(&app, "SELECT COUNT(*) FROM cash_receipts").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let mut answered = 0;
    for task in sending {
        if task.await.unwrap().is_some_and(|reply| reply == "success") {
            answered += 1;
        }
    }
    let credited_before_restart = count(&app, "SELECT COUNT(*) FROM cash_receipts").await;
    assert!(
        credited_before_restart > 0 && credited_before_restart < TOP_UPS as i64,
        "the kill came in the middle of the notifications ({credited_before_restart} of {TOP_UPS} credited)"
    );
    // Restarted, it receives Alipay's retries of every notification until each says success.
    let mut server = start_server(&url, port);
    wait_until_up(port).await;
    for form in &notifications {
        let reply = post_form(port, "/payments/alipay/notify", form.clone()).await;
        assert_eq!(reply.as_deref(), Some("success"), "a retried notification");
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM cash_receipts").await,
        TOP_UPS as i64,
        "each trade credited once ({answered} answered and {credited_before_restart} credited before the kill)"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM top_ups WHERE status = 'paid'").await,
        TOP_UPS as i64
    );
    assert_eq!(
        count(
            &app,
            "SELECT CAST(SUM(cash_fen) AS BIGINT) FROM billing_accounts"
        )
        .await,
        expected_fen,
        "no fen created or lost"
    );
    ledger_check(&url);
    app.finish().await;
}

on_both_databases!(
    a_settlement_killed_again_and_again_bills_every_workspace_once,
    a_server_killed_among_payment_notifications_credits_each_once,
);
