//! An operator's search and account dossier (issue 18), both databases: found by username, email,
//! enterprise name or credit code, or workspace; the dossier holds balances, verification,
//! workspaces, bills, tickets and movements; every search and view is audited.

mod support;

use backend::problem::Problem;
use backend::support::NewTicket;
use billing::support::TicketType;
use support::TestDb;

async fn operators_find_accounts_and_read_them_on_the_record(db: TestDb) {
    let operator = db
        .store
        .create_operator("ops_li", "correct horse battery")
        .await
        .unwrap();
    let alice = db.customer_account("alice_w").await;
    let bob = db.customer_account("bob_k").await;
    db.store
        .bind_workspace(bob, "ws-Prod_1", "Production", None)
        .await
        .unwrap();
    let scan = db
        .store
        .upload_attachment(
            backend::attachments::Uploader::Customer { account_id: alice },
            "licence.pdf",
            b"%PDF-1.7 licence",
        )
        .await
        .unwrap()
        .id;
    db.store
        .submit_enterprise(
            alice,
            &backend::enterprise::EnterpriseSubmission {
                enterprise_name: "Hangzhou Example Tech".into(),
                credit_code: "91330100716105852F".into(),
                contact_name: "Wang".into(),
                contact_phone: "+86 138 0000 0000".into(),
                licence_attachment_id: scan,
            },
        )
        .await
        .unwrap();
    db.store
        .open_ticket(
            alice,
            &NewTicket {
                ticket_type: TicketType::Invoice,
                title: "Invoice title".into(),
                description: "Please change it.".into(),
                attachments: vec![],
            },
        )
        .await
        .unwrap();

    let found = |q: &'static str| {
        let (store, operator) = (db.store.clone(), operator.clone());
        async move {
            store
                .search_accounts(&operator, q, "10.0.0.1")
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.account_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("ALICE").await, [alice]);
    assert_eq!(found("bob_k@example").await, [bob]);
    assert_eq!(found("example tech").await, [alice]);
    assert_eq!(found("716105852f").await, [alice]);
    assert_eq!(found("prod_1").await, [bob]);
    // `_` and `%` are letters here, not patterns.
    assert_eq!(found("%%").await, Vec::<i64>::new());
    assert_eq!(found("e_w").await, [alice]);
    let short = db.store.search_accounts(&operator, "a", "10.0.0.1").await;
    assert_eq!(Problem::from(short.unwrap_err()).field, Some("q"));

    let dossier = db
        .store
        .account_dossier(&operator, alice, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(dossier.username.as_deref(), Some("alice_w"));
    assert_eq!(
        dossier.enterprise.state,
        billing::enterprise::VerificationState::PendingReview
    );
    assert_eq!(dossier.tickets.len(), 1);
    let theirs = db
        .store
        .account_dossier(&operator, bob, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(theirs.workspaces[0].workspace_id, "ws-Prod_1");
    let missing = db
        .store
        .account_dossier(&operator, 999_999, "10.0.0.1")
        .await;
    assert_eq!(Problem::from(missing.unwrap_err()).code, "account_unknown");

    // On the record.
    let audit = db.store.audit_log(None, 100).await.unwrap();
    let searches = audit
        .iter()
        .filter(|a| a.action == "account.search")
        .count();
    assert_eq!(searches, 7);
    let views: Vec<Option<i64>> = audit
        .iter()
        .filter(|a| a.action == "account.view")
        .map(|a| a.account_id)
        .collect();
    assert_eq!(views.len(), 2);
    assert!(views.contains(&Some(alice)) && views.contains(&Some(bob)));
    db.finish().await;
}

on_both_databases!(operators_find_accounts_and_read_them_on_the_record);
