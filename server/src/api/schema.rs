//! OpenAPI schemas of the types the API answers with that live in `billing` and `backend` (which
//! stay free of utoipa): each mirror here has the same JSON shape as the type it names, field for
//! field, and the shared string formats (money, days). The API's own request and response types
//! derive `ToSchema` where they are defined. `tests/openapi.rs` checks real answers against these.

#![allow(dead_code)]

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, schema::SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

/// A string schema with a pattern, a description and one example.
fn string_schema(pattern: &str, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([serde_json::json!(example)])
        .into()
}

/// An amount of yuan in an answer: a decimal string with exactly two decimals, never a number.
pub struct Money;

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        string_schema(
            r"^[0-9]+\.[0-9]{2}$",
            "An amount in yuan (CNY) as a decimal string with exactly two decimals; never a JSON number.",
            "12.34",
        )
    }
}

impl ToSchema for Money {
    fn name() -> Cow<'static, str> {
        "Money".into()
    }
}

/// A signed change of a balance: `-50.00`, `46.00`.
pub struct SignedMoney;

impl PartialSchema for SignedMoney {
    fn schema() -> RefOr<Schema> {
        string_schema(
            r"^-?[0-9]+\.[0-9]{2}$",
            "A signed change of a balance in yuan as a decimal string with exactly two decimals.",
            "-50.00",
        )
    }
}

impl ToSchema for SignedMoney {
    fn name() -> Cow<'static, str> {
        "SignedMoney".into()
    }
}

/// An amount a caller sends: a decimal string with at most two decimals (a JSON number is refused).
pub struct MoneyInput;

impl PartialSchema for MoneyInput {
    fn schema() -> RefOr<Schema> {
        string_schema(
            r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
            "An amount in yuan (CNY) as a decimal string with at most two decimals; a JSON number is refused (422 invalid_request), more than two decimals too.",
            "88.88",
        )
    }
}

impl ToSchema for MoneyInput {
    fn name() -> Cow<'static, str> {
        "MoneyInput".into()
    }
}

/// What a top-up may be: 0.01 to 1,000,000.00, at most two decimals.
pub struct TopUpAmount;

impl PartialSchema for TopUpAmount {
    fn schema() -> RefOr<Schema> {
        string_schema(
            r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,5}(\.[0-9]{1,2})?|1000000(\.00?)?)$",
            "A top-up amount in yuan: 0.01 to 1,000,000.00 as a decimal string with at most two decimals (otherwise 422 invalid_field).",
            "88.88",
        )
    }
}

impl ToSchema for TopUpAmount {
    fn name() -> Cow<'static, str> {
        "TopUpAmount".into()
    }
}

/// What a prepaid card may be worth: a multiple of 100 from 100 to 1,000,000.
pub struct CardDenomination;

impl PartialSchema for CardDenomination {
    fn schema() -> RefOr<Schema> {
        string_schema(
            r"^([1-9][0-9]{0,3}00|1000000)(\.00?)?$",
            "A prepaid card's denomination in yuan: a multiple of 100 from 100 to 1,000,000, as a decimal string (otherwise 422 invalid_field).",
            "1000.00",
        )
    }
}

impl ToSchema for CardDenomination {
    fn name() -> Cow<'static, str> {
        "CardDenomination".into()
    }
}

/// A usage quantity: a decimal string (at most 6 decimals) or a whole JSON number.
pub struct Quantity;

impl PartialSchema for Quantity {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some(r"^[0-9]{1,15}(\.[0-9]{1,6})?$")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(0)),
            )
            .description(Some(
                "A non-negative decimal string with at most 6 decimals, or a whole JSON number.",
            ))
            .examples([serde_json::json!("1500000")])
            .into()
    }
}

impl ToSchema for Quantity {
    fn name() -> Cow<'static, str> {
        "Quantity".into()
    }
}

/// A day, `YYYY-MM-DD`.
pub fn day_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .format(Some(SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Date,
        )))
        .into()
}

// ---- billing ----

