//! The `billing-center` server: configuration, the axum router and the CLI. `main.rs` only wires
//! these together; tests drive [`router::app`] directly with `tower::ServiceExt::oneshot`.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo_console;
pub mod downloads;
pub mod language;
pub mod marketplace;
pub mod marketplace_sandbox;
pub mod metrics;
pub mod payments;
pub mod reconciliation;
pub mod router;
pub mod security_headers;
pub mod settlement;
