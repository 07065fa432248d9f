//! `billing-center settle` and `billing-center expire`, run as the binary: a day that could not be
//! billed whole is a failure a cron job sees (exit 1), and `expire` sweeps what ran out into
//! breakage.

use std::process::{Command, Output};

use backend::IdempotencyKey;
use backend::cash::{CashCredit, CashSource};
use billing::Amount;
use chrono::Duration;

fn run(args: &[&str], database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn store(name: &str) -> (backend::Store, String, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("billing-center-cli-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let store = backend::Store::open(&url).await.unwrap();
    (store, url, dir)
}

async fn funded(store: &backend::Store) -> i64 {
    let account = store.create_billing_account("Acme").await.unwrap();
    store
        .credit_cash(
            &IdempotencyKey::new("fund").unwrap(),
            &CashCredit {
                account_id: account,
                amount: Amount::from_yuan(100),
                source: CashSource::BankTransfer,
                reference: "FUND-1".into(),
            },
        )
        .await
        .unwrap();
    account
}

#[tokio::test]
async fn settle_exits_non_zero_when_a_workspace_could_not_be_billed() {
    let (store, url, dir) = store("settle-incomplete").await;
    let account = funded(&store).await;
    let day = store.today() - Duration::days(2);
    for id in ["ws-ok", "ws-blocked"] {
        store.bind_workspace(account, id, id, None).await.unwrap();
    }
    // One ordinary record, and one no bill line could hold (what a database from before the
    // ingest check may still have).
    for (ws, quantity) in [("ws-ok", "1"), ("ws-blocked", "900000000000000")] {
        sqlx::query(
            "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, quantity, received_at) \
             VALUES ($1, 'r1', $2, 'network', $3, 0)",
        )
        .bind(ws)
        .bind(day.to_string())
        .bind(quantity)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let settled = run(&["settle", "--day", &day.to_string()], &url);
    assert_eq!(settled.status.code(), Some(1), "{}", text(&settled.stderr));
    let report: serde_json::Value = serde_json::from_slice(&settled.stdout).unwrap();
    assert_eq!(report["status"], "incomplete", "{report}");
    assert_eq!(report["bills_charged"], 1, "the other workspace is billed");
    assert_eq!(report["failures"][0]["workspace_id"], "ws-blocked");
    assert_eq!(
        store.account(account).await.unwrap().cash,
        Amount::from_yuan(98)
    );
    store.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn expire_sweeps_what_ran_out_into_breakage() {
    let (store, url, dir) = store("expire").await;
    let account = funded(&store).await;
    let now = store.now();
    store
        .issue_voucher(
            &IdempotencyKey::new("v1").unwrap(),
            &backend::vouchers::VoucherIssue {
                account_id: account,
                face_value: Amount::from_yuan(50),
                validity: billing::wallet_rules::VoucherValidity::Fixed {
                    valid_from: now - Duration::days(30),
                    valid_until: now + Duration::milliseconds(500),
                },
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let swept = run(&["expire"], &url);
    assert!(swept.status.success(), "{}", text(&swept.stderr));
    let sweep: serde_json::Value = serde_json::from_slice(&swept.stdout).unwrap();
    assert_eq!(
        sweep["expired"].as_array().map(Vec::len),
        Some(1),
        "{sweep}"
    );
    let breakage: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM postings WHERE ledger_account = 'breakage'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(breakage, 5_000, "the voucher's 50.00 went to breakage");
    let again = run(&["expire"], &url);
    assert!(again.status.success());
    let sweep: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(sweep["expired"], serde_json::json!([]), "nothing twice");
    let checked = run(&["ledger", "check"], &url);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    store.close().await;
    std::fs::remove_dir_all(&dir).ok();
}
