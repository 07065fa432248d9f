//! The deduction preview (/preview): a wallet and a bill in, the waterfall's plan out, computed by
//! `billing::plan` in the browser as the user types, and by the server when the form is submitted
//! without JavaScript. A preview never changes anything, so the form is a GET.

pub mod form;
pub(crate) mod page;

pub use page::PreviewPage;
