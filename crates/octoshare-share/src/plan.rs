//! Planning, the second stage of a share: pure functions from what was read (the source pool's
//! workers; a target space's pool and workers) to what to do, worker by worker. No I/O here, so
//! every rule of the decision table is unit-tested, and the executor re-plans a single worker
//! from a fresh read after a write whose outcome is unknown.
//!
//! What only some writes need is not part of the plan: a create's machine policy and the
//! target space's proxy or account a copied endpoint must refer to are looked up when such a
//! write is about to be sent (see the `lookups` module), so a space needing no such write never
//! reads them. [`choose_policy`] is the pure rule for a named policy.

use crate::options::OnConflict;
use crate::report::{Action, SourceWorkerResult, SpaceFailure};
use octoshare_core::domain::{
    EndpointIdentity, NameMatch, PoolRef, WorkerKind, find_by_name, names_match,
};
use octoshare_core::{
    Endpoint, MachinePolicy, MachinePolicyId, NewWorker, SpaceId, Worker, WorkerId, WorkerPoolId,
};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The identity of a worker that is shared: the domain's endpoint identity, for the kinds
/// the domain shares ([`WorkerKind::is_shared`]). Other workers have none here.
pub(crate) fn identity_of(endpoint: &Endpoint) -> Option<EndpointIdentity> {
    if !WorkerKind::of(endpoint).is_shared() {
        return None;
    }
    EndpointIdentity::of(endpoint)
}

/// A worker of the source pool that is shared into the target spaces.
#[derive(Debug, Clone)]
pub(crate) struct SourceWorker {
    pub(crate) worker: Worker,
    pub(crate) identity: EndpointIdentity,
}

/// The source pool, classified: the workers to share (sorted by name, one per identity) and
/// every identity they carry.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourcePool {
    pub(crate) shared: Vec<SourceWorker>,
    pub(crate) results: Vec<SourceWorkerResult>,
    owners: HashMap<EndpointIdentity, usize>,
}

impl SourcePool {
    /// Classifies the source pool's workers: an endpoint of a shared kind
    /// ([`WorkerKind::is_shared`]) with its identity is shared; any other endpoint is skipped
    /// (with a reason naming its communication style, or the identity fields it lacks); a
    /// second worker with an endpoint already shared under another name is skipped too.
    pub(crate) fn new(mut workers: Vec<Worker>) -> SourcePool {
        workers.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut pool = SourcePool::default();
        for worker in workers {
            let (shared, reason) = match identity_of(&worker.endpoint) {
                None => (false, Some(not_shared_reason(&worker.endpoint))),
                Some(identity) => match pool.owners.get(&identity) {
                    Some(&owner) => (
                        false,
                        Some(format!(
                            "not shared: it has the same endpoint as '{}', which is shared instead",
                            pool.shared[owner].worker.name
                        )),
                    ),
                    None => {
                        pool.owners.insert(identity.clone(), pool.shared.len());
                        pool.shared.push(SourceWorker {
                            worker: worker.clone(),
                            identity,
                        });
                        (true, None)
                    }
                },
            };
            pool.results.push(SourceWorkerResult {
                name: worker.name.clone(),
                worker_id: worker.id.to_string(),
                shared,
                reason,
            });
        }
        pool
    }

    /// The shared source worker with this identity.
    pub(crate) fn owner_of(&self, identity: &EndpointIdentity) -> Option<&SourceWorker> {
        self.owners.get(identity).map(|&index| &self.shared[index])
    }

    /// Whether an identity belongs to the source pool.
    pub(crate) fn contains(&self, identity: &EndpointIdentity) -> bool {
        self.owners.contains_key(identity)
    }
}

/// Why a source endpoint without an identity is not shared: a kind that is not shared (named
/// by its communication style), or a shared kind lacking the fields that identify it.
fn not_shared_reason(endpoint: &Endpoint) -> String {
    let kind = WorkerKind::of(endpoint);
    match kind.identity_fields() {
        Some(fields) if kind.is_shared() => format!(
            "not shared: its {} endpoint lacks {fields}, which identify the machine",
            kind.describe()
        ),
        _ => format!(
            "not shared: octoshare shares polling and listening Tentacles, SSH workers and Kubernetes agents, and its endpoint is {kind}"
        ),
    }
}

/// Options that change decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlanOptions {
    pub(crate) on_conflict: OnConflict,
    pub(crate) prune: bool,
}

/// A target space's state as read (`/workers/all`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetState {
    pub(crate) workers: Vec<Worker>,
}

/// What a target space's writes need: the space and its pool.
#[derive(Debug, Clone)]
pub(crate) struct SpaceContext {
    pub(crate) space_id: SpaceId,
    pub(crate) pool: PoolRef,
    pub(crate) options: PlanOptions,
}

