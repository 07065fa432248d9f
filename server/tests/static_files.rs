//! The site's code under /pkg: the brotli copy a release build writes beside each file is what a
//! browser that takes brotli gets; any other browser gets the file itself.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use server::config::Config;
use support::TempStore;
use tower::ServiceExt;

#[tokio::test]
async fn a_precompressed_copy_goes_to_browsers_that_take_brotli() {
    let site = std::env::temp_dir()
        .join("billing-center-tests")
        .join(format!("site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/chunk_1.wasm"), b"the module itself").unwrap();
    std::fs::write(site.join("pkg/chunk_1.wasm.br"), b"its brotli copy").unwrap();
    let config = Config::from_lookup(|_| None).expect("default config");
    let mut options = config.leptos_options();
    options.site_root = site.display().to_string().into();
    let temp = TempStore::new().await;
    let app = server::router::app(options, temp.store.clone(), config.settings());

    let get = |encoding: Option<&'static str>| {
        let mut request = Request::get("/pkg/chunk_1.wasm");
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    let brotli = get(Some("gzip, deflate, br")).await.unwrap();
    assert_eq!(brotli.status(), StatusCode::OK);
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["content-type"], "application/wasm");
    assert_eq!(brotli.headers()["vary"], "accept-encoding");
    let body = brotli.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"its brotli copy");

    let plain = get(None).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    let body = plain.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"the module itself");

    let missing = app
        .clone()
        .oneshot(Request::get("/pkg/nothing.js").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    temp.store.close().await;
    std::fs::remove_dir_all(&site).ok();
}
