//! The emulated server's state: spaces with their worker pools, machine policies, workers and
//! step templates, global id counters, and scheduled registrations. Rendering to Octopus JSON
//! lives here too, so every route and the [`crate::Emulator`] helpers show the same documents.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::scenario::{
    DEFAULT_MACHINE_POLICY, DEFAULT_WORKER_POOL, Scenario, SpaceSeed, WorkerSeed,
};
use crate::timestamp;

/// `StatusSummary` of a worker that has not been health-checked yet.
pub(crate) const RECENTLY_ADDED: &str =
    "This machine was recently added. Please perform a health check.";

/// Every `CommunicationStyle` Octopus knows.
const COMMUNICATION_STYLES: [&str; 13] = [
    "None",
    "TentaclePassive",
    "TentacleActive",
    "Ssh",
    "OfflineDrop",
    "AzureWebApp",
    "Ftp",
    "AzureCloudService",
    "AzureServiceFabricCluster",
    "Kubernetes",
    "StepPackage",
    "KubernetesTentacle",
    "AwsEcsCluster",
];

/// Tentacle version a health check reports.
const TENTACLE_VERSION: &str = "8.3.3045";

#[derive(Debug, Default)]
struct Counters {
    spaces: u64,
    worker_pools: u64,
    workers: u64,
    machine_policies: u64,
    action_templates: u64,
}

fn next_id(counter: &mut u64, collection: &str) -> String {
    *counter += 1;
    format!("{collection}-{counter}")
}

/// Case-insensitive, trimmed name equality (Octopus's rule for unique names).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Sorts by name case-insensitively, ties by the numeric part of the id (creation order).
fn by_name(a: (&str, &str), b: (&str, &str)) -> Ordering {
    a.0.to_lowercase()
        .cmp(&b.0.to_lowercase())
        .then_with(|| id_number(a.1).cmp(&id_number(b.1)))
}

fn id_number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `Slug` from a name: lower-case, runs of other characters become one `-`.
pub(crate) fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) id: String,
    pub(crate) name: String,
    slug: String,
    description: Option<String>,
    pub(crate) is_default: bool,
    task_queue_stopped: bool,
    last_modified_on: String,
    pools: Vec<WorkerPool>,
    policies: Vec<MachinePolicy>,
    workers: Vec<Worker>,
    templates: Vec<ActionTemplate>,
}

#[derive(Debug)]
struct WorkerPool {
    id: String,
    name: String,
    is_default: bool,
    sort_order: u32,
    last_modified_on: String,
}

#[derive(Debug)]
struct MachinePolicy {
    id: String,
    name: String,
    is_default: bool,
}

#[derive(Debug, Clone)]
struct Worker {
    id: String,
    worker_pool_ids: Vec<String>,
    name: String,
    is_disabled: bool,
    machine_policy_id: String,
    health_status: String,
    status_summary: String,
    has_latest_calamari: bool,
    endpoint: Map<String, Value>,
    operating_system: String,
    shell_name: String,
    shell_version: String,
    architecture: String,
    slug: String,
    skip_initial_health_check: bool,
    last_modified_on: String,
    last_modified_by: String,
}

#[derive(Debug)]
struct ActionTemplate {
    id: String,
    name: String,
    version: u64,
    /// Accepted body fields other than `Name` and `Version`.
    fields: Map<String, Value>,
    last_modified_on: String,
    last_modified_by: String,
}

#[derive(Debug)]
struct PendingRegistration {
    due: Instant,
    space_id: String,
    worker: WorkerSeed,
}

/// A worker filter as the list routes understand it.
#[derive(Debug, Default)]
pub(crate) struct WorkerFilter {
    pub(crate) name: Option<String>,
    pub(crate) partial_name: Option<String>,
    pub(crate) ids: Option<Vec<String>>,
    pub(crate) is_disabled: Option<bool>,
    pub(crate) health_statuses: Option<Vec<String>>,
    pub(crate) comm_styles: Option<Vec<String>>,
    pub(crate) worker_pool_ids: Option<Vec<String>>,
    pub(crate) thumbprint: Option<String>,
    pub(crate) shell_names: Option<Vec<String>>,
}

/// A name/id filter for spaces, pools, policies and step templates.
#[derive(Debug, Default)]
pub(crate) struct NameFilter {
    pub(crate) name: Option<String>,
    pub(crate) partial_name: Option<String>,
    pub(crate) ids: Option<Vec<String>>,
}

impl NameFilter {
    fn accepts(&self, id: &str, name: &str) -> bool {
        contains_ignoring_case(self.ids.as_deref(), id)
            && self
                .name
                .as_deref()
                .is_none_or(|wanted| same_name(wanted, name))
            && self
                .partial_name
                .as_deref()
                .is_none_or(|part| name.to_lowercase().contains(&part.to_lowercase()))
    }
}

fn contains_ignoring_case(list: Option<&[String]>, value: &str) -> bool {
    list.is_none_or(|list| list.iter().any(|item| item.eq_ignore_ascii_case(value)))
}

/// The emulated server state.
#[derive(Debug)]
pub(crate) struct Store {
    counters: Counters,
    spaces: Vec<Space>,
    /// Index into `spaces` by lower-case Id: every space-scoped request looks its space up, and
    /// a linear search made each request cost O(spaces) (measurable at a thousand spaces).
    space_index: HashMap<String, usize>,
    reject_duplicate_names: bool,
    version: String,
    pending: Vec<PendingRegistration>,
    rng: StdRng,
}