/// A worker to create, all but its machine policy (chosen when the POST is about to be sent).
/// The endpoint is the source's; its proxy and account references are mapped before sending.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) name: String,
    pub(crate) space_id: SpaceId,
    pub(crate) is_disabled: bool,
    pub(crate) worker_pool_ids: Vec<WorkerPoolId>,
    pub(crate) endpoint: Endpoint,
}

impl Draft {
    /// The POST body with this policy (`None`: the space's default) and endpoint.
    pub(crate) fn into_new_worker(
        self,
        machine_policy_id: Option<MachinePolicyId>,
        endpoint: Endpoint,
    ) -> NewWorker {
        NewWorker {
            name: self.name,
            space_id: self.space_id,
            is_disabled: self.is_disabled,
            worker_pool_ids: self.worker_pool_ids,
            machine_policy_id,
            endpoint,
        }
    }
}

/// A write to send.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// POST this worker (once its policy is chosen and its endpoint mapped).
    Create(Box<Draft>),
    /// PUT this full resource (for `ReplaceEndpoint`, its endpoint is mapped first).
    Update(Box<Worker>),
    /// DELETE this worker.
    Delete(WorkerId),
}

impl Step {
    /// Whether sending this step's write needs the space's machine policy (a create; it reads
    /// the policies only when one is named).
    pub(crate) fn needs_policy(&self) -> bool {
        matches!(self.write, Some(Write::Create(_)))
    }

    /// Whether this step's write carries the source endpoint into the space (a create or a
    /// replaced endpoint), so its proxy and account references must be mapped.
    pub(crate) fn carries_source_endpoint(&self) -> bool {
        self.write.is_some() && matches!(self.action, Action::Create | Action::ReplaceEndpoint)
    }
}

/// The machine policy named by `--machine-policy` among a space's policies. A name the space
/// does not have (or has several of) fails the space as a whole. Without a name nothing is
/// chosen here: the create leaves `MachinePolicyId` out and the server gives the worker the
/// space's default policy, so no policy is read.
pub(crate) fn choose_policy(
    policies: &[MachinePolicy],
    name: &str,
) -> Result<MachinePolicyId, SpaceFailure> {
    match find_by_name(policies, name) {
        NameMatch::Found(policy) => Ok(policy.id.clone()),
        NameMatch::Missing => Err(SpaceFailure::MachinePolicyNotFound {
            name: name.trim().to_owned(),
            available: policies.iter().map(|policy| policy.name.clone()).collect(),
        }),
        NameMatch::Ambiguous(candidates) => Err(SpaceFailure::AmbiguousMachinePolicy {
            name: name.trim().to_owned(),
            candidates: candidates
                .into_iter()
                .map(|policy| policy.name.clone())
                .collect(),
        }),
    }
}

/// One decision: for a source worker (`source` is its index in [`SourcePool::shared`]) or for
/// a stale worker of the target pool (prune).
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) worker_id: Option<WorkerId>,
    pub(crate) action: Action,
    pub(crate) reason: String,
    pub(crate) source: Option<usize>,
    pub(crate) write: Option<Write>,
    /// For a `ReplaceEndpoint` that changes the endpoint's kind: the old and new communication
    /// styles (Octopus refuses such a change).
    pub(crate) kind_change: Option<(String, String)>,
}

/// Everything to do in one target space.
#[derive(Debug, Clone)]
pub(crate) struct SpacePlan {
    pub(crate) context: SpaceContext,
    pub(crate) steps: Vec<Step>,
}

/// Plans one target space whose pool is `pool`.
pub(crate) fn plan_space(
    space_id: &SpaceId,
    pool: PoolRef,
    source: &SourcePool,
    target: &TargetState,
    options: PlanOptions,
) -> SpacePlan {
    let context = SpaceContext {
        space_id: space_id.clone(),
        pool,
        options,
    };
    let mut steps = Vec::new();
    let mut claimed = HashSet::new();
    for index in 0..source.shared.len() {
        let step = plan_source_worker(index, source, &context, &target.workers);
        if let Some(id) = &step.worker_id {
            claimed.insert(id.clone());
        }
        steps.push(step);
    }
    if options.prune {
        steps.extend(plan_prunes(source, &context, &target.workers, &claimed));
    }
    SpacePlan { context, steps }
}

