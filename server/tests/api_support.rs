//! Black-box: the support center, the attachment store and change binding over HTTP (issue 18),
//! on both databases. Uploads are checked by content and size; downloads go only to the ticket's
//! account and operators, as attachments that are never sniffed; another account's ticket or file
//! gets exactly the answer a missing one gets; an operator takes and answers a ticket from the
//! work queue; a workspace moves between two accounts of one verified enterprise.

mod support;

use axum::http::StatusCode;
use backend::console::{ConsoleClaims, ConsoleKey, ConsoleRole};
use backend::enterprise::{EnterpriseSubmission, Review};
use serde_json::{Value, json};
use support::app::{Customer, TestApp};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a receipt";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0\xB8\0";

async fn upload(app: &TestApp, who: &Customer, name: &str, content: &[u8]) -> (StatusCode, Value) {
    let (status, _, body) = app
        .send_bytes(
            "POST",
            &format!("/api/v1/attachments?file_name={name}"),
            content.to_vec(),
            &[
                ("cookie", who.cookie.as_str()),
                ("x-csrf-token", who.csrf.as_str()),
                ("content-type", "application/octet-stream"),
            ],
        )
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn tickets_and_files_over_http(app: TestApp) {
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;

    // Uploads: a PNG; a renamed executable, an empty body and 8 MB + 1 refused; CSRF needed.
    let (status, receipt) = upload(&app, &alice, "receipt.png", PNG).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["kind"], "png");
    let (status, body) = upload(&app, &alice, "receipt.png", EXE).await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment_type_refused",
            Some("file")
        )
    );
    let (status, body) = upload(&app, &alice, "empty.txt", b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "attachment_empty")
    );
    let mut huge = b"%PDF-1.7".to_vec();
    huge.resize(8 * 1024 * 1024 + 1, b' ');
    let (status, body) = upload(&app, &alice, "big.pdf", &huge).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "attachment_too_large")
    );
    huge.resize(9 * 1024 * 1024, b' ');
    let (status, body) = upload(&app, &alice, "bigger.pdf", &huge).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "attachment_too_large")
    );
    let (status, _, _) = app
        .send_bytes(
            "POST",
            "/api/v1/attachments?file_name=x.png",
            PNG.to_vec(),
            &[("cookie", alice.cookie.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A ticket with the receipt.
    let opened = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/tickets",
            Some(json!({"type": "payment", "title": "Top-up not credited",
                "description": "Paid ¥500 at 10:02.", "attachments": [receipt["id"]]})),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let id = opened.body["ticket"]["id"].as_i64().unwrap();
    assert_eq!(opened.body["ticket"]["state"], "open");
    assert_eq!(opened.body["ticket"]["type"], "payment");
    let bad = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/tickets",
            Some(json!({"type": "refund", "title": "x", "description": "y"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let listed = app
        .as_customer(
            &alice,
            "GET",
            "/api/v1/tickets?state=open&type=payment&q=credited",
            None,
        )
        .await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
    let wrong = app
        .as_customer(&alice, "GET", "/api/v1/tickets?state=lost", None)
        .await;
    assert_eq!(
        (wrong.status, code(&wrong.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );

    // The file goes back to Alice as a download, never rendered, never sniffed.
    let receipt_id = receipt["id"].as_i64().unwrap();
    let (status, headers, bytes) = app
        .send_bytes(
            "GET",
            &format!("/api/v1/attachments/{receipt_id}"),
            vec![],
            &[("cookie", alice.cookie.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"receipt.png\""),
        "{disposition}"
    );

    // Bob gets for Alice's ticket and file exactly what he gets for ones that do not exist.
    for (theirs, missing) in [
        (
            format!("/api/v1/tickets/{id}"),
            "/api/v1/tickets/999999".to_owned(),
        ),
        (
            format!("/api/v1/attachments/{receipt_id}"),
            "/api/v1/attachments/999999".to_owned(),
        ),
    ] {
        let a = app.as_customer(&bob, "GET", &theirs, None).await;
        let b = app.as_customer(&bob, "GET", &missing, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!((a.status, &a.body), (b.status, &b.body));
    }
    let reply = app
        .as_customer(
            &bob,
            "POST",
            &format!("/api/v1/tickets/{id}/replies"),
            Some(json!({"body": "me too"})),
        )
        .await;
    assert_eq!(code(&reply.body), "ticket_not_found");

    // An operator takes it from the queue and answers; Alice sees the answer.
    let operator = app
        .store
        .create_operator("ops_li", "correct horse battery")
        .await
        .unwrap();
    let token = app
        .store
        .issue_operator_token_for(&operator, 30, backend::auth::operators::CLI)
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token.token);
    let ops = [("authorization", bearer.as_str())];
    let queue = app
        .call("GET", "/api/v1/ops/queue", None, &ops, "10.0.0.2")
        .await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert_eq!(queue.body["unassigned_tickets"][0]["id"], id);
    let taken = app
        .call(
            "POST",
            &format!("/api/v1/ops/tickets/{id}/assign"),
            Some(json!({})),
            &ops,
            "10.0.0.2",
        )
        .await;
    assert_eq!(
        taken.body["ticket"]["state"], "in_progress",
        "{}",
        taken.body
    );
    let (status, _, licence) = app
        .send_bytes(
            "GET",
            &format!("/api/v1/ops/attachments/{receipt_id}"),
            vec![],
            &ops,
        )
        .await;
    assert_eq!((status, licence.as_slice()), (StatusCode::OK, PNG));
    let answered = app
        .call(
            "POST",
            &format!("/api/v1/ops/tickets/{id}/replies"),
            Some(json!({"body": "Credited now."})),
            &ops,
            "10.0.0.2",
        )
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let seen = app
        .as_customer(&alice, "GET", &format!("/api/v1/tickets/{id}"), None)
        .await;
    assert_eq!(seen.body["ticket"]["state"], "replied");
    assert_eq!(seen.body["messages"][1]["body"], "Credited now.");
    assert!(seen.body["messages"][1].get("operator").is_none());

    // Closed by Alice, rated once; then nothing more.
    let closed = app
        .as_customer(&alice, "POST", &format!("/api/v1/tickets/{id}/close"), None)
        .await;
    assert_eq!(closed.body["ticket"]["state"], "closed");
    let rated = app
        .as_customer(
            &alice,
            "POST",
            &format!("/api/v1/tickets/{id}/rating"),
            Some(json!({"rating": 4})),
        )
        .await;
    assert_eq!(rated.body["ticket"]["rating"], 4);
    let again = app
        .as_customer(
            &alice,
            "POST",
            &format!("/api/v1/tickets/{id}/rating"),
            Some(json!({"rating": 5})),
        )
        .await;
    assert_eq!(
        (again.status, code(&again.body)),
        (StatusCode::CONFLICT, "ticket_already_rated")
    );
    let late = app
        .call(
            "POST",
            &format!("/api/v1/ops/tickets/{id}/replies"),
            Some(json!({"body": "One more thing."})),
            &ops,
            "10.0.0.2",
        )
        .await;
    assert_eq!(
        (late.status, code(&late.body)),
        (StatusCode::CONFLICT, "ticket_state_conflict")
    );
    app.finish().await;
}

async fn change_binding_over_http(app: TestApp) {
    const KEY: &str = "the console's signing key, 32 bytes or more";
    let key = ConsoleKey::from_text(KEY).unwrap();
    let mut app = app;
    app.store = app.store.clone().with_console_key(Some(key.clone()), true);
    let owner_token = |app: &TestApp| {
        key.sign(&ConsoleClaims::new(
            "console-user-1",
            "ws-prod",
            ConsoleRole::Owner,
            app.store.now(),
            600,
        ))
    };
    let alice = app.customer("alice").await;
    let bob = app.customer("bob").await;
    let bound = app
        .as_customer(
            &alice,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "Production", "console_token": owner_token(&app)})),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    let account_of = |name: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .customer_by_username(name)
                .await
                .unwrap()
                .billing_account_id
        }
    };
    let (alice_account, bob_account) = (account_of("alice").await, account_of("bob").await);

    let moved = app
        .as_customer(
            &bob,
            "POST",
            "/api/v1/workspaces/ws-prod/binding",
            Some(json!({"console_token": owner_token(&app)})),
        )
        .await;
    assert_eq!(
        (moved.status, code(&moved.body)),
        (StatusCode::FORBIDDEN, "not_verified")
    );

    // Both verified as the same enterprise.
    let operator = app
        .store
        .create_operator("ops_li", "correct horse battery")
        .await
        .unwrap();
    for account in [alice_account, bob_account] {
        let scan = app
            .store
            .upload_attachment(
                backend::attachments::Uploader::Customer {
                    account_id: account,
                },
                "licence.png",
                PNG,
            )
            .await
            .unwrap()
            .id;
        app.store
            .submit_enterprise(
                account,
                &EnterpriseSubmission {
                    enterprise_name: "示例科技有限公司".into(),
                    credit_code: "9144030071526726XG".into(),
                    contact_name: "王小明".into(),
                    contact_phone: "+86 138 0000 0000".into(),
                    licence_attachment_id: scan,
                },
            )
            .await
            .unwrap();
        app.store
            .review_enterprise(&operator, account, &Review::Approve, "10.0.0.1")
            .await
            .unwrap();
    }
    let no_token = app
        .as_customer(
            &bob,
            "POST",
            "/api/v1/workspaces/ws-prod/binding",
            Some(json!({})),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::UNPROCESSABLE_ENTITY);
    let moved = app
        .as_customer(
            &bob,
            "POST",
            "/api/v1/workspaces/ws-prod/binding",
            Some(json!({"console_token": owner_token(&app)})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["workspace"]["account_id"], bob_account);
    assert_ne!(moved.body["api_key"], bound.body["api_key"]);
    let history = app
        .as_customer(&alice, "GET", "/api/v1/workspaces/moves", None)
        .await;
    assert_eq!(history.body[0]["direction"], "out", "{}", history.body);
    assert_eq!(history.body[0]["other_account"], "bob");
    let mine = app
        .as_customer(&alice, "GET", "/api/v1/workspaces", None)
        .await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(0));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_with_files_take_only_bounded_multipart_bodies_from_someone_signed_in() {
    let app = TestApp::sqlite().await;
    let alice = app.customer("alice").await;
    let json = ("accept", "application/json");
    // Not multipart: 415 before the server function reads anything.
    let (status, _, _) = app
        .send_bytes(
            "POST",
            "/fn/open_ticket",
            b"kind=other&title=x&description=y".to_vec(),
            &[
                ("cookie", alice.cookie.as_str()),
                json,
                ("content-type", "application/x-www-form-urlencoded"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Larger than five files of 8 MB: 413 from the declared length alone.
    let (status, _, _) = app
        .send_bytes(
            "POST",
            "/fn/reply_ticket",
            b"--x--\r\n".to_vec(),
            &[
                ("cookie", alice.cookie.as_str()),
                json,
                ("content-type", "multipart/form-data; boundary=x"),
                ("content-length", "60000000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Nobody signed in: refused before the body is read.
    let body = "--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n--x--\r\n";
    let (status, _, answer) = app
        .send_bytes(
            "POST",
            "/fn/open_ticket",
            body.as_bytes().to_vec(),
            &[json, ("content-type", "multipart/form-data; boundary=x")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let tickets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(tickets, 0);
    app.finish().await;
}

on_both_databases!(tickets_and_files_over_http, change_binding_over_http);
