//! Runtime controls of a running [`Emulator`]: change its state (spaces, workers, keys,
//! leases) and its behaviour (outages, load, latency) without restarting it on another port.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::access::{Access, ApiKeySeed};
use crate::app::App;
use crate::load::{ConcurrencyLimit, OutageKind};
use crate::scenario::{LeaseSeed, SpaceSeed, WorkerSeed};
use crate::server::Emulator;

/// A lease taken with [`Emulator::hold_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLease {
    /// `WorkerTaskLeases-N`.
    pub lease_id: String,
    /// `ServerTasks-N`, the task holding the worker (`GET /api/tasks/{id}`).
    pub task_id: String,
}

/// Holds every admitted request before it is handled until dropped (or
/// [`RequestHold::release`]d): held requests count as in flight, so tests can build up a known
/// number of concurrent requests without timing windows. With several holds alive, requests
/// wait until the last one ends.
#[derive(Debug)]
#[must_use = "requests are released when the hold is dropped"]
pub struct RequestHold {
    app: Arc<App>,
    /// Holds only writes ([`Emulator::hold_writes`]).
    writes_only: bool,
}

impl RequestHold {
    /// Lets the held requests (and every later one) through.
    pub fn release(self) {}
}

impl Drop for RequestHold {
    fn drop(&mut self) {
        let holds = if self.writes_only {
            &self.app.write_holds
        } else {
            &self.app.holds
        };
        holds.send_modify(|holds| *holds = holds.saturating_sub(1));
    }
}

impl Emulator {
    fn schedule_changed(&self) {
        self.app.schedule_changed.notify_one();
    }

    /// Adds a worker directly (as a Tentacle registration would, without the duplicate-name
    /// check) and returns its `Workers-N` id.
    ///
    /// # Panics
    /// If the space does not exist or has no pool, policy, proxy or account the seed names, or
    /// a named pool is dynamic: that is a bug in the test, not a request to answer.
    pub fn add_worker(&self, space_id: &str, worker: WorkerSeed) -> String {
        match self.app.store().add_seeded_worker(space_id, &worker) {
            Ok(id) => id,
            Err(error) => panic!(
                "Emulator::add_worker({space_id}, {}): {error}",
                worker.name()
            ),
        }
    }

    /// Removes a worker as a person deleting it in the portal would: leases do not stop it
    /// (they end with it). Returns whether it existed.
    pub fn remove_worker(&self, space_id: &str, worker_id: &str) -> bool {
        self.app.store().remove_worker(space_id, worker_id)
    }

    /// Sets `HealthStatus` (and what a health check reports) of every worker with this name
    /// in the space.
    ///
    /// # Panics
    /// If no worker of that name exists in the space.
    pub fn set_health(&self, space_id: &str, worker_name: &str, health: &str) {
        let matched = self.app.store().set_health(space_id, worker_name, health);
        assert!(
            matched > 0,
            "Emulator::set_health: no worker named '{worker_name}' in {space_id}"
        );
    }

    /// Creates a space now (with "Default Worker Pool", "Default Machine Policy" and everything
    /// the seed holds) and returns its `Spaces-N` id. The seed's registrations,
    /// deregistrations and leases count from now; `created_after` is ignored.
    ///
    /// # Panics
    /// If the seed is invalid or a space of that name exists.
    pub fn add_space(&self, space: SpaceSeed) -> String {
        let result = self
            .app
            .store()
            .add_space_from_seed(&space, std::time::Instant::now());
        self.schedule_changed();
        match result {
            Ok(id) => id,
            Err(error) => panic!("Emulator::add_space({}): {error}", space.name()),
        }
    }

    /// Accepts another key or token with its own access per space.
    pub fn add_scoped_key(&self, key: ApiKeySeed) {
        self.app.keys().add(&key);
    }

    /// Changes what a scoped key or token (not the built-in admin one) may do in a space.
    ///
    /// # Panics
    /// If no scoped key or token like that exists.
    pub fn set_access(&self, credential: &str, space_name: &str, access: Access) {
        let changed = self.app.keys().set_access(credential, space_name, access);
        assert!(
            changed,
            "Emulator::set_access: no scoped key or token like that"
        );
    }

