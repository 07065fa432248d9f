//! Customers: the login of a billing account. Signing up opens the billing account too.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::auth::AuthError;
use crate::auth::password::check_new_password;
use crate::auth::rate_limit::Action;
use crate::auth::sessions::{Principal, delete_other_sessions};
use crate::store::Store;
use crate::time::{from_micros, to_micros};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    pub username: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub password: String,
    /// The language of the account's mail: `zh-CN` or `en` (default zh-CN).
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: i64,
    pub billing_account_id: i64,
    pub username: String,
    pub email: String,
    pub phone: Option<String>,
    pub contact_name: Option<String>,
    pub company: Option<String>,
    /// Whether `email` was proven by its confirmation link (until then, only that link is
    /// mailed to it).
    pub email_confirmed: bool,
    /// The language of the account's mail.
    pub language: crate::mail::Language,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
}

pub fn check_username(username: &str) -> Result<(), AuthError> {
    let ok = (3..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(AuthError::InvalidUsername)
    }
}

/// Lower-cased and trimmed, or `InvalidEmail`. Deliberately simple: one '@', something on both
/// sides, a dot in the domain, no spaces; whether it receives mail is the mail's business.
pub fn normalise_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.contains('@') && domain.contains('.')
               && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok {
        Ok(email)
    } else {
        Err(AuthError::InvalidEmail)
    }
}

fn normalise_phone(phone: Option<&str>) -> Result<Option<String>, AuthError> {
    let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let ok = (5..=20).contains(&digits)
        && phone
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0));
    if ok {
        Ok(Some(phone.to_owned()))
    } else {
        Err(AuthError::InvalidPhone)
    }
}

fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, AuthError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(AuthError::InvalidText { field, max });
    }
    Ok(Some(value.to_owned()))
}

const COLUMNS: &str = "id, billing_account_id, username, email, phone, contact_name, company, \
     email_confirmed_at, language, created_at";

fn customer_from_row(row: &AnyRow) -> Result<Customer, AuthError> {
    Ok(Customer {
        id: row.try_get("id")?,
        billing_account_id: row.try_get("billing_account_id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        contact_name: row.try_get("contact_name")?,
        company: row.try_get("company")?,
        email_confirmed: row
            .try_get::<Option<i64>, _>("email_confirmed_at")?
            .is_some(),
        language: crate::mail::Language::stored(&row.try_get::<String, _>("language")?),
        created_at: from_micros(row.try_get("created_at")?),
    })
}

fn link_owner(customer: &Customer) -> crate::mail::links::LinkOwner {
    crate::mail::links::LinkOwner {
        customer_id: customer.id,
        account_id: customer.billing_account_id,
        username: customer.username.clone(),
        email: customer.email.clone(),
        language: customer.language,
    }
}

pub(crate) fn unique_violation_on(error: &sqlx::Error, column: &str) -> bool {
    match error {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            e.message().contains(column) || e.constraint().is_some_and(|c| c.contains(column))
        }
        _ => false,
    }
}

impl Store {
    /// A sign-up from `client`: counted (and possibly refused, before any work) against the
    /// address's sign-up limit, then [`Store::sign_up`]. What the sign-up forms and API call.
    pub async fn sign_up_from(
        &self,
        request: &SignUp,
        client: &str,
    ) -> Result<Customer, AuthError> {
        self.begin_attempt(Action::SignUp, "", client).await?;
        self.sign_up(request).await
    }

    /// Opens the account and its login, without a rate limit (the demo data, tests).
    pub async fn sign_up(&self, request: &SignUp) -> Result<Customer, AuthError> {
        check_username(&request.username)?;
        let email = normalise_email(&request.email)?;
        let phone = normalise_phone(request.phone.as_deref())?;
        check_new_password(&request.username, &request.password)?;
        let language = match request.language.as_deref() {
            None | Some("") => crate::mail::Language::default(),
            Some(code) => crate::mail::Language::from_code(code)
                .ok_or_else(|| AuthError::UnsupportedLanguage(code.chars().take(40).collect()))?,
        };
        let taken = |sql: &'static str, value: String| async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(value)
                .fetch_optional(self.pool())
                .await
        };
        if taken(
            "SELECT id FROM customers WHERE username = $1",
            request.username.clone(),
        )
        .await?
        .is_some()
        {
            return Err(AuthError::UsernameTaken);
        }
        if taken("SELECT id FROM customers WHERE email = $1", email.clone())
            .await?
            .is_some()
        {
            return Err(AuthError::EmailTaken);
        }
        let hash = self.hash_password(&request.password).await;
        let now = to_micros(self.now());
        let mut tx = self.pool().begin().await?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO billing_accounts (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(&request.username)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO customers (billing_account_id, username, email, phone, password_hash, created_at, language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ))
        .bind(account_id)
        .bind(&request.username)
        .bind(&email)
        .bind(phone)
        .bind(hash)
        .bind(now)
        .bind(language.code())
        .fetch_one(&mut *tx)
        .await;
        let row = match inserted {
            Ok(row) => row,
            // Lost a race with another sign-up between the checks and the insert.
            Err(e) if unique_violation_on(&e, "username") => return Err(AuthError::UsernameTaken),
            Err(e) if unique_violation_on(&e, "email") => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        let customer = customer_from_row(&row)?;
        crate::mail::links::mail_confirmation(self, &mut tx, &link_owner(&customer)).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Signs in by username or email. Rate limited per login and client; an unknown login costs
    /// the same argon2 work as a wrong password and gives the same error.
    pub async fn sign_in_customer(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> Result<Customer, AuthError> {
        let login_key = login.trim().to_lowercase().replace('\0', "");
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, password_hash FROM customers WHERE username = $1 OR email = $1"
        ))
        .bind(&login_key)
        .fetch_optional(self.pool())
        .await?;
        // One limiter key per account, whichever of username or email is typed.
        let limiter_key = match &row {
            Some(row) => format!("customer#{}", row.try_get::<i64, _>("id")?),
            None => login_key,
        };
        let attempt = self
            .begin_attempt(Action::SignIn, &limiter_key, client)
            .await?;
        let stored = row
            .as_ref()
            .map(|r| r.try_get::<String, _>("password_hash"))
            .transpose()?;
        if !self.check_password(stored, password).await {
            return Err(AuthError::InvalidCredentials);
        }
        self.attempt_succeeded(&attempt).await?;
        customer_from_row(&row.expect("a verified password has a row"))
    }

