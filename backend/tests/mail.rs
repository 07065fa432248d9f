//! Mail (issue 16) against a real SMTP server (scripts/smtp-sink.py, aiosmtpd): every message
//! arrives once, in the account's language, with the amounts of the pages; the mail server down
//! while events happen, then up: everything arrives, nothing twice; a rolled-back charge sends
//! nothing; two senders on one database send each message once; links work once. Both databases.

#[path = "support/smtp.rs"]
mod smtp;
mod support;

use std::time::Duration as StdDuration;

use backend::auth::customers::{Customer, ProfileUpdate, SignUp};
use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::mail::MailSettings;
use backend::mail::sender::Sender;
use backend::mail::settings::{AlertsChange, SettingsChange};
use backend::{Backend, Clock};
use billing::{Amount, BillingItem, Charge, Settlement};
use chrono::{Duration, NaiveDate};
use smtp::{Received, SmtpSink};
use support::{TestDb, key};

const PASSWORD: &str = "correct horse battery";
const WAIT: StdDuration = StdDuration::from_secs(20);

fn yuan(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn with_mail(db: TestDb) -> TestDb {
    db.map_store(|store| {
        store.with_mail_settings(MailSettings {
            public_url: "https://billing.example".into(),
            operator_recipients: vec!["ops@billing.example".into()],
            ..MailSettings::default()
        })
    })
}

fn sender(sink: &SmtpSink) -> Sender {
    Sender::new(&sink.url(), "Billing Center <billing@billing.example>").unwrap()
}

/// Delivers until nothing is due.
async fn deliver(db: &TestDb, sender: &Sender) {
    loop {
        let round = sender.deliver_due(&db.store).await.unwrap();
        if round.attempted() == 0 {
            return;
        }
    }
}

/// Rounds of delivery until one attempts nothing, added up.
async fn rounds(db: &TestDb, sender: &Sender) -> backend::mail::sender::DeliveryRound {
    let mut total = backend::mail::sender::DeliveryRound::default();
    loop {
        let round = sender.deliver_due(&db.store).await.unwrap();
        if round.attempted() == 0 {
            return total;
        }
        total.sent += round.sent;
        total.retrying += round.retrying;
        total.given_up += round.given_up;
    }
}

fn token_of(link: &str) -> String {
    link.split_once("token=").unwrap().1.to_owned()
}

/// Signs up and confirms the address with the link that arrives: the real flow.
async fn confirmed_customer(
    db: &TestDb,
    sink: &SmtpSink,
    sender: &Sender,
    name: &str,
    language: &str,
) -> Customer {
    let customer = db
        .store
        .sign_up(&SignUp {
            username: name.into(),
            email: format!("{name}@example.com"),
            phone: None,
            password: PASSWORD.into(),
            language: Some(language.into()),
        })
        .await
        .unwrap();
    assert!(!customer.email_confirmed);
    let before = sink.messages().len();
    deliver(db, sender).await;
    let messages = sink.wait_for(before + 1, WAIT).await;
    let confirmation = &messages[before];
    assert_eq!(confirmation.rcpt_tos, vec![format!("{name}@example.com")]);
    let link = confirmation
        .link("https://billing.example/confirm-email?token=")
        .expect("the confirmation mail holds its link");
    assert_eq!(
        db.store.confirm_email(&token_of(&link)).await.unwrap(),
        customer.id
    );
    let customer = db.store.customer(customer.id).await.unwrap();
    assert!(customer.email_confirmed);
    customer
}

fn bill(account_id: i64, workspace: &str, day: u32, amount: &str) -> BillCharge {
    BillCharge {
        usage: Vec::new(),
        account_id,
        workspace_id: workspace.into(),
        day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        cloud_subscription: None,
        settlement: Settlement::Account,
        charges: vec![Charge {
            item: BillingItem::Logs,
            amount: yuan(amount),
        }],
    }
}

async fn top_up(db: &TestDb, account_id: i64, amount: &str, reference: &str) {
    db.store
        .credit_cash(
            &key(&format!("credit-{reference}")),
            &CashCredit {
                account_id,
                amount: yuan(amount),
                source: CashSource::OnlinePayment,
                reference: reference.into(),
            },
        )
        .await
        .unwrap();
}

fn to<'a>(messages: &'a [Received], address: &str) -> Vec<&'a Received> {
    messages
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == address))
        .collect()
}

