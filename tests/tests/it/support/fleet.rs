//! The shared-fleet scenario every end-to-end family uses, and the exact state a converged run
//! must leave: every source worker once in each target pool, nothing else created, nothing
//! deleted that should stay.
//!
//! Source space "Default" (the default space, first in server order, so discover picks it as
//! the initial space): `web-1..web-N` in the shared pool, plus `source-unrelated` in another
//! pool (never shared). Every target space "Target k" has the shared pool, "Other Pool" and a
//! "Fast" policy, and holds workers that must survive the run:
//!
//! - `unrelated-k`: a polling worker in "Other Pool" only;
//! - `keeper-k`: a healthy polling worker in the shared pool whose endpoint is not the source's
//!   (healthy workers are never pruned, not even with `--prune`).
//!
//! and, to exercise every kind of write:
//!
//! - Target 1: `web-1` already registered with its endpoint but only in "Other Pool" (a PUT adds
//!   the shared pool, keeping "Other Pool");
//! - Target 2: a stale `web-2` (same name, old endpoint, unavailable) in the shared pool (a PUT
//!   replaces its endpoint in place, keeping its Id);
//! - Target 3: `gone-3`, an unavailable polling worker in the shared pool that is not in the
//!   source (deleted with `--prune`, kept without).
//!
//! A fleet of every kind ([`Fleet::every_kind`]) adds to the source a listening Tentacle
//! `listener-1` behind the proxy [`PROXY`], an SSH worker `ssh-1` (account [`ACCOUNT`], behind
//! [`PROXY`]) and a Kubernetes agent `agent-1`, gives every space its own proxy and account of
//! those names (their Ids differ per space), and adds a stale `ssh-1` (another host key
//! fingerprint, unavailable) to Target 2 (replaced in place) and an unavailable Kubernetes
//! agent `gone-agent-3` that is not in the source to Target 3 (deleted with `--prune`). The
//! state compared holds each worker's identity (per kind) and the *names* of the proxy and
//! account it refers to, resolved in its own space, so a copy pointing at another space's
//! proxy cannot pass.

use std::collections::{BTreeMap, BTreeSet};

use octopus_emulator::{AccountSeed, Emulator, ProxySeed, Scenario, SpaceSeed, WorkerSeed};
use serde_json::Value;

/// The pool shared across spaces.
pub const POOL: &str = "AWS Worker Pool TF";
/// Another pool in every space.
pub const OTHER_POOL: &str = "Other Pool";
/// The source space's name.
pub const SOURCE: &str = "Default";

/// A polling subscription id `poll://` + 20 alphanumerics + `/`.
pub fn uri(n: u32) -> String {
    format!("poll://w{n:019}/")
}

/// A 40-hex-digit thumbprint.
pub fn thumbprint(n: u32) -> String {
    format!("{:040X}", 0xABCD_0000_u64 + u64::from(n))
}

/// A healthy polling worker with endpoint `n`.
pub fn polling(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::polling(name, &uri(n), &thumbprint(n))
}

/// The proxy every space of a fleet of every kind has (each its own).
pub const PROXY: &str = "corp-proxy";
/// The SSH account every space of a fleet of every kind has (each its own).
pub const ACCOUNT: &str = "deploy-key";

fn listening_uri(n: u32) -> String {
    format!("https://listener-{n}.corp.example:10933/")
}

fn ssh_host(n: u32) -> String {
    format!("ssh-{n}.corp.example")
}

fn fingerprint(n: u32) -> String {
    format!("SHA256:hostkey{n:06}")
}

fn agent_uri(n: u32) -> String {
    format!("poll://k{n:019}/")
}

/// A listening Tentacle with endpoint `n`, behind [`PROXY`].
fn listening(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::listening(name, &listening_uri(n), &thumbprint(n)).via_proxy(PROXY)
}

