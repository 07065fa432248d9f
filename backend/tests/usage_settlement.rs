//! Workspaces, usage reports and the nightly settlement, on both databases: keys are hashed and
//! rotate; a record id counts once; bad records come back with their reason; a day settled twice,
//! or by racing stores, or after a crash, charges every bill exactly once; monthly bills add up.

mod support;

use backend::cash::{CashCredit, CashSource};
use backend::settlement::SettlementStatus;
use backend::usage::UsageInput;
use backend::workspaces::WorkspaceError;
use billing::Amount;
use chrono::{Duration, NaiveDate};
use support::{TestDb, key};

/// A stored bill line: item, quantity, units, unit price, amount in fen.
type StoredLine = (String, Option<String>, Option<String>, Option<String>, i64);

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn record(id: &str, item: &str, retention: Option<i64>, quantity: &str, d: &str) -> UsageInput {
    UsageInput {
        id: id.into(),
        item: item.into(),
        retention_days: retention,
        quantity: quantity.into(),
        day: d.into(),
    }
}

async fn funded_account(db: &TestDb, name: &str, cash_yuan: i64) -> i64 {
    let account = db.store.create_billing_account(name).await.unwrap();
    db.store
        .credit_cash(
            &key(&format!("fund-{name}")),
            &CashCredit {
                account_id: account,
                amount: Amount::from_yuan(cash_yuan),
                source: CashSource::BankTransfer,
                reference: format!("fund-{name}"),
            },
        )
        .await
        .unwrap();
    account
}

async fn a_workspace_binds_once_and_its_key_rotates(db: TestDb) {
    let alice = db.store.create_billing_account("Alice").await.unwrap();
    let bob = db.store.create_billing_account("Bob").await.unwrap();
    let bound = db
        .store
        .bind_workspace(alice, "ws-prod", "Production", None)
        .await
        .unwrap();
    assert!(bound.api_key.starts_with("bcw_") && bound.api_key.len() == 68);
    assert!(bound.api_key.starts_with(&bound.workspace.key_prefix));
    let stored: String =
        sqlx::query_scalar("SELECT key_hash FROM workspaces WHERE workspace_id = 'ws-prod'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
    assert!(
        !stored.contains(&bound.api_key[4..]),
        "only a hash of the key is kept"
    );
    let found = db.store.workspace_by_key(&bound.api_key).await.unwrap();
    assert_eq!(found.unwrap().account_id, alice);

    assert!(matches!(
        db.store
            .bind_workspace(alice, "ws-prod", "Again", None)
            .await,
        Err(WorkspaceError::AlreadyBoundHere(_))
    ));
    assert!(matches!(
        db.store.bind_workspace(bob, "ws-prod", "Mine", None).await,
        Err(WorkspaceError::BoundElsewhere(_))
    ));
    assert!(matches!(
        db.store
            .bind_workspace(bob, "ws prod", "Bad id", None)
            .await,
        Err(WorkspaceError::InvalidWorkspaceId(_))
    ));
    assert!(matches!(
        db.store.bind_workspace(bob, "ws-2", "  ", None).await,
        Err(WorkspaceError::InvalidName)
    ));

    let rotated = db
        .store
        .rotate_workspace_key(alice, "ws-prod")
        .await
        .unwrap();
    assert_ne!(rotated.api_key, bound.api_key);
    assert!(
        db.store
            .workspace_by_key(&bound.api_key)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .workspace_by_key(&rotated.api_key)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        db.store.rotate_workspace_key(bob, "ws-prod").await,
        Err(WorkspaceError::NotFound(_))
    ));
    assert!(
        db.store
            .workspace_by_key("bcw_not-a-key")
            .await
            .unwrap()
            .is_none()
    );
    db.finish().await;
}