impl Store {
    /// Builds the state a scenario describes; registrations become due `after` `started`.
    pub(crate) fn from_scenario(scenario: &Scenario, started: Instant) -> anyhow::Result<Self> {
        scenario.validate()?;
        let mut store = Store {
            counters: Counters::default(),
            spaces: Vec::new(),
            space_index: HashMap::new(),
            reject_duplicate_names: scenario.rejects_duplicate_names(),
            version: scenario.version_value().to_owned(),
            pending: Vec::new(),
            rng: StdRng::seed_from_u64(scenario.seed_value() ^ 0x006f_6374_6f70_7573),
        };
        for seed in scenario.spaces() {
            store.add_space(seed, started)?;
        }
        store.pending.sort_by_key(|pending| pending.due);
        Ok(store)
    }

    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// A random UUID (v4 layout) from the store's seeded generator.
    pub(crate) fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let variant = ["8", "9", "a", "b"][usize::from(bytes[8] >> 6)];
        format!(
            "{}-{}-4{}-{}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            variant,
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn add_space(&mut self, seed: &SpaceSeed, started: Instant) -> anyhow::Result<()> {
        let id = next_id(&mut self.counters.spaces, "Spaces");
        let now = timestamp::now();
        let mut space = Space {
            id: id.clone(),
            name: seed.name().trim().to_owned(),
            slug: slugify(seed.name()),
            description: seed.description_value().map(str::to_owned),
            is_default: seed.is_default(),
            task_queue_stopped: seed.is_task_queue_stopped(),
            last_modified_on: now.clone(),
            pools: Vec::new(),
            policies: Vec::new(),
            workers: Vec::new(),
            templates: Vec::new(),
        };
        let pool_names =
            std::iter::once(DEFAULT_WORKER_POOL).chain(seed.worker_pools().map(str::trim));
        for (index, name) in pool_names.enumerate() {
            space.pools.push(WorkerPool {
                id: next_id(&mut self.counters.worker_pools, "WorkerPools"),
                name: name.to_owned(),
                is_default: index == 0,
                sort_order: u32::try_from(index + 1).unwrap_or(u32::MAX),
                last_modified_on: now.clone(),
            });
        }
        let policy_names =
            std::iter::once(DEFAULT_MACHINE_POLICY).chain(seed.machine_policies().map(str::trim));
        for (index, name) in policy_names.enumerate() {
            space.policies.push(MachinePolicy {
                id: next_id(&mut self.counters.machine_policies, "MachinePolicies"),
                name: name.to_owned(),
                is_default: index == 0,
            });
        }
        self.space_index
            .insert(space.id.to_ascii_lowercase(), self.spaces.len());
        self.spaces.push(space);
        for worker in seed.workers() {
            self.add_seeded_worker(&id, worker)
                .map_err(|e| anyhow::anyhow!("space '{}': {e}", seed.name()))?;
        }
        for template in seed.action_templates() {
            let body = template.as_object().cloned().unwrap_or_default();
            self.create_action_template(&id, &body, "admin")
                .map_err(|e| {
                    let details = match &e {
                        ApiError::BadRequest(errors) => errors.join(" "),
                        other => other.to_string(),
                    };
                    anyhow::anyhow!("space '{}': step template rejected: {details}", seed.name())
                })?;
        }
        for registration in seed.registrations() {
            self.pending.push(PendingRegistration {
                due: started + registration.after(),
                space_id: id.clone(),
                worker: registration.worker().clone(),
            });
        }
        Ok(())
    }

    /// Registers every scheduled worker that is due at `now`, in due order.
    pub(crate) fn apply_due_registrations(&mut self, now: Instant) {
        while self.pending.first().is_some_and(|p| p.due <= now) {
            let pending = self.pending.remove(0);
            if let Err(error) = self.add_seeded_worker(&pending.space_id, &pending.worker) {
                tracing::warn!(
                    worker = pending.worker.name(),
                    "scheduled registration failed: {error}"
                );
            }
        }
    }

    /// When the next scheduled registration is due.
    pub(crate) fn next_registration(&self) -> Option<Instant> {
        self.pending.first().map(|p| p.due)
    }

    // ---- spaces -----------------------------------------------------------------------------

    pub(crate) fn default_space_id(&self) -> Option<&str> {
        self.spaces
            .iter()
            .find(|s| s.is_default)
            .map(|s| s.id.as_str())
    }

    pub(crate) fn space(&self, id: &str) -> Result<&Space, ApiError> {
        self.space_position(id)
            .map(|index| &self.spaces[index])
            .ok_or_else(|| ApiError::not_found(id))
    }

    fn space_mut(&mut self, id: &str) -> Result<&mut Space, ApiError> {
        match self.space_position(id) {
            Some(index) => Ok(&mut self.spaces[index]),
            None => Err(ApiError::not_found(id)),
        }
    }

    /// Where the space with this Id (any case) is in `spaces`.
    fn space_position(&self, id: &str) -> Option<usize> {
        self.space_index.get(&id.to_ascii_lowercase()).copied()
    }

    pub(crate) fn space_id_by_name(&self, name: &str) -> Option<String> {
        self.spaces
            .iter()
            .find(|s| same_name(&s.name, name))
            .map(|s| s.id.clone())
    }

    /// Spaces as the server lists them: sorted by name, case-insensitively.
    pub(crate) fn spaces(&self, filter: &NameFilter) -> Vec<Value> {
        let mut spaces: Vec<&Space> = self
            .spaces
            .iter()
            .filter(|s| filter.accepts(&s.id, &s.name))
            .collect();
        spaces.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        spaces.into_iter().map(|s| self.space_json(s)).collect()
    }

    pub(crate) fn space_json(&self, space: &Space) -> Value {
        let id = &space.id;
        json!({
            "Id": id,
            "Name": space.name,
            "Slug": space.slug,
            "Description": space.description,
            "IsDefault": space.is_default,
            "IsPrivate": false,
            "TaskQueueStopped": space.task_queue_stopped,
            "SpaceManagersTeams": ["teams-administrators", "teams-managers", format!("teams-spacemanagers-{id}")],
            "SpaceManagersTeamMembers": [],
            "Icon": null,
            "ExtensionSettings": [],
            "LastModifiedOn": space.last_modified_on,
            "Links": {
                "Self": format!("/api/spaces/{id}"),
                "SpaceHome": format!("/api/{id}"),
                "Web": format!("/app#/spaces/{id}"),
                "Logo": format!("/api/spaces/{id}/logo?cb={}", self.version),
                "Search": format!("/api/spaces/{id}/search"),
            }
        })
    }

    // ---- worker pools -----------------------------------------------------------------------

    /// Pools of a space, sorted by `SortOrder`.
    pub(crate) fn worker_pools(
        &self,
        space_id: &str,
        filter: &NameFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let mut pools: Vec<&WorkerPool> = space
            .pools
            .iter()
            .filter(|p| filter.accepts(&p.id, &p.name))
            .collect();
        pools.sort_by(|a, b| {
            a.sort_order
                .cmp(&b.sort_order)
                .then_with(|| by_name((&a.name, &a.id), (&b.name, &b.id)))
        });
        Ok(pools.into_iter().map(|p| pool_json(&space.id, p)).collect())
    }

    pub(crate) fn worker_pool(&self, space_id: &str, pool_id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        find_pool(space, pool_id).map(|p| pool_json(&space.id, p))
    }

    // ---- machine policies -------------------------------------------------------------------

    pub(crate) fn machine_policies(
        &self,
        space_id: &str,
        filter: &NameFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let mut policies: Vec<&MachinePolicy> = space
            .policies
            .iter()
            .filter(|p| filter.accepts(&p.id, &p.name))
            .collect();
        policies.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        Ok(policies
            .into_iter()
            .map(|p| policy_json(&space.id, p))
            .collect())
    }

    pub(crate) fn machine_policy(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        space
            .policies
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
            .map(|p| policy_json(&space.id, p))
            .ok_or_else(|| ApiError::not_found(id))
    }

    // ---- workers ----------------------------------------------------------------------------

    /// Workers of a space matching `filter`, sorted by name.
    pub(crate) fn workers(
        &self,
        space_id: &str,
        filter: &WorkerFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let mut workers: Vec<&Worker> = space
            .workers
            .iter()
            .filter(|w| worker_accepted(w, filter))
            .collect();
        workers.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        Ok(workers.into_iter().map(|w| w.to_json(&space.id)).collect())
    }

    /// Workers of one pool (`/workerpools/{id}/workers`).
    pub(crate) fn pool_workers(
        &self,
        space_id: &str,
        pool_id: &str,
        filter: WorkerFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let pool = find_pool(space, pool_id)?;
        let filter = WorkerFilter {
            worker_pool_ids: Some(vec![pool.id.clone()]),
            ..filter
        };
        self.workers(space_id, &filter)
    }

    pub(crate) fn worker(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        find_worker(space, id).map(|w| w.to_json(&space.id))
    }

    /// Adds a worker described by a seed (no duplicate-name check: seeds are ground truth).
    pub(crate) fn add_seeded_worker(
        &mut self,
        space_id: &str,
        seed: &WorkerSeed,
    ) -> Result<String, String> {
        let space = self.space(space_id).map_err(|e| e.to_string())?;
        let mut pool_ids = Vec::new();
        for name in seed.pools() {
            let pool = space
                .pools
                .iter()
                .find(|p| same_name(&p.name, name))
                .ok_or_else(|| format!("space {} has no worker pool named '{name}'", space.id))?;
            pool_ids.push(pool.id.clone());
        }
        if pool_ids.is_empty() {
            pool_ids.extend(
                space
                    .pools
                    .iter()
                    .filter(|p| p.is_default)
                    .map(|p| p.id.clone()),
            );
        }
        let policy = match seed.machine_policy() {
            Some(name) => space.policies.iter().find(|p| same_name(&p.name, name)),
            None => space.policies.iter().find(|p| p.is_default),
        }
        .ok_or_else(|| {
            format!(
                "space {} has no machine policy named '{}'",
                space.id,
                seed.machine_policy().unwrap_or(DEFAULT_MACHINE_POLICY)
            )
        })?
        .id
        .clone();
        let mut endpoint = Map::new();
        endpoint.insert(
            "CommunicationStyle".into(),
            seed.communication_style().into(),
        );
        endpoint.insert("Uri".into(), seed.uri().into());
        endpoint.insert("Thumbprint".into(), seed.thumbprint().into());
        let mut worker = Worker {
            id: next_id(&mut self.counters.workers, "Workers"),
            worker_pool_ids: pool_ids,
            name: seed.name().trim().to_owned(),
            is_disabled: seed.is_disabled(),
            machine_policy_id: policy,
            health_status: String::new(),
            status_summary: String::new(),
            has_latest_calamari: false,
            endpoint: fill_endpoint(endpoint),
            operating_system: String::new(),
            shell_name: String::new(),
            shell_version: String::new(),
            architecture: String::new(),
            slug: slugify(seed.name()),
            skip_initial_health_check: false,
            last_modified_on: timestamp::format(seed.registered_at()),
            last_modified_by: "admin".into(),
        };
        worker.set_health(seed.health_status(), seed.registered_at());
        let id = worker.id.clone();
        self.space_mut(space_id)
            .map_err(|e| e.to_string())?
            .workers
            .push(worker);
        Ok(id)
    }

    /// `POST /api/{spaceId}/workers`.
    pub(crate) fn create_worker(
        &mut self,
        space_id: &str,
        body: &Map<String, Value>,
        user: &str,
    ) -> Result<Value, ApiError> {
        let reject_duplicates = self.reject_duplicate_names;
        let space = self.space(space_id)?;
        let input = WorkerInput::parse(space, body, None)?;
        if reject_duplicates {
            check_unique_worker_name(space, &input.name, None)?;
        }
        let space_id = space.id.clone();
        let mut worker = Worker {
            id: next_id(&mut self.counters.workers, "Workers"),
            worker_pool_ids: input.worker_pool_ids,
            slug: input.slug.unwrap_or_else(|| slugify(&input.name)),
            name: input.name,
            is_disabled: input.is_disabled,
            machine_policy_id: input.machine_policy_id,
            health_status: String::new(),
            status_summary: String::new(),
            has_latest_calamari: false,
            endpoint: input.endpoint,
            operating_system: String::new(),
            shell_name: String::new(),
            shell_version: String::new(),
            architecture: String::new(),
            skip_initial_health_check: input.skip_initial_health_check,
            last_modified_on: timestamp::now(),
            last_modified_by: user.to_owned(),
        };
        worker.set_health("Unknown", SystemTime::now());
        let json = worker.to_json(&space_id);
        self.space_mut(&space_id)?.workers.push(worker);
        Ok(json)
    }

    /// `PUT /api/{spaceId}/workers/{id}`: the client sends the whole resource; read-only
    /// fields (health, status, OS, top-level Thumbprint/Uri, ...) are ignored.
    pub(crate) fn update_worker(
        &mut self,
        space_id: &str,
        worker_id: &str,
        body: &Map<String, Value>,
        user: &str,
    ) -> Result<Value, ApiError> {
        let reject_duplicates = self.reject_duplicate_names;
        let space = self.space(space_id)?;
        let existing = find_worker(space, worker_id)?;
        let input = WorkerInput::parse(space, body, Some(existing))?;
        if reject_duplicates {
            check_unique_worker_name(space, &input.name, Some(&existing.id))?;
        }
        let space_id = space.id.clone();
        let existing_id = existing.id.clone();
        let space = self.space_mut(&space_id)?;
        let worker = space
            .workers
            .iter_mut()
            .find(|w| w.id == existing_id)
            .ok_or_else(|| ApiError::not_found(worker_id))?;
        worker.slug = input.slug.unwrap_or_else(|| worker.slug.clone());
        worker.name = input.name;
        worker.worker_pool_ids = input.worker_pool_ids;
        worker.is_disabled = input.is_disabled;
        worker.machine_policy_id = input.machine_policy_id;
        let kept_version = worker.endpoint.get("TentacleVersionDetails").cloned();
        worker.endpoint = input.endpoint;
        if let Some(details) = kept_version
            && worker
                .endpoint
                .get("TentacleVersionDetails")
                .is_some_and(Value::is_null)
        {
            worker
                .endpoint
                .insert("TentacleVersionDetails".into(), details);
        }
        worker.skip_initial_health_check = input.skip_initial_health_check;
        worker.last_modified_on = timestamp::now();
        worker.last_modified_by = user.to_owned();
        Ok(worker.to_json(&space_id))
    }

    pub(crate) fn delete_worker(
        &mut self,
        space_id: &str,
        worker_id: &str,
    ) -> Result<(), ApiError> {
        let space = self.space_mut(space_id)?;
        let index = space
            .workers
            .iter()
            .position(|w| w.id.eq_ignore_ascii_case(worker_id))
            .ok_or_else(|| ApiError::not_found(worker_id))?;
        space.workers.remove(index);
        Ok(())
    }

    /// Sets the health of every worker with this name; returns how many matched.
    pub(crate) fn set_health(&mut self, space_id: &str, worker_name: &str, health: &str) -> usize {
        let Ok(space) = self.space_mut(space_id) else {
            return 0;
        };
        let mut matched = 0;
        for worker in space
            .workers
            .iter_mut()
            .filter(|w| same_name(&w.name, worker_name))
        {
            worker.set_health(health, SystemTime::now());
            matched += 1;
        }
        matched
    }

    // ---- action templates -------------------------------------------------------------------

    pub(crate) fn action_templates(
        &self,
        space_id: &str,
        filter: &NameFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let mut templates: Vec<&ActionTemplate> = space
            .templates
            .iter()
            .filter(|t| filter.accepts(&t.id, &t.name))
            .collect();
        templates.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        Ok(templates
            .into_iter()
            .map(|t| t.to_json(&space.id, &self.version))
            .collect())
    }

    pub(crate) fn action_template(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        find_template(space, id).map(|t| t.to_json(&space.id, &self.version))
    }

    /// `POST /api/{spaceId}/actiontemplates`.
    pub(crate) fn create_action_template(
        &mut self,
        space_id: &str,
        body: &Map<String, Value>,
        user: &str,
    ) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        let input = TemplateInput::parse(space, body, None)?;
        let space_id = space.id.clone();
        let mut fields = input.fields;
        self.assign_parameter_ids(&mut fields);
        let template = ActionTemplate {
            id: next_id(&mut self.counters.action_templates, "ActionTemplates"),
            name: input.name,
            version: input.version.unwrap_or(0),
            fields,
            last_modified_on: timestamp::now(),
            last_modified_by: user.to_owned(),
        };
        let json = template.to_json(&space_id, &self.version);
        self.space_mut(&space_id)?.templates.push(template);
        Ok(json)
    }

