//! Top-ups: opening one moves no money; an online payment is credited once per trade whatever the
//! notifications do; a bank transfer quoting its reference code settles it. Both databases.

mod support;

use backend::LedgerError;
use backend::cash::{CashCredit, CashSource};
use backend::payments::sandbox::SANDBOX_APP_ID;
use backend::topups::{
    OnlinePayment, PaymentError, PaymentOutcome, TopUpMethod, TopUpRequest, TopUpStatus,
};
use billing::Amount;
use support::{TestDb, key};

fn payment(out_trade_no: &str, total_amount: &str) -> OnlinePayment {
    OnlinePayment {
        out_trade_no: out_trade_no.into(),
        provider_trade_no: "2026112322001000000000000001".into(),
        total_amount: total_amount.into(),
    }
}

async fn an_online_top_up_is_credited_once_per_trade(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let request = TopUpRequest {
        account_id: account,
        amount: Amount::from_fen(8_888),
        method: TopUpMethod::Alipay,
    };
    let top_up = db.store.open_top_up(&key("t1"), &request).await.unwrap();
    assert_eq!(top_up.status, TopUpStatus::Pending);
    assert_eq!(
        db.store.open_top_up(&key("t1"), &request).await.unwrap(),
        top_up,
        "a replay opens nothing new"
    );
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::ZERO,
        "opening moves no money"
    );

    let wrong = db
        .store
        .settle_online_payment(&payment(&top_up.reference, "88.89"))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, PaymentError::AmountMismatch { .. }),
        "{wrong}"
    );
    // The gateway reported another amount paid: refused, and flagged once for operators.
    db.store
        .settle_online_payment(&payment(&top_up.reference, "88.89"))
        .await
        .unwrap_err();
    let flags = db.store.payment_flags(false).await.unwrap();
    assert_eq!(
        flags
            .iter()
            .map(|f| (f.top_up_id, f.kind))
            .collect::<Vec<_>>(),
        [(top_up.id, backend::reconciliation::FlagKind::AmountMismatch)]
    );
    let unknown = db
        .store
        .settle_online_payment(&payment("BC20261123999999999999", "88.88"))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PaymentError::UnknownTrade(_)),
        "{unknown}"
    );
    assert_eq!(db.store.account(account).await.unwrap().cash, Amount::ZERO);

    let first = db
        .store
        .settle_online_payment(&payment(&top_up.reference, "88.88"))
        .await
        .unwrap();
    let PaymentOutcome::Credited {
        top_up: paid,
        credited,
    } = first
    else {
        panic!("first notification credits")
    };
    assert_eq!(paid.status, TopUpStatus::Paid);
    assert_eq!(paid.transaction_id, Some(credited.transaction_id));
    assert_eq!(
        paid.provider_trade_no.as_deref(),
        Some("2026112322001000000000000001")
    );
    for _ in 0..5 {
        let again = db
            .store
            .settle_online_payment(&payment(&top_up.reference, "88.880"))
            .await
            .unwrap();
        assert!(matches!(again, PaymentOutcome::AlreadyPaid(_)));
    }
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_fen(8_888)
    );
    assert_eq!(db.store.top_ups(account, 10).await.unwrap(), vec![paid]);
    db.assert_ledger_clean().await;
}

async fn concurrent_notifications_of_one_trade_credit_once(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let request = TopUpRequest {
        account_id: account,
        amount: Amount::from_yuan(50),
        method: TopUpMethod::Alipay,
    };
    let top_up = db.store.open_top_up(&key("t1"), &request).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = db.store.clone();
            let trade = top_up.reference.clone();
            tokio::spawn(
                async move { store.settle_online_payment(&payment(&trade, "50.00")).await },
            )
        })
        .collect();
    let mut credited = 0;
    for task in tasks {
        if let PaymentOutcome::Credited { .. } = task.await.unwrap().unwrap() {
            credited += 1;
        }
    }
    assert_eq!(credited, 1);
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(50)
    );
    db.assert_ledger_clean().await;
}

