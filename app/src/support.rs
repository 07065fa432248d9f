//! The support center's pages: `/support` (the account's tickets, filtered by state, type, the day
//! opened and the title), `/support/new` (a ticket with files) and `/support/{id}` (the thread,
//! a reply with files, close, withdraw, rate). The same `backend` functions as `/api/v1/tickets`.
//!
//! A ticket and a reply carry files, so those two forms are `multipart/form-data` posted to a
//! server function that takes [`MultipartData`]: without WebAssembly the browser posts the form
//! itself and comes back (303) with an error at its field; with it, the form is sent by `fetch`
//! as `FormData` and the app moves to the thread. The other actions are `ActionForm`s.

use billing::support::{TicketState, TicketType};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::form::{FormError, Submit, error_at, focus_first_error, last_error, successes};
use crate::i18n::{Msg, t};

pub(crate) fn type_name(kind: TicketType) -> Msg {
    match kind {
        TicketType::Billing => Msg::TicketTypeBilling,
        TicketType::Payment => Msg::TicketTypePayment,
        TicketType::Invoice => Msg::TicketTypeInvoice,
        TicketType::Account => Msg::TicketTypeAccount,
        TicketType::CancelAccount => Msg::TicketTypeCancelAccount,
        TicketType::Other => Msg::TicketTypeOther,
    }
}