/// An SSH worker with host and fingerprint `n`, account [`ACCOUNT`], behind [`PROXY`].
fn ssh(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::ssh(name, &ssh_host(n), 22, &fingerprint(n))
        .account(ACCOUNT)
        .via_proxy(PROXY)
}

/// A polling Kubernetes agent with subscription and thumbprint `n`.
fn agent(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::kubernetes_agent(name, &agent_uri(n), &thumbprint(n))
}

/// The kinds of a fleet of every kind's extra source workers: name, kind, endpoint number.
const EXTRA_KINDS: [(&str, Kind, u32); 3] = [
    ("listener-1", Kind::Listening, 601),
    ("ssh-1", Kind::Ssh, 602),
    ("agent-1", Kind::Agent, 603),
];

/// A kind of worker, for the expected state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Polling,
    Listening,
    Ssh,
    Agent,
}

impl Kind {
    fn identity(self, n: u32) -> String {
        match self {
            Kind::Polling => tentacle_identity(&uri(n), &thumbprint(n)),
            Kind::Listening => tentacle_identity(&listening_uri(n), &thumbprint(n)),
            Kind::Ssh => ssh_identity(&ssh_host(n), 22, &fingerprint(n)),
            Kind::Agent => agent_identity(&agent_uri(n), &thumbprint(n)),
        }
    }

    fn references(self) -> &'static [&'static str] {
        match self {
            Kind::Polling | Kind::Agent => &[],
            Kind::Listening => &["proxy corp-proxy"],
            Kind::Ssh => &["account deploy-key", "proxy corp-proxy"],
        }
    }
}

fn tentacle_identity(uri: &str, thumbprint: &str) -> String {
    format!(
        "tentacle {} {}",
        uri.trim_end_matches('/').to_lowercase(),
        thumbprint.to_uppercase()
    )
}

fn ssh_identity(host: &str, port: u64, fingerprint: &str) -> String {
    format!("ssh {}:{port} {fingerprint}", host.to_lowercase())
}

fn agent_identity(uri: &str, thumbprint: &str) -> String {
    format!(
        "agent {} {}",
        uri.trim_end_matches('/').to_lowercase(),
        thumbprint.to_uppercase()
    )
}

/// The name of target space `k`.
pub fn target_name(k: u32) -> String {
    format!("Target {k}")
}

/// Shape of a fleet scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fleet {
    /// Workers `web-1..` in the source pool.
    pub source_workers: u32,
    /// Target spaces `Target 1..`.
    pub targets: u32,
    /// Whether the source also holds a listening Tentacle, an SSH worker and a Kubernetes
    /// agent (and every space a proxy and an account), see the module docs.
    pub every_kind: bool,
}

impl Fleet {
    /// The emulator scenario (no faults).
    pub fn scenario(&self) -> Scenario {
        let references = |space: SpaceSeed, name: &str| {
            if self.every_kind {
                let host = format!("proxy.{}.example", name.to_lowercase().replace(' ', "-"));
                space
                    .proxy(ProxySeed::new(PROXY, &host, 3128))
                    .account(AccountSeed::ssh_key_pair(ACCOUNT, "deploy"))
            } else {
                space
            }
        };
        let mut source = references(
            SpaceSeed::new(SOURCE)
                .default_space()
                .pool(POOL)
                .pool(OTHER_POOL)
                .worker(polling("source-unrelated", 900).in_pool(OTHER_POOL)),
            SOURCE,
        );
        for n in 1..=self.source_workers {
            source = source.worker(polling(&format!("web-{n}"), n).in_pool(POOL));
        }
        if self.every_kind {
            source = source
                .worker(listening("listener-1", 601).in_pool(POOL))
                .worker(ssh("ssh-1", 602).in_pool(POOL))
                .worker(agent("agent-1", 603).in_pool(POOL));
        }
        let mut scenario = Scenario::new().space(source);
        for k in 1..=self.targets {
            let mut space = references(
                SpaceSeed::new(&target_name(k))
                    .pool(POOL)
                    .pool(OTHER_POOL)
                    .policy("Fast")
                    .worker(polling(&format!("unrelated-{k}"), 100 + k).in_pool(OTHER_POOL))
                    .worker(polling(&format!("keeper-{k}"), 200 + k).in_pool(POOL)),
                &target_name(k),
            );
            match k {
                2 if self.every_kind => {
                    space = space.worker(ssh("ssh-1", 702).in_pool(POOL).health("Unavailable"));
                }
                3 if self.every_kind => {
                    space = space.worker(
                        agent("gone-agent-3", 703)
                            .in_pool(POOL)
                            .health("Unavailable"),
                    );
                }
                _ => {}
            }
            match k {
                1 if self.source_workers >= 1 => {
                    space = space.worker(polling("web-1", 1).in_pool(OTHER_POOL));
                }
                2 if self.source_workers >= 2 => {
                    space = space.worker(polling("web-2", 500).in_pool(POOL).health("Unavailable"));
                }
                3 => {
                    space =
                        space.worker(polling("gone-3", 300).in_pool(POOL).health("Unavailable"));
                }
                _ => {}
            }
            scenario = scenario.space(space);
        }
        scenario
    }

