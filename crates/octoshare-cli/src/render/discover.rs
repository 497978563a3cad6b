//! `octoshare-discover`'s rendering: the search as it goes, the result, the output variables
//! and the failure messages with the flags to check.

use super::{NAMES_IN_MESSAGES, SPACES_IN_LOG_LINES, list_spaces};
use crate::exit::{ExitError, api_error_line, exit_for_discover_error};
use crate::json::DiscoverOutputs;
use crate::output::Emitter;
use octoshare_core::domain::{ResolveError, SpaceRef};
use octoshare_discover::{
    DiscoverError, DiscoverOutcome, DiscoverSink, SkipCause, SkippedSpace, SpaceListing,
    SpaceSearch,
};

/// Renders a discovery's events as lines of the emitter.
#[derive(Debug)]
pub struct DiscoverRenderer<'a> {
    out: &'a mut Emitter,
    worker_pool: String,
}

impl<'a> DiscoverRenderer<'a> {
    /// A renderer writing to `out`.
    pub fn new(out: &'a mut Emitter) -> DiscoverRenderer<'a> {
        DiscoverRenderer {
            out,
            worker_pool: String::new(),
        }
    }
}

impl DiscoverSink for DiscoverRenderer<'_> {
    fn spaces_listed(&mut self, listing: &SpaceListing<'_>) {
        self.worker_pool = listing.worker_pool.to_owned();
        let mut line = format!(
            "looking for worker pool '{}' in {} spaces on {}",
            listing.worker_pool, listing.searched, listing.server
        );
        if listing.filtered {
            line.push_str(&format!(
                " ({} of {} excluded by --include-space/--exclude-space)",
                listing.listed - listing.searched,
                listing.listed
            ));
        }
        self.out.info(&line);
    }

    fn space_searched(&mut self, space: &SpaceRef, search: &SpaceSearch) {
        match search {
            SpaceSearch::HasPool(pool) => self
                .out
                .verbose(&format!("{space}: has worker pool '{}'", pool.name)),
            SpaceSearch::NoPool { pools_in_space } => self.out.verbose(&format!(
                "{space}: no worker pool named '{}' among its {pools_in_space} pools",
                self.worker_pool
            )),
            SpaceSearch::Vanished => self.out.warning(&format!(
                "space {space} disappeared while it was searched: skipped"
            )),
            SpaceSearch::DynamicPool(pool) => self.out.warning(&format!(
                "space {space} skipped: its pool '{}' ({}) is a dynamic worker pool, and Octopus does not allow adding workers to a dynamic pool",
                pool.name, pool.id
            )),
            SpaceSearch::Refused { refusal, .. } => self.out.warning(&format!(
                "space {space} skipped: the API key may not read its worker pools (it lacks the {} permission there)",
                refusal.permission
            )),
        }
    }
}

/// The lines after a successful discovery: which spaces have the pool, stopped task queues, and
/// the highlight naming the initial and remaining spaces.
pub fn finished(out: &mut Emitter, outcome: &DiscoverOutcome) {
    let qualifying = outcome.qualifying();
    let spaces = || qualifying.iter().map(|target| &target.space);
    out.info(&format!(
        "{} of {} spaces have the pool: {}",
        qualifying.len(),
        outcome.spaces_searched,
        list_spaces(spaces(), SPACES_IN_LOG_LINES)
    ));
    if qualifying.len() > SPACES_IN_LOG_LINES {
        out.verbose(&format!(
            "every space that has the pool: {}",
            list_spaces(spaces(), usize::MAX)
        ));
    }
    if !outcome.stopped_task_queues.is_empty() {
        out.warning(&format!(
            "the task queue is stopped in {}: workers are still shared there, but no task runs until its queue is started",
            list_spaces(outcome.stopped_task_queues.iter(), SPACES_IN_LOG_LINES)
        ));
    }
    let chosen = if outcome.initial_space_chosen {
        " (chosen by --initial-space)"
    } else {
        ""
    };
    let remaining = if outcome.remaining.is_empty() {
        "none".to_owned()
    } else {
        list_spaces(
            outcome.remaining.iter().map(|target| &target.space),
            SPACES_IN_LOG_LINES,
        )
    };
    out.highlight(&format!(
        "initial space: {}{chosen}; worker pool '{}'; remaining spaces: {remaining}",
        outcome.initial.space,
        outcome.worker_pool_name()
    ));
}

