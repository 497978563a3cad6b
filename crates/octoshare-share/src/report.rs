//! The result of a share run ([`ShareReport`]): what happened per target space and per worker,
//! the totals behind the output variables, the summary lines, and the JSON report file.
//!
//! # The JSON report (`--report PATH`)
//!
//! [`write_report`] writes the [`ShareReport`] as pretty JSON (2-space indent, one trailing
//! newline), camelCase keys in this fixed order:
//!
//! ```json
//! {
//!   "sourceSpace": { "id": "Spaces-1", "name": "Default" },
//!   "workerPoolName": "AWS Worker Pool TF",
//!   "dryRun": false,
//!   "interrupted": false,
//!   "totals": { "created": 1, "updated": 1, "unchanged": 1, "pruned": 0, "conflicts": 0,
//!               "failed": 1, "notAttempted": 0 },
//!   "sourceWorkers": [ { "name": "worker-1", "workerId": "Workers-1", "shared": true, "reason": null } ],
//!   "spaces": [
//!     { "entry": "Spaces-2", "space": { "id": "Spaces-2", "name": "Payments" },
//!       "status": "succeeded", "reason": null, "failureKind": null,
//!       "counts": { "created": 1, "updated": 1, "unchanged": 1, "pruned": 0, "conflicts": 0,
//!                   "failed": 0, "notAttempted": 0 },
//!       "workers": [
//!         { "name": "worker-1", "workerId": "Workers-7", "action": "create", "outcome": "done",
//!           "reason": "not registered in this space yet", "failureKind": null }
//!       ] },
//!     { "entry": "Nope", "space": null, "status": "failed",
//!       "reason": "no space named or with Id 'Nope' (3 spaces searched): check --to-spaces",
//!       "failureKind": "notFound", "counts": { "...": 0 }, "workers": [] }
//!   ]
//! }
//! ```
//!
//! - `spaces` keeps the order of `--to-spaces` (duplicates removed); `workers` in a space are
//!   sorted by name (case-insensitive).
//! - `status`: `succeeded` (nothing failed), `failed` (the space, or some of its workers, failed),
//!   `skipped` (the source space listed as a target), `notAttempted` (interrupted first).
//! - `action`: `create` (POST), `addToPool` (PUT adding the target pool, other pools kept),
//!   `replaceEndpoint` (PUT of a stale same-name registration to the source endpoint),
//!   `unchanged`, `conflict` (a stale same-name registration left alone), `delete` (prune),
//!   `removeFromPool` (prune of a worker that is also in other pools: PUT without the pool).
//! - `outcome`: `done`, `planned` (a dry run), `failed`, `notAttempted` (interrupted).
//! - `failureKind` (only on failures): `permissionRefused` (401/403), `notFound`, `rejected`
//!   (the server refused the request, 400), `unreachable`, `outcomeUnknown` (still unknown after
//!   re-reading and retrying), `other`.
//! - In a dry run the counts are what a real run would do.

use octoshare_cli::{Emitter, Exit, OutputValue};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A space as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceRef {
    /// `Spaces-N`.
    pub id: String,
    /// The space's name.
    pub name: String,
}

impl std::fmt::Display for SpaceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' ({})", self.name, self.id)
    }
}

/// Everything a share run did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareReport {
    /// The space the workers come from.
    pub source_space: SpaceRef,
    /// The pool's name as the source space spells it.
    pub worker_pool_name: String,
    /// Whether this was a dry run (counts are then planned, not done).
    pub dry_run: bool,
    /// Whether an interruption stopped the run before everything was attempted.
    pub interrupted: bool,
    /// Sums over every space.
    pub totals: Totals,
    /// The workers of the source pool, sorted by name, and whether each is shared.
    pub source_workers: Vec<SourceWorkerResult>,
    /// One entry per target space, in the order of `--to-spaces`.
    pub spaces: Vec<SpaceResult>,
}