    /// `PUT /api/{spaceId}/actiontemplates/{id}`: replaces the template and bumps `Version`.
    pub(crate) fn update_action_template(
        &mut self,
        space_id: &str,
        id: &str,
        body: &Map<String, Value>,
        user: &str,
    ) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        let existing = find_template(space, id)?;
        let input = TemplateInput::parse(space, body, Some(&existing.id))?;
        let (space_id, existing_id) = (space.id.clone(), existing.id.clone());
        let mut fields = input.fields;
        self.assign_parameter_ids(&mut fields);
        let version = self.version.clone();
        let space = self.space_mut(&space_id)?;
        let template = space
            .templates
            .iter_mut()
            .find(|t| t.id == existing_id)
            .ok_or_else(|| ApiError::not_found(id))?;
        template.name = input.name;
        template.version += 1;
        template.fields = fields;
        template.last_modified_on = timestamp::now();
        template.last_modified_by = user.to_owned();
        Ok(template.to_json(&space_id, &version))
    }

    pub(crate) fn delete_action_template(
        &mut self,
        space_id: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        let space = self.space_mut(space_id)?;
        let index = space
            .templates
            .iter()
            .position(|t| t.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| ApiError::not_found(id))?;
        space.templates.remove(index);
        Ok(())
    }

    /// Parameters without an `Id` get a fresh GUID, as the server assigns them.
    fn assign_parameter_ids(&mut self, fields: &mut Map<String, Value>) {
        let Some(Value::Array(parameters)) = fields.get("Parameters") else {
            return;
        };
        let missing: Vec<usize> = parameters
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.get("Id")
                    .is_none_or(|id| id.as_str().is_none_or(str::is_empty))
            })
            .map(|(index, _)| index)
            .collect();
        let ids: Vec<String> = missing.iter().map(|_| self.uuid()).collect();
        if let Some(Value::Array(parameters)) = fields.get_mut("Parameters") {
            for (index, id) in missing.into_iter().zip(ids) {
                if let Some(parameter) = parameters.get_mut(index).and_then(Value::as_object_mut) {
                    parameter.insert("Id".into(), id.into());
                }
            }
        }
    }
}

