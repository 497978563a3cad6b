//! `octoshare retire`'s rendering: the search, the disables, the drain's progress (an Octopus
//! `progress` message or a bar), the deletes, the tasks `--force` broke, the result, the output
//! variables, the JSON document and the exit code.

use super::{SPACES_IN_LOG_LINES, abbreviated, plural};
use crate::duration::{format_duration, format_elapsed};
use crate::exit::{Exit, ExitError, api_error_line, error_line};
use crate::json::{RetireDocument, RetireOutputs};
use crate::output::Emitter;
use octoshare_core::RequestCounts;
use octoshare_core::domain::SpaceRef;
use octoshare_retire::this_machine::ThisMachineError;
use octoshare_retire::{
    Change, DrainProgress, ForcedTask, LeaseReport, Registration, RegistrationChange,
    RegistrationReport, RegistrationState, RetireError, RetireOutcome, RetireSink, RetireStatus,
    SearchStart,
};
use std::time::Duration;

/// Renders a retirement's events as lines and progress of the emitter.
#[derive(Debug)]
pub struct RetireRenderer<'a> {
    out: &'a mut Emitter,
    selector: String,
    by_name: bool,
}

impl<'a> RetireRenderer<'a> {
    /// A renderer writing to `out`.
    pub fn new(out: &'a mut Emitter) -> RetireRenderer<'a> {
        RetireRenderer {
            out,
            selector: String::new(),
            by_name: false,
        }
    }
}

/// `vm-1 (Workers-3) in Payments (Spaces-2)`.
fn registration_place(registration: &Registration) -> String {
    format!(
        "{} ({}) in {}",
        registration.worker_name, registration.worker_id, registration.space
    )
}

/// `ServerTasks-7 (Deploy Payments API 1.2.3 to Production, Executing, held 42m)`.
fn lease_text(lease: &LeaseReport) -> String {
    let task = lease
        .task_id
        .as_ref()
        .map_or_else(|| lease.lease_id.to_string(), ToString::to_string);
    let mut details = Vec::new();
    if let Some(summary) = &lease.task {
        if !summary.description.is_empty() {
            details.push(summary.description.clone());
        }
        if !summary.state.is_empty() {
            details.push(summary.state.clone());
        }
    }
    if let Some(age) = lease.age_seconds {
        details.push(format!(
            "held {}",
            format_duration(Duration::from_secs(age))
        ));
    }
    if details.is_empty() {
        task
    } else {
        format!("{task} ({})", details.join(", "))
    }
}

impl RetireSink for RetireRenderer<'_> {
    fn searching(&mut self, start: &SearchStart<'_>) {
        start.selector.clone_into(&mut self.selector);
        self.by_name = start.by_name;
        let mut line = format!(
            "looking for the registrations of {} in {}",
            start.selector,
            plural(start.spaces as u64, "space")
        );
        if start.dry_run {
            line.push_str(" (dry run: nothing is changed)");
        }
        self.out.info(&line);
    }

    fn space_skipped(&mut self, space: &SpaceRef, reason: &str) {
        self.out.warning(&format!(
            "skipping {space}: its workers cannot be read with this key: {reason}"
        ));
    }

    fn space_failed(&mut self, space: &SpaceRef, error: &str) {
        self.out
            .warning(&format!("{space} could not be searched: {error}"));
    }

