//! The balances stored with each ledger transaction (`transaction_balances`), on both databases:
//! the mapping of ledger accounts to customer balances is the same in Rust and in SQL, every
//! writer stores running balances that chain (also within one batch of bills), the statements and
//! movements read them, and an upgrade fills them in for the history written before.

mod support;

use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::check::Discrepancy;
use backend::prepaid_cards::PrepaidCardPurchase;
use backend::statements::{Page, Period};
use backend::vouchers::VoucherIssue;
use backend::{Backend, CustomerBalance, LedgerAccount};
use billing::wallet_rules::VoucherValidity;
use billing::{Amount, BillingItem, Charge, InstrumentKind, Settlement};
use chrono::{Duration, NaiveDate};
use support::{TestDb, key};

fn yuan(y: i64) -> Amount {
    Amount::from_yuan(y)
}

fn bill(account_id: i64, workspace: &str, day: &str, yuan_amount: i64) -> BillCharge {
    BillCharge {
        usage: Vec::new(),
        account_id,
        workspace_id: workspace.into(),
        day: day.parse().unwrap(),
        cloud_subscription: None,
        settlement: Settlement::Account,
        charges: vec![Charge {
            item: BillingItem::Logs,
            amount: yuan(yuan_amount),
        }],
    }
}

fn credit(account_id: i64, amount: Amount, reference: &str) -> CashCredit {
    CashCredit {
        account_id,
        amount,
        source: CashSource::BankTransfer,
        reference: reference.into(),
    }
}

fn whole_history() -> Period {
    Period {
        from: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
    }
}

const ALL: Page = Page {
    number: 1,
    size: 500,
};

async fn the_mapping_is_the_same_in_rust_and_sql(db: TestDb) {
    let kinds = [
        None,
        Some(InstrumentKind::RegularVoucher),
        Some(InstrumentKind::DiscountVoucher),
        Some(InstrumentKind::PrepaidCard),
    ];
    for account in LedgerAccount::ALL {
        for kind in kinds {
            for balance in CustomerBalance::ALL {
                let sql = format!(
                    "SELECT CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT) \
                     FROM (SELECT $1 AS ledger_account) p CROSS JOIN (SELECT $2 AS kind) i",
                    balance.sql_condition()
                );
                let in_sql: i64 = sqlx::query_scalar(&sql)
                    .bind(account.code())
                    .bind(kind.map(|k| k.code()))
                    .fetch_one(db.store.pool())
                    .await
                    .unwrap();
                assert_eq!(
                    in_sql == 1,
                    CustomerBalance::of(account, kind) == Some(balance),
                    "{account:?} {kind:?} {balance:?}"
                );
            }
        }
    }
    db.finish().await;
}

