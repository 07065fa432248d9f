//! Percent-encoding for the few URLs the pages build themselves.

/// Encodes everything but RFC 3986 unreserved characters (and `/` when `keep_slash`, for paths).
pub fn percent_encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Where to go after signing in or up: a path of this site (`/bind?token=…`), never another
/// site (`//evil.example`, `/\\evil.example`, `https://…`); anything else goes to `fallback`.
pub fn local_path<'a>(next: &'a str, fallback: &'a str) -> &'a str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok { next } else { fallback }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_of_this_site_is_a_place_to_go_next() {
        assert_eq!(
            local_path("/bind?token=a.b.c", "/account"),
            "/bind?token=a.b.c"
        );
        for outside in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "bind",
            "/a\nb",
        ] {
            assert_eq!(local_path(outside, "/account"), "/account", "{outside}");
        }
    }

    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(percent_encode("a b&c=d/é", false), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(percent_encode("/preview?x=1", true), "/preview%3Fx%3D1");
        assert_eq!(percent_encode("AZaz09-_.~", false), "AZaz09-_.~");
    }
}