    fn found(&mut self, registrations: &[Registration]) {
        if registrations.is_empty() {
            return;
        }
        let mut spaces: Vec<&SpaceRef> = Vec::new();
        for registration in registrations {
            if !spaces.contains(&&registration.space) {
                spaces.push(&registration.space);
            }
        }
        self.out.info(&format!(
            "found {} in {}:",
            plural(registrations.len() as u64, "registration"),
            plural(spaces.len() as u64, "space")
        ));
        for (index, registration) in registrations.iter().enumerate() {
            let mut line = format!(
                "  {}: {} {}",
                registration_place(registration),
                registration.communication_style,
                registration
                    .endpoint
                    .as_deref()
                    .unwrap_or("(no endpoint identity)")
            );
            if registration.was_disabled {
                line.push_str(", already disabled");
            }
            if index < SPACES_IN_LOG_LINES {
                self.out.info(&line);
            } else {
                self.out.verbose(&line);
            }
        }
        if registrations.len() > SPACES_IN_LOG_LINES {
            self.out.info(&format!(
                "  and {} more (-v lists them)",
                registrations.len() - SPACES_IN_LOG_LINES
            ));
        }
        let mut endpoints: Vec<&str> = registrations
            .iter()
            .filter_map(|registration| registration.endpoint.as_deref())
            .collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        if self.by_name && endpoints.len() > 1 {
            self.out.warning(&format!(
                "{} has {} different endpoints in the spaces where it is found, and each is retired everywhere: {}; if these are different machines, retire the one you mean with --thumbprint",
                self.selector,
                endpoints.len(),
                endpoints.join(", ")
            ));
        }
    }

    fn draining(&mut self, pending: usize, timeout: Duration) {
        if pending > 0 {
            self.out.info(&format!(
                "disabled everywhere; waiting up to {} for the tasks holding {} to finish, deleting each as soon as none does",
                format_duration(timeout),
                plural(pending as u64, "registration")
            ));
        }
    }

    fn lease_endpoint_missing(&mut self, space: &SpaceRef, reason: &str) {
        self.out.warning(&format!(
            "{space}: the worker task lease endpoint cannot be read ({reason}): the server may be older than Octopus 2024.2; deletes are tried there, and a refused delete means a task still holds the worker"
        ));
    }

    fn changed(&mut self, change: &RegistrationChange<'_>) {
        let place = registration_place(change.registration);
        match change.change {
            Change::Disabled => self.out.verbose(&format!("disabled {place}")),
            Change::AlreadyDisabled => self.out.verbose(&format!("{place} was already disabled")),
            Change::Deleted => self.out.info(&format!("deleted {place}")),
            Change::Gone => self.out.info(&format!(
                "{place} was already gone (deleted by someone else)"
            )),
            Change::DeleteRefused(message) => self.out.info(&format!(
                "the server refused to delete {place}, it is still busy: {message}"
            )),
            Change::Failed(error) => self.out.warning(error),
        }
    }

    fn drain_progress(&mut self, progress: &DrainProgress<'_>) {
        let mut message = format!(
            "{} of {} registrations retired",
            progress.retired, progress.total
        );
        if !progress.busy.is_empty() {
            let held = progress.busy.iter().map(|busy| {
                let tasks: Vec<String> = busy
                    .leases
                    .iter()
                    .filter_map(|lease| lease.task_id.as_ref().map(ToString::to_string))
                    .collect();
                if tasks.is_empty() {
                    busy.registration.space.to_string()
                } else {
                    format!("{} by {}", busy.registration.space, tasks.join(", "))
                }
            });
            // No clock in the message: a line (or an Octopus progress message) is written only
            // when it changes, so a long drain does not repeat itself every round.
            message.push_str(&format!(
                "; still held in {}",
                abbreviated(held.collect::<Vec<_>>().into_iter(), SPACES_IN_LOG_LINES)
            ));
        }
        if progress.forcing {
            message.push_str(" [--force]");
        }
        self.out
            .progress(progress.retired as u64, progress.total as u64, &message);
    }

    fn poll_failed(&mut self, space: &SpaceRef, error: &str) {
        self.out.warning(&format!(
            "reading the worker task leases of {space} failed, polling goes on: {error}"
        ));
    }

    fn forcing(&mut self, task: &ForcedTask) {
        let what = forced_task_text(task);
        match (&task.error, task.cancelled) {
            (_, true) => self.out.warning(&format!(
                "--force: cancelled task {what}, which held {} in {}",
                task.worker_names.join(", "),
                task.space
            )),
            (Some(error), false) => self.out.warning(&format!(
                "--force: could not cancel task {what}, which holds {} in {}: {error}",
                task.worker_names.join(", "),
                task.space
            )),
            (None, false) => {}
        }
    }
}

