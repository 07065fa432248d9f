//! Every message Billing Center sends, in zh-CN and en, as plain text and HTML. Amounts are
//! formatted as the pages format them (`¥1,234.56`), moments in the settlement timezone.

use billing::{Amount, format_cny};
use chrono::{DateTime, NaiveDate, Utc};

use super::Language;

/// A message before it is written in a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mail {
    PasswordReset {
        username: String,
        link: String,
    },
    ConfirmEmail {
        username: String,
        link: String,
    },
    /// To the old address after a change.
    EmailChanged {
        username: String,
        new_email: String,
    },
    TopUpCredited {
        amount: Amount,
        paid_arrears: Amount,
        cash_after: Amount,
        arrears_after: Amount,
        link: String,
    },
    LowBalance {
        available: Amount,
        threshold: Amount,
        link: String,
    },
    ArrearsBegan {
        arrears: Amount,
        grace_ends: DateTime<Utc>,
        link: String,
    },
    ArrearsReminder {
        arrears: Amount,
        grace_ends: DateTime<Utc>,
        ended: bool,
        link: String,
    },
    InstrumentExpiring {
        number: String,
        voucher: bool,
        balance: Amount,
        valid_until: DateTime<Utc>,
        link: String,
    },
    DailyCost {
        workspace: String,
        day: NaiveDate,
        cost: Amount,
        threshold: Amount,
        link: String,
    },
    CloudSubscriptionEnded {
        cloud: String,
        instance_id: String,
        workspaces: Vec<String>,
        link: String,
    },
    EnterpriseReviewed {
        enterprise: String,
        approved: bool,
        reason: Option<String>,
        link: String,
    },
    /// Each operator reply to a ticket.
    TicketReplied {
        ticket_id: i64,
        title: String,
        reply: String,
        link: String,
    },
    /// Change binding: to both account holders.
    WorkspaceMoved {
        workspace: String,
        /// To the account it moved onto (else the one it left).
        moved_in: bool,
        /// The other account's username.
        other_account: String,
        at: DateTime<Utc>,
        link: String,
    },
    OperatorSettlementFailed {
        day: NaiveDate,
        failures: i64,
        first_error: String,
    },
    OperatorPaymentFlagged {
        reference: String,
        kind: String,
        detail: String,
    },
    OperatorMailUndeliverable {
        outbox_id: i64,
        recipient: String,
        error: String,
    },
}

/// A message written out: what goes into the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A paragraph, or a link with its label.
enum Block {
    P(String),
    Link(String, String),
}

fn cny(amount: Amount) -> String {
    format_cny(amount.as_decimal())
}

fn moment(at: DateTime<Utc>, timezone: chrono_tz::Tz) -> String {
    at.with_timezone(&timezone)
        .format("%Y-%m-%d %H:%M (%Z)")
        .to_string()
}

use crate::html::escape;

