//! 32 tasks charging, topping up and buying cards on one account at once. Afterwards the ledger
//! check passes and the balances equal the sum of what succeeded: nothing was lost, created or
//! spent twice. Pairs of tasks send the same top-up under the same key at the same time.

mod support;

use std::collections::BTreeMap;

use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::prepaid_cards::PrepaidCardPurchase;
use backend::{IdempotencyKey, LedgerError};
use billing::wallet_rules::PrepaidCardError;
use billing::{Amount, BillingItem, Charge, Settlement};
use chrono::{Duration, NaiveDate};
use support::TestDb;

const TASKS: i64 = 32;
const OPS_PER_TASK: i64 = 12;

#[derive(Debug)]
enum Outcome {
    TopUp { key: String, transaction_id: i64 },
    Bill { total: i64 },
    Card { denomination: i64 },
    CardRefused,
}

/// The amount sent under a top-up key `topup-<pair>-<op>`.
fn top_up_amount(key: &str) -> i64 {
    let mut parts = key.split('-').skip(1).map(|n| n.parse::<i64>().unwrap());
    let (pair, op) = (parts.next().unwrap(), parts.next().unwrap());
    1_000 + pair * 37 + op * 11
}

async fn thirty_two_tasks_on_one_account(db: TestDb) {
    let account_id = db.store.create_billing_account("Busy").await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for op in 0..OPS_PER_TASK {
                match (task + op) % 4 {
                    0 | 1 => {
                        // Tasks t and t + 16 send identical top-ups under one key.
                        let key = format!("topup-{}-{op}", task % (TASKS / 2));
                        let amount = top_up_amount(&key);
                        let request = CashCredit {
                            account_id,
                            amount: Amount::from_fen(amount),
                            source: CashSource::OnlinePayment,
                            reference: key.clone(),
                        };
                        let done = store
                            .credit_cash(&IdempotencyKey::new(key.clone()).unwrap(), &request)
                            .await
                            .unwrap();
                        outcomes.push(Outcome::TopUp {
                            key,
                            transaction_id: done.transaction_id,
                        });
                    }
                    2 => {
                        let request = BillCharge {
                            usage: Vec::new(),
                            account_id,
                            workspace_id: format!("ws-{task}"),
                            day: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(op),
                            cloud_subscription: None,
                            settlement: Settlement::Account,
                            charges: vec![
                                Charge {
                                    item: BillingItem::Logs,
                                    amount: Amount::from_fen(700 + task),
                                },
                                Charge {
                                    item: BillingItem::Sms,
                                    amount: Amount::from_fen(300 + op),
                                },
                            ],
                        };
                        let key = IdempotencyKey::new(format!("bill-{task}-{op}")).unwrap();
                        let done = store.charge_bill(&key, &request).await.unwrap();
                        outcomes.push(Outcome::Bill {
                            total: done.totals.total().fen(),
                        });
                    }
                    _ => {
                        let request = PrepaidCardPurchase {
                            account_id,
                            denomination: Amount::from_yuan(100),
                        };
                        let key = IdempotencyKey::new(format!("card-{task}-{op}")).unwrap();
                        match store.buy_prepaid_card(&key, &request).await {
                            Ok(done) => outcomes.push(Outcome::Card {
                                denomination: done.card.face_value.fen(),
                            }),
                            Err(LedgerError::PrepaidCard(PrepaidCardError::InsufficientCash {
                                ..
                            })) => outcomes.push(Outcome::CardRefused),
                            Err(e) => panic!("buying a card failed: {e}"),
                        }
                    }
                }
            }
            outcomes
        }));
    }
    // key -> the one ledger transaction both senders of that key must have been answered with
    let mut top_ups: BTreeMap<String, i64> = BTreeMap::new();
    let (mut bills, mut cards, mut refused) = (0i64, 0i64, 0);
    for task in tasks {
        for outcome in task.await.unwrap() {
            match outcome {
                Outcome::TopUp {
                    key,
                    transaction_id,
                } => {
                    assert_eq!(
                        *top_ups.entry(key).or_insert(transaction_id),
                        transaction_id
                    );
                }
                Outcome::Bill { total } => bills += total,
                Outcome::Card { denomination } => cards += denomination,
                Outcome::CardRefused => refused += 1,
            }
        }
    }
    db.assert_ledger_clean().await;

    let topped_up: i64 = top_ups.keys().map(|key| top_up_amount(key)).sum();
    let account = db.store.account(account_id).await.unwrap();
    let card_balances: i64 = account.instruments.iter().map(|i| i.balance.fen()).sum();
    let net_cash = account.cash.fen() - account.arrears.fen();
    assert_eq!(
        net_cash + card_balances,
        topped_up - bills,
        "money in = money left + money spent"
    );
    assert_eq!(account.instruments.len() as i64 * 10_000, cards);

    let pool = db.store.pool().clone();
    let sum = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let clearing = sum("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM postings WHERE ledger_account = 'payment_clearing'").await;
    assert_eq!(
        -clearing, topped_up,
        "each top-up key was credited exactly once"
    );
    let cash_credits =
        sum("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'cash_credit'").await;
    assert_eq!(cash_credits, top_ups.len() as i64);
    let revenue = sum(
        "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM postings WHERE ledger_account = 'revenue'",
    )
    .await;
    assert_eq!(revenue, bills);
    eprintln!(
        "{:?}: {} top-ups, {} bills, {} cards bought, {refused} refused for lack of cash",
        db.store.backend(),
        top_ups.len(),
        TASKS * OPS_PER_TASK / 4,
        cards / 10_000
    );
    db.finish().await;
}

