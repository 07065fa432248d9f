use billing::{Amount, BillingItem, InstrumentKind, PaymentSource, PlanLine, Settlement, Totals};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{CHARGE_ROWS, Evaluation, INSTRUMENT_ROWS, PreviewForm};
use crate::clock::today;
use crate::i18n::{Msg, t};

pub fn item_label(item: BillingItem) -> Msg {
    match item {
        BillingItem::TimeSeries => Msg::ItemTimeSeries,
        BillingItem::Logs => Msg::ItemLogs,
        BillingItem::BackupLogs => Msg::ItemBackupLogs,
        BillingItem::Network => Msg::ItemNetwork,
        BillingItem::ApmTrace => Msg::ItemApmTrace,
        BillingItem::ApmProfile => Msg::ItemApmProfile,
        BillingItem::RumPv => Msg::ItemRumPv,
        BillingItem::SessionReplay => Msg::ItemSessionReplay,
        BillingItem::DialTesting => Msg::ItemDialTesting,
        BillingItem::TaskCalls => Msg::ItemTaskCalls,
        BillingItem::Sms => Msg::ItemSms,
        BillingItem::Datakit => Msg::ItemDatakit,
    }
}

pub fn kind_label(kind: InstrumentKind) -> Msg {
    match kind {
        InstrumentKind::RegularVoucher => Msg::RegularVoucher,
        InstrumentKind::DiscountVoucher => Msg::DiscountVoucher,
        InstrumentKind::PrepaidCard => Msg::PrepaidCard,
    }
}

fn source_label(source: &PaymentSource) -> String {
    match source {
        PaymentSource::Instrument { id, kind } => format!("{} {id}", t(kind_label(*kind))),
        PaymentSource::Cash => t(Msg::Cash).to_owned(),
        PaymentSource::Arrears => t(Msg::Arrears).to_owned(),
        PaymentSource::Cloud => t(Msg::Cloud).to_owned(),
    }
}

