//! The wallet rules that are pure functions: top-ups and prepaid card purchases (PRODUCT.md §2).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::money::Amount;

/// How a top-up is split: arrears are paid off first, only the rest becomes cash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopUpSplit {
    pub to_arrears: Amount,
    pub to_cash: Amount,
}

/// PRODUCT.md §2 (Cash): "A top-up first pays off any arrears; only the rest becomes cash."
pub fn split_top_up(arrears: Amount, amount: Amount) -> TopUpSplit {
    let to_arrears = arrears.min(amount);
    TopUpSplit { to_arrears, to_cash: amount.saturating_sub(to_arrears) }
}

/// The smallest online top-up: one fen.
pub const MIN_TOP_UP_FEN: i64 = 1;
/// The largest single online top-up: 1,000,000.00 yuan.
pub const MAX_TOP_UP_FEN: i64 = 100_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopUpError {
    #[error("a top-up must be at least 0.01")]
    TooSmall,
    #[error("a single top-up may not exceed 1000000.00 (asked {0})")]
    TooLarge(Amount),
}

/// Checks a requested top-up amount against the allowed range (0.01..=1,000,000.00).
pub fn check_top_up_amount(amount: Amount) -> Result<Amount, TopUpError> {
    match amount.fen() {
        f if f < MIN_TOP_UP_FEN => Err(TopUpError::TooSmall),
        f if f > MAX_TOP_UP_FEN => Err(TopUpError::TooLarge(amount)),
        _ => Ok(amount),
    }
}

/// Prepaid card denominations are multiples of this many yuan, and at least this many.
pub const PREPAID_CARD_STEP_YUAN: i64 = 100;
/// PRODUCT.md §2: default validity of a prepaid card, in days from purchase.
pub const DEFAULT_PREPAID_CARD_VALIDITY_DAYS: i64 = 365;

/// PRODUCT.md §2: the gift discount voucher for a single purchase, highest tier reached:
/// ≥ 10,000 → 1,000; ≥ 30,000 → 5,000; ≥ 100,000 → 20,000.
pub fn gift_discount_voucher(denomination: Amount) -> Option<Amount> {
    const TIERS: [(i64, i64); 3] = [(100_000, 20_000), (30_000, 5_000), (10_000, 1_000)];
    TIERS
        .iter()
        .find(|(threshold, _)| denomination >= Amount::from_yuan(*threshold))
        .map(|(_, gift)| Amount::from_yuan(*gift))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepaidCardError {
    #[error("a prepaid card's denomination must be at least 100 (asked {0})")]
    BelowMinimum(Amount),
    #[error("a prepaid card's denomination must be a multiple of 100 (asked {0})")]
    NotMultipleOf100(Amount),
    #[error("not enough cash: the card costs {needed} and the cash balance is {available}")]
    InsufficientCash { needed: Amount, available: Amount },
}

/// What buying a prepaid card will do, shown before the customer confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PrepaidCardQuote {
    pub denomination: Amount,
    pub gift_discount_voucher: Option<Amount>,
    pub cash_after: Amount,
}

/// PRODUCT.md §2 (Prepaid cards): bought with cash only (never with arrears or vouchers), the
/// denomination a multiple of 100 and at least 100; the gift voucher by [`gift_discount_voucher`].
pub fn quote_prepaid_card(denomination: Amount, cash: Amount) -> Result<PrepaidCardQuote, PrepaidCardError> {
    if denomination < Amount::from_yuan(PREPAID_CARD_STEP_YUAN) {
        return Err(PrepaidCardError::BelowMinimum(denomination));
    }
    if !denomination.is_multiple_of_yuan(PREPAID_CARD_STEP_YUAN) {
        return Err(PrepaidCardError::NotMultipleOf100(denomination));
    }
    let cash_after = cash
        .checked_sub(denomination)
        .ok_or(PrepaidCardError::InsufficientCash { needed: denomination, available: cash })?;
    Ok(PrepaidCardQuote { denomination, gift_discount_voucher: gift_discount_voucher(denomination), cash_after })
}

