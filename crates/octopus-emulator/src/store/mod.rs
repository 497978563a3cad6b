//! The emulated server's state — spaces with their worker pools, machine policies, proxies,
//! accounts, workers, step templates and task leases; server tasks; global id counters; the
//! schedule — and the operations the routes and the [`crate::Emulator`] perform on it.
//!
//! One job per module: `model` (entities), `filter` (naming rules and list filters),
//! `validate` (request bodies), `render` (Octopus JSON), `seed` (building from scenarios),
//! `schedule` (timed events).

mod filter;
mod model;
pub(crate) mod render;
mod schedule;
mod seed;
mod validate;

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

pub(crate) use filter::{NameFilter, WorkerFilter, same_name};
use filter::{by_name, slugify};
use model::{ActionTemplate, MachinePolicy, Space, Worker, WorkerPool};
use schedule::{Event, Schedule};
use validate::{SpaceInput, TemplateInput, WorkerInput, check_unique_worker_name};

use crate::error::ApiError;
use crate::scenario::{LeaseSeed, Scenario, SpaceSeed};
use crate::timestamp;

#[derive(Debug, Default)]
struct Counters {
    spaces: u64,
    worker_pools: u64,
    workers: u64,
    machine_policies: u64,
    action_templates: u64,
    proxies: u64,
    accounts: u64,
    leases: u64,
    tasks: u64,
}

fn next_id(counter: &mut u64, collection: &str) -> String {
    *counter += 1;
    format!("{collection}-{counter}")
}

/// The emulated server state.
#[derive(Debug)]
pub(crate) struct Store {
    counters: Counters,
    spaces: Vec<Space>,
    /// Index into `spaces` by lower-case Id: every space-scoped request looks its space up, and
    /// a linear search made each request cost O(spaces) (measurable at a thousand spaces).
    space_index: HashMap<String, usize>,
    tasks: Vec<model::Task>,
    reject_duplicate_names: bool,
    version: String,
    schedule: Schedule,
    /// When the emulator started: scenario schedules count from here.
    started: Instant,
    rng: StdRng,
}

impl Store {
    fn empty(scenario: &Scenario, started: Instant) -> Self {
        Store {
            counters: Counters::default(),
            spaces: Vec::new(),
            space_index: HashMap::new(),
            tasks: Vec::new(),
            reject_duplicate_names: scenario.rejects_duplicate_names(),
            version: scenario.version_value().to_owned(),
            schedule: Schedule::default(),
            started,
            rng: StdRng::seed_from_u64(scenario.seed_value() ^ 0x006f_6374_6f70_7573),
        }
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

    // ---- schedule ---------------------------------------------------------------------------

    /// Applies every scheduled event due at `now`, in due order.
    pub(crate) fn apply_due(&mut self, now: Instant) {
        while let Some(event) = self.schedule.pop_due(now) {
            let result = match event {
                // A scheduled space's own schedule counts from the emulator's start too.
                Event::CreateSpace(seed) => {
                    let started = self.started;
                    self.add_space_from_seed(&seed, started).map(drop)
                }
                Event::Register { space, worker } => self
                    .space_id_by_name(&space)
                    .ok_or_else(|| format!("no space named '{space}'"))
                    .and_then(|id| self.add_seeded_worker(&id, &worker).map(drop)),
                Event::Deregister { space, worker } => match self.space_id_by_name(&space) {
                    Some(id) => {
                        self.remove_workers_named(&id, &worker);
                        Ok(())
                    }
                    None => Err(format!("no space named '{space}'")),
                },
                Event::TakeLease {
                    space,
                    lease,
                    until,
                } => self
                    .space_id_by_name(&space)
                    .ok_or_else(|| format!("no space named '{space}'"))
                    .and_then(|id| self.take_lease(&id, &lease, until).map(drop)),
                Event::ReleaseLease { lease_id } => {
                    self.release_lease(&lease_id);
                    Ok(())
                }
            };
            if let Err(error) = result {
                tracing::warn!("scheduled emulator event failed: {error}");
            }
        }
    }

    /// When the next scheduled event is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.schedule.next_due()
    }

    // ---- spaces -----------------------------------------------------------------------------

