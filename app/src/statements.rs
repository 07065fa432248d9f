//! /bills: bill management for the signed-in customer's account, in five tabs: monthly bills,
//! consumption details, income and expenditure, voucher details and prepaid card details, each
//! filtered by period (consumption also by workspace), a page at a time, with a link to the same
//! rows as CSV. The filter is a GET form: the app navigates, a browser without
//! WebAssembly loads the page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::i18n::{Msg, t};

const PER_PAGE: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatementView {
    Monthly,
    Consumption,
    Transactions,
    Vouchers,
    PrepaidCards,
}

impl StatementView {
    /// The five tabs of bill management, in the product's order.
    const ALL: [StatementView; 5] = [
        StatementView::Monthly,
        StatementView::Consumption,
        StatementView::Transactions,
        StatementView::Vouchers,
        StatementView::PrepaidCards,
    ];

    fn code(self) -> &'static str {
        match self {
            StatementView::Consumption => "consumption",
            StatementView::Transactions => "transactions",
            StatementView::Monthly => "monthly",
            StatementView::Vouchers => "vouchers",
            StatementView::PrepaidCards => "prepaid_cards",
        }
    }

    /// The tab a `view=` names; consumption details when it names none.
    fn of(code: &str) -> StatementView {
        StatementView::ALL
            .into_iter()
            .find(|v| v.code() == code)
            .unwrap_or(StatementView::Consumption)
    }

    fn title(self) -> Msg {
        match self {
            StatementView::Consumption => Msg::Consumption,
            StatementView::Transactions => Msg::Transactions,
            StatementView::Monthly => Msg::MonthlyBills,
            StatementView::Vouchers => Msg::VoucherDetails,
            StatementView::PrepaidCards => Msg::PrepaidCardDetails,
        }
    }
}

/// A table cell: text as is, or a message shown in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    Text(String),
    Msg(Msg),
    /// An amount: right-aligned, tabular figures.
    Money(String),
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementData {
    pub view: StatementView,
    pub from: String,
    pub to: String,
    pub workspace: String,
    pub page: i64,
    pub total: i64,
    pub headers: Vec<Msg>,
    pub rows: Vec<Vec<Cell>>,
    pub csv_url: String,
    /// A filter the server refused, by field name.
    pub error: Option<(String, Msg)>,
}

/// A billing item by its translated name (an unknown code as it is).
#[cfg(feature = "ssr")]
fn item_name(code: &str) -> Cell {
    match code.parse::<billing::BillingItem>() {
        Ok(item) => Cell::Msg(crate::preview::page::item_label(item)),
        Err(_) => Cell::Text(code.to_owned()),
    }
}

/// A row of cells from strings and `Cell::Msg`s.
#[cfg(feature = "ssr")]
macro_rules! cells {
    ($($cell:expr),* $(,)?) => { vec![$(Cell::from($cell)),*] };
}

