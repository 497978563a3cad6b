//! [`share`]: read the source pool's workers, then for every target space (at most
//! `concurrency` at once, and as many requests in flight) read it, plan it and apply the plan;
//! report as it goes and return the [`ShareReport`].

use crate::apply::{self, Runner};
use crate::lookups::{SourceLookups, SpaceLookups};
use crate::options::ShareOptions;
use crate::plan::{self, PlanOptions, SourcePool, Step, TargetState};
use crate::report::{ShareReport, SourceWorkerResult, SpaceFailure, SpaceResult, Totals};
use crate::resolve::{ShareTargets, Target};
use futures::StreamExt as _;
use octoshare_core::domain::{self, PoolRef, ResolveError, ResolvedTarget, SpaceRef};
use octoshare_core::{ApiError, Client};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Why a share could do nothing at all (everything per target space is in the report instead).
///
/// Not `#[non_exhaustive]` at the enum level on purpose: the command-line layer maps every
/// variant to an exit code with a `match` that has no wildcard.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// Listing the spaces failed.
    #[error("while listing spaces")]
    ListSpaces(#[source] Box<ApiError>),
    /// The source space does not resolve.
    #[error("source space: {0}")]
    SourceSpace(ResolveError),
    /// Reading the source space's pools failed.
    #[error("while listing the worker pools of {space}")]
    ListSourcePools {
        /// The source space.
        space: SpaceRef,
        /// Why.
        #[source]
        error: Box<ApiError>,
    },
    /// The source pool does not resolve.
    #[error("source pool: {0}")]
    SourcePool(ResolveError),
    /// The source pool is a dynamic worker pool: its workers are Octopus's own, leased on
    /// demand, and none can be registered elsewhere.
    #[error(
        "source pool '{}' ({}) of {} is a dynamic worker pool: Octopus provisions its workers on demand, so there is nothing to share",
        pool.pool.name, pool.pool.id, pool.space
    )]
    DynamicSourcePool {
        /// The source pool.
        pool: ResolvedTarget,
    },
    /// Reading the source pool's workers failed.
    #[error("while listing the workers of pool '{}' in {}", source.pool.name, source.space)]
    ReadSourceWorkers {
        /// The source pool.
        source: ResolvedTarget,
        /// Why.
        #[source]
        error: Box<ApiError>,
    },
}

/// The source pool was read and classified; the target spaces come next.
#[derive(Debug, Clone, Copy)]
pub struct SourceRead<'a> {
    /// The source pool.
    pub source: &'a ResolvedTarget,
    /// Every source worker and whether it is shared (sorted by name).
    pub workers: &'a [SourceWorkerResult],
    /// How many target spaces are shared into.
    pub target_spaces: usize,
    /// Whether this is a dry run.
    pub dry_run: bool,
    /// Whether pruning was asked for but is off because no source worker is shared (an empty
    /// source would make every worker look stale).
    pub prune_disabled: bool,
}

/// One target space is done.
#[derive(Debug, Clone, Copy)]
pub struct SpaceDone<'a> {
    /// How many targets are done.
    pub done: u64,
    /// How many there are.
    pub total: u64,
    /// What happened in this one.
    pub result: &'a SpaceResult,
}

