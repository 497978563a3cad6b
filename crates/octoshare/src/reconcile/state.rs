//! What the reconciler knows between cycles, shared by the loop (which writes it once per
//! cycle) and the HTTP endpoints (which only read it): cycle counts, the last success, the
//! duration histogram, the latest matrix and the webhook counts. The endpoints answer from
//! here and never call the Octopus server.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use octoshare_cli::json::{
    CycleCounts, CycleResult, ReconcileCycle, ReconcileDocument, StatusDocument,
};
use octoshare_cli::timestamp::{rfc3339_utc, unix_seconds};
use octoshare_core::RequestCounts;
use octoshare_share::{ShareReport, Totals};
use octoshare_status::CellState;

use super::schedule;

/// The upper bounds of the cycle-duration histogram's buckets, in seconds.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// A Prometheus histogram of durations with [`DURATION_BUCKETS`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations at or below each bucket's bound (not cumulative).
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        if let Some(index) = DURATION_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Everything the endpoints show.
#[derive(Debug)]
pub struct ReconcileState {
    interval: Duration,
    cycles: CycleCounts,
    consecutive_failures: u64,
    last_success: Option<(Instant, SystemTime)>,
    durations: Histogram,
    last_cycle: Option<ReconcileCycle>,
    status: Option<StatusDocument>,
    report: Option<ShareReport>,
    changes: Totals,
    webhooks_accepted: u64,
    webhooks_rejected: u64,
}

impl ReconcileState {
    /// The state before the first cycle.
    pub fn new(interval: Duration) -> ReconcileState {
        ReconcileState {
            interval,
            cycles: CycleCounts::default(),
            consecutive_failures: 0,
            last_success: None,
            durations: Histogram::default(),
            last_cycle: None,
            status: None,
            report: None,
            changes: Totals::default(),
            webhooks_accepted: 0,
            webhooks_rejected: 0,
        }
    }

    /// Records a finished cycle that started at `started` (an interrupted one changes only the
    /// last cycle).
    pub fn record(
        &mut self,
        cycle: ReconcileCycle,
        started: (Instant, SystemTime),
        duration: Duration,
        status: Option<StatusDocument>,
        report: Option<ShareReport>,
    ) {
        match cycle.result {
            CycleResult::Success => {
                self.cycles.success += 1;
                self.consecutive_failures = 0;
                self.last_success = Some(started);
            }
            CycleResult::Failure => {
                self.cycles.failure += 1;
                self.consecutive_failures += 1;
            }
            CycleResult::Interrupted => {}
        }
        if cycle.result != CycleResult::Interrupted {
            self.durations.observe(duration);
        }
        if let Some(changes) = &cycle.changes {
            self.changes.created += changes.created;
            self.changes.updated += changes.updated;
            self.changes.pruned += changes.pruned;
            self.changes.failed += changes.failed;
        }
        if status.is_some() {
            self.status = status;
        }
        if report.is_some() {
            self.report = report;
        }
        self.last_cycle = Some(cycle);
    }

    /// Counts a webhook request that started a cycle (`accepted`) or was refused.
    pub fn count_webhook(&mut self, accepted: bool) {
        if accepted {
            self.webhooks_accepted += 1;
        } else {
            self.webhooks_rejected += 1;
        }
    }

    /// Failed cycles since the last success.
    pub fn consecutive_failures(&self) -> u64 {
        self.consecutive_failures
    }

    /// Cycles so far.
    pub fn cycles(&self) -> CycleCounts {
        self.cycles
    }

    /// Whether the last success is recent enough at `now` (see [`schedule::is_healthy`]).
    pub fn is_healthy(&self, now: Instant) -> bool {
        schedule::is_healthy(
            self.last_success.map(|(instant, _)| instant),
            self.interval,
            now,
        )
    }

    /// The latest status document, if a matrix was read.
    pub fn status(&self) -> Option<&StatusDocument> {
        self.status.as_ref()
    }

