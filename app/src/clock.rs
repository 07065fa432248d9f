//! The current time, from the browser's clock when hydrated and the system clock on the server.

use chrono::{DateTime, NaiveDate, Utc};

use crate::preview::form::form_offset;

pub fn now() -> DateTime<Utc> {
    #[cfg(all(target_arch = "wasm32", feature = "hydrate"))]
    {
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "hydrate")))]
    {
        DateTime::from(std::time::SystemTime::now())
    }
}

/// Today's date in the billing timezone (UTC+8).
pub fn today() -> NaiveDate {
    now().with_timezone(&form_offset()).date_naive()
}
