//! Seeded chaos for `retire`: a machine registered in several spaces, busy in some (leases that
//! end on their own), under faults on every request and "commit then 500/drop" on the disables
//! and deletes. The report of the chaotic run must never lose track of a registration (one it
//! says is deleted is gone, one it says is disabled or still busy is there and disabled), no
//! DELETE may be refused (none is sent for a leased registration), every other worker stays
//! exactly as it was, and at most one fault-free re-run finishes the job.
//!
//! `RETIRE_CHAOS_SEEDS=N` runs N seeds (default 60), `RETIRE_CHAOS_SEED=S` only seed S.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use octopus_emulator::{Emulator, Fault, LeaseSeed, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::RetryPolicy;
use octoshare_retire::{
    RegistrationState, RetireConfig, RetireOutcome, RetireScope, RetireStatus, WorkerSelector,
    retire,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::fleet::faults_fired;
use crate::support::seeds::{run_seeds, seeds};
use crate::support::{client, report_figures, runtime};

const POOL: &str = "AWS Worker Pool TF";
const VM_URI: &str = "poll://vmchaosaaaaaaaaaaaa/";
const VM_THUMBPRINT: &str = "C0FFEE0000000000000000000000000000000001";
const REQUEST_TIMEOUT: Duration = Duration::from_millis(200);
const STALL: Duration = Duration::from_millis(400);
const ROUTES: [&str; 4] = [
    "/api/spaces/all",
    "/api/*/workers/all",
    "/api/*/workertaskleases",
    "/api/*/workers/*",
];

/// A seed's instance, faults and options.
#[derive(Debug, Clone)]
struct Profile {
    spaces: usize,
    /// Per space: the lease on the machine ends this long after start (`None`: no lease).
    leases: Vec<Option<Duration>>,
    /// Per space: the machine is already disabled there.
    disabled: Vec<bool>,
    faults: Vec<Fault>,
    description: Vec<String>,
    concurrency: usize,
    max_retries: u32,
}

impl Profile {
    fn of(seed: u64) -> Profile {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x005E_712E);
        let spaces = rng.random_range(3..=6);
        let leases = (0..spaces)
            .map(|_| {
                rng.random_bool(0.35)
                    .then(|| Duration::from_millis(rng.random_range(20..=300)))
            })
            .collect::<Vec<_>>();
        let disabled = (0..spaces).map(|_| rng.random_bool(0.2)).collect();
        let mut faults = Vec::new();
        let mut description = Vec::new();
        if rng.random_bool(0.5) {
            let route = ROUTES[rng.random_range(0..ROUTES.len())];
            let window = rng.random_range(1..=3);
            faults.push(Fault::status(418).path(route).limit(window));
            description.push(format!("418 window of {window} on {route}"));
        }
        if rng.random_bool(0.4) {
            let route = ROUTES[rng.random_range(0..ROUTES.len())];
            faults.push(Fault::stall(STALL).path(route).rate(0.5).limit(1));
            description.push(format!("one stall on {route}"));
        }
        let commit_then_500 = rng.random_range(0.0..0.35);
        let commit_then_drop = rng.random_range(0.0..0.2);
        for method in ["PUT", "DELETE"] {
            faults.push(
                Fault::commit_then_500()
                    .method(method)
                    .rate(commit_then_500),
            );
            faults.push(
                Fault::commit_then_drop()
                    .method(method)
                    .rate(commit_then_drop),
            );
        }
        let code = [500, 502, 503, 504][rng.random_range(0..4)];
        let server_error = rng.random_range(0.0..0.12);
        faults.push(Fault::status(code).rate(server_error));
        let rate_limited = rng.random_range(0.0..0.1);
        faults.push(Fault::status(429).retry_after(0).rate(rate_limited));
        let dropped = rng.random_range(0.0..0.08);
        faults.push(Fault::drop_connection().rate(dropped));
        let concurrency = [1, 2, 16][rng.random_range(0..3)];
        let max_retries = [1, 2, 5][rng.random_range(0..3)];
        description.push(format!(
            "writes: commitThen500 {commit_then_500:.2}, commitThenDrop {commit_then_drop:.2}; any: {code} {server_error:.2}, 429 {rate_limited:.2}, drop {dropped:.2}"
        ));
        description.push(format!(
            "{spaces} spaces, leases {leases:?}, disabled {disabled:?}, concurrency {concurrency}, max retries {max_retries}"
        ));
        Profile {
            spaces,
            leases,
            disabled,
            faults,
            description,
            concurrency,
            max_retries,
        }
    }

    fn scenario(&self, seed: u64) -> Scenario {
        let mut scenario = Scenario::new().seed(seed);
        for index in 0..self.spaces {
            let number = u32::try_from(index).unwrap_or_default();
            let mut space = SpaceSeed::new(&format!("Team {index}"))
                .pool(POOL)
                .worker(
                    WorkerSeed::polling(&format!("vm-{index}"), VM_URI, VM_THUMBPRINT)
                        .in_pool(POOL)
                        .disabled(self.disabled[index]),
                )
                .worker(
                    WorkerSeed::polling(
                        &format!("keeper-{index}"),
                        &format!("poll://keeper{number:014}/"),
                        &format!("{:040X}", 0xBEEF_0000_u64 + u64::from(number)),
                    )
                    .in_pool(POOL),
                );
            if index == 0 {
                space = space.default_space();
            }
            if let Some(until) = self.leases[index] {
                space = space.lease(LeaseSeed::on(&format!("vm-{index}")).until(until));
            }
            scenario = scenario.space(space);
        }
        self.faults
            .iter()
            .fold(scenario, |scenario, fault| scenario.fault(fault.clone()))
    }
}

