//! A thousand malformed requests to every endpoint of the API, signed in and not: bodies that are
//! not JSON or not the right JSON, query strings with unknown, repeated or impossible parameters,
//! paths that cannot be read, methods an endpoint does not take. Every answer is a 4xx in the API's
//! error shape, and nothing in the database changes.

mod support;

use axum::http::StatusCode;
use serde_json::Value;
use support::app::{TestApp, cookie};

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Caller {
    Anonymous,
    Customer,
    Operator,
    Workspace,
}

/// Every endpoint with a body worth garbling, as (method, path, caller).
const WITH_BODY: &[(&str, &str, Caller)] = &[
    ("POST", "/api/v1/plan", Caller::Anonymous),
    ("POST", "/api/v1/accounts", Caller::Anonymous),
    ("POST", "/api/v1/session", Caller::Anonymous),
    ("POST", "/api/v1/prepaid-cards", Caller::Customer),
    ("POST", "/api/v1/vouchers/activate", Caller::Customer),
    ("POST", "/api/v1/topups", Caller::Customer),
    ("POST", "/api/v1/workspaces", Caller::Customer),
    ("POST", "/api/v1/usage", Caller::Workspace),
    ("POST", "/api/v1/ops/settlements", Caller::Operator),
    ("POST", "/api/v1/ops/usage/void", Caller::Operator),
    ("POST", "/api/v1/ops/bank-transfers", Caller::Operator),
    ("POST", "/api/v1/ops/vouchers", Caller::Operator),
    ("POST", "/api/v1/ops/prepaid-cards", Caller::Operator),
];

/// Every GET endpoint, and whether it reads a query string (one that does refuses every bad one;
/// one that does not may ignore it, but never answers outside the contract).
const GETS: &[(&str, Caller, bool)] = &[
    ("/api/v1/me", Caller::Customer, false),
    ("/api/v1/wallet", Caller::Customer, false),
    ("/api/v1/movements", Caller::Customer, true),
    ("/api/v1/vouchers", Caller::Customer, true),
    ("/api/v1/prepaid-cards", Caller::Customer, true),
    ("/api/v1/topups", Caller::Customer, false),
    ("/api/v1/workspaces", Caller::Customer, false),
    ("/api/v1/bills", Caller::Customer, true),
    ("/api/v1/consumption", Caller::Customer, true),
    ("/api/v1/transactions", Caller::Customer, true),
    ("/api/v1/ops/audit", Caller::Operator, true),
    ("/api/v1/ops/settlements", Caller::Operator, false),
    ("/api/v1/ops/tokens", Caller::Operator, false),
];

/// Bodies no endpoint takes.
fn bad_bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "",
        "{",
        "}",
        "null",
        "true",
        "0",
        "[]",
        "\"text\"",
        "{\"unknown_field\": 1}",
        "{\"amount\": 12.5, \"method\": \"alipay\"}",
        "{\"amount\": \"-1.00\", \"method\": \"alipay\"}",
        "{\"amount\": \"1e9\", \"denomination\": \"1e400\"}",
        "{\"day\": \"-2026-01-01\"}",
        "{\"day\": \"2026-02-30\"}",
        "{\"records\": [{\"id\": 1}]}",
        "{\"records\": \"none\"}",
        "{\"workspace_id\": null, \"record_id\": [], \"reason\": {}}",
        "{\"code\": \"\\u0000\"}",
        "{\"account\": \"nobody\", \"amount\": \"99999999999999999999.00\", \"reference\": \"x\"}",
        "{\"username\": \"\", \"password\": \"\"}",
        "{\"login\": 7, \"password\": false}",
        "{\"a\": 1, \"a\": 2}",
        "\u{feff}{}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bodies.push(vec![0xff, 0xfe, 0x00, 0x7b]);
    bodies.push("[".repeat(5_000).into_bytes());
    bodies.push(format!("{{\"name\": \"{}\"}}", "x".repeat(200_000)).into_bytes());
    let mut seed: u64 = 0x5eed;
    for _ in 0..24 {
        let bytes = (0..64)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (seed >> 33) as u8
            })
            .collect();
        bodies.push(bytes);
    }
    bodies
}

