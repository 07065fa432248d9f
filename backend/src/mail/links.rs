//! The one-time links mail carries: password reset (`/reset-password?token=`, 30 minutes) and
//! address confirmation (`/confirm-email?token=`, 24 hours). Only a SHA-256 of a token is stored;
//! a link works once, and only for the address it was sent to.

use chrono::Duration;
use sqlx::{Any, Row, Transaction};

use super::outbox::{Outgoing, enqueue};
use super::templates::Mail;
use super::{Language, MailError};
use crate::auth::password::check_new_password;
use crate::auth::sessions::{Principal, delete_other_sessions};
use crate::auth::{AuthError, random_token, sha256_hex};
use crate::store::Store;
use crate::time::to_micros;

pub const RESET_VALID_MINUTES: i64 = 30;
pub const CONFIRMATION_VALID_HOURS: i64 = 24;
/// At most this many links of one purpose are mailed to one account per hour; more requests are
/// answered as usual and send nothing.
pub const LINKS_PER_HOUR: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    PasswordReset,
    ConfirmEmail,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::ConfirmEmail => "confirm_email",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            Purpose::PasswordReset => Duration::minutes(RESET_VALID_MINUTES),
            Purpose::ConfirmEmail => Duration::hours(CONFIRMATION_VALID_HOURS),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "/reset-password",
            Purpose::ConfirmEmail => "/confirm-email",
        }
    }
}

/// Who a link is for.
pub(crate) struct LinkOwner {
    pub customer_id: i64,
    pub account_id: i64,
    pub username: String,
    pub email: String,
    pub language: Language,
}

/// Issues a link of `purpose` for `owner`'s current address and writes its mail, inside the
/// caller's transaction; nothing when the hourly allowance is used up. Returns whether mail was
/// written.
async fn issue(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    owner: &LinkOwner,
    purpose: Purpose,
) -> Result<bool, sqlx::Error> {
    let now = store.now();
    let recent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_tokens WHERE customer_id = $1 AND purpose = $2 AND created_at > $3",
    )
    .bind(owner.customer_id)
    .bind(purpose.code())
    .bind(to_micros(now - Duration::hours(1)))
    .fetch_one(&mut **tx)
    .await?;
    if recent >= LINKS_PER_HOUR {
        tracing::info!(
            customer = owner.customer_id,
            purpose = purpose.code(),
            "link not mailed: hourly allowance used"
        );
        return Ok(false);
    }
    let token = random_token(32);
    sqlx::query(
        "INSERT INTO email_tokens (token_sha256, purpose, customer_id, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(sha256_hex(&token))
    .bind(purpose.code())
    .bind(owner.customer_id)
    .bind(&owner.email)
    .bind(to_micros(now))
    .bind(to_micros(now + purpose.lifetime()))
    .execute(&mut **tx)
    .await?;
    let link = store
        .mail_settings()
        .link(&format!("{}?token={token}", purpose.path()));
    let mail = match purpose {
        Purpose::PasswordReset => Mail::PasswordReset {
            username: owner.username.clone(),
            link,
        },
        Purpose::ConfirmEmail => Mail::ConfirmEmail {
            username: owner.username.clone(),
            link,
        },
    };
    enqueue(
        tx,
        store.settlement_timezone(),
        &Outgoing {
            account_id: Some(owner.account_id),
            recipient: owner.email.clone(),
            language: owner.language,
            dedupe_key: None,
            mail,
        },
        now,
    )
    .await
}

enum Who {
    Login(String),
    Customer(i64),
}

/// The customer as a link's owner, with whether the address is confirmed.
async fn owner_where(
    tx: &mut Transaction<'static, Any>,
    who: Who,
) -> Result<Option<(LinkOwner, bool)>, sqlx::Error> {
    const COLUMNS: &str = "id, billing_account_id, username, email, language, email_confirmed_at";
    let row = match who {
        Who::Login(login) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM customers WHERE username = $1 OR email = $1"
            ))
            .bind(login)
            .fetch_optional(&mut **tx)
            .await?
        }
        Who::Customer(id) => {
            sqlx::query(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
        }
    };
    row.map(|row| {
        Ok((
            LinkOwner {
                customer_id: row.try_get("id")?,
                account_id: row.try_get("billing_account_id")?,
                username: row.try_get("username")?,
                email: row.try_get("email")?,
                language: Language::stored(&row.try_get::<String, _>("language")?),
            },
            row.try_get::<Option<i64>, _>("email_confirmed_at")?
                .is_some(),
        ))
    })
    .transpose()
}

/// Writes the confirmation link of a new address (sign-up, change) inside the caller's
/// transaction.
pub(crate) async fn mail_confirmation(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    owner: &LinkOwner,
) -> Result<bool, sqlx::Error> {
    issue(store, tx, owner, Purpose::ConfirmEmail).await
}

