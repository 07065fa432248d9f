//! `/account/notifications`: the low-balance threshold, which alerts are on, the language of the
//! account's mail. The same `backend` functions as `GET`/`PUT /api/v1/notifications`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::form::{Field, FormError, Submit, error_at, focus_first_error, last_error, successes};
use crate::i18n::{Msg, t};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub low_balance_threshold: String,
    pub low_balance: bool,
    pub arrears: bool,
    pub top_up_credited: bool,
    pub expiring: bool,
    pub daily_cost: bool,
    pub language: String,
    pub email: String,
    pub email_confirmed: bool,
    pub csrf_token: String,
}

/// customer: the settings (none when nobody is signed in).
#[server(prefix = "/fn", endpoint = "notifications")]
pub async fn load_notifications() -> Result<Option<NotificationsView>, AppError> {
    use crate::server_side::{customer, store};
    let Some(me) = customer().await? else {
        return Ok(None);
    };
    let settings = store()?.notification_settings(me.customer_id).await?;
    Ok(Some(NotificationsView {
        low_balance_threshold: settings.low_balance_threshold.to_string(),
        low_balance: settings.alerts.low_balance,
        arrears: settings.alerts.arrears,
        top_up_credited: settings.alerts.top_up_credited,
        expiring: settings.alerts.expiring,
        daily_cost: settings.alerts.daily_cost,
        language: settings.language.code().to_owned(),
        email: settings.email,
        email_confirmed: settings.email_confirmed,
        csrf_token: me.csrf_token,
    }))
}

/// customer + CSRF: a checkbox left out is an alert turned off.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "save_notifications")]
pub async fn save_notifications(
    #[server(default)] csrf: String,
    low_balance_threshold: String,
    #[server(default)] low_balance: Option<String>,
    #[server(default)] arrears: Option<String>,
    #[server(default)] top_up_credited: Option<String>,
    #[server(default)] expiring: Option<String>,
    #[server(default)] daily_cost: Option<String>,
    #[server(default)] language: String,
) -> Result<(), AppError> {
    let typed = [("low_balance_threshold", low_balance_threshold.clone())];
    let result = async move {
        use crate::server_side::{acting_customer, go_to, store};
        use backend::mail::settings::{AlertsChange, SettingsChange};
        let me = acting_customer(&csrf).await?;
        let threshold = billing::Amount::parse(low_balance_threshold.trim())
            .map_err(|_| AppError::new("threshold_invalid").at("low_balance_threshold"))?;
        let change = SettingsChange {
            low_balance_threshold: Some(threshold),
            alerts: Some(AlertsChange {
                low_balance: Some(low_balance.is_some()),
                arrears: Some(arrears.is_some()),
                top_up_credited: Some(top_up_credited.is_some()),
                expiring: Some(expiring.is_some()),
                daily_cost: Some(daily_cost.is_some()),
            }),
            language: Some(language).filter(|l| !l.is_empty()),
        };
        store()?
            .change_notification_settings(me.customer_id, &change)
            .await?;
        go_to("/account/notifications?saved=1");
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

#[component]
fn Toggle(name: &'static str, label: Msg, checked: bool) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" name=name value="on" checked=checked data-testid=format!("alert-{name}")/>
            " "{t(label)}
        </label>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let action = ServerAction::<SaveNotifications>::new();
    let saved = successes(action);
    let settings = Resource::new(move || saved.get(), |_| load_notifications());
    let error = last_error(action);
    focus_first_error(error);
    let query = use_query_map();
    let notice = move || query.with(|q| q.get("saved").is_some()) || saved.get() > 0;
    view! {
        <Title text=t(Msg::NotificationsTitle)/>
        <h1>{t(Msg::NotificationsTitle)}</h1>
        {move || notice().then(|| view! { <p class="notice" role="status" data-testid="notice">{t(Msg::Saved)}</p> })}
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let Ok(Some(s)) = settings.await else {
                    return view! {
                        <p class="notice">{t(Msg::SignInToSee)}</p>
                        <A href="/signin?next=/account/notifications" attr:class="button">{t(Msg::NavSignIn)}</A>
                    }.into_any();
                };
                let threshold = crate::form::typed(error, "low_balance_threshold")
                    .unwrap_or(s.low_balance_threshold.clone());
                view! {
                    <p>{t(Msg::NotificationsIntro)}" "<strong data-testid="mail-address">{s.email.clone()}</strong></p>
                    {(!s.email_confirmed).then(|| view! { <p class="notice" data-testid="email-unconfirmed">{t(Msg::EmailNotConfirmed)}</p> })}
                    <ActionForm action attr:class="card auth-form" attr:novalidate="">
                        <FormError message=Signal::derive(move || error.get().and_then(|e| e.outside(&["low_balance_threshold", "language"])))/>
                        <input type="hidden" name="csrf" value=s.csrf_token.clone()/>
                        <Field name="low_balance_threshold" label=Msg::LowBalanceThreshold inputmode="decimal"
                            value=threshold hint=Msg::LowBalanceThresholdHint error=error_at(error, "low_balance_threshold")/>
                        <fieldset>
                            <Toggle name="low_balance" label=Msg::AlertLowBalance checked=s.low_balance/>
                            <Toggle name="arrears" label=Msg::AlertArrears checked=s.arrears/>
                            <Toggle name="top_up_credited" label=Msg::AlertTopUp checked=s.top_up_credited/>
                            <Toggle name="expiring" label=Msg::AlertExpiring checked=s.expiring/>
                            <Toggle name="daily_cost" label=Msg::AlertDailyCost checked=s.daily_cost/>
                        </fieldset>
                        <label for="f-language">{t(Msg::MailLanguage)}</label>
                        <select id="f-language" name="language" data-testid="mail-language">
                            <option value="zh-CN" selected=s.language == "zh-CN">"中文"</option>
                            <option value="en" selected=s.language == "en">"English"</option>
                        </select>
                        <Submit label=Msg::Save pending=action.pending() testid="save-notifications"/>
                    </ActionForm>
                }.into_any()
            })}
        </Transition>
    }
}
