//! Step 1 of the "sharing workers across spaces" runbook, "Get Space List": find every space
//! that has worker pool NAME; the first one (in the server's order) is the *initial* space, where
//! the Tentacles register, and the others are the spaces the workers are shared into.
//!
//! Compared with the original PowerShell step it reads every space (`/api/spaces/all`), reads
//! the worker pools of many spaces at once (`/api/{spaceId}/workerpools/all`, at most
//! `--concurrency` requests in flight) while keeping the server's space order, skips spaces
//! excluded by `--include-space`/`--exclude-space` before reading their pools, and fails with
//! exit code 3 when nothing qualifies. A run over S spaces makes S + 1 requests.
//!
//! # Outputs
//!
//! [`emit_outputs`] sets the original runbook's four output variables, `InitialSpaceName`,
//! `InitialSpaceId`, `RemainingSpaceIds` (comma-joined) and `WorkerPoolName`, plus
//! `RemainingSpaceNames` (comma-joined) and `QualifyingSpaceCount`.
//!
//! With `--output json` stdout holds exactly one JSON document with the same keys, lists as
//! arrays and the count as a number:
//!
//! ```json
//! {
//!   "InitialSpaceName": "Default",
//!   "InitialSpaceId": "Spaces-1",
//!   "RemainingSpaceIds": ["Spaces-3", "Spaces-4"],
//!   "WorkerPoolName": "AWS Worker Pool TF",
//!   "RemainingSpaceNames": ["Payments", "Platform"],
//!   "QualifyingSpaceCount": 3
//! }
//! ```
//!
//! When the step fails the document holds only `"Error"` (the one-line message) and
//! `"ExitCode"` (a number).

mod filter;

pub use filter::SpaceFilter;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use octoshare_cli::{Emitter, ExitError, OutputValue};
use octoshare_core::{Client, Space, SpaceId, WorkerPoolSummary};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many spaces' worker pools are read at once unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How many space names an error message lists before it says "and N more".
const NAMES_IN_MESSAGES: usize = 5;

/// How many spaces a log line lists before it says "and N more" (`--verbose` logs them all; the
/// output variables always hold every space). A thousand names on one line help nobody.
const SPACES_IN_LOG_LINES: usize = 10;

/// The step's own flags (the connection and output flags are `octoshare_cli::CommonArgs`).
#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    /// Worker pool to look for, e.g. "AWS Worker Pool TF" (case-insensitive)
    #[arg(long, value_name = "NAME")]
    pub worker_pool: String,

    /// Use this qualifying space (name or Id) as the initial space instead of the first one
    #[arg(long, value_name = "NAME|ID")]
    pub initial_space: Option<String>,

    /// Only search spaces whose name or Id matches this glob (case-insensitive; repeatable)
    #[arg(long = "include-space", value_name = "GLOB")]
    pub include_spaces: Vec<String>,

    /// Skip spaces whose name or Id matches this glob (case-insensitive; repeatable)
    #[arg(long = "exclude-space", value_name = "GLOB")]
    pub exclude_spaces: Vec<String>,

    /// How many spaces' worker pools to read at once
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_CONCURRENCY,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
    )]
    pub concurrency: usize,
}

impl DiscoverArgs {
    /// Validates the flags once: a non-blank pool name, valid globs, a concurrency of at least 1.
    /// Failures are usage errors (exit code 2).
    pub fn into_config(self) -> anyhow::Result<DiscoverConfig> {
        let worker_pool = self.worker_pool.trim().to_owned();
        if worker_pool.is_empty() {
            return Err(ExitError::usage(
                "--worker-pool is empty: give the pool's name, e.g. --worker-pool 'AWS Worker Pool TF'",
            )
            .into());
        }
        SpaceFilter::new(&self.include_spaces, &self.exclude_spaces)?;
        if self.concurrency == 0 {
            return Err(ExitError::usage("--concurrency must be at least 1").into());
        }
        let initial_space = self
            .initial_space
            .map(|space| space.trim().to_owned())
            .filter(|space| !space.is_empty());
        Ok(DiscoverConfig {
            worker_pool,
            initial_space,
            include_spaces: self.include_spaces,
            exclude_spaces: self.exclude_spaces,
            concurrency: self.concurrency,
        })
    }
}

