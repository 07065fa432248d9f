//! `/demo/console` (only with `serve --demo`): a page that plays the SaaS console. It frames the
//! demo workspace's billing panel three times, as its owner, an administrator and a member, with
//! tokens signed by the demo's console key exactly as a real console signs them
//! (docs/INTEGRATION.md), and grows each frame to the height the panel reports.

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};
use backend::console::{ConsoleClaims, ConsoleLanguage, ConsoleRole};

use crate::router::AppState;
use crate::security_headers::CspNonce;
use backend::html::escape;

/// The demo's workspace the console shows.
const WORKSPACE: &str = "demo-prod";

pub async fn page(
    State(state): State<AppState>,
    Extension(CspNonce(nonce)): Extension<CspNonce>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let Some(key) = state.store.console_key() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let zh = app::i18n::Lang::negotiate(header(header::COOKIE), header(header::ACCEPT_LANGUAGE))
        == app::i18n::Lang::ZhCn;
    let now = state.store.now();
    let frames: String = [
        (ConsoleRole::Owner, "Owner · 所有者"),
        (ConsoleRole::Administrator, "Administrator · 管理员"),
        (ConsoleRole::Member, "Member · 成员"),
    ]
    .into_iter()
    .map(|(role, title)| {
        let mut claims = ConsoleClaims::new("demo-console-user", WORKSPACE, role, now, 900);
        claims.name = Some("Demo".into());
        claims.lang = Some(if zh {
            ConsoleLanguage::ZhCn
        } else {
            ConsoleLanguage::En
        });
        let token = key.sign(&claims);
        format!(
            "<section><h2>{title}</h2><iframe data-role=\"{role}\" title=\"{title}\" \
             src=\"/embed/workspaces/{WORKSPACE}?token={token}\"></iframe></section>",
            title = escape(title),
            role = role.code(),
        )
    })
    .collect();
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo console · 演示控制台</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; background: #f1f5f9; color: #0f172a; }}
header {{ background: #0f172a; color: #fff; padding: 12px 16px; }}
main {{ padding: 16px; display: grid; gap: 16px; }}
section {{ background: #fff; border-radius: 8px; padding: 12px; }}
h2 {{ font-size: 1rem; margin: 0 0 8px; }}
iframe {{ width: 100%; border: 0; height: 400px; display: block; }}
</style></head>
<body>
<header>SaaS console (demo) · 控制台（演示） — workspace <code>{WORKSPACE}</code></header>
<main>{frames}</main>
<script nonce="{nonce}">
window.addEventListener("message", function (event) {{
  if (event.origin !== window.location.origin) return;
  var data = event.data || {{}};
  if (data.type !== "billing-center:resize" || typeof data.height !== "number") return;
  document.querySelectorAll("iframe").forEach(function (frame) {{
    if (frame.contentWindow === event.source) {{
      frame.style.height = Math.max(100, Math.ceil(data.height)) + "px";
      frame.dataset.resized = String(data.height);
    }}
  }});
}});
</script>
</body></html>"#,
        lang = if zh { "zh-CN" } else { "en" },
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