    /// The state as `/status.json` shows it, at `now`.
    pub fn document(&self, now: Instant) -> ReconcileDocument {
        ReconcileDocument {
            healthy: self.is_healthy(now),
            interval_ms: octoshare_cli::json::millis(self.interval),
            cycles: self.cycles,
            consecutive_failures: self.consecutive_failures,
            last_success_at: self.last_success.map(|(_, time)| rfc3339_utc(time)),
            last_cycle: self.last_cycle.clone(),
            status: self.status.clone(),
            report: self.report.clone(),
        }
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4), with `requests`
    /// the client's attempts since the process started.
    pub fn metrics(&self, requests: RequestCounts, now: Instant) -> String {
        let mut text = String::with_capacity(4096);
        family(
            &mut text,
            "octoshare_reconcile_cycles_total",
            "counter",
            "Reconcile cycles run, by result.",
        );
        sample(
            &mut text,
            "octoshare_reconcile_cycles_total",
            &[("result", "success")],
            self.cycles.success as f64,
        );
        sample(
            &mut text,
            "octoshare_reconcile_cycles_total",
            &[("result", "failure")],
            self.cycles.failure as f64,
        );
        family(
            &mut text,
            "octoshare_reconcile_last_success_timestamp_seconds",
            "gauge",
            "When the last successful cycle started, in seconds since the Unix epoch (0: none yet).",
        );
        sample(
            &mut text,
            "octoshare_reconcile_last_success_timestamp_seconds",
            &[],
            self.last_success
                .map_or(0.0, |(_, time)| unix_seconds(time)),
        );
        family(
            &mut text,
            "octoshare_reconcile_consecutive_failures",
            "gauge",
            "Failed cycles since the last success.",
        );
        sample(
            &mut text,
            "octoshare_reconcile_consecutive_failures",
            &[],
            self.consecutive_failures as f64,
        );
        family(
            &mut text,
            "octoshare_reconcile_healthy",
            "gauge",
            "1 when the last successful cycle is younger than 3 intervals (what /healthz says), else 0.",
        );
        sample(
            &mut text,
            "octoshare_reconcile_healthy",
            &[],
            f64::from(u8::from(self.is_healthy(now))),
        );
        family(
            &mut text,
            "octoshare_reconcile_cycle_duration_seconds",
            "histogram",
            "How long reconcile cycles took.",
        );
        let mut cumulative = 0;
        for (bound, count) in DURATION_BUCKETS.iter().zip(self.durations.buckets) {
            cumulative += count;
            sample(
                &mut text,
                "octoshare_reconcile_cycle_duration_seconds_bucket",
                &[("le", &format_value(*bound))],
                cumulative as f64,
            );
        }
        sample(
            &mut text,
            "octoshare_reconcile_cycle_duration_seconds_bucket",
            &[("le", "+Inf")],
            self.durations.count as f64,
        );
        sample(
            &mut text,
            "octoshare_reconcile_cycle_duration_seconds_sum",
            &[],
            self.durations.sum,
        );
        sample(
            &mut text,
            "octoshare_reconcile_cycle_duration_seconds_count",
            &[],
            self.durations.count as f64,
        );
        family(
            &mut text,
            "octoshare_reconcile_worker_changes_total",
            "counter",
            "Registrations share changed in cycles, by action (failed: failed workers and spaces).",
        );
        for (action, count) in [
            ("created", self.changes.created),
            ("updated", self.changes.updated),
            ("pruned", self.changes.pruned),
            ("failed", self.changes.failed),
        ] {
            sample(
                &mut text,
                "octoshare_reconcile_worker_changes_total",
                &[("action", action)],
                count as f64,
            );
        }
        let totals = self
            .status
            .as_ref()
            .map(|status| status.matrix.totals)
            .unwrap_or_default();
        family(
            &mut text,
            "octoshare_workers",
            "gauge",
            "Cells of the latest worker × space matrix, by state.",
        );
        for state in CellState::ALL {
            sample(
                &mut text,
                "octoshare_workers",
                &[("state", state.snake_name())],
                totals.of(state) as f64,
            );
        }
        family(
            &mut text,
            "octoshare_orphan_workers",
            "gauge",
            "Registrations in a pool whose endpoint left the source pool, in the latest matrix.",
        );
        sample(
            &mut text,
            "octoshare_orphan_workers",
            &[],
            totals.orphans as f64,
        );
        family(
            &mut text,
            "octoshare_spaces",
            "gauge",
            "Qualifying spaces other than the source space, in the latest matrix.",
        );
        sample(
            &mut text,
            "octoshare_spaces",
            &[],
            self.status
                .as_ref()
                .map_or(0, |status| status.matrix.spaces.len()) as f64,
        );
        family(
            &mut text,
            "octoshare_drift",
            "gauge",
            "1 when the latest matrix has a cell missing, not in the pool or stale, or an orphan, else 0.",
        );
        sample(
            &mut text,
            "octoshare_drift",
            &[],
            f64::from(u8::from(
                self.status
                    .as_ref()
                    .is_some_and(|status| status.matrix.drift),
            )),
        );
        family(
            &mut text,
            "octoshare_api_requests_total",
            "counter",
            "HTTP requests sent to the Octopus server (retries included), by method.",
        );
        for (method, count) in [
            ("GET", requests.get),
            ("POST", requests.post),
            ("PUT", requests.put),
            ("DELETE", requests.delete),
        ] {
            sample(
                &mut text,
                "octoshare_api_requests_total",
                &[("method", method)],
                count as f64,
            );
        }
        family(
            &mut text,
            "octoshare_webhook_requests_total",
            "counter",
            "POST /webhook requests, by result (rejected: a missing or wrong token).",
        );
        sample(
            &mut text,
            "octoshare_webhook_requests_total",
            &[("result", "accepted")],
            self.webhooks_accepted as f64,
        );
        sample(
            &mut text,
            "octoshare_webhook_requests_total",
            &[("result", "rejected")],
            self.webhooks_rejected as f64,
        );
        text
    }
}