/// Query strings no list takes.
const BAD_QUERIES: &[&str] = &[
    "unknown=1",
    "page=0",
    "page=-1",
    "page=1&page=2",
    "per_page=100000",
    "per_page=abc",
    "from=-2026-01-01",
    "from=2026-13-01",
    "to=2026-01-01&from=2026-02-01",
    "format=xml",
    "month=-2026-01",
    "%FF=1",
    "limit=99999999999999999999",
    "account=%00",
    "workspace=a&workspace=b",
];

/// Paths that cannot be read, and paths outside the API's router.
const BAD_PATHS: &[(&str, &str)] = &[
    ("GET", "/api/v1/topups/%FF"),
    ("GET", "/api/v1/topups/99999999999999999999999"),
    ("GET", "/api/v1/topups/-1"),
    ("GET", "/api/v1/accounts/%00"),
    ("POST", "/api/v1/workspaces/%FF%FE/key"),
    ("DELETE", "/api/v1/ops/tokens/abc"),
    ("POST", "/api/v1/"),
    ("GET", "/api/v1"),
    ("GET", "/api/v1/no-such-thing"),
    ("GET", "/api/v2/wallet"),
];

/// Methods the endpoints do not take.
const WRONG_METHODS: &[&str] = &["PUT", "PATCH", "DELETE"];

/// What the database holds that a refused request must not change.
async fn fingerprint(app: &TestApp) -> Vec<(String, i64)> {
    let mut all = Vec::new();
    for table in [
        "ledger_transactions",
        "postings",
        "billing_accounts",
        "customers",
        "instruments",
        "activation_codes",
        "top_ups",
        "cash_receipts",
        "workspaces",
        "usage_records",
        "bills",
        "monthly_bills",
        "idempotency_keys",
        "operator_tokens",
        "settlement_runs",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(app.store.pool())
            .await
            .unwrap_or(-1);
        all.push((table.to_owned(), count));
    }
    let cash: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(cash_fen - arrears_fen), 0) AS BIGINT) FROM billing_accounts",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    all.push(("net cash".into(), cash));
    all
}

fn assert_refused(
    method: &str,
    uri: &str,
    status: StatusCode,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) {
    assert!(
        status.is_client_error(),
        "{method} {uri}: {status} {}",
        String::from_utf8_lossy(body)
    );
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{method} {uri}: {status} {content_type} {}",
        String::from_utf8_lossy(body)
    );
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        panic!(
            "{method} {uri}: not JSON: {}",
            String::from_utf8_lossy(body)
        )
    });
    let code = json["error"]["code"].as_str().unwrap_or("");
    let message = json["error"]["message"].as_str().unwrap_or("");
    assert!(
        !code.is_empty() && !message.is_empty(),
        "{method} {uri}: {json}"
    );
}

