//! The support center and the attachment store: customers' tickets (`/tickets`), uploads
//! (`/attachments`), and the operators' side (`/ops/tickets`, `/ops/attachments`, `/ops/queue`).
//! Each handler reads its input and calls one `backend` function; the rules are there.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::Store;
use backend::attachments::{Attachment, AttachmentFile, Reader, Uploader};
use backend::support::{NewTicket, TicketFilter, TicketSummary, TicketThread};
use billing::support::{TicketAction, TicketState, TicketType};
use serde::Deserialize;

use super::{ApiError, ApiErrorBody, json, schema};
use crate::auth::{ClientAddress, CustomerSession, OperatorToken};

/// An upload is at most 8 MB; the route's body limit lets one byte more through, so that the
/// backend answers `attachment_too_large` itself.
pub(super) const UPLOAD_BODY_LIMIT: usize = billing::support::MAX_ATTACHMENT_BYTES + 1;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, shown on download (cleaned; the extension of the type its content has
    /// is added when it differs).
    #[param(max_length = 255)]
    file_name: String,
}

fn upload_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment_too_large",
                "the file is larger than 8 MB",
            )
            .with_field(Some("file"))
        } else {
            ApiError::bad_request("invalid_request", rejection.body_text())
        }
    })
}

/// A path's id: one that is not a number (or out of range) gets the same 404 as a missing one.
pub(super) fn path_id(text: &str, missing: impl FnOnce() -> ApiError) -> Result<i64, ApiError> {
    text.parse().map_err(|_| missing())
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::unprocessable("invalid_request", e.body_text()))
}

/// Upload a file
///
/// customer + X-CSRF-Token: the request body is the file itself (any Content-Type; at most
/// 8 MB). Its type is found from its content: PNG, JPEG, PDF, XLSX, ZIP or UTF-8 text; anything
/// else is refused. Name its id in a ticket, a reply or an enterprise submission, once.
#[utoipa::path(
    post,
    path = "/attachments",
    tag = "support",
    security(("session" = [], "csrf" = [])),
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 201, description = "Stored", body = schema::Attachment),
        (status = 413, description = "`attachment_too_large` (field `file`)", body = ApiErrorBody),
        (status = 422, description = "`attachment_type_refused` or `attachment_empty` (field `file`), `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn upload(
    State(store): State<Store>,
    session: CustomerSession,
    params: Result<Query<UploadQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    session.require_csrf_header()?;
    let params = query(params)?;
    let body = upload_body(body)?;
    let account_id = session.account_id;
    let attachment = store
        .upload_attachment(Uploader::Customer { account_id }, &params.file_name, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// The file as a download: never shown inline, never sniffed into another type.
pub(crate) fn download(file: AttachmentFile) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        file.attachment
            .file_name
            .chars()
            .map(|c| if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            })
            .collect::<String>(),
        percent_encode(&file.attachment.file_name)
    );
    let mut response = file.content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.attachment.kind.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// RFC 5987 encoding of a file name for `filename*`.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Download a file
///
/// customer: one of the account's files (its uploads, its tickets' attachments from either
/// side, its licence). Anyone else's is `attachment_not_found`, as a missing one.
#[utoipa::path(
    get,
    path = "/attachments/{id}",
    tag = "support",
    security(("session" = [])),
    params(("id" = i64, Path, description = "The attachment")),
    responses(
        (status = 200, description = "The file, as an attachment (`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`)", content(
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/zip"),
            (String = "text/plain"),
        )),
        (status = 404, description = "`attachment_not_found`", body = ApiErrorBody),
    ),
)]
pub async fn attachment(
    State(store): State<Store>,
    session: CustomerSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::AttachmentNotFound)
    })?;
    let account_id = session.account_id;
    let file = store
        .attachment_file(Reader::Customer { account_id }, id)
        .await?;
    Ok(download(file))
}

/// A list's filters, as the query string gives them.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// `open`, `in_progress`, `replied`, `closed` or `withdrawn`.
    #[param(value_type = Option<schema::TicketState>)]
    state: Option<String>,
    /// `billing`, `payment`, `invoice`, `account`, `cancel_account` or `other`.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<schema::TicketType>)]
    ticket_type: Option<String>,
    /// Opened on or after this day (settlement timezone), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// Opened on or before this day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Part of the title.
    #[param(max_length = 100)]
    q: Option<String>,
    /// Operators: `me`, `none` (nobody took it) or an operator's username.
    #[param(max_length = 64)]
    assigned: Option<String>,
    /// From 1 (default 1).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100000)]
    page: Option<String>,
    /// 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
}

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError::unprocessable("invalid_field", message).with_field(Some(field))
}

