//! Reading JSON request bodies with the API's own errors: not UTF-8 or not JSON is 400
//! `malformed_json`; JSON of the wrong shape (missing or unknown fields, wrong types) is 422
//! `invalid_request`.

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use super::ApiError;

/// What a handler takes as its body, so that even axum's rejections become JSON errors.
pub type RawBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

pub fn parse<T: DeserializeOwned>(body: RawBody) -> Result<T, ApiError> {
    let text = body_text(body)?;
    refuse_nul_characters(&text)?;
    serde_json::from_str(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::unprocessable("invalid_request", e.to_string())
        }
        _ => ApiError::bad_request(
            "malformed_json",
            format!("the request body is not valid JSON: {e}"),
        ),
    })
}

/// The body as text, with the API's errors: a body over the 2 MB limit is 413 `too_large`, one that
/// is not UTF-8 is 400 `malformed_json` (axum's own rejections would answer in plain text).
pub fn body_text(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<String, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than this endpoint accepts (2 MB; 8 MB for usage reports)",
            )
        } else {
            ApiError::bad_request("malformed_json", rejection.body_text())
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("malformed_json", "the request body is not UTF-8 text"))
}

/// No field takes a NUL character (U+0000), and PostgreSQL cannot store one in text: a body that
/// carries one in any string is refused as a whole, naming where, before any handler sees it.
/// Only a body that holds the escape at all is read twice.
fn refuse_nul_characters(text: &str) -> Result<(), ApiError> {
    if !text.contains("\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Ok(()); // the typed parse reports what is wrong with it
    };
    match nul_at(&value, String::new()) {
        Some(pointer) => Err(ApiError::unprocessable(
            "invalid_request",
            format!(
                "the text at '{}' holds a NUL character (U+0000), which no field accepts",
                if pointer.is_empty() { "/" } else { &pointer }
            ),
        )),
        None => Ok(()),
    }
}

/// The JSON pointer of the first string (value or key) holding a NUL character.
fn nul_at(value: &serde_json::Value, at: String) -> Option<String> {
    let escape = |key: &str| {
        key.replace('~', "~0")
            .replace('/', "~1")
            .replace('\0', "\\u0000")
    };
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, format!("{at}/{i}"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", escape(key));
            if key.contains('\0') {
                Some(here)
            } else {
                nul_at(item, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> RawBody {
        Ok(Bytes::from(text.to_owned()))
    }

    #[test]
    fn a_nul_character_anywhere_is_refused_with_where_it_is() {
        let error = parse::<serde_json::Value>(body(r#"{"a": [1, {"note": "x\u0000y"}]}"#))
            .unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code, "invalid_request");
        assert!(error.message.contains("'/a/1/note'"), "{}", error.message);
        let error = parse::<serde_json::Value>(body(r#"{"k\u0000": 1}"#)).unwrap_err();
        assert!(error.message.contains(r"'/k\u0000'"), "{}", error.message);
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_text_not_a_nul() {
        let value: serde_json::Value = parse(body(r#"{"note": "C:\\u0000"}"#)).unwrap();
        assert_eq!(value["note"], "C:\\u0000");
    }
}
