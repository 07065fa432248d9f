//! A workspace's billing panel (issue 15): the paying account's balances, the usage reported
//! today and yesterday, what a month cost by item and by day, with charts. Two pages show it:
//! `/embed/workspaces/{ws}?token=…`, made for the SaaS console's iframe (the console's token
//! travels in its links and requests, so it needs no cookie; the owner's buttons open Billing
//! Center in a new window; it tells its parent its height), and `/workspaces/{ws}` for the
//! account holder inside Billing Center. Both read `backend::Store::workspace_panel`, the same
//! function as `GET /api/v1/panel/workspaces/{ws}`.

mod charts;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{Lang, Msg, t};
use billing::{Amount, BillingItem};
use charts::{BarChart, LineChart};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelAccount {
    pub name: String,
    pub cash: Amount,
    pub arrears: Amount,
    pub vouchers: Amount,
    pub prepaid_cards: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub item: BillingItem,
    pub retention_days: Option<u32>,
    pub quantity: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelData {
    pub workspace_id: String,
    pub bound: bool,
    pub account: Option<PanelAccount>,
    pub today: Vec<UsageRow>,
    pub yesterday: Vec<UsageRow>,
    /// `YYYY-MM`.
    pub month: String,
    pub total: Amount,
    pub by_item: Vec<(BillingItem, Amount)>,
    pub by_day: Vec<(String, Amount)>,
    pub usage_30_days: Vec<(BillingItem, Vec<(String, String)>)>,
    /// The owner's buttons (an administrator has none).
    pub buttons: bool,
}

/// A panel and how to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelPage {
    pub panel: PanelData,
    /// The console's language for the embedded panel (`lang` of its token).
    pub lang: Option<Lang>,
    /// The origins allowed to frame the panel (`CONSOLE_ORIGINS`): the only ones told its height.
    pub origins: Vec<String>,
    /// On the account's own panel: the high-consumption alert's threshold (empty: off) and the
    /// session's CSRF token for changing it.
    pub daily_cost_alert: Option<(String, String)>,
    /// On the account's own panel: how the workspace settles and the account's cloud accounts.
    pub settlement_form: Option<SettlementForm>,
}

/// The settlement method form of the account's own panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementForm {
    /// `account`, or the cloud that pays (`aliyun`, `huawei`).
    pub method: String,
    /// The instance it settles through, with a cloud method.
    pub instance_id: Option<String>,
    /// (cloud, cloud account id, instance id, status) of each subscription the account named.
    pub cloud_accounts: Vec<(String, String, String, String)>,
}

#[cfg(feature = "ssr")]
fn panel_data(panel: backend::panel::WorkspacePanel) -> PanelData {
    let rows = |rows: Vec<backend::panel::UsageRow>| {
        rows.into_iter()
            .map(|r| UsageRow {
                item: r.item,
                retention_days: r.retention_days,
                quantity: r.quantity,
            })
            .collect()
    };
    let (today, yesterday) = panel
        .usage
        .map(|u| (rows(u.today), rows(u.yesterday)))
        .unwrap_or_default();
    let cost = panel.cost;
    PanelData {
        workspace_id: panel.workspace_id,
        bound: panel.bound,
        account: panel.account.map(|a| PanelAccount {
            name: a.name,
            cash: a.cash,
            arrears: a.arrears,
            vouchers: a.vouchers,
            prepaid_cards: a.prepaid_cards,
        }),
        today,
        yesterday,
        month: cost.as_ref().map(|c| c.month.clone()).unwrap_or_default(),
        total: cost.as_ref().map(|c| c.total).unwrap_or(Amount::ZERO),
        by_item: cost
            .as_ref()
            .map(|c| c.by_item.iter().map(|i| (i.item, i.amount)).collect())
            .unwrap_or_default(),
        by_day: cost
            .as_ref()
            .map(|c| {
                c.by_day
                    .iter()
                    .map(|d| (d.day.to_string(), d.amount))
                    .collect()
            })
            .unwrap_or_default(),
        usage_30_days: panel
            .usage_30_days
            .into_iter()
            .map(|s| {
                (
                    s.item,
                    s.points
                        .into_iter()
                        .map(|(day, q)| (day.to_string(), q))
                        .collect(),
                )
            })
            .collect(),
        buttons: panel
            .actions
            .contains(&backend::panel::PanelAction::BillingCenter),
    }
}

