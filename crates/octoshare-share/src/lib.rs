//! Step 4 of the "sharing workers across spaces" runbook, "Add workers to remaining spaces":
//! register the polling Tentacles of the source space's worker pool into the same-named pool of
//! every other space, safely re-runnable.
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
//!    [`ShareOptions::concurrency`] at once, reads its machine policies and workers (and its
//!    pools when the target's pool is not resolved yet) and plans it: pure functions from what
//!    was read to one decision per worker.
//! 3. **Apply**: the plan's writes, settled by re-reading when their outcome is unknown. A space
//!    that fails never stops the others. A re-run that finds everything shared makes 3 GETs per
//!    target space (2 when the pool is known) plus the source reads, and no write.
//!
//! The library never prints: it reports through a [`ShareSink`] and returns a [`ShareReport`]
//! with typed failures ([`SpaceFailure`], [`WorkerFailure`]).
//!
//! # Which source workers are shared
//!
//! The domain decides which kinds of worker are shared
//! ([`octoshare_core::domain::WorkerKind::is_shared`]: polling `TentacleActive`, what the
//! bootstrap registers, and listening `TentaclePassive`, which Octopus also lets several spaces
//! register) and what identifies one ([`octoshare_core::domain::EndpointIdentity`]: for
//! Tentacles the Uri, case-insensitive with the trailing `/` normalised, and the thumbprint,
//! case-insensitive). Other workers (SSH, Kubernetes agents, cloud targets, ...) are skipped
//! and reported; a second source worker with an endpoint already shared under another name is
//! skipped the same way. Pruning only ever considers polling workers.
//!
//! # Decision table (per source worker, per target space)
//!
//! | the target space has ... | action | request |
//! |---|---|---|
//! | a worker with the same identity, in the target pool | `Unchanged` | none |
//! | a worker with the same identity, not in the target pool | `AddToPool`: its pools + the target pool | PUT |
//! | no such worker, but a worker with the same name (trimmed, case-insensitive) whose endpoint is not the source pool's | `ReplaceEndpoint` ([`OnConflict::Replace`], default): the source endpoint, its pools + the target pool | PUT |
//! | the same, with [`OnConflict::Skip`] | `Conflict` (a warning, not a failure) | none |
//! | a worker with the same name holding the endpoint of *another* source worker | `Conflict` (rename one of them) | none |
//! | neither | `Create` | POST |
//! | when pruning: a polling worker in the target pool whose identity is not among the source pool's, that is neither `Healthy` nor `HasWarnings`, and that no source worker claimed | `Delete`, or `RemoveFromPool` when it is in other pools too (PUT without the target pool) | DELETE / PUT |
//!
//! A POST body is exactly `Name`, `SpaceId`, `IsDisabled` (as the source), `WorkerPoolIds` (the
//! target pool), `MachinePolicyId` (the [`ShareOptions::machine_policy`], else the space's
//! default policy) and the source `Endpoint` object unchanged (unknown fields kept), never a read-only
//! field. A PUT sends the worker as read with only its pools (and, for `replaceEndpoint`, its
//! endpoint and the top-level `Thumbprint`/`Uri` mirrors) changed: names, policies and
//! `IsDisabled` of existing registrations stay as the space has them, and the machine policy
//! only applies to created workers. If the server refuses a `ReplaceEndpoint` that changes the
//! endpoint's kind (Octopus cannot change an endpoint's type, e.g. a stale listening
//! registration) that worker fails with [`WorkerFailure::EndpointTypeChangeRefused`].
//!
//! A space without the pool, or without the named machine policy, fails as a whole (nothing
//! is done there); a space without a default policy only fails its creates. Healthy and
//! `HasWarnings` workers are never pruned (a Tentacle that answers is not a destroyed VM); a
//! stale same-name registration is replaced or reported, never pruned; pruning is off when the
//! source pool has no worker to share (an empty source would look like "everything is stale");
//! the source space is never a target, so it is never pruned.
//!
//! # Writes whose outcome is unknown
//!
//! See [`MAX_WRITE_ATTEMPTS`] and the `apply` module: after a timeout, a dropped connection or
//! a 5xx on a write, the space's workers are read again and the worker re-planned; a POST that
//! was committed is counted as created, one that was not is sent again (bounded, with backoff).
//! A 400 on a POST (Octopus refuses a duplicate name: another process created it meanwhile) is
//! also settled by re-reading. So "commit then fail" responses never create a duplicate.
//!
//! # Permissions
//!
//! A refused write (401/403, e.g. a read-only API key) fails that worker and stops further
//! writes in that space; other spaces still run (permissions can differ per space).
//! [`ShareReport::verdict`] then says [`ShareVerdict::PermissionRefused`] rather than
//! [`ShareVerdict::Failed`], because the fix is the key's permissions, not the spaces.
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
//! write is impossible by construction): the report holds the plan, per space, per worker, the
//! action and its reason, and counts what a real run would do.

mod apply;
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
