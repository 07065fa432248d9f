//! The support center and the attachment store (issue 18), both databases: files checked by
//! their content and size, tickets and replies both ways with their states, the seven-day close,
//! ratings, filters, the operators' queue, and access: another account's ticket or file is the
//! same 404 as a missing one.

mod support;

use backend::attachments::{Reader, Uploader};
use backend::problem::Problem;
use backend::support::{NewTicket, TicketFilter};
use billing::support::{TicketAction, TicketState, TicketType};
use chrono::Duration;
use support::TestDb;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a receipt";
const PDF: &[u8] = b"%PDF-1.7\n an invoice";

async fn upload(db: &TestDb, account_id: i64, name: &str, content: &[u8]) -> i64 {
    db.store
        .upload_attachment(Uploader::Customer { account_id }, name, content)
        .await
        .unwrap()
        .id
}

fn code<T: std::fmt::Debug>(result: Result<T, backend::support::SupportError>) -> &'static str {
    Problem::from(result.unwrap_err()).code
}

fn ticket(title: &str, kind: TicketType, attachments: Vec<i64>) -> NewTicket {
    NewTicket {
        ticket_type: kind,
        title: title.into(),
        description: "I paid ¥500 by Alipay at 10:02 and the balance did not change.".into(),
        attachments,
    }
}

