//! Every response carries the security headers; pages carry a CSP whose nonce is on each of their
//! inline scripts, so hydration runs and nothing injected does.

mod support;

use support::app::TestApp;

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} is sent"))
        .to_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_allow_only_their_own_scripts_and_are_never_framed() {
    let app = TestApp::sqlite().await;
    for path in ["/", "/wallet", "/no-such-page"] {
        let (_, headers, page) = app.raw("GET", path, None, None).await;
        let policy = header(&headers, "content-security-policy");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
        assert!(!policy.contains("'unsafe-inline' 'wasm"), "{policy}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: a page's policy has a nonce: {policy}"));
        assert!(nonce.len() >= 16);
        let scripts: Vec<&str> = page.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path} hydrates with inline scripts");
        for script in scripts {
            let tag = script.split('>').next().unwrap();
            assert!(
                tag.contains(&format!(r#"nonce="{nonce}""#)),
                "{path}: every inline script carries the nonce: <script{tag}>"
            );
        }
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "x-frame-options"), "DENY");
        assert_eq!(
            header(&headers, "referrer-policy"),
            "strict-origin-when-cross-origin"
        );
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over plain http"
        );
    }
    let (_, first, _) = app.raw("GET", "/", None, None).await;
    let (_, second, _) = app.raw("GET", "/", None, None).await;
    assert_ne!(
        header(&first, "content-security-policy"),
        header(&second, "content-security-policy"),
        "a fresh nonce per page"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_and_callbacks_carry_the_headers_and_https_adds_hsts() {
    let mut app = TestApp::sqlite().await;
    app.settings.public_url = "https://billing.example.com".into();
    for (method, path) in [
        ("GET", "/api/v1/me"),
        ("POST", "/payments/alipay/notify"),
        ("GET", "/healthz"),
    ] {
        let (_, headers, _) = app.raw(method, path, Some(""), None).await;
        let policy = header(&headers, "content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'") && !policy.contains("nonce"),
            "{path}: {policy}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(&headers, "strict-transport-security"),
            "max-age=31536000; includeSubDomains"
        );
    }
    app.finish().await;
}
