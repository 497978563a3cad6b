//! Resolution, the first stage of a share: the source space and pool, and every target entry,
//! resolved by the domain's rules into typed references ([`ShareTargets`]). `octoshare run`
//! skips it: discover's targets are already resolved ([`ShareTargets::from_discovered`]).

use crate::options::ShareRequest;
use crate::share::ShareError;
use octoshare_core::Client;
use octoshare_core::Space;
use octoshare_core::domain::{self, PoolRef, ResolveError, ResolvedTarget, SpaceRef};
use std::collections::HashSet;

/// What a share works on: the source pool and the targets, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTargets {
    /// The space and pool whose workers are shared.
    pub source: ResolvedTarget,
    /// The pool name looked for in target spaces whose pool is not resolved yet.
    pub worker_pool: String,
    /// The targets, in the order given, duplicates removed.
    pub targets: Vec<Target>,
    /// Entries dropped as duplicates (for a note).
    pub duplicates: Vec<Duplicate>,
}

/// One target entry after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A space to share into; its pool when already resolved (else it is resolved from the
    /// space's pools when the space is read).
    Space {
        /// The entry as given (trimmed).
        entry: String,
        /// The space.
        space: SpaceRef,
        /// Its pool, when known.
        pool: Option<PoolRef>,
    },
    /// The source space listed as a target: skipped.
    Source {
        /// The entry as given (trimmed).
        entry: String,
        /// The space.
        space: SpaceRef,
    },
    /// The entry names no space (or several).
    Unresolved {
        /// The entry as given (trimmed).
        entry: String,
        /// Why.
        error: ResolveError,
    },
}

impl Target {
    /// Whether this target is a space to share into.
    pub fn is_space(&self) -> bool {
        matches!(self, Target::Space { .. })
    }
}

/// A target entry dropped because an earlier one covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duplicate {
    /// The same text is listed more than once.
    SameEntry {
        /// The entry.
        entry: String,
    },
    /// The entry names a space an earlier entry already named.
    SameSpace {
        /// The entry.
        entry: String,
        /// The space both name.
        space: SpaceRef,
    },
}

impl ShareTargets {
    /// Targets already resolved (by discover): from `source` into every `remaining` space, no
    /// request needed.
    pub fn from_discovered(source: &ResolvedTarget, remaining: &[ResolvedTarget]) -> ShareTargets {
        ShareTargets {
            source: source.clone(),
            worker_pool: source.pool.name.clone(),
            targets: remaining
                .iter()
                .map(|target| Target::Space {
                    entry: target.space.id.to_string(),
                    space: target.space.clone(),
                    pool: Some(target.pool.clone()),
                })
                .collect(),
            duplicates: Vec::new(),
        }
    }

    /// How many targets are spaces to share into.
    pub fn space_count(&self) -> usize {
        self.targets
            .iter()
            .filter(|target| target.is_space())
            .count()
    }
}

/// Resolves a standalone share: lists the spaces (`/api/spaces/all`), resolves the source space
/// and every target entry in it, and reads the source space's pools (`/workerpools/all`) to
/// resolve the source pool. Target pools are resolved later, when each space is read.
///
/// Target entries are resolved in order: the same text twice, or two entries naming the same
/// space (`Spaces-2` and `payments`, say), are dropped as [`Duplicate`]s; the source space listed as a target becomes
/// [`Target::Source`]; an entry that resolves to no space (or several) is
/// [`Target::Unresolved`] and fails on its own.
pub async fn resolve(client: &Client, request: &ShareRequest) -> Result<ShareTargets, ShareError> {
    let spaces = client
        .spaces()
        .all()
        .await
        .map_err(|error| ShareError::ListSpaces(Box::new(error)))?;
    let source_space = SpaceRef::from(
        domain::resolve_space(&spaces, &request.from_space).map_err(ShareError::SourceSpace)?,
    );
    let pools = client
        .worker_pools(&source_space.id)
        .all_summaries()
        .await
        .map_err(|error| ShareError::ListSourcePools {
            space: source_space.clone(),
            error: Box::new(error),
        })?;
    let pool = PoolRef::from(
        domain::resolve_pool(&source_space, &pools, &request.worker_pool)
            .map_err(ShareError::SourcePool)?,
    );
    let (targets, duplicates) = resolve_targets(&spaces, &request.to_spaces, &source_space);
    Ok(ShareTargets {
        source: ResolvedTarget::new(source_space, pool),
        worker_pool: request.worker_pool.trim().to_owned(),
        targets,
        duplicates,
    })
}

