//! The nightly settlement in a running server: once a minute, settle every past day that has usage
//! and is not settled yet (so yesterday is settled within a minute of 00:00, and a day missed while
//! the server was down, or left incomplete, is caught up). Any number of processes may run this;
//! the day's lease in the database lets one of them settle it.

use std::sync::OnceLock;
use std::time::Duration;

use backend::Store;
use backend::settlement::SettlementStatus;
use chrono::Datelike;

/// This process's name in settlement leases: host-independent, unique per process start.
pub fn process_owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("pid{}-{nanos:x}", std::process::id())
    })
}

/// Settles what is due now; returns how many bills were charged.
pub async fn settle_due_days(store: &Store) -> u32 {
    let days = match store.days_to_settle().await {
        Ok(days) => days,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the days to settle");
            return 0;
        }
    };
    let mut charged = 0;
    for day in days {
        match store.settle_day(day, process_owner()).await {
            Ok(report) => {
                charged += report.bills_charged;
                if report.status != SettlementStatus::Busy {
                    tracing::info!(%day, status = ?report.status, bills = report.bills_charged,
                        failures = report.failures.len(), "settlement run");
                }
            }
            Err(e) => tracing::error!(%day, error = %e, "settlement failed"),
        }
    }
    // A month without usage on its last day still gets its monthly bills, once none of its days
    // (nor an earlier one) is still due.
    let today = store.today();
    let Some(last_of_previous_month) = today.with_day(1).and_then(|d| d.pred_opt()) else {
        return charged;
    };
    let month_done = store
        .days_to_settle()
        .await
        .is_ok_and(|days| days.iter().all(|d| *d > last_of_previous_month));
    if month_done && let Err(e) = store.build_monthly_bills(last_of_previous_month).await {
        tracing::error!(error = %e, "cannot build last month's bills");
    }
    charged
}

/// Runs [`settle_due_days`] every minute until the process ends.
pub fn spawn_scheduler(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            settle_due_days(&store).await;
        }
    });
}