/// Writes `mail` in `language`; moments are shown in `timezone`.
pub fn render(mail: &Mail, language: Language, timezone: chrono_tz::Tz) -> Content {
    let zh = language == Language::ZhCn;
    let t = |zh_text: String, en_text: String| if zh { zh_text } else { en_text };
    use Block::{Link, P};
    let (subject, blocks): (String, Vec<Block>) = match mail {
        Mail::PasswordReset { username, link } => (
            t("重置您的密码".into(), "Reset your password".into()),
            vec![
                P(t(format!("{username}，您好："), format!("Hello {username},"))),
                P(t(
                    "我们收到了重置您费用中心账号密码的请求。请在 30 分钟内打开下面的链接设置新密码，链接只能使用一次。".into(),
                    "We received a request to reset the password of your Billing Center account. Open the link below within 30 minutes to choose a new one; it works once.".into(),
                )),
                Link(t("设置新密码".into(), "Choose a new password".into()), link.clone()),
                P(t(
                    "如果这不是您本人的操作，请忽略此邮件，您的密码不会改变。".into(),
                    "If you did not ask for this, ignore this mail: your password stays as it is.".into(),
                )),
            ],
        ),
        Mail::ConfirmEmail { username, link } => (
            t("确认您的邮箱地址".into(), "Confirm your email address".into()),
            vec![
                P(t(format!("{username}，您好："), format!("Hello {username},"))),
                P(t(
                    "请在 24 小时内打开下面的链接，确认这是您的邮箱地址。确认之前，我们不会向它发送余额提醒等其他邮件。".into(),
                    "Open the link below within 24 hours to confirm that this address is yours. Until it is confirmed we send it nothing else, not even balance alerts.".into(),
                )),
                Link(t("确认邮箱地址".into(), "Confirm this address".into()), link.clone()),
            ],
        ),
        Mail::EmailChanged { username, new_email } => (
            t("您的邮箱地址已更改".into(), "Your email address was changed".into()),
            vec![
                P(t(format!("{username}，您好："), format!("Hello {username},"))),
                P(t(
                    format!("您费用中心账号的邮箱地址已改为 {new_email}。今后的邮件将发往新地址（确认之后）。"),
                    format!("The email address of your Billing Center account was changed to {new_email}. Mail goes there from now on, once it is confirmed."),
                )),
                P(t(
                    "如果这不是您本人的操作，请立即重置密码并联系我们。".into(),
                    "If you did not do this, reset your password at once and contact us.".into(),
                )),
            ],
        ),
        Mail::TopUpCredited { amount, paid_arrears, cash_after, arrears_after, link } => {
            let mut blocks = vec![P(t(
                format!("您的充值 {} 已到账。", cny(*amount)),
                format!("Your top-up of {} has been credited.", cny(*amount)),
            ))];
            if !paid_arrears.is_zero() {
                blocks.push(P(if arrears_after.is_zero() {
                    t(
                        format!("其中 {} 用于偿还欠费，您的欠费已全部结清。", cny(*paid_arrears)),
                        format!("{} of it paid your arrears: you are no longer in arrears.", cny(*paid_arrears)),
                    )
                } else {
                    t(
                        format!("其中 {} 用于偿还欠费，仍欠 {}。", cny(*paid_arrears), cny(*arrears_after)),
                        format!("{} of it paid arrears; {} is still owed.", cny(*paid_arrears), cny(*arrears_after)),
                    )
                }));
            }
            blocks.push(P(t(
                format!("当前现金余额：{}。", cny(*cash_after)),
                format!("Cash balance now: {}.", cny(*cash_after)),
            )));
            blocks.push(Link(t("查看账户".into(), "See your account".into()), link.clone()));
            (
                if !paid_arrears.is_zero() && arrears_after.is_zero() {
                    t("充值已到账，欠费已结清".into(), "Top-up credited: arrears cleared".into())
                } else {
                    t("充值已到账".into(), "Top-up credited".into())
                },
                blocks,
            )
        }
        Mail::LowBalance { available, threshold, link } => (
            t("余额不足提醒".into(), "Low balance".into()),
            vec![
                P(t(
                    format!("您的可用余额（现金、代金券与预付卡）已降至 {}，低于您设置的提醒阈值 {}。", cny(*available), cny(*threshold)),
                    format!("What you can spend (cash, vouchers and prepaid cards) is down to {}, below your alert threshold of {}.", cny(*available), cny(*threshold)),
                )),
                P(t(
                    "余额用尽后，账单将计入欠费。请及时充值。".into(),
                    "When it runs out, bills go into arrears. Top up in time to avoid that.".into(),
                )),
                Link(t("立即充值".into(), "Top up".into()), link.clone()),
            ],
        ),
        Mail::ArrearsBegan { arrears, grace_ends, link } => (
            t("您的账户已欠费".into(), "Your account is in arrears".into()),
            vec![
                P(t(
                    format!("昨日账单未能全部支付，您的账户当前欠费 {}。", cny(*arrears)),
                    format!("A bill could not be paid in full: your account is in arrears by {}.", cny(*arrears)),
                )),
                P(t(
                    format!("宽限期至 {}。之后工作空间可能被限制使用。充值将首先偿还欠费。", moment(*grace_ends, timezone)),
                    format!("The grace period ends {}; after it your workspaces may be restricted. A top-up pays the arrears first.", moment(*grace_ends, timezone)),
                )),
                Link(t("立即充值".into(), "Top up now".into()), link.clone()),
            ],
        ),
        Mail::ArrearsReminder { arrears, grace_ends, ended, link } => (
            if *ended {
                t("欠费宽限期已结束".into(), "Your arrears grace period has ended".into())
            } else {
                t("欠费提醒".into(), "Reminder: your account is in arrears".into())
            },
            vec![
                P(t(
                    format!("您的账户当前欠费 {}。", cny(*arrears)),
                    format!("Your account is in arrears by {}.", cny(*arrears)),
                )),
                P(if *ended {
                    t(
                        format!("宽限期已于 {} 结束，工作空间可能已被限制使用。充值结清欠费后即可恢复。", moment(*grace_ends, timezone)),
                        format!("The grace period ended {}; your workspaces may be restricted until a top-up clears the arrears.", moment(*grace_ends, timezone)),
                    )
                } else {
                    t(
                        format!("宽限期至 {}。", moment(*grace_ends, timezone)),
                        format!("The grace period ends {}.", moment(*grace_ends, timezone)),
                    )
                }),
                Link(t("立即充值".into(), "Top up now".into()), link.clone()),
            ],
        ),
        Mail::InstrumentExpiring { number, voucher, balance, valid_until, link } => {
            let (zh_kind, en_kind) = if *voucher { ("代金券", "voucher") } else { ("预付卡", "prepaid card") };
            (
                t(format!("{zh_kind} {number} 即将到期"), format!("Your {en_kind} {number} expires soon")),
                vec![
                    P(t(
                        format!("您的{zh_kind} {number} 还有 {} 余额，将于 {} 到期，到期后余额作废。", cny(*balance), moment(*valid_until, timezone)),
                        format!("Your {en_kind} {number} still holds {} and expires {}; what is left then is lost.", cny(*balance), moment(*valid_until, timezone)),
                    )),
                    Link(t("查看钱包".into(), "See your wallet".into()), link.clone()),
                ],
            )
        }
        Mail::DailyCost { workspace, day, cost, threshold, link } => (
            t(format!("工作空间 {workspace} 高消费提醒"), format!("High consumption in workspace {workspace}")),
            vec![
                P(t(
                    format!("工作空间 {workspace} 在 {day} 的费用为 {}，超过了设置的提醒阈值 {}。", cny(*cost), cny(*threshold)),
                    format!("Workspace {workspace} cost {} on {day}, above the alert threshold of {}.", cny(*cost), cny(*threshold)),
                )),
                Link(t("查看用量".into(), "See its usage".into()), link.clone()),
            ],
        ),
        Mail::CloudSubscriptionEnded { cloud, instance_id, workspaces, link } => (
            t("云市场订阅已结束".into(), "Your cloud marketplace subscription has ended".into()),
            vec![
                P(t(
                    format!("您在 {cloud} 的订阅（实例 {instance_id}）已结束。以下工作空间已改为通过费用中心账户结算，从下一张账单起生效：{}。", workspaces.join("、")),
                    format!("Your {cloud} subscription (instance {instance_id}) has ended. These workspaces settle through your Billing Center account from the next bill: {}.", workspaces.join(", ")),
                )),
                P(t(
                    "请确保账户余额充足，或绑定新的云账号订阅。".into(),
                    "Keep enough balance in the account, or settle them through a new subscription.".into(),
                )),
                Link(t("查看工作空间".into(), "See your workspaces".into()), link.clone()),
            ],
        ),
        Mail::EnterpriseReviewed { enterprise, approved: true, link, .. } => (
            t("企业认证已通过".into(), "Your enterprise verification is approved".into()),
            vec![
                P(t(
                    format!("{enterprise} 的企业认证已通过。"),
                    format!("The verification of {enterprise} is approved."),
                )),
                Link(t("查看账户".into(), "See your account".into()), link.clone()),
            ],
        ),
        Mail::EnterpriseReviewed { enterprise, reason, link, .. } => (
            t("企业认证未通过".into(), "Your enterprise verification was not approved".into()),
            vec![
                P(t(
                    format!("{enterprise} 的企业认证未通过，原因：{}", reason.clone().unwrap_or_default()),
                    format!("The verification of {enterprise} was not approved: {}", reason.clone().unwrap_or_default()),
                )),
                P(t("请修改后重新提交。".into(), "Correct it and submit it again.".into())),
                Link(t("查看账户".into(), "See your account".into()), link.clone()),
            ],
        ),
        Mail::TicketReplied { ticket_id, title, reply, link } => (
            t(format!("工单 #{ticket_id} 有新回复"), format!("New reply to ticket #{ticket_id}")),
            vec![
                P(t(format!("支持人员回复了您的工单“{title}”："), format!("Support replied to your ticket \"{title}\":"))),
                P(reply.clone()),
                P(t(
                    "如 7 天内没有回复，工单将自动关闭。".into(),
                    "Without an answer within 7 days the ticket closes itself.".into(),
                )),
                Link(t("查看并回复".into(), "Read and answer".into()), link.clone()),
            ],
        ),
        Mail::WorkspaceMoved { workspace, moved_in: true, other_account, at, link } => (
            t(format!("工作空间 {workspace} 已转入本账户"), format!("Workspace {workspace} moved to your account")),
            vec![
                P(t(
                    format!("工作空间 {workspace} 已于 {} 从账户 {other_account} 换绑到本账户。从下一张日账单起由本账户结算，已出的账单仍归原账户。", moment(*at, timezone)),
                    format!("Workspace {workspace} was moved from account {other_account} to yours at {}. Its bills are charged to your account from the next daily bill; bills already made stay with the other account.", moment(*at, timezone)),
                )),
                P(t(
                    "它的用量 API 密钥已更换：请在工作空间页面查看并更新上报程序。".into(),
                    "Its usage API key was replaced: the workspaces page shows how to report with the new one.".into(),
                )),
                Link(t("查看工作空间".into(), "See your workspaces".into()), link.clone()),
            ],
        ),
        Mail::WorkspaceMoved { workspace, other_account, at, link, .. } => (
            t(format!("工作空间 {workspace} 已转出本账户"), format!("Workspace {workspace} moved off your account")),
            vec![
                P(t(
                    format!("工作空间 {workspace} 已于 {} 换绑到同一企业的账户 {other_account}。此后的账单由该账户结算，已出的账单仍在本账户。", moment(*at, timezone)),
                    format!("Workspace {workspace} was moved to account {other_account} of the same enterprise at {}. Its next bills are charged there; bills already made stay in your account.", moment(*at, timezone)),
                )),
                P(t(
                    "如果这不是您所在企业的操作，请立即联系支持。".into(),
                    "If nobody in your enterprise asked for this, contact support at once.".into(),
                )),
                Link(t("查看工作空间".into(), "See your workspaces".into()), link.clone()),
            ],
        ),
        Mail::OperatorSettlementFailed { day, failures, first_error } => (
            t(format!("结算失败：{day}"), format!("Settlement failed: {day}")),
            vec![
                P(t(
                    format!("{day} 的结算有 {failures} 个工作空间未能出账。第一个错误：{first_error}"),
                    format!("The settlement of {day} left {failures} workspace(s) unbilled. First error: {first_error}"),
                )),
                P(t("详情见 /ops 的结算失败列表。".into(), "Details: the settlement failures at /ops.".into())),
            ],
        ),
        Mail::OperatorPaymentFlagged { reference, kind, detail } => (
            t(format!("支付异常：{reference}"), format!("Payment flagged: {reference}")),
            vec![
                P(t(
                    format!("充值 {reference} 被标记为 {kind}：{detail}"),
                    format!("Top-up {reference} was flagged as {kind}: {detail}"),
                )),
                P(t("请在 /ops 处理。".into(), "Resolve it at /ops.".into())),
            ],
        ),
        Mail::OperatorMailUndeliverable { outbox_id, recipient, error } => (
            t(format!("邮件无法投递：#{outbox_id}"), format!("Mail could not be delivered: #{outbox_id}")),
            vec![P(t(
                format!("发往 {recipient} 的邮件 #{outbox_id} 已放弃投递：{error}"),
                format!("Message #{outbox_id} to {recipient} was given up: {error}"),
            ))],
        ),
    };
    let signature = t(
        "—— 费用中心（此邮件由系统发送，请勿直接回复）".into(),
        "— Billing Center (sent automatically; replies are not read)".into(),
    );
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;color:#1a2233;max-width:36rem\">",
        language.code(),
        escape(&subject)
    );
    for block in &blocks {
        match block {
            P(p) => {
                text.push_str(p);
                text.push_str("\n\n");
                html.push_str(&format!("<p>{}</p>", escape(p)));
            }
            Link(label, href) => {
                text.push_str(&format!("{label}: {href}\n\n"));
                html.push_str(&format!(
                    "<p><a href=\"{}\" style=\"color:#1677ff\">{}</a></p>",
                    escape(href),
                    escape(label)
                ));
            }
        }
    }
    text.push_str(&signature);
    text.push('\n');
    html.push_str(&format!(
        "<p style=\"color:#667\">{}</p></body></html>",
        escape(&signature)
    ));
    Content {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn amounts_read_as_on_the_pages_in_both_languages() {
        let mail = Mail::ArrearsBegan {
            arrears: Amount::parse("1234.5").unwrap(),
            grace_ends: Utc.with_ymd_and_hms(2026, 12, 20, 16, 0, 0).unwrap(),
            link: "https://billing.example/wallet?top_up=1".into(),
        };
        let en = render(&mail, Language::En, chrono_tz::Asia::Shanghai);
        assert_eq!(en.subject, "Your account is in arrears");
        assert!(en.text.contains("¥1,234.50"), "{}", en.text);
        assert!(en.text.contains("2026-12-21 00:00 (CST)"), "{}", en.text);
        assert!(
            en.html
                .contains("href=\"https://billing.example/wallet?top_up=1\"")
        );
        let zh = render(&mail, Language::ZhCn, chrono_tz::Asia::Shanghai);
        assert_eq!(zh.subject, "您的账户已欠费");
        assert!(zh.text.contains("¥1,234.50"));
        assert!(zh.html.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"));
    }

    #[test]
    fn what_a_customer_typed_is_escaped_in_html() {
        let mail = Mail::EmailChanged {
            username: "alice".into(),
            new_email: "<script>@x.com".into(),
        };
        let html = render(&mail, Language::En, chrono_tz::UTC).html;
        assert!(html.contains("&lt;script&gt;@x.com"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn a_top_up_that_clears_arrears_says_so() {
        let mail = Mail::TopUpCredited {
            amount: Amount::parse("100").unwrap(),
            paid_arrears: Amount::parse("30").unwrap(),
            cash_after: Amount::parse("70").unwrap(),
            arrears_after: Amount::ZERO,
            link: "x".into(),
        };
        let en = render(&mail, Language::En, chrono_tz::UTC);
        assert_eq!(en.subject, "Top-up credited: arrears cleared");
        assert!(en.text.contains("no longer in arrears"));
    }
}
