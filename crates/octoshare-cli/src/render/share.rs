//! `octoshare-share`'s rendering: the notes on the targets, the source pool, progress per
//! space, the per-space lines and summary table, the output variables, the report file, and the
//! failure messages with the flags to check.

use super::{NAMES_IN_MESSAGES, plural};
use crate::exit::{Exit, ExitError, api_error_line, exit_for_share_error, exit_for_share_verdict};
use crate::json::ShareOutputs;
use crate::output::Emitter;
use octoshare_core::domain::ResolveError;
use octoshare_share::{
    Action, Duplicate, Outcome, ShareError, ShareReport, ShareSink, ShareTargets, ShareVerdict,
    SourceRead, SpaceDone, SpaceFailure, SpaceResult, SpaceStatus, Target, Totals, WorkerFailure,
    WorkerResult,
};
use std::path::Path;

/// Renders a share's events as lines and progress of the emitter.
#[derive(Debug)]
pub struct ShareRenderer<'a> {
    out: &'a mut Emitter,
}

impl<'a> ShareRenderer<'a> {
    /// A renderer writing to `out`.
    pub fn new(out: &'a mut Emitter) -> ShareRenderer<'a> {
        ShareRenderer { out }
    }
}

impl ShareSink for ShareRenderer<'_> {
    fn source_read(&mut self, source: &SourceRead<'_>) {
        let space = &source.source.space;
        for skipped in source.workers.iter().filter(|worker| !worker.shared) {
            self.out.warning(&format!(
                "source worker '{}' ({}) is {}",
                skipped.name,
                skipped.worker_id,
                skipped.reason.as_deref().unwrap_or("not shared")
            ));
        }
        let shared = source.workers.iter().filter(|worker| worker.shared).count() as u64;
        let pool = &source.source.pool.name;
        let space_label = format!("'{}' ({})", space.name, space.id);
        if shared == 0 {
            self.out.warning(&format!(
                "pool '{pool}' in {space_label} has no workers to share (polling or listening Tentacles, SSH workers, Kubernetes agents)"
            ));
        }
        if source.prune_disabled {
            self.out.warning(
                "not pruning: with an empty source pool every stale-looking worker would be deleted; register the workers first",
            );
        }
        self.out.info(&format!(
            "{} {} of pool '{pool}' from {space_label} into {}{}",
            if source.dry_run {
                "planning to share"
            } else {
                "sharing"
            },
            plural(shared, "worker"),
            plural(source.target_spaces as u64, "space"),
            if source.dry_run {
                " (dry run: nothing is changed)"
            } else {
                ""
            }
        ));
    }

    fn space_done(&mut self, done: &SpaceDone<'_>) {
        self.out.progress(
            done.done,
            done.total,
            &format!("{} of {} done", done.done, plural(done.total, "space")),
        );
    }
}

/// The notes on what resolution dropped or skipped, before the share starts.
pub fn notes(out: &mut Emitter, targets: &ShareTargets, to_spaces_given: bool) {
    if !to_spaces_given {
        out.info("no target spaces given (--to-spaces is empty): nothing to do");
    }
    for duplicate in &targets.duplicates {
        out.info(&match duplicate {
            Duplicate::SameEntry { entry } => {
                format!("note: '{entry}' is listed more than once in --to-spaces: handled once")
            }
            Duplicate::SameSpace { entry, space } => format!(
                "note: '{entry}' names '{}' ({}), which --to-spaces already lists: handled once",
                space.name, space.id
            ),
        });
    }
    for target in &targets.targets {
        if let Target::Source { entry, space } = target {
            out.info(&format!(
                "note: '{entry}' is the source space '{}' ({}): skipped",
                space.name, space.id
            ));
        }
    }
}

