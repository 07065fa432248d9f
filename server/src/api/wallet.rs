//! The signed-in customer's wallet: balances, vouchers, prepaid cards; activating a code and
//! buying a card. Every route is for a customer and only ever touches their own billing account.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use backend::accounts::{AccountSnapshot, InstrumentOrigin, InstrumentRecord};
use backend::prepaid_cards::PrepaidCardPurchase;
use backend::vouchers::CodeActivation;
use backend::{LedgerError, Store};
use billing::{Amount, InstrumentKind, InstrumentStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::accounts::auth_error;
use super::idempotency::request_key;
use super::schema::{self, Money, SignedMoney};
use super::{ApiError, ApiErrorBody, json};
use crate::auth::{ClientAddress, CustomerSession};

/// Balances; vouchers and cards count only instruments usable now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WalletBalances {
    #[schema(value_type = Money)]
    pub cash: Amount,
    #[schema(value_type = Money)]
    pub arrears: Amount,
    #[schema(value_type = Money)]
    pub regular_voucher: Amount,
    #[schema(value_type = Money)]
    pub discount_voucher: Amount,
    #[schema(value_type = Money)]
    pub prepaid_card: Amount,
}

/// A voucher or prepaid card as the customer sees it. For a card `face_value` is the
/// denomination, `activated_at` the purchase (or assignment) time and `origin` `purchased` or
/// `assigned`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstrumentView {
    /// `RV…` regular voucher, `DV…` discount voucher, `PC…` prepaid card.
    pub number: String,
    #[schema(value_type = schema::InstrumentKind)]
    pub kind: InstrumentKind,
    #[schema(value_type = schema::InstrumentOrigin)]
    pub origin: InstrumentOrigin,
    #[schema(value_type = Money)]
    pub face_value: Amount,
    #[schema(value_type = Money)]
    pub balance: Amount,
    #[schema(value_type = schema::InstrumentStatus)]
    pub status: InstrumentStatus,
    /// For a card, its purchase (or assignment) time.
    pub activated_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

impl InstrumentView {
    fn of(record: &InstrumentRecord, now: DateTime<Utc>) -> InstrumentView {
        InstrumentView {
            number: record.number.clone(),
            kind: record.kind,
            origin: record.origin,
            face_value: record.face_value,
            balance: record.balance,
            status: record.status_at(now),
            activated_at: record.activated_at,
            valid_from: record.valid_from,
            valid_until: record.valid_until,
        }
    }
}

/// The API's answer to every ledger error, matched exhaustively: a new variant must be given its
/// code and status here before anything compiles (the codes are docs/API.md's; the pages' server
/// functions answer the same errors through `backend::problem`).
pub(super) fn ledger_error(error: LedgerError) -> ApiError {
    ApiError::from(error)
}

async fn own_account(
    store: &Store,
    session: &CustomerSession,
) -> Result<AccountSnapshot, ApiError> {
    let account_id = session.account_id;
    store.account(account_id).await.map_err(ledger_error)
}

/// Wallet balances
///
/// customer: balances; vouchers and cards count only what is usable now.
#[utoipa::path(
    get,
    path = "/wallet",
    tag = "wallet",
    security(("session" = [])),
    responses((status = 200, description = "The balances", body = WalletBalances)),
)]
pub async fn wallet(
    State(store): State<Store>,
    session: CustomerSession,
) -> Result<Json<WalletBalances>, ApiError> {
    let account = own_account(&store, &session).await?;
    let wallet = account.wallet().map_err(ledger_error)?;
    let now = store.now();
    Ok(Json(WalletBalances {
        cash: account.cash,
        arrears: account.arrears,
        regular_voucher: wallet.usable_balance(InstrumentKind::RegularVoucher, now),
        discount_voucher: wallet.usable_balance(InstrumentKind::DiscountVoucher, now),
        prepaid_card: wallet.usable_balance(InstrumentKind::PrepaidCard, now),
    }))
}

