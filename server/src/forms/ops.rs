//! The operators' form posts at /ops (operator session + CSRF): record a bank transfer, issue a
//! voucher or download a batch of activation codes as CSV, assign a prepaid card. Each is audited.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use backend::auth::audit::OperatorAct;
use backend::auth::sessions::Principal;
use backend::prepaid_cards::PrepaidCardAssignment;
use backend::vouchers::{ActivationCodeBatch, VoucherIssue};
use backend::{LedgerError, Store};
use billing::Amount;
use billing::wallet_rules::VoucherValidity;
use serde::Deserialize;

use super::{back_with, see_other};
use crate::auth::{ClientAddress, constant_time_eq, session_cookie_of};

struct Operator {
    act: OperatorAct,
    username: String,
}

async fn operator_of(
    store: &Store,
    headers: &HeaderMap,
    csrf: &str,
    client: String,
) -> Result<Operator, Response> {
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
    Ok(Operator {
        act: OperatorAct {
            operator_id: id,
            client,
        },
        username,
    })
}

/// The forms on /ops, each of which shows its own field errors.
#[derive(Debug, Clone, Copy)]
enum OpsForm {
    BankTransfers,
    Vouchers,
    PrepaidCards,
}

impl OpsForm {
    /// Must equal the `form` the page's fields are rendered with.
    fn name(self) -> &'static str {
        match self {
            OpsForm::BankTransfers => "bank_transfers",
            OpsForm::Vouchers => "vouchers",
            OpsForm::PrepaidCards => "prepaid_cards",
        }
    }

    /// The field a form-wide error is shown at.
    fn first_field(self) -> &'static str {
        match self {
            OpsForm::BankTransfers => "account",
            OpsForm::Vouchers => "face_value",
            OpsForm::PrepaidCards => "account",
        }
    }

    /// Back to /ops with the error at `field` of this form (`vouchers.account`, not every `account`).
    fn back(self, code: &str, field: &str) -> Response {
        let field = format!("{}.{field}", self.name());
        back_with("/ops", code, Some(&field), &[], "")
    }
}

fn internal(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "operator form failed");
    back_with("/ops", "internal", None, &[], "")
}

async fn customer_account(store: &Store, username: &str, form: OpsForm) -> Result<i64, Response> {
    store
        .customer_by_username(username.trim())
        .await
        .map(|c| c.billing_account_id)
        .map_err(|_| form.back("account_unknown", "account"))
}

fn amount(text: &str, form: OpsForm, field: &str) -> Result<Amount, Response> {
    Amount::parse(text.trim()).map_err(|_| form.back(&format!("{field}_invalid"), field))
}

fn ledger_back(error: LedgerError, form: OpsForm) -> Response {
    match error {
        LedgerError::DuplicateReceipt { .. } => form.back("duplicate_receipt", "reference"),
        LedgerError::ReferenceOfAnotherAccount { .. } => {
            form.back("reference_of_another_account", "reference")
        }
        LedgerError::TopUpAmountMismatch { .. } => form.back("top_up_amount_mismatch", "amount"),
        LedgerError::InvalidReference => form.back("reference_invalid", "reference"),
        LedgerError::IdempotencyKeyReused { .. } => {
            form.back("form_already_sent", form.first_field())
        }
        LedgerError::TopUpAlreadyPaid { .. } => form.back("top_up_already_paid", "reference"),
        LedgerError::TopUp(_) => form.back("amount_invalid", "amount"),
        LedgerError::InvalidFaceValue { .. } => form.back("face_value_invalid", "face_value"),
        LedgerError::VoucherValidity(_) => form.back("valid_days_invalid", "valid_days"),
        LedgerError::InvalidCodeCount { .. } => form.back("count_invalid", "count"),
        LedgerError::PrepaidCard(_) => form.back("denomination_invalid", "denomination"),
        other => internal(&other),
    }
}

/// Back to /ops with what was done (already in the audit log, written with the action).
fn done(detail: &str) -> Response {
    see_other(
        &format!("/ops?done={}", app::url::percent_encode(detail, false)),
        None,
    )
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
        let operator = operator_of(&store, &headers, &form.csrf, client).await?;
        let account_id = customer_account(&store, &form.account, OpsForm::BankTransfers).await?;
        let amount = amount(&form.amount, OpsForm::BankTransfers, "amount")?;
        let reference = form.reference.trim();
        let credited = store
            .record_bank_transfer(&operator.act, account_id, amount, reference)
            .await
            .map_err(|e| ledger_back(e, OpsForm::BankTransfers))?;
        Ok::<_, Response>(done(&format!(
            "bank transfer {reference} of {amount} (ledger transaction {})",
            credited.transaction_id
        )))
    };
    run.await.unwrap_or_else(|response| response)
}

#[derive(Debug, Deserialize)]
pub struct VoucherForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idempotency_key: String,
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
        const FORM: OpsForm = OpsForm::Vouchers;
        let operator = operator_of(&store, &headers, &form.csrf, client).await?;
        let face_value = amount(&form.face_value, FORM, "face_value")?;
        let days: u32 = form
            .valid_days
            .trim()
            .parse()
            .map_err(|_| FORM.back("valid_days_invalid", "valid_days"))?;
        let validity = VoucherValidity::DaysFromActivation(days);
        let key = super::form_key("ops", "vouchers", &form.idempotency_key)
            .map_err(|_| FORM.back("form_invalid", "face_value"))?;
        if !form.account.trim().is_empty() {
            let account_id = customer_account(&store, &form.account, FORM).await?;
            let issue = VoucherIssue {
                account_id,
                face_value,
                validity,
            };
            let issued = store
                .issue_voucher_by(&operator.act, &key, &issue)
                .await
                .map_err(|e| ledger_back(e, FORM))?;
            return Ok(done(&format!(
                "issued voucher {} of {face_value}",
                issued.voucher.number
            )));
        }
        let count: u32 = form
            .count
            .trim()
            .parse()
            .map_err(|_| FORM.back("count_invalid", "count"))?;
        let batch = ActivationCodeBatch {
            face_value,
            validity,
            count,
            redeem_by: store.now() + chrono::Duration::days(90),
        };
        let generated = store
            .generate_activation_codes_by(&operator.act, &key, &batch)
            .await
            .map_err(|e| ledger_back(e, FORM))?;
        // UTF-8 with BOM, so that Excel opens it as UTF-8.
        let mut csv = String::from("\u{feff}code,face_value,valid_days\r\n");
        for code in &generated.codes {
            csv.push_str(&format!("{code},{face_value},{days}\r\n"));
        }
        let disposition = format!(
            "attachment; filename=\"activation-codes-batch-{}.csv\"",
            generated.batch_id
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
    idempotency_key: String,
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
        const FORM: OpsForm = OpsForm::PrepaidCards;
        let operator = operator_of(&store, &headers, &form.csrf, client).await?;
        let account_id = customer_account(&store, &form.account, FORM).await?;
        let denomination = amount(&form.denomination, FORM, "denomination")?;
        let key = super::form_key("ops", "prepaid_cards", &form.idempotency_key)
            .map_err(|_| FORM.back("form_invalid", "denomination"))?;
        let assignment = PrepaidCardAssignment {
            account_id,
            denomination,
            assigned_by: format!("operator:{}", operator.username),
        };
        let assigned = store
            .assign_prepaid_card_by(&operator.act, &key, &assignment)
            .await
            .map_err(|e| ledger_back(e, FORM))?;
        Ok::<_, Response>(done(&format!(
            "assigned card {} of {denomination}",
            assigned.card.number
        )))
    };
    run.await.unwrap_or_else(|response| response)
}
