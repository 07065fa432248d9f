//! The shared billing core of Billing Center. Every rule about money is written here once and
//! called from the browser (preview), the server (authoritative charge) and the CLI. Pure: no IO,
//! no async, no clock; builds for wasm32 and native. Rules are those of `shared/PRODUCT.md`.

pub mod alerts;
pub mod day;
pub mod enterprise;
pub mod instrument;
pub mod item;
pub mod money;
pub mod plan_json;
pub mod pricing;
pub mod support;
pub mod wallet_rules;
pub mod waterfall;
pub mod wire;

pub use instrument::{Instrument, InstrumentKind, InstrumentStatus, Wallet, WalletError};
pub use item::BillingItem;
pub use money::{Amount, AmountError, format_cny};
pub use pricing::{PriceCatalog, PriceList, PricedUsage, PricingError};
pub use waterfall::{
    Charge, DeductionPlan, Payment, PaymentSource, PlanLine, Settlement, Totals, plan,
};
