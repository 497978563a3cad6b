//! Step 3 of the "sharing workers across spaces" runbook, "Wait for workers to register": poll
//! the initial space's worker pool until it holds at least N workers.
//!
//! Compared with the original PowerShell loop (first page only, `-ne N`, 20 × 60 s, an error
//! written inside the loop) it counts every page, succeeds as soon as *at least* N workers are
//! there (a stale extra worker cannot make it wait forever), optionally counts only healthy
//! workers, survives transient failures until the deadline, stops at once on 401/403, and on
//! timeout names the workers that registered and how many are missing.
//!
//! # Polling
//!
//! The first poll starts at once; each next one starts `poll_interval` after the previous one
//! *started* (never back to back), and the last one starts no later than the deadline. A poll
//! still running at the deadline gets at most one more `poll_interval` to finish.
//!
//! # Outputs
//!
//! [`emit_outputs`] sets `RegisteredWorkerCount` and `RegisteredWorkerNames` (comma-joined,
//! sorted by name; with `--healthy` only the healthy workers). With `--output json` stdout holds
//! one document with those keys:
//!
//! ```json
//! { "RegisteredWorkerCount": 2, "RegisteredWorkerNames": ["worker-a", "worker-b"] }
//! ```
//!
//! When the wait fails (timeout, interruption) the outputs are still set and the document also
//! holds `"Error"` (the one-line message) and `"ExitCode"` (a number).

use anyhow::Context as _;
use octoshare_cli::{
    Emitter, Exit, ExitError, OutputValue, Shutdown, format_duration, parse_duration,
};
use octoshare_core::domain;
use octoshare_core::{ApiError, Client, SpaceId, Worker, WorkerPool, WorkerPoolId};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

/// The step's own flags (the connection and output flags are `octoshare_cli::CommonArgs`).
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Space holding the pool (name or Id), usually the discover step's InitialSpaceId
    #[arg(long, value_name = "NAME|ID")]
    pub space: String,

    /// Worker pool the Tentacles register into (case-insensitive)
    #[arg(long, value_name = "NAME")]
    pub worker_pool: String,

    /// How many workers the pool must hold (at least)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,

    #[command(flatten)]
    pub polling: WaitPollArgs,
}

/// The flags saying how to wait, separate so that `octoshare run` can reuse them with its own
/// optional `--count`.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitPollArgs {
    /// Give up after this long, e.g. 20m, 90s
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Time between the starts of two polls, e.g. 10s, 500ms
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Count only workers whose health is Healthy or HasWarnings
    #[arg(long)]
    pub healthy: bool,
}

impl WaitArgs {
    /// Validates the flags once (exit code 2 on failure): non-blank space and pool, a count of at
    /// least 1, a poll interval above zero.
    pub fn into_config(self) -> anyhow::Result<WaitConfig> {
        let space = self.space.trim().to_owned();
        if space.is_empty() {
            return Err(ExitError::usage(
                "--space is empty: give the space's name or Id, e.g. --space Spaces-1",
            )
            .into());
        }
        let worker_pool = self.worker_pool.trim().to_owned();
        if worker_pool.is_empty() {
            return Err(ExitError::usage(
                "--worker-pool is empty: give the pool's name, e.g. --worker-pool 'AWS Worker Pool TF'",
            )
            .into());
        }
        if self.count == 0 {
            return Err(ExitError::usage("--count must be at least 1").into());
        }
        self.polling.validate()?;
        Ok(WaitConfig {
            space,
            worker_pool,
            count: self.count,
            timeout: self.polling.timeout,
            poll_interval: self.polling.poll_interval,
            healthy_only: self.polling.healthy,
        })
    }
}

impl WaitPollArgs {
    /// Refuses a zero poll interval (it would poll back to back), as a usage error.
    pub fn validate(&self) -> Result<(), ExitError> {
        if self.poll_interval.is_zero() {
            return Err(ExitError::usage(
                "--poll-interval must be more than 0s, e.g. --poll-interval 10s",
            ));
        }
        Ok(())
    }
}

