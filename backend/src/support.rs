//! The support center (issue 18, seeds 000/001): tickets a customer opens, threaded replies both
//! ways with attachments, and the operators' side (taking a ticket, replying, every view and act
//! audited). The states and who may move a ticket where are `billing::support`'s; this module
//! stores them, each change in one transaction with the ticket row locked.

use billing::support::{
    AUTO_CLOSE_AFTER_DAYS, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS, TicketAction, TicketState,
    TicketTransitionError, TicketType, check_rating,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::attachments::{self, Attachment, Uploader};
use crate::auth::operators::Operator;
use crate::mail::templates::Mail;
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error("{field} {why}")]
    InvalidField {
        field: &'static str,
        why: &'static str,
    },
    #[error("the file is empty")]
    AttachmentEmpty,
    #[error("the file is larger than 8 MB")]
    AttachmentTooLarge,
    #[error(
        "the file is not a PNG, JPEG, PDF, XLSX, ZIP or UTF-8 text file (its content is checked, not its name)"
    )]
    AttachmentTypeRefused,
    #[error("a business licence is an image (PNG, JPEG) or a PDF")]
    LicenceNotADocument,
    #[error("at most 5 attachments per message")]
    TooManyAttachments,
    #[error("no such attachment")]
    AttachmentNotFound,
    #[error("that attachment is already used by another message")]
    AttachmentInUse,
    #[error("no such ticket")]
    TicketNotFound,
    #[error(transparent)]
    Transition(#[from] TicketTransitionError),
    #[error("only a closed ticket is rated")]
    NotRateable,
    #[error("this ticket is already rated")]
    AlreadyRated,
    #[error("no operator '{0}'")]
    OperatorNotFound(String),
    #[error("another operator has taken this ticket")]
    AlreadyAssigned,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A ticket in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    pub id: i64,
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    pub title: String,
    pub state: TicketState,
    /// The customer's username (operators' lists).
    pub account: String,
    pub account_id: i64,
    /// The operator who took it.
    pub assigned_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rating: Option<i64>,
}

/// One message of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketMessage {
    pub id: i64,
    /// `customer` or `operator`.
    pub author: String,
    /// The operator's username, for operators only (customers see "support").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub created_at: DateTime<Utc>,
}

/// A ticket with its thread, oldest message first (the first is the description).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketThread {
    pub ticket: TicketSummary,
    pub messages: Vec<TicketMessage>,
}

/// What a customer submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub ticket_type: TicketType,
    pub title: String,
    pub description: String,
    pub attachments: Vec<i64>,
}

/// Which tickets a list shows. Dates are days in the settlement timezone, both included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub state: Option<TicketState>,
    pub ticket_type: Option<TicketType>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Part of the title.
    pub title: Option<String>,
    /// Operators: only tickets nobody took (`Some(None)`), or one operator's.
    pub assigned_to: Option<Option<i64>>,
    pub page: u32,
    pub per_page: u32,
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, SupportError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SupportError::InvalidField {
            field,
            why: "is required",
        });
    }
    let bad_control = value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    if value.chars().count() > max || bad_control {
        return Err(SupportError::InvalidField {
            field,
            why: "is too long or holds control characters",
        });
    }
    Ok(value.to_owned())
}

const SUMMARY: &str = "SELECT t.id, t.ticket_type, t.title, t.state, t.account_id, t.created_at, t.updated_at, \
     t.rating, c.username AS account, o.username AS assigned_to \
     FROM tickets t JOIN customers c ON c.billing_account_id = t.account_id \
     LEFT JOIN operators o ON o.id = t.assigned_to";

fn summary_of(row: &sqlx::any::AnyRow) -> Result<TicketSummary, sqlx::Error> {
    let kind: String = row.try_get("ticket_type")?;
    let state: String = row.try_get("state")?;
    Ok(TicketSummary {
        id: row.try_get("id")?,
        ticket_type: TicketType::from_code(&kind).unwrap_or(TicketType::Other),
        title: row.try_get("title")?,
        state: TicketState::from_code(&state).unwrap_or(TicketState::Open),
        account: row.try_get("account")?,
        account_id: row.try_get("account_id")?,
        assigned_to: row.try_get("assigned_to")?,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
        rating: row.try_get("rating")?,
    })
}