async fn alerts_arrive_once_in_the_accounts_language_with_the_pages_amounts(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let alice = confirmed_customer(&db, &sink, &sender, "alice", "en").await;
    let account = alice.billing_account_id;

    top_up(&db, account, "1234.50", "trade-1").await;
    // Three bills: the second takes what is available below 100.00, the third below again
    // (no second low-balance mail), the fourth into arrears.
    db.store
        .charge_bill(&key("b1"), &bill(account, "ws-1", 1, "1100.00"))
        .await
        .unwrap();
    db.store
        .charge_bill(&key("b2"), &bill(account, "ws-1", 2, "50.00"))
        .await
        .unwrap();
    db.store
        .charge_bill(&key("b3"), &bill(account, "ws-1", 3, "10.00"))
        .await
        .unwrap();
    db.store
        .charge_bill(&key("b4"), &bill(account, "ws-1", 4, "100.00"))
        .await
        .unwrap();
    // A top-up that clears the arrears says so.
    top_up(&db, account, "200.00", "trade-2").await;
    deliver(&db, &sender).await;

    let messages = sink.wait_for(5, WAIT).await;
    let mail = to(&messages, "alice@example.com");
    let subjects: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        vec![
            "Confirm your email address",
            "Top-up credited",
            "Low balance",
            "Your account is in arrears",
            "Top-up credited: arrears cleared",
        ]
    );
    assert!(mail[1].text().contains("¥1,234.50"), "{}", mail[1].text());
    assert!(
        mail[2].text().contains("down to ¥84.50"),
        "{}",
        mail[2].text()
    );
    assert!(
        mail[3].text().contains("in arrears by ¥25.50"),
        "{}",
        mail[3].text()
    );
    assert!(
        mail[4].text().contains("¥25.50 of it paid your arrears"),
        "{}",
        mail[4].text()
    );
    for m in &mail {
        assert_eq!(m.content_type, "multipart/alternative");
        assert!(m.html.as_deref().unwrap().contains("<html lang=\"en\">"));
        assert!(
            m.message_id.ends_with("@billing.example>"),
            "{}",
            m.message_id
        );
        assert_eq!(m.from, "Billing Center <billing@billing.example>");
    }

    // Chinese for an account that chose it.
    db.store
        .change_notification_settings(
            alice.id,
            &SettingsChange {
                language: Some("zh-CN".into()),
                ..SettingsChange::default()
            },
        )
        .await
        .unwrap();
    top_up(&db, account, "10.00", "trade-3").await;
    deliver(&db, &sender).await;
    let messages = sink.wait_for(6, WAIT).await;
    assert_eq!(messages[5].subject, "充值已到账");
    assert!(messages[5].text().contains("您的充值 ¥10.00 已到账"));

    // Nothing is left and nothing went twice.
    let summary = db.store.outbox_summary().await.unwrap();
    assert_eq!((summary.pending, summary.sent, summary.failed), (0, 6, 0));
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 6);
    db.finish().await;
}

