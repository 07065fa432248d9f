//! The support center's rules (issue 18, seeds 000/001): what a ticket is about, the states it
//! moves through and who may move it where. Shared by the server (which enforces them) and the
//! pages (which offer only the actions allowed), so the two cannot disagree.
//!
//! ```text
//!            operator takes it          operator replies
//!   open ───────────────────▶ in_progress ─────────────▶ replied
//!    ▲  ╲                                                  │ │
//!    │   ╲── customer withdraws (open, in progress) ──▶ withdrawn
//!    │                                                     │ │
//!    └──────────── customer replies ◀──────────────────────┘ │
//!   customer closes (any open state), or 7 days after a reply ─▶ closed ── rated 1 to 5, once
//! ```

use serde::{Deserialize, Serialize};

/// A replied ticket the customer does not answer within this many days closes itself.
pub const AUTO_CLOSE_AFTER_DAYS: i64 = 7;
/// Attachments per message, and bytes per attachment.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 5;
pub const MAX_ATTACHMENT_BYTES: usize = 8 * 1024 * 1024;
/// Characters of a title and of a message.
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_MESSAGE_CHARS: usize = 5_000;

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    Billing,
    Payment,
    Invoice,
    Account,
    CancelAccount,
    Other,
}

impl TicketType {
    pub const ALL: [TicketType; 6] = [
        TicketType::Billing,
        TicketType::Payment,
        TicketType::Invoice,
        TicketType::Account,
        TicketType::CancelAccount,
        TicketType::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TicketType::Billing => "billing",
            TicketType::Payment => "payment",
            TicketType::Invoice => "invoice",
            TicketType::Account => "account",
            TicketType::CancelAccount => "cancel_account",
            TicketType::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<TicketType> {
        TicketType::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Waiting for an operator (new, or the customer answered).
    Open,
    /// An operator has taken it.
    InProgress,
    /// An operator answered; waiting for the customer.
    Replied,
    Closed,
    Withdrawn,
}

/// Something done to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketAction {
    CustomerReplies,
    OperatorTakes,
    OperatorReplies,
    CustomerWithdraws,
    CustomerCloses,
    /// A replied ticket left unanswered for [`AUTO_CLOSE_AFTER_DAYS`].
    AutoClose,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} ticket cannot be {}", .state.code(), .action.done())]
pub struct TicketTransitionError {
    pub state: TicketState,
    pub action: TicketAction,
}

impl TicketAction {
    fn done(self) -> &'static str {
        match self {
            TicketAction::CustomerReplies | TicketAction::OperatorReplies => "replied to",
            TicketAction::OperatorTakes => "taken",
            TicketAction::CustomerWithdraws => "withdrawn",
            TicketAction::CustomerCloses | TicketAction::AutoClose => "closed",
        }
    }
}

impl TicketState {
    pub const ALL: [TicketState; 5] = [
        TicketState::Open,
        TicketState::InProgress,
        TicketState::Replied,
        TicketState::Closed,
        TicketState::Withdrawn,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::InProgress => "in_progress",
            TicketState::Replied => "replied",
            TicketState::Closed => "closed",
            TicketState::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(code: &str) -> Option<TicketState> {
        TicketState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Closed and withdrawn tickets take nothing more (but a closed one may be rated).
    pub fn is_final(self) -> bool {
        matches!(self, TicketState::Closed | TicketState::Withdrawn)
    }

    /// The state after `action`, or why it is refused.
    pub fn after(self, action: TicketAction) -> Result<TicketState, TicketTransitionError> {
        use TicketAction::*;
        use TicketState::*;
        let next = match (self, action) {
            (Open | InProgress | Replied, CustomerReplies) => Open,
            (Open, OperatorTakes) => InProgress,
            (Open | InProgress | Replied, OperatorReplies) => Replied,
            (Open | InProgress, CustomerWithdraws) => Withdrawn,
            (Open | InProgress | Replied, CustomerCloses) => Closed,
            (Replied, AutoClose) => Closed,
            _ => {
                return Err(TicketTransitionError {
                    state: self,
                    action,
                });
            }
        };
        Ok(next)
    }

    /// Only a closed ticket is rated (once; the server keeps the first).
    pub fn may_rate(self) -> bool {
        self == TicketState::Closed
    }
}

/// A rating of how a closed ticket was handled: 1 to 5.
pub fn check_rating(rating: i64) -> Option<u8> {
    u8::try_from(rating).ok().filter(|r| (1..=5).contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketAction::*;
    use TicketState::*;

    #[test]
    fn codes_round_trip() {
        for state in TicketState::ALL {
            assert_eq!(TicketState::from_code(state.code()), Some(state));
        }
        for kind in TicketType::ALL {
            assert_eq!(TicketType::from_code(kind.code()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.code())
            );
        }
        assert_eq!(TicketState::from_code("deleted"), None);
    }

    #[test]
    fn a_ticket_moves_as_the_product_says() {
        assert_eq!(Open.after(OperatorTakes), Ok(InProgress));
        assert_eq!(InProgress.after(OperatorReplies), Ok(Replied));
        assert_eq!(Replied.after(CustomerReplies), Ok(Open));
        assert_eq!(Open.after(OperatorReplies), Ok(Replied));
        assert_eq!(Replied.after(AutoClose), Ok(Closed));
        assert_eq!(Replied.after(CustomerCloses), Ok(Closed));
        assert_eq!(InProgress.after(CustomerWithdraws), Ok(Withdrawn));
    }

    #[test]
    fn final_states_take_nothing() {
        for state in [Closed, Withdrawn] {
            for action in [
                CustomerReplies,
                OperatorTakes,
                OperatorReplies,
                CustomerWithdraws,
                CustomerCloses,
                AutoClose,
            ] {
                let refused = state.after(action).unwrap_err();
                assert_eq!((refused.state, refused.action), (state, action));
            }
        }
        assert_eq!(
            Closed.after(OperatorReplies).unwrap_err().to_string(),
            "a closed ticket cannot be replied to"
        );
    }

    #[test]
    fn an_answered_ticket_is_closed_not_withdrawn_and_only_replied_ones_close_themselves() {
        assert!(Replied.after(CustomerWithdraws).is_err());
        assert!(Open.after(AutoClose).is_err());
        assert!(InProgress.after(AutoClose).is_err());
        assert!(InProgress.after(OperatorTakes).is_err());
    }

    #[test]
    fn ratings_are_one_to_five_on_closed_tickets() {
        assert_eq!(check_rating(1), Some(1));
        assert_eq!(check_rating(5), Some(5));
        assert_eq!(check_rating(0), None);
        assert_eq!(check_rating(6), None);
        assert_eq!(check_rating(-1), None);
        assert!(Closed.may_rate());
        assert!(!Withdrawn.may_rate());
        assert!(!Replied.may_rate());
    }
}