    fn insert_space(&mut self, space: Space) {
        self.space_index
            .insert(space.id.to_ascii_lowercase(), self.spaces.len());
        self.spaces.push(space);
    }

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

    /// The name of the space with this id.
    pub(crate) fn space_name(&self, id: &str) -> Option<&str> {
        self.space(id).ok().map(|s| s.name.as_str())
    }

    /// Spaces as the server lists them to a caller: those `visible` (by name) and accepted
    /// by `filter`, sorted by name, case-insensitively.
    pub(crate) fn spaces(&self, filter: &NameFilter, visible: impl Fn(&str) -> bool) -> Vec<Value> {
        let mut spaces: Vec<&Space> = self
            .spaces
            .iter()
            .filter(|s| visible(&s.name) && filter.accepts(&s.id, &s.name))
            .collect();
        spaces.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        spaces
            .into_iter()
            .map(|s| render::space(s, &self.version))
            .collect()
    }

    pub(crate) fn space_json(&self, id: &str) -> Result<Value, ApiError> {
        self.space(id).map(|s| render::space(s, &self.version))
    }

    /// `POST /api/spaces`: a space with its "Default Worker Pool" and "Default Machine Policy".
    pub(crate) fn create_space(
        &mut self,
        body: &Map<String, Value>,
        user: &str,
    ) -> Result<Value, ApiError> {
        let input = SpaceInput::parse(body, |name| self.space_id_by_name(name).is_some())
            .map_err(ApiError::BadRequest)?;
        let mut seed = SpaceSeed::new(&input.name);
        if let Some(description) = &input.description {
            seed = seed.description(description);
        }
        if input.task_queue_stopped {
            seed = seed.task_queue_stopped();
        }
        let id = self
            .add_space_from_seed(&seed, Instant::now())
            .map_err(ApiError::bad_request)?;
        if input.is_default {
            for space in &mut self.spaces {
                space.is_default = space.id == id;
            }
        }
        let space = self.space_mut(&id)?;
        if let Some(slug) = input.slug {
            space.slug = slug;
        }
        space.space_managers_teams = input.space_managers_teams;
        space.space_managers_team_members = input.space_managers_team_members;
        space.last_modified_by = Some(user.to_owned());
        self.space_json(&id)
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
        Ok(pools
            .into_iter()
            .map(|p| render::pool(&space.id, p))
            .collect())
    }

