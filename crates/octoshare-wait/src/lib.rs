//! Step 3 of the "sharing workers across spaces" runbook, "Wait for workers to register": poll
//! a space's worker pool until it holds at least N workers.
//!
//! Compared with the original PowerShell loop (first page only, `-ne N`, 20 × 60 s, an error
//! written inside the loop) it counts every page, succeeds as soon as *at least* N workers are
//! there (a stale extra worker cannot make it wait forever), optionally counts only healthy
//! workers, survives transient failures until the deadline, stops at once on 401/403, and on
//! timeout says which workers registered and how many are missing.
//!
//! The pool is a [`ResolvedTarget`]: `octoshare run` passes the one discover found, the
//! standalone step looks it up first with [`resolve`] (the domain's name rule, so pools named
//! `AWS` and `aws` resolve as in every other step).
//!
//! # Polling
//!
//! The first poll starts at once; each next one starts `poll_interval` after the previous one
//! *started* (never back to back), and the last one starts no later than the deadline. A poll
//! still running at the deadline gets at most one more `poll_interval` to finish. Time is
//! Tokio's and the workers are read through [`PoolWorkers`] (the [`Client`], or a scripted
//! source), so tests run the loop under `tokio::time::pause` and assert the schedule exactly.
//!
//! # Every kind of worker; never a dynamic pool
//!
//! Every worker in the pool counts, whatever its kind (polling or listening Tentacle, SSH,
//! Kubernetes agent, ...): the pool is what deployments pick workers from. A dynamic worker
//! pool (Octopus Cloud's hosted workers) is refused at once with [`WaitError::DynamicPool`]:
//! Octopus leases its workers on demand and lists none, and does not allow adding workers to
//! it, so nothing could ever register there and the wait could only time out.
//! # Interruption
//!
//! Cancelling the [`CancellationToken`] stops the wait at once: a poll in flight is dropped
//! (its answer is never counted) and the sleep until the next poll is cut short. The outcome
//! ([`WaitStatus::Interrupted`]) then holds the last poll that *completed* — its count and
//! names, see [`WaitOutcome::counted_polls`] — or, when none completed, says the count is
//! unknown ([`WaitOutcome::count_is_known`]) rather than 0.
//!
//! The library never prints: it reports through a [`WaitSink`] and returns a [`WaitOutcome`].

use octoshare_core::domain::{self, LookupError, ResolvedTarget};
use octoshare_core::{ApiError, Client, Worker};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitConfig {
    /// How many workers are enough (0 is read as 1).
    pub count: u64,
    /// How long to wait at most.
    pub timeout: Duration,
    /// Time between the starts of two polls (a zero interval is read as 1 ms).
    pub poll_interval: Duration,
    /// Count only Healthy/HasWarnings workers.
    pub healthy_only: bool,
}

/// Why a wait could not run (a timeout is not an error: see [`WaitStatus`]).
///
/// Not `#[non_exhaustive]` at the enum level on purpose: the command-line layer maps every
/// variant to an exit code with a `match` that has no wildcard.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The space or the pool could not be looked up.
    #[error(transparent)]
    Lookup(Box<LookupError>),
    /// The pool is a dynamic worker pool: no worker can register into it.
    #[error(
        "worker pool '{}' ({}) of {} is a dynamic worker pool: Octopus provisions its workers on demand and does not allow adding workers to a dynamic pool, so none can register there",
        target.pool.name, target.pool.id, target.space
    )]
    DynamicPool {
        /// The pool.
        target: ResolvedTarget,
    },
    /// Reading the pool's workers failed in a way waiting longer cannot fix (401/403, the pool
    /// or space is gone, ...).
    #[error("while reading the workers of worker pool '{}' ({})", target.pool.name, target.space.id)]
    ReadWorkers {
        /// The pool.
        target: ResolvedTarget,
        /// Why.
        #[source]
        error: Box<ApiError>,
    },
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum WaitStatus {
    /// At least the required number of workers was counted.
    Satisfied,
    /// The deadline passed first.
    TimedOut,
    /// The cancellation token was cancelled first.
    Interrupted,
}

