//! Customers, sessions, the sign-in rate limiter, operators and the audit log, on both databases.

mod support;

use backend::auth::AuthError;
use backend::auth::customers::{ProfileUpdate, SignUp};
use backend::auth::rate_limit::Action;
use backend::auth::sessions::Principal;
use chrono::Duration;
use support::TestDb;

const PASSWORD: &str = "correct horse battery";

fn sign_up(username: &str) -> SignUp {
    SignUp {
        username: username.into(),
        email: format!("{username}@example.com"),
        phone: None,
        password: PASSWORD.into(),
        language: None,
    }
}

async fn sign_up_opens_an_account_and_sign_in_works_by_username_or_email(db: TestDb) {
    let alice = db
        .store
        .sign_up(&SignUp {
            email: " Alice@Example.com ".into(),
            ..sign_up("alice")
        })
        .await
        .unwrap();
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(
        db.store
            .account(alice.billing_account_id)
            .await
            .unwrap()
            .name,
        "alice"
    );
    let by_name = db
        .store
        .sign_in_customer("alice", PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    let by_email = db
        .store
        .sign_in_customer("ALICE@example.com", PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!((by_name.id, by_email.id), (alice.id, alice.id));

    let taken = db
        .store
        .sign_up(&SignUp {
            email: "other@example.com".into(),
            ..sign_up("alice")
        })
        .await
        .unwrap_err();
    assert!(matches!(taken, AuthError::UsernameTaken), "{taken}");
    let email_taken = db
        .store
        .sign_up(&SignUp {
            email: "alice@EXAMPLE.com".into(),
            ..sign_up("bob")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(email_taken, AuthError::EmailTaken),
        "{email_taken}"
    );
    for (request, field) in [
        (
            SignUp {
                username: "Bob".into(),
                ..sign_up("bob")
            },
            "username",
        ),
        (
            SignUp {
                email: "bob".into(),
                ..sign_up("bob")
            },
            "email",
        ),
        (
            SignUp {
                phone: Some("call me".into()),
                ..sign_up("bob")
            },
            "phone",
        ),
        (
            SignUp {
                password: "bob".into(),
                ..sign_up("bob")
            },
            "password",
        ),
        (
            SignUp {
                password: "iloveyou".into(),
                ..sign_up("bob")
            },
            "password",
        ),
        (
            SignUp {
                password: "bob_the_builder".into(),
                ..sign_up("bob_the_builder")
            },
            "password",
        ),
    ] {
        let err = db.store.sign_up(&request).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM billing_accounts")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(accounts, 1, "refused sign-ups open no account");
    db.finish().await;
}

async fn an_unknown_login_does_the_same_work_and_gets_the_same_error_as_a_wrong_password(
    db: TestDb,
) {
    db.store.sign_up(&sign_up("alice")).await.unwrap();
    let before = db.store.password_checks();
    let wrong = db
        .store
        .sign_in_customer("alice", "not the password", "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(
        db.store.password_checks(),
        before + 1,
        "a wrong password runs argon2 once"
    );
    let unknown = db
        .store
        .sign_in_customer("nobody", "not the password", "10.0.0.2")
        .await
        .unwrap_err();
    assert_eq!(
        db.store.password_checks(),
        before + 2,
        "an unknown login runs argon2 once too"
    );
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert!(matches!(unknown, AuthError::InvalidCredentials));
    db.finish().await;
}

/// A customer session carries the customer's billing account; one whose customer is gone ends
/// (and its row is deleted) instead of acting for nobody.
async fn a_customer_session_whose_customer_is_gone_ends(db: TestDb) {
    let bob = db.store.sign_up(&sign_up("bob")).await.unwrap();
    let session = db
        .store
        .start_session(Principal::Customer(bob.id))
        .await
        .unwrap();
    for table in ["email_tokens", "customers"] {
        let column = if table == "customers" {
            "id"
        } else {
            "customer_id"
        };
        sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
            .bind(bob.id)
            .execute(db.store.pool())
            .await
            .unwrap();
    }
    assert!(
        db.store
            .resume_session(&session.id)
            .await
            .unwrap()
            .is_none()
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    db.finish().await;
}

async fn sessions_expire_when_idle_or_old_and_get_a_new_id_each_time(db: TestDb) {
    let alice = db.store.sign_up(&sign_up("alice")).await.unwrap();
    let principal = Principal::Customer(alice.id);
    let first = db.store.start_session(principal).await.unwrap();
    let second = db.store.start_session(principal).await.unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(first.id.len(), 32, "128 bits as hex");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id_sha256 = $1")
        .bind(&first.id)
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "the raw id is not stored");

    db.clock.advance(Duration::minutes(29));
    let active = db
        .store
        .resume_session(&first.id)
        .await
        .unwrap()
        .expect("29 minutes idle is alive");
    assert_eq!(
        (active.principal, active.account_id, active.csrf_token),
        (
            principal,
            Some(alice.billing_account_id),
            first.csrf_token.clone()
        )
    );
    db.clock.advance(Duration::minutes(29));
    assert!(
        db.store.resume_session(&first.id).await.unwrap().is_some(),
        "using it reset the idle clock"
    );
    assert!(
        db.store.resume_session(&second.id).await.unwrap().is_none(),
        "58 idle minutes ended the other"
    );

    // Used every 20 minutes, it still ends 12 hours after sign-in.
    let mut alive_until = Duration::minutes(58);
    while alive_until < Duration::hours(12) - Duration::minutes(20) {
        db.clock.advance(Duration::minutes(20));
        alive_until += Duration::minutes(20);
        assert!(db.store.resume_session(&first.id).await.unwrap().is_some());
    }
    db.clock.advance(Duration::minutes(20));
    assert!(
        db.store.resume_session(&first.id).await.unwrap().is_none(),
        "absolute lifetime"
    );
    assert!(
        db.store
            .resume_session("not-a-session")
            .await
            .unwrap()
            .is_none()
    );

    let session = db.store.start_session(principal).await.unwrap();
    db.store.end_session(&session.id).await.unwrap();
    assert!(
        db.store
            .resume_session(&session.id)
            .await
            .unwrap()
            .is_none(),
        "signed out"
    );
    db.finish().await;
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(db: TestDb) {
    let alice = db.store.sign_up(&sign_up("alice")).await.unwrap();
    let principal = Principal::Customer(alice.id);
    let here = db.store.start_session(principal).await.unwrap();
    let elsewhere = db.store.start_session(principal).await.unwrap();
    let wrong = db
        .store
        .change_password(
            alice.id,
            "guess",
            "a brand new secret",
            Some(&here.id),
            "10.0.0.1",
        )
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::WrongCurrentPassword));
    let weak = db
        .store
        .change_password(alice.id, PASSWORD, "password", Some(&here.id), "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(weak.field(), Some("password"));
    assert!(
        db.store
            .resume_session(&elsewhere.id)
            .await
            .unwrap()
            .is_some(),
        "refused changes end nothing"
    );

    db.store
        .change_password(
            alice.id,
            PASSWORD,
            "a brand new secret",
            Some(&here.id),
            "10.0.0.1",
        )
        .await
        .unwrap();
    assert!(db.store.resume_session(&here.id).await.unwrap().is_some());
    assert!(
        db.store
            .resume_session(&elsewhere.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .sign_in_customer("alice", PASSWORD, "c")
            .await
            .is_err()
    );
    assert!(
        db.store
            .sign_in_customer("alice", "a brand new secret", "c")
            .await
            .is_ok()
    );

    let profile = ProfileUpdate {
        email: "alice@corp.example".into(),
        phone: Some("+86 138 0000 0000".into()),
        contact_name: Some("Alice Li".into()),
        company: Some("Acme".into()),
    };
    let updated = db.store.update_profile(alice.id, &profile).await.unwrap();
    assert_eq!(
        (updated.email.as_str(), updated.company.as_deref()),
        ("alice@corp.example", Some("Acme"))
    );
    db.store.sign_up(&sign_up("bob")).await.unwrap();
    let clash = db
        .store
        .update_profile(
            alice.id,
            &ProfileUpdate {
                email: "bob@example.com".into(),
                ..profile
            },
        )
        .await;
    assert!(matches!(clash, Err(AuthError::EmailTaken)));
    db.finish().await;
}

async fn sign_in_is_rate_limited_per_login_and_client_but_not_forever(db: TestDb) {
    db.store.sign_up(&sign_up("alice")).await.unwrap();
    for _ in 0..5 {
        assert!(matches!(
            db.store
                .sign_in_customer("alice", "wrong", "10.0.0.1")
                .await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    let limited = db
        .store
        .sign_in_customer("alice", PASSWORD, "10.0.0.1")
        .await
        .unwrap_err();
    assert!(
        matches!(limited, AuthError::RateLimited { retry_after_secs } if retry_after_secs > 0 && retry_after_secs <= 900),
        "{limited}"
    );
    assert!(
        db.store
            .sign_in_customer("alice", PASSWORD, "10.0.0.2")
            .await
            .is_ok(),
        "another address is not locked out"
    );
    db.clock.advance(Duration::minutes(15));
    assert!(
        db.store
            .sign_in_customer("alice", PASSWORD, "10.0.0.1")
            .await
            .is_ok(),
        "the window passes"
    );

    // One address trying many logins.
    for n in 0..20 {
        let _ = db
            .store
            .sign_in_customer(&format!("user{n}"), "wrong", "10.0.0.9")
            .await;
    }
    let sprayed = db
        .store
        .sign_in_customer("alice", PASSWORD, "10.0.0.9")
        .await
        .unwrap_err();
    assert!(
        matches!(sprayed, AuthError::RateLimited { .. }),
        "{sprayed}"
    );
    db.finish().await;
}

async fn operators_have_revocable_tokens_and_every_action_is_audited(db: TestDb) {
    let operator = db
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    assert!(matches!(
        db.store.create_operator("ops_admin", PASSWORD).await,
        Err(AuthError::UsernameTaken)
    ));
    assert!(
        db.store
            .sign_in_operator("ops_admin", PASSWORD, "10.1.1.1")
            .await
            .is_ok()
    );
    assert!(matches!(
        db.store
            .sign_in_operator("ops_admin", "nope", "10.1.1.1")
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(
        db.store
            .sign_in_customer("ops_admin", PASSWORD, "10.1.1.1")
            .await
            .is_err(),
        "operators are not customers"
    );

    let token = db
        .store
        .issue_operator_token(&operator, "cli")
        .await
        .unwrap();
    assert!(token.starts_with("bco_") && token.len() == 68);
    assert_eq!(
        db.store.operator_for_token(&token).await.unwrap(),
        Some(operator.clone())
    );
    assert!(db.store.revoke_operator_token(&token, "cli").await.unwrap());
    assert_eq!(db.store.operator_for_token(&token).await.unwrap(), None);
    assert!(!db.store.revoke_operator_token(&token, "cli").await.unwrap());

    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .audit(
            operator.id,
            "account.view",
            Some(account),
            "opened the account page",
            "10.1.1.1",
        )
        .await
        .unwrap();
    let log = db.store.audit_log(None, 10).await.unwrap();
    let actions: Vec<_> = log.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.view",
            "operator_token.revoke",
            "operator_token.issue",
            "operator.sign_in"
        ]
    );
    assert_eq!(
        db.store.audit_log(Some(account), 10).await.unwrap().len(),
        1
    );
    let edit = sqlx::query("UPDATE audit_log SET detail = 'nothing happened'")
        .execute(db.store.pool())
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(db.store.pool())
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    db.finish().await;
}

async fn a_burst_of_parallel_guesses_gets_no_more_than_the_limit(db: TestDb) {
    db.store.sign_up(&sign_up("alice")).await.unwrap();
    db.store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    let guesses: Vec<_> = (0..16)
        .map(|n| {
            let store = db.store.clone();
            // Username and email are one account to the limiter.
            let login = if n % 2 == 0 {
                "alice"
            } else {
                "ALICE@example.com"
            };
            tokio::spawn(async move {
                store
                    .sign_in_customer(login, "wrong guess", "10.0.0.1")
                    .await
            })
        })
        .collect();
    let mut wrong = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(AuthError::InvalidCredentials) => wrong += 1,
            Err(AuthError::RateLimited { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(wrong <= 5, "{wrong} guesses were checked");
    // Guessing on one at a time after the burst: 5 guesses in all, never more.
    loop {
        match db
            .store
            .sign_in_customer("alice", "wrong guess", "10.0.0.1")
            .await
        {
            Err(AuthError::InvalidCredentials) => wrong += 1,
            Err(AuthError::RateLimited { .. }) => break,
            other => panic!("{other:?}"),
        }
        assert!(wrong <= 5, "{wrong} guesses were checked");
    }
    assert_eq!(wrong, 5);
    assert!(matches!(
        db.store
            .sign_in_customer("alice", PASSWORD, "10.0.0.1")
            .await,
        Err(AuthError::RateLimited { .. })
    ));

    // An operator login with spaces or capitals is the same operator to the limiter.
    for login in [
        "ops_admin",
        " ops_admin",
        "OPS_ADMIN ",
        "\tops_admin",
        "ops_admin  ",
    ] {
        let _ = db
            .store
            .sign_in_operator(login, "wrong guess", "10.0.0.2")
            .await;
    }
    let limited = db
        .store
        .sign_in_operator("ops_admin", PASSWORD, "10.0.0.2")
        .await;
    assert!(
        matches!(limited, Err(AuthError::RateLimited { .. })),
        "{limited:?}"
    );
    db.finish().await;
}

async fn guessing_the_current_password_is_limited_too(db: TestDb) {
    let alice = db.store.sign_up(&sign_up("alice")).await.unwrap();
    for _ in 0..5 {
        let err = db
            .store
            .change_password(alice.id, "guess", "a brand new secret", None, "10.0.0.1")
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::WrongCurrentPassword));
    }
    let err = db
        .store
        .change_password(alice.id, PASSWORD, "a brand new secret", None, "10.0.0.1")
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::RateLimited { .. }), "{err}");
    db.finish().await;
}

async fn password_changes_are_limited_per_account_and_address_not_for_everybody(db: TestDb) {
    // Five accounts guess wrong five times each, each from its own address: 25 failures in all,
    // more than any one bucket allows (they once all counted in one global bucket of 20).
    let mut guessers = Vec::new();
    for n in 0..5 {
        let customer = db
            .store
            .sign_up(&sign_up(&format!("guesser{n}")))
            .await
            .unwrap();
        for _ in 0..5 {
            let err = db
                .store
                .change_password(
                    customer.id,
                    "guess",
                    "a brand new secret",
                    None,
                    &format!("10.0.1.{n}"),
                )
                .await
                .unwrap_err();
            assert!(matches!(err, AuthError::WrongCurrentPassword), "{err}");
        }
        guessers.push(customer);
    }
    let bob = db.store.sign_up(&sign_up("bob")).await.unwrap();
    db.store
        .change_password(bob.id, PASSWORD, "a brand new secret", None, "10.0.2.1")
        .await
        .expect("bob is not locked out by other accounts' failures");
    // Each guesser is limited, from any address, and a refusal checks no password.
    let checks = db.store.password_checks();
    let err = db
        .store
        .change_password(
            guessers[0].id,
            PASSWORD,
            "a brand new secret",
            None,
            "10.0.3.3",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::RateLimited { retry_after_secs } if retry_after_secs <= 900),
        "{err}"
    );
    assert_eq!(
        db.store.password_checks(),
        checks,
        "no argon2 work when refused"
    );

    // One address guessing for many accounts is limited at 20.
    let mut sprayed = Vec::new();
    for n in 0..6 {
        sprayed.push(
            db.store
                .sign_up(&sign_up(&format!("sprayed{n}")))
                .await
                .unwrap(),
        );
    }
    let mut limited = None;
    for n in 0..21 {
        let result = db
            .store
            .change_password(sprayed[n % 6].id, "guess", "x", None, "10.0.9.9")
            .await;
        match result {
            Err(AuthError::WrongCurrentPassword) => {}
            Err(AuthError::RateLimited { .. }) => {
                limited = Some(n);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        limited,
        Some(20),
        "the 21st guess from one address is refused"
    );
    db.finish().await;
}

async fn each_action_counts_in_buckets_of_its_own(db: TestDb) {
    let alice = db.store.sign_up(&sign_up("alice")).await.unwrap();
    let account = format!("account#{}", alice.billing_account_id);
    // Failed activations from one address: more than sign-in would allow from it.
    for _ in 0..10 {
        db.store
            .begin_attempt(Action::CodeActivation, &account, "10.0.0.1")
            .await
            .unwrap();
    }
    let refused = db
        .store
        .begin_attempt(Action::CodeActivation, &account, "10.0.0.1")
        .await;
    assert!(
        matches!(refused, Err(AuthError::RateLimited { .. })),
        "{refused:?}"
    );
    for n in 0..20 {
        db.store
            .begin_attempt(
                Action::CodeActivation,
                &format!("account#{}", 1000 + n),
                "10.0.0.1",
            )
            .await
            .unwrap_or_else(|e| panic!("attempt {n}: {e}"));
    }
    // Wrong current passwords from the same address.
    for _ in 0..5 {
        let _ = db
            .store
            .change_password(alice.id, "guess", "a brand new secret", None, "10.0.0.1")
            .await;
    }
    assert!(
        db.store
            .sign_in_customer("alice", PASSWORD, "10.0.0.1")
            .await
            .is_ok(),
        "activations and password changes do not use up sign-in's allowance"
    );
    // And failed sign-ins do not use up activation's or the operators' allowance.
    let ops = db
        .store
        .create_operator("ops_admin", PASSWORD)
        .await
        .unwrap();
    for n in 0..20 {
        let _ = db
            .store
            .sign_in_customer(&format!("nobody{n}"), "wrong", "10.0.0.2")
            .await;
    }
    assert!(matches!(
        db.store
            .sign_in_customer("alice", PASSWORD, "10.0.0.2")
            .await,
        Err(AuthError::RateLimited { .. })
    ));
    assert_eq!(
        db.store
            .sign_in_operator("ops_admin", PASSWORD, "10.0.0.2")
            .await
            .unwrap(),
        ops
    );
    db.store
        .begin_attempt(Action::CodeActivation, &account, "10.0.0.2")
        .await
        .expect_err("alice's own activation limit still holds");
    db.clock.advance(Duration::minutes(15));
    db.store
        .begin_attempt(Action::CodeActivation, &account, "10.0.0.2")
        .await
        .expect("the window passes");
    db.finish().await;
}

async fn sign_up_is_limited_per_address_and_a_refusal_does_no_hashing(db: TestDb) {
    // Every attempt counts, a refused or a successful one alike.
    let weak = db
        .store
        .sign_up_from(
            &SignUp {
                password: "password".into(),
                ..sign_up("weakling")
            },
            "10.0.0.1",
        )
        .await;
    assert!(matches!(weak, Err(AuthError::WeakPassword(_))));
    for n in 0..9 {
        db.store
            .sign_up_from(&sign_up(&format!("user{n}")), "10.0.0.1")
            .await
            .unwrap();
    }
    let hashes = db.store.password_hashes();
    let refused = db
        .store
        .sign_up_from(&sign_up("one_more"), "10.0.0.1")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AuthError::RateLimited { retry_after_secs } if retry_after_secs > 900 && retry_after_secs <= 3600),
        "{refused}"
    );
    assert_eq!(
        db.store.password_hashes(),
        hashes,
        "no argon2 work when refused"
    );
    assert!(matches!(
        db.store.customer_by_username("one_more").await,
        Err(AuthError::NotFound(_))
    ));
    db.store
        .sign_up_from(&sign_up("elsewhere"), "10.0.0.2")
        .await
        .expect("another address has its own allowance");
    assert_eq!(db.store.password_hashes(), hashes + 1);
    db.clock.advance(Duration::minutes(59));
    assert!(
        db.store
            .sign_up_from(&sign_up("one_more"), "10.0.0.1")
            .await
            .is_err()
    );
    db.clock.advance(Duration::minutes(1));
    db.store
        .sign_up_from(&sign_up("one_more"), "10.0.0.1")
        .await
        .expect("an hour later the first attempt has aged out");
    // The limit is the store's to configure (SIGN_UPS_PER_HOUR).
    let strict = db.store.clone().with_sign_ups_per_hour(1);
    strict
        .sign_up_from(&sign_up("first"), "10.0.0.3")
        .await
        .unwrap();
    assert!(matches!(
        strict.sign_up_from(&sign_up("second"), "10.0.0.3").await,
        Err(AuthError::RateLimited { .. })
    ));
    db.finish().await;
}

on_both_databases!(
    password_changes_are_limited_per_account_and_address_not_for_everybody,
    each_action_counts_in_buckets_of_its_own,
    sign_up_is_limited_per_address_and_a_refusal_does_no_hashing,
    a_burst_of_parallel_guesses_gets_no_more_than_the_limit,
    guessing_the_current_password_is_limited_too,
    sign_up_opens_an_account_and_sign_in_works_by_username_or_email,
    an_unknown_login_does_the_same_work_and_gets_the_same_error_as_a_wrong_password,
    sessions_expire_when_idle_or_old_and_get_a_new_id_each_time,
    a_customer_session_whose_customer_is_gone_ends,
    changing_the_password_needs_the_current_one_and_ends_other_sessions,
    sign_in_is_rate_limited_per_login_and_client_but_not_forever,
    operators_have_revocable_tokens_and_every_action_is_audited,
);