/// The columns of the voucher details CSV, by the JSON fields' names.
pub(super) const VOUCHER_COLUMNS: &[&str] = &[
    "number",
    "kind",
    "origin",
    "face_value",
    "balance",
    "status",
    "activated_at",
    "valid_from",
    "valid_until",
];
/// The columns of the prepaid card details CSV.
pub(super) const PREPAID_CARD_COLUMNS: &[&str] = &[
    "number",
    "kind",
    "purchase_type",
    "denomination",
    "balance",
    "status",
    "purchased_at",
    "valid_from",
    "valid_until",
];

async fn list(
    store: &Store,
    session: &CustomerSession,
    vouchers: bool,
    query: &super::statements::StatementQuery,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let period = query.optional_period()?;
    let csv = query.csv()?;
    query.refuse_paging_and_workspace()?;
    let account = own_account(store, session).await?;
    let now = store.now();
    let views: Vec<InstrumentView> = account
        .instruments_of(vouchers, period, store.settlement_timezone())
        .into_iter()
        .map(|i| InstrumentView::of(i, now))
        .collect();
    if !csv {
        return Ok(Json(views).into_response());
    }
    // Times in the settlement timezone, its offset written in each (RFC 3339).
    let zone = store.settlement_timezone();
    let rows = views
        .iter()
        .map(|v| {
            vec![
                v.number.clone(),
                serde_plain(&v.kind),
                serde_plain(&v.origin),
                v.face_value.to_string(),
                v.balance.to_string(),
                serde_plain(&v.status),
                v.activated_at.with_timezone(&zone).to_rfc3339(),
                v.valid_from.with_timezone(&zone).to_rfc3339(),
                v.valid_until.with_timezone(&zone).to_rfc3339(),
            ]
        })
        .collect();
    let name = if vouchers {
        "vouchers"
    } else {
        "prepaid-cards"
    };
    let header = if vouchers {
        VOUCHER_COLUMNS
    } else {
        PREPAID_CARD_COLUMNS
    };
    Ok(super::statements::csv_response(
        name,
        &query.headings(header)?,
        rows,
    ))
}

/// The snake_case name serde gives a unit variant.
fn serde_plain<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Vouchers
///
/// customer: regular and discount vouchers, newest first; `from`/`to` (activation day),
/// `format=csv`. They come whole (no pages).
#[utoipa::path(
    get,
    path = "/vouchers",
    tag = "wallet",
    security(("session" = [])),
    params(super::statements::PeriodParams, super::statements::FormatParam),
    responses(
        (status = 200, description = "The vouchers, newest first", content(
            (Vec<InstrumentView> = "application/json"),
            (String = "text/csv", example = "number,kind,origin,face_value,balance,status,activated_at,valid_from,valid_until"),
        )),
        (status = 422, description = "`invalid_field`: a bad `from`, `to` or `format`, or a parameter this list does not take", body = ApiErrorBody),
    ),
)]
pub async fn vouchers(
    State(store): State<Store>,
    session: CustomerSession,
    Query(query): Query<super::statements::StatementQuery>,
) -> Result<axum::response::Response, ApiError> {
    list(&store, &session, true, &query).await
}

/// Prepaid cards
///
/// customer: prepaid cards, newest first; `from`/`to` (purchase day), `format=csv`. They come
/// whole (no pages).
#[utoipa::path(
    get,
    path = "/prepaid-cards",
    tag = "wallet",
    security(("session" = [])),
    params(super::statements::PeriodParams, super::statements::FormatParam),
    responses(
        (status = 200, description = "The prepaid cards, newest first", content(
            (Vec<InstrumentView> = "application/json"),
            (String = "text/csv", example = "number,kind,purchase_type,denomination,balance,status,purchased_at,valid_from,valid_until"),
        )),
        (status = 422, description = "`invalid_field`: a bad `from`, `to` or `format`, or a parameter this list does not take", body = ApiErrorBody),
    ),
)]
pub async fn prepaid_cards(
    State(store): State<Store>,
    session: CustomerSession,
    Query(query): Query<super::statements::StatementQuery>,
) -> Result<axum::response::Response, ApiError> {
    list(&store, &session, false, &query).await
}

