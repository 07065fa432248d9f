//! Server-rendered pages: what a browser without WebAssembly receives.

mod support;

use axum::http::StatusCode;
use support::{get, text_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_renders_the_plan_of_a_submitted_form() {
    let query = "settlement=account&at=2026-11-23T00%3A00&cash=10.00&arrears=0&i0_kind=prepaid_card&i0_balance=5.00\
                 &i0_from=2026-01-01&i0_until=2027-01-01&c0_item=logs&c0_amount=1234.56";
    let response = get(&format!("/preview?{query}"), &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    let html = response.body;
    assert_eq!(text_of(&html, r#"data-testid="total""#), Some("¥1,234.56"));
    // Card 5.00, cash 10.00, the rest 1,219.56 in arrears.
    assert_eq!(
        text_of(&html, r#"data-testid="cash-after""#),
        Some("-¥1,219.56")
    );
    assert!(html.contains(r##"data-source="#1""##) && html.contains(r#"data-source="arrears""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_shows_field_errors_for_a_bad_submission() {
    let response = get("/preview?settlement=account&at=2026-11-23T00%3A00&cash=abc&arrears=0&c0_item=logs&c0_amount=1", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        text_of(&response.body, r#"id="cash-error""#),
        Some("Enter an amount like 12.34.")
    );
    assert!(!response.body.contains(r#"data-testid="total""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_comes_from_the_cookie_then_accept_language() {
    let zh = get(
        "/preview",
        &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(zh.body.contains(r#"<html lang="zh-CN">"#));
    assert!(zh.body.contains("扣费预览"));
    let en = get(
        "/preview",
        &[("accept-language", "zh-CN"), ("cookie", "lang=en")],
    )
    .await;
    assert!(en.body.contains(r#"<html lang="en">"#));
    assert!(en.body.contains("Deduction preview"));
    let default = get("/", &[("accept-language", "fr")]).await;
    assert!(default.body.contains(r#"<html lang="en">"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_language_sets_a_cookie_and_returns_to_a_local_page_only() {
    let response = get("/lang/zh-CN?next=/preview%3Fcash%3D1", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/preview?cash=1"));
    let cookie = response.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("lang=zh-CN;")
            && cookie.contains("Path=/")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let evil = get("/lang/en?next=https://evil.example/", &[]).await;
    assert_eq!(evil.header("location"), Some("/"));
    let evil = get("/lang/en?next=//evil.example/", &[]).await;
    assert_eq!(evil.header("location"), Some("/"));

    let unknown = get("/lang/fr", &[]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("unsupported language 'fr'"));
    assert!(unknown.header("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_navigation_section_renders_and_unknown_pages_are_404() {
    for path in [
        "/",
        "/wallet",
        "/bills",
        "/workspaces",
        "/support",
        "/account",
        "/preview",
    ] {
        let response = get(path, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert!(response.body.contains(r#"class="nav""#), "{path}");
    }
    let missing = get("/nowhere", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok() {
    let response = get("/healthz", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_forms_post_to_their_server_functions() {
    for (path, action) in [
        ("/signin", "/fn/sign_in"),
        ("/signup", "/fn/sign_up"),
        ("/ops", "/fn/ops_sign_in"),
    ] {
        let response = get(path, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        let form = response
            .body
            .split("<form")
            .skip(1)
            .find(|f| f.contains(&format!(r#"action="{action}""#)))
            .unwrap_or_else(|| panic!("{path}: a form posting to {action}: {}", response.body));
        let tag = form.split('>').next().unwrap();
        assert!(tag.contains(r#"method="post""#), "{path}: {tag}");
    }
}

/// A top-up opened at some instant shows, on the wallet and on its own page, in the settlement
/// timezone with its offset: 16:00 UTC is 00:00 the next day in Shanghai.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_show_in_the_settlement_timezone_with_its_offset() {
    let app = support::app::TestApp::sqlite().await;
    let signed_up = app.sign_up("tzcarol").await;
    let cookie = signed_up.session_cookie().unwrap();
    let csrf = signed_up.body["csrf_token"].as_str().unwrap().to_owned();
    let opened = app
        .call(
            "POST",
            "/api/v1/topups",
            Some(serde_json::json!({"amount": "12.00", "method": "bank_transfer"})),
            &[
                ("cookie", &support::app::cookie(&cookie)),
                ("x-csrf-token", &csrf),
            ],
            "10.0.0.1",
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let at: chrono::DateTime<chrono::Utc> =
        opened.body["created_at"].as_str().unwrap().parse().unwrap();
    let shanghai = at
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M UTC+08:00")
        .to_string();
    let utc = at.format("%Y-%m-%d %H:%M").to_string();
    let (status, _, html) = app.raw("GET", "/wallet", None, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&shanghai), "{shanghai} not on the wallet");
    assert!(
        !html.contains(&format!("{utc}<")),
        "a UTC time on the wallet"
    );
    app.finish().await;
}

/// Bill management's voucher and prepaid-card tabs list what was activated in the period, with
/// their translated kind and status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_voucher_and_card_tabs_list_the_accounts_instruments() {
    let app = support::app::TestApp::sqlite().await;
    let cookie = app.sign_up("tabdave").await.session_cookie().unwrap();
    let account_id = app
        .store
        .customer_by_username("tabdave")
        .await
        .unwrap()
        .billing_account_id;
    let issued = app
        .store
        .issue_voucher(
            &backend::IdempotencyKey::new("tabs-voucher").unwrap(),
            &backend::vouchers::VoucherIssue {
                account_id,
                face_value: billing::Amount::from_yuan(30),
                validity: billing::wallet_rules::VoucherValidity::DaysFromActivation(30),
            },
        )
        .await
        .unwrap();
    let number = issued.voucher.number;
    let (status, _, vouchers) = app
        .raw(
            "GET",
            "/bills?view=vouchers&from=2020-01-01&to=2099-12-31",
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        vouchers.contains(&number),
        "{number} not on the voucher tab"
    );
    assert!(vouchers.contains("Regular voucher") && vouchers.contains("¥30.00"));
    assert!(
        vouchers.contains(r#"aria-current="page" data-testid="tab-vouchers""#)
            || vouchers.contains(r#"data-testid="tab-vouchers" aria-current="page""#)
    );
    let (_, _, cards) = app
        .raw(
            "GET",
            "/bills?view=prepaid_cards&from=2020-01-01&to=2099-12-31",
            None,
            Some(&cookie),
        )
        .await;
    assert!(!cards.contains(&number) && cards.contains(r#"data-testid="statement-empty""#));
    // Before the voucher's day, nothing.
    let (_, _, earlier) = app
        .raw(
            "GET",
            "/bills?view=vouchers&from=2020-01-01&to=2020-01-31",
            None,
            Some(&cookie),
        )
        .await;
    assert!(!earlier.contains(&number));
    for tab in [
        "monthly",
        "consumption",
        "transactions",
        "vouchers",
        "prepaid_cards",
    ] {
        assert!(
            vouchers.contains(&format!(r#"data-testid="tab-{tab}""#)),
            "tab {tab}"
        );
    }
    app.finish().await;
}
