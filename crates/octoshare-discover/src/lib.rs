//! Step 1 of the "sharing workers across spaces" runbook, "Get Space List": find every space
//! that has worker pool NAME; the first one (in the server's order) is the *initial* space, where
//! the Tentacles register, and the others are the spaces the workers are shared into.
//!
//! Compared with the original PowerShell step it reads every space (`/api/spaces/all`), reads
//! the worker pools of many spaces at once (`/api/{spaceId}/workerpools/all`, at most
//! [`DiscoverConfig::concurrency`] requests in flight) while keeping the server's space order,
//! skips spaces a [`SpaceFilter`] excludes before reading their pools, and fails when nothing
//! qualifies. A run over S spaces makes S + 1 requests.
//!
//! Pools are matched by the domain's name rule ([`octoshare_core::domain::find_by_name`]): a
//! space with pools `AWS` and `aws` asked for `aws` has it; asked for `Aws` the discovery fails
//! with [`DiscoverError::AmbiguousPool`], as every other step would.
//!
//! # Spaces that do not qualify although they are listed
//!
//! - **Unreadable** (403): an API key often sees spaces it may not look inside (it has some
//!   permission there, but not `WorkerView`). Such a space is skipped, reported to the sink and
//!   listed in [`DiscoverOutcome::skipped_spaces`] with the permission it lacks; the discovery
//!   goes on, and succeeds when another space qualifies. Only a 403 is skipped this way: a 401
//!   (the key itself is refused) still ends the discovery.
//! - **Dynamic pool**: a space whose pool of that name is a dynamic worker pool (Octopus
//!   Cloud's hosted workers, `CanAddWorkers: false`) never qualifies: Octopus does not allow
//!   adding workers to it. It is skipped and listed the same way.
//! - **Deleted meanwhile** (404): skipped with a note.
//!
//! The library never prints: it reports through a [`DiscoverSink`] and returns a
//! [`DiscoverOutcome`] whose [`ResolvedTarget`]s (typed space and pool Ids) the next steps take
//! as they are.

mod filter;

pub use filter::{FilterSide, PatternError, SpaceFilter};

use futures::{StreamExt as _, TryStreamExt as _};
use octoshare_core::domain::{
    self, DEFAULT_CONCURRENCY, PermissionRefusal, PoolRef, ResolveError, ResolvedTarget, SpaceRef,
};
use octoshare_core::{ApiError, Client, ServerUrl, Space};
use serde::Serialize;

/// What to discover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverConfig {
    /// The pool name, matched by the name rule.
    pub worker_pool: String,
    /// A qualifying space (name or Id) to use as the initial space instead of the first one.
    pub initial_space: Option<String>,
    /// Which spaces are searched.
    pub filter: SpaceFilter,
    /// How many spaces' worker pools are read at once (0 is read as 1).
    pub concurrency: usize,
}

