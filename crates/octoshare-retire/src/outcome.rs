//! What a retirement did: per registration, per space, the tasks it broke, and the totals the
//! output variables are made of.

use std::collections::BTreeSet;
use std::time::Duration;

use octoshare_core::domain::SpaceRef;
use octoshare_core::{SpaceId, TaskId, WorkerTaskLeaseId};
use serde::Serialize;

use crate::select::Registration;

/// Where a registration ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum RegistrationState {
    /// Found and left as it was (a dry run, or interrupted before it was disabled).
    Found,
    /// Disabled (by this run, or already), not deleted yet: interrupted while draining.
    Disabled,
    /// Deleted by this run.
    Deleted,
    /// Gone before this run deleted it (deleted by someone else meanwhile).
    Gone,
    /// Still held by a task when the drain timed out: left disabled, never deleted.
    StillBusy,
    /// A request about it failed; see the error.
    Failed,
}

impl RegistrationState {
    /// Deleted or gone: the space no longer has it.
    pub fn is_retired(self) -> bool {
        matches!(self, RegistrationState::Deleted | RegistrationState::Gone)
    }
}

/// A summary of a server task, when it could be read (`TaskView`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TaskSummary {
    /// The task type (`Deploy`, `RunbookRun`, ...).
    pub name: String,
    /// What it does.
    pub description: String,
    /// `Executing`, `Canceled`, ...
    pub state: String,
    /// Whether it has finished: a finished task still holding a lease left an orphaned lease
    /// behind (OctopusDeploy/Issues#9692), which only a server restart clears.
    pub is_completed: bool,
}

/// A task's hold on a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LeaseReport {
    /// `WorkerTaskLeases-N`.
    pub lease_id: WorkerTaskLeaseId,
    /// The task holding it.
    pub task_id: Option<TaskId>,
    /// When it was taken, as the server wrote it.
    pub taken_at: Option<String>,
    /// How long it has been held, when `TakenAt` could be read.
    pub age_seconds: Option<u64>,
    /// Whether it is older than the drain timeout: an operator should look at that task.
    pub older_than_drain_timeout: bool,
    /// The task, when it could be read.
    pub task: Option<TaskSummary>,
}

impl LeaseReport {
    /// Whether the task holding it has already finished (an orphaned lease).
    pub fn is_orphaned(&self) -> bool {
        self.task.as_ref().is_some_and(|task| task.is_completed)
    }
}

/// One registration and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RegistrationReport {
    /// The registration.
    #[serde(flatten)]
    pub registration: Registration,
    /// Where it ended up.
    pub state: RegistrationState,
    /// The leases holding it when last seen (empty once it is deleted).
    pub leases: Vec<LeaseReport>,
    /// Why it failed, or what the server said when it refused the delete.
    pub error: Option<String>,
}

/// A space whose workers could not be read with this key (a 403: it lacks `WorkerView`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SkippedSpace {
    /// The space.
    pub space: SpaceRef,
    /// The server's refusal.
    pub reason: String,
}

/// A space that could not be searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FailedSpace {
    /// The space.
    pub space: SpaceRef,
    /// Why.
    pub error: String,
}

/// A task `force` cancelled (or tried to) because it held a registration past the drain timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ForcedTask {
    /// The task.
    pub task_id: TaskId,
    /// The space of the registration it held.
    pub space: SpaceRef,
    /// The workers (names in that space) it held.
    pub worker_names: Vec<String>,
    /// The task as read before cancelling, when it could be read.
    pub task: Option<TaskSummary>,
    /// Whether the cancel was accepted.
    pub cancelled: bool,
    /// Why it was not (an orphaned lease, a refused cancel, ...).
    pub error: Option<String>,
}

/// How a retirement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum RetireStatus {
    /// Every registration found is gone.
    Retired,
    /// No registration of the endpoint was found: nothing to do.
    NothingToRetire,
    /// A dry run: registrations found and their leases read, nothing written.
    DryRun,
    /// The drain timed out: some registrations are still held by a task (left disabled).
    StillBusy,
    /// Something failed (a space could not be searched, a write was refused, ...); everything
    /// else was done.
    Failed,
    /// Cancelled (SIGINT/SIGTERM): no new request was started; every registration is as found,
    /// disabled or deleted.
    Interrupted,
}