    /// How many workers a converged first run creates (what is neither there nor replaced).
    pub fn creates_needed(&self) -> u64 {
        let mut needed = u64::from(self.targets * self.source_workers);
        if self.targets >= 1 && self.source_workers >= 1 {
            needed -= 1; // Target 1's web-1 is there, outside the pool
        }
        if self.targets >= 2 && self.source_workers >= 2 {
            needed -= 1; // Target 2's stale web-2 is replaced
        }
        if self.every_kind {
            needed += u64::from(self.targets) * EXTRA_KINDS.len() as u64;
            if self.targets >= 2 {
                needed -= 1; // Target 2's stale ssh-1 is replaced
            }
        }
        needed
    }

    /// The shared source workers: name, kind and endpoint number.
    fn shared_workers(&self) -> Vec<(String, Kind, u32)> {
        let mut workers: Vec<(String, Kind, u32)> = (1..=self.source_workers)
            .map(|n| (format!("web-{n}"), Kind::Polling, n))
            .collect();
        if self.every_kind {
            workers.extend(
                EXTRA_KINDS
                    .iter()
                    .map(|(name, kind, n)| ((*name).to_owned(), *kind, *n)),
            );
        }
        workers
    }

    /// Target space names.
    pub fn target_names(&self) -> Vec<String> {
        (1..=self.targets).map(target_name).collect()
    }

