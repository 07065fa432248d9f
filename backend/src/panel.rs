//! What the SaaS console shows of a workspace (docs/INTEGRATION.md): its status for the console
//! itself (bound, how it settles, the account's arrears and since when), and the billing panel its
//! owners and administrators see: the account's balances, the usage reported today and yesterday,
//! and what the month cost, by item and by day. Every figure comes from the same rows as the
//! statements (bills, bill lines, usage records, the stored balances).

use std::collections::BTreeMap;

use billing::{Amount, BillingItem, InstrumentKind, Settlement};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::console::ConsoleRole;
use crate::store::Store;
use crate::time::from_micros;
use crate::workspaces::WorkspaceError;

/// `GET /api/v1/console/workspaces/{ws}`: what the console needs to warn or restrict a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleStatus {
    pub bound: bool,
    /// `account` (this Billing Center account pays), or the cloud marketplace that does; `null`
    /// while unbound.
    pub settlement: Option<&'static str>,
    /// The paying account's arrears ("0.00" unbound).
    pub arrears: Amount,
    /// Since when the account has been in arrears without a break (`null` when it is not).
    pub arrears_since: Option<DateTime<Utc>>,
    /// When the arrears grace period ends (`arrears_since` + `ARREARS_GRACE_DAYS`): after it the
    /// console may restrict the workspace. `null` when not in arrears.
    pub grace_period_ends: Option<DateTime<Utc>>,
}

/// The account's side of the panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelAccount {
    pub name: String,
    pub cash: Amount,
    pub arrears: Amount,
    /// Regular and discount vouchers usable now.
    pub vouchers: Amount,
    /// Prepaid cards usable now.
    pub prepaid_cards: Amount,
}

/// A day's usage of one item (and retention) as reported so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    pub item: BillingItem,
    pub retention_days: Option<u32>,
    /// Exact decimal, as reported.
    pub quantity: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelUsage {
    pub today: Vec<UsageRow>,
    pub yesterday: Vec<UsageRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemCost {
    pub item: BillingItem,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCost {
    pub day: NaiveDate,
    pub amount: Amount,
}

/// What the workspace's daily bills of a month cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelCost {
    /// `YYYY-MM`.
    pub month: String,
    pub total: Amount,
    pub by_item: Vec<ItemCost>,
    pub by_day: Vec<DayCost>,
}

/// One item's usage per day over the last 30 days (the panel's line chart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageSeries {
    pub item: BillingItem,
    /// `(day, quantity)` for each of the 30 days ending today, oldest first; 0 where none.
    pub points: Vec<(NaiveDate, String)>,
}

/// `GET /api/v1/panel/workspaces/{ws}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspacePanel {
    pub workspace_id: String,
    pub bound: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<PanelAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<PanelUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<PanelCost>,
    /// What this role may do from the panel: an owner's four buttons, nothing for an
    /// administrator.
    pub actions: Vec<PanelAction>,
    /// Not in the JSON contract's required fields: the series the page draws (also served).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usage_30_days: Vec<UsageSeries>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelAction {
    Recharge,
    BillingCenter,
    SettlementMethod,
    ChangeBinding,
}

impl PanelAction {
    /// What a console role may do from the panel.
    pub fn of(role: ConsoleRole) -> Vec<PanelAction> {
        match role {
            ConsoleRole::Owner => vec![
                PanelAction::Recharge,
                PanelAction::BillingCenter,
                PanelAction::SettlementMethod,
                PanelAction::ChangeBinding,
            ],
            ConsoleRole::Administrator | ConsoleRole::Member | ConsoleRole::Service => Vec::new(),
        }
    }
}

/// `YYYY-MM` as the first day of that month.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if text.len() != 7 || text.as_bytes()[4] != b'-' || !digits(&text[..4]) || !digits(&text[5..]) {
        return None;
    }
    let year: i32 = text[..4].parse().ok()?;
    let month: u32 = text[5..].parse().ok()?;
    if !(2000..=9999).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, 1)
}