/// Record ids may hold any printable ASCII, including what quotes or ends a PostgreSQL array
/// literal (ingest sends a report's columns as arrays there): each is stored as sent, and sent
/// again it is a duplicate.
async fn record_ids_with_quotes_and_braces_are_stored_as_sent(db: TestDb) {
    let account = funded_account(&db, "Acme", 10).await;
    let ws = db
        .store
        .bind_workspace(account, "ws-ids", "w", None)
        .await
        .unwrap()
        .workspace;
    let ids = [
        r#"a"b"#,
        r"back\slash",
        "{x},{y}",
        "NULL",
        r#"\",NULL,""#,
        "'quote'",
    ];
    let records: Vec<_> = ids
        .iter()
        .map(|id| record(id, "network", None, "1", "2026-10-30"))
        .collect();
    let first = db.store.ingest_usage(&ws, &records).await.unwrap();
    assert_eq!(
        (first.accepted, first.duplicates),
        (ids.len(), 0),
        "{first:?}"
    );
    let mut stored: Vec<String> = sqlx::query_scalar(
        "SELECT record_id FROM usage_records WHERE workspace_id = 'ws-ids' ORDER BY record_id",
    )
    .fetch_all(db.store.pool())
    .await
    .unwrap();
    stored.sort();
    let mut sent: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    sent.sort();
    assert_eq!(stored, sent);
    let again = db.store.ingest_usage(&ws, &records).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, ids.len()));
    db.finish().await;
}

async fn usage_counts_each_record_once_and_says_why_it_refuses(db: TestDb) {
    // The clock says 2026-11-01 08:00 in Shanghai.
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let ws = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    let report = vec![
        record("r1", "logs", Some(7), "1500000", "2026-10-31"),
        record("r2", "sms", None, "30", "2026-10-31"),
        record("r1", "logs", Some(7), "1500000", "2026-10-31"),
        record("r3", "disk", None, "1", "2026-10-31"),
        record("r4", "logs", Some(5), "1", "2026-10-31"),
        record("r5", "logs", Some(7), "-1", "2026-10-31"),
        record("r6", "logs", Some(7), "1", "2026-11-02"),
        record("r7", "logs", Some(7), "1", "31/10/2026"),
        record("", "logs", Some(7), "1", "2026-10-31"),
        record("r8", "sms", Some(7), "1", "2026-10-31"),
        record("r9", "network", None, "3", "2026-11-01"),
    ];
    let outcome = db.store.ingest_usage(&ws, &report).await.unwrap();
    assert_eq!((outcome.accepted, outcome.duplicates), (3, 1));
    let reasons: Vec<(usize, &str)> = outcome
        .rejected
        .iter()
        .map(|r| (r.index, r.code.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (3, "unknown_item"),
            (4, "retention_not_priced"),
            (5, "invalid_quantity"),
            (6, "future_day"),
            (7, "invalid_day"),
            (8, "invalid_id"),
            (9, "retention_not_priced"),
        ]
    );
    assert!(
        outcome.rejected[1].reason.contains("3d, 7d, 14d, 30d, 60d"),
        "{}",
        outcome.rejected[1].reason
    );
    // The same report again stores nothing new.
    let again = db.store.ingest_usage(&ws, &report[..3]).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 3));

    // A report of 10,000 records goes in whole.
    let big: Vec<UsageInput> = (0..10_000)
        .map(|i| record(&format!("big-{i}"), "task_calls", None, "1", "2026-10-31"))
        .collect();
    let outcome = db.store.ingest_usage(&ws, &big).await.unwrap();
    assert_eq!((outcome.accepted, outcome.duplicates), (10_000, 0));
    assert!(outcome.rejected.is_empty());
    db.finish().await;
}