/// Who acts on a ticket.
#[derive(Debug, Clone, Copy)]
enum Actor<'a> {
    Customer { account_id: i64 },
    Operator(&'a Operator),
}

impl Store {
    /// Opens a ticket: its description is the thread's first message.
    pub async fn open_ticket(
        &self,
        account_id: i64,
        ticket: &NewTicket,
    ) -> Result<TicketThread, SupportError> {
        let title = text("title", &ticket.title, MAX_TITLE_CHARS)?;
        let description = text("description", &ticket.description, MAX_MESSAGE_CHARS)?;
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tickets (account_id, ticket_type, title, state, created_at, updated_at) \
             VALUES ($1, $2, $3, 'open', $4, $4) RETURNING id",
        )
        .bind(account_id)
        .bind(ticket.ticket_type.code())
        .bind(&title)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        add_message(
            &mut tx,
            id,
            account_id,
            Actor::Customer { account_id },
            &description,
            &ticket.attachments,
            now,
        )
        .await?;
        tx.commit().await?;
        self.ticket(account_id, id).await
    }

    /// The account's tickets, newest first.
    pub async fn tickets(
        &self,
        account_id: i64,
        filter: &TicketFilter,
    ) -> Result<Vec<TicketSummary>, SupportError> {
        self.list_tickets(Some(account_id), filter).await
    }

    /// Every account's tickets (operators), newest activity first.
    pub async fn all_tickets(
        &self,
        filter: &TicketFilter,
    ) -> Result<Vec<TicketSummary>, SupportError> {
        self.list_tickets(None, filter).await
    }

    async fn list_tickets(
        &self,
        account_id: Option<i64>,
        filter: &TicketFilter,
    ) -> Result<Vec<TicketSummary>, SupportError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        // Integers bind first ($1…), texts after; each condition names its own placeholder.
        let int = |value: i64, ints: &mut Vec<i64>| {
            ints.push(value);
            ints.len()
        };
        if let Some(account) = account_id {
            let n = int(account, &mut ints);
            conditions.push(format!("t.account_id = ${n}"));
        }
        let day_start = |day: NaiveDate| to_micros(self.start_of(day));
        if let Some(from) = filter.from {
            let n = int(day_start(from), &mut ints);
            conditions.push(format!("t.created_at >= ${n}"));
        }
        if let Some(to) = filter.to
            && let Some(next) = to.succ_opt()
        {
            let n = int(day_start(next), &mut ints);
            conditions.push(format!("t.created_at < ${n}"));
        }
        match filter.assigned_to {
            Some(Some(operator)) => {
                let n = int(operator, &mut ints);
                conditions.push(format!("t.assigned_to = ${n}"));
            }
            Some(None) => conditions.push("t.assigned_to IS NULL".to_owned()),
            None => {}
        }
        let per_page = i64::from(filter.per_page.clamp(1, 100));
        let offset = i64::from(filter.page.saturating_sub(1)) * per_page;
        let limit_n = int(per_page, &mut ints);
        let offset_n = int(offset, &mut ints);
        let base = ints.len();
        if let Some(state) = filter.state {
            texts.push(state.code().to_owned());
            conditions.push(format!("t.state = ${}", base + texts.len()));
        }
        if let Some(kind) = filter.ticket_type {
            texts.push(kind.code().to_owned());
            conditions.push(format!("t.ticket_type = ${}", base + texts.len()));
        }
        if let Some(title) = filter
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            if title.contains('\0') {
                return Err(SupportError::InvalidField {
                    field: "q",
                    why: "holds a NUL character",
                });
            }
            // A literal part of the title, case-insensitive for ASCII on both databases (SQLite's
            // LOWER folds ASCII only, so the pattern does too).
            let escaped = title
                .to_ascii_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            texts.push(format!("%{escaped}%"));
            conditions.push(format!(
                "LOWER(t.title) LIKE ${} ESCAPE '\\'",
                base + texts.len()
            ));
        }
        let order = if account_id.is_some() {
            "t.created_at DESC, t.id DESC"
        } else {
            "t.updated_at DESC, t.id DESC"
        };
        let sql = format!(
            "{SUMMARY}{}{} ORDER BY {order} LIMIT ${limit_n} OFFSET ${offset_n}",
            if conditions.is_empty() { "" } else { " WHERE " },
            conditions.join(" AND ")
        );
        let mut query = sqlx::query(&sql);
        for value in ints {
            query = query.bind(value);
        }
        for value in texts {
            query = query.bind(value);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut tickets: Vec<TicketSummary> =
            rows.iter().map(summary_of).collect::<Result<_, _>>()?;
        if account_id.is_some() {
            for ticket in &mut tickets {
                ticket.assigned_to = None;
            }
        }
        Ok(tickets)
    }

    /// One of the account's tickets with its thread; another account's is `ticket_not_found`.
    pub async fn ticket(&self, account_id: i64, id: i64) -> Result<TicketThread, SupportError> {
        self.thread(Some(account_id), id).await
    }

    /// Any ticket with its thread, for an operator: the view is audited.
    pub async fn ticket_for_operator(
        &self,
        operator: &Operator,
        id: i64,
        client: &str,
    ) -> Result<TicketThread, SupportError> {
        let thread = self.thread(None, id).await?;
        let mut tx = self.begin_write().await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "ticket.view",
            Some(thread.ticket.account_id),
            &format!("#{id} {}", thread.ticket.title),
            client,
            to_micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(thread)
    }

    async fn thread(&self, account_id: Option<i64>, id: i64) -> Result<TicketThread, SupportError> {
        let row = sqlx::query(&format!("{SUMMARY} WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(SupportError::TicketNotFound)?;
        let mut ticket = summary_of(&row)?;
        if account_id.is_some_and(|a| a != ticket.account_id) {
            return Err(SupportError::TicketNotFound);
        }
        if account_id.is_some() {
            // Customers are answered by support, not by a person they could name.
            ticket.assigned_to = None;
        }
        let mut attachments = attachments::of_messages(self, id).await?;
        let rows = sqlx::query(
            "SELECT m.id, m.author, m.body, m.created_at, o.username AS operator \
             FROM ticket_messages m LEFT JOIN operators o ON o.id = m.operator_id \
             WHERE m.ticket_id = $1 ORDER BY m.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut messages = Vec::with_capacity(rows.len());
        for row in &rows {
            let message_id: i64 = row.try_get("id")?;
            messages.push(TicketMessage {
                id: message_id,
                author: row.try_get("author")?,
                operator: if account_id.is_none() {
                    row.try_get("operator")?
                } else {
                    None
                },
                body: row.try_get("body")?,
                attachments: attachments.remove(&message_id).unwrap_or_default(),
                created_at: from_micros(row.try_get("created_at")?),
            });
        }
        Ok(TicketThread { ticket, messages })
    }

    /// The customer answers: the ticket waits for an operator again.
    pub async fn reply_as_customer(
        &self,
        account_id: i64,
        id: i64,
        body: &str,
        attachments: &[i64],
    ) -> Result<TicketThread, SupportError> {
        let body = text("body", body, MAX_MESSAGE_CHARS)?;
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let state = locked(self, &mut tx, id, Some(account_id)).await?.state;
        let next = state.after(TicketAction::CustomerReplies)?;
        add_message(
            &mut tx,
            id,
            account_id,
            Actor::Customer { account_id },
            &body,
            attachments,
            now,
        )
        .await?;
        set_state(&mut tx, id, next, now, None).await?;
        tx.commit().await?;
        self.ticket(account_id, id).await
    }

    /// The customer withdraws (before any answer) or closes a ticket.
    pub async fn end_ticket(
        &self,
        account_id: i64,
        id: i64,
        action: TicketAction,
    ) -> Result<TicketThread, SupportError> {
        debug_assert!(matches!(
            action,
            TicketAction::CustomerWithdraws | TicketAction::CustomerCloses
        ));
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let ticket = locked(self, &mut tx, id, Some(account_id)).await?;
        let state = ticket.state;
        // Withdrawn only before support answered: after that it is closed.
        if action == TicketAction::CustomerWithdraws && ticket.answered {
            return Err(TicketTransitionError { state, action }.into());
        }
        let next = state.after(action)?;
        set_state(&mut tx, id, next, now, None).await?;
        tx.commit().await?;
        self.ticket(account_id, id).await
    }

    /// The customer rates a closed ticket, once.
    pub async fn rate_ticket(
        &self,
        account_id: i64,
        id: i64,
        rating: i64,
    ) -> Result<TicketThread, SupportError> {
        let rating = check_rating(rating).ok_or(SupportError::InvalidField {
            field: "rating",
            why: "is 1 to 5",
        })?;
        let mut tx = self.begin_write().await?;
        let Locked { state, rated, .. } = locked(self, &mut tx, id, Some(account_id)).await?;
        if !state.may_rate() {
            return Err(SupportError::NotRateable);
        }
        if rated {
            return Err(SupportError::AlreadyRated);
        }
        sqlx::query("UPDATE tickets SET rating = $1, rated_at = $2 WHERE id = $3")
            .bind(i64::from(rating))
            .bind(to_micros(self.now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.ticket(account_id, id).await
    }

    /// An operator takes a ticket, for themself or for another operator (`assignee`); an open
    /// ticket moves to in progress. Audited.
    pub async fn assign_ticket(
        &self,
        operator: &Operator,
        id: i64,
        assignee: Option<&str>,
        client: &str,
    ) -> Result<TicketThread, SupportError> {
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let assignee_id = match assignee {
            None => operator.id,
            Some(name) if name.contains('\0') => {
                return Err(SupportError::OperatorNotFound(name.replace('\0', "\\0")));
            }
            Some(name) => sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| SupportError::OperatorNotFound(name.to_owned()))?,
        };
        let ticket = locked(self, &mut tx, id, None).await?;
        let state = ticket.state;
        // Taking a ticket another operator holds is refused; naming the operator reassigns it.
        if assignee.is_none() && ticket.assigned_to.is_some_and(|held| held != operator.id) {
            return Err(SupportError::AlreadyAssigned);
        }
        if state.is_final() {
            return Err(TicketTransitionError {
                state,
                action: TicketAction::OperatorTakes,
            }
            .into());
        }
        let next = state.after(TicketAction::OperatorTakes).unwrap_or(state);
        sqlx::query(
            "UPDATE tickets SET assigned_to = $1, state = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(assignee_id)
        .bind(next.code())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let account_id = account_of(&mut tx, id).await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "ticket.assign",
            Some(account_id),
            &format!("#{id} to {}", assignee.unwrap_or(&operator.username)),
            client,
            now,
        )
        .await?;
        tx.commit().await?;
        self.thread(None, id).await
    }

    /// An operator answers: the ticket is replied (its seven days start), the customer is
    /// mailed, the reply is audited.
    pub async fn reply_as_operator(
        &self,
        operator: &Operator,
        id: i64,
        body: &str,
        attachments: &[i64],
        client: &str,
    ) -> Result<TicketThread, SupportError> {
        let body = text("body", body, MAX_MESSAGE_CHARS)?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let state = locked(self, &mut tx, id, None).await?.state;
        let next = state.after(TicketAction::OperatorReplies)?;
        let account_id = account_of(&mut tx, id).await?;
        add_message(
            &mut tx,
            id,
            account_id,
            Actor::Operator(operator),
            &body,
            attachments,
            to_micros(now),
        )
        .await?;
        set_state(&mut tx, id, next, to_micros(now), Some(operator.id)).await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "ticket.reply",
            Some(account_id),
            &format!("#{id}"),
            client,
            to_micros(now),
        )
        .await?;
        let title: String = sqlx::query_scalar("SELECT title FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let to = crate::mail::alerts::recipients(&mut tx, &[account_id]).await?;
        if let Some(to) = to.get(&account_id) {
            crate::mail::outbox::enqueue(
                &mut tx,
                self.settlement_timezone(),
                &crate::mail::outbox::Outgoing {
                    account_id: Some(account_id),
                    recipient: to.email.clone(),
                    language: to.language,
                    dedupe_key: None,
                    mail: Mail::TicketReplied {
                        ticket_id: id,
                        title,
                        reply: body.clone(),
                        link: self.mail_settings().link(&format!("/support/{id}")),
                    },
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.thread(None, id).await
    }

    /// An operator's id by username.
    pub async fn operator_id(&self, username: &str) -> Result<Option<i64>, SupportError> {
        if username.contains('\0') {
            return Ok(None);
        }
        Ok(
            sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
                .bind(username)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Closes replied tickets nobody answered for seven days (the scheduler, hourly). Returns how
    /// many closed.
    pub async fn auto_close_tickets(&self) -> Result<u64, SupportError> {
        let now = self.now();
        let before = to_micros(now - Duration::days(AUTO_CLOSE_AFTER_DAYS));
        let closed = sqlx::query(
            "UPDATE tickets SET state = 'closed', closed_at = $1, updated_at = $1 \
             WHERE state = 'replied' AND replied_at <= $2",
        )
        .bind(to_micros(now))
        .bind(before)
        .execute(self.pool())
        .await?;
        Ok(closed.rows_affected())
    }
}

/// Locks the ticket row (PostgreSQL; SQLite's write transaction already serialises) and returns
/// its state and whether it is rated; a ticket of another account is `ticket_not_found`.
/// A ticket row as an action reads it under its lock.
struct Locked {
    state: TicketState,
    rated: bool,
    /// Support answered it at least once.
    answered: bool,
    assigned_to: Option<i64>,
}

async fn locked(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    id: i64,
    account_id: Option<i64>,
) -> Result<Locked, SupportError> {
    let lock = if store.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT account_id, state, rating, replied_at, assigned_to FROM tickets WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(SupportError::TicketNotFound)?;
    if account_id.is_some_and(|a| a != row.try_get::<i64, _>("account_id").unwrap_or(-1)) {
        return Err(SupportError::TicketNotFound);
    }
    let state: String = row.try_get("state")?;
    let state = TicketState::from_code(&state).ok_or(SupportError::TicketNotFound)?;
    Ok(Locked {
        state,
        rated: row.try_get::<Option<i64>, _>("rating")?.is_some(),
        answered: row.try_get::<Option<i64>, _>("replied_at")?.is_some(),
        assigned_to: row.try_get("assigned_to")?,
    })
}

async fn account_of(tx: &mut Transaction<'static, Any>, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

async fn set_state(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    state: TicketState,
    now: i64,
    replied_by: Option<i64>,
) -> Result<(), sqlx::Error> {
    let closed = state.is_final().then_some(now);
    sqlx::query(
        "UPDATE tickets SET state = $1, updated_at = $2, closed_at = COALESCE($3, closed_at), \
         replied_at = CASE WHEN $4 = 1 THEN $2 ELSE replied_at END, \
         assigned_to = COALESCE(assigned_to, $5) WHERE id = $6",
    )
    .bind(state.code())
    .bind(now)
    .bind(closed)
    .bind(i64::from(replied_by.is_some()))
    .bind(replied_by)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn add_message(
    tx: &mut Transaction<'static, Any>,
    ticket_id: i64,
    account_id: i64,
    actor: Actor<'_>,
    body: &str,
    attachment_ids: &[i64],
    now: i64,
) -> Result<i64, SupportError> {
    let (author, operator_id, uploader) = match actor {
        Actor::Customer { account_id } => ("customer", None, Uploader::Customer { account_id }),
        Actor::Operator(operator) => (
            "operator",
            Some(operator.id),
            Uploader::Operator {
                operator_id: operator.id,
            },
        ),
    };
    let message_id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_messages (ticket_id, author, operator_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(ticket_id)
    .bind(author)
    .bind(operator_id)
    .bind(body)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    attachments::attach(
        tx,
        uploader,
        attachment_ids,
        "ticket",
        Some((ticket_id, message_id)),
        account_id,
    )
    .await?;
    Ok(message_id)
}
