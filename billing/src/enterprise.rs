//! Enterprise (real-name) verification rules (PRODUCT.md §1): the unified social credit code of
//! GB 32100-2015 (18 characters from `0-9A-HJ-NPQRTUWXY`; the 18th is a check character over the
//! first 17 with weights 3^i mod 31), and the states a verification goes through.

use serde::{Deserialize, Serialize};

/// The 31 characters a credit code is written with (no I, O, Z, S, V), in value order.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// The weight of positions 1 to 17: 3^(i-1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a credit code is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters")]
    Length,
    #[error("character {0} is not one a credit code uses (digits and A-Y without I, O, S, V, Z)")]
    Character(usize),
    #[error("the check character (the 18th) does not match the first 17")]
    CheckCharacter,
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|v| v as u32)
}

/// The check character of the first 17 characters of a code.
pub fn check_character(first_17: &[u8]) -> Option<char> {
    if first_17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first_17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// A unified social credit code, checked: upper-case, 18 characters, the right check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Reads a code as people type it (surrounding spaces and lower case are forgiven).
    pub fn parse(text: &str) -> Result<CreditCode, CreditCodeError> {
        let code = text.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        if code.chars().count() != 18 || bytes.len() != 18 {
            return Err(CreditCodeError::Length);
        }
        if let Some(bad) = bytes.iter().position(|&c| value(c).is_none()) {
            return Err(CreditCodeError::Character(bad + 1));
        }
        if check_character(&bytes[..17]) != Some(bytes[17] as char) {
            return Err(CreditCodeError::CheckCharacter);
        }
        Ok(CreditCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&text)
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> String {
        code.0
    }
}

/// Where an account's verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationState {
    Unverified,
    PendingReview,
    Verified,
    Rejected,
    /// The customer took the submission back before it was decided.
    Withdrawn,
}

impl VerificationState {
    pub fn code(self) -> &'static str {
        match self {
            VerificationState::Unverified => "unverified",
            VerificationState::PendingReview => "pending_review",
            VerificationState::Verified => "verified",
            VerificationState::Rejected => "rejected",
            VerificationState::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(code: &str) -> Option<VerificationState> {
        Some(match code {
            "unverified" => VerificationState::Unverified,
            "pending_review" => VerificationState::PendingReview,
            "verified" => VerificationState::Verified,
            "rejected" => VerificationState::Rejected,
            "withdrawn" => VerificationState::Withdrawn,
            _ => return None,
        })
    }

    /// A customer may submit from any state but pending review: a first submission, a rejected
    /// one again, or a change to a verified one (which is a new review).
    pub fn may_submit(self) -> bool {
        self != VerificationState::PendingReview
    }

    /// An operator decides only what waits for review (never a withdrawn submission).
    pub fn may_review(self) -> bool {
        self == VerificationState::PendingReview
    }

    /// The customer takes back only what waits for review.
    pub fn may_withdraw(self) -> bool {
        self == VerificationState::PendingReview
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withdrawn_submission_is_never_decided_and_may_be_submitted_again() {
        use VerificationState::*;
        assert!(!Withdrawn.may_review());
        assert!(Withdrawn.may_submit());
        assert!(PendingReview.may_withdraw());
        for state in [Unverified, Verified, Rejected, Withdrawn] {
            assert!(!state.may_withdraw(), "{state:?}");
            assert_eq!(VerificationState::from_code(state.code()), Some(state));
        }
    }

    #[test]
    fn real_codes_are_valid() {
        // Published codes of well-known companies.
        for code in [
            "91330100716105852F",
            "9144030071526726XG",
            "914403001922038216",
            "91110000600037341L",
            "91110108551385082Q",
        ] {
            assert_eq!(
                CreditCode::parse(code).map(String::from),
                Ok(code.to_owned())
            );
        }
        assert_eq!(
            CreditCode::parse(" 9144030071526726xg ").unwrap().as_str(),
            "9144030071526726XG"
        );
    }

    #[test]
    fn bad_codes_say_why() {
        assert_eq!(
            CreditCode::parse("9144030071526726X"),
            Err(CreditCodeError::Length)
        );
        assert_eq!(
            CreditCode::parse("9144030071526726XGG"),
            Err(CreditCodeError::Length)
        );
        assert_eq!(
            CreditCode::parse("91440300715267O6XG"),
            Err(CreditCodeError::Character(15))
        );
        assert_eq!(
            CreditCode::parse("9144030071526726XH"),
            Err(CreditCodeError::CheckCharacter)
        );
        assert_eq!(
            CreditCode::parse("91440300７1526726XG"),
            Err(CreditCodeError::Length)
        );
    }

    #[test]
    fn the_states_allow_what_the_product_says() {
        use VerificationState::*;
        assert!(Unverified.may_submit() && Rejected.may_submit() && Verified.may_submit());
        assert!(!PendingReview.may_submit());
        assert!(PendingReview.may_review());
        assert!(!Verified.may_review() && !Rejected.may_review() && !Unverified.may_review());
    }

    proptest::proptest! {
        /// Weights 3^i mod 31 are never 0 mod 31: any one character changed is caught.
        #[test]
        fn one_character_changed_is_caught(position in 0usize..18, replacement in 0usize..31) {
            let code = b"91330100716105852F";
            let mut changed = *code;
            changed[position] = ALPHABET[replacement];
            proptest::prop_assume!(changed != *code);
            let text = String::from_utf8(changed.to_vec()).unwrap();
            proptest::prop_assert!(CreditCode::parse(&text).is_err());
        }
    }
}