#[cfg(feature = "ssr")]
fn month_of(month: Option<String>) -> Result<Option<chrono::NaiveDate>, AppError> {
    match month.filter(|m| !m.is_empty()) {
        None => Ok(None),
        Some(text) => backend::panel::parse_month(&text)
            .map(Some)
            .ok_or_else(|| AppError::new("month_invalid").at("month")),
    }
}

/// The page being rendered answers with this error's status (a member's 403 page).
#[cfg(feature = "ssr")]
fn page_status(error: &AppError) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Some(status) = error
            .status
            .and_then(|s| http::StatusCode::from_u16(s).ok())
    {
        response.set_status(status);
    }
}

/// console token (owner or administrator): the embedded panel of the token's workspace.
#[leptos::server(prefix = "/fn", endpoint = "embedded_panel")]
pub async fn load_embedded_panel(
    workspace_id: String,
    token: String,
    #[server(default)] month: Option<String>,
) -> Result<PanelPage, AppError> {
    use backend::console::{ConsoleLanguage, ConsoleRole};
    let result = async {
        let store = crate::server_side::store()?;
        let claims = store.verify_console_token(&token)?;
        claims
            .for_workspace(&workspace_id)?
            .with_role(&[ConsoleRole::Owner, ConsoleRole::Administrator])?;
        let panel = store
            .workspace_panel(&workspace_id, claims.role, month_of(month)?)
            .await?;
        Ok(PanelPage {
            daily_cost_alert: None,
            settlement_form: None,
            panel: panel_data(panel),
            lang: claims.lang.map(|l| match l {
                ConsoleLanguage::ZhCn => Lang::ZhCn,
                ConsoleLanguage::En => Lang::En,
            }),
            origins: crate::server_side::site()?.console_origins.to_vec(),
        })
    }
    .await;
    if let Err(e) = &result {
        page_status(e);
    }
    result
}

/// customer: the panel of one of the account's workspaces.
#[leptos::server(prefix = "/fn", endpoint = "own_panel")]
pub async fn load_own_panel(
    workspace_id: String,
    #[server(default)] month: Option<String>,
) -> Result<Option<PanelPage>, AppError> {
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let store = crate::server_side::store()?;
    let workspace = store.workspace(me.account_id, &workspace_id).await?;
    let panel = store
        .workspace_panel(
            &workspace_id,
            backend::console::ConsoleRole::Owner,
            month_of(month)?,
        )
        .await?;
    let cloud_accounts = store.cloud_accounts(me.account_id).await?;
    let current = cloud_accounts
        .iter()
        .find(|c| c.workspaces.contains(&workspace_id));
    let settlement_form = Some(SettlementForm {
        method: current
            .map(|c| c.cloud.code().to_owned())
            .unwrap_or_else(|| "account".to_owned()),
        instance_id: current.map(|c| c.instance_id.clone()),
        cloud_accounts: cloud_accounts
            .iter()
            .map(|c| {
                (
                    c.cloud.code().to_owned(),
                    c.cloud_account_id.clone(),
                    c.instance_id.clone(),
                    c.status.code().to_owned(),
                )
            })
            .collect(),
    });
    Ok(Some(PanelPage {
        settlement_form,
        panel: panel_data(panel),
        lang: None,
        origins: Vec::new(),
        daily_cost_alert: Some((
            workspace
                .daily_cost_alert
                .map(|a| a.to_string())
                .unwrap_or_default(),
            me.csrf_token,
        )),
    }))
}

