//! Hostile usage reports (`backend::usage`): whatever a workspace sends, as records or as JSON,
//! checking never panics; every refusal carries one of the documented codes, names its record and
//! says why; every record accepted can be priced and charged at settlement. Through
//! `Store::ingest_usage` on SQLite: every record is accepted, a duplicate or refused, and a
//! retried report counts once.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};

use backend::bills::MAX_CHARGE_YUAN;
use backend::usage::{REJECTION_CODES, UsageInput, check_record};
use billing::pricing::parse_quantity;
use billing::{Amount, BillingItem, PriceCatalog};
use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::TestDb;

/// The test clock's today in the settlement timezone (2026-11-01 00:00 UTC is 08:00 in Shanghai).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,12}",
        "[!-~]{126,130}",
        "r-[0-9]",
        "[a-z ]{0,3}",
        any::<String>(),
    ]
}

fn item() -> impl Strategy<Value = String> {
    let codes: Vec<String> = BillingItem::ALL
        .iter()
        .map(|i| i.code().to_owned())
        .collect();
    prop_oneof![
        4 => prop::sample::select(codes.clone()),
        1 => prop::sample::select(codes).prop_map(|c| c.to_uppercase()),
        1 => prop::sample::select(codes_with_space()),
        1 => any::<String>(),
    ]
}

fn codes_with_space() -> Vec<String> {
    BillingItem::ALL
        .iter()
        .map(|i| format!(" {}", i.code()))
        .collect()
}

fn retention() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        2 => Just(None),
        3 => prop::sample::select(vec![3i64, 7, 14, 30, 60, 180, 360]).prop_map(Some),
        1 => (-5i64..400).prop_map(Some),
        1 => any::<i64>().prop_map(Some),
    ]
}

fn quantity() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,4}(\\.[0-9]{1,6})?",
        "[0-9]{1,19}(\\.[0-9]{1,8})?",
        "1000000000000000(\\.0{1,3})?",
        "[-+0-9.eE ,]{0,12}",
        any::<String>(),
    ]
}

fn day() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-1_200i64..5).prop_map(|back| (today() + Duration::days(back)).to_string()),
        1 => "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}",
        1 => "[+-]?[0-9]{5,6}-01-01",
        1 => any::<String>(),
    ]
}

fn record() -> impl Strategy<Value = UsageInput> {
    (id(), item(), retention(), quantity(), day()).prop_map(
        |(id, item, retention_days, quantity, day)| UsageInput {
            id,
            item,
            retention_days,
            quantity,
            day,
        },
    )
}

/// JSON that may or may not be a record: the right keys with values of any type, extra keys,
/// scalars and arrays.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        Just(Value::String("network".into())),
        Just(Value::String("2026-10-31".into())),
    ];
    let keys = prop_oneof![
        prop::sample::select(vec!["id", "item", "retention_days", "quantity", "day"])
            .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..7)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What `check_record` promises about one record.
