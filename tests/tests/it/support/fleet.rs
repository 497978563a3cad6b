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

use std::collections::{BTreeMap, BTreeSet};

use octopus_emulator::{Emulator, Scenario, SpaceSeed, WorkerSeed};
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
}

impl Fleet {
    /// The emulator scenario (no faults).
    pub fn scenario(&self) -> Scenario {
        let mut source = SpaceSeed::new(SOURCE)
            .default_space()
            .pool(POOL)
            .pool(OTHER_POOL)
            .worker(polling("source-unrelated", 900).in_pool(OTHER_POOL));
        for n in 1..=self.source_workers {
            source = source.worker(polling(&format!("web-{n}"), n).in_pool(POOL));
        }
        let mut scenario = Scenario::new().space(source);
        for k in 1..=self.targets {
            let mut space = SpaceSeed::new(&target_name(k))
                .pool(POOL)
                .pool(OTHER_POOL)
                .policy("Fast")
                .worker(polling(&format!("unrelated-{k}"), 100 + k).in_pool(OTHER_POOL))
                .worker(polling(&format!("keeper-{k}"), 200 + k).in_pool(POOL));
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
        let mut source = BTreeSet::from([WorkerState::new("source-unrelated", 900, &[OTHER_POOL])]);
        for n in 1..=self.source_workers {
            source.insert(WorkerState::new(&format!("web-{n}"), n, &[POOL]));
        }
        spaces.insert(SOURCE.to_owned(), source);
        for k in 1..=self.targets {
            let mut workers = BTreeSet::from([
                WorkerState::new(&format!("unrelated-{k}"), 100 + k, &[OTHER_POOL]),
                WorkerState::new(&format!("keeper-{k}"), 200 + k, &[POOL]),
            ]);
            for n in 1..=self.source_workers {
                let pools: &[&str] = if k == 1 && n == 1 {
                    &[POOL, OTHER_POOL]
                } else {
                    &[POOL]
                };
                workers.insert(WorkerState::new(&format!("web-{n}"), n, pools));
            }
            if k == 3 && !pruned {
                workers.insert(WorkerState::new("gone-3", 300, &[POOL]));
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
            for n in 1..=self.source_workers {
                let shared = workers.iter().any(|worker| {
                    worker.uri == uri(n).to_lowercase()
                        && worker.thumbprint == thumbprint(n)
                        && worker.pools.contains(POOL)
                });
                if !shared {
                    tally.lost += 1;
                }
            }
        }
        for workers in state.values() {
            let mut identities: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            let mut names: BTreeMap<String, usize> = BTreeMap::new();
            for worker in workers {
                *identities
                    .entry((&worker.uri, &worker.thumbprint))
                    .or_default() += 1;
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

/// A worker as compared: name, normalised identity and pool names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerState {
    /// Name.
    pub name: String,
    /// Endpoint Uri, lower-case.
    pub uri: String,
    /// Endpoint thumbprint, upper-case.
    pub thumbprint: String,
    /// Names of its pools.
    pub pools: BTreeSet<String>,
}

impl WorkerState {
    fn new(name: &str, endpoint: u32, pools: &[&str]) -> Self {
        WorkerState {
            name: name.to_owned(),
            uri: uri(endpoint).to_lowercase(),
            thumbprint: thumbprint(endpoint),
            pools: pools.iter().map(|pool| (*pool).to_owned()).collect(),
        }
    }
}

/// The workers of each named space as the emulator holds them.
pub fn actual_state(
    emulator: &Emulator,
    space_names: &[String],
) -> BTreeMap<String, BTreeSet<WorkerState>> {
    let mut spaces = BTreeMap::new();
    for name in space_names {
        let id = emulator.space_id(name).expect("space exists");
        let pool_names: BTreeMap<String, String> = emulator
            .worker_pools(&id)
            .iter()
            .map(|pool| (text(&pool["Id"]), text(&pool["Name"])))
            .collect();
        let workers = emulator
            .workers(&id)
            .iter()
            .map(|worker| WorkerState {
                name: text(&worker["Name"]),
                uri: text(&worker["Endpoint"]["Uri"]).to_lowercase(),
                thumbprint: text(&worker["Endpoint"]["Thumbprint"]).to_uppercase(),
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
