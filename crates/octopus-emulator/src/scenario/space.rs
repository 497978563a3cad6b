//! `SpaceSeed` and what lives in a space: pools (static and dynamic), machine policies,
//! proxies, accounts, workers, scheduled registrations and deregistrations, task leases.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::load::millis;
use crate::scenario::worker::{SpaceNames, WorkerSeed};
use crate::scenario::{DEFAULT_MACHINE_POLICY, DEFAULT_WORKER_POOL};

/// A space to create, with its pools, policies, proxies, accounts, workers, scheduled
/// registrations and task leases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpaceSeed {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    task_queue_stopped: bool,
    /// The space appears this long after the emulator started (0: from the start).
    #[serde(default, skip_serializing_if = "is_zero")]
    created_after_ms: u64,
    /// Static worker pools besides "Default Worker Pool", in sort order.
    #[serde(default)]
    worker_pools: Vec<String>,
    /// Dynamic worker pools (Octopus Cloud's hosted pools), after the static ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dynamic_worker_pools: Vec<DynamicPoolSeed>,
    /// Machine policies besides "Default Machine Policy".
    #[serde(default)]
    machine_policies: Vec<String>,
    /// Proxies of the space.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    proxies: Vec<ProxySeed>,
    /// Accounts of the space.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    accounts: Vec<AccountSeed>,
    #[serde(default)]
    workers: Vec<WorkerSeed>,
    #[serde(default)]
    registrations: Vec<RegistrationSeed>,
    /// Workers removed (by name) after a delay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deregistrations: Vec<DeregistrationSeed>,
    /// Task leases held on workers of the space.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    leases: Vec<LeaseSeed>,
    /// Step templates present from the start (bodies as POSTed to `/actiontemplates`).
    #[serde(default)]
    action_templates: Vec<Value>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl SpaceSeed {
    /// A space with only its default pool and policy.
    pub fn new(name: &str) -> Self {
        SpaceSeed {
            name: name.to_owned(),
            description: None,
            is_default: false,
            task_queue_stopped: false,
            created_after_ms: 0,
            worker_pools: Vec::new(),
            dynamic_worker_pools: Vec::new(),
            machine_policies: Vec::new(),
            proxies: Vec::new(),
            accounts: Vec::new(),
            workers: Vec::new(),
            registrations: Vec::new(),
            deregistrations: Vec::new(),
            leases: Vec::new(),
            action_templates: Vec::new(),
        }
    }

    /// Makes this the default space (legacy `/api/workers` routes and root links point at it).
    pub fn default_space(mut self) -> Self {
        self.is_default = true;
        self
    }

    /// Sets `TaskQueueStopped: true`.
    pub fn task_queue_stopped(mut self) -> Self {
        self.task_queue_stopped = true;
        self
    }

    /// Sets the space description.
    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }

    /// Creates the space `after` the emulator started instead of at start (a space someone
    /// adds while a reconciler runs). Its workers, registrations and leases wait for it.
    pub fn created_after(mut self, after: Duration) -> Self {
        self.created_after_ms = millis(after);
        self
    }

    /// Adds a static worker pool.
    pub fn pool(mut self, name: &str) -> Self {
        self.worker_pools.push(name.to_owned());
        self
    }

    /// Adds a dynamic worker pool (`WorkerPoolType: DynamicWorkerPool`, `CanAddWorkers: false`)
    /// of this worker type (e.g. `UbuntuDefault`).
    pub fn dynamic_pool(mut self, name: &str, worker_type: &str) -> Self {
        self.dynamic_worker_pools.push(DynamicPoolSeed {
            name: name.to_owned(),
            worker_type: worker_type.to_owned(),
        });
        self
    }

    /// Adds a machine policy.
    pub fn policy(mut self, name: &str) -> Self {
        self.machine_policies.push(name.to_owned());
        self
    }

    /// Adds a proxy.
    pub fn proxy(mut self, proxy: ProxySeed) -> Self {
        self.proxies.push(proxy);
        self
    }

    /// Adds an account.
    pub fn account(mut self, account: AccountSeed) -> Self {
        self.accounts.push(account);
        self
    }

    /// Adds a worker present from the start (or from [`SpaceSeed::created_after`]).
    pub fn worker(mut self, worker: WorkerSeed) -> Self {
        self.workers.push(worker);
        self
    }

    /// Schedules a worker registration `after` the emulator starts (millisecond precision).
    pub fn register_after(mut self, after: Duration, worker: WorkerSeed) -> Self {
        self.registrations.push(RegistrationSeed {
            after_ms: millis(after),
            worker,
        });
        self
    }

    /// Removes every worker of this name `after` the emulator starts (as a person deleting it
    /// in the portal would; leases do not stop it).
    pub fn deregister_after(mut self, after: Duration, worker_name: &str) -> Self {
        self.deregistrations.push(DeregistrationSeed {
            after_ms: millis(after),
            worker: worker_name.to_owned(),
        });
        self
    }

    /// Holds a task lease on a worker of this space.
    pub fn lease(mut self, lease: LeaseSeed) -> Self {
        self.leases.push(lease);
        self
    }

    /// Adds a step template present from the start (a body as POSTed to `/actiontemplates`).
    pub fn action_template(mut self, template: Value) -> Self {
        self.action_templates.push(template);
        self
    }

    /// The space name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn description_value(&self) -> Option<&str> {
        self.description.as_deref()
    }
    pub(crate) fn is_default(&self) -> bool {
        self.is_default
    }
    pub(crate) fn is_task_queue_stopped(&self) -> bool {
        self.task_queue_stopped
    }
    /// When the space appears, after the emulator started.
    pub fn created_after_value(&self) -> Duration {
        Duration::from_millis(self.created_after_ms)
    }
    /// Seeded static pool names, without the default pool.
    pub fn worker_pools(&self) -> impl Iterator<Item = &str> {
        self.worker_pools
            .iter()
            .map(String::as_str)
            .filter(|name| !name.trim().eq_ignore_ascii_case(DEFAULT_WORKER_POOL))
    }
    /// Seeded dynamic pools.
    pub fn dynamic_worker_pools(&self) -> &[DynamicPoolSeed] {
        &self.dynamic_worker_pools
    }
    /// Seeded policy names, without the default policy.
    pub fn machine_policies(&self) -> impl Iterator<Item = &str> {
        self.machine_policies
            .iter()
            .map(String::as_str)
            .filter(|name| !name.trim().eq_ignore_ascii_case(DEFAULT_MACHINE_POLICY))
    }
    /// Seeded proxies.
    pub fn proxies(&self) -> &[ProxySeed] {
        &self.proxies
    }
    /// Seeded accounts.
    pub fn accounts(&self) -> &[AccountSeed] {
        &self.accounts
    }
    /// Workers present from the start.
    pub fn workers(&self) -> &[WorkerSeed] {
        &self.workers
    }
    /// Scheduled registrations.
    pub fn registrations(&self) -> &[RegistrationSeed] {
        &self.registrations
    }
    /// Scheduled deregistrations.
    pub fn deregistrations(&self) -> &[DeregistrationSeed] {
        &self.deregistrations
    }
    /// Task leases.
    pub fn leases(&self) -> &[LeaseSeed] {
        &self.leases
    }
    pub(crate) fn action_templates(&self) -> &[Value] {
        &self.action_templates
    }

    /// The names the space's workers may refer to.
    pub(crate) fn names(&self) -> anyhow::Result<SpaceNames> {
        let mut names = SpaceNames {
            static_pools: HashSet::from([DEFAULT_WORKER_POOL.to_lowercase()]),
            dynamic_pools: HashSet::new(),
            policies: HashSet::from([DEFAULT_MACHINE_POLICY.to_lowercase()]),
            proxies: HashSet::new(),
            accounts: HashSet::new(),
        };
        for (index, pool) in self.worker_pools().enumerate() {
            if pool.trim().is_empty() || !names.static_pools.insert(pool.trim().to_lowercase()) {
                bail!("`workerPools[{index}]`: '{pool}' is empty or listed twice");
            }
        }
        for (index, pool) in self.dynamic_worker_pools.iter().enumerate() {
            let key = pool.name.trim().to_lowercase();
            if key.is_empty()
                || names.static_pools.contains(&key)
                || !names.dynamic_pools.insert(key)
            {
                bail!(
                    "`dynamicWorkerPools[{index}]`: '{}' is empty or listed twice",
                    pool.name
                );
            }
            if pool.worker_type.trim().is_empty() {
                bail!("`dynamicWorkerPools[{index}].workerType` must not be empty");
            }
        }
        for (index, policy) in self.machine_policies().enumerate() {
            if policy.trim().is_empty() || !names.policies.insert(policy.trim().to_lowercase()) {
                bail!("`machinePolicies[{index}]`: '{policy}' is empty or listed twice");
            }
        }
        for (index, proxy) in self.proxies.iter().enumerate() {
            proxy
                .validate()
                .with_context(|| format!("at `proxies[{index}]`"))?;
            if !names.proxies.insert(proxy.name.trim().to_lowercase()) {
                bail!("`proxies[{index}]`: '{}' is listed twice", proxy.name);
            }
        }
        for (index, account) in self.accounts.iter().enumerate() {
            account
                .validate()
                .with_context(|| format!("at `accounts[{index}]`"))?;
            if !names.accounts.insert(account.name.trim().to_lowercase()) {
                bail!("`accounts[{index}]`: '{}' is listed twice", account.name);
            }
        }
        Ok(names)
    }

    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.name.trim().is_empty() {
            bail!("`name` must not be empty");
        }
        let names = self.names()?;
        for (index, worker) in self.workers.iter().enumerate() {
            worker
                .validate(&names)
                .with_context(|| format!("at `workers[{index}]`"))?;
        }
        for (index, registration) in self.registrations.iter().enumerate() {
            registration
                .worker
                .validate(&names)
                .with_context(|| format!("at `registrations[{index}].worker`"))?;
        }
        let worker_names: HashSet<String> = self
            .workers
            .iter()
            .map(WorkerSeed::name)
            .chain(self.registrations.iter().map(|r| r.worker.name()))
            .map(|name| name.trim().to_lowercase())
            .collect();
        for (index, deregistration) in self.deregistrations.iter().enumerate() {
            if !worker_names.contains(&deregistration.worker.trim().to_lowercase()) {
                bail!(
                    "`deregistrations[{index}].worker`: no worker named '{}' is seeded or registered in this space",
                    deregistration.worker
                );
            }
        }
        for (index, lease) in self.leases.iter().enumerate() {
            lease
                .validate(&worker_names, &names)
                .with_context(|| format!("at `leases[{index}]`"))?;
        }
        for (index, template) in self.action_templates.iter().enumerate() {
            let named = |field: &str| {
                template
                    .get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.trim().is_empty())
            };
            if !named("Name") || !named("ActionType") {
                bail!("`actionTemplates[{index}]` needs a non-empty `Name` and `ActionType`");
            }
        }
        Ok(())
    }
}