    /// Takes a task lease on the first worker of `lease`'s worker name in the space, now; it
    /// ends at [`LeaseSeed::until`] (from now) or when released.
    ///
    /// # Panics
    /// If the space, worker or pool does not exist.
    pub fn hold_lease(&self, space_id: &str, lease: LeaseSeed) -> HeldLease {
        let result = self.app.store().take_lease_now(space_id, &lease);
        self.schedule_changed();
        match result {
            Ok((lease_id, task_id)) => HeldLease { lease_id, task_id },
            Err(error) => panic!(
                "Emulator::hold_lease({space_id}, {}): {error}",
                lease.worker()
            ),
        }
    }

    /// Ends a lease now (its task succeeds unless it had already ended). Returns whether it
    /// existed.
    pub fn release_lease(&self, lease_id: &str) -> bool {
        self.app.store().release_lease(lease_id)
    }

    /// The task leases of a space, as the items of `/api/{spaceId}/workertaskleases`.
    pub fn leases(&self, space_id: &str) -> Vec<Value> {
        self.app.store().leases(space_id).unwrap_or_default()
    }

    /// A server task as `GET /api/tasks/{id}` returns it.
    pub fn task(&self, task_id: &str) -> Option<Value> {
        self.app.store().task(task_id).ok().map(|(task, _)| task)
    }

    /// Starts an outage: every request (even `/api` and the ping) is dropped or refused until
    /// [`Emulator::end_outage`]. Scheduled outages still apply when it ends.
    pub fn begin_outage(&self, kind: OutageKind) {
        self.app.outages.set(Some(kind));
    }

    /// Ends the outage started with [`Emulator::begin_outage`].
    pub fn end_outage(&self) {
        self.app.outages.set(None);
    }

    /// Sets or removes the cap on requests in flight.
    pub fn set_concurrency_limit(&self, limit: Option<ConcurrencyLimit>) {
        self.app.gate.set_limit(limit);
    }

    /// Sets the fixed latency of every request.
    pub fn set_latency(&self, latency: Duration) {
        self.app.set_latency(latency);
    }

    /// Sets the extra latency per other request in flight.
    pub fn set_latency_per_in_flight(&self, per_other_request: Duration) {
        self.app.set_latency_per_in_flight(per_other_request);
    }

    /// Requests being handled now (admitted, not yet answered).
    pub fn in_flight(&self) -> usize {
        self.app.gate.in_flight()
    }

    /// Requests waiting for a slot (queueing cap).
    pub fn queued(&self) -> usize {
        self.app.gate.queued()
    }

    /// The most requests in flight at once since start (or the last reset).
    pub fn peak_in_flight(&self) -> usize {
        self.app.gate.peak()
    }

    /// Restarts [`Emulator::peak_in_flight`] from the current count.
    pub fn reset_peak_in_flight(&self) {
        self.app.gate.reset_peak();
    }

    /// Requests refused by the concurrency cap since start.
    pub fn refused_by_limit(&self) -> u64 {
        self.app.gate.refused()
    }

    /// Holds every admitted request until the returned guard is dropped.
    pub fn hold_requests(&self) -> RequestHold {
        self.app.holds.send_modify(|holds| *holds += 1);
        RequestHold {
            app: Arc::clone(&self.app),
            writes_only: false,
        }
    }

    /// Holds every admitted write (POST, PUT, DELETE) before it is handled until the returned
    /// guard is dropped; reads go through. A held write is already in the request log, so a
    /// test can wait for it, change the state "meanwhile" (another process's registration) or
    /// interrupt the client, and then let it through: a race without a timing window.
    pub fn hold_writes(&self) -> RequestHold {
        self.app.write_holds.send_modify(|holds| *holds += 1);
        RequestHold {
            app: Arc::clone(&self.app),
            writes_only: true,
        }
    }
}
