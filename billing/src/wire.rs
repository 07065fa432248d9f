//! The kinds and states the server and the browser both name: how a top-up is paid and where it
//! stands, how an instrument came to the account. Shared so pages match on them instead of
//! comparing strings; each has the stable snake_case code the API and the database use.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpMethod {
    Alipay,
    BankTransfer,
}

impl TopUpMethod {
    pub const ALL: [TopUpMethod; 2] = [TopUpMethod::Alipay, TopUpMethod::BankTransfer];

    pub fn code(self) -> &'static str {
        match self {
            TopUpMethod::Alipay => "alipay",
            TopUpMethod::BankTransfer => "bank_transfer",
        }
    }

    pub fn from_code(code: &str) -> Option<TopUpMethod> {
        TopUpMethod::ALL.into_iter().find(|m| m.code() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpStatus {
    Pending,
    Paid,
    /// An online top-up nobody paid within a day (reconciliation closes it); a payment that still
    /// arrives for it is credited all the same.
    Closed,
}

/// How an instrument came to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentOrigin {
    /// A regular voucher an operator issued straight to the account.
    Issued,
    /// A regular voucher redeemed from a one-time activation code.
    ActivationCode,
    /// The discount voucher that came with a prepaid card purchase.
    CardGift,
    /// A prepaid card bought with cash.
    Purchased,
    /// A prepaid card an operator or partner assigned without payment.
    Assigned,
}

impl InstrumentOrigin {
    pub const ALL: [InstrumentOrigin; 5] = [
        InstrumentOrigin::Issued,
        InstrumentOrigin::ActivationCode,
        InstrumentOrigin::CardGift,
        InstrumentOrigin::Purchased,
        InstrumentOrigin::Assigned,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InstrumentOrigin::Issued => "issued",
            InstrumentOrigin::ActivationCode => "activation_code",
            InstrumentOrigin::CardGift => "card_gift",
            InstrumentOrigin::Purchased => "purchased",
            InstrumentOrigin::Assigned => "assigned",
        }
    }

    pub fn from_code(code: &str) -> Option<InstrumentOrigin> {
        InstrumentOrigin::ALL.into_iter().find(|o| o.code() == code)
    }
}

/// What a movement of money is (a ledger transaction's kind, as stored and as the API names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    CashCredit,
    VoucherIssue,
    VoucherActivation,
    PrepaidCardPurchase,
    PrepaidCardAssignment,
    BillCharge,
    Expiry,
}

impl MovementKind {
    pub const ALL: [MovementKind; 7] = [
        MovementKind::CashCredit,
        MovementKind::VoucherIssue,
        MovementKind::VoucherActivation,
        MovementKind::PrepaidCardPurchase,
        MovementKind::PrepaidCardAssignment,
        MovementKind::BillCharge,
        MovementKind::Expiry,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MovementKind::CashCredit => "cash_credit",
            MovementKind::VoucherIssue => "voucher_issue",
            MovementKind::VoucherActivation => "voucher_activation",
            MovementKind::PrepaidCardPurchase => "prepaid_card_purchase",
            MovementKind::PrepaidCardAssignment => "prepaid_card_assignment",
            MovementKind::BillCharge => "bill_charge",
            MovementKind::Expiry => "expiry",
        }
    }

    pub fn from_code(code: &str) -> Option<MovementKind> {
        MovementKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_what_serde_writes_and_read_back() {
        for method in TopUpMethod::ALL {
            assert_eq!(serde_json::to_value(method).unwrap(), method.code());
            assert_eq!(TopUpMethod::from_code(method.code()), Some(method));
        }
        for origin in InstrumentOrigin::ALL {
            assert_eq!(serde_json::to_value(origin).unwrap(), origin.code());
            assert_eq!(InstrumentOrigin::from_code(origin.code()), Some(origin));
        }
        for kind in MovementKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
            assert_eq!(MovementKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(TopUpMethod::from_code("cash"), None);
        assert_eq!(serde_json::to_value(TopUpStatus::Closed).unwrap(), "closed");
    }
}