async fn a_day_settles_once_with_priced_lines(db: TestDb) {
    let account = funded_account(&db, "Acme", 100).await;
    let ws1 = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    let ws2 = db
        .store
        .bind_workspace(account, "ws-2", "Two", None)
        .await
        .unwrap()
        .workspace;
    // ws-1: 1,234,567 + 765,433 log lines (7 d) = 2.00 million → 2.40; 30 SMS → 3.00.
    db.store
        .ingest_usage(
            &ws1,
            &[
                record("a", "logs", Some(7), "1234567", "2026-10-30"),
                record("b", "logs", Some(7), "765433", "2026-10-30"),
                record("c", "sms", None, "30", "2026-10-30"),
            ],
        )
        .await
        .unwrap();
    // ws-2: 3 hosts of network → 6.00.
    db.store
        .ingest_usage(&ws2, &[record("a", "network", None, "3", "2026-10-30")])
        .await
        .unwrap();

    let too_soon = db.store.settle_day(day("2026-11-01"), "p1").await;
    assert!(too_soon.is_err(), "today is not over");

    let report = db.store.settle_day(day("2026-10-30"), "p1").await.unwrap();
    assert_eq!(report.status, SettlementStatus::Settled);
    assert_eq!((report.bills_charged, report.bills_found), (2, 0));
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::parse("88.60").unwrap(),
        "100 - 2.40 - 3.00 - 6.00"
    );
    let lines: Vec<StoredLine> = sqlx::query_as(
        "SELECT l.item, l.quantity, l.units, l.unit_price, l.amount_fen FROM bill_lines l \
         JOIN bills b ON b.id = l.bill_id WHERE b.workspace_id = 'ws-1' ORDER BY l.line_no",
    )
    .fetch_all(db.store.pool())
    .await
    .unwrap();
    assert_eq!(
        lines,
        [
            (
                "logs".into(),
                Some("2000000".into()),
                Some("2".into()),
                Some("1.2".into()),
                240
            ),
            (
                "sms".into(),
                Some("30".into()),
                Some("3".into()),
                Some("1".into()),
                300
            ),
        ]
    );

    let before = db.fingerprint().await;
    let again = db.store.settle_day(day("2026-10-30"), "p2").await.unwrap();
    assert_eq!(again.status, SettlementStatus::AlreadySettled);
    assert_eq!((again.bills_charged, again.bills_found), (0, 2));
    assert_eq!(
        db.fingerprint().await,
        before,
        "settling again changes nothing"
    );

    // Usage for a settled day is refused.
    let late = db
        .store
        .ingest_usage(&ws1, &[record("late", "sms", None, "10", "2026-10-30")])
        .await
        .unwrap();
    assert_eq!(late.rejected[0].code, "day_settled");
    assert_eq!(
        db.store.days_to_settle().await.unwrap(),
        Vec::<NaiveDate>::new()
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_crashed_run_resumes_and_a_live_lease_is_respected(db: TestDb) {
    let account = funded_account(&db, "Acme", 100).await;
    for id in ["ws-1", "ws-2", "ws-3"] {
        let ws = db
            .store
            .bind_workspace(account, id, id, None)
            .await
            .unwrap()
            .workspace;
        db.store
            .ingest_usage(&ws, &[record("a", "network", None, "1", "2026-10-30")])
            .await
            .unwrap();
    }
    assert_eq!(
        db.store.days_to_settle().await.unwrap(),
        [day("2026-10-30")]
    );
    // A process started the day in one shard, took its lease and died after charging nothing;
    // its lease is still live.
    started_day(&db, 1, &[(0, ShardRow::HeldByDead), (1, ShardRow::Open)]).await;
    let busy = db.store.settle_day(day("2026-10-30"), "p1").await.unwrap();
    assert_eq!(busy.status, SettlementStatus::Busy);
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(100)
    );
    // Once the lease runs out, the next run takes over and charges each bill once.
    db.clock.advance(Duration::seconds(61));
    let resumed = db.store.settle_day(day("2026-10-30"), "p1").await.unwrap();
    assert_eq!(resumed.status, SettlementStatus::Settled);
    assert_eq!(resumed.bills_charged, 3);
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(94)
    );
    db.finish().await;
}

/// A shard row of a day as another process left it.
enum ShardRow {
    /// Leased for another 60 s by a process named `dead`.
    HeldByDead,
    Open,
    Done,
}