/// The result of a wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WaitOutcome {
    /// The space and pool waited on.
    pub target: ResolvedTarget,
    /// How the wait ended.
    pub status: WaitStatus,
    /// Names of the counted workers at the last successful poll, sorted by name (only healthy
    /// ones with `healthy_only`).
    pub registered_worker_names: Vec<String>,
    /// How many workers were counted (`registered_worker_names.len()`).
    pub count: u64,
    /// How many were wanted.
    pub required: u64,
    /// Whether only healthy workers were counted.
    pub healthy_only: bool,
    /// Workers in the pool that were not counted because they are not healthy.
    pub unhealthy_worker_names: Vec<String>,
    /// How many polls were made (failed ones included).
    pub polls: u32,
    /// How many polls counted the workers (the others failed, or were cut short by the
    /// deadline or an interruption). 0 means the number of registered workers is unknown: the
    /// counts and names above are then empty, not a poll's answer.
    pub counted_polls: u32,
    /// The error of the last poll, when it failed (the wait went on until the deadline).
    pub last_error: Option<String>,
    /// How long the wait took.
    #[serde(rename = "ElapsedMs", serialize_with = "serialize_millis")]
    #[schemars(with = "u64")]
    pub elapsed: Duration,
    /// How long it was allowed to take.
    #[serde(rename = "TimeoutMs", serialize_with = "serialize_millis")]
    #[schemars(with = "u64")]
    pub timeout: Duration,
}

impl WaitOutcome {
    /// Whether at least the required number of workers was counted.
    pub fn is_satisfied(&self) -> bool {
        self.status == WaitStatus::Satisfied
    }

    /// Whether some poll counted the workers, so [`WaitOutcome::count`] and
    /// [`WaitOutcome::registered_worker_names`] are a poll's answer (the last one that
    /// completed); otherwise the number of registered workers is unknown.
    pub fn count_is_known(&self) -> bool {
        self.counted_polls > 0
    }
}

fn serialize_millis<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// The wait is about to poll.
#[derive(Debug, Clone, Copy)]
pub struct WaitStart<'a> {
    /// The pool.
    pub target: &'a ResolvedTarget,
    /// How many workers are enough.
    pub required: u64,
    /// Whether only healthy workers count.
    pub healthy_only: bool,
    /// How long the wait may take.
    pub timeout: Duration,
    /// Time between the starts of two polls.
    pub poll_interval: Duration,
}

/// A poll failed with a transient error; polling goes on until the deadline.
#[derive(Debug, Clone, Copy)]
pub struct PollFailed<'a> {
    /// The pool.
    pub target: &'a ResolvedTarget,
    /// Which poll (1 for the first).
    pub poll: u32,
    /// Why (one line).
    pub error: &'a str,
    /// Time left before the deadline (zero: this was the last poll).
    pub time_left: Duration,
}

/// A poll counted the pool's workers.
#[derive(Debug, Clone, Copy)]
pub struct PollCounted<'a> {
    /// The pool.
    pub target: &'a ResolvedTarget,
    /// Workers counted now that the previous poll did not count, sorted by name.
    pub newly_counted: &'a [String],
    /// How many are counted.
    pub count: u64,
    /// How many are enough.
    pub required: u64,
    /// Whether only healthy workers count.
    pub healthy_only: bool,
}

