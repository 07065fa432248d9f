//! Enterprise verification's pages: `/account/enterprise` (the customer submits the enterprise with
//! its business licence, and reads where the review stands) and `/ops/enterprise/{account}` (an
//! operator reads the submission and the licence, approves or rejects with a reason). The same
//! `backend` functions as `/api/v1/enterprise` and `/api/v1/ops/enterprise/{id}`.

use billing::enterprise::VerificationState;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::form::{Field, FormError, Submit, error_at, focus_first_error, last_error, successes};
use crate::i18n::{Msg, t};
use crate::support::{FileInput, FileView, FilesForm, returned_error};

fn state_name(state: VerificationState) -> Msg {
    match state {
        VerificationState::Unverified => Msg::VerificationUnverified,
        VerificationState::PendingReview => Msg::VerificationPending,
        VerificationState::Verified => Msg::VerificationVerified,
        VerificationState::Rejected => Msg::VerificationRejected,
        VerificationState::Withdrawn => Msg::VerificationWithdrawn,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseView {
    pub account_id: i64,
    pub account: String,
    pub state: VerificationState,
    pub enterprise_name: String,
    pub credit_code: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub rejection_reason: Option<String>,
    pub licence: Option<FileView>,
    pub submitted: Option<String>,
    /// The submission's moment as RFC 3339, which a review sends back (what the operator saw).
    pub submitted_at: String,
    pub csrf_token: String,
}

#[cfg(feature = "ssr")]
fn enterprise_view(
    e: backend::enterprise::Enterprise,
    account_id: i64,
    account: String,
    csrf_token: String,
) -> EnterpriseView {
    EnterpriseView {
        account_id,
        account,
        state: e.state,
        enterprise_name: e.enterprise_name.unwrap_or_default(),
        credit_code: e.credit_code.unwrap_or_default(),
        contact_name: e.contact_name.unwrap_or_default(),
        contact_phone: e.contact_phone.unwrap_or_default(),
        rejection_reason: e.rejection_reason,
        licence: e.licence.map(|a| FileView {
            id: a.id,
            name: a.file_name,
            size_kib: format!("{:.1} KiB", a.size_bytes as f64 / 1024.0),
        }),
        submitted: e.submitted_at.map(crate::wallet::data::when),
        submitted_at: e
            .submitted_at
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default(),
        csrf_token,
    }
}

/// customer: the account's verification (none when nobody is signed in).
#[server(prefix = "/fn", endpoint = "enterprise")]
pub async fn load_enterprise() -> Result<Option<EnterpriseView>, AppError> {
    use crate::server_side::{customer, store};
    let Some(me) = customer().await? else {
        return Ok(None);
    };
    let store = store()?;
    let enterprise = store.enterprise(me.account_id).await?;
    let username = store.customer(me.customer_id).await?.username;
    Ok(Some(enterprise_view(
        enterprise,
        me.account_id,
        username,
        me.csrf_token,
    )))
}

/// customer + CSRF: submits the enterprise for review, with the licence (a new file, or the one
/// on file).
#[server(prefix = "/fn", endpoint = "submit_enterprise", input = MultipartFormData)]
pub async fn submit_enterprise(data: MultipartData) -> Result<(), AppError> {
    let posted = crate::support::Posted::read(data, false).await?;
    let fields = [
        "enterprise_name",
        "credit_code",
        "contact_name",
        "contact_phone",
    ];
    let typed: Vec<(&str, String)> = fields.iter().map(|f| (*f, posted.field(f))).collect();
    let result = async {
        use crate::server_side::{acting_customer, go_to, store};
        let me = acting_customer(&posted.field("csrf")).await?;
        // The code is checked before the licence is stored, so a refused form leaves no upload.
        billing::enterprise::CreditCode::parse(&posted.field("credit_code"))
            .map_err(|_| AppError::new("invalid_credit_code").at("credit_code"))?;
        let store = store()?;
        let licence = match posted.upload(me.account_id).await?.first() {
            Some(id) => *id,
            None => store
                .enterprise(me.account_id)
                .await?
                .licence
                .map(|l| l.id)
                .ok_or_else(|| AppError::new("licence_required").at("file"))?,
        };
        store
            .submit_enterprise(
                me.account_id,
                &backend::enterprise::EnterpriseSubmission {
                    enterprise_name: posted.field("enterprise_name"),
                    credit_code: posted.field("credit_code"),
                    contact_name: posted.field("contact_name"),
                    contact_phone: posted.field("contact_phone"),
                    licence_attachment_id: licence,
                },
            )
            .await
            .map_err(|e| {
                let licence_problem = matches!(e, backend::enterprise::EnterpriseError::Licence(_));
                let error = AppError::from(e);
                if licence_problem {
                    error.at("file")
                } else {
                    error
                }
            })?;
        go_to("/account/enterprise?submitted=1");
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: takes back the submission that waits for review.
#[server(prefix = "/fn", endpoint = "withdraw_enterprise")]
pub async fn withdraw_enterprise(#[server(default)] csrf: String) -> Result<(), AppError> {
    use crate::server_side::{acting_customer, go_to, store};
    let me = acting_customer(&csrf).await?;
    store()?.withdraw_enterprise(me.account_id).await?;
    go_to("/account/enterprise");
    Ok(())
}

fn send_submission(
    data: MultipartData,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>> {
    Box::pin(submit_enterprise(data))
}

#[component]
fn Summary(view: EnterpriseView, licence_href: String) -> impl IntoView {
    view! {
        <dl class="details" data-testid="enterprise-summary">
            <dt>{t(Msg::EnterpriseName)}</dt><dd>{view.enterprise_name.clone()}</dd>
            <dt>{t(Msg::CreditCodeField)}</dt><dd><code>{view.credit_code.clone()}</code></dd>
            <dt>{t(Msg::ContactNameField)}</dt><dd>{view.contact_name.clone()}</dd>
            <dt>{t(Msg::ContactPhoneField)}</dt><dd>{view.contact_phone.clone()}</dd>
            {view.licence.clone().map(|l| view! {
                <dt>{t(Msg::LicenceOnFile)}</dt>
                <dd><a href=format!("{licence_href}{}", l.id) rel="external" data-testid="licence">{l.name}</a>" ("{l.size_kib}")"</dd>
            })}
            {view.submitted.clone().map(|at| view! { <dt>{t(Msg::TicketOpenedAt)}</dt><dd>{at}</dd> })}
        </dl>
    }
}

#[component]
pub fn EnterprisePage() -> impl IntoView {
    let error = RwSignal::new(returned_error::<SubmitEnterprise>());
    let pending = RwSignal::new(false);
    let error_signal = Signal::derive(move || error.get());
    focus_first_error(error_signal);
    let done = RwSignal::new(0);
    let withdraw = ServerAction::<WithdrawEnterprise>::new();
    let withdrawn = successes(withdraw);
    let withdraw_error = last_error(withdraw);
    let enterprise = Resource::new(move || (done.get(), withdrawn.get()), |_| load_enterprise());
    // Made here, not inside the `Suspend` (which disposes what it made when it renders again).
    let field_error = |field: &'static str| error_at(error_signal, field);
    let (name_error, code_error, contact_error, phone_error, file_error) = (
        field_error("enterprise_name"),
        field_error("credit_code"),
        field_error("contact_name"),
        field_error("contact_phone"),
        field_error("file"),
    );
    view! {
        <Title text=t(Msg::EnterpriseTitle)/>
        <p><A href="/account">{t(Msg::NavAccount)}</A></p>
        <h1>{t(Msg::EnterpriseTitle)}</h1>
        <p>{t(Msg::EnterpriseIntro)}</p>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let view = match enterprise.await {
                    Ok(Some(view)) => view,
                    Ok(None) => return crate::form::sign_in_first(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let typed = move |field: &str, stored: &str| {
                    error.get_untracked().and_then(|e| e.typed(field)).unwrap_or_else(|| stored.to_owned())
                };
                let may_submit = view.state.may_submit();
                let may_withdraw = view.state.may_withdraw();
                let csrf_withdraw = view.csrf_token.clone();
                view! {
                    <p><span class="badge" data-testid="verification-state">{t(state_name(view.state))}</span></p>
                    {view.rejection_reason.clone().map(|why| view! {
                        <p class="notice" data-testid="rejection-reason">{t(Msg::RejectedBecause)}" "{why}</p>
                    })}
                    {(view.state != VerificationState::Unverified).then(|| view! {
                        <Summary view=view.clone() licence_href="/api/v1/attachments/".to_owned()/>
                    })}
                    {may_withdraw.then(|| view! {
                        <FormError message=Signal::derive(move || withdraw_error.get().map(|e| e.message()))/>
                        <ActionForm action=withdraw attr:class="inline-form ticket-action">
                            <input type="hidden" name="csrf" value=csrf_withdraw/>
                            <Submit label=Msg::WithdrawSubmission pending=withdraw.pending() testid="withdraw-verification" secondary=true/>
                        </ActionForm>
                    })}
                    {may_submit.then(move || view! {
                        <FilesForm action=SubmitEnterprise::PATH testid="enterprise-form" error pending send=send_submission done>
                            <FormError message=Signal::derive(move || error.get().and_then(|e| e.outside(&["enterprise_name", "credit_code", "contact_name", "contact_phone", "file"])))/>
                            <input type="hidden" name="csrf" value=view.csrf_token.clone()/>
                            <Field name="enterprise_name" label=Msg::EnterpriseName value=typed("enterprise_name", &view.enterprise_name)
                                error=name_error required=true/>
                            <Field name="credit_code" label=Msg::CreditCodeField value=typed("credit_code", &view.credit_code)
                                error=code_error required=true/>
                            <Field name="contact_name" label=Msg::ContactNameField value=typed("contact_name", &view.contact_name)
                                error=contact_error required=true/>
                            <Field name="contact_phone" label=Msg::ContactPhoneField kind="tel" value=typed("contact_phone", &view.contact_phone)
                                error=phone_error required=true/>
                            <FileInput error=file_error label=Msg::BusinessLicence hint=Msg::LicenceHint
                                multiple=false accept=".png,.jpg,.jpeg,.pdf,image/png,image/jpeg,application/pdf" testid="licence-file"/>
                            <Submit label=Msg::SubmitVerification pending=Signal::derive(move || pending.get()) testid="submit-verification"/>
                        </FilesForm>
                    })}
                }.into_any()
            })}
        </Transition>
    }
}

/// operator: an account's submission; the view is audited.
#[server(prefix = "/fn", endpoint = "ops_enterprise")]
pub async fn load_ops_enterprise(account: i64) -> Result<Option<EnterpriseView>, AppError> {
    use crate::server_side::{client, operator, store};
    let Some(me) = operator().await? else {
        return Ok(None);
    };
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    let enterprise = store
        .enterprise_for_operator(&acting, account, &client())
        .await?;
    let username = store
        .customer_of_account(account)
        .await?
        .map(|c| c.username)
        .unwrap_or_default();
    Ok(Some(enterprise_view(
        enterprise,
        account,
        username,
        me.csrf_token,
    )))
}

/// operator + CSRF: `approve`, or `reject` with a reason.
#[server(prefix = "/fn", endpoint = "review_enterprise")]
pub async fn review_enterprise(
    #[server(default)] csrf: String,
    account: i64,
    #[server(default)] decision: String,
    #[server(default)] reason: String,
    #[server(default)] submitted_at: String,
) -> Result<(), AppError> {
    use crate::server_side::{acting_operator, client, go_to, store};
    let me = acting_operator(&csrf).await?;
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    let review = match decision.as_str() {
        "approve" => backend::enterprise::Review::Approve,
        "reject" => backend::enterprise::Review::Reject { reason },
        _ => return Err(AppError::new("form_invalid")),
    };
    let shown = chrono::DateTime::parse_from_rfc3339(&submitted_at)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|_| AppError::new("form_invalid"))?;
    store
        .review_enterprise_shown(&acting, account, &review, Some(shown), &client())
        .await?;
    go_to(&format!("/ops/enterprise/{account}"));
    Ok(())
}

#[component]
pub fn OpsEnterprisePage() -> impl IntoView {
    let params = use_params_map();
    let account = move || {
        params.with(|p| {
            p.get("account")
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let review = ServerAction::<ReviewEnterprise>::new();
    let reviewed = successes(review);
    let error = last_error(review);
    focus_first_error(error);
    let reason_error = error_at(error, "reason");
    let enterprise = Resource::new(
        move || (account(), reviewed.get()),
        |(account, _)| load_ops_enterprise(account),
    );
    view! {
        <Title text=t(Msg::EnterpriseTitle)/>
        <p><A href="/ops">{t(Msg::OpsQueueTitle)}</A></p>
        <h1>{t(Msg::EnterpriseTitle)}</h1>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let view = match enterprise.await {
                    Ok(Some(view)) => view,
                    Ok(None) => return view! { <p class="notice"><A href="/ops">{t(Msg::OpsSignInTitle)}</A></p> }.into_any(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let pending_review = view.state == VerificationState::PendingReview;
                let (csrf_approve, csrf_reject) = (view.csrf_token.clone(), view.csrf_token.clone());
                let (shown_approve, shown_reject) = (view.submitted_at.clone(), view.submitted_at.clone());
                let account = view.account_id;
                view! {
                    <p>{view.account.clone()}" · "<span class="badge" data-testid="verification-state">{t(state_name(view.state))}</span></p>
                    <Summary view=view.clone() licence_href="/ops/attachments/".to_owned()/>
                    {pending_review.then(|| view! {
                        <FormError message=Signal::derive(move || error.get().and_then(|e| e.outside(&["reason"])))/>
                        <ActionForm action=review attr:class="inline-form ticket-action">
                            <input type="hidden" name="csrf" value=csrf_approve/>
                            <input type="hidden" name="account" value=account.to_string()/>
                            <input type="hidden" name="decision" value="approve"/>
                            <input type="hidden" name="submitted_at" value=shown_approve/>
                            <Submit label=Msg::OpsApprove pending=review.pending() testid="approve"/>
                        </ActionForm>
                        <ActionForm action=review attr:class="card auth-form" attr:novalidate="">
                            <input type="hidden" name="csrf" value=csrf_reject/>
                            <input type="hidden" name="account" value=account.to_string()/>
                            <input type="hidden" name="decision" value="reject"/>
                            <input type="hidden" name="submitted_at" value=shown_reject/>
                            <Field name="reason" label=Msg::OpsRejectReason error=reason_error/>
                            <Submit label=Msg::OpsReject pending=review.pending() testid="reject" secondary=true/>
                        </ActionForm>
                    })}
                }.into_any()
            })}
        </Transition>
    }
}
