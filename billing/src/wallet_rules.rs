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
    TopUpSplit {
        to_arrears,
        to_cash: amount.saturating_sub(to_arrears),
    }
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

/// The largest face value one voucher may carry, issued or behind an activation code.
pub const MAX_VOUCHER_FACE_VALUE_YUAN: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a voucher's face value must be 0.01 to {max} (asked {asked})")]
pub struct VoucherFaceValueError {
    pub asked: Amount,
    pub max: Amount,
}

/// Checks the face value an operator asks for a voucher or a batch of activation codes.
pub fn check_voucher_face_value(face_value: Amount) -> Result<Amount, VoucherFaceValueError> {
    let max = Amount::from_yuan(MAX_VOUCHER_FACE_VALUE_YUAN);
    if face_value.is_zero() || face_value > max {
        return Err(VoucherFaceValueError {
            asked: face_value,
            max,
        });
    }
    Ok(face_value)
}

/// One charge per billing item is the norm; this bounds a malformed bill.
pub const MAX_CHARGES_PER_BILL: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BillChargesError {
    #[error("a bill has 1 to {max} charges (got {got})")]
    Count { got: usize, max: usize },
    /// One day of one billing item beyond [`crate::pricing::MAX_LINE_YUAN`] is a metering fault,
    /// not usage (the same bound usage ingest and pricing apply).
    #[error("charge {line} is {asked}, above the {max} a bill line may charge")]
    TooLarge {
        line: usize,
        asked: Amount,
        max: Amount,
    },
}

/// Checks the charges of one bill (lines numbered from 1): how many, and none above what a bill
/// line may charge.
pub fn check_bill_charges(charges: &[Amount]) -> Result<(), BillChargesError> {
    if charges.is_empty() || charges.len() > MAX_CHARGES_PER_BILL {
        return Err(BillChargesError::Count {
            got: charges.len(),
            max: MAX_CHARGES_PER_BILL,
        });
    }
    let max = crate::pricing::max_line_amount();
    match charges.iter().position(|&charge| charge > max) {
        Some(index) => Err(BillChargesError::TooLarge {
            line: index + 1,
            asked: charges[index],
            max,
        }),
        None => Ok(()),
    }
}

/// Prepaid card denominations are multiples of this many yuan, and at least this many.
pub const PREPAID_CARD_STEP_YUAN: i64 = 100;
/// The largest single card, bought or assigned (the same ceiling as a single top-up).
pub const MAX_PREPAID_CARD_YUAN: i64 = 1_000_000;
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
    #[error("a prepaid card's denomination may not exceed 1000000.00 (asked {0})")]
    AboveMaximum(Amount),
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
pub fn quote_prepaid_card(
    denomination: Amount,
    cash: Amount,
) -> Result<PrepaidCardQuote, PrepaidCardError> {
    if denomination < Amount::from_yuan(PREPAID_CARD_STEP_YUAN) {
        return Err(PrepaidCardError::BelowMinimum(denomination));
    }
    if !denomination.is_multiple_of_yuan(PREPAID_CARD_STEP_YUAN) {
        return Err(PrepaidCardError::NotMultipleOf100(denomination));
    }
    if denomination > Amount::from_yuan(MAX_PREPAID_CARD_YUAN) {
        return Err(PrepaidCardError::AboveMaximum(denomination));
    }
    let cash_after = cash
        .checked_sub(denomination)
        .ok_or(PrepaidCardError::InsufficientCash {
            needed: denomination,
            available: cash,
        })?;
    Ok(PrepaidCardQuote {
        denomination,
        gift_discount_voucher: gift_discount_voucher(denomination),
        cash_after,
    })
}

/// The validity window `[purchased_at, purchased_at + days)` of a card and of its gift voucher.
pub fn prepaid_card_validity(
    purchased_at: DateTime<Utc>,
    days: i64,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (purchased_at, purchased_at + Duration::days(days))
}

