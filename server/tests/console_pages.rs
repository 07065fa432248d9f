//! Black-box, pages without JavaScript (issue 15): the console's bind link through sign-in and
//! back, the embedded panel page (its framing headers and the role matrix), the account holder's
//! panel, and the demo console.

mod support;

use axum::http::StatusCode;
use backend::console::{ConsoleClaims, ConsoleKey, ConsoleRole};
use support::app::{TestApp, hidden_fields};

const KEY: &str = "the console's signing key, 32 bytes or more";
const CONSOLE: &str = "https://console.example.com";

fn key() -> ConsoleKey {
    ConsoleKey::from_text(KEY).unwrap()
}

async fn with_console() -> TestApp {
    let mut app = TestApp::sqlite().await;
    app.store = app.store.clone().with_console_key(Some(key()), true);
    app.settings.console_origins = vec![CONSOLE.to_owned()];
    app
}

fn token(app: &TestApp, ws: &str, role: ConsoleRole) -> String {
    key().sign(&ConsoleClaims::new("u-1", ws, role, app.store.now(), 600))
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_link_goes_through_sign_in_and_binds() {
    let app = with_console().await;
    let owner = token(&app, "ws-prod", ConsoleRole::Owner);
    let bind_page = format!("/bind?token={owner}");

    // Not signed in: the page offers sign-in and sign-up that come back here.
    let (status, _, page) = app.raw("GET", &bind_page, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"bind-offer\""), "{page}");
    assert!(
        page.contains(&format!("/signin?next=/bind%3Ftoken%3D{owner}")),
        "{page}"
    );

    // Signing up with the link carried goes back to it (and a foreign `next` is ignored).
    let signed_up = app
        .form_post(
            "sign_up",
            "/signup",
            &format!(
                "username=owner1&email=owner1%40example.com&password=correct+horse+battery&next={}",
                encode(&bind_page)
            ),
            None,
        )
        .await;
    signed_up.assert_goes_to(&bind_page);
    let session = signed_up.session_cookie().unwrap();
    let elsewhere = app
        .form_post(
            "sign_in",
            "/signin",
            "login=owner1&password=correct+horse+battery&next=%2F%2Fevil.example",
            None,
        )
        .await;
    elsewhere.assert_goes_to("/account");

    // Signed in: the offer names the token's workspace and carries the token in its form.
    let (_, _, page) = app.raw("GET", &bind_page, None, Some(&session)).await;
    let fields = hidden_fields(&page);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {page}"))
    };
    assert_eq!(field("workspace_id"), "ws-prod");
    assert_eq!(field("console_token"), owner);
    let bound = app
        .form_post(
            "bind_workspace",
            &bind_page,
            &format!(
                "csrf={}&workspace_id=ws-prod&name=Production&console_token={}",
                field("csrf"),
                encode(&owner)
            ),
            Some(&session),
        )
        .await;
    bound.assert_goes_to("/workspaces");
    assert!(
        app.store
            .bound_workspace("ws-prod")
            .await
            .unwrap()
            .unwrap()
            .console_bound
    );

    // A link with a token of another role says why it cannot bind.
    let admin = token(&app, "ws-next", ConsoleRole::Administrator);
    let (_, _, page) = app
        .raw("GET", &format!("/bind?token={admin}"), None, Some(&session))
        .await;
    assert!(page.contains("Your role in this workspace"), "{page}");
    assert!(!page.contains("name=\"console_token\""));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_panel_is_framed_by_the_console_only_and_by_role() {
    let app = with_console().await;
    let signed_up = app.sign_up("owner").await;
    let session = signed_up.session_cookie().unwrap();
    let account = signed_up.body["billing_account_id"].as_i64().unwrap();
    app.store
        .bind_workspace(
            account,
            "ws-prod",
            "Production",
            Some(&token(&app, "ws-prod", ConsoleRole::Owner)),
        )
        .await
        .unwrap();

    let embed = |role| {
        format!(
            "/embed/workspaces/ws-prod?token={}",
            token(&app, "ws-prod", role)
        )
    };
    let (status, headers, page) = app.raw("GET", &embed(ConsoleRole::Owner), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains(&format!("frame-ancestors {CONSOLE}")),
        "{policy}"
    );
    assert!(headers.get("x-frame-options").is_none());
    assert!(page.contains("data-testid=\"panel-balances\""), "{page}");
    assert!(page.contains("data-testid=\"panel-actions\""));
    // "Change binding" takes the owner, with the console's token, to the page where they sign in
    // to the account the workspace should move to (issue 18).
    let binding =
        regex::Regex::new(r#"href="(/bind\?token=[^"]+)"[^>]*data-testid="action-binding""#)
            .unwrap();
    assert!(binding.is_match(&page), "{page}");
    // No shell around the embedded panel: no navigation, no sign-in menu.
    assert!(!page.contains("class=\"nav\""));

    let (status, _, page) = app
        .raw("GET", &embed(ConsoleRole::Administrator), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"panel-balances\""));
    assert!(!page.contains("data-testid=\"panel-actions\""));

    for (uri, expected) in [
        (embed(ConsoleRole::Member), StatusCode::FORBIDDEN),
        (embed(ConsoleRole::Service), StatusCode::FORBIDDEN),
        (
            format!(
                "/embed/workspaces/ws-other?token={}",
                token(&app, "ws-prod", ConsoleRole::Owner)
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "/embed/workspaces/ws-prod?token=forged.token.here".to_owned(),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (status, _, page) = app.raw("GET", &uri, None, None).await;
        assert_eq!(status, expected, "{uri}");
        assert!(page.contains("data-testid=\"panel-refused\""), "{uri}");
        assert!(!page.contains("data-testid=\"panel-balances\""), "{uri}");
    }

    // Any other page may not be framed.
    let (_, headers, _) = app.raw("GET", "/", None, None).await;
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");

    // The account holder's own panel inside Billing Center; another account's is not found.
    let (status, _, page) = app
        .raw("GET", "/workspaces/ws-prod", None, Some(&session))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-testid=\"panel-balances\""), "{page}");
    let other = app.sign_up("other").await.session_cookie().unwrap();
    let (_, _, page) = app
        .raw("GET", "/workspaces/ws-prod", None, Some(&other))
        .await;
    assert!(!page.contains("data-testid=\"panel-balances\""));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_console_frames_the_demo_panel_as_three_roles() {
    let mut app = TestApp::sqlite().await;
    let demo = server::config::Config::from_lookup(|_| None)
        .unwrap()
        .with_demo_console();
    app.store = app
        .store
        .clone()
        .with_console_key(demo.console_key.clone(), false);
    app.settings.console_origins = demo.console_origins.clone();
    app.settings.demo_console = true;
    let (status, _, page) = app.raw("GET", "/demo/console", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for role in ["owner", "administrator", "member"] {
        assert!(page.contains(&format!("data-role=\"{role}\"")), "{page}");
    }
    assert!(page.contains("/embed/workspaces/demo-prod?token="));
    // The demo key does not make binding by id need a console token.
    let account = app.store.create_billing_account("someone").await.unwrap();
    app.store
        .bind_workspace(account, "ws-free", "Free", None)
        .await
        .unwrap();
    let (_, headers, _) = app
        .raw("GET", "/embed/workspaces/demo-prod?token=x", None, None)
        .await;
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'self'")
    );

    // Without the demo there is no demo console.
    let plain = TestApp::sqlite().await;
    let (status, _, _) = plain.raw("GET", "/demo/console", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    plain.finish().await;
    app.finish().await;
}
