//! The deduction waterfall. PRODUCT.md §3.
//!
//! A bill is a list of charges, paid in bill order. Each charge walks the payment sources in
//! order and takes from each as much as it can:
//! - account settlement: regular vouchers → discount vouchers → prepaid cards → cash → arrears;
//! - cloud settlement:   regular vouchers → discount vouchers → prepaid cards → cloud account;
//! - restricted items (SMS, dial testing) skip both kinds of voucher.
//!
//! Only instruments usable at the charge time take part; within a kind the one expiring first
//! pays first (then earlier activation, then id). [`plan`] is pure and deterministic: the browser
//! preview and the server's authoritative charge call the same function.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::instrument::{InstrumentKind, Wallet};
use crate::item::BillingItem;
use crate::money::Amount;

/// Through which account a workspace's bills are settled (PRODUCT.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// The Billing Center account: cash, then arrears.
    Account,
    /// A cloud marketplace account: whatever instruments do not cover is charged to the cloud.
    Cloud,
}

/// One line of a bill: a billing item and its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub item: BillingItem,
    pub amount: Amount,
}

/// Where part of a charge was paid from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentSource {
    Instrument { id: String, kind: InstrumentKind },
    Cash,
    Arrears,
    Cloud,
}

impl PaymentSource {
    /// The name used in plans and postings: the instrument id, or `cash`, `arrears`, `cloud`.
    pub fn name(&self) -> &str {
        match self {
            PaymentSource::Instrument { id, .. } => id,
            PaymentSource::Cash => "cash",
            PaymentSource::Arrears => "arrears",
            PaymentSource::Cloud => "cloud",
        }
    }
}

impl Serialize for PaymentSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// An amount taken from one source for one charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub source: PaymentSource,
    pub amount: Amount,
}

/// How one charge of the bill is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLine {
    /// Index of the charge in the bill.
    pub charge: usize,
    pub item: BillingItem,
    pub amount: Amount,
    pub paid: Vec<Payment>,
}

/// What the whole bill took from each kind of source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub regular_voucher: Amount,
    pub discount_voucher: Amount,
    pub prepaid_card: Amount,
    pub cash: Amount,
    pub arrears: Amount,
    pub cloud: Amount,
}

impl Totals {
    fn add(&mut self, source: &PaymentSource, amount: Amount) {
        let slot = match source {
            PaymentSource::Instrument {
                kind: InstrumentKind::RegularVoucher,
                ..
            } => &mut self.regular_voucher,
            PaymentSource::Instrument {
                kind: InstrumentKind::DiscountVoucher,
                ..
            } => &mut self.discount_voucher,
            PaymentSource::Instrument {
                kind: InstrumentKind::PrepaidCard,
                ..
            } => &mut self.prepaid_card,
            PaymentSource::Cash => &mut self.cash,
            PaymentSource::Arrears => &mut self.arrears,
            PaymentSource::Cloud => &mut self.cloud,
        };
        *slot = *slot + amount;
    }

    /// Everything the bill was charged, whichever source paid it.
    pub fn total(&self) -> Amount {
        self.regular_voucher
            + self.discount_voucher
            + self.prepaid_card
            + self.cash
            + self.arrears
            + self.cloud
    }
}

/// The result of running the waterfall: who pays what, and the wallet afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeductionPlan {
    pub settlement: Settlement,
    pub at: DateTime<Utc>,
    pub lines: Vec<PlanLine>,
    pub totals: Totals,
    pub wallet_after: Wallet,
}

