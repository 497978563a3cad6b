//! References to what a step works on: a space, a worker pool, and the two together.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::resources::{Space, SpaceId, WorkerPool, WorkerPoolId, WorkerPoolSummary};

/// A space, by Id and name.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "PascalCase")]
pub struct SpaceRef {
    /// `Spaces-N`.
    pub id: SpaceId,
    /// The space's name as the server spells it.
    pub name: String,
}

impl SpaceRef {
    /// A reference from an Id and a name.
    pub fn new(id: impl Into<SpaceId>, name: impl Into<String>) -> SpaceRef {
        SpaceRef {
            id: id.into(),
            name: name.into(),
        }
    }
}

impl From<&Space> for SpaceRef {
    fn from(space: &Space) -> SpaceRef {
        SpaceRef::new(space.id.clone(), space.name.clone())
    }
}

impl fmt::Display for SpaceRef {
    /// `Name (Spaces-N)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

/// What kind of worker pool: one that holds registered workers, or one whose workers Octopus
/// provisions on demand (Octopus Cloud's hosted pools), which never takes a registered worker.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum PoolKind {
    /// `StaticWorkerPool`: workers are registered into it.
    #[default]
    #[serde(rename = "StaticWorkerPool")]
    Static,
    /// `DynamicWorkerPool` (`CanAddWorkers: false`): Octopus leases it workers on demand;
    /// Octopus does not allow adding workers to it.
    #[serde(rename = "DynamicWorkerPool")]
    Dynamic,
}

impl PoolKind {
    /// The kind of a pool from its `WorkerPoolType` and `CanAddWorkers`: dynamic when the type
    /// says `DynamicWorkerPool` (any case) or the pool cannot take workers; static otherwise (a
    /// server that sends neither field predates dynamic pools).
    pub fn of(worker_pool_type: Option<&str>, can_add_workers: Option<bool>) -> PoolKind {
        let dynamic_type = worker_pool_type
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("DynamicWorkerPool"));
        if dynamic_type || can_add_workers == Some(false) {
            PoolKind::Dynamic
        } else {
            PoolKind::Static
        }
    }

    /// Whether workers can be registered into the pool.
    pub fn is_static(&self) -> bool {
        *self == PoolKind::Static
    }

    /// Whether Octopus provisions the pool's workers itself (no worker can be added).
    pub fn is_dynamic(&self) -> bool {
        *self == PoolKind::Dynamic
    }
}

impl fmt::Display for PoolKind {
    /// `static` or `dynamic`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PoolKind::Static => "static",
            PoolKind::Dynamic => "dynamic",
        })
    }
}

/// A worker pool of a space, by Id and name (the name as that space spells it), and its kind.
///
/// Non-exhaustive so that what else a step needs to know about a pool can be added without
/// breaking callers; build it with [`PoolRef::new`] (a static pool), [`PoolRef::with_kind`] or
/// from a read pool.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct PoolRef {
    /// `WorkerPools-N`.
    pub id: WorkerPoolId,
    /// The pool's name as its space spells it.
    pub name: String,
    /// Static or dynamic (serialised as `WorkerPoolType`, only when dynamic: a static pool is
    /// what every document had before, so existing documents do not change).
    #[serde(
        rename = "WorkerPoolType",
        default,
        skip_serializing_if = "PoolKind::is_static"
    )]
    pub kind: PoolKind,
}

impl PoolRef {
    /// A reference to a static pool from an Id and a name.
    pub fn new(id: impl Into<WorkerPoolId>, name: impl Into<String>) -> PoolRef {
        PoolRef {
            id: id.into(),
            name: name.into(),
            kind: PoolKind::Static,
        }
    }

    /// The same reference with this kind.
    pub fn with_kind(mut self, kind: PoolKind) -> PoolRef {
        self.kind = kind;
        self
    }

    /// Whether Octopus provisions the pool's workers itself (no worker can be added).
    pub fn is_dynamic(&self) -> bool {
        self.kind.is_dynamic()
    }
}

impl From<&WorkerPool> for PoolRef {
    fn from(pool: &WorkerPool) -> PoolRef {
        PoolRef::new(pool.id.clone(), pool.name.clone()).with_kind(PoolKind::of(
            pool.worker_pool_type.as_deref(),
            pool.can_add_workers,
        ))
    }
}

impl From<&WorkerPoolSummary> for PoolRef {
    fn from(pool: &WorkerPoolSummary) -> PoolRef {
        PoolRef::new(pool.id.clone(), pool.name.clone()).with_kind(PoolKind::of(
            pool.worker_pool_type.as_deref(),
            pool.can_add_workers,
        ))
    }
}

impl fmt::Display for PoolRef {
    /// `'Name' (WorkerPools-N)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' ({})", self.name, self.id)
    }
}

/// A space and its pool, both resolved: what discover hands wait and share, so no later step
/// resolves a name again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ResolvedTarget {
    /// The space.
    pub space: SpaceRef,
    /// Its pool.
    pub pool: PoolRef,
}

impl ResolvedTarget {
    /// A target from its space and pool.
    pub fn new(space: SpaceRef, pool: PoolRef) -> ResolvedTarget {
        ResolvedTarget { space, pool }
    }
}

impl fmt::Display for ResolvedTarget {
    /// `pool 'Name' (WorkerPools-N) of Space (Spaces-N)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pool {} of {}", self.pool, self.space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_is_dynamic_by_its_type_or_when_it_cannot_take_workers() {
        assert_eq!(
            PoolKind::of(Some("DynamicWorkerPool"), Some(false)),
            PoolKind::Dynamic
        );
        assert_eq!(
            PoolKind::of(Some("dynamicworkerpool"), None),
            PoolKind::Dynamic
        );
        assert_eq!(PoolKind::of(None, Some(false)), PoolKind::Dynamic);
        assert_eq!(
            PoolKind::of(Some("StaticWorkerPool"), Some(true)),
            PoolKind::Static
        );
        assert_eq!(PoolKind::of(None, None), PoolKind::Static);
    }

    #[test]
    fn a_static_pool_serialises_as_before_and_a_dynamic_one_says_so() {
        let pool = PoolRef::new("WorkerPools-1", "P");
        assert_eq!(
            serde_json::to_value(&pool).unwrap(),
            serde_json::json!({"Id": "WorkerPools-1", "Name": "P"})
        );
        let dynamic = pool.clone().with_kind(PoolKind::Dynamic);
        let value = serde_json::to_value(&dynamic).unwrap();
        assert_eq!(value["WorkerPoolType"], "DynamicWorkerPool");
        assert_eq!(serde_json::from_value::<PoolRef>(value).unwrap(), dynamic);
        let summary: WorkerPoolSummary = serde_json::from_value(serde_json::json!({
            "Id": "WorkerPools-9", "Name": "Hosted", "WorkerPoolType": "DynamicWorkerPool",
            "CanAddWorkers": false, "WorkerType": "UbuntuDefault"
        }))
        .unwrap();
        assert!(PoolRef::from(&summary).is_dynamic());
    }
}