/// customer + CSRF: how the workspace settles from the next bill (at most one change a month).
#[leptos::server(prefix = "/fn", endpoint = "change_settlement")]
pub async fn change_settlement(
    #[server(default)] csrf: String,
    workspace_id: String,
    method: String,
    #[server(default)] account_id: String,
    #[server(default)] instance_id: String,
) -> Result<(), AppError> {
    let typed = [
        ("account_id", account_id.clone()),
        ("instance_id", instance_id.clone()),
    ];
    let result = async move {
        use crate::server_side::{acting_customer, go_to, store};
        let me = acting_customer(&csrf).await?;
        let cloud = |what: &str| -> Result<(String, String), AppError> {
            let (account, instance) = (account_id.trim(), instance_id.trim());
            if account.is_empty() {
                return Err(AppError::new("cloud_field_invalid").at("account_id"));
            }
            if instance.is_empty() {
                return Err(AppError::new("cloud_field_invalid").at("instance_id"));
            }
            let _ = what;
            Ok((account.to_owned(), instance.to_owned()))
        };
        let choice = match method.as_str() {
            "account" => backend::cloud::SettlementChoice::Account,
            "aliyun" => {
                let (account_id, instance_id) = cloud("aliyun")?;
                backend::cloud::SettlementChoice::Aliyun {
                    account_id,
                    instance_id,
                }
            }
            "huawei" => {
                let (account_id, instance_id) = cloud("huawei")?;
                backend::cloud::SettlementChoice::Huawei {
                    account_id,
                    instance_id,
                }
            }
            "aws" => {
                let (account_id, instance_id) = cloud("aws")?;
                backend::cloud::SettlementChoice::Aws {
                    account_id,
                    instance_id,
                }
            }
            _ => return Err(AppError::new("form_invalid").at("method")),
        };
        store()?
            .change_settlement(me.account_id, &workspace_id, &choice)
            .await?;
        go_to(&format!(
            "/workspaces/{}?saved=settlement",
            crate::url::percent_encode(&workspace_id, false)
        ));
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: the workspace's high-consumption alert (an empty threshold turns it off).
#[leptos::server(prefix = "/fn", endpoint = "set_daily_cost_alert")]
pub async fn set_daily_cost_alert(
    #[server(default)] csrf: String,
    workspace_id: String,
    #[server(default)] threshold: String,
) -> Result<(), AppError> {
    let typed = [("threshold", threshold.clone())];
    let result = async move {
        use crate::server_side::{acting_customer, go_to, store};
        let me = acting_customer(&csrf).await?;
        let threshold = match threshold.trim() {
            "" => None,
            text => Some(
                billing::Amount::parse(text)
                    .map_err(|_| AppError::new("threshold_invalid").at("threshold"))?,
            ),
        };
        store()?
            .set_daily_cost_alert(me.account_id, &workspace_id, threshold)
            .await?;
        go_to(&format!(
            "/workspaces/{}?saved=1",
            crate::url::percent_encode(&workspace_id, false)
        ));
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// `YYYY-MM` moved by `delta` months.
fn shift_month(month: &str, delta: i32) -> Option<String> {
    let (year, m) = month.split_once('-')?;
    let index = year.parse::<i32>().ok()? * 12 + m.parse::<i32>().ok()? - 1 + delta;
    Some(format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    ))
}

fn usage_table(rows: &[UsageRow], testid: &'static str) -> impl IntoView + use<> {
    if rows.is_empty() {
        return view! { <p class="hint" data-testid=testid>{t(Msg::PanelNoUsage)}</p> }.into_any();
    }
    let body = rows
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{t(crate::preview::page::item_label(r.item))}</td>
                    <td class="num">{r.retention_days.map(|d| format!("{d}d")).unwrap_or_default()}</td>
                    <td class="num">{r.quantity.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table data-testid=testid>
                <thead><tr><th>{t(Msg::Item)}</th><th class="num">{t(Msg::Retention)}</th><th class="num">{t(Msg::Quantity)}</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap_or_default()
}

fn amount_decimal(amount: Amount) -> Decimal {
    Decimal::new(amount.fen(), 2)
}

/// The panel itself; `month_href` makes the month picker's links. `console_token` is the
/// console's token when the panel is embedded: the owner's "Change binding" takes it to
/// `/bind?token=…`, where they sign in to the account the workspace should move to.
fn panel_view(
    page: PanelPage,
    console_token: Option<String>,
    month_href: impl Fn(&str) -> String,
) -> AnyView {
    let embedded = console_token.is_some();
    let p = page.panel;
    if !p.bound {
        return view! { <p class="notice" data-testid="panel-unbound">{t(Msg::PanelUnbound)}</p> }
            .into_any();
    }
    let account = p.account.clone();
    let ws = p.workspace_id.clone();
    // The owner's buttons open Billing Center in a new top-level window (out of the iframe).
    let buttons = p.buttons.then(|| {
        let target = embedded.then_some("_blank");
        let link = |href: String, msg: Msg, testid: &'static str| {
            view! { <a class="button secondary" href=href target=target rel="noopener noreferrer" data-testid=testid>{t(msg)}</a> }
        };
        view! {
            <nav class="panel-actions" data-testid="panel-actions">
                {link("/wallet".into(), Msg::PanelRecharge, "action-recharge")}
                {link("/".into(), Msg::PanelBillingCenter, "action-billing-center")}
                {link(format!("/workspaces/{ws}#settlement"), Msg::PanelSettlementMethod, "action-settlement")}
                {link(
                    match &console_token {
                        Some(token) => format!("/bind?token={}", crate::url::percent_encode(token, false)),
                        None => format!("/workspaces/{ws}#binding"),
                    },
                    Msg::PanelChangeBinding,
                    "action-binding",
                )}
            </nav>
        }
    });
    let previous = shift_month(&p.month, -1).map(|m| month_href(&m));
    let next = shift_month(&p.month, 1).map(|m| month_href(&m));
    let bars: Vec<(String, Decimal)> = p
        .by_day
        .iter()
        .map(|(day, amount)| (day.clone(), amount_decimal(*amount)))
        .collect();
    let series: Vec<(String, Vec<Decimal>)> = p
        .usage_30_days
        .iter()
        .map(|(item, points)| {
            (
                t(crate::preview::page::item_label(*item)).to_owned(),
                points.iter().map(|(_, q)| decimal(q)).collect(),
            )
        })
        .collect();
    let usage_heads = p
        .usage_30_days
        .iter()
        .map(
            |(item, _)| view! { <th class="num">{t(crate::preview::page::item_label(*item))}</th> },
        )
        .collect_view();
    let days: Vec<String> = p
        .usage_30_days
        .first()
        .map(|(_, points)| points.iter().map(|(day, _)| day.clone()).collect())
        .unwrap_or_default();
    let usage_rows = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let cells = p
                .usage_30_days
                .iter()
                .map(|(_, points)| {
                    let quantity = points.get(i).map(|(_, q)| q.clone()).unwrap_or_default();
                    view! { <td class="num">{quantity}</td> }
                })
                .collect_view();
            view! { <tr><td>{day.clone()}</td>{cells}</tr> }
        })
        .collect_view();
    let by_item = p
        .by_item
        .iter()
        .map(|(item, amount)| view! {
            <tr><td>{t(crate::preview::page::item_label(*item))}</td><td class="num">{amount.to_string()}</td></tr>
        })
        .collect_view();
    let by_day = p
        .by_day
        .iter()
        .map(|(day, amount)| view! { <tr><td>{day.clone()}</td><td class="num">{amount.to_string()}</td></tr> })
        .collect_view();
    view! {
        <div class="panel" data-testid="panel">
            {buttons}
            {account.map(|a| view! {
                <section class="card">
                    <h2>{t(Msg::PanelAccount)}" "<span data-testid="panel-account-name">{a.name}</span></h2>
                    <dl class="balances" data-testid="panel-balances">
                        <div><dt>{t(Msg::Cash)}</dt><dd class="num" data-testid="panel-cash">{a.cash.to_string()}</dd></div>
                        <div><dt>{t(Msg::Arrears)}</dt><dd class="num" data-testid="panel-arrears">{a.arrears.to_string()}</dd></div>
                        <div><dt>{t(Msg::PanelVouchers)}</dt><dd class="num">{a.vouchers.to_string()}</dd></div>
                        <div><dt>{t(Msg::PanelPrepaidCards)}</dt><dd class="num">{a.prepaid_cards.to_string()}</dd></div>
                    </dl>
                </section>
            })}
            <section class="card">
                <h2>{t(Msg::PanelUsageToday)}</h2>
                {usage_table(&p.today, "panel-usage-today")}
                <h2>{t(Msg::PanelUsageYesterday)}</h2>
                {usage_table(&p.yesterday, "panel-usage-yesterday")}
            </section>
            <section class="card">
                <h2>{t(Msg::PanelCost)}" "<span data-testid="panel-month">{p.month.clone()}</span></h2>
                <p class="month-picker">
                    {previous.map(|href| view! { <A href=href attr:data-testid="month-previous">{t(Msg::PanelPreviousMonth)}</A> })}
                    " "
                    {next.map(|href| view! { <A href=href attr:data-testid="month-next">{t(Msg::PanelNextMonth)}</A> })}
                </p>
                <p>{t(Msg::PanelTotal)}" "<strong class="num" data-testid="panel-total">{p.total.to_string()}</strong></p>
                <BarChart bars title=t(Msg::PanelDailyCost).to_owned() testid="chart-daily-cost"/>
                <div class="table-scroll">
                    <table data-testid="panel-by-day">
                        <caption>{t(Msg::PanelDailyCost)}</caption>
                        <thead><tr><th>{t(Msg::Day)}</th><th class="num">{t(Msg::Amount)}</th></tr></thead>
                        <tbody>{by_day}</tbody>
                    </table>
                </div>
                <div class="table-scroll">
                    <table data-testid="panel-by-item">
                        <caption>{t(Msg::PanelCostByItem)}</caption>
                        <thead><tr><th>{t(Msg::Item)}</th><th class="num">{t(Msg::Amount)}</th></tr></thead>
                        <tbody>{by_item}</tbody>
                    </table>
                </div>
            </section>
            <section class="card">
                <h2>{t(Msg::PanelUsage30Days)}</h2>
                <LineChart series title=t(Msg::PanelUsage30Days).to_owned() testid="chart-usage"/>
                // The chart's numbers, for screen readers and for reading them exactly.
                <details>
                    <summary>{t(Msg::PanelUsageTable)}</summary>
                    <div class="table-scroll">
                        <table data-testid="panel-usage-30-days">
                            <caption>{t(Msg::PanelUsage30Days)}</caption>
                            <thead><tr><th>{t(Msg::Day)}</th>{usage_heads}</tr></thead>
                            <tbody>{usage_rows}</tbody>
                        </table>
                    </div>
                </details>
            </section>
        </div>
    }
    .into_any()
}

/// Tells the framing console page how tall the panel is whenever that changes (a
/// `ResizeObserver` on the document), when that page's origin is allowed.
#[cfg(feature = "hydrate")]
fn tell_parent_height(origins: &[String]) {
    use js_sys::Reflect;
    use wasm_bindgen::JsValue;
    use wasm_bindgen::closure::Closure;
    thread_local! {
        static WATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    if JsValue::from(parent.clone()) == JsValue::from(window.clone()) {
        return;
    }
    let string = |target: &JsValue, path: &[&str]| -> Option<String> {
        let mut value = target.clone();
        for key in path {
            value = Reflect::get(&value, &JsValue::from_str(key)).ok()?;
        }
        value.as_string()
    };
    // The console page's origin: the browser says it (location.ancestorOrigins), or it is the
    // origin of the iframe's referrer.
    let own = string(&window, &["location", "origin"]).unwrap_or_default();
    let parent_origin = string(&window, &["location", "ancestorOrigins", "0"])
        .or_else(|| string(&document, &["referrer"]))
        .unwrap_or_default();
    let Some(origin) = origins
        .iter()
        .map(|o| {
            if o == "'self'" {
                own.clone()
            } else {
                o.clone()
            }
        })
        .find(|o| parent_origin == *o || parent_origin.starts_with(&format!("{o}/")))
    else {
        return;
    };
    let post = move || {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let height = document
            .document_element()
            .map(|e| e.scroll_height())
            .unwrap_or_default();
        let message = js_sys::Object::new();
        let _ = Reflect::set(&message, &"type".into(), &"billing-center:resize".into());
        let _ = Reflect::set(&message, &"height".into(), &height.into());
        let _ = Reflect::get(&parent, &"postMessage".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .map(|f| f.call2(&parent, &message, &origin.as_str().into()));
    };
    post();
    if WATCHING.with(|w| w.replace(true)) {
        return;
    }
    let observer_class = Reflect::get(&window, &"ResizeObserver".into())
        .ok()
        .and_then(|c| c.dyn_into::<js_sys::Function>().ok());
    let (Some(observer_class), Some(root)) = (observer_class, document.document_element()) else {
        return;
    };
    let callback = Closure::<dyn Fn()>::new(post);
    let Ok(observer) = Reflect::construct(&observer_class, &js_sys::Array::of1(callback.as_ref()))
    else {
        return;
    };
    callback.forget();
    let _ = Reflect::get(&observer, &"observe".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .map(|f| f.call1(&observer, &root));
}

#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast as _;

/// `/embed/workspaces/{ws}?token=…`: the panel in the console's iframe.
#[component]
pub fn EmbeddedPanelPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let ws = move || params.with(|p| p.get("ws")).unwrap_or_default();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let month = move || query.with(|q| q.get("month"));
    let data = Resource::new(
        move || (ws(), token(), month()),
        |(ws, token, month)| load_embedded_panel(ws, token, month),
    );
    view! {
        <Title text=t(Msg::PanelTitle)/>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! {
                        <section class="card" data-testid="panel-refused">
                            <p class="form-error" role="alert">{t(e.message())}</p>
                        </section>
                    }.into_any(),
                    Ok(page) => {
                        if let Some(lang) = page.lang {
                            provide_context(lang);
                        }
                        #[cfg(feature = "hydrate")]
                        {
                            let origins = page.origins.clone();
                            request_animation_frame(move || tell_parent_height(&origins));
                        }
                        let (ws, token) = (ws(), token());
                        panel_view(page, Some(token.clone()), move |m| {
                            format!(
                                "/embed/workspaces/{}?token={}&month={m}",
                                crate::url::percent_encode(&ws, false),
                                crate::url::percent_encode(&token, false)
                            )
                        })
                    }
                }
            })}
        </Transition>
    }
}

