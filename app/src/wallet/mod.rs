//! The wallet: top up (Alipay or bank transfer), activate a voucher, buy a prepaid card, and the
//! lists of top-ups, vouchers and cards. Data comes from server functions (`data::load_wallet`,
//! `top_up::load_top_up`) and every form is an `ActionForm` on one (`actions`), so the page works
//! with and without WebAssembly. The prepaid-card form previews its outcome in the browser with
//! `billing`, the same code the server charges with.

pub mod actions;
mod card_preview;
pub(crate) mod data;
pub(crate) mod page;
mod top_up;

pub use card_preview::CardPurchaseForm;
pub use data::{BankPayeeDetails, InstrumentRow, TopUpRow, WalletData, load_wallet};
pub use page::WalletPage;
pub use top_up::{TopUpPage, load_top_up};
