//! [`share_workers`]: resolve the spaces, read the source pool, then plan and apply every target
//! space concurrently (at most `--concurrency` spaces and requests at once), and report.

use crate::args::ShareConfig;
use crate::execute::{self, Runner};
use crate::plan::{self, PlanOptions, SourcePool, TargetState, same_name};
use crate::report::{
    Action, FailureKind, Outcome, ShareReport, SpaceRef, SpaceResult, SpaceStatus, Totals,
    WorkerResult, emit_outputs, plural, print_summary, write_report,
};
use anyhow::Context as _;
use futures::StreamExt as _;
use octoshare_cli::{Emitter, Exit, ExitError, Shutdown};
use octoshare_core::{Client, Space, SpaceId, WorkerPool, WorkerPoolId};
use serde_json::Map;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::Semaphore;

/// One `--to-spaces` entry after resolution.
#[derive(Debug, Clone)]
enum Target {
    /// A space to share into.
    Space { entry: String, space: SpaceRef },
    /// The source space listed as a target: skipped.
    Source { entry: String, space: SpaceRef },
    /// No such space.
    Unknown { entry: String, reason: String },
}

/// A space and its pool as the caller already read them (see [`KnownSpaces`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSpace {
    /// `Spaces-N`.
    pub id: SpaceId,
    /// The space's name.
    pub name: String,
    /// The space's pool named `--worker-pool`.
    pub pool_id: WorkerPoolId,
    /// That pool's name as the space spells it.
    pub pool_name: String,
}

/// Spaces and pools the caller has already read, so that share does not read them again
/// (`octoshare run` passes what discover found). When `--from-space` and every `--to-spaces`
/// entry are Ids of known spaces, the spaces are not listed; a known space's pool is not read.
/// Pools are identified by Id, which does not change: a pool deleted in between makes that
/// space's writes fail and be reported, like any change between reading and writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownSpaces {
    /// The spaces, in any order.
    pub spaces: Vec<KnownSpace>,
}

impl KnownSpaces {
    fn find(&self, id: &str) -> Option<&KnownSpace> {
        self.spaces
            .iter()
            .find(|space| space.id.as_str().eq_ignore_ascii_case(id.trim()))
    }

    /// The known spaces as listed spaces, when they resolve `from` and every entry of `to`.
    fn resolving(&self, from: &str, to: &[String]) -> Option<Vec<Space>> {
        let entries = std::iter::once(from).chain(to.iter().map(String::as_str));
        let all_known = entries
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .all(|entry| self.find(entry).is_some());
        all_known.then(|| {
            self.spaces
                .iter()
                .map(|space| Space {
                    id: space.id.clone(),
                    name: space.name.clone(),
                    slug: None,
                    is_default: false,
                    task_queue_stopped: false,
                    extra: Map::new(),
                })
                .collect()
        })
    }

    /// The known pool of a space, as read.
    fn pool_of(&self, space: &str) -> Option<WorkerPool> {
        self.find(space).map(|known| WorkerPool {
            id: known.pool_id.clone(),
            name: known.pool_name.clone(),
            space_id: Some(known.id.clone()),
            is_default: false,
            worker_pool_type: None,
            can_add_workers: None,
            extra: Map::new(),
        })
    }
}

