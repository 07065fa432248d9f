//! `billing-center plan`: the same contract as the API, on stdin/stdout.

use std::io::Write;
use std::process::{Command, Output, Stdio};

mod support;

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn plan_prints_the_same_json_as_the_api() {
    let request = support::example_plan_request().to_string();
    let output = run(&["plan"], request.as_bytes());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
    let cli: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let api = support::post_json("/api/v1/plan", request).await.json();
    assert_eq!(cli, api);
}

#[test]
fn invalid_input_exits_non_zero_with_one_line_on_stderr_and_nothing_on_stdout() {
    let cases: [(&[u8], &str); 5] = [
        (b"not json", "malformed JSON"),
        (br#"{"settlement":"account","at":"2026-11-23T00:00:00Z","wallet":{"cash":"1","arrears":"0"},"charges":[{"item":"gpu","amount":"1"}]}"#, "unknown variant `gpu`"),
        (br#"{"settlement":"account","at":"2026-11-23T00:00:00Z","wallet":{"cash":"1","arrears":"0"},"charges":[{"item":"logs","amount":"1.999"}]}"#, "more than 2 decimal places"),
        (br#"{"settlement":"account","at":"2026-11-23T00:00:00Z","wallet":{"cash":"2","arrears":"3"},"charges":[]}"#, "cannot both be above zero"),
        (&[0xff, 0xfe, 0x00], "UTF-8"),
    ];
    for (input, expected) in cases {
        let output = run(&["plan"], input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            output.stdout.is_empty(),
            "stdout: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_subcommand_or_flag_is_refused_with_usage() {
    let output = run(&["plna"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand 'plna'"));
    let output = run(&["plan", "--fast"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument '--fast'"));
}

#[test]
fn serve_refuses_a_bad_address_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .arg("serve")
        .env("LEPTOS_SITE_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("LEPTOS_SITE_ADDR='not-an-address'"));
}
