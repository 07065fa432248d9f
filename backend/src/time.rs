//! Timestamps are stored as microseconds since the Unix epoch (UTC) in both databases, so that one
//! set of SQL compares them the same way everywhere.

use chrono::{DateTime, Utc};

pub(crate) fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
