//! The result of a share ([`ShareReport`]): what happened per target space and per worker, with
//! typed failures ([`SpaceFailure`], [`WorkerFailure`]) and the totals behind the output
//! variables. It serialises (PascalCase keys) as the `--report` file and the `Report` of the
//! JSON documents; `docs/json-output.md` describes the shape.

use octoshare_core::domain::{PermissionRefusal, PoolRef, ReferenceKind, ResolveError, SpaceRef};
use serde::{Serialize, Serializer};
use std::fmt;

/// Everything a share did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ShareReport {
    /// The space the workers come from.
    pub source_space: SpaceRef,
    /// The pool's name as the source space spells it.
    pub worker_pool_name: String,
    /// Whether this was a dry run (counts are then planned, not done).
    pub dry_run: bool,
    /// Whether the run was interrupted (asked to stop while it ran): what was not done then is
    /// `NotAttempted`.
    pub interrupted: bool,
    /// Sums over every space.
    pub totals: Totals,
    /// The workers of the source pool, sorted by name, and whether each is shared.
    pub source_workers: Vec<SourceWorkerResult>,
    /// One entry per target space, in the order the targets were given.
    pub spaces: Vec<SpaceResult>,
}

/// Counts of worker results (and, for `failed`/`not_attempted`, whole spaces).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Totals {
    /// Workers created (POST).
    pub created: u64,
    /// Workers updated (PUT): the target pool added, or a stale endpoint replaced.
    pub updated: u64,
    /// Workers already shared into the target pool.
    pub unchanged: u64,
    /// Stale workers deleted, or removed from the target pool.
    pub pruned: u64,
    /// Stale same-name registrations left alone.
    pub conflicts: u64,
    /// Failed workers, plus target spaces that failed as a whole.
    pub failed: u64,
    /// Workers (or whole spaces) not attempted because the run was interrupted, and writes
    /// the interruption left unsettled (sent, but their answer never came: see the reason).
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SourceWorkerResult {
    /// The worker's name.
    pub name: String,
    /// Its `Workers-N` Id in the source space.
    pub worker_id: String,
    /// Whether it is shared (a kind of worker that is shared, with an endpoint identity, not a
    /// duplicate of another source worker's endpoint).
    pub shared: bool,
    /// Why it is not shared.
    pub reason: Option<String>,
}

/// What happened in one target space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SpaceResult {
    /// The target as given (trimmed): an Id or a name.
    pub entry: String,
    /// The space it resolved to (`null` for an entry that does not resolve).
    pub space: Option<SpaceRef>,
    /// Overall status of the space.
    pub status: SpaceStatus,
    /// Why the space failed as a whole, was skipped or was not attempted.
    pub reason: Option<String>,
    /// What failed the space as a whole (serialised as its kind).
    #[serde(rename = "FailureKind", serialize_with = "kind_of_space_failure")]
    #[schemars(with = "Option<FailureKind>")]
    pub failure: Option<SpaceFailure>,
    /// Counts for this space.
    pub counts: Totals,
    /// Per-worker results, sorted by name.
    pub workers: Vec<WorkerResult>,
}

fn kind_of_space_failure<S: Serializer>(
    failure: &Option<SpaceFailure>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    failure
        .as_ref()
        .map(SpaceFailure::kind)
        .serialize(serializer)
}

fn kind_of_worker_failure<S: Serializer>(
    failure: &Option<WorkerFailure>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    failure
        .as_ref()
        .map(WorkerFailure::kind)
        .serialize(serializer)
}

impl SpaceResult {
    /// The entry's label for log lines: `'Payments' (Spaces-2)`, or the entry as given.
    pub fn label(&self) -> String {
        match &self.space {
            Some(space) => format!("'{}' ({})", space.name, space.id),
            None => format!("'{}'", self.entry),
        }
    }

    /// A space that failed as a whole before any worker was handled.
    pub(crate) fn failed(
        entry: &str,
        space: Option<SpaceRef>,
        failure: SpaceFailure,
    ) -> SpaceResult {
        let mut result = SpaceResult::whole(entry, space, SpaceStatus::Failed, failure.to_string());
        result.failure = Some(failure);
        result
    }