async fn alerts_can_be_turned_off_and_the_threshold_moved(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let bob = confirmed_customer(&db, &sink, &sender, "bob", "en").await;
    let settings = db
        .store
        .change_notification_settings(
            bob.id,
            &SettingsChange {
                low_balance_threshold: Some(yuan("500.00")),
                alerts: Some(AlertsChange {
                    top_up_credited: Some(false),
                    ..AlertsChange::default()
                }),
                language: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(settings.low_balance_threshold, yuan("500.00"));
    assert!(!settings.alerts.top_up_credited && settings.alerts.low_balance);
    top_up(&db, bob.billing_account_id, "600.00", "trade-b").await;
    db.store
        .charge_bill(
            &key("b1"),
            &bill(bob.billing_account_id, "ws-b", 1, "150.00"),
        )
        .await
        .unwrap();
    deliver(&db, &sender).await;
    let messages = sink.wait_for(2, WAIT).await;
    assert_eq!(messages[1].subject, "Low balance");
    assert!(
        messages[1]
            .text()
            .contains("below your alert threshold of ¥500.00")
    );
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(
        sink.messages().len(),
        2,
        "no top-up mail: that alert is off"
    );

    let refused = db
        .store
        .change_notification_settings(
            bob.id,
            &SettingsChange {
                language: Some("fr".into()),
                ..SettingsChange::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        backend::problem::Problem::from(refused).code,
        "language_unsupported"
    );
    db.finish().await;
}

async fn mail_server_down_then_up_delivers_everything_once(db: TestDb) {
    let db = with_mail(db);
    let mut sink = SmtpSink::start();
    let sender = sender(&sink);
    let carol = confirmed_customer(&db, &sink, &sender, "carol", "en").await;
    sink.stop();
    for n in 1..=5 {
        top_up(
            &db,
            carol.billing_account_id,
            "10.00",
            &format!("trade-{n}"),
        )
        .await;
    }
    // Every attempt fails: the messages wait, with the error visible.
    let round = rounds(&db, &sender).await;
    assert_eq!((round.sent, round.retrying), (0, 5));
    let summary = db.store.outbox_summary().await.unwrap();
    assert_eq!((summary.pending, summary.retrying), (5, 5));
    assert!(
        db.store.troubled_mail(10).await.unwrap()[0]
            .last_error
            .is_some()
    );
    // Retried with backoff: not due again at once.
    assert_eq!(sender.deliver_due(&db.store).await.unwrap().attempted(), 0);
    db.clock.advance(Duration::seconds(2));
    assert_eq!(rounds(&db, &sender).await.retrying, 5);

    sink.restart();
    db.clock.advance(Duration::seconds(61));
    deliver(&db, &sender).await;
    let messages = sink.wait_for(6, WAIT).await;
    assert_eq!(messages.len(), 6, "the confirmation and the five top-ups");
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 6);
    let summary = db.store.outbox_summary().await.unwrap();
    assert_eq!((summary.pending, summary.sent, summary.failed), (0, 6, 0));
    db.finish().await;
}

async fn a_rolled_back_charge_sends_nothing(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let dave = confirmed_customer(&db, &sink, &sender, "dave", "en").await;
    // The bill's answer cannot be stored: the charge fails after its mail was written.
    let doom = match db.store.backend() {
        Backend::Sqlite => vec![
            "CREATE TRIGGER doom BEFORE INSERT ON idempotency_keys WHEN NEW.key LIKE 'doomed%' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
        Backend::Postgres => vec![
            "CREATE FUNCTION doom() RETURNS trigger AS $$ BEGIN IF NEW.key LIKE 'doomed%' THEN \
             RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER doom BEFORE INSERT ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION doom()",
        ],
    };
    for sql in doom {
        sqlx::query(sql).execute(db.store.pool()).await.unwrap();
    }
    let before = db.fingerprint().await;
    db.store
        .charge_bill(
            &key("doomed-1"),
            &bill(dave.billing_account_id, "ws-d", 1, "30.00"),
        )
        .await
        .unwrap_err();
    assert_eq!(db.fingerprint().await, before);
    let summary = db.store.outbox_summary().await.unwrap();
    assert_eq!(
        (summary.pending, summary.sent),
        (0, 1),
        "only the confirmation"
    );
    // The same charge that commits sends its arrears mail.
    db.store
        .charge_bill(
            &key("kept-1"),
            &bill(dave.billing_account_id, "ws-d", 1, "30.00"),
        )
        .await
        .unwrap();
    deliver(&db, &sender).await;
    let messages = sink.wait_for(2, WAIT).await;
    assert_eq!(messages[1].subject, "Your account is in arrears");
    db.finish().await;
}

async fn two_senders_send_each_message_once(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let erin = confirmed_customer(&db, &sink, &sender(&sink), "erin", "en").await;
    for n in 1..=40 {
        top_up(&db, erin.billing_account_id, "1.00", &format!("trade-{n}")).await;
    }
    // A second process: its own pool on the same database.
    let other = match db.store.backend() {
        Backend::Sqlite => {
            let url: String = sqlx::query_scalar(
                "SELECT 'sqlite://' || file FROM pragma_database_list WHERE name = 'main'",
            )
            .fetch_one(db.store.pool())
            .await
            .unwrap();
            backend::Store::connect(&url).await.unwrap()
        }
        Backend::Postgres => {
            let name: String = sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)")
                .fetch_one(db.store.pool())
                .await
                .unwrap();
            backend::Store::connect(&support::database_url(
                &support::postgres_admin_url(),
                &name,
            ))
            .await
            .unwrap()
        }
    }
    .with_clock(db.clock.clone());
    let (a, b) = (sender(&sink), sender(&sink));
    let (store_a, store_b) = (db.store.clone(), other.clone());
    let first = tokio::spawn(async move {
        let mut sent = 0;
        for _ in 0..40 {
            sent += a.deliver_due(&store_a).await.unwrap().sent;
        }
        sent
    });
    let second = tokio::spawn(async move {
        let mut sent = 0;
        for _ in 0..40 {
            sent += b.deliver_due(&store_b).await.unwrap().sent;
        }
        sent
    });
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(first + second, 40, "{first} + {second}");
    let messages = sink.wait_for(41, WAIT).await;
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 41);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 41);
    other.close().await;
    db.finish().await;
}