/// One page of one statement of the signed-in customer; none for anyone else.
#[leptos::server(prefix = "/fn", endpoint = "statement")]
pub async fn load_statement(
    view: StatementView,
    from: String,
    to: String,
    workspace: String,
    page: i64,
) -> Result<Option<StatementData>, crate::error::AppError> {
    use backend::statements::{Page, Period};
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let store = crate::server_side::store()?;
    let account_id = me.account_id;
    let today = store.today();
    // The same default as the API (`billing::day::default_statement_period`).
    let (default_from, default_to) = billing::day::default_statement_period(today);
    let parse = billing::day::parse_day;
    let mut error = None;
    let from_day = if from.is_empty() {
        default_from
    } else {
        parse(&from).unwrap_or_else(|| {
            error = Some(("from".to_owned(), Msg::DateInvalid));
            default_from
        })
    };
    let to_day = if to.is_empty() {
        if from.is_empty() { default_to } else { today }
    } else {
        parse(&to).unwrap_or_else(|| {
            error = Some(("to".to_owned(), Msg::DateInvalid));
            default_to
        })
    };
    let period = Period {
        from: from_day,
        to: to_day.max(from_day),
    };
    let page = Page {
        // Far past any statement's last page, and far from overflowing an offset.
        number: page.clamp(1, 1_000_000),
        size: PER_PAGE,
    };
    let money = |a: billing::Amount| Cell::Money(a.to_cny());
    let signed = |fen: i64| Cell::Money(billing::format_cny(billing::money::signed_fen(fen)));
    let query = |extra: &str| {
        let mut q = format!("from={}&to={}", period.from, period.to);
        if !workspace.is_empty() {
            q.push_str(&format!(
                "&workspace={}",
                crate::url::percent_encode(&workspace, false)
            ));
        }
        q.push_str(extra);
        q
    };
    let (headers, rows, total, csv_url) = match view {
        StatementView::Consumption => {
            let ws = (!workspace.is_empty()).then_some(workspace.as_str());
            let found = store.consumption(account_id, period, ws, page).await?;
            let rows = found
                .items
                .iter()
                .map(|l| {
                    cells![
                        l.day.to_string(),
                        l.workspace_id.clone(),
                        item_name(&l.item),
                        l.retention_days
                            .map(|d| format!("{d}d"))
                            .unwrap_or_default(),
                        l.quantity.clone().unwrap_or_default(),
                        l.unit_price.clone().unwrap_or_default(),
                        money(l.amount),
                        money(l.paid_by.vouchers),
                        money(l.paid_by.prepaid_cards),
                        money(l.paid_by.cash),
                        money(l.paid_by.cloud),
                        money(l.paid_by.arrears),
                    ]
                })
                .collect();
            (
                vec![
                    Msg::Day,
                    Msg::WorkspaceId,
                    Msg::Item,
                    Msg::Retention,
                    Msg::Quantity,
                    Msg::UnitPrice,
                    Msg::Amount,
                    Msg::PaidByVouchers,
                    Msg::PaidByCards,
                    Msg::PaidByCash,
                    Msg::PaidByCloud,
                    Msg::PaidByArrears,
                ],
                rows,
                found.total,
                format!("/api/v1/consumption?{}", query("&format=csv")),
            )
        }
        StatementView::Transactions => {
            let found = store.transactions(account_id, period, page).await?;
            let rows = found
                .items
                .iter()
                .map(|m| {
                    cells![
                        crate::wallet::data::when(m.at),
                        Cell::Msg(crate::account::movement_name(m.kind)),
                        m.memo.clone(),
                        signed(m.cash_change_fen),
                        signed(m.vouchers_change_fen),
                        signed(m.prepaid_cards_change_fen),
                        signed(-m.arrears_change_fen),
                        money(m.cash_after),
                        money(m.vouchers_after),
                        money(m.prepaid_cards_after),
                        money(m.arrears_after),
                    ]
                })
                .collect();
            (
                vec![
                    Msg::When,
                    Msg::Kind,
                    Msg::Memo,
                    Msg::Cash,
                    Msg::VoucherBalance,
                    Msg::PrepaidCardBalance,
                    Msg::Arrears,
                    Msg::CashAfter,
                    Msg::VouchersAfter,
                    Msg::CardsAfter,
                    Msg::ArrearsAfter,
                ],
                rows,
                found.total,
                format!(
                    "/api/v1/transactions?from={}&to={}&format=csv",
                    period.from, period.to
                ),
            )
        }
        StatementView::Monthly => {
            // The months the period touches.
            let (first, last) = (
                period.from.format("%Y-%m").to_string(),
                period.to.format("%Y-%m").to_string(),
            );
            let bills = store.monthly_bills(account_id, None).await?;
            let rows: Vec<Vec<Cell>> = bills
                .iter()
                .filter(|b| first <= b.month && b.month <= last)
                .map(|b| {
                    cells![
                        b.month.clone(),
                        b.workspace_id.clone(),
                        b.daily_bills.to_string(),
                        money(b.total),
                        money(b.paid_by.vouchers),
                        money(b.paid_by.prepaid_cards),
                        money(b.paid_by.cash),
                        money(b.paid_by.cloud),
                        money(b.paid_by.arrears),
                    ]
                })
                .collect();
            let total = rows.len() as i64;
            (
                vec![
                    Msg::Month,
                    Msg::WorkspaceId,
                    Msg::DailyBills,
                    Msg::Amount,
                    Msg::PaidByVouchers,
                    Msg::PaidByCards,
                    Msg::PaidByCash,
                    Msg::PaidByCloud,
                    Msg::PaidByArrears,
                ],
                rows,
                total,
                "/api/v1/bills?format=csv".to_owned(),
            )
        }
        StatementView::Vouchers | StatementView::PrepaidCards => {
            let vouchers = view == StatementView::Vouchers;
            let account = store.account(account_id).await?;
            let now = store.now();
            let all = account.instruments_of(vouchers, Some(period), store.settlement_timezone());
            let total = all.len() as i64;
            let skip = usize::try_from((page.number - 1) * page.size).unwrap_or(usize::MAX);
            let rows = all
                .into_iter()
                .skip(skip)
                .take(PER_PAGE as usize)
                .map(|i| {
                    let kind = if vouchers {
                        crate::wallet::page::kind_text(i.kind)
                    } else {
                        crate::wallet::page::origin_text(i.origin)
                    };
                    let status = crate::wallet::page::status_text(i.status_at(now));
                    cells![
                        i.number.clone(),
                        Cell::Msg(kind),
                        money(i.face_value),
                        money(i.balance),
                        Cell::Msg(status),
                        crate::wallet::data::when(i.activated_at),
                        format!(
                            "{} – {}",
                            crate::wallet::data::when(i.valid_from),
                            crate::wallet::data::when(i.valid_until)
                        ),
                    ]
                })
                .collect();
            (
                vec![
                    Msg::ColNumber,
                    if vouchers {
                        Msg::ColKind
                    } else {
                        Msg::ColPurchaseType
                    },
                    Msg::ColFaceValue,
                    Msg::ColBalance,
                    Msg::ColStatus,
                    if vouchers {
                        Msg::ColActivated
                    } else {
                        Msg::ColPurchased
                    },
                    Msg::ColValidity,
                ],
                rows,
                total,
                format!(
                    "/api/v1/{}?from={}&to={}&format=csv",
                    if vouchers {
                        "vouchers"
                    } else {
                        "prepaid-cards"
                    },
                    period.from,
                    period.to
                ),
            )
        }
    };
    Ok(Some(StatementData {
        view,
        from: period.from.to_string(),
        to: period.to.to_string(),
        workspace,
        page: page.number,
        total,
        headers,
        rows,
        csv_url,
        error,
    }))
}

