//! Operator endpoints, authenticated by an operator API token. Every call is audited.

use axum::Json;
use axum::extract::{Query, State};
use backend::Store;
use backend::auth::audit::{AuditRecord, OperatorAct};
use backend::auth::operators::{Revoker, TokenInfo};
use serde::{Deserialize, Serialize};

use super::accounts::auth_error;
use super::schema::{self, MoneyInput};
use super::{ApiError, ApiErrorBody};
use crate::auth::{ClientAddress, OperatorToken};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only the entries of this customer's account (by username).
    account: Option<String>,
    /// How many, 1 to 1000 (default 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// The audit log
///
/// operator: the newest audit entries, optionally of one account (by customer username).
/// Reading it is itself audited.
#[utoipa::path(
    get,
    path = "/ops/audit",
    tag = "ops",
    security(("operator_token" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "The newest entries first", body = Vec<schema::AuditRecord>),
        (status = 404, description = "`account_unknown` (`field: account`): no customer of that username", body = ApiErrorBody),
        (status = 422, description = "`invalid_field` (`field: limit`): outside 1 to 1000", body = ApiErrorBody),
    ),
)]
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
                return Err(backend::problem::Problem::unknown_customer(username).into());
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
    match store.customer_by_username(username).await {
        Ok(customer) => Ok(customer.billing_account_id),
        Err(backend::auth::AuthError::NotFound(_)) => {
            Err(backend::problem::Problem::unknown_customer(username).into())
        }
        Err(e) => Err(auth_error(e)),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account": "alice", "amount": "500.00", "reference": "BANK-0001"}))]
pub(super) struct BankTransfer {
    /// The customer's username.
    account: String,
    #[schema(value_type = MoneyInput)]
    amount: billing::Amount,
    /// The bank's receipt number, or the customer's `BT-` code of a bank-transfer top-up; it
    /// credits cash once. At most 128 characters, without control characters.
    #[schema(pattern = r"^[^\u0000-\u001F\u007F-\u009F]{1,128}$")]
    reference: String,
}

/// Record a bank transfer
///
/// operator: records a received bank transfer (audited); a reference credits cash once, arrears
/// first. The same request again returns the first result. A reference that is a customer's `BT-`
/// code marks that bank-transfer top-up paid.
#[utoipa::path(
    post,
    path = "/ops/bank-transfers",
    tag = "ops",
    security(("operator_token" = [])),
    request_body = BankTransfer,
    responses(
        (status = 201, description = "Cash credited", body = schema::CashCredited),
        (status = 404, description = "`account_unknown` (`field: account`): no customer of that username", body = ApiErrorBody),
        (status = 409, description = "`duplicate_receipt` (the reference with another amount), `reference_of_another_account`, `top_up_already_paid`, `top_up_amount_mismatch`", body = ApiErrorBody),
        (status = 422, description = "`reference_invalid` or `amount_invalid` (with `field`)", body = ApiErrorBody),
    ),
)]
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

/// Either `valid_days`, or `valid_from` and `valid_until`. With `account`, one voucher issued to
/// that account; without it, `count` one-time activation codes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"face_value": "30.00", "valid_days": 30, "account": "alice"}))]
pub(super) struct VoucherRequest {
    #[schema(value_type = MoneyInput)]
    face_value: billing::Amount,
    /// Valid for this many days from activation.
    #[schema(minimum = 0, maximum = 4294967295_u64)]
    valid_days: Option<u32>,
    valid_from: Option<chrono::DateTime<chrono::Utc>>,
    valid_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Issue straight to this customer's account (username); without it, generate codes.
    account: Option<String>,
    /// How many codes (default 1, at most 10,000); with `account` only 1.
    #[schema(minimum = 0, maximum = 4294967295_u64)]
    count: Option<u32>,
    /// Codes can be activated for this many days (1 to 3650, default 90).
    #[schema(minimum = 0, maximum = 4294967295_u64)]
    redeem_days: Option<u32>,
}

