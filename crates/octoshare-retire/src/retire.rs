//! The retirement itself: search every space once, disable every registration, drain (poll the
//! lease endpoint, deleting each registration as soon as no task holds it), then report.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use octoshare_core::domain::{DEFAULT_CONCURRENCY, SpaceRef};
use octoshare_core::{ApiError, Client, SpaceId, Task, TaskId, WorkerTaskLease};
use tokio_util::sync::CancellationToken;

use crate::clock::DrainClock;
use crate::outcome::{
    FailedSpace, ForcedTask, LeaseReport, RegistrationReport, RegistrationState, RetireOutcome,
    RetireStatus, SkippedSpace, TaskSummary,
};
use crate::select::{Listing, WorkerSelector, select};
use crate::sink::{
    BusyRegistration, Change, DrainProgress, RegistrationChange, RetireSink, SearchStart,
};
use crate::timestamp;

/// The first pause between two rounds of lease polling; each next pause doubles, up to
/// [`RetireConfig::poll_interval`].
pub const FIRST_POLL_DELAY: Duration = Duration::from_secs(1);

/// The drain timeout unless told otherwise.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The longest pause between two rounds of lease polling unless told otherwise.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// How long `force` waits for the leases of the tasks it cancelled to end.
pub const DEFAULT_FORCE_GRACE: Duration = Duration::from_secs(2 * 60);

/// How to retire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetireConfig {
    /// What to retire.
    pub selector: WorkerSelector,
    /// How long to wait for the tasks holding the registrations to end.
    pub drain_timeout: Duration,
    /// The longest pause between two rounds of lease polling (the first is
    /// [`FIRST_POLL_DELAY`] or this, whichever is shorter; each next one doubles).
    pub poll_interval: Duration,
    /// After the drain timeout, cancel the tasks still holding a registration and delete it.
    pub force: bool,
    /// How long `force` waits for the cancelled tasks' leases to end.
    pub force_grace: Duration,
    /// Only read: find the registrations and their leases, change nothing.
    pub dry_run: bool,
    /// How many spaces are read or written at once (0 is read as 1).
    pub concurrency: usize,
}

