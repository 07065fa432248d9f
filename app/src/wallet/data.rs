//! What the wallet pages show, loaded on the server for the signed-in customer.

use billing::wire::{InstrumentOrigin, TopUpMethod, TopUpStatus};
use billing::{Amount, InstrumentKind, InstrumentStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpRow {
    pub id: i64,
    pub created_at: String,
    pub method: TopUpMethod,
    pub amount: String,
    pub reference: String,
    pub status: TopUpStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentRow {
    pub number: String,
    pub kind: InstrumentKind,
    pub origin: InstrumentOrigin,
    pub face_value: String,
    pub balance: String,
    pub status: InstrumentStatus,
    pub activated_at: String,
    pub valid_from: String,
    pub valid_until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletData {
    pub csrf_token: String,
    /// The idempotency key of this render's money forms (hidden `idempotency_key` field): a form
    /// posted twice (a double click, a resent request) replays the first answer.
    pub form_token: String,

    /// Cash usable for a card purchase (the preview's input).
    pub cash: Amount,
    pub net_cash: String,
    pub vouchers_total: String,
    pub cards_total: String,
    /// The /preview query of a form filled with this wallet (`PreviewForm::from_wallet`).
    pub preview_query: String,
    pub top_ups: Vec<TopUpRow>,
    pub vouchers: Vec<InstrumentRow>,
    pub cards: Vec<InstrumentRow>,
}

/// Where customers send bank transfers; the server provides it in the page context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankPayeeDetails {
    pub name: String,
    pub bank: String,
    pub account: String,
}

/// A moment as the customer reads it: in the settlement timezone (days end and are charged at
/// 00:00 there), with its offset named, so 00:00 in Shanghai never reads as 16:00 the day before.
#[cfg(feature = "ssr")]
pub(crate) fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    format_in_settlement_zone(at, "%Y-%m-%d %H:%M UTC%:z")
}

/// As [`when`], to the second (the audit log).
#[cfg(feature = "ssr")]
pub(crate) fn when_exactly(at: chrono::DateTime<chrono::Utc>) -> String {
    format_in_settlement_zone(at, "%Y-%m-%d %H:%M:%S UTC%:z")
}

#[cfg(feature = "ssr")]
fn format_in_settlement_zone(at: chrono::DateTime<chrono::Utc>, format: &str) -> String {
    let zone = leptos::prelude::use_context::<backend::Store>()
        .map(|store| store.settlement_timezone())
        .unwrap_or(backend::store::DEFAULT_SETTLEMENT_TIMEZONE);
    at.with_timezone(&zone).format(format).to_string()
}

#[cfg(feature = "ssr")]
pub(crate) fn top_up_row(t: backend::topups::TopUp) -> TopUpRow {
    TopUpRow {
        id: t.id,
        created_at: when(t.created_at),
        method: t.method,
        amount: t.amount.to_cny(),
        reference: t.reference,
        status: t.status,
    }
}

/// The signed-in customer's wallet: balances, top-ups, vouchers, cards; none for anyone else.
#[leptos::server(prefix = "/fn", endpoint = "wallet")]
pub async fn load_wallet() -> Result<Option<WalletData>, crate::error::AppError> {
    use billing::{InstrumentKind, format_cny};
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let store = crate::server_side::store()?;
    let account = store.account(me.account_id).await?;
    let wallet = account.wallet()?;
    let now = store.now();
    let row = |i: &backend::accounts::InstrumentRecord| {
        let status = i.status_at(now);
        InstrumentRow {
            number: i.number.clone(),
            kind: i.kind,
            origin: i.origin,
            face_value: i.face_value.to_cny(),
            balance: i.balance.to_cny(),
            status,
            activated_at: when(i.activated_at),
            valid_from: when(i.valid_from),
            valid_until: when(i.valid_until),
        }
    };
    let zone = store.settlement_timezone();
    let newest_first = |vouchers: bool| -> Vec<InstrumentRow> {
        account
            .instruments_of(vouchers, None, zone)
            .into_iter()
            .map(row)
            .collect()
    };
    let top_ups = store
        .top_ups(me.account_id, 20)
        .await?
        .into_iter()
        .map(top_up_row)
        .collect();
    Ok(Some(WalletData {
        csrf_token: me.csrf_token,
        form_token: crate::server_side::new_form_token(),
        cash: account.cash,
        net_cash: format_cny(wallet.net_cash_balance()),
        vouchers_total: (wallet.usable_balance(InstrumentKind::RegularVoucher, now)
            + wallet.usable_balance(InstrumentKind::DiscountVoucher, now))
        .to_cny(),
        cards_total: wallet
            .usable_balance(InstrumentKind::PrepaidCard, now)
            .to_cny(),
        preview_query: crate::preview::form::PreviewForm::from_wallet(&wallet, now).to_query(),
        top_ups,
        vouchers: newest_first(true),
        cards: newest_first(false),
    }))
}