/// Counts of worker results (and, for `failed`/`notAttempted`, whole spaces).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Workers created (POST).
    pub created: u64,
    /// Workers updated (PUT): the target pool added, or a stale endpoint replaced.
    pub updated: u64,
    /// Workers already shared into the target pool.
    pub unchanged: u64,
    /// Stale workers deleted, or removed from the target pool.
    pub pruned: u64,
    /// Stale same-name registrations left alone (`--on-conflict skip`, or a name used by another
    /// source worker's endpoint).
    pub conflicts: u64,
    /// Failed workers, plus target spaces that failed as a whole (unknown space, no such pool,
    /// no such machine policy, unreadable).
    pub failed: u64,
    /// Workers (or whole spaces) not attempted because the run was interrupted.
    pub not_attempted: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.pruned += other.pruned;
        self.conflicts += other.conflicts;
        self.failed += other.failed;
        self.not_attempted += other.not_attempted;
    }
}

/// A worker of the source pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceWorkerResult {
    /// The worker's name.
    pub name: String,
    /// Its `Workers-N` Id in the source space.
    pub worker_id: String,
    /// Whether it is shared (a Tentacle endpoint with a Uri and a thumbprint, not a duplicate).
    pub shared: bool,
    /// Why it is not shared.
    pub reason: Option<String>,
}

/// What happened in one target space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceResult {
    /// The `--to-spaces` entry as given (trimmed).
    pub entry: String,
    /// The space it resolved to (`null` for an unknown entry).
    pub space: Option<SpaceRef>,
    /// Overall status of the space.
    pub status: SpaceStatus,
    /// Why the space failed, was skipped or was not attempted.
    pub reason: Option<String>,
    /// What kind of failure stopped the space as a whole.
    pub failure_kind: Option<FailureKind>,
    /// Counts for this space.
    pub counts: Totals,
    /// Per-worker results, sorted by name.
    pub workers: Vec<WorkerResult>,
}

impl SpaceResult {
    /// The entry's label for log lines: `'Payments' (Spaces-2)`, or the entry as given.
    pub fn label(&self) -> String {
        match &self.space {
            Some(space) => space.to_string(),
            None => format!("'{}'", self.entry),
        }
    }

    /// A space that failed as a whole before any worker was handled.
    pub(crate) fn failed(
        entry: &str,
        space: Option<SpaceRef>,
        reason: String,
        kind: FailureKind,
    ) -> SpaceResult {
        SpaceResult::whole(entry, space, SpaceStatus::Failed, reason, Some(kind))
    }

    /// A space left alone on purpose (e.g. the source space listed as a target).
    pub(crate) fn skipped(entry: &str, space: Option<SpaceRef>, reason: String) -> SpaceResult {
        SpaceResult::whole(entry, space, SpaceStatus::Skipped, reason, None)
    }

    /// A space not started because the run was interrupted.
    pub(crate) fn not_attempted(entry: &str, space: Option<SpaceRef>) -> SpaceResult {
        SpaceResult::whole(
            entry,
            space,
            SpaceStatus::NotAttempted,
            "not attempted: the run was interrupted".to_owned(),
            None,
        )
    }

    fn whole(
        entry: &str,
        space: Option<SpaceRef>,
        status: SpaceStatus,
        reason: String,
        failure_kind: Option<FailureKind>,
    ) -> SpaceResult {
        let counts = Totals {
            failed: u64::from(status == SpaceStatus::Failed),
            not_attempted: u64::from(status == SpaceStatus::NotAttempted),
            ..Totals::default()
        };
        SpaceResult {
            entry: entry.to_owned(),
            space,
            status,
            reason: Some(reason),
            failure_kind,
            counts,
            workers: Vec::new(),
        }
    }

    /// A space whose workers were handled: sorts them by name and derives counts and status.
    pub(crate) fn with_workers(
        entry: &str,
        space: SpaceRef,
        mut workers: Vec<WorkerResult>,
    ) -> SpaceResult {
        workers.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.worker_id.cmp(&b.worker_id))
        });
        let mut counts = Totals::default();
        for worker in &workers {
            worker.count_into(&mut counts);
        }
        let status = if counts.failed > 0 {
            SpaceStatus::Failed
        } else if counts.not_attempted > 0 {
            SpaceStatus::NotAttempted
        } else {
            SpaceStatus::Succeeded
        };
        SpaceResult {
            entry: entry.to_owned(),
            space: Some(space),
            status,
            reason: None,
            failure_kind: None,
            counts,
            workers,
        }
    }
}

