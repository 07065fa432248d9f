//! Everything the server does with data. Today: the ledger store, where every movement of money is
//! a balanced set of postings written in the same database transaction as the balances it changes,
//! on SQLite (default) or PostgreSQL. The money rules themselves live in the `billing` crate.

pub mod accounts;
pub mod attachments;
pub mod auth;
pub mod bench;
pub mod bills;
pub mod cash;
pub mod change_binding;
pub mod check;
pub mod clock;
pub mod cloud;
pub mod console;
pub mod csv;
pub mod demo;
pub mod enterprise;
pub mod error;
pub mod expiry;
pub mod html;
mod idempotency;
mod ledger;
pub mod mail;
pub mod movements;
pub mod ops_accounts;
pub mod panel;
pub mod payments;
pub mod prepaid_cards;
pub mod prices;
pub mod problem;
pub mod reconciliation;
pub mod settlement;
mod sql;
pub mod statements;
pub mod store;
pub mod support;
mod time;
pub mod topups;
pub mod usage;
pub mod vouchers;
pub mod work_queue;
pub mod workspaces;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LedgerError;
pub use idempotency::IdempotencyKey;
pub use ledger::{CustomerBalance, LedgerAccount};
pub use store::{Backend, Store, StoreError};