impl DiscoverConfig {
    /// A configuration with the defaults: no initial space, no filter, 16 reads at once.
    pub fn new(worker_pool: impl Into<String>) -> DiscoverConfig {
        DiscoverConfig {
            worker_pool: worker_pool.into(),
            initial_space: None,
            filter: SpaceFilter::default(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Why a discovery found nothing to go on with.
///
/// Not `#[non_exhaustive]` at the enum level on purpose: the command-line layer maps every
/// variant to an exit code with a `match` that has no wildcard, so a new variant does not
/// compile until it has one.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// Listing the spaces failed.
    #[error("while listing spaces")]
    ListSpaces(#[source] Box<ApiError>),
    /// Reading a space's worker pools failed.
    #[error("while listing the worker pools of {space}")]
    ListPools {
        /// The space.
        space: SpaceRef,
        /// Why.
        #[source]
        error: Box<ApiError>,
    },
    /// No searched space has the pool (as a static pool, in a space whose pools could be
    /// read).
    #[error("no space has a worker pool named '{worker_pool}' ({searched} spaces searched{}{})", excluded_note(*excluded), skipped_note(skipped))]
    NoQualifyingSpace {
        /// The pool name (trimmed).
        worker_pool: String,
        /// How many spaces' pools were read (or tried).
        searched: usize,
        /// How many listed spaces the filter excluded (`None`: no filter).
        excluded: Option<usize>,
        /// Searched spaces that were skipped: pools unreadable (403), or the pool is dynamic.
        skipped: Vec<SkippedSpace>,
    },
    /// A space has several pools matching the name ignoring case and none exactly.
    #[error(transparent)]
    AmbiguousPool(ResolveError),
    /// The initial space asked for is not a listed space (or not unambiguously).
    #[error("initial space: {0}")]
    InitialSpace(#[source] ResolveError),
    /// The initial space asked for is excluded by the filter.
    #[error("the initial space {space} is excluded by the space filter")]
    InitialSpaceExcluded {
        /// The space.
        space: SpaceRef,
    },
    /// The initial space asked for was skipped: its pools cannot be read (403) or its pool of
    /// that name is dynamic.
    #[error("the initial space {space} was skipped: {}", skipped.reason)]
    InitialSpaceSkipped {
        /// The space.
        space: SpaceRef,
        /// Why it was skipped.
        skipped: Box<SkippedSpace>,
    },
    /// The initial space asked for does not have the pool.
    #[error("the initial space {space} has no worker pool named '{worker_pool}'")]
    InitialSpaceLacksPool {
        /// The space.
        space: SpaceRef,
        /// The pool name (trimmed).
        worker_pool: String,
        /// The spaces that have it, in the server's order.
        qualifying: Vec<SpaceRef>,
    },
}

fn excluded_note(excluded: Option<usize>) -> String {
    excluded.map_or_else(String::new, |excluded| {
        format!(", {excluded} excluded by the space filter")
    })
}

fn skipped_note(skipped: &[SkippedSpace]) -> String {
    let refused = skipped
        .iter()
        .filter(|space| matches!(space.cause, SkipCause::PermissionRefused(_)))
        .count();
    let dynamic = skipped.len() - refused;
    let mut note = String::new();
    if refused > 0 {
        note.push_str(&format!(
            ", {refused} skipped because the API key may not read their worker pools"
        ));
    }
    if dynamic > 0 {
        note.push_str(&format!(
            ", {dynamic} skipped because their pool of that name is a dynamic worker pool"
        ));
    }
    note
}

impl DiscoverError {
    /// Whether nothing qualified only because every searched space was refused (403): the fix
    /// is the API key's permissions, not the pool name.
    pub fn every_space_refused(&self) -> bool {
        match self {
            DiscoverError::NoQualifyingSpace {
                searched, skipped, ..
            } => {
                *searched > 0
                    && skipped.len() == *searched
                    && skipped
                        .iter()
                        .all(|space| matches!(space.cause, SkipCause::PermissionRefused(_)))
            }
            _ => false,
        }
    }
}

/// A listed space that was searched but could not qualify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SkippedSpace {
    /// The space (`Id`, `Name`).
    #[serde(flatten)]
    pub space: SpaceRef,
    /// Why, one line: the permission it lacks, or the dynamic pool.
    pub reason: String,
    /// Why, typed.
    #[serde(skip)]
    pub cause: SkipCause,
}

/// Why a space was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipCause {
    /// Reading its worker pools was refused (403).
    PermissionRefused(PermissionRefusal),
    /// Its pool of that name is a dynamic worker pool.
    DynamicPool(PoolRef),
}

impl SkippedSpace {
    fn refused(space: SpaceRef, refusal: PermissionRefusal) -> SkippedSpace {
        SkippedSpace {
            reason: format!(
                "the API key may not read its worker pools (it lacks {} there)",
                refusal.permission
            ),
            space,
            cause: SkipCause::PermissionRefused(refusal),
        }
    }

    fn dynamic(space: SpaceRef, pool: PoolRef) -> SkippedSpace {
        SkippedSpace {
            reason: format!(
                "its pool '{}' ({}) is a dynamic worker pool: Octopus does not allow adding workers to a dynamic pool",
                pool.name, pool.id
            ),
            space,
            cause: SkipCause::DynamicPool(pool),
        }
    }
}

/// The result of a discovery: every qualifying space with its pool, and which is the initial one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DiscoverOutcome {
    /// Where the Tentacles register: the first qualifying space, or the one asked for.
    pub initial: ResolvedTarget,
    /// The other qualifying spaces with their pools, in the server's order.
    pub remaining: Vec<ResolvedTarget>,
    /// Where the initial space is among the qualifying ones in the server's order (0 unless an
    /// initial space was asked for).
    pub initial_position: usize,
    /// How many spaces the server listed (before the filter).
    pub spaces_listed: usize,
    /// How many spaces' worker pools were read (spaces left after the filter).
    pub spaces_searched: usize,
    /// Qualifying spaces whose task queue is stopped (still qualifying).
    pub stopped_task_queues: Vec<SpaceRef>,
    /// Searched spaces that were skipped (pools unreadable, or the pool is dynamic), in the
    /// server's order.
    pub skipped_spaces: Vec<SkippedSpace>,
    /// Whether the initial space was asked for rather than the first one.
    pub initial_space_chosen: bool,
}

impl DiscoverOutcome {
    /// The pool's name as the initial space spells it (the match is case-insensitive).
    pub fn worker_pool_name(&self) -> &str {
        &self.initial.pool.name
    }

    /// How many spaces qualify (the initial one included).
    pub fn qualifying_space_count(&self) -> usize {
        1 + self.remaining.len()
    }

    /// Every qualifying space with its pool, in the server's order.
    pub fn qualifying(&self) -> Vec<&ResolvedTarget> {
        let mut all: Vec<&ResolvedTarget> = self.remaining.iter().collect();
        all.insert(self.initial_position.min(all.len()), &self.initial);
        all
    }
}

/// The spaces a discovery is about to search.
#[derive(Debug, Clone, Copy)]
pub struct SpaceListing<'a> {
    /// The pool looked for (trimmed).
    pub worker_pool: &'a str,
    /// The server.
    pub server: &'a ServerUrl,
    /// How many spaces the server listed.
    pub listed: usize,
    /// How many of them are searched (the filter let them through).
    pub searched: usize,
    /// Whether a filter is active.
    pub filtered: bool,
}

/// What one space's pool list said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceSearch {
    /// The space has the pool (with its name as the space spells it).
    HasPool(PoolRef),
    /// It has none of that name among its pools.
    NoPool {
        /// How many pools the space has.
        pools_in_space: usize,
    },
    /// The space was deleted after it was listed (skipped).
    Vanished,
    /// Its pool of that name is a dynamic worker pool: the space does not qualify.
    DynamicPool(PoolRef),
    /// Reading its pools was refused (403): the space is skipped.
    Refused {
        /// The permission it lacks (the server's word, else `WorkerView`).
        refusal: PermissionRefusal,
        /// The refusal, one line.
        message: String,
    },
}