async fn refused_mail_is_given_up_and_operators_are_told(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let frank = confirmed_customer(&db, &sink, &sender, "frank", "en").await;
    // The address starts bouncing (550): given up at once.
    sqlx::query("UPDATE customers SET email = 'bounce@example.com' WHERE id = $1")
        .bind(frank.id)
        .execute(db.store.pool())
        .await
        .unwrap();
    top_up(&db, frank.billing_account_id, "10.00", "trade-x").await;
    deliver(&db, &sender).await;
    let messages = sink.wait_for(2, WAIT).await;
    assert_eq!(messages[1].rcpt_tos, vec!["ops@billing.example"]);
    assert!(
        messages[1].subject.starts_with("邮件无法投递"),
        "{}",
        messages[1].subject
    );
    assert!(messages[1].text().contains("bounce@example.com"));
    let troubled = db.store.troubled_mail(10).await.unwrap();
    assert!(troubled[0].failed_at.is_some() && troubled[0].recipient == "bounce@example.com");

    // 530 (the relay wants credentials) is the server's configuration, not the address: retried.
    sqlx::query("UPDATE customers SET email = 'needauth@example.com' WHERE id = $1")
        .bind(frank.id)
        .execute(db.store.pool())
        .await
        .unwrap();
    top_up(&db, frank.billing_account_id, "10.00", "trade-z").await;
    let round = sender.deliver_due(&db.store).await.unwrap();
    assert_eq!((round.retrying, round.given_up), (1, 0));
    // Out of the way of what follows (as if the relay took it once configured).
    sqlx::query("UPDATE outbox SET sent_at = 0 WHERE recipient = 'needauth@example.com'")
        .execute(db.store.pool())
        .await
        .unwrap();

    // 4xx for a day: retried, then given up.
    sqlx::query("UPDATE customers SET email = 'tempfail@example.com' WHERE id = $1")
        .bind(frank.id)
        .execute(db.store.pool())
        .await
        .unwrap();
    top_up(&db, frank.billing_account_id, "10.00", "trade-y").await;
    assert_eq!(sender.deliver_due(&db.store).await.unwrap().retrying, 1);
    db.clock.advance(Duration::hours(25));
    assert_eq!(sender.deliver_due(&db.store).await.unwrap().given_up, 1);
    deliver(&db, &sender).await;
    let messages = sink.wait_for(3, WAIT).await;
    assert!(messages[2].text().contains("tempfail@example.com"));
    let summary = db.store.outbox_summary().await.unwrap();
    assert_eq!(summary.failed, 2);
    db.finish().await;
}