/// A voucher issued to an account, or a batch of activation codes (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VouchersDone {
    Issued {
        #[schema(value_type = schema::InstrumentRecord)]
        voucher: backend::accounts::InstrumentRecord,
    },
    Codes {
        batch_id: i64,
        /// Grouped as `XXXX-XXXX-XXXX-XXXX`.
        codes: Vec<String>,
    },
}

/// Issue a voucher or generate codes
///
/// operator: issues a regular voucher to an account, or generates one-time activation codes
/// (audited, in the same transaction).
#[utoipa::path(
    post,
    path = "/ops/vouchers",
    tag = "ops",
    security(("operator_token" = [])),
    params(super::idempotency::IdempotencyKeyHeader),
    request_body = VoucherRequest,
    responses(
        (status = 201, description = "`{\"voucher\"}` issued to the account, or `{\"batch_id\",\"codes\"}`", body = VouchersDone),
        (status = 404, description = "`account_unknown` (`field: account`): no customer of that username", body = ApiErrorBody),
        (status = 422, description = "`face_value_invalid`, `valid_days_invalid` (or the validity window), `count_invalid`, `redeem_by_invalid` (with `field`); `invalid_field` for `redeem_days`, for neither or both validity forms, or a `count` with `account`", body = ApiErrorBody),
    ),
)]
pub async fn vouchers(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    headers: axum::http::HeaderMap,
    body: super::json::RawBody,
) -> Result<(axum::http::StatusCode, Json<VouchersDone>), ApiError> {
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
                Json(VouchersDone::Issued {
                    voucher: done.voucher,
                }),
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
                Json(VouchersDone::Codes {
                    batch_id: done.batch_id,
                    codes: done.codes,
                }),
            ))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account": "alice", "denomination": "200.00"}))]
pub(super) struct CardAssignment {
    /// The customer's username.
    account: String,
    #[schema(value_type = schema::CardDenomination)]
    denomination: billing::Amount,
}

/// Assign a prepaid card
///
/// operator: assigns a prepaid card without payment (audited).
#[utoipa::path(
    post,
    path = "/ops/prepaid-cards",
    tag = "ops",
    security(("operator_token" = [])),
    params(super::idempotency::IdempotencyKeyHeader),
    request_body = CardAssignment,
    responses(
        (status = 201, description = "The card assigned", body = schema::PrepaidCardAssigned),
        (status = 404, description = "`account_unknown` (`field: account`): no customer of that username", body = ApiErrorBody),
        (status = 422, description = "`denomination_invalid` (`field: denomination`)", body = ApiErrorBody),
    ),
)]
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
    ApiError::from(error)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"day": "2026-11-22"}))]
pub(super) struct SettlementRequest {
    /// A finished day, `YYYY-MM-DD`, in the settlement timezone.
    #[schema(format = Date)]
    day: String,
}

/// Settle a day now
///
/// operator: settles a finished day now (idempotent: a settled day charges nothing again), and
/// reports what it did. The server does the same every minute for every past day with unsettled
/// usage.
#[utoipa::path(
    post,
    path = "/ops/settlements",
    tag = "ops",
    security(("operator_token" = [])),
    request_body = SettlementRequest,
    responses(
        (status = 200, description = "What the run did", body = schema::SettlementReport),
        (status = 422, description = "`day_not_over` (today or later); `invalid_field` (`field: day`): not a day", body = ApiErrorBody),
    ),
)]
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
            backend::settlement::SettlementError::Ledger(e) => super::wallet::ledger_error(e),
            backend::settlement::SettlementError::Database(e) => ApiError::internal(e),
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

/// Failed settlements
///
/// operator: the days whose settlement failed for some workspaces, oldest first, with each reason.
#[utoipa::path(
    get,
    path = "/ops/settlements",
    tag = "ops",
    security(("operator_token" = [])),
    responses((status = 200, description = "The days with failures", body = Vec<schema::DayFailures>)),
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"workspace_id": "ws-prod", "record_id": "r-1", "reason": "reported twice under two ids"}))]
pub(super) struct VoidUsageRequest {
    workspace_id: String,
    record_id: String,
    /// Why (kept in the audit log): 1 to 500 characters, without control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^\s*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    reason: String,
}