/// Runs the deduction waterfall of PRODUCT.md §3 for a bill charged at `at`.
pub fn plan(
    settlement: Settlement,
    at: DateTime<Utc>,
    wallet: &Wallet,
    charges: &[Charge],
) -> DeductionPlan {
    let instruments = wallet.instruments();
    let mut balances: Vec<Amount> = instruments.iter().map(|i| i.balance).collect();
    let mut order: Vec<usize> = (0..instruments.len())
        .filter(|&i| instruments[i].is_usable_at(at) && !instruments[i].balance.is_zero())
        .collect();
    order.sort_by(|&a, &b| {
        instruments[a]
            .waterfall_key()
            .cmp(&instruments[b].waterfall_key())
    });

    let mut cash = wallet.cash();
    let mut arrears = wallet.arrears();
    let mut totals = Totals::default();
    let mut lines = Vec::with_capacity(charges.len());

    for (index, charge) in charges.iter().enumerate() {
        let mut remaining = charge.amount;
        let mut paid = Vec::new();
        let mut take = |source: PaymentSource, available: &mut Amount, remaining: &mut Amount| {
            let taken = (*available).min(*remaining);
            if !taken.is_zero() {
                *available = available.saturating_sub(taken);
                *remaining = remaining.saturating_sub(taken);
                totals.add(&source, taken);
                paid.push(Payment {
                    source,
                    amount: taken,
                });
            }
        };

        for &i in &order {
            if remaining.is_zero() {
                break;
            }
            let instrument = &instruments[i];
            if charge.item.is_restricted() && instrument.kind.is_voucher() {
                continue;
            }
            let source = PaymentSource::Instrument {
                id: instrument.id.clone(),
                kind: instrument.kind,
            };
            take(source, &mut balances[i], &mut remaining);
        }
        match settlement {
            Settlement::Account => {
                take(PaymentSource::Cash, &mut cash, &mut remaining);
                if !remaining.is_zero() {
                    let owed = remaining;
                    let mut unlimited = owed;
                    take(PaymentSource::Arrears, &mut unlimited, &mut remaining);
                    arrears = arrears + owed;
                }
            }
            Settlement::Cloud => {
                let mut unlimited = remaining;
                take(PaymentSource::Cloud, &mut unlimited, &mut remaining);
            }
        }
        debug_assert!(remaining.is_zero());
        lines.push(PlanLine {
            charge: index,
            item: charge.item,
            amount: charge.amount,
            paid,
        });
    }

    DeductionPlan {
        settlement,
        at,
        lines,
        totals,
        wallet_after: wallet.with_balances(cash, arrears, &balances),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::Instrument;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    fn yuan(y: i64) -> Amount {
        Amount::from_yuan(y)
    }

    fn instrument(id: &str, kind: InstrumentKind, balance: i64, until: u32) -> Instrument {
        Instrument {
            id: id.into(),
            kind,
            balance: yuan(balance),
            valid_from: t(1),
            valid_until: t(until),
            activated_at: t(1),
        }
    }

    fn charge(item: BillingItem, amount: i64) -> Charge {
        Charge {
            item,
            amount: yuan(amount),
        }
    }

    fn paid(plan: &DeductionPlan, line: usize) -> Vec<(String, Amount)> {
        plan.lines[line]
            .paid
            .iter()
            .map(|p| (p.source.name().to_owned(), p.amount))
            .collect()
    }

    fn pairs(items: &[(&str, i64)]) -> Vec<(String, Amount)> {
        items
            .iter()
            .map(|(s, a)| (s.to_string(), yuan(*a)))
            .collect()
    }

    #[test]
    fn account_settlement_walks_regular_discount_card_cash_then_arrears() {
        let wallet = Wallet::new(
            yuan(5),
            Amount::ZERO,
            vec![
                instrument("card", InstrumentKind::PrepaidCard, 10, 20),
                instrument("disc", InstrumentKind::DiscountVoucher, 10, 20),
                instrument("reg", InstrumentKind::RegularVoucher, 10, 20),
            ],
        )
        .unwrap();
        let plan = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[charge(BillingItem::Logs, 40)],
        );
        assert_eq!(
            paid(&plan, 0),
            pairs(&[
                ("reg", 10),
                ("disc", 10),
                ("card", 10),
                ("cash", 5),
                ("arrears", 5)
            ])
        );
        assert_eq!(plan.wallet_after.cash(), Amount::ZERO);
        assert_eq!(plan.wallet_after.arrears(), yuan(5));
        assert_eq!(plan.totals.total(), yuan(40));
    }

    #[test]
    fn cloud_settlement_never_uses_cash_or_arrears() {
        let wallet = Wallet::new(
            yuan(100),
            Amount::ZERO,
            vec![instrument("reg", InstrumentKind::RegularVoucher, 10, 20)],
        )
        .unwrap();
        let plan = plan(
            Settlement::Cloud,
            t(5),
            &wallet,
            &[charge(BillingItem::Logs, 25)],
        );
        assert_eq!(paid(&plan, 0), pairs(&[("reg", 10), ("cloud", 15)]));
        assert_eq!(plan.wallet_after.cash(), yuan(100));
        assert_eq!(plan.wallet_after.arrears(), Amount::ZERO);
        assert_eq!(plan.totals.cloud, yuan(15));
    }

    #[test]
    fn restricted_items_skip_vouchers_under_both_settlements() {
        let wallet = Wallet::new(
            yuan(3),
            Amount::ZERO,
            vec![
                instrument("reg", InstrumentKind::RegularVoucher, 50, 20),
                instrument("disc", InstrumentKind::DiscountVoucher, 50, 20),
                instrument("card", InstrumentKind::PrepaidCard, 5, 20),
            ],
        )
        .unwrap();
        let account = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[charge(BillingItem::Sms, 10)],
        );
        assert_eq!(
            paid(&account, 0),
            pairs(&[("card", 5), ("cash", 3), ("arrears", 2)])
        );
        let cloud = plan(
            Settlement::Cloud,
            t(5),
            &wallet,
            &[charge(BillingItem::DialTesting, 10)],
        );
        assert_eq!(paid(&cloud, 0), pairs(&[("card", 5), ("cloud", 5)]));
    }

    #[test]
    fn within_a_kind_the_soonest_expiring_pays_first_then_earlier_activation_then_id() {
        let mut late_activation = instrument("a-late", InstrumentKind::RegularVoucher, 1, 15);
        late_activation.activated_at = t(3);
        let wallet = Wallet::new(
            Amount::ZERO,
            Amount::ZERO,
            vec![
                instrument("z-expires-later", InstrumentKind::RegularVoucher, 1, 20),
                late_activation,
                instrument("c-same", InstrumentKind::RegularVoucher, 1, 15),
                instrument("b-same", InstrumentKind::RegularVoucher, 1, 15),
                instrument("expires-first", InstrumentKind::RegularVoucher, 1, 10),
            ],
        )
        .unwrap();
        let plan = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[charge(BillingItem::Logs, 5)],
        );
        let order: Vec<_> = plan.lines[0]
            .paid
            .iter()
            .map(|p| p.source.name().to_owned())
            .collect();
        assert_eq!(
            order,
            [
                "expires-first",
                "b-same",
                "c-same",
                "a-late",
                "z-expires-later"
            ]
        );
    }

    #[test]
    fn instruments_outside_their_window_at_charge_time_do_not_pay() {
        let mut not_yet = instrument("future", InstrumentKind::RegularVoucher, 10, 20);
        not_yet.valid_from = t(6);
        let wallet = Wallet::new(
            yuan(100),
            Amount::ZERO,
            vec![
                instrument("expired", InstrumentKind::RegularVoucher, 10, 5),
                not_yet,
            ],
        )
        .unwrap();
        // Charged exactly at the old voucher's valid_until: it is no longer usable.
        let plan = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[charge(BillingItem::Logs, 7)],
        );
        assert_eq!(paid(&plan, 0), pairs(&[("cash", 7)]));
        assert_eq!(plan.wallet_after.instruments()[0].balance, yuan(10));
        assert_eq!(plan.wallet_after.instruments()[1].balance, yuan(10));
    }

    #[test]
    fn charges_are_paid_in_bill_order_and_share_the_wallet() {
        let wallet = Wallet::new(
            yuan(10),
            Amount::ZERO,
            vec![instrument("reg", InstrumentKind::RegularVoucher, 8, 20)],
        )
        .unwrap();
        let plan = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[
                charge(BillingItem::Logs, 5),
                charge(BillingItem::Sms, 6),
                charge(BillingItem::Network, 9),
            ],
        );
        assert_eq!(paid(&plan, 0), pairs(&[("reg", 5)]));
        assert_eq!(paid(&plan, 1), pairs(&[("cash", 6)]));
        assert_eq!(
            paid(&plan, 2),
            pairs(&[("reg", 3), ("cash", 4), ("arrears", 2)])
        );
        assert_eq!(
            plan.totals,
            Totals {
                regular_voucher: yuan(8),
                cash: yuan(10),
                arrears: yuan(2),
                ..Totals::default()
            }
        );
    }

    #[test]
    fn existing_arrears_grow_when_nothing_else_pays() {
        let wallet = Wallet::new(Amount::ZERO, yuan(3), vec![]).unwrap();
        let plan = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[charge(BillingItem::Logs, 4)],
        );
        assert_eq!(plan.wallet_after.arrears(), yuan(7));
        assert_eq!(plan.totals.arrears, yuan(4));
    }

    #[test]
    fn a_zero_charge_takes_nothing() {
        let wallet = Wallet::new(yuan(1), Amount::ZERO, vec![]).unwrap();
        let plan = plan(
            Settlement::Account,
            t(5),
            &wallet,
            &[charge(BillingItem::Logs, 0)],
        );
        assert!(plan.lines[0].paid.is_empty());
        assert_eq!(plan.wallet_after, wallet);
    }
}
