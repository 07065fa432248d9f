//! The operators' form posts at /ops (operator session + CSRF): record a bank transfer, issue a
//! voucher or download a batch of activation codes as CSV, assign a prepaid card. Each is audited.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use backend::auth::sessions::Principal;
use backend::cash::{CashCredit, CashSource};
use backend::prepaid_cards::PrepaidCardAssignment;
use backend::vouchers::{ActivationCodeBatch, VoucherIssue};
use backend::{IdempotencyKey, LedgerError, Store};
use billing::Amount;
use billing::wallet_rules::VoucherValidity;
use serde::Deserialize;

use super::{back_with, see_other};
use crate::auth::{ClientAddress, constant_time_eq, session_cookie_of};

struct Operator {
    id: i64,
    username: String,
}

async fn operator_of(store: &Store, headers: &HeaderMap, csrf: &str) -> Result<Operator, Response> {
    let to_sign_in = || see_other("/ops", None);
    let session_id = session_cookie_of(headers).ok_or_else(to_sign_in)?;
    let Ok(Some(session)) = store.resume_session(&session_id).await else {
        return Err(to_sign_in());
    };
    let Principal::Operator(id) = session.principal else {
        return Err(to_sign_in());
    };
    if csrf.is_empty() || !constant_time_eq(csrf.as_bytes(), session.csrf_token.as_bytes()) {
        return Err(see_other("/ops?error=csrf_failed", None));
    }
    let username = store
        .operator_by_id(id)
        .await
        .map_err(|_| to_sign_in())?
        .username;
    Ok(Operator { id, username })
}

fn back(code: &str, field: Option<&str>) -> Response {
    back_with("/ops", code, field, &[], "")
}

fn internal(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "operator form failed");
    back("internal", None)
}

async fn customer_account(store: &Store, username: &str) -> Result<i64, Response> {
    store
        .customer_by_username(username.trim())
        .await
        .map(|c| c.billing_account_id)
        .map_err(|_| back("account_unknown", Some("account")))
}

fn amount(text: &str, code: &str, field: &str) -> Result<Amount, Response> {
    Amount::parse(text.trim()).map_err(|_| back(code, Some(field)))
}

fn ledger_back(error: LedgerError) -> Response {
    match error {
        // A transfer's idempotency key is its reference, so a reused key is a reference recorded before.
        LedgerError::DuplicateReceipt { .. } | LedgerError::IdempotencyKeyReused { .. } => {
            back("duplicate_receipt", Some("reference"))
        }
        LedgerError::ReferenceOfAnotherAccount { .. } => {
            back("reference_of_another_account", Some("reference"))
        }
        LedgerError::InvalidReference => back("reference_invalid", Some("reference")),
        LedgerError::TopUp(_) => back("amount_invalid", Some("amount")),
        LedgerError::InvalidFaceValue { .. } => back("face_value_invalid", Some("face_value")),
        LedgerError::VoucherValidity(_) => back("valid_days_invalid", Some("valid_days")),
        LedgerError::InvalidCodeCount { .. } => back("count_invalid", Some("count")),
        LedgerError::PrepaidCard(_) => back("denomination_invalid", Some("denomination")),
        other => internal(&other),
    }
}

