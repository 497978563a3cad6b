//! `octoshare run`: runbook steps 1, 3 and 4 — discover, wait (only with `--count`), share — in
//! one process, calling the step libraries with one emitter, one progress display and one
//! final summary.
//!
//! # Phases and exit codes
//!
//! 1. **discover** ([`octoshare_discover::discover`]): the spaces having `--worker-pool`; the
//!    first (or `--initial-space`) is the initial space. Its resolved targets (space and pool,
//!    typed Ids) are handed to wait and share as they are: nothing is resolved twice. Fails with discover's codes: 3 when
//!    nothing qualifies, 6 when the credentials are refused, 7 when the server is unreachable.
//! 2. **wait** ([`octoshare_wait::wait_for_workers`]), only with `--count N`: until the initial
//!    space's pool holds at least N workers. On timeout the wait outputs are still set (those
//!    of the last poll that completed; none when no poll did), share is not run, and the exit
//!    code is 4.
//! 3. **share** ([`octoshare_share::share`] of [`octoshare_share::ShareTargets::from_discovered`]):
//!    the initial pool's workers into the pool of every remaining space; per remaining space it
//!    reads the machine policies and workers. Per-space failures do not stop the others; the run
//!    then ends with share's own code ([`octoshare_share::ShareReport::verdict`]): 5, or 6 when a
//!    write was refused for lack of permission.
//!
//! The first SIGINT/SIGTERM stops whichever phase is running at once (see the `Shutdown` of
//! `octoshare_cli`): its phase is `Interrupted`, later phases do not run, the summary and the
//! document say what was done, and the exit code is 130 (SIGINT) or 143 (SIGTERM).
//!
//! # Output
//!
//! `--output text` (the default) prints each phase's heading and lines, a progress display (a
//! spinner or bar per phase on a terminal, plain lines on stderr otherwise) and a final summary.
//! `--output octopus` prints the same lines plus every phase's output variables as
//! `setVariable` service messages and `progress` messages whose percentage grows over the whole
//! run (discover 0–10 %, wait 10–60 %, share 60–100 %; without wait, share 10–100 %).
//!
//! `--output json` prints one document (`docs/json-output.md`, "run"): the output variables of
//! every phase that ran (they do not collide), share's `Report`, `Phases` (`Discover`, `Wait`,
//! `Share`, each with its `Status`, `ElapsedMs` and the step's `Outcome`), `Requests`, `DryRun`,
//! `ElapsedMs`, and on failure `Error` and `ExitCode` ([`RunOutcome::into_document`]).

