//! Multi-row statements (group commit) written for the database at hand. PostgreSQL numbers its
//! parameters (`$1`); SQLite is given anonymous ones (`?`) in multi-row statements, because sqlx
//! looks each numbered parameter up by name and SQLite finds a name by walking the statement's
//! list of them: quadratic in the parameters of a statement (measured: a thousand bills' worth of
//! rows a transaction wrote 577 bills/s with 20,000 numbered parameters a statement, 77,700 with
//! anonymous ones). Parameters are therefore bound in the order they appear, on both databases.

use sqlx::AnyConnection;

use crate::store::Backend;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Placeholders {
    numbered: bool,
}

impl Placeholders {
    pub(crate) fn of(connection: &AnyConnection) -> Placeholders {
        Placeholders {
            numbered: !connection.backend_name().eq_ignore_ascii_case("sqlite"),
        }
    }

    pub(crate) fn for_backend(backend: Backend) -> Placeholders {
        Placeholders {
            numbered: backend == Backend::Postgres,
        }
    }

    /// The `n`-th parameter of the statement (from 1), bound in that order.
    pub(crate) fn nth(self, n: usize) -> String {
        if self.numbered {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    /// `(…), (…)`: `rows` rows of `columns` parameters, the first numbered `first`.
    pub(crate) fn rows(self, rows: usize, columns: usize, first: usize) -> String {
        let mut sql = String::with_capacity(rows * columns * 6);
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for column in 0..columns {
                if column > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.nth(first + row * columns + column));
            }
            sql.push(')');
        }
        sql
    }

    /// `…, …`: an `IN (…)` list of `count` parameters, the first numbered `first`.
    pub(crate) fn list(self, count: usize, first: usize) -> String {
        (first..first + count)
            .map(|n| self.nth(n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Rows of `columns` parameters one statement carries: 4,000 parameters (SQLite allows
    /// 32,766, PostgreSQL 65,535), so a thousand bills take a few statements.
    pub(crate) fn rows_per_statement(self, columns: usize) -> usize {
        (4_000 / columns.max(1)).max(1)
    }
}

/// A PostgreSQL array literal (`{"a","b",NULL}`) of text values, bound as one text parameter and
/// cast (`CAST($1 AS text[])`): a whole report's column in one parameter, so one `INSERT … SELECT
/// FROM UNNEST(…)` carries ten thousand rows without ten thousand placeholders. Every element is
/// quoted, with `\` and `"` escaped, so no value can end the literal.
pub(crate) fn pg_array<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut literal = String::from("{");
    for (n, value) in values.into_iter().enumerate() {
        if n > 0 {
            literal.push(',');
        }
        match value {
            None => literal.push_str("NULL"),
            Some(text) => {
                literal.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        literal.push('\\');
                    }
                    literal.push(c);
                }
                literal.push('"');
            }
        }
    }
    literal.push('}');
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order_or_anonymous() {
        let pg = Placeholders { numbered: true };
        let sqlite = Placeholders { numbered: false };
        assert_eq!(pg.rows(2, 2, 3), "($3, $4), ($5, $6)");
        assert_eq!(sqlite.rows(2, 2, 3), "(?, ?), (?, ?)");
        assert_eq!(pg.list(3, 2), "$2, $3, $4");
        assert_eq!(sqlite.list(2, 1), "?, ?");
        assert_eq!(pg.rows_per_statement(9), 444);
        assert_eq!(pg.rows_per_statement(0), 4_000);
    }

    #[test]
    fn array_literals_quote_every_element() {
        assert_eq!(pg_array([Some("a"), None, Some("")]), r#"{"a",NULL,""}"#);
        assert_eq!(pg_array([Some(r#"x"},{"y\"#)]), r#"{"x\"},{\"y\\"}"#);
        assert_eq!(pg_array(std::iter::empty()), "{}");
    }
}
