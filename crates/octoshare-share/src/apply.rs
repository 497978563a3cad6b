//! Applying, the last stage of a share: sends a space plan's writes (concurrently, within the global request limit)
//! and settles every write whose outcome is unknown by re-reading the space before deciding.
//!
//! Before a write is sent it is completed with what only it needs (the `lookups` module): a
//! create gets the space's machine policy, and a write carrying the source endpoint (a create,
//! a replaced endpoint) gets its proxy and account references mapped to this space's. A worker
//! whose reference has no match here fails alone, with nothing written. A dry run stops there:
//! the completed write is reported as planned and not sent.
//!
//! A POST, PUT or DELETE that times out, loses its connection or gets a 5xx may or may not have
//! been applied ([`ApiError::outcome_unknown`]). Such a write is never repeated blindly: the
//! space's workers are read again and the worker is re-planned from what is really there.
//! Already done → counted as done; not done → the write is sent again after a backoff, at most
//! [`MAX_WRITE_ATTEMPTS`] times. A 400 on a POST (e.g. Octopus's duplicate-name refusal when
//! another process created the worker meanwhile) and a 404 on a PUT or DELETE (the worker went
//! away meanwhile) are also "re-read, then decide"; if the re-read plan is the same write, the
//! server's refusal stands and is reported.

use crate::lookups::{SourceLookups, SpaceLookups};
use crate::plan::{self, SourcePool, SpaceContext, Step, Write};
use crate::report::{Action, FailureKind, Outcome, WorkerFailure, WorkerResult};
use octoshare_core::domain::PermissionRefusal;
use octoshare_core::{ApiError, Client, NewWorker, Worker, WorkerId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How many times one worker's write is sent at most (the first attempt included).
pub const MAX_WRITE_ATTEMPTS: u32 = 4;

/// What every space's work shares.
#[derive(Debug)]
pub(crate) struct Runner<'a> {
    pub(crate) client: &'a Client,
    pub(crate) source: &'a SourcePool,
    pub(crate) cancel: &'a CancellationToken,
    /// Bounds the requests in flight across every space.
    pub(crate) requests: &'a Semaphore,
    /// Backoff base between attempts of a write whose outcome was unknown and not done.
    pub(crate) retry_delay: Duration,
    /// The source space's proxies and accounts, read when first needed.
    pub(crate) source_lookups: &'a SourceLookups,
    /// The machine policy named for created workers (`None`: each space's default).
    pub(crate) machine_policy: Option<&'a str>,
    /// Only plan: complete each write (its lookups are reads) but send none.
    pub(crate) dry_run: bool,
}

impl Runner<'_> {
    /// Runs a request while holding one of the global request permits.
    pub(crate) async fn limited<T>(&self, request: impl Future<Output = T>) -> T {
        // The semaphore is never closed, so acquiring cannot fail; run unlimited if it ever did.
        let _permit = self.requests.acquire().await.ok();
        request.await
    }

    /// Reads a space's workers (`/workers/all`).
    pub(crate) async fn read_workers(&self, space: &SpaceContext) -> Result<Vec<Worker>, ApiError> {
        let workers = self.client.workers(&space.space_id);
        self.limited(workers.all()).await
    }
}

/// Executes one space's steps concurrently; results come back in step order.
pub(crate) async fn execute_space(
    runner: &Runner<'_>,
    context: &SpaceContext,
    lookups: &SpaceLookups,
    steps: Vec<Step>,
) -> Vec<WorkerResult> {
    let refused = AtomicBool::new(false);
    let work = steps
        .into_iter()
        .map(|step| execute_step(runner, context, lookups, step, &refused));
    futures::future::join_all(work).await
}

/// A write completed with what it needs, ready to send.
#[derive(Debug, Clone)]
enum Ready {
    Create(NewWorker),
    Update(Box<Worker>),
    Delete(WorkerId),
}

