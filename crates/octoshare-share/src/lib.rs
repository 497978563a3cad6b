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
//! worker (the policy applies to created workers only); the proxies and accounts of the source and target spaces only
//! when a write carries a source endpoint that refers to one; each list at most once per space
//! (concurrency-safe: the steps of a space share one read). So a re-run that finds everything
//! shared makes, per target space, 1 GET (its workers) when the pool is known (`octoshare run`,
//! from discover) and 2 when it is not (standalone: its pools too), plus the source reads
//! (O(1)), and no write. A first run reads each target's policies once when it creates there;
//! a fleet of polling Tentacles makes no other read than before.
//!
//! The library never prints: it reports through a [`ShareSink`] and returns a [`ShareReport`]
//! with typed failures ([`SpaceFailure`], [`WorkerFailure`]).
//!
//! # Which source workers are shared
//!
//! The domain decides which kinds of worker are shared
//! ([`octoshare_core::domain::WorkerKind::is_shared`]) and what identifies one
//! ([`octoshare_core::domain::EndpointIdentity`]):
//!
//! | kind (`CommunicationStyle`) | identity | mapped per space |
//! |---|---|---|
//! | polling Tentacle (`TentacleActive`) | `Uri` + `Thumbprint` | nothing |
//! | listening Tentacle (`TentaclePassive`) | `Uri` + `Thumbprint` | `ProxyId` |
//! | SSH (`Ssh`) | `Host` + `Port` + `Fingerprint` | `AccountId`, `ProxyId` |
//! | Kubernetes agent (`KubernetesTentacle`) | `TentacleEndpointConfiguration.Uri` + `.Thumbprint` | `TentacleEndpointConfiguration.ProxyId` (listening agents only) |
//!
//! Uris, thumbprints and hosts compare case-insensitively (a Uri's trailing `/` optional).
//! Other workers (offline drops, cloud targets, styles this client does not know) are skipped
//! and reported with their style; a second source worker with an endpoint already shared under
//! another name is skipped the same way.
//!
//! Proxies and accounts belong to one space, so a copied endpoint's `ProxyId`/`AccountId` is
//! replaced by the Id of the target space's proxy or account with the same name (the name rule)
//! as the source's. When the target space has none (or several), that worker fails in that
//! space with a message naming the proxy or account, and nothing is written for it; the other
//! workers and spaces go on. Proxies and accounts are not part of the identity: a registration
//! with the same endpoint is already shared, whichever proxy it uses.
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
//! | when pruning: a worker of a shared kind in the target pool whose identity is not among the source pool's, that is neither `Healthy` nor `HasWarnings`, and that no source worker claimed | `Delete`, or `RemoveFromPool` when it is in other pools too (PUT without the target pool) | DELETE / PUT |
//!
//! A POST body is exactly `Name`, `SpaceId`, `IsDisabled` (as the source), `WorkerPoolIds` (the
//! target pool), `MachinePolicyId` (the [`ShareOptions::machine_policy`], else the space's
//! default policy) and the source `Endpoint` object (unknown fields kept; only its proxy and
//! account references mapped), never a read-only field. A PUT sends the worker as read with
//! only its pools (and, for `replaceEndpoint`, its endpoint, mapped the same way, and the
//! top-level `Thumbprint`/`Uri` mirrors) changed: names, policies and `IsDisabled` of existing
//! registrations stay as the space has them, and the machine policy only applies to created
//! workers. If the server refuses a `ReplaceEndpoint` that changes the endpoint's kind (Octopus
//! cannot change an endpoint's type, e.g. a stale listening registration) that worker fails
//! with [`WorkerFailure::EndpointTypeChangeRefused`].
//!
//! A space without the pool fails as a whole, and so does a space whose pool of that name is a
//! dynamic worker pool ([`SpaceFailure::DynamicPool`]: Octopus does not allow adding workers to
//! a dynamic pool; nothing is read beyond the space's pools and workers, nothing is written).
//! A space that creates a worker but lacks the named machine policy (or whose policies cannot
//! be read) fails as a whole before anything is written there; a space without a default
//! policy only fails its creates. A dynamic source pool is refused
//! ([`ShareError::DynamicSourcePool`]). Healthy and
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
//! Octopus checks space permissions: worker and worker-pool reads need `WorkerView`, worker
//! writes `WorkerEdit`, and the lookups `MachinePolicyView` (only with `--machine-policy`),
//! `ProxyView` and `AccountView`, each in the space concerned. A refused write (401/403, e.g. a key with only `WorkerView` there)
//! fails that worker, names the permission (the server's word when its 403 names one,
//! `WorkerEdit` otherwise) and stops further writes in that space; other spaces still run
//! (permissions differ per space). A refused read fails the space (or, for a lookup, the
//! worker) the same way. [`ShareReport::verdict`] says [`ShareVerdict::PermissionRefused`] when
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
