//! Liveness and readiness: `/healthz` answers while the process lives; `/readyz` fails (503, saying
//! why) when the database does not answer or the scheduler stopped ticking; a server started
//! while its database is down waits for it instead of exiting.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use server::settlement::SchedulerHealth;
use support::app::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_a_stalled_scheduler_and_an_unreachable_database() {
    let mut app = TestApp::sqlite().await;
    let (status, _, body) = app.raw("GET", "/readyz", None, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\n"));
    let health = SchedulerHealth::new();
    app.settings.scheduler = Some(health.clone());
    health.record_tick();
    let (status, _, _) = app.raw("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    health.set_last_tick_seconds_ago(181);
    let (status, _, body) = app.raw("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("scheduler: no settlement tick for 18"),
        "{body}"
    );
    let (status, _, body) = app.raw("GET", "/healthz", None, None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "ok"),
        "liveness is not readiness"
    );
    health.record_tick();
    app.store.close().await;
    let (status, _, body) = app.raw("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.starts_with("database:"), "{body}");
    app.finish().await;
}

#[tokio::test]
async fn a_server_whose_database_is_down_keeps_trying_instead_of_exiting() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens on port 9 of loopback: the connection is refused at once.
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["serve"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:9/none")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server exited instead of waiting for its database"
    );
    // Meanwhile its port answers at once: alive, not ready.
    let healthz = get(port, "/healthz");
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    assert!(healthz.ends_with("ok"), "{healthz}");
    let readyz = get(port, "/readyz");
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    assert!(readyz.contains("database: not reachable yet"), "{readyz}");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.matches("cannot be reached").count() >= 2,
        "it says so, again and again: {stderr}"
    );
}

/// A GET over a plain socket, answered within 5 s: the whole answer, head and body.
fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
