//! `billing-center serve --demo`: the demo data is added once and the sign-in is printed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn serve_demo(url: &str, port: u16) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["serve", "--demo"])
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("SETTLEMENT_SCHEDULER", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("Demo data:"))
        .unwrap_or_default();
    child.kill().ok();
    child.wait().ok();
    line
}

#[tokio::test]
async fn serve_demo_adds_settled_demo_data_once_and_says_how_to_sign_in() {
    let path = std::env::temp_dir()
        .join("billing-center-tests")
        .join(format!("demo-{}.db", std::process::id()));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let url = format!("sqlite://{}", path.display());
    let port = 3400 + (std::process::id() % 500) as u16;
    let line = serve_demo(&url, port);
    assert_eq!(
        line,
        format!(
            "Demo data: sign in at http://127.0.0.1:{port}/signin as 'demo' with the password 'billing-center-demo'"
        )
    );
    assert!(
        serve_demo(&url, port).starts_with("Demo data:"),
        "a second start keeps it"
    );
    let store = backend::Store::open(&url).await.unwrap();
    let bills: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bills")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(bills, 120, "60 days of two workspaces, once");
    let customer = store.customer_by_username("demo").await.unwrap();
    let account = store.account(customer.billing_account_id).await.unwrap();
    assert!(
        account.instruments.len() >= 2,
        "a voucher and a prepaid card"
    );
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }
}