impl Store {
    /// `POST /api/v1/password-reset`: mails a reset link to the account whose username or email
    /// is `login`. Answers the same whether or not there is such an account, and whether or not
    /// a mail was written (at most [`LINKS_PER_HOUR`] per account). An address never confirmed
    /// receives a fresh confirmation link instead: until it is confirmed nothing else goes there,
    /// and confirming it lets the customer ask again.
    pub async fn request_password_reset(&self, login: &str) -> Result<(), MailError> {
        let login = login.trim().to_lowercase();
        if login.is_empty() || login.contains('\0') || login.len() > 254 {
            return Ok(());
        }
        // Read first: a login that does not exist, or whose hourly allowance is used, costs no
        // write transaction (this endpoint is open to anyone; SQLite has one writer).
        let sent_this_hour: Option<i64> = sqlx::query_scalar(
            "SELECT CAST((SELECT COUNT(*) FROM email_tokens t WHERE t.customer_id = c.id AND t.created_at > $2 \
               AND t.purpose = CASE WHEN c.email_confirmed_at IS NULL THEN 'confirm_email' ELSE 'password_reset' END) AS BIGINT) \
             FROM customers c WHERE c.username = $1 OR c.email = $1",
        )
        .bind(&login)
        .bind(to_micros(self.now() - Duration::hours(1)))
        .fetch_optional(self.pool())
        .await?;
        if sent_this_hour.is_none_or(|sent| sent >= LINKS_PER_HOUR) {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let Some((owner, confirmed)) = owner_where(&mut tx, Who::Login(login)).await? else {
            return Ok(());
        };
        let purpose = if confirmed {
            Purpose::PasswordReset
        } else {
            Purpose::ConfirmEmail
        };
        issue(self, &mut tx, &owner, purpose).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /api/v1/password-reset/confirm`: sets the password (the sign-up policy) and ends
    /// every session of the account. The link is spent only when the password is set; a used,
    /// expired or unknown link, or one sent to an address the account no longer has, is
    /// `InvalidToken`. Every other reset link of the account dies with it, and the address it
    /// was sent to counts as confirmed (the link proved it).
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<(), MailError> {
        let hash = sha256_hex(token);
        let now = to_micros(self.now());
        let row = sqlx::query(
            "SELECT c.id, c.username FROM email_tokens t JOIN customers c ON c.id = t.customer_id \
             WHERE t.token_sha256 = $1 AND t.purpose = 'password_reset' AND t.used_at IS NULL \
             AND t.expires_at > $2 AND t.email = c.email",
        )
        .bind(&hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or(MailError::InvalidToken)?;
        let customer_id: i64 = row.try_get("id")?;
        let username: String = row.try_get("username")?;
        check_new_password(&username, new_password).map_err(AuthError::from)?;
        let password_hash = self.hash_password(new_password).await;
        let mut tx = self.begin_write().await?;
        // Spent here, atomically: of two uses racing, one sets the password.
        let spent = sqlx::query(
            "UPDATE email_tokens SET used_at = $1 WHERE token_sha256 = $2 AND used_at IS NULL AND expires_at > $1 \
             AND email = (SELECT c.email FROM customers c WHERE c.id = email_tokens.customer_id)",
        )
        .bind(now)
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent != 1 {
            return Err(MailError::InvalidToken);
        }
        sqlx::query(
            "UPDATE email_tokens SET used_at = $1 WHERE customer_id = $2 AND purpose = 'password_reset' AND used_at IS NULL",
        )
        .bind(now)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE customers SET password_hash = $1, \
             email_confirmed_at = COALESCE(email_confirmed_at, $2) WHERE id = $3",
        )
        .bind(password_hash)
        .bind(now)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        delete_other_sessions(&mut tx, Principal::Customer(customer_id), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opening `/confirm-email?token=`: confirms the address the link was sent to, if the account
    /// still has it. Returns the customer's id.
    pub async fn confirm_email(&self, token: &str) -> Result<i64, MailError> {
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE email_tokens SET used_at = $1 WHERE token_sha256 = $2 AND purpose = 'confirm_email' \
             AND used_at IS NULL AND expires_at > $1 RETURNING customer_id, email",
        )
        .bind(now)
        .bind(sha256_hex(token))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(MailError::InvalidToken)?;
        let customer_id: i64 = row.try_get("customer_id")?;
        let email: String = row.try_get("email")?;
        let confirmed = sqlx::query(
            "UPDATE customers SET email_confirmed_at = COALESCE(email_confirmed_at, $1) WHERE id = $2 AND email = $3",
        )
        .bind(now)
        .bind(customer_id)
        .bind(email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if confirmed != 1 {
            // The account has another address now: this link proves nothing about it.
            return Err(MailError::InvalidToken);
        }
        tx.commit().await?;
        Ok(customer_id)
    }

    /// Mails the signed-in customer a new confirmation link (within the hourly allowance).
    pub async fn resend_email_confirmation(&self, customer_id: i64) -> Result<(), MailError> {
        let mut tx = self.begin_write().await?;
        let (owner, confirmed) = owner_where(&mut tx, Who::Customer(customer_id))
            .await?
            .ok_or(AuthError::NotFound("customer"))?;
        if confirmed {
            return Err(MailError::EmailConfirmed);
        }
        issue(self, &mut tx, &owner, Purpose::ConfirmEmail).await?;
        tx.commit().await?;
        Ok(())
    }
}