pub(crate) fn state_name(state: TicketState) -> Msg {
    match state {
        TicketState::Open => Msg::TicketStateOpen,
        TicketState::InProgress => Msg::TicketStateInProgress,
        TicketState::Replied => Msg::TicketStateReplied,
        TicketState::Closed => Msg::TicketStateClosed,
        TicketState::Withdrawn => Msg::TicketStateWithdrawn,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRow {
    pub id: i64,
    pub kind: TicketType,
    pub title: String,
    pub state: TicketState,
    pub account: String,
    pub assigned_to: Option<String>,
    pub opened: String,
    pub updated: String,
    pub rating: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub size_kib: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub from_support: bool,
    /// The operator's username (operators' view only).
    pub operator: Option<String>,
    pub body: String,
    pub at: String,
    pub files: Vec<FileView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadView {
    pub ticket: TicketRow,
    pub messages: Vec<MessageView>,
    pub csrf_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketsView {
    pub tickets: Vec<TicketRow>,
}

#[cfg(feature = "ssr")]
pub(crate) fn ticket_row(t: backend::support::TicketSummary) -> TicketRow {
    use crate::wallet::data::when;
    TicketRow {
        id: t.id,
        kind: t.ticket_type,
        title: t.title,
        state: t.state,
        account: t.account,
        assigned_to: t.assigned_to,
        opened: when(t.created_at),
        updated: when(t.updated_at),
        rating: t.rating,
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn thread_view(
    thread: backend::support::TicketThread,
    csrf_token: String,
) -> ThreadView {
    use crate::wallet::data::when;
    ThreadView {
        ticket: ticket_row(thread.ticket),
        messages: thread
            .messages
            .into_iter()
            .map(|m| MessageView {
                from_support: m.author == "operator",
                operator: m.operator,
                body: m.body,
                at: when(m.created_at),
                files: m
                    .attachments
                    .into_iter()
                    .map(|a| FileView {
                        id: a.id,
                        name: a.file_name,
                        size_kib: format!("{:.1} KiB", a.size_bytes as f64 / 1024.0),
                    })
                    .collect(),
            })
            .collect(),
        csrf_token,
    }
}

/// customer: the account's tickets (none when nobody is signed in).
#[server(prefix = "/fn", endpoint = "tickets")]
pub async fn load_tickets(
    #[server(default)] state: String,
    #[server(default)] kind: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] q: String,
) -> Result<Option<TicketsView>, AppError> {
    use crate::server_side::{customer, store};
    let Some(me) = customer().await? else {
        return Ok(None);
    };
    let day = |text: &str, field: &str| {
        (!text.is_empty())
            .then(|| {
                billing::day::parse_day(text)
                    .ok_or_else(|| AppError::new("invalid_field").at(field))
            })
            .transpose()
    };
    let filter = backend::support::TicketFilter {
        state: TicketState::from_code(&state),
        ticket_type: TicketType::from_code(&kind),
        from: day(&from, "from")?,
        to: day(&to, "to")?,
        title: Some(q).filter(|q| !q.trim().is_empty()),
        assigned_to: None,
        page: 1,
        per_page: 100,
    };
    let tickets = store()?.tickets(me.account_id, &filter).await?;
    Ok(Some(TicketsView {
        tickets: tickets.into_iter().map(ticket_row).collect(),
    }))
}

/// customer: one of the account's tickets and its thread.
#[server(prefix = "/fn", endpoint = "ticket")]
pub async fn load_ticket(id: i64) -> Result<Option<ThreadView>, AppError> {
    use crate::server_side::{customer, store};
    let Some(me) = customer().await? else {
        return Ok(None);
    };
    let thread = store()?.ticket(me.account_id, id).await?;
    Ok(Some(thread_view(thread, me.csrf_token)))
}

/// The server functions that take `multipart/form-data` (forms with files): the server refuses
/// another content type (415) and a body over [`MULTIPART_BODY_LIMIT`] (413) before they run.
pub const MULTIPART_FORMS: [&str; 4] = [
    "/fn/open_ticket",
    "/fn/reply_ticket",
    "/fn/submit_enterprise",
    "/fn/answer_ticket",
];

/// Five files of 8 MB and the text fields.
pub const MULTIPART_BODY_LIMIT: usize = 5 * billing::support::MAX_ATTACHMENT_BYTES + 512 * 1024;

/// A multipart form as posted: its text fields and its files.
#[cfg(feature = "ssr")]
pub(crate) struct Posted {
    fields: std::collections::HashMap<String, String>,
    files: Vec<(String, Vec<u8>)>,
}

#[cfg(feature = "ssr")]
impl Posted {
    pub(crate) fn field(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    /// Reads the form of a signed-in customer (or, with `operator`, an operator), refusing a file
    /// over 8 MB, a sixth file, a text field over 64 KiB or more parts than a form has as soon as
    /// they show: the body is read as it arrives, never whole, and not at all for anyone else.
    /// (The server refuses a body that is not `multipart/form-data`, or larger than
    /// [`MULTIPART_BODY_LIMIT`], before this runs: `server::router`.)
    pub(crate) async fn read(data: MultipartData, operator: bool) -> Result<Posted, AppError> {
        use billing::support::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_MESSAGE};
        const MAX_TEXT_BYTES: usize = 64 * 1024;
        const MAX_PARTS: usize = 24;
        let signed_in = if operator {
            crate::server_side::operator().await?.is_some()
        } else {
            crate::server_side::customer().await?.is_some()
        };
        if !signed_in {
            return Err(AppError::unauthorised("session_ended"));
        }
        let unreadable = |_| AppError::new("form_invalid");
        let mut data = data
            .into_inner()
            .ok_or_else(|| AppError::new("form_invalid"))?;
        let mut parts = 0;
        let mut posted = Posted {
            fields: Default::default(),
            files: Vec::new(),
        };
        while let Some(mut field) = data.next_field().await.map_err(unreadable)? {
            parts += 1;
            if parts > MAX_PARTS {
                return Err(AppError::new("form_invalid"));
            }
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
                        return Err(AppError::new("attachment_too_large")
                            .at("file")
                            .with_status(413));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                // A file input left empty still sends a part, without a name or bytes.
                if file_name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if posted.files.len() == MAX_ATTACHMENTS_PER_MESSAGE {
                    return Err(AppError::new("too_many_attachments").at("file"));
                }
                posted.files.push((file_name, bytes));
            } else {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_TEXT_BYTES {
                        return Err(AppError::new("form_invalid"));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(bytes).map_err(|_| AppError::new("form_invalid"))?;
                posted.fields.insert(name, text);
            }
        }
        Ok(posted)
    }

    /// Stores the files as the customer's uploads; their ids, for the message.
    pub(crate) async fn upload(&self, account_id: i64) -> Result<Vec<i64>, AppError> {
        self.upload_as(backend::attachments::Uploader::Customer { account_id })
            .await
    }

    /// Stores the files as `uploader`'s; their ids, for the message.
    pub(crate) async fn upload_as(
        &self,
        uploader: backend::attachments::Uploader,
    ) -> Result<Vec<i64>, AppError> {
        let store = crate::server_side::store()?;
        let mut ids = Vec::with_capacity(self.files.len());
        for (name, bytes) in &self.files {
            let uploaded = store
                .upload_attachment(uploader, name, bytes)
                .await
                .map_err(|e| AppError::from(e).at("file"))?;
            ids.push(uploaded.id);
        }
        Ok(ids)
    }
}

/// customer + CSRF: opens a ticket with its files, then shows it.
#[server(prefix = "/fn", endpoint = "open_ticket", input = MultipartFormData)]
pub async fn open_ticket(data: MultipartData) -> Result<(), AppError> {
    let posted = Posted::read(data, false).await?;
    let typed = [
        ("kind", posted.field("kind")),
        ("title", posted.field("title")),
        ("description", posted.field("description")),
    ];
    let result = async {
        use crate::server_side::{acting_customer, go_to, store};
        let me = acting_customer(&posted.field("csrf")).await?;
        let kind = TicketType::from_code(&posted.field("kind"))
            .ok_or_else(|| AppError::new("ticket_field_invalid").at("kind"))?;
        // Checked before the files are stored, so a refused form leaves no uploads behind.
        for (field, max) in [
            ("title", billing::support::MAX_TITLE_CHARS),
            ("description", billing::support::MAX_MESSAGE_CHARS),
        ] {
            let value = posted.field(field);
            if value.trim().is_empty() || value.chars().count() > max {
                return Err(AppError::new("ticket_field_invalid").at(field));
            }
        }
        let attachments = posted.upload(me.account_id).await?;
        let thread = store()?
            .open_ticket(
                me.account_id,
                &backend::support::NewTicket {
                    ticket_type: kind,
                    title: posted.field("title"),
                    description: posted.field("description"),
                    attachments,
                },
            )
            .await?;
        go_to(&format!("/support/{}", thread.ticket.id));
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: a reply with files; the ticket waits for support again.
#[server(prefix = "/fn", endpoint = "reply_ticket", input = MultipartFormData)]
pub async fn reply_ticket(data: MultipartData) -> Result<(), AppError> {
    let posted = Posted::read(data, false).await?;
    let typed = [("body", posted.field("body"))];
    let result = async {
        use crate::server_side::{acting_customer, go_to, store};
        let me = acting_customer(&posted.field("csrf")).await?;
        let id: i64 = posted
            .field("ticket")
            .parse()
            .map_err(|_| AppError::not_found("ticket_not_found"))?;
        let body = posted.field("body");
        if body.trim().is_empty() || body.chars().count() > billing::support::MAX_MESSAGE_CHARS {
            return Err(AppError::new("ticket_field_invalid").at("body"));
        }
        // The ticket must be this account's and open to replies before files are stored.
        let thread = store()?.ticket(me.account_id, id).await?;
        thread
            .ticket
            .state
            .after(billing::support::TicketAction::CustomerReplies)
            .map_err(backend::support::SupportError::from)?;
        let attachments = posted.upload(me.account_id).await?;
        store()?
            .reply_as_customer(me.account_id, id, &body, &attachments)
            .await?;
        go_to(&format!("/support/{id}?replied=1"));
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: `close` or `withdraw`.
#[server(prefix = "/fn", endpoint = "end_ticket")]
pub async fn end_ticket(
    #[server(default)] csrf: String,
    ticket: i64,
    action: String,
) -> Result<(), AppError> {
    use crate::server_side::{acting_customer, go_to, store};
    let me = acting_customer(&csrf).await?;
    let action = match action.as_str() {
        "close" => billing::support::TicketAction::CustomerCloses,
        "withdraw" => billing::support::TicketAction::CustomerWithdraws,
        _ => return Err(AppError::new("form_invalid")),
    };
    store()?.end_ticket(me.account_id, ticket, action).await?;
    go_to(&format!("/support/{ticket}"));
    Ok(())
}

/// customer + CSRF: rates a closed ticket, 1 to 5.
#[server(prefix = "/fn", endpoint = "rate_ticket")]
pub async fn rate_ticket(
    #[server(default)] csrf: String,
    ticket: i64,
    #[server(default)] rating: String,
) -> Result<(), AppError> {
    use crate::server_side::{acting_customer, go_to, store};
    let me = acting_customer(&csrf).await?;
    let rating: i64 = rating
        .parse()
        .map_err(|_| AppError::new("ticket_field_invalid").at("rating"))?;
    store()?.rate_ticket(me.account_id, ticket, rating).await?;
    go_to(&format!("/support/{ticket}"));
    Ok(())
}

/// The error a plain multipart post of `S` came back with (`__err` in the URL), as
/// `ServerAction::new` reads it for the `ActionForm`s.
pub(crate) fn returned_error<S: ServerFn>() -> Option<AppError> {
    use leptos::server_fn::error::ServerFnUrlError;
    use_context::<leptos::server::ServerActionError>()
        .filter(|error| error.path() == S::PATH)
        .map(|error| ServerFnUrlError::<AppError>::decode_err(error.err()))
}

/// A multipart form: posted by the browser itself without WebAssembly; with it, sent as
/// `FormData` by `send`, which says whether it succeeded (the server function's redirect moves
/// the app on).
#[component]
pub(crate) fn FilesForm(
    action: &'static str,
    testid: &'static str,
    error: RwSignal<Option<AppError>>,
    pending: RwSignal<bool>,
    send: fn(
        MultipartData,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>,
    /// Counts the successful sends (a page reads its data again after each).
    done: RwSignal<usize>,
    children: Children,
) -> impl IntoView {
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            event.prevent_default();
            let Some(form) = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Ok(data) = web_sys::FormData::new_with_form(&form) else {
                return;
            };
            pending.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                let result = send(data.into()).await;
                pending.set(false);
                match result {
                    Ok(()) => done.update(|n| *n += 1),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (event, pending, send, error, done);
    };
    view! {
        <form method="post" action=action enctype="multipart/form-data" class="card auth-form"
            novalidate="" data-testid=testid on:submit=on_submit>
            {children()}
        </form>
    }
}

/// The file field of a multipart form (`file`): several files for a message, one for a licence.
#[component]
pub(crate) fn FileInput(
    error: Signal<Option<Msg>>,
    #[prop(default = Msg::TicketFiles)] label: Msg,
    #[prop(default = Msg::TicketFilesHint)] hint: Msg,
    #[prop(default = true)] multiple: bool,
    #[prop(default = ".png,.jpg,.jpeg,.pdf,.xlsx,.zip,.txt,image/png,image/jpeg,application/pdf")]
    accept: &'static str,
    #[prop(default = "ticket-files")] testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for="f-file">{t(label)}</label>
            <input id="f-file" type="file" name="file" multiple=multiple accept=accept
                aria-invalid=move || error.get().map(|_| "true") aria-describedby="f-file-hint" data-testid=testid/>
            {move || match error.get() {
                Some(e) => view! { <p class="field-error" data-testid="error-file">{t(e)}</p> }.into_any(),
                None => view! { <p class="hint" id="f-file-hint">{t(hint)}</p> }.into_any(),
            }}
        </div>
    }
}

/// A ticket's thread, oldest message first, with its files. `customer` is the customer's username
/// when an operator reads it (each author named, files from the operators' download route); none
/// when the customer does ("Support" and "You").
#[component]
pub(crate) fn Thread(
    messages: Vec<MessageView>,
    #[prop(optional)] customer: Option<String>,
) -> impl IntoView {
    let files = if customer.is_some() {
        "/ops/attachments"
    } else {
        "/api/v1/attachments"
    };
    view! {
        <ol class="thread" data-testid="thread">
            {messages.into_iter().map(|m| {
                let author = match (&customer, m.from_support) {
                    (None, true) => t(Msg::FromSupport).to_owned(),
                    (None, false) => t(Msg::FromYou).to_owned(),
                    (Some(_), true) => m.operator.clone().unwrap_or_default(),
                    (Some(customer), false) => customer.clone(),
                };
                view! {
                    <li class="message" class:from-support=m.from_support data-testid="message">
                        <p class="meta"><strong>{author}</strong>" · "{m.at.clone()}</p>
                        <p class="body" style="white-space: pre-wrap">{m.body.clone()}</p>
                        {(!m.files.is_empty()).then(|| view! {
                            <ul class="files">
                                {m.files.into_iter().map(|f| view! {
                                    <li><a href=format!("{files}/{}", f.id) rel="external" download=f.name.clone() data-testid="attachment">{f.name.clone()}</a>" ("{f.size_kib.clone()}")"</li>
                                }).collect_view()}
                            </ul>
                        })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[component]
pub fn SupportPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let tickets = Resource::new(
        move || {
            (
                param("state"),
                param("kind"),
                param("from"),
                param("to"),
                param("q"),
            )
        },
        |(state, kind, from, to, q)| load_tickets(state, kind, from, to, q),
    );
    view! {
        <Title text=t(Msg::SupportTitle)/>
        <h1>{t(Msg::SupportTitle)}</h1>
        <p>{t(Msg::SupportIntro)}</p>
        <p><A href="/support/new" attr:class="button" attr:data-testid="new-ticket">{t(Msg::NewTicket)}</A></p>
        <form method="get" action="/support" class="filters" data-testid="ticket-filters">
            <label>{t(Msg::TicketState)}" "
                <select name="state">
                    <option value="">{t(Msg::AnyState)}</option>
                    {TicketState::ALL.into_iter().map(|s| view! {
                        <option value=s.code() selected=move || param("state") == s.code()>{t(state_name(s))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t(Msg::TicketKind)}" "
                <select name="kind">
                    <option value="">{t(Msg::AnyType)}</option>
                    {TicketType::ALL.into_iter().map(|k| view! {
                        <option value=k.code() selected=move || param("kind") == k.code()>{t(type_name(k))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t(Msg::From)}" "<input type="date" name="from" value=move || param("from")/></label>
            <label>{t(Msg::To)}" "<input type="date" name="to" value=move || param("to")/></label>
            <label>{t(Msg::TitleContains)}" "<input type="search" name="q" value=move || param("q") data-testid="ticket-search"/></label>
            <button type="submit" class="button secondary">{t(Msg::Filter)}</button>
        </form>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                match tickets.await {
                    Ok(None) => crate::form::sign_in_first(),
                    Err(e) => crate::form::load_failed(&e),
                    Ok(Some(view)) if view.tickets.is_empty() => view! { <p class="notice" data-testid="no-tickets">{t(Msg::NoTickets)}</p> }.into_any(),
                    Ok(Some(view)) => view! {
                        <div class="table-scroll"><table data-testid="tickets">
                            <thead><tr>
                                <th>{t(Msg::TicketTitleField)}</th><th>{t(Msg::TicketKind)}</th>
                                <th>{t(Msg::TicketState)}</th><th>{t(Msg::TicketOpenedAt)}</th><th>{t(Msg::TicketUpdatedAt)}</th>
                            </tr></thead>
                            <tbody>
                                {view.tickets.into_iter().map(|row| view! {
                                    <tr data-testid="ticket-row">
                                        <td><A href=format!("/support/{}", row.id)>{row.title.clone()}</A></td>
                                        <td>{t(type_name(row.kind))}</td>
                                        <td data-testid="ticket-state">{t(state_name(row.state))}</td>
                                        <td>{row.opened.clone()}</td>
                                        <td>{row.updated.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

fn send_open_ticket(
    data: MultipartData,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>> {
    Box::pin(open_ticket(data))
}

fn send_reply(
    data: MultipartData,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>> {
    Box::pin(reply_ticket(data))
}

#[component]
pub fn NewTicketPage() -> impl IntoView {
    let session = Resource::new(|| (), |_| crate::account::load_session());
    let error = RwSignal::new(returned_error::<OpenTicket>());
    let pending = RwSignal::new(false);
    let error_signal = Signal::derive(move || error.get());
    focus_first_error(error_signal);
    let typed = move |field: &str| {
        error
            .get_untracked()
            .and_then(|e| e.typed(field))
            .unwrap_or_default()
    };
    // Made here, not inside the `Suspend` (which disposes what it made when it renders again).
    let (title_error, description_error, file_error) = (
        error_at(error_signal, "title"),
        error_at(error_signal, "description"),
        error_at(error_signal, "file"),
    );
    let done = RwSignal::new(0);
    view! {
        <Title text=t(Msg::NewTicket)/>
        <p><A href="/support">{t(Msg::BackToTickets)}</A></p>
        <h1>{t(Msg::NewTicket)}</h1>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let Ok(Some(session)) = session.await else {
                    return crate::form::sign_in_first();
                };
                let csrf = session.csrf_token.clone();
                let kind = typed("kind");
                view! {
                    <FilesForm action=OpenTicket::PATH testid="new-ticket-form" error pending send=send_open_ticket done>
                        <FormError message=Signal::derive(move || error.get().and_then(|e| e.outside(&["kind", "title", "description", "file"])))/>
                        <input type="hidden" name="csrf" value=csrf/>
                        <div class="field">
                            <label for="f-kind">{t(Msg::TicketKind)}</label>
                            <select id="f-kind" name="kind" data-testid="ticket-kind">
                                {TicketType::ALL.into_iter().map(|k| view! {
                                    <option value=k.code() selected=kind == k.code()>{t(type_name(k))}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        <crate::form::Field name="title" label=Msg::TicketTitleField value=typed("title")
                            error=title_error required=true/>
                        <div class="field" class:has-error=move || error.get().is_some_and(|e| e.field.as_deref() == Some("description"))>
                            <label for="f-description">{t(Msg::TicketDescription)}</label>
                            <textarea id="f-description" name="description" rows="6" required=true data-testid="ticket-description"
                                aria-invalid=move || error.get().filter(|e| e.field.as_deref() == Some("description")).map(|_| "true")>
                                {typed("description")}
                            </textarea>
                            {move || description_error.get().map(|e| view! { <p class="field-error" data-testid="error-description">{t(e)}</p> })}
                        </div>
                        <FileInput error=file_error/>
                        <Submit label=Msg::SubmitTicket pending=Signal::derive(move || pending.get()) testid="submit-ticket"/>
                    </FilesForm>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let end = ServerAction::<EndTicket>::new();
    let rate = ServerAction::<RateTicket>::new();
    let reply_error = RwSignal::new(returned_error::<ReplyTicket>());
    let reply_pending = RwSignal::new(false);
    let reply_signal = Signal::derive(move || reply_error.get());
    focus_first_error(reply_signal);
    let (body_error, file_error) = (
        error_at(reply_signal, "body"),
        error_at(reply_signal, "file"),
    );
    let replies = RwSignal::new(0);
    let ended = successes(end);
    let rated = successes(rate);
    let thread = Resource::new(
        move || (id(), ended.get(), rated.get(), replies.get()),
        |(id, _, _, _)| load_ticket(id),
    );
    let end_error = last_error(end);
    let rate_error = last_error(rate);
    view! {
        <Title text=t(Msg::SupportTitle)/>
        <p><A href="/support">{t(Msg::BackToTickets)}</A></p>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let view = match thread.await {
                    Ok(Some(view)) => view,
                    Ok(None) => return crate::form::sign_in_first(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let ticket = view.ticket.clone();
                let csrf_reply = view.csrf_token.clone();
                let csrf_close = view.csrf_token.clone();
                let csrf_withdraw = view.csrf_token.clone();
                let csrf_rate = view.csrf_token.clone();
                let state = ticket.state;
                let typed_body = reply_error.get_untracked().and_then(|e| e.typed("body")).unwrap_or_default();
                view! {
                    <h1 data-testid="ticket-title">{ticket.title.clone()}</h1>
                    <p>
                        <span class="badge" data-testid="ticket-state">{t(state_name(state))}</span>" · "
                        {t(type_name(ticket.kind))}" · "{t(Msg::TicketOpenedAt)}" "{ticket.opened.clone()}
                    </p>
                    <Thread messages=view.messages/>
                    {if state.is_final() {
                        view! { <p class="notice" data-testid="ticket-final">{t(Msg::TicketFinal)}</p> }.into_any()
                    } else {
                        view! {
                            <h2>{t(Msg::ReplyToTicket)}</h2>
                            <FilesForm action=ReplyTicket::PATH testid="reply-form" error=reply_error pending=reply_pending send=send_reply done=replies>
                                <FormError message=Signal::derive(move || reply_error.get().and_then(|e| e.outside(&["body", "file"])))/>
                                <input type="hidden" name="csrf" value=csrf_reply/>
                                <input type="hidden" name="ticket" value=ticket.id.to_string()/>
                                <div class="field">
                                    <label for="f-body">{t(Msg::ReplyToTicket)}</label>
                                    <textarea id="f-body" name="body" rows="4" data-testid="reply-body">{typed_body}</textarea>
                                    {move || body_error.get().map(|e| view! { <p class="field-error" data-testid="error-body">{t(e)}</p> })}
                                </div>
                                <FileInput error=file_error/>
                                <Submit label=Msg::SendReply pending=Signal::derive(move || reply_pending.get()) testid="send-reply"/>
                            </FilesForm>
                        }.into_any()
                    }}
                    <FormError message=Signal::derive(move || end_error.get().map(|e| e.message()))/>
                    {(!state.is_final()).then(|| {
                        let withdraw = state.after(billing::support::TicketAction::CustomerWithdraws).is_ok();
                        view! {
                            <ActionForm action=end attr:class="inline-form ticket-action">
                                <input type="hidden" name="csrf" value=csrf_close/>
                                <input type="hidden" name="ticket" value=ticket.id.to_string()/>
                                <input type="hidden" name="action" value="close"/>
                                <Submit label=Msg::CloseTicket pending=end.pending() testid="close-ticket" secondary=true/>
                            </ActionForm>
                            {withdraw.then(|| view! {
                                <ActionForm action=end attr:class="inline-form ticket-action">
                                    <input type="hidden" name="csrf" value=csrf_withdraw/>
                                    <input type="hidden" name="ticket" value=ticket.id.to_string()/>
                                    <input type="hidden" name="action" value="withdraw"/>
                                    <Submit label=Msg::WithdrawTicket pending=end.pending() testid="withdraw-ticket" secondary=true/>
                                </ActionForm>
                            })}
                        }
                    })}
                    {match (state.may_rate(), ticket.rating) {
                        (true, Some(rating)) => view! { <p data-testid="rating">{t(Msg::RatedAs)}": "{"★".repeat(rating.clamp(0, 5) as usize)}</p> }.into_any(),
                        (true, None) => view! {
                            <ActionForm action=rate attr:class="card">
                                <FormError message=Signal::derive(move || rate_error.get().map(|e| e.message()))/>
                                <input type="hidden" name="csrf" value=csrf_rate/>
                                <input type="hidden" name="ticket" value=ticket.id.to_string()/>
                                <fieldset>
                                    <legend>{t(Msg::RateTicket)}</legend>
                                    {(1..=5).map(|n| view! {
                                        <label class="check"><input type="radio" name="rating" value=n.to_string() data-testid=format!("rate-{n}")/>" "{n}</label>
                                    }).collect_view()}
                                </fieldset>
                                <Submit label=Msg::SendRating pending=rate.pending() testid="send-rating"/>
                            </ActionForm>
                        }.into_any(),
                        (false, _) => ().into_any(),
                    }}
                }.into_any()
            })}
        </Transition>
    }
}
