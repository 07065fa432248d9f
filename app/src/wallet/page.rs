//! `/wallet`: balances, then the three things a customer does with money before spending it, each
//! with its list: top up, activate a voucher, buy a prepaid card.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::card_preview::CardPurchaseForm;
use super::data::{InstrumentRow, TopUpRow, load_wallet};
use crate::account::error_message;
use crate::i18n::{Msg, t};

/// What a failed post sent back: `error`, `field`, and the amount typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Returned {
    pub error: Option<String>,
    pub field: Option<String>,
    pub amount: String,
    pub denomination: String,
    pub done: Option<(Msg, String)>,
}

impl Returned {
    pub(crate) fn read() -> Returned {
        let query = use_query_map().get_untracked();
        let get = |k: &str| query.get(k).filter(|v| !v.is_empty());
        let done = get("activated")
            .map(|n| (Msg::VoucherActivated, n))
            .or_else(|| get("bought").map(|n| (Msg::CardBought, n)))
            .or_else(|| get("done").map(|n| (Msg::OpsDone, n)));
        Returned {
            error: get("error"),
            field: get("field"),
            amount: get("amount").unwrap_or_default(),
            denomination: get("denomination").unwrap_or_default(),
            done,
        }
    }

    /// The message of the error if it belongs to `field`.
    pub(crate) fn error_at(&self, field: &str) -> Option<Msg> {
        (self.field.as_deref() == Some(field))
            .then(|| self.error.as_deref().map(error_message))
            .flatten()
    }
}

pub(crate) fn field_error(message: Option<Msg>, name: &'static str) -> impl IntoView {
    message.map(|m| view! { <p class="field-error" id=format!("{name}-error") data-testid=format!("error-{name}")>{t(m)}</p> })
}

pub(crate) fn status_text(status: &str) -> Msg {
    match status {
        "unused" => Msg::StatusUnused,
        "active" => Msg::StatusActive,
        "used_up" => Msg::StatusUsedUp,
        _ => Msg::StatusExpired,
    }
}

fn kind_text(kind: &str) -> Msg {
    match kind {
        "regular_voucher" => Msg::KindRegular,
        "discount_voucher" => Msg::KindDiscount,
        _ => Msg::PrepaidCardBalance,
    }
}

fn origin_text(origin: &str) -> Msg {
    match origin {
        "issued" => Msg::OriginIssued,
        "activation_code" => Msg::OriginCode,
        "card_gift" => Msg::OriginGift,
        "purchased" => Msg::OriginPurchased,
        _ => Msg::OriginAssigned,
    }
}

pub(crate) fn method_text(method: &str) -> Msg {
    if method == "alipay" {
        Msg::MethodAlipay
    } else {
        Msg::MethodBankTransfer
    }
}