/// Overall status of a target space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SpaceStatus {
    /// Nothing failed.
    Succeeded,
    /// The space, or some of its workers, failed.
    Failed,
    /// Left alone on purpose (the source space listed as a target).
    Skipped,
    /// Not (fully) attempted because the run was interrupted.
    NotAttempted,
}

/// What happened to one worker in one target space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerResult {
    /// The worker's name (the source worker's, or the stale target worker's for prunes).
    pub name: String,
    /// The worker's `Workers-N` Id in the target space, when it exists (or was created).
    pub worker_id: Option<String>,
    /// What was (or would be) done.
    pub action: Action,
    /// Whether it was done.
    pub outcome: Outcome,
    /// Why this action, or why it failed.
    pub reason: String,
    /// What kind of failure (only when `outcome` is `failed`).
    pub failure_kind: Option<FailureKind>,
}

impl WorkerResult {
    fn count_into(&self, counts: &mut Totals) {
        match self.outcome {
            Outcome::Failed => counts.failed += 1,
            Outcome::NotAttempted => counts.not_attempted += 1,
            Outcome::Done | Outcome::Planned => match self.action {
                Action::Create => counts.created += 1,
                Action::AddToPool | Action::ReplaceEndpoint => counts.updated += 1,
                Action::Unchanged => counts.unchanged += 1,
                Action::Conflict => counts.conflicts += 1,
                Action::Delete | Action::RemoveFromPool => counts.pruned += 1,
            },
        }
    }
}

/// The action decided for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// POST a new worker.
    Create,
    /// PUT the existing registration with the target pool added (its other pools kept).
    AddToPool,
    /// PUT a stale same-name registration with the source endpoint (and the target pool).
    ReplaceEndpoint,
    /// Already shared into the target pool.
    Unchanged,
    /// A stale same-name registration left alone.
    Conflict,
    /// DELETE a stale worker (prune).
    Delete,
    /// PUT a stale worker without the target pool (prune of a worker in other pools too).
    RemoveFromPool,
}

impl Action {
    /// A short verb for log lines.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::AddToPool => "add to pool",
            Action::ReplaceEndpoint => "replace endpoint",
            Action::Unchanged => "unchanged",
            Action::Conflict => "conflict",
            Action::Delete => "delete",
            Action::RemoveFromPool => "remove from pool",
        }
    }

    /// Whether the action writes (POST/PUT/DELETE).
    pub fn writes(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Conflict)
    }
}

/// Whether an action was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Done (or nothing needed doing).
    Done,
    /// Dry run: would be done.
    Planned,
    /// Failed; `reason` says why.
    Failed,
    /// Not attempted because the run was interrupted.
    NotAttempted,
}

/// Kinds of failure, so callers can tell a permission problem from the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureKind {
    /// 401/403: the API key (or token) may not do this.
    PermissionRefused,
    /// A space, pool, policy or worker does not exist.
    NotFound,
    /// The server refused the request (400 validation).
    Rejected,
    /// The server could not be reached (after retries).
    Unreachable,
    /// A write's outcome stayed unknown after re-reading and retrying.
    OutcomeUnknown,
    /// Anything else.
    Other,
}

impl ShareReport {
    /// Recomputes [`ShareReport::totals`] from the spaces.
    pub(crate) fn sum_totals(&mut self) {
        let mut totals = Totals::default();
        for space in &self.spaces {
            totals.add(&space.counts);
        }
        self.totals = totals;
    }

    /// Whether any failure was a refused permission (401/403).
    pub fn permission_refused(&self) -> bool {
        let refused = Some(FailureKind::PermissionRefused);
        self.spaces.iter().any(|space| {
            space.failure_kind == refused
                || space
                    .workers
                    .iter()
                    .any(|worker| worker.failure_kind == refused)
        })
    }

