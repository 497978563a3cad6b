//! The request log: every request in arrival order, with its status, injected faults and times.

use std::collections::VecDeque;
use std::time::Instant;

use tokio::sync::watch;

/// One request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method, upper-case (`GET`, `POST`, ...).
    pub method: String,
    /// Path as sent, before legacy routes are mapped to the default space.
    pub path: String,
    /// Raw query string without `?` (empty if none).
    pub query: String,
    /// Status sent; `0` when no response was sent (dropped or stalled connection, client gone,
    /// or still in flight).
    pub status: u16,
    /// Names of the injected faults that fired, joined by `+` (e.g. `drop`, `latency+status`;
    /// `concurrencyLimit` when the concurrency cap refused it, `outage` during an outage).
    pub fault: Option<String>,
    /// When the request arrived.
    pub started: Instant,
    /// When the response was handed to the connection (or the connection was closed).
    pub finished: Instant,
}

/// How many requests the log keeps; older entries are forgotten so a long-running emulator
/// (`octoshare emulator`, benchmarks) does not grow without bound.
pub const REQUEST_LOG_CAPACITY: usize = 100_000;

#[derive(Debug)]
pub(crate) struct RequestLog {
    next_sequence: u64,
    entries: VecDeque<(u64, LoggedRequest)>,
    /// Bumped on every change, so waiters re-check their condition.
    changes: watch::Sender<u64>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            next_sequence: 0,
            entries: VecDeque::new(),
            changes: watch::Sender::new(0),
        }
    }
}

impl RequestLog {
    /// Records an arriving request; returns its sequence number.
    pub(crate) fn begin(&mut self, method: &str, path: &str, query: &str) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let now = Instant::now();
        if self.entries.len() >= REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back((
            sequence,
            LoggedRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                query: query.to_owned(),
                status: 0,
                fault: None,
                started: now,
                finished: now,
            },
        ));
        self.changed();
        sequence
    }

    fn entry(&mut self, sequence: u64) -> Option<&mut LoggedRequest> {
        self.entries
            .iter_mut()
            .rev()
            .find(|(s, _)| *s == sequence)
            .map(|(_, entry)| entry)
    }

    /// Adds a fault name to the request's `fault` (joined with `+`).
    pub(crate) fn add_fault(&mut self, sequence: u64, fault: &str) {
        if let Some(entry) = self.entry(sequence) {
            entry.fault = Some(match entry.fault.take() {
                Some(existing) => format!("{existing}+{fault}"),
                None => fault.to_owned(),
            });
            self.changed();
        }
    }

    pub(crate) fn finish(&mut self, sequence: u64, status: u16) {
        if let Some(entry) = self.entry(sequence) {
            entry.status = status;
            entry.finished = Instant::now();
            self.changed();
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries.iter().map(|(_, e)| e.clone()).collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.changed();
    }

    /// A receiver that sees every later change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|version| *version += 1);
    }
}
