//! Billing items. PRODUCT.md §4 lists them; §3 says which are restricted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A billable thing a workspace consumes. The serde/`code()` form is the API's item code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingItem {
    TimeSeries,
    Logs,
    BackupLogs,
    Network,
    ApmTrace,
    ApmProfile,
    RumPv,
    SessionReplay,
    DialTesting,
    TaskCalls,
    Sms,
    Datakit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown billing item '{0}'")]
pub struct UnknownBillingItem(pub String);

impl BillingItem {
    pub const ALL: [BillingItem; 12] = [
        BillingItem::TimeSeries,
        BillingItem::Logs,
        BillingItem::BackupLogs,
        BillingItem::Network,
        BillingItem::ApmTrace,
        BillingItem::ApmProfile,
        BillingItem::RumPv,
        BillingItem::SessionReplay,
        BillingItem::DialTesting,
        BillingItem::TaskCalls,
        BillingItem::Sms,
        BillingItem::Datakit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BillingItem::TimeSeries => "time_series",
            BillingItem::Logs => "logs",
            BillingItem::BackupLogs => "backup_logs",
            BillingItem::Network => "network",
            BillingItem::ApmTrace => "apm_trace",
            BillingItem::ApmProfile => "apm_profile",
            BillingItem::RumPv => "rum_pv",
            BillingItem::SessionReplay => "session_replay",
            BillingItem::DialTesting => "dial_testing",
            BillingItem::TaskCalls => "task_calls",
            BillingItem::Sms => "sms",
            BillingItem::Datakit => "datakit",
        }
    }

    /// PRODUCT.md §3: SMS and dial testing never use vouchers.
    pub fn is_restricted(self) -> bool {
        matches!(self, BillingItem::Sms | BillingItem::DialTesting)
    }
}

impl fmt::Display for BillingItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for BillingItem {
    type Err = UnknownBillingItem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BillingItem::ALL
            .into_iter()
            .find(|item| item.code() == s)
            .ok_or_else(|| UnknownBillingItem(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_parse_and_serde() {
        for item in BillingItem::ALL {
            assert_eq!(item.code().parse::<BillingItem>().unwrap(), item);
            assert_eq!(
                serde_json::to_string(&item).unwrap(),
                format!("\"{}\"", item.code())
            );
        }
        assert_eq!(
            "disk".parse::<BillingItem>(),
            Err(UnknownBillingItem("disk".into()))
        );
    }

    #[test]
    fn only_sms_and_dial_testing_are_restricted() {
        let restricted: Vec<_> = BillingItem::ALL
            .into_iter()
            .filter(|i| i.is_restricted())
            .collect();
        assert_eq!(restricted, vec![BillingItem::DialTesting, BillingItem::Sms]);
    }
}