/// The failure line of a space that failed as a whole: the facts plus what to do.
pub fn space_failure_message(failure: &SpaceFailure) -> String {
    match failure {
        SpaceFailure::Unresolved(_) => format!("{failure}: check --to-spaces"),
        SpaceFailure::Pool(ResolveError::PoolNotFound { .. }) => {
            format!("{failure}: create it there (or drop the space from --to-spaces)")
        }
        SpaceFailure::Pool(_) => format!("{failure}: give the exact name in --worker-pool"),
        SpaceFailure::MachinePolicyNotFound { .. } => format!(
            "{failure}: create it there, or leave out --machine-policy to use each space's default policy"
        ),
        SpaceFailure::AmbiguousMachinePolicy { .. } => {
            format!("{failure}: give the exact name in --machine-policy")
        }
        SpaceFailure::DynamicPool { .. } => format!(
            "{failure}; a dynamic pool cannot be shared into: drop the space from --to-spaces, or give it a static pool of that name"
        ),
        SpaceFailure::Unreadable { .. } => failure.to_string(),
    }
}

/// The failure line of a worker: the facts plus what to do.
pub fn worker_failure_message(failure: &WorkerFailure) -> String {
    match failure {
        WorkerFailure::EndpointTypeChangeRefused { .. } => format!(
            "{failure}; delete the stale worker in this space (or rename the source worker), then run the step again"
        ),
        WorkerFailure::ReferenceNotFound { reference, .. } => format!(
            "{failure}; create {} of that name in this space, then run the step again",
            reference.with_article()
        ),
        WorkerFailure::AmbiguousReference { reference, .. } => format!(
            "{failure}; rename {} in this space so exactly one has the source's name",
            reference.plural()
        ),
        WorkerFailure::MachinePolicyUnavailable { .. } => {
            format!("{failure}; check --machine-policy")
        }
        WorkerFailure::PermissionRefused { .. }
        | WorkerFailure::EarlierWriteRefused
        | WorkerFailure::SourceReferenceNotFound { .. }
        | WorkerFailure::ReferencesUnreadable { .. }
        | WorkerFailure::Refused { .. }
        | WorkerFailure::Unsettled { .. }
        | WorkerFailure::NotApplied { .. } => failure.to_string(),
    }
}

/// Ends the progress display, then prints the per-space lines and the summary.
pub fn finished(out: &mut Emitter, report: &ShareReport) {
    out.finish_progress();
    print_details(out, report);
    print_summary(out, report);
}

/// Per-space lines in the targets' order: changes as info lines, unchanged workers as verbose
/// lines, conflicts as warnings, failures as warnings naming space, worker and reason.
fn print_details(out: &mut Emitter, report: &ShareReport) {
    for space in &report.spaces {
        let label = space.label();
        match space.status {
            SpaceStatus::Skipped => {
                out.info(&format!(
                    "{label}: skipped: {}",
                    space.reason.as_deref().unwrap_or_default()
                ));
                continue;
            }
            SpaceStatus::Failed | SpaceStatus::NotAttempted if space.workers.is_empty() => {
                let reason = match &space.failure {
                    Some(failure) => space_failure_message(failure),
                    None => space.reason.clone().unwrap_or_default(),
                };
                let line = format!("{label}: {reason}");
                if space.status == SpaceStatus::Failed {
                    out.warning(&format!("failed: {line}"));
                } else {
                    out.info(&line);
                }
                continue;
            }
            _ => {}
        }
        for worker in &space.workers {
            print_worker(out, report, &label, worker);
        }
    }
}

fn print_worker(out: &mut Emitter, report: &ShareReport, label: &str, worker: &WorkerResult) {
    let id = worker
        .worker_id
        .as_ref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let plan_prefix = if report.dry_run { "plan: " } else { "" };
    let line = format!(
        "{label}: {plan_prefix}{} '{}'{id}: {}",
        worker.action.describe(),
        worker.name,
        worker.reason
    );
    match worker.outcome {
        Outcome::Failed => {
            let reason = worker
                .failure
                .as_ref()
                .map_or_else(|| worker.reason.clone(), worker_failure_message);
            out.warning(&format!(
                "failed: space {label}, worker '{}'{id}: {reason}",
                worker.name
            ));
        }
        Outcome::NotAttempted => out.info(&line),
        Outcome::Done | Outcome::Planned => match worker.action {
            Action::Unchanged => out.verbose(&line),
            Action::Conflict => out.warning(&format!("conflict: {line}")),
            _ => out.info(&line),
        },
    }
}