/// Receives what a share does as it goes; every method does nothing unless overridden.
pub trait ShareSink {
    /// The source pool was read (not called when there is no target space).
    fn source_read(&mut self, _source: &SourceRead<'_>) {}
    /// One target is done (in the order they finish).
    fn space_done(&mut self, _done: &SpaceDone<'_>) {}
}

/// A sink that ignores everything.
impl ShareSink for () {}

impl<S: ShareSink + ?Sized> ShareSink for &mut S {
    fn source_read(&mut self, source: &SourceRead<'_>) {
        (**self).source_read(source);
    }
    fn space_done(&mut self, done: &SpaceDone<'_>) {
        (**self).space_done(done);
    }
}

/// Shares the source pool's workers into every target and returns what happened.
///
/// Reads the source pool's workers (every page), then per target space, concurrently: its
/// workers (and its pools when the target's pool is not resolved yet), plans it, and — unless
/// this is a dry run — applies the plan. Machine policies, proxies and accounts are read only
/// when a write needs them (see the crate docs). A space that fails never stops the others;
/// once `cancel` is cancelled no new space is started and no new write is sent.
///
/// Fails only when the source pool is dynamic or reading its workers fails; everything per
/// target space is in the report.
pub async fn share(
    client: &Client,
    targets: &ShareTargets,
    options: &ShareOptions,
    sink: &mut impl ShareSink,
    cancel: &CancellationToken,
) -> Result<ShareReport, ShareError> {
    let source_target = &targets.source;
    if source_target.pool.is_dynamic() {
        return Err(ShareError::DynamicSourcePool {
            pool: source_target.clone(),
        });
    }
    let target_spaces = targets.space_count();
    let source = if target_spaces > 0 {
        match client
            .worker_pools(&source_target.space.id)
            .workers(&source_target.pool.id)
            .await
        {
            Ok(workers) => Some(SourcePool::new(workers)),
            // Interrupted before the source was read: nothing is attempted, and the report
            // says so (every target space not attempted).
            Err(error) if error.is_interrupted() => None,
            Err(error) => {
                return Err(ShareError::ReadSourceWorkers {
                    source: source_target.clone(),
                    error: Box::new(error),
                });
            }
        }
    } else {
        Some(SourcePool::default())
    };
    let source_read = source.is_some();
    let source = source.unwrap_or_default();
    let mut plan_options = PlanOptions {
        on_conflict: options.on_conflict,
        prune: options.prune,
    };
    let prune_disabled = target_spaces > 0 && source.shared.is_empty() && options.prune;
    if prune_disabled {
        plan_options.prune = false;
    }
    if target_spaces > 0 && source_read {
        sink.source_read(&SourceRead {
            source: source_target,
            workers: &source.results,
            target_spaces,
            dry_run: options.dry_run,
            prune_disabled,
        });
    }

    let concurrency = options.concurrency.max(1);
    let requests = Semaphore::new(concurrency);
    let source_lookups = SourceLookups::new(source_target.space.id.clone());
    let runner = Runner {
        client,
        source: &source,
        cancel,
        requests: &requests,
        // Backoff base between attempts of a write whose outcome was unknown and not done.
        retry_delay: client.retry_policy().base_delay,
        source_lookups: &source_lookups,
        machine_policy: options.machine_policy.as_deref(),
        dry_run: options.dry_run,
    };
    let total = targets.targets.len() as u64;
    let mut results: Vec<Option<SpaceResult>> = vec![None; targets.targets.len()];
    {
        let runner = &runner;
        let mut stream = futures::stream::iter(targets.targets.iter().enumerate())
            .map(|(index, target)| async move {
                let result =
                    share_into_target(runner, targets, plan_options, target, source_read).await;
                (index, result)
            })
            .buffer_unordered(concurrency);
        let mut done = 0;
        while let Some((index, result)) = stream.next().await {
            done += 1;
            sink.space_done(&SpaceDone {
                done,
                total,
                result: &result,
            });
            results[index] = Some(result);
        }
    }
    let mut report = ShareReport {
        source_space: source_target.space.clone(),
        worker_pool_name: source_target.pool.name.clone(),
        dry_run: options.dry_run,
        interrupted: false,
        totals: Totals::default(),
        source_workers: source.results.clone(),
        spaces: results.into_iter().flatten().collect(),
    };
    report.sum_totals();
    // Cancelled while it ran, or some request was cut short by the client's own cancellation.
    report.interrupted = cancel.is_cancelled() || !source_read || report.totals.not_attempted > 0;
    Ok(report)
}

async fn share_into_target(
    runner: &Runner<'_>,
    targets: &ShareTargets,
    plan_options: PlanOptions,
    target: &Target,
    source_read: bool,
) -> SpaceResult {
    match target {
        Target::Unresolved { entry, error } => {
            SpaceResult::failed(entry, None, SpaceFailure::Unresolved(error.clone()))
        }
        Target::Source { entry, space } => SpaceResult::skipped(
            entry,
            Some(space.clone()),
            "the source space is never a target".to_owned(),
        ),
        // Interrupted before the source pool was read: nothing to share from.
        Target::Space { entry, space, .. } if !source_read => {
            SpaceResult::not_attempted(entry, Some(space.clone()))
        }
        Target::Space { entry, space, pool } => {
            share_into_space(runner, targets, plan_options, entry, space, pool.as_ref()).await
        }
    }
}

/// Reads one target space (its pools unless known, and its workers, at once), plans it and
/// applies the plan (a dry run completes each write without sending it). A plan with a create
/// reads the space's machine policies first: a named policy the space does not have, or
/// policies that cannot be read, fail the space before anything is written.
async fn share_into_space(
    runner: &Runner<'_>,
    targets: &ShareTargets,
    plan_options: PlanOptions,
    entry: &str,
    space: &SpaceRef,
    known_pool: Option<&PoolRef>,
) -> SpaceResult {
    if runner.cancel.is_cancelled() {
        return SpaceResult::not_attempted(entry, Some(space.clone()));
    }
    let client = runner.client;
    let (pool_handler, worker_handler) =
        (client.worker_pools(&space.id), client.workers(&space.id));
    let read_pool = async {
        match known_pool {
            Some(pool) => Ok(Ok(pool.clone())),
            None => runner
                .limited(pool_handler.all_summaries())
                .await
                .map(|pools| {
                    domain::resolve_pool(space, &pools, &targets.worker_pool).map(PoolRef::from)
                }),
        }
    };
    let (pool, workers) = futures::join!(read_pool, runner.limited(worker_handler.all()));
    let (pool, state) = match (pool, workers) {
        (Ok(pool), Ok(workers)) => (pool, TargetState { workers }),
        (pool, workers) => {
            // A read cut short by the interruption leaves the space not attempted, unless
            // another read of it failed for a reason of its own.
            let errors = [pool.err(), workers.err()];
            let failure = errors
                .iter()
                .flatten()
                .find(|error| !error.is_interrupted());
            let Some(error) = failure else {
                return SpaceResult::not_attempted(entry, Some(space.clone()));
            };
            return SpaceResult::failed(
                entry,
                Some(space.clone()),
                SpaceFailure::unreadable(error),
            );
        }
    };
    let pool = match pool {
        Ok(pool) if pool.is_dynamic() => {
            return SpaceResult::failed(
                entry,
                Some(space.clone()),
                SpaceFailure::DynamicPool { pool },
            );
        }
        Ok(pool) => pool,
        Err(error) => {
            return SpaceResult::failed(entry, Some(space.clone()), SpaceFailure::Pool(error));
        }
    };
    let plan = plan::plan_space(&space.id, pool, runner.source, &state, plan_options);
    let lookups = SpaceLookups::new(space.id.clone());
    if plan.steps.iter().any(Step::needs_policy)
        && let Err(failure) = lookups.policy(runner).await
    {
        return SpaceResult::failed(entry, Some(space.clone()), failure);
    }
    let results = apply::execute_space(runner, &plan.context, &lookups, plan.steps).await;
    SpaceResult::with_workers(entry, space.clone(), results)
}
