//! Enterprise (real-name) verification of an account (issue 18, PRODUCT.md §1): the customer
//! submits the enterprise's name, its unified social credit code (checked as GB 32100-2015
//! defines it, in `billing::enterprise`), a contact; an operator approves or rejects it with a
//! reason (audited, the account holder mailed). One row per account: the current submission;
//! the audit log keeps every decision. A verified account that submits again is reviewed again.

use billing::enterprise::{CreditCode, CreditCodeError, VerificationState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::mail::templates::Mail;
use crate::store::{Backend, Store};
use crate::time::{from_micros, to_micros};

/// An account's verification as its holder (and operators) see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enterprise {
    pub state: VerificationState,
    pub enterprise_name: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// The business licence (an image or a PDF in the attachment store).
    pub licence: Option<crate::attachments::Attachment>,
    /// Why an operator rejected it (with `rejected`).
    pub rejection_reason: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl Enterprise {
    fn unverified() -> Enterprise {
        Enterprise {
            state: VerificationState::Unverified,
            enterprise_name: None,
            credit_code: None,
            contact_name: None,
            contact_phone: None,
            licence: None,
            rejection_reason: None,
            submitted_at: None,
            reviewed_at: None,
        }
    }
}

/// What a customer submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseSubmission {
    pub enterprise_name: String,
    pub credit_code: String,
    pub contact_name: String,
    pub contact_phone: String,
    /// The business licence, uploaded first (`POST /api/v1/attachments`): a PNG, JPEG or PDF.
    pub licence_attachment_id: i64,
}