/// The distinct permissions the refused spaces lack, e.g. `WorkerView`.
fn permissions_of(refused: &[&SkippedSpace]) -> String {
    let mut names: Vec<&str> = refused
        .iter()
        .filter_map(|skipped| match &skipped.cause {
            SkipCause::PermissionRefused(refusal) => Some(refusal.permission.name()),
            SkipCause::DynamicPool(_) => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

/// Sets discover's output variables: the original runbook's `InitialSpaceName`,
/// `InitialSpaceId`, `RemainingSpaceIds` and `WorkerPoolName`, plus `RemainingSpaceNames` and
/// `QualifyingSpaceCount`.
pub fn set_outputs(out: &mut Emitter, outcome: &DiscoverOutcome) {
    out.set_outputs(&DiscoverOutputs::of(outcome));
}

/// The one-line message of a failed discovery, with the flags to check.
pub fn error_message(error: &DiscoverError) -> String {
    match error {
        DiscoverError::NoQualifyingSpace {
            worker_pool,
            searched,
            excluded,
            skipped,
        } => {
            let mut message = format!(
                "no space has a worker pool named '{worker_pool}' ({searched} spaces searched"
            );
            if let Some(excluded) = excluded {
                message.push_str(&format!(
                    ", {excluded} excluded by --include-space/--exclude-space"
                ));
            }
            let refused: Vec<&SkippedSpace> = skipped
                .iter()
                .filter(|space| matches!(space.cause, SkipCause::PermissionRefused(_)))
                .collect();
            let dynamic: Vec<&SkippedSpace> = skipped
                .iter()
                .filter(|space| matches!(space.cause, SkipCause::DynamicPool(_)))
                .collect();
            if !refused.is_empty() {
                message.push_str(&format!(
                    ", {} skipped: the API key lacks {} there",
                    list_spaces(
                        refused.iter().map(|skipped| &skipped.space),
                        NAMES_IN_MESSAGES
                    ),
                    permissions_of(&refused)
                ));
            }
            if !dynamic.is_empty() {
                message.push_str(&format!(
                    ", {} skipped: the pool is a dynamic worker pool there",
                    list_spaces(
                        dynamic.iter().map(|skipped| &skipped.space),
                        NAMES_IN_MESSAGES
                    )
                ));
            }
            if error.every_space_refused() {
                message.push_str(
                    "): grant the user behind the API key the permission in those spaces, or use another key",
                );
            } else {
                message.push_str(
                    "): check --worker-pool and that the API key's user can see the spaces that have it",
                );
            }
            message
        }
        DiscoverError::InitialSpaceSkipped { space, skipped } => format!(
            "--initial-space {space} was skipped: {}: pick another space or fix the cause",
            skipped.reason
        ),
        DiscoverError::InitialSpace(ResolveError::SpaceNotFound { wanted, searched }) => format!(
            "--initial-space '{wanted}' does not exist: none of the {searched} spaces has that name or Id"
        ),
        DiscoverError::InitialSpace(error) => format!("--initial-space: {error}"),
        DiscoverError::InitialSpaceExcluded { space } => format!(
            "--initial-space {space} is filtered out by --include-space/--exclude-space: change the filters or the initial space"
        ),
        DiscoverError::InitialSpaceLacksPool {
            space,
            worker_pool,
            qualifying,
        } => format!(
            "--initial-space {space} has no worker pool named '{worker_pool}': pick one of the {} qualifying spaces: {}",
            qualifying.len(),
            list_spaces(qualifying.iter(), NAMES_IN_MESSAGES)
        ),
        DiscoverError::AmbiguousPool(error) => format!("{error} in --worker-pool"),
        DiscoverError::ListSpaces(api) | DiscoverError::ListPools { error: api, .. } => {
            api_error_line(error, api)
        }
    }
}

impl From<DiscoverError> for ExitError {
    fn from(error: DiscoverError) -> ExitError {
        ExitError::new(exit_for_discover_error(&error), error_message(&error))
    }
}
