//! customer: statements as JSON, or as CSV with `format=csv` (UTF-8 with a BOM, so that Excel
//! opens Chinese text): monthly bills, consumption details, income and expenditure.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use backend::Store;
use backend::statements::{MAX_PAGE_SIZE, Page, Paged, Period};
use chrono::NaiveDate;
use serde::Deserialize;

use super::ApiError;
use super::wallet::ledger_error;
use crate::auth::CustomerSession;

/// The columns of a CSV file, by the JSON fields' names.
pub(super) const MONTHLY_BILL_COLUMNS: &[&str] = &[
    "month",
    "workspace_id",
    "daily_bills",
    "total",
    "vouchers",
    "prepaid_cards",
    "cash",
    "arrears",
    "cloud",
];

/// The columns of a CSV file, by the JSON fields' names.
pub(super) const CONSUMPTION_COLUMNS: &[&str] = &[
    "day",
    "workspace_id",
    "item",
    "retention_days",
    "quantity",
    "units",
    "unit_price",
    "amount",
    "vouchers",
    "prepaid_cards",
    "cash",
    "arrears",
    "cloud",
];

/// The columns of a CSV file, by the JSON fields' names.
pub(super) const TRANSACTION_COLUMNS: &[&str] = &[
    "at",
    "kind",
    "memo",
    "cash_change",
    "arrears_change",
    "vouchers_change",
    "prepaid_cards_change",
    "cash_after",
    "arrears_after",
    "vouchers_after",
    "prepaid_cards_after",
];

/// At most this many rows go into one CSV file.
const MAX_CSV_ROWS: i64 = 100_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    month: Option<String>,
    from: Option<String>,
    to: Option<String>,
    workspace: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
    format: Option<String>,
    lang: Option<String>,
}

/// `from` and `to`, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PeriodParams {
    /// The first day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// The last day (included), `YYYY-MM-DD`, not before `from`.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
}

/// `format`, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FormatParam {
    /// `json` (the default) or `csv`: a CSV file (UTF-8 with a BOM, CRLF rows, formulas
    /// neutralised) of every row, whatever the page.
    #[param(value_type = Option<Format>)]
    format: Option<String>,
    /// With `format=csv`: the language of the file's column headings, `en` or `zh-CN` (what the
    /// pages' export links pass). Without it the headings are the JSON fields' names, for programs.
    #[param(value_type = Option<CsvLanguage>)]
    lang: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum CsvLanguage {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum Format {
    Json,
    Csv,
}

/// `page` and `per_page`, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PagingParams {
    /// From 1 (default 1).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    page: Option<String>,
    /// 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    per_page: Option<String>,
}

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError::unprocessable("invalid_field", message).with_field(Some(field))
}

fn day(text: &str, field: &'static str) -> Result<NaiveDate, ApiError> {
    billing::day::parse_day(text).ok_or_else(|| {
        invalid(
            field,
            format!("{field} must be a date like 2026-11-01 (got '{text}')"),
        )
    })
}

impl StatementQuery {
    /// The period, when `from` or `to` is given.
    pub(super) fn optional_period(&self) -> Result<Option<Period>, ApiError> {
        if self.from.is_none() && self.to.is_none() {
            return Ok(None);
        }
        let from = match &self.from {
            Some(text) => day(text, "from")?,
            None => NaiveDate::MIN,
        };
        let to = match &self.to {
            Some(text) => day(text, "to")?,
            None => NaiveDate::MAX,
        };
        if to < from {
            return Err(invalid("to", format!("to ({to}) is before from ({from})")));
        }
        Ok(Some(Period { from, to }))
    }

    /// Refuses every given parameter not in `takes`: a list never ignores what it was asked.
    pub(super) fn refuse_all_but(&self, takes: &[&str]) -> Result<(), ApiError> {
        let given = [
            (self.month.is_some(), "month"),
            (self.from.is_some(), "from"),
            (self.to.is_some(), "to"),
            (self.workspace.is_some(), "workspace"),
            (self.page.is_some(), "page"),
            (self.per_page.is_some(), "per_page"),
            (self.format.is_some(), "format"),
            (self.lang.is_some(), "lang"),
        ];
        match given
            .into_iter()
            .find(|(given, field)| *given && !takes.contains(field))
        {
            Some((_, field)) => Err(invalid(
                field,
                format!("{field} does not apply to this list"),
            )),
            None => Ok(()),
        }
    }