/// The result of a retirement.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RetireOutcome {
    /// How it ended.
    pub status: RetireStatus,
    /// What was retired (`worker 'NAME'`, `thumbprint ...`).
    pub selector: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether `force` was asked for.
    pub force: bool,
    /// How many spaces were searched.
    pub spaces_searched: usize,
    /// Spaces this key cannot read (not searched).
    pub skipped_spaces: Vec<SkippedSpace>,
    /// Spaces that could not be searched.
    pub failed_spaces: Vec<FailedSpace>,
    /// Every registration found, in the server's space order.
    pub registrations: Vec<RegistrationReport>,
    /// Spaces whose server has no lease endpoint (before Octopus 2024.2) or refused it: there,
    /// a refused DELETE told whether the worker was busy.
    pub spaces_without_lease_endpoint: Vec<SpaceRef>,
    /// Tasks cancelled by `force`.
    pub forced_tasks: Vec<ForcedTask>,
    /// Rounds of lease polling.
    pub drain_polls: u32,
    /// Whether a write was refused for lack of permission (403).
    pub permission_refused: bool,
    /// How long the retirement took.
    #[serde(rename = "ElapsedMs", serialize_with = "serialize_millis")]
    #[schemars(with = "u64")]
    pub elapsed: Duration,
    /// The drain timeout.
    #[serde(rename = "DrainTimeoutMs", serialize_with = "serialize_millis")]
    #[schemars(with = "u64")]
    pub drain_timeout: Duration,
}

fn serialize_millis<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

impl RetireOutcome {
    /// Registrations this run deleted (`RetiredWorkerCount`; in a dry run, the registrations
    /// a real run would retire).
    pub fn retired_worker_count(&self) -> u64 {
        let count = if self.dry_run {
            self.registrations.len()
        } else {
            self.in_state(RegistrationState::Deleted).count()
        };
        count as u64
    }

    /// Spaces where every registration found is now gone (`RetiredSpaceIds`; in a dry run, the
    /// spaces a real run would retire it from), in the server's order.
    pub fn retired_space_ids(&self) -> Vec<SpaceId> {
        let spaces = self.spaces();
        spaces
            .into_iter()
            .filter(|space| {
                self.dry_run
                    || self
                        .registrations
                        .iter()
                        .filter(|report| &report.registration.space.id == space)
                        .all(|report| report.state.is_retired())
            })
            .collect()
    }

    /// Spaces where a registration is still held by a task (`StillBusySpaceIds`; in a dry run,
    /// the spaces where a task holds one now), in the server's order.
    pub fn still_busy_space_ids(&self) -> Vec<SpaceId> {
        let busy: BTreeSet<&SpaceId> = self
            .registrations
            .iter()
            .filter(|report| {
                report.state == RegistrationState::StillBusy
                    || (self.dry_run && !report.leases.is_empty())
            })
            .map(|report| &report.registration.space.id)
            .collect();
        self.spaces()
            .into_iter()
            .filter(|space| busy.contains(space))
            .collect()
    }

    /// Registrations that failed plus spaces that could not be searched.
    pub fn failed_count(&self) -> u64 {
        (self.in_state(RegistrationState::Failed).count() + self.failed_spaces.len()) as u64
    }

    /// The registrations in a state.
    pub fn in_state(&self, state: RegistrationState) -> impl Iterator<Item = &RegistrationReport> {
        self.registrations
            .iter()
            .filter(move |report| report.state == state)
    }

    /// The spaces holding a registration, in the server's order, once each.
    fn spaces(&self) -> Vec<SpaceId> {
        let mut seen = BTreeSet::new();
        self.registrations
            .iter()
            .map(|report| &report.registration.space.id)
            .filter(|space| seen.insert(*space))
            .cloned()
            .collect()
    }
}
