//! A real SMTP server for a test: `scripts/smtp-sink.py` (aiosmtpd) in a process of its own,
//! which writes every accepted message as JSON into a directory of the test's. The test can stop
//! it (the mail server is down) and start it again on the same port.
//!
//! The Python with aiosmtpd is `BILLING_TEST_SMTP_PYTHON`, or `.tools/smtp/bin/python` that
//! `scripts/bootstrap.sh --test` makes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// A message as the mail server received it, decoded.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Received {
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }

    /// The first link in the plain text that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text().find(prefix)?;
        let rest = &self.text()[start..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    if let Ok(python) = std::env::var("BILLING_TEST_SMTP_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = root().join(".tools/smtp/bin/python");
    assert!(
        venv.exists(),
        "no Python with aiosmtpd for the SMTP test server: run scripts/bootstrap.sh --test \
         (or set BILLING_TEST_SMTP_PYTHON)"
    );
    venv
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "billing-center-smtp-{}-{}-{n}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ));
        let mut sink = SmtpSink {
            child: None,
            port: 0,
            dir,
        };
        sink.spawn();
        sink
    }

    fn spawn(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut child = Command::new(python())
                .arg(root().join("scripts/smtp-sink.py"))
                .arg("--dir")
                .arg(&self.dir)
                .arg("--port")
                .arg(self.port.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the SMTP test server starts");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .ok();
            if let Some(port) = line.trim().strip_prefix("listening on ") {
                self.port = port.parse().unwrap();
                self.child = Some(child);
                return;
            }
            // The port of a server just stopped may not be free yet.
            child.kill().ok();
            child.wait().ok();
            assert!(
                Instant::now() < deadline,
                "the SMTP test server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `smtp://127.0.0.1:PORT`, as `SMTP_URL` takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The mail server goes down: connections to its port are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// The mail server comes back on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Every message received so far, in the order received.
    pub fn messages(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && !p.file_name().unwrap().to_string_lossy().starts_with('.')
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// The messages once at least `count` have arrived (panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} messages, got {}: {:?}",
                messages.len(),
                messages.iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