/// Completes a step's write: a create's machine policy, and the source endpoint's proxy and
/// account references mapped to the space's (for a create or a replaced endpoint).
async fn prepare(
    runner: &Runner<'_>,
    lookups: &SpaceLookups,
    step: &Step,
    write: Write,
) -> Result<Ready, WorkerFailure> {
    Ok(match write {
        Write::Create(draft) => {
            let policy = lookups.policy(runner).await.map_err(|failure| {
                WorkerFailure::MachinePolicyUnavailable {
                    kind: failure.kind(),
                    message: failure.to_string(),
                }
            })?;
            let endpoint = lookups.mapped_endpoint(runner, &draft.endpoint).await?;
            Ready::Create(draft.into_new_worker(policy, endpoint))
        }
        Write::Update(mut worker) => {
            if step.carries_source_endpoint() {
                worker.endpoint = lookups.mapped_endpoint(runner, &worker.endpoint).await?;
            }
            Ready::Update(worker)
        }
        Write::Delete(id) => Ready::Delete(id),
    })
}

/// The result of a step not attempted because the run was interrupted.
fn not_attempted(step: &Step, unknown: Option<&String>) -> WorkerResult {
    let reason = match unknown {
        Some(error) => format!(
            "interrupted after a write whose outcome is unknown ({error}): run the step again to converge"
        ),
        None => "not attempted: the run was interrupted".to_owned(),
    };
    result(step, step.worker_id.as_ref(), Outcome::NotAttempted, reason)
}

fn result(
    step: &Step,
    worker_id: Option<&WorkerId>,
    outcome: Outcome,
    reason: String,
) -> WorkerResult {
    WorkerResult {
        name: step.name.clone(),
        worker_id: worker_id.map(ToString::to_string),
        action: step.action,
        outcome,
        reason,
        failure: None,
    }
}

/// A failed step: the failure's text is the reason.
pub(crate) fn failed(step: &Step, failure: WorkerFailure) -> WorkerResult {
    WorkerResult {
        failure: Some(failure.clone()),
        ..result(
            step,
            step.worker_id.as_ref(),
            Outcome::Failed,
            failure.to_string(),
        )
    }
}

