//! The emulated server's entities, as plain data. Rendering them to Octopus JSON is
//! `render.rs`'s job; checking request bodies is `validate.rs`'s.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::timestamp;

/// `StatusSummary` of a worker that has not been health-checked yet.
pub(crate) const RECENTLY_ADDED: &str =
    "This machine was recently added. Please perform a health check.";

/// Tentacle version a health check reports.
pub(crate) const TENTACLE_VERSION: &str = "8.3.3045";
/// Kubernetes agent Helm chart version a health check reports.
pub(crate) const KUBERNETES_AGENT_VERSION: &str = "2.13.1";

#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) description: Option<String>,
    pub(crate) is_default: bool,
    pub(crate) task_queue_stopped: bool,
    pub(crate) space_managers_teams: Vec<String>,
    pub(crate) space_managers_team_members: Vec<String>,
    pub(crate) last_modified_on: String,
    pub(crate) last_modified_by: Option<String>,
    pub(crate) pools: Vec<WorkerPool>,
    pub(crate) policies: Vec<MachinePolicy>,
    pub(crate) workers: Vec<Worker>,
    pub(crate) templates: Vec<ActionTemplate>,
    pub(crate) proxies: Vec<Proxy>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) leases: Vec<Lease>,
}

impl Space {
    pub(crate) fn default_pool(&self) -> Option<&WorkerPool> {
        self.pools.iter().find(|p| p.is_default)
    }

    pub(crate) fn default_policy(&self) -> Option<&MachinePolicy> {
        self.policies.iter().find(|p| p.is_default)
    }

