//! Wallet instruments and the wallet. PRODUCT.md §2.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Amount;

/// The kinds of instrument that pay a bill before cash, in waterfall order (PRODUCT.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    RegularVoucher,
    DiscountVoucher,
    PrepaidCard,
}

impl InstrumentKind {
    pub const ALL: [InstrumentKind; 3] = [
        InstrumentKind::RegularVoucher,
        InstrumentKind::DiscountVoucher,
        InstrumentKind::PrepaidCard,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InstrumentKind::RegularVoucher => "regular_voucher",
            InstrumentKind::DiscountVoucher => "discount_voucher",
            InstrumentKind::PrepaidCard => "prepaid_card",
        }
    }

    /// Vouchers (regular and discount) never pay restricted items (PRODUCT.md §3).
    pub fn is_voucher(self) -> bool {
        matches!(
            self,
            InstrumentKind::RegularVoucher | InstrumentKind::DiscountVoucher
        )
    }
}

impl fmt::Display for InstrumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A voucher or prepaid card with its remaining balance and validity window
/// `[valid_from, valid_until)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    pub id: String,
    pub kind: InstrumentKind,
    pub balance: Amount,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
}

/// What a customer sees of a voucher or card (PRODUCT.md §2). `void` (cancelled by an operator)
/// arrives with operator voucher management.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentStatus {
    /// Its window has not started yet.
    Unused,
    Active,
    UsedUp,
    Expired,
}

impl InstrumentStatus {
    /// Expired wins over used up: after its window an instrument is expired whatever is left.
    pub fn of(
        balance: Amount,
        valid_from: DateTime<Utc>,
        valid_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> InstrumentStatus {
        if at >= valid_until {
            InstrumentStatus::Expired
        } else if balance.is_zero() {
            InstrumentStatus::UsedUp
        } else if at < valid_from {
            InstrumentStatus::Unused
        } else {
            InstrumentStatus::Active
        }
    }
}

impl Instrument {
    /// PRODUCT.md §2: outside `[valid_from, valid_until)` an instrument is not usable.
    pub fn is_usable_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_from <= at && at < self.valid_until
    }

    /// PRODUCT.md §3: within one kind, the one that expires first is used first; ties by earlier
    /// activation, then by id. Across kinds: regular vouchers, discount vouchers, prepaid cards.
    pub fn waterfall_key(&self) -> (InstrumentKind, DateTime<Utc>, DateTime<Utc>, &str) {
        (self.kind, self.valid_until, self.activated_at, &self.id)
    }
}

/// Source names that the plan uses for non-instrument sources; instruments may not take them.
pub const RESERVED_SOURCE_IDS: [&str; 3] = ["cash", "arrears", "cloud"];

/// A billing account's money: cash, arrears and instruments. Cash and arrears are never both
/// above zero (PRODUCT.md §2), instrument ids are unique and windows are not empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wallet {
    cash: Amount,
    arrears: Amount,
    instruments: Vec<Instrument>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("cash ({cash}) and arrears ({arrears}) cannot both be above zero")]
    CashAndArrears { cash: Amount, arrears: Amount },
    #[error("instrument id '{0}' appears more than once")]
    DuplicateInstrument(String),
    #[error("instrument id '{0}' is reserved for a payment source; choose another id")]
    ReservedInstrumentId(String),
    #[error("instrument id must not be empty")]
    EmptyInstrumentId,
    #[error("instrument '{0}': valid_until must be after valid_from")]
    EmptyValidity(String),
}

impl Wallet {
    pub fn new(
        cash: Amount,
        arrears: Amount,
        instruments: Vec<Instrument>,
    ) -> Result<Wallet, WalletError> {
        if !cash.is_zero() && !arrears.is_zero() {
            return Err(WalletError::CashAndArrears { cash, arrears });
        }
        let mut seen = HashSet::new();
        for instrument in &instruments {
            if instrument.id.is_empty() {
                return Err(WalletError::EmptyInstrumentId);
            }
            if RESERVED_SOURCE_IDS.contains(&instrument.id.as_str()) {
                return Err(WalletError::ReservedInstrumentId(instrument.id.clone()));
            }
            if !seen.insert(instrument.id.as_str()) {
                return Err(WalletError::DuplicateInstrument(instrument.id.clone()));
            }
            if instrument.valid_until <= instrument.valid_from {
                return Err(WalletError::EmptyValidity(instrument.id.clone()));
            }
        }
        Ok(Wallet {
            cash,
            arrears,
            instruments,
        })
    }

    pub fn cash(&self) -> Amount {
        self.cash
    }

    pub fn arrears(&self) -> Amount {
        self.arrears
    }

    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// The cash balance as customers see it: negative by the arrears when in arrears
    /// (PRODUCT.md §2: "Arrears … shown as a negative balance").
    pub fn net_cash_balance(&self) -> rust_decimal::Decimal {
        self.cash.as_decimal() - self.arrears.as_decimal()
    }