async fn a_bank_transfer_quoting_the_reference_settles_its_top_up(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let other = db.store.create_billing_account("Other").await.unwrap();
    let request = TopUpRequest {
        account_id: account,
        amount: Amount::from_yuan(1_000),
        method: TopUpMethod::BankTransfer,
    };
    let top_up = db.store.open_top_up(&key("t1"), &request).await.unwrap();
    assert!(top_up.reference.starts_with("BT-"));
    // A bank-transfer reference is not an online trade.
    let online = db
        .store
        .settle_online_payment(&payment(&top_up.reference, "1000.00"))
        .await
        .unwrap_err();
    assert!(matches!(online, PaymentError::UnknownTrade(_)));

    let transfer = |account_id| CashCredit {
        account_id,
        amount: Amount::from_yuan(1_000),
        source: CashSource::BankTransfer,
        reference: top_up.reference.clone(),
    };
    let misdirected = db
        .store
        .credit_cash(&key("r0"), &transfer(other))
        .await
        .unwrap_err();
    assert!(
        matches!(misdirected, LedgerError::ReferenceOfAnotherAccount { owner, .. } if owner == account),
        "{misdirected}"
    );
    assert_eq!(db.store.account(other).await.unwrap().cash, Amount::ZERO);

    let done = db
        .store
        .credit_cash(&key("r1"), &transfer(account))
        .await
        .unwrap();
    let paid = db.store.top_up(account, top_up.id).await.unwrap().unwrap();
    assert_eq!(
        (paid.status, paid.transaction_id),
        (TopUpStatus::Paid, Some(done.transaction_id))
    );
    assert!(
        db.store.top_up(other, top_up.id).await.unwrap().is_none(),
        "another account's top-up is not found"
    );
    let twice = db
        .store
        .credit_cash(&key("r2"), &transfer(account))
        .await
        .unwrap_err();
    assert!(
        matches!(twice, LedgerError::TopUpAlreadyPaid { .. }),
        "{twice}"
    );
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(1_000)
    );
    db.assert_ledger_clean().await;
}

async fn a_bank_transfer_of_another_amount_does_not_settle_its_top_up(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let request = TopUpRequest {
        account_id: account,
        amount: Amount::from_yuan(1_000),
        method: TopUpMethod::BankTransfer,
    };
    let top_up = db.store.open_top_up(&key("t1"), &request).await.unwrap();
    let short = CashCredit {
        account_id: account,
        amount: Amount::from_yuan(500),
        source: CashSource::BankTransfer,
        reference: top_up.reference.clone(),
    };
    let before = db.fingerprint().await;
    let refused = db.store.credit_cash(&key("r1"), &short).await.unwrap_err();
    assert!(
        matches!(&refused, LedgerError::TopUpAmountMismatch { reference, expected, got }
            if *reference == top_up.reference && *expected == Amount::from_yuan(1_000) && *got == Amount::from_yuan(500)),
        "{refused}"
    );
    assert_eq!(
        db.fingerprint().await,
        before,
        "a refused transfer changes nothing"
    );
    assert_eq!(
        db.store
            .top_up(account, top_up.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        TopUpStatus::Pending
    );
    // Recorded under the bank's own receipt number it is plain cash; the top-up stays open.
    let receipt = CashCredit {
        reference: "BANK-0001".into(),
        ..short
    };
    db.store.credit_cash(&key("r2"), &receipt).await.unwrap();
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(500)
    );
    assert_eq!(
        db.store
            .top_up(account, top_up.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        TopUpStatus::Pending
    );
    db.assert_ledger_clean().await;
}

async fn top_ups_refuse_amounts_outside_the_limits(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    for fen in [0, 100_000_001] {
        let request = TopUpRequest {
            account_id: account,
            amount: Amount::from_fen(fen),
            method: TopUpMethod::Alipay,
        };
        assert!(matches!(
            db.store
                .open_top_up(&key(&format!("t{fen}")), &request)
                .await,
            Err(LedgerError::TopUp(_))
        ));
    }
    let missing = TopUpRequest {
        account_id: account + 100,
        amount: Amount::from_yuan(1),
        method: TopUpMethod::Alipay,
    };
    assert!(matches!(
        db.store.open_top_up(&key("t"), &missing).await,
        Err(LedgerError::AccountNotFound(_))
    ));
    assert!(db.store.top_ups(account, 10).await.unwrap().is_empty());
}

async fn the_sandbox_keeps_its_keys_in_the_database(db: TestDb) {
    let first = db
        .store
        .sandbox_alipay("http://127.0.0.1:3000/sandbox/alipay/gateway.do")
        .await
        .unwrap();
    let again = db
        .store
        .sandbox_alipay("http://other/sandbox")
        .await
        .unwrap();
    assert_eq!(first.merchant().app_id, SANDBOX_APP_ID);
    assert_eq!(first.merchant().alipay_key, again.merchant().alipay_key);
    assert_eq!(
        first.merchant().merchant_key.public_key(),
        again.merchant().merchant_key.public_key()
    );
    assert_ne!(
        first.merchant().alipay_key,
        first.merchant().merchant_key.public_key()
    );
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gateway_keys")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(keys, 2);
}

async fn operator(db: &TestDb) -> backend::auth::audit::OperatorAct {
    backend::auth::audit::OperatorAct {
        operator_id: db
            .store
            .create_operator("ops", "correct horse battery")
            .await
            .unwrap()
            .id,
        client: "test".into(),
    }
}

async fn a_bank_reference_differing_in_spaces_case_or_width_credits_once(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let by = operator(&db).await;
    let first = db
        .store
        .record_bank_transfer(&by, account, Amount::from_yuan(50), "BT-ABC ")
        .await
        .unwrap();
    for spelling in ["bt-abc", " BT - ABC", "ＢＴ－ａｂｃ", "bt-\u{3000}abc"] {
        let again = db
            .store
            .record_bank_transfer(&by, account, Amount::from_yuan(50), spelling)
            .await
            .unwrap();
        assert_eq!(again, first, "{spelling:?} is the same receipt: it replays");
        let other_amount = db
            .store
            .record_bank_transfer(&by, account, Amount::from_yuan(51), spelling)
            .await
            .unwrap_err();
        assert!(
            matches!(other_amount, LedgerError::DuplicateReceipt { .. }),
            "{spelling:?}: {other_amount}"
        );
        // The same through the plain credit (another key) is refused as the same receipt.
        let direct = db
            .store
            .credit_cash(
                &key(&format!("direct-{}", spelling.len())),
                &CashCredit {
                    account_id: account,
                    amount: Amount::from_yuan(50),
                    source: CashSource::BankTransfer,
                    reference: spelling.into(),
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(direct, LedgerError::DuplicateReceipt { .. }),
            "{direct}"
        );
    }
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(50)
    );
    let blank = db
        .store
        .record_bank_transfer(&by, account, Amount::from_yuan(50), " \u{3000} ")
        .await
        .unwrap_err();
    assert!(matches!(blank, LedgerError::InvalidReference), "{blank}");
    db.assert_ledger_clean().await;
}

async fn the_code_of_a_paid_top_up_is_refused(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let by = operator(&db).await;
    let top_up = db
        .store
        .open_top_up(
            &key("t1"),
            &TopUpRequest {
                account_id: account,
                amount: Amount::from_yuan(300),
                method: TopUpMethod::BankTransfer,
            },
        )
        .await
        .unwrap();
    db.store
        .record_bank_transfer(&by, account, Amount::from_yuan(300), &top_up.reference)
        .await
        .unwrap();
    // The same code typed again in lower case (a new key) must not credit a second time.
    let lower = top_up.reference.to_lowercase();
    let again = db
        .store
        .record_bank_transfer(&by, account, Amount::from_yuan(299), &lower)
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            LedgerError::DuplicateReceipt { .. } | LedgerError::TopUpAlreadyPaid { .. }
        ),
        "{again}"
    );
    // Quoted under its bank receipt number plus the code, a paid top-up's code is refused.
    let quoted = db
        .store
        .credit_cash(
            &key("r9"),
            &CashCredit {
                account_id: account,
                amount: Amount::from_yuan(300),
                source: CashSource::BankTransfer,
                reference: format!(" {lower} "),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(quoted, LedgerError::TopUpAlreadyPaid { top_up_id, .. } if top_up_id == top_up.id),
        "{quoted}"
    );
    // Without its dash (as bank memos often drop it), with an en dash, or with an invisible
    // character, it is still the paid top-up's code.
    let code = &top_up.reference[3..];
    for (n, spelling) in [
        format!("BT{code}"),
        format!("bt\u{2013}{code}"),
        format!("BT-\u{200b}{code}"),
        format!("\u{feff}BT\u{2212}{}", code.to_lowercase()),
    ]
    .into_iter()
    .enumerate()
    {
        let again = db
            .store
            .credit_cash(
                &key(&format!("respelled-{n}")),
                &CashCredit {
                    account_id: account,
                    amount: Amount::from_yuan(300),
                    source: CashSource::BankTransfer,
                    reference: spelling.clone(),
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(again, LedgerError::TopUpAlreadyPaid { .. }),
            "{spelling:?}: {again}"
        );
    }
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(300)
    );
    db.assert_ledger_clean().await;
}