/// What to discover; built from [`DiscoverArgs`] or directly by the orchestrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverConfig {
    /// The pool name, matched case-insensitively (surrounding whitespace ignored).
    pub worker_pool: String,
    /// A qualifying space (name or Id, case-insensitive) to use as the initial space.
    pub initial_space: Option<String>,
    /// Globs a space's name or Id must match (any of them) to be searched; empty: every space.
    pub include_spaces: Vec<String>,
    /// Globs excluding a space (matched against its name or Id).
    pub exclude_spaces: Vec<String>,
    /// How many spaces' worker pools are read at once (0 is read as 1).
    pub concurrency: usize,
}

impl DiscoverConfig {
    /// A configuration with the defaults of the flags: no initial space, no filters.
    pub fn new(worker_pool: impl Into<String>) -> DiscoverConfig {
        DiscoverConfig {
            worker_pool: worker_pool.into(),
            initial_space: None,
            include_spaces: Vec::new(),
            exclude_spaces: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// A space, by Id and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SpaceRef {
    /// `Spaces-N`.
    pub id: SpaceId,
    /// The space's name as the server spells it.
    pub name: String,
}

impl SpaceRef {
    fn of(space: &Space) -> SpaceRef {
        SpaceRef {
            id: space.id.clone(),
            name: space.name.clone(),
        }
    }
}

impl std::fmt::Display for SpaceRef {
    /// `Name (Spaces-N)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

/// A worker pool, by Id and name (the pool's name as its space spells it).
pub use octoshare_core::WorkerPoolSummary as PoolRef;

/// The result of a discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoverOutcome {
    /// The pool's name as the initial space spells it (the match is case-insensitive).
    pub worker_pool_name: String,
    /// Where the Tentacles register: the first qualifying space, or `--initial-space`.
    pub initial_space: SpaceRef,
    /// The other qualifying spaces, in the server's order.
    pub remaining_spaces: Vec<SpaceRef>,
    /// How many spaces' worker pools were read (spaces left after the filters).
    pub spaces_searched: usize,
    /// How many spaces the server listed (before the filters).
    pub spaces_listed: usize,
    /// Qualifying spaces whose task queue is stopped (still listed; a warning names them).
    pub stopped_task_queue_spaces: Vec<SpaceRef>,
    /// Whether `--initial-space` chose the initial space.
    pub initial_space_overridden: bool,
    /// The pool of every qualifying space (the initial one included), as read: a caller that
    /// goes on with these spaces (`octoshare run`'s share phase) need not read them again. Not
    /// part of the JSON document.
    #[serde(skip)]
    pub pools: BTreeMap<SpaceId, PoolRef>,
}

impl DiscoverOutcome {
    /// The initial space plus the remaining ones.
    pub fn qualifying_space_count(&self) -> usize {
        1 + self.remaining_spaces.len()
    }

    /// `Spaces-N` of every remaining space, in order.
    pub fn remaining_space_ids(&self) -> Vec<String> {
        self.remaining_spaces
            .iter()
            .map(|space| space.id.to_string())
            .collect()
    }

    /// Names of the remaining spaces, in order.
    pub fn remaining_space_names(&self) -> Vec<String> {
        self.remaining_spaces
            .iter()
            .map(|space| space.name.clone())
            .collect()
    }
}

/// A searched space and the pool it has, if any (with the pool's real name).
#[derive(Debug)]
struct SearchedSpace<'a> {
    space: &'a Space,
    pool: Option<PoolRef>,
}

/// Finds the spaces having the worker pool and picks the initial one.
///
/// Reads `/api/spaces/all` once, then `/api/{spaceId}/workerpools/all` for every space the
/// filters let through, `config.concurrency` at a time; the result keeps the server's order.
///
/// # Errors
/// Exit code 3 (`ExitError`) when no space qualifies or `--initial-space` does not name a
/// qualifying space (the message says whether it does not exist, was filtered out or lacks the
/// pool); 2 for an invalid glob; API errors map themselves (401/403 → 6, unreachable → 7).
pub async fn discover(
    client: &Client,
    config: &DiscoverConfig,
    emitter: &mut Emitter,
) -> anyhow::Result<DiscoverOutcome> {
    let filter = SpaceFilter::new(&config.include_spaces, &config.exclude_spaces)?;
    let wanted_pool = config.worker_pool.trim();
    let wanted_initial = config
        .initial_space
        .as_deref()
        .map(str::trim)
        .filter(|space| !space.is_empty());

    let spaces = client
        .spaces()
        .all()
        .await
        .context("while listing spaces")?;
    let candidates: Vec<&Space> = spaces
        .iter()
        .filter(|space| filter.allows(&space.name, space.id.as_str()))
        .collect();
    if let Some(wanted) = wanted_initial {
        check_initial_space_exists(&spaces, &filter, wanted)?;
    }

    let excluded = spaces.len() - candidates.len();
    let mut searching = format!(
        "looking for worker pool '{wanted_pool}' in {} spaces on {}",
        candidates.len(),
        client.server()
    );
    if filter.is_active() {
        searching.push_str(&format!(
            " ({excluded} of {} excluded by --include-space/--exclude-space)",
            spaces.len()
        ));
    }
    emitter.info(&searching);

    let searched = read_pools(
        client,
        &candidates,
        wanted_pool,
        config.concurrency,
        emitter,
    )
    .await?;

    let qualifying: Vec<(SpaceRef, String, bool)> = searched
        .iter()
        .filter_map(|searched| {
            searched.pool.as_ref().map(|pool| {
                (
                    SpaceRef::of(searched.space),
                    pool.name.clone(),
                    searched.space.task_queue_stopped,
                )
            })
        })
        .collect();
    if qualifying.is_empty() {
        let mut message = format!(
            "no space has a worker pool named '{wanted_pool}' ({} spaces searched",
            candidates.len()
        );
        if filter.is_active() {
            message.push_str(&format!(
                ", {excluded} excluded by --include-space/--exclude-space"
            ));
        }
        message.push_str(
            "): check --worker-pool and that the API key's user can see the spaces that have it",
        );
        return Err(ExitError::not_found(message).into());
    }
    let qualifying_refs = || qualifying.iter().map(|(space, _, _)| space);
    emitter.info(&format!(
        "{} of {} spaces have the pool: {}",
        qualifying.len(),
        candidates.len(),
        list_spaces(qualifying_refs(), SPACES_IN_LOG_LINES)
    ));
    if qualifying.len() > SPACES_IN_LOG_LINES {
        emitter.verbose(&format!(
            "every space that has the pool: {}",
            list_spaces(qualifying_refs(), usize::MAX)
        ));
    }

    let initial_index = match wanted_initial {
        None => 0,
        Some(wanted) => qualifying
            .iter()
            .position(|(space, _, _)| names_space(space, wanted))
            .ok_or_else(|| {
                let space = spaces
                    .iter()
                    .find(|space| is_space(space, wanted))
                    .map(SpaceRef::of);
                let shown = space.map_or_else(|| format!("'{wanted}'"), |space| space.to_string());
                ExitError::not_found(format!(
                    "--initial-space {shown} has no worker pool named '{wanted_pool}': pick one of the {} qualifying spaces: {}",
                    qualifying.len(),
                    list_spaces(qualifying_refs(), NAMES_IN_MESSAGES)
                ))
            })?,
    };

    let stopped: Vec<SpaceRef> = qualifying
        .iter()
        .filter(|(_, _, stopped)| *stopped)
        .map(|(space, _, _)| space.clone())
        .collect();
    if !stopped.is_empty() {
        emitter.warning(&format!(
            "the task queue is stopped in {}: workers are still shared there, but no task runs until its queue is started",
            list_spaces(stopped.iter(), SPACES_IN_LOG_LINES)
        ));
    }

    let mut remaining_spaces = Vec::with_capacity(qualifying.len() - 1);
    let mut initial = None;
    for (index, (space, pool_name, _)) in qualifying.into_iter().enumerate() {
        if index == initial_index {
            initial = Some((space, pool_name));
        } else {
            remaining_spaces.push(space);
        }
    }
    let (initial_space, worker_pool_name) =
        initial.context("internal error: the initial space vanished from the qualifying list")?;

    let outcome = DiscoverOutcome {
        worker_pool_name,
        initial_space,
        remaining_spaces,
        spaces_searched: candidates.len(),
        spaces_listed: spaces.len(),
        stopped_task_queue_spaces: stopped,
        initial_space_overridden: wanted_initial.is_some(),
        pools: searched
            .into_iter()
            .filter_map(|searched| Some((searched.space.id.clone(), searched.pool?)))
            .collect(),
    };
    let chosen = if outcome.initial_space_overridden {
        " (chosen by --initial-space)"
    } else {
        ""
    };
    let remaining = if outcome.remaining_spaces.is_empty() {
        "none".to_owned()
    } else {
        list_spaces(outcome.remaining_spaces.iter(), SPACES_IN_LOG_LINES)
    };
    emitter.highlight(&format!(
        "initial space: {}{chosen}; worker pool '{}'; remaining spaces: {remaining}",
        outcome.initial_space, outcome.worker_pool_name
    ));
    Ok(outcome)
}

/// Sets the output variables (see the crate documentation for the JSON shape):
/// `InitialSpaceName`, `InitialSpaceId`, `RemainingSpaceIds`, `WorkerPoolName`,
/// `RemainingSpaceNames` and `QualifyingSpaceCount`.
pub fn emit_outputs(outcome: &DiscoverOutcome, emitter: &mut Emitter) {
    emitter.set_output(
        "InitialSpaceName",
        OutputValue::Text(outcome.initial_space.name.clone()),
    );
    emitter.set_output(
        "InitialSpaceId",
        OutputValue::Text(outcome.initial_space.id.to_string()),
    );
    emitter.set_output(
        "RemainingSpaceIds",
        OutputValue::List(outcome.remaining_space_ids()),
    );
    emitter.set_output(
        "WorkerPoolName",
        OutputValue::Text(outcome.worker_pool_name.clone()),
    );
    emitter.set_output(
        "RemainingSpaceNames",
        OutputValue::List(outcome.remaining_space_names()),
    );
    emitter.set_output(
        "QualifyingSpaceCount",
        OutputValue::Count(outcome.qualifying_space_count() as u64),
    );
}

/// What one space's pool list said: the wanted pool, if there, and how many pools it has.
struct PoolSearch {
    pool: Option<PoolRef>,
    pools_in_space: usize,
}

/// Reads the pools of every candidate space, `concurrency` at a time, in the candidates' order.
/// Only each space's match is kept (memory stays O(spaces) however many pools they have), and
/// the pools are decoded as Id and name only.
async fn read_pools<'a>(
    client: &Client,
    candidates: &[&'a Space],
    wanted_pool: &str,
    concurrency: usize,
    emitter: &mut Emitter,
) -> anyhow::Result<Vec<SearchedSpace<'a>>> {
    // Unordered on purpose: with an ordered window (`buffered`) an answer that arrives behind a
    // slower one keeps its slot until the slower one is in, so every round waited for the
    // slowest of 16 requests. The index puts the spaces back in the server's order.
    let mut results: Vec<(usize, &Space, Option<PoolSearch>)> =
        futures::stream::iter(candidates.iter().enumerate())
            .map(|(index, space)| async move {
                match client.worker_pools(&space.id).all_summaries().await {
                    Ok(pools) => {
                        let search = PoolSearch {
                            pool: find_pool(&pools, wanted_pool).cloned(),
                            pools_in_space: pools.len(),
                        };
                        Ok((index, *space, Some(search)))
                    }
                    // The space was deleted after it was listed.
                    Err(error) if error.is_not_found() => Ok((index, *space, None)),
                    Err(error) => Err(anyhow::Error::new(error).context(format!(
                        "while listing the worker pools of {} ({})",
                        space.name, space.id
                    ))),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
    results.sort_unstable_by_key(|(index, _, _)| *index);

    let mut searched = Vec::with_capacity(results.len());
    for (_, space, search) in results {
        let Some(PoolSearch {
            pool,
            pools_in_space,
        }) = search
        else {
            emitter.warning(&format!(
                "space {} ({}) disappeared while it was searched: skipped",
                space.name, space.id
            ));
            searched.push(SearchedSpace { space, pool: None });
            continue;
        };
        match &pool {
            Some(pool) => emitter.verbose(&format!(
                "{} ({}): has worker pool '{}'",
                space.name, space.id, pool.name
            )),
            None => emitter.verbose(&format!(
                "{} ({}): no worker pool named '{wanted_pool}' among its {pools_in_space} pools",
                space.name, space.id,
            )),
        }
        searched.push(SearchedSpace { space, pool });
    }
    Ok(searched)
}

/// Fails (exit 3) when `--initial-space` names no listed space or one the filters exclude.
fn check_initial_space_exists(
    spaces: &[Space],
    filter: &SpaceFilter,
    wanted: &str,
) -> Result<(), ExitError> {
    match spaces.iter().find(|space| is_space(space, wanted)) {
        None => Err(ExitError::not_found(format!(
            "--initial-space '{wanted}' does not exist: none of the {} spaces has that name or Id",
            spaces.len()
        ))),
        Some(space) if !filter.allows(&space.name, space.id.as_str()) => {
            Err(ExitError::not_found(format!(
                "--initial-space {} is filtered out by --include-space/--exclude-space: change the filters or the initial space",
                SpaceRef::of(space)
            )))
        }
        Some(_) => Ok(()),
    }
}

/// The pool named `wanted`: an exact match first, else a case-insensitive one.
fn find_pool<'a>(pools: &'a [WorkerPoolSummary], wanted: &str) -> Option<&'a WorkerPoolSummary> {
    pools
        .iter()
        .find(|pool| pool.name.trim() == wanted)
        .or_else(|| pools.iter().find(|pool| same_name(&pool.name, wanted)))
}

fn is_space(space: &Space, wanted: &str) -> bool {
    names_space(&SpaceRef::of(space), wanted)
}

/// Whether `wanted` is the space's Id or name (both case-insensitive).
fn names_space(space: &SpaceRef, wanted: &str) -> bool {
    space.id.as_str().eq_ignore_ascii_case(wanted.trim()) || same_name(&space.name, wanted)
}

/// Octopus names compare case-insensitively, ignoring surrounding whitespace (PowerShell `-eq`).
fn same_name(left: &str, right: &str) -> bool {
    let (left, right) = (left.trim(), right.trim());
    left.eq_ignore_ascii_case(right) || left.to_lowercase() == right.to_lowercase()
}

/// `Name (Spaces-N), ...`: at most `limit` spaces, then "and N more".
fn list_spaces<'a>(spaces: impl ExactSizeIterator<Item = &'a SpaceRef>, limit: usize) -> String {
    abbreviated(spaces.map(ToString::to_string), limit)
}

