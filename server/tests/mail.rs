//! Mail over HTTP (issue 16), black-box on both databases, with a real SMTP server: the
//! password-reset contract (always 202; the link from the received mail; 400 `invalid_token`;
//! every session ended), address confirmation by opening the link, the notification settings,
//! the pages without JavaScript, garbage refused, and the outbox for operators.

#[path = "../../backend/tests/support/smtp.rs"]
mod smtp;
mod support;

use std::time::Duration;

use backend::mail::MailSettings;
use backend::mail::sender::Sender;
use serde_json::json;
use smtp::SmtpSink;
use support::app::{Customer, TestApp, cookie};

const WAIT: Duration = Duration::from_secs(20);

fn with_mail(mut app: TestApp) -> TestApp {
    app.store = app.store.clone().with_mail_settings(MailSettings {
        public_url: "https://billing.example".into(),
        operator_recipients: vec!["ops@billing.example".into()],
        ..MailSettings::default()
    });
    app
}

async fn deliver(app: &TestApp, sink: &SmtpSink) {
    let sender = Sender::new(&sink.url(), "Billing Center <billing@billing.example>").unwrap();
    while sender.deliver_due(&app.store).await.unwrap().attempted() > 0 {}
}

fn token_of(link: &str) -> String {
    link.split_once("token=").unwrap().1.to_owned()
}

/// Signed up through the API (in English), address confirmed with the mailed link through the
/// API as a program would.
async fn confirmed(app: &TestApp, sink: &SmtpSink, name: &str) -> Customer {
    let body = json!({"username": name, "email": format!("{name}@example.com"),
        "password": "correct horse battery", "language": "en"});
    let signed_up = app
        .call("POST", "/api/v1/accounts", Some(body), &[], "10.0.0.1")
        .await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);
    assert_eq!(signed_up.body["email_confirmed"], false);
    assert_eq!(signed_up.body["language"], "en");
    let who = Customer {
        cookie: cookie(&signed_up.session_cookie().unwrap()),
        csrf: signed_up.body["csrf_token"].as_str().unwrap().into(),
    };
    let before = sink.messages().len();
    deliver(app, sink).await;
    let mail = sink.wait_for(before + 1, WAIT).await.pop().unwrap();
    assert_eq!(mail.subject, "Confirm your email address");
    let token = token_of(
        &mail
            .link("https://billing.example/confirm-email?token=")
            .unwrap(),
    );
    let confirmed = app
        .call(
            "POST",
            "/api/v1/email-confirmation/confirm",
            Some(json!({"token": token})),
            &[],
            "10.0.0.1",
        )
        .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    let me = app.as_customer(&who, "GET", "/api/v1/me", None).await;
    assert_eq!(me.body["email_confirmed"], true);
    who
}