/// Decides what to do for source worker `index` given the target space's workers (the decision
/// table in the crate docs). Also used to re-plan after a write whose outcome is unknown.
pub(crate) fn plan_source_worker(
    index: usize,
    source: &SourcePool,
    context: &SpaceContext,
    workers: &[Worker],
) -> Step {
    let shared = &source.shared[index];
    let name = shared.worker.name.clone();
    let pool_id = &context.pool.id;
    let step = |worker_id: Option<WorkerId>, action: Action, reason: String, write| Step {
        name: name.clone(),
        worker_id,
        action,
        reason,
        source: Some(index),
        write,
        kind_change: None,
    };

    // 1. Already shared: a worker of the space has the same endpoint identity.
    let mut same_identity: Vec<&Worker> = workers
        .iter()
        .filter(|worker| identity_of(&worker.endpoint).as_ref() == Some(&shared.identity))
        .collect();
    same_identity.sort_by_key(|worker| {
        (
            !worker.worker_pool_ids.contains(pool_id),
            !names_match(&worker.name, &name),
            worker.id.clone(),
        )
    });
    if let Some(existing) = same_identity.first() {
        let as_name = if names_match(&existing.name, &name) {
            String::new()
        } else {
            format!(" as '{}'", existing.name)
        };
        if existing.worker_pool_ids.contains(pool_id) {
            return step(
                Some(existing.id.clone()),
                Action::Unchanged,
                format!(
                    "already shared{as_name} ({}) in pool '{}'",
                    existing.id, context.pool.name
                ),
                None,
            );
        }
        let mut updated = Box::new((*existing).clone());
        updated.worker_pool_ids.push(pool_id.clone());
        return step(
            Some(existing.id.clone()),
            Action::AddToPool,
            format!(
                "registered{as_name} ({}) with the same endpoint but not in pool '{}': adding the pool, keeping its {}",
                existing.id,
                context.pool.name,
                plural(existing.worker_pool_ids.len() as u64, "other pool")
            ),
            Some(Write::Update(updated)),
        );
    }

    // 2. The name is taken by another registration.
    if let Some(existing) = workers
        .iter()
        .find(|worker| names_match(&worker.name, &name))
    {
        let existing_identity = identity_of(&existing.endpoint);
        if let Some(owner) = existing_identity
            .as_ref()
            .and_then(|identity| source.owner_of(identity))
        {
            return step(
                Some(existing.id.clone()),
                Action::Conflict,
                format!(
                    "the name is taken by {} ({}), which has the endpoint of source worker '{}': rename one of them",
                    existing.name, existing.id, owner.worker.name
                ),
                None,
            );
        }
        let old_endpoint = describe_endpoint(&existing.endpoint);
        return match context.options.on_conflict {
            OnConflict::Skip => step(
                Some(existing.id.clone()),
                Action::Conflict,
                format!(
                    "the name is taken by a stale registration ({}, {old_endpoint}): left alone (conflicts are skipped)",
                    existing.id
                ),
                None,
            ),
            OnConflict::Replace => {
                let updated = Box::new(with_endpoint(existing, &shared.worker.endpoint, pool_id));
                let mut reason = format!(
                    "the name is taken by a stale registration ({}, {old_endpoint}): replacing its endpoint with the source's",
                    existing.id
                );
                let (old_kind, new_kind) = (
                    WorkerKind::of(&existing.endpoint),
                    WorkerKind::of(&shared.worker.endpoint),
                );
                let kind_change = (old_kind != new_kind).then(|| {
                    let style = |kind: &WorkerKind| {
                        kind.communication_style().unwrap_or("unknown").to_owned()
                    };
                    (style(&old_kind), style(&new_kind))
                });
                if let Some((old_style, new_style)) = &kind_change {
                    reason.push_str(&format!(
                        " (its endpoint type {old_style} differs from {new_style}: Octopus may refuse the change)"
                    ));
                }
                Step {
                    kind_change,
                    ..step(
                        Some(existing.id.clone()),
                        Action::ReplaceEndpoint,
                        reason,
                        Some(Write::Update(updated)),
                    )
                }
            }
        };
    }

    // 3. Not there at all: create it.
    step(
        None,
        Action::Create,
        "not registered in this space yet".to_owned(),
        Some(Write::Create(Box::new(Draft {
            name: shared.worker.name.clone(),
            space_id: context.space_id.clone(),
            is_disabled: shared.worker.is_disabled,
            worker_pool_ids: vec![pool_id.clone()],
            endpoint: shared.worker.endpoint.clone(),
        }))),
    )
}

