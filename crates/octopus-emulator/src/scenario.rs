//! Scenario: what an emulator instance starts with (spaces, workers, scheduled registrations, faults).

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fault::Fault;

/// Name of the worker pool every space is created with.
pub const DEFAULT_WORKER_POOL: &str = "Default Worker Pool";
/// Name of the machine policy every space is created with.
pub const DEFAULT_MACHINE_POLICY: &str = "Default Machine Policy";
/// Server version the emulator reports unless the scenario says otherwise.
pub const DEFAULT_VERSION: &str = "2026.3.0";

/// The health statuses Octopus knows (`healthStatuses` filter values).
pub(crate) const HEALTH_STATUSES: [&str; 5] = [
    "Healthy",
    "Unavailable",
    "Unknown",
    "HasWarnings",
    "Unhealthy",
];

/// Everything an emulator starts with. Build it in code or load it from JSON (see the crate docs
/// for the file format); both go through the same validation when the emulator starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Seed of the random generator that decides whether a fault with `rate < 1` fires.
    #[serde(default)]
    seed: u64,
    /// Fixed latency added to every request, in milliseconds.
    #[serde(default)]
    latency_ms: u64,
    /// Refuse a second worker with the same name in a space (Octopus does; default `true`).
    #[serde(default = "default_true")]
    reject_duplicate_names: bool,
    /// Server version reported by `/api` and the `Octopus-Node` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    /// Start with `/api/octopusservernodes/ping` answering 418.
    #[serde(default)]
    draining: bool,
    /// Admin API key to accept instead of the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    /// Read-only API key to accept instead of the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read_only_api_key: Option<String>,
    /// Bearer access token to accept instead of the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    /// Spaces, created in this order (`Spaces-1`, `Spaces-2`, ...).
    #[serde(default)]
    spaces: Vec<SpaceSeed>,
    /// Faults armed from the start.
    #[serde(default)]
    faults: Vec<Fault>,
}

fn default_true() -> bool {
    true
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 0,
            latency_ms: 0,
            reject_duplicate_names: true,
            version: None,
            draining: false,
            api_key: None,
            read_only_api_key: None,
            access_token: None,
            spaces: Vec::new(),
            faults: Vec::new(),
        }
    }
}

impl Scenario {
    /// An empty instance: no spaces, no faults, seed 0, no latency.
    pub fn new() -> Self {
        Scenario::default()
    }

    /// Parses and validates a scenario document. Errors name the offending field, e.g.
    /// `spaces[0].workers[1]: unknown field `pool`, expected one of ...`.
    pub fn from_json_str(s: &str) -> anyhow::Result<Self> {
        let deserializer = &mut serde_json::Deserializer::from_str(s);
        let scenario: Scenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            anyhow::anyhow!("invalid scenario at `{path}`: {}", e.into_inner())
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads a scenario file (see [`Scenario::from_json_str`]).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario file {}", path.display()))?;
        Scenario::from_json_str(&text)
            .with_context(|| format!("in scenario file {}", path.display()))
    }

    /// Appends a space.
    pub fn space(mut self, space: SpaceSeed) -> Self {
        self.spaces.push(space);
        self
    }

