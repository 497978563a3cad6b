//! Step 4 of the "sharing workers across spaces" runbook, "Add workers to remaining spaces":
//! register the workers of the source space's worker pool (polling and listening Tentacles, SSH
//! workers, Kubernetes agents) into the same-named pool of every other space, safely
//! re-runnable.
//!
//! The original step looped over spaces and workers one request at a time, POSTed a copy of
//! every worker with read-only fields in the body and turned every failure into a warning, so a
//! second run "succeeded" while failing for every existing name, and VMs re-created with the same
//! host names and new thumbprints stayed blocked by their stale registrations. This step plans
//! first, then applies, and converges.
//!
//! # How it works: resolve, plan, apply
//!
//! 1. **Resolve** ([`resolve`], standalone only): list the spaces (`/api/spaces/all`), resolve
//!    the source space and every target entry by the domain's rules (Ids or names; duplicates
//!    dropped and reported; the source space listed as a target is skipped; an entry that does
//!    not resolve fails on its own), and resolve the source pool (`/workerpools/all`). The result
//!    is a [`ShareTargets`] of typed references. `octoshare run` builds it from discover's
//!    targets instead ([`ShareTargets::from_discovered`]), so nothing is read twice.
//! 2. **Plan** (per target space): [`share`] reads the source pool's workers (every page of
//!    `/workerpools/{id}/workers`) once, then per target space, at most
//!    [`ShareOptions::concurrency`] at once, reads its workers (and its pools when the target's
//!    pool is not resolved yet) and plans it: pure functions from what was read to one decision
//!    per worker.
//! 3. **Apply**: the plan's writes, each completed first with what only it needs, then settled
//!    by re-reading when their outcome is unknown. A space that fails never stops the others.
//!
//! # Read only what a decision needs
//!
//! A created worker gets the space's default machine policy from the server (the POST leaves
//! `MachinePolicyId` out, as Tentacle's own `register-worker` does without `--policy`), so the
//! policies are read only for `--machine-policy` and then only in a space whose plan creates a
//! worker (the policy applies to created workers only); the proxies and accounts of the source
//! and target spaces only when a write carries a source endpoint that refers to one; each list
//! at most once per space (concurrency-safe: the steps of a space share one read). So a re-run
//! that finds everything shared makes, per target space, 1 GET (its workers) when the pool is
//! known (`octoshare run`, from discover) and 2 when it is not (standalone: its pools too), plus
//! the source reads (O(1)), and no write. A first run of a fleet of polling Tentacles reads, per
//! target space, only its workers (and its policies once with `--machine-policy`).
//!
//! # Permissions
//!
//! Octopus checks space permissions: worker and worker-pool reads need `WorkerView`, worker
//! writes `WorkerEdit`, and the lookups `MachinePolicyView` (only with `--machine-policy`),
//! `ProxyView` and `AccountView`, each in the space concerned. A refused write (401/403, e.g. a
//! key with only `WorkerView` there) fails that worker, names the permission (the server's word
//! when its 403 names one, `WorkerEdit` otherwise) and stops further writes in that space; other
//! spaces still run (permissions differ per space). A refused read fails the space (or, for a
//! lookup, the worker) the same way. [`ShareReport::verdict`] says [`ShareVerdict::PermissionRefused`] when
//! every failure was a refused permission and no write was done (the fix is the key), and
//! [`ShareVerdict::Failed`] when some writes were refused while others were done.
//!
//! # Interruption
//!
//! Once the [`CancellationToken`](tokio_util::sync::CancellationToken) is cancelled no new space
//! is started and no new write is sent, and nothing waits any more: reads in flight are
//! abandoned (the client is cancelled by the same token), as are the backoff before repeating
//! a write and the re-read that settles one. A write already sent gets the client's grace
//! period to finish; one whose answer does not come in time is reported `NotAttempted` with a
//! reason saying it may or may not have been applied. Everything else not done is
//! `NotAttempted` too, the report is marked [`ShareReport::interrupted`], and its
//! [`ShareReport::verdict`] is [`ShareVerdict::Interrupted`] whatever else failed. Running
//! the step again converges (it re-reads every space, so nothing is ever written twice).
//!
//! # Dry run
//!
//! With [`ShareOptions::dry_run`] no write is sent (callers also build a read-only client, so a
//! write is impossible by construction): every write is completed as a real run would (machine
//! policy, proxy and account lookups are reads), so the report holds the plan, per space, per
//! worker, the action and its reason, the failures a real run would meet, and counts what a
//! real run would do.

mod apply;
mod lookups;
mod options;
mod plan;
pub mod report;
mod resolve;
mod share;

pub use apply::MAX_WRITE_ATTEMPTS;
pub use options::{OnConflict, ShareOptions, ShareRequest, split_space_list};
pub use report::{
    Action, FailureKind, Outcome, ShareReport, ShareVerdict, SourceWorkerResult, SpaceFailure,
    SpaceResult, SpaceStatus, Totals, WorkerFailure, WorkerResult,
};
pub use resolve::{Duplicate, ShareTargets, Target, resolve};
pub use share::{ShareError, ShareSink, SourceRead, SpaceDone, share};