    /// A space left alone on purpose (the source space listed as a target).
    pub(crate) fn skipped(entry: &str, space: Option<SpaceRef>, reason: String) -> SpaceResult {
        SpaceResult::whole(entry, space, SpaceStatus::Skipped, reason)
    }

    /// A space not started because the run was interrupted.
    pub(crate) fn not_attempted(entry: &str, space: Option<SpaceRef>) -> SpaceResult {
        SpaceResult::whole(
            entry,
            space,
            SpaceStatus::NotAttempted,
            "not attempted: the run was interrupted".to_owned(),
        )
    }

    fn whole(
        entry: &str,
        space: Option<SpaceRef>,
        status: SpaceStatus,
        reason: String,
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
            failure: None,
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
            failure: None,
            counts,
            workers,
        }
    }
}

/// Overall status of a target space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
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
    /// What failed (only when `outcome` is `Failed`; serialised as its kind).
    #[serde(rename = "FailureKind", serialize_with = "kind_of_worker_failure")]
    #[schemars(with = "Option<FailureKind>")]
    pub failure: Option<WorkerFailure>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum Outcome {
    /// Done (or nothing needed doing).
    Done,
    /// Dry run: would be done.
    Planned,
    /// Failed; the failure says why.
    Failed,
    /// Not attempted because the run was interrupted; or sent, but abandoned by the
    /// interruption before its answer (the reason says so: it may or may not have been
    /// applied, and a re-run settles it).
    NotAttempted,
}

/// The kind of a failure, as reports and callers classify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub enum FailureKind {
    /// 401/403: the API key (or token) may not do this.
    PermissionRefused,
    /// A space, pool, policy or worker does not exist.
    NotFound,
    /// A name matches several spaces, pools or policies ignoring case, and none exactly.
    Ambiguous,
    /// The server refused the request (400 validation).
    Rejected,
    /// The server could not be reached (after retries).
    Unreachable,
    /// A write's outcome stayed unknown after re-reading and retrying.
    OutcomeUnknown,
    /// The target pool is a dynamic worker pool: Octopus does not allow adding workers to it.
    DynamicPool,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The kind of failure an API error stands for.
    pub fn of(error: &octoshare_core::ApiError) -> FailureKind {
        if error.is_auth_failure() {
            FailureKind::PermissionRefused
        } else if error.is_not_found() {
            FailureKind::NotFound
        } else if matches!(error, octoshare_core::ApiError::Validation { .. }) {
            FailureKind::Rejected
        } else if error.outcome_unknown() {
            FailureKind::OutcomeUnknown
        } else if error.is_unreachable() {
            FailureKind::Unreachable
        } else {
            FailureKind::Other
        }
    }
}

/// Why a target space failed as a whole (nothing was done there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpaceFailure {
    /// The target entry names no space, or several.
    #[error("{0}")]
    Unresolved(ResolveError),
    /// Reading the space (its pools, machine policies or workers) failed.
    #[error("cannot read the space: {message}")]
    Unreadable {
        /// What kind of failure.
        kind: FailureKind,
        /// The error, one line.
        message: String,
        /// For a refusal (403): the permission the key lacks there.
        permission: Option<String>,
    },
    /// The space has no pool of that name, or several.
    #[error("{0}")]
    Pool(ResolveError),
    /// The space's pool of that name is a dynamic worker pool: nothing is written there.
    #[error(
        "its pool '{}' ({}) is a dynamic worker pool: Octopus does not allow adding workers to a dynamic pool, so nothing was written in this space",
        pool.name, pool.id
    )]
    DynamicPool {
        /// The pool.
        pool: PoolRef,
    },
    /// The space has no machine policy of the name asked for.
    #[error(
        "the space has no machine policy named '{name}' (policies there: {})",
        quoted(available)
    )]
    MachinePolicyNotFound {
        /// The policy name asked for.
        name: String,
        /// The names of the space's policies.
        available: Vec<String>,
    },
    /// Several machine policies of the space match the name ignoring case, none exactly.
    #[error("the space has {} machine policies named '{name}' ignoring case and none exactly: {}", candidates.len(), quoted(candidates))]
    AmbiguousMachinePolicy {
        /// The policy name asked for.
        name: String,
        /// The matching policies' names.
        candidates: Vec<String>,
    },
}

