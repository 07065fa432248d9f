//! Operator tokens expire, are listed and revoked by id, and die with their disabled operator;
//! every issue, revoke, disable and enable is audited exactly once. On both databases.

mod support;

use backend::Clock;
use backend::auth::AuthError;
use backend::auth::audit::OperatorAct;
use backend::auth::operators::{
    CLI, DEFAULT_TOKEN_DAYS, Disabled, Revoker, TokenCheck, TokenStatus,
};
use backend::auth::sessions::Principal;
use chrono::Duration;
use support::TestDb;

const PASSWORD: &str = "correct horse battery";

async fn actions(db: &TestDb) -> Vec<String> {
    let mut log = db.store.audit_log(None, 1000).await.unwrap();
    log.reverse();
    log.into_iter().map(|r| r.action).collect()
}

async fn a_token_expires_exactly_at_its_expiry(db: TestDb) {
    let ops = db
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let start = db.clock.now();

    let default = db
        .store
        .issue_operator_token_for(&ops, DEFAULT_TOKEN_DAYS, CLI)
        .await
        .unwrap();
    assert_eq!(default.expires_at, start + Duration::days(90));
    // The old entry point issues the default lifetime too.
    let plain = db.store.issue_operator_token(&ops, CLI).await.unwrap();
    let week = db
        .store
        .issue_operator_token_for(&ops, 7, CLI)
        .await
        .unwrap();
    assert_eq!(week.expires_at, start + Duration::days(7));

    for days in [0, -1, 366, 10_000] {
        let refused = db.store.issue_operator_token_for(&ops, days, CLI).await;
        assert!(
            matches!(refused, Err(AuthError::InvalidTokenDays { days: d }) if d == days),
            "{refused:?}"
        );
    }

    db.clock.set(week.expires_at - Duration::microseconds(1));
    assert!(matches!(
        db.store.check_operator_token(&week.token).await.unwrap(),
        TokenCheck::Valid { token_id, .. } if token_id == week.id
    ));
    db.clock.set(week.expires_at);
    assert_eq!(
        db.store.check_operator_token(&week.token).await.unwrap(),
        TokenCheck::Expired {
            at: week.expires_at
        }
    );
    assert_eq!(
        db.store.operator_for_token(&week.token).await.unwrap(),
        None
    );
    assert_eq!(
        db.store.operator_for_token(&plain).await.unwrap(),
        Some(ops.clone()),
        "the 90-day tokens live on"
    );

    db.clock.set(default.expires_at - Duration::microseconds(1));
    assert!(
        db.store
            .operator_for_token(&default.token)
            .await
            .unwrap()
            .is_some()
    );
    db.clock.set(default.expires_at);
    assert!(matches!(
        db.store.check_operator_token(&default.token).await.unwrap(),
        TokenCheck::Expired { .. }
    ));
    let statuses: Vec<_> = db
        .store
        .operator_tokens(ops.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (week.id, TokenStatus::Expired),
            (week.id - 1, TokenStatus::Expired),
            (default.id, TokenStatus::Expired)
        ]
    );
    assert_eq!(
        actions(&db).await,
        ["operator_token.issue"; 3],
        "refused lifetimes write nothing"
    );
    db.finish().await;
}