async fn password_reset_links_work_once_for_half_an_hour(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let grace = confirmed_customer(&db, &sink, &sender, "grace", "zh-CN").await;
    let session = db
        .store
        .start_session(backend::auth::sessions::Principal::Customer(grace.id))
        .await
        .unwrap();

    // Unknown logins are answered the same and send nothing.
    db.store.request_password_reset("nobody").await.unwrap();
    db.store
        .request_password_reset("GRACE@example.com ")
        .await
        .unwrap();
    deliver(&db, &sender).await;
    let messages = sink.wait_for(2, WAIT).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].subject, "重置您的密码");
    let link = messages[1]
        .link("https://billing.example/reset-password?token=")
        .unwrap();
    let token = token_of(&link);

    // A weak password is refused and leaves the link usable.
    let weak = db.store.reset_password(&token, "short").await.unwrap_err();
    assert_eq!(
        backend::problem::Problem::from(weak).code,
        "password_too_short"
    );
    db.store
        .reset_password(&token, "a brand new passphrase")
        .await
        .unwrap();
    assert!(
        db.store
            .resume_session(&session.id)
            .await
            .unwrap()
            .is_none(),
        "every session ended"
    );
    db.store
        .sign_in_customer("grace", "a brand new passphrase", "127.0.0.1")
        .await
        .unwrap();
    let reused = db
        .store
        .reset_password(&token, "another new passphrase")
        .await
        .unwrap_err();
    assert_eq!(
        backend::problem::Problem::from(reused).code,
        "invalid_token"
    );
    assert_eq!(
        backend::problem::Problem::from(
            db.store
                .reset_password("garbage", "x y z w v u")
                .await
                .unwrap_err()
        )
        .kind
        .http_status(),
        400
    );

    // Expired after 30 minutes.
    db.store.request_password_reset("grace").await.unwrap();
    deliver(&db, &sender).await;
    let messages = sink.wait_for(3, WAIT).await;
    let late = token_of(
        &messages[2]
            .link("https://billing.example/reset-password?token=")
            .unwrap(),
    );
    db.clock.advance(Duration::minutes(31));
    assert!(
        db.store
            .reset_password(&late, "late new passphrase")
            .await
            .is_err()
    );

    // At most three links an hour.
    for _ in 0..5 {
        db.store.request_password_reset("grace").await.unwrap();
    }
    deliver(&db, &sender).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(
        sink.messages().len(),
        3 + 1,
        "one more: three in the hour with the two before"
    );
    db.finish().await;
}

async fn a_new_address_gets_only_its_confirmation_and_the_old_one_is_told(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let heidi = confirmed_customer(&db, &sink, &sender, "heidi", "en").await;
    db.store
        .update_profile(
            heidi.id,
            &ProfileUpdate {
                email: "heidi.new@example.com".into(),
                phone: None,
                contact_name: None,
                company: None,
            },
        )
        .await
        .unwrap();
    // Not confirmed yet: a top-up sends nothing to it.
    top_up(&db, heidi.billing_account_id, "10.00", "trade-h").await;
    deliver(&db, &sender).await;
    let messages = sink.wait_for(3, WAIT).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3);
    let new = to(&messages, "heidi.new@example.com");
    let old = to(&messages, "heidi@example.com");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].subject, "Confirm your email address");
    assert_eq!(
        old.last().unwrap().subject,
        "Your email address was changed"
    );
    assert!(old.last().unwrap().text().contains("heidi.new@example.com"));
    // A link to the old address confirms nothing now.
    let link = new[0]
        .link("https://billing.example/confirm-email?token=")
        .unwrap();
    db.store.confirm_email(&token_of(&link)).await.unwrap();
    assert!(
        db.store.confirm_email(&token_of(&link)).await.is_err(),
        "once"
    );
    top_up(&db, heidi.billing_account_id, "10.00", "trade-h2").await;
    deliver(&db, &sender).await;
    let messages = sink.wait_for(4, WAIT).await;
    assert_eq!(messages[3].rcpt_tos, vec!["heidi.new@example.com"]);
    db.finish().await;
}