/// Shares the source pool's workers into every target space and returns what happened.
///
/// Fails (`Err`) only when nothing can be done at all: the source space or its pool does not
/// exist (exit code 3), the credentials are refused (6) or the server is unreachable (7) while
/// listing spaces or reading the source pool. Everything per target space (an unknown space, a
/// space without the pool, a refused write) is in the report; the caller ends with
/// [`ShareReport::exit`] (see [`conclude`]).
pub async fn share_workers(
    client: &Client,
    config: &ShareConfig,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> anyhow::Result<ShareReport> {
    share_known_workers(client, config, &KnownSpaces::default(), emitter, shutdown).await
}

/// [`share_workers`] without reading again what `known` holds: the space list (when it
/// resolves every space named) and the pools of the known spaces. Per target space it then
/// reads only the machine policies and the workers.
pub async fn share_known_workers(
    client: &Client,
    config: &ShareConfig,
    known: &KnownSpaces,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> anyhow::Result<ShareReport> {
    let spaces = match known.resolving(&config.from_space, &config.to_spaces) {
        Some(spaces) => spaces,
        None => client
            .spaces()
            .all()
            .await
            .context("while listing spaces")?,
    };
    let source_space = find_space(&spaces, &config.from_space).ok_or_else(|| {
        ExitError::not_found(format!(
            "no space named or with Id '{}' ({} searched): check --from-space",
            config.from_space,
            plural(spaces.len() as u64, "space")
        ))
    })?;
    let source_ref = space_ref(source_space);
    let pools = match known.pool_of(source_space.id.as_str()) {
        Some(pool) => vec![pool],
        None => client
            .worker_pools(&source_space.id)
            .all()
            .await
            .with_context(|| format!("while listing the worker pools of {source_ref}"))?,
    };
    let pool = pools
        .iter()
        .find(|pool| same_name(&pool.name, &config.worker_pool))
        .ok_or_else(|| {
            let names: Vec<String> = pools.iter().map(|pool| format!("'{}'", pool.name)).collect();
            ExitError::not_found(format!(
                "the source space {source_ref} has no worker pool named '{}': check --worker-pool (pools there: {})",
                config.worker_pool,
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ))
        })?;

    let targets = resolve_targets(&spaces, &config.to_spaces, source_space, emitter);
    let mut report = ShareReport {
        source_space: source_ref.clone(),
        worker_pool_name: pool.name.clone(),
        dry_run: config.dry_run,
        interrupted: false,
        totals: Totals::default(),
        source_workers: Vec::new(),
        spaces: Vec::new(),
    };
    let has_spaces = targets
        .iter()
        .any(|target| matches!(target, Target::Space { .. }));
    let source = if has_spaces {
        let workers = client
            .worker_pools(&source_space.id)
            .workers(&pool.id)
            .await
            .with_context(|| {
                format!(
                    "while listing the workers of pool '{}' in {source_ref}",
                    pool.name
                )
            })?;
        SourcePool::new(workers)
    } else {
        if config.to_spaces.is_empty() {
            emitter.info("no target spaces given (--to-spaces is empty): nothing to do");
        }
        SourcePool::default()
    };
    report.source_workers = source.results.clone();
    for skipped in source.results.iter().filter(|worker| !worker.shared) {
        emitter.warning(&format!(
            "source worker '{}' ({}) is {}",
            skipped.name,
            skipped.worker_id,
            skipped.reason.as_deref().unwrap_or("not shared")
        ));
    }
    let mut options = PlanOptions {
        on_conflict: config.on_conflict,
        prune: config.prune,
    };
    if has_spaces && source.shared.is_empty() {
        emitter.warning(&format!(
            "pool '{}' in {source_ref} has no Tentacle workers to share",
            pool.name
        ));
        if options.prune {
            emitter.warning(
                "not pruning: with an empty source pool every stale-looking worker would be deleted; register the workers first",
            );
            options.prune = false;
        }
    }
    if has_spaces {
        emitter.info(&format!(
            "{} {} of pool '{}' from {source_ref} into {}{}",
            if config.dry_run {
                "planning to share"
            } else {
                "sharing"
            },
            plural(source.shared.len() as u64, "worker"),
            pool.name,
            plural(
                targets
                    .iter()
                    .filter(|target| matches!(target, Target::Space { .. }))
                    .count() as u64,
                "space"
            ),
            if config.dry_run {
                " (dry run: nothing is changed)"
            } else {
                ""
            }
        ));
    }

    let concurrency = config.concurrency.max(1);
    let requests = Semaphore::new(concurrency);
    let runner = Runner {
        client,
        source: &source,
        shutdown,
        requests: &requests,
        retry_delay: write_retry_delay(client),
    };
    let total = targets.len() as u64;
    let mut results: Vec<Option<SpaceResult>> = vec![None; targets.len()];
    {
        let runner = &runner;
        let mut stream = futures::stream::iter(targets.into_iter().enumerate())
            .map(|(index, target)| async move {
                (
                    index,
                    share_into_target(runner, config, options, known, target).await,
                )
            })
            .buffer_unordered(concurrency);
        let mut done = 0;
        while let Some((index, result)) = stream.next().await {
            done += 1;
            results[index] = Some(result);
            emitter.progress(
                done,
                total,
                &format!("{done} of {} done", plural(total, "space")),
            );
        }
    }
    emitter.finish_progress();
    report.spaces = results.into_iter().flatten().collect();
    report.interrupted = shutdown.is_requested();
    report.sum_totals();
    print_details(&report, emitter);
    print_summary(&report, emitter);
    // Kept as JSON text (JSON mode only): a value tree of every worker result would take
    // several times the memory (e.g. 1,000 spaces × 50 workers).
    let _ = emitter.set_json_serialized("Report", &report);
    Ok(report)
}

/// Backoff base between attempts of a write whose outcome was unknown and not done: the
/// client's retry delay (`--retry-delay`).
fn write_retry_delay(client: &Client) -> Duration {
    client.retry_policy().base_delay
}

/// Ends a run: sets the output variables, writes the report (and attaches it as an artifact in
/// octopus mode), reports a failure line when something failed, and returns the exit code
/// (0, 5 when something failed or the run was interrupted, 6 when a permission was refused).
pub fn conclude(report: &ShareReport, config: &ShareConfig, emitter: &mut Emitter) -> Exit {
    emit_outputs(report, emitter);
    let mut exit = report.exit();
    let mut messages: Vec<String> = report.failure_message().into_iter().collect();
    if let Some(path) = &config.report {
        match write_report(report, path) {
            Ok(()) => {
                let name = path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "share-report.json".to_owned());
                emitter.artifact(path, &name);
            }
            Err(error) => {
                messages.push(format!("{error:#}"));
                if exit == Exit::Success {
                    exit = Exit::PartialFailure;
                }
            }
        }
    }
    if !messages.is_empty() {
        emitter.failure(&messages.join("; "), exit.code());
    }
    exit
}

fn space_ref(space: &Space) -> SpaceRef {
    SpaceRef {
        id: space.id.to_string(),
        name: space.name.clone(),
    }
}

/// A space by Id (`Spaces-N`, case-insensitive) or else by name (case-insensitive, trimmed).
fn find_space<'a>(spaces: &'a [Space], name_or_id: &str) -> Option<&'a Space> {
    let wanted = name_or_id.trim();
    spaces
        .iter()
        .find(|space| space.id.as_str().eq_ignore_ascii_case(wanted))
        .or_else(|| spaces.iter().find(|space| same_name(&space.name, wanted)))
}