/// A billing item (PRODUCT.md §4). `sms` and `dial_testing` never use vouchers.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Item)]
pub enum BillingItem {
    TimeSeries,
    Logs,
    BackupLogs,
    Network,
    ApmTrace,
    ApmProfile,
    RumPv,
    SessionReplay,
    DialTesting,
    TaskCalls,
    Sms,
    Datakit,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    RegularVoucher,
    DiscountVoucher,
    PrepaidCard,
}

/// `unused` (its window has not started), `active`, `used_up` or `expired`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentStatus {
    Unused,
    Active,
    UsedUp,
    Expired,
}

/// Through which account a workspace's bills are settled: `account` (vouchers, prepaid cards,
/// cash, then arrears) or `cloud` (vouchers, prepaid cards, then the cloud marketplace account).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    Account,
    Cloud,
}

/// `POST /plan`: a deduction plan of these charges against this wallet at this moment.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "settlement": "account",
    "at": "2026-11-23T00:00:00+08:00",
    "wallet": {"cash": "100.00", "arrears": "0.00", "instruments": [
        {"id": "v1", "kind": "regular_voucher", "balance": "10.00",
         "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"}]},
    "charges": [{"item": "logs", "amount": "12.34"}]
}))]
pub struct PlanRequest {
    pub settlement: Settlement,
    /// The charge time; only instruments with `valid_from <= at < valid_until` pay.
    pub at: DateTime<Utc>,
    pub wallet: WalletInput,
    /// At most 10,000.
    pub charges: Vec<Charge>,
}

/// `cash` and `arrears` may not both be above zero.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletInput {
    #[schema(value_type = MoneyInput)]
    pub cash: (),
    #[schema(value_type = MoneyInput)]
    pub arrears: (),
    /// At most 1,000; ids unique, never `cash`, `arrears` or `cloud`.
    #[serde(default)]
    pub instruments: Vec<InstrumentInput>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstrumentInput {
    pub id: String,
    pub kind: InstrumentKind,
    #[schema(value_type = MoneyInput)]
    pub balance: (),
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// Defaults to `valid_from`.
    #[serde(default)]
    pub activated_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub item: BillingItem,
    #[schema(value_type = MoneyInput)]
    pub amount: (),
}

#[derive(ToSchema)]
pub struct PlanResponse {
    pub lines: Vec<PlanLine>,
    pub totals: Totals,
    pub wallet_after: WalletAfter,
}

/// How one charge is paid, payments in the order taken.
#[derive(ToSchema)]
pub struct PlanLine {
    /// Index of the charge in the request.
    #[schema(minimum = 0)]
    pub charge: u64,
    pub item: BillingItem,
    #[schema(value_type = Money)]
    pub amount: (),
    pub paid: Vec<Payment>,
}

#[derive(ToSchema)]
pub struct Payment {
    /// An instrument id, or `cash`, `arrears`, `cloud`.
    pub source: String,
    #[schema(value_type = Money)]
    pub amount: (),
}

/// What the whole bill took from each kind of source.
#[derive(ToSchema)]
pub struct Totals {
    #[schema(value_type = Money)]
    pub regular_voucher: (),
    #[schema(value_type = Money)]
    pub discount_voucher: (),
    #[schema(value_type = Money)]
    pub prepaid_card: (),
    #[schema(value_type = Money)]
    pub cash: (),
    #[schema(value_type = Money)]
    pub arrears: (),
    #[schema(value_type = Money)]
    pub cloud: (),
}

#[derive(ToSchema)]
pub struct WalletAfter {
    #[schema(value_type = Money)]
    pub cash: (),
    #[schema(value_type = Money)]
    pub arrears: (),
    pub instruments: Vec<InstrumentBalance>,
}

#[derive(ToSchema)]
pub struct InstrumentBalance {
    pub id: String,
    #[schema(value_type = Money)]
    pub balance: (),
}

// ---- backend: accounts ----