impl TicketQuery {
    fn filter(&self) -> Result<TicketFilter, ApiError> {
        let day = |text: &Option<String>, field: &'static str| {
            text.as_deref()
                .map(|t| {
                    billing::day::parse_day(t).ok_or_else(|| {
                        invalid(field, format!("{field} must be a date like 2026-11-01"))
                    })
                })
                .transpose()
        };
        let number = |text: &Option<String>, field: &'static str, default: u32, max: u32| match text
        {
            None => Ok(default),
            Some(t) => t
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| invalid(field, format!("{field} must be 1 to {max}"))),
        };
        let filter = TicketFilter {
            state: self
                .state
                .as_deref()
                .map(|s| {
                    TicketState::from_code(s)
                        .ok_or_else(|| invalid("state", format!("no ticket state '{s}'")))
                })
                .transpose()?,
            ticket_type: self
                .ticket_type
                .as_deref()
                .map(|s| {
                    TicketType::from_code(s)
                        .ok_or_else(|| invalid("type", format!("no ticket type '{s}'")))
                })
                .transpose()?,
            from: day(&self.from, "from")?,
            to: day(&self.to, "to")?,
            title: self.q.clone(),
            assigned_to: None,
            page: number(&self.page, "page", 1, 100_000)?,
            per_page: number(&self.per_page, "per_page", 20, 100)?,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to < from
        {
            return Err(invalid("to", "to must not be before from".into()));
        }
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 100) {
            return Err(invalid("q", "q is at most 100 characters".into()));
        }
        Ok(filter)
    }
}

/// The account's tickets
///
/// customer: newest first, filtered by state, type, the day opened and a part of the title.
#[utoipa::path(
    get,
    path = "/tickets",
    tag = "support",
    security(("session" = [])),
    params(TicketQuery),
    responses(
        (status = 200, description = "The tickets", body = Vec<schema::TicketSummary>),
        (status = 422, description = "`invalid_field` (with `field`) or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn tickets(
    State(store): State<Store>,
    session: CustomerSession,
    params: Result<Query<TicketQuery>, QueryRejection>,
) -> Result<Json<Vec<TicketSummary>>, ApiError> {
    let params = query(params)?;
    if params.assigned.is_some() {
        return Err(invalid(
            "assigned",
            "assigned is for operators' lists".into(),
        ));
    }
    let filter = params.filter()?;
    let account_id = session.account_id;
    Ok(Json(store.tickets(account_id, &filter).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "payment", "title": "Top-up not credited", "description": "I paid ¥500 by Alipay at 10:02 and the balance did not change.", "attachments": [7]}))]
pub(super) struct OpenTicket {
    #[serde(rename = "type")]
    #[schema(value_type = schema::TicketType)]
    ticket_type: TicketType,
    /// 1 to 100 characters.
    #[schema(max_length = 100)]
    title: String,
    /// 1 to 5,000 characters: the thread's first message.
    #[schema(max_length = 5000)]
    description: String,
    /// Uploads (`POST /attachments`) of this account not used yet: at most 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    attachments: Vec<i64>,
}

