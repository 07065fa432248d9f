//! `ledger check` beyond balances, on both databases: each test builds a clean store with the real
//! operations, proves it checks clean, then breaks one rule on purpose with raw SQL (postings and
//! ledger transactions are append-only, so the tampering inserts rows rather than editing them)
//! and expects exactly the discrepancy that names it.

mod support;

use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::check::Discrepancy;
use backend::prepaid_cards::{PrepaidCardAssignment, PrepaidCardPurchase};
use backend::topups::{OnlinePayment, TopUpMethod, TopUpRequest};
use backend::usage::UsageInput;
use backend::vouchers::{ActivationCodeBatch, CodeActivation, VoucherIssue};
use billing::wallet_rules::VoucherValidity;
use billing::{Amount, BillingItem, Charge, Settlement};
use chrono::{Duration, NaiveDate};
use support::{TestDb, key, start};

fn yuan(y: i64) -> Amount {
    Amount::from_yuan(y)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn credit(account_id: i64, amount: Amount, reference: &str) -> CashCredit {
    CashCredit {
        account_id,
        amount,
        source: CashSource::BankTransfer,
        reference: reference.into(),
    }
}

fn bill(
    account_id: i64,
    workspace: &str,
    d: &str,
    charges: &[(BillingItem, Amount)],
) -> BillCharge {
    BillCharge {
        usage: Vec::new(),
        account_id,
        workspace_id: workspace.into(),
        day: day(d),
        cloud_subscription: None,
        settlement: Settlement::Account,
        charges: charges
            .iter()
            .map(|&(item, amount)| Charge { item, amount })
            .collect(),
    }
}

fn voucher(account_id: i64, face_yuan: i64, days: u32) -> VoucherIssue {
    VoucherIssue {
        account_id,
        face_value: yuan(face_yuan),
        validity: VoucherValidity::DaysFromActivation(days),
    }
}

/// What the check finds, but for the stored running balances: rows inserted by hand bypass
/// `ledger::post_many`, so they also lack those (tested in running_balances.rs); each test here
/// looks at the rule it breaks.
async fn discrepancies(db: &TestDb) -> Vec<Discrepancy> {
    db.store
        .check_ledger()
        .await
        .unwrap()
        .discrepancies
        .into_iter()
        .filter(|d| !matches!(d, Discrepancy::RunningBalance { .. }))
        .collect()
}

/// Inserts one posting (the append-only triggers allow inserts) and returns its id.
async fn insert_posting(
    db: &TestDb,
    transaction_id: i64,
    account_id: i64,
    ledger_account: &str,
    instrument_id: Option<i64>,
    amount_fen: i64,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO postings (transaction_id, account_id, ledger_account, instrument_id, amount_fen) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(transaction_id)
    .bind(account_id)
    .bind(ledger_account)
    .bind(instrument_id)
    .bind(amount_fen)
    .fetch_one(db.store.pool())
    .await
    .unwrap()
}

async fn execute(db: &TestDb, sql: &str, id: i64) {
    sqlx::query(sql)
        .bind(id)
        .execute(db.store.pool())
        .await
        .unwrap();
}

async fn every_operation_leaves_a_store_that_checks_clean(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let other = db.store.create_billing_account("Other").await.unwrap();
    // A bill nothing can pay (arrears), then a transfer that pays the arrears first.
    db.store
        .charge_bill(
            &key("b0"),
            &bill(
                account,
                "ws-1",
                "2026-10-01",
                &[(BillingItem::Logs, yuan(30))],
            ),
        )
        .await
        .unwrap();
    db.store
        .credit_cash(&key("c1"), &credit(account, yuan(1_000), "bank-1"))
        .await
        .unwrap();
    // An online top-up and a bank-transfer top-up, each paid.
    let online = db
        .store
        .open_top_up(
            &key("t1"),
            &TopUpRequest {
                account_id: account,
                amount: Amount::from_fen(8_888),
                method: TopUpMethod::Alipay,
            },
        )
        .await
        .unwrap();
    db.store
        .settle_online_payment(&OnlinePayment {
            out_trade_no: online.reference.clone(),
            provider_trade_no: "2026110122001000000000000001".into(),
            total_amount: "88.88".into(),
        })
        .await
        .unwrap();
    let transfer = db
        .store
        .open_top_up(
            &key("t2"),
            &TopUpRequest {
                account_id: other,
                amount: yuan(200),
                method: TopUpMethod::BankTransfer,
            },
        )
        .await
        .unwrap();
    db.store
        .credit_cash(&key("c2"), &credit(other, yuan(200), &transfer.reference))
        .await
        .unwrap();
    // Vouchers: issued, and activated from a code; a prepaid card bought (with its gift) and one
    // assigned.
    db.store
        .issue_voucher(&key("v1"), &voucher(account, 5, 3))
        .await
        .unwrap();
    let codes = db
        .store
        .generate_activation_codes(
            &key("codes"),
            &ActivationCodeBatch {
                face_value: yuan(7),
                validity: VoucherValidity::DaysFromActivation(30),
                count: 1,
                redeem_by: start() + Duration::days(10),
            },
        )
        .await
        .unwrap();
    db.store
        .activate_code(
            &key("a1"),
            &CodeActivation {
                account_id: other,
                code: codes.codes[0].clone(),
            },
        )
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
    db.store
        .assign_prepaid_card(
            &key("assigned"),
            &PrepaidCardAssignment {
                account_id: other,
                denomination: yuan(100),
                assigned_by: "partner".into(),
            },
        )
        .await
        .unwrap();
    // A bill paid by the waterfall, and a bill of 0.00 (its transaction has no postings).
    db.store
        .charge_bill(
            &key("b1"),
            &bill(
                account,
                "ws-1",
                "2026-10-02",
                &[(BillingItem::Logs, yuan(3)), (BillingItem::Sms, yuan(2))],
            ),
        )
        .await
        .unwrap();
    db.store
        .charge_bill(
            &key("b2"),
            &bill(
                account,
                "ws-1",
                "2026-10-03",
                &[(BillingItem::Logs, Amount::ZERO)],
            ),
        )
        .await
        .unwrap();
    // Settled usage and its monthly bill.
    let ws = db
        .store
        .bind_workspace(account, "ws-2", "Two", None)
        .await
        .unwrap()
        .workspace;
    for d in ["2026-10-30", "2026-10-31"] {
        db.store
            .ingest_usage(
                &ws,
                &[UsageInput {
                    id: d.into(),
                    item: "network".into(),
                    retention_days: None,
                    quantity: "3".into(),
                    day: d.into(),
                }],
            )
            .await
            .unwrap();
    }
    for d in ["2026-10-30", "2026-10-31"] {
        db.store.settle_day(day(d), "p").await.unwrap();
    }
    db.assert_ledger_clean().await;
    // Expiry: the 3-day voucher expires with money left, the others later.
    db.clock.advance(Duration::days(4));
    let swept = db.store.expire_instruments().await.unwrap();
    assert!(!swept.expired.is_empty());
    db.assert_ledger_clean().await;
    db.clock.advance(Duration::days(400));
    db.store.expire_instruments().await.unwrap();
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_ledger_transaction_without_postings_is_reported(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .charge_bill(
            &key("zero"),
            &bill(
                account,
                "ws-1",
                "2026-10-01",
                &[(BillingItem::Logs, Amount::ZERO)],
            ),
        )
        .await
        .unwrap();
    db.assert_ledger_clean().await;

    let empty: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_transactions (account_id, kind, memo, created_at) \
         VALUES ($1, 'cash_credit', 'bank_transfer:nothing', 0) RETURNING id",
    )
    .bind(account)
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    let found = discrepancies(&db).await;
    assert_eq!(
        found,
        [Discrepancy::EmptyTransaction {
            transaction_id: empty,
            transaction_kind: "cash_credit".into(),
        }]
    );
    assert_eq!(
        found[0].to_string(),
        format!("ledger transaction {empty} (cash_credit) has no postings")
    );
    db.finish().await;
}

async fn a_posting_on_another_account_or_its_instrument_is_reported(db: TestDb) {
    let acme = db.store.create_billing_account("Acme").await.unwrap();
    let other = db.store.create_billing_account("Other").await.unwrap();
    let credited = db
        .store
        .credit_cash(&key("c"), &credit(acme, yuan(10), "bank-1"))
        .await
        .unwrap();
    let others_voucher = db
        .store
        .issue_voucher(&key("v"), &voucher(other, 5, 30))
        .await
        .unwrap()
        .voucher;
    db.assert_ledger_clean().await;

    // Acme's cash credit also moves money between Other and Acme: balanced, balances untouched.
    let foreign = insert_posting(&db, credited.transaction_id, other, "promotion", None, 5).await;
    insert_posting(&db, credited.transaction_id, acme, "promotion", None, -5).await;
    // And it names Other's voucher, in and out again (its balance still matches its postings).
    let into = insert_posting(
        &db,
        credited.transaction_id,
        acme,
        "instrument",
        Some(others_voucher.id),
        100,
    )
    .await;
    let out = insert_posting(
        &db,
        credited.transaction_id,
        acme,
        "instrument",
        Some(others_voucher.id),
        -100,
    )
    .await;
    let naming = |posting_id| Discrepancy::InstrumentOfAnotherAccount {
        posting_id,
        transaction_id: credited.transaction_id,
        transaction_account_id: acme,
        instrument_id: others_voucher.id,
        instrument_account_id: other,
    };
    let found = discrepancies(&db).await;
    assert_eq!(
        found,
        [
            Discrepancy::PostingOfAnotherAccount {
                posting_id: foreign,
                transaction_id: credited.transaction_id,
                transaction_account_id: acme,
                posting_account_id: other,
            },
            naming(into),
            naming(out),
        ]
    );
    assert!(
        found[0]
            .to_string()
            .ends_with(&format!("is recorded against account {other}")),
        "{}",
        found[0]
    );
    assert!(
        found[1].to_string().ends_with(&format!(
            "names instrument {} of account {other}",
            others_voucher.id
        )),
        "{}",
        found[1]
    );
    db.finish().await;
}

async fn a_receipt_or_paid_top_up_that_is_not_its_cash_credit_is_reported(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let paid = db
        .store
        .open_top_up(
            &key("t1"),
            &TopUpRequest {
                account_id: account,
                amount: Amount::from_fen(8_888),
                method: TopUpMethod::Alipay,
            },
        )
        .await
        .unwrap();
    let credited = db
        .store
        .settle_online_payment(&OnlinePayment {
            out_trade_no: paid.reference.clone(),
            provider_trade_no: "2026110122001000000000000001".into(),
            total_amount: "88.88".into(),
        })
        .await
        .unwrap();
    let transaction_id = match credited {
        backend::topups::PaymentOutcome::Credited { credited, .. } => credited.transaction_id,
        other => panic!("{other:?}"),
    };
    let pending = db
        .store
        .open_top_up(
            &key("t2"),
            &TopUpRequest {
                account_id: account,
                amount: yuan(50),
                method: TopUpMethod::BankTransfer,
            },
        )
        .await
        .unwrap();
    let issued = db
        .store
        .issue_voucher(&key("v"), &voucher(account, 5, 30))
        .await
        .unwrap();
    db.assert_ledger_clean().await;

    // The payment's transaction credits 1.00 more cash than it received (the cached cash follows,
    // so the balances still match their postings).
    insert_posting(&db, transaction_id, account, "customer_cash", None, 100).await;
    insert_posting(&db, transaction_id, account, "promotion", None, -100).await;
    execute(
        &db,
        "UPDATE billing_accounts SET cash_fen = cash_fen + 100 WHERE id = $1",
        account,
    )
    .await;
    // A receipt that is no cash credit: it would block the real transfer of that reference.
    sqlx::query(
        "INSERT INTO cash_receipts (source, reference, transaction_id) VALUES ('bank_transfer', 'BANK-FAKE', $1)",
    )
    .bind(issued.transaction_id)
    .execute(db.store.pool())
    .await
    .unwrap();
    // A top-up marked paid that nothing credited.
    execute(
        &db,
        "UPDATE top_ups SET status = 'paid' WHERE id = $1",
        pending.id,
    )
    .await;

    let mut found = discrepancies(&db).await;
    found.sort_by_key(|d| d.to_string());
    let mut expected = vec![
        Discrepancy::CashReceipt {
            source: "online_payment".into(),
            reference: paid.reference.clone(),
            transaction_id,
            received_fen: 8_888,
            credited_fen: 8_988,
        },
        Discrepancy::CashReceipt {
            source: "bank_transfer".into(),
            reference: "BANK-FAKE".into(),
            transaction_id: issued.transaction_id,
            received_fen: 0,
            credited_fen: 0,
        },
        Discrepancy::TopUp {
            top_up_id: paid.id,
            transaction_id: Some(transaction_id),
            amount_fen: 8_888,
            received_fen: 8_888,
            credited_fen: 8_988,
        },
        Discrepancy::TopUp {
            top_up_id: pending.id,
            transaction_id: None,
            amount_fen: 5_000,
            received_fen: 0,
            credited_fen: 0,
        },
    ];
    expected.sort_by_key(|d| d.to_string());
    assert_eq!(found, expected);
    let text: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&format!(
            "cash receipt online_payment '{}' (ledger transaction {transaction_id}): received 8888 fen \
             through payment clearing but credited 8988 to cash and arrears",
            paid.reference
        )),
        "{text:?}"
    );
    assert!(
        text.contains(&format!(
            "top-up {} is paid with 5000 fen but no ledger transaction received 0 and credited 0",
            pending.id
        )),
        "{text:?}"
    );
    db.finish().await;
}