async fn tokens_are_listed_and_revoked_by_id_by_their_own_operator_only(db: TestDb) {
    let alice = db
        .store
        .create_operator("alice_ops", PASSWORD)
        .await
        .unwrap();
    let bob = db.store.create_operator("bob_ops", PASSWORD).await.unwrap();
    let alices = db
        .store
        .issue_operator_token_for(&alice, 30, CLI)
        .await
        .unwrap();
    let bobs = db
        .store
        .issue_operator_token_for(&bob, 30, CLI)
        .await
        .unwrap();
    let as_bob = OperatorAct {
        operator_id: bob.id,
        client: "10.0.0.2".into(),
    };
    let as_alice = OperatorAct {
        operator_id: alice.id,
        client: "10.0.0.1".into(),
    };

    // Another operator's token, and a token that does not exist, are the same NotFound.
    for id in [alices.id, 999_999] {
        let refused = db
            .store
            .revoke_operator_token_by_id(id, Revoker::Operator(&as_bob))
            .await;
        assert!(
            matches!(refused, Err(AuthError::NotFound("token"))),
            "{refused:?}"
        );
    }
    assert_eq!(
        db.store.operator_for_token(&alices.token).await.unwrap(),
        Some(alice.clone()),
        "bob could not revoke alice's token"
    );

    // Using a token records when, at most once a minute.
    let listed = db.store.operator_tokens(alice.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(db.clock.now()));
    let first_use = db.clock.now();
    db.clock.advance(Duration::seconds(30));
    db.store.operator_for_token(&alices.token).await.unwrap();
    assert_eq!(
        db.store.operator_tokens(alice.id).await.unwrap()[0].last_used_at,
        Some(first_use)
    );
    db.clock.advance(Duration::seconds(30));
    db.store.operator_for_token(&alices.token).await.unwrap();
    assert_eq!(
        db.store.operator_tokens(alice.id).await.unwrap()[0].last_used_at,
        Some(db.clock.now())
    );

    assert!(
        db.store
            .revoke_operator_token_by_id(alices.id, Revoker::Operator(&as_alice))
            .await
            .unwrap()
    );
    assert_eq!(
        db.store.check_operator_token(&alices.token).await.unwrap(),
        TokenCheck::Revoked
    );
    assert!(
        !db.store
            .revoke_operator_token_by_id(alices.id, Revoker::Operator(&as_alice))
            .await
            .unwrap(),
        "already revoked"
    );
    let listed = db.store.operator_tokens(alice.id).await.unwrap();
    assert_eq!(listed[0].status, TokenStatus::Revoked);
    assert_eq!(listed[0].revoked_at, Some(db.clock.now()));

    // The command line may revoke anyone's token, and presenting a token still revokes it.
    assert!(
        db.store
            .revoke_operator_token_by_id(bobs.id, Revoker::Cli)
            .await
            .unwrap()
    );
    let again = db
        .store
        .issue_operator_token_for(&bob, 30, CLI)
        .await
        .unwrap();
    assert!(
        db.store
            .revoke_operator_token(&again.token, CLI)
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .revoke_operator_token(&again.token, CLI)
            .await
            .unwrap()
    );

    let log = db.store.audit_log(None, 100).await.unwrap();
    let revokes: Vec<_> = log
        .iter()
        .rev()
        .filter(|r| r.action == "operator_token.revoke")
        .map(|r| (r.operator_id, r.client.as_str(), r.detail.as_str()))
        .collect();
    let (alice_detail, bob_detail, again_detail) = (
        format!("token {}, by id", alices.id),
        format!("token {}, by id", bobs.id),
        format!("token {}, presented", again.id),
    );
    assert_eq!(
        revokes,
        [
            (alice.id, "10.0.0.1", alice_detail.as_str()),
            (bob.id, "cli", bob_detail.as_str()),
            (bob.id, "cli", again_detail.as_str()),
        ],
        "one row per revocation, none for refusals or repeats"
    );
    db.finish().await;
}

