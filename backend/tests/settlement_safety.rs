//! What can no longer make a day unbillable or a month wrong, on both databases: usage that could
//! never be charged is refused at ingest; a record stored before that rule can be voided and its
//! day settled again; a month is built only when every day of it is settled, and then no usage can
//! arrive for it; instruments are expired after a settled day.

mod support;

use backend::auth::audit::OperatorAct;
use backend::cash::{CashCredit, CashSource};
use backend::settlement::SettlementStatus;
use backend::usage::{UsageInput, VoidError};
use billing::Amount;
use chrono::{Duration, NaiveDate};
use support::{TestDb, key};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn record(id: &str, item: &str, quantity: &str, d: &str) -> UsageInput {
    UsageInput {
        id: id.into(),
        item: item.into(),
        retention_days: None,
        quantity: quantity.into(),
        day: d.into(),
    }
}

async fn funded(db: &TestDb, name: &str, yuan: i64) -> i64 {
    let account = db.store.create_billing_account(name).await.unwrap();
    db.store
        .credit_cash(
            &key(&format!("fund-{name}")),
            &CashCredit {
                account_id: account,
                amount: Amount::from_yuan(yuan),
                source: CashSource::BankTransfer,
                reference: format!("fund-{name}"),
            },
        )
        .await
        .unwrap();
    account
}

async fn operator(db: &TestDb) -> OperatorAct {
    OperatorAct {
        operator_id: db
            .store
            .create_operator("ops", "correct horse battery")
            .await
            .unwrap()
            .id,
        client: "test".into(),
    }
}

async fn workspace(db: &TestDb, account: i64, id: &str) -> backend::workspaces::Workspace {
    db.store
        .bind_workspace(account, id, id, None)
        .await
        .unwrap()
        .workspace
}