fn check_one(
    index: usize,
    input: &UsageInput,
    catalog: &PriceCatalog,
) -> Result<(), TestCaseError> {
    match check_record(index, input, catalog, today()) {
        Err(refused) => {
            prop_assert!(
                REJECTION_CODES.contains(&refused.code.as_str()),
                "undocumented code {}",
                refused.code
            );
            prop_assert!(
                !["invalid_record", "day_settled"].contains(&refused.code.as_str()),
                "{} is not the checker's",
                refused.code
            );
            prop_assert_eq!(refused.index, index);
            prop_assert_eq!(refused.id.as_deref(), Some(input.id.as_str()));
            prop_assert!(!refused.reason.is_empty());
        }
        Ok(checked) => {
            prop_assert_eq!(&checked.id, &input.id);
            prop_assert_eq!(billing::day::parse_day(&input.day), Some(checked.day));
            prop_assert!(checked.day <= today());
            prop_assert_eq!(checked.item.code(), input.item.as_str());
            prop_assert_eq!(checked.retention_days.map(i64::from), input.retention_days);
            let quantity = parse_quantity(&input.quantity).unwrap();
            prop_assert_eq!(parse_quantity(&checked.quantity), Ok(quantity));
            // Settlement can price it; whether its day's line stays under the cap is decided at
            // ingest, against the day's stored usage (`line_too_large`).
            let priced = catalog
                .for_day(checked.day)
                .and_then(|prices| prices.price(checked.item, checked.retention_days, quantity));
            prop_assert!(
                matches!(
                    priced,
                    Ok(_) | Err(billing::pricing::PricingError::LineTooLarge { .. })
                ),
                "{:?} accepted but not priced: {:?}",
                input,
                priced
            );
            if let Ok(priced) = priced {
                prop_assert!(
                    priced.amount <= Amount::from_yuan(MAX_CHARGE_YUAN),
                    "{:?} priced above what one bill line may be: {}",
                    input,
                    priced.amount
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn checking_any_record_never_panics_and_a_refusal_carries_a_documented_code(
        index in 0usize..10_000,
        input in record(),
    ) {
        check_one(index, &input, &PriceCatalog::default_catalog())?;
    }

    #[test]
    fn any_json_is_read_as_a_record_or_refused_without_panic(value in json(), text in any::<String>()) {
        let catalog = PriceCatalog::default_catalog();
        let reads = [
            serde_json::from_value::<UsageInput>(value.clone()),
            serde_json::from_str::<UsageInput>(&value.to_string()),
            serde_json::from_str::<UsageInput>(&text),
        ];
        for input in reads.iter().flatten() {
            check_one(0, input, &catalog)?;
        }
    }
}

static WORKSPACES: AtomicU32 = AtomicU32::new(0);

/// Reports stored through the store, a fresh workspace each case; 2026-10-20 is already settled,
/// which closes October.
#[test]
fn every_reported_record_is_accepted_a_duplicate_or_refused_and_a_retry_counts_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(TestDb::sqlite());
    let account = runtime.block_on(async {
        let account = db.store.create_billing_account("Acme").await.unwrap();
        let ws = db
            .store
            .bind_workspace(account, "ws-settled", "Settled", None)
            .await
            .unwrap()
            .workspace;
        let settled = UsageInput {
            id: "s".into(),
            item: "network".into(),
            retention_days: None,
            quantity: "1".into(),
            day: "2026-10-20".into(),
        };
        db.store.ingest_usage(&ws, &[settled]).await.unwrap();
        db.store
            .settle_day("2026-10-20".parse().unwrap(), "p")
            .await
            .unwrap();
        let closed: Option<String> =
            sqlx::query_scalar("SELECT month FROM month_closings WHERE month = '2026-10'")
                .fetch_optional(db.store.pool())
                .await
                .unwrap();
        assert_eq!(closed.as_deref(), Some("2026-10"), "October was closed");
        account
    });
    let settled_day = prop_oneof![
        Just("2026-10-20".to_owned()),
        Just("2026-10-05".to_owned()),
        day()
    ];
    let report = prop::collection::vec(
        (record(), settled_day).prop_map(|(mut r, d)| {
            r.day = d;
            r
        }),
        1..24,
    );
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let catalog = PriceCatalog::default_catalog();
    let result = TestRunner::new(config).run(&report, |records| {
        runtime.block_on(async {
            let n = WORKSPACES.fetch_add(1, Ordering::Relaxed);
            let ws = db
                .store
                .bind_workspace(account, &format!("ws-{n}"), "Case", None)
                .await
                .unwrap()
                .workspace;
            let first = db.store.ingest_usage(&ws, &records).await.unwrap();
            prop_assert_eq!(
                first.accepted + first.duplicates + first.rejected.len(),
                records.len()
            );
            prop_assert!(first.rejected.windows(2).all(|w| w[0].index < w[1].index));
            for refused in &first.rejected {
                prop_assert!(REJECTION_CODES.contains(&refused.code.as_str()));
                prop_assert_ne!(refused.code.as_str(), "invalid_record");
                let input = &records[refused.index];
                prop_assert_eq!(refused.id.as_deref(), Some(input.id.as_str()));
                if refused.code == "day_settled" {
                    // Settling 2026-10-20, October's only usage day, closed October: every day of
                    // it is settled (PRODUCT.md: a closed month takes no new bill).
                    prop_assert!(
                        input.day.starts_with("2026-10-"),
                        "{} refused as settled",
                        input.day
                    );
                    prop_assert!(check_record(refused.index, input, &catalog, today()).is_ok());
                }
            }
            let stored: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM usage_records WHERE workspace_id = $1")
                    .bind(&ws.workspace_id)
                    .fetch_one(db.store.pool())
                    .await
                    .unwrap();
            prop_assert_eq!(stored, first.accepted as i64);
            // The same report again stores nothing and refuses the same records.
            let again = db.store.ingest_usage(&ws, &records).await.unwrap();
            prop_assert_eq!(again.accepted, 0);
            prop_assert_eq!(again.duplicates, first.accepted + first.duplicates);
            prop_assert_eq!(again.rejected, first.rejected);
            Ok(())
        })
    });
    runtime.block_on(async {
        db.assert_ledger_clean().await;
        db.finish().await;
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