fn find_pool<'a>(space: &'a Space, id: &str) -> Result<&'a WorkerPool, ApiError> {
    space
        .pools
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::not_found(id))
}

fn find_worker<'a>(space: &'a Space, id: &str) -> Result<&'a Worker, ApiError> {
    space
        .workers
        .iter()
        .find(|w| w.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::not_found(id))
}

fn find_template<'a>(space: &'a Space, id: &str) -> Result<&'a ActionTemplate, ApiError> {
    space
        .templates
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::not_found(id))
}

fn check_unique_worker_name(
    space: &Space,
    name: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let taken = space
        .workers
        .iter()
        .any(|w| Some(w.id.as_str()) != except && same_name(&w.name, name));
    if taken {
        return Err(ApiError::bad_request(format!(
            "A machine named '{}' already exists in this space. Machine names must be unique within a space.",
            name.trim()
        )));
    }
    Ok(())
}

fn pool_json(space_id: &str, pool: &WorkerPool) -> Value {
    let id = &pool.id;
    json!({
        "Id": id,
        "SpaceId": space_id,
        "Name": pool.name,
        "Slug": slugify(&pool.name),
        "Description": null,
        "IsDefault": pool.is_default,
        "SortOrder": pool.sort_order,
        "WorkerPoolType": "StaticWorkerPool",
        "CanAddWorkers": true,
        "LastModifiedOn": pool.last_modified_on,
        "LastModifiedBy": "admin",
        "Links": {
            "Self": format!("/api/{space_id}/workerpools/{id}"),
            "Workers": format!("/api/{space_id}/workerpools/{id}/workers{{?skip,take,partialName,isDisabled,healthStatuses,commStyles,shellNames}}"),
        }
    })
}