/// Runs `attempt(account)` for 8 accounts at once; returns how many succeeded and the errors.
async fn race<T, F, Fut>(db: &TestDb, attempt: F) -> (usize, Vec<LedgerError>)
where
    F: Fn(backend::Store, i64) -> Fut,
    Fut: std::future::Future<Output = Result<T, LedgerError>> + Send + 'static,
    T: Send + 'static,
{
    let mut accounts = Vec::new();
    for n in 0..8 {
        accounts.push(
            db.store
                .create_billing_account(&format!("Racer {n}"))
                .await
                .unwrap(),
        );
    }
    let tasks: Vec<_> = accounts
        .into_iter()
        .map(|a| tokio::spawn(attempt(db.store.clone(), a)))
        .collect();
    let (mut won, mut errors) = (0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => errors.push(e),
        }
    }
    (won, errors)
}

/// What is unique across accounts (a code, a workspace-day, a key, a receipt) goes to exactly one
/// of 8 accounts racing for it, and every loser gets the specific error, not a database error.
async fn accounts_racing_for_one_thing_get_one_winner_and_specific_errors(db: TestDb) {
    use backend::vouchers::{ActivationCodeBatch, CodeActivation};
    let batch = ActivationCodeBatch {
        face_value: Amount::from_yuan(5),
        validity: billing::wallet_rules::VoucherValidity::DaysFromActivation(5),
        count: 1,
        redeem_by: support::start() + Duration::days(1),
    };
    let code = db
        .store
        .generate_activation_codes(&support::key("batch"), &batch)
        .await
        .unwrap()
        .codes
        .remove(0);
    let (won, errors) = race(&db, |store, account_id| {
        let code = code.clone();
        async move {
            let key = IdempotencyKey::new(format!("activate-{account_id}")).unwrap();
            store
                .activate_code(&key, &CodeActivation { account_id, code })
                .await
        }
    })
    .await;
    assert_eq!(won, 1);
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, LedgerError::CodeAlreadyUsed(_))),
        "{errors:?}"
    );

    let (won, errors) = race(&db, |store, account_id| async move {
        let request = BillCharge {
            usage: Vec::new(),
            account_id,
            workspace_id: "ws-shared".into(),
            day: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            cloud_subscription: None,
            settlement: Settlement::Account,
            charges: vec![Charge {
                item: BillingItem::Logs,
                amount: Amount::from_yuan(1),
            }],
        };
        store
            .charge_bill(
                &IdempotencyKey::new(format!("bill-{account_id}")).unwrap(),
                &request,
            )
            .await
    })
    .await;
    assert_eq!(won, 1);
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, LedgerError::BillOfAnotherAccount { .. })),
        "{errors:?}"
    );

    let (won, errors) = race(&db, |store, account_id| async move {
        let request = CashCredit {
            account_id,
            amount: Amount::from_yuan(1),
            source: CashSource::OnlinePayment,
            reference: format!("ref-{account_id}"),
        };
        store
            .credit_cash(&IdempotencyKey::new("one-key-for-all").unwrap(), &request)
            .await
    })
    .await;
    assert_eq!(won, 1);
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, LedgerError::IdempotencyKeyReused { .. })),
        "{errors:?}"
    );

    let (won, errors) = race(&db, |store, account_id| async move {
        let request = CashCredit {
            account_id,
            amount: Amount::from_yuan(1),
            source: CashSource::BankTransfer,
            reference: "receipt-shared".into(),
        };
        store
            .credit_cash(
                &IdempotencyKey::new(format!("receipt-{account_id}")).unwrap(),
                &request,
            )
            .await
    })
    .await;
    assert_eq!(won, 1);
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, LedgerError::DuplicateReceipt { .. })),
        "{errors:?}"
    );

    db.assert_ledger_clean().await;
    db.finish().await;
}

on_both_databases!(
    thirty_two_tasks_on_one_account,
    accounts_racing_for_one_thing_get_one_winner_and_specific_errors
);