/// `POST /accounts`: opens a billing account and signs it in.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "alice", "email": "alice@example.com", "phone": "+86 138 0000 0000", "password": "correct horse battery"}))]
pub struct SignUp {
    /// 3–32 of `a-z 0-9 _ -`, unique, never changes.
    #[schema(pattern = r"^[a-z0-9_-]{3,32}$")]
    pub username: String,
    /// Unique (case-insensitive): one `@`, a dot in the domain, no spaces.
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s\u0000-\u001F\u007F-\u009F]+@[^@\s.\u0000-\u001F\u007F-\u009F]+(\.[^@\s.\u0000-\u001F\u007F-\u009F]+)+$"
    )]
    pub email: String,
    /// 5 to 20 digits, optionally with a leading `+`, spaces or dashes.
    #[serde(default)]
    #[schema(pattern = r"^\+?[0-9]{2,4}([ -]?[0-9]{3,4}){1,4}$")]
    pub phone: Option<String>,
    /// 8–128 characters, not the username, not one of the 10,000 most common passwords.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// The language of the account's mail (default `zh-CN`).
    #[serde(default)]
    pub language: Option<Language>,
}

/// The language of an account's mail.
#[derive(ToSchema)]
pub enum Language {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// A customer and their billing account.
#[derive(ToSchema)]
pub struct Customer {
    pub id: i64,
    pub billing_account_id: i64,
    pub username: String,
    pub email: String,
    pub phone: Option<String>,
    pub contact_name: Option<String>,
    pub company: Option<String>,
    /// Whether `email` was proven by its confirmation link; until it is, nothing but that link
    /// is mailed there.
    pub email_confirmed: bool,
    /// The language of the account's mail.
    pub language: Language,
    pub created_at: DateTime<Utc>,
}

// ---- backend: cloud settlement ----

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    Aliyun,
    Aws,
    Huawei,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Expired,
    Released,
}

/// A cloud subscription of the account (Account > Cloud accounts).
#[derive(ToSchema)]
pub struct CloudAccount {
    pub cloud: Cloud,
    /// The buyer's account at the cloud (Alibaba `aliUid`).
    pub cloud_account_id: String,
    pub instance_id: String,
    pub status: SubscriptionStatus,
    pub valid_until: Option<DateTime<Utc>>,
    /// The workspaces settling through it now.
    pub workspaces: Vec<String>,
}

// ---- backend: enterprise verification ----

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationState {
    Unverified,
    PendingReview,
    Verified,
    Rejected,
    Withdrawn,
}

/// An account's enterprise (real-name) verification.
#[derive(ToSchema)]
pub struct EnterpriseVerification {
    pub state: VerificationState,
    pub enterprise_name: Option<String>,
    /// The unified social credit code, upper-case.
    pub credit_code: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// The business licence submitted (download: `GET /attachments/{id}`).
    pub licence: Option<Attachment>,
    /// Why an operator rejected it (with `rejected`).
    pub rejection_reason: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

// ---- backend: attachments and the support center ----

/// What a file is, found from its content (never from its name).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    Png,
    Jpg,
    Pdf,
    Xlsx,
    Zip,
    Txt,
}

/// An uploaded file (its content: `GET /attachments/{id}`).
#[derive(ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub kind: AttachmentKind,
    /// The name it was uploaded with, cleaned, ending with its kind's extension.
    pub file_name: String,
    pub size_bytes: i64,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    Billing,
    Payment,
    Invoice,
    Account,
    CancelAccount,
    Other,
}

/// `open` (waiting for support), `in_progress` (taken), `replied` (waiting for the customer;
/// closes itself after 7 days), `closed`, `withdrawn`.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Open,
    InProgress,
    Replied,
    Closed,
    Withdrawn,
}

/// A ticket in a list.
#[derive(ToSchema)]
pub struct TicketSummary {
    pub id: i64,
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    pub title: String,
    pub state: TicketState,
    /// The customer's username.
    pub account: String,
    pub account_id: i64,
    /// The operator who took it.
    pub assigned_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 to 5, once closed and rated.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i64>,
}

