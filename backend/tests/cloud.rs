//! Cloud settlement (issue 17), both databases: a subscription from Alibaba's SPI, a workspace
//! switched to it (once per calendar month in the settlement timezone; the instance belongs to
//! the first account naming it with its aliUid), a cloud-settled day paid by a voucher then the
//! cloud with one metering record, and the subscription's end switching every workspace back
//! with one mail.

mod support;

use backend::cloud::aliyun::{SpiAnswer, SpiCall};
use backend::cloud::{Cloud, NewSubscription, SettlementChoice, SubscriptionStatus};
use backend::problem::Problem;
use backend::usage::UsageInput;
use billing::Amount;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use support::{TestDb, key};

fn yuan(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

async fn subscribe(db: &TestDb, ali_uid: &str, order: &str) -> String {
    let call = SpiCall::Create(NewSubscription {
        cloud: Cloud::Aliyun,
        cloud_account_id: ali_uid.into(),
        order_ref: order.into(),
        product_code: "cmgj00012345".into(),
        sku_id: "yuncode1234500001".into(),
        valid_until: None,
    });
    match db.store.aliyun_spi(&call).await.unwrap() {
        SpiAnswer::Instance(id) => id,
        other => panic!("{other:?}"),
    }
}

fn aliyun(ali_uid: &str, instance: &str) -> SettlementChoice {
    SettlementChoice::Aliyun {
        account_id: ali_uid.into(),
        instance_id: instance.into(),
    }
}

async fn a_subscription_is_created_once_and_claimed_by_the_first_account(db: TestDb) {
    let instance = subscribe(&db, "1234567890", "order-1").await;
    assert!(instance.starts_with("bc-aliyun-"), "{instance}");
    assert!(!instance.contains("order-1"), "not the order id");
    assert_eq!(
        subscribe(&db, "1234567890", "order-1").await,
        instance,
        "a retried createInstance"
    );
    assert_ne!(subscribe(&db, "1234567890", "order-2").await, instance);

    let alice = db.customer_account("alice").await;
    let bob = db.customer_account("bob").await;
    for (account, ws) in [(alice, "ws-a"), (bob, "ws-b")] {
        db.store
            .bind_workspace(account, ws, ws, None)
            .await
            .unwrap();
    }
    // The wrong aliUid, an unknown instance: not found, the same answer.
    for choice in [
        aliyun("999", &instance),
        aliyun("1234567890", "bc-aliyun-guess"),
    ] {
        let refused = db
            .store
            .change_settlement(alice, "ws-a", &choice)
            .await
            .unwrap_err();
        assert_eq!(Problem::from(refused).code, "cloud_instance_not_found");
    }
    let switched = db
        .store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    assert_eq!(switched.settlement, billing::Settlement::Cloud);
    // Bob names the same instance: it is Alice's.
    let refused = db
        .store
        .change_settlement(bob, "ws-b", &aliyun("1234567890", &instance))
        .await
        .unwrap_err();
    assert_eq!(
        Problem::from(refused).code,
        "cloud_instance_of_another_account"
    );
    let accounts = db.store.cloud_accounts(alice).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].workspaces, vec!["ws-a"]);
    assert!(db.store.cloud_accounts(bob).await.unwrap().is_empty());
    db.finish().await;
}

async fn a_workspace_changes_method_once_per_calendar_month(db: TestDb) {
    let instance = subscribe(&db, "1234567890", "order-1").await;
    let alice = db.customer_account("alice").await;
    db.store
        .bind_workspace(alice, "ws-a", "A", None)
        .await
        .unwrap();
    // 2026-11-30 22:00 in Shanghai.
    db.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 30, 14, 0, 0).unwrap());
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    // Choosing what is chosen is no change.
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    // 23:59 the same day: refused, with the day it may change again.
    db.clock.advance(Duration::minutes(119));
    let refused = db
        .store
        .change_settlement(alice, "ws-a", &SettlementChoice::Account)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("2026-12-01"), "{refused}");
    assert_eq!(Problem::from(refused).code, "settlement_changed_this_month");
    // 00:01 on December 1st in Shanghai (still November 30th in UTC): a new month.
    db.clock.advance(Duration::minutes(2));
    let back = db
        .store
        .change_settlement(alice, "ws-a", &SettlementChoice::Account)
        .await
        .unwrap();
    assert_eq!(back.settlement, billing::Settlement::Account);
    db.finish().await;
}

