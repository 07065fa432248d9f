//! Demo data (`billing-center serve --demo`): a customer with two workspaces and 60 days of usage,
//! each day settled through the real settlement, with cash, a regular voucher and a prepaid card.
//! Made once: a store that already has the demo customer is left as it is.

use billing::Amount;
use billing::wallet_rules::VoucherValidity;
use chrono::Duration;

use crate::auth::customers::SignUp;
use crate::cash::{CashCredit, CashSource};
use crate::idempotency::IdempotencyKey;
use crate::prepaid_cards::PrepaidCardAssignment;
use crate::store::Store;
use crate::usage::UsageInput;
use crate::vouchers::VoucherIssue;

pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "billing-center-demo";
pub const DEMO_DAYS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoOutcome {
    Created { bills: u32 },
    AlreadyThere,
}

fn key(text: &str) -> Result<IdempotencyKey, String> {
    IdempotencyKey::new(format!("demo:{text}")).map_err(|e| e.to_string())
}

/// A day's usage of one workspace: varies by day so the charts and statements are not flat.
fn day_usage(workspace: &str, index: i64, day: &str) -> Vec<UsageInput> {
    let wave = (index * 37 % 11) as u64;
    let record = |item: &str, retention: Option<i64>, quantity: u64| UsageInput {
        id: format!("{day}-{item}"),
        item: item.into(),
        retention_days: retention,
        quantity: quantity.to_string(),
        day: day.into(),
    };
    if workspace.ends_with("prod") {
        vec![
            record("logs", Some(14), 3_000_000 + wave * 250_000),
            record("time_series", Some(30), 40_000 + wave * 1_500),
            record("network", None, 8),
            record("apm_trace", Some(7), 1_200_000 + wave * 90_000),
            record("sms", None, 20 + wave * 3),
        ]
    } else {
        vec![
            record("logs", Some(7), 600_000 + wave * 40_000),
            record("time_series", Some(7), 9_000 + wave * 300),
            record("rum_pv", Some(7), 25_000 + wave * 2_000),
        ]
    }
}

impl Store {
    /// Seeds the demo account unless it exists. Settles every demo day, oldest first.
    pub async fn seed_demo(&self) -> Result<DemoOutcome, String> {
        if self.customer_by_username(DEMO_USERNAME).await.is_ok() {
            return Ok(DemoOutcome::AlreadyThere);
        }
        let customer = self
            .sign_up(&SignUp {
                username: DEMO_USERNAME.into(),
                email: "demo@example.com".into(),
                phone: None,
                password: DEMO_PASSWORD.into(),
            })
            .await
            .map_err(|e| e.to_string())?;
        let account = customer.billing_account_id;
        self.credit_cash(
            &key("cash")?,
            &CashCredit {
                account_id: account,
                amount: Amount::from_yuan(3_000),
                source: CashSource::BankTransfer,
                reference: "DEMO-TRANSFER-1".into(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        self.issue_voucher(
            &key("voucher")?,
            &VoucherIssue {
                account_id: account,
                face_value: Amount::from_yuan(200),
                validity: VoucherValidity::DaysFromActivation(90),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        self.assign_prepaid_card(
            &key("card")?,
            &PrepaidCardAssignment {
                account_id: account,
                denomination: Amount::from_yuan(1_000),
                assigned_by: "demo".into(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut workspaces = Vec::new();
        for (id, name) in [
            ("demo-prod", "生产环境 Production"),
            ("demo-staging", "测试环境 Staging"),
        ] {
            let bound = self
                .bind_workspace(account, id, name)
                .await
                .map_err(|e| e.to_string())?;
            workspaces.push(bound.workspace);
        }
        let today = self.today();
        // Every day's usage first, as the workspaces reported it while each day ran; then the
        // nightly settlement of each day, oldest first (a month closes once all its days are).
        for back in (1..=DEMO_DAYS).rev() {
            let text = (today - Duration::days(back)).to_string();
            for workspace in &workspaces {
                let records = day_usage(&workspace.workspace_id, back, &text);
                self.ingest_usage(workspace, &records)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        let mut bills = 0;
        for back in (1..=DEMO_DAYS).rev() {
            let day = today - Duration::days(back);
            let report = self
                .settle_day(day, "demo")
                .await
                .map_err(|e| e.to_string())?;
            bills += report.bills_charged;
        }
        Ok(DemoOutcome::Created { bills })
    }
}
