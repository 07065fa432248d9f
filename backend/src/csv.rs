//! The CSV files customers download (statements, voucher and prepaid card details): UTF-8 with a
//! byte order mark (so that Excel reads Chinese text), CRLF rows, RFC 4180 quoting. A cell a
//! spreadsheet would run as a formula is neutralised with a leading `'`, so a memo or a name
//! cannot run in the customer's spreadsheet (OWASP "CSV injection"); numbers stay numbers.

/// What a spreadsheet reads as the start of a formula: `=`, `+`, `-`, `@`, a tab or a CR.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A plain decimal number such as `-12.34`: a spreadsheet reads it as a number, not a formula.
fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// One CSV cell: formulas neutralised, then quoted when it holds a comma, a quote or a line break.
pub fn cell(text: &str) -> String {
    let text = if text.starts_with(FORMULA_STARTS) && !is_plain_number(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A whole file: the byte order mark, the header row, then one row per record, each ended by CRLF.
pub fn document(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut body = String::from("\u{feff}");
    let mut push_row = |cells: Vec<String>| {
        body.push_str(&cells.join(","));
        body.push_str("\r\n");
    };
    push_row(header.iter().map(|h| cell(h)).collect());
    for row in rows {
        push_row(row.iter().map(|c| cell(c)).collect());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_cannot_run() {
        assert_eq!(cell("logs"), "logs");
        assert_eq!(cell("-12.34"), "-12.34", "a negative amount stays a number");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+cmd|' /C calc'!A0"), "'-1+cmd|' /C calc'!A0");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        assert_eq!(
            cell("-inf"),
            "'-inf",
            "only plain decimals count as numbers"
        );
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("生产环境"), "生产环境");
    }

    #[test]
    fn a_document_has_a_bom_a_header_and_crlf_rows() {
        let rows = vec![vec!["1.00".to_owned(), "a\nb".to_owned()]];
        assert_eq!(
            document(&["amount", "memo"], &rows),
            "\u{feff}amount,memo\r\n1.00,\"a\nb\"\r\n"
        );
    }
}
