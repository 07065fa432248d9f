//! The nightly settlement in a running server: once a minute, settle every past day that has usage
//! and is not settled yet (so yesterday is settled within a minute of 00:00, and a day missed while
//! the server was down, or left incomplete, is caught up), expire instruments whose validity has
//! ended, and close every ended month that is complete. Any number of processes may run this; the
//! day's lease in the database lets one of them settle it.
//!
//! The scheduler is supervised: a tick that panics is logged and the loop restarts with backoff,
//! and every finished tick is recorded in [`SchedulerHealth`], which `/readyz` reads, so a
//! scheduler that stopped is visible instead of silent.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use backend::Store;
use backend::settlement::{SettlementReport, SettlementStatus};

/// The name of one settlement run in leases: this process and a run number, so two runs in one
/// process (the scheduler and an operator's request) exclude each other like two processes do.
pub fn run_owner() -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-run{}",
        process_owner(),
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// This process's name: host-independent, unique per process start.
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

/// How often the scheduler ticks.
pub const TICK: Duration = Duration::from_secs(60);
/// `/readyz` fails when the scheduler has not finished a tick for this long.
pub const STALE_AFTER: Duration = Duration::from_secs(180);

/// When the scheduler last finished a tick (seconds since the epoch, 0 = never), shared with
/// `/readyz`.
#[derive(Debug, Default)]
pub struct SchedulerHealth {
    last_tick: AtomicI64,
    started: AtomicI64,
}