/// One message of a ticket's thread.
#[derive(ToSchema)]
pub struct TicketMessage {
    pub id: i64,
    /// `customer` or `operator`.
    #[schema(pattern = "^(customer|operator)$")]
    pub author: String,
    /// The operator's username (operators' views only).
    #[schema(nullable = false)]
    pub operator: Option<String>,
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub created_at: DateTime<Utc>,
}

/// A ticket and its thread, oldest message first (the first is the description).
#[derive(ToSchema)]
pub struct TicketThread {
    pub ticket: TicketSummary,
    pub messages: Vec<TicketMessage>,
}

/// An enterprise submission waiting for review.
#[derive(ToSchema)]
pub struct PendingReview {
    pub account_id: i64,
    pub account: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub submitted_at: DateTime<Utc>,
}

/// An account an operator's search found.
#[derive(ToSchema)]
pub struct AccountHit {
    pub account_id: i64,
    pub username: String,
    pub email: String,
    pub enterprise_name: Option<String>,
    pub workspaces: Vec<String>,
}

/// What waits for an operator.
#[derive(ToSchema)]
pub struct WorkQueue {
    pub enterprise_reviews: Vec<PendingReview>,
    pub unassigned_tickets: Vec<TicketSummary>,
    pub my_tickets: Vec<TicketSummary>,
    pub payment_flags: Vec<PaymentFlag>,
    pub settlement_failures: Vec<DayFailures>,
}

// ---- backend: mail ----

/// Which alerts are on.
#[derive(ToSchema)]
pub struct Alerts {
    pub low_balance: bool,
    /// Arrears, their reminders during the grace period, and the top-up that clears them.
    pub arrears: bool,
    pub top_up_credited: bool,
    /// Vouchers and prepaid cards expiring within 7 days.
    pub expiring: bool,
    /// A workspace's daily cost above the threshold set for it.
    pub daily_cost: bool,
}

/// `GET /notifications`: what the account is told, in which language, at which address.
#[derive(ToSchema)]
pub struct NotificationSettings {
    /// Below this, after a charge, the low-balance alert is sent (once per crossing).
    #[schema(value_type = Money)]
    pub low_balance_threshold: (),
    pub alerts: Alerts,
    pub language: Language,
    pub email: String,
    pub email_confirmed: bool,
}

/// The outbox as operators see it.
#[derive(ToSchema)]
pub struct OutboxSummary {
    /// Waiting to be delivered.
    pub pending: i64,
    pub sent: i64,
    /// Given up (refused for good, or undeliverable for `MAIL_GIVE_UP_HOURS`).
    pub failed: i64,
    /// How long the oldest waiting message has waited, in seconds.
    pub oldest_pending_seconds: i64,
    /// Waiting messages that failed at least once.
    pub retrying: i64,
}

/// A message that was given up or is failing.
#[derive(ToSchema)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// How an instrument came to the account.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentOrigin {
    Issued,
    ActivationCode,
    CardGift,
    Purchased,
    Assigned,
}

/// A voucher or prepaid card as stored (operator answers).
#[derive(ToSchema)]
pub struct InstrumentRecord {
    pub id: i64,
    /// `RV…` regular voucher, `DV…` discount voucher, `PC…` prepaid card.
    pub number: String,
    pub kind: InstrumentKind,
    pub origin: InstrumentOrigin,
    #[schema(value_type = Money)]
    pub face_value: (),
    #[schema(value_type = Money)]
    pub balance: (),
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
    /// When the expiry sweep moved what was left to breakage.
    pub expired_at: Option<DateTime<Utc>>,
}

// ---- backend: money actions ----

/// A bank transfer recorded: arrears are paid first, the rest goes to cash.
#[derive(ToSchema)]
pub struct CashCredited {
    pub transaction_id: i64,
    #[schema(value_type = Money)]
    pub paid_arrears: (),
    #[schema(value_type = Money)]
    pub added_to_cash: (),
    #[schema(value_type = Money)]
    pub cash_after: (),
    #[schema(value_type = Money)]
    pub arrears_after: (),
}