async fn files_are_checked_by_content_and_size(db: TestDb) {
    let alice = db.customer_account("alice").await;
    let me = Uploader::Customer { account_id: alice };
    // A renamed executable, an empty file, one byte over 8 MB.
    let exe = db
        .store
        .upload_attachment(me, "receipt.png", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF")
        .await;
    assert_eq!(code(exe), "attachment_type_refused");
    assert_eq!(
        code(db.store.upload_attachment(me, "empty.txt", b"").await),
        "attachment_empty"
    );
    let mut huge = PDF.to_vec();
    huge.resize(billing::support::MAX_ATTACHMENT_BYTES + 1, b' ');
    let too_large = Problem::from(
        db.store
            .upload_attachment(me, "big.pdf", &huge)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (too_large.code, too_large.kind.http_status()),
        ("attachment_too_large", 413)
    );
    huge.truncate(billing::support::MAX_ATTACHMENT_BYTES);
    let largest = db
        .store
        .upload_attachment(me, "big.pdf", &huge)
        .await
        .unwrap();
    assert_eq!(largest.size_bytes, 8 * 1024 * 1024);
    let none: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attachments WHERE size_bytes = 0")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(none, 0);
    // Uploads nothing took are deleted a day later; those a message took stay.
    let kept = db
        .store
        .upload_attachment(me, "kept.png", PNG)
        .await
        .unwrap()
        .id;
    db.store
        .open_ticket(alice, &ticket("Keep", TicketType::Other, vec![kept]))
        .await
        .unwrap();
    assert_eq!(db.store.purge_unused_attachments().await.unwrap(), 0);
    db.clock.advance(Duration::hours(25));
    assert_eq!(db.store.purge_unused_attachments().await.unwrap(), 1);
    assert!(
        db.store
            .attachment_file(Reader::Customer { account_id: alice }, kept)
            .await
            .is_ok()
    );

    // The type is the content's; the name gets its extension; the bytes come back unchanged.
    let pdf = db
        .store
        .upload_attachment(me, "../invoice.png", PDF)
        .await
        .unwrap();
    assert_eq!(pdf.kind, backend::attachments::AttachmentKind::Pdf);
    assert_eq!(pdf.file_name, "invoice.png.pdf");
    let file = db
        .store
        .attachment_file(Reader::Customer { account_id: alice }, pdf.id)
        .await
        .unwrap();
    assert_eq!(file.content, PDF);
    // Somebody else's is answered as a missing one.
    let bob = db.customer_account("bob").await;
    assert_eq!(
        code(
            db.store
                .attachment_file(Reader::Customer { account_id: bob }, pdf.id)
                .await
        ),
        "attachment_not_found"
    );
    assert_eq!(
        code(
            db.store
                .attachment_file(Reader::Customer { account_id: bob }, 999_999)
                .await
        ),
        "attachment_not_found"
    );
    db.finish().await;
}

async fn a_ticket_goes_back_and_forth_and_closes_itself(db: TestDb) {
    let alice = db.customer_account("alice").await;
    let bob = db.customer_account("bob").await;
    let operator = db
        .store
        .create_operator("ops_li", "correct horse battery")
        .await
        .unwrap();
    let receipt = upload(&db, alice, "receipt.png", PNG).await;
    let bobs = upload(&db, bob, "mine.png", PNG).await;

    // Refused: too many files, somebody else's file, an empty title; nothing is stored.
    let six: Vec<i64> = {
        let mut ids = Vec::new();
        for n in 0..6 {
            ids.push(upload(&db, alice, &format!("{n}.txt"), b"page").await);
        }
        ids
    };
    let refused = db
        .store
        .open_ticket(alice, &ticket("Too many", TicketType::Payment, six.clone()))
        .await;
    assert_eq!(code(refused), "too_many_attachments");
    let refused = db
        .store
        .open_ticket(alice, &ticket("Not mine", TicketType::Payment, vec![bobs]))
        .await;
    assert_eq!(code(refused), "attachment_not_found");
    let refused = db
        .store
        .open_ticket(alice, &ticket(" ", TicketType::Payment, vec![]))
        .await;
    assert_eq!(Problem::from(refused.unwrap_err()).field, Some("title"));
    let tickets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(tickets, 0);

    let opened = db
        .store
        .open_ticket(
            alice,
            &ticket(
                "Top-up not credited",
                TicketType::Payment,
                vec![receipt, six[0]],
            ),
        )
        .await
        .unwrap();
    let id = opened.ticket.id;
    assert_eq!(opened.ticket.state, TicketState::Open);
    assert_eq!(opened.messages.len(), 1);
    assert_eq!(opened.messages[0].attachments.len(), 2);
    // A file goes with one message only.
    let again = db
        .store
        .open_ticket(alice, &ticket("Again", TicketType::Other, vec![receipt]))
        .await;
    assert_eq!(code(again), "attachment_in_use");

    // Bob sees neither the ticket nor its files, exactly as if they did not exist.
    assert_eq!(code(db.store.ticket(bob, id).await), "ticket_not_found");
    assert_eq!(
        code(db.store.ticket(bob, 999_999).await),
        "ticket_not_found"
    );
    assert_eq!(
        code(db.store.reply_as_customer(bob, id, "me too", &[]).await),
        "ticket_not_found"
    );
    assert_eq!(
        code(
            db.store
                .attachment_file(Reader::Customer { account_id: bob }, receipt)
                .await
        ),
        "attachment_not_found"
    );

    // The queue shows it to operators until one takes it.
    let queue = db.store.work_queue(operator.id).await.unwrap();
    assert_eq!(
        queue
            .unassigned_tickets
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [id]
    );
    let taken = db
        .store
        .assign_ticket(&operator, id, None, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(taken.ticket.state, TicketState::InProgress);
    assert_eq!(taken.ticket.assigned_to.as_deref(), Some("ops_li"));
    let queue = db.store.work_queue(operator.id).await.unwrap();
    assert!(queue.unassigned_tickets.is_empty());
    assert_eq!(queue.my_tickets.len(), 1);

    // The operator answers with a file: replied, Alice is mailed and may read the file.
    let answer = db
        .store
        .upload_attachment(
            Uploader::Operator {
                operator_id: operator.id,
            },
            "steps.pdf",
            PDF,
        )
        .await
        .unwrap()
        .id;
    let replied = db
        .store
        .reply_as_operator(&operator, id, "Credited now, sorry.", &[answer], "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(replied.ticket.state, TicketState::Replied);
    assert_eq!(replied.messages[1].operator.as_deref(), Some("ops_li"));
    let seen = db.store.ticket(alice, id).await.unwrap();
    assert_eq!(seen.messages[1].author, "operator");
    assert_eq!(
        seen.messages[1].operator, None,
        "customers see support, not who"
    );
    assert_eq!(
        db.store
            .attachment_file(Reader::Customer { account_id: alice }, answer)
            .await
            .unwrap()
            .content,
        PDF
    );
    assert_eq!(
        code(
            db.store
                .attachment_file(Reader::Customer { account_id: bob }, answer)
                .await
        ),
        "attachment_not_found"
    );
    let mail = db.store.mail_to("alice@example.com", 10).await.unwrap();
    assert_eq!(
        mail.iter().filter(|m| m.kind == "ticket_replied").count(),
        1,
        "{mail:?}"
    );
    // Customers never see which operator holds it; another operator cannot simply take it.
    assert_eq!(seen.ticket.assigned_to, None);
    let other = db
        .store
        .create_operator("ops_wang", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(
        code(db.store.assign_ticket(&other, id, None, "10.0.0.1").await),
        "ticket_already_assigned"
    );
    // Answered: it can be closed, not withdrawn.
    assert_eq!(
        code(
            db.store
                .end_ticket(alice, id, TicketAction::CustomerWithdraws)
                .await
        ),
        "ticket_state_conflict"
    );

    // Alice answers (open again), support answers again, then nobody for seven days.
    let back = db
        .store
        .reply_as_customer(alice, id, "Thanks, and the fee?", &[])
        .await
        .unwrap();
    assert_eq!(back.ticket.state, TicketState::Open);
    // Open again after an answer: still not withdrawn.
    assert_eq!(
        code(
            db.store
                .end_ticket(alice, id, TicketAction::CustomerWithdraws)
                .await
        ),
        "ticket_state_conflict"
    );
    db.store
        .reply_as_operator(&operator, id, "Refunded.", &[], "10.0.0.1")
        .await
        .unwrap();
    db.clock.advance(Duration::days(6));
    assert_eq!(db.store.auto_close_tickets().await.unwrap(), 0);
    db.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(db.store.auto_close_tickets().await.unwrap(), 1);
    let closed = db.store.ticket(alice, id).await.unwrap();
    assert_eq!(closed.ticket.state, TicketState::Closed);
    // No reply to a closed ticket, from either side.
    assert_eq!(
        code(db.store.reply_as_customer(alice, id, "one more", &[]).await),
        "ticket_state_conflict"
    );
    assert_eq!(
        code(
            db.store
                .reply_as_operator(&operator, id, "one more", &[], "10.0.0.1")
                .await
        ),
        "ticket_state_conflict"
    );
    // Rated once, 1 to 5.
    let wrong = Problem::from(db.store.rate_ticket(alice, id, 6).await.unwrap_err());
    assert_eq!(
        (wrong.code, wrong.field),
        ("ticket_field_invalid", Some("rating"))
    );
    assert_eq!(
        db.store
            .rate_ticket(alice, id, 5)
            .await
            .unwrap()
            .ticket
            .rating,
        Some(5)
    );
    assert_eq!(
        code(db.store.rate_ticket(alice, id, 1).await),
        "ticket_already_rated"
    );

    // A second ticket, withdrawn before any answer: not rated, not answered.
    let second = db
        .store
        .open_ticket(
            alice,
            &ticket("Invoice title wrong", TicketType::Invoice, vec![]),
        )
        .await
        .unwrap()
        .ticket
        .id;
    let withdrawn = db
        .store
        .end_ticket(alice, second, TicketAction::CustomerWithdraws)
        .await
        .unwrap();
    assert_eq!(withdrawn.ticket.state, TicketState::Withdrawn);
    assert_eq!(
        code(db.store.rate_ticket(alice, second, 4).await),
        "ticket_not_closed"
    );
    assert_eq!(
        code(
            db.store
                .assign_ticket(&operator, second, None, "10.0.0.1")
                .await
        ),
        "ticket_state_conflict"
    );

    // Filters: state, type, title, period.
    let all = |filter: TicketFilter| {
        let store = db.store.clone();
        async move {
            store
                .tickets(
                    alice,
                    &TicketFilter {
                        per_page: 20,
                        ..filter
                    },
                )
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(all(TicketFilter::default()).await, [second, id]);
    assert_eq!(
        all(TicketFilter {
            state: Some(TicketState::Closed),
            ..TicketFilter::default()
        })
        .await,
        [id]
    );
    assert_eq!(
        all(TicketFilter {
            ticket_type: Some(TicketType::Invoice),
            ..TicketFilter::default()
        })
        .await,
        [second]
    );
    assert_eq!(
        all(TicketFilter {
            title: Some("CREDITED".into()),
            ..TicketFilter::default()
        })
        .await,
        [id]
    );
    let nul = db
        .store
        .tickets(
            alice,
            &TicketFilter {
                title: Some("a\0b".into()),
                per_page: 20,
                ..TicketFilter::default()
            },
        )
        .await;
    assert_eq!(Problem::from(nul.unwrap_err()).field, Some("q"));
    assert_eq!(
        all(TicketFilter {
            title: Some("%".into()),
            ..TicketFilter::default()
        })
        .await,
        Vec::<i64>::new()
    );
    let today = db.store.today();
    assert_eq!(
        all(TicketFilter {
            from: Some(today),
            to: Some(today),
            ..TicketFilter::default()
        })
        .await,
        [second]
    );
    assert!(
        db.store
            .tickets(
                bob,
                &TicketFilter {
                    per_page: 20,
                    ..TicketFilter::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );

    // Every operator view and act is in the audit log.
    db.store
        .ticket_for_operator(&operator, id, "10.0.0.1")
        .await
        .unwrap();
    db.store
        .attachment_for_operator(&operator, receipt, "10.0.0.1")
        .await
        .unwrap();
    let audit = db.store.audit_log(Some(alice), 50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in [
        "ticket.assign",
        "ticket.reply",
        "ticket.view",
        "attachment.view",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    db.finish().await;
}

on_both_databases!(
    files_are_checked_by_content_and_size,
    a_ticket_goes_back_and_forth_and_closes_itself
);