impl RetireConfig {
    /// The defaults: a 30 minute drain, polls backing off to 10 s, no force, no dry run, 16
    /// spaces at once.
    pub fn new(selector: WorkerSelector) -> RetireConfig {
        RetireConfig {
            selector,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            force: false,
            force_grace: DEFAULT_FORCE_GRACE,
            dry_run: false,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Which spaces are searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetireScope {
    /// Every space the key can read (`GET /api/spaces/all`).
    AllSpaces,
    /// These spaces (e.g. the ones having a pool, from discover).
    Spaces(Vec<SpaceRef>),
}

/// Why a retirement could not start. Everything after the list of spaces is per space or per
/// registration and ends up in the [`RetireOutcome`] instead.
///
/// Not `#[non_exhaustive]` at the enum level on purpose: the command-line layer maps every
/// variant to an exit code with a `match` that has no wildcard.
#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    /// Listing the spaces failed.
    #[error("while listing spaces")]
    ListSpaces(#[source] Box<ApiError>),
}

/// How a space's busy workers are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeaseMode {
    /// `GET /api/{space}/workertaskleases`: a leased registration is never sent a DELETE.
    Endpoint,
    /// No lease endpoint: try the DELETE; Octopus refuses it while a task holds the worker.
    Refusal,
}

/// What one round did to one registration.
#[derive(Debug)]
enum Step {
    Deleted,
    Gone,
    Busy(Vec<WorkerTaskLease>),
    Refused(String),
    /// A transient failure; `unsettled` when a write may have been applied and reading it back
    /// failed too (the registration's state is then unknown until a later round settles it).
    Transient {
        message: String,
        unsettled: bool,
    },
    Failed {
        message: String,
        status: Option<u16>,
    },
    NotStarted,
}

/// One space's round.
#[derive(Debug)]
struct SpaceRound {
    space: SpaceRef,
    endpoint_missing: Option<String>,
    transient: Option<String>,
    steps: Vec<(usize, Step)>,
}

/// How a drain loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DrainEnd {
    Drained,
    TimedOut,
    Interrupted,
}

/// Retires the registrations `config.selector` names in the spaces of `scope`, with Tokio's
/// clock. See the crate documentation for the order of requests.
pub async fn retire(
    client: &Client,
    scope: &RetireScope,
    config: &RetireConfig,
    sink: &mut impl RetireSink,
    cancel: &CancellationToken,
) -> Result<RetireOutcome, RetireError> {
    retire_with_clock(
        client,
        scope,
        config,
        sink,
        cancel,
        &crate::TokioClock::new(),
    )
    .await
}

/// [`retire`] with a given clock (tests drive the drain's schedule with it).
pub async fn retire_with_clock(
    client: &Client,
    scope: &RetireScope,
    config: &RetireConfig,
    sink: &mut impl RetireSink,
    cancel: &CancellationToken,
    clock: &impl DrainClock,
) -> Result<RetireOutcome, RetireError> {
    let mut run = Run {
        client,
        config,
        sink,
        cancel,
        clock,
        started: clock.now(),
        reports: Vec::new(),
        modes: HashMap::new(),
        outcome: RetireOutcome {
            status: RetireStatus::Retired,
            selector: config.selector.to_string(),
            dry_run: config.dry_run,
            force: config.force,
            spaces_searched: 0,
            skipped_spaces: Vec::new(),
            failed_spaces: Vec::new(),
            registrations: Vec::new(),
            spaces_without_lease_endpoint: Vec::new(),
            forced_tasks: Vec::new(),
            drain_polls: 0,
            permission_refused: false,
            elapsed: Duration::ZERO,
            drain_timeout: config.drain_timeout,
        },
        last_refusal: HashMap::new(),
        unsettled: std::collections::HashSet::new(),
    };
    let status = run.go(scope).await?;
    Ok(run.finish(status))
}

struct Run<'a, S, C> {
    client: &'a Client,
    config: &'a RetireConfig,
    sink: &'a mut S,
    cancel: &'a CancellationToken,
    clock: &'a C,
    started: Duration,
    reports: Vec<RegistrationReport>,
    modes: HashMap<SpaceId, LeaseMode>,
    outcome: RetireOutcome,
    /// The last delete refusal reported per registration (reported again only when it changes).
    last_refusal: HashMap<usize, String>,
    /// Registrations a write may have changed without the change being read back.
    unsettled: std::collections::HashSet<usize>,
}

