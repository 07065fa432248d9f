//! `GET /lang/{code}?next=/path`: remembers the chosen language in a cookie and goes back.

use app::i18n::{LANG_COOKIE, Lang};
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// One year: the choice is a preference, not a secret.
const COOKIE_MAX_AGE_SECS: u32 = 365 * 24 * 3600;

pub async fn switch_language(Path(code): Path<String>, Query(next): Query<Next>) -> Response {
    let Some(lang) = Lang::from_code(&code).filter(|l| l.code().eq_ignore_ascii_case(&code)) else {
        let supported: Vec<_> = Lang::ALL.iter().map(|l| l.code()).collect();
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "unsupported language '{code}'; supported: {}",
                supported.join(", ")
            ),
        )
            .into_response();
    };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; SameSite=Lax",
        lang.code()
    );
    let target = next
        .next
        .filter(|n| is_local_path(n))
        .unwrap_or_else(|| "/".to_owned());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response()
}

/// Only paths on this site: `/x`, never `//host` or an absolute URL. Browsers drop tabs and
/// newlines and read `\` as `/` while parsing a URL, so no control character, space or backslash
/// is allowed anywhere.
fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert!(is_local_path("/preview?cash=1"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\t\\evil.example",
            "/x\\y",
            "/\u{1}",
            "/a b",
            "preview",
            "/a\r\nSet-Cookie: x",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