fn policy_json(space_id: &str, policy: &MachinePolicy) -> Value {
    let id = &policy.id;
    json!({
        "Id": id,
        "SpaceId": space_id,
        "Name": policy.name,
        "Description": "",
        "IsDefault": policy.is_default,
        "MachineHealthCheckPolicy": {
            "PowerShellHealthCheckPolicy": { "RunType": "InheritFromDefault", "ScriptBody": null },
            "BashHealthCheckPolicy": { "RunType": "InheritFromDefault", "ScriptBody": null },
            "HealthCheckInterval": "1.00:00:00",
            "HealthCheckCron": null,
            "HealthCheckCronTimezone": "UTC",
            "HealthCheckType": "RunScript"
        },
        "MachineConnectivityPolicy": { "MachineConnectivityBehavior": "ExpectedToBeOnline" },
        "MachineCleanupPolicy": { "DeleteMachinesBehavior": "DoNotDelete", "DeleteMachinesElapsedTimeSpan": "01:00:00" },
        "MachineUpdatePolicy": {
            "CalamariUpdateBehavior": "UpdateOnDeployment",
            "TentacleUpdateBehavior": "NeverUpdate",
            "KubernetesAgentUpdateBehavior": "Update",
            "TentacleUpdateAccountId": null
        },
        "MachinePackageCacheRetentionPolicy": { "Strategy": "Default" },
        "PollingRequestQueueTimeout": "00:02:00",
        "PollingRequestMaximumMessageProcessingTimeout": "00:10:00",
        "ConnectionRetrySleepInterval": "00:00:01",
        "ConnectionRetryCountLimit": 5,
        "ConnectionRetryTimeLimit": "00:05:00",
        "ConnectionConnectTimeout": "00:01:00",
        "Links": {
            "Self": format!("/api/{space_id}/machinepolicies/{id}"),
            "Machines": format!("/api/{space_id}/machinepolicies/{id}/machines{{?skip,take}}"),
            "Workers": format!("/api/{space_id}/machinepolicies/{id}/workers{{?skip,take}}"),
        }
    })
}

fn is_tentacle(style: &str) -> bool {
    matches!(style, "TentacleActive" | "TentaclePassive")
}

