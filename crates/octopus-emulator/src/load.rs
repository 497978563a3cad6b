//! Load behaviour: a cap on requests in flight (beyond it: 429 with `Retry-After`, or a
//! queue), a latency that grows with the number of requests in flight, and outages (every
//! request dropped or answered 503 for a while).
//!
//! A real Octopus Server shares its capacity with deployments; behind a rate-limiting proxy
//! or under load it answers 429 (Octopus 2026.3+ rate limiting: a token bucket per user or IP
//! that may send `Retry-After`, `OctopusDeploy/docs: .../managing-infrastructure/rate-limiting.md`)
//! or 503, or slows down. These knobs let the bench show why a client should back off.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// At most `max_in_flight` requests are handled at once; what happens to the others is
/// [`OverLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    try_from = "ConcurrencyLimitDocument",
    into = "ConcurrencyLimitDocument"
)]
pub struct ConcurrencyLimit {
    max_in_flight: u32,
    over_limit: OverLimit,
}

/// What a request beyond the cap gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverLimit {
    /// Answered at once with `status` (429 by default) and, if set, `Retry-After: seconds`;
    /// nothing is committed.
    Reject {
        /// HTTP status (429 or 503 are the realistic ones).
        status: u16,
        /// `Retry-After` in seconds, if any.
        retry_after_seconds: Option<u64>,
    },
    /// Waits until a slot frees (waiters race for it, no strict order), then is handled
    /// normally.
    Queue,
}

impl ConcurrencyLimit {
    /// At most `max_in_flight` at once; the rest get 429 (add [`ConcurrencyLimit::retry_after`]).
    pub fn reject(max_in_flight: u32) -> Self {
        ConcurrencyLimit {
            max_in_flight,
            over_limit: OverLimit::Reject {
                status: 429,
                retry_after_seconds: None,
            },
        }
    }

    /// At most `max_in_flight` at once; the rest wait for a slot.
    pub fn queue(max_in_flight: u32) -> Self {
        ConcurrencyLimit {
            max_in_flight,
            over_limit: OverLimit::Queue,
        }
    }

    /// Sends `Retry-After: seconds` with each refusal (no effect when queueing).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let OverLimit::Reject {
            retry_after_seconds,
            ..
        } = &mut self.over_limit
        {
            *retry_after_seconds = Some(seconds);
        }
        self
    }

    /// Refuses with this status instead of 429 (e.g. 503; no effect when queueing).
    pub fn status(mut self, code: u16) -> Self {
        if let OverLimit::Reject { status, .. } = &mut self.over_limit {
            *status = code;
        }
        self
    }

    /// The cap.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }

    /// What happens beyond the cap.
    pub fn over_limit(&self) -> OverLimit {
        self.over_limit
    }

    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.max_in_flight == 0 {
            bail!("`maxInFlight` must be at least 1");
        }
        if let OverLimit::Reject { status, .. } = self.over_limit
            && !(400..=599).contains(&status)
        {
            bail!("`status` must be an HTTP error status between 400 and 599 (got {status})");
        }
        Ok(())
    }
}

/// The scenario-file form of a [`ConcurrencyLimit`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConcurrencyLimitDocument {
    max_in_flight: u32,
    /// `reject` (default) or `queue`.
    #[serde(default = "reject_name")]
    over_limit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

fn reject_name() -> String {
    "reject".to_owned()
}

impl TryFrom<ConcurrencyLimitDocument> for ConcurrencyLimit {
    type Error = String;

    fn try_from(document: ConcurrencyLimitDocument) -> Result<Self, Self::Error> {
        let limit = match document.over_limit.as_str() {
            "reject" => ConcurrencyLimit {
                max_in_flight: document.max_in_flight,
                over_limit: OverLimit::Reject {
                    status: document.status.unwrap_or(429),
                    retry_after_seconds: document.retry_after_seconds,
                },
            },
            "queue" if document.status.is_none() && document.retry_after_seconds.is_none() => {
                ConcurrencyLimit::queue(document.max_in_flight)
            }
            "queue" => {
                return Err(
                    "`status` and `retryAfterSeconds` apply to `overLimit: reject` only".into(),
                );
            }
            other => {
                return Err(format!(
                    "unknown `overLimit` `{other}`, expected reject or queue"
                ));
            }
        };
        limit.validate().map_err(|e| e.to_string())?;
        Ok(limit)
    }
}