/// Prints the per-space summary table (human lines) and the totals as a highlight line.
fn print_summary(out: &mut Emitter, report: &ShareReport) {
    let header = [
        "created",
        "updated",
        "unchanged",
        "pruned",
        "conflicts",
        "failed",
    ];
    let labels: Vec<String> = report.spaces.iter().map(SpaceResult::label).collect();
    let width = labels
        .iter()
        .map(|label| label.chars().count())
        .chain(["space".len(), "total".len()])
        .max()
        .unwrap_or(5);
    let row = |label: &str, counts: &Totals| {
        let values = [
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.pruned,
            counts.conflicts,
            counts.failed,
        ];
        let mut line = format!("{label:<width$}");
        for (value, title) in values.iter().zip(header) {
            line.push_str(&format!("  {value:>w$}", w = title.len()));
        }
        line
    };
    let mut title = format!("{:<width$}", "space");
    for column in header {
        title.push_str(&format!("  {column}"));
    }
    out.info(&title);
    for (label, space) in labels.iter().zip(&report.spaces) {
        let mut line = row(label, &space.counts);
        match space.status {
            SpaceStatus::Skipped => line.push_str("  (skipped)"),
            SpaceStatus::NotAttempted => line.push_str("  (not attempted)"),
            SpaceStatus::Failed if space.reason.is_some() => line.push_str("  (space failed)"),
            _ => {}
        }
        out.info(line.trim_end());
    }
    out.info(&row("total", &report.totals));

    let totals = &report.totals;
    let verb = if report.dry_run {
        "dry run: would share"
    } else {
        "shared"
    };
    let targets = report
        .spaces
        .iter()
        .filter(|space| space.space.is_some() && space.status != SpaceStatus::Skipped)
        .count() as u64;
    let mut highlight = format!(
        "{verb} {} of pool '{}' from '{}' ({}) into {}: {} created, {} updated, {} unchanged, {} pruned, {}, {} failed",
        plural(report.shared_worker_count() as u64, "worker"),
        report.worker_pool_name,
        report.source_space.name,
        report.source_space.id,
        plural(targets, "space"),
        totals.created,
        totals.updated,
        totals.unchanged,
        totals.pruned,
        plural(totals.conflicts, "conflict"),
        totals.failed,
    );
    if report.interrupted || totals.not_attempted > 0 {
        highlight.push_str(&format!(
            ", {} not attempted (interrupted)",
            totals.not_attempted
        ));
    }
    out.highlight(&highlight);
}

/// Sets `CreatedWorkerCount`, `UpdatedWorkerCount`, `UnchangedWorkerCount`,
/// `PrunedWorkerCount` and `FailedCount` (in a dry run: what a real run would do).
pub fn set_outputs(out: &mut Emitter, report: &ShareReport) {
    out.set_outputs(&ShareOutputs::of(&report.totals));
}

