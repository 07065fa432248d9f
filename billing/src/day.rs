//! Billing days are written `YYYY-MM-DD`, exactly: usage records, statement periods, settlement.

use chrono::NaiveDate;

/// A day written exactly `YYYY-MM-DD` (so `2026-1-5`, `2026-02-30` or `+2026-01-05` are not days).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
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
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?}");
        }
    }
}
