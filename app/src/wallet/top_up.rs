//! `/wallet/top-ups/{id}`: one top-up. Where the gateway sends the customer back after paying (it
//! shows the status; only the gateway's signed notification credits), and where a bank-transfer
//! top-up shows the payee and the reference to write on the transfer.

use billing::wire::{TopUpMethod, TopUpStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
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

/// One of the signed-in customer's top-ups; none if it is not theirs (or not signed in).
#[leptos::server(prefix = "/fn", endpoint = "load_top_up")]
pub async fn load_top_up(id: String) -> Result<Option<TopUpDetails>, crate::error::AppError> {
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let Some(top_up) = crate::server_side::store()?
        .top_up(me.account_id, id)
        .await?
    else {
        return Ok(None);
    };
    let payee = (top_up.method == backend::topups::TopUpMethod::BankTransfer).then(|| {
        let payee = &crate::server_side::site()?.payments.bank_payee;
        Ok::<_, crate::error::AppError>(BankPayeeDetails {
            name: payee.name.clone(),
            bank: payee.bank.clone(),
            account: payee.account.clone(),
        })
    });
    Ok(Some(TopUpDetails {
        top_up: super::data::top_up_row(top_up),
        csrf_token: me.csrf_token,
        payee: payee.transpose()?,
    }))
}

#[component]
pub fn TopUpPage() -> impl IntoView {
    let params = use_params_map();
    let pay = ServerAction::<super::actions::PayTopUp>::new();
    let pay_error = crate::form::last_error(pay);
    super::actions::follow(crate::form::last_success(pay));
    // "Refresh" reads the top-up again without leaving the page.
    let refreshed = RwSignal::new(0u32);
    let details = Resource::new(
        move || {
            (
                params.with(|p| p.get("id").unwrap_or_default()),
                refreshed.get(),
            )
        },
        |(id, _)| load_top_up(id),
    );
    // Paid meanwhile: "continue to pay" answers with this very page, so read it again.
    Effect::new(move |_| {
        if crate::form::last_success(pay)
            .get()
            .is_some_and(|next| !next.full_page)
        {
            refreshed.update(|n| *n += 1);
        }
    });
    view! {
        <Title text=t(Msg::TopUp)/>
        <h1>{t(Msg::TopUp)}</h1>
        <crate::form::FormError message=Signal::derive(move || pay_error.get().map(|e| e.message()))/>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let Ok(Some(d)) = details.await else {
                    return view! {
                        <p class="notice" data-testid="top-up-not-found">{t(Msg::TopUpNotFound)}</p>
                        <A href="/wallet" attr:class="button">{t(Msg::BackToWallet)}</A>
                    }.into_any();
                };
                let r = d.top_up.clone();
                let paid = r.status == TopUpStatus::Paid;
                let pending_online = r.status == TopUpStatus::Pending && r.method == TopUpMethod::Alipay;
                view! {
                    <section class="card">
                        <dl class="balances">
                            <div><dt>{t(Msg::Amount)}</dt><dd data-testid="top-up-amount">{r.amount.clone()}</dd></div>
                            <div><dt>{t(Msg::ColMethod)}</dt><dd>{t(method_text(r.method))}</dd></div>
                            <div><dt>{t(Msg::ColStatus)}</dt>
                                <dd data-testid="top-up-status" data-paid=paid.to_string()>
                                    {t(super::page::top_up_status_text(r.status))}
                                </dd>
                            </div>
                        </dl>
                        {paid.then(|| view! { <p class="notice" role="status">{t(Msg::TopUpCredited)}</p> })}
                        {pending_online.then(|| view! {
                            <p class="notice">{t(Msg::TopUpWaiting)}</p>
                            <ActionForm action=pay>
                                <input type="hidden" name="csrf" value=d.csrf_token.clone()/>
                                <input type="hidden" name="id" value=r.id.to_string()/>
                                <crate::form::Submit label=Msg::ContinueToPay pending=pay.pending() testid="continue-to-pay"/>
                            </ActionForm>
                        })}
                    </section>
                    {d.payee.clone().filter(|_| !paid).map(|p| view! {
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
                        <a class="button secondary" href=format!("/wallet/top-ups/{}", r.id) data-testid="refresh"
                            on:click=move |ev| { ev.prevent_default(); refreshed.update(|n| *n += 1); }>{t(Msg::Refresh)}</a>" "
                        <A href="/wallet" attr:class="button secondary">{t(Msg::BackToWallet)}</A>
                    </p>
                }.into_any()
            })}
        </Transition>
    }
}
