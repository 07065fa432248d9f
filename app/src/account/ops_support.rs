//! The operators' side of the support center: the work queue on `/ops` (enterprise submissions to
//! review, tickets nobody took, the operator's tickets waiting for an answer) and
//! `/ops/tickets/{id}` (the thread, take it, answer it). Every view and act is audited by the
//! `backend` functions these call, the same as `/api/v1/ops/queue` and `/api/v1/ops/tickets`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::form::{FormError, Submit, error_at, focus_first_error, last_error, successes};
use crate::i18n::{Msg, t};
use crate::support::{
    FileInput, FilesForm, Thread, ThreadView, TicketRow, returned_error, state_name, type_name,
};
use leptos::server_fn::ServerFn;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRow {
    pub account_id: i64,
    pub account: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub submitted: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkQueueView {
    pub reviews: Vec<ReviewRow>,
    pub unassigned: Vec<TicketRow>,
    pub mine: Vec<TicketRow>,
}

/// operator: what waits (none when no operator is signed in).
#[server(prefix = "/fn", endpoint = "work_queue")]
pub async fn load_work_queue() -> Result<Option<WorkQueueView>, AppError> {
    use crate::server_side::{operator, store};
    let Some(me) = operator().await? else {
        return Ok(None);
    };
    let queue = store()?.work_queue(me.operator_id).await?;
    Ok(Some(WorkQueueView {
        reviews: queue
            .enterprise_reviews
            .into_iter()
            .map(|r| ReviewRow {
                account_id: r.account_id,
                account: r.account,
                enterprise_name: r.enterprise_name,
                credit_code: r.credit_code,
                submitted: crate::wallet::data::when(r.submitted_at),
            })
            .collect(),
        unassigned: queue
            .unassigned_tickets
            .into_iter()
            .map(crate::support::ticket_row)
            .collect(),
        mine: queue
            .my_tickets
            .into_iter()
            .map(crate::support::ticket_row)
            .collect(),
    }))
}

/// operator: a ticket and its thread; the view is audited.
#[server(prefix = "/fn", endpoint = "ops_ticket")]
pub async fn load_ops_ticket(id: i64) -> Result<Option<ThreadView>, AppError> {
    use crate::server_side::{client, operator, store};
    let Some(me) = operator().await? else {
        return Ok(None);
    };
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    let thread = store.ticket_for_operator(&acting, id, &client()).await?;
    Ok(Some(crate::support::thread_view(thread, me.csrf_token)))
}

/// operator + CSRF: takes the ticket.
#[server(prefix = "/fn", endpoint = "take_ticket")]
pub async fn take_ticket(#[server(default)] csrf: String, ticket: i64) -> Result<(), AppError> {
    use crate::server_side::{acting_operator, client, go_to, store};
    let me = acting_operator(&csrf).await?;
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    store
        .assign_ticket(&acting, ticket, None, &client())
        .await?;
    go_to(&format!("/ops/tickets/{ticket}"));
    Ok(())
}

/// operator + CSRF: answers the ticket, with files; the customer is mailed.
#[server(prefix = "/fn", endpoint = "answer_ticket", input = MultipartFormData)]
pub async fn answer_ticket(data: MultipartData) -> Result<(), AppError> {
    use crate::server_side::{acting_operator, client, go_to, store};
    let posted = crate::support::Posted::read(data, true).await?;
    let me = acting_operator(&posted.field("csrf")).await?;
    let ticket: i64 = posted
        .field("ticket")
        .parse()
        .map_err(|_| AppError::not_found("ticket_not_found"))?;
    let body = posted.field("body");
    if body.trim().is_empty() || body.chars().count() > billing::support::MAX_MESSAGE_CHARS {
        return Err(AppError::new("ticket_field_invalid").at("body"));
    }
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    let attachments = posted
        .upload_as(backend::attachments::Uploader::Operator {
            operator_id: me.operator_id,
        })
        .await?;
    store
        .reply_as_operator(&acting, ticket, &body, &attachments, &client())
        .await?;
    go_to(&format!("/ops/tickets/{ticket}?answered=1"));
    Ok(())
}

fn send_answer(
    data: MultipartData,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>> {
    Box::pin(answer_ticket(data))
}

#[component]
fn TicketTable(rows: Vec<TicketRow>, testid: &'static str) -> impl IntoView {
    view! {
        <div class="table-scroll"><table data-testid=testid>
            <thead><tr>
                <th>{t(Msg::TicketTitleField)}</th><th>{t(Msg::AuditAccount)}</th><th>{t(Msg::TicketKind)}</th>
                <th>{t(Msg::TicketState)}</th><th>{t(Msg::TicketUpdatedAt)}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|row| view! {
                    <tr>
                        <td><A href=format!("/ops/tickets/{}", row.id)>{row.title.clone()}</A></td>
                        <td>{row.account.clone()}</td>
                        <td>{t(type_name(row.kind))}</td>
                        <td>{t(state_name(row.state))}</td>
                        <td>{row.updated.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// The work queue, on `/ops` once an operator is signed in.
#[component]
pub fn WorkQueue() -> impl IntoView {
    let queue = Resource::new(|| (), |_| load_work_queue());
    view! {
        <section class="card" data-testid="work-queue">
            <h2>{t(Msg::OpsQueueTitle)}</h2>
            <p><A href="/ops/accounts" attr:data-testid="ops-accounts-link">{t(Msg::OpsAccountsTitle)}</A></p>
            <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
                {move || Suspend::new(async move {
                    let Ok(Some(queue)) = queue.await else {
                        return ().into_any();
                    };
                    if queue.reviews.is_empty() && queue.unassigned.is_empty() && queue.mine.is_empty() {
                        return view! { <p data-testid="queue-empty">{t(Msg::OpsNothingWaits)}</p> }.into_any();
                    }
                    view! {
                        {(!queue.reviews.is_empty()).then(|| view! {
                            <h3>{t(Msg::OpsReviews)}</h3>
                            <ul data-testid="queue-reviews">
                                {queue.reviews.clone().into_iter().map(|r| view! {
                                    <li><A href=format!("/ops/enterprise/{}", r.account_id)>{r.enterprise_name.clone()}</A>
                                        {format!(" · {} · {} · {}", r.credit_code, r.account, r.submitted)}</li>
                                }).collect_view()}
                            </ul>
                        })}
                        {(!queue.unassigned.is_empty()).then(|| view! {
                            <h3>{t(Msg::OpsUnassignedTickets)}</h3>
                            <TicketTable rows=queue.unassigned.clone() testid="queue-unassigned"/>
                        })}
                        {(!queue.mine.is_empty()).then(|| view! {
                            <h3>{t(Msg::OpsMyTickets)}</h3>
                            <TicketTable rows=queue.mine.clone() testid="queue-mine"/>
                        })}
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn OpsTicketPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let take = ServerAction::<TakeTicket>::new();
    let answer_error = RwSignal::new(returned_error::<AnswerTicket>());
    let answer_pending = RwSignal::new(false);
    let answered = RwSignal::new(0);
    let taken = successes(take);
    let thread = Resource::new(
        move || (id(), taken.get(), answered.get()),
        |(id, _, _)| load_ops_ticket(id),
    );
    let answer_signal = Signal::derive(move || answer_error.get());
    let take_error = last_error(take);
    focus_first_error(answer_signal);
    let (body_error, file_error) = (
        error_at(answer_signal, "body"),
        error_at(answer_signal, "file"),
    );
    view! {
        <Title text=t(Msg::OpsTitle)/>
        <p><A href="/ops">{t(Msg::OpsQueueTitle)}</A></p>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let view = match thread.await {
                    Ok(Some(view)) => view,
                    Ok(None) => return view! { <p class="notice"><A href="/ops">{t(Msg::OpsSignInTitle)}</A></p> }.into_any(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let ticket = view.ticket.clone();
                let (csrf_take, csrf_answer) = (view.csrf_token.clone(), view.csrf_token.clone());
                let state = ticket.state;
                view! {
                    <h1 data-testid="ticket-title">{ticket.title.clone()}</h1>
                    <p>
                        <span class="badge" data-testid="ticket-state">{t(state_name(state))}</span>" · "
                        {t(type_name(ticket.kind))}" · "{ticket.account.clone()}" · "{ticket.opened.clone()}
                        {ticket.assigned_to.clone().map(|who| format!(" · {who}"))}
                    </p>
                    <Thread messages=view.messages customer=ticket.account.clone()/>
                    {(!state.is_final()).then(|| view! {
                        <FormError message=Signal::derive(move || take_error.get().map(|e| e.message()))/>
                        {(state == billing::support::TicketState::Open && ticket.assigned_to.is_none()).then(|| view! {
                            <ActionForm action=take attr:class="inline-form ticket-action">
                                <input type="hidden" name="csrf" value=csrf_take.clone()/>
                                <input type="hidden" name="ticket" value=ticket.id.to_string()/>
                                <Submit label=Msg::OpsTake pending=take.pending() testid="take-ticket" secondary=true/>
                            </ActionForm>
                        })}
                        <h2>{t(Msg::OpsAnswer)}</h2>
                        <FilesForm action=AnswerTicket::PATH testid="answer-form" error=answer_error pending=answer_pending send=send_answer done=answered>
                            <FormError message=Signal::derive(move || answer_error.get().and_then(|e| e.outside(&["body", "file"])))/>
                            <input type="hidden" name="csrf" value=csrf_answer.clone()/>
                            <input type="hidden" name="ticket" value=ticket.id.to_string()/>
                            <div class="field">
                                <label for="f-answer">{t(Msg::OpsAnswer)}</label>
                                <textarea id="f-answer" name="body" rows="4" data-testid="answer-body"></textarea>
                                {move || body_error.get().map(|e| view! { <p class="field-error" data-testid="error-body">{t(e)}</p> })}
                            </div>
                            <FileInput error=file_error testid="answer-files"/>
                            <Submit label=Msg::SendReply pending=Signal::derive(move || answer_pending.get()) testid="send-answer"/>
                        </FilesForm>
                    })}
                }.into_any()
            })}
        </Transition>
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHitRow {
    pub account_id: i64,
    pub username: String,
    pub email: String,
    pub enterprise: String,
    pub workspaces: String,
}

/// operator: accounts matching `q` (audited); none for anyone else or an empty query.
#[server(prefix = "/fn", endpoint = "ops_accounts")]
pub async fn search_accounts(
    #[server(default)] q: String,
) -> Result<Option<Vec<AccountHitRow>>, AppError> {
    use crate::server_side::{client, operator, store};
    let Some(me) = operator().await? else {
        return Ok(None);
    };
    if q.trim().is_empty() {
        return Ok(Some(Vec::new()));
    }
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    let hits = store.search_accounts(&acting, &q, &client()).await?;
    Ok(Some(
        hits.into_iter()
            .map(|h| AccountHitRow {
                account_id: h.account_id,
                username: h.username,
                email: h.email,
                enterprise: h.enterprise_name.unwrap_or_default(),
                workspaces: h.workspaces.join(", "),
            })
            .collect(),
    ))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierView {
    pub account_id: i64,
    pub username: String,
    pub email: String,
    pub cash: String,
    pub arrears: String,
    pub enterprise: String,
    /// (workspace, name, bound at)
    pub workspaces: Vec<(String, String, String)>,
    /// (month, workspace, total)
    pub monthly_bills: Vec<(String, String, String)>,
    pub tickets: Vec<TicketRow>,
    /// (when, kind, memo, cash change)
    pub movements: Vec<(String, Msg, String, String)>,
}

/// operator: one account's dossier (audited).
#[server(prefix = "/fn", endpoint = "ops_account")]
pub async fn load_dossier(account: i64) -> Result<Option<DossierView>, AppError> {
    use crate::server_side::{client, operator, store};
    use billing::format_cny;
    let Some(me) = operator().await? else {
        return Ok(None);
    };
    let store = store()?;
    let acting = store.operator_by_id(me.operator_id).await?;
    let d = store.account_dossier(&acting, account, &client()).await?;
    let when = crate::wallet::data::when;
    Ok(Some(DossierView {
        account_id: d.account_id,
        username: d.username.unwrap_or_default(),
        email: d.email.unwrap_or_default(),
        cash: format_cny(d.cash.as_decimal()),
        arrears: format_cny(d.arrears.as_decimal()),
        enterprise: match (d.enterprise.enterprise_name, d.enterprise.credit_code) {
            (Some(name), Some(code)) => format!("{name} · {code} · {}", d.enterprise.state.code()),
            _ => d.enterprise.state.code().to_owned(),
        },
        workspaces: d
            .workspaces
            .into_iter()
            .map(|w| (w.workspace_id, w.name, when(w.bound_at)))
            .collect(),
        monthly_bills: d
            .monthly_bills
            .into_iter()
            .map(|b| (b.month, b.workspace_id, format_cny(b.total.as_decimal())))
            .collect(),
        tickets: d
            .tickets
            .into_iter()
            .map(crate::support::ticket_row)
            .collect(),
        movements: d
            .movements
            .into_iter()
            .map(|m| {
                (
                    when(m.at),
                    crate::account::movement_name(m.kind),
                    m.memo,
                    format_cny(billing::money::signed_fen(m.cash_fen)),
                )
            })
            .collect(),
    }))
}

/// `/ops/accounts?q=`: find an account; `/ops/accounts/{id}`: its dossier. Both audited.
#[component]
pub fn OpsAccountsPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let q = move || query.with(|q| q.get("q").unwrap_or_default());
    let hits = Resource::new(q, search_accounts);
    view! {
        <Title text=t(Msg::OpsAccountsTitle)/>
        <p><A href="/ops">{t(Msg::OpsQueueTitle)}</A></p>
        <h1>{t(Msg::OpsAccountsTitle)}</h1>
        <form method="get" action="/ops/accounts" class="filters">
            <label>{t(Msg::OpsAccountsSearch)}" "<input type="search" name="q" value=q data-testid="account-search"/></label>
            <button type="submit" class="button secondary">{t(Msg::Filter)}</button>
        </form>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match hits.await {
                    Ok(None) => view! { <p class="notice"><A href="/ops">{t(Msg::OpsSignInTitle)}</A></p> }.into_any(),
                    Err(e) => crate::form::load_failed(&e),
                    Ok(Some(rows)) => view! {
                        <div class="table-scroll"><table data-testid="account-hits">
                            <thead><tr><th>{t(Msg::Username)}</th><th>{t(Msg::Email)}</th><th>{t(Msg::EnterpriseName)}</th><th>{t(Msg::NavWorkspaces)}</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|h| view! {
                                    <tr><td><A href=format!("/ops/accounts/{}", h.account_id)>{h.username}</A></td><td>{h.email}</td>
                                        <td>{h.enterprise}</td><td>{h.workspaces}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn OpsAccountPage() -> impl IntoView {
    let params = use_params_map();
    let account = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let dossier = Resource::new(account, load_dossier);
    view! {
        <Title text=t(Msg::OpsAccountsTitle)/>
        <p><A href="/ops/accounts">{t(Msg::OpsAccountsTitle)}</A></p>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let d = match dossier.await {
                    Ok(Some(d)) => d,
                    Ok(None) => return view! { <p class="notice"><A href="/ops">{t(Msg::OpsSignInTitle)}</A></p> }.into_any(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                view! {
                    <h1 data-testid="dossier-username">{d.username.clone()}</h1>
                    <dl class="details">
                        <dt>{t(Msg::Email)}</dt><dd>{d.email.clone()}</dd>
                        <dt>{t(Msg::EnterpriseTitle)}</dt><dd>
                            <A href=format!("/ops/enterprise/{}", d.account_id)>{d.enterprise.clone()}</A></dd>
                        <dt>{t(Msg::Cash)}</dt><dd data-testid="dossier-cash">{d.cash.clone()}</dd>
                        <dt>{t(Msg::Arrears)}</dt><dd>{d.arrears.clone()}</dd>
                    </dl>
                    <section class="card"><h2>{t(Msg::NavWorkspaces)}</h2>
                        <ul data-testid="dossier-workspaces">{d.workspaces.into_iter().map(|(id, name, at)| view! {
                            <li><code>{id}</code>" "{name}" · "{at}</li>
                        }).collect_view()}</ul>
                    </section>
                    <section class="card"><h2>{t(Msg::NavBills)}</h2>
                        <div class="table-scroll"><table>
                            <tbody>{d.monthly_bills.into_iter().map(|(month, ws, total)| view! {
                                <tr><td>{month}</td><td><code>{ws}</code></td><td class="num">{total}</td></tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    </section>
                    <section class="card"><h2>{t(Msg::SupportTitle)}</h2>
                        <TicketTable rows=d.tickets testid="dossier-tickets"/>
                    </section>
                    <section class="card"><h2>{t(Msg::OpsHistory)}</h2>
                        <div class="table-scroll"><table data-testid="dossier-movements">
                            <tbody>{d.movements.into_iter().map(|(at, kind, memo, cash)| view! {
                                <tr><td>{at}</td><td>{t(kind)}</td><td>{memo}</td><td class="num">{cash}</td></tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}