/// Case, spaces and dashes are forgiven.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "ABCD-EFGH-JKLM-NPQR"}))]
pub(super) struct ActivateRequest {
    #[schema(max_length = 64)]
    code: String,
}

/// Activate a voucher code
///
/// customer + CSRF: activates a one-time code. Failed codes are limited per account and per client
/// address (`auth::rate_limit`, apart from sign-ins), so codes cannot be guessed.
#[utoipa::path(
    post,
    path = "/vouchers/activate",
    tag = "wallet",
    security(("session" = [], "csrf" = [])),
    params(super::idempotency::IdempotencyKeyHeader),
    request_body = ActivateRequest,
    responses(
        (status = 201, description = "The voucher the code became", body = InstrumentView),
        (status = 404, description = "`code_not_found` (also a code longer than any code)", body = ApiErrorBody),
        (status = 409, description = "`code_already_used`", body = ApiErrorBody),
        (status = 422, description = "`code_expired` (`field: code`)", body = ApiErrorBody),
        (status = 429, description = "`rate_limited`: too many failed codes for this account or address (Retry-After, in seconds)", body = ApiErrorBody,
            headers(("retry-after" = i64, description = "Seconds to wait"))),
    ),
)]
pub async fn activate(
    State(store): State<Store>,
    session: CustomerSession,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    body: json::RawBody,
) -> Result<(StatusCode, Json<InstrumentView>), ApiError> {
    session.require_csrf_header()?;
    let request: ActivateRequest = json::parse(body)?;
    let account_id = session.account_id;
    let key = request_key(&headers, &format!("customer{account_id}"))?;
    let attempt = store
        .begin_attempt(
            backend::auth::rate_limit::Action::CodeActivation,
            &format!("account#{account_id}"),
            &client,
        )
        .await
        .map_err(auth_error)?;
    match store
        .activate_code(
            &key,
            &CodeActivation {
                account_id,
                code: request.code,
            },
        )
        .await
    {
        Ok(done) => {
            store
                .attempt_succeeded(&attempt)
                .await
                .map_err(auth_error)?;
            Ok((
                StatusCode::CREATED,
                Json(InstrumentView::of(&done.voucher, store.now())),
            ))
        }
        Err(e) => Err(ledger_error(e)),
    }
}

/// A multiple of 100 from 100 to 1,000,000, paid from cash.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"denomination": "1000.00"}))]
pub(super) struct BuyCardRequest {
    #[schema(value_type = schema::CardDenomination)]
    denomination: Amount,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CardBought {
    pub card: InstrumentView,
    /// The discount voucher that comes with the card, if its denomination earns one.
    pub gift_discount_voucher: Option<InstrumentView>,
    #[schema(value_type = Money)]
    pub cash_after: Amount,
}

/// Buy a prepaid card
///
/// customer + CSRF: buys a prepaid card with cash (and gets its gift discount voucher).
#[utoipa::path(
    post,
    path = "/prepaid-cards",
    tag = "wallet",
    security(("session" = [], "csrf" = [])),
    params(super::idempotency::IdempotencyKeyHeader),
    request_body = BuyCardRequest,
    responses(
        (status = 201, description = "The card, its gift voucher and the cash left", body = CardBought),
        (status = 409, description = "`insufficient_cash`: the card costs more than the cash balance", body = ApiErrorBody),
        (status = 422, description = "`denomination_invalid` (`field: denomination`): not a multiple of 100, below 100 or above 1,000,000", body = ApiErrorBody),
    ),
)]
pub async fn buy_card(
    State(store): State<Store>,
    session: CustomerSession,
    headers: HeaderMap,
    body: json::RawBody,
) -> Result<(StatusCode, Json<CardBought>), ApiError> {
    session.require_csrf_header()?;
    let request: BuyCardRequest = json::parse(body)?;
    let account_id = session.account_id;
    let key = request_key(&headers, &format!("customer{account_id}"))?;
    let purchase = PrepaidCardPurchase {
        account_id,
        denomination: request.denomination,
    };
    let done = store
        .buy_prepaid_card(&key, &purchase)
        .await
        .map_err(ledger_error)?;
    let now = store.now();
    Ok((
        StatusCode::CREATED,
        Json(CardBought {
            card: InstrumentView::of(&done.card, now),
            gift_discount_voucher: done
                .gift_discount_voucher
                .as_ref()
                .map(|v| InstrumentView::of(v, now)),
            cash_after: done.cash_after,
        }),
    ))
}

