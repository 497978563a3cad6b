//! The events a retirement reports as it goes, and the [`RetireSink`] that receives them.

use std::time::Duration;

use octoshare_core::domain::SpaceRef;

use crate::outcome::{ForcedTask, LeaseReport};
use crate::select::Registration;

/// The search is about to read the spaces' workers.
#[derive(Debug, Clone, Copy)]
pub struct SearchStart<'a> {
    /// What is retired (`worker 'NAME'`, `thumbprint ...`).
    pub selector: &'a str,
    /// How many spaces are searched.
    pub spaces: usize,
    /// Whether this is a dry run.
    pub dry_run: bool,
    /// Whether the registrations are found by a worker's name (`--worker`): then every
    /// endpoint that name has is retired, which may be several machines.
    pub by_name: bool,
}

/// Something happened to one registration.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// Disabled now (`PUT` with `IsDisabled: true`).
    Disabled,
    /// It was already disabled: no write.
    AlreadyDisabled,
    /// Deleted.
    Deleted,
    /// Gone before it was deleted.
    Gone,
    /// The server refused to delete it (a server without the lease endpoint: it is busy).
    DeleteRefused(&'a str),
    /// A request about it failed.
    Failed(&'a str),
}

/// A registration changed.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationChange<'a> {
    /// The registration.
    pub registration: &'a Registration,
    /// What happened.
    pub change: Change<'a>,
}

/// A registration still held by a task.
#[derive(Debug, Clone, Copy)]
pub struct BusyRegistration<'a> {
    /// The registration.
    pub registration: &'a Registration,
    /// The leases holding it (empty where the server has no lease endpoint).
    pub leases: &'a [LeaseReport],
}

/// Where the drain stands after a round of polling.
#[derive(Debug, Clone)]
pub struct DrainProgress<'a> {
    /// Registrations gone (deleted or vanished) so far.
    pub retired: usize,
    /// Registrations to retire in all.
    pub total: usize,
    /// The ones still held, in the server's space order.
    pub busy: Vec<BusyRegistration<'a>>,
    /// Which round this was (1 for the first).
    pub poll: u32,
    /// Time since the drain started.
    pub elapsed: Duration,
    /// Time left before the drain timeout (zero: this was the last round).
    pub time_left: Duration,
    /// Whether this is the grace period after `force` cancelled the holding tasks.
    pub forcing: bool,
}

/// Receives what a retirement does; every method does nothing unless overridden.
pub trait RetireSink {
    /// The search starts.
    fn searching(&mut self, _start: &SearchStart<'_>) {}
    /// A space cannot be read with this key (403) and is not searched.
    fn space_skipped(&mut self, _space: &SpaceRef, _reason: &str) {}
    /// A space could not be searched.
    fn space_failed(&mut self, _space: &SpaceRef, _error: &str) {}
    /// The search found these registrations (possibly none).
    fn found(&mut self, _registrations: &[Registration]) {}
    /// Draining starts: every registration that could be is disabled.
    fn draining(&mut self, _pending: usize, _timeout: Duration) {}
    /// A space's server has no lease endpoint (or refused it): its deletes are tried, and a
    /// refusal means "still busy".
    fn lease_endpoint_missing(&mut self, _space: &SpaceRef, _reason: &str) {}
    /// A registration changed.
    fn changed(&mut self, _change: &RegistrationChange<'_>) {}
    /// A round of polling ended.
    fn drain_progress(&mut self, _progress: &DrainProgress<'_>) {}
    /// A poll failed with a transient error; polling goes on until the drain timeout.
    fn poll_failed(&mut self, _space: &SpaceRef, _error: &str) {}
    /// `force` cancelled (or tried to cancel) a task holding a registration.
    fn forcing(&mut self, _task: &ForcedTask) {}
}

/// A sink that ignores everything.
impl RetireSink for () {}

impl<S: RetireSink + ?Sized> RetireSink for &mut S {
    fn searching(&mut self, start: &SearchStart<'_>) {
        (**self).searching(start);
    }
    fn space_skipped(&mut self, space: &SpaceRef, reason: &str) {
        (**self).space_skipped(space, reason);
    }
    fn space_failed(&mut self, space: &SpaceRef, error: &str) {
        (**self).space_failed(space, error);
    }
    fn found(&mut self, registrations: &[Registration]) {
        (**self).found(registrations);
    }
    fn draining(&mut self, pending: usize, timeout: Duration) {
        (**self).draining(pending, timeout);
    }
    fn lease_endpoint_missing(&mut self, space: &SpaceRef, reason: &str) {
        (**self).lease_endpoint_missing(space, reason);
    }
    fn changed(&mut self, change: &RegistrationChange<'_>) {
        (**self).changed(change);
    }
    fn drain_progress(&mut self, progress: &DrainProgress<'_>) {
        (**self).drain_progress(progress);
    }
    fn poll_failed(&mut self, space: &SpaceRef, error: &str) {
        (**self).poll_failed(space, error);
    }
    fn forcing(&mut self, task: &ForcedTask) {
        (**self).forcing(task);
    }
}