async fn reminders_and_expiring_instruments_are_mailed_once(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let ivan = confirmed_customer(&db, &sink, &sender, "ivan", "en").await;
    let account = ivan.billing_account_id;
    db.store
        .charge_bill(&key("b1"), &bill(account, "ws-i", 1, "40.00"))
        .await
        .unwrap();
    let status_day = db.clock.now();
    // Day 3 and day 7 of the grace period; sweeping twice changes nothing.
    db.clock.advance(Duration::days(3) + Duration::hours(1));
    assert_eq!(db.store.sweep_alerts().await.unwrap().arrears_reminders, 1);
    assert_eq!(db.store.sweep_alerts().await.unwrap().arrears_reminders, 0);
    db.clock.advance(Duration::days(4));
    assert_eq!(db.store.sweep_alerts().await.unwrap().arrears_reminders, 1);
    deliver(&db, &sender).await;
    let messages = sink.wait_for(4, WAIT).await;
    assert_eq!(messages[1].subject, "Your account is in arrears");
    assert_eq!(messages[2].subject, "Reminder: your account is in arrears");
    let ends = (status_day + Duration::days(14))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert!(
        messages[2].text().contains(&ends),
        "{} / {ends}",
        messages[2].text()
    );
    assert!(messages[3].text().contains("¥40.00"));

    // A voucher with money left, expiring within 7 days.
    db.store
        .issue_voucher(
            &key("v1"),
            &backend::vouchers::VoucherIssue {
                account_id: account,
                face_value: yuan("5.00"),
                validity: billing::wallet_rules::VoucherValidity::DaysFromActivation(10),
            },
        )
        .await
        .unwrap();
    assert_eq!(db.store.sweep_alerts().await.unwrap().expiring, 0);
    db.clock.advance(Duration::days(4));
    let swept = db.store.sweep_alerts().await.unwrap();
    assert_eq!(swept.expiring, 1);
    assert_eq!(db.store.sweep_alerts().await.unwrap().expiring, 0);
    deliver(&db, &sender).await;
    let messages = sink.wait_for(5, WAIT).await;
    assert!(
        messages
            .iter()
            .any(|m| m.subject.starts_with("Your voucher") && m.text().contains("¥5.00"))
    );
    db.finish().await;
}

async fn operators_hear_of_failed_settlements_and_flagged_payments(db: TestDb) {
    let db = with_mail(db);
    let sink = SmtpSink::start();
    let sender = sender(&sink);
    let account = db.store.create_billing_account("Acme").await.unwrap();
    db.store
        .bind_workspace(account, "ws-blocked", "Blocked", None)
        .await
        .unwrap();
    let day = db.store.today() - Duration::days(2);
    // A record no bill line could hold, as a database from before the ingest check may have.
    sqlx::query(
        "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, quantity, received_at) \
         VALUES ('ws-blocked', 'huge', $1, 'network', '900000000000000', 0)",
    )
    .bind(day.to_string())
    .execute(db.store.pool())
    .await
    .unwrap();
    // The day fails twice: the operators hear of it once.
    for _ in 0..2 {
        let report = db.store.settle_day(day, "test").await.unwrap();
        assert_eq!(
            report.status,
            backend::settlement::SettlementStatus::Incomplete
        );
    }
    // A payment flagged twice: one mail.
    let top_up = db
        .store
        .open_top_up(
            &key("t1"),
            &backend::topups::TopUpRequest {
                account_id: account,
                amount: yuan("88.00"),
                method: backend::topups::TopUpMethod::Alipay,
            },
        )
        .await
        .unwrap();
    use backend::reconciliation::FlagKind;
    assert!(
        db.store
            .flag_payment(&top_up.reference, FlagKind::AmountMismatch, "paid 88.01")
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .flag_payment(&top_up.reference, FlagKind::AmountMismatch, "paid 88.01")
            .await
            .unwrap()
    );
    deliver(&db, &sender).await;
    let messages = sink.wait_for(2, WAIT).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 2);
    for m in &messages {
        assert_eq!(m.rcpt_tos, vec!["ops@billing.example"]);
    }
    assert_eq!(messages[0].subject, format!("结算失败：{day}"));
    assert!(
        messages[0].text().contains("ws-blocked"),
        "{}",
        messages[0].text()
    );
    assert_eq!(
        messages[1].subject,
        format!("支付异常：{}", top_up.reference)
    );
    assert!(messages[1].text().contains("paid 88.01"));
    db.finish().await;
}

on_both_databases!(
    alerts_arrive_once_in_the_accounts_language_with_the_pages_amounts,
    alerts_can_be_turned_off_and_the_threshold_moved,
    mail_server_down_then_up_delivers_everything_once,
    a_rolled_back_charge_sends_nothing,
    two_senders_send_each_message_once,
    refused_mail_is_given_up_and_operators_are_told,
    password_reset_links_work_once_for_half_an_hour,
    a_new_address_gets_only_its_confirmation_and_the_old_one_is_told,
    reminders_and_expiring_instruments_are_mailed_once,
    operators_hear_of_failed_settlements_and_flagged_payments,
);
