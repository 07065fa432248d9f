//! Demo data (`billing-center serve --demo`): a customer with two workspaces and 60 days of usage,
//! lived through on a simulated clock and each day settled through the real settlement, with a
//! wallet a real customer would have: cash from a bank transfer and an Alipay top-up, vouchers
//! (one used up, one expired, one partly used), an assigned and a bought prepaid card.
//! Made once: a store that already has the demo customer is left as it is.

use billing::Amount;
use billing::wallet_rules::VoucherValidity;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::auth::customers::SignUp;
use crate::cash::{CashCredit, CashSource};
use crate::clock::ManualClock;
use crate::idempotency::IdempotencyKey;
use crate::prepaid_cards::{PrepaidCardAssignment, PrepaidCardPurchase};
use crate::store::Store;
use crate::topups::{OnlinePayment, TopUpMethod, TopUpRequest};
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

/// The moment `hour:minute` of `day` in the store's settlement timezone.
fn at(store: &Store, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).unwrap_or_default();
    store
        .settlement_timezone()
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| store.now())
}

impl Store {
    /// Seeds the demo account unless it exists: 60 days lived through on a simulated clock, so
    /// every movement carries the moment it would have happened — each day's usage reported during
    /// the day and settled by the real settlement at 00:01 the next morning, a bank transfer, an
    /// Alipay top-up and a card bought along the way, vouchers activated (one expired with money
    /// left, one partly used) — ending today with a healthy wallet.
    pub async fn seed_demo(&self) -> Result<DemoOutcome, String> {
        if self.customer_by_username(DEMO_USERNAME).await.is_ok() {
            return Ok(DemoOutcome::AlreadyThere);
        }
        let today = self.today();
        let clock = ManualClock::new(at(self, today - Duration::days(DEMO_DAYS + 1), 10, 0));
        // The demo's workspaces are bound by id, whatever console key the server has (there is
        // no console to vouch for them).
        let demo = self
            .clone()
            .with_clock(clock.clone())
            .with_console_key(None, false);
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        let customer = demo
            .sign_up(&SignUp {
                username: DEMO_USERNAME.into(),
                email: "demo@example.com".into(),
                phone: None,
                password: DEMO_PASSWORD.into(),
                language: None,
            })
            .await
            .map_err(|e| fail(&e))?;
        // The demo's address is nobody's: counted as proven, so its alerts show in the outbox.
        demo.mark_email_confirmed(customer.id)
            .await
            .map_err(|e| fail(&e))?;
        let account = customer.billing_account_id;
        demo.credit_cash(
            &key("cash")?,
            &CashCredit {
                account_id: account,
                amount: Amount::from_yuan(3_000),
                source: CashSource::BankTransfer,
                reference: "DEMO-TRANSFER-1".into(),
            },
        )
        .await
        .map_err(|e| fail(&e))?;
        demo.issue_voucher(
            &key("voucher")?,
            &VoucherIssue {
                account_id: account,
                face_value: Amount::from_yuan(200),
                validity: VoucherValidity::DaysFromActivation(90),
            },
        )
        .await
        .map_err(|e| fail(&e))?;
        demo.assign_prepaid_card(
            &key("card")?,
            &PrepaidCardAssignment {
                account_id: account,
                denomination: Amount::from_yuan(1_000),
                assigned_by: "demo".into(),
            },
        )
        .await
        .map_err(|e| fail(&e))?;
        let mut workspaces = Vec::new();
        for (id, name) in [
            ("demo-prod", "生产环境 Production"),
            ("demo-staging", "测试环境 Staging"),
        ] {
            let bound = demo
                .bind_workspace(account, id, name, None)
                .await
                .map_err(|e| fail(&e))?;
            workspaces.push(bound.workspace);
        }
        let mut bills = 0;
        for back in (1..=DEMO_DAYS).rev() {
            let day = today - Duration::days(back);
            clock.set(at(self, day, 10, 0));
            self.demo_day_events(&demo, account, day, back).await?;
            clock.set(at(self, day, 23, 30));
            let text = day.to_string();
            for workspace in &workspaces {
                let records = day_usage(&workspace.workspace_id, back, &text);
                demo.ingest_usage(workspace, &records)
                    .await
                    .map_err(|e| fail(&e))?;
            }
            clock.set(at(self, day + Duration::days(1), 0, 1));
            let report = demo.settle_day(day, "demo").await.map_err(|e| fail(&e))?;
            bills += report.bills_charged;
        }
        self.demo_support(&demo, &clock, account, today)
            .await
            .map_err(|e| fail(&e))?;
        Ok(DemoOutcome::Created { bills })
    }