/// `(space id, worker id) -> (name, IsDisabled)` of every worker.
fn workers(emulator: &Emulator, spaces: usize) -> BTreeMap<(String, String), (String, bool)> {
    let mut all = BTreeMap::new();
    for index in 1..=spaces {
        let space = format!("Spaces-{index}");
        for worker in emulator.workers(&space) {
            let id = worker["Id"].as_str().unwrap_or_default().to_owned();
            let name = worker["Name"].as_str().unwrap_or_default().to_owned();
            all.insert(
                (space.clone(), id),
                (name, worker["IsDisabled"] == Value::Bool(true)),
            );
        }
    }
    all
}

/// Registrations whose reported state contradicts the emulator.
fn lost_track(
    outcome: &RetireOutcome,
    now: &BTreeMap<(String, String), (String, bool)>,
) -> Vec<String> {
    let mut lost = Vec::new();
    for report in &outcome.registrations {
        let key = (
            report.registration.space.id.to_string(),
            report.registration.worker_id.to_string(),
        );
        let present = now.get(&key);
        let consistent = match report.state {
            RegistrationState::Deleted | RegistrationState::Gone => present.is_none(),
            RegistrationState::Disabled | RegistrationState::StillBusy => {
                present.is_some_and(|(_, disabled)| *disabled)
            }
            RegistrationState::Found => present.is_some(),
            RegistrationState::Failed => true,
        };
        if !consistent {
            lost.push(format!(
                "{key:?} reported {:?}, emulator has {present:?}",
                report.state
            ));
        }
    }
    lost
}

#[derive(Debug, Default)]
struct SeedOutcome {
    faults: BTreeMap<String, usize>,
    requests: usize,
    needed_rerun: bool,
}

fn config(profile: &Profile, drain_timeout: Duration) -> RetireConfig {
    let mut config = RetireConfig::new(WorkerSelector::Thumbprint(VM_THUMBPRINT.to_owned()));
    config.drain_timeout = drain_timeout;
    config.poll_interval = Duration::from_millis(20);
    config.concurrency = profile.concurrency;
    config
}

