//! The money operations, each run against SQLite and PostgreSQL.

mod support;

use backend::LedgerError;
use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::prepaid_cards::{PrepaidCardAssignment, PrepaidCardPurchase};
use backend::vouchers::{ActivationCodeBatch, CodeActivation, VoucherIssue};
use billing::wallet_rules::{PrepaidCardError, TopUpError, VoucherValidity};
use billing::{Amount, BillingItem, Charge, Settlement};
use chrono::{Duration, NaiveDate};
use support::{TestDb, key, start};

fn yuan(y: i64) -> Amount {
    Amount::from_yuan(y)
}

fn credit(account_id: i64, amount: Amount, reference: &str) -> CashCredit {
    CashCredit {
        account_id,
        amount,
        source: CashSource::OnlinePayment,
        reference: reference.into(),
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
}

fn bill(account_id: i64, workspace: &str, d: u32, charges: &[(BillingItem, i64)]) -> BillCharge {
    BillCharge {
        usage: Vec::new(),
        account_id,
        workspace_id: workspace.into(),
        day: day(d),
        cloud_subscription: None,
        settlement: Settlement::Account,
        charges: charges
            .iter()
            .map(|&(item, y)| Charge {
                item,
                amount: yuan(y),
            })
            .collect(),
    }
}

async fn postings_of(db: &TestDb, transaction_id: i64) -> Vec<(String, Option<i64>, i64)> {
    sqlx::query_as::<_, (String, Option<i64>, i64)>(
        "SELECT ledger_account, instrument_id, amount_fen FROM postings WHERE transaction_id = $1 ORDER BY id",
    )
    .bind(transaction_id)
    .fetch_all(db.store.pool())
    .await
    .unwrap()
}

async fn a_top_up_pays_arrears_first_and_only_the_rest_becomes_cash(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .charge_bill(
            &key("b1"),
            &bill(account, "ws-1", 1, &[(BillingItem::Logs, 30)]),
        )
        .await
        .unwrap();
    assert_eq!(db.store.account(account).await.unwrap().arrears, yuan(30));

    let done = db
        .store
        .credit_cash(&key("pay-1"), &credit(account, yuan(100), "pay-1"))
        .await
        .unwrap();
    assert_eq!(
        (done.paid_arrears, done.added_to_cash),
        (yuan(30), yuan(70))
    );
    assert_eq!(
        (done.cash_after, done.arrears_after),
        (yuan(70), Amount::ZERO)
    );
    assert_eq!(
        postings_of(&db, done.transaction_id).await,
        [
            ("payment_clearing".into(), None, -10_000),
            ("arrears_receivable".into(), None, 3_000),
            ("customer_cash".into(), None, 7_000)
        ]
    );
    let small = db
        .store
        .credit_cash(
            &key("pay-2"),
            &credit(account, Amount::from_fen(1), "pay-2"),
        )
        .await
        .unwrap();
    assert_eq!(small.cash_after, Amount::from_fen(7_001));
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_replayed_key_returns_the_first_result_and_a_reused_key_is_refused(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let first = db
        .store
        .credit_cash(&key("pay-1"), &credit(account, yuan(10), "pay-1"))
        .await
        .unwrap();
    let before = db.fingerprint().await;
    let again = db
        .store
        .credit_cash(&key("pay-1"), &credit(account, yuan(10), "pay-1"))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(db.fingerprint().await, before);

    let reused = db
        .store
        .credit_cash(&key("pay-1"), &credit(account, yuan(11), "pay-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(reused, LedgerError::IdempotencyKeyReused { .. }),
        "{reused}"
    );
    let other_operation = db
        .store
        .buy_prepaid_card(
            &key("pay-1"),
            &PrepaidCardPurchase {
                account_id: account,
                denomination: yuan(100),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(other_operation, LedgerError::IdempotencyKeyReused { .. }),
        "{other_operation}"
    );
    assert_eq!(db.fingerprint().await, before);
    db.finish().await;
}

async fn bad_requests_get_specific_errors_and_change_nothing(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .credit_cash(&key("pay-1"), &credit(account, yuan(150), "pay-1"))
        .await
        .unwrap();
    let before = db.fingerprint().await;

    let zero = db
        .store
        .credit_cash(&key("k1"), &credit(account, Amount::ZERO, "k1"))
        .await
        .unwrap_err();
    assert!(matches!(zero, LedgerError::TopUp(TopUpError::TooSmall)));
    let huge = db
        .store
        .credit_cash(&key("k2"), &credit(account, yuan(1_000_001), "k2"))
        .await
        .unwrap_err();
    assert!(matches!(huge, LedgerError::TopUp(TopUpError::TooLarge(_))));
    let nobody = db
        .store
        .credit_cash(&key("k3"), &credit(account + 1000, yuan(1), "k3"))
        .await
        .unwrap_err();
    assert!(matches!(nobody, LedgerError::AccountNotFound(_)));
    let no_reference = CashCredit {
        reference: String::new(),
        ..credit(account, yuan(1), "x")
    };
    assert!(matches!(
        db.store.credit_cash(&key("k4"), &no_reference).await,
        Err(LedgerError::InvalidReference)
    ));

    let buy = |denomination| PrepaidCardPurchase {
        account_id: account,
        denomination,
    };
    let odd = db
        .store
        .buy_prepaid_card(&key("k5"), &buy(yuan(150)))
        .await
        .unwrap_err();
    assert!(matches!(
        odd,
        LedgerError::PrepaidCard(PrepaidCardError::NotMultipleOf100(_))
    ));
    let small = db
        .store
        .buy_prepaid_card(&key("k6"), &buy(yuan(0)))
        .await
        .unwrap_err();
    assert!(matches!(
        small,
        LedgerError::PrepaidCard(PrepaidCardError::BelowMinimum(_))
    ));
    let poor = db
        .store
        .buy_prepaid_card(&key("k7"), &buy(yuan(200)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            poor,
            LedgerError::PrepaidCard(PrepaidCardError::InsufficientCash { .. })
        ),
        "{poor}"
    );

    let empty_bill = bill(account, "ws-1", 1, &[]);
    assert!(matches!(
        db.store.charge_bill(&key("k8"), &empty_bill).await,
        Err(LedgerError::InvalidChargeCount { .. })
    ));
    let bad_workspace = bill(account, "ws 1;", 1, &[(BillingItem::Logs, 1)]);
    assert!(matches!(
        db.store.charge_bill(&key("k9"), &bad_workspace).await,
        Err(LedgerError::InvalidWorkspaceId(_))
    ));

    let zero_voucher = VoucherIssue {
        account_id: account,
        face_value: Amount::ZERO,
        validity: VoucherValidity::DaysFromActivation(30),
    };
    assert!(matches!(
        db.store.issue_voucher(&key("k10"), &zero_voucher).await,
        Err(LedgerError::InvalidFaceValue { .. })
    ));
    let no_days = VoucherIssue {
        face_value: yuan(5),
        validity: VoucherValidity::DaysFromActivation(0),
        ..zero_voucher
    };
    assert!(matches!(
        db.store.issue_voucher(&key("k11"), &no_days).await,
        Err(LedgerError::VoucherValidity(_))
    ));

    assert_eq!(db.fingerprint().await, before);
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn activation_codes_are_used_once_by_one_account_and_expire(db: TestDb) {
    let alice = db.store.create_billing_account("Alice").await.unwrap();
    let bob = db.store.create_billing_account("Bob").await.unwrap();
    let batch = ActivationCodeBatch {
        face_value: yuan(50),
        validity: VoucherValidity::DaysFromActivation(30),
        count: 3,
        redeem_by: start() + Duration::days(10),
    };
    let generated = db
        .store
        .generate_activation_codes(&key("batch-1"), &batch)
        .await
        .unwrap();
    assert_eq!(generated.codes.len(), 3);
    assert_eq!(
        db.store
            .generate_activation_codes(&key("batch-1"), &batch)
            .await
            .unwrap(),
        generated
    );

    let activate = |account_id, code: &str| CodeActivation {
        account_id,
        code: code.to_owned(),
    };
    let typed = generated.codes[0].to_lowercase().replace('-', " ");
    let voucher = db
        .store
        .activate_code(&key("act-1"), &activate(alice, &typed))
        .await
        .unwrap()
        .voucher;
    assert_eq!((voucher.face_value, voucher.balance), (yuan(50), yuan(50)));
    assert_eq!(
        (voucher.valid_from, voucher.valid_until),
        (start(), start() + Duration::days(30))
    );
    assert!(voucher.number.starts_with("RV"));

    let before = db.fingerprint().await;
    let used = db
        .store
        .activate_code(&key("act-2"), &activate(bob, &generated.codes[0]))
        .await
        .unwrap_err();
    assert!(matches!(used, LedgerError::CodeAlreadyUsed(_)), "{used}");
    let again = db
        .store
        .activate_code(&key("act-3"), &activate(alice, &generated.codes[0]))
        .await
        .unwrap_err();
    assert!(matches!(again, LedgerError::CodeAlreadyUsed(_)), "{again}");
    let wrong = db
        .store
        .activate_code(&key("act-4"), &activate(bob, "AAAA-BBBB-CCCC-DDDD"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, LedgerError::CodeNotFound(_)), "{wrong}");
    db.clock.advance(Duration::days(10));
    let late = db
        .store
        .activate_code(&key("act-5"), &activate(bob, &generated.codes[1]))
        .await
        .unwrap_err();
    assert!(matches!(late, LedgerError::CodeExpired { .. }), "{late}");
    assert_eq!(db.fingerprint().await, before);
    assert_eq!(db.store.account(bob).await.unwrap().instruments, []);
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_fixed_window_code_cannot_be_activated_after_its_window(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let batch = ActivationCodeBatch {
        face_value: yuan(5),
        validity: VoucherValidity::Fixed {
            valid_from: start(),
            valid_until: start() + Duration::days(3),
        },
        count: 1,
        redeem_by: start() + Duration::days(30),
    };
    let code = db
        .store
        .generate_activation_codes(&key("b"), &batch)
        .await
        .unwrap()
        .codes
        .remove(0);
    db.clock.advance(Duration::days(3));
    let err = db
        .store
        .activate_code(
            &key("a"),
            &CodeActivation {
                account_id: account,
                code,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::CodeExpired { .. }), "{err}");
    db.finish().await;
}

async fn buying_a_prepaid_card_takes_cash_and_gives_the_gift_voucher_in_one_transaction(
    db: TestDb,
) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .credit_cash(&key("pay"), &credit(account, yuan(30_050), "pay"))
        .await
        .unwrap();
    let bought = db
        .store
        .buy_prepaid_card(
            &key("card-1"),
            &PrepaidCardPurchase {
                account_id: account,
                denomination: yuan(30_000),
            },
        )
        .await
        .unwrap();
    assert_eq!(bought.cash_after, yuan(50));
    assert_eq!(bought.card.balance, yuan(30_000));
    assert_eq!(bought.card.valid_until, start() + Duration::days(365));
    let gift = bought
        .gift_discount_voucher
        .clone()
        .expect("30,000 reaches the 5,000 tier");
    assert_eq!(
        (gift.face_value, gift.valid_until),
        (yuan(5_000), bought.card.valid_until)
    );
    assert_eq!(
        postings_of(&db, bought.transaction_id).await,
        [
            ("customer_cash".into(), None, -3_000_000),
            ("instrument".into(), Some(bought.card.id), 3_000_000),
            ("instrument".into(), Some(gift.id), 500_000),
            ("promotion".into(), None, -500_000),
        ]
    );
    let assigned = db
        .store
        .assign_prepaid_card(
            &key("assign-1"),
            &PrepaidCardAssignment {
                account_id: account,
                denomination: yuan(100),
                assigned_by: "partner:42".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        postings_of(&db, assigned.transaction_id).await[0],
        ("partner_clearing".into(), None, -10_000)
    );
    let snapshot = db.store.account(account).await.unwrap();
    assert_eq!(snapshot.cash, yuan(50));
    assert_eq!(snapshot.instruments.len(), 3);
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_bill_is_paid_by_the_waterfall_with_one_posting_per_instrument_taken(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let voucher = db
        .store
        .issue_voucher(
            &key("v"),
            &VoucherIssue {
                account_id: account,
                face_value: yuan(10),
                validity: VoucherValidity::DaysFromActivation(30),
            },
        )
        .await
        .unwrap()
        .voucher;
    db.store
        .credit_cash(&key("pay"), &credit(account, yuan(5), "pay"))
        .await
        .unwrap();
    db.clock.advance(Duration::hours(1));
    let request = bill(
        account,
        "ws-1",
        1,
        &[(BillingItem::Sms, 3), (BillingItem::Logs, 20)],
    );
    let charged = db
        .store
        .charge_bill(&key("bill-ws-1-01"), &request)
        .await
        .unwrap();
    assert_eq!(charged.charged_at, start() + Duration::hours(1));
    // SMS never uses vouchers: cash 3. Logs: voucher 10, cash 2, arrears 8.
    let paid: Vec<Vec<(String, Amount)>> = charged
        .lines
        .iter()
        .map(|l| {
            l.paid
                .iter()
                .map(|p| (p.source.clone(), p.amount))
                .collect()
        })
        .collect();
    assert_eq!(
        paid,
        [
            vec![("cash".to_owned(), yuan(3))],
            vec![
                (voucher.number.clone(), yuan(10)),
                ("cash".to_owned(), yuan(2)),
                ("arrears".to_owned(), yuan(8))
            ]
        ]
    );
    assert_eq!(
        (charged.cash_after, charged.arrears_after),
        (Amount::ZERO, yuan(8))
    );
    let postings = postings_of(&db, charged.transaction_id).await;
    assert_eq!(postings.len(), 6, "{postings:?}");
    assert!(postings.contains(&("instrument".into(), Some(voucher.id), -1_000)));
    let with_line: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM postings WHERE transaction_id = $1 AND bill_line_id IS NOT NULL",
    )
    .bind(charged.transaction_id)
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(with_line, 6, "every posting of a bill names its line");

    let before = db.fingerprint().await;
    assert_eq!(
        db.store
            .charge_bill(&key("bill-ws-1-01"), &request)
            .await
            .unwrap(),
        charged
    );
    assert_eq!(
        db.store
            .charge_bill(&key("another-key"), &request)
            .await
            .unwrap(),
        charged
    );
    let different = bill(account, "ws-1", 1, &[(BillingItem::Logs, 1)]);
    let conflict = db
        .store
        .charge_bill(&key("third-key"), &different)
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, LedgerError::BillConflict { .. }),
        "{conflict}"
    );
    assert_eq!(db.fingerprint().await, before);

    let cloud = BillCharge {
        usage: Vec::new(),
        settlement: Settlement::Cloud,
        ..bill(account, "ws-2", 1, &[(BillingItem::Logs, 4)])
    };
    let charged = db
        .store
        .charge_bill(&key("bill-ws-2-01"), &cloud)
        .await
        .unwrap();
    assert_eq!(charged.totals.cloud, yuan(4));
    assert_eq!(
        postings_of(&db, charged.transaction_id).await[1],
        ("cloud_receivable".into(), None, -400)
    );
    assert_eq!(
        db.store.account(account).await.unwrap().arrears,
        yuan(8),
        "cloud settlement never makes arrears"
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn expired_instruments_move_what_is_left_to_breakage_once(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let issue = |days| VoucherIssue {
        account_id: account,
        face_value: yuan(10),
        validity: VoucherValidity::DaysFromActivation(days),
    };
    let short = db
        .store
        .issue_voucher(&key("v1"), &issue(1))
        .await
        .unwrap()
        .voucher;
    let long = db
        .store
        .issue_voucher(&key("v2"), &issue(30))
        .await
        .unwrap()
        .voucher;
    db.store
        .charge_bill(
            &key("b"),
            &bill(account, "ws-1", 1, &[(BillingItem::Logs, 4)]),
        )
        .await
        .unwrap();
    db.clock.advance(Duration::days(1));
    let sweep = db.store.expire_instruments().await.unwrap();
    assert_eq!(sweep.expired.len(), 1);
    assert_eq!(
        (sweep.expired[0].instrument_id, sweep.expired[0].breakage),
        (short.id, yuan(6))
    );
    let transaction = sweep.expired[0].transaction_id.unwrap();
    assert_eq!(
        postings_of(&db, transaction).await,
        [
            ("instrument".into(), Some(short.id), -600),
            ("breakage".into(), None, 600)
        ]
    );
    let before = db.fingerprint().await;
    assert_eq!(db.store.expire_instruments().await.unwrap().expired, []);
    assert_eq!(db.fingerprint().await, before);
    let snapshot = db.store.account(account).await.unwrap();
    let short_after = snapshot
        .instruments
        .iter()
        .find(|i| i.id == short.id)
        .unwrap();
    assert_eq!(
        (short_after.balance, short_after.expired_at),
        (Amount::ZERO, Some(db.clock_now()))
    );
    assert_eq!(
        snapshot
            .instruments
            .iter()
            .find(|i| i.id == long.id)
            .unwrap()
            .balance,
        yuan(10)
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn the_ledger_check_finds_a_tampered_balance_and_postings_cannot_be_edited(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let done = db
        .store
        .credit_cash(&key("pay"), &credit(account, yuan(10), "pay"))
        .await
        .unwrap();
    db.assert_ledger_clean().await;

    let edit = sqlx::query("UPDATE postings SET amount_fen = 1 WHERE transaction_id = $1")
        .bind(done.transaction_id)
        .execute(db.store.pool())
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM postings")
        .execute(db.store.pool())
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if db.store.backend() == backend::Backend::Postgres {
        let truncate = sqlx::query("TRUNCATE postings CASCADE")
            .execute(db.store.pool())
            .await;
        assert!(truncate.unwrap_err().to_string().contains("append-only"));
    }

    sqlx::query("UPDATE billing_accounts SET cash_fen = cash_fen + 1 WHERE id = $1")
        .bind(account)
        .execute(db.store.pool())
        .await
        .unwrap();
    let report = db.store.check_ledger().await.unwrap();
    assert_eq!(
        report.discrepancies,
        [backend::check::Discrepancy::Cash {
            account_id: account,
            stored_fen: 1_001,
            from_postings_fen: 1_000
        }]
    );
    assert!(
        report
            .to_string()
            .contains("cash is 1001 fen but its postings give 1000"),
        "{report}"
    );

    let voucher = db
        .store
        .issue_voucher(
            &key("v"),
            &VoucherIssue {
                account_id: account,
                face_value: yuan(3),
                validity: VoucherValidity::DaysFromActivation(5),
            },
        )
        .await
        .unwrap()
        .voucher;
    let charged = db
        .store
        .charge_bill(
            &key("b"),
            &bill(account, "ws-1", 1, &[(BillingItem::Logs, 20)]),
        )
        .await
        .unwrap();
    let pool = db.store.pool();
    sqlx::query("UPDATE instruments SET balance_fen = 7 WHERE id = $1")
        .bind(voucher.id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE billing_accounts SET arrears_fen = arrears_fen + 5 WHERE id = $1")
        .bind(account)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE bills SET total_fen = total_fen + 1")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO postings (transaction_id, account_id, ledger_account, amount_fen) VALUES ($1, $2, 'revenue', 3)")
        .bind(charged.transaction_id)
        .bind(account)
        .execute(pool)
        .await
        .unwrap();
    let kinds: Vec<String> = db
        .store
        .check_ledger()
        .await
        .unwrap()
        .discrepancies
        .iter()
        .map(|d| {
            serde_json::to_value(d).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "unbalanced_transaction",
            "cash",
            "arrears",
            "instrument",
            "bill_lines",
            "bill_revenue"
        ]
    );
    db.finish().await;
}

async fn a_receipt_is_credited_once_whatever_key_it_arrives_under(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let first = db
        .store
        .credit_cash(&key("callback-1"), &credit(account, yuan(10), "T2026"))
        .await
        .unwrap();
    let before = db.fingerprint().await;
    let again = db
        .store
        .credit_cash(&key("callback-2"), &credit(account, yuan(10), "T2026"))
        .await
        .unwrap_err();
    match again {
        LedgerError::DuplicateReceipt { transaction_id, .. } => {
            assert_eq!(transaction_id, first.transaction_id)
        }
        other => panic!("expected a duplicate receipt, got {other}"),
    }
    assert_eq!(db.fingerprint().await, before);
    let by_bank = CashCredit {
        source: CashSource::BankTransfer,
        ..credit(account, yuan(10), "T2026")
    };
    db.store
        .credit_cash(&key("bank-1"), &by_bank)
        .await
        .expect("another source's reference is another receipt");
    db.finish().await;
}

async fn a_workspace_day_is_billed_to_one_account_only(db: TestDb) {
    let alice = db.store.create_billing_account("Alice").await.unwrap();
    let bob = db.store.create_billing_account("Bob").await.unwrap();
    db.store
        .charge_bill(
            &key("a"),
            &bill(alice, "ws-1", 1, &[(BillingItem::Logs, 1)]),
        )
        .await
        .unwrap();
    let before = db.fingerprint().await;
    let err = db
        .store
        .charge_bill(&key("b"), &bill(bob, "ws-1", 1, &[(BillingItem::Logs, 1)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::BillOfAnotherAccount { owner, asked, .. } if owner == alice && asked == bob),
        "{err}"
    );
    let huge = bill(
        alice,
        "ws-1",
        2,
        &[(BillingItem::Logs, 1), (BillingItem::Logs, 10_000_001)],
    );
    let err = db.store.charge_bill(&key("c"), &huge).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::ChargeTooLarge { line: 2, .. }),
        "{err}"
    );
    assert_eq!(db.fingerprint().await, before);
    db.finish().await;
}

async fn activation_code_batches_refuse_bad_requests(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let batch = |count, redeem_days: i64, validity| ActivationCodeBatch {
        face_value: yuan(5),
        validity,
        count,
        redeem_by: start() + Duration::days(redeem_days),
    };
    let days = VoucherValidity::DaysFromActivation(10);
    let before = db.fingerprint().await;
    let none = db
        .store
        .generate_activation_codes(&key("b1"), &batch(0, 1, days))
        .await
        .unwrap_err();
    assert!(
        matches!(none, LedgerError::InvalidCodeCount { asked: 0, .. }),
        "{none}"
    );
    let many = db
        .store
        .generate_activation_codes(&key("b2"), &batch(10_001, 1, days))
        .await
        .unwrap_err();
    assert!(
        matches!(many, LedgerError::InvalidCodeCount { asked: 10_001, .. }),
        "{many}"
    );
    let past = db
        .store
        .generate_activation_codes(&key("b3"), &batch(1, 0, days))
        .await
        .unwrap_err();
    assert!(matches!(past, LedgerError::RedeemByInPast(_)), "{past}");
    let over = VoucherValidity::Fixed {
        valid_from: start() - Duration::days(9),
        valid_until: start(),
    };
    let expired = db
        .store
        .generate_activation_codes(&key("b4"), &batch(1, 1, over))
        .await
        .unwrap_err();
    assert!(
        matches!(expired, LedgerError::VoucherValidity(_)),
        "{expired}"
    );
    let long = CodeActivation {
        account_id: account,
        code: "A".repeat(65),
    };
    assert!(matches!(
        db.store.activate_code(&key("a1"), &long).await,
        Err(LedgerError::CodeTooLong { .. })
    ));
    let fixed_past = VoucherIssue {
        account_id: account,
        face_value: yuan(1),
        validity: over,
    };
    assert!(matches!(
        db.store.issue_voucher(&key("v1"), &fixed_past).await,
        Err(LedgerError::VoucherValidity(_))
    ));
    assert!(matches!(
        db.store.create_billing_account("bad\nname").await,
        Err(LedgerError::InvalidAccountName)
    ));
    assert_eq!(db.fingerprint().await, before);
    db.finish().await;
}

async fn prepaid_card_validity_is_configurable(db: TestDb) {
    assert!(matches!(
        db.store.clone().with_prepaid_card_validity_days(0),
        Err(LedgerError::InvalidValidityDays(0))
    ));
    assert!(
        db.store
            .clone()
            .with_prepaid_card_validity_days(3_651)
            .is_err()
    );
    let store = db
        .store
        .clone()
        .with_prepaid_card_validity_days(30)
        .unwrap();
    let account = store.create_billing_account("Acme").await.unwrap();
    let assign = PrepaidCardAssignment {
        account_id: account,
        denomination: yuan(100),
        assigned_by: "op".into(),
    };
    let card = store
        .assign_prepaid_card(&key("c"), &assign)
        .await
        .unwrap()
        .card;
    assert_eq!(card.valid_until, start() + Duration::days(30));
    db.finish().await;
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for TestDb {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use backend::Clock;
        self.clock.now()
    }
}

on_both_databases!(
    a_top_up_pays_arrears_first_and_only_the_rest_becomes_cash,
    a_replayed_key_returns_the_first_result_and_a_reused_key_is_refused,
    bad_requests_get_specific_errors_and_change_nothing,
    activation_codes_are_used_once_by_one_account_and_expire,
    a_fixed_window_code_cannot_be_activated_after_its_window,
    buying_a_prepaid_card_takes_cash_and_gives_the_gift_voucher_in_one_transaction,
    a_bill_is_paid_by_the_waterfall_with_one_posting_per_instrument_taken,
    expired_instruments_move_what_is_left_to_breakage_once,
    the_ledger_check_finds_a_tampered_balance_and_postings_cannot_be_edited,
    a_receipt_is_credited_once_whatever_key_it_arrives_under,
    a_workspace_day_is_billed_to_one_account_only,
    activation_code_batches_refuse_bad_requests,
    prepaid_card_validity_is_configurable,
);

mod movements {
    use super::*;

    async fn every_movement_shows_what_it_did_to_each_balance(db: TestDb) {
        let account = db.store.create_billing_account("Acme").await.unwrap();
        let other = db.store.create_billing_account("Other").await.unwrap();
        db.store
            .credit_cash(&key("o"), &credit(other, yuan(1), "o"))
            .await
            .unwrap();
        db.store
            .credit_cash(&key("pay"), &credit(account, yuan(150), "pay"))
            .await
            .unwrap();
        db.store
            .buy_prepaid_card(
                &key("card"),
                &PrepaidCardPurchase {
                    account_id: account,
                    denomination: yuan(100),
                },
            )
            .await
            .unwrap();
        let voucher = VoucherIssue {
            account_id: account,
            face_value: yuan(5),
            validity: VoucherValidity::DaysFromActivation(3),
        };
        db.store.issue_voucher(&key("v"), &voucher).await.unwrap();
        db.store
            .charge_bill(
                &key("b"),
                &bill(
                    account,
                    "ws-1",
                    1,
                    &[(BillingItem::Logs, 200), (BillingItem::Sms, 1)],
                ),
            )
            .await
            .unwrap();

        let movements = db.store.movements(account, 10).await.unwrap();
        let summary: Vec<(&str, i64, i64, i64, i64)> = movements
            .iter()
            .map(|m| {
                (
                    m.kind.code(),
                    m.cash_fen,
                    m.arrears_fen,
                    m.vouchers_fen,
                    m.prepaid_cards_fen,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                // Logs 200: voucher 5, card 100, cash 50, arrears 45; SMS 1: arrears.
                ("bill_charge", -5_000, 4_600, -500, -10_000),
                ("voucher_issue", 0, 0, 500, 0),
                ("prepaid_card_purchase", -10_000, 0, 0, 10_000),
                ("cash_credit", 15_000, 0, 0, 0),
            ]
        );
        assert_eq!(db.store.movements(account, 2).await.unwrap().len(), 2);
        assert_eq!(
            db.store.movements(other, 10).await.unwrap().len(),
            1,
            "only the account's own movements"
        );
        db.finish().await;
    }

    on_both_databases!(every_movement_shows_what_it_did_to_each_balance);
}