/// At most `limit` items, then "and N more".
fn abbreviated(items: impl ExactSizeIterator<Item = String>, limit: usize) -> String {
    let total = items.len();
    let mut listed = items.take(limit).collect::<Vec<_>>().join(", ");
    if total > limit {
        listed.push_str(&format!(" and {} more", total - limit));
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space_ref(id: &str, name: &str) -> SpaceRef {
        SpaceRef {
            id: SpaceId::from(id),
            name: name.to_owned(),
        }
    }

    #[test]
    fn names_compare_case_insensitively_and_trimmed() {
        assert!(same_name("AWS Worker Pool TF", " aws worker pool tf "));
        assert!(same_name("Équipe", "ÉQUIPE"));
        assert!(!same_name("AWS Worker Pool TF", "AWS Worker Pool"));
    }

    #[test]
    fn a_space_is_named_by_id_or_name() {
        let space = space_ref("Spaces-12", "Payments");
        assert!(names_space(&space, "spaces-12"));
        assert!(names_space(&space, "PAYMENTS"));
        assert!(!names_space(&space, "Spaces-1"));
        assert_eq!(space.to_string(), "Payments (Spaces-12)");
    }

    #[test]
    fn long_lists_are_abbreviated() {
        let names = (1..8u32).map(|n| format!("S{n}"));
        assert_eq!(abbreviated(names, 5), "S1, S2, S3, S4, S5 and 2 more");
        assert_eq!(abbreviated(["A".to_owned()].into_iter(), 5), "A");
        let exactly = (1..4u32).map(|n| format!("S{n}"));
        assert_eq!(abbreviated(exactly, 3), "S1, S2, S3");
        let spaces: Vec<SpaceRef> = (1..=12)
            .map(|n| space_ref(&format!("Spaces-{n}"), &format!("S{n}")))
            .collect();
        assert_eq!(
            list_spaces(spaces.iter(), 2),
            "S1 (Spaces-1), S2 (Spaces-2) and 10 more"
        );
        assert!(list_spaces(spaces.iter(), usize::MAX).ends_with("S12 (Spaces-12)"));
    }

    fn args(worker_pool: &str) -> DiscoverArgs {
        DiscoverArgs {
            worker_pool: worker_pool.to_owned(),
            initial_space: Some("  ".to_owned()),
            include_spaces: Vec::new(),
            exclude_spaces: Vec::new(),
            concurrency: 4,
        }
    }

    #[test]
    fn into_config_trims_and_validates() {
        let config = args("  AWS Worker Pool TF ").into_config().unwrap();
        assert_eq!(config.worker_pool, "AWS Worker Pool TF");
        assert_eq!(config.initial_space, None);
        assert_eq!(config.concurrency, 4);

        let error = args(" ").into_config().unwrap_err();
        assert_eq!(
            octoshare_cli::exit_for_error(&error),
            octoshare_cli::Exit::Usage
        );

        let mut bad_glob = args("P");
        bad_glob.exclude_spaces.push("[".to_owned());
        let error = bad_glob.into_config().unwrap_err();
        assert!(error.to_string().contains("--exclude-space"));
    }

    #[test]
    fn outcome_lists_remaining_spaces_in_order() {
        let outcome = DiscoverOutcome {
            worker_pool_name: "P".to_owned(),
            initial_space: space_ref("Spaces-1", "Default"),
            remaining_spaces: vec![space_ref("Spaces-3", "B"), space_ref("Spaces-2", "A")],
            spaces_searched: 3,
            spaces_listed: 3,
            stopped_task_queue_spaces: Vec::new(),
            initial_space_overridden: false,
            pools: BTreeMap::new(),
        };
        assert_eq!(outcome.qualifying_space_count(), 3);
        assert_eq!(outcome.remaining_space_ids(), ["Spaces-3", "Spaces-2"]);
        assert_eq!(outcome.remaining_space_names(), ["B", "A"]);
    }
}