impl<S: RetireSink, C: DrainClock> Run<'_, S, C> {
    fn concurrency(&self) -> usize {
        self.config.concurrency.max(1)
    }

    async fn go(&mut self, scope: &RetireScope) -> Result<Option<RetireStatus>, RetireError> {
        let spaces = match scope {
            RetireScope::Spaces(spaces) => spaces.clone(),
            RetireScope::AllSpaces => {
                let listed = tokio::select! {
                    biased;
                    () = self.cancel.cancelled() => return Ok(Some(RetireStatus::Interrupted)),
                    listed = self.client.spaces().all() => listed,
                };
                listed
                    .map_err(|error| RetireError::ListSpaces(Box::new(error)))?
                    .iter()
                    .map(SpaceRef::from)
                    .collect()
            }
        };
        self.outcome.spaces_searched = spaces.len();
        let selector = self.config.selector.to_string();
        self.sink.searching(&SearchStart {
            selector: &selector,
            spaces: spaces.len(),
            dry_run: self.config.dry_run,
            by_name: matches!(self.config.selector, WorkerSelector::Name(_)),
        });

        // Search: one listing per space.
        let Some(listings) = self.read_listings(&spaces).await else {
            return Ok(Some(RetireStatus::Interrupted));
        };
        let selection = select(&self.config.selector, &listings);
        for problem in selection.problems {
            self.sink.space_failed(&problem.space, &problem.message);
            self.outcome.failed_spaces.push(FailedSpace {
                space: problem.space,
                error: problem.message,
            });
        }
        self.sink.found(&selection.registrations);
        self.reports = selection
            .registrations
            .into_iter()
            .map(|registration| RegistrationReport {
                registration,
                state: RegistrationState::Found,
                leases: Vec::new(),
                error: None,
            })
            .collect();
        if self.reports.is_empty() {
            return Ok(None);
        }
        for report in &self.reports {
            self.modes
                .insert(report.registration.space.id.clone(), LeaseMode::Endpoint);
        }

        if self.config.dry_run {
            self.read_current_leases().await;
            self.describe_tasks().await;
            return Ok(Some(RetireStatus::DryRun));
        }

        // Disable everywhere first.
        if !self.disable_all().await {
            return Ok(Some(RetireStatus::Interrupted));
        }
        let pending = self.pending().len();
        self.sink.draining(pending, self.config.drain_timeout);

        // Drain, deleting each registration as soon as nothing holds it.
        let deadline = self.clock.now() + self.config.drain_timeout;
        match self.drain(deadline, false).await {
            DrainEnd::Interrupted => return Ok(Some(RetireStatus::Interrupted)),
            DrainEnd::Drained => {}
            DrainEnd::TimedOut => {
                self.describe_tasks().await;
                if self.config.force {
                    if !self.force().await {
                        return Ok(Some(RetireStatus::Interrupted));
                    }
                    // Only a cancelled task lets its leases go: without one, waiting is moot.
                    if self.outcome.forced_tasks.iter().any(|task| task.cancelled) {
                        let grace = self.clock.now() + self.config.force_grace;
                        if self.drain(grace, true).await == DrainEnd::Interrupted {
                            return Ok(Some(RetireStatus::Interrupted));
                        }
                        self.describe_tasks().await;
                    }
                }
            }
        }
        self.settle_timed_out();
        Ok(None)
    }

    /// Every space's workers (`/workers/all`), at most `concurrency` at once; `None` when
    /// interrupted. Unreadable spaces are skipped, failed ones recorded.
    async fn read_listings(&mut self, spaces: &[SpaceRef]) -> Option<Vec<Listing>> {
        let client = self.client;
        let reads = futures::stream::iter(spaces.iter().cloned().enumerate())
            .map(|(index, space)| {
                let read = client.workers(&space.id).all();
                async move { (index, space, read.await) }
            })
            .buffer_unordered(self.concurrency())
            .collect::<Vec<_>>();
        let mut results = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return None,
            results = reads => results,
        };
        results.sort_by_key(|(index, _, _)| *index);
        let mut listings = Vec::new();
        for (_, space, result) in results {
            match result {
                Ok(workers) => listings.push(Listing { space, workers }),
                Err(error) if error.status() == Some(403) || error.is_not_found() => {
                    let reason = error.to_string();
                    self.sink.space_skipped(&space, &reason);
                    self.outcome
                        .skipped_spaces
                        .push(SkippedSpace { space, reason });
                }
                Err(error) => {
                    let message = format!("while listing the workers of {space}: {error}");
                    self.sink.space_failed(&space, &message);
                    self.outcome.failed_spaces.push(FailedSpace {
                        space,
                        error: message,
                    });
                }
            }
        }
        Some(listings)
    }

    /// Disables every registration not disabled yet (`PUT` of the resource as read with
    /// `IsDisabled: true`), at most `concurrency` at once. Returns `false` when interrupted.
    async fn disable_all(&mut self) -> bool {
        let mut to_disable = Vec::new();
        for index in 0..self.reports.len() {
            if self.reports[index].registration.was_disabled {
                self.reports[index].state = RegistrationState::Disabled;
                self.sink.changed(&RegistrationChange {
                    registration: &self.reports[index].registration,
                    change: Change::AlreadyDisabled,
                });
            } else {
                to_disable.push(index);
            }
        }
        let client = self.client;
        let cancel = self.cancel;
        let jobs: Vec<_> = to_disable
            .into_iter()
            .map(|index| {
                let registration = &self.reports[index].registration;
                (
                    index,
                    registration.space.id.clone(),
                    registration.worker.clone(),
                )
            })
            .collect();
        let mut results = futures::stream::iter(jobs)
            .map(|(index, space, worker)| async move {
                if cancel.is_cancelled() {
                    return (index, None);
                }
                match disable_one(client, &space, worker).await {
                    // Cancelled before it was sent: nothing happened to it.
                    Err(error) if error.is_interrupted() && !error.outcome_unknown() => {
                        (index, None)
                    }
                    result => (index, Some(result)),
                }
            })
            .buffer_unordered(self.concurrency());
        while let Some((index, result)) = results.next().await {
            let Some(result) = result else { continue };
            let report = &mut self.reports[index];
            let change = match result {
                Ok(DisableResult::Disabled) => {
                    report.state = RegistrationState::Disabled;
                    Change::Disabled
                }
                Ok(DisableResult::Gone) => {
                    report.state = RegistrationState::Gone;
                    Change::Gone
                }
                Err(error) => {
                    if error.status() == Some(403) {
                        self.outcome.permission_refused = true;
                    }
                    report.state = RegistrationState::Failed;
                    report.error = Some(format!(
                        "while disabling {} ({}) in {}: {error}",
                        report.registration.worker_name,
                        report.registration.worker_id,
                        report.registration.space
                    ));
                    Change::Failed(report.error.as_deref().unwrap_or_default())
                }
            };
            self.sink.changed(&RegistrationChange {
                registration: &report.registration,
                change,
            });
        }
        !self.cancel.is_cancelled()
    }

    /// Registrations disabled and not yet gone, by index.
    fn pending(&self) -> Vec<usize> {
        (0..self.reports.len())
            .filter(|&index| self.reports[index].state == RegistrationState::Disabled)
            .collect()
    }

    /// Polls until nothing is pending, `deadline` (on the drain clock) passes, or the run is
    /// cancelled: the first round at once, then after pauses that double from
    /// [`FIRST_POLL_DELAY`] up to the poll interval; the last round starts no later than the
    /// deadline.
    async fn drain(&mut self, deadline: Duration, forcing: bool) -> DrainEnd {
        let cap = self.config.poll_interval.max(Duration::from_millis(1));
        let mut delay = FIRST_POLL_DELAY.min(cap);
        let drain_started = self.clock.now();
        let mut poll = 0;
        loop {
            if self.cancel.is_cancelled() {
                return DrainEnd::Interrupted;
            }
            poll += 1;
            self.round().await;
            let now = self.clock.now();
            self.report_progress(
                poll,
                now.saturating_sub(drain_started),
                deadline.saturating_sub(now),
                forcing,
            );
            if self.pending().is_empty() {
                return DrainEnd::Drained;
            }
            if self.cancel.is_cancelled() {
                return DrainEnd::Interrupted;
            }
            if now >= deadline {
                return DrainEnd::TimedOut;
            }
            let pause = delay.min(deadline - now);
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return DrainEnd::Interrupted,
                () = self.clock.sleep(pause) => {}
            }
            delay = (delay * 2).min(cap);
        }
    }

    /// One round over every space with a pending registration.
    async fn round(&mut self) {
        self.outcome.drain_polls += 1;
        let mut by_space: BTreeMap<usize, (SpaceRef, Vec<(usize, octoshare_core::WorkerId)>)> =
            BTreeMap::new();
        let mut first_index: HashMap<SpaceId, usize> = HashMap::new();
        for index in self.pending() {
            let registration = &self.reports[index].registration;
            let key = *first_index
                .entry(registration.space.id.clone())
                .or_insert(index);
            by_space
                .entry(key)
                .or_insert_with(|| (registration.space.clone(), Vec::new()))
                .1
                .push((index, registration.worker_id.clone()));
        }
        let client = self.client;
        let cancel = self.cancel;
        let modes = &self.modes;
        let rounds: Vec<SpaceRound> = futures::stream::iter(by_space.into_values())
            .map(|(space, items)| {
                let mode = modes.get(&space.id).copied().unwrap_or(LeaseMode::Endpoint);
                drain_space(client, space, items, mode, cancel)
            })
            .buffer_unordered(self.concurrency())
            .collect()
            .await;
        let mut rounds = rounds;
        rounds.sort_by_key(|round| round.steps.first().map_or(usize::MAX, |(index, _)| *index));
        for round in rounds {
            if let Some(reason) = &round.endpoint_missing {
                self.modes
                    .insert(round.space.id.clone(), LeaseMode::Refusal);
                if !self
                    .outcome
                    .spaces_without_lease_endpoint
                    .contains(&round.space)
                {
                    self.outcome
                        .spaces_without_lease_endpoint
                        .push(round.space.clone());
                }
                self.sink.lease_endpoint_missing(&round.space, reason);
            }
            if let Some(error) = &round.transient {
                self.sink.poll_failed(&round.space, error);
            }
            for (index, step) in round.steps {
                self.apply(index, step);
            }
        }
    }

    fn apply(&mut self, index: usize, step: Step) {
        if !matches!(step, Step::NotStarted | Step::Transient { .. }) {
            self.unsettled.remove(&index);
        }
        let drain_timeout = self.config.drain_timeout;
        let report = &mut self.reports[index];
        let change = match step {
            Step::NotStarted => return,
            Step::Deleted => {
                report.state = RegistrationState::Deleted;
                report.leases.clear();
                report.error = None;
                Change::Deleted
            }
            Step::Gone => {
                report.state = RegistrationState::Gone;
                report.leases.clear();
                report.error = None;
                Change::Gone
            }
            Step::Busy(leases) => {
                report.leases = lease_reports(&leases, drain_timeout, &report.leases);
                report.error = None;
                return;
            }
            Step::Transient { message, unsettled } => {
                report.error = Some(message);
                if unsettled {
                    self.unsettled.insert(index);
                }
                return;
            }
            Step::Refused(message) => {
                report.leases.clear();
                report.error = Some(message.clone());
                if self.last_refusal.get(&index) == Some(&message) {
                    return;
                }
                self.last_refusal.insert(index, message);
                let message = self.last_refusal[&index].as_str();
                self.sink.changed(&RegistrationChange {
                    registration: &self.reports[index].registration,
                    change: Change::DeleteRefused(message),
                });
                return;
            }
            Step::Failed { message, status } => {
                if status == Some(403) {
                    self.outcome.permission_refused = true;
                }
                report.state = RegistrationState::Failed;
                report.error = Some(message);
                report.leases.clear();
                Change::Failed(report.error.as_deref().unwrap_or_default())
            }
        };
        self.sink.changed(&RegistrationChange {
            registration: &report.registration,
            change,
        });
    }

    fn report_progress(
        &mut self,
        poll: u32,
        elapsed: Duration,
        time_left: Duration,
        forcing: bool,
    ) {
        let total = self.reports.len();
        let retired = self
            .reports
            .iter()
            .filter(|report| report.state.is_retired())
            .count();
        let busy = self
            .reports
            .iter()
            .filter(|report| report.state == RegistrationState::Disabled)
            .map(|report| BusyRegistration {
                registration: &report.registration,
                leases: &report.leases,
            })
            .collect();
        self.sink.drain_progress(&DrainProgress {
            retired,
            total,
            busy,
            poll,
            elapsed,
            time_left,
            forcing,
        });
    }

    /// Dry run: the leases holding each registration now (one read per space).
    async fn read_current_leases(&mut self) {
        let mut spaces: Vec<SpaceRef> = Vec::new();
        for report in &self.reports {
            if !spaces.contains(&report.registration.space) {
                spaces.push(report.registration.space.clone());
            }
        }
        let client = self.client;
        let reads: Vec<(SpaceRef, Result<Vec<WorkerTaskLease>, ApiError>)> =
            futures::stream::iter(spaces)
                .map(|space| {
                    let read = client.worker_task_leases(&space.id).all();
                    async move { (space, read.await) }
                })
                .buffer_unordered(self.concurrency())
                .collect()
                .await;
        for (space, result) in reads {
            match result {
                Ok(leases) => {
                    for report in self
                        .reports
                        .iter_mut()
                        .filter(|report| report.registration.space == space)
                    {
                        let holding: Vec<WorkerTaskLease> = leases
                            .iter()
                            .filter(|lease| lease.worker_id == report.registration.worker_id)
                            .cloned()
                            .collect();
                        report.leases =
                            lease_reports(&holding, self.config.drain_timeout, &report.leases);
                    }
                }
                Err(error) if error.is_not_found() || error.status() == Some(403) => {
                    let reason = error.to_string();
                    self.sink.lease_endpoint_missing(&space, &reason);
                    self.outcome.spaces_without_lease_endpoint.push(space);
                }
                // Not known now: said so, and nothing claimed about the space's leases.
                Err(error) => self.sink.poll_failed(&space, &error.to_string()),
            }
        }
    }

    /// Reads the tasks holding the pending registrations (once per task; a task that cannot be
    /// read, e.g. without `TaskView`, stays undescribed).
    async fn describe_tasks(&mut self) {
        let mut wanted: Vec<TaskId> = Vec::new();
        for report in &self.reports {
            for lease in &report.leases {
                if let Some(task) = &lease.task_id
                    && lease.task.is_none()
                    && !wanted.contains(task)
                {
                    wanted.push(task.clone());
                }
            }
        }
        if wanted.is_empty() {
            return;
        }
        let client = self.client;
        let read: HashMap<TaskId, TaskSummary> = futures::stream::iter(wanted)
            .map(|id| {
                let read = client.tasks().get(&id);
                async move { (id, read.await) }
            })
            .buffer_unordered(self.concurrency())
            .filter_map(|(id, result)| async move { result.ok().map(|task| (id, summary(&task))) })
            .collect()
            .await;
        for report in &mut self.reports {
            for lease in &mut report.leases {
                if let Some(id) = &lease.task_id
                    && let Some(task) = read.get(id)
                {
                    lease.task = Some(task.clone());
                }
            }
        }
    }

    /// `force`: cancels every task still holding a pending registration (once per task and
    /// space). Returns `false` when interrupted.
    async fn force(&mut self) -> bool {
        let mut forced: Vec<ForcedTask> = Vec::new();
        for index in self.pending() {
            let report = &self.reports[index];
            for lease in &report.leases {
                let Some(task_id) = &lease.task_id else {
                    continue;
                };
                match forced.iter_mut().find(|forced| {
                    &forced.task_id == task_id && forced.space == report.registration.space
                }) {
                    Some(existing) => {
                        if !existing
                            .worker_names
                            .contains(&report.registration.worker_name)
                        {
                            existing
                                .worker_names
                                .push(report.registration.worker_name.clone());
                        }
                    }
                    None => forced.push(ForcedTask {
                        task_id: task_id.clone(),
                        space: report.registration.space.clone(),
                        worker_names: vec![report.registration.worker_name.clone()],
                        task: lease.task.clone(),
                        cancelled: false,
                        error: None,
                    }),
                }
            }
        }
        for mut task in forced {
            if self.cancel.is_cancelled() {
                return false;
            }
            if task
                .task
                .as_ref()
                .is_some_and(|summary| summary.is_completed)
            {
                task.error = Some(
                    "the task has already finished but its lease remains (an orphaned lease): Octopus clears it when the Octopus Server restarts".to_owned(),
                );
            } else {
                let to_cancel = match self.client.tasks().get(&task.task_id).await {
                    Ok(read) => {
                        task.task = Some(summary(&read));
                        read
                    }
                    Err(_) => bare_task(&task.task_id),
                };
                if to_cancel.is_completed {
                    task.error = Some(
                        "the task has already finished but its lease remains (an orphaned lease): Octopus clears it when the Octopus Server restarts".to_owned(),
                    );
                } else {
                    match self.client.tasks().cancel(&to_cancel).await {
                        Ok(_) => task.cancelled = true,
                        Err(error) => {
                            if error.status() == Some(403) {
                                self.outcome.permission_refused = true;
                            }
                            task.error =
                                Some(format!("while cancelling {}: {error}", task.task_id));
                        }
                    }
                }
            }
            self.sink.forcing(&task);
            self.outcome.forced_tasks.push(task);
        }
        !self.cancel.is_cancelled()
    }

    /// After the drain: what is still pending is held by a task (left disabled) or failed to
    /// be confirmed (a transient error until the end).
    fn settle_timed_out(&mut self) {
        for index in self.pending() {
            let report = &mut self.reports[index];
            let transient = (report.leases.is_empty()
                && report.error.is_some()
                && !self.last_refusal.contains_key(&index))
                || self.unsettled.contains(&index);
            report.state = if transient {
                RegistrationState::Failed
            } else {
                RegistrationState::StillBusy
            };
        }
    }

    fn finish(mut self, status: Option<RetireStatus>) -> RetireOutcome {
        for &index in &self.unsettled {
            let report = &mut self.reports[index];
            if matches!(
                report.state,
                RegistrationState::Found | RegistrationState::Disabled
            ) {
                report.state = RegistrationState::Failed;
            }
        }
        self.outcome.registrations = std::mem::take(&mut self.reports);
        self.outcome.elapsed = self.clock.now().saturating_sub(self.started);
        self.outcome.status = status.unwrap_or_else(|| {
            let outcome = &self.outcome;
            if outcome.failed_count() > 0 {
                RetireStatus::Failed
            } else if outcome.registrations.is_empty() {
                RetireStatus::NothingToRetire
            } else if outcome
                .in_state(RegistrationState::StillBusy)
                .next()
                .is_some()
            {
                RetireStatus::StillBusy
            } else {
                RetireStatus::Retired
            }
        });
        self.outcome
    }
}