/// Receives what a wait does as it goes; every method does nothing unless overridden.
pub trait WaitSink {
    /// The wait starts polling.
    fn waiting(&mut self, _start: &WaitStart<'_>) {}
    /// A poll failed with a transient error.
    fn poll_failed(&mut self, _failure: &PollFailed<'_>) {}
    /// A poll counted the workers.
    fn counted(&mut self, _count: &PollCounted<'_>) {}
}

/// A sink that ignores everything.
impl WaitSink for () {}

impl<S: WaitSink + ?Sized> WaitSink for &mut S {
    fn waiting(&mut self, start: &WaitStart<'_>) {
        (**self).waiting(start);
    }
    fn poll_failed(&mut self, failure: &PollFailed<'_>) {
        (**self).poll_failed(failure);
    }
    fn counted(&mut self, count: &PollCounted<'_>) {
        (**self).counted(count);
    }
}

/// Where a wait reads the workers of a pool: the Octopus [`Client`] (every page of
/// `/api/{space}/workerpools/{pool}/workers`), or in tests a scripted source driven by Tokio's
/// paused clock.
pub trait PoolWorkers {
    /// Every worker of the pool. Errors that [`ApiError::is_unreachable`] are transient (the
    /// wait polls on); any other ends the wait.
    fn pool_workers(
        &self,
        target: &ResolvedTarget,
    ) -> impl Future<Output = Result<Vec<Worker>, ApiError>>;
}

impl PoolWorkers for Client {
    async fn pool_workers(&self, target: &ResolvedTarget) -> Result<Vec<Worker>, ApiError> {
        self.worker_pools(&target.space.id)
            .workers(&target.pool.id)
            .await
    }
}

/// Looks up the space (name or Id) and its pool by the domain's rules.
pub async fn resolve(
    client: &Client,
    space: &str,
    pool: &str,
) -> Result<ResolvedTarget, WaitError> {
    domain::lookup_target(client, space, pool)
        .await
        .map_err(|error| WaitError::Lookup(Box::new(error)))
}

/// What one poll saw.
#[derive(Debug, Default)]
struct PoolCount {
    counted: Vec<String>,
    not_counted: Vec<String>,
}

/// How a poll ended.
enum PollResult {
    Counted(PoolCount),
    Failed(String),
    Interrupted,
}

/// Waits until the pool holds at least `config.count` workers, the deadline passes, or `cancel`
/// is cancelled.
///
/// Transient failures of a poll (server unreachable, 5xx, 429, timeouts, after the client's own
/// retries) are reported to the sink and polling goes on; any other failure ends the wait with
/// [`WaitError::ReadWorkers`]. A dynamic pool is refused before any request
/// ([`WaitError::DynamicPool`]). A timeout or an interruption is *not* an error: the outcome's
/// [`WaitStatus`] says so.
pub async fn wait_for_workers(
    client: &impl PoolWorkers,
    target: &ResolvedTarget,
    config: &WaitConfig,
    sink: &mut impl WaitSink,
    cancel: &CancellationToken,
) -> Result<WaitOutcome, WaitError> {
    if target.pool.is_dynamic() {
        return Err(WaitError::DynamicPool {
            target: target.clone(),
        });
    }
    let started = Instant::now();
    let deadline = started + config.timeout;
    let interval = config.poll_interval.max(Duration::from_millis(1));
    let required = config.count.max(1);
    sink.waiting(&WaitStart {
        target,
        required,
        healthy_only: config.healthy_only,
        timeout: config.timeout,
        poll_interval: interval,
    });

    let mut outcome = WaitOutcome {
        target: target.clone(),
        status: WaitStatus::TimedOut,
        registered_worker_names: Vec::new(),
        count: 0,
        required,
        healthy_only: config.healthy_only,
        unhealthy_worker_names: Vec::new(),
        polls: 0,
        counted_polls: 0,
        last_error: None,
        elapsed: Duration::ZERO,
        timeout: config.timeout,
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();

    loop {
        if cancel.is_cancelled() {
            outcome.status = WaitStatus::Interrupted;
            break;
        }
        let poll_started = Instant::now();
        outcome.polls += 1;
        let cutoff = deadline.max(poll_started + interval);
        match poll(client, target, config.healthy_only, cutoff, cancel).await? {
            PollResult::Interrupted => {
                outcome.status = WaitStatus::Interrupted;
                break;
            }
            PollResult::Failed(message) => {
                sink.poll_failed(&PollFailed {
                    target,
                    poll: outcome.polls,
                    error: &message,
                    time_left: deadline.saturating_duration_since(Instant::now()),
                });
                outcome.last_error = Some(message);
            }
            PollResult::Counted(pool_count) => {
                outcome.counted_polls += 1;
                outcome.last_error = None;
                let newly_counted: Vec<String> = pool_count
                    .counted
                    .iter()
                    .filter(|name| !seen.contains(*name))
                    .cloned()
                    .collect();
                seen = pool_count.counted.iter().cloned().collect();
                outcome.count = pool_count.counted.len() as u64;
                outcome.registered_worker_names = pool_count.counted;
                outcome.unhealthy_worker_names = pool_count.not_counted;
                sink.counted(&PollCounted {
                    target,
                    newly_counted: &newly_counted,
                    count: outcome.count,
                    required,
                    healthy_only: config.healthy_only,
                });
                if outcome.count >= required {
                    outcome.status = WaitStatus::Satisfied;
                    break;
                }
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        let next_poll = (poll_started + interval).min(deadline);
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                outcome.status = WaitStatus::Interrupted;
                break;
            }
            () = tokio::time::sleep_until(next_poll) => {}
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// One poll: every page of the pool's workers, bounded by `cutoff` and `cancel`.
async fn poll(
    client: &impl PoolWorkers,
    target: &ResolvedTarget,
    healthy_only: bool,
    cutoff: Instant,
    cancel: &CancellationToken,
) -> Result<PollResult, WaitError> {
    let read = client.pool_workers(target);
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => return Ok(PollResult::Interrupted),
        () = tokio::time::sleep_until(cutoff) => {
            return Ok(PollResult::Failed(
                "no answer before the deadline: the poll was abandoned".to_owned(),
            ));
        }
        result = read => result,
    };
    match result {
        Ok(workers) => Ok(PollResult::Counted(count_workers(&workers, healthy_only))),
        // The client was cancelled (by its own token) before this wait's token: the same stop.
        Err(error) if error.is_interrupted() => Ok(PollResult::Interrupted),
        Err(error) if error.is_unreachable() => Ok(PollResult::Failed(error.to_string())),
        Err(error) => Err(WaitError::ReadWorkers {
            target: target.clone(),
            error: Box::new(error),
        }),
    }
}

/// Splits the pool's workers into counted and not counted, each sorted by name.
fn count_workers(workers: &[Worker], healthy_only: bool) -> PoolCount {
    let mut count = PoolCount::default();
    for worker in workers {
        if !healthy_only || worker.health_status.counts_as_healthy() {
            count.counted.push(worker.name.clone());
        } else {
            count.not_counted.push(worker.name.clone());
        }
    }
    sort_names(&mut count.counted);
    sort_names(&mut count.not_counted);
    count
}

/// Sorts case-insensitively, ties broken by the exact text, so the order is stable.
fn sort_names(names: &mut [String]) {
    names.sort_by(|left, right| {
        left.to_lowercase()
            .cmp(&right.to_lowercase())
            .then_with(|| left.cmp(right))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &str, health: &str) -> Worker {
        serde_json::from_value(serde_json::json!({
            "Id": format!("Workers-{name}"),
            "Name": name,
            "SpaceId": "Spaces-2",
            "WorkerPoolIds": ["WorkerPools-4"],
            "MachinePolicyId": "MachinePolicies-2",
            "IsDisabled": false,
            "HealthStatus": health,
            "Endpoint": {
                "CommunicationStyle": "TentacleActive",
                "Uri": "poll://abcdefghijklmnopqrst/",
                "Thumbprint": "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A"
            }
        }))
        .unwrap()
    }

    #[test]
    fn counting_sorts_names_and_filters_health() {
        let workers = [
            worker("worker-c", "Unhealthy"),
            worker("Worker-B", "HasWarnings"),
            worker("worker-a", "Healthy"),
            worker("worker-d", "Unknown"),
        ];
        let all = count_workers(&workers, false);
        assert_eq!(
            all.counted,
            ["worker-a", "Worker-B", "worker-c", "worker-d"]
        );
        assert!(all.not_counted.is_empty());
        let healthy = count_workers(&workers, true);
        assert_eq!(healthy.counted, ["worker-a", "Worker-B"]);
        assert_eq!(healthy.not_counted, ["worker-c", "worker-d"]);
    }
}
