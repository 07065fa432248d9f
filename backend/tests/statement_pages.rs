//! Statement pages on both databases: every page of the consumption details and of income and
//! expenditure, put together, is the whole listing in order, whatever the page size; totals count
//! what the pages hold; a workspace filter and a period narrow both.

mod support;

use backend::bills::BillCharge;
use backend::statements::{Page, Period};
use billing::{Amount, BillingItem, Charge, Settlement};
use chrono::NaiveDate;
use support::{TestDb, key};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Bills of three workspaces over five days, with one to three lines each.
async fn history(db: &TestDb) -> i64 {
    let account = db.store.create_billing_account("Acme").await.unwrap();
    let items = [BillingItem::Logs, BillingItem::Network, BillingItem::Sms];
    let mut batch = Vec::new();
    for d in 1..=5 {
        for (w, workspace) in ["ws-c", "ws-a", "ws-b"].iter().enumerate() {
            let lines = 1 + (d + w) % 3;
            batch.push((
                key(&format!("bill-{workspace}-{d}")),
                BillCharge {
                    usage: Vec::new(),
                    account_id: account,
                    workspace_id: (*workspace).into(),
                    day: day(&format!("2026-10-0{d}")),
                    cloud_subscription: None,
                    settlement: Settlement::Account,
                    charges: items[..lines]
                        .iter()
                        .map(|&item| Charge {
                            item,
                            amount: Amount::from_fen(100 * d as i64 + w as i64),
                        })
                        .collect(),
                },
            ));
        }
    }
    for result in db.store.charge_bills(&batch).await.unwrap() {
        result.unwrap();
    }
    account
}

async fn pages_put_together_are_the_whole_listing(db: TestDb) {
    let account = history(&db).await;
    let all_days = Period {
        from: day("2026-10-01"),
        to: day("2026-10-05"),
    };
    let everything = Page {
        number: 1,
        size: 500,
    };
    for (period, workspace) in [
        (all_days, None),
        (all_days, Some("ws-b")),
        (
            Period {
                from: day("2026-10-02"),
                to: day("2026-10-03"),
            },
            None,
        ),
    ] {
        let whole = db
            .store
            .consumption(account, period, workspace, everything)
            .await
            .unwrap();
        assert_eq!(whole.total as usize, whole.items.len());
        let keys: Vec<_> = whole
            .items
            .iter()
            .map(|l| (l.day, l.workspace_id.clone(), l.item.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        assert_eq!(keys, sorted, "day, then workspace order");
        if let Some(w) = workspace {
            assert!(whole.items.iter().all(|l| l.workspace_id == w));
        }
        for size in [1, 2, 3, 7] {
            let mut joined = Vec::new();
            for number in 1.. {
                let page = db
                    .store
                    .consumption(account, period, workspace, Page { number, size })
                    .await
                    .unwrap();
                assert_eq!(page.total, whole.total);
                if page.items.is_empty() {
                    break;
                }
                assert!(page.items.len() as i64 <= size);
                joined.extend(page.items);
            }
            assert_eq!(joined, whole.items, "pages of {size}");
        }
    }
    // Income and expenditure go by when a transaction was written (the test clock's November).
    let written = Period {
        from: day("2026-10-01"),
        to: day("2026-11-30"),
    };
    let income = db
        .store
        .transactions(account, written, everything)
        .await
        .unwrap();
    assert_eq!(income.total, 15);
    for size in [1, 4] {
        let mut joined = Vec::new();
        for number in 1..=(15 / size + 1) {
            joined.extend(
                db.store
                    .transactions(account, written, Page { number, size })
                    .await
                    .unwrap()
                    .items,
            );
        }
        assert_eq!(joined, income.items, "income pages of {size}");
    }
    db.finish().await;
}

on_both_databases!(pages_put_together_are_the_whole_listing);