#[derive(Debug)]
enum DisableResult {
    Disabled,
    Gone,
}

/// `PUT` the worker as read with `IsDisabled: true`. A write whose outcome is unknown is not
/// repeated blindly: the worker is read again, and put again only if it is still enabled.
async fn disable_one(
    client: &Client,
    space: &SpaceId,
    mut worker: octoshare_core::Worker,
) -> Result<DisableResult, ApiError> {
    let workers = client.workers(space);
    worker.is_disabled = true;
    match workers.update(&worker).await {
        Ok(_) => Ok(DisableResult::Disabled),
        Err(error) if error.is_not_found() => Ok(DisableResult::Gone),
        Err(error) if error.outcome_unknown() => match workers.get(&worker.id).await {
            Err(reread) if reread.is_not_found() => Ok(DisableResult::Gone),
            Ok(current) if current.is_disabled => Ok(DisableResult::Disabled),
            Ok(mut current) => {
                current.is_disabled = true;
                match workers.update(&current).await {
                    Ok(_) => Ok(DisableResult::Disabled),
                    Err(again) if again.is_not_found() => Ok(DisableResult::Gone),
                    Err(again) => Err(again),
                }
            }
            Err(_) => Err(error),
        },
        Err(error) => Err(error),
    }
}

/// One space's round: read its leases (or, without the endpoint, try the deletes), deleting
/// every pending registration no task holds.
async fn drain_space(
    client: &Client,
    space: SpaceRef,
    items: Vec<(usize, octoshare_core::WorkerId)>,
    mode: LeaseMode,
    cancel: &CancellationToken,
) -> SpaceRound {
    let mut round = SpaceRound {
        space,
        endpoint_missing: None,
        transient: None,
        steps: Vec::new(),
    };
    let mut mode = mode;
    let mut leases = Vec::new();
    if mode == LeaseMode::Endpoint {
        match client.worker_task_leases(&round.space.id).all().await {
            Ok(read) => leases = read,
            Err(error) if error.is_not_found() || error.status() == Some(403) => {
                round.endpoint_missing = Some(error.to_string());
                mode = LeaseMode::Refusal;
            }
            Err(error) => {
                let message = error.to_string();
                round.transient = Some(message.clone());
                if error.is_interrupted() {
                    round.steps = items
                        .into_iter()
                        .map(|(index, _)| (index, Step::NotStarted))
                        .collect();
                    return round;
                }
                let transient = error.is_unreachable();
                round.steps = items
                    .into_iter()
                    .map(|(index, _)| {
                        let step = if transient {
                            Step::Transient {
                                message: message.clone(),
                                unsettled: false,
                            }
                        } else {
                            Step::Failed {
                                message: format!(
                                    "while reading the worker task leases of {}: {message}",
                                    round.space
                                ),
                                status: error.status(),
                            }
                        };
                        (index, step)
                    })
                    .collect();
                round.transient = transient.then_some(message);
                return round;
            }
        }
    }
    for (index, worker_id) in items {
        let holding: Vec<WorkerTaskLease> = leases
            .iter()
            .filter(|lease| lease.worker_id == worker_id)
            .cloned()
            .collect();
        let step = if mode == LeaseMode::Endpoint && !holding.is_empty() {
            Step::Busy(holding)
        } else if cancel.is_cancelled() {
            Step::NotStarted
        } else {
            delete_one(client, &round.space.id, &worker_id).await
        };
        round.steps.push((index, step));
    }
    round
}

