//! Events the store applies at a time: spaces that appear, workers that register or are
//! removed, leases that are taken or end.

use std::time::Instant;

use crate::scenario::{LeaseSeed, SpaceSeed, WorkerSeed};

#[derive(Debug)]
pub(crate) enum Event {
    /// A space appears (with everything its seed holds).
    CreateSpace(Box<SpaceSeed>),
    /// A worker registers into the space with this name.
    Register {
        space: String,
        worker: Box<WorkerSeed>,
    },
    /// Every worker of this name in the space is removed.
    Deregister { space: String, worker: String },
    /// A lease is taken on a worker of the space; it ends on its own at `until`.
    TakeLease {
        space: String,
        lease: LeaseSeed,
        until: Option<Instant>,
    },
    /// A lease ends (its task finishes).
    ReleaseLease { lease_id: String },
}

/// The pending events, in due order (ties: in the order they were scheduled).
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    next_sequence: u64,
    pending: Vec<(Instant, u64, Event)>,
}

impl Schedule {
    pub(crate) fn add(&mut self, due: Instant, event: Event) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let position = self
            .pending
            .partition_point(|(d, s, _)| (*d, *s) <= (due, sequence));
        self.pending.insert(position, (due, sequence, event));
    }

    /// Removes and returns the first event due by `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Event> {
        if self.pending.first().is_some_and(|(due, _, _)| *due <= now) {
            Some(self.pending.remove(0).2)
        } else {
            None
        }
    }

    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.pending.first().map(|(due, _, _)| *due)
    }

    /// Drops the pending end of a lease (it was released early).
    pub(crate) fn forget_release(&mut self, lease_id: &str) {
        self.pending.retain(|(_, _, event)| {
            !matches!(event, Event::ReleaseLease { lease_id: id } if id == lease_id)
        });
    }
}