    /// Arms a fault from the start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Seeds the random generator used by faults with `rate < 1`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Adds a fixed latency to every request (millisecond precision).
    pub fn latency(mut self, per_request: Duration) -> Self {
        self.latency_ms = u64::try_from(per_request.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Accepts a second worker with an existing name in a space (turns off Octopus's rule).
    pub fn allow_duplicate_names(mut self) -> Self {
        self.reject_duplicate_names = false;
        self
    }

    /// Reports this server version (default [`DEFAULT_VERSION`]).
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// Starts draining: `/api/octopusservernodes/ping` answers 418.
    pub fn draining(mut self) -> Self {
        self.draining = true;
        self
    }

    /// Accepts this admin API key instead of the built-in one.
    pub fn api_key(mut self, key: &str) -> Self {
        self.api_key = Some(key.to_owned());
        self
    }

    /// Accepts this read-only API key instead of the built-in one.
    pub fn read_only_api_key(mut self, key: &str) -> Self {
        self.read_only_api_key = Some(key.to_owned());
        self
    }

    /// Accepts this bearer token instead of the built-in one.
    pub fn access_token(mut self, token: &str) -> Self {
        self.access_token = Some(token.to_owned());
        self
    }

    /// The spaces, in creation order.
    pub fn spaces(&self) -> &[SpaceSeed] {
        &self.spaces
    }

    /// The faults armed from the start.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Serialises the scenario in the file format [`Scenario::from_json_str`] reads.
    pub fn to_json_string(&self) -> String {
        // A scenario holds only strings, numbers, booleans and JSON values: it always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub(crate) fn seed_value(&self) -> u64 {
        self.seed
    }
    pub(crate) fn latency_value(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
    pub(crate) fn rejects_duplicate_names(&self) -> bool {
        self.reject_duplicate_names
    }
    pub(crate) fn version_value(&self) -> &str {
        self.version.as_deref().unwrap_or(DEFAULT_VERSION)
    }
    pub(crate) fn is_draining(&self) -> bool {
        self.draining
    }
    pub(crate) fn api_key_value(&self) -> Option<&str> {
        self.api_key.as_deref()
    }
    pub(crate) fn read_only_api_key_value(&self) -> Option<&str> {
        self.read_only_api_key.as_deref()
    }
    pub(crate) fn access_token_value(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    /// Checks what the types cannot: references between names, value ranges, one default space.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut space_names = HashSet::new();
        let mut defaults = 0;
        for (index, space) in self.spaces.iter().enumerate() {
            space
                .validate()
                .with_context(|| format!("invalid scenario at `spaces[{index}]`"))?;
            if !space_names.insert(space.name.trim().to_lowercase()) {
                bail!(
                    "invalid scenario at `spaces[{index}].name`: a space named '{}' is listed twice",
                    space.name
                );
            }
            defaults += usize::from(space.is_default);
        }
        if defaults > 1 {
            bail!(
                "invalid scenario at `spaces`: {defaults} spaces have `isDefault: true`, at most one may"
            );
        }
        for (index, fault) in self.faults.iter().enumerate() {
            fault
                .validate()
                .with_context(|| format!("invalid scenario at `faults[{index}]`"))?;
        }
        for (field, value) in [
            ("apiKey", &self.api_key),
            ("readOnlyApiKey", &self.read_only_api_key),
            ("accessToken", &self.access_token),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                bail!("invalid scenario at `{field}`: must not be empty");
            }
        }
        if self.api_key.is_some() && self.api_key == self.read_only_api_key {
            bail!("invalid scenario at `readOnlyApiKey`: must differ from `apiKey`");
        }
        Ok(())
    }
}

/// A space to create, with its pools, policies, workers and scheduled registrations.
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
    /// Static worker pools besides "Default Worker Pool", in sort order.
    #[serde(default)]
    worker_pools: Vec<String>,
    /// Machine policies besides "Default Machine Policy".
    #[serde(default)]
    machine_policies: Vec<String>,
    #[serde(default)]
    workers: Vec<WorkerSeed>,
    #[serde(default)]
    registrations: Vec<RegistrationSeed>,
    /// Step templates present from the start (bodies as POSTed to `/actiontemplates`).
    #[serde(default)]
    action_templates: Vec<Value>,
}

impl SpaceSeed {
    /// A space with only its default pool and policy.
    pub fn new(name: &str) -> Self {
        SpaceSeed {
            name: name.to_owned(),
            description: None,
            is_default: false,
            task_queue_stopped: false,
            worker_pools: Vec::new(),
            machine_policies: Vec::new(),
            workers: Vec::new(),
            registrations: Vec::new(),
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

    /// Adds a static worker pool.
    pub fn pool(mut self, name: &str) -> Self {
        self.worker_pools.push(name.to_owned());
        self
    }

    /// Adds a machine policy.
    pub fn policy(mut self, name: &str) -> Self {
        self.machine_policies.push(name.to_owned());
        self
    }

    /// Adds a worker present from the start.
    pub fn worker(mut self, worker: WorkerSeed) -> Self {
        self.workers.push(worker);
        self
    }

    /// Schedules a worker registration `after` the emulator starts (millisecond precision).
    pub fn register_after(mut self, after: Duration, worker: WorkerSeed) -> Self {
        self.registrations.push(RegistrationSeed {
            after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            worker,
        });
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
    /// Seeded pool names, without the default pool.
    pub fn worker_pools(&self) -> impl Iterator<Item = &str> {
        self.worker_pools
            .iter()
            .map(String::as_str)
            .filter(|name| !name.trim().eq_ignore_ascii_case(DEFAULT_WORKER_POOL))
    }
    /// Seeded policy names, without the default policy.
    pub fn machine_policies(&self) -> impl Iterator<Item = &str> {
        self.machine_policies
            .iter()
            .map(String::as_str)
            .filter(|name| !name.trim().eq_ignore_ascii_case(DEFAULT_MACHINE_POLICY))
    }
    /// Workers present from the start.
    pub fn workers(&self) -> &[WorkerSeed] {
        &self.workers
    }
    /// Scheduled registrations.
    pub fn registrations(&self) -> &[RegistrationSeed] {
        &self.registrations
    }
    pub(crate) fn action_templates(&self) -> &[Value] {
        &self.action_templates
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.name.trim().is_empty() {
            bail!("`name` must not be empty");
        }
        let mut pools: HashSet<String> = HashSet::from([DEFAULT_WORKER_POOL.to_lowercase()]);
        for (index, pool) in self.worker_pools().enumerate() {
            if pool.trim().is_empty() || !pools.insert(pool.trim().to_lowercase()) {
                bail!("`workerPools[{index}]`: '{pool}' is empty or listed twice");
            }
        }
        let mut policies: HashSet<String> = HashSet::from([DEFAULT_MACHINE_POLICY.to_lowercase()]);
        for (index, policy) in self.machine_policies().enumerate() {
            if policy.trim().is_empty() || !policies.insert(policy.trim().to_lowercase()) {
                bail!("`machinePolicies[{index}]`: '{policy}' is empty or listed twice");
            }
        }
        for (index, worker) in self.workers.iter().enumerate() {
            worker
                .validate(&pools, &policies)
                .with_context(|| format!("at `workers[{index}]`"))?;
        }
        for (index, registration) in self.registrations.iter().enumerate() {
            registration
                .worker
                .validate(&pools, &policies)
                .with_context(|| format!("at `registrations[{index}].worker`"))?;
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

/// A Tentacle worker, as a seed or a scheduled registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerSeed {
    name: String,
    /// Pool names in the worker's space; empty means "Default Worker Pool".
    #[serde(default)]
    pools: Vec<String>,
    #[serde(default = "polling_style")]
    communication_style: String,
    uri: String,
    thumbprint: String,
    #[serde(default = "healthy")]
    health_status: String,
    #[serde(default)]
    is_disabled: bool,
    /// Machine policy name; absent means the space's default policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    machine_policy: Option<String>,
    /// How long before the emulator started the worker was registered and last health-checked
    /// (`LastModifiedOn`, "last checked" in `StatusSummary`).
    #[serde(default, skip_serializing_if = "is_zero")]
    age_ms: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn polling_style() -> String {
    "TentacleActive".to_owned()
}

fn healthy() -> String {
    "Healthy".to_owned()
}

impl WorkerSeed {
    /// A polling Tentacle (`TentacleActive`, `poll://...` subscription id), healthy, enabled,
    /// in the default pool until [`WorkerSeed::in_pool`] says otherwise.
    pub fn polling(name: &str, uri: &str, thumbprint: &str) -> Self {
        WorkerSeed::with_style("TentacleActive", name, uri, thumbprint)
    }

    /// A listening Tentacle (`TentaclePassive`, `https://host:10933/`).
    pub fn listening(name: &str, uri: &str, thumbprint: &str) -> Self {
        WorkerSeed::with_style("TentaclePassive", name, uri, thumbprint)
    }

    fn with_style(style: &str, name: &str, uri: &str, thumbprint: &str) -> Self {
        WorkerSeed {
            name: name.to_owned(),
            pools: Vec::new(),
            communication_style: style.to_owned(),
            uri: uri.to_owned(),
            thumbprint: thumbprint.to_owned(),
            health_status: healthy(),
            is_disabled: false,
            machine_policy: None,
            age_ms: 0,
        }
    }

    /// Adds the worker to a pool (by name; call again for more pools).
    pub fn in_pool(mut self, pool: &str) -> Self {
        self.pools.push(pool.to_owned());
        self
    }

    /// Sets `HealthStatus` (`Healthy`, `Unavailable`, `Unknown`, `HasWarnings`, `Unhealthy`).
    pub fn health(mut self, health: &str) -> Self {
        self.health_status = health.to_owned();
        self
    }

    /// Sets `IsDisabled`.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.is_disabled = disabled;
        self
    }

    /// Uses this machine policy (by name) instead of the space's default.
    pub fn policy(mut self, policy: &str) -> Self {
        self.machine_policy = Some(policy.to_owned());
        self
    }

    /// Dates the registration `age` back (e.g. a stale worker left from yesterday).
    pub fn age(mut self, age: Duration) -> Self {
        self.age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// How long ago the worker was registered.
    pub fn registered_ago(&self) -> Duration {
        Duration::from_millis(self.age_ms)
    }

    pub(crate) fn registered_at(&self) -> std::time::SystemTime {
        let now = std::time::SystemTime::now();
        now.checked_sub(self.registered_ago()).unwrap_or(now)
    }

    /// The worker name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Pool names (empty: the default pool).
    pub fn pools(&self) -> &[String] {
        &self.pools
    }
    /// `TentacleActive` or `TentaclePassive`.
    pub fn communication_style(&self) -> &str {
        &self.communication_style
    }
    /// Endpoint `Uri`.
    pub fn uri(&self) -> &str {
        &self.uri
    }
    /// Endpoint `Thumbprint`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
    /// `HealthStatus`.
    pub fn health_status(&self) -> &str {
        &self.health_status
    }
    /// `IsDisabled`.
    pub fn is_disabled(&self) -> bool {
        self.is_disabled
    }
    /// Machine policy name, if not the default.
    pub fn machine_policy(&self) -> Option<&str> {
        self.machine_policy.as_deref()
    }

    pub(crate) fn validate(
        &self,
        pools: &HashSet<String>,
        policies: &HashSet<String>,
    ) -> anyhow::Result<()> {
        if self.name.trim().is_empty() {
            bail!("`name` must not be empty");
        }
        match self.communication_style.as_str() {
            "TentacleActive" if !self.uri.starts_with("poll://") => {
                bail!(
                    "`uri` of a TentacleActive worker must start with poll:// (got '{}')",
                    self.uri
                )
            }
            "TentaclePassive" if !self.uri.starts_with("https://") => {
                bail!(
                    "`uri` of a TentaclePassive worker must start with https:// (got '{}')",
                    self.uri
                )
            }
            "TentacleActive" | "TentaclePassive" => {}
            other => bail!(
                "`communicationStyle` '{other}' is not supported, expected TentacleActive or TentaclePassive"
            ),
        }
        if self.thumbprint.trim().is_empty() {
            bail!("`thumbprint` must not be empty");
        }
        if !HEALTH_STATUSES.contains(&self.health_status.as_str()) {
            bail!(
                "`healthStatus` '{}' is not one of {}",
                self.health_status,
                HEALTH_STATUSES.join(", ")
            );
        }
        for pool in &self.pools {
            if !pools.contains(&pool.trim().to_lowercase()) {
                bail!("`pools`: the space has no worker pool named '{pool}'");
            }
        }
        if let Some(policy) = &self.machine_policy
            && !policies.contains(&policy.trim().to_lowercase())
        {
            bail!("`machinePolicy`: the space has no machine policy named '{policy}'");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_round_trips_through_json() {
        let scenario = Scenario::new()
            .seed(7)
            .latency(Duration::from_millis(5))
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .pool("AWS Worker Pool TF")
                    .worker(
                        WorkerSeed::polling("w1", "poll://abcdefghijklmnopqrst/", "AB")
                            .in_pool("AWS Worker Pool TF"),
                    ),
            )
            .fault(Fault::drop_connection().path("/api/*/workers").limit(1));
        let text = scenario.to_json_string();
        assert_eq!(Scenario::from_json_str(&text).ok(), Some(scenario));
    }
}
