//! Hostile input to the Alipay protocol (`backend::payments::alipay`): whatever pairs or form body
//! arrive, parsing and verifying never panic and a repeated name is refused; the string to sign is
//! exactly Alipay's rule; a notification signed with the test key verifies, and changing any one
//! character of any signed name or value, or of the sign, makes it fail.
//! RSA signing costs milliseconds, so the signature properties run 64 cases.

use std::collections::BTreeSet;

use backend::payments::alipay::{
    AlipayError, Params, PrivateKey, PublicKey, TradeStatus, content_to_sign, params_from_pairs,
    sign_notification, verify_notification,
};
use proptest::prelude::*;

const ALIPAY_PRIVATE: &str = include_str!("fixtures/alipay/test_alipay_private_key.pem");
const ALIPAY_PUBLIC: &str = include_str!("fixtures/alipay/test_alipay_public_key.pem");
const MERCHANT_PUBLIC: &str = include_str!("fixtures/alipay/test_merchant_public_key.pem");

fn alipay_key() -> PrivateKey {
    PrivateKey::parse(ALIPAY_PRIVATE).unwrap()
}

fn alipay_public() -> PublicKey {
    PublicKey::parse(ALIPAY_PUBLIC).unwrap()
}

/// Names from a small alphabet (so repeats happen) or anything at all.
fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-c_]{0,2}", "sign|sign_type|app_id", any::<String>()]
}

/// Values as hostile as a form body can make them: separators of the string to sign, percent
/// signs, line breaks, Unicode, empty.
fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9&=%+ .\r\n]{0,12}", any::<String>()]
}

/// A parameter name Alipay might send beside the required ones (never `sign`/`sign_type`).
fn extra_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,12}".prop_filter("not a reserved name", |n| {
        ![
            "sign",
            "sign_type",
            "app_id",
            "out_trade_no",
            "trade_no",
            "total_amount",
            "trade_status",
        ]
        .contains(&n.as_str())
    })
}

/// The values of a notification: required fields non-empty, extras anything (empty ones are not
/// signed).
fn notification() -> impl Strategy<Value = Params> {
    let required = (
        "[0-9]{16}|.{1,8}",
        "BC[0-9]{20}|.{1,8}",
        "[0-9]{28}|.{1,8}",
        "[0-9]{1,6}\\.[0-9]{2}|.{1,8}",
        prop::sample::select(vec![
            "TRADE_SUCCESS",
            "TRADE_FINISHED",
            "WAIT_BUYER_PAY",
            "TRADE_CLOSED",
        ]),
    );
    (
        required,
        prop::collection::btree_map(extra_name(), value(), 0..6),
    )
        .prop_map(
            |((app_id, out_trade_no, trade_no, total_amount, status), extras)| {
                let mut params: Params = extras;
                for (name, value) in [
                    ("app_id", app_id),
                    ("out_trade_no", out_trade_no),
                    ("trade_no", trade_no),
                    ("total_amount", total_amount),
                    ("trade_status", status.to_owned()),
                ] {
                    params.insert(name.to_owned(), value);
                }
                params
            },
        )
}

