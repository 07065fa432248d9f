//! `/ops`: the operators' own sign-in, and once signed in the recent audit log. Operators are a
//! separate role (created with `billing-center operator create`); a customer session sees the
//! sign-in form here, never operator data.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::error_message;
use crate::i18n::{Msg, t};

/// Something the payment gateway said against the books, still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFlagRow {
    pub id: i64,
    pub raised_at: String,
    pub account_id: i64,
    pub reference: String,
    pub kind: String,
    pub detail: String,
}

/// One workspace-day that settlement could not bill, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementFailureRow {
    pub day: String,
    pub workspace_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub at: String,
    pub action: String,
    pub account_id: Option<i64>,
    pub detail: String,
    pub client: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub username: String,
    pub csrf_token: String,
    /// The idempotency key of this render's money forms (see `WalletData::form_token`).
    pub form_token: String,
    /// Days whose settlement failed for some workspaces (what to void or fix, then re-settle).
    pub settlement_failures: Vec<SettlementFailureRow>,
    /// Open payment flags (a trade closed or refunded after it was credited, a wrong amount).
    pub payment_flags: Vec<PaymentFlagRow>,
    pub audit: Vec<AuditRow>,
}

#[cfg(feature = "ssr")]
async fn load_operator() -> Option<OperatorView> {
    use backend::auth::sessions::Principal;
    let store = use_context::<backend::Store>()?;
    let parts = use_context::<http::request::Parts>()?;
    let id = super::session::session_cookie(&parts)?;
    let session = store.resume_session(&id).await.ok()??;
    let Principal::Operator(operator_id) = session.principal else {
        return None;
    };
    let username = store.operator_by_id(operator_id).await.ok()?.username;
    // Resolved by the server's middleware (the peer, or the client a trusted proxy names).
    let client = parts
        .extensions
        .get::<backend::auth::ResolvedClient>()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "unknown".to_owned());
    store
        .audit(operator_id, "audit_log.view", None, "opened /ops", &client)
        .await
        .ok()?;
    let audit = store
        .audit_log(None, 50)
        .await
        .ok()?
        .into_iter()
        .map(|r| AuditRow {
            at: r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            action: r.action,
            account_id: r.account_id,
            detail: r.detail,
            client: r.client,
        })
        .collect();
    let settlement_failures = store
        .settlement_failures()
        .await
        .ok()?
        .into_iter()
        .flat_map(|day| {
            day.failures.into_iter().map(move |f| SettlementFailureRow {
                day: day.day.to_string(),
                workspace_id: f.workspace_id,
                reason: f.reason,
            })
        })
        .collect();
    let payment_flags = store
        .payment_flags(false)
        .await
        .ok()?
        .into_iter()
        .map(|f| PaymentFlagRow {
            id: f.id,
            raised_at: f.raised_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            account_id: f.account_id,
            reference: f.reference,
            kind: f.kind.code().to_owned(),
            detail: f.detail,
        })
        .collect();
    Some(OperatorView {
        username,
        payment_flags,
        csrf_token: session.csrf_token,
        form_token: backend::auth::random_token(16),
        settlement_failures,
        audit,
    })
}

#[cfg(not(feature = "ssr"))]
async fn load_operator() -> Option<OperatorView> {
    None
}