    pub(crate) fn pool(&self, id: &str) -> Option<&WorkerPool> {
        self.pools.iter().find(|p| p.id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn worker(&self, id: &str) -> Option<&Worker> {
        self.workers.iter().find(|w| w.id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn proxy(&self, id: &str) -> Option<&Proxy> {
        self.proxies.iter().find(|p| p.id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id.eq_ignore_ascii_case(id))
    }

    /// The leases held on a worker.
    pub(crate) fn leases_of<'a>(&'a self, worker_id: &'a str) -> impl Iterator<Item = &'a Lease> {
        self.leases.iter().filter(move |l| l.worker_id == worker_id)
    }
}

#[derive(Debug)]
pub(crate) struct WorkerPool {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) is_default: bool,
    pub(crate) sort_order: u32,
    /// `Some(worker type)` for a dynamic pool.
    pub(crate) dynamic_worker_type: Option<String>,
    pub(crate) last_modified_on: String,
}

impl WorkerPool {
    pub(crate) fn is_dynamic(&self) -> bool {
        self.dynamic_worker_type.is_some()
    }
}

#[derive(Debug)]
pub(crate) struct MachinePolicy {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_default: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Worker {
    pub(crate) id: String,
    pub(crate) worker_pool_ids: Vec<String>,
    pub(crate) name: String,
    pub(crate) is_disabled: bool,
    pub(crate) machine_policy_id: String,
    pub(crate) health_status: String,
    pub(crate) status_summary: String,
    pub(crate) has_latest_calamari: bool,
    /// The endpoint in the server's field order (see `validate::fill_endpoint`).
    pub(crate) endpoint: Map<String, Value>,
    pub(crate) operating_system: String,
    pub(crate) shell_name: String,
    pub(crate) shell_version: String,
    pub(crate) architecture: String,
    pub(crate) slug: String,
    pub(crate) skip_initial_health_check: bool,
    pub(crate) last_modified_on: String,
    pub(crate) last_modified_by: String,
}

/// Whether a style is a Tentacle endpoint (`TentacleEndpointResource`: top-level
/// `Thumbprint`/`Uri` mirror it).
pub(crate) fn is_tentacle(style: &str) -> bool {
    matches!(style, "TentacleActive" | "TentaclePassive")
}

impl Worker {
    pub(crate) fn style(&self) -> &str {
        self.endpoint
            .get("CommunicationStyle")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The top-level `Thumbprint`/`Uri`: a Tentacle endpoint's values, `null` for every other
    /// kind (fixture `worker-ssh.json`; for `KubernetesTentacle`, whose values sit under
    /// `TentacleEndpointConfiguration`, `null` is unverified).
    pub(crate) fn top_level_endpoint_field(&self, field: &str) -> Value {
        if is_tentacle(self.style()) {
            self.endpoint.get(field).cloned().unwrap_or(Value::Null)
        } else {
            Value::Null
        }
    }

    /// The certificate thumbprint the `thumbprint` filter matches: a Tentacle's, or a
    /// Kubernetes agent's `TentacleEndpointConfiguration.Thumbprint` (unverified).
    pub(crate) fn thumbprint(&self) -> Option<&str> {
        match self.style() {
            "KubernetesTentacle" => self
                .endpoint
                .get("TentacleEndpointConfiguration")
                .and_then(|c| c.get("Thumbprint"))
                .and_then(Value::as_str),
            style if is_tentacle(style) => self.endpoint.get("Thumbprint").and_then(Value::as_str),
            _ => None,
        }
    }

    /// Applies a health-check result: status text, and what a health check learns (OS, shell,
    /// Calamari, Tentacle or agent version). `Unknown` resets to the never-checked state.
    pub(crate) fn set_health(&mut self, health: &str, checked_at: SystemTime) {
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
            self.record_agent_version();
        } else if self.operating_system.is_empty() || health == "Unknown" {
            self.has_latest_calamari = false;
            self.operating_system = "Unknown".into();
            self.shell_name = "Unknown".into();
            self.shell_version = "Unknown".into();
            self.architecture = "Unknown".into();
        }
    }

    /// What a successful health check writes into the endpoint: `TentacleVersionDetails` of a
    /// Tentacle, `KubernetesAgentDetails` of a Kubernetes agent (the shape of
    /// `go-octopusdeploy: pkg/machines/kubernetes_agent_details.go`).
    fn record_agent_version(&mut self) {
        let style = self.style().to_owned();
        if is_tentacle(&style)
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
        if style == "KubernetesTentacle"
            && self
                .endpoint
                .get("KubernetesAgentDetails")
                .is_none_or(Value::is_null)
        {
            let release = format!("octopus-agent-{}", self.slug);
            self.endpoint.insert(
                "KubernetesAgentDetails".into(),
                json!({
                    "AgentVersion": KUBERNETES_AGENT_VERSION,
                    "TentacleVersion": TENTACLE_VERSION,
                    "UpgradeStatus": "NoUpgrades",
                    "HelmReleaseName": release,
                    "KubernetesNamespace": release,
                }),
            );
        }
    }
}

#[derive(Debug)]
pub(crate) struct ActionTemplate {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) version: u64,
    /// Accepted body fields other than `Name` and `Version`.
    pub(crate) fields: Map<String, Value>,
    pub(crate) last_modified_on: String,
    pub(crate) last_modified_by: String,
}

#[derive(Debug)]
pub(crate) struct Proxy {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) username: Option<String>,
    pub(crate) last_modified_on: String,
}

#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: String,
    /// `SshKeyPair` or `UsernamePassword`.
    pub(crate) account_type: String,
    pub(crate) username: String,
    pub(crate) last_modified_on: String,
}

/// A worker task lease (`WorkerTaskLeases-N`): a server task holds the worker.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub(crate) id: String,
    pub(crate) worker_id: String,
    pub(crate) worker_pool_id: String,
    pub(crate) task_id: String,
    /// The worker's name when the lease was taken (the `WorkerTaskLease` table has a `Name`
    /// column; that it holds the worker name is inferred).
    pub(crate) name: String,
    pub(crate) exclusive: bool,
    pub(crate) taken_at: String,
}

/// A server task (`ServerTasks-N`), as far as a lease needs one.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) space_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    /// `Executing`, `Success`, `Canceled`, ...
    pub(crate) state: String,
    pub(crate) queue_time: SystemTime,
    pub(crate) start_time: SystemTime,
    pub(crate) completed_time: Option<SystemTime>,
}

impl Task {
    pub(crate) fn is_completed(&self) -> bool {
        self.completed_time.is_some()
    }
}
