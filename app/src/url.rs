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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(percent_encode("a b&c=d/é", false), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(percent_encode("/preview?x=1", true), "/preview%3Fx%3D1");
        assert_eq!(percent_encode("AZaz09-_.~", false), "AZaz09-_.~");
    }
}
