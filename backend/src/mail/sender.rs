//! Delivery over SMTP with lettre. Every server process runs one sender (the server's
//! `settlement::spawn_mail_sender`): it claims due
//! messages from the outbox, hands each to the mail server, and records the outcome. A message
//! the server refused for good (5xx, or an address it cannot parse) is given up at once; any
//! other failure (the server is down, answers 4xx, times out) is retried with backoff up to a
//! minute apart, until the message is older than `give_up_after`.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::outbox::{ClaimedMail, DEFAULT_GIVE_UP_AFTER_HOURS};
use crate::store::Store;
use crate::time::to_micros;

/// Messages claimed per claim: one, so that the lease below covers a whole conversation (each of
/// its steps may take up to `SMTP_TIMEOUT`).
const BATCH: i64 = 1;
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error(
        "SMTP_URL is not a mail server URL lettre understands (smtp://host:port, smtp://host:port?tls=required, smtps://user:password@host): {0}"
    )]
    Url(String),
    #[error("SMTP_FROM='{0}' is not an address (like 'Billing Center <billing@example.com>')")]
    From(String),
}

/// What a sender needs: where the mail server is and who mail is from.
#[derive(Clone)]
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    give_up_after: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold credentials: never printed.
        f.debug_struct("Sender")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    pub sent: u32,
    pub retrying: u32,
    pub given_up: u32,
}

impl DeliveryRound {
    pub fn attempted(&self) -> u32 {
        self.sent + self.retrying + self.given_up
    }
}

impl Sender {
    /// `url` in lettre's form (`SMTP_URL`), `from` a mailbox (`SMTP_FROM`).
    pub fn new(url: &str, from: &str) -> Result<Sender, SenderError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SenderError::Url(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|_| SenderError::From(from.chars().take(200).collect()))?;
        Ok(Sender {
            transport,
            from,
            give_up_after: Duration::hours(DEFAULT_GIVE_UP_AFTER_HOURS),
        })
    }

    /// How long a message is tried before it is given up (default 24 hours).
    pub fn give_up_after(mut self, after: Duration) -> Sender {
        self.give_up_after = after;
        self
    }

    fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// Claims what is due and delivers it; nothing is claimed (no write) when nothing is due.
    pub async fn deliver_due(&self, store: &Store) -> Result<DeliveryRound, sqlx::Error> {
        let mut round = DeliveryRound::default();
        if !store.mail_due().await? {
            return Ok(round);
        }
        let lease = Duration::minutes(5);
        for mail in store.claim_mail(BATCH, lease).await? {
            match self.deliver(&mail).await {
                Ok(()) => {
                    store.mail_sent(mail.id).await?;
                    round.sent += 1;
                }
                Err((error, permanent)) => {
                    tracing::warn!(outbox_id = mail.id, attempt = mail.attempt, permanent, %error, "mail not delivered");
                    if store
                        .mail_failed(&mail, &error, permanent, self.give_up_after)
                        .await?
                    {
                        tracing::error!(outbox_id = mail.id, %error, "mail given up");
                        round.given_up += 1;
                    } else {
                        round.retrying += 1;
                    }
                }
            }
        }
        Ok(round)
    }

    /// One attempt; the error says whether the mail server refused it for good.
    async fn deliver(&self, mail: &ClaimedMail) -> Result<(), (String, bool)> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| (format!("recipient '{}': {e}", mail.recipient), true))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id(self.domain())))
            .date(mail.created_at.into())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| (format!("cannot build the message: {e}"), true))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let permanent = e.is_permanent()
                    && e.status().is_some_and(|code| {
                        matches!(
                            code.to_string().as_str(),
                            "550" | "551" | "552" | "553" | "554"
                        )
                    });
                Err((e.to_string(), permanent))
            }
        }
    }
}

impl Store {
    /// Whether any message is due now (a read on the outbox's partial index).
    pub async fn mail_due(&self) -> Result<bool, sqlx::Error> {
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(to_micros(self.now()))
        .fetch_optional(self.pool())
        .await?;
        Ok(due.is_some())
    }
}
