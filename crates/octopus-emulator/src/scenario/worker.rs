//! `WorkerSeed`: a worker of any kind, present from the start or registered later.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use anyhow::bail;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::load::millis;

/// The health statuses Octopus knows (`healthStatuses` filter values).
pub(crate) const HEALTH_STATUSES: [&str; 5] = [
    "Healthy",
    "Unavailable",
    "Unknown",
    "HasWarnings",
    "Unhealthy",
];

/// The `CommunicationStyle`s a seed models field by field; any other style takes its
/// endpoint verbatim from `endpoint`.
pub(crate) const MODELLED_STYLES: [&str; 4] = [
    "TentacleActive",
    "TentaclePassive",
    "Ssh",
    "KubernetesTentacle",
];

/// What the scenario knows of a space while validating its workers.
#[derive(Debug)]
pub(crate) struct SpaceNames {
    pub(crate) static_pools: HashSet<String>,
    pub(crate) dynamic_pools: HashSet<String>,
    pub(crate) policies: HashSet<String>,
    pub(crate) proxies: HashSet<String>,
    pub(crate) accounts: HashSet<String>,
}

/// A worker of any kind, as a seed, a scheduled registration or an [`crate::Emulator::add_worker`]
/// argument.
///
/// Kinds: polling Tentacle ([`WorkerSeed::polling`]), listening Tentacle
/// ([`WorkerSeed::listening`], optionally behind a proxy), SSH ([`WorkerSeed::ssh`], with an
/// account and optionally a proxy), Kubernetes agent ([`WorkerSeed::kubernetes_agent`]), or any
/// other style with a verbatim endpoint ([`WorkerSeed::with_endpoint`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerSeed {
    name: String,
    /// Pool names in the worker's space; empty means "Default Worker Pool".
    #[serde(default)]
    pools: Vec<String>,
    #[serde(default = "polling_style")]
    communication_style: String,
    /// Tentacle and Kubernetes agent endpoints: `poll://...` or `https://host:port/`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    uri: String,
    /// Tentacle and Kubernetes agent endpoints: the certificate thumbprint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    thumbprint: String,
    /// SSH: host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    /// SSH: port (default 22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    /// SSH: host key fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    /// SSH: the .NET Core platform of Calamari (`linux-x64`, `osx-x64`; absent: Mono).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dot_net_core_platform: Option<String>,
    /// SSH: the name of an account of the worker's space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    /// Listening Tentacle, SSH, listening Kubernetes agent: the name of a proxy of the space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    proxy: Option<String>,
    /// Kubernetes agent: `Polling` (default) or `Listening`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    communication_mode: Option<String>,
    /// Kubernetes agent: the namespace steps run in by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_namespace: Option<String>,
    /// Any other style: the endpoint object as the server would store it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<Map<String, Value>>,
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

    /// A listening Tentacle (`TentaclePassive`, `https://host:10933/`); see
    /// [`WorkerSeed::via_proxy`].
    pub fn listening(name: &str, uri: &str, thumbprint: &str) -> Self {
        WorkerSeed::with_style("TentaclePassive", name, uri, thumbprint)
    }

    /// An SSH worker (`Ssh`) on `host:port` with this host key fingerprint; it needs an
    /// account of its space ([`WorkerSeed::account`]).
    pub fn ssh(name: &str, host: &str, port: u16, fingerprint: &str) -> Self {
        WorkerSeed {
            host: Some(host.to_owned()),
            port: Some(port),
            fingerprint: Some(fingerprint.to_owned()),
            ..WorkerSeed::with_style("Ssh", name, "", "")
        }
    }

    /// A Kubernetes agent worker (`KubernetesTentacle`) polling with this subscription `uri`
    /// and certificate `thumbprint` (see [`WorkerSeed::listening_mode`]).
    pub fn kubernetes_agent(name: &str, uri: &str, thumbprint: &str) -> Self {
        WorkerSeed::with_style("KubernetesTentacle", name, uri, thumbprint)
    }

    /// A worker of any other style with this endpoint object (`CommunicationStyle` is taken
    /// from it), e.g. to show a client a kind it does not know.
    pub fn with_endpoint(name: &str, endpoint: Value) -> Self {
        let endpoint = endpoint.as_object().cloned().unwrap_or_default();
        let style = endpoint
            .get("CommunicationStyle")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        WorkerSeed {
            endpoint: Some(endpoint),
            ..WorkerSeed::with_style(&style, name, "", "")
        }
    }

    fn with_style(style: &str, name: &str, uri: &str, thumbprint: &str) -> Self {
        WorkerSeed {
            name: name.to_owned(),
            pools: Vec::new(),
            communication_style: style.to_owned(),
            uri: uri.to_owned(),
            thumbprint: thumbprint.to_owned(),
            host: None,
            port: None,
            fingerprint: None,
            dot_net_core_platform: None,
            account: None,
            proxy: None,
            communication_mode: None,
            default_namespace: None,
            endpoint: None,
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
        self.age_ms = millis(age);
        self
    }

    /// Connects through this proxy of the worker's space (listening Tentacle, SSH, listening
    /// Kubernetes agent).
    pub fn via_proxy(mut self, proxy: &str) -> Self {
        self.proxy = Some(proxy.to_owned());
        self
    }

    /// Uses this account of the worker's space (SSH).
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }

    /// Sets the SSH worker's Calamari platform (`linux-x64`, `osx-x64`).
    pub fn dot_net_core_platform(mut self, platform: &str) -> Self {
        self.dot_net_core_platform = Some(platform.to_owned());
        self
    }

    /// Makes a Kubernetes agent a listening one (`CommunicationMode: Listening`).
    pub fn listening_mode(mut self) -> Self {
        self.communication_mode = Some("Listening".to_owned());
        self
    }

    /// Sets a Kubernetes agent's `DefaultNamespace`.
    pub fn default_namespace(mut self, namespace: &str) -> Self {
        self.default_namespace = Some(namespace.to_owned());
        self
    }

    /// How long ago the worker was registered.
    pub fn registered_ago(&self) -> Duration {
        Duration::from_millis(self.age_ms)
    }

    pub(crate) fn registered_at(&self) -> SystemTime {
        let now = SystemTime::now();
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
    /// `TentacleActive`, `TentaclePassive`, `Ssh`, `KubernetesTentacle` or another style.
    pub fn communication_style(&self) -> &str {
        &self.communication_style
    }
    /// Endpoint `Uri` of a Tentacle or Kubernetes agent (empty for other kinds).
    pub fn uri(&self) -> &str {
        &self.uri
    }
    /// Endpoint `Thumbprint` of a Tentacle or Kubernetes agent (empty for other kinds).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
    /// SSH host.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
    /// SSH port (22 unless set).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(22)
    }
    /// SSH host key fingerprint.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }
    /// SSH Calamari platform.
    pub fn dot_net_core_platform_value(&self) -> Option<&str> {
        self.dot_net_core_platform.as_deref()
    }
    /// Account name (SSH).
    pub fn account_name(&self) -> Option<&str> {
        self.account.as_deref()
    }
    /// Proxy name.
    pub fn proxy_name(&self) -> Option<&str> {
        self.proxy.as_deref()
    }
    /// Kubernetes agent `CommunicationMode` (`Polling` unless set).
    pub fn communication_mode(&self) -> &str {
        self.communication_mode.as_deref().unwrap_or("Polling")
    }
    /// Kubernetes agent `DefaultNamespace`.
    pub fn default_namespace_value(&self) -> Option<&str> {
        self.default_namespace.as_deref()
    }
    /// The verbatim endpoint of another style.
    pub fn endpoint(&self) -> Option<&Map<String, Value>> {
        self.endpoint.as_ref()
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

    pub(crate) fn validate(&self, space: &SpaceNames) -> anyhow::Result<()> {
        if self.name.trim().is_empty() {
            bail!("`name` must not be empty");
        }
        self.validate_endpoint()?;
        if !HEALTH_STATUSES.contains(&self.health_status.as_str()) {
            bail!(
                "`healthStatus` '{}' is not one of {}",
                self.health_status,
                HEALTH_STATUSES.join(", ")
            );
        }
        for pool in &self.pools {
            let key = pool.trim().to_lowercase();
            if space.dynamic_pools.contains(&key) {
                bail!(
                    "`pools`: '{pool}' is a dynamic worker pool; Octopus does not allow adding workers to it"
                );
            }
            if !space.static_pools.contains(&key) {
                bail!("`pools`: the space has no worker pool named '{pool}'");
            }
        }
        if let Some(policy) = &self.machine_policy
            && !space.policies.contains(&policy.trim().to_lowercase())
        {
            bail!("`machinePolicy`: the space has no machine policy named '{policy}'");
        }
        if let Some(proxy) = &self.proxy
            && !space.proxies.contains(&proxy.trim().to_lowercase())
        {
            bail!("`proxy`: the space has no proxy named '{proxy}'");
        }
        if let Some(account) = &self.account
            && !space.accounts.contains(&account.trim().to_lowercase())
        {
            bail!("`account`: the space has no account named '{account}'");
        }
        Ok(())
    }

    fn validate_endpoint(&self) -> anyhow::Result<()> {
        let style = self.communication_style.as_str();
        let tentacle_fields = |scheme: &str| -> anyhow::Result<()> {
            if !self.uri.starts_with(scheme) {
                bail!(
                    "`uri` of a {style} worker must start with {scheme} (got '{}')",
                    self.uri
                );
            }
            if self.thumbprint.trim().is_empty() {
                bail!("`thumbprint` must not be empty");
            }
            Ok(())
        };
        let only = |allowed: &[&str]| -> anyhow::Result<()> {
            let given = [
                ("host", self.host.is_some()),
                ("port", self.port.is_some()),
                ("fingerprint", self.fingerprint.is_some()),
                ("dotNetCorePlatform", self.dot_net_core_platform.is_some()),
                ("account", self.account.is_some()),
                ("proxy", self.proxy.is_some()),
                ("communicationMode", self.communication_mode.is_some()),
                ("defaultNamespace", self.default_namespace.is_some()),
                ("endpoint", self.endpoint.is_some()),
            ];
            match given
                .iter()
                .find(|(field, set)| *set && !allowed.contains(field))
            {
                Some((field, _)) => bail!("`{field}` does not apply to a {style} worker"),
                None => Ok(()),
            }
        };
        match style {
            "TentacleActive" => {
                only(&[])?;
                tentacle_fields("poll://")
            }
            "TentaclePassive" => {
                only(&["proxy"])?;
                tentacle_fields("https://")
            }
            "Ssh" => {
                only(&[
                    "host",
                    "port",
                    "fingerprint",
                    "dotNetCorePlatform",
                    "account",
                    "proxy",
                ])?;
                if !self.uri.is_empty() || !self.thumbprint.is_empty() {
                    bail!(
                        "`uri` and `thumbprint` do not apply to an Ssh worker (it has `host`, `port`, `fingerprint`)"
                    );
                }
                if self.host.as_deref().is_none_or(|h| h.trim().is_empty()) {
                    bail!("an Ssh worker needs a non-empty `host`");
                }
                if self.port == Some(0) {
                    bail!("`port` must be between 1 and 65535");
                }
                if self
                    .fingerprint
                    .as_deref()
                    .is_none_or(|f| f.trim().is_empty())
                {
                    bail!("an Ssh worker needs a non-empty `fingerprint`");
                }
                if self.account.is_none() {
                    bail!("an Ssh worker needs an `account` of its space");
                }
                Ok(())
            }
            "KubernetesTentacle" => {
                only(&["proxy", "communicationMode", "defaultNamespace"])?;
                match self.communication_mode() {
                    "Polling" if self.proxy.is_some() => {
                        bail!("`proxy` applies to a Listening Kubernetes agent only")
                    }
                    "Polling" => tentacle_fields("poll://"),
                    "Listening" => tentacle_fields("https://"),
                    other => bail!("`communicationMode` '{other}' is not Polling or Listening"),
                }
            }
            _ => {
                only(&["endpoint"])?;
                if style.trim().is_empty() {
                    bail!(
                        "`communicationStyle` is missing: give one of {} or an `endpoint` with a CommunicationStyle",
                        MODELLED_STYLES.join(", ")
                    );
                }
                if self.endpoint.is_none() {
                    bail!(
                        "a {style} worker needs its `endpoint` object (the kinds modelled field by field are {})",
                        MODELLED_STYLES.join(", ")
                    );
                }
                Ok(())
            }
        }
    }
}
