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

#[tokio::test]
async fn tokens_expire_are_listed_and_revoked_by_id_and_operators_are_disabled() {
    let dir = std::env::temp_dir().join(format!(
        "billing-center-cli-operator-tokens-{}",
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

    // A bad lifetime is a usage error: exit 2, naming the flag and the range.
    for bad in ["0", "366", "soon"] {
        let refused = run(&["operator", "token", "ops_admin", "--days", bad], &url, "");
        assert_eq!(refused.status.code(), Some(2), "--days {bad}");
        let message = text(&refused.stderr);
        assert!(message.contains("--days"), "{message}");
        assert!(bad == "soon" || message.contains("1..=365"), "{message}");
        assert!(text(&refused.stdout).is_empty());
    }
    let store = backend::Store::connect(&url).await.unwrap();
    assert!(store.audit_log(None, 10).await.unwrap().is_empty());

    // USERNAME positional (or --username), 90 days by default.
    let default = run(&["operator", "token", "ops_admin"], &url, "");
    assert!(default.status.success(), "{}", text(&default.stderr));
    let default = text(&default.stdout);
    let short = run(&["operator", "token", "ops_admin", "--days", "7"], &url, "");
    assert!(short.status.success(), "{}", text(&short.stderr));
    assert!(
        text(&short.stderr).starts_with("token 2 for 'ops_admin', expires "),
        "{}",
        text(&short.stderr)
    );
    let short = text(&short.stdout);
    assert!(
        short.starts_with("bco_") && !short.contains('\n'),
        "stdout is the token alone"
    );
    let tokens = store
        .operator_tokens(store.operator_by_username("ops_admin").await.unwrap().id)
        .await
        .unwrap();
    assert_eq!(
        tokens
            .iter()
            .map(|t| (t.expires_at - t.created_at).num_days())
            .collect::<Vec<_>>(),
        [7, 90]
    );
    assert!(store.operator_for_token(&default).await.unwrap().is_some());

    let listed = run(&["operator", "tokens", "ops_admin"], &url, "");
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listed = text(&listed.stdout);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(
        lines[0].starts_with("id")
            && lines[0].contains("expires")
            && lines[0].contains("last used")
    );
    assert!(
        lines[1].starts_with("2 ") && lines[1].ends_with("active"),
        "{listed}"
    );
    assert!(!listed.contains(&short[4..]) && !listed.contains(&default[4..]));

    let revoked = run(&["operator", "revoke-token", "--id", "2"], &url, "");
    assert_eq!(text(&revoked.stdout), "token 2 revoked");
    let again = run(&["operator", "revoke-token", "--id", "2"], &url, "");
    assert_eq!(
        (again.status.code(), text(&again.stdout)),
        (Some(0), "token 2 was already revoked".to_owned())
    );
    let unknown = run(&["operator", "revoke-token", "--id", "99"], &url, "");
    assert_eq!(
        (unknown.status.code(), text(&unknown.stderr)),
        (Some(1), "error: no such token".to_owned())
    );
    assert!(store.operator_for_token(&short).await.unwrap().is_none());
    let listed = text(&run(&["operator", "tokens", "ops_admin"], &url, "").stdout);
    assert!(
        listed.lines().nth(1).unwrap().ends_with("revoked"),
        "{listed}"
    );

    let disabled = run(&["operator", "disable", "ops_admin"], &url, "");
    assert_eq!(
        text(&disabled.stdout),
        "operator 'ops_admin' disabled: 0 sessions ended, 1 tokens revoked"
    );
    assert!(store.operator_for_token(&default).await.unwrap().is_none());
    let refused = run(&["operator", "token", "ops_admin"], &url, "");
    assert_eq!(
        (refused.status.code(), text(&refused.stderr)),
        (Some(1), "error: this operator is disabled".to_owned())
    );
    assert!(
        text(&run(&["operator", "tokens", "ops_admin"], &url, "").stdout)
            .starts_with("operator 'ops_admin' is disabled since ")
    );
    assert_eq!(
        text(&run(&["operator", "disable", "ops_admin"], &url, "").stdout),
        "operator 'ops_admin' was already disabled"
    );
    let enabled = run(&["operator", "enable", "--username", "ops_admin"], &url, "");
    assert!(text(&enabled.stdout).starts_with("operator 'ops_admin' enabled"));
    assert!(store.operator_for_token(&default).await.unwrap().is_none());
    let missing = run(&["operator", "disable", "nobody"], &url, "");
    assert_eq!(text(&missing.stderr), "error: no such operator");

    let mut log = store.audit_log(None, 20).await.unwrap();
    log.reverse();
    let rows: Vec<(String, String)> = log.into_iter().map(|r| (r.action, r.client)).collect();
    let expected = [
        "operator_token.issue",
        "operator_token.issue",
        "operator_token.revoke",
        "operator.disable",
        "operator.enable",
    ]
    .map(|a| (a.to_owned(), "cli".to_owned()));
    assert_eq!(
        rows, expected,
        "each action audited once, by the command line"
    );
    store.close().await;
    std::fs::remove_dir_all(dir).ok();
}
