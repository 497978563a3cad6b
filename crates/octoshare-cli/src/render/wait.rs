//! `octoshare-wait`'s rendering: the polls as they go (progress, failures), the result, the
//! output variables and the failure messages.

use crate::duration::{format_duration, format_elapsed};
use crate::exit::{
    ExitError, api_error_line, error_line, exit_for_wait_error, exit_for_wait_status,
};
use crate::json::WaitOutputs;
use crate::output::Emitter;
use octoshare_core::domain::{LookupError, ResolveError, ResolvedTarget};
use octoshare_wait::{
    PollCounted, PollFailed, WaitError, WaitOutcome, WaitSink, WaitStart, WaitStatus,
};

/// Renders a wait's events as lines and progress of the emitter.
#[derive(Debug)]
pub struct WaitRenderer<'a> {
    out: &'a mut Emitter,
}

impl<'a> WaitRenderer<'a> {
    /// A renderer writing to `out`.
    pub fn new(out: &'a mut Emitter) -> WaitRenderer<'a> {
        WaitRenderer { out }
    }
}

/// `'Pool' (Spaces-N)`: how the wait's lines name the pool.
fn place(target: &ResolvedTarget) -> String {
    format!("'{}' ({})", target.pool.name, target.space.id)
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

impl WaitSink for WaitRenderer<'_> {
    fn waiting(&mut self, start: &WaitStart<'_>) {
        self.out.info(&format!(
            "waiting up to {} for {} {} in worker pool {} of space {}, polling every {}",
            format_duration(start.timeout),
            start.required,
            workers_noun(start.required, start.healthy_only),
            place(start.target),
            start.target.space.name,
            format_duration(start.poll_interval)
        ));
    }

    fn poll_failed(&mut self, failure: &PollFailed<'_>) {
        let next = if failure.time_left.is_zero() {
            "no time left".to_owned()
        } else {
            format!(
                "polling goes on ({} left)",
                format_elapsed(failure.time_left)
            )
        };
        self.out.warning(&format!(
            "poll {} of worker pool {} failed, {next}: {}",
            failure.poll,
            place(failure.target),
            failure.error
        ));
    }

    fn counted(&mut self, count: &PollCounted<'_>) {
        if !count.newly_counted.is_empty() {
            self.out.verbose(&format!(
                "counted in {}: {}",
                place(count.target),
                count.newly_counted.join(", ")
            ));
        }
        self.out.progress(
            count.count,
            count.required,
            &format!(
                "{} of {} {} registered in {} ({})",
                count.count,
                count.required,
                workers_noun(count.required, count.healthy_only),
                count.target.pool.name,
                count.target.space.id
            ),
        );
    }
}

/// Ends the progress display and, when the wait was satisfied, highlights the result.
pub fn finished(out: &mut Emitter, outcome: &WaitOutcome) {
    out.finish_progress();
    if outcome.is_satisfied() {
        out.highlight(&format!(
            "{} of {} {} registered in {} after {}: {}",
            outcome.count,
            outcome.required,
            workers_noun(outcome.required, outcome.healthy_only),
            place(&outcome.target),
            format_elapsed(outcome.elapsed),
            outcome.registered_worker_names.join(", ")
        ));
    }
}

/// Sets `RegisteredWorkerCount` and `RegisteredWorkerNames` (comma-joined, sorted by name) to
/// what the last completed poll counted; sets neither when no poll completed (unknown, not 0).
pub fn set_outputs(out: &mut Emitter, outcome: &WaitOutcome) {
    out.set_outputs(&WaitOutputs::of(outcome));
}

/// The one-line message of an unsatisfied wait, e.g. `timed out after 20m: 2 of 3 workers
/// registered in 'AWS Worker Pool TF' (Spaces-2): worker-a, worker-b; 1 missing`, or
/// `interrupted after 4.2s; the last completed poll counted 2 of 3 workers in ...`. When no
/// poll completed it says the count is unknown instead of claiming 0.
pub fn unsatisfied_message(outcome: &WaitOutcome) -> String {
    let kind = workers_noun(outcome.required, outcome.healthy_only);
    let place = place(&outcome.target);
    let mut message = match (outcome.status, outcome.count_is_known()) {
        (WaitStatus::Interrupted, true) => format!(
            "interrupted after {}; the last completed poll counted {} of {} {kind} in {place}",
            format_elapsed(outcome.elapsed),
            outcome.count,
            outcome.required,
        ),
        (WaitStatus::Interrupted, false) => format!(
            "interrupted after {} before any poll of worker pool {place} completed: the number of registered workers is unknown ({} {kind} wanted)",
            format_elapsed(outcome.elapsed),
            outcome.required,
        ),
        (WaitStatus::TimedOut | WaitStatus::Satisfied, true) => format!(
            "timed out after {}: {} of {} {kind} registered in {place}",
            format_duration(outcome.timeout),
            outcome.count,
            outcome.required,
        ),
        (WaitStatus::TimedOut | WaitStatus::Satisfied, false) => format!(
            "timed out after {}: no poll of worker pool {place} succeeded, so the number of registered workers is unknown ({} {kind} wanted)",
            format_duration(outcome.timeout),
            outcome.required,
        ),
    };
    if outcome.count_is_known() {
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
    }
    if let Some(error) = &outcome.last_error {
        message.push_str(&format!("; last poll failed: {error}"));
    }
    message
}

/// The failure ending an unsatisfied wait (exit code 4 on timeout, 130/143 when interrupted);
/// `None` when it was satisfied.
pub fn unsatisfied(outcome: &WaitOutcome) -> Option<ExitError> {
    match exit_for_wait_status(outcome.status) {
        crate::Exit::Success => None,
        exit => Some(ExitError::new(exit, unsatisfied_message(outcome))),
    }
}

/// The one-line message of a wait that could not run, with the flag to check.
pub fn error_message(error: &WaitError) -> String {
    match error {
        WaitError::Lookup(lookup) => match lookup.as_ref() {
            LookupError::Resolve(ResolveError::SpaceNotFound { .. }) => {
                format!("{}: check --space", error_line(error))
            }
            LookupError::Resolve(ResolveError::AmbiguousSpace { .. }) => {
                format!("{} in --space", error_line(error))
            }
            LookupError::Resolve(ResolveError::PoolNotFound { .. }) => {
                format!("{}: check --worker-pool", error_line(error))
            }
            LookupError::Resolve(ResolveError::AmbiguousPool { .. }) => {
                format!("{} in --worker-pool", error_line(error))
            }
            LookupError::ReadSpace { error: api, .. }
            | LookupError::ListSpaces(api)
            | LookupError::ListPools { error: api, .. } => api_error_line(error, api),
        },
        WaitError::DynamicPool { .. } => {
            format!("{error}: give a static pool in --worker-pool")
        }
        WaitError::ReadWorkers { error: api, .. } => api_error_line(error, api),
    }
}

impl From<WaitError> for ExitError {
    fn from(error: WaitError) -> ExitError {
        ExitError::new(exit_for_wait_error(&error), error_message(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octoshare_core::domain::{PoolRef, SpaceRef};
    use std::time::Duration;

    fn outcome(names: &[&str]) -> WaitOutcome {
        WaitOutcome {
            target: ResolvedTarget::new(
                SpaceRef::new("Spaces-2", "Payments"),
                PoolRef::new("WorkerPools-4", "AWS Worker Pool TF"),
            ),
            status: WaitStatus::TimedOut,
            registered_worker_names: names.iter().map(|name| name.to_string()).collect(),
            count: names.len() as u64,
            required: 3,
            healthy_only: false,
            unhealthy_worker_names: Vec::new(),
            polls: 120,
            counted_polls: 120,
            last_error: None,
            elapsed: Duration::from_millis(1_200_345),
            timeout: Duration::from_secs(1200),
        }
    }

    #[test]
    fn timeout_message_names_registered_and_missing_workers() {
        assert_eq!(
            unsatisfied_message(&outcome(&["worker-a", "worker-b"])),
            "timed out after 20m: 2 of 3 workers registered in 'AWS Worker Pool TF' (Spaces-2): worker-a, worker-b; 1 missing"
        );
        assert_eq!(
            unsatisfied_message(&outcome(&[])),
            "timed out after 20m: 0 of 3 workers registered in 'AWS Worker Pool TF' (Spaces-2); 3 missing"
        );
    }

    #[test]
    fn timeout_message_mentions_unhealthy_workers_and_the_last_error() {
        let mut outcome = outcome(&["worker-a"]);
        outcome.healthy_only = true;
        outcome.unhealthy_worker_names = vec!["worker-b".to_owned()];
        outcome.last_error = Some("server unreachable".to_owned());
        assert_eq!(
            unsatisfied_message(&outcome),
            "timed out after 20m: 1 of 3 healthy workers registered in 'AWS Worker Pool TF' (Spaces-2): worker-a; 2 missing; not healthy: worker-b; last poll failed: server unreachable"
        );
    }

    #[test]
    fn interrupted_and_satisfied_waits() {
        let mut interrupted = outcome(&["worker-a"]);
        interrupted.status = WaitStatus::Interrupted;
        interrupted.elapsed = Duration::from_millis(4_200);
        let error = unsatisfied(&interrupted).unwrap();
        assert_eq!(
            error.exit,
            crate::Exit::Interrupted(crate::Signal::Interrupt)
        );
        assert_eq!(
            error.message,
            "interrupted after 4.2s; the last completed poll counted 1 of 3 workers in 'AWS Worker Pool TF' (Spaces-2): worker-a; 2 missing"
        );

        let mut satisfied = outcome(&["a", "b", "c"]);
        satisfied.status = WaitStatus::Satisfied;
        assert!(unsatisfied(&satisfied).is_none());
    }

    /// A dropped poll is "unknown", never 0: no count, no names, no missing workers.
    #[test]
    fn without_a_completed_poll_the_count_is_unknown() {
        let mut interrupted = outcome(&[]);
        interrupted.status = WaitStatus::Interrupted;
        interrupted.counted_polls = 0;
        interrupted.polls = 1;
        interrupted.elapsed = Duration::from_millis(300);
        assert_eq!(
            unsatisfied_message(&interrupted),
            "interrupted after 300ms before any poll of worker pool 'AWS Worker Pool TF' (Spaces-2) completed: the number of registered workers is unknown (3 workers wanted)"
        );
        let outputs = WaitOutputs::of(&interrupted);
        assert_eq!(outputs.registered_worker_count, None);
        assert_eq!(outputs.registered_worker_names, None);

        let mut timed_out = outcome(&[]);
        timed_out.counted_polls = 0;
        timed_out.last_error = Some("server error 503 after 6 attempts".to_owned());
        assert_eq!(
            unsatisfied_message(&timed_out),
            "timed out after 20m: no poll of worker pool 'AWS Worker Pool TF' (Spaces-2) succeeded, so the number of registered workers is unknown (3 workers wanted); last poll failed: server error 503 after 6 attempts"
        );
        assert_eq!(WaitOutputs::of(&timed_out).registered_worker_count, None);
        assert_eq!(
            WaitOutputs::of(&outcome(&[])).registered_worker_count,
            Some(0),
            "a poll that counted nobody is a known 0"
        );
    }
}