async fn the_password_reset_contract(app: TestApp) {
    let app = with_mail(app);
    let sink = SmtpSink::start();
    let alice = confirmed(&app, &sink, "alice").await;

    // 202 whatever the login, with the same body.
    let unknown = app
        .call(
            "POST",
            "/api/v1/password-reset",
            Some(json!({"login": "nobody"})),
            &[],
            "10.0.0.2",
        )
        .await;
    let known = app
        .call(
            "POST",
            "/api/v1/password-reset",
            Some(json!({"login": "alice@example.com"})),
            &[],
            "10.0.0.2",
        )
        .await;
    assert_eq!((unknown.status.as_u16(), known.status.as_u16()), (202, 202));
    assert_eq!(unknown.body, known.body);
    deliver(&app, &sink).await;
    let mail = sink.wait_for(2, WAIT).await.pop().unwrap();
    assert_eq!(mail.rcpt_tos, vec!["alice@example.com"]);
    assert_eq!(mail.subject, "Reset your password");
    let link = mail
        .link("https://billing.example/reset-password?token=")
        .unwrap();
    let token = token_of(&link);

    // A weak password: 422 at new_password, the link still works.
    let weak = app
        .call(
            "POST",
            "/api/v1/password-reset/confirm",
            Some(json!({"token": token, "new_password": "alice"})),
            &[],
            "10.0.0.2",
        )
        .await;
    assert_eq!(weak.status, 422);
    assert_eq!(weak.body["error"]["field"], "new_password");
    let done = app
        .call(
            "POST",
            "/api/v1/password-reset/confirm",
            Some(json!({"token": token, "new_password": "a brand new passphrase"})),
            &[],
            "10.0.0.2",
        )
        .await;
    assert_eq!(done.status, 204, "{}", done.body);
    // Every session of the account ended.
    let me = app.as_customer(&alice, "GET", "/api/v1/me", None).await;
    assert_eq!(me.status, 401);
    let signed_in = app
        .call(
            "POST",
            "/api/v1/session",
            Some(json!({"login": "alice", "password": "a brand new passphrase"})),
            &[],
            "10.0.0.2",
        )
        .await;
    assert_eq!(signed_in.status, 200);
    // Used, unknown: 400 invalid_token.
    for token in [token.as_str(), "garbage", ""] {
        let again = app
            .call(
                "POST",
                "/api/v1/password-reset/confirm",
                Some(json!({"token": token, "new_password": "yet another passphrase"})),
                &[],
                "10.0.0.2",
            )
            .await;
        assert_eq!(again.status, 400, "{token}: {}", again.body);
        assert_eq!(again.body["error"]["code"], "invalid_token");
    }
    // Garbage bodies change nothing and say what is wrong.
    for body in [
        json!({"login": 5}),
        json!({}),
        json!({"login": "alice", "extra": 1}),
    ] {
        let refused = app
            .call(
                "POST",
                "/api/v1/password-reset",
                Some(body.clone()),
                &[],
                "10.0.0.2",
            )
            .await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
    }
    let summary = app.store.outbox_summary().await.unwrap();
    assert_eq!(summary.pending, 0, "no mail from refused requests");
    app.finish().await;
}

