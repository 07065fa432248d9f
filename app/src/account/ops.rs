//! `/ops`: the operators' own sign-in, and once signed in the recent audit log. Operators are a
//! separate role (created with `billing-center operator create`); a customer session sees the
//! sign-in form here, never operator data.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::form::{
    Field, FormError, Submit, focus_first_error, last_error, last_success, successes,
};
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

/// The outbox: counts, and the messages that were given up or are failing (never bodies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailView {
    pub smtp_configured: bool,
    pub pending: i64,
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub troubled: Vec<MailRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRow {
    pub id: i64,
    pub created_at: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub attempts: i64,
    pub given_up: bool,
    pub last_error: String,
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
    pub mail: MailView,
    /// Cloud metering records still waiting after a failed push (what the cloud paid that the
    /// marketplace has not been told yet).
    pub failing_metering: Vec<(String, String, String, String, i64, String)>,
    pub audit: Vec<AuditRow>,
}

/// The signed-in operator's /ops: open flags, failed settlements, the audit log. Opening it is
/// audited. None for anyone else.
#[leptos::server(prefix = "/fn", endpoint = "ops_page")]
pub async fn load_operator() -> Result<Option<OperatorView>, AppError> {
    use crate::server_side::{client, operator, store};
    let Some(me) = operator().await? else {
        return Ok(None);
    };
    let store = store()?;
    store
        .audit(
            me.operator_id,
            "audit_log.view",
            None,
            "opened /ops",
            &client(),
        )
        .await?;
    let audit = store
        .audit_log(None, 50)
        .await?
        .into_iter()
        .map(|r| AuditRow {
            at: crate::wallet::data::when_exactly(r.at),
            action: r.action,
            account_id: r.account_id,
            detail: r.detail,
            client: r.client,
        })
        .collect();
    let settlement_failures = store
        .settlement_failures()
        .await
        .map_err(|e| backend::problem::Problem::internal(&e))?
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
        .await?
        .into_iter()
        .map(|f| PaymentFlagRow {
            id: f.id,
            raised_at: crate::wallet::data::when_exactly(f.raised_at),
            account_id: f.account_id,
            reference: f.reference,
            kind: f.kind.code().to_owned(),
            detail: f.detail,
        })
        .collect();
    let summary = store
        .outbox_summary()
        .await
        .map_err(|e| backend::problem::Problem::internal(&e))?;
    let troubled = store
        .troubled_mail(50)
        .await
        .map_err(|e| backend::problem::Problem::internal(&e))?
        .into_iter()
        .map(|m| MailRow {
            id: m.id,
            created_at: crate::wallet::data::when_exactly(m.created_at),
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            attempts: m.attempts,
            given_up: m.failed_at.is_some(),
            last_error: m.last_error.unwrap_or_default(),
        })
        .collect();
    let mail = MailView {
        smtp_configured: crate::server_side::site()?.smtp_configured,
        pending: summary.pending,
        retrying: summary.retrying,
        sent: summary.sent,
        failed: summary.failed,
        troubled,
    };
    let failing_metering = store
        .failing_metering(50)
        .await
        .map_err(|e| backend::problem::Problem::internal(&e))?
        .into_iter()
        .map(|m| {
            (
                m.cloud,
                m.instance_id,
                m.usage_day,
                billing::format_cny(m.amount.as_decimal()),
                m.attempts,
                m.last_error,
            )
        })
        .collect();
    Ok(Some(OperatorView {
        username: me.username,
        failing_metering,
        mail,
        payment_flags,
        csrf_token: me.csrf_token,
        form_token: crate::server_side::new_form_token(),
        settlement_failures,
        audit,
    }))
}

/// What an operator's action did (already in the audit log, written with the action), and for
/// a batch of activation codes, where to download them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsDone {
    pub detail: String,
    pub codes_batch: Option<i64>,
}

/// The error of one of the /ops forms, at `form.field` (several forms have an `account`): at its
/// own field when the form has it, else at the form's first field (`fields[0]`, where a form-wide
/// error is shown); ours (`internal`) at none.
#[cfg(feature = "ssr")]
fn at(form: &str, error: impl Into<AppError>, fields: &[&str]) -> AppError {
    let error = error.into();
    let field = if error.code == "internal" {
        None
    } else {
        error
            .field
            .as_deref()
            .filter(|f| fields.contains(f))
            .or(fields.first().copied())
            .map(|f| format!("{form}.{f}"))
    };
    AppError { field, ..error }
}