/// A signed fen count as a decimal string: `-50.00`, `46.00`.
fn signed_amount(fen: i64) -> String {
    billing::money::signed_fen(fen).to_string()
}

/// One ledger transaction; each balance field is its signed change (arrears grow positive).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MovementView {
    pub transaction_id: i64,
    pub kind: String,
    pub memo: String,
    pub at: DateTime<Utc>,
    #[schema(value_type = SignedMoney)]
    pub cash: String,
    #[schema(value_type = SignedMoney)]
    pub arrears: String,
    #[schema(value_type = SignedMoney)]
    pub vouchers: String,
    #[schema(value_type = SignedMoney)]
    pub prepaid_cards: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MovementsQuery {
    /// How many, 1 to 500 (default 10).
    #[serde(default = "ten")]
    #[param(minimum = 1, maximum = 500, default = 10)]
    limit: i64,
}

fn ten() -> i64 {
    10
}

/// Movements of money
///
/// customer: the newest movements of their money (limit 1..=500, default 10), newest first, one
/// per ledger transaction, read from the postings.
#[utoipa::path(
    get,
    path = "/movements",
    tag = "wallet",
    security(("session" = [])),
    params(MovementsQuery),
    responses(
        (status = 200, description = "The newest movements", body = Vec<MovementView>),
        (status = 422, description = "`invalid_request` (a limit that is not a number, an unknown parameter) or `invalid_field` (a limit outside 1 to 500), with `field: limit`", body = ApiErrorBody),
    ),
)]
pub async fn movements(
    State(store): State<Store>,
    session: CustomerSession,
    query: Result<axum::extract::Query<MovementsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<MovementView>>, ApiError> {
    let axum::extract::Query(query) = query.map_err(|e| {
        ApiError::unprocessable("invalid_request", e.body_text()).with_field(Some("limit"))
    })?;
    if !(1..=backend::movements::MAX_MOVEMENTS).contains(&query.limit) {
        return Err(
            ApiError::unprocessable("invalid_field", "limit must be 1 to 500")
                .with_field(Some("limit")),
        );
    }
    let account_id = session.account_id;
    let movements = store
        .movements(account_id, query.limit)
        .await
        .map_err(ledger_error)?;
    Ok(Json(
        movements.into_iter().map(MovementView::from).collect(),
    ))
}

impl From<backend::movements::Movement> for MovementView {
    fn from(m: backend::movements::Movement) -> MovementView {
        MovementView {
            transaction_id: m.transaction_id,
            kind: m.kind.code().to_owned(),
            memo: m.memo,
            at: m.at,
            cash: signed_amount(m.cash_fen),
            arrears: signed_amount(m.arrears_fen),
            vouchers: signed_amount(m.vouchers_fen),
            prepaid_cards: signed_amount(m.prepaid_cards_fen),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signed_amounts_keep_two_decimals() {
        assert_eq!(super::signed_amount(-5_000), "-50.00");
        assert_eq!(super::signed_amount(4_601), "46.01");
        assert_eq!(super::signed_amount(-5), "-0.05");
        assert_eq!(super::signed_amount(0), "0.00");
    }
}