async fn an_expired_instrument_that_still_holds_money_is_reported(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let issued = db
        .store
        .issue_voucher(&key("v"), &voucher(account, 3, 5))
        .await
        .unwrap();
    db.clock.advance(Duration::days(6));
    let swept = db.store.expire_instruments().await.unwrap();
    let expiry = swept.expired[0]
        .transaction_id
        .expect("3.00 went to breakage");
    db.assert_ledger_clean().await;

    // 1.00 comes back onto the expired voucher, stored and posted alike.
    insert_posting(
        &db,
        expiry,
        account,
        "instrument",
        Some(issued.voucher.id),
        100,
    )
    .await;
    insert_posting(&db, expiry, account, "breakage", None, -100).await;
    execute(
        &db,
        "UPDATE instruments SET balance_fen = 100 WHERE id = $1",
        issued.voucher.id,
    )
    .await;
    let found = discrepancies(&db).await;
    assert_eq!(
        found,
        [Discrepancy::ExpiredInstrumentBalance {
            instrument_id: issued.voucher.id,
            stored_fen: 100,
            from_postings_fen: 100,
        }]
    );
    assert_eq!(
        found[0].to_string(),
        format!(
            "instrument {} is expired but holds 100 fen (100 from its postings), not 0",
            issued.voucher.id
        )
    );
    db.finish().await;
}