/// `DELETE` a registration. A refusal (400/409) means a task holds it; an unknown outcome is
/// settled by reading it again.
async fn delete_one(client: &Client, space: &SpaceId, worker: &octoshare_core::WorkerId) -> Step {
    let workers = client.workers(space);
    match workers.delete(worker).await {
        Ok(()) => Step::Deleted,
        Err(error) if error.is_not_found() => Step::Gone,
        Err(ApiError::Validation {
            message, errors, ..
        }) => Step::Refused(refusal_text(&message, &errors)),
        Err(error) if error.outcome_unknown() => match workers.get(worker).await {
            Err(reread) if reread.is_not_found() => Step::Deleted,
            Ok(_) => Step::Transient {
                message: error.to_string(),
                unsettled: false,
            },
            Err(reread) => Step::Transient {
                message: format!("{error}; reading it back failed: {reread}"),
                unsettled: true,
            },
        },
        Err(error) if error.is_interrupted() => Step::NotStarted,
        Err(error) if error.is_unreachable() => Step::Transient {
            message: error.to_string(),
            unsettled: false,
        },
        Err(error) => Step::Failed {
            message: format!("while deleting {worker} in {space}: {error}"),
            status: error.status(),
        },
    }
}

fn refusal_text(message: &str, errors: &[String]) -> String {
    let message = message.trim().trim_end_matches('.');
    match errors {
        [] => message.to_owned(),
        _ if message.is_empty() => errors.join("; "),
        _ => format!("{message}: {}", errors.join("; ")),
    }
}

