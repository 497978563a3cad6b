//! Building state from scenario seeds: spaces with their pools, policies, proxies, accounts,
//! workers and step templates; scheduled registrations, deregistrations and leases.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use crate::scenario::{
    DEFAULT_MACHINE_POLICY, DEFAULT_WORKER_POOL, LeaseSeed, Scenario, SpaceSeed, WorkerSeed,
};
use crate::store::filter::{same_name, slugify};
use crate::store::model::{Account, Lease, MachinePolicy, Proxy, Space, Task, Worker, WorkerPool};
use crate::store::schedule::Event;
use crate::store::validate::fill_endpoint;
use crate::store::{Store, next_id};
use crate::timestamp;

impl Store {
    /// Builds the state a scenario describes; scheduled events count from `started`.
    pub(crate) fn from_scenario(scenario: &Scenario, started: Instant) -> anyhow::Result<Self> {
        scenario.validate()?;
        let mut store = Store::empty(scenario, started);
        for seed in scenario.spaces() {
            let after = seed.created_after_value();
            if after.is_zero() {
                store
                    .add_space_from_seed(seed, started)
                    .map_err(|e| anyhow::anyhow!("space '{}': {e}", seed.name()))?;
            } else {
                store
                    .schedule
                    .add(started + after, Event::CreateSpace(Box::new(seed.clone())));
            }
        }
        Ok(store)
    }

