//! Billing days are written `YYYY-MM-DD`, exactly: usage records, statement periods, settlement.

use chrono::{Datelike, NaiveDate};

/// The period a statement shows when none is asked for (PRODUCT.md §4): the month so far; on a
/// month's first day, when nothing of the new month is settled yet, the whole previous month. The
/// one rule for the API and the pages. Both days are included.
pub fn default_statement_period(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = today.with_day(1).unwrap_or(today);
    if today.day() == 1 {
        let last_month_end = first.pred_opt().unwrap_or(first);
        (
            last_month_end.with_day(1).unwrap_or(last_month_end),
            last_month_end,
        )
    } else {
        (first, today)
    }
}

/// A day written exactly `YYYY-MM-DD` with a four-digit year (so `2026-1-5`, `2026-02-30`,
/// `+2026-01-05` or `-2026-01-01`, a day in the year 2027 BC to chrono, are not days).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| day.format("%Y-%m-%d").to_string() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_iso_days_parse() {
        assert_eq!(
            parse_day("2026-11-22"),
            NaiveDate::from_ymd_opt(2026, 11, 22)
        );
        for bad in [
            "2026-1-5",
            "2026-02-30",
            "26-11-22",
            "2026/11/22",
            " 2026-11-22",
            "22/11/2026",
            "-2026-01-01",
            "+2026-01-01",
            "12026-01-01",
            "0000-00-00",
            "２０２６-11-22",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn statements_open_on_the_month_so_far_or_on_the_last_month_on_its_first_day() {
        let d = |s: &str| parse_day(s).unwrap();
        assert_eq!(
            default_statement_period(d("2026-11-23")),
            (d("2026-11-01"), d("2026-11-23"))
        );
        assert_eq!(
            default_statement_period(d("2026-12-01")),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            default_statement_period(d("2027-01-01")),
            (d("2026-12-01"), d("2026-12-31"))
        );
        assert_eq!(
            default_statement_period(d("2026-03-01")),
            (d("2026-02-01"), d("2026-02-28"))
        );
    }

    proptest::proptest! {
        /// Whatever the text, a day that parses is written back exactly as it was given.
        #[test]
        fn a_parsed_day_is_exactly_its_text(text in ".{0,12}") {
            if let Some(day) = parse_day(&text) {
                proptest::prop_assert_eq!(day.format("%Y-%m-%d").to_string(), text);
            }
        }
    }
}
