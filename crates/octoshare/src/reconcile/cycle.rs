//! One reconcile cycle: discover → read the matrix → when something drifted, share (no wait)
//! and read the matrix again. A cycle with nothing to do makes no write and reads only the
//! space list, each space's pools and one worker list per qualifying space.

use std::time::{Duration, Instant, SystemTime};

use octoshare_cli::json::{CycleResult, CycleTrigger, ReconcileCycle, StatusDocument};
use octoshare_cli::render::share::failure_message;
use octoshare_cli::timestamp::rfc3339_utc;
use octoshare_cli::{Exit, ExitError, Shutdown};
use octoshare_core::Client;
use octoshare_discover::DiscoverConfig;
use octoshare_share::{OnConflict, ShareOptions, ShareReport, ShareTargets};

use crate::run::difference;
use crate::status::{self, Snapshot};
use octoshare_cli::exit::exit_for_share_verdict;

/// What a cycle works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleConfig {
    /// What to discover.
    pub discover: DiscoverConfig,
    /// How to share.
    pub share: ShareOptions,
}

/// A finished cycle.
#[derive(Debug)]
pub struct CycleOutcome {
    /// The cycle as logged and shown.
    pub record: ReconcileCycle,
    /// When it started.
    pub started: (Instant, SystemTime),
    /// How long it took.
    pub duration: Duration,
    /// The matrix at its end, when it could be read.
    pub status: Option<StatusDocument>,
    /// The report of the share it ran.
    pub report: Option<ShareReport>,
    /// Its exit code (what `--once` exits with).
    pub exit: Exit,
}

/// Runs cycle number `number`.
pub async fn run_cycle(
    client: &Client,
    config: &CycleConfig,
    number: u64,
    trigger: CycleTrigger,
    shutdown: &Shutdown,
) -> CycleOutcome {
    let started = (Instant::now(), SystemTime::now());
    let before = client.request_counts();
    let mut share_ran = false;
    let mut report = None;
    let result = reconcile(client, config, shutdown, &mut share_ran, &mut report).await;
    let duration = started.0.elapsed();
    let requests = difference(client.request_counts(), before);
    let (snapshot, exit, error) = match result {
        Ok((snapshot, exit, error)) => (Some(snapshot), exit, error),
        Err(error) => (None, error.exit, Some(error.message)),
    };
    // An interruption's code is the signal's (130 or 143), as the process would exit with.
    let exit = exit.attributed_to(shutdown.signal());
    let interrupted = shutdown.is_requested();
    let result = if interrupted {
        CycleResult::Interrupted
    } else if exit == Exit::Success {
        CycleResult::Success
    } else {
        CycleResult::Failure
    };
    let status = snapshot.as_ref().map(|snapshot| {
        status::document(client, snapshot.matrix.clone(), SystemTime::now(), requests)
    });
    let matrix = snapshot.as_ref().map(|snapshot| &snapshot.matrix);
    let record = ReconcileCycle {
        cycle: number,
        trigger,
        result,
        started_at: rfc3339_utc(started.1),
        duration_ms: octoshare_cli::json::millis(duration),
        spaces: matrix.map(|matrix| matrix.spaces.len() as u64),
        workers: matrix.map(|matrix| matrix.workers.len() as u64),
        drift: matrix.map(|matrix| matrix.drift),
        totals: matrix.map(|matrix| matrix.totals),
        share_ran,
        changes: report.as_ref().map(|report: &ShareReport| report.totals),
        requests: requests.into(),
        error,
        exit_code: exit.code(),
    };
    CycleOutcome {
        record,
        started,
        duration,
        status,
        report,
        exit,
    }
}

/// The cycle's work: the matrix at its end, its exit code and the failure line when the
/// matrix was read but something failed (unreadable spaces, a failed share).
async fn reconcile(
    client: &Client,
    config: &CycleConfig,
    shutdown: &Shutdown,
    share_ran: &mut bool,
    report_out: &mut Option<ShareReport>,
) -> Result<(Snapshot, Exit, Option<String>), ExitError> {
    let mut snapshot = status::snapshot(client, &config.discover).await?;
    let replace_stale = config.share.on_conflict == OnConflict::Replace;
    if !shutdown.is_requested()
        && snapshot
            .matrix
            .needs_share(replace_stale, config.share.prune)
    {
        let targets = ShareTargets::from_discovered(
            &snapshot.discovered.initial,
            &snapshot.discovered.remaining,
        );
        *share_ran = true;
        let report =
            octoshare_share::share(client, &targets, &config.share, &mut (), &shutdown.token())
                .await?;
        let share_exit = exit_for_share_verdict(report.verdict());
        let share_failure = failure_message(&report);
        *report_out = Some(report);
        if !shutdown.is_requested() {
            let read = octoshare_status::read_fleet(
                client,
                &snapshot.discovered.initial,
                &snapshot.discovered.remaining,
                config.discover.concurrency,
            )
            .await
            .map_err(|error| {
                ExitError::new(
                    octoshare_cli::render::status::exit_for_status_error(&error),
                    octoshare_cli::render::status::error_message(&error),
                )
            })?;
            snapshot.matrix = octoshare_status::build(&read);
            snapshot.read = read;
        }
        if share_exit != Exit::Success {
            return Ok((snapshot, share_exit, share_failure));
        }
    }
    let unreadable = snapshot.unreadable();
    if !unreadable.is_empty() {
        let exit = octoshare_cli::render::status::exit_for_matrix(&snapshot.matrix, &unreadable);
        let names: Vec<String> = snapshot
            .read
            .failures()
            .map(|(target, error)| format!("{}: {error}", target.space))
            .collect();
        let message = format!("cannot read the workers of {}", names.join("; "));
        return Ok((snapshot, exit, Some(message)));
    }
    Ok((snapshot, Exit::Success, None))
}