async fn notification_settings_over_the_api(app: TestApp) {
    let app = with_mail(app);
    let bob = app.customer("bob").await;
    let settings = app
        .as_customer(&bob, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(settings.status, 200);
    assert_eq!(
        settings.body,
        json!({"low_balance_threshold": "100.00", "alerts": {"low_balance": true, "arrears": true,
            "top_up_credited": true, "expiring": true, "daily_cost": true}, "language": "en",
            "email": "bob@example.com", "email_confirmed": false})
    );
    let changed = app
        .as_customer(&bob, "PUT", "/api/v1/notifications",
            Some(json!({"low_balance_threshold": "50", "alerts": {"expiring": false}, "language": "zh-CN"})))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["low_balance_threshold"], "50.00");
    assert_eq!(changed.body["alerts"]["expiring"], false);
    assert_eq!(changed.body["alerts"]["low_balance"], true);
    assert_eq!(changed.body["language"], "zh-CN");
    for (body, code) in [
        (json!({"language": "fr"}), "language_unsupported"),
        (
            json!({"low_balance_threshold": "100000000.01"}),
            "threshold_invalid",
        ),
    ] {
        let refused = app
            .as_customer(&bob, "PUT", "/api/v1/notifications", Some(body))
            .await;
        assert_eq!(refused.status, 422);
        assert_eq!(refused.body["error"]["code"], code);
    }
    for body in [
        json!({"low_balance_threshold": 5}),
        json!({"alerts": {"nope": true}}),
        json!({"low_balance_threshold": "-1"}),
    ] {
        let refused = app
            .as_customer(&bob, "PUT", "/api/v1/notifications", Some(body.clone()))
            .await;
        assert_eq!(refused.status.as_u16() / 100, 4, "{body}");
    }
    let unchanged = app
        .as_customer(&bob, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(unchanged.body, changed.body);
    // Without the CSRF header nothing changes.
    let forged = app
        .call(
            "PUT",
            "/api/v1/notifications",
            Some(json!({"language": "en"})),
            &[("cookie", bob.cookie.as_str())],
            "10.0.0.1",
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        app.call("GET", "/api/v1/notifications", None, &[], "10.0.0.1")
            .await
            .status,
        401
    );

    // A workspace's daily cost alert.
    let bound = app
        .as_customer(
            &bob,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-bob", "name": "Bob"})),
        )
        .await;
    assert_eq!(bound.status, 201);
    let set = app
        .as_customer(
            &bob,
            "PUT",
            "/api/v1/workspaces/ws-bob/daily-cost-alert",
            Some(json!({"threshold": "500"})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["daily_cost_alert"], "500.00");
    let other = app
        .as_customer(
            &bob,
            "PUT",
            "/api/v1/workspaces/ws-nobody/daily-cost-alert",
            Some(json!({"threshold": null})),
        )
        .await;
    assert_eq!(other.status, 404);
    app.finish().await;
}

async fn the_pages_without_javascript(app: TestApp) {
    let app = with_mail(app);
    let sink = SmtpSink::start();
    confirmed(&app, &sink, "carol").await;
    // Ask for a link on the page.
    let asked = app
        .form_post(
            "request_password_reset",
            "/reset-password",
            "login=carol",
            None,
        )
        .await;
    asked.assert_goes_to("/reset-password?sent=1");
    let (_, _, page) = app.raw("GET", "/reset-password?sent=1", None, None).await;
    assert!(page.contains(r#"data-testid="reset-sent""#));
    deliver(&app, &sink).await;
    let mail = sink.wait_for(2, WAIT).await.pop().unwrap();
    let token = token_of(
        &mail
            .link("https://billing.example/reset-password?token=")
            .unwrap(),
    );
    let (_, _, page) = app
        .raw("GET", &format!("/reset-password?token={token}"), None, None)
        .await;
    assert!(page.contains(r#"name="new_password""#));
    let weak = app
        .form_post(
            "reset_password",
            &format!("/reset-password?token={token}"),
            &format!("token={token}&new_password=carol"),
            None,
        )
        .await;
    assert_eq!(
        weak.error.unwrap().pair(),
        ("password_too_short", Some("new_password"))
    );
    let done = app
        .form_post(
            "reset_password",
            &format!("/reset-password?token={token}"),
            &format!("token={token}&new_password=a+brand+new+passphrase"),
            None,
        )
        .await;
    done.assert_goes_to("/signin?reset=1");
    let again = app
        .form_post(
            "reset_password",
            &format!("/reset-password?token={token}"),
            &format!("token={token}&new_password=another+new+passphrase"),
            None,
        )
        .await;
    assert_eq!(again.error.unwrap().code, "invalid_token");

    // Opening a confirmation link confirms; a second time it is spent.
    let dave = app.customer("dave").await;
    deliver(&app, &sink).await;
    let mail = sink.wait_for(3, WAIT).await.pop().unwrap();
    assert_eq!(mail.rcpt_tos, vec!["dave@example.com"]);
    let link = mail
        .link("https://billing.example/confirm-email?token=")
        .unwrap();
    let path = link.trim_start_matches("https://billing.example");
    let (status, _, page) = app.raw("GET", path, None, None).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-testid="email-confirmed""#), "{page}");
    let (_, _, page) = app.raw("GET", path, None, None).await;
    assert!(page.contains(r#"data-testid="email-link-invalid""#));
    let me = app.as_customer(&dave, "GET", "/api/v1/me", None).await;
    assert_eq!(me.body["email_confirmed"], true);

    // The settings page saves with checkboxes left out as "off".
    let session = dave.cookie.trim_start_matches("bc_session=").to_owned();
    let saved = app
        .form_post(
            "save_notifications",
            "/account/notifications",
            &format!(
                "csrf={}&low_balance_threshold=250&arrears=on&language=en",
                dave.csrf
            ),
            Some(&session),
        )
        .await;
    saved.assert_goes_to("/account/notifications?saved=1");
    let settings = app
        .as_customer(&dave, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(settings.body["low_balance_threshold"], "250.00");
    assert_eq!(settings.body["alerts"]["arrears"], true);
    assert_eq!(settings.body["alerts"]["low_balance"], false);
    let bad = app
        .form_post(
            "save_notifications",
            "/account/notifications",
            &format!("csrf={}&low_balance_threshold=lots", dave.csrf),
            Some(&session),
        )
        .await;
    assert_eq!(
        bad.error.unwrap().pair(),
        ("threshold_invalid", Some("low_balance_threshold"))
    );

    // The workspace's high-consumption alert, on its own panel page.
    let bound = app
        .as_customer(
            &dave,
            "POST",
            "/api/v1/workspaces",
            Some(json!({"workspace_id": "ws-dave", "name": "Dave"})),
        )
        .await;
    assert_eq!(bound.status, 201);
    let (_, _, page) = app
        .raw("GET", "/workspaces/ws-dave", None, Some(&session))
        .await;
    assert!(page.contains(r#"data-testid="daily-cost-alert""#));
    let set = app
        .form_post(
            "set_daily_cost_alert",
            "/workspaces/ws-dave",
            &format!("csrf={}&workspace_id=ws-dave&threshold=300", dave.csrf),
            Some(&session),
        )
        .await;
    set.assert_goes_to("/workspaces/ws-dave?saved=1");
    let listed = app
        .as_customer(&dave, "GET", "/api/v1/workspaces", None)
        .await;
    assert_eq!(listed.body[0]["daily_cost_alert"], "300.00");
    let (_, _, page) = app
        .raw("GET", "/workspaces/ws-dave", None, Some(&session))
        .await;
    assert!(page.contains(r#"value="300.00""#));
    let bad = app
        .form_post(
            "set_daily_cost_alert",
            "/workspaces/ws-dave",
            &format!("csrf={}&workspace_id=ws-dave&threshold=much", dave.csrf),
            Some(&session),
        )
        .await;
    assert_eq!(
        bad.error.unwrap().pair(),
        ("threshold_invalid", Some("threshold"))
    );
    let off = app
        .form_post(
            "set_daily_cost_alert",
            "/workspaces/ws-dave",
            &format!("csrf={}&workspace_id=ws-dave&threshold=", dave.csrf),
            Some(&session),
        )
        .await;
    off.assert_goes_to("/workspaces/ws-dave?saved=1");
    let listed = app
        .as_customer(&dave, "GET", "/api/v1/workspaces", None)
        .await;
    assert_eq!(listed.body[0]["daily_cost_alert"], serde_json::Value::Null);
    app.finish().await;
}

async fn operators_see_the_outbox(app: TestApp) {
    let app = with_mail(app);
    app.customer("erin").await;
    let ops = app
        .store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let token = app.store.issue_operator_token(&ops, "test").await.unwrap();
    let auth = format!("Bearer {token}");
    let report = app
        .call(
            "GET",
            "/api/v1/ops/mail",
            None,
            &[("authorization", auth.as_str())],
            "10.0.0.1",
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(
        report.body["summary"]["pending"], 1,
        "erin's confirmation waits"
    );
    assert_eq!(report.body["smtp_configured"], false);
    let body = report.body.to_string();
    assert!(
        !body.contains("token="),
        "no mail body reaches operators: {body}"
    );
    assert_eq!(
        app.call("GET", "/api/v1/ops/mail", None, &[], "10.0.0.1")
            .await
            .status,
        401
    );
    app.finish().await;
}

on_both_databases!(
    the_password_reset_contract,
    notification_settings_over_the_api,
    the_pages_without_javascript,
    operators_see_the_outbox,
);