/// Resolves the target entries in order (see [`resolve`]).
pub(crate) fn resolve_targets(
    spaces: &[Space],
    entries: &[String],
    source: &SpaceRef,
) -> (Vec<Target>, Vec<Duplicate>) {
    let mut seen_entries = HashSet::new();
    let mut seen_spaces = HashSet::new();
    let mut targets = Vec::new();
    let mut duplicates = Vec::new();
    for entry in entries.iter().map(|entry| entry.trim()) {
        if entry.is_empty() {
            continue;
        }
        if !seen_entries.insert(entry.to_owned()) {
            duplicates.push(Duplicate::SameEntry {
                entry: entry.to_owned(),
            });
            continue;
        }
        let space = match domain::resolve_space(spaces, entry) {
            Ok(space) => SpaceRef::from(space),
            Err(error) => {
                targets.push(Target::Unresolved {
                    entry: entry.to_owned(),
                    error,
                });
                continue;
            }
        };
        if !seen_spaces.insert(space.id.clone()) {
            duplicates.push(Duplicate::SameSpace {
                entry: entry.to_owned(),
                space,
            });
            continue;
        }
        if space.id == source.id {
            targets.push(Target::Source {
                entry: entry.to_owned(),
                space,
            });
            continue;
        }
        targets.push(Target::Space {
            entry: entry.to_owned(),
            space,
            pool: None,
        });
    }
    (targets, duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(id: &str, name: &str) -> Space {
        serde_json::from_value(serde_json::json!({"Id": id, "Name": name})).unwrap()
    }

    #[test]
    fn targets_resolve_in_order_dropping_duplicates_and_marking_the_source() {
        let spaces = [
            space("Spaces-1", "Default"),
            space("Spaces-2", "Payments"),
            space("Spaces-3", "Team"),
            space("Spaces-4", "TEAM"),
        ];
        let entries: Vec<String> = [
            "Spaces-2", "payments", "SPACES-2", "Nope", "Default", "Spaces-2", "team", "Team",
        ]
        .map(str::to_owned)
        .to_vec();
        let source = SpaceRef::new("Spaces-1", "Default");
        let (targets, duplicates) = resolve_targets(&spaces, &entries, &source);
        assert_eq!(
            targets,
            vec![
                Target::Space {
                    entry: "Spaces-2".to_owned(),
                    space: SpaceRef::new("Spaces-2", "Payments"),
                    pool: None
                },
                Target::Unresolved {
                    entry: "Nope".to_owned(),
                    error: ResolveError::SpaceNotFound {
                        wanted: "Nope".to_owned(),
                        searched: 4
                    }
                },
                Target::Source {
                    entry: "Default".to_owned(),
                    space: source.clone()
                },
                Target::Unresolved {
                    entry: "team".to_owned(),
                    error: ResolveError::AmbiguousSpace {
                        wanted: "team".to_owned(),
                        candidates: vec![
                            SpaceRef::new("Spaces-3", "Team"),
                            SpaceRef::new("Spaces-4", "TEAM")
                        ]
                    }
                },
                Target::Space {
                    entry: "Team".to_owned(),
                    space: SpaceRef::new("Spaces-3", "Team"),
                    pool: None
                },
            ]
        );
        assert_eq!(
            duplicates,
            vec![
                Duplicate::SameSpace {
                    entry: "payments".to_owned(),
                    space: SpaceRef::new("Spaces-2", "Payments")
                },
                Duplicate::SameSpace {
                    entry: "SPACES-2".to_owned(),
                    space: SpaceRef::new("Spaces-2", "Payments")
                },
                Duplicate::SameEntry {
                    entry: "Spaces-2".to_owned()
                },
            ]
        );
    }
}