    pub(crate) fn worker_pool(&self, space_id: &str, pool_id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        space
            .pool(pool_id)
            .map(|p| render::pool(&space.id, p))
            .ok_or_else(|| ApiError::not_found(pool_id))
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
            .map(|p| render::policy(&space.id, p))
            .collect())
    }

    pub(crate) fn machine_policy(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        space
            .policies
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
            .map(|p| render::policy(&space.id, p))
            .ok_or_else(|| ApiError::not_found(id))
    }

    // ---- proxies and accounts ---------------------------------------------------------------

    /// Proxies of a space, sorted by name.
    pub(crate) fn proxies(
        &self,
        space_id: &str,
        filter: &NameFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let mut proxies: Vec<_> = space
            .proxies
            .iter()
            .filter(|p| filter.accepts(&p.id, &p.name))
            .collect();
        proxies.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        Ok(proxies
            .into_iter()
            .map(|p| render::proxy(&space.id, p))
            .collect())
    }

    pub(crate) fn proxy(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        space
            .proxy(id)
            .map(|p| render::proxy(&space.id, p))
            .ok_or_else(|| ApiError::not_found(id))
    }

    /// Accounts of a space, sorted by name.
    pub(crate) fn accounts(
        &self,
        space_id: &str,
        filter: &NameFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let mut accounts: Vec<_> = space
            .accounts
            .iter()
            .filter(|a| filter.accepts(&a.id, &a.name))
            .collect();
        accounts.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        Ok(accounts
            .into_iter()
            .map(|a| render::account(&space.id, a))
            .collect())
    }

    pub(crate) fn account(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        space
            .account(id)
            .map(|a| render::account(&space.id, a))
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
        let mut workers: Vec<&Worker> =
            space.workers.iter().filter(|w| filter.accepts(w)).collect();
        workers.sort_by(|a, b| by_name((&a.name, &a.id), (&b.name, &b.id)));
        Ok(workers
            .into_iter()
            .map(|w| render::worker(&space.id, w))
            .collect())
    }

    /// Workers of one pool (`/workerpools/{id}/workers`).
    pub(crate) fn pool_workers(
        &self,
        space_id: &str,
        pool_id: &str,
        filter: WorkerFilter,
    ) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        let pool = space
            .pool(pool_id)
            .ok_or_else(|| ApiError::not_found(pool_id))?;
        let filter = WorkerFilter {
            worker_pool_ids: Some(vec![pool.id.clone()]),
            ..filter
        };
        self.workers(space_id, &filter)
    }

    pub(crate) fn worker(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        space
            .worker(id)
            .map(|w| render::worker(&space.id, w))
            .ok_or_else(|| ApiError::not_found(id))
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
        let input = WorkerInput::parse(space, body, None).map_err(ApiError::BadRequest)?;
        if reject_duplicates {
            check_unique_worker_name(space, &input.name, None).map_err(ApiError::bad_request)?;
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
        let json = render::worker(&space_id, &worker);
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
        let existing = space
            .worker(worker_id)
            .ok_or_else(|| ApiError::not_found(worker_id))?;
        let input =
            WorkerInput::parse(space, body, Some(existing)).map_err(ApiError::BadRequest)?;
        if reject_duplicates {
            check_unique_worker_name(space, &input.name, Some(&existing.id))
                .map_err(ApiError::bad_request)?;
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
        // What health checks learnt stays when the client sends it back empty.
        let learnt: Vec<(String, Value)> = ["TentacleVersionDetails", "KubernetesAgentDetails"]
            .into_iter()
            .filter_map(|field| {
                worker
                    .endpoint
                    .get(field)
                    .filter(|v| !v.is_null())
                    .map(|v| (field.to_owned(), v.clone()))
            })
            .collect();
        worker.endpoint = input.endpoint;
        for (field, value) in learnt {
            if worker.endpoint.get(&field).is_some_and(Value::is_null) {
                worker.endpoint.insert(field, value);
            }
        }
        worker.skip_initial_health_check = input.skip_initial_health_check;
        worker.last_modified_on = timestamp::now();
        worker.last_modified_by = user.to_owned();
        Ok(render::worker(&space_id, worker))
    }

    /// `DELETE /api/{spaceId}/workers/{id}`: refused (400) while a task lease holds the
    /// worker. Octopus refuses to delete a busy worker ("Currently, the delete worker API is
    /// called and watches for an error message that the worker can't be deleted",
    /// <https://github.com/OctopusDeploy/Issues/issues/7707>; "it will report that it is
    /// currently in use", #5634); the exact text is not public, so this one is the emulator's.
    pub(crate) fn delete_worker(
        &mut self,
        space_id: &str,
        worker_id: &str,
    ) -> Result<(), ApiError> {
        let space = self.space(space_id)?;
        let worker = space
            .worker(worker_id)
            .ok_or_else(|| ApiError::not_found(worker_id))?;
        if let Some(lease) = space.leases_of(&worker.id).next() {
            return Err(ApiError::bad_request(format!(
                "The worker '{}' ({}) is currently in use by task {} and cannot be deleted. Try again when the task has finished.",
                worker.name, worker.id, lease.task_id
            )));
        }
        let worker_id = worker.id.clone();
        let space_id = space.id.clone();
        self.space_mut(&space_id)?
            .workers
            .retain(|w| w.id != worker_id);
        Ok(())
    }

    /// Removes a worker regardless of leases (its leases go with it, their tasks complete).
    /// Returns whether it existed.
    pub(crate) fn remove_worker(&mut self, space_id: &str, worker_id: &str) -> bool {
        let Ok(space) = self.space_mut(space_id) else {
            return false;
        };
        let Some(index) = space
            .workers
            .iter()
            .position(|w| w.id.eq_ignore_ascii_case(worker_id))
        else {
            return false;
        };
        let worker = space.workers.remove(index);
        let lease_ids: Vec<String> = space.leases_of(&worker.id).map(|l| l.id.clone()).collect();
        for lease_id in lease_ids {
            self.release_lease(&lease_id);
        }
        true
    }

    fn remove_workers_named(&mut self, space_id: &str, name: &str) {
        let ids: Vec<String> = self
            .space(space_id)
            .map(|s| {
                s.workers
                    .iter()
                    .filter(|w| same_name(&w.name, name))
                    .map(|w| w.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            self.remove_worker(space_id, &id);
        }
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

    // ---- leases and tasks -------------------------------------------------------------------

    /// The task leases of a space, oldest first.
    pub(crate) fn leases(&self, space_id: &str) -> Result<Vec<Value>, ApiError> {
        let space = self.space(space_id)?;
        Ok(space
            .leases
            .iter()
            .map(|l| render::lease(&space.id, l))
            .collect())
    }

    /// Takes a lease now (see [`LeaseSeed`]); `until` counts from now.
    pub(crate) fn take_lease_now(
        &mut self,
        space_id: &str,
        lease: &LeaseSeed,
    ) -> Result<(String, String), String> {
        let until = lease.until_value().map(|until| Instant::now() + until);
        self.take_lease(space_id, lease, until)
    }

    /// Ends a lease: it disappears and its task (unless it already ended) succeeds. Returns
    /// whether it existed.
    pub(crate) fn release_lease(&mut self, lease_id: &str) -> bool {
        self.schedule.forget_release(lease_id);
        let mut released = None;
        for space in &mut self.spaces {
            if let Some(index) = space
                .leases
                .iter()
                .position(|l| l.id.eq_ignore_ascii_case(lease_id))
            {
                released = Some(space.leases.remove(index));
                break;
            }
        }
        let Some(lease) = released else {
            return false;
        };
        if let Some(task) = self.tasks.iter_mut().find(|t| t.id == lease.task_id)
            && !task.is_completed()
        {
            task.state = "Success".into();
            task.completed_time = Some(SystemTime::now());
        }
        true
    }

    /// `POST /api/tasks/{id}/cancel`: a running task ends `Canceled` and its leases are
    /// released (Octopus releases what a task holds when it ends). A task that already ended
    /// is left as it is, and so are leases it left behind (an orphaned lease outlives any
    /// cancel: only a server restart clears it, OctopusDeploy/Issues#9692). Returns the task.
    pub(crate) fn cancel_task(&mut self, task_id: &str) -> Result<Value, ApiError> {
        let task = self
            .tasks
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(task_id))
            .ok_or_else(|| ApiError::not_found(task_id))?;
        if task.is_completed() {
            return Ok(render::task(task));
        }
        task.state = "Canceled".into();
        task.completed_time = Some(SystemTime::now());
        let task_id = task.id.clone();
        let lease_ids: Vec<String> = self
            .spaces
            .iter()
            .flat_map(|space| space.leases.iter())
            .filter(|lease| lease.task_id == task_id)
            .map(|lease| lease.id.clone())
            .collect();
        for lease_id in lease_ids {
            self.release_lease(&lease_id);
        }
        self.task(&task_id).map(|(task, _)| task)
    }

    /// A server task and the space it belongs to.
    pub(crate) fn task(&self, task_id: &str) -> Result<(Value, &str), ApiError> {
        self.tasks
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(task_id))
            .map(|t| (render::task(t), t.space_id.as_str()))
            .ok_or_else(|| ApiError::not_found(task_id))
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
            .map(|t| render::template(&space.id, t, &self.version))
            .collect())
    }

    fn find_template<'a>(space: &'a Space, id: &str) -> Result<&'a ActionTemplate, ApiError> {
        space
            .templates
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| ApiError::not_found(id))
    }

    pub(crate) fn action_template(&self, space_id: &str, id: &str) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        Store::find_template(space, id).map(|t| render::template(&space.id, t, &self.version))
    }

    /// `POST /api/{spaceId}/actiontemplates`.
    pub(crate) fn create_action_template(
        &mut self,
        space_id: &str,
        body: &Map<String, Value>,
        user: &str,
    ) -> Result<Value, ApiError> {
        let space = self.space(space_id)?;
        let input = TemplateInput::parse(space, body, None).map_err(ApiError::BadRequest)?;
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
        let json = render::template(&space_id, &template, &self.version);
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
        let existing = Store::find_template(space, id)?;
        let input =
            TemplateInput::parse(space, body, Some(&existing.id)).map_err(ApiError::BadRequest)?;
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
        Ok(render::template(&space_id, template, &version))
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
