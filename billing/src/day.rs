//! Billing days are written `YYYY-MM-DD`, exactly: usage records, statement periods, settlement.

use chrono::NaiveDate;

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