/// How long a regular voucher is valid (PRODUCT.md §2): either a number of days from activation,
/// or fixed dates that do not depend on when it is activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherValidity {
    DaysFromActivation(u32),
    Fixed {
        valid_from: DateTime<Utc>,
        valid_until: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherValidityError {
    #[error("a voucher must be valid for at least 1 day")]
    ZeroDays,
    #[error("a voucher valid for {0} days is more than the maximum of {MAX_VOUCHER_VALIDITY_DAYS}")]
    TooManyDays(u32),
    #[error("valid_until must be after valid_from")]
    EmptyWindow,
    #[error("a voucher's fixed window may last at most {MAX_VOUCHER_VALIDITY_DAYS} days")]
    WindowTooLong,
    #[error("this voucher expired at {0} and can no longer be activated")]
    AlreadyExpired(DateTime<Utc>),
}

/// Ten years: longer validity is almost certainly a typo in days.
pub const MAX_VOUCHER_VALIDITY_DAYS: u32 = 3_650;

impl VoucherValidity {
    /// Checks the validity an operator asks for when issuing vouchers or activation codes.
    pub fn check(self) -> Result<VoucherValidity, VoucherValidityError> {
        match self {
            VoucherValidity::DaysFromActivation(0) => Err(VoucherValidityError::ZeroDays),
            VoucherValidity::DaysFromActivation(d) if d > MAX_VOUCHER_VALIDITY_DAYS => {
                Err(VoucherValidityError::TooManyDays(d))
            }
            VoucherValidity::Fixed {
                valid_from,
                valid_until,
            } if valid_until <= valid_from => Err(VoucherValidityError::EmptyWindow),
            VoucherValidity::Fixed {
                valid_from,
                valid_until,
            } if valid_until - valid_from > Duration::days(MAX_VOUCHER_VALIDITY_DAYS.into()) => {
                Err(VoucherValidityError::WindowTooLong)
            }
            ok => Ok(ok),
        }
    }

    /// The window `[valid_from, valid_until)` of a voucher activated at `activated_at`. A voucher
    /// with fixed dates whose window has already ended cannot be activated.
    pub fn window(
        self,
        activated_at: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), VoucherValidityError> {
        match self.check()? {
            VoucherValidity::DaysFromActivation(days) => {
                Ok((activated_at, activated_at + Duration::days(days.into())))
            }
            VoucherValidity::Fixed { valid_until, .. } if valid_until <= activated_at => {
                Err(VoucherValidityError::AlreadyExpired(valid_until))
            }
            VoucherValidity::Fixed {
                valid_from,
                valid_until,
            } => Ok((valid_from, valid_until)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_voucher_face_value_is_one_fen_to_a_million() {
        let yuan = Amount::from_yuan;
        assert_eq!(
            check_voucher_face_value(Amount::from_fen(1)),
            Ok(Amount::from_fen(1))
        );
        assert_eq!(
            check_voucher_face_value(yuan(1_000_000)),
            Ok(yuan(1_000_000))
        );
        for refused in [Amount::ZERO, yuan(1_000_000) + Amount::from_fen(1)] {
            assert_eq!(
                check_voucher_face_value(refused),
                Err(VoucherFaceValueError {
                    asked: refused,
                    max: yuan(1_000_000)
                })
            );
        }
    }

    #[test]
    fn a_bill_has_one_to_a_thousand_charges_none_above_a_lines_limit() {
        let max = crate::pricing::max_line_amount();
        assert_eq!(
            check_bill_charges(&[]),
            Err(BillChargesError::Count { got: 0, max: 1_000 })
        );
        assert_eq!(
            check_bill_charges(&vec![Amount::from_fen(1); 1_001]),
            Err(BillChargesError::Count {
                got: 1_001,
                max: 1_000
            })
        );
        assert_eq!(
            check_bill_charges(&vec![Amount::from_fen(1); 1_000]),
            Ok(())
        );
        assert_eq!(check_bill_charges(&[Amount::ZERO, max]), Ok(()));
        assert_eq!(
            check_bill_charges(&[max, max + Amount::from_fen(1), max]),
            Err(BillChargesError::TooLarge {
                line: 2,
                asked: max + Amount::from_fen(1),
                max
            })
        );
    }

    use super::*;
    use chrono::TimeZone;

    fn yuan(y: i64) -> Amount {
        Amount::from_yuan(y)
    }

    #[test]
    fn a_top_up_pays_arrears_first_and_only_the_rest_becomes_cash() {
        assert_eq!(
            split_top_up(yuan(30), yuan(100)),
            TopUpSplit {
                to_arrears: yuan(30),
                to_cash: yuan(70)
            }
        );
        assert_eq!(
            split_top_up(yuan(300), yuan(100)),
            TopUpSplit {
                to_arrears: yuan(100),
                to_cash: Amount::ZERO
            }
        );
        assert_eq!(
            split_top_up(Amount::ZERO, yuan(5)),
            TopUpSplit {
                to_arrears: Amount::ZERO,
                to_cash: yuan(5)
            }
        );
    }

    #[test]
    fn top_up_amounts_must_be_between_a_fen_and_a_million() {
        assert_eq!(check_top_up_amount(Amount::ZERO), Err(TopUpError::TooSmall));
        assert!(check_top_up_amount(Amount::from_fen(1)).is_ok());
        assert!(check_top_up_amount(yuan(1_000_000)).is_ok());
        assert!(matches!(
            check_top_up_amount(Amount::from_fen(100_000_001)),
            Err(TopUpError::TooLarge(_))
        ));
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
        assert_eq!(
            quote_prepaid_card(yuan(0), yuan(1000)),
            Err(PrepaidCardError::BelowMinimum(yuan(0)))
        );
        assert_eq!(
            quote_prepaid_card(Amount::from_fen(9_999), yuan(1000)),
            Err(PrepaidCardError::BelowMinimum(Amount::from_fen(9_999)))
        );
        assert_eq!(
            quote_prepaid_card(yuan(150), yuan(1000)),
            Err(PrepaidCardError::NotMultipleOf100(yuan(150)))
        );
        assert_eq!(
            quote_prepaid_card(Amount::from_fen(10_001), yuan(1000)),
            Err(PrepaidCardError::NotMultipleOf100(Amount::from_fen(10_001)))
        );
        assert_eq!(
            quote_prepaid_card(yuan(1_000_100), yuan(2_000_000)),
            Err(PrepaidCardError::AboveMaximum(yuan(1_000_100)))
        );
        assert!(quote_prepaid_card(yuan(1_000_000), yuan(1_000_000)).is_ok());
        assert_eq!(
            quote_prepaid_card(yuan(200), yuan(199)),
            Err(PrepaidCardError::InsufficientCash {
                needed: yuan(200),
                available: yuan(199)
            })
        );
        let quote = quote_prepaid_card(yuan(10_000), yuan(10_050)).unwrap();
        assert_eq!(
            quote,
            PrepaidCardQuote {
                denomination: yuan(10_000),
                gift_discount_voucher: Some(yuan(1_000)),
                cash_after: yuan(50)
            }
        );
    }

    #[test]
    fn voucher_validity_is_days_from_activation_or_fixed_dates() {
        let activated = Utc.with_ymd_and_hms(2026, 3, 10, 9, 30, 0).unwrap();
        let (from, until) = VoucherValidity::DaysFromActivation(30)
            .window(activated)
            .unwrap();
        assert_eq!(
            (from, until),
            (
                activated,
                Utc.with_ymd_and_hms(2026, 4, 9, 9, 30, 0).unwrap()
            )
        );

        let fixed_from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let fixed_until = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        let fixed = VoucherValidity::Fixed {
            valid_from: fixed_from,
            valid_until: fixed_until,
        };
        assert_eq!(fixed.window(activated), Ok((fixed_from, fixed_until)));
        assert_eq!(
            fixed.window(fixed_until),
            Err(VoucherValidityError::AlreadyExpired(fixed_until))
        );
    }

    #[test]
    fn impossible_voucher_validities_are_refused() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            VoucherValidity::DaysFromActivation(0).check(),
            Err(VoucherValidityError::ZeroDays)
        );
        assert_eq!(
            VoucherValidity::DaysFromActivation(3_651).check(),
            Err(VoucherValidityError::TooManyDays(3_651))
        );
        assert!(VoucherValidity::DaysFromActivation(3_650).check().is_ok());
        let empty = VoucherValidity::Fixed {
            valid_from: t,
            valid_until: t,
        };
        assert_eq!(empty.check(), Err(VoucherValidityError::EmptyWindow));
        assert_eq!(empty.window(t), Err(VoucherValidityError::EmptyWindow));
        let endless = VoucherValidity::Fixed {
            valid_from: t,
            valid_until: t + Duration::days(3_651),
        };
        assert_eq!(endless.check(), Err(VoucherValidityError::WindowTooLong));
    }

    #[test]
    fn a_card_is_valid_for_the_configured_days_from_purchase() {
        let bought = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        let (from, until) = prepaid_card_validity(bought, DEFAULT_PREPAID_CARD_VALIDITY_DAYS);
        assert_eq!(from, bought);
        assert_eq!(until, Utc.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap());
    }
}