/// What to wait for; built from [`WaitArgs`] or by the orchestrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitConfig {
    /// The space (name or Id).
    pub space: String,
    /// The pool's name (case-insensitive).
    pub worker_pool: String,
    /// How many workers are enough.
    pub count: u64,
    /// How long to wait at most.
    pub timeout: Duration,
    /// Time between the starts of two polls (a zero interval is read as 1 ms).
    pub poll_interval: Duration,
    /// Count only Healthy/HasWarnings workers.
    pub healthy_only: bool,
}

/// A space, by Id and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SpaceRef {
    /// `Spaces-N`.
    pub id: SpaceId,
    /// The space's name as the server spells it.
    pub name: String,
}

/// The result of a wait. `satisfied == false` means it timed out or was interrupted; the caller
/// emits the outputs and then fails with [`unsatisfied_error`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitOutcome {
    /// The space holding the pool.
    pub space: SpaceRef,
    /// The pool's name as the server spells it.
    pub worker_pool_name: String,
    /// The pool's Id.
    pub worker_pool_id: WorkerPoolId,
    /// Names of the counted workers at the last successful poll, sorted by name (only healthy
    /// ones with `healthy_only`).
    pub registered_worker_names: Vec<String>,
    /// How many workers were counted (`registered_worker_names.len()`).
    pub count: u64,
    /// How many were wanted (`WaitConfig::count`).
    pub required: u64,
    /// Workers in the pool that were not counted because they are not healthy (`healthy_only`).
    pub unhealthy_worker_names: Vec<String>,
    /// Whether at least `required` workers were counted.
    pub satisfied: bool,
    /// Whether a shutdown request (SIGINT/SIGTERM) ended the wait.
    pub interrupted: bool,
    /// How many polls were made (failed ones included).
    pub polls: u32,
    /// The error of the last poll, when it failed (the wait went on until the deadline).
    pub last_error: Option<String>,
    /// How long the wait took, in milliseconds when serialised.
    #[serde(rename = "elapsed_ms", serialize_with = "serialize_millis")]
    pub elapsed: Duration,
}

fn serialize_millis<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
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