/// `ServerTasks-7 (Deploy Payments API 1.2.3 to Production)`.
fn forced_task_text(task: &ForcedTask) -> String {
    match task
        .task
        .as_ref()
        .map(|summary| summary.description.as_str())
    {
        Some(description) if !description.is_empty() => {
            format!("{} ({description})", task.task_id)
        }
        _ => task.task_id.to_string(),
    }
}

/// Ends the progress display and prints the result: the highlight of a finished retirement, or
/// the registrations still held (with their tasks) and the tasks `--force` broke.
pub fn finished(out: &mut Emitter, outcome: &RetireOutcome) {
    out.finish_progress();
    let retired_spaces = outcome.retired_space_ids();
    let spaces_text = |ids: &[octoshare_core::SpaceId]| {
        abbreviated(
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .into_iter(),
            SPACES_IN_LOG_LINES,
        )
    };
    match outcome.status {
        RetireStatus::NothingToRetire => out.highlight(&format!(
            "nothing to retire: no registration of {} in the {} searched",
            outcome.selector,
            plural(outcome.spaces_searched as u64, "space")
        )),
        RetireStatus::Retired => out.highlight(&format!(
            "retired {}: {} deleted from {} after {}",
            outcome.selector,
            plural(outcome.retired_worker_count(), "registration"),
            if retired_spaces.is_empty() {
                "no space".to_owned()
            } else {
                spaces_text(&retired_spaces)
            },
            format_elapsed(outcome.elapsed)
        )),
        RetireStatus::DryRun => {
            let busy = outcome.still_busy_space_ids();
            let mut line = format!(
                "dry run: would retire {} from {}",
                plural(outcome.retired_worker_count(), "registration"),
                spaces_text(&retired_spaces)
            );
            if !busy.is_empty() {
                line.push_str(&format!(
                    "; a task holds it now in {} (a real run would wait for it)",
                    spaces_text(&busy)
                ));
            }
            out.highlight(&line);
        }
        RetireStatus::StillBusy | RetireStatus::Failed | RetireStatus::Interrupted => {}
    }
    for report in outcome.in_state(RegistrationState::StillBusy) {
        out.warning(&still_busy_line(report, outcome.drain_timeout));
    }
    let broken: Vec<String> = outcome
        .forced_tasks
        .iter()
        .filter(|task| task.cancelled)
        .map(forced_task_text)
        .collect();
    if !broken.is_empty() {
        out.warning(&format!(
            "--force broke {}: {}",
            plural(broken.len() as u64, "task"),
            broken.join(", ")
        ));
    }
}