/// Receives what a discovery does as it goes; every method does nothing unless overridden.
pub trait DiscoverSink {
    /// The spaces were listed and filtered; their pools are read next.
    fn spaces_listed(&mut self, _listing: &SpaceListing<'_>) {}
    /// One space's pools were read (called in the server's order, after all were read).
    fn space_searched(&mut self, _space: &SpaceRef, _search: &SpaceSearch) {}
}

/// A sink that ignores everything.
impl DiscoverSink for () {}

impl<S: DiscoverSink + ?Sized> DiscoverSink for &mut S {
    fn spaces_listed(&mut self, listing: &SpaceListing<'_>) {
        (**self).spaces_listed(listing);
    }
    fn space_searched(&mut self, space: &SpaceRef, search: &SpaceSearch) {
        (**self).space_searched(space, search);
    }
}

/// Finds the spaces having the worker pool and picks the initial one.
///
/// Reads `/api/spaces/all` once, then `/api/{spaceId}/workerpools/all` for every space the
/// filter lets through, `config.concurrency` at a time; the result keeps the server's order. An
/// initial space asked for is resolved (and checked against the filter) from the space list,
/// before any pool is read.
pub async fn discover(
    client: &Client,
    config: &DiscoverConfig,
    sink: &mut impl DiscoverSink,
) -> Result<DiscoverOutcome, DiscoverError> {
    let wanted_pool = config.worker_pool.trim();
    let spaces = client
        .spaces()
        .all()
        .await
        .map_err(|error| DiscoverError::ListSpaces(Box::new(error)))?;
    let candidates: Vec<&Space> = spaces
        .iter()
        .filter(|space| config.filter.allows(&space.name, space.id.as_str()))
        .collect();
    let wanted_initial = match config
        .initial_space
        .as_deref()
        .map(str::trim)
        .filter(|space| !space.is_empty())
    {
        None => None,
        Some(wanted) => {
            let space =
                domain::resolve_space(&spaces, wanted).map_err(DiscoverError::InitialSpace)?;
            if !config.filter.allows(&space.name, space.id.as_str()) {
                return Err(DiscoverError::InitialSpaceExcluded {
                    space: SpaceRef::from(space),
                });
            }
            Some(SpaceRef::from(space))
        }
    };
    let excluded = spaces.len() - candidates.len();
    sink.spaces_listed(&SpaceListing {
        worker_pool: wanted_pool,
        server: client.server(),
        listed: spaces.len(),
        searched: candidates.len(),
        filtered: config.filter.is_active(),
    });

    let searched = read_pools(client, &candidates, wanted_pool, config.concurrency).await?;
    let mut qualifying: Vec<(ResolvedTarget, bool)> = Vec::new();
    let mut skipped_spaces = Vec::new();
    for (space, search) in searched {
        let space_ref = SpaceRef::from(space);
        sink.space_searched(&space_ref, &search);
        match search {
            SpaceSearch::HasPool(pool) => qualifying.push((
                ResolvedTarget::new(space_ref, pool),
                space.task_queue_stopped,
            )),
            SpaceSearch::DynamicPool(pool) => {
                skipped_spaces.push(SkippedSpace::dynamic(space_ref, pool));
            }
            SpaceSearch::Refused { refusal, .. } => {
                skipped_spaces.push(SkippedSpace::refused(space_ref, refusal));
            }
            SpaceSearch::NoPool { .. } | SpaceSearch::Vanished => {}
        }
    }
    if let Some(wanted) = &wanted_initial
        && let Some(skipped) = skipped_spaces
            .iter()
            .find(|skipped| skipped.space.id == wanted.id)
    {
        return Err(DiscoverError::InitialSpaceSkipped {
            space: wanted.clone(),
            skipped: Box::new(skipped.clone()),
        });
    }
    if qualifying.is_empty() {
        return Err(DiscoverError::NoQualifyingSpace {
            worker_pool: wanted_pool.to_owned(),
            searched: candidates.len(),
            excluded: config.filter.is_active().then_some(excluded),
            skipped: skipped_spaces,
        });
    }
    let initial_position = match &wanted_initial {
        None => 0,
        Some(wanted) => qualifying
            .iter()
            .position(|(target, _)| target.space.id == wanted.id)
            .ok_or_else(|| DiscoverError::InitialSpaceLacksPool {
                space: wanted.clone(),
                worker_pool: wanted_pool.to_owned(),
                qualifying: qualifying
                    .iter()
                    .map(|(target, _)| target.space.clone())
                    .collect(),
            })?,
    };
    let stopped_task_queues = qualifying
        .iter()
        .filter(|(_, stopped)| *stopped)
        .map(|(target, _)| target.space.clone())
        .collect();
    let mut remaining: Vec<ResolvedTarget> =
        qualifying.into_iter().map(|(target, _)| target).collect();
    let initial = remaining.remove(initial_position);
    Ok(DiscoverOutcome {
        initial,
        remaining,
        initial_position,
        spaces_listed: spaces.len(),
        spaces_searched: candidates.len(),
        stopped_task_queues,
        skipped_spaces,
        initial_space_chosen: wanted_initial.is_some(),
    })
}

/// Reads the pools of every candidate space, `concurrency` at a time, and returns each space's
/// search in the candidates' order. Only each space's match is kept (memory stays O(spaces)
/// however many pools they have), and the pools are decoded as Id and name only.
async fn read_pools<'a>(
    client: &Client,
    candidates: &[&'a Space],
    wanted_pool: &str,
    concurrency: usize,
) -> Result<Vec<(&'a Space, SpaceSearch)>, DiscoverError> {
    // Unordered on purpose: with an ordered window (`buffered`) an answer that arrives behind a
    // slower one keeps its slot until the slower one is in, so every round waited for the
    // slowest of 16 requests. The index puts the spaces back in the server's order.
    let mut results: Vec<(usize, &Space, Result<SpaceSearch, ResolveError>)> =
        futures::stream::iter(candidates.iter().enumerate())
            .map(|(index, space)| async move {
                match client.worker_pools(&space.id).all_summaries().await {
                    Ok(pools) => {
                        let space_ref = SpaceRef::from(*space);
                        let search = match domain::resolve_pool(&space_ref, &pools, wanted_pool) {
                            Ok(pool) => {
                                let pool = PoolRef::from(pool);
                                if pool.is_dynamic() {
                                    Ok(SpaceSearch::DynamicPool(pool))
                                } else {
                                    Ok(SpaceSearch::HasPool(pool))
                                }
                            }
                            Err(ResolveError::PoolNotFound { .. }) => Ok(SpaceSearch::NoPool {
                                pools_in_space: pools.len(),
                            }),
                            Err(ambiguous) => Err(ambiguous),
                        };
                        Ok((index, *space, search))
                    }
                    // The space was deleted after it was listed.
                    Err(error) if error.is_not_found() => {
                        Ok((index, *space, Ok(SpaceSearch::Vanished)))
                    }
                    // The key sees the space but may not read its pools.
                    Err(error) if matches!(error, ApiError::Forbidden { .. }) => {
                        let refusal =
                            PermissionRefusal::of(&error).unwrap_or_else(|| PermissionRefusal {
                                permission: domain::Permission::WorkerView,
                                named_by_server: false,
                                space: Some(space.id.clone()),
                            });
                        let search = SpaceSearch::Refused {
                            refusal,
                            message: error.to_string(),
                        };
                        Ok((index, *space, Ok(search)))
                    }
                    Err(error) => Err(DiscoverError::ListPools {
                        space: SpaceRef::from(*space),
                        error: Box::new(error),
                    }),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
    results.sort_unstable_by_key(|(index, _, _)| *index);
    results
        .into_iter()
        .map(|(_, space, search)| {
            search
                .map(|search| (space, search))
                .map_err(DiscoverError::AmbiguousPool)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(n: u32, name: &str) -> ResolvedTarget {
        ResolvedTarget::new(
            SpaceRef::new(format!("Spaces-{n}"), name),
            PoolRef::new(format!("WorkerPools-{n}"), "P"),
        )
    }

    #[test]
    fn outcome_puts_the_initial_space_back_in_the_server_order() {
        let outcome = DiscoverOutcome {
            initial: target(2, "B"),
            remaining: vec![target(1, "A"), target(3, "C")],
            initial_position: 1,
            spaces_listed: 3,
            spaces_searched: 3,
            stopped_task_queues: Vec::new(),
            skipped_spaces: Vec::new(),
            initial_space_chosen: true,
        };
        assert_eq!(outcome.qualifying_space_count(), 3);
        assert_eq!(outcome.worker_pool_name(), "P");
        let names: Vec<&str> = outcome
            .qualifying()
            .iter()
            .map(|target| target.space.name.as_str())
            .collect();
        assert_eq!(names, ["A", "B", "C"]);
    }

    #[test]
    fn no_qualifying_space_says_how_many_were_searched_and_excluded() {
        let error = DiscoverError::NoQualifyingSpace {
            worker_pool: "P".to_owned(),
            searched: 1,
            excluded: Some(3),
            skipped: Vec::new(),
        };
        assert_eq!(
            error.to_string(),
            "no space has a worker pool named 'P' (1 spaces searched, 3 excluded by the space filter)"
        );
    }
}