#[derive(ToSchema)]
pub struct PrepaidCardAssigned {
    pub transaction_id: i64,
    pub card: InstrumentRecord,
}

// ---- backend: workspaces and usage ----

#[derive(ToSchema)]
pub struct Workspace {
    pub workspace_id: String,
    pub account_id: i64,
    pub name: String,
    pub settlement: Settlement,
    /// The first characters of the current key, to tell keys apart.
    pub key_prefix: String,
    pub bound_at: DateTime<Utc>,
    pub key_rotated_at: DateTime<Utc>,
    /// The high-consumption alert: a day's bill above this is mailed to the account (`null`: off).
    #[schema(value_type = Option<Money>)]
    pub daily_cost_alert: (),
}

/// A workspace with its API key in clear: shown this once, the store keeps only its SHA-256.
#[derive(ToSchema)]
pub struct WorkspaceWithKey {
    pub workspace: Workspace,
    /// `bcw_…`
    pub api_key: String,
}

/// A workspace moved onto (`in`) or off (`out`) the account by change binding.
#[derive(ToSchema)]
pub struct WorkspaceMove {
    pub workspace_id: String,
    #[schema(inline)]
    pub direction: MoveDirection,
    /// The other account's username.
    pub other_account: String,
    pub moved_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MoveDirection {
    In,
    Out,
}

/// `POST /usage`: 1 to 10,000 records.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"records": [{"id": "r-1", "item": "logs", "retention_days": 7, "quantity": "1500000", "day": "2026-11-22"}]}))]
pub struct UsageReport {
    #[schema(min_items = 1, max_items = 10000)]
    pub records: Vec<UsageRecord>,
}

/// One usage record. A record of another shape is refused on its own (`invalid_record`), like
/// any other bad record, and the others are stored.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageRecord {
    /// 1–128 printable ASCII characters, unique per workspace.
    #[schema(min_length = 1, max_length = 128)]
    pub id: String,
    pub item: BillingItem,
    /// For items priced by retention (tiers); absent or null otherwise.
    #[serde(default)]
    pub retention_days: Option<i64>,
    #[schema(value_type = Quantity)]
    pub quantity: (),
    /// The usage day, `YYYY-MM-DD`, not after today in the settlement timezone.
    pub day: NaiveDate,
}

/// Why a record was not stored.
#[derive(ToSchema)]
pub struct RejectedRecord {
    /// Position in the report, from 0.
    #[schema(minimum = 0)]
    pub index: u64,
    pub id: Option<String>,
    /// `invalid_record`, `invalid_id`, `unknown_item`, `retention_not_priced`, `invalid_quantity`,
    /// `invalid_day`, `future_day`, `day_settled` or `line_too_large`.
    pub code: String,
    pub reason: String,
}

#[derive(ToSchema)]
pub struct UsageIngested {
    /// Records stored now.
    #[schema(minimum = 0)]
    pub accepted: u64,
    /// Records whose id was seen before (in an earlier report or earlier in this one).
    #[schema(minimum = 0)]
    pub duplicates: u64,
    pub rejected: Vec<RejectedRecord>,
}

/// A usage record an operator voided: it stays stored and is left out of settlement.
#[derive(ToSchema)]
pub struct VoidedUsage {
    pub workspace_id: String,
    pub record_id: String,
    pub day: NaiveDate,
    pub item: String,
    pub quantity: String,
    pub reason: String,
}

// ---- backend: settlement ----

/// `settled`, `already_settled` (nothing charged now), `busy` (another process holds the day's
/// lease) or `incomplete` (some workspaces failed; the day will be tried again).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    Settled,
    AlreadySettled,
    Busy,
    Incomplete,
}

#[derive(ToSchema)]
pub struct WorkspaceFailure {
    pub workspace_id: String,
    pub reason: String,
}