    /// The exit code the run ends with: 0 when nothing failed and nothing was interrupted;
    /// 6 when some failure was a refused permission (a read-only API key, a key without
    /// `ConfigureServer` in a space); otherwise 5.
    pub fn exit(&self) -> Exit {
        if self.totals.failed == 0 && self.totals.not_attempted == 0 && !self.interrupted {
            Exit::Success
        } else if self.permission_refused() {
            Exit::AccessDenied
        } else {
            Exit::PartialFailure
        }
    }

    /// The one-line reason of a non-zero exit (`None` on success).
    pub fn failure_message(&self) -> Option<String> {
        if self.exit() == Exit::Success {
            return None;
        }
        let targets = self
            .spaces
            .iter()
            .filter(|space| space.status != SpaceStatus::Skipped)
            .count();
        let failed_spaces = self
            .spaces
            .iter()
            .filter(|space| space.status == SpaceStatus::Failed)
            .count();
        let mut parts = Vec::new();
        if self.totals.failed > 0 {
            parts.push(format!(
                "{} failed in {} of {} target spaces",
                plural(self.totals.failed, "item"),
                failed_spaces,
                targets
            ));
        }
        if self.interrupted || self.totals.not_attempted > 0 {
            parts.push(format!(
                "interrupted with {} not attempted: run the step again to finish",
                plural(self.totals.not_attempted, "item")
            ));
        }
        let mut message = parts.join("; ");
        if self.permission_refused() {
            message.push_str(
                "; permission refused: the API key needs the ConfigureServer permission in every target space",
            );
        } else if self.totals.failed > 0 {
            message.push_str(" (see the lines above; the rest was done)");
        }
        Some(message)
    }
}

/// `1 item`, `3 items`.
pub(crate) fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Sets the output variables `CreatedWorkerCount`, `UpdatedWorkerCount`,
/// `UnchangedWorkerCount`, `PrunedWorkerCount` and `FailedCount` (in a dry run: what a real run
/// would do).
pub fn emit_outputs(report: &ShareReport, emitter: &mut Emitter) {
    let totals = &report.totals;
    for (name, value) in [
        ("CreatedWorkerCount", totals.created),
        ("UpdatedWorkerCount", totals.updated),
        ("UnchangedWorkerCount", totals.unchanged),
        ("PrunedWorkerCount", totals.pruned),
        ("FailedCount", totals.failed),
    ] {
        emitter.set_output(name, OutputValue::Count(value));
    }
}

/// Writes the report as pretty JSON (see the module docs for the shape), creating missing
/// parent directories.
pub fn write_report(report: &ShareReport, path: &Path) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(report)
        .map_err(|error| anyhow::anyhow!("cannot serialise the share report: {error}"))?;
    text.push('\n');
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            anyhow::anyhow!(
                "cannot create the directory {} for the report: {error}: check --report",
                parent.display()
            )
        })?;
    }
    std::fs::write(path, text).map_err(|error| {
        anyhow::anyhow!(
            "cannot write the report to {}: {error}: check --report points at a writable file",
            path.display()
        )
    })
}