async fn a_cloud_settled_day_is_paid_by_vouchers_then_the_cloud_and_metered_once(db: TestDb) {
    let instance = subscribe(&db, "1234567890", "order-1").await;
    let alice = db.customer_account("alice").await;
    let ws = db
        .store
        .bind_workspace(alice, "ws-a", "A", None)
        .await
        .unwrap()
        .workspace;
    db.store
        .issue_voucher(
            &key("v1"),
            &backend::vouchers::VoucherIssue {
                account_id: alice,
                face_value: yuan("5.00"),
                validity: billing::wallet_rules::VoucherValidity::DaysFromActivation(30),
            },
        )
        .await
        .unwrap();
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    let day: NaiveDate = "2026-10-31".parse().unwrap();
    let ws = db.store.workspace(alice, &ws.workspace_id).await.unwrap();
    db.store
        .ingest_usage(
            &ws,
            &[UsageInput {
                id: "r1".into(),
                item: "network".into(),
                retention_days: None,
                quantity: "10".into(),
                day: day.to_string(),
            }],
        )
        .await
        .unwrap();
    let report = db.store.settle_day(day, "test").await.unwrap();
    assert_eq!(report.bills_charged, 1, "{report:?}");
    // 10 hosts × 2.00 = 20.00: the voucher's 5.00, then 15.00 to the cloud; never arrears.
    let account = db.store.account(alice).await.unwrap();
    assert_eq!(
        (account.cash, account.arrears),
        (Amount::ZERO, Amount::ZERO)
    );
    let metering = db
        .store
        .metering_of(Cloud::Aliyun, &instance)
        .await
        .unwrap();
    assert_eq!(metering, vec![(day.to_string(), yuan("15.00"), false)]);
    // Settling again charges and meters nothing more.
    db.store.settle_day(day, "test").await.unwrap();
    assert_eq!(
        db.store
            .metering_of(Cloud::Aliyun, &instance)
            .await
            .unwrap()
            .len(),
        1
    );
    db.assert_ledger_clean().await;
    db.finish().await;
}

async fn the_end_of_a_subscription_switches_every_workspace_back_with_one_mail(db: TestDb) {
    let instance = subscribe(&db, "1234567890", "order-1").await;
    let alice = db.customer_account("alice").await;
    for ws in ["ws-a", "ws-b"] {
        db.store.bind_workspace(alice, ws, ws, None).await.unwrap();
        db.store
            .change_settlement(alice, ws, &aliyun("1234567890", &instance))
            .await
            .unwrap();
    }
    let status = db.store.console_status("ws-a").await.unwrap();
    assert_eq!(status.settlement, Some("aliyun"));
    let switched = db
        .store
        .aliyun_spi(&SpiCall::Expire {
            instance_id: instance.clone(),
        })
        .await
        .unwrap();
    assert_eq!(switched, SpiAnswer::Done);
    // Released after expiring (the marketplace sends both): nothing more happens.
    db.store
        .end_subscription(Cloud::Aliyun, &instance, SubscriptionStatus::Released)
        .await
        .unwrap();
    for ws in ["ws-a", "ws-b"] {
        let workspace = db.store.workspace(alice, ws).await.unwrap();
        assert_eq!(workspace.settlement, billing::Settlement::Account);
        assert_eq!(
            db.store.console_status(ws).await.unwrap().settlement,
            Some("account")
        );
    }
    let mail = db.store.mail_to("alice@example.com", 10).await.unwrap();
    let ended: Vec<_> = mail
        .iter()
        .filter(|m| m.kind == "cloud_subscription_ended")
        .collect();
    assert_eq!(ended.len(), 1, "{mail:?}");
    assert_eq!(
        ended[0].subject,
        "Your cloud marketplace subscription has ended"
    );
    // An ended subscription cannot be chosen; the forced switch back did not use up the month.
    let refused = db
        .store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap_err();
    assert_eq!(Problem::from(refused).code, "cloud_subscription_ended");
    let accounts = db.store.cloud_accounts(alice).await.unwrap();
    assert_eq!(accounts[0].status, SubscriptionStatus::Released);
    db.finish().await;
}