/// 2026-10-30 as started by another process in `shards` shards, with these shard rows (the rest
/// are made by the next run).
async fn started_day(db: &TestDb, shards: i64, rows: &[(i64, ShardRow)]) {
    sqlx::query(
        "INSERT INTO settlement_runs (usage_day, status, started_at, shards) VALUES ('2026-10-30', 'running', 0, $1)",
    )
    .bind(shards)
    .execute(db.store.pool())
    .await
    .unwrap();
    let live_until = (db.store.now() + Duration::seconds(60)).timestamp_micros();
    for (shard, row) in rows {
        let (status, owner, until) = match row {
            ShardRow::HeldByDead => ("running", Some("dead"), Some(live_until)),
            ShardRow::Open => ("running", None, None),
            ShardRow::Done => ("done", None, None),
        };
        sqlx::query(
            "INSERT INTO settlement_shards (usage_day, shard, status, lease_owner, lease_until) \
             VALUES ('2026-10-30', $1, $2, $3, $4)",
        )
        .bind(*shard)
        .bind(status)
        .bind(owner)
        .bind(until)
        .execute(db.store.pool())
        .await
        .unwrap();
    }
}

/// Usage of `workspaces` workspaces on each of `accounts` funded accounts for 2026-10-30.
async fn usage_of_accounts(db: &TestDb, accounts: usize, workspaces: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for a in 0..accounts {
        let account = funded_account(db, &format!("Acme-{a}"), 100).await;
        for w in 0..workspaces {
            let ws = db
                .store
                .bind_workspace(account, &format!("ws-{a}-{w}"), "w", None)
                .await
                .unwrap()
                .workspace;
            db.store
                .ingest_usage(&ws, &[record("a", "network", None, "1", "2026-10-30")])
                .await
                .unwrap();
        }
        ids.push(account);
    }
    ids
}

async fn bills_of(db: &TestDb, account: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM bills WHERE account_id = $1")
        .bind(account)
        .fetch_one(db.store.pool())
        .await
        .unwrap()
}

/// A day in shards by account: while a dead process's lease holds one shard, another process
/// settles the other shard's accounts and says the day is busy; when the lease runs out, the
/// next run settles the rest, then the sweep, and the day is done.
async fn a_day_is_settled_in_shards_by_account(db: TestDb) {
    let accounts = usage_of_accounts(&db, 4, 3).await;
    let store = db.store.clone().with_settlement_shards(2);
    // "dead" starts the day and holds shard 0 (even account ids), as if killed at once.
    started_day(&db, 2, &[(0, ShardRow::HeldByDead)]).await;
    let first = store.settle_day(day("2026-10-30"), "p1").await.unwrap();
    assert_eq!(first.status, SettlementStatus::Busy, "{first:?}");
    assert_eq!(first.bills_charged, 6, "the odd accounts' 2 x 3 workspaces");
    for account in &accounts {
        assert_eq!(
            bills_of(&db, *account).await,
            if account % 2 == 1 { 3 } else { 0 }
        );
    }
    assert!(
        store
            .days_to_settle()
            .await
            .unwrap()
            .contains(&day("2026-10-30")),
        "the day is not done while a shard is open"
    );
    db.clock.advance(Duration::seconds(61));
    let second = store.settle_day(day("2026-10-30"), "p2").await.unwrap();
    assert_eq!(second.status, SettlementStatus::Settled, "{second:?}");
    assert_eq!(second.bills_charged, 6);
    assert!(store.days_to_settle().await.unwrap().is_empty());
    let again = store.settle_day(day("2026-10-30"), "p3").await.unwrap();
    assert_eq!(again.status, SettlementStatus::AlreadySettled);
    assert_eq!(again.bills_found, 12);
    db.assert_ledger_clean().await;
    db.finish().await;
}

