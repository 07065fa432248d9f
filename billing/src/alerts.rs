//! When a customer is warned about their money (PRODUCT.md §2 "Arrears", §7 "Mail"): the low
//! balance crossing, arrears beginning and ending, the arrears grace period and its reminders, an
//! instrument about to expire. Pure rules; the server decides who is told and writes the mail.

use chrono::{DateTime, Duration, Utc};

use crate::instrument::{InstrumentKind, Wallet};
use crate::money::Amount;

/// The low-balance threshold of an account that has not chosen one (PRODUCT.md §7).
pub const DEFAULT_LOW_BALANCE_THRESHOLD_FEN: i64 = 10_000; // 100.00 yuan
/// The largest threshold a customer may set (the largest single top-up is far below it).
pub const MAX_LOW_BALANCE_THRESHOLD_FEN: i64 = 10_000_000_000; // 100,000,000.00 yuan
/// How long arrears may stand before the console is told to restrict (PRODUCT.md §2).
pub const DEFAULT_ARREARS_GRACE_DAYS: i64 = 14;
pub const MAX_ARREARS_GRACE_DAYS: i64 = 90;
/// Instruments expiring within this many days are announced (PRODUCT.md §7).
pub const EXPIRY_NOTICE_DAYS: i64 = 7;

/// What the customer can still spend at `at`: cash plus the balances of every voucher and prepaid
/// card usable then. Arrears are not subtracted: in arrears there is no cash, and what is
/// available is the instruments alone.
pub fn available(wallet: &Wallet, at: DateTime<Utc>) -> Amount {
    InstrumentKind::ALL
        .iter()
        .map(|kind| wallet.usable_balance(*kind, at))
        .sum::<Amount>()
        + wallet.cash()
}

/// Whether a charge took what is available from at or above `threshold` to below it: the low
/// balance alert is sent once per crossing, not once per bill.
pub fn low_balance_crossed(
    before: &Wallet,
    after: &Wallet,
    at: DateTime<Utc>,
    threshold: Amount,
) -> bool {
    available(before, at) >= threshold && available(after, at) < threshold
}

/// Whether a charge left arrears on an account that had none.
pub fn arrears_began(before: &Wallet, after: &Wallet) -> bool {
    before.arrears().is_zero() && !after.arrears().is_zero()
}

/// The moment the grace period of arrears standing since `since` ends.
pub fn grace_period_ends(since: DateTime<Utc>, grace_days: i64) -> DateTime<Utc> {
    since + Duration::days(grace_days.clamp(0, MAX_ARREARS_GRACE_DAYS))
}

/// The reminder that is due at `now` for arrears standing since `since`, as the number of whole
/// days into the grace period it is sent on: day 3, day 7 and the last day of the period (for the
/// default 14 days: 3, 7 and 13), then one on the day the period ends (`grace_days`). The latest
/// one due is returned, so a server that was down for days sends one reminder, not a backlog;
/// the caller sends each number at most once per arrears episode.
pub fn arrears_reminder_due(
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    grace_days: i64,
) -> Option<i64> {
    let grace_days = grace_days.clamp(1, MAX_ARREARS_GRACE_DAYS);
    let elapsed = (now - since).num_days();
    reminder_days(grace_days)
        .into_iter()
        .rev()
        .find(|day| elapsed >= *day)
}

/// The days into the grace period on which reminders go out, in order, without repeats.
pub fn reminder_days(grace_days: i64) -> Vec<i64> {
    let grace_days = grace_days.clamp(1, MAX_ARREARS_GRACE_DAYS);
    let mut days: Vec<i64> = [3, 7, grace_days - 1, grace_days]
        .into_iter()
        .filter(|d| (1..=grace_days).contains(d))
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// Whether an instrument valid until `valid_until` with `balance` left should be announced as
/// expiring at `now`: it still holds money and expires within [`EXPIRY_NOTICE_DAYS`].
pub fn expires_soon(balance: Amount, valid_until: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    !balance.is_zero()
        && valid_until > now
        && valid_until - now <= Duration::days(EXPIRY_NOTICE_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::Instrument;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap()
    }

    fn yuan(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    fn wallet(cash: &str, arrears: &str, voucher: &str, until: u32) -> Wallet {
        let voucher = Instrument {
            id: "V1".into(),
            kind: InstrumentKind::RegularVoucher,
            balance: yuan(voucher),
            valid_from: at(1),
            valid_until: at(until),
            activated_at: at(1),
        };
        Wallet::new(yuan(cash), yuan(arrears), vec![voucher]).unwrap()
    }

    #[test]
    fn available_counts_cash_and_usable_instruments_only() {
        assert_eq!(
            available(&wallet("50.00", "0.00", "30.00", 20), at(10)),
            yuan("80.00")
        );
        // The voucher has expired by the 21st.
        assert_eq!(
            available(&wallet("50.00", "0.00", "30.00", 20), at(21)),
            yuan("50.00")
        );
        assert_eq!(
            available(&wallet("0.00", "5.00", "30.00", 20), at(10)),
            yuan("30.00")
        );
    }

    #[test]
    fn low_balance_is_a_crossing_not_a_level() {
        let threshold = yuan("100.00");
        let before = wallet("90.00", "0.00", "20.00", 20);
        let after = wallet("70.00", "0.00", "20.00", 20);
        assert!(low_balance_crossed(&before, &after, at(10), threshold));
        // Already below: the next bill says nothing.
        let later = wallet("50.00", "0.00", "20.00", 20);
        assert!(!low_balance_crossed(&after, &later, at(10), threshold));
        // Exactly at the threshold is not below it.
        let exactly = wallet("80.00", "0.00", "20.00", 20);
        assert!(!low_balance_crossed(&before, &exactly, at(10), threshold));
        assert!(low_balance_crossed(&exactly, &after, at(10), threshold));
    }

    #[test]
    fn arrears_begin_only_from_none() {
        let none = wallet("0.00", "0.00", "0.00", 20);
        let some = wallet("0.00", "3.00", "0.00", 20);
        let more = wallet("0.00", "9.00", "0.00", 20);
        assert!(arrears_began(&none, &some));
        assert!(!arrears_began(&some, &more));
        assert!(!arrears_began(&none, &none));
    }

    #[test]
    fn reminders_fall_on_days_three_seven_and_the_end() {
        assert_eq!(reminder_days(14), vec![3, 7, 13, 14]);
        assert_eq!(reminder_days(5), vec![3, 4, 5]);
        assert_eq!(reminder_days(1), vec![1]);
        let since = at(1);
        assert_eq!(arrears_reminder_due(since, at(3), 14), None);
        assert_eq!(arrears_reminder_due(since, at(4), 14), Some(3));
        assert_eq!(arrears_reminder_due(since, at(9), 14), Some(7));
        // Down for a week: one reminder, the latest.
        assert_eq!(arrears_reminder_due(since, at(15), 14), Some(14));
        assert_eq!(grace_period_ends(since, 14), at(15));
    }

    #[test]
    fn expiring_soon_means_money_left_and_within_a_week() {
        assert!(expires_soon(yuan("1.00"), at(17), at(10)));
        assert!(!expires_soon(yuan("1.00"), at(18), at(10)));
        assert!(!expires_soon(yuan("0.00"), at(12), at(10)));
        assert!(!expires_soon(yuan("1.00"), at(10), at(10)));
    }
}