async fn a_monthly_bill_that_is_not_the_sum_of_its_daily_bills_is_reported(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .credit_cash(&key("c"), &credit(account, yuan(100), "bank-1"))
        .await
        .unwrap();
    let ws = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    // Another workspace's bill in the same month, and this workspace's bill of another month.
    db.store
        .charge_bill(
            &key("elsewhere"),
            &bill(
                account,
                "ws-2",
                "2026-10-10",
                &[(BillingItem::Logs, yuan(1))],
            ),
        )
        .await
        .unwrap();
    db.store
        .charge_bill(
            &key("september"),
            &bill(
                account,
                "ws-1",
                "2026-09-30",
                &[(BillingItem::Logs, yuan(1))],
            ),
        )
        .await
        .unwrap();
    for d in ["2026-10-30", "2026-10-31"] {
        db.store
            .ingest_usage(
                &ws,
                &[UsageInput {
                    id: d.into(),
                    item: "network".into(),
                    retention_days: None,
                    quantity: "3".into(),
                    day: d.into(),
                }],
            )
            .await
            .unwrap();
    }
    for d in ["2026-10-30", "2026-10-31"] {
        db.store.settle_day(day(d), "p").await.unwrap();
    }
    let monthly: i64 = sqlx::query_scalar(
        "SELECT id FROM monthly_bills WHERE workspace_id = 'ws-1' AND month = '2026-10'",
    )
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    db.assert_ledger_clean().await;

    let stale = |daily_bills, total_fen, bills_found, bills_total_fen| Discrepancy::MonthlyBill {
        monthly_bill_id: monthly,
        account_id: account,
        workspace_id: "ws-1".into(),
        month: "2026-10".into(),
        daily_bills,
        total_fen,
        bills_found,
        bills_total_fen,
    };
    execute(
        &db,
        "UPDATE monthly_bills SET total_fen = total_fen + 1 WHERE id = $1",
        monthly,
    )
    .await;
    assert_eq!(discrepancies(&db).await, [stale(2, 1201, 2, 1200)]);
    execute(
        &db,
        "UPDATE monthly_bills SET total_fen = total_fen - 1, daily_bills = 3 WHERE id = $1",
        monthly,
    )
    .await;
    assert_eq!(discrepancies(&db).await, [stale(3, 1200, 2, 1200)]);
    execute(
        &db,
        "UPDATE monthly_bills SET daily_bills = 2 WHERE id = $1",
        monthly,
    )
    .await;
    db.assert_ledger_clean().await;

    // A daily bill of October charged after October was assembled.
    db.store
        .charge_bill(
            &key("late"),
            &bill(
                account,
                "ws-1",
                "2026-10-15",
                &[(BillingItem::Logs, yuan(2))],
            ),
        )
        .await
        .unwrap();
    let found = discrepancies(&db).await;
    assert_eq!(found, [stale(2, 1200, 3, 1400)]);
    assert_eq!(
        found[0].to_string(),
        format!(
            "monthly bill {monthly} (2026-10, workspace 'ws-1', account {account}): 2 daily bills of \
             1200 fen, but its daily bills are 3 of 1400 fen"
        )
    );
    db.finish().await;
}

on_both_databases!(
    every_operation_leaves_a_store_that_checks_clean,
    a_ledger_transaction_without_postings_is_reported,
    a_posting_on_another_account_or_its_instrument_is_reported,
    a_receipt_or_paid_top_up_that_is_not_its_cash_credit_is_reported,
    an_expired_instrument_that_still_holds_money_is_reported,
    a_monthly_bill_that_is_not_the_sum_of_its_daily_bills_is_reported,
);
