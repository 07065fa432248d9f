//! Enterprise verification (issue 18), both databases: a submission checked (the credit code's
//! check character, the fields), one at a time, reviewed by an operator (approved or rejected
//! with a reason; audited; the holder mailed), submitted again after a rejection, and a verified
//! one reviewed again when it changes.

mod support;

use backend::enterprise::{EnterpriseSubmission, Review};
use backend::problem::Problem;
use billing::enterprise::VerificationState;
use support::TestDb;

/// A scan of a business licence: a PNG as far as its first bytes go.
pub const LICENCE_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR the licence";

async fn licence(db: &TestDb, account: i64) -> i64 {
    db.store
        .upload_attachment(
            backend::attachments::Uploader::Customer {
                account_id: account,
            },
            "licence.png",
            LICENCE_PNG,
        )
        .await
        .unwrap()
        .id
}

fn submission(code: &str, licence: i64) -> EnterpriseSubmission {
    EnterpriseSubmission {
        licence_attachment_id: licence,
        enterprise_name: "杭州示例科技有限公司".into(),
        credit_code: code.into(),
        contact_name: "王小明".into(),
        contact_phone: "+86 138 0000 0000".into(),
    }
}

async fn a_submission_is_checked_reviewed_and_mailed(db: TestDb) {
    let alice = db.customer_account("alice").await;
    let scan = licence(&db, alice).await;
    let operator = db
        .store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(
        db.store.enterprise(alice).await.unwrap().state,
        VerificationState::Unverified
    );
    // Refused, and nothing stored: a wrong check character, a bad phone, an empty name.
    let before = db.fingerprint().await;
    let wrong = db
        .store
        .submit_enterprise(alice, &submission("9144030071526726XH", scan))
        .await
        .unwrap_err();
    let problem = Problem::from(wrong);
    assert_eq!(
        (problem.code, problem.field),
        ("invalid_credit_code", Some("credit_code"))
    );
    let mut bad_phone = submission("9144030071526726XG", scan);
    bad_phone.contact_phone = "call me".into();
    let problem = Problem::from(
        db.store
            .submit_enterprise(alice, &bad_phone)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (problem.code, problem.field),
        ("enterprise_field_invalid", Some("contact_phone"))
    );
    let mut no_name = submission("9144030071526726XG", scan);
    no_name.enterprise_name = "  ".into();
    let problem = Problem::from(
        db.store
            .submit_enterprise(alice, &no_name)
            .await
            .unwrap_err(),
    );
    assert_eq!(problem.field, Some("enterprise_name"));
    assert_eq!(db.fingerprint().await, before);
    assert_eq!(
        db.store.enterprise(alice).await.unwrap().state,
        VerificationState::Unverified
    );

    // The licence is an image or a PDF of this account's own uploads.
    let text = db
        .store
        .upload_attachment(
            backend::attachments::Uploader::Customer { account_id: alice },
            "licence.txt",
            b"not a scan",
        )
        .await
        .unwrap()
        .id;
    let problem = Problem::from(
        db.store
            .submit_enterprise(alice, &submission("9144030071526726XG", text))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (problem.code, problem.field),
        ("attachment_type_refused", Some("licence_attachment_id"))
    );
    let mallory = db.customer_account("mallory").await;
    let theirs = licence(&db, mallory).await;
    let problem = Problem::from(
        db.store
            .submit_enterprise(alice, &submission("9144030071526726XG", theirs))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (problem.code, problem.field),
        ("attachment_not_found", Some("licence_attachment_id"))
    );

    // Submitted (lower case forgiven): waiting; a second submission waits its turn.
    let pending = db
        .store
        .submit_enterprise(alice, &submission("9144030071526726xg", scan))
        .await
        .unwrap();
    assert_eq!(pending.state, VerificationState::PendingReview);
    assert_eq!(pending.credit_code.as_deref(), Some("9144030071526726XG"));
    assert_eq!(pending.licence.as_ref().map(|l| l.id), Some(scan));
    let twice = db
        .store
        .submit_enterprise(alice, &submission("91330100716105852F", scan))
        .await
        .unwrap_err();
    assert_eq!(Problem::from(twice).code, "verification_pending");

    // Rejected with a reason; submitted again; approved.
    let rejected = db
        .store
        .review_enterprise(
            &operator,
            alice,
            &Review::Reject {
                reason: "The licence is not legible.".into(),
            },
            "10.0.0.1",
        )
        .await
        .unwrap();
    assert_eq!(rejected.state, VerificationState::Rejected);
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("The licence is not legible.")
    );
    let again = db
        .store
        .review_enterprise(&operator, alice, &Review::Approve, "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(Problem::from(again).code, "verification_not_pending");
    db.store
        .submit_enterprise(alice, &submission("9144030071526726XG", scan))
        .await
        .unwrap();
    let verified = db
        .store
        .review_enterprise(&operator, alice, &Review::Approve, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(verified.state, VerificationState::Verified);
    assert_eq!(verified.rejection_reason, None);
    // Changing a verified enterprise is a new review.
    let changed = db
        .store
        .submit_enterprise(alice, &submission("91330100716105852F", scan))
        .await
        .unwrap();
    assert_eq!(changed.state, VerificationState::PendingReview);

    // Audited, and the holder told each time.
    let audit = db.store.audit_log(Some(alice), 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"enterprise.reject") && actions.contains(&"enterprise.approve"),
        "{actions:?}"
    );
    let mail = db.store.mail_to("alice@example.com", 10).await.unwrap();
    assert_eq!(
        mail.iter()
            .filter(|m| m.kind == "enterprise_reviewed")
            .count(),
        2,
        "{mail:?}"
    );
    // The change waiting for review, withdrawn: nobody can decide it any more; it may be
    // submitted again.
    // An operator decides only the submission they were shown.
    let shown = db.store.enterprise(alice).await.unwrap().submitted_at;
    let withdrawn = db.store.withdraw_enterprise(alice).await.unwrap();
    assert_eq!(withdrawn.state, VerificationState::Withdrawn);
    let late = db
        .store
        .review_enterprise(&operator, alice, &Review::Approve, "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(Problem::from(late).code, "verification_not_pending");
    let twice = db.store.withdraw_enterprise(alice).await.unwrap_err();
    assert_eq!(Problem::from(twice).code, "verification_not_pending");
    db.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(
        db.store
            .submit_enterprise(alice, &submission("9144030071526726XG", scan))
            .await
            .unwrap()
            .state,
        VerificationState::PendingReview
    );
    let unseen = db
        .store
        .review_enterprise_shown(&operator, alice, &Review::Approve, shown, "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(Problem::from(unseen).code, "verification_changed");
    assert_eq!(
        db.store.enterprise(alice).await.unwrap().state,
        VerificationState::PendingReview
    );

    // Nothing of another account waits.
    let bob = db.customer_account("bob").await;
    let none = db
        .store
        .review_enterprise(&operator, bob, &Review::Approve, "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(Problem::from(none).code, "verification_not_pending");
    db.finish().await;
}

on_both_databases!(a_submission_is_checked_reviewed_and_mailed);
