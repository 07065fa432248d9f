//! The wallet: top up (Alipay or bank transfer), activate a voucher, buy a prepaid card, and the
//! lists of top-ups, vouchers and cards. Data is read on the server; every form is a plain HTML
//! form posting to `server::forms`, so the page works without WebAssembly. The prepaid-card form
//! previews its outcome in the browser with `billing`, the same code the server charges with.

mod card_preview;
pub(crate) mod data;
pub(crate) mod page;
mod top_up;

pub use card_preview::CardPurchaseForm;
pub use data::{BankPayeeDetails, InstrumentRow, TopUpRow, WalletData};
pub use page::WalletPage;
pub use top_up::TopUpPage;