/// The account's balances as stored now: cash, arrears, vouchers, prepaid cards.
async fn balances_now(db: &TestDb, account: i64) -> [Amount; 4] {
    let (cash, arrears): (i64, i64) =
        sqlx::query_as("SELECT cash_fen, arrears_fen FROM billing_accounts WHERE id = $1")
            .bind(account)
            .fetch_one(db.store.pool())
            .await
            .unwrap();
    let held = |cards: bool| {
        let pool = db.store.pool().clone();
        async move {
            let sql = format!(
                "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM instruments \
                 WHERE account_id = $1 AND kind {} 'prepaid_card'",
                if cards { "=" } else { "<>" }
            );
            sqlx::query_scalar::<_, i64>(&sql)
                .bind(account)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    [
        Amount::from_fen(cash),
        Amount::from_fen(arrears),
        Amount::from_fen(held(false).await),
        Amount::from_fen(held(true).await),
    ]
}

async fn every_writer_stores_balances_that_chain(db: TestDb) {
    let acme = db.store.create_billing_account("Acme").await.unwrap();
    let other = db.store.create_billing_account("Other").await.unwrap();
    db.store
        .credit_cash(&key("cash-1"), &credit(acme, yuan(300), "T1"))
        .await
        .unwrap();
    db.store
        .credit_cash(&key("cash-other"), &credit(other, yuan(7), "T2"))
        .await
        .unwrap();
    db.store
        .issue_voucher(
            &key("voucher"),
            &VoucherIssue {
                account_id: acme,
                face_value: yuan(10),
                validity: VoucherValidity::DaysFromActivation(30),
            },
        )
        .await
        .unwrap();
    db.store
        .buy_prepaid_card(
            &key("card"),
            &PrepaidCardPurchase {
                account_id: acme,
                denomination: yuan(100),
            },
        )
        .await
        .unwrap();
    // Two bills of one account and one of another in one batch: each bill's balances follow the
    // one before it in the same batch. The third runs the wallet dry into arrears.
    db.clock.advance(Duration::hours(1));
    let batch = vec![
        (key("b1"), bill(acme, "ws-1", "2026-11-01", 30)),
        (key("b2"), bill(other, "ws-9", "2026-11-01", 3)),
        (key("b3"), bill(acme, "ws-2", "2026-11-01", 400)),
    ];
    for result in db.store.charge_bills(&batch).await.unwrap() {
        result.unwrap();
    }
    db.store
        .credit_cash(&key("cash-2"), &credit(acme, yuan(500), "T3"))
        .await
        .unwrap();
    db.clock.advance(Duration::days(40));
    db.store.expire_instruments().await.unwrap();
    db.assert_ledger_clean().await;

    for account in [acme, other] {
        let page = db
            .store
            .transactions(account, whole_history(), ALL)
            .await
            .unwrap();
        assert_eq!(page.total as usize, page.items.len());
        // Oldest first: each transaction's balances are the one before's plus its changes.
        let mut running = [0_i64; 4];
        for t in page.items.iter().rev() {
            running[0] += t.cash_change_fen;
            running[1] += t.arrears_change_fen;
            running[2] += t.vouchers_change_fen;
            running[3] += t.prepaid_cards_change_fen;
            assert_eq!(
                [
                    t.cash_after,
                    t.arrears_after,
                    t.vouchers_after,
                    t.prepaid_cards_after
                ],
                running.map(Amount::from_fen),
                "transaction {} ({:?})",
                t.transaction_id,
                t.kind
            );
        }
        let newest = &page.items[0];
        assert_eq!(
            [
                newest.cash_after,
                newest.arrears_after,
                newest.vouchers_after,
                newest.prepaid_cards_after
            ],
            balances_now(&db, account).await,
            "the newest transaction's balances are the account's"
        );
        // The movements are the same transactions, newest first.
        let movements = db.store.movements(account, 500).await.unwrap();
        assert_eq!(movements.len(), page.items.len());
        for (m, t) in movements.iter().zip(&page.items) {
            assert_eq!(
                (
                    m.transaction_id,
                    m.cash_fen,
                    m.arrears_fen,
                    m.vouchers_fen,
                    m.prepaid_cards_fen
                ),
                (
                    t.transaction_id,
                    t.cash_change_fen,
                    t.arrears_change_fen,
                    t.vouchers_change_fen,
                    t.prepaid_cards_change_fen
                )
            );
        }
    }
    // Acme went through arrears (430 yuan of bills against 200 cash, 10 voucher, 100 card).
    let acme_page = db
        .store
        .transactions(acme, whole_history(), ALL)
        .await
        .unwrap();
    assert!(
        acme_page
            .items
            .iter()
            .any(|t| t.arrears_after > Amount::ZERO)
    );
    db.finish().await;
}

async fn a_transaction_without_stored_balances_is_reported(db: TestDb) {
    let acme = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .credit_cash(&key("cash"), &credit(acme, yuan(5), "T1"))
        .await
        .unwrap();
    db.assert_ledger_clean().await;
    // A ledger transaction written around `ledger::post_many`: its postings balance, but nothing
    // stored what it did to the customer's balances.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_transactions (account_id, kind, memo, created_at) \
         VALUES ($1, 'cash_credit', 'by hand', 0) RETURNING id",
    )
    .bind(acme)
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    for (account, amount) in [("customer_cash", 100_i64), ("payment_clearing", -100)] {
        sqlx::query(
            "INSERT INTO postings (transaction_id, account_id, ledger_account, amount_fen) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(acme)
        .bind(account)
        .bind(amount)
        .execute(db.store.pool())
        .await
        .unwrap();
    }
    let found: Vec<Discrepancy> = db
        .store
        .check_ledger()
        .await
        .unwrap()
        .discrepancies
        .into_iter()
        .filter(|d| matches!(d, Discrepancy::RunningBalance { .. }))
        .collect();
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(
        found[0],
        Discrepancy::RunningBalance {
            transaction_id: id,
            account_id: acme,
            balance: "cash".into(),
            stored_change_fen: None,
            change_fen: 100,
            stored_after_fen: None,
            after_fen: 600,
        }
    );
    assert_eq!(
        found[0].to_string(),
        format!(
            "ledger transaction {id} (account {acme}) has no stored balances; its postings give cash \
             changed by 100 fen to 600"
        )
    );
    // The stored rows cannot be edited to hide it.
    let edited = sqlx::query("UPDATE transaction_balances SET cash_after_fen = 0")
        .execute(db.store.pool())
        .await;
    assert!(edited.is_err(), "transaction_balances is append-only");
    db.finish().await;
}

/// The migrations up to `version` only, from a copy of the project's files.
async fn migrate_to(db: &TestDb, version: i64) {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match db.store.backend() {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    });
    let dir = std::env::temp_dir().join(format!(
        "billing-center-migrations-{}-{:?}-{}",
        std::process::id(),
        db.store.backend(),
        version
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for file in std::fs::read_dir(&source).unwrap() {
        let file = file.unwrap();
        let name = file.file_name().to_string_lossy().into_owned();
        let file_version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if file_version <= version {
            std::fs::copy(file.path(), dir.join(&name)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .unwrap()
        .run(db.store.pool())
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

async fn an_upgrade_fills_in_the_balances_of_the_history(db: TestDb) {
    migrate_to(&db, 8).await;
    // The history a version without stored balances wrote: two accounts; cash in, a voucher, a
    // bill paid by the voucher and cash, one into arrears, cash that pays the arrears off; a card.
    let sql = [
        "INSERT INTO billing_accounts (id, name, cash_fen, arrears_fen, created_at) VALUES (1, 'Acme', 3000, 0, 0)",
        "INSERT INTO billing_accounts (id, name, cash_fen, arrears_fen, created_at) VALUES (2, 'Other', 0, 0, 0)",
        "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES (1, 1, 'cash_credit', '', 1700000000000001)",
        "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES (2, 1, 'voucher_issue', '', 1700000000000002)",
        "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES (3, 2, 'prepaid_card_assignment', '', 1700000000000003)",
        "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES (4, 1, 'bill_charge', '', 1700000000000004)",
        "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES (5, 1, 'bill_charge', '', 1700000000000005)",
        "INSERT INTO ledger_transactions (id, account_id, kind, memo, created_at) VALUES (6, 1, 'cash_credit', '', 1700000000000006)",
        "INSERT INTO instruments (id, account_id, kind, origin, face_value_fen, balance_fen, valid_from, valid_until, \
         activated_at, transaction_id) VALUES (1, 1, 'regular_voucher', 'issued', 1000, 500, 0, 9000000000000000, 2, 2)",
        "INSERT INTO instruments (id, account_id, kind, origin, face_value_fen, balance_fen, valid_from, valid_until, \
         activated_at, transaction_id) VALUES (2, 2, 'prepaid_card', 'assigned', 2000, 2000, 0, 9000000000000000, 3, 3)",
    ];
    for statement in sql {
        sqlx::query(statement)
            .execute(db.store.pool())
            .await
            .unwrap();
    }
    let postings: [(i64, i64, &str, Option<i64>, i64); 14] = [
        (1, 1, "customer_cash", None, 10_000),
        (1, 1, "payment_clearing", None, -10_000),
        (2, 1, "instrument", Some(1), 1_000),
        (2, 1, "promotion", None, -1_000),
        (3, 2, "instrument", Some(2), 2_000),
        (3, 2, "partner_clearing", None, -2_000),
        (4, 1, "revenue", None, 3_500),
        (4, 1, "instrument", Some(1), -500),
        (4, 1, "customer_cash", None, -3_000),
        (5, 1, "revenue", None, 9_000),
        (5, 1, "customer_cash", None, -7_000),
        (5, 1, "arrears_receivable", None, -2_000),
        (6, 1, "payment_clearing", None, -5_000),
        (6, 1, "arrears_receivable", None, 2_000),
    ];
    for (transaction, account, ledger_account, instrument, amount) in postings
        .into_iter()
        .chain([(6, 1, "customer_cash", None, 3_000)])
    {
        sqlx::query(
            "INSERT INTO postings (transaction_id, account_id, ledger_account, instrument_id, amount_fen) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(transaction)
        .bind(account)
        .bind(ledger_account)
        .bind(instrument)
        .bind(amount)
        .execute(db.store.pool())
        .await
        .unwrap();
    }
    if db.store.backend() == Backend::Postgres {
        // Rows inserted with their ids leave the identity sequences behind.
        for table in [
            "billing_accounts",
            "ledger_transactions",
            "instruments",
            "postings",
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"
            ))
            .execute(db.store.pool())
            .await
            .unwrap();
        }
    }
    db.store.migrate().await.unwrap();
    db.assert_ledger_clean().await;

    let after = |account: i64| {
        let store = db.store.clone();
        async move {
            let page = store
                .transactions(account, whole_history(), ALL)
                .await
                .unwrap();
            page.items
                .iter()
                .rev()
                .map(|t| {
                    (
                        t.transaction_id,
                        [
                            t.cash_after.fen(),
                            t.arrears_after.fen(),
                            t.vouchers_after.fen(),
                            t.prepaid_cards_after.fen(),
                        ],
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        after(1).await,
        [
            (1, [10_000, 0, 0, 0]),
            (2, [10_000, 0, 1_000, 0]),
            (4, [7_000, 0, 500, 0]),
            (5, [0, 2_000, 500, 0]),
            (6, [3_000, 0, 500, 0]),
        ]
    );
    assert_eq!(after(2).await, [(3, [0, 0, 0, 2_000])]);
    // What the upgraded store writes next continues from the history.
    db.store
        .credit_cash(&key("after-upgrade"), &credit(1, yuan(1), "T9"))
        .await
        .unwrap();
    let last = after(1).await.pop().unwrap();
    assert_eq!(last.1, [3_100, 0, 500, 0]);
    db.assert_ledger_clean().await;
    db.finish().await;
}

mod upgrade {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::an_upgrade_fills_in_the_balances_of_the_history(
            super::support::TestDb::sqlite_unmigrated().await,
        )
        .await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::an_upgrade_fills_in_the_balances_of_the_history(
            super::support::TestDb::postgres_unmigrated().await,
        )
        .await;
    }
}

on_both_databases!(
    the_mapping_is_the_same_in_rust_and_sql,
    every_writer_stores_balances_that_chain,
    a_transaction_without_stored_balances_is_reported,
);
