//! Operator endpoints, authenticated by an operator API token. Every call is audited.

use axum::Json;
use axum::extract::{Query, State};
use backend::Store;
use backend::auth::audit::{AuditRecord, OperatorAct};
use backend::auth::operators::{Revoker, TokenInfo};
use serde::Deserialize;

use super::ApiError;
use super::accounts::auth_error;
use crate::auth::{ClientAddress, OperatorToken};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    account: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// operator: the newest audit entries, optionally of one account (by customer username).
pub async fn audit_log(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    if !(1..=1000).contains(&query.limit) {
        return Err(
            ApiError::unprocessable("invalid_field", "limit must be 1 to 1000")
                .with_field(Some("limit")),
        );
    }
    let account_id = match &query.account {
        Some(username) => match store.customer_by_username(username).await {
            Ok(customer) => Some(customer.billing_account_id),
            Err(backend::auth::AuthError::NotFound(_)) => {
                // Looking for an account that does not exist is recorded too.
                let detail = format!("looked for the audit log of unknown account {username}");
                store
                    .audit(operator.id, "audit_log.read", None, &detail, &client)
                    .await
                    .map_err(auth_error)?;
                return Err(ApiError::not_found("no such account"));
            }
            Err(e) => return Err(auth_error(e)),
        },
        None => None,
    };
    let detail = match &query.account {
        Some(username) => format!("read the audit log of {username}"),
        None => "read the audit log".to_owned(),
    };
    store
        .audit(operator.id, "audit_log.read", account_id, &detail, &client)
        .await
        .map_err(auth_error)?;
    Ok(Json(
        store
            .audit_log(account_id, query.limit)
            .await
            .map_err(auth_error)?,
    ))
}