    pub async fn customer(&self, id: i64) -> Result<Customer, AuthError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(AuthError::NotFound("customer"))?;
        customer_from_row(&row)
    }

    /// The customer who holds a billing account, if one does (an account made by an operator for
    /// a company may have none yet).
    pub async fn customer_of_account(
        &self,
        account_id: i64,
    ) -> Result<Option<Customer>, AuthError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM customers WHERE billing_account_id = $1"
        ))
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(customer_from_row).transpose()
    }

    pub async fn customer_by_username(&self, username: &str) -> Result<Customer, AuthError> {
        // No username holds a NUL (PostgreSQL text cannot even be compared with one).
        if username.contains('\0') {
            return Err(AuthError::NotFound("customer"));
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM customers WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(self.pool())
        .await?
        .ok_or(AuthError::NotFound("customer"))?;
        customer_from_row(&row)
    }

    pub async fn update_profile(
        &self,
        id: i64,
        update: &ProfileUpdate,
    ) -> Result<Customer, AuthError> {
        let email = normalise_email(&update.email)?;
        let phone = normalise_phone(update.phone.as_deref())?;
        let contact_name = optional_text("contact_name", update.contact_name.as_deref(), 100)?;
        let company = optional_text("company", update.company.as_deref(), 200)?;
        let other: Option<i64> =
            sqlx::query_scalar("SELECT id FROM customers WHERE email = $1 AND id <> $2")
                .bind(&email)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        if other.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let mut tx = self.begin_write().await?;
        let before = sqlx::query(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AuthError::NotFound("customer"))?;
        let before = customer_from_row(&before)?;
        let changed_address = before.email != email;
        let updated = sqlx::query(&format!(
            "UPDATE customers SET email = $1, phone = $2, contact_name = $3, company = $4, \
             email_confirmed_at = CASE WHEN email = $1 THEN email_confirmed_at END \
             WHERE id = $5 RETURNING {COLUMNS}"
        ))
        .bind(&email)
        .bind(phone)
        .bind(contact_name)
        .bind(company)
        .bind(id)
        .fetch_one(&mut *tx)
        .await;
        let customer = match updated {
            Ok(row) => customer_from_row(&row)?,
            Err(e) if unique_violation_on(&e, "email") => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        if changed_address {
            // The new address gets its confirmation link and nothing else until it is
            // confirmed; the old one, if it was ever proven, hears of the change.
            crate::mail::links::mail_confirmation(self, &mut tx, &link_owner(&customer)).await?;
            if before.email_confirmed {
                crate::mail::outbox::enqueue(
                    &mut tx,
                    self.settlement_timezone(),
                    &crate::mail::outbox::Outgoing {
                        account_id: Some(customer.billing_account_id),
                        recipient: before.email.clone(),
                        language: before.language,
                        dedupe_key: None,
                        mail: crate::mail::templates::Mail::EmailChanged {
                            username: customer.username.clone(),
                            new_email: email.clone(),
                        },
                    },
                    self.now(),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(customer)
    }

    /// Marks the customer's current address confirmed without a link: the demo data's and the
    /// tests' accounts, whose addresses receive nothing. No page or endpoint calls it.
    pub async fn mark_email_confirmed(&self, id: i64) -> Result<(), AuthError> {
        sqlx::query("UPDATE customers SET email_confirmed_at = COALESCE(email_confirmed_at, $1) WHERE id = $2")
            .bind(to_micros(self.now()))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Changes the password after checking the current one, and ends every other session. Wrong
    /// current passwords are limited per account and per `client` address.
    pub async fn change_password(
        &self,
        id: i64,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
        client: &str,
    ) -> Result<(), AuthError> {
        let customer = self.customer(id).await?;
        let stored: String =
            sqlx::query_scalar("SELECT password_hash FROM customers WHERE id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        // A stolen session must not be able to guess the current password at leisure.
        let attempt = self
            .begin_attempt(Action::PasswordChange, &format!("customer#{id}"), client)
            .await?;
        if !self.check_password(Some(stored), current).await {
            return Err(AuthError::WrongCurrentPassword);
        }
        self.attempt_succeeded(&attempt).await?;
        check_new_password(&customer.username, new)?;
        let hash = self.hash_password(new).await;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE customers SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        delete_other_sessions(&mut tx, Principal::Customer(id), keep_session).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_emails_and_phones_are_checked() {
        assert!(check_username("alice_01-x").is_ok());
        for bad in ["al", "Alice", "alice!", "a".repeat(33).as_str(), "ali ce"] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalise_email(" Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalise_phone(Some("+86 138-0000-0000"))
                .unwrap()
                .as_deref(),
            Some("+86 138-0000-0000")
        );
        assert_eq!(normalise_phone(Some("  ")).unwrap(), None);
        assert!(normalise_phone(Some("call me")).is_err());
        assert!(normalise_phone(Some("12+34567")).is_err());
    }
}