    /// For lists that are short enough to come whole and belong to the account.
    pub(super) fn refuse_paging_and_workspace(&self) -> Result<(), ApiError> {
        for (given, field) in [
            (self.page.is_some(), "page"),
            (self.per_page.is_some(), "per_page"),
            (self.workspace.is_some(), "workspace"),
            (self.month.is_some(), "month"),
        ] {
            if given {
                return Err(invalid(
                    field,
                    format!("{field} does not apply to this list"),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn csv(&self) -> Result<bool, ApiError> {
        let csv = match self.format.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(invalid(
                    "format",
                    format!("format must be json or csv (got '{other}')"),
                ));
            }
        };
        if !csv && self.lang.is_some() {
            return Err(invalid(
                "lang",
                "lang names the language of a CSV file's headings: it needs format=csv".to_owned(),
            ));
        }
        self.headings(&[])?;
        Ok(csv)
    }

    /// The CSV file's heading row: the fields' names, or their headings in the asked language.
    pub(super) fn headings(&self, fields: &[&'static str]) -> Result<Vec<&'static str>, ApiError> {
        let Some(code) = self.lang.as_deref() else {
            return Ok(fields.to_vec());
        };
        let lang = match code {
            "en" => app::i18n::Lang::En,
            "zh-CN" => app::i18n::Lang::ZhCn,
            other => {
                return Err(invalid(
                    "lang",
                    format!("lang must be en or zh-CN (got '{other}')"),
                ));
            }
        };
        Ok(fields
            .iter()
            .map(|field| app::i18n::column_heading(field, lang).unwrap_or(field))
            .collect())
    }

    /// `from`..`to`, both included; by default `billing::day::default_statement_period` (the
    /// month so far, or the last month on a month's first day); `from` alone runs to today.
    fn period(&self, store: &Store) -> Result<Period, ApiError> {
        let today = store.today();
        let (default_from, default_to) = billing::day::default_statement_period(today);
        let from = match &self.from {
            Some(text) => day(text, "from")?,
            None => default_from,
        };
        let to = match &self.to {
            Some(text) => day(text, "to")?,
            None if self.from.is_some() => today,
            None => default_to,
        };
        if to < from {
            return Err(invalid("to", format!("to ({to}) is before from ({from})")));
        }
        if (to - from).num_days() > 366 * 3 {
            return Err(invalid(
                "to",
                "a period may span three years at most".into(),
            ));
        }
        Ok(Period { from, to })
    }

    fn page(&self) -> Result<Page, ApiError> {
        let number = match &self.page {
            None => 1,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1 && *n <= 1_000_000)
                .ok_or_else(|| {
                    invalid(
                        "page",
                        format!("page must be a number from 1 (got '{text}')"),
                    )
                })?,
        };
        let size = match &self.per_page {
            None => 50,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "per_page",
                        format!("per_page must be 1 to {MAX_PAGE_SIZE} (got '{text}')"),
                    )
                })?,
        };
        Ok(Page { number, size })
    }

    fn month(&self) -> Result<Option<String>, ApiError> {
        match &self.month {
            None => Ok(None),
            Some(text) => billing::day::parse_day(&format!("{text}-01"))
                .map(|_| Some(text.clone()))
                .ok_or_else(|| {
                    invalid(
                        "month",
                        format!("month must look like 2026-11 (got '{text}')"),
                    )
                }),
        }
    }
}

pub(super) fn csv_response(
    name: &str,
    header_row: &[&'static str],
    rows: Vec<Vec<String>>,
) -> Response {
    let body = backend::csv::document(header_row, &rows);
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// Every page of a statement, for a CSV file.
async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = Result<Paged<T>, backend::LedgerError>>,
{
    let mut all = Vec::new();
    for number in 1.. {
        let page = fetch(Page {
            number,
            size: MAX_PAGE_SIZE,
        })
        .await
        .map_err(ledger_error)?;
        let done = page.items.len() < MAX_PAGE_SIZE as usize
            || (number * MAX_PAGE_SIZE) >= page.total
            || (number * MAX_PAGE_SIZE) >= MAX_CSV_ROWS;
        all.extend(page.items);
        if done {
            break;
        }
    }
    Ok(all)
}

/// Monthly bills
///
/// customer: monthly bills, one per workspace and month (built when the month has ended);
/// `month=YYYY-MM` for one month, otherwise every month, newest first. JSON or CSV.
#[utoipa::path(
    get,
    path = "/bills",
    tag = "statements",
    security(("session" = [])),
    params(
        ("month" = Option<String>, Query, description = "One month, `YYYY-MM`", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
        FormatParam,
    ),
    responses(
        (status = 200, description = "The monthly bills", content(
            (Vec<super::schema::MonthlyBill> = "application/json"),
            (String = "text/csv", example = "month,workspace_id,daily_bills,total,vouchers,prepaid_cards,cash,arrears,cloud"),
        )),
        (status = 422, description = "`invalid_field`: a bad `month` or `format`, or a parameter this list does not take", body = super::ApiErrorBody),
    ),
)]
pub async fn bills(
    State(store): State<Store>,
    session: CustomerSession,
    Query(query): Query<StatementQuery>,
) -> Result<Response, ApiError> {
    query.refuse_all_but(&["month", "format", "lang"])?;
    let account = session.account_id;
    let month = query.month()?;
    let bills = store
        .monthly_bills(account, month.as_deref())
        .await
        .map_err(ledger_error)?;
    if !query.csv()? {
        return Ok(Json(bills).into_response());
    }
    let rows = bills
        .iter()
        .map(|b| {
            vec![
                b.month.clone(),
                b.workspace_id.clone(),
                b.daily_bills.to_string(),
                b.total.to_string(),
                b.paid_by.vouchers.to_string(),
                b.paid_by.prepaid_cards.to_string(),
                b.paid_by.cash.to_string(),
                b.paid_by.arrears.to_string(),
                b.paid_by.cloud.to_string(),
            ]
        })
        .collect();
    Ok(csv_response(
        &format!("monthly-bills-{}", month.as_deref().unwrap_or("all")),
        &query.headings(MONTHLY_BILL_COLUMNS)?,
        rows,
    ))
}

/// Consumption details
///
/// customer: one row per daily bill line, `from`/`to` (days; by default the month so far, or the last month on a month's first day, at
/// most three years), `workspace`, paginated; JSON or CSV (every row).
#[utoipa::path(
    get,
    path = "/consumption",
    tag = "statements",
    security(("session" = [])),
    params(
        PeriodParams,
        ("workspace" = Option<String>, Query, description = "Only this workspace's lines"),
        PagingParams,
        FormatParam,
    ),
    responses(
        (status = 200, description = "A page of bill lines", content(
            (super::schema::ConsumptionPage = "application/json"),
            (String = "text/csv", example = "day,workspace_id,item,retention_days,quantity,units,unit_price,amount,vouchers,prepaid_cards,cash,arrears,cloud"),
        )),
        (status = 422, description = "`invalid_field`: a bad `from`, `to`, `page`, `per_page` or `format`", body = super::ApiErrorBody),
    ),
)]
pub async fn consumption(
    State(store): State<Store>,
    session: CustomerSession,
    Query(query): Query<StatementQuery>,
) -> Result<Response, ApiError> {
    query.refuse_all_but(&[
        "from",
        "to",
        "workspace",
        "page",
        "per_page",
        "format",
        "lang",
    ])?;
    let account = session.account_id;
    let period = query.period(&store)?;
    let workspace = query.workspace.as_deref().filter(|w| !w.is_empty());
    // No workspace id has a NUL, so such a filter matches nothing; it is answered here because
    // PostgreSQL refuses to compare text with a NUL at all (it was a 500 there; looked for after
    // Schemathesis found the same in POST /ops/usage/void).
    let matches_nothing = workspace.is_some_and(|w| w.contains('\0'));
    if !query.csv()? {
        let page = query.page()?;
        let page = if matches_nothing {
            Paged {
                items: Vec::new(),
                page: page.number,
                per_page: page.size,
                total: 0,
            }
        } else {
            store
                .consumption(account, period, workspace, page)
                .await
                .map_err(ledger_error)?
        };
        return Ok(Json(page).into_response());
    }
    // The export has every row; a page asked for is still checked as the JSON list checks it.
    query.page()?;
    let lines = if matches_nothing {
        Vec::new()
    } else {
        all_pages(|page| store.consumption(account, period, workspace, page)).await?
    };
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                l.day.to_string(),
                l.workspace_id.clone(),
                l.item.clone(),
                l.retention_days.map(|d| d.to_string()).unwrap_or_default(),
                l.quantity.clone().unwrap_or_default(),
                l.units.clone().unwrap_or_default(),
                l.unit_price.clone().unwrap_or_default(),
                l.amount.to_string(),
                l.paid_by.vouchers.to_string(),
                l.paid_by.prepaid_cards.to_string(),
                l.paid_by.cash.to_string(),
                l.paid_by.arrears.to_string(),
                l.paid_by.cloud.to_string(),
            ]
        })
        .collect();
    Ok(csv_response(
        &format!("consumption-{}-{}", period.from, period.to),
        &query.headings(CONSUMPTION_COLUMNS)?,
        rows,
    ))
}

