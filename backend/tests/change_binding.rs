//! Change binding (issue 18, seed 003), both databases: a workspace moves between two accounts
//! only when both are verified as the same enterprise and the console vouches for its owner;
//! refused moves change nothing; days already billed stay with the old account, the next daily
//! bill goes to the new one; the old usage key stops working; both holders are mailed and both
//! histories show the move.

mod support;

use backend::console::{ConsoleClaims, ConsoleKey, ConsoleRole};
use backend::enterprise::{EnterpriseSubmission, Review};
use backend::problem::Problem;
use backend::usage::UsageInput;
use chrono::Duration;
use support::TestDb;

const KEY: &str = "the console's signing key, long enough for HS256";
/// Two valid unified social credit codes (GB 32100-2015), of two enterprises.
const ACME: &str = "9144030071526726XG";
const OTHER: &str = "91330100716105852F";

fn token(db: &TestDb, ws: &str, role: ConsoleRole) -> String {
    ConsoleKey::from_text(KEY)
        .unwrap()
        .sign(&ConsoleClaims::new(
            "console-user-7",
            ws,
            role,
            db.store.now(),
            600,
        ))
}

async fn verify(
    db: &TestDb,
    operator: &backend::auth::operators::Operator,
    account: i64,
    code: &str,
    approve: bool,
) {
    let scan = db
        .store
        .upload_attachment(
            backend::attachments::Uploader::Customer {
                account_id: account,
            },
            "licence.pdf",
            b"%PDF-1.7 the licence",
        )
        .await
        .unwrap()
        .id;
    db.store
        .submit_enterprise(
            account,
            &EnterpriseSubmission {
                licence_attachment_id: scan,
                enterprise_name: "示例科技有限公司".into(),
                credit_code: code.into(),
                contact_name: "王小明".into(),
                contact_phone: "+86 138 0000 0000".into(),
            },
        )
        .await
        .unwrap();
    let review = if approve {
        Review::Approve
    } else {
        Review::Reject {
            reason: "the licence is unreadable".into(),
        }
    };
    db.store
        .review_enterprise(operator, account, &review, "10.0.0.1")
        .await
        .unwrap();
}

fn usage(id: &str, day: chrono::NaiveDate) -> UsageInput {
    UsageInput {
        id: id.into(),
        item: "logs".into(),
        retention_days: Some(7),
        quantity: "1500000".into(),
        day: day.to_string(),
    }
}

async fn bill_account(db: &TestDb, ws: &str, day: chrono::NaiveDate) -> Option<i64> {
    sqlx::query_scalar("SELECT account_id FROM bills WHERE workspace_id = $1 AND bill_date = $2")
        .bind(ws)
        .bind(day.to_string())
        .fetch_optional(db.store.pool())
        .await
        .unwrap()
}

async fn code_of(
    db: &TestDb,
    to: i64,
    ws: &str,
    token: &str,
) -> (&'static str, Option<&'static str>) {
    let problem = Problem::from(db.store.change_binding(to, ws, token).await.unwrap_err());
    (problem.code, problem.field)
}