/// `1 item`, `3 items`.
pub(crate) fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `poll://abc/ thumbprint 8A9F…` for a Tentacle, the identity of an SSH worker or Kubernetes
/// agent (`ssh host:22 (fingerprint …)`), or the communication style of any other endpoint.
pub(crate) fn describe_endpoint(endpoint: &Endpoint) -> String {
    let kind = WorkerKind::of(endpoint);
    match (&kind, endpoint.uri(), endpoint.thumbprint()) {
        (
            WorkerKind::PollingTentacle | WorkerKind::ListeningTentacle,
            Some(uri),
            Some(thumbprint),
        ) => {
            format!("{uri} thumbprint {thumbprint}")
        }
        (WorkerKind::PollingTentacle | WorkerKind::ListeningTentacle, Some(uri), None) => {
            uri.to_owned()
        }
        _ => match EndpointIdentity::of(endpoint) {
            Some(identity) => format!("{} {identity}", kind.describe()),
            None => format!(
                "a {} endpoint",
                endpoint.communication_style().unwrap_or("unknown")
            ),
        },
    }
}

/// The stale worker with the source endpoint (unknown fields kept), the target pool added to
/// its pools, and the read-only top-level `Thumbprint`/`Uri` mirrors brought in line (a
/// Tentacle's values; `null` for every other kind, as the server shows them).
pub(crate) fn with_endpoint(
    existing: &Worker,
    endpoint: &Endpoint,
    pool_id: &WorkerPoolId,
) -> Worker {
    let mut updated = existing.clone();
    updated.endpoint = endpoint.clone();
    if !updated.worker_pool_ids.contains(pool_id) {
        updated.worker_pool_ids.push(pool_id.clone());
    }
    let tentacle = matches!(
        WorkerKind::of(endpoint),
        WorkerKind::PollingTentacle | WorkerKind::ListeningTentacle
    );
    for (field, value) in [
        ("Thumbprint", endpoint.thumbprint()),
        ("Uri", endpoint.uri()),
    ] {
        if let Some(mirror) = updated.extra.get_mut(field) {
            *mirror = match value {
                Some(value) if tentacle => Value::String(value.to_owned()),
                _ => Value::Null,
            };
        }
    }
    updated
}

/// Prune decisions: workers of a shared kind in the target pool whose identity is not the
/// source pool's, that are neither `Healthy` nor `HasWarnings`, and that no source worker
/// claimed (a stale same-name registration is replaced or reported, never pruned). A worker in
/// other pools too is only removed from the target pool.
pub(crate) fn plan_prunes(
    source: &SourcePool,
    context: &SpaceContext,
    workers: &[Worker],
    claimed: &HashSet<WorkerId>,
) -> Vec<Step> {
    let pool_id = &context.pool.id;
    let mut steps = Vec::new();
    for worker in workers {
        if !worker.worker_pool_ids.contains(pool_id)
            || claimed.contains(&worker.id)
            || !WorkerKind::of(&worker.endpoint).is_shared()
            || worker.health_status.counts_as_healthy()
        {
            continue;
        }
        let Some(identity) = identity_of(&worker.endpoint) else {
            continue;
        };
        if source.contains(&identity) {
            continue;
        }
        let why = format!(
            "its endpoint {} is no longer in the source pool and it is {}",
            describe_endpoint(&worker.endpoint),
            worker.health_status
        );
        let step = if worker.worker_pool_ids.len() > 1 {
            let mut updated = Box::new(worker.clone());
            updated.worker_pool_ids.retain(|id| id != pool_id);
            Step {
                name: worker.name.clone(),
                worker_id: Some(worker.id.clone()),
                action: Action::RemoveFromPool,
                reason: format!(
                    "{why}: removing it from pool '{}' only, it stays in its {}",
                    context.pool.name,
                    plural(updated.worker_pool_ids.len() as u64, "other pool")
                ),
                source: None,
                write: Some(Write::Update(updated)),
                kind_change: None,
            }
        } else {
            Step {
                name: worker.name.clone(),
                worker_id: Some(worker.id.clone()),
                action: Action::Delete,
                reason: format!("{why}: deleting it"),
                source: None,
                write: Some(Write::Delete(worker.id.clone())),
                kind_change: None,
            }
        };
        steps.push(step);
    }
    steps
}