impl SpaceFailure {
    /// The kind of this failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            SpaceFailure::Unresolved(error) | SpaceFailure::Pool(error) => match error {
                ResolveError::SpaceNotFound { .. } | ResolveError::PoolNotFound { .. } => {
                    FailureKind::NotFound
                }
                ResolveError::AmbiguousSpace { .. } | ResolveError::AmbiguousPool { .. } => {
                    FailureKind::Ambiguous
                }
            },
            SpaceFailure::Unreadable { kind, .. } => *kind,
            SpaceFailure::DynamicPool { .. } => FailureKind::DynamicPool,
            SpaceFailure::MachinePolicyNotFound { .. } => FailureKind::NotFound,
            SpaceFailure::AmbiguousMachinePolicy { .. } => FailureKind::Ambiguous,
        }
    }

    /// The permission a refusal (403) says the key lacks in the space.
    pub fn permission(&self) -> Option<&str> {
        match self {
            SpaceFailure::Unreadable { permission, .. } => permission.as_deref(),
            _ => None,
        }
    }

    /// A space whose reading failed with `error`.
    pub(crate) fn unreadable(error: &octoshare_core::ApiError) -> SpaceFailure {
        SpaceFailure::Unreadable {
            kind: FailureKind::of(error),
            message: error.to_string(),
            permission: PermissionRefusal::of(error).map(|refusal| refusal.permission.to_string()),
        }
    }
}

/// Why one worker's action failed in a target space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerFailure {
    /// The write was refused for lack of permission (401/403).
    #[error("{write} refused: {message}")]
    PermissionRefused {
        /// What was being written, e.g. `creating worker 'a'`.
        write: String,
        /// The server's refusal, one line (it names the permission).
        message: String,
        /// The permission the key lacks in the space (`WorkerEdit` unless the server named
        /// another); `None` for a 401 (the key itself was refused).
        permission: Option<String>,
    },
    /// A create needs a machine policy and the space's cannot be used (found only when a
    /// create came up after re-reading the space; otherwise the space fails as a whole).
    #[error("{message}")]
    MachinePolicyUnavailable {
        /// What kind of failure.
        kind: FailureKind,
        /// Why, one line.
        message: String,
    },
    /// The source worker refers to a proxy or account the target space has none of (by name):
    /// nothing was written for this worker.
    #[error(
        "the space has no {reference} named '{name}' (the source worker's {reference}, which its copy must use; {} there: {}): nothing was written for this worker",
        reference.plural(),
        quoted(available)
    )]
    ReferenceNotFound {
        /// Proxy or account.
        reference: ReferenceKind,
        /// The source's proxy or account name.
        name: String,
        /// The names the target space has.
        available: Vec<String>,
    },
    /// Several proxies or accounts of the target space match the name ignoring case, none
    /// exactly: nothing was written for this worker.
    #[error(
        "the space has {} {} named '{name}' ignoring case and none exactly ({}): nothing was written for this worker",
        candidates.len(),
        reference.plural(),
        quoted(candidates)
    )]
    AmbiguousReference {
        /// Proxy or account.
        reference: ReferenceKind,
        /// The source's proxy or account name.
        name: String,
        /// The matching names.
        candidates: Vec<String>,
    },
    /// The source worker's `ProxyId`/`AccountId` names no proxy or account of the source space.
    #[error(
        "the source worker's {} '{id}' names no {reference} of the source space: nothing was written for this worker",
        reference.field()
    )]
    SourceReferenceNotFound {
        /// Proxy or account.
        reference: ReferenceKind,
        /// The Id the source endpoint holds.
        id: String,
    },
    /// Reading the proxies or accounts needed to map the worker's reference failed.
    #[error("cannot read the {} of the {} space: {message}", reference.plural(), if *in_source { "source" } else { "target" })]
    ReferencesUnreadable {
        /// Proxy or account.
        reference: ReferenceKind,
        /// Whether the source space's list could not be read (else the target's).
        in_source: bool,
        /// What kind of failure.
        kind: FailureKind,
        /// The error, one line.
        message: String,
        /// For a refusal (403): the permission the key lacks there.
        permission: Option<String>,
    },
    /// Not sent because an earlier write in the same space was refused (401/403).
    #[error("not attempted: an earlier write in this space was refused (401/403)")]
    EarlierWriteRefused,
    /// The server refused to change a stale registration's endpoint to one of another type
    /// (Octopus cannot change the endpoint type of an existing worker).
    #[error(
        "{write} failed: {message}: Octopus cannot change the endpoint type of an existing worker ({from} to {to})"
    )]
    EndpointTypeChangeRefused {
        /// What was being written.
        write: String,
        /// The stale registration's communication style.
        from: String,
        /// The source endpoint's communication style.
        to: String,
        /// The server's refusal, one line.
        message: String,
    },
    /// The server refused the write for another reason.
    #[error("{write} failed: {message}")]
    Refused {
        /// What was being written.
        write: String,
        /// What kind of refusal.
        kind: FailureKind,
        /// The server's refusal, one line.
        message: String,
    },
    /// The write may or may not have been applied, and re-reading the space failed.
    #[error(
        "{write} may or may not have been applied ({message}), and re-reading the space failed ({reread}): run the step again to converge"
    )]
    Unsettled {
        /// What was being written.
        write: String,
        /// The write's error.
        message: String,
        /// The re-read's error.
        reread: String,
    },
    /// The write was still not applied after every attempt.
    #[error(
        "{write} still not applied after {attempts} attempts (last: {message}): run the step again to converge"
    )]
    NotApplied {
        /// What was being written.
        write: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        message: String,
    },
}