async fn a_bill_priced_for_an_ended_subscription_is_priced_again(db: TestDb) {
    let instance = subscribe(&db, "1234567890", "order-1").await;
    let alice = db.customer_account("alice").await;
    db.store
        .bind_workspace(alice, "ws-a", "A", None)
        .await
        .unwrap();
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    let subscription = db
        .store
        .workspace(alice, "ws-a")
        .await
        .unwrap()
        .cloud_subscription_id;
    assert!(subscription.is_some());
    // Priced while the subscription was active, charged after it ended.
    let bill = backend::bills::BillCharge {
        usage: Vec::new(),
        account_id: alice,
        workspace_id: "ws-a".into(),
        day: "2026-10-31".parse().unwrap(),
        cloud_subscription: subscription,
        settlement: billing::Settlement::Cloud,
        charges: vec![billing::Charge {
            item: billing::BillingItem::Network,
            amount: yuan("6.00"),
        }],
    };
    db.store
        .end_subscription(Cloud::Aliyun, &instance, SubscriptionStatus::Released)
        .await
        .unwrap();
    let before = db.fingerprint().await;
    let refused = db.store.charge_bill(&key("b1"), &bill).await.unwrap_err();
    assert_eq!(Problem::from(refused).code, "settlement_changed");
    assert_eq!(
        db.fingerprint().await,
        before,
        "nothing charged to an ended subscription"
    );
    assert!(
        db.store
            .metering_of(Cloud::Aliyun, &instance)
            .await
            .unwrap()
            .is_empty()
    );
    db.finish().await;
}

async fn a_renewal_only_moves_the_date_later_and_a_lapsed_subscription_ends(db: TestDb) {
    let now = Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap();
    db.clock.set(now);
    let call = SpiCall::Create(NewSubscription {
        cloud: Cloud::Aliyun,
        cloud_account_id: "1234567890".into(),
        order_ref: "order-1".into(),
        product_code: "cmgj00012345".into(),
        sku_id: "yuncode1234500001".into(),
        valid_until: Some(now + Duration::days(10)),
    });
    let SpiAnswer::Instance(instance) = db.store.aliyun_spi(&call).await.unwrap() else {
        panic!()
    };
    let alice = db.customer_account("alice").await;
    db.store
        .bind_workspace(alice, "ws-a", "A", None)
        .await
        .unwrap();
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    let valid_until = |db: &TestDb| {
        let store = db.store.clone();
        async move { store.cloud_accounts(alice).await.unwrap()[0].valid_until }
    };
    // Renewed to a later date; a replayed older renewal moves nothing back.
    let renew = |days| SpiCall::Renew {
        instance_id: instance.clone(),
        valid_until: Some(now + Duration::days(days)),
    };
    db.store.aliyun_spi(&renew(40)).await.unwrap();
    assert_eq!(valid_until(&db).await, Some(now + Duration::days(40)));
    assert_eq!(
        db.store.aliyun_spi(&renew(10)).await.unwrap(),
        SpiAnswer::Done
    );
    assert_eq!(valid_until(&db).await, Some(now + Duration::days(40)));
    // The marketplace never calls expiredInstance: a day after the date, the sweep ends it.
    db.clock.set(now + Duration::days(40) + Duration::hours(23));
    assert!(
        db.store
            .expire_lapsed_subscriptions()
            .await
            .unwrap()
            .is_empty()
    );
    db.clock
        .set(now + Duration::days(41) + Duration::minutes(1));
    assert_eq!(
        db.store.expire_lapsed_subscriptions().await.unwrap(),
        vec![instance.clone()]
    );
    let workspace = db.store.workspace(alice, "ws-a").await.unwrap();
    assert_eq!(workspace.settlement, billing::Settlement::Account);
    // A replayed renewal of the old date does not bring it back; a real renewal does, and
    // its next end is mailed again.
    db.store.aliyun_spi(&renew(40)).await.unwrap();
    assert_eq!(
        db.store.cloud_accounts(alice).await.unwrap()[0].status,
        SubscriptionStatus::Expired
    );
    db.store.aliyun_spi(&renew(400)).await.unwrap();
    assert_eq!(
        db.store.cloud_accounts(alice).await.unwrap()[0].status,
        SubscriptionStatus::Active
    );
    db.clock.advance(Duration::days(40));
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    db.store
        .aliyun_spi(&SpiCall::Expire {
            instance_id: instance.clone(),
        })
        .await
        .unwrap();
    let mail = db.store.mail_to("alice@example.com", 10).await.unwrap();
    assert_eq!(
        mail.iter()
            .filter(|m| m.kind == "cloud_subscription_ended")
            .count(),
        2,
        "{mail:?}"
    );
    // A released subscription is not renewed.
    db.store
        .end_subscription(Cloud::Aliyun, &instance, SubscriptionStatus::Released)
        .await
        .unwrap();
    let refused = db.store.aliyun_spi(&renew(800)).await.unwrap_err();
    assert_eq!(Problem::from(refused).code, "cloud_instance_not_found");
    db.finish().await;
}