/// The one-line reason of a share that did not end with success (`None` when it did).
pub fn failure_message(report: &ShareReport) -> Option<String> {
    let verdict = report.verdict();
    if verdict == ShareVerdict::Done {
        return None;
    }
    let targets = report
        .spaces
        .iter()
        .filter(|space| space.status != SpaceStatus::Skipped)
        .count();
    let failed_spaces = report
        .spaces
        .iter()
        .filter(|space| space.status == SpaceStatus::Failed)
        .count();
    let mut parts = Vec::new();
    if verdict == ShareVerdict::Interrupted {
        parts.push(format!(
            "interrupted with {} not attempted: run the step again to finish",
            plural(report.totals.not_attempted, "item")
        ));
    }
    if report.totals.failed > 0 {
        parts.push(format!(
            "{} failed in {} of {} target spaces",
            plural(report.totals.failed, "item"),
            failed_spaces,
            targets
        ));
    }
    let mut message = parts.join("; ");
    let refused = report.refused_permissions();
    if !refused.is_empty() {
        let needs: Vec<String> = refused
            .iter()
            .take(NAMES_IN_MESSAGES)
            .map(|(space, permission)| format!("{permission} in {space}"))
            .collect();
        let more = refused.len().saturating_sub(NAMES_IN_MESSAGES);
        message.push_str(&format!(
            "; permission refused: the API key needs {}{}",
            needs.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    } else if verdict == ShareVerdict::PermissionRefused {
        message.push_str("; permission refused: check the API key (401)");
    }
    if verdict == ShareVerdict::Failed {
        message.push_str(" (see the lines above; the rest was done)");
    } else if report.totals.failed > 0 {
        message.push_str(" (see the lines above)");
    }
    Some(message)
}

/// Writes the report as pretty JSON (PascalCase keys, one trailing newline), creating missing
/// parent directories.
pub fn write_report(report: &ShareReport, path: &Path) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(report)
        .map_err(|error| format!("cannot serialise the share report: {error}"))?;
    text.push('\n');
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            format!(
                "cannot create the directory {} for the report: {error}: check --report",
                parent.display()
            )
        })?;
    }
    std::fs::write(path, text).map_err(|error| {
        format!(
            "cannot write the report to {}: {error}: check --report points at a writable file",
            path.display()
        )
    })
}

/// Ends a share: sets the output variables, writes the report (attached as an artifact in
/// octopus mode), and returns the exit code with the failure line when something failed.
pub fn conclude(
    out: &mut Emitter,
    report: &ShareReport,
    report_path: Option<&Path>,
) -> Result<Exit, ExitError> {
    set_outputs(out, report);
    let mut exit = exit_for_share_verdict(report.verdict());
    let mut messages: Vec<String> = failure_message(report).into_iter().collect();
    if let Some(path) = report_path {
        match write_report(report, path) {
            Ok(()) => {
                let name = path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "share-report.json".to_owned());
                out.artifact(path, &name);
            }
            Err(error) => {
                messages.push(error);
                if exit == Exit::Success {
                    exit = Exit::PartialFailure;
                }
            }
        }
    }
    if messages.is_empty() {
        Ok(exit)
    } else {
        Err(ExitError::new(exit, messages.join("; ")))
    }
}

/// The one-line message of a share that could do nothing, with the flag to check.
pub fn error_message(error: &ShareError) -> String {
    match error {
        ShareError::SourceSpace(resolve @ ResolveError::AmbiguousSpace { .. }) => {
            format!("{resolve} in --from-space")
        }
        ShareError::SourceSpace(resolve) => format!("{resolve}: check --from-space"),
        ShareError::SourcePool(ResolveError::AmbiguousPool { .. }) => {
            format!(
                "the source {}: give the exact name in --worker-pool",
                pool_text(error)
            )
        }
        ShareError::SourcePool(_) => {
            format!("the source {}: check --worker-pool", pool_text(error))
        }
        ShareError::DynamicSourcePool { .. } => {
            format!("{error}: give a static pool in --worker-pool")
        }
        ShareError::ListSpaces(api)
        | ShareError::ListSourcePools { error: api, .. }
        | ShareError::ReadSourceWorkers { error: api, .. } => api_error_line(error, api),
    }
}

fn pool_text(error: &ShareError) -> String {
    match error {
        ShareError::SourcePool(resolve) => format!("space {resolve}"),
        other => other.to_string(),
    }
}

impl From<ShareError> for ExitError {
    fn from(error: ShareError) -> ExitError {
        ExitError::new(exit_for_share_error(&error), error_message(&error))
    }
}