/// `still held after 30m, left disabled: vm-1 (Workers-3) in Payments (Spaces-2) by
/// ServerTasks-1 (...)`, with the operator's next step for a lease older than the timeout.
fn still_busy_line(report: &RegistrationReport, drain_timeout: Duration) -> String {
    let mut line = format!(
        "still held after {}, left disabled: {}",
        format_duration(drain_timeout),
        registration_place(&report.registration)
    );
    if report.leases.is_empty() {
        if let Some(error) = &report.error {
            line.push_str(&format!(" (the server refused to delete it: {error})"));
        }
    } else {
        line.push_str(&format!(
            " by {}",
            report
                .leases
                .iter()
                .map(lease_text)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if report.leases.iter().any(LeaseReport::is_orphaned) {
        line.push_str(
            "; the task has finished but its lease remains (an orphaned lease, OctopusDeploy/Issues#9692): restarting the Octopus Server clears it",
        );
    } else if report
        .leases
        .iter()
        .any(|lease| lease.older_than_drain_timeout)
    {
        line.push_str("; held for longer than the drain timeout: check that task");
    }
    line
}

/// Sets `RetiredWorkerCount`, `RetiredSpaceIds` and `StillBusySpaceIds` (comma-joined).
pub fn set_outputs(out: &mut Emitter, outcome: &RetireOutcome) {
    out.set_outputs(&RetireOutputs::of(outcome));
}

/// `octoshare retire --output json`'s document: the outputs, the outcome and the requests made.
pub fn document(outcome: RetireOutcome, requests: RequestCounts) -> RetireDocument {
    RetireDocument {
        outputs: RetireOutputs::of(&outcome),
        outcome,
        requests: requests.into(),
    }
}

/// The exit code of a finished retirement: 0 when retired, nothing to retire or a dry run; 4
/// when a task still holds a registration; 5 when something failed; 6 when a write was refused
/// for lack of permission; and an interruption's code.
pub fn conclude(outcome: &RetireOutcome) -> Result<Exit, ExitError> {
    let exit = crate::exit::exit_for_retire_outcome(outcome);
    if exit == Exit::Success {
        return Ok(exit);
    }
    Err(ExitError::new(exit, failure_message(outcome)))
}

/// The one line of a retirement that did not finish.
pub fn failure_message(outcome: &RetireOutcome) -> String {
    let busy = outcome.in_state(RegistrationState::StillBusy).count();
    let failed = outcome.in_state(RegistrationState::Failed).count();
    let mut parts = Vec::new();
    if outcome.status == RetireStatus::Interrupted {
        let disabled = outcome.in_state(RegistrationState::Disabled).count();
        parts.push(format!(
            "interrupted: {} deleted, {} left disabled, {} not touched; run the same command again to finish",
            outcome.in_state(RegistrationState::Deleted).count(),
            disabled,
            outcome.in_state(RegistrationState::Found).count()
        ));
    }
    if busy > 0 {
        let mut spaces: Vec<String> = Vec::new();
        for report in outcome.in_state(RegistrationState::StillBusy) {
            let space = report.registration.space.to_string();
            if !spaces.contains(&space) {
                spaces.push(space);
            }
        }
        let next = if outcome.force {
            "--force could not free them (see the warnings above)"
        } else {
            "re-run later, or add --force to cancel the tasks"
        };
        parts.push(format!(
            "drain timed out after {}: {} still held by a task in {}, left disabled (never deleted while busy): {next}",
            format_duration(outcome.drain_timeout),
            plural(busy as u64, "registration"),
            abbreviated(spaces.into_iter(), SPACES_IN_LOG_LINES)
        ));
    }
    if failed > 0 || !outcome.failed_spaces.is_empty() {
        let mut errors: Vec<String> = outcome
            .failed_spaces
            .iter()
            .map(|space| space.error.clone())
            .collect();
        errors.extend(
            outcome
                .in_state(RegistrationState::Failed)
                .filter_map(|report| report.error.clone()),
        );
        let first = errors.first().cloned().unwrap_or_default();
        parts.push(format!(
            "{} failed (the rest was done): {first}{}",
            plural(errors.len() as u64, "space or registration"),
            if errors.len() > 1 {
                " (and more above)"
            } else {
                ""
            }
        ));
    }
    if parts.is_empty() {
        parts.push(format!("retirement ended as {:?}", outcome.status));
    }
    parts.join("; ")
}

/// The one-line message of a retirement that could not start, with the command line's advice.
pub fn error_message(error: &RetireError) -> String {
    match error {
        RetireError::ListSpaces(api) => api_error_line(error, api),
    }
}

impl From<RetireError> for ExitError {
    fn from(error: RetireError) -> ExitError {
        ExitError::new(
            crate::exit::exit_for_retire_error(&error),
            error_message(&error),
        )
    }
}

/// `--this-machine` could not read the local Tentacle's thumbprint: a usage error (2) naming the
/// flags to check, or 1 when Tentacle hung.
pub fn this_machine_error(error: &ThisMachineError) -> ExitError {
    let advice =
        "check --tentacle-path, --tentacle-instance or --tentacle-config, or give --thumbprint";
    let exit = match error {
        ThisMachineError::TimedOut { .. } => Exit::Internal,
        _ => Exit::Usage,
    };
    ExitError::new(
        exit,
        format!("--this-machine: {}: {advice}", error_line(error)),
    )
}