fn lease_reports(
    leases: &[WorkerTaskLease],
    drain_timeout: Duration,
    known: &[LeaseReport],
) -> Vec<LeaseReport> {
    let now = SystemTime::now();
    leases
        .iter()
        .map(|lease| {
            let age = lease
                .taken_at
                .as_deref()
                .and_then(timestamp::parse)
                .and_then(|taken| now.duration_since(taken).ok());
            LeaseReport {
                lease_id: lease.id.clone(),
                task_id: lease.server_task_id.clone(),
                taken_at: lease.taken_at.clone(),
                age_seconds: age.map(|age| age.as_secs()),
                older_than_drain_timeout: age.is_some_and(|age| age > drain_timeout),
                task: known
                    .iter()
                    .find(|known| known.lease_id == lease.id)
                    .and_then(|known| known.task.clone()),
            }
        })
        .collect()
}

fn summary(task: &Task) -> TaskSummary {
    TaskSummary {
        name: task.name.clone(),
        description: task.description.clone(),
        state: task.state.clone(),
        is_completed: task.is_completed,
    }
}

/// A task known only by its Id (it could not be read): cancelled through the default route.
fn bare_task(id: &TaskId) -> Task {
    Task {
        id: id.clone(),
        space_id: None,
        name: String::new(),
        description: String::new(),
        state: String::new(),
        is_completed: false,
        start_time: None,
        links: Default::default(),
        extra: Default::default(),
    }
}