/// Executes one step: nothing to send for `unchanged`/`conflict`; otherwise the write,
/// completed ([`prepare`]) and settled as described in the module docs.
async fn execute_step(
    runner: &Runner<'_>,
    context: &SpaceContext,
    lookups: &SpaceLookups,
    mut step: Step,
    refused: &AtomicBool,
) -> WorkerResult {
    let mut unknown: Option<String> = None;
    let mut attempts = 0;
    loop {
        let Some(write) = step.write.clone() else {
            return result(
                &step,
                step.worker_id.as_ref(),
                Outcome::Done,
                step.reason.clone(),
            );
        };
        if runner.cancel.is_cancelled() {
            return not_attempted(&step, unknown.as_ref());
        }
        if refused.load(Ordering::SeqCst) {
            return failed(&step, WorkerFailure::EarlierWriteRefused);
        }
        let ready = match prepare(runner, lookups, &step, write).await {
            Ok(ready) => ready,
            // A lookup (policies, proxies, accounts) cut short by the interruption: nothing
            // was sent for this step.
            Err(_) if runner.cancel.is_cancelled() => {
                return not_attempted(&step, unknown.as_ref());
            }
            Err(failure) => return failed(&step, failure),
        };
        if runner.dry_run {
            return result(
                &step,
                step.worker_id.as_ref(),
                Outcome::Planned,
                step.reason.clone(),
            );
        }
        // Take the request permit first, so a write queued behind others still sees an
        // interruption requested while it waited.
        let permit = runner.requests.acquire().await.ok();
        if runner.cancel.is_cancelled() {
            return not_attempted(&step, unknown.as_ref());
        }
        if refused.load(Ordering::SeqCst) {
            return failed(&step, WorkerFailure::EarlierWriteRefused);
        }
        attempts += 1;
        let sent = send(runner, context, &ready).await;
        drop(permit);
        let error = match sent {
            Ok(worker_id) => {
                let mut reason = step.reason.clone();
                if let Some(error) = &unknown {
                    reason.push_str(&format!(
                        " (attempt {attempts}, after a write whose outcome was unknown: {error})"
                    ));
                }
                let id = worker_id.or_else(|| step.worker_id.clone());
                return result(&step, id.as_ref(), Outcome::Done, reason);
            }
            Err(error) => error,
        };
        if error.is_interrupted() {
            // Abandoned by the interruption: before it was sent (nothing happened), or after,
            // with no answer in the client's grace period (it may have been applied).
            let reason = if error.outcome_unknown() {
                format!(
                    "{} was sent, but the run was interrupted before its answer arrived: it may or may not have been applied; run the step again to converge",
                    describe_write(&step)
                )
            } else {
                "not attempted: the run was interrupted".to_owned()
            };
            return result(
                &step,
                step.worker_id.as_ref(),
                Outcome::NotAttempted,
                reason,
            );
        }
        if error.is_auth_failure() {
            refused.store(true, Ordering::SeqCst);
            return failed(
                &step,
                WorkerFailure::PermissionRefused {
                    write: describe_write(&step),
                    message: error.to_string(),
                    permission: PermissionRefusal::of(&error)
                        .map(|refusal| refusal.permission.to_string()),
                },
            );
        }
        let is_create = matches!(ready, Ready::Create(_));
        let recheck = error.outcome_unknown()
            || (is_create && matches!(error, ApiError::Validation { .. }))
            || (!is_create && error.is_not_found());
        if !recheck {
            return failed(&step, refusal(&step, &error));
        }

        // Re-read the space, then decide.
        let fresh = match runner.read_workers(context).await {
            Ok(workers) => workers,
            Err(read_error) if read_error.is_interrupted() => {
                return result(
                    &step,
                    step.worker_id.as_ref(),
                    Outcome::NotAttempted,
                    format!(
                        "interrupted while settling {} ({error}): it may or may not have been applied; run the step again to converge",
                        describe_write(&step)
                    ),
                );
            }
            Err(read_error) => {
                return failed(
                    &step,
                    WorkerFailure::Unsettled {
                        write: describe_write(&step),
                        message: error.to_string(),
                        reread: read_error.to_string(),
                    },
                );
            }
        };
        let next = match step.source {
            Some(index) => Some(plan::plan_source_worker(
                index,
                runner.source,
                context,
                &fresh,
            )),
            None => plan::replan_prune(&step, context, &fresh),
        };
        let confirmed = format!("confirmed by re-reading the space after: {error}");
        let Some(next) = next else {
            // A prune that is done: the worker is gone or out of the pool.
            return result(
                &step,
                step.worker_id.as_ref(),
                Outcome::Done,
                format!("{} ({confirmed})", step.reason),
            );
        };
        match next.action {
            Action::Unchanged if error.outcome_unknown() => {
                // Our write was applied although its response was lost.
                return result(
                    &step,
                    next.worker_id.as_ref(),
                    Outcome::Done,
                    format!("{} ({confirmed})", step.reason),
                );
            }
            Action::Unchanged => {
                // Someone else did it meanwhile (e.g. a concurrent run created the worker).
                return result(
                    &next,
                    next.worker_id.as_ref(),
                    Outcome::Done,
                    format!(
                        "{} (done meanwhile by someone else; {confirmed})",
                        next.reason
                    ),
                );
            }
            Action::Conflict => {
                return result(
                    &next,
                    next.worker_id.as_ref(),
                    Outcome::Done,
                    next.reason.clone(),
                );
            }
            _ => {}
        }
        if !error.outcome_unknown() && next.action == step.action {
            // The server's refusal stands: the space still needs the same write.
            return failed(&step, refusal(&step, &error));
        }
        if attempts >= MAX_WRITE_ATTEMPTS {
            return failed(
                &step,
                WorkerFailure::NotApplied {
                    write: describe_write(&step),
                    attempts,
                    message: error.to_string(),
                },
            );
        }
        tracing::warn!(
            "{} may not have been applied ({error}); the space was re-read and it is not done yet: retrying",
            describe_write(&step)
        );
        if error.outcome_unknown() {
            unknown = Some(error.to_string());
            // Cut short by an interruption: the loop then reports the write as not settled.
            sleep_unless_cancelled(runner.cancel, backoff(runner.retry_delay, attempts)).await;
        }
        step = next;
    }
}