#[component]
pub fn OpsPage() -> impl IntoView {
    let operator = Resource::new(|| (), |_| load_operator());
    let query = use_query_map().get_untracked();
    let error = query
        .get("error")
        .filter(|e| !e.is_empty())
        .map(|code| error_message(&code));
    let login = query.get("login").unwrap_or_default();
    view! {
        <Title text=t(Msg::OpsTitle)/>
        <h1>{t(Msg::OpsTitle)}</h1>
        <Suspense fallback=|| ()>
            {move || {
                let login = login.clone();
                Suspend::new(async move {
                    match operator.await {
                        Some(me) => view! {
                            <p>{t(Msg::OpsSignedInAs)}" "<strong data-testid="operator">{me.username.clone()}</strong></p>
                            <form method="post" action="/ops/signout">
                                <input type="hidden" name="csrf" value=me.csrf_token.clone()/>
                                <button type="submit" class="button secondary">{t(Msg::SignOut)}</button>
                            </form>
                            <PaymentFlags rows=me.payment_flags.clone()/>
                            <SettlementFailures rows=me.settlement_failures.clone()/>
                            <OperatorForms csrf=me.csrf_token.clone() form_token=me.form_token.clone()/>
                            <section class="card">
                                <h2>{t(Msg::AuditTitle)}</h2>
                                <div class="table-scroll">
                                    <table data-testid="audit">
                                        <thead><tr>
                                            <th>{t(Msg::AuditWhen)}</th><th>{t(Msg::AuditAction)}</th>
                                            <th>{t(Msg::AuditAccount)}</th><th>{t(Msg::AuditDetail)}</th><th>{t(Msg::AuditFrom)}</th>
                                        </tr></thead>
                                        <tbody>
                                            {me.audit.iter().map(|r| view! {
                                                <tr>
                                                    <td>{r.at.clone()}</td><td>{r.action.clone()}</td>
                                                    <td>{r.account_id.map(|a| a.to_string()).unwrap_or_default()}</td>
                                                    <td>{r.detail.clone()}</td><td>{r.client.clone()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                        }.into_any(),
                        None => view! {
                            <form class="card auth-form" method="post" action="/ops/signin" novalidate>
                                <h2>{t(Msg::OpsSignInTitle)}</h2>
                                {error.map(|m| view! { <p class="form-error" role="alert" data-testid="form-error">{t(m)}</p> })}
                                <div class="field">
                                    <label for="f-ops-login">{t(Msg::Username)}</label>
                                    <input id="f-ops-login" name="login" type="text" autocomplete="username" required value=login/>
                                </div>
                                <div class="field">
                                    <label for="f-ops-password">{t(Msg::Password)}</label>
                                    <input id="f-ops-password" name="password" type="password" autocomplete="current-password" required/>
                                </div>
                                <button type="submit" class="button">{t(Msg::NavSignIn)}</button>
                            </form>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn OpsField(
    form: &'static str,
    name: &'static str,
    label: Msg,
    back: crate::wallet::page::Returned,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    // The server names a field with its form (`vouchers.account`): several forms have an account.
    let error = back.error_at(&format!("{form}.{name}"));
    let id = format!("f-{form}-{name}");
    view! {
        <div class="field" class:has-error=error.is_some()>
            <label for=id.clone()>{t(label)}</label>
            <input id=id.clone() name=name type="text" autocomplete="off" required=required
                aria-invalid=error.map(|_| "true") aria-describedby=error.map(|_| format!("{id}-error"))/>
            {error.map(|m| view! {
                <p class="field-error" id=format!("{id}-error") data-testid=format!("error-{form}-{name}")>{t(m)}</p>
            })}
        </div>
    }
}

/// Open payment flags: each needs an operator (refund outside, reverse the credit, ask the
/// customer), then `POST /api/v1/ops/payment-flags/{id}/resolve` with what was done.
#[component]
fn PaymentFlags(rows: Vec<PaymentFlagRow>) -> impl IntoView {
    view! {
        <section class="card" data-testid="payment-flags">
            <h2>{t(Msg::OpsPaymentFlags)}</h2>
            {if rows.is_empty() {
                view! { <p class="notice">{t(Msg::OpsNoPaymentFlags)}</p> }.into_any()
            } else {
                view! {
                    <p class="hint">{t(Msg::OpsPaymentFlagsHelp)}</p>
                    <div class="table-scroll">
                        <table>
                            <thead><tr>
                                <th>"#"</th><th>{t(Msg::AuditWhen)}</th><th>{t(Msg::AuditAccount)}</th>
                                <th>{t(Msg::ColReference)}</th><th>{t(Msg::ColKind)}</th><th>{t(Msg::AuditDetail)}</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| view! {
                                    <tr><td>{r.id}</td><td>{r.raised_at}</td><td>{r.account_id}</td>
                                    <td>{r.reference}</td><td>{r.kind}</td><td>{r.detail}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// Days the nightly settlement could not finish: each workspace and the reason. The fix is to void
/// the offending usage record (`POST /api/v1/ops/usage/void`) and settle the day again.
#[component]
fn SettlementFailures(rows: Vec<SettlementFailureRow>) -> impl IntoView {
    view! {
        <section class="card" data-testid="settlement-failures">
            <h2>{t(Msg::OpsSettlementFailures)}</h2>
            {if rows.is_empty() {
                view! { <p class="notice">{t(Msg::OpsNoSettlementFailures)}</p> }.into_any()
            } else {
                view! {
                    <p class="hint">{t(Msg::OpsSettlementFailuresHelp)}</p>
                    <div class="table-scroll">
                        <table>
                            <thead><tr>
                                <th>{t(Msg::ColDay)}</th><th>{t(Msg::ColWorkspace)}</th><th>{t(Msg::ColReason)}</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| view! {
                                    <tr><td>{r.day}</td><td>{r.workspace_id}</td><td>{r.reason}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// Money actions: record a bank transfer, issue vouchers or generate codes, assign a card.
#[component]
fn OperatorForms(csrf: String, form_token: String) -> impl IntoView {
    let back = crate::wallet::page::Returned::read();
    view! {
        {back.done.clone().map(|(msg, detail)| view! {
            <p class="notice" role="status" data-testid="notice">{t(msg)}" "{detail}</p>
        })}
        <section class="card">
            <h2>{t(Msg::OpsBankTransferTitle)}</h2>
            <form class="inline-form" method="post" action="/ops/bank-transfers" novalidate data-testid="ops-bank-transfer">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <OpsField form="bank_transfers" name="account" label=Msg::OpsCustomer back=back.clone() required=true/>
                <OpsField form="bank_transfers" name="amount" label=Msg::TopUpAmount back=back.clone() required=true/>
                <OpsField form="bank_transfers" name="reference" label=Msg::OpsReference back=back.clone() required=true/>
                <button type="submit" class="button">{t(Msg::OpsRecord)}</button>
            </form>
        </section>
        <section class="card">
            <h2>{t(Msg::OpsVoucherTitle)}</h2>
            <p class="hint">{t(Msg::OpsVoucherHelp)}</p>
            <form class="inline-form" method="post" action="/ops/vouchers" novalidate data-testid="ops-vouchers">
                <input type="hidden" name="csrf" value=csrf.clone()/>
                <input type="hidden" name="idempotency_key" value=form_token.clone()/>
                <OpsField form="vouchers" name="face_value" label=Msg::OpsFaceValue back=back.clone() required=true/>
                <OpsField form="vouchers" name="valid_days" label=Msg::OpsValidDays back=back.clone() required=true/>
                <OpsField form="vouchers" name="account" label=Msg::OpsCustomer back=back.clone()/>
                <OpsField form="vouchers" name="count" label=Msg::OpsCount back=back.clone()/>
                <button type="submit" class="button">{t(Msg::OpsIssue)}</button>
            </form>
        </section>
        <section class="card">
            <h2>{t(Msg::OpsCardTitle)}</h2>
            <form class="inline-form" method="post" action="/ops/prepaid-cards" novalidate data-testid="ops-cards">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="idempotency_key" value=form_token/>
                <OpsField form="prepaid_cards" name="account" label=Msg::OpsCustomer back=back.clone() required=true/>
                <OpsField form="prepaid_cards" name="denomination" label=Msg::Denomination back=back required=true/>
                <button type="submit" class="button">{t(Msg::OpsAssign)}</button>
            </form>
        </section>
    }
}