/// After a write whose outcome is unknown, decides from a fresh read whether a prune is done:
/// `None` when it is (the worker is gone, or no longer in the pool), else the step to retry.
pub(crate) fn replan_prune(
    step: &Step,
    context: &SpaceContext,
    workers: &[Worker],
) -> Option<Step> {
    let id = step.worker_id.as_ref()?;
    let current = workers.iter().find(|worker| &worker.id == id)?;
    if !current.worker_pool_ids.contains(&context.pool.id) {
        return None;
    }
    let write = match step.action {
        Action::RemoveFromPool => {
            let mut updated = Box::new(current.clone());
            updated
                .worker_pool_ids
                .retain(|pool| pool != &context.pool.id);
            if updated.worker_pool_ids.is_empty() {
                Write::Delete(current.id.clone())
            } else {
                Write::Update(updated)
            }
        }
        _ => Write::Delete(current.id.clone()),
    };
    Some(Step {
        write: Some(write),
        ..step.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POOL: &str = "WorkerPools-2";
    const OTHER_POOL: &str = "WorkerPools-3";

    fn uri(n: u32) -> String {
        format!("poll://subscription{n:07}x/")
    }

    fn thumbprint(n: u32) -> String {
        format!("{n:040X}")
    }

    fn worker_json(id: &str, name: &str, n: u32, pools: &[&str]) -> serde_json::Value {
        json!({
            "Id": id,
            "WorkerPoolIds": pools,
            "SpaceId": "Spaces-2",
            "Name": name,
            "Thumbprint": thumbprint(n),
            "Uri": uri(n),
            "IsDisabled": false,
            "MachinePolicyId": "MachinePolicies-2",
            "HealthStatus": "Healthy",
            "IsInProcess": false,
            "Endpoint": {
                "CommunicationStyle": "TentacleActive",
                "Uri": uri(n),
                "Thumbprint": thumbprint(n),
                "TentacleVersionDetails": null,
                "CustomField": {"kept": n},
                "Id": null,
                "Links": {}
            },
            "Links": {}
        })
    }

    fn worker(id: &str, name: &str, n: u32, pools: &[&str]) -> Worker {
        serde_json::from_value(worker_json(id, name, n, pools)).unwrap()
    }

    fn with(worker: Worker, patch: serde_json::Value) -> Worker {
        let mut value = serde_json::to_value(worker).unwrap();
        for (key, field) in patch.as_object().unwrap() {
            value[key] = field.clone();
        }
        serde_json::from_value(value).unwrap()
    }

    fn source(workers: &[(&str, u32)]) -> SourcePool {
        SourcePool::new(
            workers
                .iter()
                .enumerate()
                .map(|(i, (name, n))| {
                    worker(&format!("Workers-{}", i + 1), name, *n, &["WorkerPools-1"])
                })
                .collect(),
        )
    }

    fn target(workers: Vec<Worker>) -> TargetState {
        TargetState { workers }
    }

    fn policies() -> Vec<MachinePolicy> {
        vec![
            serde_json::from_value(json!({"Id": "MachinePolicies-2", "Name": "Default Machine Policy", "IsDefault": true})).unwrap(),
            serde_json::from_value(json!({"Id": "MachinePolicies-7", "Name": "Fast", "IsDefault": false})).unwrap(),
        ]
    }

    fn options() -> PlanOptions {
        PlanOptions {
            on_conflict: OnConflict::Replace,
            prune: false,
        }
    }

    fn pool() -> PoolRef {
        PoolRef::new(POOL, "AWS Worker Pool TF")
    }

    fn plan(source: &SourcePool, target: &TargetState, options: PlanOptions) -> SpacePlan {
        plan_space(&SpaceId::from("Spaces-2"), pool(), source, target, options)
    }

    fn actions(plan: &SpacePlan) -> Vec<(String, Action)> {
        plan.steps
            .iter()
            .map(|step| (step.name.clone(), step.action))
            .collect()
    }

    #[test]
    fn empty_space_gets_one_post_per_source_worker_with_exact_body() {
        let source = source(&[("b", 2), ("a", 1)]);
        let plan = plan(&source, &target(vec![]), options());
        assert_eq!(
            actions(&plan),
            vec![("a".into(), Action::Create), ("b".into(), Action::Create)]
        );
        assert!(plan.steps.iter().all(Step::needs_policy));
        assert!(plan.steps.iter().all(Step::carries_source_endpoint));
        let Some(Write::Create(draft)) = plan.steps[0].write.clone() else {
            panic!("expected a create");
        };
        let endpoint = draft.endpoint.clone();
        let body = draft
            .clone()
            .into_new_worker(Some(MachinePolicyId::from("MachinePolicies-2")), endpoint);
        let body = serde_json::to_value(body).unwrap();
        let keys: HashSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            HashSet::from([
                "Name",
                "SpaceId",
                "IsDisabled",
                "WorkerPoolIds",
                "MachinePolicyId",
                "Endpoint"
            ])
        );
        assert_eq!(body["WorkerPoolIds"], json!([POOL]));
        assert_eq!(body["MachinePolicyId"], "MachinePolicies-2");
        assert_eq!(body["SpaceId"], "Spaces-2");
        assert_eq!(body["Endpoint"], worker_json("x", "a", 1, &[])["Endpoint"]);
        // No policy named: the field is left out and the server gives its default.
        let endpoint = draft.endpoint.clone();
        let body = serde_json::to_value(draft.into_new_worker(None, endpoint)).unwrap();
        assert!(body.get("MachinePolicyId").is_none(), "{body}");
        assert_eq!(body.as_object().unwrap().len(), 5);
    }

    #[test]
    fn the_named_policy_is_chosen_and_a_missing_one_fails_the_space() {
        let policies = policies();
        assert_eq!(
            choose_policy(&policies, "FAST").unwrap().as_str(),
            "MachinePolicies-7"
        );
        let error = choose_policy(&policies, "Slow").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the space has no machine policy named 'Slow' (policies there: 'Default Machine Policy', 'Fast')"
        );
        assert_eq!(error.kind(), crate::FailureKind::NotFound);
    }

    #[test]
    fn ambiguous_policy_names_fail_the_space_unless_one_matches_exactly() {
        let mut policies = policies();
        policies.push(
            serde_json::from_value(
                json!({"Id": "MachinePolicies-8", "Name": "FAST", "IsDefault": false}),
            )
            .unwrap(),
        );
        assert_eq!(
            choose_policy(&policies, "FAST").unwrap().as_str(),
            "MachinePolicies-8"
        );
        let error = choose_policy(&policies, "fast").unwrap_err();
        assert_eq!(error.kind(), crate::FailureKind::Ambiguous);
    }

    #[test]
    fn only_creates_need_a_policy() {
        let source = source(&[("a", 1), ("b", 2)]);
        let plan = plan(
            &source,
            &target(vec![worker("Workers-50", "b", 2, &[POOL])]),
            options(),
        );
        assert!(plan.steps[0].needs_policy());
        assert!(!plan.steps[1].needs_policy());
    }

    #[test]
    fn rerun_is_unchanged_even_with_different_case_uri_and_thumbprint() {
        let source = source(&[("a", 1)]);
        let shared = with(
            worker("Workers-50", "A", 1, &[POOL]),
            json!({"Endpoint": {"CommunicationStyle": "TentacleActive", "Uri": uri(1).to_uppercase().trim_end_matches('/'), "Thumbprint": thumbprint(1).to_lowercase()}}),
        );
        let plan = plan(&source, &target(vec![shared]), options());
        assert_eq!(actions(&plan), vec![("a".into(), Action::Unchanged)]);
        assert!(plan.steps[0].write.is_none());
    }

    #[test]
    fn same_endpoint_outside_the_pool_gets_the_pool_added_keeping_others() {
        let source = source(&[("a", 1)]);
        let plan = plan(
            &source,
            &target(vec![worker("Workers-50", "renamed", 1, &[OTHER_POOL])]),
            options(),
        );
        assert_eq!(actions(&plan), vec![("a".into(), Action::AddToPool)]);
        let Some(Write::Update(updated)) = &plan.steps[0].write else {
            panic!("expected an update");
        };
        assert_eq!(updated.id.as_str(), "Workers-50");
        assert_eq!(updated.name, "renamed");
        let pools: Vec<&str> = updated
            .worker_pool_ids
            .iter()
            .map(|id| id.as_str())
            .collect();
        assert_eq!(pools, vec![OTHER_POOL, POOL]);
        assert!(plan.steps[0].reason.contains("as 'renamed'"));
    }

    #[test]
    fn of_several_registrations_with_the_endpoint_the_one_in_the_pool_wins() {
        let source = source(&[("a", 1)]);
        let plan = plan(
            &source,
            &target(vec![
                worker("Workers-50", "a", 1, &[OTHER_POOL]),
                worker("Workers-51", "a-copy", 1, &[POOL]),
            ]),
            options(),
        );
        assert_eq!(plan.steps[0].action, Action::Unchanged);
        assert_eq!(
            plan.steps[0].worker_id.as_ref().unwrap().as_str(),
            "Workers-51"
        );
    }

    #[test]
    fn stale_same_name_registration_is_replaced_in_place() {
        let source = source(&[("web-01", 1)]);
        let stale = worker("Workers-50", " WEB-01 ", 99, &[OTHER_POOL]);
        let plan = plan(&source, &target(vec![stale]), options());
        assert_eq!(
            actions(&plan),
            vec![("web-01".into(), Action::ReplaceEndpoint)]
        );
        let Some(Write::Update(updated)) = &plan.steps[0].write else {
            panic!("expected an update");
        };
        assert_eq!(updated.id.as_str(), "Workers-50");
        assert_eq!(updated.endpoint, source.shared[0].worker.endpoint);
        assert_eq!(updated.extra["Thumbprint"], json!(thumbprint(1)));
        assert_eq!(updated.extra["Uri"], json!(uri(1)));
        let pools: Vec<&str> = updated
            .worker_pool_ids
            .iter()
            .map(|id| id.as_str())
            .collect();
        assert_eq!(pools, vec![OTHER_POOL, POOL]);
        assert!(plan.steps[0].reason.contains("stale registration"));
    }

    #[test]
    fn stale_registration_of_another_endpoint_type_warns_in_the_reason() {
        let source = source(&[("web-01", 1)]);
        let stale = with(
            worker("Workers-50", "web-01", 99, &[POOL]),
            json!({"Endpoint": {"CommunicationStyle": "TentaclePassive", "Uri": "https://web-01:10933/", "Thumbprint": thumbprint(99)}}),
        );
        let plan = plan(&source, &target(vec![stale]), options());
        assert_eq!(plan.steps[0].action, Action::ReplaceEndpoint);
        assert!(
            plan.steps[0]
                .reason
                .contains("TentaclePassive differs from TentacleActive")
        );
        assert_eq!(
            plan.steps[0].kind_change,
            Some(("TentaclePassive".to_owned(), "TentacleActive".to_owned()))
        );
    }

    #[test]
    fn skip_reports_a_conflict_and_writes_nothing() {
        let source = source(&[("web-01", 1)]);
        let plan = plan(
            &source,
            &target(vec![worker("Workers-50", "web-01", 99, &[POOL])]),
            PlanOptions {
                on_conflict: OnConflict::Skip,
                prune: true,
            },
        );
        assert_eq!(actions(&plan), vec![("web-01".into(), Action::Conflict)]);
        assert!(plan.steps[0].write.is_none());
        assert!(
            plan.steps[0]
                .reason
                .contains("left alone (conflicts are skipped)")
        );
    }

    #[test]
    fn a_name_used_by_another_source_endpoint_is_a_conflict_not_a_replace() {
        // Two VMs swapped host names: 'a' has endpoint 1, 'b' endpoint 2; the target registered
        // endpoint 2 under the name 'a'.
        let source = source(&[("a", 1), ("b", 2)]);
        let plan = plan(
            &source,
            &target(vec![worker("Workers-50", "a", 2, &[POOL])]),
            options(),
        );
        assert_eq!(
            actions(&plan),
            vec![
                ("a".into(), Action::Conflict),
                ("b".into(), Action::Unchanged)
            ]
        );
        assert!(plan.steps[0].reason.contains("source worker 'b'"));
    }

    #[test]
    fn every_shared_kind_is_shared_and_others_and_duplicates_are_not() {
        let endpoint = |worker: Worker, endpoint: serde_json::Value| {
            with(worker, json!({ "Endpoint": endpoint }))
        };
        let pool = SourcePool::new(vec![
            worker("Workers-2", "b-copy", 1, &["WorkerPools-1"]),
            worker("Workers-1", "a", 1, &["WorkerPools-1"]),
            endpoint(
                worker("Workers-3", "ssh-box", 3, &["WorkerPools-1"]),
                json!({"CommunicationStyle": "Ssh", "AccountId": "Accounts-1", "Host": "box", "Port": 22, "Fingerprint": "SHA256:x"}),
            ),
            endpoint(
                worker("Workers-4", "listener", 4, &["WorkerPools-1"]),
                json!({"CommunicationStyle": "TentaclePassive", "Uri": "https://listener:10933/", "Thumbprint": thumbprint(4)}),
            ),
            endpoint(
                worker("Workers-5", "k8s-agent", 5, &["WorkerPools-1"]),
                json!({"CommunicationStyle": "KubernetesTentacle", "TentacleEndpointConfiguration": {"CommunicationMode": "Polling", "Uri": "poll://k8s/", "Thumbprint": thumbprint(5)}}),
            ),
            endpoint(
                worker("Workers-6", "ssh-no-fingerprint", 6, &["WorkerPools-1"]),
                json!({"CommunicationStyle": "Ssh", "Host": "box2", "Port": 22}),
            ),
            endpoint(
                worker("Workers-7", "drop", 7, &["WorkerPools-1"]),
                json!({"CommunicationStyle": "OfflineDrop", "Destination": {}}),
            ),
        ]);
        let shared: Vec<&str> = pool.shared.iter().map(|s| s.worker.name.as_str()).collect();
        assert_eq!(shared, vec!["a", "k8s-agent", "listener", "ssh-box"]);
        let skipped: Vec<(&str, &str)> = pool
            .results
            .iter()
            .filter(|r| !r.shared)
            .map(|r| (r.name.as_str(), r.reason.as_deref().unwrap()))
            .collect();
        assert_eq!(
            skipped,
            vec![
                (
                    "b-copy",
                    "not shared: it has the same endpoint as 'a', which is shared instead"
                ),
                (
                    "drop",
                    "not shared: octoshare shares polling and listening Tentacles, SSH workers and Kubernetes agents, and its endpoint is OfflineDrop"
                ),
                (
                    "ssh-no-fingerprint",
                    "not shared: its SSH worker endpoint lacks a Host, a Port and a Fingerprint, which identify the machine"
                ),
            ]
        );
    }

    #[test]
    fn prune_deletes_only_stale_unhealthy_workers_of_shared_kinds_in_the_target_pool() {
        let source = source(&[("a", 1)]);
        let state = target(vec![
            worker("Workers-50", "a", 1, &[POOL]),
            with(
                worker("Workers-51", "gone-unavailable", 51, &[POOL]),
                json!({"HealthStatus": "Unavailable"}),
            ),
            with(
                worker("Workers-52", "gone-unknown", 52, &[POOL]),
                json!({"HealthStatus": "Unknown"}),
            ),
            worker("Workers-53", "alive-healthy", 53, &[POOL]),
            with(
                worker("Workers-54", "alive-warnings", 54, &[POOL]),
                json!({"HealthStatus": "HasWarnings"}),
            ),
            with(
                worker("Workers-55", "other-pool", 55, &[OTHER_POOL]),
                json!({"HealthStatus": "Unavailable"}),
            ),
            with(
                worker("Workers-56", "both-pools", 56, &[OTHER_POOL, POOL]),
                json!({"HealthStatus": "Unhealthy"}),
            ),
            with(
                worker("Workers-57", "listening", 57, &[POOL]),
                json!({"HealthStatus": "Unavailable", "Endpoint": {"CommunicationStyle": "TentaclePassive", "Uri": "https://l:10933/", "Thumbprint": thumbprint(57)}}),
            ),
            with(
                worker("Workers-58", "offline-drop", 58, &[POOL]),
                json!({"HealthStatus": "Unavailable", "Endpoint": {"CommunicationStyle": "OfflineDrop", "Destination": {}}}),
            ),
        ]);
        let without = plan(&source, &state, options());
        assert_eq!(actions(&without), vec![("a".into(), Action::Unchanged)]);

        let with_prune = plan(
            &source,
            &state,
            PlanOptions {
                prune: true,
                ..options()
            },
        );
        assert_eq!(
            actions(&with_prune),
            vec![
                ("a".into(), Action::Unchanged),
                ("gone-unavailable".into(), Action::Delete),
                ("gone-unknown".into(), Action::Delete),
                ("both-pools".into(), Action::RemoveFromPool),
                ("listening".into(), Action::Delete),
            ]
        );
        let Some(Write::Update(updated)) = &with_prune.steps[3].write else {
            panic!("expected an update");
        };
        let pools: Vec<&str> = updated
            .worker_pool_ids
            .iter()
            .map(|id| id.as_str())
            .collect();
        assert_eq!(pools, vec![OTHER_POOL]);
        assert!(with_prune.steps[1].reason.contains("Unavailable"));
    }

    #[test]
    fn prune_never_touches_a_claimed_stale_same_name_worker() {
        let source = source(&[("a", 1)]);
        let state = target(vec![with(
            worker("Workers-50", "a", 99, &[POOL]),
            json!({"HealthStatus": "Unavailable"}),
        )]);
        for on_conflict in [OnConflict::Replace, OnConflict::Skip] {
            let plan = plan(
                &source,
                &state,
                PlanOptions {
                    on_conflict,
                    prune: true,
                },
            );
            assert_eq!(plan.steps.len(), 1, "{on_conflict:?}");
            assert_ne!(plan.steps[0].action, Action::Delete);
        }
    }

    #[test]
    fn replan_prune_is_done_when_the_worker_is_gone_or_out_of_the_pool() {
        let source = source(&[("a", 1)]);
        let stale = with(
            worker("Workers-51", "gone", 51, &[POOL]),
            json!({"HealthStatus": "Unavailable"}),
        );
        let state = target(vec![stale.clone()]);
        let plan = plan(
            &source,
            &state,
            PlanOptions {
                prune: true,
                ..options()
            },
        );
        let step = &plan.steps[1];
        assert!(replan_prune(step, &plan.context, &[]).is_none());
        let moved = with(stale.clone(), json!({"WorkerPoolIds": [OTHER_POOL]}));
        assert!(replan_prune(step, &plan.context, &[moved]).is_none());
        let retry = replan_prune(step, &plan.context, &[stale]).unwrap();
        assert!(matches!(retry.write, Some(Write::Delete(_))));
    }

    #[test]
    fn replan_after_a_committed_post_is_unchanged() {
        let source = source(&[("a", 1)]);
        let plan = plan(&source, &target(vec![]), options());
        assert_eq!(plan.steps[0].action, Action::Create);
        let committed = worker("Workers-60", "a", 1, &[POOL]);
        let again = plan_source_worker(0, &source, &plan.context, &[committed]);
        assert_eq!(again.action, Action::Unchanged);
    }
}