/// The sweep bills what the shards missed: here shard 0 is marked done without having billed its
/// workspaces (as when a workspace moves to another account between two shards' reads).
async fn the_sweep_bills_what_the_shards_missed(db: TestDb) {
    let accounts = usage_of_accounts(&db, 2, 2).await;
    let store = db.store.clone().with_settlement_shards(2);
    started_day(&db, 2, &[(0, ShardRow::Done)]).await;
    let run = store.settle_day(day("2026-10-30"), "p1").await.unwrap();
    assert_eq!(run.status, SettlementStatus::Settled, "{run:?}");
    assert_eq!(run.bills_charged, 4);
    for account in &accounts {
        assert_eq!(bills_of(&db, *account).await, 2);
    }
    db.assert_ledger_clean().await;
    db.finish().await;
}

/// Several runs at once on a day of many shards: every bill once, the day done.
async fn concurrent_runs_share_the_shards_of_a_day(db: TestDb) {
    usage_of_accounts(&db, 8, 5).await;
    let store = db.store.clone().with_settlement_shards(4);
    let runs: Vec<_> = (0..3)
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move { store.settle_day(day("2026-10-30"), &format!("p{p}")).await })
        })
        .collect();
    let mut charged = 0;
    for run in runs {
        charged += run.await.unwrap().unwrap().bills_charged;
    }
    assert_eq!(charged, 40);
    // A run that found every shard taken said busy; whichever finished last closed the day.
    let closing = store.settle_day(day("2026-10-30"), "p9").await.unwrap();
    assert_eq!(
        closing.status,
        SettlementStatus::AlreadySettled,
        "{closing:?}"
    );
    assert_eq!(closing.bills_found, 40);
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn racing_stores_settle_a_day_once(db: TestDb) {
    let account = funded_account(&db, "Acme", 1000).await;
    for i in 0..20 {
        let ws = db
            .store
            .bind_workspace(account, &format!("ws-{i:02}"), "w", None)
            .await
            .unwrap()
            .workspace;
        db.store
            .ingest_usage(&ws, &[record("a", "network", None, "1", "2026-10-30")])
            .await
            .unwrap();
    }
    let runs = (0..6).map(|p| {
        let store = db.store.clone();
        tokio::spawn(async move { store.settle_day(day("2026-10-30"), &format!("p{p}")).await })
    });
    for run in runs {
        run.await.unwrap().unwrap();
    }
    // However the runs interleaved, each of the 20 bills of 2.00 was charged once.
    let finished = db
        .store
        .settle_day(day("2026-10-30"), "late")
        .await
        .unwrap();
    assert!(
        matches!(
            finished.status,
            SettlementStatus::AlreadySettled | SettlementStatus::Settled
        ),
        "{finished:?}"
    );
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(960)
    );
    let bills: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bills")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(bills, 20);
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn monthly_bills_add_up_the_daily_bills(db: TestDb) {
    let account = funded_account(&db, "Acme", 10).await;
    let ws = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    // Two days of 3 hosts (6.00 each): the first paid by cash, the second 4.00 cash + 2.00 arrears.
    for d in ["2026-10-30", "2026-10-31"] {
        db.store
            .ingest_usage(&ws, &[record(d, "network", None, "3", d)])
            .await
            .unwrap();
    }
    let first = db.store.settle_day(day("2026-10-30"), "p").await.unwrap();
    assert_eq!(first.monthly_bills, 0, "October is not over on the 30th");
    let last = db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(last.monthly_bills, 1);
    let row: (String, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT month, daily_bills, total_fen, cash_fen, arrears_fen FROM monthly_bills",
    )
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(row, ("2026-10".into(), 2, 1200, 1000, 200));
    let account_now = db.store.account(account).await.unwrap();
    assert_eq!(account_now.arrears, Amount::from_yuan(2));
    db.finish().await;
}