use octoshare_cli::format_elapsed;
use octoshare_cli::json::{self, DiscoverOutputs, RunDocument, ShareOutputs, WaitOutputs};
use octoshare_cli::render::share::ShareRenderer;
use octoshare_cli::render::wait::WaitRenderer;
use octoshare_cli::render::{self, discover::DiscoverRenderer};
use octoshare_cli::{
    CommonArgs, Emitter, Ending, Exit, ExitError, OutputMode, Shutdown, run_local,
};
use octoshare_core::{Client, RequestCounts};
use octoshare_discover::DiscoverOutcome;
use octoshare_share::{ShareReport, ShareTargets};
use octoshare_wait::WaitOutcome;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The exit codes, as `octoshare run --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 done; 2 usage error; 3 no space has the pool (or a \
named space does not exist); 4 the wait timed out (nothing was shared); 5 some spaces or workers \
failed (the others were shared); 6 credentials or permission refused; 7 server unreachable; 130/143 \
interrupted by SIGINT/SIGTERM.";

pub use octoshare_cli::flags::{RunArgs, RunConfig};

/// How a phase ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseStatus {
    /// It ran to the end (for share: possibly with per-space failures, see its report).
    Done,
    /// It was not needed (wait without `--count`).
    Skipped(String),
    /// It failed with this one-line error.
    Failed(String),
    /// It was interrupted (SIGINT/SIGTERM); the one-line message says what was known then.
    Interrupted(String),
    /// An earlier phase failed or was interrupted.
    NotRun,
}

/// One phase's status and duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseRecord {
    /// How it ended.
    pub status: PhaseStatus,
    /// How long it took (`None` when it did not run).
    pub elapsed: Option<Duration>,
}

impl PhaseRecord {
    fn not_run() -> PhaseRecord {
        PhaseRecord {
            status: PhaseStatus::NotRun,
            elapsed: None,
        }
    }

    /// The phase as the JSON document shows it, with the step's outcome when it ran.
    fn to_document<T>(&self, outcome: Option<T>) -> json::Phase<T> {
        let (status, reason, error) = match &self.status {
            PhaseStatus::Done => (json::PhaseStatus::Done, None, None),
            PhaseStatus::Skipped(reason) => {
                (json::PhaseStatus::Skipped, Some(reason.clone()), None)
            }
            PhaseStatus::Failed(error) => (json::PhaseStatus::Failed, None, Some(error.clone())),
            PhaseStatus::Interrupted(error) => {
                (json::PhaseStatus::Interrupted, None, Some(error.clone()))
            }
            PhaseStatus::NotRun => (json::PhaseStatus::NotRun, None, None),
        };
        json::Phase {
            status,
            elapsed_ms: self.elapsed.map(json::millis),
            reason,
            error,
            outcome,
        }
    }
}

/// Everything one `octoshare run` did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The discover phase.
    pub discover: PhaseRecord,
    /// What discover found, when it succeeded.
    pub discovered: Option<DiscoverOutcome>,
    /// The wait phase.
    pub wait: PhaseRecord,
    /// What the wait saw, when it ran.
    pub waited: Option<WaitOutcome>,
    /// The share phase.
    pub share: PhaseRecord,
    /// What share did, when it ran.
    pub shared: Option<ShareReport>,
    /// HTTP attempts the run made.
    pub requests: RequestCounts,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The exit code the run ends with.
    pub exit: Exit,
    /// The one-line failure, when the run did not succeed.
    pub failure: Option<String>,
}

impl RunOutcome {
    /// The run's JSON document (see the module documentation); consumes the outcome.
    pub fn into_document(self) -> json::Document<RunDocument> {
        let phases = json::Phases {
            discover: self.discover.to_document(self.discovered.clone()),
            wait: self.wait.to_document(self.waited.clone()),
            share: self.share.to_document(None),
        };
        let failure = self.failure.map(|error| json::FailureFields {
            error,
            exit_code: self.exit.code(),
        });
        json::Document {
            body: Some(RunDocument {
                discover: self.discovered.as_ref().map(DiscoverOutputs::of),
                wait: self.waited.as_ref().map(WaitOutputs::of),
                share: self
                    .shared
                    .as_ref()
                    .map(|report| ShareOutputs::of(&report.totals)),
                report: self.shared,
                phases,
                requests: self.requests.into(),
                dry_run: self.dry_run,
                elapsed_ms: json::millis(self.elapsed),
            }),
            failure,
        }
    }

    fn new(dry_run: bool) -> RunOutcome {
        RunOutcome {
            discover: PhaseRecord::not_run(),
            discovered: None,
            wait: PhaseRecord::not_run(),
            waited: None,
            share: PhaseRecord::not_run(),
            shared: None,
            requests: RequestCounts::default(),
            elapsed: Duration::ZERO,
            dry_run,
            exit: Exit::Success,
            failure: None,
        }
    }
}

/// `octoshare run` as a process: validates the flags, builds the client (read-only with
/// `--dry-run`), runs [`execute`] and ends with the run's exit code and document.
pub fn command(args: RunArgs, common: &CommonArgs) -> ExitCode {
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        let config = args.into_config()?;
        // --concurrency: how many spaces at once, and the ceiling of the client's requests in
        // flight (which adapts below it to the server's answers).
        let mut builder = common
            .client_builder(&shutdown)?
            .concurrency(config.share.concurrency);
        if config.share.dry_run {
            // The whole run only reads: a write is refused before it is sent.
            builder = builder.read_only();
        }
        let client = builder.build()?;
        let outcome = execute(&client, &config, emitter, &shutdown).await;
        let (exit, failure) = (outcome.exit, outcome.failure.clone());
        let document = outcome.into_document();
        Ok(Ending {
            exit,
            failure,
            document: document.body,
        })
    })
}

/// Runs discover, wait (when configured) and share against `client`, printing through `emitter`,
/// and ends with the summary.
///
/// The outcome's [`RunOutcome::exit`] and [`RunOutcome::failure`] say how it ended: a failed
/// discover (3/6/7), a failed or timed-out wait (3/6/7, or 4), a share that could do nothing
/// at all (3/6/7), or share's per-space failures (5, or 6 when a write was refused).
pub async fn execute(
    client: &Client,
    config: &RunConfig,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> RunOutcome {
    let started = Instant::now();
    let requests_before = client.request_counts();
    let mut outcome = RunOutcome::new(config.share.dry_run);
    let result = execute_phases(client, config, emitter, shutdown, &mut outcome).await;
    emitter.end_phase();
    outcome.elapsed = started.elapsed();
    outcome.requests = difference(client.request_counts(), requests_before);
    (outcome.exit, outcome.failure) = match result {
        Ok(exit) => (exit, None),
        Err(error) => (error.exit, Some(error.message)),
    };
    outcome.exit = outcome.exit.attributed_to(shutdown.signal());
    print_summary(&outcome, emitter);
    outcome
}

async fn execute_phases(
    client: &Client,
    config: &RunConfig,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
    outcome: &mut RunOutcome,
) -> Result<Exit, ExitError> {
    let share_start = if config.wait.is_some() { 60 } else { 10 };

    // 1. discover
    let pool = &config.discover.worker_pool;
    emitter.info(&format!(
        "[1/3] discover: find every space that has worker pool '{pool}'"
    ));
    emitter.begin_phase(
        "discover",
        0..=10,
        &format!("looking for worker pool '{pool}'"),
    );
    let phase_started = Instant::now();
    let discovered = octoshare_discover::discover(
        client,
        &config.discover,
        &mut DiscoverRenderer::new(emitter),
    )
    .await;
    let discovered = match discovered {
        Ok(discovered) => {
            render::discover::finished(emitter, &discovered);
            emitter.end_phase();
            outcome.discover = done(phase_started);
            discovered
        }
        Err(error) => {
            emitter.end_phase();
            let error = ExitError::from(error);
            outcome.discover = ended(phase_started, &error);
            return Err(error);
        }
    };
    render::discover::set_outputs(emitter, &discovered);
    outcome.discovered = Some(discovered.clone());

    // 2. wait
    match &config.wait {
        None => {
            let reason = "no --count given: sharing the workers the pool holds now";
            emitter.info(&format!("[2/3] wait: skipped ({reason})"));
            outcome.wait = PhaseRecord {
                status: PhaseStatus::Skipped(reason.to_owned()),
                elapsed: None,
            };
        }
        Some(plan) => {
            emitter.info(&format!(
                "[2/3] wait: until pool '{}' of {} holds {} {}",
                discovered.worker_pool_name(),
                discovered.initial.space,
                plan.count,
                if plan.count == 1 { "worker" } else { "workers" }
            ));
            emitter.begin_phase(
                "wait",
                10..=share_start,
                &format!("waiting for {} workers", plan.count),
            );
            let phase_started = Instant::now();
            let waited = octoshare_wait::wait_for_workers(
                client,
                &discovered.initial,
                plan,
                &mut WaitRenderer::new(emitter),
                &shutdown.token(),
            )
            .await;
            if let Ok(waited) = &waited {
                render::wait::finished(emitter, waited);
            }
            emitter.end_phase();
            let waited = match waited {
                Ok(waited) => waited,
                Err(error) => {
                    let error = ExitError::from(error);
                    outcome.wait = ended(phase_started, &error);
                    return Err(error);
                }
            };
            render::wait::set_outputs(emitter, &waited);
            outcome.waited = Some(waited.clone());
            if let Some(error) = render::wait::unsatisfied(&waited) {
                outcome.wait = ended(phase_started, &error);
                return Err(error);
            }
            outcome.wait = done(phase_started);
        }
    }

    // 3. share: discover's targets, already resolved, are handed over as they are.
    let share_targets = ShareTargets::from_discovered(&discovered.initial, &discovered.remaining);
    let targets = share_targets.space_count();
    emitter.info(&format!(
        "[3/3] share: {} the workers of {} in pool '{}' of {}",
        if config.share.dry_run {
            "plan registering"
        } else {
            "register"
        },
        discovered.initial.space,
        discovered.worker_pool_name(),
        match targets {
            0 => "no other space (nothing to do)".to_owned(),
            1 => "the 1 other space".to_owned(),
            n => format!("the {n} other spaces"),
        }
    ));
    emitter.begin_phase(
        "share",
        share_start..=100,
        &format!(
            "reading the workers to share into {targets} {}",
            if targets == 1 { "space" } else { "spaces" }
        ),
    );
    let phase_started = Instant::now();
    let shared = octoshare_share::share(
        client,
        &share_targets,
        &config.share,
        &mut ShareRenderer::new(emitter),
        &shutdown.token(),
    )
    .await;
    if let Ok(report) = &shared {
        render::share::finished(emitter, report);
    }
    emitter.end_phase();
    let report = match shared {
        Ok(report) => report,
        Err(error) => {
            let error = ExitError::from(error);
            outcome.share = ended(phase_started, &error);
            return Err(error);
        }
    };
    let result = render::share::conclude(emitter, &report, config.report.as_deref());
    outcome.share = match &result {
        Err(error) => ended(phase_started, error),
        Ok(_) => done(phase_started),
    };
    outcome.shared = Some(report);
    result
}

fn done(started: Instant) -> PhaseRecord {
    PhaseRecord {
        status: PhaseStatus::Done,
        elapsed: Some(started.elapsed()),
    }
}

/// A phase that ended with `error`: interrupted when its exit code says so, else failed.
fn ended(started: Instant, error: &ExitError) -> PhaseRecord {
    let status = match error.exit {
        Exit::Interrupted(_) => PhaseStatus::Interrupted(error.message.clone()),
        _ => PhaseStatus::Failed(error.message.clone()),
    };
    PhaseRecord {
        status,
        elapsed: Some(started.elapsed()),
    }
}

/// The final summary: one highlight line per phase plus the request counts.
fn print_summary(outcome: &RunOutcome, emitter: &mut Emitter) {
    let verdict = match outcome.exit {
        Exit::Success if outcome.dry_run => "dry run finished".to_owned(),
        Exit::Success => "finished".to_owned(),
        Exit::Interrupted(signal) => format!(
            "interrupted by {} (exit code {})",
            signal.name(),
            signal.exit_code()
        ),
        exit => format!("failed (exit code {})", exit.code()),
    };
    emitter.info("");
    emitter.highlight(&format!(
        "octoshare run {verdict} in {}",
        format_elapsed(outcome.elapsed)
    ));
    let discover = match (&outcome.discover.status, &outcome.discovered) {
        (PhaseStatus::Done, Some(found)) => format!(
            "{} of {} searched spaces have pool '{}'; initial space {}",
            found.qualifying_space_count(),
            found.spaces_searched,
            found.worker_pool_name(),
            found.initial.space
        ),
        (status, _) => describe_status(status),
    };
    emitter.highlight(&format!("  discover  {discover}"));
    let wait = match (&outcome.wait.status, &outcome.waited) {
        (PhaseStatus::Done, Some(waited)) => format!(
            "{} of {} workers registered after {} ({} {})",
            waited.count,
            waited.required,
            format_elapsed(waited.elapsed),
            waited.polls,
            if waited.polls == 1 { "poll" } else { "polls" }
        ),
        (PhaseStatus::Failed(_), Some(waited)) if waited.count_is_known() => format!(
            "gave up with {} of {} workers registered after {}",
            waited.count,
            waited.required,
            format_elapsed(waited.elapsed)
        ),
        (PhaseStatus::Failed(_), Some(waited)) => format!(
            "gave up after {}: no poll succeeded, the number of registered workers is unknown ({} wanted)",
            format_elapsed(waited.elapsed),
            waited.required
        ),
        (PhaseStatus::Interrupted(_), Some(waited)) if waited.count_is_known() => format!(
            "interrupted after {}; the last completed poll counted {} of {} workers",
            format_elapsed(waited.elapsed),
            waited.count,
            waited.required
        ),
        (PhaseStatus::Interrupted(_), Some(waited)) => format!(
            "interrupted after {} before any poll completed: the number of registered workers is unknown ({} wanted)",
            format_elapsed(waited.elapsed),
            waited.required
        ),
        (status, _) => describe_status(status),
    };
    emitter.highlight(&format!("  wait      {wait}"));
    let share = match &outcome.shared {
        Some(report) => {
            let totals = &report.totals;
            let targets = report
                .spaces
                .iter()
                .filter(|space| space.space.is_some())
                .count();
            let mut line = format!(
                "{}{} created, {} updated, {} unchanged, {} pruned, {} failed in {} {}",
                if report.dry_run { "would be: " } else { "" },
                totals.created,
                totals.updated,
                totals.unchanged,
                totals.pruned,
                totals.failed,
                targets,
                if targets == 1 { "space" } else { "spaces" }
            );
            if report.interrupted {
                line.push_str(&format!(
                    "; interrupted with {} not attempted",
                    totals.not_attempted
                ));
            }
            if totals.conflicts > 0 {
                line.push_str(&format!(
                    "; {} {} left alone",
                    totals.conflicts,
                    if totals.conflicts == 1 {
                        "conflict"
                    } else {
                        "conflicts"
                    }
                ));
            }
            line
        }
        None => describe_status(&outcome.share.status),
    };
    emitter.highlight(&format!("  share     {share}"));
    let requests = &outcome.requests;
    let mut line = format!(
        "  requests  {} GET, {} POST, {} PUT, {} DELETE",
        requests.get, requests.post, requests.put, requests.delete
    );
    if requests.retries > 0 {
        line.push_str(&format!(" ({} retried)", requests.retries));
    }
    emitter.highlight(&line);
}

fn describe_status(status: &PhaseStatus) -> String {
    match status {
        PhaseStatus::Done => "done".to_owned(),
        PhaseStatus::Skipped(reason) => format!("skipped: {reason}"),
        PhaseStatus::Failed(error) => format!("failed: {error}"),
        PhaseStatus::Interrupted(error) => format!("interrupted: {error}"),
        PhaseStatus::NotRun => "not run".to_owned(),
    }
}

/// The attempts made between two snapshots of a client's counts.
pub(crate) fn difference(after: RequestCounts, before: RequestCounts) -> RequestCounts {
    RequestCounts {
        get: after.get.saturating_sub(before.get),
        post: after.post.saturating_sub(before.post),
        put: after.put.saturating_sub(before.put),
        delete: after.delete.saturating_sub(before.delete),
        retries: after.retries.saturating_sub(before.retries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use octoshare_share::ShareOptions;
    use octoshare_wait::WaitConfig;

    #[derive(Debug, Parser)]
    struct TestArgs {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(arguments: &[&str]) -> Result<RunConfig, ExitError> {
        let mut all = vec!["octoshare-run"];
        all.extend_from_slice(arguments);
        let args =
            TestArgs::try_parse_from(all).map_err(|error| ExitError::usage(error.to_string()))?;
        args.run.into_config()
    }

    #[test]
    fn run_flags_are_the_step_flags_declared_once() {
        use clap::CommandFactory;
        TestArgs::command().debug_assert();
    }

    #[test]
    fn without_count_the_wait_is_skipped() {
        let config = parse(&["--worker-pool", " Pool "]).unwrap();
        assert_eq!(config.discover.worker_pool, "Pool");
        assert_eq!(config.wait, None);
        assert_eq!(config.share, ShareOptions::default());
        assert_eq!(config.report, None);
    }

    #[test]
    fn count_and_polling_flags_make_a_wait_plan() {
        let config = parse(&[
            "--worker-pool",
            "Pool",
            "--count",
            "3",
            "--timeout",
            "90s",
            "--poll-interval",
            "500ms",
            "--healthy",
        ])
        .unwrap();
        assert_eq!(
            config.wait,
            Some(WaitConfig {
                count: 3,
                timeout: Duration::from_secs(90),
                poll_interval: Duration::from_millis(500),
                healthy_only: true,
            })
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for arguments in [
            &["--worker-pool", "  "][..],
            &["--worker-pool", "Pool", "--machine-policy", " "][..],
            &[
                "--worker-pool",
                "Pool",
                "--count",
                "2",
                "--poll-interval",
                "0s",
            ][..],
        ] {
            let error = parse(arguments).unwrap_err();
            assert_eq!(error.exit, Exit::Usage, "{arguments:?}");
        }
        assert!(parse(&["--worker-pool", "Pool", "--count", "0"]).is_err());
    }
}
