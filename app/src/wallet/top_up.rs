//! `/wallet/top-ups/{id}`: one top-up. Where the gateway sends the customer back after paying (it
//! shows the status; only the gateway's signed notification credits), and where a bank-transfer
//! top-up shows the payee and the reference to write on the transfer. A pending online top-up is
//! paid from here as suits the device: on a desktop by the QR code in the page (the status follows
//! by itself) or on Alipay's website; on a phone in the Alipay app; inside WeChat, which blocks
//! Alipay, by opening this page in the system browser.

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
    /// How to pay it, while it is a pending online top-up.
    pub how_to_pay: Option<HowToPay>,
    /// This page's public address (to open it in another browser).
    pub page_address: String,
}

/// How the customer pays a pending online top-up from where they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HowToPay {
    /// Desktop: scan this code (`code`, drawn by the server as the `<svg>` `svg`) with the
    /// Alipay app; Alipay's website is the alternative.
    ScanQrCode { code: String, svg: String },
    /// Phone, or a desktop when the gateway made no code: Alipay's checkout ("continue to pay").
    Gateway,
    /// Inside WeChat: open this page in the system browser.
    OpenInBrowser,
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
    let site = crate::server_side::site()?;
    let page_address = format!("{}/wallet/top-ups/{}", site.payments.public_url, top_up.id);
    let how_to_pay = site
        .payments
        .pay_with(
            &crate::server_side::store()?,
            &top_up,
            crate::server_side::paying_from(),
        )
        .await?
        .map(|pay| match pay {
            backend::payments::PayWith::QrCode { code, svg, .. } => {
                HowToPay::ScanQrCode { code, svg }
            }
            backend::payments::PayWith::Gateway { .. } => HowToPay::Gateway,
            backend::payments::PayWith::OpenInBrowser => HowToPay::OpenInBrowser,
        });
    Ok(Some(TopUpDetails {
        top_up: super::data::top_up_row(top_up),
        csrf_token: me.csrf_token,
        payee: payee.transpose()?,
        how_to_pay,
        page_address,
    }))
}

/// The status of one of the signed-in customer's top-ups (what the QR code page asks every few
/// seconds); none if it is not theirs.
#[leptos::server(prefix = "/fn", endpoint = "load_top_up_status")]
pub async fn load_top_up_status(id: i64) -> Result<Option<TopUpStatus>, crate::error::AppError> {
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    Ok(crate::server_side::store()?
        .top_up(me.account_id, id)
        .await?
        .map(|top_up| top_up.status))
}

/// While shown, asks every few seconds whether top-up `id` is still pending, and calls `changed`
/// once it is not (paid, or closed unpaid). It does not ask while the page is in a background
/// tab, and it stops for good when the answer says the top-up is not the viewer's any more (the
/// session ended) or after several failures in a row (the page's Refresh still works).
#[component]
fn WatchPayment(id: i64, changed: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let (asking, failures, stopped) = (
            StoredValue::new(false),
            StoredValue::new(0u32),
            StoredValue::new(false),
        );
        let ask = move || {
            if asking.get_value() || stopped.get_value() || document().hidden() {
                return;
            }
            asking.set_value(true);
            let changed = changed.clone();
            leptos::task::spawn_local(async move {
                let answer = load_top_up_status(id).await;
                asking.set_value(false);
                match answer {
                    Ok(Some(TopUpStatus::Pending)) => failures.set_value(0),
                    Ok(Some(_)) => {
                        stopped.set_value(true);
                        changed();
                    }
                    Ok(None) => stopped.set_value(true),
                    Err(_) => {
                        failures.update_value(|n| *n += 1);
                        if failures.get_value() >= PAYMENT_POLL_FAILURES {
                            stopped.set_value(true);
                        }
                    }
                }
            });
        };
        if let Ok(handle) =
            set_interval_with_handle(ask, std::time::Duration::from_secs(PAYMENT_POLL_SECS))
        {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, changed);
}

/// After this many failed questions in a row the page stops asking.
#[cfg(feature = "hydrate")]
const PAYMENT_POLL_FAILURES: u32 = 5;

/// How often the QR code page asks whether the payment arrived.
#[cfg(feature = "hydrate")]
const PAYMENT_POLL_SECS: u64 = 3;

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
                        {pending_online.then(|| {
                            let to_gateway = |label: Msg| view! {
                                <ActionForm action=pay>
                                    <input type="hidden" name="csrf" value=d.csrf_token.clone()/>
                                    <input type="hidden" name="id" value=r.id.to_string()/>
                                    <crate::form::Submit label=label pending=pay.pending() testid="continue-to-pay"/>
                                </ActionForm>
                            };
                            match d.how_to_pay.clone() {
                                Some(HowToPay::ScanQrCode { code, svg }) => view! {
                                    <div class="pay-by-qr" data-testid="pay-by-qr">
                                        <p><strong>{t(Msg::ScanToPay)}</strong></p>
                                        <div class="qr" role="img" aria-label=t(Msg::ScanQrCodeLabel) data-testid="payment-qr" data-code=code inner_html=svg></div>
                                        <p class="notice" role="status">{t(Msg::PaymentUpdatesItself)}</p>
                                        <WatchPayment id=r.id changed=move || refreshed.update(|n| *n += 1)/>
                                    </div>
                                    {to_gateway(Msg::PayOnAlipayWebsite)}
                                }.into_any(),
                                Some(HowToPay::OpenInBrowser) => view! {
                                    <div class="open-in-browser" data-testid="open-in-browser" role="note">
                                        <span class="open-in-browser-arrow" aria-hidden="true">"↗"</span>
                                        <p><strong>{t(Msg::WeChatBlocksAlipay)}</strong></p>
                                        <p>{t(Msg::WeChatOpenInBrowser)}</p>
                                        <p>{t(Msg::WeChatCopyAddress)}</p>
                                        <p><code class="page-address" data-testid="page-address">{d.page_address.clone()}</code></p>
                                    </div>
                                }.into_any(),
                                Some(HowToPay::Gateway) | None => view! {
                                    <p class="notice">{t(Msg::TopUpWaiting)}</p>
                                    {to_gateway(Msg::PayInAlipayApp)}
                                }.into_any(),
                            }
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
