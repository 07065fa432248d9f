//! `/wallet/top-ups/{id}`: one top-up. Where the gateway sends the customer back after paying (it
//! shows the status; only the gateway's signed notification credits), and where a bank-transfer
//! top-up shows the payee and the reference to write on the transfer.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::data::{BankPayeeDetails, TopUpRow};
use super::page::method_text;
use crate::i18n::{Msg, t};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpDetails {
    pub top_up: TopUpRow,
    pub csrf_token: String,
    pub payee: Option<BankPayeeDetails>,
}

#[cfg(feature = "ssr")]
async fn load_top_up(id: String) -> Option<TopUpDetails> {
    use super::data::{signed_in, when};
    let (store, account_id, csrf_token) = signed_in().await?;
    let top_up = store.top_up(account_id, id.parse().ok()?).await.ok()??;
    let payee = (top_up.method == backend::topups::TopUpMethod::BankTransfer)
        .then(use_context::<BankPayeeDetails>)
        .flatten();
    Some(TopUpDetails {
        top_up: TopUpRow {
            id: top_up.id,
            created_at: when(top_up.created_at),
            method: top_up.method.code().to_owned(),
            amount: top_up.amount.to_cny(),
            reference: top_up.reference,
            paid: top_up.status == backend::topups::TopUpStatus::Paid,
        },
        csrf_token,
        payee,
    })
}

#[cfg(not(feature = "ssr"))]
async fn load_top_up(_id: String) -> Option<TopUpDetails> {
    None
}

#[component]
pub fn TopUpPage() -> impl IntoView {
    let id = use_params_map()
        .get_untracked()
        .get("id")
        .unwrap_or_default();
    let details = Resource::new(move || id.clone(), load_top_up);
    view! {
        <Title text=t(Msg::TopUp)/>
        <h1>{t(Msg::TopUp)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let Some(d) = details.await else {
                    return view! {
                        <p class="notice" data-testid="top-up-not-found">{t(Msg::TopUpNotFound)}</p>
                        <a class="button" href="/wallet" rel="external">{t(Msg::BackToWallet)}</a>
                    }.into_any();
                };
                let r = d.top_up.clone();
                let pending_online = !r.paid && r.method == "alipay";
                view! {
                    <section class="card">
                        <dl class="balances">
                            <div><dt>{t(Msg::Amount)}</dt><dd data-testid="top-up-amount">{r.amount.clone()}</dd></div>
                            <div><dt>{t(Msg::ColMethod)}</dt><dd>{t(method_text(&r.method))}</dd></div>
                            <div><dt>{t(Msg::ColStatus)}</dt>
                                <dd data-testid="top-up-status" data-paid=r.paid.to_string()>
                                    {t(if r.paid { Msg::StatusPaid } else { Msg::StatusPending })}
                                </dd>
                            </div>
                        </dl>
                        {r.paid.then(|| view! { <p class="notice" role="status">{t(Msg::TopUpCredited)}</p> })}
                        {pending_online.then(|| view! {
                            <p class="notice">{t(Msg::TopUpWaiting)}</p>
                            <form method="post" action=format!("/wallet/top-ups/{}/pay", r.id)>
                                <input type="hidden" name="csrf" value=d.csrf_token.clone()/>
                                <button type="submit" class="button" data-testid="continue-to-pay">{t(Msg::ContinueToPay)}</button>
                            </form>
                        })}
                    </section>
                    {d.payee.clone().filter(|_| !r.paid).map(|p| view! {
                        <section class="card" data-testid="bank-transfer">
                            <h2>{t(Msg::BankTransferTitle)}</h2>
                            <p>{t(Msg::BankTransferHelp)}</p>
                            <dl class="details">
                                <dt>{t(Msg::PayeeName)}</dt><dd data-testid="payee-name">{p.name}</dd>
                                <dt>{t(Msg::PayeeBank)}</dt><dd>{p.bank}</dd>
                                <dt>{t(Msg::PayeeAccount)}</dt><dd data-testid="payee-account">{p.account}</dd>
                                <dt>{t(Msg::Amount)}</dt><dd>{r.amount.clone()}</dd>
                                <dt>{t(Msg::TransferReference)}</dt><dd><strong data-testid="transfer-reference">{r.reference.clone()}</strong></dd>
                            </dl>
                        </section>
                    })}
                    <p>
                        <a class="button secondary" href=format!("/wallet/top-ups/{}", r.id) rel="external">{t(Msg::Refresh)}</a>" "
                        <a class="button secondary" href="/wallet" rel="external">{t(Msg::BackToWallet)}</a>
                    </p>
                }.into_any()
            })}
        </Suspense>
    }
}