fn worker_accepted(worker: &Worker, filter: &WorkerFilter) -> bool {
    let style = worker
        .endpoint
        .get("CommunicationStyle")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let thumbprint = worker.top_level_endpoint_field("Thumbprint");
    filter
        .name
        .as_deref()
        .is_none_or(|name| same_name(name, &worker.name))
        && filter
            .partial_name
            .as_deref()
            .is_none_or(|part| worker.name.to_lowercase().contains(&part.to_lowercase()))
        && contains_ignoring_case(filter.ids.as_deref(), &worker.id)
        && filter.is_disabled.is_none_or(|d| d == worker.is_disabled)
        && contains_ignoring_case(filter.health_statuses.as_deref(), &worker.health_status)
        && contains_ignoring_case(filter.comm_styles.as_deref(), style)
        && contains_ignoring_case(filter.shell_names.as_deref(), &worker.shell_name)
        && filter.worker_pool_ids.as_deref().is_none_or(|wanted| {
            worker
                .worker_pool_ids
                .iter()
                .any(|id| wanted.iter().any(|w| w.eq_ignore_ascii_case(id)))
        })
        && filter.thumbprint.as_deref().is_none_or(|wanted| {
            thumbprint
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(wanted.trim()))
        })
}

impl Worker {
    fn top_level_endpoint_field(&self, field: &str) -> Value {
        let style = self
            .endpoint
            .get("CommunicationStyle")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if is_tentacle(style) {
            self.endpoint.get(field).cloned().unwrap_or(Value::Null)
        } else {
            Value::Null
        }
    }

    /// Applies a health-check result: status text, and what a health check learns (OS, shell,
    /// Calamari, Tentacle version). `Unknown` resets to the never-checked state.
    fn set_health(&mut self, health: &str, checked_at: SystemTime) {
        let checked = format!("last checked: {}", timestamp::format(checked_at));
        self.health_status = health.to_owned();
        self.status_summary = match health {
            "Healthy" => format!(
                "Octopus was able to successfully establish a connection with this machine ({checked})"
            ),
            "HasWarnings" => format!(
                "Octopus was able to establish a connection with this machine, but the health check reported warnings ({checked})"
            ),
            "Unknown" => RECENTLY_ADDED.to_owned(),
            _ => format!("There was a problem communicating with this machine ({checked})"),
        };
        let contacted = matches!(health, "Healthy" | "HasWarnings");
        if contacted {
            self.has_latest_calamari = true;
            self.operating_system = "Linux".into();
            self.shell_name = "Bash".into();
            self.shell_version = "5.1.16(1)-release".into();
            self.architecture = "x64".into();
            let style = self
                .endpoint
                .get("CommunicationStyle")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if is_tentacle(style)
                && self
                    .endpoint
                    .get("TentacleVersionDetails")
                    .is_none_or(Value::is_null)
            {
                self.endpoint.insert(
                    "TentacleVersionDetails".into(),
                    json!({
                        "UpgradeLocked": false,
                        "UpgradeSuggested": false,
                        "UpgradeRequired": false,
                        "Version": TENTACLE_VERSION
                    }),
                );
            }
        } else if self.operating_system.is_empty() || health == "Unknown" {
            self.has_latest_calamari = false;
            self.operating_system = "Unknown".into();
            self.shell_name = "Unknown".into();
            self.shell_version = "Unknown".into();
            self.architecture = "Unknown".into();
        }
    }

    /// The WorkerResource in the field order of a real server.
    fn to_json(&self, space_id: &str) -> Value {
        let id = &self.id;
        json!({
            "Id": id,
            "WorkerPoolIds": self.worker_pool_ids,
            "SpaceId": space_id,
            "Name": self.name,
            "Thumbprint": self.top_level_endpoint_field("Thumbprint"),
            "Uri": self.top_level_endpoint_field("Uri"),
            "IsDisabled": self.is_disabled,
            "MachinePolicyId": self.machine_policy_id,
            "HealthStatus": self.health_status,
            "HasLatestCalamari": self.has_latest_calamari,
            "StatusSummary": self.status_summary,
            "IsInProcess": false,
            "Endpoint": self.endpoint,
            "OperatingSystem": self.operating_system,
            "ShellName": self.shell_name,
            "ShellVersion": self.shell_version,
            "Architecture": self.architecture,
            "Slug": self.slug,
            "SkipInitialHealthCheck": self.skip_initial_health_check,
            "LastModifiedOn": self.last_modified_on,
            "LastModifiedBy": self.last_modified_by,
            "Links": {
                "Self": format!("/api/{space_id}/workers/{id}"),
                "Connection": format!("/api/{space_id}/workers/{id}/connection"),
            }
        })
    }
}

/// Puts a Tentacle endpoint's fields in the server's order with server defaults for what the
/// client left out, keeping every other field the client sent (after the known ones).
fn fill_endpoint(sent: Map<String, Value>) -> Map<String, Value> {
    let style = sent
        .get("CommunicationStyle")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let known: &[&str] = match style.as_str() {
        "TentacleActive" => &[
            "CommunicationStyle",
            "Uri",
            "Thumbprint",
            "TentacleVersionDetails",
            "CertificateSignatureAlgorithm",
        ],
        "TentaclePassive" => &[
            "CommunicationStyle",
            "Uri",
            "ProxyId",
            "Thumbprint",
            "TentacleVersionDetails",
            "CertificateSignatureAlgorithm",
        ],
        _ => &[],
    };
    let mut filled = Map::new();
    let mut sent = sent;
    for field in known {
        filled.insert(
            (*field).to_owned(),
            sent.remove(*field).unwrap_or(Value::Null),
        );
    }
    let trailer = ["Id", "LastModifiedOn", "LastModifiedBy", "Links"];
    let mut trailing = Map::new();
    for field in trailer {
        let default = if field == "Links" {
            json!({})
        } else {
            Value::Null
        };
        trailing.insert(field.to_owned(), sent.remove(field).unwrap_or(default));
    }
    filled.extend(sent);
    filled.extend(trailing);
    filled
}

