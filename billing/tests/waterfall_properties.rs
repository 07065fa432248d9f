//! Property tests of the deduction waterfall (PRODUCT.md §3): the plan conserves money, never
//! overdraws an instrument, never pays a restricted item with a voucher and never touches an
//! instrument outside its validity window.

use std::collections::HashMap;

use billing::{
    Amount, BillingItem, Charge, Instrument, InstrumentKind, PaymentSource, Settlement, Wallet,
    plan,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn hours(h: i64) -> DateTime<Utc> {
    epoch() + Duration::hours(h)
}

fn amount(max_fen: i64) -> impl Strategy<Value = Amount> {
    (0..=max_fen).prop_map(Amount::from_fen)
}

fn kind() -> impl Strategy<Value = InstrumentKind> {
    prop::sample::select(InstrumentKind::ALL.to_vec())
}

fn instrument(index: usize) -> impl Strategy<Value = Instrument> {
    (kind(), amount(50_000), 0i64..200, 1i64..200, 0i64..200).prop_map(
        move |(kind, balance, from, len, activated)| Instrument {
            id: format!("i{index}"),
            kind,
            balance,
            valid_from: hours(from),
            valid_until: hours(from + len),
            activated_at: hours(activated),
        },
    )
}

fn wallet() -> impl Strategy<Value = Wallet> {
    let instruments = (0usize..12).prop_flat_map(|n| (0..n).map(instrument).collect::<Vec<_>>());
    (amount(100_000), any::<bool>(), instruments).prop_map(|(balance, in_arrears, instruments)| {
        let (cash, arrears) = if in_arrears {
            (Amount::ZERO, balance)
        } else {
            (balance, Amount::ZERO)
        };
        Wallet::new(cash, arrears, instruments).expect("generated wallets are valid")
    })
}

fn charges() -> impl Strategy<Value = Vec<Charge>> {
    prop::collection::vec(
        (
            prop::sample::select(BillingItem::ALL.to_vec()),
            amount(80_000),
        )
            .prop_map(|(item, amount)| Charge { item, amount }),
        0..15,
    )
}

fn settlement() -> impl Strategy<Value = Settlement> {
    prop_oneof![Just(Settlement::Account), Just(Settlement::Cloud)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn every_line_is_paid_exactly_and_money_is_conserved(
        settlement in settlement(), at in (0i64..220).prop_map(hours), wallet in wallet(), charges in charges()
    ) {
        let plan = plan(settlement, at, &wallet, &charges);
        prop_assert_eq!(plan.lines.len(), charges.len());
        for (line, charge) in plan.lines.iter().zip(&charges) {
            let paid: Amount = line.paid.iter().map(|p| p.amount).sum();
            prop_assert_eq!(paid, charge.amount);
            prop_assert!(line.paid.iter().all(|p| !p.amount.is_zero()));
        }
        let charged: Amount = charges.iter().map(|c| c.amount).sum();
        prop_assert_eq!(plan.totals.total(), charged);

        let before: Amount = wallet.instruments().iter().map(|i| i.balance).sum();
        let after: Amount = plan.wallet_after.instruments().iter().map(|i| i.balance).sum();
        let instruments_used = before.checked_sub(after).expect("instrument balances only decrease");
        let cash_used = wallet.cash().checked_sub(plan.wallet_after.cash()).expect("cash only decreases");
        let arrears_added = plan.wallet_after.arrears().checked_sub(wallet.arrears()).expect("arrears only grow");
        prop_assert_eq!(instruments_used + cash_used + arrears_added + plan.totals.cloud, charged);
        prop_assert_eq!(cash_used, plan.totals.cash);
        prop_assert_eq!(arrears_added, plan.totals.arrears);
        prop_assert!(plan.wallet_after.cash().is_zero() || plan.wallet_after.arrears().is_zero());
    }

    #[test]
    fn no_instrument_gives_more_than_it_had_and_unusable_ones_give_nothing(
        settlement in settlement(), at in (0i64..220).prop_map(hours), wallet in wallet(), charges in charges()
    ) {
        let plan = plan(settlement, at, &wallet, &charges);
        let mut taken: HashMap<String, Amount> = HashMap::new();
        for payment in plan.lines.iter().flat_map(|l| &l.paid) {
            if let PaymentSource::Instrument { id, .. } = &payment.source {
                let total = taken.entry(id.clone()).or_default();
                *total = *total + payment.amount;
            }
        }
        for (before, after) in wallet.instruments().iter().zip(plan.wallet_after.instruments()) {
            let took = taken.get(&before.id).copied().unwrap_or_default();
            prop_assert!(took <= before.balance);
            prop_assert_eq!(before.balance.checked_sub(took), Some(after.balance));
            if !before.is_usable_at(at) {
                prop_assert!(took.is_zero(), "unusable instrument {} paid {}", before.id, took);
            }
        }
    }

    #[test]
    fn restricted_items_are_never_paid_by_vouchers_and_settlements_keep_to_their_sources(
        settlement in settlement(), at in (0i64..220).prop_map(hours), wallet in wallet(), charges in charges()
    ) {
        let plan = plan(settlement, at, &wallet, &charges);
        for line in &plan.lines {
            for payment in &line.paid {
                match &payment.source {
                    PaymentSource::Instrument { kind, .. } => {
                        prop_assert!(!(line.item.is_restricted() && kind.is_voucher()));
                    }
                    PaymentSource::Cash | PaymentSource::Arrears => prop_assert_eq!(settlement, Settlement::Account),
                    PaymentSource::Cloud => prop_assert_eq!(settlement, Settlement::Cloud),
                }
            }
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_the_order_instruments_are_listed(
        settlement in settlement(), at in (0i64..220).prop_map(hours), wallet in wallet(), charges in charges()
    ) {
        let mut reversed: Vec<Instrument> = wallet.instruments().to_vec();
        reversed.reverse();
        let shuffled = Wallet::new(wallet.cash(), wallet.arrears(), reversed).unwrap();
        let a = plan(settlement, at, &wallet, &charges);
        let b = plan(settlement, at, &shuffled, &charges);
        prop_assert_eq!(a.lines, b.lines);
        prop_assert_eq!(a.totals, b.totals);
    }

    #[test]
    fn a_later_source_pays_only_when_every_earlier_eligible_one_is_exhausted(
        settlement in settlement(), at in (0i64..220).prop_map(hours), wallet in wallet(), charges in charges()
    ) {
        // Replaying the plan payment by payment: when a payment comes from some source, every
        // eligible instrument earlier in the waterfall must already be empty.
        let plan = plan(settlement, at, &wallet, &charges);
        let mut balances: HashMap<&str, Amount> =
            wallet.instruments().iter().map(|i| (i.id.as_str(), i.balance)).collect();
        let mut ordered: Vec<&Instrument> = wallet.instruments().iter().filter(|i| i.is_usable_at(at)).collect();
        ordered.sort_by(|a, b| a.waterfall_key().cmp(&b.waterfall_key()));
        for line in &plan.lines {
            let eligible: Vec<&Instrument> = ordered
                .iter()
                .copied()
                .filter(|i| !(line.item.is_restricted() && i.kind.is_voucher()))
                .collect();
            for payment in &line.paid {
                let position = match &payment.source {
                    PaymentSource::Instrument { id, .. } => eligible.iter().position(|i| &i.id == id).expect("eligible"),
                    _ => eligible.len(),
                };
                for earlier in &eligible[..position] {
                    prop_assert!(balances[earlier.id.as_str()].is_zero(), "{} still had money", earlier.id);
                }
                if let PaymentSource::Instrument { id, .. } = &payment.source {
                    let b = balances.get_mut(id.as_str()).unwrap();
                    *b = b.checked_sub(payment.amount).unwrap();
                }
            }
        }
    }
}