async fn audited(
    store: &Store,
    operator: &Operator,
    action: &str,
    account: Option<i64>,
    detail: &str,
    client: &str,
) -> Response {
    match store
        .audit(operator.id, action, account, detail, client)
        .await
    {
        Ok(()) => see_other(
            &format!("/ops?done={}", app::url::percent_encode(detail, false)),
            None,
        ),
        Err(e) => internal(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct BankTransferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
}

/// operator + CSRF: a received bank transfer; one reference credits once.
pub async fn ops_record_bank_transfer(
    State(store): State<Store>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<BankTransferForm>,
) -> Response {
    let run = async {
        let operator = operator_of(&store, &headers, &form.csrf).await?;
        let account_id = customer_account(&store, &form.account).await?;
        let amount = amount(&form.amount, "amount_invalid", "amount")?;
        let reference = form.reference.trim().to_owned();
        let key = IdempotencyKey::new(format!("bank_transfer:{reference}"))
            .map_err(|_| back("reference_invalid", Some("reference")))?;
        let credit = CashCredit {
            account_id,
            amount,
            source: CashSource::BankTransfer,
            reference: reference.clone(),
        };
        let done = store
            .credit_cash(&key, &credit)
            .await
            .map_err(ledger_back)?;
        let detail = format!(
            "bank transfer {reference} of {amount} (ledger transaction {})",
            done.transaction_id
        );
        Ok::<_, Response>(
            audited(
                &store,
                &operator,
                "bank_transfer.record",
                Some(account_id),
                &detail,
                &client,
            )
            .await,
        )
    };
    run.await.unwrap_or_else(|response| response)
}

#[derive(Debug, Deserialize)]
pub struct VoucherForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    face_value: String,
    #[serde(default)]
    valid_days: String,
    #[serde(default)]
    count: String,
}

/// operator + CSRF: with a customer, issues them a regular voucher; without, downloads a CSV of
/// new activation codes (redeemable for 90 days).
pub async fn ops_vouchers(
    State(store): State<Store>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<VoucherForm>,
) -> Response {
    let run = async {
        let operator = operator_of(&store, &headers, &form.csrf).await?;
        let face_value = amount(&form.face_value, "face_value_invalid", "face_value")?;
        let days: u32 = form
            .valid_days
            .trim()
            .parse()
            .map_err(|_| back("valid_days_invalid", Some("valid_days")))?;
        let validity = VoucherValidity::DaysFromActivation(days);
        let key = IdempotencyKey::generated("ops").map_err(|e| internal(&e))?;
        if !form.account.trim().is_empty() {
            let account_id = customer_account(&store, &form.account).await?;
            let done = store
                .issue_voucher(
                    &key,
                    &VoucherIssue {
                        account_id,
                        face_value,
                        validity,
                    },
                )
                .await
                .map_err(ledger_back)?;
            let detail = format!("issued voucher {} of {face_value}", done.voucher.number);
            return Ok(audited(
                &store,
                &operator,
                "voucher.issue",
                Some(account_id),
                &detail,
                &client,
            )
            .await);
        }
        let count: u32 = form
            .count
            .trim()
            .parse()
            .map_err(|_| back("count_invalid", Some("count")))?;
        let batch = ActivationCodeBatch {
            face_value,
            validity,
            count,
            redeem_by: store.now() + chrono::Duration::days(90),
        };
        let done = store
            .generate_activation_codes(&key, &batch)
            .await
            .map_err(ledger_back)?;
        let detail = format!(
            "generated {} codes of {face_value} (batch {})",
            done.codes.len(),
            done.batch_id
        );
        store
            .audit(
                operator.id,
                "voucher.generate_codes",
                None,
                &detail,
                &client,
            )
            .await
            .map_err(|e| internal(&e))?;
        // UTF-8 with BOM, so that Excel opens it as UTF-8.
        let mut csv = String::from("\u{feff}code,face_value,valid_days\r\n");
        for code in &done.codes {
            csv.push_str(&format!("{code},{face_value},{days}\r\n"));
        }
        let disposition = format!(
            "attachment; filename=\"activation-codes-batch-{}.csv\"",
            done.batch_id
        );
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition).map_err(|e| internal(&e))?,
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            csv,
        )
            .into_response())
    };
    run.await.unwrap_or_else(|response| response)
}

#[derive(Debug, Deserialize)]
pub struct CardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    denomination: String,
}

/// operator + CSRF: assigns a prepaid card without payment.
pub async fn ops_assign_card(
    State(store): State<Store>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
    let run = async {
        let operator = operator_of(&store, &headers, &form.csrf).await?;
        let account_id = customer_account(&store, &form.account).await?;
        let denomination = amount(&form.denomination, "denomination_invalid", "denomination")?;
        let key = IdempotencyKey::generated("ops").map_err(|e| internal(&e))?;
        let assignment = PrepaidCardAssignment {
            account_id,
            denomination,
            assigned_by: format!("operator:{}", operator.username),
        };
        let done = store
            .assign_prepaid_card(&key, &assignment)
            .await
            .map_err(ledger_back)?;
        let detail = format!("assigned card {} of {denomination}", done.card.number);
        Ok::<_, Response>(
            audited(
                &store,
                &operator,
                "prepaid_card.assign",
                Some(account_id),
                &detail,
                &client,
            )
            .await,
        )
    };
    run.await.unwrap_or_else(|response| response)
}