/// Void a usage record
///
/// operator: voids a usage record that has not been billed (audited with the reason), so its day
/// can be settled without it; then `POST /ops/settlements` settles the day again.
#[utoipa::path(
    post,
    path = "/ops/usage/void",
    tag = "ops",
    security(("operator_token" = [])),
    request_body = VoidUsageRequest,
    responses(
        (status = 200, description = "The voided record", body = schema::VoidedUsage),
        (status = 404, description = "`not_found`: no such usage record of that workspace", body = ApiErrorBody),
        (status = 409, description = "`usage_already_billed`", body = ApiErrorBody),
        (status = 422, description = "`invalid_field` (`field: reason`)", body = ApiErrorBody),
    ),
)]
pub async fn void_usage(
    State(store): State<Store>,
    OperatorToken(operator): OperatorToken,
    ClientAddress(client): ClientAddress,
    body: super::json::RawBody,
) -> Result<Json<backend::usage::VoidedUsage>, ApiError> {
    use backend::usage::VoidError;
    let request: VoidUsageRequest = super::json::parse(body)?;
    // No stored workspace or record id has a NUL; PostgreSQL refuses to compare text with one at
    // all, so it is answered here, the same on both databases (found by Schemathesis: a 500).
    if request.workspace_id.contains('\0') || request.record_id.contains('\0') {
        return Err(ApiError::not_found(
            VoidError::NotFound {
                workspace_id: request.workspace_id.replace('\0', "\\0"),
                record_id: request.record_id.replace('\0', "\\0"),
            }
            .to_string(),
        ));
    }
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

/// The caller's operator tokens
///
/// operator: the calling operator's tokens, newest first (id, created, expires, last used,
/// revoked, status), never a secret or its hash. Audited like every operator call.
#[utoipa::path(
    get,
    path = "/ops/tokens",
    tag = "ops",
    security(("operator_token" = [])),
    responses((status = 200, description = "The caller's tokens, newest first", body = Vec<schema::TokenInfo>)),
)]
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

/// Revoke an operator token
///
/// operator: revokes one of the caller's own tokens by id (204, also when it was already revoked).
/// Another operator's token, or an id that does not exist, is the same 404. A token may revoke
/// itself.
#[utoipa::path(
    delete,
    path = "/ops/tokens/{id}",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The token id (`id` of GET /ops/tokens)")),
    responses((status = 204, description = "Revoked")),
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlagsQuery {
    /// Resolved flags too (default: only the open ones).
    #[serde(default)]
    #[param(default = false)]
    all: bool,
}

/// Payment flags
///
/// operator: what the payment gateway said that the books do not agree with (a trade closed or
/// refunded after it was credited, a paid amount that is not the top-up's): open ones, or `all`.
#[utoipa::path(
    get,
    path = "/ops/payment-flags",
    tag = "ops",
    security(("operator_token" = [])),
    params(FlagsQuery),
    responses((status = 200, description = "The flags", body = Vec<schema::PaymentFlag>)),
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolution": "refunded by the bank; cash debited by hand"}))]
pub(super) struct ResolveFlag {
    /// What was done (audited): 1 to 500 characters, without control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^\s*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    resolution: String,
}

/// Resolve a payment flag
///
/// operator: records what was done about a flag (audited); it leaves the open list.
#[utoipa::path(
    post,
    path = "/ops/payment-flags/{id}/resolve",
    tag = "ops",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "The flag id")),
    request_body = ResolveFlag,
    responses(
        (status = 200, description = "The resolved flag", body = schema::PaymentFlag),
        (status = 404, description = "`not_found`: no such payment flag", body = ApiErrorBody),
        (status = 409, description = "`flag_already_resolved`", body = ApiErrorBody),
        (status = 422, description = "`invalid_field` (`field: resolution`)", body = ApiErrorBody),
    ),
)]
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
