//! `/wallet`: balances, then the three things a customer does with money before spending it, each
//! with its list: top up, activate a voucher, buy a prepaid card.

use billing::wire::{InstrumentOrigin, TopUpMethod, TopUpStatus};
use billing::{InstrumentKind, InstrumentStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::actions::{ActivateVoucher, BuyPrepaidCard, TopUp};
use super::card_preview::CardPurchaseForm;
use super::data::{InstrumentRow, TopUpRow, load_wallet};
use crate::form::{
    Field, FormError, Notice, Submit, error_at, focus_first_error, last_error, last_success,
    successes,
};
use crate::i18n::{Msg, t};

pub(crate) fn field_error(message: Option<Msg>, name: &'static str) -> impl IntoView {
    message.map(|m| view! { <p class="field-error" id=format!("{name}-error") data-testid=format!("error-{name}")>{t(m)}</p> })
}

pub(crate) fn status_text(status: InstrumentStatus) -> Msg {
    match status {
        InstrumentStatus::Unused => Msg::StatusUnused,
        InstrumentStatus::Active => Msg::StatusActive,
        InstrumentStatus::UsedUp => Msg::StatusUsedUp,
        InstrumentStatus::Expired => Msg::StatusExpired,
    }
}

pub(crate) fn top_up_status_text(status: TopUpStatus) -> Msg {
    match status {
        TopUpStatus::Pending => Msg::StatusPending,
        TopUpStatus::Paid => Msg::StatusPaid,
        TopUpStatus::Closed => Msg::StatusClosed,
    }
}

pub(crate) fn kind_text(kind: InstrumentKind) -> Msg {
    match kind {
        InstrumentKind::RegularVoucher => Msg::KindRegular,
        InstrumentKind::DiscountVoucher => Msg::KindDiscount,
        InstrumentKind::PrepaidCard => Msg::PrepaidCardBalance,
    }
}

pub(crate) fn origin_text(origin: InstrumentOrigin) -> Msg {
    match origin {
        InstrumentOrigin::Issued => Msg::OriginIssued,
        InstrumentOrigin::ActivationCode => Msg::OriginCode,
        InstrumentOrigin::CardGift => Msg::OriginGift,
        InstrumentOrigin::Purchased => Msg::OriginPurchased,
        InstrumentOrigin::Assigned => Msg::OriginAssigned,
    }
}

pub(crate) fn method_text(method: TopUpMethod) -> Msg {
    match method {
        TopUpMethod::Alipay => Msg::MethodAlipay,
        TopUpMethod::BankTransfer => Msg::MethodBankTransfer,
    }
}

#[component]
pub fn WalletPage() -> impl IntoView {
    let top_up = ServerAction::<TopUp>::new();
    let activate = ServerAction::<ActivateVoucher>::new();
    let buy = ServerAction::<BuyPrepaidCard>::new();
    let (activated, bought) = (successes(activate), successes(buy));
    super::actions::follow(last_success(top_up));
    let epoch = crate::account::use_epoch();
    let wallet = Resource::new(
        move || (epoch.track(), activated.get(), bought.get()),
        |_| load_wallet(),
    );
    let query = use_query_map();
    // What was just made: the answer of the action that ran last, or (after a plain form post)
    // the page's query.
    let made_here = RwSignal::new(None::<(Msg, String)>);
    Effect::new(move |_| {
        if let Some(m) = last_success(activate).get() {
            made_here.set(Some((Msg::VoucherActivated, m.number)));
        }
    });
    Effect::new(move |_| {
        if let Some(m) = last_success(buy).get() {
            made_here.set(Some((Msg::CardBought, m.number)));
        }
    });
    let notice = Signal::derive(move || {
        made_here.get().or_else(|| {
            query.with(|q| {
                let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
                get("activated")
                    .map(|n| (Msg::VoucherActivated, n))
                    .or_else(|| get("bought").map(|n| (Msg::CardBought, n)))
            })
        })
    });
    let errors = [last_error(top_up), last_error(activate), last_error(buy)];
    for error in errors {
        focus_first_error(error);
    }
    let form_error = Signal::derive(move || {
        errors
            .iter()
            .find_map(|e| e.get().filter(|e| e.field.is_none()))
            .map(|e| e.message())
    });
    view! {
        <Title text=t(Msg::NavWallet)/>
        <h1>{t(Msg::NavWallet)}</h1>
        <Notice notice/>
        <FormError message=form_error/>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let w = match wallet.await {
                    Ok(Some(w)) => w,
                    Ok(None) => return crate::form::sign_in_first(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let csrf_activate = w.csrf_token.clone();
                view! {
                    <section class="card">
                        <dl class="balances">
                            <div><dt>{t(Msg::CashBalance)}</dt><dd class="num" data-testid="balance-cash">{w.net_cash.clone()}</dd></div>
                            <div><dt>{t(Msg::VoucherBalance)}</dt><dd class="num" data-testid="balance-vouchers">{w.vouchers_total.clone()}</dd></div>
                            <div><dt>{t(Msg::PrepaidCardBalance)}</dt><dd class="num" data-testid="balance-cards">{w.cards_total.clone()}</dd></div>
                        </dl>
                        <p class="hint">
                            <A href=format!("/preview?{}", w.preview_query) attr:data-testid="preview-with-wallet">{t(Msg::PreviewWithWallet)}</A>
                        </p>
                    </section>
                    <TopUpSection action=top_up csrf=w.csrf_token.clone() form_token=w.form_token.clone() top_ups=w.top_ups.clone()/>
                    <section class="card" id="vouchers">
                        <h2>{t(Msg::ActivateVoucher)}</h2>
                        <ActionForm action=activate attr:class="inline-form" attr:novalidate="">
                            <input type="hidden" name="csrf" value=csrf_activate/>
                            <Field name="code" label=Msg::ActivationCode required=true placeholder="XXXX-XXXX-XXXX-XXXX"
                                error=error_at(last_error(activate), "code")/>
                            <Submit label=Msg::Activate pending=activate.pending() testid="activate"/>
                        </ActionForm>
                        <InstrumentTable rows=w.vouchers.clone() cards=false/>
                    </section>
                    <section class="card" id="prepaid-cards">
                        <h2>{t(Msg::BuyPrepaidCard)}</h2>
                        <CardPurchaseForm action=buy csrf=w.csrf_token.clone() form_token=w.form_token.clone() cash=w.cash/>
                        <InstrumentTable rows=w.cards.clone() cards=true/>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn TopUpSection(
    action: ServerAction<TopUp>,
    csrf: String,
    form_token: String,
    top_ups: Vec<TopUpRow>,
) -> impl IntoView {
    let error = last_error(action);
    view! {
        <section class="card" id="top-up">
            <h2>{t(Msg::TopUp)}</h2>
            <ActionForm action attr:class="inline-form" attr:novalidate="">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="idempotency_key" value=form_token/>
                <Field name="amount" label=Msg::TopUpAmount required=true inputmode="decimal"
                    hint=Msg::TopUpAmountHint error=error_at(error, "amount")/>
                <fieldset class="field">
                    <legend>{t(Msg::PayMethod)}</legend>
                    <label class="choice"><input type="radio" name="method" value="alipay" checked/>" "{t(Msg::MethodAlipay)}</label>
                    <label class="choice"><input type="radio" name="method" value="bank_transfer"/>" "{t(Msg::MethodBankTransfer)}</label>
                    {move || field_error(error_at(error, "method").get(), "method")}
                </fieldset>
                <Submit label=Msg::TopUp pending=action.pending() testid="top-up"/>
            </ActionForm>
            <h3>{t(Msg::TopUpsTitle)}</h3>
            {if top_ups.is_empty() {
                view! { <p class="notice">{t(Msg::NoTopUps)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table data-testid="top-ups">
                            <thead><tr>
                                <th>{t(Msg::ColCreated)}</th><th>{t(Msg::ColMethod)}</th><th class="num">{t(Msg::Amount)}</th>
                                <th>{t(Msg::ColReference)}</th><th>{t(Msg::ColStatus)}</th>
                            </tr></thead>
                            <tbody>
                                {top_ups.into_iter().map(|r| view! {
                                    <tr>
                                        <td>{r.created_at}</td><td>{t(method_text(r.method))}</td><td class="num">{r.amount}</td>
                                        <td><A href=format!("/wallet/top-ups/{}", r.id)>{r.reference}</A></td>
                                        <td>{t(top_up_status_text(r.status))}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn InstrumentTable(rows: Vec<InstrumentRow>, cards: bool) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="notice">{t(if cards { Msg::NoCards } else { Msg::NoVouchers })}</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table data-testid=if cards { "cards" } else { "vouchers" }>
                <thead><tr>
                    <th>{t(Msg::ColNumber)}</th>
                    <th>{t(if cards { Msg::ColPurchaseType } else { Msg::ColKind })}</th>
                    <th>{t(Msg::ColFaceValue)}</th><th>{t(Msg::ColBalance)}</th><th>{t(Msg::ColStatus)}</th>
                    <th>{t(if cards { Msg::ColPurchased } else { Msg::ColActivated })}</th>
                    <th>{t(Msg::ColValidity)}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td>{r.number}</td>
                            <td>{t(if cards { origin_text(r.origin) } else { kind_text(r.kind) })}</td>
                            <td class="num">{r.face_value}</td><td class="num">{r.balance}</td>
                            <td>{t(status_text(r.status))}</td><td>{r.activated_at}</td>
                            <td>{r.valid_from}" – "{r.valid_until}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }.into_any()
}