async fn a_month_is_assembled_only_once_every_day_of_it_is_settled(db: TestDb) {
    let account = funded_account(&db, "Acme", 100).await;
    let ws = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    for d in ["2026-10-15", "2026-10-31"] {
        db.store
            .ingest_usage(&ws, &[record(d, "network", None, "3", d)])
            .await
            .unwrap();
    }
    // The 15th cannot be priced for now (a stored quantity went bad), so its run stays open.
    sqlx::query("UPDATE usage_records SET quantity = 'x' WHERE usage_day = '2026-10-15'")
        .execute(db.store.pool())
        .await
        .unwrap();
    let failed = db.store.settle_day(day("2026-10-15"), "p").await.unwrap();
    assert_eq!(failed.status, SettlementStatus::Incomplete);
    let last = db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(
        (last.status, last.monthly_bills),
        (SettlementStatus::Settled, 0),
        "October is not assembled while its 15th is unsettled"
    );
    sqlx::query("UPDATE usage_records SET quantity = '3' WHERE usage_day = '2026-10-15'")
        .execute(db.store.pool())
        .await
        .unwrap();
    let retried = db.store.settle_day(day("2026-10-15"), "p").await.unwrap();
    assert_eq!(
        (retried.status, retried.monthly_bills),
        (SettlementStatus::Settled, 1),
        "settling the last open day of an ended month assembles it"
    );
    let row: (i64, i64) =
        sqlx::query_as("SELECT daily_bills, total_fen FROM monthly_bills WHERE month = '2026-10'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
    assert_eq!(row, (2, 1200));
    db.assert_ledger_clean().await;

    // Usage for a day of the assembled month, even one without usage so far, is refused: it
    // would make a daily bill the monthly bill leaves out.
    let late = db
        .store
        .ingest_usage(&ws, &[record("late", "network", None, "1", "2026-10-20")])
        .await
        .unwrap();
    assert_eq!(late.accepted, 0);
    assert_eq!(late.rejected[0].code, "day_settled", "{:?}", late.rejected);
    assert!(db.store.days_to_settle().await.unwrap().is_empty());
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn a_record_too_large_to_charge_is_refused_rather_than_blocking_its_day(db: TestDb) {
    let account = funded_account(&db, "Acme", 100).await;
    let ws = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    // 2,000,000,000 GB of backup logs cost 14,000,000.00: more than a bill line may be.
    let outcome = db
        .store
        .ingest_usage(
            &ws,
            &[
                record("huge", "backup_logs", None, "2000000000", "2026-10-31"),
                record("fine", "network", None, "1", "2026-10-31"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 1);
    assert_eq!(
        (outcome.rejected[0].index, outcome.rejected[0].code.as_str()),
        (0, "line_too_large"),
        "{:?}",
        outcome.rejected
    );
    let report = db.store.settle_day(day("2026-10-31"), "p").await.unwrap();
    assert_eq!(
        (report.status, report.bills_charged),
        (SettlementStatus::Settled, 1)
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn the_demo_data_is_real_settled_usage_made_once(db: TestDb) {
    use backend::demo::DemoOutcome;
    assert_eq!(
        db.store.seed_demo().await.unwrap(),
        DemoOutcome::Created { bills: 120 }
    );
    assert_eq!(
        db.store.seed_demo().await.unwrap(),
        DemoOutcome::AlreadyThere
    );
    let customer = db.store.customer_by_username("demo").await.unwrap();
    let months = db
        .store
        .monthly_bills(customer.billing_account_id, None)
        .await
        .unwrap();
    // The clock says 2026-11-01: September and October ended, two workspaces each.
    let shown: Vec<(&str, &str)> = months
        .iter()
        .map(|m| (m.month.as_str(), m.workspace_id.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("2026-10", "demo-prod"),
            ("2026-10", "demo-staging"),
            ("2026-09", "demo-prod"),
            ("2026-09", "demo-staging"),
        ]
    );
    assert!(db.store.days_to_settle().await.unwrap().is_empty());
    // A healthy wallet, as a real customer's would be after two months.
    let account = db.store.account(customer.billing_account_id).await.unwrap();
    assert!(account.cash > Amount::ZERO, "cash left: {}", account.cash);
    assert_eq!(account.arrears, Amount::ZERO);
    use billing::InstrumentKind;
    let vouchers: Vec<_> = account
        .instruments
        .iter()
        .filter(|i| i.kind == InstrumentKind::RegularVoucher)
        .collect();
    assert!(
        vouchers
            .iter()
            .any(|v| v.expired_at.is_some() && v.balance.is_zero()),
        "an expired voucher (its rest went to breakage)"
    );
    assert!(
        vouchers
            .iter()
            .any(|v| v.balance > Amount::ZERO && v.balance < v.face_value),
        "a partly used voucher"
    );
    assert!(
        account
            .instruments
            .iter()
            .any(|i| i.kind == InstrumentKind::PrepaidCard && i.balance > Amount::ZERO),
        "a card with money left"
    );
    let top_ups = db
        .store
        .top_ups(customer.billing_account_id, 10)
        .await
        .unwrap();
    assert!(
        top_ups
            .iter()
            .any(|t| t.status == backend::topups::TopUpStatus::Paid),
        "a paid top-up in the history"
    );
    // A ticket support answered, and the enterprise waiting for review with its licence.
    let tickets = db
        .store
        .tickets(
            customer.billing_account_id,
            &backend::support::TicketFilter {
                per_page: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tickets.iter().map(|t| t.state).collect::<Vec<_>>(),
        [billing::support::TicketState::Replied]
    );
    let enterprise = db
        .store
        .enterprise(customer.billing_account_id)
        .await
        .unwrap();
    assert_eq!(
        enterprise.state,
        billing::enterprise::VerificationState::PendingReview
    );
    assert!(enterprise.licence.is_some());
    // Each bill was charged at 00:01 (Shanghai) after its day, not when the demo was made.
    let times: Vec<(String, i64)> = sqlx::query_as("SELECT bill_date, charged_at FROM bills")
        .fetch_all(db.store.pool())
        .await
        .unwrap();
    for (date, charged_at) in times {
        let charged = chrono::DateTime::from_timestamp_micros(charged_at)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Shanghai);
        assert_eq!(
            (
                charged.date_naive() - day(&date),
                charged.format("%H:%M").to_string()
            ),
            (Duration::days(1), "00:01".to_owned()),
            "{date}"
        );
    }
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn an_operator_loads_a_price_version_that_prices_its_days(db: TestDb) {
    let account = funded_account(&db, "Acme", 100).await;
    let ws = db
        .store
        .bind_workspace(account, "ws-1", "One", None)
        .await
        .unwrap()
        .workspace;
    let mut version = billing::PriceCatalog::default_catalog().versions[0].clone();
    version.version = "2026-10-network".into();
    version.effective_from = day("2026-10-31");
    version
        .items
        .get_mut(&billing::BillingItem::Network)
        .unwrap()
        .price = Some(rust_decimal::Decimal::ONE);
    let document = serde_json::json!({ "versions": [version] }).to_string();
    assert_eq!(
        db.store.load_prices(&document).await.unwrap(),
        ["2026-10-network"]
    );
    // Loading it again clashes with itself: refused whole, nothing stored twice.
    assert!(db.store.load_prices(&document).await.is_err());
    assert!(db.store.load_prices("{\"versions\": 1}").await.is_err());
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM price_versions")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);
    // The day before it keeps the shipped price (2.00 a host), the day it starts costs 1.00.
    for d in ["2026-10-30", "2026-10-31"] {
        db.store
            .ingest_usage(&ws, &[record(d, "network", None, "1", d)])
            .await
            .unwrap();
    }
    for d in ["2026-10-30", "2026-10-31"] {
        db.store.settle_day(day(d), "p").await.unwrap();
    }
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(97)
    );
    db.finish().await;
}

async fn a_bank_reference_in_any_script_credits_once(db: TestDb) {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let by = backend::auth::audit::OperatorAct {
        operator_id: db
            .store
            .create_operator("ops", "correct horse battery")
            .await
            .unwrap()
            .id,
        client: "test".into(),
    };
    let reference = "工行回单 0001";
    let first = db
        .store
        .record_bank_transfer(&by, account, Amount::from_yuan(5), reference)
        .await
        .unwrap();
    let again = db
        .store
        .record_bank_transfer(&by, account, Amount::from_yuan(5), reference)
        .await
        .unwrap();
    assert_eq!(first, again, "the same transfer replays");
    let other = db
        .store
        .record_bank_transfer(&by, account, Amount::from_yuan(6), reference)
        .await
        .unwrap_err();
    assert!(
        matches!(other, backend::LedgerError::DuplicateReceipt { .. }),
        "{other}"
    );
    assert_eq!(
        db.store.account(account).await.unwrap().cash,
        Amount::from_yuan(5)
    );
    db.finish().await;
}

on_both_databases!(
    an_operator_loads_a_price_version_that_prices_its_days,
    a_bank_reference_in_any_script_credits_once,
    the_demo_data_is_real_settled_usage_made_once,
    a_workspace_binds_once_and_its_key_rotates,
    usage_counts_each_record_once_and_says_why_it_refuses,
    record_ids_with_quotes_and_braces_are_stored_as_sent,
    a_day_settles_once_with_priced_lines,
    a_crashed_run_resumes_and_a_live_lease_is_respected,
    a_day_is_settled_in_shards_by_account,
    the_sweep_bills_what_the_shards_missed,
    concurrent_runs_share_the_shards_of_a_day,
    racing_stores_settle_a_day_once,
    monthly_bills_add_up_the_daily_bills,
    a_month_is_assembled_only_once_every_day_of_it_is_settled,
    a_record_too_large_to_charge_is_refused_rather_than_blocking_its_day,
);

/// A live run renews its lease four times per lease, so it keeps its day however long the day
/// takes, while another process asking meanwhile is told it is busy. PostgreSQL only: the test
/// holds the run in the middle of the day with a lock on the account it charges, which leaves
/// the heartbeat's own writes free (SQLite has one writer: the lock would hold those too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_run_keeps_its_day_past_the_lease_by_its_heartbeat() {
    assert_eq!(
        backend::settlement::heartbeat_period(30),
        std::time::Duration::from_millis(7_500)
    );
    let db = support::TestDb::postgres().await;
    let store = db.store.clone().with_settlement_lease_seconds(2);
    let account = funded_account(&db, "Acme", 100).await;
    for id in ["ws-1", "ws-2"] {
        let ws = store
            .bind_workspace(account, id, id, None)
            .await
            .unwrap()
            .workspace;
        store
            .ingest_usage(&ws, &[record("a", "network", None, "1", "2026-10-30")])
            .await
            .unwrap();
    }
    let mut held = store.pool().begin().await.unwrap();
    sqlx::query("SELECT id FROM billing_accounts WHERE id = $1 FOR UPDATE")
        .bind(account)
        .fetch_one(&mut *held)
        .await
        .unwrap();
    let first = tokio::spawn({
        let store = store.clone();
        async move { store.settle_day(day("2026-10-30"), "p1").await }
    });
    for _ in 0..200 {
        let owner: Option<Option<String>> = sqlx::query_scalar(
            "SELECT lease_owner FROM settlement_runs WHERE usage_day = '2026-10-30'",
        )
        .fetch_optional(store.pool())
        .await
        .unwrap();
        if owner.flatten().as_deref() == Some("p1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The lease's 2 s pass on the store's clock; the run, held at its first bill, beats every 0.5 s.
    db.clock.advance(Duration::seconds(3));
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let second = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        store.settle_day(day("2026-10-30"), "p2"),
    )
    .await
    .expect("a second run does not take over a live run's day (and wait on its lock)")
    .unwrap();
    assert_eq!(second.status, SettlementStatus::Busy);
    assert!(!first.is_finished(), "the first run is still held");
    held.rollback().await.unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status, SettlementStatus::Settled);
    assert_eq!(first.bills_charged, 2);
    assert_eq!(
        store.account(account).await.unwrap().cash,
        Amount::from_yuan(96)
    );
    db.finish().await;
}