impl WorkerFailure {
    /// The kind of this failure.
    pub fn kind(&self) -> FailureKind {
        match self {
            WorkerFailure::ReferenceNotFound { .. }
            | WorkerFailure::SourceReferenceNotFound { .. } => FailureKind::NotFound,
            WorkerFailure::AmbiguousReference { .. } => FailureKind::Ambiguous,
            WorkerFailure::MachinePolicyUnavailable { kind, .. }
            | WorkerFailure::ReferencesUnreadable { kind, .. } => *kind,
            WorkerFailure::PermissionRefused { .. } | WorkerFailure::EarlierWriteRefused => {
                FailureKind::PermissionRefused
            }
            WorkerFailure::EndpointTypeChangeRefused { .. } => FailureKind::Rejected,
            WorkerFailure::Refused { kind, .. } => *kind,
            WorkerFailure::Unsettled { .. } | WorkerFailure::NotApplied { .. } => {
                FailureKind::OutcomeUnknown
            }
        }
    }
}

impl WorkerFailure {
    /// The permission a refusal (403) says the key lacks in the space.
    pub fn permission(&self) -> Option<&str> {
        match self {
            WorkerFailure::PermissionRefused { permission, .. }
            | WorkerFailure::ReferencesUnreadable { permission, .. } => permission.as_deref(),
            _ => None,
        }
    }
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a share ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareVerdict {
    /// Nothing failed and nothing was left undone.
    Done,
    /// Some spaces or workers failed, and something else was done (or failed for another
    /// reason than a refused permission).
    Failed,
    /// Every failure was a refused permission (401/403) and no write was done: the fix is the
    /// key's permissions.
    PermissionRefused,
    /// The run was interrupted (whatever else happened: the report still lists every failure,
    /// and the process exits with the signal's code).
    Interrupted,
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

    /// Every failure's kind, spaces first.
    fn failure_kinds(&self) -> impl Iterator<Item = FailureKind> + '_ {
        self.spaces.iter().flat_map(|space| {
            space
                .failure
                .as_ref()
                .map(SpaceFailure::kind)
                .into_iter()
                .chain(
                    space
                        .workers
                        .iter()
                        .filter_map(|worker| worker.failure.as_ref().map(WorkerFailure::kind)),
                )
        })
    }