/// Resolves `--to-spaces` in order: duplicates (the same text, or two entries naming the same
/// space) are dropped with a note; the source space is kept as a skipped entry.
fn resolve_targets(
    spaces: &[Space],
    entries: &[String],
    source: &Space,
    emitter: &mut Emitter,
) -> Vec<Target> {
    let mut seen_entries = HashSet::new();
    let mut seen_spaces: HashSet<SpaceId> = HashSet::new();
    let mut targets = Vec::new();
    for entry in entries.iter().map(|entry| entry.trim()) {
        if entry.is_empty() {
            continue;
        }
        if !seen_entries.insert(entry.to_lowercase()) {
            emitter.info(&format!(
                "note: '{entry}' is listed more than once in --to-spaces: handled once"
            ));
            continue;
        }
        let Some(space) = find_space(spaces, entry) else {
            targets.push(Target::Unknown {
                entry: entry.to_owned(),
                reason: format!(
                    "no space named or with Id '{entry}' ({} searched): check --to-spaces",
                    plural(spaces.len() as u64, "space")
                ),
            });
            continue;
        };
        if !seen_spaces.insert(space.id.clone()) {
            emitter.info(&format!(
                "note: '{entry}' names {}, which --to-spaces already lists: handled once",
                space_ref(space)
            ));
            continue;
        }
        if space.id == source.id {
            emitter.info(&format!(
                "note: '{entry}' is the source space {}: skipped",
                space_ref(space)
            ));
            targets.push(Target::Source {
                entry: entry.to_owned(),
                space: space_ref(space),
            });
            continue;
        }
        targets.push(Target::Space {
            entry: entry.to_owned(),
            space: space_ref(space),
        });
    }
    targets
}

async fn share_into_target(
    runner: &Runner<'_>,
    config: &ShareConfig,
    options: PlanOptions,
    known: &KnownSpaces,
    target: Target,
) -> SpaceResult {
    match target {
        Target::Unknown { entry, reason } => {
            SpaceResult::failed(&entry, None, reason, FailureKind::NotFound)
        }
        Target::Source { entry, space } => SpaceResult::skipped(
            &entry,
            Some(space),
            "the source space is never a target".to_owned(),
        ),
        Target::Space { entry, space } => {
            let known_pool = known.pool_of(&space.id);
            share_into_space(runner, config, options, &entry, space, known_pool).await
        }
    }
}

