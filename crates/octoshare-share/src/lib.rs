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
//! # How it works
//!
//! 1. List the spaces (`/api/spaces/all`), resolve `--from-space` and every `--to-spaces` entry
//!    (Ids or names; trimmed; empty entries dropped; duplicates dropped with a note; the source
//!    space listed as a target is skipped with a note; an unknown entry fails on its own).
//! 2. Read the source pool (`/workerpools/all`) and its workers (every page of
//!    `/workerpools/{id}/workers`).
//! 3. For every target space, at most `--concurrency` at once: read its pools, machine policies
//!    and workers (the three `/all` endpoints, concurrently), plan, then apply the plan. A space
//!    that fails never stops the others. A re-run that finds everything shared makes 3 GETs per
//!    target space plus the source reads (`/spaces/all`, `/workerpools/all`, the pool's worker
//!    pages) and no write.
//!
//! [`share_known_workers`] does the same without reading again what the caller already has
//! ([`KnownSpaces`]): `octoshare run` passes the spaces and pools discover read, so the space
//! list and every pool read are skipped and a target space costs 2 GETs (policies, workers)
//! plus its writes.
//!
//! # Which source workers are shared
//!
//! A worker's identity is its endpoint's Uri and thumbprint ([`octoshare_core::domain::EndpointIdentity`]:
//! Uri case-insensitive with the trailing `/` normalised, thumbprint case-insensitive). Every
//! Tentacle endpoint with both is shared: polling (`TentacleActive`, what the bootstrap
//! registers) and listening (`TentaclePassive`, which Octopus also lets several spaces register).
//! Other endpoints (SSH, cloud targets, ...) have no such identity and are skipped with a warning
//! naming them; a second source worker with an endpoint already shared under another name is
//! skipped the same way. Pruning only ever considers polling workers.
//!
//! # Decision table (per source worker, per target space)
//!
//! | the target space has ... | action | request |
//! |---|---|---|
//! | a worker with the same identity, in the target pool | `unchanged` | none |
//! | a worker with the same identity, not in the target pool | `addToPool`: its pools + the target pool | PUT |
//! | no such worker, but a worker with the same name (trimmed, case-insensitive) whose endpoint is not the source pool's | `replaceEndpoint` (`--on-conflict replace`, default): the source endpoint, its pools + the target pool | PUT |
//! | the same, with `--on-conflict skip` | `conflict` (a warning, not a failure) | none |
//! | a worker with the same name holding the endpoint of *another* source worker | `conflict` (rename one of them) | none |
//! | neither | `create` | POST |
//! | with `--prune`: a polling worker in the target pool whose identity is not among the source pool's, that is neither `Healthy` nor `HasWarnings`, and that no source worker claimed | `delete`, or `removeFromPool` when it is in other pools too (PUT without the target pool) | DELETE / PUT |
//!
//! A POST body is exactly `Name`, `SpaceId`, `IsDisabled` (as the source), `WorkerPoolIds` (the
//! target pool), `MachinePolicyId` (the `--machine-policy` policy, else the space's default
//! policy) and the source `Endpoint` object unchanged (unknown fields kept), never a read-only
//! field. A PUT sends the worker as read with only its pools (and, for `replaceEndpoint`, its
//! endpoint and the top-level `Thumbprint`/`Uri` mirrors) changed: names, policies and
//! `IsDisabled` of existing registrations stay as the space has them, and `--machine-policy`
//! only applies to created workers. If the server refuses a `replaceEndpoint` (Octopus cannot
//! change an endpoint's type, e.g. a stale listening registration) that worker fails with a
//! message saying to delete the stale worker.
//!
//! A space without the pool, or without the `--machine-policy` policy, fails as a whole (nothing
//! is done there); a space without a default policy only fails its creates. Healthy and
//! `HasWarnings` workers are never pruned (a Tentacle that answers is not a destroyed VM); a
//! stale same-name registration is replaced or reported, never pruned; pruning is off when the
//! source pool has no worker to share (an empty source would look like "everything is stale");
//! the source space is never a target, so it is never pruned.
//!
//! # Writes whose outcome is unknown
//!
//! See [`MAX_WRITE_ATTEMPTS`] and the `execute` module: after a timeout, a dropped connection or
//! a 5xx on a write, the space's workers are read again and the worker re-planned; a POST that
//! was committed is counted as created, one that was not is sent again (bounded, with backoff).
//! A 400 on a POST (Octopus refuses a duplicate name: another process created it meanwhile) is
//! also settled by re-reading. So "commit then fail" responses never create a duplicate.
//!
//! # Permissions and exit codes
//!
//! A refused write (401/403, e.g. a read-only API key) fails that worker and stops further
//! writes in that space; other spaces still run (permissions can differ per space). The run then
//! ends with exit code 6 ("authentication or permission refused") rather than 5, because the fix
//! is the key's permissions, not the spaces. Other failures end with 5, an interruption too
//! ([`ShareReport::exit`]).
//!
//! # Interruption
//!
//! Once [`octoshare_cli::Shutdown`] is requested no new space is started and no new write is
//! sent; writes in flight finish; the rest is reported as `notAttempted`; the partial summary is
//! printed and the run exits 5. Running the step again converges.
//!
//! # Dry run
//!
//! With `--dry-run` only GET requests are made (the binary builds its client with
//! `ClientBuilder::read_only`, so a write is impossible by construction) and the plan is printed:
//! per space, per worker, the action and its reason. Counts and outputs are what a real run
//! would do.
//!
//! # Output
//!
//! Per-space lines (changes as info, unchanged as verbose, conflicts and failures as warnings
//! naming space, worker and reason), a summary table (space × created/updated/unchanged/pruned/
//! conflicts/failed), a highlight line with the totals, progress (spaces done of total), the
//! output variables `CreatedWorkerCount`, `UpdatedWorkerCount`, `UnchangedWorkerCount`,
//! `PrunedWorkerCount` and `FailedCount` ([`emit_outputs`]), and with `--report PATH` the JSON
//! report ([`write_report`], shape in the `report` module docs) attached as an Octopus artifact.
//! With `--output json` the document also holds the whole report under `"Report"`.

mod args;
mod execute;
mod plan;
pub mod report;
mod share;

pub use args::{DEFAULT_CONCURRENCY, OnConflict, ShareArgs, ShareConfig, split_space_list};
pub use execute::MAX_WRITE_ATTEMPTS;
pub use report::{
    Action, FailureKind, Outcome, ShareReport, SourceWorkerResult, SpaceRef, SpaceResult,
    SpaceStatus, Totals, WorkerResult, emit_outputs, write_report,
};
pub use share::{KnownSpace, KnownSpaces, conclude, share_known_workers, share_workers};
