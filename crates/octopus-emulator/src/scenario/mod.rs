//! Scenario: what an emulator instance starts with (spaces, workers, keys, scheduled events,
//! faults, load behaviour).

mod space;
mod worker;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

pub use space::{
    AccountSeed, DeregistrationSeed, DynamicPoolSeed, LeaseSeed, ProxySeed, RegistrationSeed,
    SpaceSeed,
};
pub use worker::WorkerSeed;

use crate::access::ApiKeySeed;
use crate::fault::Fault;
use crate::load::{ConcurrencyLimit, OutageSeed, millis};

/// Name of the worker pool every space is created with.
pub const DEFAULT_WORKER_POOL: &str = "Default Worker Pool";
/// Name of the machine policy every space is created with.
pub const DEFAULT_MACHINE_POLICY: &str = "Default Machine Policy";
/// Server version the emulator reports unless the scenario says otherwise.
pub const DEFAULT_VERSION: &str = "2026.3.0";

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
    /// Extra latency per other request in flight when a request is admitted, in milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    latency_per_in_flight_ms: u64,
    /// At most this many requests in flight; the rest are refused or queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    concurrency_limit: Option<ConcurrencyLimit>,
    /// Refuse a second worker with the same name in a space (Octopus does; default `true`).
    #[serde(default = "default_true")]
    reject_duplicate_names: bool,
    /// Serve the `/api/spaces/{spaceId}/...` route family (2026 servers do; the 2020.5
    /// swagger has no such routes). Default `true`.
    #[serde(default = "default_true")]
    spaces_route_family: bool,
    /// Serve `/api/{spaceId}/workertaskleases` (Octopus 2024.2.5816 and later do). Default
    /// `true`; `false` models an older server, answering 404.
    #[serde(default = "default_true")]
    worker_task_leases: bool,
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
    /// More keys or tokens, each with its own access per space.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    api_keys: Vec<ApiKeySeed>,
    /// Spaces, created in this order (`Spaces-1`, `Spaces-2`, ...; spaces created later get
    /// their ids when they appear).
    #[serde(default)]
    spaces: Vec<SpaceSeed>,
    /// Faults armed from the start.
    #[serde(default)]
    faults: Vec<Fault>,
    /// Outages: every request dropped or refused for a while.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outages: Vec<OutageSeed>,
}

fn default_true() -> bool {
    true
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 0,
            latency_ms: 0,
            latency_per_in_flight_ms: 0,
            concurrency_limit: None,
            reject_duplicate_names: true,
            spaces_route_family: true,
            worker_task_leases: true,
            version: None,
            draining: false,
            api_key: None,
            read_only_api_key: None,
            access_token: None,
            api_keys: Vec::new(),
            spaces: Vec::new(),
            faults: Vec::new(),
            outages: Vec::new(),
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
        self.latency_ms = millis(per_request);
        self
    }

    /// Adds `per_other_request` of latency for every other request already in flight when a
    /// request is admitted (a server that slows down under load).
    pub fn latency_per_in_flight(mut self, per_other_request: Duration) -> Self {
        self.latency_per_in_flight_ms = millis(per_other_request);
        self
    }

    /// Caps the requests in flight (see [`ConcurrencyLimit`]).
    pub fn concurrency_limit(mut self, limit: ConcurrencyLimit) -> Self {
        self.concurrency_limit = Some(limit);
        self
    }

    /// Schedules an outage.
    pub fn outage(mut self, outage: OutageSeed) -> Self {
        self.outages.push(outage);
        self
    }

    /// Accepts a second worker with an existing name in a space (turns off Octopus's rule).
    pub fn allow_duplicate_names(mut self) -> Self {
        self.reject_duplicate_names = false;
        self
    }

    /// Answers 404 to the `/api/spaces/{spaceId}/...` route family, as servers before it
    /// existed do (the 2020.5 swagger has none of these routes).
    pub fn without_spaces_route_family(mut self) -> Self {
        self.spaces_route_family = false;
        self
    }

    /// Answers 404 to `/api/{spaceId}/workertaskleases`, as servers before 2024.2.5816 do
    /// (the endpoint answered OctopusDeploy/Issues#7707): a client learns whether a worker is
    /// busy only from the refused DELETE.
    pub fn without_worker_task_leases(mut self) -> Self {
        self.worker_task_leases = false;
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

    /// Accepts another key or token with its own access per space.
    pub fn scoped_key(mut self, key: ApiKeySeed) -> Self {
        self.api_keys.push(key);
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

    /// The scoped keys.
    pub fn scoped_keys(&self) -> &[ApiKeySeed] {
        &self.api_keys
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
    pub(crate) fn latency_per_in_flight_value(&self) -> Duration {
        Duration::from_millis(self.latency_per_in_flight_ms)
    }
    pub(crate) fn concurrency_limit_value(&self) -> Option<ConcurrencyLimit> {
        self.concurrency_limit
    }
    pub(crate) fn outages(&self) -> &[OutageSeed] {
        &self.outages
    }
    pub(crate) fn rejects_duplicate_names(&self) -> bool {
        self.reject_duplicate_names
    }
    pub(crate) fn serves_spaces_route_family(&self) -> bool {
        self.spaces_route_family
    }
    pub(crate) fn serves_worker_task_leases(&self) -> bool {
        self.worker_task_leases
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

    /// Checks what the types cannot: references between names, value ranges, one default
    /// space, distinct credentials.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut space_names = HashSet::new();
        let mut defaults = 0;
        for (index, space) in self.spaces.iter().enumerate() {
            space
                .validate()
                .with_context(|| format!("invalid scenario at `spaces[{index}]`"))?;
            if !space_names.insert(space.name().trim().to_lowercase()) {
                bail!(
                    "invalid scenario at `spaces[{index}].name`: a space named '{}' is listed twice",
                    space.name()
                );
            }
            if space.is_default() && !space.created_after_value().is_zero() {
                bail!(
                    "invalid scenario at `spaces[{index}]`: the default space must exist from the start (no `createdAfterMs`)"
                );
            }
            defaults += usize::from(space.is_default());
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
        if let Some(limit) = &self.concurrency_limit {
            limit
                .validate()
                .context("invalid scenario at `concurrencyLimit`")?;
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
        let names: Vec<&str> = self.spaces.iter().map(SpaceSeed::name).collect();
        let mut keys = HashSet::new();
        let mut tokens = HashSet::new();
        for key in [
            self.api_key.as_deref().unwrap_or(crate::DEFAULT_API_KEY),
            self.read_only_api_key
                .as_deref()
                .unwrap_or(crate::DEFAULT_READ_ONLY_API_KEY),
        ] {
            if !keys.insert(key.to_owned()) {
                bail!("invalid scenario at `readOnlyApiKey`: must differ from `apiKey`");
            }
        }
        tokens.insert(
            self.access_token
                .as_deref()
                .unwrap_or(crate::DEFAULT_ACCESS_TOKEN)
                .to_owned(),
        );
        for (index, key) in self.api_keys.iter().enumerate() {
            key.validate(&names)
                .with_context(|| format!("invalid scenario at `apiKeys[{index}]`"))?;
            let fresh = match (key.key(), key.token()) {
                (Some(key), _) => keys.insert(key.to_owned()),
                (None, Some(token)) => tokens.insert(token.to_owned()),
                (None, None) => true,
            };
            if !fresh {
                bail!(
                    "invalid scenario at `apiKeys[{index}]`: the key or token is already used by another credential"
                );
            }
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