/// `/workspaces/{ws}`: the same panel for the account holder.
#[component]
pub fn OwnPanelPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let ws = move || params.with(|p| p.get("ws")).unwrap_or_default();
    let month = move || query.with(|q| q.get("month"));
    let epoch = crate::account::use_epoch();
    let alert = ServerAction::<SetDailyCostAlert>::new();
    let alert_saved = crate::form::successes(alert);
    let alert_error = crate::form::last_error(alert);
    let settle = ServerAction::<ChangeSettlement>::new();
    let settle_saved = crate::form::successes(settle);
    let settle_error = crate::form::last_error(settle);
    crate::form::focus_first_error(settle_error);
    let data = Resource::new(
        move || {
            (
                epoch.track(),
                alert_saved.get(),
                settle_saved.get(),
                ws(),
                month(),
            )
        },
        |(_, _, _, ws, month)| load_own_panel(ws, month),
    );
    view! {
        <Title text=t(Msg::PanelTitle)/>
        <h1>{t(Msg::PanelTitle)}" "<code>{ws}</code></h1>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(page)) => {
                        let ws = ws();
                        let ws_for_form = ws.clone();
                        let form = page.daily_cost_alert.clone().map(move |(threshold, csrf)| {
                            let value = crate::form::typed(alert_error, "threshold").unwrap_or(threshold);
                            view! {
                                <ActionForm action=alert attr:class="card auth-form" attr:novalidate="" attr:data-testid="daily-cost-alert">
                                    <h2>{t(Msg::AlertDailyCost)}</h2>
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <input type="hidden" name="workspace_id" value=ws_for_form/>
                                    <crate::form::Field name="threshold" label=Msg::DailyCostThreshold inputmode="decimal"
                                        value=value hint=Msg::DailyCostThresholdHint
                                        error=crate::form::error_at(alert_error, "threshold")/>
                                    <crate::form::Submit label=Msg::Save pending=alert.pending() testid="save-daily-cost-alert"/>
                                </ActionForm>
                            }
                        });
                        let ws_for_links = ws.clone();
                        let ws_for_settlement = ws.clone();
                        let csrf = page.daily_cost_alert.clone().map(|(_, csrf)| csrf).unwrap_or_default();
                        let settlement = page.settlement_form.clone().map(move |f| {
                            // A marketplace's landing (`?method=aws&account_id=…&instance_id=…`) fills the form in.
                            let preset = |name: &str| query.with_untracked(|q| q.get(name)).filter(|v| !v.is_empty());
                            let aliyun_uid = crate::form::typed(settle_error, "account_id")
                                .or_else(|| preset("account_id"))
                                .unwrap_or_default();
                            let instance = crate::form::typed(settle_error, "instance_id")
                                .or_else(|| preset("instance_id"))
                                .unwrap_or_default();
                            let chosen = preset("method")
                                .filter(|m| ["account", "aliyun", "huawei", "aws"].contains(&m.as_str()))
                                .unwrap_or_else(|| f.method.clone());
                            view! {
                                <section class="card" data-testid="settlement-method">
                                    <h2>{t(Msg::PanelSettlementMethod)}</h2>
                                    <p>{t(Msg::SettlesThrough)}" "<strong data-testid="current-settlement">{match f.method.as_str() {
                                        "aliyun" => t(Msg::CloudAliyun),
                                        "aws" => t(Msg::CloudAws),
                                        "huawei" => t(Msg::CloudHuawei),
                                        _ => t(Msg::SettleByAccount),
                                    }}</strong>{f.instance_id.clone().map(|i| view! { " "<code>{i}</code> })}</p>
                                    {(!f.cloud_accounts.is_empty()).then(|| view! {
                                        <table data-testid="cloud-accounts"><thead><tr>
                                            <th>{t(Msg::CloudColumn)}</th><th>{t(Msg::CloudAccountId)}</th><th>{t(Msg::CloudInstanceId)}</th><th>{t(Msg::ColStatus)}</th>
                                        </tr></thead><tbody>
                                            {f.cloud_accounts.iter().map(|(cloud, account, instance, status)| view! {
                                                <tr><td>{cloud.clone()}</td><td>{account.clone()}</td><td><code>{instance.clone()}</code></td><td>{status.clone()}</td></tr>
                                            }).collect_view()}
                                        </tbody></table>
                                    })}
                                    <ActionForm action=settle attr:class="auth-form" attr:novalidate="">
                                        <crate::form::FormError message=Signal::derive(move || settle_error.get().and_then(|e| e.outside(&["account_id", "instance_id"])))/>
                                        <input type="hidden" name="csrf" value=csrf.clone()/>
                                        <input type="hidden" name="workspace_id" value=ws_for_settlement.clone()/>
                                        <label for="f-method">{t(Msg::PanelSettlementMethod)}</label>
                                        <select id="f-method" name="method" data-testid="settlement-choice">
                                            <option value="account" selected=chosen == "account">{t(Msg::SettleByAccount)}</option>
                                            <option value="aliyun" selected=chosen == "aliyun">{t(Msg::CloudAliyun)}</option>
                                            <option value="huawei" selected=chosen == "huawei">{t(Msg::CloudHuawei)}</option>
                                            <option value="aws" selected=chosen == "aws">{t(Msg::CloudAws)}</option>
                                        </select>
                                        <crate::form::Field name="account_id" label=Msg::CloudAccountId value=aliyun_uid
                                            error=crate::form::error_at(settle_error, "account_id")/>
                                        <crate::form::Field name="instance_id" label=Msg::CloudInstanceId value=instance
                                            hint=Msg::CloudInstanceHint error=crate::form::error_at(settle_error, "instance_id")/>
                                        <crate::form::Submit label=Msg::Save pending=settle.pending() testid="save-settlement"/>
                                    </ActionForm>
                                </section>
                            }
                        });
                        view! {
                            {panel_view(page, None, move |m| {
                                format!("/workspaces/{}?month={m}", crate::url::percent_encode(&ws_for_links, false))
                            })}
                            {settlement}
                            {form}
                        }.into_any()
                    }
                    Ok(None) => crate::form::sign_in_first(),
                    Err(e) => crate::form::load_failed(&e),
                }
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_move_across_years() {
        assert_eq!(shift_month("2026-12", 1).as_deref(), Some("2027-01"));
        assert_eq!(shift_month("2026-01", -1).as_deref(), Some("2025-12"));
        assert_eq!(shift_month("2026-06", 0).as_deref(), Some("2026-06"));
        assert_eq!(shift_month("nonsense", 1), None);
    }
}