fn family(text: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(text: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    text.push_str(name);
    if !labels.is_empty() {
        text.push('{');
        for (index, (label, label_value)) in labels.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            let _ = write!(text, "{label}=\"{}\"", escape_label(label_value));
        }
        text.push('}');
    }
    let _ = writeln!(text, " {}", format_value(value));
}

/// A sample value as the text format writes it (`+Inf`, integers without a fraction).
fn format_value(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if value.is_nan() {
        "NaN".to_owned()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A label value escaped for the text format (`\\`, `\"`, `\n`).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use octoshare_cli::json::{CycleTrigger, Requests};

    fn cycle(number: u64, result: CycleResult) -> ReconcileCycle {
        ReconcileCycle {
            cycle: number,
            trigger: CycleTrigger::Interval,
            result,
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            duration_ms: 120,
            spaces: Some(2),
            workers: Some(3),
            drift: Some(false),
            totals: None,
            share_ran: false,
            changes: None,
            requests: Requests::default(),
            error: None,
            exit_code: 0,
        }
    }

    #[test]
    fn cycles_count_failures_since_the_last_success() {
        let start = Instant::now();
        let mut state = ReconcileState::new(Duration::from_secs(10));
        assert!(!state.is_healthy(start));
        state.record(
            cycle(1, CycleResult::Success),
            (start, SystemTime::now()),
            Duration::from_millis(120),
            None,
            None,
        );
        assert!(state.is_healthy(start + Duration::from_secs(29)));
        for number in 2..=4 {
            state.record(
                cycle(number, CycleResult::Failure),
                (start, SystemTime::now()),
                Duration::from_secs(3),
                None,
                None,
            );
        }
        assert_eq!(state.consecutive_failures(), 3);
        assert_eq!(
            state.cycles(),
            CycleCounts {
                success: 1,
                failure: 3
            }
        );
        assert!(!state.is_healthy(start + Duration::from_secs(30)));
        state.record(
            cycle(5, CycleResult::Interrupted),
            (start, SystemTime::now()),
            Duration::from_secs(1),
            None,
            None,
        );
        assert_eq!(
            state.cycles(),
            CycleCounts {
                success: 1,
                failure: 3
            }
        );
        assert_eq!(state.durations.count, 4);
        assert_eq!(
            state.durations.buckets[2], 1,
            "0.12 s is in the 0.25 bucket"
        );
        assert_eq!(state.durations.buckets[6], 3, "3 s is in the 5 bucket");
    }

    #[test]
    fn metric_values_and_labels_are_written_as_the_text_format_wants() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.05), "0.05");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let state = ReconcileState::new(Duration::from_secs(60));
        let text = state.metrics(
            RequestCounts {
                get: 7,
                ..RequestCounts::default()
            },
            Instant::now(),
        );
        assert!(text.contains("\noctoshare_api_requests_total{method=\"GET\"} 7\n"));
        assert!(
            text.contains("\noctoshare_reconcile_cycle_duration_seconds_bucket{le=\"+Inf\"} 0\n")
        );
        assert!(text.ends_with('\n'));
    }
}