/// One character changed: replaced by another, inserted, or deleted (by char, not byte).
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let c = prop_oneof![
        any::<char>(),
        prop::sample::select(vec!['a', 'A', '0', '=', '&', '+', '/', ' ', '\n']),
    ];
    prop_oneof![
        (any::<usize>(), c.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (any::<usize>(), c).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

/// `text` changed by `mutation`, or `None` when it cannot change it (a replacement by the same
/// character, a deletion from nothing).
fn mutated(text: &str, mutation: &Mutation) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    match *mutation {
        Mutation::Replace(i, c) => {
            if chars.is_empty() {
                return None;
            }
            let i = i % chars.len();
            if chars[i] == c {
                return None;
            }
            chars[i] = c;
        }
        Mutation::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
        Mutation::Delete(i) => {
            if chars.is_empty() {
                return None;
            }
            let i = i % chars.len();
            chars.remove(i);
        }
    }
    Some(chars.into_iter().collect())
}

fn signed(mut params: Params) -> Params {
    sign_notification(&mut params, &alipay_key());
    params.insert("sign_type".into(), "RSA2".into());
    params
}

fn pairs_of(params: &Params) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Alipay's string-to-sign written out plainly: sorted by name, empty values and excluded names
/// dropped, `name=value` joined with `&`, nothing encoded.
fn reference_content(pairs: &[(String, String)], excluded: &[&str]) -> String {
    let mut kept: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(n, v)| !v.is_empty() && !excluded.contains(&n.as_str()))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    kept.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_pairs_parse_without_panic_and_a_repeated_name_is_refused(
        pairs in prop::collection::vec((name(), value()), 0..12)
    ) {
        let names: BTreeSet<&String> = pairs.iter().map(|(n, _)| n).collect();
        match params_from_pairs(pairs.clone()) {
            Ok(params) => {
                prop_assert_eq!(names.len(), pairs.len(), "a repeated name was accepted");
                for (name, value) in &pairs {
                    prop_assert_eq!(params.get(name), Some(value));
                }
                prop_assert_eq!(
                    content_to_sign(&params, &["sign", "sign_type"]),
                    reference_content(&pairs, &["sign", "sign_type"])
                );
                prop_assert_eq!(content_to_sign(&params, &["sign"]), reference_content(&pairs, &["sign"]));
                // Nobody without Alipay's key makes a notification that verifies.
                prop_assert!(verify_notification(&params, &alipay_public()).is_err());
            }
            Err(AlipayError::RepeatedParameter(name)) => {
                prop_assert!(names.len() < pairs.len());
                prop_assert!(pairs.iter().filter(|(n, _)| *n == name).count() > 1, "{} is not repeated", name);
            }
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn any_form_body_is_refused_without_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let pairs = form_urlencoded::parse(&body).into_owned();
        if let Ok(params) = params_from_pairs(pairs) {
            prop_assert!(verify_notification(&params, &alipay_public()).is_err());
        }
    }

    #[test]
    fn any_sign_that_is_not_alipays_is_refused(params in notification(), sign in prop_oneof![
        "[A-Za-z0-9+/]{342}==",
        "[A-Za-z0-9+/=]{0,400}",
        any::<String>(),
    ]) {
        let mut params = params;
        params.insert("sign".into(), sign);
        prop_assert!(verify_notification(&params, &alipay_public()).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_signed_notification_verifies_and_any_one_character_change_fails(
        params in notification(),
        mutations in prop::collection::vec(mutation(), 8),
    ) {
        let params = signed(params);
        let notification = verify_notification(&params, &alipay_public());
        prop_assert!(notification.is_ok(), "{:?}", notification);
        let notification = notification.unwrap();
        prop_assert_eq!(&notification.out_trade_no, &params["out_trade_no"]);
        prop_assert_eq!(&notification.total_amount, &params["total_amount"]);
        prop_assert_eq!(notification.trade_status, TradeStatus::parse(&params["trade_status"]));
        // The same notification through a form body, as the notify endpoint reads it.
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter()).finish();
        let parsed = params_from_pairs(form_urlencoded::parse(body.as_bytes()).into_owned()).unwrap();
        prop_assert!(verify_notification(&parsed, &alipay_public()).is_ok());
        // Another key's signature does not verify.
        prop_assert!(verify_notification(&params, &PublicKey::parse(MERCHANT_PUBLIC).unwrap()).is_err());

        let signed_names: Vec<&String> = params
            .iter()
            .filter(|(n, v)| !v.is_empty() && n.as_str() != "sign" && n.as_str() != "sign_type")
            .map(|(n, _)| n)
            .collect();
        for (index, m) in mutations.iter().enumerate() {
            let target = signed_names[index % signed_names.len()];
            // The value changed...
            if let Some(value) = mutated(&params[target], m) {
                let mut tampered = params.clone();
                tampered.insert(target.clone(), value.clone());
                prop_assert!(
                    verify_notification(&tampered, &alipay_public()).is_err(),
                    "{} changed to {:?} still verifies", target, value
                );
            }
            // ...or the name.
            if let Some(new_name) = mutated(target, m) {
                let mut pairs = pairs_of(&params);
                for pair in &mut pairs {
                    if &pair.0 == target {
                        pair.0 = new_name.clone();
                    }
                }
                let verified = params_from_pairs(pairs).map(|p| verify_notification(&p, &alipay_public()));
                prop_assert!(
                    !matches!(verified, Ok(Ok(_))),
                    "{} renamed {:?} still verifies", target, new_name
                );
            }
            // ...or the sign. Blanks around it are ignored (the signature's bytes are the same).
            let sign = &params["sign"];
            if let Some(changed) = mutated(sign, m) {
                let mut tampered = params.clone();
                tampered.insert("sign".into(), changed.clone());
                let verified = verify_notification(&tampered, &alipay_public());
                prop_assert!(
                    verified.is_err() || changed.trim() == sign,
                    "sign changed to {:?} still verifies", changed
                );
            }
        }
    }
}

#[test]
fn a_sign_type_other_than_rsa2_or_a_missing_sign_is_refused() {
    let params = signed(
        [
            ("app_id", "2021000000000000"),
            ("out_trade_no", "BC20261101000000000001"),
            ("trade_no", "2026110122001000000000000001"),
            ("total_amount", "88.88"),
            ("trade_status", "TRADE_SUCCESS"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    );
    assert!(verify_notification(&params, &alipay_public()).is_ok());
    let mut rsa = params.clone();
    rsa.insert("sign_type".into(), "RSA".into());
    assert_eq!(
        verify_notification(&rsa, &alipay_public()),
        Err(AlipayError::UnsupportedSignType("RSA".into()))
    );
    let mut unsigned = params.clone();
    unsigned.remove("sign");
    assert_eq!(
        verify_notification(&unsigned, &alipay_public()),
        Err(AlipayError::MissingSign)
    );
    // A value added empty is not part of the string to sign, so it changes nothing.
    let mut padded = params.clone();
    padded.insert("fund_bill_list".into(), String::new());
    assert!(verify_notification(&padded, &alipay_public()).is_ok());
}