/// Prints the per-space summary table (human lines) and the totals as a highlight line.
pub(crate) fn print_summary(report: &ShareReport, emitter: &mut Emitter) {
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
    emitter.info(&title);
    for (label, space) in labels.iter().zip(&report.spaces) {
        let mut line = row(label, &space.counts);
        match space.status {
            SpaceStatus::Skipped => line.push_str("  (skipped)"),
            SpaceStatus::NotAttempted => line.push_str("  (not attempted)"),
            SpaceStatus::Failed if space.reason.is_some() => line.push_str("  (space failed)"),
            _ => {}
        }
        emitter.info(line.trim_end());
    }
    emitter.info(&row("total", &report.totals));

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
    let shared = report
        .source_workers
        .iter()
        .filter(|worker| worker.shared)
        .count() as u64;
    let mut highlight = format!(
        "{verb} {} of pool '{}' from {} into {}: {} created, {} updated, {} unchanged, {} pruned, {}, {} failed",
        plural(shared, "worker"),
        report.worker_pool_name,
        report.source_space,
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
    emitter.highlight(&highlight);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &str, action: Action, outcome: Outcome) -> WorkerResult {
        WorkerResult {
            name: name.to_owned(),
            worker_id: None,
            action,
            outcome,
            reason: String::new(),
            failure_kind: (outcome == Outcome::Failed).then_some(FailureKind::Rejected),
        }
    }

    fn space_ref(id: &str) -> SpaceRef {
        SpaceRef {
            id: id.to_owned(),
            name: format!("name of {id}"),
        }
    }

    fn report(spaces: Vec<SpaceResult>) -> ShareReport {
        let mut report = ShareReport {
            source_space: space_ref("Spaces-1"),
            worker_pool_name: "P".to_owned(),
            dry_run: false,
            interrupted: false,
            totals: Totals::default(),
            source_workers: Vec::new(),
            spaces,
        };
        report.sum_totals();
        report
    }

    #[test]
    fn workers_are_sorted_by_name_and_counted() {
        let space = SpaceResult::with_workers(
            "Spaces-2",
            space_ref("Spaces-2"),
            vec![
                worker("b", Action::Create, Outcome::Done),
                worker("A", Action::Unchanged, Outcome::Done),
                worker("c", Action::ReplaceEndpoint, Outcome::Failed),
                worker("d", Action::Delete, Outcome::Done),
                worker("e", Action::Conflict, Outcome::Done),
            ],
        );
        let names: Vec<&str> = space.workers.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, vec!["A", "b", "c", "d", "e"]);
        assert_eq!(
            space.counts,
            Totals {
                created: 1,
                updated: 0,
                unchanged: 1,
                pruned: 1,
                conflicts: 1,
                failed: 1,
                not_attempted: 0
            }
        );
        assert_eq!(space.status, SpaceStatus::Failed);
    }

    #[test]
    fn exit_codes_follow_failures() {
        let ok = report(vec![SpaceResult::with_workers(
            "Spaces-2",
            space_ref("Spaces-2"),
            vec![worker("a", Action::Create, Outcome::Done)],
        )]);
        assert_eq!(ok.exit(), Exit::Success);
        assert_eq!(ok.failure_message(), None);

        let partial = report(vec![SpaceResult::failed(
            "Nope",
            None,
            "no space".to_owned(),
            FailureKind::NotFound,
        )]);
        assert_eq!(partial.exit(), Exit::PartialFailure);
        assert_eq!(partial.totals.failed, 1);
        assert!(
            partial
                .failure_message()
                .unwrap()
                .starts_with("1 item failed in 1 of 1 target spaces")
        );

        let mut refused = worker("a", Action::Create, Outcome::Failed);
        refused.failure_kind = Some(FailureKind::PermissionRefused);
        let denied = report(vec![SpaceResult::with_workers(
            "Spaces-2",
            space_ref("Spaces-2"),
            vec![refused],
        )]);
        assert_eq!(denied.exit(), Exit::AccessDenied);
        assert!(
            denied
                .failure_message()
                .unwrap()
                .contains("ConfigureServer")
        );

        let mut interrupted = report(vec![SpaceResult::not_attempted(
            "Spaces-2",
            Some(space_ref("Spaces-2")),
        )]);
        interrupted.interrupted = true;
        assert_eq!(interrupted.exit(), Exit::PartialFailure);
        assert!(
            interrupted
                .failure_message()
                .unwrap()
                .contains("interrupted")
        );
    }

    #[test]
    fn report_round_trips_with_stable_keys() {
        let original = report(vec![
            SpaceResult::with_workers(
                "Spaces-2",
                space_ref("Spaces-2"),
                vec![worker("a", Action::AddToPool, Outcome::Planned)],
            ),
            SpaceResult::skipped("Spaces-1", Some(space_ref("Spaces-1")), "source".to_owned()),
        ]);
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested/report.json");
        write_report(&original, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            vec![
                "sourceSpace",
                "workerPoolName",
                "dryRun",
                "interrupted",
                "totals",
                "sourceWorkers",
                "spaces"
            ]
        );
        assert_eq!(value["spaces"][0]["workers"][0]["action"], "addToPool");
        assert_eq!(value["spaces"][0]["workers"][0]["outcome"], "planned");
        assert_eq!(value["spaces"][1]["status"], "skipped");
        let parsed: ShareReport = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, original);
    }
}
