//! Two `billing-center serve` processes on one PostgreSQL database, and eight customers working at
//! once over HTTP against either of them: bank-transfer top-ups recorded by an operator, prepaid
//! card purchases (the same Idempotency-Key sent to both servers at once), code activations
//! (each code raced by two customers), usage reports and the settlement of the day asked of both
//! servers at once. Afterwards every rule holds: one card per key, one redemption per code, one
//! bill per workspace, and `ledger check` is clean.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const CUSTOMERS: usize = 8;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["serve"])
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("SETTLEMENT_SCHEDULER", "off")
        .env("SIGN_UPS_PER_HOUR", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_until_up(client: &reqwest::Client, port: u16) {
    for _ in 0..300 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server on port {port} did not get ready");
}

struct Caller {
    cookie: String,
    csrf: String,
    username: String,
}

async fn call(
    client: &reqwest::Client,
    port: u16,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, String)],
) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{port}/api/v1{path}");
    let mut request = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn as_customer(caller: &Caller) -> Vec<(&'static str, String)> {
    vec![
        ("cookie", caller.cookie.clone()),
        ("x-csrf-token", caller.csrf.clone()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_customers_on_two_servers_keep_every_rule() {
    let app = support::app::TestApp::postgres().await;
    let url = app.database_url().unwrap();
    let ports = [free_port(), free_port()];
    let mut servers: Vec<Child> = ports.iter().map(|p| start_server(&url, *p)).collect();
    let client = reqwest::Client::new();
    for port in ports {
        wait_until_up(&client, port).await;
    }
    let operator = app
        .store
        .create_operator("ops_two", "correct horse battery")
        .await
        .unwrap();
    let ops = vec![(
        "authorization",
        format!(
            "Bearer {}",
            app.store
                .issue_operator_token(&operator, "test")
                .await
                .unwrap()
        ),
    )];
    // Codes for the customers to race for: 4 codes of 20.00, 8 customers.
    let (status, codes) = call(
        &client,
        ports[0],
        "POST",
        "/ops/vouchers",
        Some(json!({"face_value": "20.00", "valid_days": 30, "count": 4})),
        &ops,
    )
    .await;
    assert_eq!(status, 201, "{codes}");
    let codes: Vec<String> = codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    let mut callers = Vec::new();
    for n in 0..CUSTOMERS {
        let username = format!("racer{n}");
        let response = client
            .post(format!("http://127.0.0.1:{}/api/v1/accounts", ports[n % 2]))
            .header("content-type", "application/json")
            .body(
                json!({"username": username, "email": format!("{username}@example.com"),
                    "password": "correct horse battery"})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let cookie = response
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        callers.push(Caller {
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
            username,
        });
    }
    let yesterday = app.store.today().pred_opt().unwrap().to_string();

    let mut work = Vec::new();
    for (n, caller) in callers.into_iter().enumerate() {
        let client = client.clone();
        let ops = ops.clone();
        let codes = codes.clone();
        let yesterday = yesterday.clone();
        work.push(tokio::spawn(async move {
            let (mine, other) = (ports[n % 2], ports[(n + 1) % 2]);
            let headers = as_customer(&caller);
            // A bank-transfer top-up of 1,000.00, recorded by the operator on the other server.
            let (status, top_up) = call(
                &client,
                mine,
                "POST",
                "/topups",
                Some(json!({"amount": "1000.00", "method": "bank_transfer"})),
                &headers,
            )
            .await;
            assert_eq!(status, 201, "{top_up}");
            let reference = top_up["reference"].as_str().unwrap().to_owned();
            let record = json!({"account": caller.username, "amount": "1000.00", "reference": reference});
            let (a, b) = tokio::join!(
                call(&client, other, "POST", "/ops/bank-transfers", Some(record.clone()), &ops),
                call(&client, mine, "POST", "/ops/bank-transfers", Some(record), &ops),
            );
            assert!(
                [a.0, b.0].contains(&201),
                "one of two racing records credits: {a:?} {b:?}"
            );
            // One card bought with one key, sent to both servers at once.
            let mut keyed = headers.clone();
            keyed.push(("idempotency-key", format!("card-{n}")));
            let card = json!({"denomination": "300"});
            let (a, b) = tokio::join!(
                call(&client, mine, "POST", "/prepaid-cards", Some(card.clone()), &keyed),
                call(&client, other, "POST", "/prepaid-cards", Some(card), &keyed),
            );
            assert_eq!((a.0, b.0), (201, 201), "both answers are the one purchase: {a:?} {b:?}");
            assert_eq!(a.1["card"]["number"], b.1["card"]["number"]);
            // Two customers race for each code.
            let code = &codes[n / 2];
            let (status, _) = call(
                &client,
                other,
                "POST",
                "/vouchers/activate",
                Some(json!({"code": code})),
                &headers,
            )
            .await;
            assert!(matches!(status, 200 | 201 | 409 | 422), "activation answered {status}");
            // A workspace reports yesterday's usage.
            let (status, bound) = call(
                &client,
                mine,
                "POST",
                "/workspaces",
                Some(json!({"workspace_id": format!("ws-racer-{n}"), "name": "w"})),
                &headers,
            )
            .await;
            assert_eq!(status, 201, "{bound}");
            let key = bound["api_key"].as_str().unwrap().to_owned();
            let (status, reported) = call(
                &client,
                other,
                "POST",
                "/usage",
                Some(json!({"records": [{"id": "r1", "item": "network", "quantity": "5", "day": yesterday}]})),
                &[("authorization", format!("Bearer {key}"))],
            )
            .await;
            assert_eq!((status, reported["accepted"].clone()), (200, json!(1)), "{reported}");
        }));
    }
    for task in work {
        task.await.unwrap();
    }
    // Both servers are asked to settle the day at once.
    let settle = json!({"day": yesterday});
    let (a, b) = tokio::join!(
        call(
            &client,
            ports[0],
            "POST",
            "/ops/settlements",
            Some(settle.clone()),
            &ops
        ),
        call(
            &client,
            ports[1],
            "POST",
            "/ops/settlements",
            Some(settle.clone()),
            &ops
        ),
    );
    assert_eq!((a.0, b.0), (200, 200));
    let (_, again) = call(
        &client,
        ports[0],
        "POST",
        "/ops/settlements",
        Some(settle),
        &ops,
    )
    .await;
    assert!(
        matches!(
            again["status"].as_str(),
            Some("settled" | "already_settled")
        ),
        "{again}"
    );
    for server in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }

    let count = |sql: &'static str| {
        let store = app.store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(store.pool())
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM cash_receipts").await,
        CUSTOMERS as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM instruments WHERE kind = 'prepaid_card'").await,
        CUSTOMERS as i64,
        "one card per key"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM activation_codes WHERE redeemed_by IS NOT NULL").await,
        4,
        "each code redeemed once"
    );
    assert_eq!(count("SELECT COUNT(*) FROM bills").await, CUSTOMERS as i64);
    // 1,000.00 in, 300.00 into a card, 10.00 of network billed (5 hosts at 2.00) to each.
    assert_eq!(
        count("SELECT CAST(SUM(cash_fen) AS BIGINT) FROM billing_accounts").await,
        CUSTOMERS as i64 * (100_000 - 30_000)
            + count(
                "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) FROM postings p JOIN ledger_transactions t \
                 ON t.id = p.transaction_id WHERE p.ledger_account = 'customer_cash' AND t.kind = 'bill_charge'"
            )
            .await,
        "cash is what came in, less the cards, less what bills took from cash"
    );
    let check = Command::new(env!("CARGO_BIN_EXE_billing-center"))
        .args(["ledger", "check"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    app.finish().await;
}
