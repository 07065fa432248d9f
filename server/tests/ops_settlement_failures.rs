//! /ops lists the days the nightly settlement could not finish, with each workspace and its
//! reason, for the operator who voids the offending record and settles the day again.

mod support;

use support::app::TestApp;

async fn the_ops_page_lists_settlement_failures_by_day(app: TestApp) {
    app.store
        .create_operator("ops_admin", "correct horse battery")
        .await
        .unwrap();
    let signed_in = app
        .form_post(
            "ops_sign_in",
            "/ops",
            "login=ops_admin&password=correct+horse+battery",
            None,
        )
        .await;
    let session = signed_in.session_cookie().expect("a session cookie");
    let (_, _, html) = app.raw("GET", "/ops", None, Some(&session)).await;
    assert!(
        html.contains(r#"data-testid="settlement-failures""#),
        "{html}"
    );
    assert!(!html.contains("ws-blocked"));

    let account = app.store.create_billing_account("Acme").await.unwrap();
    app.store
        .bind_workspace(account, "ws-blocked", "Blocked", None)
        .await
        .unwrap();
    let day = app.store.today() - chrono::Duration::days(2);
    // A record no bill line could hold, as a database from before the ingest check may have.
    sqlx::query(
        "INSERT INTO usage_records (workspace_id, record_id, usage_day, item, quantity, received_at) \
         VALUES ('ws-blocked', 'huge', $1, 'network', '900000000000000', 0)",
    )
    .bind(day.to_string())
    .execute(app.store.pool())
    .await
    .unwrap();
    let report = app.store.settle_day(day, "test").await.unwrap();
    assert_eq!(
        report.status,
        backend::settlement::SettlementStatus::Incomplete
    );

    let (_, _, html) = app.raw("GET", "/ops", None, Some(&session)).await;
    let section = html
        .split(r#"data-testid="settlement-failures""#)
        .nth(1)
        .expect("the section")
        .split("</section>")
        .next()
        .unwrap();
    assert!(section.contains(&day.to_string()), "{section}");
    assert!(section.contains("ws-blocked"), "{section}");
    assert!(section.contains("bill line"), "the reason: {section}");
    // A customer sees none of it.
    let customer = app.sign_up("alice").await.session_cookie().unwrap();
    let (_, _, html) = app.raw("GET", "/ops", None, Some(&customer)).await;
    assert!(!html.contains("ws-blocked"));
    app.finish().await;
}

on_both_databases!(the_ops_page_lists_settlement_failures_by_day);