async fn aws_records_of_one_customer_get_distinct_lasting_seconds(db: TestDb) {
    let buyer = backend::cloud::aws::AwsCustomer {
        customer_identifier: None,
        customer_aws_account_id: Some("123456789012".into()),
        product_code: "prod1".into(),
        license_arn: Some("arn:aws:license-manager::123456789012:license:l-1".into()),
    };
    let instance = db.store.aws_subscribe(&buyer).await.unwrap();
    let alice = db.customer_account("alice").await;
    let day: NaiveDate = "2026-10-31".parse().unwrap();
    for ws in ["ws-a", "ws-b", "ws-c"] {
        let bound = db
            .store
            .bind_workspace(alice, ws, ws, None)
            .await
            .unwrap()
            .workspace;
        db.store
            .change_settlement(
                alice,
                ws,
                &SettlementChoice::Aws {
                    account_id: "123456789012".into(),
                    instance_id: instance.clone(),
                },
            )
            .await
            .unwrap();
        let bound = db
            .store
            .workspace(alice, &bound.workspace_id)
            .await
            .unwrap();
        db.store
            .ingest_usage(
                &bound,
                &[UsageInput {
                    id: "r1".into(),
                    item: "network".into(),
                    retention_days: None,
                    quantity: "1".into(),
                    day: day.to_string(),
                }],
            )
            .await
            .unwrap();
    }
    // One settlement batch: three records written in the same second.
    db.clock.advance(Duration::days(1));
    assert_eq!(
        db.store
            .settle_day(day, "test")
            .await
            .unwrap()
            .bills_charged,
        3
    );
    let claimed = db.store.claim_metering(10, Duration::zero()).await.unwrap();
    let mut seconds: Vec<i64> = claimed.iter().filter_map(|r| r.meter_timestamp).collect();
    // One a second: only as many as have come since the batch are assigned yet.
    assert_eq!(seconds.len(), 1, "{claimed:?}");
    db.clock.advance(Duration::seconds(5));
    let claimed = db.store.claim_metering(10, Duration::zero()).await.unwrap();
    seconds = claimed.iter().filter_map(|r| r.meter_timestamp).collect();
    seconds.sort();
    seconds.dedup();
    assert_eq!(seconds.len(), 3, "three distinct seconds: {claimed:?}");
    let subscribed = db.store.now().timestamp() - 24 * 3600 - 5;
    assert!(
        seconds[0] >= subscribed,
        "never before the subscription began"
    );
    // The same seconds on every later attempt.
    let again: Vec<i64> = {
        let mut v: Vec<i64> = db
            .store
            .claim_metering(10, Duration::zero())
            .await
            .unwrap()
            .iter()
            .filter_map(|r| r.meter_timestamp)
            .collect();
        v.sort();
        v
    };
    assert_eq!(again, seconds);
    db.finish().await;
}

async fn an_unbound_workspace_leaves_its_cloud_and_a_rebound_one_starts_afresh(db: TestDb) {
    let instance = subscribe(&db, "1234567890", "order-1").await;
    let alice = db.customer_account("alice").await;
    let bob = db.customer_account("bob").await;
    db.store
        .bind_workspace(alice, "ws-a", "A", None)
        .await
        .unwrap();
    db.store
        .change_settlement(alice, "ws-a", &aliyun("1234567890", &instance))
        .await
        .unwrap();
    db.store
        .set_daily_cost_alert(alice, "ws-a", Some(yuan("50.00")))
        .await
        .unwrap();
    db.store.unbind_workspace(alice, "ws-a").await.unwrap();
    let accounts = db.store.cloud_accounts(alice).await.unwrap();
    assert!(accounts[0].workspaces.is_empty(), "{accounts:?}");
    // Bound again by another account: its own settlement, not alice's cloud or alert.
    db.store
        .bind_workspace(bob, "ws-a", "A", None)
        .await
        .unwrap();
    let rebound = db.store.workspace(bob, "ws-a").await.unwrap();
    assert_eq!(rebound.settlement, billing::Settlement::Account);
    assert_eq!(rebound.cloud_subscription_id, None);
    assert_eq!(rebound.daily_cost_alert, None);
    db.finish().await;
}

on_both_databases!(
    an_unbound_workspace_leaves_its_cloud_and_a_rebound_one_starts_afresh,
    aws_records_of_one_customer_get_distinct_lasting_seconds,
    a_renewal_only_moves_the_date_later_and_a_lapsed_subscription_ends,
    a_bill_priced_for_an_ended_subscription_is_priced_again,
    a_subscription_is_created_once_and_claimed_by_the_first_account,
    a_workspace_changes_method_once_per_calendar_month,
    a_cloud_settled_day_is_paid_by_vouchers_then_the_cloud_and_metered_once,
    the_end_of_a_subscription_switches_every_workspace_back_with_one_mail,
);