    /// The sum of balances of the instruments of `kind` usable at `at`.
    pub fn usable_balance(&self, kind: InstrumentKind, at: DateTime<Utc>) -> Amount {
        self.instruments
            .iter()
            .filter(|i| i.kind == kind && i.is_usable_at(at))
            .map(|i| i.balance)
            .sum()
    }

    /// Used by the waterfall to build the wallet after a plan; keeps the invariants because the
    /// waterfall only lowers balances and only adds arrears once cash is exhausted.
    pub(crate) fn with_balances(
        &self,
        cash: Amount,
        arrears: Amount,
        balances: &[Amount],
    ) -> Wallet {
        debug_assert!(cash.is_zero() || arrears.is_zero());
        let instruments = self
            .instruments
            .iter()
            .zip(balances)
            .map(|(i, balance)| Instrument {
                balance: *balance,
                ..i.clone()
            })
            .collect();
        Wallet {
            cash,
            arrears,
            instruments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    fn voucher(id: &str) -> Instrument {
        Instrument {
            id: id.into(),
            kind: InstrumentKind::RegularVoucher,
            balance: Amount::from_yuan(10),
            valid_from: t(1),
            valid_until: t(10),
            activated_at: t(1),
        }
    }

    #[test]
    fn status_follows_the_window_then_the_balance() {
        let (from, until) = (t(2), t(10));
        assert_eq!(
            InstrumentStatus::of(Amount::from_yuan(1), from, until, t(1)),
            InstrumentStatus::Unused
        );
        assert_eq!(
            InstrumentStatus::of(Amount::from_yuan(1), from, until, t(2)),
            InstrumentStatus::Active
        );
        assert_eq!(
            InstrumentStatus::of(Amount::ZERO, from, until, t(5)),
            InstrumentStatus::UsedUp
        );
        assert_eq!(
            InstrumentStatus::of(Amount::from_yuan(1), from, until, t(10)),
            InstrumentStatus::Expired
        );
        assert_eq!(
            InstrumentStatus::of(Amount::ZERO, from, until, t(11)),
            InstrumentStatus::Expired
        );
    }

    #[test]
    fn validity_window_includes_start_and_excludes_end() {
        let v = voucher("v");
        assert!(!v.is_usable_at(t(1) - chrono::Duration::seconds(1)));
        assert!(v.is_usable_at(t(1)));
        assert!(v.is_usable_at(t(10) - chrono::Duration::seconds(1)));
        assert!(!v.is_usable_at(t(10)));
    }

    #[test]
    fn a_wallet_refuses_cash_and_arrears_together() {
        let err = Wallet::new(Amount::from_yuan(1), Amount::from_yuan(1), vec![]).unwrap_err();
        assert!(matches!(err, WalletError::CashAndArrears { .. }));
        assert!(Wallet::new(Amount::from_yuan(1), Amount::ZERO, vec![]).is_ok());
        assert!(Wallet::new(Amount::ZERO, Amount::from_yuan(1), vec![]).is_ok());
    }

    #[test]
    fn a_wallet_refuses_duplicate_reserved_empty_ids_and_empty_windows() {
        let dup = Wallet::new(Amount::ZERO, Amount::ZERO, vec![voucher("a"), voucher("a")]);
        assert_eq!(
            dup.unwrap_err(),
            WalletError::DuplicateInstrument("a".into())
        );
        let reserved = Wallet::new(Amount::ZERO, Amount::ZERO, vec![voucher("cash")]);
        assert_eq!(
            reserved.unwrap_err(),
            WalletError::ReservedInstrumentId("cash".into())
        );
        let empty = Wallet::new(Amount::ZERO, Amount::ZERO, vec![voucher("")]);
        assert_eq!(empty.unwrap_err(), WalletError::EmptyInstrumentId);
        let mut backwards = voucher("b");
        backwards.valid_until = backwards.valid_from;
        let err = Wallet::new(Amount::ZERO, Amount::ZERO, vec![backwards]).unwrap_err();
        assert_eq!(err, WalletError::EmptyValidity("b".into()));
    }

    #[test]
    fn arrears_show_as_a_negative_cash_balance() {
        let in_arrears = Wallet::new(Amount::ZERO, Amount::from_fen(1_250), vec![]).unwrap();
        assert_eq!(in_arrears.net_cash_balance().to_string(), "-12.50");
        let in_credit = Wallet::new(Amount::from_fen(300), Amount::ZERO, vec![]).unwrap();
        assert_eq!(in_credit.net_cash_balance().to_string(), "3.00");
    }

    #[test]
    fn usable_balance_counts_only_instruments_in_their_window() {
        let mut expired = voucher("old");
        expired.valid_until = t(2);
        let wallet = Wallet::new(Amount::ZERO, Amount::ZERO, vec![voucher("a"), expired]).unwrap();
        assert_eq!(
            wallet.usable_balance(InstrumentKind::RegularVoucher, t(5)),
            Amount::from_yuan(10)
        );
        assert_eq!(
            wallet.usable_balance(InstrumentKind::RegularVoucher, t(1)),
            Amount::from_yuan(20)
        );
        assert_eq!(
            wallet.usable_balance(InstrumentKind::PrepaidCard, t(5)),
            Amount::ZERO
        );
    }
}