#[component]
pub fn PreviewPage() -> impl IntoView {
    let query = use_query_map();
    let initial = query.with_untracked(|q| PreviewForm::from_query(|name| q.get(name), today()));
    let form = RwSignal::new(initial.clone());
    let evaluation = Memo::new(move |_| form.with(PreviewForm::evaluate));

    // One listener for the whole form: every input and select carries its field name.
    let on_edit = move |ev: leptos::ev::Event| {
        let Some(target) = ev.target() else { return };
        use leptos::wasm_bindgen::JsCast;
        let element: leptos::web_sys::Element = target.unchecked_into();
        let Some(name) = element.get_attribute("name") else {
            return;
        };
        let value = js_value_of(&element);
        form.update(|f| f.set(&name, value));
    };
    // With JavaScript the plan is already live; submitting only records it in the address bar.
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let query = form.with_untracked(PreviewForm::to_query);
        let navigate = leptos_router::hooks::use_navigate();
        navigate(
            &format!("/preview?{query}"),
            leptos_router::NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    let field_error = move |name: &str| field_error_for(evaluation, name.to_owned());

    view! {
        <Title text=t(Msg::PreviewTitle)/>
        <h1>{t(Msg::PreviewTitle)}</h1>
        <p class="lead">{t(Msg::PreviewIntro)}</p>
        <div class="preview">
            <form class="preview-form card" method="get" action="/preview" novalidate
                on:input=on_edit on:change=on_edit on:submit=on_submit>
                <fieldset>
                    <legend>{t(Msg::WalletTitle)}</legend>
                    <div class="field-row">
                        <label>
                            <span>{t(Msg::Settlement)}</span>
                            <select name="settlement">
                                <option value="account" selected=initial.settlement != "cloud">{t(Msg::SettlementAccount)}</option>
                                <option value="cloud" selected=initial.settlement == "cloud">{t(Msg::SettlementCloud)}</option>
                            </select>
                        </label>
                        <TextField name="at" label=t(Msg::ChargeTime) kind="datetime-local" value=initial.at.clone() error=field_error("at")/>
                    </div>
                    <div class="field-row">
                        <TextField name="cash" label=t(Msg::Cash) kind="text" value=initial.cash.clone() error=field_error("cash")/>
                        <TextField name="arrears" label=t(Msg::Arrears) kind="text" value=initial.arrears.clone() error=field_error("arrears")/>
                    </div>
                </fieldset>
                <fieldset>
                    <legend>{t(Msg::Instruments)}</legend>
                    {(0..INSTRUMENT_ROWS).map(|row| instrument_row(row, &initial, evaluation)).collect_view()}
                </fieldset>
                <fieldset>
                    <legend>{t(Msg::BillTitle)}</legend>
                    {(0..CHARGE_ROWS).map(|row| charge_row(row, &initial, evaluation)).collect_view()}
                </fieldset>
                <button type="submit" class="button">{t(Msg::Calculate)}</button>
            </form>
            <section class="plan card" aria-live="polite" data-testid="plan">
                <h2>{t(Msg::PlanTitle)}</h2>
                {move || match evaluation.get() {
                    Evaluation::Plan(plan) => {
                        let settlement = plan.settlement;
                        view! {
                            <PlanTable lines=plan.lines.clone() totals=plan.totals settlement/>
                            <WalletAfter plan/>
                        }.into_any()
                    }
                    Evaluation::NoCharges => view! { <p class="notice">{t(Msg::NoCharges)}</p> }.into_any(),
                    Evaluation::Invalid(errors) => view! {
                        <p class="notice error" role="alert">{errors.form.map(t)}</p>
                    }.into_any(),
                }}
            </section>
        </div>
    }
}

/// The current value of an input or select element.
fn js_value_of(element: &leptos::web_sys::Element) -> String {
    use leptos::wasm_bindgen::JsCast;
    if let Some(select) = element.dyn_ref::<leptos::web_sys::HtmlSelectElement>() {
        select.value()
    } else if let Some(input) = element.dyn_ref::<leptos::web_sys::HtmlInputElement>() {
        input.value()
    } else {
        String::new()
    }
}

#[component]
fn TextField(
    #[prop(into)] name: String,
    label: &'static str,
    kind: &'static str,
    value: String,
    error: Signal<Option<&'static str>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    view! {
        <label class="field" class:invalid=move || error.get().is_some()>
            <span>{label}</span>
            <input type=kind name=name value=value inputmode=(kind == "text").then_some("decimal")
                aria-invalid=move || error.get().is_some().then_some("true") aria-describedby=error_id.clone()/>
            <small class="field-error" id=error_id>{move || error.get()}</small>
        </label>
    }
    .into_any()
}

/// The error message of one field, if the form currently has one for it.
fn field_error_for(evaluation: Memo<Evaluation>, name: String) -> Signal<Option<&'static str>> {
    Signal::derive(move || match evaluation.get() {
        Evaluation::Invalid(errors) => errors.fields.get(&name).map(|msg| t(*msg)),
        _ => None,
    })
}

fn instrument_row(row: usize, initial: &PreviewForm, evaluation: Memo<Evaluation>) -> AnyView {
    let values = initial.instruments[row].clone();
    let field = |part: &str| format!("i{row}_{part}");
    let kind_name = field("kind");
    view! {
        <div class="field-row instrument-row">
            <label class="field">
                <span>{t(Msg::Kind)} " " {super::form::instrument_id(row)}</span>
                <select name=kind_name>
                    <option value="" selected=values.kind.is_empty()>{t(Msg::KindNone)}</option>
                    {InstrumentKind::ALL.into_iter().map(|kind| view! {
                        <option value=kind.code() selected=values.kind == kind.code()>{t(kind_label(kind))}</option>
                    }).collect_view()}
                </select>
            </label>
            <TextField name=field("balance") label=t(Msg::Balance) kind="text" value=values.balance
                error=field_error_for(evaluation, field("balance"))/>
            <TextField name=field("from") label=t(Msg::ValidFrom) kind="date" value=values.valid_from
                error=field_error_for(evaluation, field("from"))/>
            <TextField name=field("until") label=t(Msg::ValidUntil) kind="date" value=values.valid_until
                error=field_error_for(evaluation, field("until"))/>
        </div>
    }
    .into_any()
}