/// Income and expenditure
///
/// customer: every ledger transaction of the account, newest first, with signed changes in fen
/// and the balances after it; `from`/`to` (days; by default the month so far, or the last month on a month's first day), paginated; JSON
/// or CSV (every row).
#[utoipa::path(
    get,
    path = "/transactions",
    tag = "statements",
    security(("session" = [])),
    params(PeriodParams, PagingParams, FormatParam),
    responses(
        (status = 200, description = "A page of transactions", content(
            (super::schema::TransactionPage = "application/json"),
            (String = "text/csv", example = "at,kind,memo,cash_change,arrears_change,vouchers_change,prepaid_cards_change,cash_after,arrears_after,vouchers_after,prepaid_cards_after"),
        )),
        (status = 422, description = "`invalid_field`: a bad `from`, `to`, `page`, `per_page` or `format`, or a parameter this list does not take", body = super::ApiErrorBody),
    ),
)]
pub async fn transactions(
    State(store): State<Store>,
    session: CustomerSession,
    Query(query): Query<StatementQuery>,
) -> Result<Response, ApiError> {
    query.refuse_all_but(&["from", "to", "page", "per_page", "format", "lang"])?;
    let account = session.account_id;
    let period = query.period(&store)?;
    if query.workspace.is_some() {
        return Err(invalid(
            "workspace",
            "movements of money belong to the account, not to a workspace".into(),
        ));
    }
    if !query.csv()? {
        let page = store
            .transactions(account, period, query.page()?)
            .await
            .map_err(ledger_error)?;
        return Ok(Json(page).into_response());
    }
    query.page()?;
    let all = all_pages(|page| store.transactions(account, period, page)).await?;
    let signed = |fen: i64| billing::money::signed_fen(fen).to_string();
    let rows = all
        .iter()
        .map(|t| {
            vec![
                t.at.with_timezone(&store.settlement_timezone())
                    .to_rfc3339(),
                t.kind.code().to_owned(),
                t.memo.clone(),
                signed(t.cash_change_fen),
                signed(t.arrears_change_fen),
                signed(t.vouchers_change_fen),
                signed(t.prepaid_cards_change_fen),
                t.cash_after.to_string(),
                t.arrears_after.to_string(),
                t.vouchers_after.to_string(),
                t.prepaid_cards_after.to_string(),
            ]
        })
        .collect();
    Ok(csv_response(
        &format!("transactions-{}-{}", period.from, period.to),
        &query.headings(TRANSACTION_COLUMNS)?,
        rows,
    ))
}

#[cfg(test)]
mod tests {
    use app::i18n::{Lang, column_heading};

    #[test]
    fn every_csv_column_has_a_heading_in_each_language() {
        for columns in [
            super::MONTHLY_BILL_COLUMNS,
            super::CONSUMPTION_COLUMNS,
            super::TRANSACTION_COLUMNS,
            super::super::wallet::VOUCHER_COLUMNS,
            super::super::wallet::PREPAID_CARD_COLUMNS,
        ] {
            for field in columns {
                for lang in [Lang::En, Lang::ZhCn] {
                    assert!(
                        column_heading(field, lang).is_some(),
                        "{field} has no {lang:?} heading"
                    );
                }
            }
        }
    }
}