    /// Creates a space from a seed; its registrations, deregistrations and leases count from
    /// `base` (the emulator's start for scenario seeds, now for runtime additions). Returns the
    /// new `Spaces-N` id.
    pub(crate) fn add_space_from_seed(
        &mut self,
        seed: &SpaceSeed,
        base: Instant,
    ) -> Result<String, String> {
        seed.validate().map_err(|e| format!("{e:#}"))?;
        if self.space_id_by_name(seed.name()).is_some() {
            return Err(format!("a space named '{}' already exists", seed.name()));
        }
        if seed.is_default() && self.default_space_id().is_some() {
            return Err("there already is a default space".into());
        }
        let id = next_id(&mut self.counters.spaces, "Spaces");
        let now = timestamp::now();
        let mut space = Space {
            id: id.clone(),
            name: seed.name().trim().to_owned(),
            slug: slugify(seed.name()),
            description: seed.description_value().map(str::to_owned),
            is_default: seed.is_default(),
            task_queue_stopped: seed.is_task_queue_stopped(),
            space_managers_teams: Vec::new(),
            space_managers_team_members: Vec::new(),
            last_modified_on: now.clone(),
            last_modified_by: None,
            pools: Vec::new(),
            policies: Vec::new(),
            workers: Vec::new(),
            templates: Vec::new(),
            proxies: Vec::new(),
            accounts: Vec::new(),
            leases: Vec::new(),
        };
        let static_pools = std::iter::once(DEFAULT_WORKER_POOL)
            .chain(seed.worker_pools().map(str::trim))
            .map(|name| (name.to_owned(), None));
        let dynamic_pools = seed.dynamic_worker_pools().iter().map(|pool| {
            (
                pool.name().trim().to_owned(),
                Some(pool.worker_type().to_owned()),
            )
        });
        for (index, (name, dynamic_worker_type)) in static_pools.chain(dynamic_pools).enumerate() {
            space.pools.push(WorkerPool {
                id: next_id(&mut self.counters.worker_pools, "WorkerPools"),
                name,
                description: None,
                is_default: index == 0,
                sort_order: u32::try_from(index + 1).unwrap_or(u32::MAX),
                dynamic_worker_type,
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
        for proxy in seed.proxies() {
            space.proxies.push(Proxy {
                id: next_id(&mut self.counters.proxies, "Proxies"),
                name: proxy.name().trim().to_owned(),
                host: proxy.host().trim().to_owned(),
                port: proxy.port(),
                username: proxy.username_value().map(str::to_owned),
                last_modified_on: now.clone(),
            });
        }
        for account in seed.accounts() {
            space.accounts.push(Account {
                id: next_id(&mut self.counters.accounts, "Accounts"),
                name: account.name().trim().to_owned(),
                slug: slugify(account.name()),
                account_type: account.account_type().to_owned(),
                username: account.username().to_owned(),
                last_modified_on: now.clone(),
            });
        }
        if space.is_default {
            for other in &mut self.spaces {
                other.is_default = false;
            }
        }
        self.insert_space(space);
        for worker in seed.workers() {
            self.add_seeded_worker(&id, worker)?;
        }
        for template in seed.action_templates() {
            let body = template.as_object().cloned().unwrap_or_default();
            self.create_action_template(&id, &body, "admin")
                .map_err(|e| format!("step template rejected: {}", e.details()))?;
        }
        let name = seed.name().to_owned();
        for registration in seed.registrations() {
            self.schedule.add(
                base + registration.after(),
                Event::Register {
                    space: name.clone(),
                    worker: Box::new(registration.worker().clone()),
                },
            );
        }
        for deregistration in seed.deregistrations() {
            self.schedule.add(
                base + deregistration.after(),
                Event::Deregister {
                    space: name.clone(),
                    worker: deregistration.worker().to_owned(),
                },
            );
        }
        for lease in seed.leases() {
            self.schedule.add(
                base + lease.after_value(),
                Event::TakeLease {
                    space: name.clone(),
                    lease: lease.clone(),
                    until: lease.until_value().map(|until| base + until),
                },
            );
        }
        Ok(id)
    }

    /// The endpoint a seed describes, with proxy and account names resolved in `space`.
    fn seeded_endpoint(space: &Space, seed: &WorkerSeed) -> Result<Map<String, Value>, String> {
        let proxy_id = match seed.proxy_name() {
            Some(name) => Some(
                space
                    .proxies
                    .iter()
                    .find(|p| same_name(&p.name, name))
                    .map(|p| p.id.clone())
                    .ok_or_else(|| format!("space {} has no proxy named '{name}'", space.id))?,
            ),
            None => None,
        };
        let mut endpoint = Map::new();
        let style = seed.communication_style();
        endpoint.insert("CommunicationStyle".into(), style.into());
        match style {
            "TentacleActive" | "TentaclePassive" => {
                endpoint.insert("Uri".into(), seed.uri().into());
                endpoint.insert("Thumbprint".into(), seed.thumbprint().into());
                if style == "TentaclePassive" {
                    endpoint.insert("ProxyId".into(), proxy_id.into());
                }
            }
            "Ssh" => {
                let account = seed.account_name().unwrap_or_default();
                let account_id = space
                    .accounts
                    .iter()
                    .find(|a| same_name(&a.name, account))
                    .map(|a| a.id.clone())
                    .ok_or_else(|| {
                        format!("space {} has no account named '{account}'", space.id)
                    })?;
                endpoint.insert("AccountId".into(), account_id.into());
                endpoint.insert("Host".into(), seed.host().unwrap_or_default().into());
                endpoint.insert("Port".into(), seed.port().into());
                endpoint.insert(
                    "Fingerprint".into(),
                    seed.fingerprint().unwrap_or_default().into(),
                );
                endpoint.insert("ProxyId".into(), proxy_id.into());
                endpoint.insert(
                    "DotNetCorePlatform".into(),
                    seed.dot_net_core_platform_value().into(),
                );
            }
            "KubernetesTentacle" => {
                let mut configuration = Map::new();
                configuration.insert("CommunicationMode".into(), seed.communication_mode().into());
                configuration.insert("Thumbprint".into(), seed.thumbprint().into());
                configuration.insert("Uri".into(), seed.uri().into());
                if seed.communication_mode() == "Listening" {
                    configuration.insert("ProxyId".into(), proxy_id.into());
                }
                endpoint.insert(
                    "TentacleEndpointConfiguration".into(),
                    Value::Object(configuration),
                );
                endpoint.insert(
                    "DefaultNamespace".into(),
                    seed.default_namespace_value().into(),
                );
            }
            _ => {
                if let Some(verbatim) = seed.endpoint() {
                    for (key, value) in verbatim {
                        if key != "CommunicationStyle" {
                            endpoint.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
        }
        Ok(fill_endpoint(endpoint))
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
            if pool.is_dynamic() {
                return Err(format!(
                    "'{name}' is a dynamic worker pool of space {}; workers cannot be added to it",
                    space.id
                ));
            }
            pool_ids.push(pool.id.clone());
        }
        if pool_ids.is_empty() {
            pool_ids.extend(space.default_pool().map(|p| p.id.clone()));
        }
        let policy = match seed.machine_policy() {
            Some(name) => space.policies.iter().find(|p| same_name(&p.name, name)),
            None => space.default_policy(),
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
        let endpoint = Store::seeded_endpoint(space, seed)?;
        let space_id = space.id.clone();
        let mut worker = Worker {
            id: next_id(&mut self.counters.workers, "Workers"),
            worker_pool_ids: pool_ids,
            name: seed.name().trim().to_owned(),
            is_disabled: seed.is_disabled(),
            machine_policy_id: policy,
            health_status: String::new(),
            status_summary: String::new(),
            has_latest_calamari: false,
            endpoint,
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
        self.space_mut(&space_id)
            .map_err(|e| e.to_string())?
            .workers
            .push(worker);
        Ok(id)
    }

    /// Takes a lease on the first worker of `lease.worker()`'s name in the space, with a new
    /// server task. Returns `(lease id, task id)`.
    pub(crate) fn take_lease(
        &mut self,
        space_id: &str,
        lease: &LeaseSeed,
        until: Option<Instant>,
    ) -> Result<(String, String), String> {
        let space = self.space(space_id).map_err(|e| e.to_string())?;
        let worker = space
            .workers
            .iter()
            .find(|w| same_name(&w.name, lease.worker()))
            .ok_or_else(|| {
                format!(
                    "space {} has no worker named '{}'",
                    space.id,
                    lease.worker()
                )
            })?;
        let pool_id = match lease.pool() {
            Some(name) => space
                .pools
                .iter()
                .find(|p| same_name(&p.name, name))
                .map(|p| p.id.clone())
                .ok_or_else(|| format!("space {} has no worker pool named '{name}'", space.id))?,
            None => worker.worker_pool_ids.first().cloned().unwrap_or_default(),
        };
        let (worker_id, worker_name, space_id) =
            (worker.id.clone(), worker.name.clone(), space.id.clone());
        let now = SystemTime::now();
        let task = Task {
            id: next_id(&mut self.counters.tasks, "ServerTasks"),
            space_id: space_id.clone(),
            name: lease.task_name().to_owned(),
            description: lease.task_description(),
            state: if lease.is_orphaned() {
                "Canceled".into()
            } else {
                "Executing".into()
            },
            queue_time: now.checked_sub(Duration::from_secs(2)).unwrap_or(now),
            start_time: now,
            completed_time: lease.is_orphaned().then_some(now),
        };
        let record = Lease {
            id: next_id(&mut self.counters.leases, "WorkerTaskLeases"),
            worker_id,
            worker_pool_id: pool_id,
            task_id: task.id.clone(),
            name: worker_name,
            exclusive: lease.is_exclusive(),
            taken_at: timestamp::format(now),
        };
        let ids = (record.id.clone(), task.id.clone());
        self.tasks.push(task);
        if let Some(until) = until {
            self.schedule.add(
                until,
                Event::ReleaseLease {
                    lease_id: record.id.clone(),
                },
            );
        }
        self.space_mut(&space_id)
            .map_err(|e| e.to_string())?
            .leases
            .push(record);
        Ok(ids)
    }
}
