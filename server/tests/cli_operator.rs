//! `billing-center operator create|token|revoke-token`, run as the binary against a SQLite file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], database_url: &str, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

#[tokio::test]
async fn an_operator_is_created_from_stdin_and_gets_a_revocable_token() {
    let dir = std::env::temp_dir().join(format!(
        "billing-center-cli-operator-{}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    let url = format!("sqlite://{}/db.sqlite", dir.display());

    let created = run(
        &["operator", "create", "--username", "ops_admin"],
        &url,
        "correct horse battery\n",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("operator 'ops_admin' created"));
    let again = run(
        &["operator", "create", "--username", "ops_admin"],
        &url,
        "correct horse battery\n",
    );
    assert_eq!(
        (again.status.code(), text(&again.stderr)),
        (Some(1), "error: this username is taken".to_owned())
    );
    let weak = run(
        &["operator", "create", "--username", "ops_two"],
        &url,
        "password\n",
    );
    assert!(
        text(&weak.stderr).contains("at least 8 characters")
            || text(&weak.stderr).contains("most common")
    );
    let empty = run(&["operator", "create", "--username", "ops_two"], &url, "");
    assert_eq!(empty.status.code(), Some(1));

    let token_run = run(&["operator", "token", "--username", "ops_admin"], &url, "");
    assert!(token_run.status.success(), "{}", text(&token_run.stderr));
    let token = text(&token_run.stdout);
    assert!(token.starts_with("bco_"));
    let store = backend::Store::connect(&url).await.unwrap();
    assert_eq!(
        store
            .operator_for_token(&token)
            .await
            .unwrap()
            .unwrap()
            .username,
        "ops_admin"
    );
    let unknown = run(&["operator", "token", "--username", "nobody"], &url, "");
    assert_eq!(text(&unknown.stderr), "error: no such operator");

    let revoked = run(&["operator", "revoke-token"], &url, &format!("{token}\n"));
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert!(store.operator_for_token(&token).await.unwrap().is_none());
    let audit: Vec<String> = store
        .audit_log(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(audit, ["operator_token.revoke", "operator_token.issue"]);
    store.close().await;
    std::fs::remove_dir_all(dir).ok();
}