#[derive(ToSchema)]
pub struct SettlementReport {
    pub day: NaiveDate,
    pub status: SettlementStatus,
    /// Bills charged by this run.
    #[schema(minimum = 0)]
    pub bills_charged: u32,
    /// Bills of the day that an earlier (crashed or failed) run had charged.
    #[schema(minimum = 0)]
    pub bills_found: u32,
    pub failures: Vec<WorkspaceFailure>,
    /// Monthly bills assembled by this run (when the day completed an ended month).
    #[schema(minimum = 0)]
    pub monthly_bills: u32,
    /// Vouchers and prepaid cards expired after the day was settled.
    #[schema(minimum = 0)]
    pub instruments_expired: u64,
}

/// A day whose settlement failed for some workspaces, and why.
#[derive(ToSchema)]
pub struct DayFailures {
    pub day: NaiveDate,
    pub failures: Vec<WorkspaceFailure>,
}

// ---- backend: statements ----

/// What paid an amount, by kind of source.
#[derive(ToSchema)]
pub struct PaidBy {
    #[schema(value_type = Money)]
    pub vouchers: (),
    #[schema(value_type = Money)]
    pub prepaid_cards: (),
    #[schema(value_type = Money)]
    pub cash: (),
    #[schema(value_type = Money)]
    pub arrears: (),
    #[schema(value_type = Money)]
    pub cloud: (),
}

/// One per workspace and month, built when the month has ended.
#[derive(ToSchema)]
pub struct MonthlyBill {
    /// `YYYY-MM`
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
    pub workspace_id: String,
    pub daily_bills: i64,
    #[schema(value_type = Money)]
    pub total: (),
    pub paid_by: PaidBy,
}

/// One daily bill line.
#[derive(ToSchema)]
pub struct ConsumptionLine {
    pub day: NaiveDate,
    pub workspace_id: String,
    pub item: String,
    pub retention_days: Option<i64>,
    pub quantity: Option<String>,
    pub units: Option<String>,
    pub unit_price: Option<String>,
    #[schema(value_type = Money)]
    pub amount: (),
    pub paid_by: PaidBy,
    pub charged_at: DateTime<Utc>,
}

#[derive(ToSchema)]
pub struct ConsumptionPage {
    pub items: Vec<ConsumptionLine>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// One ledger transaction as the customer sees it, with the balances after it.
#[derive(ToSchema)]
pub struct LedgerTransaction {
    pub transaction_id: i64,
    pub at: DateTime<Utc>,
    /// `cash_credit`, `voucher_issue`, `voucher_activation`, `prepaid_card_purchase`,
    /// `prepaid_card_assignment`, `bill_charge` or `expiry` (breakage).
    pub kind: String,
    pub memo: String,
    /// Signed changes in fen; arrears grow positive when the customer owes more.
    pub cash_change_fen: i64,
    pub arrears_change_fen: i64,
    pub vouchers_change_fen: i64,
    pub prepaid_cards_change_fen: i64,
    #[schema(value_type = Money)]
    pub cash_after: (),
    #[schema(value_type = Money)]
    pub arrears_after: (),
    #[schema(value_type = Money)]
    pub vouchers_after: (),
    #[schema(value_type = Money)]
    pub prepaid_cards_after: (),
}

#[derive(ToSchema)]
pub struct TransactionPage {
    pub items: Vec<LedgerTransaction>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

// ---- backend: top-ups ----

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopUpMethod {
    Alipay,
    BankTransfer,
}

/// `pending`, `paid` (cash credited), or `closed` (an online top-up nobody paid within a day; a
/// payment that still arrives for it is credited all the same).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopUpStatus {
    Pending,
    Paid,
    Closed,
}

// ---- backend: operators ----

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

/// An operator token without its secret (never kept) or its hash (never shown).
#[derive(ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub operator_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Kept to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub status: TokenStatus,
}

#[derive(ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub operator_id: i64,
    /// e.g. `bank_transfer.record`, `voucher.issue`, `audit_log.read`, `operator_token.revoke`.
    pub action: String,
    pub account_id: Option<i64>,
    pub detail: String,
    /// The client address, or `cli` for the command line.
    pub client: String,
    pub at: DateTime<Utc>,
}