#[cfg(feature = "ssr")]
async fn ops_customer(username: &str, form: &str) -> Result<i64, AppError> {
    crate::server_side::store()?
        .customer_by_username(username.trim())
        .await
        .map(|c| c.billing_account_id)
        .map_err(|e| match e {
            backend::auth::AuthError::NotFound(_) => {
                AppError::from(backend::problem::Problem::unknown_customer(username.trim()))
                    .at(&format!("{form}.account"))
            }
            other => other.into(),
        })
}

#[cfg(feature = "ssr")]
fn amount(text: &str, form: &str, field: &str) -> Result<billing::Amount, AppError> {
    billing::Amount::parse(text.trim())
        .map_err(|_| AppError::new(&format!("{field}_invalid")).at(&format!("{form}.{field}")))
}

/// Back to /ops saying what was done (a plain form post; the app shows the answer itself).
#[cfg(feature = "ssr")]
fn done(detail: String, codes_batch: Option<i64>) -> OpsDone {
    let mut path = format!("/ops?done={}", crate::url::percent_encode(&detail, false));
    if let Some(batch) = codes_batch {
        path.push_str(&format!("&codes={batch}"));
    }
    crate::server_side::plain_post_goes_to(&path);
    OpsDone {
        detail,
        codes_batch,
    }
}