async fn malformed_requests_get_json_refusals_and_change_nothing(app: TestApp) {
    let signed_up = app.sign_up("alice").await;
    let session = cookie(&signed_up.session_cookie().unwrap());
    let csrf = signed_up.body["csrf_token"].as_str().unwrap().to_owned();
    let account = app
        .store
        .customer_by_username("alice")
        .await
        .unwrap()
        .billing_account_id;
    let workspace_key = app
        .store
        .bind_workspace(account, "ws-hostile", "Hostile", None)
        .await
        .unwrap()
        .api_key;
    let operator = app
        .store
        .create_operator("ops_hostile", "correct horse battery")
        .await
        .unwrap();
    let operator_token = format!(
        "Bearer {}",
        app.store
            .issue_operator_token(&operator, "test")
            .await
            .unwrap()
    );
    let workspace_auth = format!("Bearer {workspace_key}");
    let headers_of = |caller: Caller| -> Vec<(&str, String)> {
        match caller {
            Caller::Anonymous => vec![],
            Caller::Customer => vec![("cookie", session.clone()), ("x-csrf-token", csrf.clone())],
            Caller::Operator => vec![("authorization", operator_token.clone())],
            Caller::Workspace => vec![("authorization", workspace_auth.clone())],
        }
    };
    let before = fingerprint(&app).await;
    let mut sent = 0;
    let send = |method: &'static str,
                uri: String,
                body: Vec<u8>,
                caller: Caller,
                content_type: &'static str| {
        let headers = headers_of(caller);
        let app = &app;
        async move {
            let mut all: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if !content_type.is_empty() {
                all.push(("content-type", content_type));
            }
            let (status, headers, body) = app.send_bytes(method, &uri, body, &all).await;
            // A usage report refuses record by record: 200 with every record refused.
            if uri == "/api/v1/usage" && status == StatusCode::OK {
                let report: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(report["accepted"], 0, "{report}");
                return;
            }
            assert_refused(method, &uri, status, &headers, &body);
        }
    };
    for (method, path, caller) in WITH_BODY {
        for body in bad_bodies() {
            send(
                method,
                (*path).to_owned(),
                body.clone(),
                *caller,
                "application/json",
            )
            .await;
            sent += 1;
        }
        // The right JSON as the wrong media type.
        send(
            method,
            (*path).to_owned(),
            b"{}".to_vec(),
            *caller,
            "text/plain",
        )
        .await;
        send(
            method,
            (*path).to_owned(),
            b"a=1".to_vec(),
            *caller,
            "application/x-www-form-urlencoded",
        )
        .await;
        sent += 2;
        for wrong in WRONG_METHODS {
            if *path == "/api/v1/session" && *wrong == "DELETE" {
                continue; // DELETE /session is sign-out.
            }
            send(wrong, (*path).to_owned(), Vec::new(), *caller, "").await;
            sent += 1;
        }
    }
    for (path, caller, takes_query) in GETS {
        for query in BAD_QUERIES {
            let uri = format!("{path}?{query}");
            let headers = headers_of(*caller);
            let all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, response_headers, body) =
                app.send_bytes("GET", &uri, Vec::new(), &all).await;
            sent += 1;
            if status.is_success() && !takes_query {
                continue;
            }
            assert_refused("GET", &uri, status, &response_headers, &body);
        }
        for wrong in ["POST", "PUT", "PATCH"] {
            if (*path == "/api/v1/prepaid-cards"
                || *path == "/api/v1/topups"
                || *path == "/api/v1/workspaces"
                || *path == "/api/v1/ops/settlements")
                && wrong == "POST"
            {
                continue; // These take POST (garbled above).
            }
            send(wrong, (*path).to_owned(), Vec::new(), *caller, "").await;
            sent += 1;
        }
    }
    for (method, path) in BAD_PATHS {
        for caller in [Caller::Anonymous, Caller::Customer, Caller::Operator] {
            send(method, (*path).to_owned(), Vec::new(), caller, "").await;
            sent += 1;
        }
    }
    // Every endpoint without credentials, and with credentials of the wrong kind.
    for (method, path, caller) in WITH_BODY {
        if matches!(caller, Caller::Anonymous) {
            continue;
        }
        for wrong in [
            Caller::Anonymous,
            Caller::Workspace,
            Caller::Customer,
            Caller::Operator,
        ] {
            if std::mem::discriminant(&wrong) == std::mem::discriminant(caller) {
                continue;
            }
            send(
                method,
                (*path).to_owned(),
                b"{}".to_vec(),
                wrong,
                "application/json",
            )
            .await;
            sent += 1;
        }
    }
    assert!(sent >= 1_000, "{sent} requests sent");
    assert_eq!(
        fingerprint(&app).await,
        before,
        "a refused request changed nothing"
    );
    app.finish().await;
}

on_both_databases!(malformed_requests_get_json_refusals_and_change_nothing);
