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

/// A worker pool of a space, by Id and name (the name as that space spells it).
///
/// Non-exhaustive so that what else a step needs to know about a pool (e.g. whether it is a
/// static or a dynamic pool) can be added without breaking callers; build it with
/// [`PoolRef::new`] or from a read pool.
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
}

impl PoolRef {
    /// A reference from an Id and a name.
    pub fn new(id: impl Into<WorkerPoolId>, name: impl Into<String>) -> PoolRef {
        PoolRef {
            id: id.into(),
            name: name.into(),
        }
    }
}

impl From<&WorkerPool> for PoolRef {
    fn from(pool: &WorkerPool) -> PoolRef {
        PoolRef::new(pool.id.clone(), pool.name.clone())
    }
}

impl From<&WorkerPoolSummary> for PoolRef {
    fn from(pool: &WorkerPoolSummary) -> PoolRef {
        PoolRef::new(pool.id.clone(), pool.name.clone())
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
