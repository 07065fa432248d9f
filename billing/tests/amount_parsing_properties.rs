//! Hostile input to `Amount::parse` (PRODUCT.md §2: CNY with 2 decimal places): whatever string
//! arrives, parsing never panics; whatever it accepts has at most 2 decimals, is within the limits
//! and reads back to itself from every form it is written in.

use billing::money::MAX_INPUT_YUAN;
use billing::{Amount, AmountError};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

const MAX_FEN: i64 = MAX_INPUT_YUAN * 100;

/// Strings that look like amounts, nearly or exactly: digits, points, signs, exponents, spaces,
/// separators, full-width digits and long runs of digits.
fn amount_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{0,32}(\\.[0-9]{0,6})?",
        "[-+0-9.,eE _]{0,24}",
        "[0-9]{1,15}\\.[0-9]{0,3}[^0-9]?",
        "(¥|-|\\+)?[0-9０-９]{1,6}(\\.[0-9]{1,2})?",
        "0{0,40}[1-9]?\\.?[0-9]{0,2}0{0,40}",
        any::<String>(),
    ]
}

/// Every way a valid amount of `fen` may be written: `12`, `12.3`, `12.30`, leading zeros, `-0`.
fn written_forms(fen: i64, zeros: usize) -> Vec<String> {
    let (whole, cents) = (fen / 100, fen % 100);
    let pad = "0".repeat(zeros);
    let mut forms = vec![
        format!("{pad}{whole}.{cents:02}"),
        format!("{whole}.{cents:02}"),
    ];
    if cents % 10 == 0 {
        forms.push(format!("{pad}{whole}.{}", cents / 10));
    }
    if cents == 0 {
        forms.push(format!("{pad}{whole}"));
    }
    if fen == 0 {
        forms.push("-0".into());
        forms.push("-0.00".into());
    }
    forms
}

/// `¥1,234.56` back to `1234.56`.
fn from_cny(text: &str) -> String {
    text.replace(['¥', ','], "")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn parsing_any_string_never_panics_and_an_accepted_amount_round_trips(input in amount_like()) {
        match Amount::parse(&input) {
            Ok(amount) => {
                // What was accepted is a plain decimal with at most 2 decimals, within the limits.
                let (_, fraction) = input.split_once('.').unwrap_or((&input, ""));
                prop_assert!(fraction.len() <= 2, "{input:?} has more than 2 decimals");
                prop_assert!(input.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit() || b == b'.'));
                prop_assert!((0..=MAX_FEN).contains(&amount.fen()));
                prop_assert_eq!(
                    amount.as_decimal(),
                    Decimal::from_str(input.trim_start_matches('-')).unwrap()
                );
                // Written back it has exactly 2 decimals and parses to the same amount.
                let text = amount.to_string();
                let (whole, cents) = text.split_once('.').expect("a point");
                prop_assert!(!whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()), "{text}");
                prop_assert!(cents.len() == 2 && cents.bytes().all(|b| b.is_ascii_digit()), "{text}");
                prop_assert_eq!(Amount::parse(&text), Ok(amount));
                prop_assert_eq!(Amount::from_fen(amount.fen()), amount);
                prop_assert_eq!(Amount::parse(&from_cny(&amount.to_cny())), Ok(amount));
            }
            // A refusal names the input it refused.
            Err(AmountError::NotANumber(s) | AmountError::Negative(s) | AmountError::TooPrecise(s) | AmountError::TooLarge(s)) => {
                prop_assert_eq!(s, input);
            }
        }
    }

    #[test]
    fn every_valid_amount_round_trips_through_each_way_of_writing_it(fen in 0..=MAX_FEN, zeros in 0usize..4) {
        let amount = Amount::from_fen(fen);
        prop_assert_eq!(amount.fen(), fen);
        for form in written_forms(fen, zeros) {
            prop_assert_eq!(Amount::parse(&form), Ok(amount), "{}", form);
        }
        prop_assert_eq!(Amount::parse(&amount.to_string()), Ok(amount));
        prop_assert_eq!(Amount::parse(&from_cny(&amount.to_cny())), Ok(amount));
        let json = serde_json::to_string(&amount).unwrap();
        prop_assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), amount);
    }

    #[test]
    fn a_third_decimal_a_sign_or_too_much_is_refused(fen in 0..=MAX_FEN, digit in 0u8..10) {
        let text = Amount::from_fen(fen).to_string();
        let third = Amount::parse(&format!("{text}{digit}"));
        prop_assert!(matches!(third, Err(AmountError::TooPrecise(_))), "{:?}", third);
        let plus = Amount::parse(&format!("+{text}"));
        prop_assert!(matches!(plus, Err(AmountError::NotANumber(_))), "{:?}", plus);
        if fen > 0 {
            let minus = Amount::parse(&format!("-{text}"));
            prop_assert!(matches!(minus, Err(AmountError::Negative(_))), "{:?}", minus);
        }
        let over = Amount::from_fen(MAX_FEN).to_string();
        let over = format!("{}{}", &over[..over.len() - 1], 1 + (fen % 9));
        let too_large = Amount::parse(&over);
        prop_assert!(matches!(too_large, Err(AmountError::TooLarge(_))), "{:?}", too_large);
    }
}