async fn one_account_cannot_queue_endless_online_top_ups(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let request = |method| TopUpRequest {
        account_id: account,
        amount: Amount::from_yuan(1),
        method,
    };
    for n in 0..backend::topups::MAX_PENDING_ONLINE {
        db.store
            .open_top_up(&key(&format!("t{n}")), &request(TopUpMethod::Alipay))
            .await
            .unwrap();
    }
    let refused = db
        .store
        .open_top_up(&key("one-more"), &request(TopUpMethod::Alipay))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, LedgerError::TooManyPendingTopUps { max: 10 }),
        "{refused}"
    );
    // A replay is still a replay, and a bank transfer is not queried at any gateway.
    db.store
        .open_top_up(&key("t0"), &request(TopUpMethod::Alipay))
        .await
        .unwrap();
    db.store
        .open_top_up(&key("bank"), &request(TopUpMethod::BankTransfer))
        .await
        .unwrap();
}

on_both_databases!(
    one_account_cannot_queue_endless_online_top_ups,
    a_bank_reference_differing_in_spaces_case_or_width_credits_once,
    the_code_of_a_paid_top_up_is_refused,
    an_online_top_up_is_credited_once_per_trade,
    concurrent_notifications_of_one_trade_credit_once,
    a_bank_transfer_quoting_the_reference_settles_its_top_up,
    a_bank_transfer_of_another_amount_does_not_settle_its_top_up,
    top_ups_refuse_amounts_outside_the_limits,
    the_sandbox_keeps_its_keys_in_the_database,
);