async fn a_disabled_operator_has_no_sessions_tokens_or_sign_in(db: TestDb) {
    let ops = db
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let other = db
        .store
        .create_operator("ops_other", PASSWORD)
        .await
        .unwrap();
    let session = db
        .store
        .start_session(Principal::Operator(ops.id))
        .await
        .unwrap();
    let others_session = db
        .store
        .start_session(Principal::Operator(other.id))
        .await
        .unwrap();
    let one = db.store.issue_operator_token(&ops, CLI).await.unwrap();
    let two = db.store.issue_operator_token(&ops, CLI).await.unwrap();
    let others_token = db.store.issue_operator_token(&other, CLI).await.unwrap();
    db.store.revoke_operator_token(&two, CLI).await.unwrap();
    let three = db.store.issue_operator_token(&ops, CLI).await.unwrap();

    assert_eq!(
        db.store.disable_operator(&ops, CLI).await.unwrap(),
        Some(Disabled {
            sessions_ended: 1,
            tokens_revoked: 2
        })
    );
    assert_eq!(db.store.disable_operator(&ops, CLI).await.unwrap(), None);
    assert_eq!(
        db.store.operator_disabled_at(ops.id).await.unwrap(),
        Some(db.clock.now())
    );
    assert!(
        db.store
            .resume_session(&session.id)
            .await
            .unwrap()
            .is_none()
    );
    for token in [&one, &two, &three] {
        assert_eq!(
            db.store.check_operator_token(token).await.unwrap(),
            TokenCheck::OperatorDisabled
        );
    }
    // A session that slipped in (a sign-in racing the disable) is refused all the same.
    let late = db
        .store
        .start_session(Principal::Operator(ops.id))
        .await
        .unwrap();
    assert!(db.store.resume_session(&late.id).await.unwrap().is_none());
    assert!(matches!(
        db.store
            .sign_in_operator("ops_admin", PASSWORD, "10.0.0.1")
            .await,
        Err(AuthError::OperatorDisabled)
    ));
    assert!(
        matches!(
            db.store
                .sign_in_operator("ops_admin", "wrong", "10.0.0.1")
                .await,
            Err(AuthError::InvalidCredentials)
        ),
        "without the password nobody learns it is disabled"
    );
    assert!(matches!(
        db.store.issue_operator_token(&ops, CLI).await,
        Err(AuthError::OperatorDisabled)
    ));
    // The other operator is untouched.
    assert!(
        db.store
            .resume_session(&others_session.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        db.store
            .operator_for_token(&others_token)
            .await
            .unwrap()
            .is_some()
    );

    assert!(db.store.enable_operator(&ops, CLI).await.unwrap());
    assert!(!db.store.enable_operator(&ops, CLI).await.unwrap());
    assert_eq!(db.store.operator_disabled_at(ops.id).await.unwrap(), None);
    assert_eq!(
        db.store.check_operator_token(&one).await.unwrap(),
        TokenCheck::Revoked,
        "enabling does not bring old tokens back"
    );
    assert!(
        db.store
            .sign_in_operator("ops_admin", PASSWORD, "10.0.0.1")
            .await
            .is_ok()
    );
    let fresh = db.store.issue_operator_token(&ops, CLI).await.unwrap();
    assert!(db.store.operator_for_token(&fresh).await.unwrap().is_some());

    assert_eq!(
        actions(&db).await,
        [
            "operator_token.issue",
            "operator_token.issue",
            "operator_token.issue",
            "operator_token.revoke",
            "operator_token.issue",
            "operator.disable",
            "operator.enable",
            "operator.sign_in",
            "operator_token.issue",
        ]
    );
    let log = db.store.audit_log(None, 100).await.unwrap();
    let disable = log.iter().find(|r| r.action == "operator.disable").unwrap();
    assert_eq!(
        (
            disable.operator_id,
            disable.client.as_str(),
            disable.detail.as_str()
        ),
        (
            ops.id,
            "cli",
            "disabled ops_admin: 1 sessions ended, 2 tokens revoked"
        )
    );
    db.finish().await;
}

async fn disabling_while_tokens_are_issued_leaves_none_alive(db: TestDb) {
    let ops = db
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let issuing: Vec<_> = (0..8)
        .map(|_| {
            let (store, ops) = (db.store.clone(), ops.clone());
            tokio::spawn(async move { store.issue_operator_token(&ops, CLI).await })
        })
        .collect();
    let disabled = db.store.disable_operator(&ops, CLI).await.unwrap();
    assert!(disabled.is_some());
    let mut issued = 0;
    for task in issuing {
        match task.await.unwrap() {
            Ok(token) => {
                issued += 1;
                assert_eq!(
                    db.store.check_operator_token(&token).await.unwrap(),
                    TokenCheck::OperatorDisabled
                );
            }
            Err(AuthError::OperatorDisabled) => {}
            Err(e) => panic!("{e}"),
        }
    }
    db.store.enable_operator(&ops, CLI).await.unwrap();
    let alive = db
        .store
        .operator_tokens(ops.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.status == TokenStatus::Active)
        .count();
    assert_eq!(
        alive, 0,
        "every token issued before the disable was revoked by it"
    );
    assert_eq!(
        disabled.unwrap().tokens_revoked,
        issued as u64,
        "tokens are issued either before the disable (and revoked) or refused after it"
    );
    db.finish().await;
}

on_both_databases!(
    a_token_expires_exactly_at_its_expiry,
    tokens_are_listed_and_revoked_by_id_by_their_own_operator_only,
    a_disabled_operator_has_no_sessions_tokens_or_sign_in,
    disabling_while_tokens_are_issued_leaves_none_alive,
);