/// An operator's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Approve,
    Reject { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum EnterpriseError {
    #[error("credit_code: {0}")]
    InvalidCreditCode(#[from] CreditCodeError),
    #[error("{field} {why}")]
    InvalidField {
        field: &'static str,
        why: &'static str,
    },
    #[error("a submission is waiting for review; it can be changed once it is decided")]
    PendingReview,
    #[error("nothing of this account waits for review")]
    NotPending,
    #[error("the submission changed since it was shown: read it again before deciding")]
    ChangedSinceShown,
    #[error("no such account")]
    AccountNotFound,
    #[error("licence_attachment_id: {0}")]
    Licence(crate::support::SupportError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, EnterpriseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(EnterpriseError::InvalidField {
            field,
            why: "is required",
        });
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(EnterpriseError::InvalidField {
            field,
            why: "is too long or holds control characters",
        });
    }
    Ok(value.to_owned())
}

fn phone(value: &str) -> Result<String, EnterpriseError> {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if !(5..=20).contains(&digits) || !allowed || value.len() > 32 {
        return Err(EnterpriseError::InvalidField {
            field: "contact_phone",
            why: "is a phone number (digits, spaces, + - ( ))",
        });
    }
    Ok(value.to_owned())
}

fn enterprise_of(row: &sqlx::any::AnyRow) -> Result<Enterprise, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(Enterprise {
        state: VerificationState::from_code(&state).unwrap_or(VerificationState::Unverified),
        enterprise_name: Some(row.try_get("enterprise_name")?),
        credit_code: Some(row.try_get("credit_code")?),
        contact_name: Some(row.try_get("contact_name")?),
        contact_phone: Some(row.try_get("contact_phone")?),
        licence: None,
        rejection_reason: row.try_get("rejection_reason")?,
        submitted_at: Some(from_micros(row.try_get("submitted_at")?)),
        reviewed_at: row
            .try_get::<Option<i64>, _>("reviewed_at")?
            .map(from_micros),
    })
}

impl Store {
    /// An account's verification (`unverified` if it never submitted).
    pub async fn enterprise(&self, account_id: i64) -> Result<Enterprise, EnterpriseError> {
        let row = sqlx::query("SELECT * FROM enterprise_verifications WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(Enterprise::unverified());
        };
        let mut enterprise = enterprise_of(&row)?;
        if let Some(licence) = row.try_get::<Option<i64>, _>("licence_attachment_id")? {
            let row = sqlx::query(
                "SELECT id, kind, file_name, size_bytes, uploaded_at FROM attachments WHERE id = $1",
            )
            .bind(licence)
            .fetch_optional(self.pool())
            .await?;
            enterprise.licence = row
                .as_ref()
                .map(crate::attachments::attachment_of)
                .transpose()?;
        }
        Ok(enterprise)
    }

    /// An account's verification as an operator reviewing it sees it: the view is audited.
    pub async fn enterprise_for_operator(
        &self,
        operator: &crate::auth::operators::Operator,
        account_id: i64,
        client: &str,
    ) -> Result<Enterprise, EnterpriseError> {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM billing_accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(self.pool())
                .await?;
        if exists.is_none() {
            return Err(EnterpriseError::AccountNotFound);
        }
        let enterprise = self.enterprise(account_id).await?;
        let mut tx = self.begin_write().await?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            "enterprise.view",
            Some(account_id),
            enterprise.enterprise_name.as_deref().unwrap_or(""),
            client,
            to_micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(enterprise)
    }

    /// Submits (or submits again) the account's enterprise for review. Refused while one waits.
    pub async fn submit_enterprise(
        &self,
        account_id: i64,
        submission: &EnterpriseSubmission,
    ) -> Result<Enterprise, EnterpriseError> {
        let code = CreditCode::parse(&submission.credit_code)?;
        let name = text("enterprise_name", &submission.enterprise_name, 100)?;
        let contact = text("contact_name", &submission.contact_name, 50)?;
        let phone = phone(&submission.contact_phone)?;
        let now = to_micros(self.now());
        let mut tx = self.begin_write().await?;
        crate::accounts::lock(self, &mut tx, account_id)
            .await
            .map_err(|_| EnterpriseError::AccountNotFound)?;
        let current = sqlx::query(
            "SELECT state, licence_attachment_id FROM enterprise_verifications WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (state, current_licence) = match &current {
            Some(row) => (
                Some(row.try_get::<String, _>("state")?),
                row.try_get::<Option<i64>, _>("licence_attachment_id")?,
            ),
            None => (None, None),
        };
        if let Some(state) = state.as_deref().and_then(VerificationState::from_code)
            && !state.may_submit()
        {
            return Err(EnterpriseError::PendingReview);
        }
        // The licence: the one already on file, or a new upload of the account's, an image or a
        // PDF, which this submission then uses.
        if current_licence != Some(submission.licence_attachment_id) {
            let kind: Option<String> = sqlx::query_scalar(
                "SELECT kind FROM attachments WHERE id = $1 AND account_id = $2 AND used_for IS NULL",
            )
            .bind(submission.licence_attachment_id)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
            let kind = kind
                .as_deref()
                .and_then(crate::attachments::AttachmentKind::from_code)
                .ok_or(EnterpriseError::Licence(
                    crate::support::SupportError::AttachmentNotFound,
                ))?;
            if !kind.is_document_scan() {
                return Err(EnterpriseError::Licence(
                    crate::support::SupportError::LicenceNotADocument,
                ));
            }
            crate::attachments::attach(
                &mut tx,
                crate::attachments::Uploader::Customer { account_id },
                &[submission.licence_attachment_id],
                "licence",
                None,
                account_id,
            )
            .await
            .map_err(EnterpriseError::Licence)?;
        }
        sqlx::query(
            "INSERT INTO enterprise_verifications (account_id, state, enterprise_name, credit_code, contact_name, \
             contact_phone, rejection_reason, submitted_at, reviewed_at, reviewed_by, licence_attachment_id) \
             VALUES ($1, 'pending_review', $2, $3, $4, $5, NULL, $6, NULL, NULL, $7) \
             ON CONFLICT (account_id) DO UPDATE SET state = 'pending_review', enterprise_name = excluded.enterprise_name, \
             credit_code = excluded.credit_code, contact_name = excluded.contact_name, \
             contact_phone = excluded.contact_phone, rejection_reason = NULL, submitted_at = excluded.submitted_at, \
             reviewed_at = NULL, reviewed_by = NULL, licence_attachment_id = excluded.licence_attachment_id",
        )
        .bind(account_id)
        .bind(&name)
        .bind(code.as_str())
        .bind(&contact)
        .bind(&phone)
        .bind(now)
        .bind(submission.licence_attachment_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.enterprise(account_id).await
    }

    /// The customer takes back a submission that waits for review (an operator can then no
    /// longer decide it); they may submit again.
    pub async fn withdraw_enterprise(
        &self,
        account_id: i64,
    ) -> Result<Enterprise, EnterpriseError> {
        let mut tx = self.begin_write().await?;
        crate::accounts::lock(self, &mut tx, account_id)
            .await
            .map_err(|_| EnterpriseError::AccountNotFound)?;
        let withdrawn = sqlx::query(
            "UPDATE enterprise_verifications SET state = 'withdrawn' \
             WHERE account_id = $1 AND state = 'pending_review'",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        if withdrawn.rows_affected() != 1 {
            return Err(EnterpriseError::NotPending);
        }
        tx.commit().await?;
        self.enterprise(account_id).await
    }

    /// An operator approves or rejects what waits for review: audited, and the account holder
    /// is mailed, in one transaction.
    pub async fn review_enterprise(
        &self,
        operator: &crate::auth::operators::Operator,
        account_id: i64,
        review: &Review,
        client: &str,
    ) -> Result<Enterprise, EnterpriseError> {
        self.review_enterprise_shown(operator, account_id, review, None, client)
            .await
    }

    /// As [`Store::review_enterprise`], deciding only the submission the operator was shown: the
    /// one submitted at `shown_submitted_at` (a withdrawal and a new submission in between would
    /// otherwise be decided unseen): 409 `verification_changed` if it is not that one.
    pub async fn review_enterprise_shown(
        &self,
        operator: &crate::auth::operators::Operator,
        account_id: i64,
        review: &Review,
        shown_submitted_at: Option<DateTime<Utc>>,
        client: &str,
    ) -> Result<Enterprise, EnterpriseError> {
        let reason = match review {
            Review::Approve => None,
            Review::Reject { reason } => Some(text("reason", reason, 500)?),
        };
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let current: Option<(String, i64)> = sqlx::query_as(&format!(
            "SELECT state, submitted_at FROM enterprise_verifications WHERE account_id = $1{lock}"
        ))
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((state, submitted_at)) = current else {
            return Err(EnterpriseError::NotPending);
        };
        if !VerificationState::from_code(&state).is_some_and(VerificationState::may_review) {
            return Err(EnterpriseError::NotPending);
        }
        if shown_submitted_at.is_some_and(|shown| to_micros(shown) != submitted_at) {
            return Err(EnterpriseError::ChangedSinceShown);
        }
        let decided = if reason.is_some() {
            VerificationState::Rejected
        } else {
            VerificationState::Verified
        };
        let row = sqlx::query(
            "UPDATE enterprise_verifications SET state = $1, rejection_reason = $2, reviewed_at = $3, reviewed_by = $4 \
             WHERE account_id = $5 AND state = 'pending_review' RETURNING *",
        )
        .bind(decided.code())
        .bind(&reason)
        .bind(to_micros(now))
        .bind(operator.id)
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?;
        let enterprise = enterprise_of(&row)?;
        crate::auth::audit::record(
            &mut tx,
            operator.id,
            match decided {
                VerificationState::Verified => "enterprise.approve",
                _ => "enterprise.reject",
            },
            Some(account_id),
            &format!(
                "{} {}{}",
                enterprise.enterprise_name.clone().unwrap_or_default(),
                enterprise.credit_code.clone().unwrap_or_default(),
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            client,
            to_micros(now),
        )
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
                    mail: Mail::EnterpriseReviewed {
                        enterprise: enterprise.enterprise_name.clone().unwrap_or_default(),
                        approved: reason.is_none(),
                        reason: reason.clone(),
                        link: self.mail_settings().link("/account"),
                    },
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.enterprise(account_id).await
    }
}
