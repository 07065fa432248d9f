//! CNY amounts. PRODUCT.md §2: "All amounts are CNY with 2 decimal places (fen)".
//!
//! [`Amount`] is a non-negative amount of exactly two decimal places. It can only be made by
//! [`Amount::parse`] (from user input), [`Amount::from_fen`] or arithmetic on other amounts, so an
//! over-precise or negative amount cannot exist past the edge of the system.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount accepted from input: one trillion yuan. Sums of many such amounts still fit
/// in an `i64` of fen, which is how the database stores money.
pub const MAX_INPUT_YUAN: i64 = 1_000_000_000_000;

/// A non-negative CNY amount with exactly two decimal places.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

/// Why a string is not a valid amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("'{0}' is not a decimal amount (expected digits with at most 2 decimals, like 12.34)")]
    NotANumber(String),
    #[error("amount '{0}' is negative; it must be zero or more")]
    Negative(String),
    #[error("amount '{0}' has more than 2 decimal places; amounts are in fen (0.01)")]
    TooPrecise(String),
    #[error("amount '{0}' is larger than the maximum of {MAX_INPUT_YUAN}")]
    TooLarge(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses a decimal string such as `"12.34"`, `"12.3"` or `"12"`.
    /// Rejects signs other than a leading minus (reported as negative), exponents, whitespace,
    /// thousands separators and more than two decimals, each with its own error.
    pub fn parse(input: &str) -> Result<Amount, AmountError> {
        let not_a_number = || AmountError::NotANumber(input.to_owned());
        let (negative, digits) = match input.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (digits, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        if let Some(f) = fraction
            && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(not_a_number());
        }
        let value = Decimal::from_str(digits).map_err(|_| not_a_number())?;
        if negative && !value.is_zero() {
            return Err(AmountError::Negative(input.to_owned()));
        }
        if fraction.is_some_and(|f| f.len() > 2) {
            return Err(AmountError::TooPrecise(input.to_owned()));
        }
        if value > Decimal::from(MAX_INPUT_YUAN) {
            return Err(AmountError::TooLarge(input.to_owned()));
        }
        Ok(Amount::from_decimal_unchecked(value))
    }

    /// An amount of `fen` hundredths of a yuan. Negative input is a programming error.
    pub fn from_fen(fen: i64) -> Amount {
        assert!(fen >= 0, "Amount::from_fen called with a negative value");
        Amount(Decimal::new(fen, 2))
    }

    /// A whole number of yuan.
    pub fn from_yuan(yuan: i64) -> Amount {
        Amount::from_fen(yuan * 100)
    }

    /// The amount in fen, the unit the database stores.
    pub fn fen(self) -> i64 {
        let mut d = self.0;
        d.rescale(2);
        i64::try_from(d.mantissa()).expect("amounts fit in i64 fen")
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// Converts a decimal that is known to be non-negative with at most 2 decimals.
    fn from_decimal_unchecked(mut value: Decimal) -> Amount {
        debug_assert!(!value.is_sign_negative() || value.is_zero());
        value.set_sign_positive(true);
        value.rescale(2);
        Amount(value)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self - other`, or `None` when that would be negative.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        (self >= other).then(|| Amount::from_decimal_unchecked(self.0 - other.0))
    }

    /// `self - other`, floored at zero.
    pub fn saturating_sub(self, other: Amount) -> Amount {
        self.checked_sub(other).unwrap_or(Amount::ZERO)
    }

    /// Whether the amount is a whole multiple of `yuan` yuan.
    pub fn is_multiple_of_yuan(self, yuan: i64) -> bool {
        self.fen() % (yuan * 100) == 0
    }

    /// Formats as shown to people: `¥1,234.56`.
    pub fn to_cny(self) -> String {
        format_cny(self.0)
    }
}

impl Add for Amount {
    type Output = Amount;
    fn add(self, rhs: Amount) -> Amount {
        Amount::from_decimal_unchecked(self.0 + rhs.0)
    }
}

impl Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, Add::add)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({self})")
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl serde::de::Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount as a decimal string, like \"12.34\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(AmountVisitor)
    }
}

/// A signed count of fen (a change of balance, arrears as a negative cash position) as a decimal
/// with exactly 2 places: `-5000` → `-50.00`.
pub fn signed_fen(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// Formats a signed yuan value as `¥1,234.56` or `-¥1,234.56` (arrears are shown negative).
pub fn format_cny(value: Decimal) -> String {
    let mut v =
        value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let negative = v.is_sign_negative() && !v.is_zero();
    v.set_sign_positive(true);
    let text = format!("{v:.2}");
    let (whole, fraction) = text.split_once('.').expect("formatted with 2 decimals");
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}¥{grouped}.{fraction}", if negative { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_whole_and_fractional_amounts_to_two_places() {
        assert_eq!(Amount::parse("12").unwrap().to_string(), "12.00");
        assert_eq!(Amount::parse("12.3").unwrap().to_string(), "12.30");
        assert_eq!(Amount::parse("0.01").unwrap().fen(), 1);
        assert_eq!(Amount::parse("-0").unwrap(), Amount::ZERO);
    }

    #[test]
    fn rejects_each_kind_of_bad_amount_with_its_own_error() {
        assert!(matches!(
            Amount::parse("-1.00"),
            Err(AmountError::Negative(_))
        ));
        assert!(matches!(
            Amount::parse("1.001"),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            Amount::parse("1.230"),
            Err(AmountError::TooPrecise(_))
        ));
        for bad in [
            "", "abc", "1e3", " 1", "1 ", "1,000", "1.", ".5", "+1", "NaN", "1.2.3",
        ] {
            assert!(
                matches!(Amount::parse(bad), Err(AmountError::NotANumber(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Amount::parse("1000000000000.01"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(Amount::parse("1000000000000.00").is_ok());
    }

    #[test]
    fn subtraction_never_goes_below_zero() {
        let a = Amount::from_fen(100);
        let b = Amount::from_fen(150);
        assert_eq!(a.checked_sub(b), None);
        assert_eq!(b.checked_sub(a), Some(Amount::from_fen(50)));
        assert_eq!(a.saturating_sub(b), Amount::ZERO);
    }

    #[test]
    fn formats_yuan_with_grouping_and_sign() {
        assert_eq!(format_cny(dec!(1234.56)), "¥1,234.56");
        assert_eq!(format_cny(dec!(0)), "¥0.00");
        assert_eq!(format_cny(dec!(-5)), "-¥5.00");
        assert_eq!(format_cny(dec!(1234567)), "¥1,234,567.00");
        assert_eq!(format_cny(dec!(999)), "¥999.00");
        assert_eq!(Amount::from_fen(100_000).to_cny(), "¥1,000.00");
    }

    #[test]
    fn serialises_as_a_decimal_string_and_refuses_json_numbers() {
        let a: Amount = serde_json::from_str("\"7.5\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"7.50\"");
        let err = serde_json::from_str::<Amount>("7.5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("decimal string"), "{err}");
    }
}
