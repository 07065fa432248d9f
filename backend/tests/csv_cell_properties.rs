//! Hostile text in the CSV files customers download (`backend::csv`, used by the statements and
//! the voucher and prepaid card details): whatever a cell holds (quotes, commas, CR, LF, formulas,
//! any Unicode), a reader following RFC 4180 gets back exactly the rows that were written, and no
//! cell reaches the spreadsheet starting with a formula character unless it is a plain number.

use backend::csv::{FORMULA_STARTS, cell, document};
use proptest::prelude::*;

/// A small RFC 4180 reader: CRLF (or LF) ends a row outside quotes; inside quotes anything goes
/// and `""` is a quote. Returns `None` for text no writer following the RFC produces.
fn read_csv(text: &str) -> Option<Vec<Vec<String>>> {
    let text = text.strip_prefix('\u{feff}')?;
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_field_start => {
                at_field_start = false;
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => break,
                        other => field.push(other),
                    }
                }
                // After a closing quote only a separator or the end of the row may follow.
                match chars.peek() {
                    None | Some(',') | Some('\r') | Some('\n') => {}
                    Some(_) => return None,
                }
            }
            '"' => return None,
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {
                if chars.next()? != '\n' {
                    return None;
                }
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            '\n' => return None,
            other => {
                at_field_start = false;
                field.push(other);
            }
        }
    }
    // Every row, the last one too, ends with CRLF.
    if !field.is_empty() || !row.is_empty() {
        return None;
    }
    Some(rows)
}

fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// What a cell holding `text` reads back as: the text, with a `'` before a would-be formula.
fn neutralised(text: &str) -> String {
    if text.starts_with(FORMULA_STARTS) && !is_plain_number(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Cell text an attacker might choose: formulas, separators, quotes, line breaks, Unicode.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[=+\\-@\t\r\n\",' a-zA-Z0-9|!();:.]{0,16}",
        "[-+]?[0-9]{1,6}(\\.[0-9]{1,2})?",
        "(=|\\+|-|@|\t|\r)(cmd\\|' /C calc'!A0|HYPERLINK\\(\"http://x\"\\)|SUM\\(A1:A9\\)|inf|1e5)",
        "[\"\r\n,]{0,8}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn a_written_cell_reads_back_as_its_text_or_its_neutralised_formula(text in hostile_text()) {
        let written = cell(&text);
        let read = read_csv(&format!("\u{feff}{written}\r\n"));
        prop_assert_eq!(read, Some(vec![vec![neutralised(&text)]]), "cell {:?} written as {:?}", text, written);
    }

    #[test]
    fn no_cell_reaches_the_spreadsheet_as_a_formula(text in hostile_text()) {
        let written = cell(&text);
        let read = read_csv(&format!("\u{feff}{written}\r\n")).expect("readable");
        let value = &read[0][0];
        prop_assert!(
            !value.starts_with(FORMULA_STARTS) || is_plain_number(value),
            "{:?} reaches the spreadsheet as {:?}", text, value
        );
        // A number stays a number: neither quoted nor prefixed.
        if is_plain_number(&text) {
            prop_assert_eq!(written, text);
        }
    }

    #[test]
    fn a_document_reads_back_as_its_rows(
        rows in prop::collection::vec(prop::collection::vec(hostile_text(), 3), 0..8)
    ) {
        let header = ["day", "memo", "amount"];
        let read = read_csv(&document(&header, &rows)).expect("readable");
        let expected: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
            .chain(rows.iter().map(|row| row.iter().map(|c| neutralised(c)).collect()))
            .collect();
        prop_assert_eq!(read, expected);
    }
}

#[test]
fn the_reader_refuses_what_no_writer_should_produce() {
    assert_eq!(read_csv("\u{feff}a\"b\r\n"), None, "a bare quote");
    assert_eq!(
        read_csv("\u{feff}\"a\"b\r\n"),
        None,
        "text after a closing quote"
    );
    assert_eq!(read_csv("\u{feff}a\nb\r\n"), None, "a bare LF");
    assert_eq!(read_csv("\u{feff}a"), None, "no CRLF at the end");
    assert_eq!(
        read_csv("\u{feff}\"a,\"\"b\"\"\r\n\",c\r\n"),
        Some(vec![vec!["a,\"b\"\r\n".to_owned(), "c".to_owned()]])
    );
}