/// Sleeps `duration`, or less when `cancel` is cancelled first; whether it slept it out.
async fn sleep_unless_cancelled(cancel: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        biased;
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(duration) => true,
    }
}

/// Exponential backoff before attempt `attempts + 1`: `base * 2^(attempts-1)`, at most 10 s.
fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(Duration::from_secs(10))
}

/// Sends a write (the caller holds a request permit); returns the worker Id it produced
/// (created or updated).
async fn send(
    runner: &Runner<'_>,
    context: &SpaceContext,
    write: &Ready,
) -> Result<Option<WorkerId>, ApiError> {
    let workers = runner.client.workers(&context.space_id);
    match write {
        Ready::Create(body) => workers.create(body).await.map(|worker| Some(worker.id)),
        Ready::Update(worker) => workers.update(worker).await.map(|worker| Some(worker.id)),
        Ready::Delete(id) => workers.delete(id).await.map(|()| None),
    }
}

/// `creating worker 'a'`, `updating worker 'a' (Workers-5)`, ... for messages.
fn describe_write(step: &Step) -> String {
    let id = step
        .worker_id
        .as_ref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let verb = match step.action {
        Action::Create => "creating",
        Action::AddToPool => "adding the pool to",
        Action::ReplaceEndpoint => "replacing the endpoint of",
        Action::Delete => "deleting",
        Action::RemoveFromPool => "removing the pool from",
        Action::Unchanged | Action::Conflict => "checking",
    };
    format!("{verb} worker '{}'{id}", step.name)
}

/// The failure of a write the server refused: a refused change of endpoint type when the plan
/// knew the kinds differ and the server rejected the request as invalid (no server text is
/// interpreted), else the refusal with its kind.
fn refusal(step: &Step, error: &ApiError) -> WorkerFailure {
    let kind = FailureKind::of(error);
    match (&step.kind_change, kind) {
        (Some((from, to)), FailureKind::Rejected) if step.action == Action::ReplaceEndpoint => {
            WorkerFailure::EndpointTypeChangeRefused {
                write: describe_write(step),
                from: from.clone(),
                to: to.clone(),
                message: error.to_string(),
            }
        }
        _ => WorkerFailure::Refused {
            write: describe_write(step),
            kind,
            message: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backoff before repeating a write ends when the run is interrupted, not when it
    /// would have (time is paused: the clock only moves to the next timer).
    #[tokio::test(start_paused = true)]
    async fn an_interruption_cuts_the_backoff_short() {
        let cancel = CancellationToken::new();
        let started = tokio::time::Instant::now();
        let interrupt = async {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            cancel.cancel();
        };
        let (slept_out, ()) = tokio::join!(
            sleep_unless_cancelled(&cancel, Duration::from_secs(10)),
            interrupt
        );
        assert!(!slept_out);
        assert_eq!(started.elapsed(), Duration::from_millis(1_500));

        let calm = CancellationToken::new();
        let started = tokio::time::Instant::now();
        assert!(sleep_unless_cancelled(&calm, Duration::from_secs(10)).await);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 3), Duration::from_millis(400));
        assert_eq!(backoff(base, 40), Duration::from_secs(10));
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
    }

    #[test]
    fn failure_kinds_of_api_errors() {
        let forbidden = ApiError::Forbidden {
            method: "POST".into(),
            path: "/api/Spaces-2/workers".into(),
            message: "Missing permission: WorkerEdit".into(),
        };
        assert_eq!(FailureKind::of(&forbidden), FailureKind::PermissionRefused);
        let invalid = ApiError::Validation {
            method: "PUT".into(),
            path: "/api/Spaces-2/workers/Workers-1".into(),
            status: 400,
            message: "There was a problem with your request.".into(),
            errors: vec!["Model Endpoint type does not match incoming type".into()],
        };
        assert_eq!(FailureKind::of(&invalid), FailureKind::Rejected);
        let server = ApiError::Server {
            method: "POST".into(),
            path: "/api/Spaces-2/workers".into(),
            status: 500,
            message: String::new(),
            attempts: 1,
        };
        assert_eq!(FailureKind::of(&server), FailureKind::OutcomeUnknown);
    }
}