/// Reads one target space (pools unless known, machine policies and workers at once), plans it
/// and, unless this is a dry run, applies the plan.
async fn share_into_space(
    runner: &Runner<'_>,
    config: &ShareConfig,
    options: PlanOptions,
    entry: &str,
    space: SpaceRef,
    known_pool: Option<WorkerPool>,
) -> SpaceResult {
    if runner.shutdown.is_requested() {
        return SpaceResult::not_attempted(entry, Some(space));
    }
    let id = SpaceId::from(space.id.as_str());
    let client = runner.client;
    let (pool_handler, policy_handler, worker_handler) = (
        client.worker_pools(&id),
        client.machine_policies(&id),
        client.workers(&id),
    );
    let read_pools = async {
        match known_pool {
            Some(pool) => Ok(vec![pool]),
            None => runner.limited(pool_handler.all()).await,
        }
    };
    let (pools, policies, workers) = futures::join!(
        read_pools,
        runner.limited(policy_handler.all()),
        runner.limited(worker_handler.all()),
    );
    let state = match (pools, policies, workers) {
        (Ok(pools), Ok(policies), Ok(workers)) => TargetState {
            pools,
            policies,
            workers,
        },
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
            let kind = execute::failure_kind(&error);
            return SpaceResult::failed(
                entry,
                Some(space),
                format!("cannot read the space: {error}"),
                kind,
            );
        }
    };
    let plan = match plan::plan_space(
        &id,
        runner.source,
        &state,
        &config.worker_pool,
        config.machine_policy.as_deref(),
        options,
    ) {
        Ok(plan) => plan,
        Err(reason) => {
            return SpaceResult::failed(entry, Some(space), reason, FailureKind::NotFound);
        }
    };
    let results = if config.dry_run {
        plan.steps
            .iter()
            .map(|step| WorkerResult {
                name: step.name.clone(),
                worker_id: step.worker_id.as_ref().map(ToString::to_string),
                action: step.action,
                outcome: if step.problem.is_some() {
                    Outcome::Failed
                } else {
                    Outcome::Planned
                },
                reason: step.problem.clone().unwrap_or_else(|| step.reason.clone()),
                failure_kind: step.problem.as_ref().map(|_| FailureKind::NotFound),
            })
            .collect()
    } else {
        execute::execute_space(runner, &plan.context, plan.steps).await
    };
    SpaceResult::with_workers(entry, space, results)
}

/// Per-space lines in `--to-spaces` order: changes as info lines, unchanged workers as verbose
/// lines, conflicts as warnings, failures as warnings naming space, worker and reason.
fn print_details(report: &ShareReport, emitter: &mut Emitter) {
    for space in &report.spaces {
        let label = space.label();
        match space.status {
            SpaceStatus::Skipped => {
                emitter.info(&format!(
                    "{label}: skipped: {}",
                    space.reason.as_deref().unwrap_or_default()
                ));
                continue;
            }
            SpaceStatus::Failed | SpaceStatus::NotAttempted if space.workers.is_empty() => {
                let line = format!("{label}: {}", space.reason.as_deref().unwrap_or_default());
                if space.status == SpaceStatus::Failed {
                    emitter.warning(&format!("failed: {line}"));
                } else {
                    emitter.info(&line);
                }
                continue;
            }
            _ => {}
        }
        for worker in &space.workers {
            let id = worker
                .worker_id
                .as_ref()
                .map(|id| format!(" ({id})"))
                .unwrap_or_default();
            let plan_prefix = if report.dry_run { "plan: " } else { "" };
            let line = format!(
                "{label}: {plan_prefix}{} '{}'{id}: {}",
                worker.action.describe(),
                worker.name,
                worker.reason
            );
            match worker.outcome {
                Outcome::Failed => emitter.warning(&format!(
                    "failed: space {label}, worker '{}'{id}: {}",
                    worker.name, worker.reason
                )),
                Outcome::NotAttempted => emitter.info(&line),
                Outcome::Done | Outcome::Planned => match worker.action {
                    Action::Unchanged => emitter.verbose(&line),
                    Action::Conflict => emitter.warning(&format!("conflict: {line}")),
                    _ => emitter.info(&line),
                },
            }
        }
    }
}