/// Open a ticket
///
/// customer + X-CSRF-Token: the ticket is `open` until an operator takes or answers it.
#[utoipa::path(
    post,
    path = "/tickets",
    tag = "support",
    security(("session" = [], "csrf" = [])),
    request_body = OpenTicket,
    responses(
        (status = 201, description = "Opened", body = schema::TicketThread),
        (status = 404, description = "`attachment_not_found`: not an upload of this account", body = ApiErrorBody),
        (status = 409, description = "`attachment_in_use`: an upload already used", body = ApiErrorBody),
        (status = 422, description = "`ticket_field_invalid` (with `field`), `too_many_attachments` or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn open_ticket(
    State(store): State<Store>,
    session: CustomerSession,
    body: json::RawBody,
) -> Result<(StatusCode, Json<TicketThread>), ApiError> {
    session.require_csrf_header()?;
    let request: OpenTicket = json::parse(body)?;
    let account_id = session.account_id;
    let thread = store
        .open_ticket(
            account_id,
            &NewTicket {
                ticket_type: request.ticket_type,
                title: request.title,
                description: request.description,
                attachments: request.attachments,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(thread)))
}

/// A ticket and its thread
///
/// customer: one of the account's tickets; another account's is `ticket_not_found`.
#[utoipa::path(
    get,
    path = "/tickets/{id}",
    tag = "support",
    security(("session" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    responses(
        (status = 200, description = "The ticket", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found`", body = ApiErrorBody),
    ),
)]
pub async fn ticket(
    State(store): State<Store>,
    session: CustomerSession,
    Path(id): Path<String>,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    let account_id = session.account_id;
    Ok(Json(store.ticket(account_id, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Here is the receipt.", "attachments": [8]}))]
pub(super) struct Reply {
    /// 1 to 5,000 characters.
    #[schema(max_length = 5000)]
    body: String,
    /// Uploads not used yet: at most 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    attachments: Vec<i64>,
}

/// Reply to a ticket
///
/// customer + X-CSRF-Token: the ticket waits for support again (`open`). Not on a closed or
/// withdrawn ticket.
#[utoipa::path(
    post,
    path = "/tickets/{id}/replies",
    tag = "support",
    security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    request_body = Reply,
    responses(
        (status = 200, description = "The ticket with the reply", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found` or `attachment_not_found`", body = ApiErrorBody),
        (status = 409, description = "`ticket_state_conflict` (closed or withdrawn) or `attachment_in_use`", body = ApiErrorBody),
        (status = 422, description = "`ticket_field_invalid`, `too_many_attachments` or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn reply(
    State(store): State<Store>,
    session: CustomerSession,
    Path(id): Path<String>,
    body: json::RawBody,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    session.require_csrf_header()?;
    let request: Reply = json::parse(body)?;
    let account_id = session.account_id;
    Ok(Json(
        store
            .reply_as_customer(account_id, id, &request.body, &request.attachments)
            .await?,
    ))
}

async fn end(
    store: &Store,
    session: &CustomerSession,
    id: i64,
    action: TicketAction,
) -> Result<Json<TicketThread>, ApiError> {
    session.require_csrf_header()?;
    let account_id = session.account_id;
    Ok(Json(store.end_ticket(account_id, id, action).await?))
}

/// Withdraw a ticket
///
/// customer + X-CSRF-Token: before support has answered (`open` or `in_progress`).
#[utoipa::path(
    post,
    path = "/tickets/{id}/withdraw",
    tag = "support",
    security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    responses(
        (status = 200, description = "Withdrawn", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found`", body = ApiErrorBody),
        (status = 409, description = "`ticket_state_conflict`", body = ApiErrorBody),
    ),
)]
pub async fn withdraw(
    State(store): State<Store>,
    session: CustomerSession,
    Path(id): Path<String>,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    end(&store, &session, id, TicketAction::CustomerWithdraws).await
}

/// Close a ticket
///
/// customer + X-CSRF-Token: any ticket not closed or withdrawn yet.
#[utoipa::path(
    post,
    path = "/tickets/{id}/close",
    tag = "support",
    security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    responses(
        (status = 200, description = "Closed", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found`", body = ApiErrorBody),
        (status = 409, description = "`ticket_state_conflict`", body = ApiErrorBody),
    ),
)]
pub async fn close(
    State(store): State<Store>,
    session: CustomerSession,
    Path(id): Path<String>,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    end(&store, &session, id, TicketAction::CustomerCloses).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": 5}))]
pub(super) struct Rating {
    #[schema(minimum = 1, maximum = 5)]
    rating: i64,
}

/// Rate a closed ticket
///
/// customer + X-CSRF-Token: 1 to 5, once.
#[utoipa::path(
    post,
    path = "/tickets/{id}/rating",
    tag = "support",
    security(("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    request_body = Rating,
    responses(
        (status = 200, description = "Rated", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found`", body = ApiErrorBody),
        (status = 409, description = "`ticket_not_closed` or `ticket_already_rated`", body = ApiErrorBody),
        (status = 422, description = "`ticket_field_invalid` (field `rating`) or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn rate(
    State(store): State<Store>,
    session: CustomerSession,
    Path(id): Path<String>,
    body: json::RawBody,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    session.require_csrf_header()?;
    let request: Rating = json::parse(body)?;
    let account_id = session.account_id;
    Ok(Json(
        store.rate_ticket(account_id, id, request.rating).await?,
    ))
}

// ---- operators ----

/// Every account's tickets (operators)
///
/// operator: the newest activity first, with the same filters as the customers' list and
/// `assigned` (`me`, `none`, or an operator's username).
#[utoipa::path(
    get,
    path = "/ops/tickets",
    tag = "ops",
    security(("operator_token" = [])),
    params(TicketQuery),
    responses(
        (status = 200, description = "The tickets", body = Vec<schema::TicketSummary>),
        (status = 404, description = "`operator_not_found` (field `assigned`)", body = ApiErrorBody),
        (status = 422, description = "`invalid_field` (with `field`) or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn ops_tickets(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    params: Result<Query<TicketQuery>, QueryRejection>,
) -> Result<Json<Vec<TicketSummary>>, ApiError> {
    let params = query(params)?;
    let mut filter = params.filter()?;
    filter.assigned_to = match params.assigned.as_deref() {
        None => None,
        Some("me") => Some(Some(operator.id)),
        Some("none") => Some(None),
        Some(name) => Some(Some(store.operator_id(name).await?.ok_or_else(|| {
            ApiError::from(backend::support::SupportError::OperatorNotFound(
                name.to_owned(),
            ))
            .with_field(Some("assigned"))
        })?)),
    };
    Ok(Json(store.all_tickets(&filter).await?))
}

/// A ticket and its thread (operators)
///
/// operator: any ticket, with who answered; the view is audited.
#[utoipa::path(
    get,
    path = "/ops/tickets/{id}",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    responses(
        (status = 200, description = "The ticket", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found`", body = ApiErrorBody),
    ),
)]
pub async fn ops_ticket(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    Ok(Json(
        store.ticket_for_operator(&operator, id, &client).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"operator": "ops_li"}))]
pub(super) struct Assign {
    /// The operator who takes it (default: the caller).
    #[serde(default)]
    #[schema(nullable = false, max_length = 64)]
    operator: Option<String>,
}

/// Take or assign a ticket
///
/// operator: the ticket is the caller's (or the named operator's); an open one is then
/// `in_progress`. Audited.
#[utoipa::path(
    post,
    path = "/ops/tickets/{id}/assign",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    request_body = Assign,
    responses(
        (status = 200, description = "Assigned", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found` or `operator_not_found`", body = ApiErrorBody),
        (status = 409, description = "`ticket_state_conflict`: closed or withdrawn", body = ApiErrorBody),
    ),
)]
pub async fn assign(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
    body: json::RawBody,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    let request: Assign = json::parse(body)?;
    Ok(Json(
        store
            .assign_ticket(&operator, id, request.operator.as_deref(), &client)
            .await?,
    ))
}

/// Answer a ticket (operators)
///
/// operator: the ticket is `replied`, the customer is mailed, and it closes itself after 7
/// days without an answer. Attachments are the operator's uploads (`POST /ops/attachments`).
/// Audited.
#[utoipa::path(
    post,
    path = "/ops/tickets/{id}/replies",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The ticket")),
    request_body = Reply,
    responses(
        (status = 200, description = "Answered", body = schema::TicketThread),
        (status = 404, description = "`ticket_not_found` or `attachment_not_found`", body = ApiErrorBody),
        (status = 409, description = "`ticket_state_conflict` (closed or withdrawn) or `attachment_in_use`", body = ApiErrorBody),
        (status = 422, description = "`ticket_field_invalid`, `too_many_attachments` or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn ops_reply(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
    body: json::RawBody,
) -> Result<Json<TicketThread>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::TicketNotFound)
    })?;
    let request: Reply = json::parse(body)?;
    Ok(Json(
        store
            .reply_as_operator(&operator, id, &request.body, &request.attachments, &client)
            .await?,
    ))
}

/// Upload a file (operators)
///
/// operator: as `POST /attachments`, for an operator's reply.
#[utoipa::path(
    post,
    path = "/ops/attachments",
    tag = "ops",
    security(("operator_token" = [])),
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 201, description = "Stored", body = schema::Attachment),
        (status = 413, description = "`attachment_too_large` (field `file`)", body = ApiErrorBody),
        (status = 422, description = "`attachment_type_refused` or `attachment_empty` (field `file`), `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn ops_upload(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    params: Result<Query<UploadQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    let params = query(params)?;
    let body = upload_body(body)?;
    let attachment = store
        .upload_attachment(
            Uploader::Operator {
                operator_id: operator.id,
            },
            &params.file_name,
            &body,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// Download a file (operators)
///
/// operator: any file (a ticket's attachment, a business licence); audited.
#[utoipa::path(
    get,
    path = "/ops/attachments/{id}",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The attachment")),
    responses(
        (status = 200, description = "The file, as an attachment", content(
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/zip"),
            (String = "text/plain"),
        )),
        (status = 404, description = "`attachment_not_found`", body = ApiErrorBody),
    ),
)]
pub async fn ops_attachment(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::support::SupportError::AttachmentNotFound)
    })?;
    let file = store
        .attachment_for_operator(&operator, id, &client)
        .await?;
    Ok(download(file))
}

/// The work queue
///
/// operator: what waits for an operator — enterprise submissions to review, tickets nobody took,
/// the caller's tickets waiting for an answer, unresolved payment flags, failed settlement days.
#[utoipa::path(
    get,
    path = "/ops/queue",
    tag = "ops",
    security(("operator_token" = [])),
    responses((status = 200, description = "The queue", body = schema::WorkQueue)),
)]
pub async fn queue(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
) -> Result<Json<backend::work_queue::WorkQueue>, ApiError> {
    Ok(Json(store.work_queue(operator.id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountSearch {
    /// Part of a username, an email, an enterprise's name or credit code, or a bound workspace's
    /// id: 2 to 100 characters.
    #[param(min_length = 2, max_length = 100)]
    q: String,
}

/// Find accounts (operators)
///
/// operator: up to 50 accounts whose customer's username or email, enterprise name or credit
/// code, or a bound workspace's id contains `q`. Audited (`account.search`).
#[utoipa::path(
    get,
    path = "/ops/accounts",
    tag = "ops",
    security(("operator_token" = [])),
    params(AccountSearch),
    responses(
        (status = 200, description = "The accounts found", body = Vec<schema::AccountHit>),
        (status = 422, description = "`invalid_field` (field `q`) or `invalid_request`", body = ApiErrorBody),
    ),
)]
pub async fn search_accounts(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    params: Result<Query<AccountSearch>, QueryRejection>,
) -> Result<Json<Vec<backend::ops_accounts::AccountHit>>, ApiError> {
    let params = query(params)?;
    Ok(Json(
        store.search_accounts(&operator, &params.q, &client).await?,
    ))
}

/// An account's dossier (operators)
///
/// operator: balances, enterprise verification, workspaces, monthly bills, tickets and the newest
/// 50 movements of account `{id}`. Audited (`account.view`).
#[utoipa::path(
    get,
    path = "/ops/accounts/{id}",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The billing account")),
    responses(
        (status = 200, description = "The account", body = AccountDossierView),
        (status = 404, description = "`account_unknown`", body = ApiErrorBody),
    ),
)]
pub async fn account_dossier(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
) -> Result<Json<AccountDossierView>, ApiError> {
    let id = path_id(&id, || {
        ApiError::from(backend::ops_accounts::OpsAccountError::AccountNotFound)
    })?;
    let d = store.account_dossier(&operator, id, &client).await?;
    Ok(Json(AccountDossierView {
        account_id: d.account_id,
        username: d.username,
        email: d.email,
        name: d.name,
        cash: d.cash.to_string(),
        arrears: d.arrears.to_string(),
        enterprise: serde_json::to_value(d.enterprise).unwrap_or_default(),
        workspaces: serde_json::to_value(d.workspaces).unwrap_or_default(),
        monthly_bills: serde_json::to_value(d.monthly_bills).unwrap_or_default(),
        tickets: d.tickets,
        movements: d
            .movements
            .into_iter()
            .map(super::wallet::MovementView::from)
            .collect(),
    }))
}

/// One account as an operator sees it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountDossierView {
    pub account_id: i64,
    /// The customer who holds it (none for an account an operator made for a company).
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: String,
    #[schema(value_type = schema::Money)]
    pub cash: String,
    #[schema(value_type = schema::Money)]
    pub arrears: String,
    #[schema(value_type = schema::EnterpriseVerification)]
    pub enterprise: serde_json::Value,
    #[schema(value_type = Vec<schema::Workspace>)]
    pub workspaces: serde_json::Value,
    #[schema(value_type = Vec<schema::MonthlyBill>)]
    pub monthly_bills: serde_json::Value,
    #[schema(value_type = Vec<schema::TicketSummary>)]
    pub tickets: Vec<TicketSummary>,
    pub movements: Vec<super::wallet::MovementView>,
}