/// Waits until the pool holds at least `config.count` workers, the deadline passes, or
/// `shutdown` is requested.
///
/// Transient failures of a poll (server unreachable, 5xx, 429, timeouts, after the client's own
/// retries) are warnings and polling goes on; everything else ends the wait with an error.
///
/// # Errors
/// Exit code 3 when the space or the pool does not exist, 6 on 401/403 (at once), 7 when the
/// space or pool cannot be read at the start; a timeout or interruption is *not* an error here
/// (`Ok` with `satisfied == false`).
pub async fn wait_for_workers(
    client: &Client,
    config: &WaitConfig,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> anyhow::Result<WaitOutcome> {
    let started = Instant::now();
    let deadline = started + config.timeout;
    let interval = config.poll_interval.max(Duration::from_millis(1));
    let required = config.count.max(1);

    let space = domain::lookup_space(client, &config.space)
        .await
        .map_err(|error| lookup_error(error, &config.space))?;
    let space = SpaceRef {
        id: space.id,
        name: space.name,
    };
    let pool = find_pool(client, &space, &config.worker_pool).await?;
    let place = format!("'{}' ({})", pool.name, space.id);
    let kind = workers_noun(required, config.healthy_only);
    emitter.info(&format!(
        "waiting up to {} for {required} {kind} in worker pool {place} of space {}, polling every {}",
        format_duration(config.timeout),
        space.name,
        format_duration(interval)
    ));

    let mut outcome = WaitOutcome {
        space,
        worker_pool_name: pool.name.clone(),
        worker_pool_id: pool.id.clone(),
        registered_worker_names: Vec::new(),
        count: 0,
        required,
        unhealthy_worker_names: Vec::new(),
        satisfied: false,
        interrupted: false,
        polls: 0,
        last_error: None,
        elapsed: Duration::ZERO,
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();

    loop {
        if shutdown.is_requested() {
            outcome.interrupted = true;
            break;
        }
        let poll_started = Instant::now();
        outcome.polls += 1;
        let cutoff = deadline.max(poll_started + interval);
        match poll(
            client,
            &outcome.space.id,
            &pool,
            config.healthy_only,
            cutoff,
            shutdown,
        )
        .await?
        {
            PollResult::Interrupted => {
                outcome.interrupted = true;
                break;
            }
            PollResult::Failed(message) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let next = if left.is_zero() {
                    "no time left".to_owned()
                } else {
                    format!("polling goes on ({} left)", format_elapsed(left))
                };
                emitter.warning(&format!(
                    "poll {} of worker pool {place} failed, {next}: {message}",
                    outcome.polls
                ));
                outcome.last_error = Some(message);
            }
            PollResult::Counted(pool_count) => {
                outcome.last_error = None;
                let new: Vec<&String> = pool_count
                    .counted
                    .iter()
                    .filter(|name| !seen.contains(*name))
                    .collect();
                if !new.is_empty() {
                    emitter.verbose(&format!(
                        "counted in {place}: {}",
                        new.iter()
                            .map(|name| name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                seen = pool_count.counted.iter().cloned().collect();
                outcome.count = pool_count.counted.len() as u64;
                outcome.registered_worker_names = pool_count.counted;
                outcome.unhealthy_worker_names = pool_count.not_counted;
                emitter.progress(
                    outcome.count,
                    required,
                    &format!(
                        "{} of {required} {kind} registered in {} ({})",
                        outcome.count, outcome.worker_pool_name, outcome.space.id
                    ),
                );
                if outcome.count >= required {
                    outcome.satisfied = true;
                    break;
                }
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let next_poll = (poll_started + interval).min(deadline);
        tokio::select! {
            biased;
            () = shutdown.requested() => {
                outcome.interrupted = true;
                break;
            }
            () = tokio::time::sleep_until(next_poll) => {}
        }
    }

    outcome.elapsed = started.elapsed();
    emitter.finish_progress();
    if outcome.satisfied {
        emitter.highlight(&format!(
            "{} of {required} {kind} registered in {place} after {}: {}",
            outcome.count,
            format_elapsed(outcome.elapsed),
            outcome.registered_worker_names.join(", ")
        ));
    }
    Ok(outcome)
}

/// The one-line message of an unsatisfied wait, e.g. `timed out after 20m: 2 of 3 workers
/// registered in 'AWS Worker Pool TF' (Spaces-2): worker-a, worker-b; 1 missing`.
pub fn timeout_message(outcome: &WaitOutcome, config: &WaitConfig) -> String {
    let ended = if outcome.interrupted {
        format!("interrupted after {}", format_elapsed(outcome.elapsed))
    } else {
        format!("timed out after {}", format_duration(config.timeout))
    };
    let kind = workers_noun(outcome.required, config.healthy_only);
    let mut message = format!(
        "{ended}: {} of {} {kind} registered in '{}' ({})",
        outcome.count, outcome.required, outcome.worker_pool_name, outcome.space.id
    );
    if !outcome.registered_worker_names.is_empty() {
        message.push_str(": ");
        message.push_str(&outcome.registered_worker_names.join(", "));
    }
    message.push_str(&format!(
        "; {} missing",
        outcome.required.saturating_sub(outcome.count)
    ));
    if !outcome.unhealthy_worker_names.is_empty() {
        message.push_str(&format!(
            "; not healthy: {}",
            outcome.unhealthy_worker_names.join(", ")
        ));
    }
    if let Some(error) = &outcome.last_error {
        message.push_str(&format!("; last poll failed: {error}"));
    }
    message
}

/// The error ending an unsatisfied wait: exit code 4 with [`timeout_message`]; `None` when the
/// wait succeeded. An interrupted wait also ends with 4 (the wait did not complete).
pub fn unsatisfied_error(outcome: &WaitOutcome, config: &WaitConfig) -> Option<ExitError> {
    (!outcome.satisfied).then(|| ExitError::new(Exit::TimedOut, timeout_message(outcome, config)))
}

/// Sets `RegisteredWorkerCount` and `RegisteredWorkerNames` (see the crate documentation).
pub fn emit_outputs(outcome: &WaitOutcome, emitter: &mut Emitter) {
    emitter.set_output("RegisteredWorkerCount", OutputValue::Count(outcome.count));
    emitter.set_output(
        "RegisteredWorkerNames",
        OutputValue::List(outcome.registered_worker_names.clone()),
    );
}

/// The pool named `wanted` in the space (exit 3 naming the pools there when there is none).
async fn find_pool(client: &Client, space: &SpaceRef, wanted: &str) -> anyhow::Result<WorkerPool> {
    let mut pools = client
        .worker_pools(&space.id)
        .all()
        .await
        .with_context(|| {
            format!(
                "while listing the worker pools of {} ({})",
                space.name, space.id
            )
        })?;
    let wanted = wanted.trim();
    let found = pools
        .iter()
        .position(|pool| pool.name.trim() == wanted)
        .or_else(|| pools.iter().position(|pool| same_name(&pool.name, wanted)));
    match found {
        Some(index) => Ok(pools.swap_remove(index)),
        None => {
            let names: Vec<&str> = pools.iter().map(|pool| pool.name.as_str()).collect();
            Err(ExitError::not_found(format!(
                "space {} ({}) has no worker pool named '{wanted}': check --worker-pool (pools there: {})",
                space.name,
                space.id,
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ))
            .into())
        }
    }
}

fn lookup_error(error: domain::LookupError, wanted: &str) -> anyhow::Error {
    match error {
        domain::LookupError::Resolve(error) => ExitError::not_found(error.to_string()).into(),
        other => anyhow::Error::new(other).context(format!("while looking up space '{wanted}'")),
    }
}

/// One poll: every page of the pool's workers, bounded by `cutoff` and `shutdown`.
async fn poll(
    client: &Client,
    space_id: &SpaceId,
    pool: &WorkerPool,
    healthy_only: bool,
    cutoff: Instant,
    shutdown: &Shutdown,
) -> anyhow::Result<PollResult> {
    let pools = client.worker_pools(space_id);
    let read = pools.workers(&pool.id);
    let result = tokio::select! {
        biased;
        () = shutdown.requested() => return Ok(PollResult::Interrupted),
        () = tokio::time::sleep_until(cutoff) => {
            return Ok(PollResult::Failed(
                "no answer before the deadline: the poll was abandoned".to_owned(),
            ));
        }
        result = read => result,
    };
    match result {
        Ok(workers) => Ok(PollResult::Counted(count_workers(&workers, healthy_only))),
        Err(error) if error.is_unreachable() => Ok(PollResult::Failed(error.to_string())),
        Err(error) => Err(fatal_poll_error(error, space_id, pool)),
    }
}

fn fatal_poll_error(error: ApiError, space_id: &SpaceId, pool: &WorkerPool) -> anyhow::Error {
    anyhow::Error::new(error).context(format!(
        "while reading the workers of worker pool '{}' ({space_id})",
        pool.name
    ))
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

fn same_name(left: &str, right: &str) -> bool {
    let (left, right) = (left.trim(), right.trim());
    left.eq_ignore_ascii_case(right) || left.to_lowercase() == right.to_lowercase()
}

/// "workers", "healthy workers", or the singular when exactly one is wanted ("1 of 1 worker").
fn workers_noun(required: u64, healthy_only: bool) -> &'static str {
    match (required == 1, healthy_only) {
        (true, false) => "worker",
        (true, true) => "healthy worker",
        (false, false) => "workers",
        (false, true) => "healthy workers",
    }
}

/// A duration for humans: milliseconds below one second, else whole seconds (`1m30s`).
fn format_elapsed(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format_duration(Duration::from_millis(
            u64::try_from(duration.as_millis()).unwrap_or(0),
        ))
    } else {
        format_duration(Duration::from_secs(duration.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(healthy_only: bool) -> WaitConfig {
        WaitConfig {
            space: "Spaces-2".to_owned(),
            worker_pool: "AWS Worker Pool TF".to_owned(),
            count: 3,
            timeout: Duration::from_secs(1200),
            poll_interval: Duration::from_secs(10),
            healthy_only,
        }
    }

    fn outcome(names: &[&str]) -> WaitOutcome {
        WaitOutcome {
            space: SpaceRef {
                id: SpaceId::from("Spaces-2"),
                name: "Payments".to_owned(),
            },
            worker_pool_name: "AWS Worker Pool TF".to_owned(),
            worker_pool_id: WorkerPoolId::from("WorkerPools-4"),
            registered_worker_names: names.iter().map(|name| name.to_string()).collect(),
            count: names.len() as u64,
            required: 3,
            unhealthy_worker_names: Vec::new(),
            satisfied: false,
            interrupted: false,
            polls: 120,
            last_error: None,
            elapsed: Duration::from_millis(1_200_345),
        }
    }

    #[test]
    fn timeout_message_names_registered_and_missing_workers() {
        assert_eq!(
            timeout_message(&outcome(&["worker-a", "worker-b"]), &config(false)),
            "timed out after 20m: 2 of 3 workers registered in 'AWS Worker Pool TF' (Spaces-2): worker-a, worker-b; 1 missing"
        );
        assert_eq!(
            timeout_message(&outcome(&[]), &config(false)),
            "timed out after 20m: 0 of 3 workers registered in 'AWS Worker Pool TF' (Spaces-2); 3 missing"
        );
    }

    #[test]
    fn timeout_message_mentions_unhealthy_workers_and_the_last_error() {
        let mut outcome = outcome(&["worker-a"]);
        outcome.unhealthy_worker_names = vec!["worker-b".to_owned()];
        outcome.last_error = Some("server unreachable".to_owned());
        assert_eq!(
            timeout_message(&outcome, &config(true)),
            "timed out after 20m: 1 of 3 healthy workers registered in 'AWS Worker Pool TF' (Spaces-2): worker-a; 2 missing; not healthy: worker-b; last poll failed: server unreachable"
        );
    }

    #[test]
    fn interrupted_and_satisfied_waits() {
        let mut interrupted = outcome(&["worker-a"]);
        interrupted.interrupted = true;
        let error = unsatisfied_error(&interrupted, &config(false)).unwrap();
        assert_eq!(error.exit, Exit::TimedOut);
        assert!(error.message.starts_with("interrupted after 20m: 1 of 3"));

        let mut satisfied = outcome(&["a", "b", "c"]);
        satisfied.satisfied = true;
        assert!(unsatisfied_error(&satisfied, &config(false)).is_none());
    }

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

    fn args() -> WaitArgs {
        WaitArgs {
            space: " Spaces-2 ".to_owned(),
            worker_pool: "AWS Worker Pool TF".to_owned(),
            count: 3,
            polling: WaitPollArgs {
                timeout: Duration::from_secs(60),
                poll_interval: Duration::from_secs(10),
                healthy: true,
            },
        }
    }

    #[test]
    fn into_config_validates_once() {
        let config = args().into_config().unwrap();
        assert_eq!(config.space, "Spaces-2");
        assert!(config.healthy_only);

        let mut blank = args();
        blank.worker_pool = "  ".to_owned();
        let error = blank.into_config().unwrap_err();
        assert_eq!(octoshare_cli::exit_for_error(&error), Exit::Usage);

        let mut hammering = args();
        hammering.polling.poll_interval = Duration::ZERO;
        let error = hammering.into_config().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--poll-interval must be more than 0s")
        );
    }

    #[test]
    fn elapsed_time_reads_well() {
        assert_eq!(format_elapsed(Duration::from_millis(340)), "340ms");
        assert_eq!(format_elapsed(Duration::from_millis(90_400)), "1m30s");
    }
}