impl From<ConcurrencyLimit> for ConcurrencyLimitDocument {
    fn from(limit: ConcurrencyLimit) -> Self {
        match limit.over_limit {
            OverLimit::Reject {
                status,
                retry_after_seconds,
            } => ConcurrencyLimitDocument {
                max_in_flight: limit.max_in_flight,
                over_limit: reject_name(),
                status: (status != 429).then_some(status),
                retry_after_seconds,
            },
            OverLimit::Queue => ConcurrencyLimitDocument {
                max_in_flight: limit.max_in_flight,
                over_limit: "queue".into(),
                status: None,
                retry_after_seconds: None,
            },
        }
    }
}

/// What every request gets during an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutageKind {
    /// The connection is closed without a response (a server that went away mid-request).
    DropConnections,
    /// An error body with this status (503 for a server in maintenance or restarting).
    Status {
        /// HTTP status.
        code: u16,
        /// `Retry-After` in seconds, if any.
        retry_after_seconds: Option<u64>,
    },
}

impl OutageKind {
    /// 503 without `Retry-After`.
    pub fn service_unavailable() -> Self {
        OutageKind::Status {
            code: 503,
            retry_after_seconds: None,
        }
    }
}

/// A scheduled outage: from `afterMs` after start, for `durationMs`.
///
/// In scenario files: `{ "afterMs": 1000, "durationMs": 5000, "kind": "drop" }` or
/// `{ "afterMs": 1000, "durationMs": 5000, "kind": "status", "code": 503, "retryAfterSeconds": 2 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OutageDocument", into = "OutageDocument")]
pub struct OutageSeed {
    after_ms: u64,
    duration_ms: u64,
    kind: OutageKind,
}

impl OutageSeed {
    /// An outage of `kind` from `after` the emulator starts, lasting `duration`.
    pub fn new(after: Duration, duration: Duration, kind: OutageKind) -> Self {
        OutageSeed {
            after_ms: millis(after),
            duration_ms: millis(duration),
            kind,
        }
    }

    /// When it starts, after the emulator started.
    pub fn after(&self) -> Duration {
        Duration::from_millis(self.after_ms)
    }

    /// How long it lasts.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }

    /// What requests get meanwhile.
    pub fn kind(&self) -> OutageKind {
        self.kind
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OutageDocument {
    after_ms: u64,
    duration_ms: u64,
    /// `drop` or `status`.
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

impl TryFrom<OutageDocument> for OutageSeed {
    type Error = String;

    fn try_from(document: OutageDocument) -> Result<Self, Self::Error> {
        let kind = match document.kind.as_str() {
            "drop" => OutageKind::DropConnections,
            "status" => {
                let code = document.code.unwrap_or(503);
                if !(400..=599).contains(&code) {
                    return Err(format!(
                        "`code` must be an HTTP error status between 400 and 599 (got {code})"
                    ));
                }
                OutageKind::Status {
                    code,
                    retry_after_seconds: document.retry_after_seconds,
                }
            }
            other => {
                return Err(format!(
                    "unknown outage kind `{other}`, expected drop or status"
                ));
            }
        };
        Ok(OutageSeed {
            after_ms: document.after_ms,
            duration_ms: document.duration_ms,
            kind,
        })
    }
}

impl From<OutageSeed> for OutageDocument {
    fn from(seed: OutageSeed) -> Self {
        let (kind, code, retry_after_seconds) = match seed.kind {
            OutageKind::DropConnections => ("drop", None, None),
            OutageKind::Status {
                code,
                retry_after_seconds,
            } => ("status", Some(code), retry_after_seconds),
        };
        OutageDocument {
            after_ms: seed.after_ms,
            duration_ms: seed.duration_ms,
            kind: kind.into(),
            code,
            retry_after_seconds,
        }
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The answer of the concurrency gate for one request.
#[derive(Debug)]
pub(crate) enum Admission<'a> {
    /// Handle it; the slot frees when the guard drops. `others_in_flight` counts the
    /// requests already in flight when it was admitted (for the latency slope).
    Admitted {
        slot: Slot<'a>,
        others_in_flight: usize,
    },
    /// Refuse it with this status and `Retry-After`.
    Refused {
        status: u16,
        retry_after_seconds: Option<u64>,
    },
}

#[derive(Debug, Default)]
struct GateState {
    limit: Option<ConcurrencyLimit>,
    in_flight: usize,
    peak: usize,
    queued: usize,
    /// Requests refused by the cap since start.
    refused: u64,
}

/// Counts requests in flight and applies the [`ConcurrencyLimit`].
#[derive(Debug, Default)]
pub(crate) struct LoadGate {
    state: Mutex<GateState>,
    freed: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LoadGate {
    pub(crate) fn new(limit: Option<ConcurrencyLimit>) -> Self {
        LoadGate {
            state: Mutex::new(GateState {
                limit,
                ..GateState::default()
            }),
            freed: Notify::new(),
        }
    }

    /// Admits a request now, refuses it, or (queue mode) waits for a free slot.
    pub(crate) async fn admit(&self) -> Admission<'_> {
        let mut queued = false;
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = lock(&self.state);
                let cap = state.limit.map(|limit| limit.max_in_flight as usize);
                if cap.is_none_or(|cap| state.in_flight < cap) {
                    if queued {
                        state.queued -= 1;
                    }
                    let others_in_flight = state.in_flight;
                    state.in_flight += 1;
                    state.peak = state.peak.max(state.in_flight);
                    return Admission::Admitted {
                        slot: Slot { gate: self },
                        others_in_flight,
                    };
                }
                match state.limit.map(|limit| limit.over_limit) {
                    Some(OverLimit::Reject {
                        status,
                        retry_after_seconds,
                    }) => {
                        if queued {
                            state.queued -= 1;
                        }
                        state.refused += 1;
                        return Admission::Refused {
                            status,
                            retry_after_seconds,
                        };
                    }
                    Some(OverLimit::Queue) | None => {
                        if !queued {
                            queued = true;
                            state.queued += 1;
                        }
                    }
                }
            }
            notified.await;
        }
    }

    fn release(&self) {
        {
            let mut state = lock(&self.state);
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        // Wake every waiter: each re-checks, the first to lock takes the slot. (A runtime
        // change of the limit can free several slots at once.)
        self.freed.notify_waiters();
    }

    pub(crate) fn set_limit(&self, limit: Option<ConcurrencyLimit>) {
        lock(&self.state).limit = limit;
        self.freed.notify_waiters();
    }

    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.state).in_flight
    }

    pub(crate) fn queued(&self) -> usize {
        lock(&self.state).queued
    }

    pub(crate) fn peak(&self) -> usize {
        lock(&self.state).peak
    }

    pub(crate) fn refused(&self) -> u64 {
        lock(&self.state).refused
    }

    pub(crate) fn reset_peak(&self) {
        let mut state = lock(&self.state);
        state.peak = state.in_flight;
    }
}

/// A slot of the gate, freed when dropped (also when the client hangs up mid-request).
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    gate: &'a LoadGate,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.gate.release();
    }
}