async fn a_workspace_moves_only_within_one_verified_enterprise(db: TestDb) {
    let db = db.map_store(|s| s.with_console_key(Some(ConsoleKey::from_text(KEY).unwrap()), true));
    let alice = db.customer_account("alice").await;
    let bob = db.customer_account("bob").await;
    let carol = db.customer_account("carol").await;
    let operator = db
        .store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let bound = db
        .store
        .bind_workspace(
            alice,
            "ws-1",
            "Production",
            Some(&token(&db, "ws-1", ConsoleRole::Owner)),
        )
        .await
        .unwrap();
    // A day billed to Alice, and today's usage not billed yet.
    let yesterday = db.store.today() - Duration::days(1);
    let today = db.store.today();
    let ws = bound.workspace.clone();
    db.store
        .ingest_usage(&ws, &[usage("r1", yesterday), usage("r2", today)])
        .await
        .unwrap();
    db.store.settle_day(yesterday, "test").await.unwrap();
    assert_eq!(bill_account(&db, "ws-1", yesterday).await, Some(alice));

    let owner = token(&db, "ws-1", ConsoleRole::Owner);
    // Refused while either account is unverified, and refused moves change nothing.
    let before = db.fingerprint().await;
    assert_eq!(code_of(&db, bob, "ws-1", &owner).await.0, "not_verified");
    verify(&db, &operator, bob, ACME, true).await;
    assert_eq!(code_of(&db, bob, "ws-1", &owner).await.0, "not_verified");
    // Rejected is not verified either.
    verify(&db, &operator, alice, ACME, false).await;
    assert_eq!(code_of(&db, bob, "ws-1", &owner).await.0, "not_verified");
    verify(&db, &operator, alice, ACME, true).await;
    verify(&db, &operator, carol, OTHER, true).await;
    assert_eq!(
        code_of(&db, carol, "ws-1", &owner).await.0,
        "different_enterprise"
    );
    // The console must vouch for the workspace's owner.
    assert_eq!(
        code_of(&db, bob, "ws-1", "").await,
        ("console_token_required", Some("console_token"))
    );
    assert_eq!(
        code_of(
            &db,
            bob,
            "ws-1",
            &token(&db, "ws-1", ConsoleRole::Administrator)
        )
        .await,
        ("forbidden_role", Some("console_token"))
    );
    assert_eq!(
        code_of(&db, bob, "ws-1", &token(&db, "ws-2", ConsoleRole::Owner)).await,
        ("console_token_other_workspace", Some("console_token"))
    );
    let forged = ConsoleKey::from_text("somebody else's key, long enough for HS256")
        .unwrap()
        .sign(&ConsoleClaims::new(
            "x",
            "ws-1",
            ConsoleRole::Owner,
            db.store.now(),
            600,
        ));
    assert_eq!(
        code_of(&db, bob, "ws-1", &forged).await,
        ("console_token_invalid", Some("console_token"))
    );
    assert_eq!(
        code_of(
            &db,
            bob,
            "ws-nobody",
            &token(&db, "ws-nobody", ConsoleRole::Owner)
        )
        .await
        .0,
        "workspace_not_found"
    );
    assert_eq!(db.fingerprint().await, before);
    assert_eq!(
        db.store.workspace(alice, "ws-1").await.unwrap().account_id,
        alice
    );
    assert!(db.store.workspace_moves(alice).await.unwrap().is_empty());

    // The move.
    let moved = db.store.change_binding(bob, "ws-1", &owner).await.unwrap();
    assert_eq!(moved.workspace.account_id, bob);
    assert_ne!(moved.api_key, bound.api_key);
    assert!(
        db.store
            .workspace_by_key(&bound.api_key)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.store
            .workspace_by_key(&moved.api_key)
            .await
            .unwrap()
            .unwrap()
            .account_id,
        bob
    );
    assert!(db.store.workspace(alice, "ws-1").await.is_err());
    // A bill priced for Alice before the move and charged after it is refused, so the run
    // prices the day again for Bob: a bill goes only to the account the workspace is bound to.
    let stale = db
        .store
        .charge_bill(
            &support::key("priced-before-the-move"),
            &backend::bills::BillCharge {
                usage: Vec::new(),
                account_id: alice,
                workspace_id: "ws-1".into(),
                day: today,
                cloud_subscription: None,
                settlement: billing::Settlement::Account,
                charges: vec![billing::Charge {
                    item: billing::BillingItem::Logs,
                    amount: billing::Amount::from_yuan(1),
                }],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(Problem::from(stale).code, "settlement_changed");
    assert_eq!(
        code_of(&db, bob, "ws-1", &owner).await.0,
        "workspace_already_bound"
    );

    // The day already billed stays with Alice; the next daily bill is Bob's.
    db.clock.advance(Duration::days(1));
    db.store.settle_day(today, "test").await.unwrap();
    assert_eq!(bill_account(&db, "ws-1", yesterday).await, Some(alice));
    assert_eq!(bill_account(&db, "ws-1", today).await, Some(bob));
    db.assert_ledger_clean().await;

    // Both histories and both holders.
    let out = db.store.workspace_moves(alice).await.unwrap();
    let came = db.store.workspace_moves(bob).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(came.len(), 1);
    assert_eq!(
        (out[0].direction, out[0].other_account.as_str()),
        (backend::change_binding::MoveDirection::Out, "bob")
    );
    assert_eq!(
        (came[0].direction, came[0].other_account.as_str()),
        (backend::change_binding::MoveDirection::In, "alice")
    );
    assert!(db.store.workspace_moves(carol).await.unwrap().is_empty());
    for holder in ["alice@example.com", "bob@example.com"] {
        let mail = db.store.mail_to(holder, 10).await.unwrap();
        assert_eq!(
            mail.iter().filter(|m| m.kind == "workspace_moved").count(),
            1,
            "{holder}: {mail:?}"
        );
    }

    // And back: the same rules the other way.
    let back = db
        .store
        .change_binding(alice, "ws-1", &token(&db, "ws-1", ConsoleRole::Owner))
        .await
        .unwrap();
    assert_eq!(back.workspace.account_id, alice);
    assert_eq!(db.store.workspace_moves(alice).await.unwrap().len(), 2);
    db.finish().await;
}

on_both_databases!(a_workspace_moves_only_within_one_verified_enterprise);