fn next_month(first: NaiveDate) -> NaiveDate {
    let (year, month) = if first.month() == 12 {
        (first.year() + 1, 1)
    } else {
        (first.year(), first.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(first)
}

impl Store {
    /// Since when an account has been in arrears without a break: the time of the first
    /// transaction after the last one that left it without arrears (`None` when it has none).
    pub async fn arrears_since(
        &self,
        account_id: i64,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let since: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(t.created_at) FROM transaction_balances b \
             JOIN ledger_transactions t ON t.id = b.transaction_id \
             WHERE b.account_id = $1 AND b.arrears_after_fen > 0 AND b.transaction_id > \
             COALESCE((SELECT z.transaction_id FROM transaction_balances z \
                       WHERE z.account_id = $1 AND z.arrears_after_fen = 0 \
                       ORDER BY z.transaction_id DESC LIMIT 1), 0)",
        )
        .bind(account_id)
        .fetch_one(self.pool())
        .await?;
        Ok(since.map(from_micros))
    }

    /// The console's view of a workspace.
    pub async fn console_status(
        &self,
        workspace_id: &str,
    ) -> Result<ConsoleStatus, WorkspaceError> {
        let Some(workspace) = self.bound_workspace(workspace_id).await? else {
            return Ok(ConsoleStatus {
                bound: false,
                settlement: None,
                arrears: Amount::ZERO,
                arrears_since: None,
                grace_period_ends: None,
            });
        };
        let account = self.account(workspace.account_id).await?;
        let arrears_since = if account.arrears > Amount::ZERO {
            self.arrears_since(workspace.account_id).await?
        } else {
            None
        };
        Ok(ConsoleStatus {
            bound: true,
            settlement: self.settlement_name(&workspace).await?,
            arrears: account.arrears,
            arrears_since,
            grace_period_ends: arrears_since.map(|since| {
                billing::alerts::grace_period_ends(since, self.mail_settings().arrears_grace_days)
            }),
        })
    }

    /// The billing panel of a workspace for a console role, the cost of `month` (its first day;
    /// default this month in the settlement timezone).
    pub async fn workspace_panel(
        &self,
        workspace_id: &str,
        role: ConsoleRole,
        month: Option<NaiveDate>,
    ) -> Result<WorkspacePanel, WorkspaceError> {
        let actions = PanelAction::of(role);
        // With a real console key, a binding made without the console's proof (before the key
        // was set) is not shown to the console's people: it may be anyone's account.
        let shown = self
            .bound_workspace(workspace_id)
            .await?
            .filter(|w| w.console_bound || !self.binding_needs_console_proof());
        let Some(workspace) = shown else {
            return Ok(WorkspacePanel {
                workspace_id: workspace_id.to_owned(),
                bound: false,
                account: None,
                usage: None,
                cost: None,
                actions,
                usage_30_days: Vec::new(),
            });
        };
        let snapshot = self.account(workspace.account_id).await?;
        let now = self.now();
        let wallet = snapshot.wallet()?;
        let vouchers = wallet.usable_balance(InstrumentKind::RegularVoucher, now)
            + wallet.usable_balance(InstrumentKind::DiscountVoucher, now);
        let account = PanelAccount {
            name: snapshot.name.clone(),
            cash: snapshot.cash,
            arrears: snapshot.arrears,
            vouchers,
            prepaid_cards: wallet.usable_balance(InstrumentKind::PrepaidCard, now),
        };
        let today = self.today();
        let first_of_window = today - chrono::Duration::days(29);
        let daily = self
            .daily_usage(workspace_id, workspace.bound_at, first_of_window, today)
            .await?;
        let rows_of = |day: NaiveDate| -> Vec<UsageRow> {
            daily
                .get(&day)
                .map(|sums| {
                    sums.iter()
                        .map(|((item, retention_days), quantity)| UsageRow {
                            item: *item,
                            retention_days: *retention_days,
                            quantity: quantity.normalize().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let usage = PanelUsage {
            today: rows_of(today),
            yesterday: rows_of(today.pred_opt().unwrap_or(today)),
        };
        let mut per_item: BTreeMap<BillingItem, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
        for (day, sums) in &daily {
            for ((item, _), quantity) in sums {
                *per_item.entry(*item).or_default().entry(*day).or_default() += *quantity;
            }
        }
        let usage_30_days = per_item
            .into_iter()
            .map(|(item, days)| UsageSeries {
                item,
                points: first_of_window
                    .iter_days()
                    .take(30)
                    .map(|day| {
                        let quantity = days.get(&day).copied().unwrap_or_default();
                        (day, quantity.normalize().to_string())
                    })
                    .collect(),
            })
            .collect();
        let month = month.unwrap_or_else(|| today.with_day(1).unwrap_or(today));
        let cost = self
            .workspace_cost(workspace.account_id, workspace_id, month)
            .await?;
        Ok(WorkspacePanel {
            workspace_id: workspace_id.to_owned(),
            bound: true,
            account: Some(account),
            usage: Some(usage),
            cost: Some(cost),
            actions,
            usage_30_days,
        })
    }

    /// A workspace's reported usage per day from `first` to `last`, summed per item and
    /// retention (voided records left out), as received since it was bound to its account (what
    /// it reported for an account it was bound to before is not this account's).
    async fn daily_usage(
        &self,
        workspace_id: &str,
        bound_at: DateTime<Utc>,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, crate::settlement::DayUsage>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT usage_day, item, retention_days, quantity FROM usage_records \
             WHERE workspace_id = $1 AND usage_day >= $2 AND usage_day <= $3 AND voided_at IS NULL \
             AND received_at >= $4",
        )
        .bind(workspace_id)
        .bind(first.to_string())
        .bind(last.to_string())
        .bind(crate::time::to_micros(bound_at))
        .fetch_all(self.pool())
        .await?;
        let mut days: BTreeMap<NaiveDate, crate::settlement::DayUsage> = BTreeMap::new();
        for row in rows {
            let day: String = row.try_get("usage_day")?;
            let Some(day) = billing::day::parse_day(&day) else {
                continue;
            };
            let item: String = row.try_get("item")?;
            let quantity: String = row.try_get("quantity")?;
            crate::settlement::add_usage(
                days.entry(day).or_default(),
                &item,
                row.try_get("retention_days")?,
                &quantity,
            )
            .map_err(sqlx::Error::Protocol)?;
        }
        Ok(days)
    }

    /// What the workspace's daily bills of the month (`first` its first day) cost the account.
    async fn workspace_cost(
        &self,
        account_id: i64,
        workspace_id: &str,
        first: NaiveDate,
    ) -> Result<PanelCost, sqlx::Error> {
        let end = next_month(first);
        let by_day: Vec<(String, i64)> = sqlx::query_as(
            "SELECT bill_date, total_fen FROM bills WHERE account_id = $1 AND workspace_id = $2 \
             AND bill_date >= $3 AND bill_date < $4 ORDER BY bill_date",
        )
        .bind(account_id)
        .bind(workspace_id)
        .bind(first.to_string())
        .bind(end.to_string())
        .fetch_all(self.pool())
        .await?;
        let by_item: Vec<(String, i64)> = sqlx::query_as(
            "SELECT l.item, CAST(SUM(l.amount_fen) AS BIGINT) FROM bills b \
             JOIN bill_lines l ON l.bill_id = b.id \
             WHERE b.account_id = $1 AND b.workspace_id = $2 AND b.bill_date >= $3 AND b.bill_date < $4 \
             GROUP BY l.item",
        )
        .bind(account_id)
        .bind(workspace_id)
        .bind(first.to_string())
        .bind(end.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut by_item: Vec<ItemCost> = by_item
            .into_iter()
            .filter_map(|(item, fen)| {
                Some(ItemCost {
                    item: item.parse().ok()?,
                    amount: Amount::from_fen(fen),
                })
            })
            .collect();
        by_item.sort_by_key(|c| c.item);
        let total_fen: i64 = by_day.iter().map(|(_, fen)| fen).sum();
        Ok(PanelCost {
            month: first.format("%Y-%m").to_string(),
            total: Amount::from_fen(total_fen),
            by_item,
            by_day: by_day
                .into_iter()
                .filter_map(|(day, fen)| {
                    Some(DayCost {
                        day: billing::day::parse_day(&day)?,
                        amount: Amount::from_fen(fen),
                    })
                })
                .collect(),
        })
    }
}

/// The console's name for how a workspace settles. A cloud-settled workspace names its cloud
/// marketplace once cloud accounts exist (issue 17); until then nothing can settle through one.
impl Store {
    /// How a bound workspace settles, by name: `account`, or the cloud marketplace that pays.
    async fn settlement_name(
        &self,
        workspace: &crate::workspaces::Workspace,
    ) -> Result<Option<&'static str>, sqlx::Error> {
        Ok(
            match (workspace.settlement, workspace.cloud_subscription_id) {
                (Settlement::Cloud, Some(id)) => {
                    self.cloud_of_subscription(id).await?.map(|c| c.code())
                }
                (Settlement::Cloud, None) => None,
                (Settlement::Account, _) => Some("account"),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_yyyy_mm() {
        assert_eq!(parse_month("2026-12"), NaiveDate::from_ymd_opt(2026, 12, 1));
        for bad in [
            "2026-13",
            "2026-1",
            "26-12",
            "2026-+1",
            "+026-01",
            "2026/12",
            "abcd-ef",
            "2026-12-01",
            "",
        ] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert_eq!(
            next_month(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }

    #[test]
    fn only_an_owner_has_the_panel_buttons() {
        assert_eq!(PanelAction::of(ConsoleRole::Owner).len(), 4);
        assert!(PanelAction::of(ConsoleRole::Administrator).is_empty());
    }
}