/// The account of a customer username, or 404.
async fn account_of(store: &Store, username: &str) -> Result<i64, ApiError> {
    Ok(store
        .customer_by_username(username)
        .await
        .map_err(auth_error)?
        .billing_account_id)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BankTransfer {
    account: String,
    amount: billing::Amount,
    reference: String,
}

/// operator: records a received bank transfer; a reference credits cash once.
pub async fn record_bank_transfer(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    body: super::json::RawBody,
) -> Result<(axum::http::StatusCode, Json<backend::cash::CashCredited>), ApiError> {
    let request: BankTransfer = super::json::parse(body)?;
    let account_id = account_of(&store, &request.account).await?;
    let by = OperatorAct {
        operator_id: operator.id,
        client,
    };
    let done = store
        .record_bank_transfer(&by, account_id, request.amount, &request.reference)
        .await
        .map_err(ops_ledger_error)?;
    Ok((axum::http::StatusCode::CREATED, Json(done)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoucherRequest {
    face_value: billing::Amount,
    valid_days: Option<u32>,
    valid_from: Option<chrono::DateTime<chrono::Utc>>,
    valid_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Issue straight to this customer's account; without it, generate codes.
    account: Option<String>,
    count: Option<u32>,
    /// Codes can be activated for this many days (default 90).
    redeem_days: Option<u32>,
}

/// operator: issues a regular voucher to an account, or generates one-time activation codes.
pub async fn vouchers(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    headers: axum::http::HeaderMap,
    body: super::json::RawBody,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), ApiError> {
    use billing::wallet_rules::VoucherValidity;
    let request: VoucherRequest = super::json::parse(body)?;
    let validity = match (request.valid_days, request.valid_from, request.valid_until) {
        (Some(days), None, None) => VoucherValidity::DaysFromActivation(days),
        (None, Some(valid_from), Some(valid_until)) => VoucherValidity::Fixed {
            valid_from,
            valid_until,
        },
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "give either valid_days, or valid_from and valid_until",
            )
            .with_field(Some("valid_days")));
        }
    };
    let key = super::idempotency::request_key(&headers, "ops")?;
    let by = OperatorAct {
        operator_id: operator.id,
        client,
    };
    match &request.account {
        Some(username) => {
            if request.count.is_some_and(|c| c != 1) {
                return Err(ApiError::unprocessable(
                    "invalid_field",
                    "count applies to codes, not to a voucher issued to an account",
                )
                .with_field(Some("count")));
            }
            let account_id = account_of(&store, username).await?;
            let issue = backend::vouchers::VoucherIssue {
                account_id,
                face_value: request.face_value,
                validity,
            };
            let done = store
                .issue_voucher_by(&by, &key, &issue)
                .await
                .map_err(ops_ledger_error)?;
            Ok((
                axum::http::StatusCode::CREATED,
                Json(serde_json::json!({ "voucher": done.voucher })),
            ))
        }
        None => {
            let redeem_days = request.redeem_days.unwrap_or(90);
            if !(1..=3650).contains(&redeem_days) {
                return Err(ApiError::unprocessable(
                    "invalid_field",
                    "redeem_days must be 1 to 3650",
                )
                .with_field(Some("redeem_days")));
            }
            let batch = backend::vouchers::ActivationCodeBatch {
                face_value: request.face_value,
                validity,
                count: request.count.unwrap_or(1),
                redeem_by: store.now() + chrono::Duration::days(redeem_days.into()),
            };
            let done = store
                .generate_activation_codes_by(&by, &key, &batch)
                .await
                .map_err(ops_ledger_error)?;
            Ok((
                axum::http::StatusCode::CREATED,
                Json(serde_json::json!({ "batch_id": done.batch_id, "codes": done.codes })),
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardAssignment {
    account: String,
    denomination: billing::Amount,
}

/// operator: assigns a prepaid card without payment.
pub async fn assign_card(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    headers: axum::http::HeaderMap,
    body: super::json::RawBody,
) -> Result<
    (
        axum::http::StatusCode,
        Json<backend::prepaid_cards::PrepaidCardAssigned>,
    ),
    ApiError,
> {
    let request: CardAssignment = super::json::parse(body)?;
    let account_id = account_of(&store, &request.account).await?;
    let key = super::idempotency::request_key(&headers, "ops")?;
    let assignment = backend::prepaid_cards::PrepaidCardAssignment {
        account_id,
        denomination: request.denomination,
        assigned_by: format!("operator:{}", operator.username),
    };
    let by = OperatorAct {
        operator_id: operator.id,
        client,
    };
    let done = store
        .assign_prepaid_card_by(&by, &key, &assignment)
        .await
        .map_err(ops_ledger_error)?;
    Ok((axum::http::StatusCode::CREATED, Json(done)))
}

fn ops_ledger_error(error: backend::LedgerError) -> ApiError {
    use backend::LedgerError as E;
    let message = error.to_string();
    match error {
        E::DuplicateReceipt { .. } => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "duplicate_receipt",
            message,
        )
        .with_field(Some("reference")),
        E::ReferenceOfAnotherAccount { .. } => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "reference_of_another_account",
            message,
        )
        .with_field(Some("reference")),
        E::TopUpAlreadyPaid { .. } => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "top_up_already_paid",
            message,
        )
        .with_field(Some("reference")),
        E::TopUpAmountMismatch { .. } => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "top_up_amount_mismatch",
            message,
        )
        .with_field(Some("amount")),
        E::InvalidReference => {
            ApiError::unprocessable("invalid_field", message).with_field(Some("reference"))
        }
        E::InvalidFaceValue { .. } => {
            ApiError::unprocessable("invalid_field", message).with_field(Some("face_value"))
        }
        E::VoucherValidity(_) => {
            ApiError::unprocessable("invalid_field", message).with_field(Some("valid_days"))
        }
        E::InvalidCodeCount { .. } => {
            ApiError::unprocessable("invalid_field", message).with_field(Some("count"))
        }
        other => super::wallet::ledger_error(other),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlementRequest {
    day: String,
}

/// operator: settles a finished day now (idempotent), and reports what it did.
pub async fn settle(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    body: super::json::RawBody,
) -> Result<Json<backend::settlement::SettlementReport>, ApiError> {
    let request: SettlementRequest = super::json::parse(body)?;
    let day = crate::cli::parse_day(&request.day)
        .map_err(|m| ApiError::unprocessable("invalid_field", m).with_field(Some("day")))?;
    let report = store
        .settle_day(day, &crate::settlement::run_owner())
        .await
        .map_err(|e| match e {
            backend::settlement::SettlementError::DayNotOver { .. } => {
                ApiError::unprocessable("day_not_over", e.to_string()).with_field(Some("day"))
            }
            other => ApiError::internal(other),
        })?;
    let detail = format!(
        "settled {day}: {:?}, {} bills charged, {} failures",
        report.status,
        report.bills_charged,
        report.failures.len()
    );
    store
        .audit(operator.id, "settlement.run", None, &detail, &client)
        .await
        .map_err(auth_error)?;
    Ok(Json(report))
}

/// operator: the days whose settlement failed for some workspaces, oldest first, with each reason.
pub async fn settlement_failures(
    State(store): State<Store>,
    OperatorToken(_operator): OperatorToken,
) -> Result<Json<Vec<backend::settlement::DayFailures>>, ApiError> {
    store
        .settlement_failures()
        .await
        .map(Json)
        .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoidUsageRequest {
    workspace_id: String,
    record_id: String,
    reason: String,
}

/// operator: voids a usage record that has not been billed (audited with the reason), so its day
/// can be settled without it; then `POST /ops/settlements` settles the day again.
pub async fn void_usage(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    body: super::json::RawBody,
) -> Result<Json<backend::usage::VoidedUsage>, ApiError> {
    use backend::usage::VoidError;
    let request: VoidUsageRequest = super::json::parse(body)?;
    let by = OperatorAct {
        operator_id: operator.id,
        client,
    };
    store
        .void_usage_record(
            &by,
            &request.workspace_id,
            &request.record_id,
            &request.reason,
        )
        .await
        .map(Json)
        .map_err(|e| {
            let message = e.to_string();
            match e {
                VoidError::NotFound { .. } => ApiError::not_found(message),
                VoidError::AlreadyBilled { .. } => ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "usage_already_billed",
                    message,
                ),
                VoidError::InvalidReason => {
                    ApiError::unprocessable("invalid_field", message).with_field(Some("reason"))
                }
                VoidError::BeingSettled { .. } => ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "day_being_settled",
                    message,
                ),
                VoidError::Database(e) => ApiError::internal(e),
            }
        })
}

/// operator: the calling operator's tokens, newest first (id, created, expires, last used,
/// revoked, status), never a secret or its hash. Audited like every operator call.
pub async fn tokens(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    store
        .audit(
            operator.id,
            "operator_token.list",
            None,
            "listed own tokens",
            &client,
        )
        .await
        .map_err(auth_error)?;
    Ok(Json(
        store
            .operator_tokens(operator.id)
            .await
            .map_err(auth_error)?,
    ))
}

/// operator: revokes one of the caller's own tokens by id (204, also when it was already revoked).
/// Another operator's token, or an id that does not exist, is the same 404.
pub async fn revoke_token(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let not_found = || ApiError::not_found("no such token of yours");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let by = OperatorAct {
        operator_id: operator.id,
        client,
    };
    match store
        .revoke_operator_token_by_id(id, Revoker::Operator(&by))
        .await
    {
        Ok(_) => Ok(axum::http::StatusCode::NO_CONTENT),
        Err(backend::auth::AuthError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(auth_error(e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsQuery {
    #[serde(default)]
    all: bool,
}

/// operator: what the payment gateway said that the books do not agree with (a trade closed or
/// refunded after it was credited, a paid amount that is not the top-up's): open ones, or `all`.
pub async fn payment_flags(
    State(store): State<Store>,
    OperatorToken(_operator): OperatorToken,
    Query(query): Query<FlagsQuery>,
) -> Result<Json<Vec<backend::reconciliation::PaymentFlag>>, ApiError> {
    store
        .payment_flags(query.all)
        .await
        .map(Json)
        .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveFlag {
    resolution: String,
}

/// operator: records what was done about a flag (audited); it leaves the open list.
pub async fn resolve_payment_flag(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: super::json::RawBody,
) -> Result<Json<backend::reconciliation::PaymentFlag>, ApiError> {
    use backend::reconciliation::FlagError;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("no such payment flag"))?;
    let request: ResolveFlag = super::json::parse(body)?;
    let by = OperatorAct {
        operator_id: operator.id,
        client,
    };
    store
        .resolve_payment_flag(&by, id, &request.resolution)
        .await
        .map(Json)
        .map_err(|e| {
            let message = e.to_string();
            match e {
                FlagError::NotFound(_) => ApiError::not_found(message),
                FlagError::AlreadyResolved(_) => ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "flag_already_resolved",
                    message,
                ),
                FlagError::InvalidResolution => {
                    ApiError::unprocessable("invalid_field", message).with_field(Some("resolution"))
                }
                FlagError::Ledger(e) => ApiError::internal(e),
            }
        })
}