/// A dynamic worker pool: Octopus Cloud's hosted workers; workers cannot be added to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicPoolSeed {
    name: String,
    /// e.g. `UbuntuDefault`, `WindowsDefault` (Terraform provider's
    /// `octopusdeploy_dynamic_worker_pool` example).
    worker_type: String,
}

impl DynamicPoolSeed {
    /// The pool name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its `WorkerType`.
    pub fn worker_type(&self) -> &str {
        &self.worker_type
    }
}

/// A proxy of a space (`/api/{spaceId}/proxies`); `ProxyType` is always `HTTP`, the only
/// type Octopus supports (generated API docs, `proxies.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxySeed {
    name: String,
    host: String,
    #[serde(default = "default_proxy_port")]
    port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

fn default_proxy_port() -> u16 {
    80
}

impl ProxySeed {
    /// An HTTP proxy at `host:port`.
    pub fn new(name: &str, host: &str, port: u16) -> Self {
        ProxySeed {
            name: name.to_owned(),
            host: host.to_owned(),
            port,
            username: None,
        }
    }

    /// Sets the username (the password is stored as a sensitive value the API never shows).
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    /// The proxy name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Host.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Username.
    pub fn username_value(&self) -> Option<&str> {
        self.username.as_deref()
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.name.trim().is_empty() || self.host.trim().is_empty() {
            bail!("a proxy needs a non-empty `name` and `host`");
        }
        Ok(())
    }
}