/// A validated worker body (POST or PUT).
struct WorkerInput {
    name: String,
    endpoint: Map<String, Value>,
    worker_pool_ids: Vec<String>,
    machine_policy_id: String,
    is_disabled: bool,
    slug: Option<String>,
    skip_initial_health_check: bool,
}

impl WorkerInput {
    /// Validates a body against `space`; `existing` is the worker a PUT replaces.
    fn parse(
        space: &Space,
        body: &Map<String, Value>,
        existing: Option<&Worker>,
    ) -> Result<WorkerInput, ApiError> {
        let mut errors = Vec::new();
        check_space_id(space, body, &mut errors);
        if let Some(existing) = existing
            && let Some(id) = body.get("Id").filter(|id| !id.is_null())
            && id
                .as_str()
                .is_none_or(|id| !id.eq_ignore_ascii_case(&existing.id))
        {
            errors.push(format!(
                "The Id in the request body ({id}) does not match the Id in the route ({}).",
                existing.id
            ));
        }

        let name = match body.get("Name").and_then(Value::as_str).map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                errors.push("Please provide a name for this machine.".into());
                String::new()
            }
        };

        let endpoint = match body.get("Endpoint") {
            Some(Value::Object(endpoint)) => {
                validate_endpoint(endpoint, existing, &mut errors);
                fill_endpoint(endpoint.clone())
            }
            _ => {
                errors.push("Please provide an endpoint for this machine.".into());
                Map::new()
            }
        };

        let mut worker_pool_ids = Vec::new();
        match body.get("WorkerPoolIds") {
            Some(Value::Array(ids)) if !ids.is_empty() => {
                for id in ids {
                    match id.as_str().and_then(|id| find_pool(space, id).ok()) {
                        Some(pool) => {
                            if !worker_pool_ids.contains(&pool.id) {
                                worker_pool_ids.push(pool.id.clone());
                            }
                        }
                        None => errors.push(format!(
                            "The worker pool '{}' could not be found in space {}.",
                            id.as_str().map_or_else(|| id.to_string(), str::to_owned),
                            space.id
                        )),
                    }
                }
            }
            Some(Value::Array(_)) | None | Some(Value::Null) => {
                errors.push("Please select at least one worker pool for this worker.".into());
            }
            Some(_) => errors.push("WorkerPoolIds must be an array of worker pool ids.".into()),
        }

        let machine_policy_id = match body.get("MachinePolicyId") {
            None | Some(Value::Null) => existing
                .map(|w| w.machine_policy_id.clone())
                .or_else(|| {
                    space
                        .policies
                        .iter()
                        .find(|p| p.is_default)
                        .map(|p| p.id.clone())
                })
                .unwrap_or_default(),
            Some(value) => {
                let found = value.as_str().and_then(|id| {
                    space
                        .policies
                        .iter()
                        .find(|p| p.id.eq_ignore_ascii_case(id))
                });
                match found {
                    Some(policy) => policy.id.clone(),
                    None => {
                        errors.push(format!(
                            "The machine policy '{}' could not be found in space {}.",
                            value
                                .as_str()
                                .map_or_else(|| value.to_string(), str::to_owned),
                            space.id
                        ));
                        String::new()
                    }
                }
            }
        };

        let is_disabled = optional_bool(body, "IsDisabled", &mut errors).unwrap_or(false);
        let skip_initial_health_check =
            optional_bool(body, "SkipInitialHealthCheck", &mut errors).unwrap_or(false);
        let slug = body
            .get("Slug")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|slug| !slug.is_empty())
            .map(str::to_owned);

        if !errors.is_empty() {
            return Err(ApiError::BadRequest(errors));
        }
        Ok(WorkerInput {
            name,
            endpoint,
            worker_pool_ids,
            machine_policy_id,
            is_disabled,
            slug,
            skip_initial_health_check,
        })
    }
}

fn check_space_id(space: &Space, body: &Map<String, Value>, errors: &mut Vec<String>) {
    if let Some(value) = body.get("SpaceId").filter(|v| !v.is_null())
        && value
            .as_str()
            .is_none_or(|id| !id.eq_ignore_ascii_case(&space.id))
    {
        errors.push(format!(
            "The SpaceId in the request body ({value}) does not match the space in the route ({}).",
            space.id
        ));
    }
}

fn optional_bool(body: &Map<String, Value>, field: &str, errors: &mut Vec<String>) -> Option<bool> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(value)) => Some(*value),
        Some(other) => {
            errors.push(format!("{field} must be true or false (got {other})."));
            None
        }
    }
}

fn validate_endpoint(
    endpoint: &Map<String, Value>,
    existing: Option<&Worker>,
    errors: &mut Vec<String>,
) {
    let Some(style) = endpoint.get("CommunicationStyle").and_then(Value::as_str) else {
        errors.push("Please provide a CommunicationStyle for the endpoint.".into());
        return;
    };
    if !COMMUNICATION_STYLES.contains(&style) {
        errors.push(format!("'{style}' is not a valid CommunicationStyle."));
        return;
    }
    if let Some(existing) = existing {
        let current = existing
            .endpoint
            .get("CommunicationStyle")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if current != style {
            errors.push("Model Endpoint type does not match incoming type".into());
            return;
        }
    }
    if is_tentacle(style) {
        let non_empty = |field: &str| {
            endpoint
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|value| !value.trim().is_empty())
        };
        if !non_empty("Thumbprint") {
            errors.push("Please provide a thumbprint for this machine.".into());
        }
        if !non_empty("Uri") {
            errors.push("Please provide a URI for this machine.".into());
        }
    }
}