    /// The support center and enterprise verification as a customer would have used them: an
    /// invoice question answered by support three days ago, and the enterprise submitted for
    /// review with its licence. The answering operator gets a random password nobody knows.
    async fn demo_support(
        &self,
        demo: &Store,
        clock: &ManualClock,
        account: i64,
        today: NaiveDate,
    ) -> Result<(), String> {
        use crate::attachments::Uploader;
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        clock.set(at(self, today - Duration::days(4), 9, 20));
        let screenshot = demo
            .upload_attachment(
                Uploader::Customer {
                    account_id: account,
                },
                "invoice-request.txt",
                "抬头：示例科技有限公司\n税号：91330106MA2DEMX01W\n".as_bytes(),
            )
            .await
            .map_err(|e| fail(&e))?;
        let ticket = demo
            .open_ticket(
                account,
                &crate::support::NewTicket {
                    ticket_type: billing::support::TicketType::Invoice,
                    title: "如何修改发票抬头？ How do I change the invoice title?".into(),
                    description: "上个月的发票抬头需要改为公司全称，详见附件。\nLast month's invoice should carry our company's full name (attached).".into(),
                    attachments: vec![screenshot.id],
                },
            )
            .await
            .map_err(|e| fail(&e))?;
        let support = match demo
            .operator_id("demo-support")
            .await
            .map_err(|e| fail(&e))?
        {
            Some(id) => demo.operator_by_id(id).await.map_err(|e| fail(&e))?,
            None => demo
                .create_operator("demo-support", &crate::auth::random_token(24))
                .await
                .map_err(|e| fail(&e))?,
        };
        clock.set(at(self, today - Duration::days(3), 14, 5));
        demo.assign_ticket(&support, ticket.ticket.id, None, "demo")
            .await
            .map_err(|e| fail(&e))?;
        demo.reply_as_operator(
            &support,
            ticket.ticket.id,
            "已按新抬头重开发票，将在 1 个工作日内发送到您的邮箱。\nThe invoice is reissued with the new title and reaches your mailbox within one working day.",
            &[],
            "demo",
        )
        .await
        .map_err(|e| fail(&e))?;
        clock.set(at(self, today - Duration::days(1), 16, 40));
        let licence = demo
            .upload_attachment(
                Uploader::Customer {
                    account_id: account,
                },
                "business-licence.pdf",
                b"%PDF-1.4\n% demo business licence\n",
            )
            .await
            .map_err(|e| fail(&e))?;
        demo.submit_enterprise(
            account,
            &crate::enterprise::EnterpriseSubmission {
                enterprise_name: "示例科技有限公司".into(),
                credit_code: "91330106MA2DEMX01W".into(),
                contact_name: "王小明".into(),
                contact_phone: "+86 138 0000 0000".into(),
                licence_attachment_id: licence.id,
            },
        )
        .await
        .map_err(|e| fail(&e))?;
        Ok(())
    }

    /// What else happens on a demo day (`back` days before today), at 10:00.
    async fn demo_day_events(
        &self,
        demo: &Store,
        account: i64,
        day: NaiveDate,
        back: i64,
    ) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| e.to_string();
        match back {
            // A campaign voucher valid for two days: it pays one day's bill and expires with
            // money left (breakage).
            45 => {
                demo.issue_voucher(
                    &key("campaign-voucher")?,
                    &VoucherIssue {
                        account_id: account,
                        face_value: Amount::from_yuan(500),
                        validity: VoucherValidity::Fixed {
                            valid_from: at(self, day, 0, 0),
                            valid_until: at(self, day + Duration::days(2), 0, 0),
                        },
                    },
                )
                .await
                .map_err(|e| fail(&e))?;
            }
            // An Alipay top-up, paid.
            30 => {
                let top_up = demo
                    .open_top_up(
                        &key("alipay-top-up")?,
                        &TopUpRequest {
                            account_id: account,
                            amount: Amount::from_yuan(2_000),
                            method: TopUpMethod::Alipay,
                        },
                    )
                    .await
                    .map_err(|e| fail(&e))?;
                demo.settle_online_payment(&OnlinePayment {
                    out_trade_no: top_up.reference.clone(),
                    provider_trade_no: format!("{}22001000000000000001", day.format("%Y%m%d")),
                    total_amount: "2000.00".into(),
                })
                .await
                .map_err(|e| fail(&e))?;
            }
            // A prepaid card bought with cash: it pays the last week and has money left.
            8 => {
                demo.buy_prepaid_card(
                    &key("bought-card")?,
                    &PrepaidCardPurchase {
                        account_id: account,
                        denomination: Amount::from_yuan(1_000),
                    },
                )
                .await
                .map_err(|e| fail(&e))?;
            }
            // A voucher activated two days ago: partly used.
            2 => {
                demo.issue_voucher(
                    &key("recent-voucher")?,
                    &VoucherIssue {
                        account_id: account,
                        face_value: Amount::from_yuan(300),
                        validity: VoucherValidity::DaysFromActivation(30),
                    },
                )
                .await
                .map_err(|e| fail(&e))?;
            }
            _ => {}
        }
        Ok(())
    }
}