fn run_seed(seed: u64) -> SeedOutcome {
    let profile = Profile::of(seed);
    let emulator = Emulator::start(profile.scenario(seed)).expect("the emulator starts");
    let before = workers(&emulator, profile.spaces);
    let runtime = runtime();
    let chaotic = client(
        &emulator,
        &emulator.api_key(),
        REQUEST_TIMEOUT,
        RetryPolicy {
            max_retry_after: Duration::from_millis(10),
            ..RetryPolicy::immediate(profile.max_retries)
        },
    );
    let first = runtime
        .block_on(retire(
            &chaotic,
            &RetireScope::AllSpaces,
            &config(&profile, Duration::from_secs(10)),
            &mut (),
            &CancellationToken::new(),
        ))
        .map_err(|error| format!("{error}"));
    let faults = faults_fired(&emulator);
    let requests = emulator.requests();
    let refused: Vec<_> = requests
        .iter()
        .filter(|request| request.method == "DELETE" && request.status == 400)
        .collect();
    assert!(
        refused.is_empty(),
        "a leased registration was sent a DELETE: {refused:#?}"
    );
    let now = workers(&emulator, profile.spaces);
    if let Ok(outcome) = &first {
        let lost = lost_track(outcome, &now);
        assert!(
            lost.is_empty(),
            "the report lost track:\n{}",
            lost.join("\n")
        );
    }
    let needed_rerun = !matches!(
        first.as_ref().map(|outcome| outcome.status),
        Ok(RetireStatus::Retired)
    );
    if needed_rerun {
        emulator.clear_faults();
        let calm = client(
            &emulator,
            &emulator.api_key(),
            Duration::from_secs(10),
            RetryPolicy::immediate(5),
        );
        let again = runtime
            .block_on(retire(
                &calm,
                &RetireScope::AllSpaces,
                &config(&profile, Duration::from_secs(30)),
                &mut (),
                &CancellationToken::new(),
            ))
            .unwrap_or_else(|error| panic!("the fault-free re-run failed to start: {error}"));
        assert!(
            matches!(
                again.status,
                RetireStatus::Retired | RetireStatus::NothingToRetire
            ),
            "the fault-free re-run did not finish: {again:#?}\nfirst run: {first:#?}"
        );
    }
    // The machine is gone everywhere; every other worker is exactly as it was.
    let after = workers(&emulator, profile.spaces);
    let expected: BTreeMap<_, _> = before
        .into_iter()
        .filter(|(_, (name, _))| !name.starts_with("vm-"))
        .collect();
    assert_eq!(after, expected, "the end state");
    SeedOutcome {
        faults,
        requests: requests.len(),
        needed_rerun,
    }
}

#[test]
fn chaos_retire_never_loses_track_and_a_rerun_finishes() {
    let seeds = seeds("RETIRE_CHAOS", 60);
    let started = Instant::now();
    let outcomes = run_seeds(
        &seeds,
        "RETIRE_CHAOS",
        |seed| Profile::of(seed).description.join("; "),
        run_seed,
    );
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in &outcomes {
        for (kind, count) in &outcome.faults {
            *faults.entry(kind.clone()).or_default() += count;
        }
    }
    let total: usize = faults.values().sum();
    report_figures(
        "chaos retire",
        &[
            ("seeds", seeds.len().to_string()),
            (
                "requests",
                outcomes
                    .iter()
                    .map(|o| o.requests)
                    .sum::<usize>()
                    .to_string(),
            ),
            ("faults", total.to_string()),
            ("by_kind", format!("{faults:?}")),
            (
                "reruns_needed",
                outcomes
                    .iter()
                    .filter(|o| o.needed_rerun)
                    .count()
                    .to_string(),
            ),
            ("lost_track", "0".to_owned()),
            ("refused_deletes", "0".to_owned()),
            ("wall_ms", started.elapsed().as_millis().to_string()),
        ],
    );
    if seeds.len() >= 50 {
        for kind in ["commitThen500", "commitThenDrop", "drop", "status 429"] {
            assert!(
                faults.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} fault fired: {faults:?}"
            );
        }
    }
}