    /// Whether any failure was a refused permission (401/403).
    pub fn permission_refused(&self) -> bool {
        self.failure_kinds()
            .any(|kind| kind == FailureKind::PermissionRefused)
    }

    /// How many writes were done (not planned: a dry run does none).
    pub fn writes_done(&self) -> u64 {
        self.spaces
            .iter()
            .flat_map(|space| &space.workers)
            .filter(|worker| worker.outcome == Outcome::Done && worker.action.writes())
            .count() as u64
    }

    /// Every permission refusal as (space label, permission name), in the targets' order,
    /// without repeats.
    pub fn refused_permissions(&self) -> Vec<(String, String)> {
        let mut refused: Vec<(String, String)> = Vec::new();
        for space in &self.spaces {
            let permissions = space
                .failure
                .as_ref()
                .and_then(SpaceFailure::permission)
                .into_iter()
                .chain(space.workers.iter().filter_map(|worker| {
                    worker.failure.as_ref().and_then(WorkerFailure::permission)
                }));
            for permission in permissions {
                let entry = (space.label(), permission.to_owned());
                if !refused.contains(&entry) {
                    refused.push(entry);
                }
            }
        }
        refused
    }

    /// How the share ended: [`ShareVerdict::Interrupted`] when it was interrupted while it ran
    /// (whatever else failed), [`ShareVerdict::PermissionRefused`] when every failure was a
    /// refused permission and no write was done (every write it tried was refused),
    /// [`ShareVerdict::Failed`] for any other failure (some writes refused while others were
    /// done included), else interrupted (something not attempted) or done.
    pub fn verdict(&self) -> ShareVerdict {
        if self.interrupted {
            ShareVerdict::Interrupted
        } else if self.totals.failed > 0 {
            let only_refusals = self
                .failure_kinds()
                .all(|kind| kind == FailureKind::PermissionRefused);
            if only_refusals && self.writes_done() == 0 {
                ShareVerdict::PermissionRefused
            } else {
                ShareVerdict::Failed
            }
        } else if self.totals.not_attempted > 0 || self.interrupted {
            ShareVerdict::Interrupted
        } else {
            ShareVerdict::Done
        }
    }

    /// How many source workers are shared.
    pub fn shared_worker_count(&self) -> usize {
        self.source_workers
            .iter()
            .filter(|worker| worker.shared)
            .count()
    }
}