/// `closed_after_credit` (the gateway reports the trade closed although it was credited),
/// `refunded_after_credit`, or `amount_mismatch` (a paid amount that is not the top-up's).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    ClosedAfterCredit,
    RefundedAfterCredit,
    AmountMismatch,
}

/// Something the payment gateway said that the books do not agree with, for an operator.
#[derive(ToSchema)]
pub struct PaymentFlag {
    pub id: i64,
    pub top_up_id: i64,
    pub account_id: i64,
    pub reference: String,
    pub kind: FlagKind,
    pub detail: String,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

// ---- backend: the console's side (panel) ----

/// How a workspace settles, as the console sees it.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleSettlement {
    Account,
    Aliyun,
    Aws,
    Huawei,
}

/// `GET /console/workspaces/{ws}`.
#[derive(ToSchema)]
pub struct ConsoleStatus {
    pub bound: bool,
    /// `null` while unbound.
    pub settlement: Option<ConsoleSettlement>,
    #[schema(value_type = Money)]
    pub arrears: (),
    /// Since when the account has been in arrears without a break; `null` when it is not.
    pub arrears_since: Option<DateTime<Utc>>,
    /// When the arrears grace period ends (`arrears_since` + `ARREARS_GRACE_DAYS`, default 14
    /// days): after it the console may restrict the workspace. `null` when not in arrears.
    pub grace_period_ends: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
pub struct PanelAccount {
    /// As `GET /accounts/{id}` shows it.
    pub name: String,
    #[schema(value_type = Money)]
    pub cash: (),
    #[schema(value_type = Money)]
    pub arrears: (),
    /// Regular and discount vouchers usable now.
    #[schema(value_type = Money)]
    pub vouchers: (),
    /// Prepaid cards usable now.
    #[schema(value_type = Money)]
    pub prepaid_cards: (),
}

#[derive(ToSchema)]
pub struct PanelUsageRow {
    pub item: BillingItem,
    pub retention_days: Option<u32>,
    /// The day's quantity so far, an exact decimal string.
    #[schema(pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub quantity: String,
}

#[derive(ToSchema)]
pub struct PanelUsage {
    /// What has been reported today so far (settlement timezone).
    pub today: Vec<PanelUsageRow>,
    pub yesterday: Vec<PanelUsageRow>,
}

#[derive(ToSchema)]
pub struct PanelItemCost {
    pub item: BillingItem,
    #[schema(value_type = Money)]
    pub amount: (),
}

#[derive(ToSchema)]
pub struct PanelDayCost {
    pub day: NaiveDate,
    #[schema(value_type = Money)]
    pub amount: (),
}

#[derive(ToSchema)]
pub struct PanelCost {
    /// `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
    #[schema(value_type = Money)]
    pub total: (),
    pub by_item: Vec<PanelItemCost>,
    pub by_day: Vec<PanelDayCost>,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PanelAction {
    Recharge,
    BillingCenter,
    SettlementMethod,
    ChangeBinding,
}

/// One item's usage per day over the 30 days ending today.
#[derive(ToSchema)]
pub struct PanelUsageSeries {
    pub item: BillingItem,
    /// `[day, quantity]` pairs, oldest first.
    #[schema(value_type = Vec<Vec<String>>)]
    pub points: (),
}

/// `GET /panel/workspaces/{ws}`: an unbound workspace has only `workspace_id`, `bound: false`
/// and `actions`.
#[derive(ToSchema)]
pub struct WorkspacePanel {
    pub workspace_id: String,
    pub bound: bool,
    #[schema(nullable = false)]
    pub account: Option<PanelAccount>,
    #[schema(nullable = false)]
    pub usage: Option<PanelUsage>,
    #[schema(nullable = false)]
    pub cost: Option<PanelCost>,
    /// An owner's four buttons; `[]` for an administrator.
    pub actions: Vec<PanelAction>,
    #[schema(nullable = false)]
    pub usage_30_days: Option<Vec<PanelUsageSeries>>,
}