/// The validity window `[purchased_at, purchased_at + days)` of a card and of its gift voucher.
pub fn prepaid_card_validity(purchased_at: DateTime<Utc>, days: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    (purchased_at, purchased_at + Duration::days(days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn yuan(y: i64) -> Amount {
        Amount::from_yuan(y)
    }

    #[test]
    fn a_top_up_pays_arrears_first_and_only_the_rest_becomes_cash() {
        assert_eq!(split_top_up(yuan(30), yuan(100)), TopUpSplit { to_arrears: yuan(30), to_cash: yuan(70) });
        assert_eq!(split_top_up(yuan(300), yuan(100)), TopUpSplit { to_arrears: yuan(100), to_cash: Amount::ZERO });
        assert_eq!(split_top_up(Amount::ZERO, yuan(5)), TopUpSplit { to_arrears: Amount::ZERO, to_cash: yuan(5) });
    }

    #[test]
    fn top_up_amounts_must_be_between_a_fen_and_a_million() {
        assert_eq!(check_top_up_amount(Amount::ZERO), Err(TopUpError::TooSmall));
        assert!(check_top_up_amount(Amount::from_fen(1)).is_ok());
        assert!(check_top_up_amount(yuan(1_000_000)).is_ok());
        assert!(matches!(check_top_up_amount(Amount::from_fen(100_000_001)), Err(TopUpError::TooLarge(_))));
    }

    #[test]
    fn the_gift_voucher_is_the_highest_tier_reached() {
        assert_eq!(gift_discount_voucher(yuan(9_900)), None);
        assert_eq!(gift_discount_voucher(yuan(10_000)), Some(yuan(1_000)));
        assert_eq!(gift_discount_voucher(yuan(29_900)), Some(yuan(1_000)));
        assert_eq!(gift_discount_voucher(yuan(30_000)), Some(yuan(5_000)));
        assert_eq!(gift_discount_voucher(yuan(99_900)), Some(yuan(5_000)));
        assert_eq!(gift_discount_voucher(yuan(100_000)), Some(yuan(20_000)));
        assert_eq!(gift_discount_voucher(yuan(500_000)), Some(yuan(20_000)));
    }

    #[test]
    fn a_prepaid_card_is_a_multiple_of_100_of_at_least_100_paid_from_cash() {
        assert_eq!(quote_prepaid_card(yuan(0), yuan(1000)), Err(PrepaidCardError::BelowMinimum(yuan(0))));
        assert_eq!(quote_prepaid_card(Amount::from_fen(9_999), yuan(1000)), Err(PrepaidCardError::BelowMinimum(Amount::from_fen(9_999))));
        assert_eq!(quote_prepaid_card(yuan(150), yuan(1000)), Err(PrepaidCardError::NotMultipleOf100(yuan(150))));
        assert_eq!(quote_prepaid_card(Amount::from_fen(10_001), yuan(1000)), Err(PrepaidCardError::NotMultipleOf100(Amount::from_fen(10_001))));
        assert_eq!(
            quote_prepaid_card(yuan(200), yuan(199)),
            Err(PrepaidCardError::InsufficientCash { needed: yuan(200), available: yuan(199) })
        );
        let quote = quote_prepaid_card(yuan(10_000), yuan(10_050)).unwrap();
        assert_eq!(quote, PrepaidCardQuote { denomination: yuan(10_000), gift_discount_voucher: Some(yuan(1_000)), cash_after: yuan(50) });
    }

    #[test]
    fn a_card_is_valid_for_the_configured_days_from_purchase() {
        let bought = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        let (from, until) = prepaid_card_validity(bought, DEFAULT_PREPAID_CARD_VALIDITY_DAYS);
        assert_eq!(from, bought);
        assert_eq!(until, Utc.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap());
    }
}