impl fmt::Display for ShareVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShareVerdict::Done => "done",
            ShareVerdict::Failed => "failed",
            ShareVerdict::PermissionRefused => "permission refused",
            ShareVerdict::Interrupted => "interrupted",
        })
    }
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
            failure: (outcome == Outcome::Failed).then(|| WorkerFailure::Refused {
                write: format!("creating worker '{name}'"),
                kind: FailureKind::Rejected,
                message: "400".to_owned(),
            }),
        }
    }

    fn space_ref(id: &str) -> SpaceRef {
        SpaceRef::new(id, format!("name of {id}"))
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
    fn verdicts_follow_failures() {
        let ok = report(vec![SpaceResult::with_workers(
            "Spaces-2",
            space_ref("Spaces-2"),
            vec![worker("a", Action::Create, Outcome::Done)],
        )]);
        assert_eq!(ok.verdict(), ShareVerdict::Done);

        let partial = report(vec![SpaceResult::failed(
            "Nope",
            None,
            SpaceFailure::Unresolved(ResolveError::SpaceNotFound {
                wanted: "Nope".to_owned(),
                searched: 3,
            }),
        )]);
        assert_eq!(partial.verdict(), ShareVerdict::Failed);
        assert_eq!(partial.totals.failed, 1);
        assert_eq!(
            partial.spaces[0].reason.as_deref(),
            Some("no space has the name or Id 'Nope' (3 spaces searched)")
        );

        let mut refused = worker("a", Action::Create, Outcome::Failed);
        refused.failure = Some(WorkerFailure::EarlierWriteRefused);
        let denied = report(vec![SpaceResult::with_workers(
            "Spaces-2",
            space_ref("Spaces-2"),
            vec![refused],
        )]);
        assert_eq!(denied.verdict(), ShareVerdict::PermissionRefused);

        let mut interrupted = report(vec![SpaceResult::not_attempted(
            "Spaces-2",
            Some(space_ref("Spaces-2")),
        )]);
        interrupted.interrupted = true;
        assert_eq!(interrupted.verdict(), ShareVerdict::Interrupted);

        // An interruption decides the verdict even when something also failed: the failures
        // stay in the report and the totals.
        let mut failed_then_interrupted = denied.clone();
        failed_then_interrupted.interrupted = true;
        assert_eq!(failed_then_interrupted.verdict(), ShareVerdict::Interrupted);
        assert_eq!(failed_then_interrupted.totals.failed, 1);
    }

    #[test]
    fn permission_refused_only_when_every_write_was_refused() {
        let refused = |name: &str| WorkerResult {
            failure: Some(WorkerFailure::PermissionRefused {
                write: format!("creating worker '{name}'"),
                message: "POST /api/Spaces-2/workers was refused (403)".to_owned(),
                permission: Some("WorkerEdit".to_owned()),
            }),
            ..worker(name, Action::Create, Outcome::Failed)
        };
        let all_refused = report(vec![
            SpaceResult::with_workers("Spaces-2", space_ref("Spaces-2"), vec![refused("a")]),
            SpaceResult::with_workers(
                "Spaces-3",
                space_ref("Spaces-3"),
                vec![worker("a", Action::Unchanged, Outcome::Done)],
            ),
        ]);
        assert_eq!(all_refused.verdict(), ShareVerdict::PermissionRefused);
        assert_eq!(
            all_refused.refused_permissions(),
            vec![(
                "'name of Spaces-2' (Spaces-2)".to_owned(),
                "WorkerEdit".to_owned()
            )]
        );
        let some_refused = report(vec![
            SpaceResult::with_workers("Spaces-2", space_ref("Spaces-2"), vec![refused("a")]),
            SpaceResult::with_workers(
                "Spaces-3",
                space_ref("Spaces-3"),
                vec![worker("a", Action::Create, Outcome::Done)],
            ),
        ]);
        assert_eq!(some_refused.verdict(), ShareVerdict::Failed);
        let mixed_failures = report(vec![SpaceResult::with_workers(
            "Spaces-2",
            space_ref("Spaces-2"),
            vec![refused("a"), worker("b", Action::Create, Outcome::Failed)],
        )]);
        assert_eq!(mixed_failures.verdict(), ShareVerdict::Failed);
    }

    #[test]
    fn report_serialises_with_pascal_case_keys_and_failure_kinds() {
        let report = report(vec![
            SpaceResult::with_workers(
                "Spaces-2",
                space_ref("Spaces-2"),
                vec![
                    worker("a", Action::AddToPool, Outcome::Planned),
                    worker("b", Action::Create, Outcome::Failed),
                ],
            ),
            SpaceResult::skipped("Spaces-1", Some(space_ref("Spaces-1")), "source".to_owned()),
        ]);
        let value = serde_json::to_value(&report).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            vec![
                "SourceSpace",
                "WorkerPoolName",
                "DryRun",
                "Interrupted",
                "Totals",
                "SourceWorkers",
                "Spaces"
            ]
        );
        assert_eq!(value["SourceSpace"]["Id"], "Spaces-1");
        assert_eq!(value["Totals"]["NotAttempted"], 0);
        let first = &value["Spaces"][0]["Workers"][0];
        assert_eq!(first["Action"], "AddToPool");
        assert_eq!(first["Outcome"], "Planned");
        assert_eq!(first["FailureKind"], serde_json::Value::Null);
        assert_eq!(value["Spaces"][0]["Workers"][1]["FailureKind"], "Rejected");
        assert_eq!(value["Spaces"][1]["Status"], "Skipped");
    }
}