#[component]
pub fn WalletPage() -> impl IntoView {
    let wallet = Resource::new(|| (), |_| load_wallet());
    let back = Returned::read();
    view! {
        <Title text=t(Msg::NavWallet)/>
        <h1>{t(Msg::NavWallet)}</h1>
        <Suspense fallback=|| ()>
            {move || {
                let back = back.clone();
                Suspend::new(async move {
                    let Some(w) = wallet.await else {
                        return view! {
                            <p class="notice">{t(Msg::SignInForWallet)}</p>
                            <a class="button" href="/signin" rel="external">{t(Msg::NavSignIn)}</a>
                        }.into_any();
                    };
                    let generic_error = back.field.is_none().then(|| back.error.as_deref().map(error_message)).flatten();
                    view! {
                        {back.done.clone().map(|(msg, number)| view! {
                            <p class="notice" role="status" data-testid="notice">{t(msg)}" "<strong>{number}</strong></p>
                        })}
                        {generic_error.map(|m| view! { <p class="form-error" role="alert" data-testid="form-error">{t(m)}</p> })}
                        <section class="card">
                            <dl class="balances">
                                <div><dt>{t(Msg::CashBalance)}</dt><dd data-testid="balance-cash">{w.net_cash.clone()}</dd></div>
                                <div><dt>{t(Msg::VoucherBalance)}</dt><dd data-testid="balance-vouchers">{w.vouchers_total.clone()}</dd></div>
                                <div><dt>{t(Msg::PrepaidCardBalance)}</dt><dd data-testid="balance-cards">{w.cards_total.clone()}</dd></div>
                            </dl>
                            <p class="hint">
                                <a href=format!("/preview?{}", w.preview_query) data-testid="preview-with-wallet">{t(Msg::PreviewWithWallet)}</a>
                            </p>
                        </section>
                        <TopUpSection csrf=w.csrf_token.clone() form_token=w.form_token.clone() back=back.clone() top_ups=w.top_ups.clone()/>
                        <section class="card" id="vouchers">
                            <h2>{t(Msg::ActivateVoucher)}</h2>
                            <form class="inline-form" method="post" action="/wallet/vouchers/activate" novalidate>
                                <input type="hidden" name="csrf" value=w.csrf_token.clone()/>
                                <div class="field" class:has-error=back.error_at("code").is_some()>
                                    <label for="f-code">{t(Msg::ActivationCode)}</label>
                                    <input id="f-code" name="code" type="text" autocomplete="off" required
                                        placeholder="XXXX-XXXX-XXXX-XXXX" aria-invalid=back.error_at("code").map(|_| "true")/>
                                    {field_error(back.error_at("code"), "code")}
                                </div>
                                <button type="submit" class="button" data-testid="activate">{t(Msg::Activate)}</button>
                            </form>
                            <InstrumentTable rows=w.vouchers.clone() cards=false/>
                        </section>
                        <section class="card" id="prepaid-cards">
                            <h2>{t(Msg::BuyPrepaidCard)}</h2>
                            <CardPurchaseForm csrf=w.csrf_token.clone() form_token=w.form_token.clone() cash=w.cash denomination=back.denomination.clone()
                                error=back.error_at("denomination")/>
                            <InstrumentTable rows=w.cards.clone() cards=true/>
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

#[component]
fn TopUpSection(
    csrf: String,
    form_token: String,
    back: Returned,
    top_ups: Vec<TopUpRow>,
) -> impl IntoView {
    let amount_error = back.error_at("amount");
    view! {
        <section class="card" id="top-up">
            <h2>{t(Msg::TopUp)}</h2>
            <form class="inline-form" method="post" action="/wallet/top-up" novalidate>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="idempotency_key" value=form_token/>
                <div class="field" class:has-error=amount_error.is_some()>
                    <label for="f-amount">{t(Msg::TopUpAmount)}</label>
                    <input id="f-amount" name="amount" type="text" inputmode="decimal" autocomplete="off" required
                        value=back.amount.clone() aria-invalid=amount_error.map(|_| "true") aria-describedby="amount-hint"/>
                    {if amount_error.is_none() {
                        view! { <p class="hint" id="amount-hint">{t(Msg::TopUpAmountHint)}</p> }.into_any()
                    } else {
                        field_error(amount_error, "amount").into_any()
                    }}
                </div>
                <fieldset class="field">
                    <legend>{t(Msg::PayMethod)}</legend>
                    <label class="choice"><input type="radio" name="method" value="alipay" checked/>" "{t(Msg::MethodAlipay)}</label>
                    <label class="choice"><input type="radio" name="method" value="bank_transfer"/>" "{t(Msg::MethodBankTransfer)}</label>
                    {field_error(back.error_at("method"), "method")}
                </fieldset>
                <button type="submit" class="button" data-testid="top-up">{t(Msg::TopUp)}</button>
            </form>
            <h3>{t(Msg::TopUpsTitle)}</h3>
            {if top_ups.is_empty() {
                view! { <p class="notice">{t(Msg::NoTopUps)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table data-testid="top-ups">
                            <thead><tr>
                                <th>{t(Msg::ColCreated)}</th><th>{t(Msg::ColMethod)}</th><th>{t(Msg::Amount)}</th>
                                <th>{t(Msg::ColReference)}</th><th>{t(Msg::ColStatus)}</th>
                            </tr></thead>
                            <tbody>
                                {top_ups.into_iter().map(|r| view! {
                                    <tr>
                                        <td>{r.created_at}</td><td>{t(method_text(&r.method))}</td><td class="num">{r.amount}</td>
                                        <td><a href=format!("/wallet/top-ups/{}", r.id) rel="external">{r.reference}</a></td>
                                        <td>{t(if r.paid { Msg::StatusPaid } else { Msg::StatusPending })}</td>
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
                            <td>{t(if cards { origin_text(&r.origin) } else { kind_text(&r.kind) })}</td>
                            <td class="num">{r.face_value}</td><td class="num">{r.balance}</td>
                            <td>{t(status_text(&r.status))}</td><td>{r.activated_at}</td>
                            <td>{r.valid_from}" – "{r.valid_until}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }.into_any()
}