fn charge_row(row: usize, initial: &PreviewForm, evaluation: Memo<Evaluation>) -> AnyView {
    let values = initial.charges[row].clone();
    let item_name = format!("c{row}_item");
    let amount_name = format!("c{row}_amount");
    view! {
        <div class="field-row charge-row">
            <label class="field">
                <span>{t(Msg::Item)} " " {row + 1}</span>
                <select name=item_name>
                    {BillingItem::ALL.into_iter().map(|item| view! {
                        <option value=item.code() selected=values.item == item.code()>{t(item_label(item))}</option>
                    }).collect_view()}
                </select>
            </label>
            <TextField name=amount_name.clone() label=t(Msg::Amount) kind="text" value=values.amount
                error=field_error_for(evaluation, amount_name.clone())/>
        </div>
    }
    .into_any()
}

#[component]
fn PlanTable(lines: Vec<PlanLine>, totals: Totals, settlement: Settlement) -> impl IntoView {
    let mut total_rows = vec![
        (Msg::RegularVoucher, totals.regular_voucher),
        (Msg::DiscountVoucher, totals.discount_voucher),
        (Msg::PrepaidCard, totals.prepaid_card),
    ];
    match settlement {
        Settlement::Account => {
            total_rows.extend([(Msg::Cash, totals.cash), (Msg::Arrears, totals.arrears)])
        }
        Settlement::Cloud => total_rows.push((Msg::Cloud, totals.cloud)),
    }
    view! {
        <table class="plan-lines">
            <thead>
                <tr><th>{t(Msg::Item)}</th><th class="num">{t(Msg::Amount)}</th><th>{t(Msg::PaidBy)}</th></tr>
            </thead>
            <tbody>
                {lines.into_iter().map(|line| view! {
                    <tr data-charge=line.charge>
                        <td>{t(item_label(line.item))}</td>
                        <td class="num">{line.amount.to_cny()}</td>
                        <td>
                            <ul class="paid">
                                {line.paid.into_iter().map(|p| view! {
                                    <li data-source=p.source.name().to_owned()>
                                        <span class="source">{source_label(&p.source)}</span>
                                        " "
                                        <span class="num">{p.amount.to_cny()}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h3>{t(Msg::Totals)}</h3>
        <dl class="totals">
            {total_rows.into_iter().map(|(label, amount)| view! {
                <div><dt>{t(label)}</dt><dd class="num">{amount.to_cny()}</dd></div>
            }).collect_view()}
            <div class="grand-total"><dt>{t(Msg::Total)}</dt><dd class="num" data-testid="total">{totals.total().to_cny()}</dd></div>
        </dl>
    }
}

#[component]
fn WalletAfter(plan: billing::DeductionPlan) -> impl IntoView {
    let wallet = plan.wallet_after;
    let balance = billing::format_cny(wallet.net_cash_balance());
    let instruments: Vec<(String, InstrumentKind, Amount)> = wallet
        .instruments()
        .iter()
        .map(|i| (i.id.clone(), i.kind, i.balance))
        .collect();
    view! {
        <h3>{t(Msg::WalletAfter)}</h3>
        <dl class="totals">
            <div><dt>{t(Msg::Cash)}</dt><dd class="num" data-testid="cash-after">{balance}</dd></div>
            {instruments.into_iter().map(|(id, kind, amount)| view! {
                <div><dt>{t(kind_label(kind))} " " {id}</dt><dd class="num">{amount.to_cny()}</dd></div>
            }).collect_view()}
        </dl>
    }
}
