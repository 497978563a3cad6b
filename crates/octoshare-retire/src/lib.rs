//! Drain-safe retirement: take a worker out of every space without breaking a running
//! deployment.
//!
//! A shared fleet registers one Tentacle in many spaces. Scaling in must remove every one of
//! those registrations, and deleting a worker while a task runs on it breaks that task (Octopus
//! refuses to delete a worker a task lease holds, OctopusDeploy/Issues#7707). [`retire`] does
//! it in an order that never breaks one:
//!
//! 1. **Search**: the spaces of the [`RetireScope`] (`GET /api/spaces/all`, or the spaces given),
//!    then one worker listing per space (`GET /api/{space}/workers/all`, at most
//!    [`RetireConfig::concurrency`] at once). The [`WorkerSelector`] picks the registrations by
//!    the endpoint identity of their kind (the domain's rules). A space the key cannot read
//!    (403) is skipped and reported.
//! 2. **Disable** every registration found, in every space, before anything else (`PUT` of the
//!    resource as read with `IsDisabled: true`; already disabled ones are left alone), so no
//!    new task is leased to it anywhere.
//! 3. **Drain and delete**: rounds of `GET /api/{space}/workertaskleases` (one per space with a
//!    registration left); a registration no lease holds is deleted at once, in that round. A
//!    leased registration is never sent a DELETE. A server without the lease endpoint (before
//!    2024.2; 404, or 403) is asked with the DELETE itself: Octopus refuses it while the worker
//!    is busy (400), which counts as "still busy". Rounds start 1 s apart and back off to
//!    [`RetireConfig::poll_interval`], until [`RetireConfig::drain_timeout`].
//! 4. **Timeout**: the registrations still held stay disabled (never deleted) and are reported
//!    with their leases (task Id, lease age, the task's state when it can be read: a finished
//!    task still holding a lease is an orphaned lease, OctopusDeploy/Issues#9692). With
//!    [`RetireConfig::force`], the tasks holding them are cancelled (`POST` to the task's
//!    `Cancel` link, which ends the task and its leases), reported as broken, and the drain
//!    goes on for [`RetireConfig::force_grace`].
//!
//! Writes whose outcome is unknown (a timeout, a dropped connection, a 5xx) are never repeated
//! blindly: the worker is read again first. Each write is one whole request, so an
//! interruption (the [`CancellationToken`]) leaves every registration as found, disabled or
//! deleted; no new request starts after it, and a re-run finishes the job (already disabled
//! registrations get no second PUT). A second run after success finds nothing:
//! [`RetireStatus::NothingToRetire`]. A dry run sends GET requests only.
//!
//! The library never prints: it reports through a [`RetireSink`] and returns a
//! [`RetireOutcome`]. [`this_machine`] reads the local Tentacle's thumbprint for
//! `--this-machine`.
//!
//! [`CancellationToken`]: tokio_util::sync::CancellationToken

mod clock;
mod outcome;
mod retire;
mod select;
mod sink;
pub mod this_machine;
mod timestamp;

pub use clock::{DrainClock, TokioClock};
pub use outcome::{
    FailedSpace, ForcedTask, LeaseReport, RegistrationReport, RegistrationState, RetireOutcome,
    RetireStatus, SkippedSpace, TaskSummary,
};
pub use retire::{
    DEFAULT_DRAIN_TIMEOUT, DEFAULT_FORCE_GRACE, DEFAULT_POLL_INTERVAL, FIRST_POLL_DELAY,
    RetireConfig, RetireError, RetireScope, retire, retire_with_clock,
};
pub use select::{Registration, WorkerSelector};
pub use sink::{
    BusyRegistration, Change, DrainProgress, RegistrationChange, RetireSink, SearchStart,
};