/// Stores a record as an older version did, without today's checks (what a database upgraded
/// from before the line cap may hold).
async fn store_unchecked(
    db: &TestDb,
    workspace: &str,
    id: &str,
    item: &str,
    quantity: &str,
    d: &str,
) {
    sqlx::query(
        "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, quantity, received_at) \
         VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(workspace)
    .bind(id)
    .bind(d)
    .bind(item)
    .bind(quantity)
    .execute(db.store.pool())
    .await
    .unwrap();
}

async fn usage_that_could_never_be_charged_is_refused_at_ingest_one_record_at_a_time(db: TestDb) {
    let account = funded(&db, "Acme", 100).await;
    let ws = workspace(&db, account, "ws-1").await;
    // Network is 2.00 a host per day; a line may charge 10,000,000.00: 5,000,000 hosts.
    let first = db
        .store
        .ingest_usage(
            &ws,
            &[
                record("a", "network", "3000000", "2026-10-31"),
                record("b", "network", "3000000", "2026-10-31"),
                record("c", "network", "1", "2026-10-31"),
                record("d", "network", "999999999999999", "2026-10-31"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(first.accepted, 2, "{first:?}");
    let codes: Vec<(usize, &str)> = first
        .rejected
        .iter()
        .map(|r| (r.index, r.code.as_str()))
        .collect();
    assert_eq!(codes, [(1, "line_too_large"), (3, "line_too_large")]);
    assert!(
        first.rejected[0].reason.contains("10000000"),
        "{:?}",
        first.rejected[0]
    );
    // A later report adding to the same line is held to the same cap; a resent record is still a
    // duplicate, not a refusal.
    let second = db
        .store
        .ingest_usage(
            &ws,
            &[
                record("a", "network", "3000000", "2026-10-31"),
                record("e", "network", "2000000", "2026-10-31"),
                record("f", "network", "1999999", "2026-10-31"),
            ],
        )
        .await
        .unwrap();
    assert_eq!((second.accepted, second.duplicates), (1, 1), "{second:?}");
    assert_eq!(second.rejected[0].code, "line_too_large");
    // The day settles: exactly the cap.
    let report = db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(report.status, SettlementStatus::Settled, "{report:?}");
    let total: i64 = sqlx::query_scalar("SELECT total_fen FROM bills")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(total, 1_000_000_000);
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_record_that_blocks_its_day_is_voided_and_the_day_settles_again(db: TestDb) {
    let account = funded(&db, "Acme", 100).await;
    let by = operator(&db).await;
    let ws = workspace(&db, account, "ws-1").await;
    let other = workspace(&db, account, "ws-2").await;
    db.store
        .ingest_usage(&ws, &[record("ok", "network", "2", "2026-10-30")])
        .await
        .unwrap();
    db.store
        .ingest_usage(&other, &[record("x", "network", "1", "2026-10-30")])
        .await
        .unwrap();
    store_unchecked(
        &db,
        "ws-1",
        "huge",
        "network",
        "900000000000000",
        "2026-10-30",
    )
    .await;
    let failed = db.store.settle_day(day("2026-10-30"), "p").await.unwrap();
    assert_eq!(failed.status, SettlementStatus::Incomplete);
    assert_eq!(failed.bills_charged, 1, "the other workspace is billed");
    let listed = db.store.settlement_failures().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].day, day("2026-10-30"));
    assert_eq!(listed[0].failures[0].workspace_id, "ws-1");
    assert!(
        listed[0].failures[0].reason.contains("bill line"),
        "{listed:?}"
    );

    let voided = db
        .store
        .void_usage_record(&by, "ws-1", "huge", "meter fault: 9e14 hosts")
        .await
        .unwrap();
    assert_eq!(voided.day, day("2026-10-30"));
    let again = db
        .store
        .void_usage_record(&by, "ws-1", "huge", "another reason")
        .await
        .unwrap();
    assert_eq!(
        again.reason, "meter fault: 9e14 hosts",
        "voiding twice changes nothing"
    );
    assert!(matches!(
        db.store.void_usage_record(&by, "ws-1", "nope", "r").await,
        Err(VoidError::NotFound { .. })
    ));
    assert!(matches!(
        db.store.void_usage_record(&by, "ws-1", "ok", " ").await,
        Err(VoidError::InvalidReason)
    ));
    let settled = db.store.settle_day(day("2026-10-30"), "p").await.unwrap();
    assert_eq!(settled.status, SettlementStatus::Settled, "{settled:?}");
    assert_eq!((settled.bills_charged, settled.bills_found), (1, 1));
    assert!(db.store.settlement_failures().await.unwrap().is_empty());
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(94),
        "3 hosts at 2.00: the voided record is not charged"
    );
    // A billed record cannot be voided: its bill is charged.
    assert!(matches!(
        db.store
            .void_usage_record(&by, "ws-1", "ok", "too late")
            .await,
        Err(VoidError::AlreadyBilled { .. })
    ));
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'usage.void'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
    assert_eq!(audited, 1, "one audit row for the one void");
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_month_is_built_only_when_every_day_of_it_is_settled(db: TestDb) {
    let account = funded(&db, "Acme", 100).await;
    let by = operator(&db).await;
    let ws = workspace(&db, account, "ws-1").await;
    db.store
        .ingest_usage(&ws, &[record("d29", "network", "1", "2026-10-29")])
        .await
        .unwrap();
    store_unchecked(
        &db,
        "ws-1",
        "bad",
        "network",
        "900000000000000",
        "2026-10-29",
    )
    .await;
    db.store
        .ingest_usage(&ws, &[record("d31", "network", "1", "2026-10-31")])
        .await
        .unwrap();
    let early = db.store.settle_day(day("2026-10-29"), "p").await.unwrap();
    assert_eq!(early.status, SettlementStatus::Incomplete);
    // The month's last day settles, but October stays open while the 29th is incomplete.
    let last = db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(
        (last.status, last.monthly_bills),
        (SettlementStatus::Settled, 0)
    );
    assert_eq!(db.store.close_complete_months().await.unwrap(), 0);
    let months: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monthly_bills")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(months, 0, "no monthly bill with a wrong total");
    db.store
        .void_usage_record(&by, "ws-1", "bad", "meter fault")
        .await
        .unwrap();
    let fixed = db.store.settle_day(day("2026-10-29"), "p").await.unwrap();
    assert_eq!(
        (fixed.status, fixed.monthly_bills),
        (SettlementStatus::Settled, 1)
    );
    let (daily, total): (i64, i64) =
        sqlx::query_as("SELECT daily_bills, total_fen FROM monthly_bills WHERE month = '2026-10'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
    assert_eq!((daily, total), (2, 400), "both days, 2.00 each");
    // Closed: usage for any day of October, even one that had none, is refused now.
    let late = db
        .store
        .ingest_usage(&ws, &[record("late", "network", "1", "2026-10-15")])
        .await
        .unwrap();
    assert_eq!(late.rejected[0].code, "day_settled", "{late:?}");
    assert_eq!(
        db.store.close_complete_months().await.unwrap(),
        0,
        "closed once"
    );
    db.assert_ledger_clean().await;
    // A closed month whose monthly bill went missing is what `ledger check` reports.
    sqlx::query("DELETE FROM monthly_bills WHERE month = '2026-10'")
        .execute(db.store.pool())
        .await
        .unwrap();
    let report = db.store.check_ledger().await.unwrap();
    assert_eq!(
        report.discrepancies,
        [backend::check::Discrepancy::MissingMonthlyBill {
            account_id: account,
            workspace_id: "ws-1".into(),
            month: "2026-10".into(),
            bills_found: 2,
        }]
    );
    db.finish().await;
}

async fn a_price_version_may_not_reprice_usage_still_to_settle(db: TestDb) {
    let account = funded(&db, "Acme", 100).await;
    let ws = workspace(&db, account, "ws-1").await;
    db.store
        .ingest_usage(&ws, &[record("a", "network", "1", "2026-10-31")])
        .await
        .unwrap();
    let mut version = billing::PriceCatalog::default_catalog().versions[0].clone();
    version.version = "2026-10-31".into();
    version.effective_from = day("2026-10-31");
    let document = serde_json::json!({ "versions": [version] }).to_string();
    let refused = db.store.load_prices(&document).await.unwrap_err();
    assert!(
        matches!(
            refused,
            backend::prices::PriceLoadError::RepricesReportedUsage { .. }
        ),
        "{refused}"
    );
    db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(
        db.store.load_prices(&document).await.unwrap(),
        ["2026-10-31"],
        "once the day is settled nothing is repriced"
    );
    db.finish().await;
}

async fn instruments_that_ran_out_are_expired_after_a_settled_day(db: TestDb) {
    let account = funded(&db, "Acme", 100).await;
    let ws = workspace(&db, account, "ws-1").await;
    let now = db.store.now();
    db.store
        .issue_voucher(
            &key("v1"),
            &backend::vouchers::VoucherIssue {
                account_id: account,
                face_value: Amount::from_yuan(50),
                validity: billing::wallet_rules::VoucherValidity::Fixed {
                    valid_from: now - Duration::days(30),
                    valid_until: now + Duration::hours(1),
                },
            },
        )
        .await
        .unwrap();
    db.store
        .ingest_usage(&ws, &[record("a", "network", "1", "2026-10-31")])
        .await
        .unwrap();
    // Settled late, after the voucher ran out: it pays nothing and is expired.
    db.clock.advance(Duration::hours(2));
    let report = db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(report.instruments_expired, 1, "{report:?}");
    let breakage: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM postings WHERE ledger_account = 'breakage'",
    )
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(breakage, 5_000, "the voucher's 50.00 went to breakage");
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(98),
        "the expired voucher paid nothing"
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

/// A batch that the database refuses as a whole (here: a trigger refuses one workspace's bill)
/// is charged again bill by bill: every other bill of the batch is charged, the refused one is a
/// failure of the day, and nothing is charged twice.
async fn a_batch_the_database_refuses_is_charged_bill_by_bill(db: TestDb) {
    let store = db.store.clone().with_settlement_batch_size(4);
    let alice = funded(&db, "Alice", 100).await;
    let bob = funded(&db, "Bob", 100).await;
    for n in 0..10 {
        let account = if n % 2 == 0 { alice } else { bob };
        let ws = workspace(&db, account, &format!("ws-{n}")).await;
        store
            .ingest_usage(&ws, &[record("a", "network", "1", "2026-10-30")])
            .await
            .unwrap();
    }
    let refuse = match store.backend() {
        backend::store::Backend::Sqlite => vec![
            "CREATE TRIGGER refuse_ws_5 BEFORE INSERT ON bills WHEN NEW.workspace_id = 'ws-5' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ],
        backend::store::Backend::Postgres => vec![
            "CREATE FUNCTION refuse_ws_5() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.workspace_id = 'ws-5' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END; $$",
            "CREATE TRIGGER refuse_ws_5 BEFORE INSERT ON bills FOR EACH ROW EXECUTE FUNCTION refuse_ws_5()",
        ],
    };
    for sql in refuse {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
    let report = store.settle_day(day("2026-10-30"), "p").await.unwrap();
    assert_eq!(report.status, SettlementStatus::Incomplete, "{report:?}");
    assert_eq!(report.bills_charged, 9, "{report:?}");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].workspace_id, "ws-5");
    assert!(
        report.failures[0].reason.contains("refused by the test"),
        "{report:?}"
    );
    // Five 2.00 bills for Alice, four for Bob (ws-5 is his).
    assert_eq!(
        store.account(alice).await.unwrap().cash,
        Amount::from_yuan(90)
    );
    assert_eq!(
        store.account(bob).await.unwrap().cash,
        Amount::from_yuan(92)
    );
    db.assert_ledger_clean().await;
    // Once the cause is gone, the day finishes with the one bill left.
    let drop = match store.backend() {
        backend::store::Backend::Sqlite => "DROP TRIGGER refuse_ws_5",
        backend::store::Backend::Postgres => "DROP TRIGGER refuse_ws_5 ON bills",
    };
    sqlx::query(drop).execute(store.pool()).await.unwrap();
    let again = store.settle_day(day("2026-10-30"), "p").await.unwrap();
    assert_eq!(again.status, SettlementStatus::Settled, "{again:?}");
    assert_eq!((again.bills_found, again.bills_charged), (9, 1));
    assert_eq!(
        store.account(bob).await.unwrap().cash,
        Amount::from_yuan(90)
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

on_both_databases!(
    a_batch_the_database_refuses_is_charged_bill_by_bill,
    usage_that_could_never_be_charged_is_refused_at_ingest_one_record_at_a_time,
    a_record_that_blocks_its_day_is_voided_and_the_day_settles_again,
    a_month_is_built_only_when_every_day_of_it_is_settled,
    instruments_that_ran_out_are_expired_after_a_settled_day,
    a_price_version_may_not_reprice_usage_still_to_settle,
);