fn epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SchedulerHealth {
    pub fn new() -> Arc<SchedulerHealth> {
        let health = SchedulerHealth::default();
        health.started.store(epoch_seconds(), Ordering::SeqCst);
        Arc::new(health)
    }

    pub fn record_tick(&self) {
        self.last_tick.store(epoch_seconds(), Ordering::SeqCst);
    }

    /// Seconds since the last finished tick (or since start, before the first).
    pub fn seconds_since_tick(&self) -> i64 {
        let last = self.last_tick.load(Ordering::SeqCst);
        let since = if last == 0 {
            self.started.load(Ordering::SeqCst)
        } else {
            last
        };
        epoch_seconds().saturating_sub(since)
    }

    /// For tests: pretend the last tick was `seconds` ago.
    pub fn set_last_tick_seconds_ago(&self, seconds: i64) {
        self.last_tick
            .store(epoch_seconds() - seconds, Ordering::SeqCst);
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub reports: Vec<SettlementReport>,
    /// Days that could not be run at all (a database error), with the reason.
    pub errors: Vec<(chrono::NaiveDate, String)>,
    pub instruments_expired: usize,
    pub monthly_bills: u32,
}

impl Tick {
    pub fn bills_charged(&self) -> u32 {
        self.reports.iter().map(|r| r.bills_charged).sum()
    }

    /// Whether every due day is settled now (nothing busy, incomplete or failed).
    pub fn all_settled(&self) -> bool {
        self.errors.is_empty()
            && self.reports.iter().all(|r| {
                matches!(
                    r.status,
                    SettlementStatus::Settled | SettlementStatus::AlreadySettled
                )
            })
    }
}

/// Settles what is due now, expires instruments, closes complete months.
pub async fn settle_due_days(store: &Store) -> Tick {
    let mut tick = Tick::default();
    match store.days_to_settle().await {
        Ok(days) => {
            for day in days {
                let started = std::time::Instant::now();
                let run = store.settle_day(day, &run_owner()).await;
                crate::metrics::record_settlement(run.as_ref().map_err(|_| ()), started.elapsed());
                match run {
                    Ok(report) => {
                        if report.status != SettlementStatus::Busy {
                            tracing::info!(%day, status = ?report.status, bills = report.bills_charged,
                                failures = report.failures.len(), "settlement run");
                        }
                        tick.reports.push(report);
                    }
                    Err(e) => {
                        tracing::error!(%day, error = %e, "settlement failed");
                        tick.errors.push((day, e.to_string()));
                    }
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot list the days to settle"),
    }
    // Instruments whose validity ended since the last tick, whether or not a day was settled.
    match store.expire_instruments().await {
        Ok(sweep) => {
            tick.instruments_expired = sweep.expired.len();
            if !sweep.expired.is_empty() {
                tracing::info!(expired = sweep.expired.len(), "instruments expired");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot expire instruments"),
    }
    // Cloud subscriptions whose marketplace never said they ended, a day past their date.
    match store.expire_lapsed_subscriptions().await {
        Ok(ended) if !ended.is_empty() => {
            tracing::warn!(ended = ?ended, "cloud subscriptions lapsed without the marketplace's call; ended here")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot end lapsed cloud subscriptions"),
    }
    // Replied tickets nobody answered for seven days.
    match store.auto_close_tickets().await {
        Ok(0) => {}
        Ok(closed) => tracing::info!(closed, "replied tickets closed after seven days"),
        Err(e) => tracing::error!(error = %e, "cannot close unanswered tickets"),
    }
    // Uploads no ticket, reply or submission took within a day.
    match store.purge_unused_attachments().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "unused uploads deleted"),
        Err(e) => tracing::error!(error = %e, "cannot delete unused uploads"),
    }
    // Arrears reminders and instruments about to expire: written once each, whoever sweeps.
    match store.sweep_alerts().await {
        Ok(sweep) if sweep != Default::default() => {
            tracing::info!(
                reminders = sweep.arrears_reminders,
                expiring = sweep.expiring,
                "alerts written"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot sweep the alerts"),
    }
    // A month without usage on its last day still gets its monthly bills once it is complete.
    match store.close_complete_months().await {
        Ok(made) => tick.monthly_bills = made,
        Err(e) => tracing::error!(error = %e, "cannot close ended months"),
    }
    tick
}

/// Runs [`settle_due_days`] every minute until the process ends, restarting (with backoff, logged)
/// after a tick that panicked; and, on a loop of its own (a gateway that hangs must not hold up
/// settlement or readiness), the reconciliation of online top-ups.
pub fn spawn_scheduler(
    store: Store,
    health: Arc<SchedulerHealth>,
    reconciler: crate::reconciliation::Reconciler,
) {
    {
        let store = store.clone();
        supervise(health, TICK, move || {
            let store = store.clone();
            async move {
                settle_due_days(&store).await;
            }
        });
    }
    supervise(SchedulerHealth::new(), TICK, move || {
        let store = store.clone();
        let reconciler = reconciler.clone();
        async move {
            let reconciled = reconciler.reconcile(&store).await;
            if reconciled.asked > 0 {
                tracing::info!(
                    asked = reconciled.asked,
                    credited = reconciled.credited,
                    closed = reconciled.closed,
                    flagged = reconciled.flagged,
                    errors = reconciled.errors,
                    "online top-ups reconciled"
                );
            }
        }
    });
}

/// The mail sender of this process: every second, delivers what is due until nothing is
/// (supervised like the scheduler: a panic restarts it).
pub fn spawn_mail_sender(store: Store, sender: backend::mail::sender::Sender) {
    supervise(SchedulerHealth::new(), Duration::from_secs(1), move || {
        let store = store.clone();
        let sender = sender.clone();
        async move {
            loop {
                match sender.deliver_due(&store).await {
                    Ok(round) if round.attempted() > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "the mail sender cannot read the outbox");
                        break;
                    }
                }
            }
        }
    });
}

/// The metering worker of this process: every 5 seconds, pushes what cloud-settled bills
/// charged to their marketplace until nothing is due (supervised like the scheduler).
pub fn spawn_metering_pusher(store: Store, targets: backend::cloud::metering::MeteringTargets) {
    supervise(SchedulerHealth::new(), Duration::from_secs(5), move || {
        let store = store.clone();
        let targets = targets.clone();
        async move {
            loop {
                match store.push_due_metering(&targets).await {
                    Ok((0, 0)) => break,
                    Ok((pushed, failed)) => {
                        tracing::info!(pushed, failed, "cloud metering pushed");
                        if pushed == 0 {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the metering worker cannot read its records");
                        break;
                    }
                }
            }
        }
    });
}

/// Runs `work` every `every`, recording each finished run in `health`. A run that panics ends the
/// loop's task; the supervisor logs it and starts the loop again after a backoff (1 s doubling to
/// 60 s, back to 1 s once a loop has run for ten minutes).
pub fn supervise<F, Fut>(health: Arc<SchedulerHealth>, every: Duration, work: F)
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let started = tokio::time::Instant::now();
            let ticking = tokio::spawn(run_every(every, work.clone(), health.clone()));
            match ticking.await {
                Ok(()) => return,
                Err(e) => {
                    if started.elapsed() > Duration::from_secs(600) {
                        backoff = Duration::from_secs(1);
                    }
                    tracing::error!(
                        error = %e,
                        restart_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                        "the settlement scheduler stopped (a tick panicked); restarting it"
                    );
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    });
}

async fn run_every<F, Fut>(every: Duration, work: F, health: Arc<SchedulerHealth>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        work().await;
        health.record_tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_tick_that_panics_is_restarted_and_the_health_shows_it_ticking_again() {
        let health = SchedulerHealth::new();
        health.set_last_tick_seconds_ago(1_000);
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        supervise(health.clone(), Duration::from_millis(10), move || {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("a tick that fails on purpose");
                }
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while health.seconds_since_tick() > 5 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the scheduler never ticked again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            runs.load(Ordering::SeqCst) >= 2,
            "it ran again after the panic"
        );
    }
}
