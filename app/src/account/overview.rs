//! The signed-in home: the settlement account's balances and its latest movements. Anonymous
//! visitors get the product introduction instead (`pages::Overview`).

use billing::wire::MovementKind;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::i18n::{Msg, t};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementRow {
    pub at: String,
    pub kind: MovementKind,
    pub cash: String,
    pub arrears: String,
    pub vouchers: String,
    pub prepaid_cards: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOverview {
    pub name: String,
    /// Cash minus arrears, formatted (`-¥12.50` when in arrears).
    pub cash: String,
    pub vouchers: String,
    pub prepaid_cards: String,
    pub movements: Vec<MovementRow>,
}

/// The signed-in customer's balances and latest movements; none for anyone else.
#[leptos::server(prefix = "/fn", endpoint = "overview")]
pub async fn load_overview() -> Result<Option<AccountOverview>, crate::error::AppError> {
    use billing::{InstrumentKind, format_cny};
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let store = crate::server_side::store()?;
    let account = store.account(me.account_id).await?;
    let wallet = account.wallet()?;
    let now = store.now();
    let vouchers = wallet.usable_balance(InstrumentKind::RegularVoucher, now)
        + wallet.usable_balance(InstrumentKind::DiscountVoucher, now);
    let fen = |f: i64| format_cny(billing::money::signed_fen(f));
    let movements = store
        .movements(me.account_id, 10)
        .await?
        .into_iter()
        .map(|m| MovementRow {
            at: crate::wallet::data::when(m.at),
            kind: m.kind,
            cash: fen(m.cash_fen),
            arrears: fen(m.arrears_fen),
            vouchers: fen(m.vouchers_fen),
            prepaid_cards: fen(m.prepaid_cards_fen),
        })
        .collect();
    Ok(Some(AccountOverview {
        name: account.name.clone(),
        cash: format_cny(wallet.net_cash_balance()),
        vouchers: vouchers.to_cny(),
        prepaid_cards: wallet
            .usable_balance(InstrumentKind::PrepaidCard, now)
            .to_cny(),
        movements,
    }))
}

pub(crate) fn movement_name(kind: MovementKind) -> Msg {
    match kind {
        MovementKind::CashCredit => Msg::MoveCashCredit,
        MovementKind::VoucherIssue => Msg::MoveVoucherIssue,
        MovementKind::VoucherActivation => Msg::MoveVoucherActivation,
        MovementKind::PrepaidCardPurchase => Msg::MoveCardPurchase,
        MovementKind::PrepaidCardAssignment => Msg::MoveCardAssignment,
        MovementKind::BillCharge => Msg::MoveBillCharge,
        MovementKind::Expiry => Msg::MoveExpiry,
    }
}

#[component]
pub fn AccountOverviewView(overview: AccountOverview) -> impl IntoView {
    let has_movements = !overview.movements.is_empty();
    view! {
        <section class="card">
            <h2>{t(Msg::SettlementAccountTitle)}": "<span data-testid="account-name">{overview.name.clone()}</span></h2>
            <dl class="balances">
                <div><dt>{t(Msg::CashBalance)}</dt><dd data-testid="balance-cash">{overview.cash.clone()}</dd></div>
                <div><dt>{t(Msg::VoucherBalance)}</dt><dd data-testid="balance-vouchers">{overview.vouchers.clone()}</dd></div>
                <div><dt>{t(Msg::PrepaidCardBalance)}</dt><dd data-testid="balance-cards">{overview.prepaid_cards.clone()}</dd></div>
            </dl>
            <p class="actions">
                <A href="/wallet#top-up" attr:class="button" attr:data-testid="go-top-up">{t(Msg::TopUp)}</A>
                <A href="/wallet#vouchers" attr:class="button secondary" attr:data-testid="go-activate">{t(Msg::ActivateVoucher)}</A>
                <A href="/wallet#prepaid-cards" attr:class="button secondary" attr:data-testid="go-buy-card">{t(Msg::BuyPrepaidCard)}</A>
            </p>
        </section>
        <section class="card">
            <h2>{t(Msg::RecentMovements)}</h2>
            {if has_movements {
                view! {
                    <div class="table-scroll">
                        <table data-testid="movements">
                            <thead><tr>
                                <th>{t(Msg::MovementTime)}</th><th>{t(Msg::MovementKind)}</th><th>{t(Msg::Cash)}</th>
                                <th>{t(Msg::Arrears)}</th><th>{t(Msg::VoucherBalance)}</th><th>{t(Msg::PrepaidCardBalance)}</th>
                            </tr></thead>
                            <tbody>
                                {overview.movements.iter().map(|m| view! {
                                    <tr>
                                        <td>{m.at.clone()}</td><td>{t(movement_name(m.kind))}</td><td class="num">{m.cash.clone()}</td>
                                        <td class="num">{m.arrears.clone()}</td><td class="num">{m.vouchers.clone()}</td>
                                        <td class="num">{m.prepaid_cards.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            } else {
                view! { <p class="notice" data-testid="no-movements">{t(Msg::NoMovements)}</p> }.into_any()
            }}
        </section>
    }
}