/// Fields a step template keeps; anything else (`$Meta`, `Category`, `StepPackageId`, an
/// export's GUID `Id`, `LastModifiedBy`, ...) is dropped, as the server's model would.
const TEMPLATE_FIELDS: [&str; 10] = [
    "Description",
    "ActionType",
    "CommunityActionTemplateId",
    "Packages",
    "GitDependencies",
    "Properties",
    "Parameters",
    "StepPackageVersion",
    "Inputs",
    "Version",
];

struct TemplateInput {
    name: String,
    version: Option<u64>,
    fields: Map<String, Value>,
}

impl TemplateInput {
    fn parse(
        space: &Space,
        body: &Map<String, Value>,
        existing: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        check_space_id(space, body, &mut errors);
        if let Some(existing) = existing
            && let Some(id) = body.get("Id").filter(|id| !id.is_null())
            && id
                .as_str()
                .is_none_or(|id| !id.eq_ignore_ascii_case(existing))
        {
            errors.push(format!(
                "The Id in the request body ({id}) does not match the Id in the route ({existing})."
            ));
        }
        let name = match body.get("Name").and_then(Value::as_str).map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                errors.push("Please provide a name for the template.".into());
                String::new()
            }
        };
        if body
            .get("ActionType")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty())
        {
            errors.push("Please provide an action type.".into());
        }
        for (field, expected_object) in [
            ("Properties", true),
            ("Parameters", false),
            ("Packages", false),
            ("GitDependencies", false),
        ] {
            match (body.get(field), expected_object) {
                (None | Some(Value::Null), _)
                | (Some(Value::Object(_)), true)
                | (Some(Value::Array(_)), false) => {}
                _ => errors.push(format!(
                    "{field} must be {}.",
                    if expected_object {
                        "an object"
                    } else {
                        "an array"
                    }
                )),
            }
        }
        if let Some(Value::Array(parameters)) = body.get("Parameters")
            && parameters.iter().any(|p| !p.is_object())
        {
            errors.push("Every entry of Parameters must be an object.".into());
        }
        let version = match body.get("Version") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_u64() {
                Some(version) => Some(version),
                None => {
                    errors.push(format!(
                        "Version must be a whole number of at least 0 (got {value})."
                    ));
                    None
                }
            },
        };
        if !name.is_empty()
            && space
                .templates
                .iter()
                .any(|t| Some(t.id.as_str()) != existing && same_name(&t.name, &name))
        {
            errors.push(format!(
                "A step template named '{name}' already exists in this space. Step template names must be unique."
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::BadRequest(errors));
        }
        let fields = TEMPLATE_FIELDS
            .iter()
            .filter(|field| **field != "Version")
            .filter_map(|field| body.get(*field).map(|v| ((*field).to_owned(), v.clone())))
            .collect();
        Ok(TemplateInput {
            name,
            version,
            fields,
        })
    }
}

impl ActionTemplate {
    fn to_json(&self, space_id: &str, server_version: &str) -> Value {
        let id = &self.id;
        let field = |name: &str, default: Value| -> Value {
            match self.fields.get(name) {
                Some(Value::Null) | None => default,
                Some(value) => value.clone(),
            }
        };
        let mut json = Map::new();
        json.insert("Id".into(), id.as_str().into());
        json.insert("Name".into(), self.name.as_str().into());
        json.insert("Description".into(), field("Description", Value::Null));
        json.insert("ActionType".into(), field("ActionType", Value::Null));
        json.insert("Version".into(), self.version.into());
        json.insert(
            "CommunityActionTemplateId".into(),
            field("CommunityActionTemplateId", Value::Null),
        );
        json.insert("Packages".into(), field("Packages", json!([])));
        json.insert(
            "GitDependencies".into(),
            field("GitDependencies", json!([])),
        );
        json.insert("Properties".into(), field("Properties", json!({})));
        json.insert("Parameters".into(), field("Parameters", json!([])));
        for optional in ["StepPackageVersion", "Inputs"] {
            if let Some(value) = self.fields.get(optional) {
                json.insert(optional.into(), value.clone());
            }
        }
        json.insert("SpaceId".into(), space_id.into());
        json.insert(
            "LastModifiedOn".into(),
            self.last_modified_on.as_str().into(),
        );
        json.insert(
            "LastModifiedBy".into(),
            self.last_modified_by.as_str().into(),
        );
        json.insert(
            "Links".into(),
            json!({
                "Self": format!("/api/{space_id}/actiontemplates/{id}"),
                "Usage": format!("/api/{space_id}/actiontemplates/{id}/usage"),
                "Logo": format!("/api/{space_id}/actiontemplates/{id}/logo?cb={server_version}"),
                "ActionsUpdate": format!("/api/{space_id}/actiontemplates/{id}/actionsUpdate"),
                "Versions": format!("/api/{space_id}/actiontemplates/{id}/versions/{{version}}"),
            }),
        );
        Value::Object(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_collapse_separators() {
        assert_eq!(slugify("AWS Worker Pool TF"), "aws-worker-pool-tf");
        assert_eq!(slugify("  polling--worker_01 "), "polling-worker-01");
    }

    #[test]
    fn endpoint_keeps_unknown_fields_after_known_ones() {
        let sent = json!({"Thumbprint": "AB", "Custom": 1, "CommunicationStyle": "TentacleActive", "Uri": "poll://x/"});
        let filled = fill_endpoint(sent.as_object().cloned().unwrap_or_default());
        let keys: Vec<&str> = filled.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "CommunicationStyle",
                "Uri",
                "Thumbprint",
                "TentacleVersionDetails",
                "CertificateSignatureAlgorithm",
                "Custom",
                "Id",
                "LastModifiedOn",
                "LastModifiedBy",
                "Links"
            ]
        );
    }
}