/// operator + CSRF: a received bank transfer; one reference credits once.
#[leptos::server(prefix = "/fn", endpoint = "ops_record_bank_transfer")]
pub async fn record_bank_transfer(
    #[server(default)] csrf: String,
    #[server(default)] account: String,
    #[server(default)] amount: String,
    #[server(default)] reference: String,
) -> Result<OpsDone, AppError> {
    let typed: [(&str, String); 0] = [];
    let result = async move {
        use crate::server_side::{acting_operator, client, store};
        const FORM: &str = "bank_transfers";
        let me = acting_operator(&csrf).await?;
        let account_id = ops_customer(&account, FORM).await?;
        let amount = self::amount(&amount, FORM, "amount")?;
        let reference = reference.trim();
        let act = backend::auth::audit::OperatorAct {
            operator_id: me.operator_id,
            client: client(),
        };
        let credited = store()?
            .record_bank_transfer(&act, account_id, amount, reference)
            .await
            .map_err(|e| at(FORM, e, BANK_TRANSFER_FIELDS))?;
        Ok(done(
            format!(
                "bank transfer {reference} of {amount} (ledger transaction {})",
                credited.transaction_id
            ),
            None,
        ))
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

#[cfg(feature = "ssr")]
const VOUCHER_FIELDS: &[&str] = &["face_value", "valid_days", "account", "count"];
#[cfg(feature = "ssr")]
const BANK_TRANSFER_FIELDS: &[&str] = &["account", "amount", "reference"];
#[cfg(feature = "ssr")]
const CARD_FIELDS: &[&str] = &["account", "denomination"];

/// operator + CSRF: with a customer, issues them a regular voucher; without, generates a batch of
/// activation codes (redeemable for 90 days) to download as CSV.
#[leptos::server(prefix = "/fn", endpoint = "ops_vouchers")]
pub async fn issue_vouchers(
    #[server(default)] csrf: String,
    #[server(default)] idempotency_key: String,
    #[server(default)] account: String,
    #[server(default)] face_value: String,
    #[server(default)] valid_days: String,
    #[server(default)] count: String,
) -> Result<OpsDone, AppError> {
    let typed: [(&str, String); 0] = [];
    let result = async move {
        use crate::server_side::{acting_operator, client, form_key, store};
        const FORM: &str = "vouchers";
        let me = acting_operator(&csrf).await?;
        let face_value = self::amount(&face_value, FORM, "face_value")?;
        let days: u32 = valid_days
            .trim()
            .parse()
            .map_err(|_| AppError::new("valid_days_invalid").at("vouchers.valid_days"))?;
        let validity = billing::wallet_rules::VoucherValidity::DaysFromActivation(days);
        let key = form_key("ops", "vouchers", &idempotency_key)
            .map_err(|e| at(FORM, e, VOUCHER_FIELDS))?;
        let act = backend::auth::audit::OperatorAct {
            operator_id: me.operator_id,
            client: client(),
        };
        let store = store()?;
        if !account.trim().is_empty() {
            let account_id = ops_customer(&account, FORM).await?;
            let issue = backend::vouchers::VoucherIssue {
                account_id,
                face_value,
                validity,
            };
            let issued = store
                .issue_voucher_by(&act, &key, &issue)
                .await
                .map_err(|e| at(FORM, e, VOUCHER_FIELDS))?;
            return Ok(done(
                format!("issued voucher {} of {face_value}", issued.voucher.number),
                None,
            ));
        }
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| AppError::new("count_invalid").at("vouchers.count"))?;
        let batch = backend::vouchers::ActivationCodeBatch {
            face_value,
            validity,
            count,
            redeem_by: store.now() + chrono::Duration::days(90),
        };
        let generated = store
            .generate_activation_codes_by(&act, &key, &batch)
            .await
            .map_err(|e| at(FORM, e, VOUCHER_FIELDS))?;
        Ok(done(
            format!(
                "generated {} activation codes of {face_value} (batch {})",
                generated.codes.len(),
                generated.batch_id
            ),
            Some(generated.batch_id),
        ))
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// operator + CSRF: assigns a prepaid card without payment.
#[leptos::server(prefix = "/fn", endpoint = "ops_assign_card")]
pub async fn assign_card(
    #[server(default)] csrf: String,
    #[server(default)] idempotency_key: String,
    #[server(default)] account: String,
    #[server(default)] denomination: String,
) -> Result<OpsDone, AppError> {
    let typed: [(&str, String); 0] = [];
    let result = async move {
        use crate::server_side::{acting_operator, client, form_key, store};
        const FORM: &str = "prepaid_cards";
        let me = acting_operator(&csrf).await?;
        let account_id = ops_customer(&account, FORM).await?;
        let denomination = self::amount(&denomination, FORM, "denomination")?;
        let key = form_key("ops", "prepaid_cards", &idempotency_key)
            .map_err(|e| at(FORM, e, CARD_FIELDS))?;
        let assignment = backend::prepaid_cards::PrepaidCardAssignment {
            account_id,
            denomination,
            assigned_by: format!("operator:{}", me.username),
        };
        let act = backend::auth::audit::OperatorAct {
            operator_id: me.operator_id,
            client: client(),
        };
        let assigned = store()?
            .assign_prepaid_card_by(&act, &key, &assignment)
            .await
            .map_err(|e| at(FORM, e, CARD_FIELDS))?;
        Ok(done(
            format!("assigned card {} of {denomination}", assigned.card.number),
            None,
        ))
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

#[component]
pub fn OpsPage() -> impl IntoView {
    let sign_in = ServerAction::<crate::account::actions::OpsSignIn>::new();
    let sign_out = ServerAction::<crate::account::actions::OpsSignOut>::new();
    let transfer = ServerAction::<RecordBankTransfer>::new();
    let vouchers = ServerAction::<IssueVouchers>::new();
    let card = ServerAction::<AssignCard>::new();
    let (signed_in, signed_out) = (successes(sign_in), successes(sign_out));
    let (transfers, voucher_runs, cards) =
        (successes(transfer), successes(vouchers), successes(card));
    let operator = Resource::new(
        move || {
            (
                signed_in.get(),
                signed_out.get(),
                transfers.get(),
                voucher_runs.get(),
                cards.get(),
            )
        },
        |_| load_operator(),
    );
    let sign_in_error = last_error(sign_in);
    focus_first_error(sign_in_error);
    view! {
        <Title text=t(Msg::OpsTitle)/>
        <h1>{t(Msg::OpsTitle)}</h1>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match operator.await {
                    Ok(Some(me)) => { let sign_out_csrf = me.csrf_token.clone(); view! {
                        <p>{t(Msg::OpsSignedInAs)}" "<strong data-testid="operator">{me.username.clone()}</strong></p>
                        <ActionForm action=sign_out>
                            <input type="hidden" name="csrf" value=sign_out_csrf/>
                            <Submit label=Msg::SignOut pending=sign_out.pending() secondary=true/>
                        </ActionForm>
                        <crate::account::WorkQueue/>
                        <PaymentFlags rows=me.payment_flags.clone()/>
                        <SettlementFailures rows=me.settlement_failures.clone()/>
                        <Outbox mail=me.mail.clone()/>
                        {(!me.failing_metering.is_empty()).then(|| view! {
                            <section class="card" data-testid="failing-metering">
                                <h2>{t(Msg::OpsFailingMetering)}</h2>
                                <div class="table-scroll"><table>
                                    <thead><tr><th>{t(Msg::CloudColumn)}</th><th>{t(Msg::CloudInstanceId)}</th><th>{t(Msg::ColDay)}</th>
                                        <th>{t(Msg::Amount)}</th><th>{t(Msg::MailError)}</th></tr></thead>
                                    <tbody>
                                        {me.failing_metering.iter().map(|(cloud, instance, day, amount, attempts, error)| view! {
                                            <tr><td>{cloud.clone()}</td><td><code>{instance.clone()}</code></td><td>{day.clone()}</td>
                                            <td>{amount.clone()}</td><td>{format!("({attempts}×) {error}")}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            </section>
                        })}
                        <OperatorForms csrf=me.csrf_token.clone() form_token=me.form_token.clone() transfer vouchers card/>
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
                    }.into_any() }
                    Ok(None) => view! {
                        <ActionForm action=sign_in attr:class="card auth-form" attr:novalidate="">
                            <h2>{t(Msg::OpsSignInTitle)}</h2>
                            <FormError message=Signal::derive(move || sign_in_error.get().map(|e| e.message()))/>
                            <Field name="login" id="f-ops-login".to_owned() label=Msg::Username autocomplete="username" required=true
                                value=crate::form::typed(sign_in_error, "login").unwrap_or_default()/>
                            <Field name="password" id="f-ops-password".to_owned() label=Msg::Password kind="password"
                                autocomplete="current-password" required=true/>
                            <Submit label=Msg::NavSignIn pending=sign_in.pending()/>
                        </ActionForm>
                    }.into_any(),
                    Err(e) => crate::form::load_failed(&e),
                }
            })}
        </Transition>
    }
}

/// The outbox: what waits, what was given up and why. Without SMTP_URL, everything waits.
#[component]
fn Outbox(mail: MailView) -> impl IntoView {
    view! {
        <section class="card" data-testid="outbox">
            <h2>{t(Msg::MailOutbox)}</h2>
            {(!mail.smtp_configured).then(|| view! { <p class="notice" data-testid="no-smtp">{t(Msg::MailNoSmtp)}</p> })}
            <p data-testid="outbox-counts">
                {t(Msg::MailPending)}": "{mail.pending}" · "{t(Msg::MailRetrying)}": "{mail.retrying}" · "
                {t(Msg::MailSent)}": "{mail.sent}" · "{t(Msg::MailFailed)}": "{mail.failed}
            </p>
            {(!mail.troubled.is_empty()).then(|| view! {
                <div class="table-scroll">
                    <table data-testid="troubled-mail">
                        <thead><tr>
                            <th>"#"</th><th>{t(Msg::AuditWhen)}</th><th>{t(Msg::ColKind)}</th>
                            <th>{t(Msg::MailRecipient)}</th><th>{t(Msg::MailSubject)}</th><th>{t(Msg::MailError)}</th>
                        </tr></thead>
                        <tbody>
                            {mail.troubled.into_iter().map(|m| view! {
                                <tr class:failed=m.given_up>
                                    <td>{m.id}</td><td>{m.created_at}</td><td>{m.kind}</td><td>{m.recipient}</td>
                                    <td>{m.subject}</td>
                                    <td>{m.given_up.then(|| t(Msg::MailFailed))}" "{format!("({}×) {}", m.attempts, m.last_error)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        </section>
    }
}

/// A field of one of the /ops forms: its error is the one named `form.name`.
#[component]
fn OpsField(
    form: &'static str,
    name: &'static str,
    label: Msg,
    error: Signal<Option<AppError>>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let qualified = format!("{form}.{name}");
    let message = Signal::derive(move || error.get().and_then(|e| e.at_field(&qualified)));
    view! {
        <Field name=name id=format!("f-{form}-{name}") label=label required=required error=message/>
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
fn OperatorForms(
    csrf: String,
    form_token: String,
    transfer: ServerAction<RecordBankTransfer>,
    vouchers: ServerAction<IssueVouchers>,
    card: ServerAction<AssignCard>,
) -> impl IntoView {
    let query = use_query_map();
    // What was just done: the app's answer, or (after a plain form post) the page's query.
    let newest = RwSignal::new(None::<OpsDone>);
    for done in [
        last_success(transfer),
        last_success(vouchers),
        last_success(card),
    ] {
        Effect::new(move |_| {
            if let Some(done) = done.get() {
                newest.set(Some(done));
            }
        });
    }
    let answer = move || {
        newest.get().or_else(|| {
            query.with(|q| {
                q.get("done")
                    .filter(|d| !d.is_empty())
                    .map(|detail| OpsDone {
                        detail,
                        codes_batch: q.get("codes").and_then(|b| b.parse().ok()),
                    })
            })
        })
    };
    let (transfer_error, voucher_error, card_error) =
        (last_error(transfer), last_error(vouchers), last_error(card));
    focus_first_error(transfer_error);
    focus_first_error(voucher_error);
    focus_first_error(card_error);
    let (csrf_transfer, csrf_vouchers) = (csrf.clone(), csrf.clone());
    let token_vouchers = form_token.clone();
    let form_error = Signal::derive(move || {
        [transfer_error.get(), voucher_error.get(), card_error.get()]
            .into_iter()
            .flatten()
            .find(|e| e.field.is_none())
            .map(|e| e.message())
    });
    view! {
        {move || answer().map(|done| view! {
            <p class="notice" role="status" data-testid="notice">{t(Msg::OpsDone)}" "{done.detail.clone()}
                {done.codes_batch.map(|batch| view! {
                    " "<a href=format!("/ops/activation-codes/{batch}") rel="external" download="" data-testid="codes-csv">
                        {t(Msg::DownloadCsv)}
                    </a>
                })}
            </p>
        })}
        <FormError message=form_error/>
        <section class="card">
            <h2>{t(Msg::OpsBankTransferTitle)}</h2>
            <ActionForm action=transfer attr:class="inline-form" attr:novalidate="" attr:data-testid="ops-bank-transfer">
                <input type="hidden" name="csrf" value=csrf_transfer/>
                <OpsField form="bank_transfers" name="account" label=Msg::OpsCustomer error=transfer_error required=true/>
                <OpsField form="bank_transfers" name="amount" label=Msg::TopUpAmount error=transfer_error required=true/>
                <OpsField form="bank_transfers" name="reference" label=Msg::OpsReference error=transfer_error required=true/>
                <Submit label=Msg::OpsRecord pending=transfer.pending()/>
            </ActionForm>
        </section>
        <section class="card">
            <h2>{t(Msg::OpsVoucherTitle)}</h2>
            <p class="hint">{t(Msg::OpsVoucherHelp)}</p>
            <ActionForm action=vouchers attr:class="inline-form" attr:novalidate="" attr:data-testid="ops-vouchers">
                <input type="hidden" name="csrf" value=csrf_vouchers/>
                <input type="hidden" name="idempotency_key" value=token_vouchers/>
                <OpsField form="vouchers" name="face_value" label=Msg::OpsFaceValue error=voucher_error required=true/>
                <OpsField form="vouchers" name="valid_days" label=Msg::OpsValidDays error=voucher_error required=true/>
                <OpsField form="vouchers" name="account" label=Msg::OpsCustomer error=voucher_error/>
                <OpsField form="vouchers" name="count" label=Msg::OpsCount error=voucher_error/>
                <Submit label=Msg::OpsIssue pending=vouchers.pending()/>
            </ActionForm>
        </section>
        <section class="card">
            <h2>{t(Msg::OpsCardTitle)}</h2>
            <ActionForm action=card attr:class="inline-form" attr:novalidate="" attr:data-testid="ops-cards">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="idempotency_key" value=form_token/>
                <OpsField form="prepaid_cards" name="account" label=Msg::OpsCustomer error=card_error required=true/>
                <OpsField form="prepaid_cards" name="denomination" label=Msg::Denomination error=card_error required=true/>
                <Submit label=Msg::OpsAssign pending=card.pending()/>
            </ActionForm>
        </section>
    }
}