#[component]
pub fn StatementsPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            query.with(|q| {
                (
                    StatementView::of(&q.get("view").unwrap_or_default()),
                    q.get("from").unwrap_or_default(),
                    q.get("to").unwrap_or_default(),
                    q.get("workspace").unwrap_or_default(),
                    q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
                )
            })
        },
        |(view, from, to, workspace, page)| load_statement(view, from, to, workspace, page),
    );
    view! {
        <Title text=t(Msg::NavBills)/>
        <h1>{t(Msg::NavBills)}</h1>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let d = match data.await {
                    Ok(Some(d)) => d,
                    Ok(None) => return crate::form::sign_in_first(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let (from, to, workspace) = (d.from.clone(), d.to.clone(), d.workspace.clone());
                let link = move |view: StatementView, page: i64| {
                    let mut q = format!("/bills?view={}&from={}&to={}", view.code(), from, to);
                    if !workspace.is_empty() {
                        q.push_str(&format!("&workspace={}", crate::url::percent_encode(&workspace, false)));
                    }
                    if page > 1 {
                        q.push_str(&format!("&page={page}"));
                    }
                    q
                };
                let pages = ((d.total + PER_PAGE - 1) / PER_PAGE).max(1);
                view! {
                    <nav class="tabs" aria-label=t(Msg::NavBills)>
                        {StatementView::ALL.into_iter().map(|v| view! {
                            <A href=link(v, 1) attr:aria-current=(v == d.view).then_some("page") attr:data-testid=format!("tab-{}", v.code())>{t(v.title())}</A>
                        }).collect_view()}
                    </nav>
                    <section class="card">
                        <Form method="GET" action="/bills" attr:class="inline-form" attr:data-testid="statement-filter">
                            <input type="hidden" name="view" value=d.view.code()/>
                            <div class="field">
                                <label for="f-from">{t(Msg::From)}</label>
                                <input id="f-from" name="from" type="date" value=d.from.clone()/>
                            </div>
                            <div class="field">
                                <label for="f-to">{t(Msg::To)}</label>
                                <input id="f-to" name="to" type="date" value=d.to.clone()/>
                            </div>
                            {(d.view == StatementView::Consumption).then(|| view! {
                                <div class="field">
                                    <label for="f-workspace">{t(Msg::WorkspaceId)}</label>
                                    <input id="f-workspace" name="workspace" type="text" value=d.workspace.clone()/>
                                </div>
                            })}
                            <button type="submit" class="button">{t(Msg::Filter)}</button>
                            <a class="button secondary" href=format!("{}&lang={}", d.csv_url, crate::i18n::use_lang().code()) rel="external" download data-testid="csv">{t(Msg::ExportCsv)}</a>
                        </Form>
                        {d.error.clone().map(|(field, m)| view! { <p class="form-error" role="alert" data-testid=format!("error-{field}")>{t(m)}</p> })}
                    </section>
                    <section class="card">
                        <h2>{t(d.view.title())}</h2>
                        {if d.rows.is_empty() {
                            view! { <p class="hint" data-testid="statement-empty">{t(Msg::NothingInPeriod)}</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-scroll">
                                    <table data-testid="statement">
                                        <thead><tr>{d.headers.iter().map(|h| view! { <th>{t(*h)}</th> }).collect_view()}</tr></thead>
                                        <tbody>
                                            {d.rows.iter().map(|row| view! {
                                                <tr>{row.iter().map(|c| match c {
                                                    Cell::Text(text) => view! { <td>{text.clone()}</td> }.into_any(),
                                                    Cell::Msg(m) => view! { <td>{t(*m)}</td> }.into_any(),
                                                    Cell::Money(amount) => view! { <td class="num">{amount.clone()}</td> }.into_any(),
                                                }).collect_view()}</tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        {(pages > 1).then(|| view! {
                            <nav class="pager" aria-label=t(Msg::Pages)>
                                {(d.page > 1).then(|| view! { <A href=link(d.view, d.page - 1)>{t(Msg::Previous)}</A> })}
                                <span>{format!("{} / {}", d.page, pages)}</span>
                                {(d.page < pages).then(|| view! { <A href=link(d.view, d.page + 1)>{t(Msg::Next)}</A> })}
                            </nav>
                        })}
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}
