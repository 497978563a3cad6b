//! The domain vocabulary every step shares, written once: the name rule, references to spaces
//! and pools (and whether a pool is static or dynamic), resolution of a space or pool given by
//! name or Id, the identity of a worker's endpoint and the per-space references it carries for
//! each kind of worker, and which permission a refused request lacked.
//!
//! Steps call these and never re-implement them, so one run gives the same answer in every
//! step: pools named `AWS` and `aws` in one space resolve the same way (or fail with the same
//! [`ResolveError`]) in discover, wait and share.

mod identity;
mod lookup;
mod names;
mod permission;
mod references;
mod refs;
mod resolve;

pub use identity::{EndpointIdentity, WorkerKind};
pub use lookup::{LookupError, lookup_pool, lookup_space, lookup_target};
pub use names::{NameMatch, Named, find_by_name, names_match};
pub use permission::{Permission, PermissionRefusal};
pub use references::{EndpointReference, ReferenceKind, endpoint_references, with_reference};
pub use refs::{PoolKind, PoolRef, ResolvedTarget, SpaceRef};
pub use resolve::{ResolveError, parse_space_id, resolve_pool, resolve_space};

/// How many spaces a step reads or writes at once unless told otherwise (`--concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 16;
