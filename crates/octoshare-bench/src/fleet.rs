//! The benchmark's instance: S spaces that all have the shared pool, the first one holding W
//! polling Tentacle workers (the state the runbook's "Wait for workers" step ends in).

use std::time::Duration;

use octopus_emulator::{Scenario, SpaceSeed, WorkerSeed};

/// The pool every space has and the workers are shared through (the runbook's naming).
pub const POOL: &str = "AWS Worker Pool TF";

/// One benchmark size: how many spaces, and how many workers the first space holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fleet {
    /// Spaces on the instance (all have [`POOL`]).
    pub spaces: usize,
    /// Polling workers in the first space's pool.
    pub workers: usize,
}

impl Fleet {
    /// The emulator scenario: spaces `Space 0001` … (names sort in creation order, so the first
    /// one is also the first the server lists), every one with [`POOL`]; the first holds
    /// [`Fleet::workers`] healthy polling workers with distinct names, `poll://` + 20 lower-case
    /// letters and digits, and 40-hex thumbprints. `latency` is added to every request.
    pub fn scenario(&self, latency: Duration) -> Scenario {
        let mut scenario = Scenario::new().seed(8).latency(latency);
        for index in 0..self.spaces {
            let mut space = SpaceSeed::new(&space_name(index)).pool(POOL);
            if index == 0 {
                space = space.default_space();
                for worker in 0..self.workers {
                    space = space.worker(worker_seed(worker));
                }
            }
            scenario = scenario.space(space);
        }
        scenario
    }

    /// The instance after sharing: every space has [`POOL`] holding the same W workers (the
    /// same names and endpoints as in [`Fleet::scenario`]'s first space).
    pub fn shared_scenario(&self, latency: Duration) -> Scenario {
        let mut scenario = Scenario::new().seed(8).latency(latency);
        for index in 0..self.spaces {
            let mut space = SpaceSeed::new(&space_name(index)).pool(POOL);
            if index == 0 {
                space = space.default_space();
            }
            for worker in 0..self.workers {
                space = space.worker(worker_seed(worker));
            }
            scenario = scenario.space(space);
        }
        scenario
    }

    /// The spaces the workers are shared into.
    pub fn target_spaces(&self) -> usize {
        self.spaces.saturating_sub(1)
    }
}

fn space_name(index: usize) -> String {
    format!("Space {:04}", index + 1)
}

/// Worker `index`: a deterministic name, subscription Uri and thumbprint.
pub(crate) fn worker_seed(index: usize) -> WorkerSeed {
    let mut state = splitmix(index as u64 + 1);
    let mut draw = || {
        state = splitmix(state);
        state
    };
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let subscription: String = (0..20)
        .map(|_| char::from(ALPHABET[(draw() % ALPHABET.len() as u64) as usize]))
        .collect();
    let thumbprint = format!("{:016X}{:016X}{:08X}", draw(), draw(), draw() as u32);
    WorkerSeed::polling(
        &format!("worker-{:03}", index + 1),
        &format!("poll://{subscription}/"),
        &thumbprint,
    )
    .in_pool(POOL)
}

/// SplitMix64: a tiny, well-mixed generator, enough for distinct deterministic identities.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn workers_have_distinct_polling_identities() {
        let seeds: Vec<WorkerSeed> = (0..200).map(worker_seed).collect();
        let uris: HashSet<&str> = seeds.iter().map(WorkerSeed::uri).collect();
        let thumbprints: HashSet<&str> = seeds.iter().map(WorkerSeed::thumbprint).collect();
        assert_eq!(uris.len(), 200);
        assert_eq!(thumbprints.len(), 200);
        for seed in &seeds {
            let id = seed
                .uri()
                .strip_prefix("poll://")
                .and_then(|rest| rest.strip_suffix('/'))
                .unwrap();
            assert_eq!(id.len(), 20);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
            assert_eq!(seed.thumbprint().len(), 40);
            assert!(seed.thumbprint().bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn scenario_has_every_space_and_the_workers_in_the_first() {
        let scenario = Fleet {
            spaces: 3,
            workers: 2,
        }
        .scenario(Duration::ZERO);
        assert_eq!(scenario.spaces().len(), 3);
        assert_eq!(scenario.spaces()[0].workers().len(), 2);
        assert!(scenario.spaces()[2].workers().is_empty());
        scenario.validate().unwrap();
        let shared = Fleet {
            spaces: 3,
            workers: 2,
        }
        .shared_scenario(Duration::ZERO);
        assert!(
            shared
                .spaces()
                .iter()
                .all(|space| space.workers().len() == 2)
        );
        shared.validate().unwrap();
    }
}