/// The outage switch and the scheduled outages.
#[derive(Debug)]
pub(crate) struct Outages {
    started: Instant,
    scheduled: Vec<OutageSeed>,
    manual: Mutex<Option<OutageKind>>,
}

impl Outages {
    pub(crate) fn new(started: Instant, scheduled: &[OutageSeed]) -> Self {
        Outages {
            started,
            scheduled: scheduled.to_vec(),
            manual: Mutex::new(None),
        }
    }

    /// The outage in force at `now`: the manual switch first, then the schedule.
    pub(crate) fn current(&self, now: Instant) -> Option<OutageKind> {
        if let Some(kind) = *lock(&self.manual) {
            return Some(kind);
        }
        let elapsed = now.saturating_duration_since(self.started);
        self.scheduled
            .iter()
            .find(|outage| {
                elapsed >= outage.after() && elapsed < outage.after() + outage.duration()
            })
            .map(OutageSeed::kind)
    }

    pub(crate) fn set(&self, kind: Option<OutageKind>) {
        *lock(&self.manual) = kind;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip() {
        for limit in [
            ConcurrencyLimit::reject(4).retry_after(1),
            ConcurrencyLimit::reject(2).status(503),
            ConcurrencyLimit::queue(3),
        ] {
            let text = serde_json::to_string(&limit).unwrap_or_default();
            assert_eq!(
                serde_json::from_str::<ConcurrencyLimit>(&text).ok(),
                Some(limit),
                "{text}"
            );
        }
        assert!(serde_json::from_str::<ConcurrencyLimit>(r#"{"maxInFlight": 0}"#).is_err());
        assert!(
            serde_json::from_str::<ConcurrencyLimit>(
                r#"{"maxInFlight": 2, "overLimit": "queue", "retryAfterSeconds": 1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn scheduled_outages_cover_their_window_only() {
        let started = Instant::now();
        let outages = Outages::new(
            started,
            &[OutageSeed::new(
                Duration::from_secs(10),
                Duration::from_secs(5),
                OutageKind::DropConnections,
            )],
        );
        assert_eq!(outages.current(started + Duration::from_secs(9)), None);
        assert_eq!(
            outages.current(started + Duration::from_secs(10)),
            Some(OutageKind::DropConnections)
        );
        assert_eq!(outages.current(started + Duration::from_secs(15)), None);
        outages.set(Some(OutageKind::service_unavailable()));
        assert_eq!(
            outages.current(started),
            Some(OutageKind::service_unavailable())
        );
    }
}