/// An account of a space (`/api/{spaceId}/accounts`), of a type an SSH worker can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountSeed {
    name: String,
    /// `SshKeyPair` or `UsernamePassword`.
    account_type: String,
    username: String,
}

impl AccountSeed {
    /// An SSH key pair account (`AccountType: SshKeyPair`).
    pub fn ssh_key_pair(name: &str, username: &str) -> Self {
        AccountSeed {
            name: name.to_owned(),
            account_type: "SshKeyPair".to_owned(),
            username: username.to_owned(),
        }
    }

    /// A username/password account (`AccountType: UsernamePassword`).
    pub fn username_password(name: &str, username: &str) -> Self {
        AccountSeed {
            name: name.to_owned(),
            account_type: "UsernamePassword".to_owned(),
            username: username.to_owned(),
        }
    }

    /// The account name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `SshKeyPair` or `UsernamePassword`.
    pub fn account_type(&self) -> &str {
        &self.account_type
    }
    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.name.trim().is_empty() {
            bail!("an account needs a non-empty `name`");
        }
        if !matches!(
            self.account_type.as_str(),
            "SshKeyPair" | "UsernamePassword"
        ) {
            bail!(
                "`accountType` '{}' is not SshKeyPair or UsernamePassword",
                self.account_type
            );
        }
        Ok(())
    }
}

/// A worker registration that happens `afterMs` milliseconds after the emulator starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationSeed {
    after_ms: u64,
    worker: WorkerSeed,
}