    /// Comma-joined target space Ids (what discover's `RemainingSpaceIds` holds).
    pub fn target_ids(&self, emulator: &Emulator) -> String {
        self.target_names()
            .iter()
            .map(|name| emulator.space_id(name).expect("target space exists"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The exact state of every space after a converged run (`pruned`: with `--prune`).
    pub fn expected(&self, pruned: bool) -> BTreeMap<String, BTreeSet<WorkerState>> {
        let mut spaces = BTreeMap::new();
        let shared = self.shared_workers();
        let mut source = BTreeSet::from([WorkerState::new(
            "source-unrelated",
            Kind::Polling,
            900,
            &[OTHER_POOL],
        )]);
        for (name, kind, n) in &shared {
            source.insert(WorkerState::new(name, *kind, *n, &[POOL]));
        }
        spaces.insert(SOURCE.to_owned(), source);
        for k in 1..=self.targets {
            let mut workers = BTreeSet::from([
                WorkerState::new(
                    &format!("unrelated-{k}"),
                    Kind::Polling,
                    100 + k,
                    &[OTHER_POOL],
                ),
                WorkerState::new(&format!("keeper-{k}"), Kind::Polling, 200 + k, &[POOL]),
            ]);
            for (name, kind, n) in &shared {
                let pools: &[&str] = if k == 1 && name == "web-1" {
                    &[POOL, OTHER_POOL]
                } else {
                    &[POOL]
                };
                workers.insert(WorkerState::new(name, *kind, *n, pools));
            }
            if k == 3 && !pruned {
                workers.insert(WorkerState::new("gone-3", Kind::Polling, 300, &[POOL]));
                if self.every_kind {
                    workers.insert(WorkerState::new("gone-agent-3", Kind::Agent, 703, &[POOL]));
                }
            }
            spaces.insert(target_name(k), workers);
        }
        spaces
    }

    /// Source-worker registrations missing from target pools (lost), and identities or names
    /// present more than once in a space (duplicates).
    pub fn tally(&self, emulator: &Emulator) -> Tally {
        let state = actual_state(emulator, &self.all_space_names());
        let mut tally = Tally::default();
        for k in 1..=self.targets {
            let workers = state.get(&target_name(k)).cloned().unwrap_or_default();
            for (_, kind, n) in self.shared_workers() {
                let identity = kind.identity(n);
                let shared = workers
                    .iter()
                    .any(|worker| worker.identity == identity && worker.pools.contains(POOL));
                if !shared {
                    tally.lost += 1;
                }
            }
        }
        for workers in state.values() {
            let mut identities: BTreeMap<&str, usize> = BTreeMap::new();
            let mut names: BTreeMap<String, usize> = BTreeMap::new();
            for worker in workers {
                *identities.entry(&worker.identity).or_default() += 1;
                *names.entry(worker.name.trim().to_lowercase()).or_default() += 1;
            }
            tally.duplicates += identities.values().filter(|&&count| count > 1).count()
                + names.values().filter(|&&count| count > 1).count();
        }
        tally
    }

    /// Every space of the scenario, source first.
    pub fn all_space_names(&self) -> Vec<String> {
        let mut names = vec![SOURCE.to_owned()];
        names.extend(self.target_names());
        names
    }

    /// Fails unless every space is exactly as [`Fleet::expected`] says, and every worker that
    /// existed before (in `ids_before`) and should stay kept its Id.
    #[track_caller]
    pub fn assert_converged(
        &self,
        emulator: &Emulator,
        pruned: bool,
        ids_before: &BTreeMap<(String, String), String>,
        context: &str,
    ) {
        let names = self.all_space_names();
        let actual = actual_state(emulator, &names);
        let expected = self.expected(pruned);
        for name in &names {
            assert_eq!(
                actual.get(name),
                expected.get(name),
                "{context}: space '{name}' is not in the expected state"
            );
        }
        let ids_after = worker_ids(emulator, &names);
        for (key, id) in ids_before {
            if let Some(after) = ids_after.get(key) {
                assert_eq!(
                    after, id,
                    "{context}: worker {key:?} was re-created instead of kept"
                );
            }
        }
    }
}

/// Counts of what went wrong in a converged state check.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Source-worker registrations missing from a target pool.
    pub lost: usize,
    /// Identities or names held by more than one worker of a space.
    pub duplicates: usize,
}

/// A worker as compared: name, normalised identity (per kind), pool names, and the names of
/// the proxy and account it refers to, resolved in its own space.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerState {
    /// Name.
    pub name: String,
    /// `tentacle <uri> <thumbprint>`, `ssh <host>:<port> <fingerprint>` or
    /// `agent <uri> <thumbprint>`.
    pub identity: String,
    /// Names of its pools.
    pub pools: BTreeSet<String>,
    /// `proxy <name>`, `account <name>` (`... <Id> of no proxy here` when the Id is not one of
    /// its space's).
    pub references: BTreeSet<String>,
}

impl WorkerState {
    fn new(name: &str, kind: Kind, endpoint: u32, pools: &[&str]) -> Self {
        WorkerState {
            name: name.to_owned(),
            identity: kind.identity(endpoint),
            pools: pools.iter().map(|pool| (*pool).to_owned()).collect(),
            references: kind
                .references()
                .iter()
                .map(|reference| (*reference).to_owned())
                .collect(),
        }
    }
}

/// A worker's identity from its JSON, per kind.
fn identity_of(endpoint: &Value) -> String {
    match endpoint["CommunicationStyle"].as_str().unwrap_or_default() {
        "Ssh" => ssh_identity(
            &text(&endpoint["Host"]),
            endpoint["Port"].as_u64().unwrap_or_default(),
            &text(&endpoint["Fingerprint"]),
        ),
        "KubernetesTentacle" => {
            let configuration = &endpoint["TentacleEndpointConfiguration"];
            agent_identity(
                &text(&configuration["Uri"]),
                &text(&configuration["Thumbprint"]),
            )
        }
        _ => tentacle_identity(&text(&endpoint["Uri"]), &text(&endpoint["Thumbprint"])),
    }
}

/// The proxy and account a worker's endpoint refers to, by name in its space.
fn references_of(
    endpoint: &Value,
    proxies: &BTreeMap<String, String>,
    accounts: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut references = BTreeSet::new();
    let proxy = match endpoint["CommunicationStyle"].as_str().unwrap_or_default() {
        "KubernetesTentacle" => &endpoint["TentacleEndpointConfiguration"]["ProxyId"],
        _ => &endpoint["ProxyId"],
    };
    for (kind, value, names) in [
        ("proxy", proxy, proxies),
        ("account", &endpoint["AccountId"], accounts),
    ] {
        if let Some(id) = value.as_str() {
            references.insert(match names.get(id) {
                Some(name) => format!("{kind} {name}"),
                None => format!("{kind} {id} of no {kind} here"),
            });
        }
    }
    references
}

/// The workers of each named space as the emulator holds them.
pub fn actual_state(
    emulator: &Emulator,
    space_names: &[String],
) -> BTreeMap<String, BTreeSet<WorkerState>> {
    let mut spaces = BTreeMap::new();
    for name in space_names {
        let id = emulator.space_id(name).expect("space exists");
        let names_of = |items: Vec<Value>| -> BTreeMap<String, String> {
            items
                .iter()
                .map(|item| (text(&item["Id"]), text(&item["Name"])))
                .collect()
        };
        let pool_names = names_of(emulator.worker_pools(&id));
        let proxies = names_of(emulator.proxies(&id));
        let accounts = names_of(emulator.accounts(&id));
        let workers = emulator
            .workers(&id)
            .iter()
            .map(|worker| WorkerState {
                name: text(&worker["Name"]),
                identity: identity_of(&worker["Endpoint"]),
                references: references_of(&worker["Endpoint"], &proxies, &accounts),
                pools: worker["WorkerPoolIds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|id| {
                        pool_names
                            .get(&text(id))
                            .cloned()
                            .unwrap_or_else(|| text(id))
                    })
                    .collect(),
            })
            .collect();
        spaces.insert(name.clone(), workers);
    }
    spaces
}

/// `(space name, worker name) -> Workers-N` for every worker of the named spaces.
pub fn worker_ids(
    emulator: &Emulator,
    space_names: &[String],
) -> BTreeMap<(String, String), String> {
    let mut ids = BTreeMap::new();
    for name in space_names {
        let id = emulator.space_id(name).expect("space exists");
        for worker in emulator.workers(&id) {
            ids.insert((name.clone(), text(&worker["Name"])), text(&worker["Id"]));
        }
    }
    ids
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Faults that fired, per kind (status faults per status code, e.g. `status 429`), from the
/// emulator's request log.
pub fn faults_fired(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in emulator.requests() {
        if let Some(names) = request.fault {
            for name in names.split('+') {
                let kind = if name == "status" {
                    format!("status {}", request.status)
                } else {
                    name.to_owned()
                };
                *counts.entry(kind).or_default() += 1;
            }
        }
    }
    counts
}