impl RegistrationSeed {
    /// Delay after the emulator starts.
    pub fn after(&self) -> Duration {
        Duration::from_millis(self.after_ms)
    }
    /// The worker that registers.
    pub fn worker(&self) -> &WorkerSeed {
        &self.worker
    }
}

/// Every worker of this name is removed `afterMs` milliseconds after the emulator starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeregistrationSeed {
    after_ms: u64,
    worker: String,
}

impl DeregistrationSeed {
    /// Delay after the emulator starts.
    pub fn after(&self) -> Duration {
        Duration::from_millis(self.after_ms)
    }
    /// The worker name.
    pub fn worker(&self) -> &str {
        &self.worker
    }
}

/// A task lease on a worker: a server task (`ServerTasks-N`, `State: Executing`) holds the
/// worker, so Octopus refuses to delete it; see the crate docs on leases.
///
/// In a scenario, `afterMs`/`untilMs` count from the emulator's start; given to
/// [`crate::Emulator::hold_lease`], [`LeaseSeed::until`] counts from that call and
/// [`LeaseSeed::after`] is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaseSeed {
    /// The worker's name (the first worker of that name in the space).
    worker: String,
    /// The pool the lease was taken in (default: the worker's first pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    after_ms: u64,
    /// When the lease ends on its own (absent: held until released).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until_ms: Option<u64>,
    /// The task's `Name` (default `Deploy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_name: Option<String>,
    /// The task's `Description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_description: Option<String>,
    /// The task already ended (`State: Canceled`) but the lease was never released, as in
    /// OctopusDeploy/Issues #9692 and #9868: only the server's restart (or
    /// [`crate::Emulator::release_lease`]) clears it.
    #[serde(default)]
    orphaned: bool,
    #[serde(default)]
    exclusive: bool,
}

impl LeaseSeed {
    /// A lease on the worker with this name, held until released.
    pub fn on(worker_name: &str) -> Self {
        LeaseSeed {
            worker: worker_name.to_owned(),
            pool: None,
            after_ms: 0,
            until_ms: None,
            task_name: None,
            task_description: None,
            orphaned: false,
            exclusive: false,
        }
    }

    /// Taken in this pool of the worker (default: its first pool).
    pub fn in_pool(mut self, pool: &str) -> Self {
        self.pool = Some(pool.to_owned());
        self
    }

    /// Taken this long after the emulator started (scenarios only).
    pub fn after(mut self, after: Duration) -> Self {
        self.after_ms = millis(after);
        self
    }

    /// Released on its own at this time (from start in a scenario, from now at runtime).
    pub fn until(mut self, until: Duration) -> Self {
        self.until_ms = Some(millis(until));
        self
    }

    /// The holding task's name and description.
    pub fn task(mut self, name: &str, description: &str) -> Self {
        self.task_name = Some(name.to_owned());
        self.task_description = Some(description.to_owned());
        self
    }

    /// The task has ended but the lease stayed (an orphaned lease).
    pub fn orphaned(mut self) -> Self {
        self.orphaned = true;
        self
    }

    /// Marks the lease `Exclusive`.
    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }

    /// The worker name.
    pub fn worker(&self) -> &str {
        &self.worker
    }
    pub(crate) fn pool(&self) -> Option<&str> {
        self.pool.as_deref()
    }
    /// When it is taken, after start.
    pub fn after_value(&self) -> Duration {
        Duration::from_millis(self.after_ms)
    }
    /// When it ends on its own (from start or from the runtime call).
    pub fn until_value(&self) -> Option<Duration> {
        self.until_ms.map(Duration::from_millis)
    }
    pub(crate) fn task_name(&self) -> &str {
        self.task_name.as_deref().unwrap_or("Deploy")
    }
    pub(crate) fn task_description(&self) -> String {
        self.task_description
            .clone()
            .unwrap_or_else(|| format!("Deploy to a worker (holds {})", self.worker))
    }
    /// Whether the holding task already ended.
    pub fn is_orphaned(&self) -> bool {
        self.orphaned
    }
    pub(crate) fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    fn validate(&self, workers: &HashSet<String>, names: &SpaceNames) -> anyhow::Result<()> {
        if !workers.contains(&self.worker.trim().to_lowercase()) {
            bail!(
                "`worker`: no worker named '{}' is seeded or registered in this space",
                self.worker
            );
        }
        if let Some(pool) = &self.pool
            && !names.static_pools.contains(&pool.trim().to_lowercase())
        {
            bail!("`pool`: the space has no static worker pool named '{pool}'");
        }
        if let Some(until) = self.until_ms
            && until < self.after_ms
        {
            bail!(
                "`untilMs` ({until}) is before `afterMs` ({})",
                self.after_ms
            );
        }
        Ok(())
    }
}
