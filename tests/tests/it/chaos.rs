//! Seeded chaos: share (and the discover → share chain `octoshare run` makes) against the
//! emulator with fault profiles mixing 5xx, 429 with `Retry-After`, 418 draining windows,
//! dropped connections, "commit then 500/drop" and stalls longer than the request timeout.
//! After the run, plus one fault-free re-run when the first reported a failure, every space must
//! be exactly in the expected state (see `support::fleet`).
//!
//! `CHAOS_SEEDS=N` runs N seeds (default 200), `CHAOS_SEED=S` only seed S (a failure prints the
//! seed and its fault profile). With `concurrency 1` in the profile the request sequence, and so
//! every fault decision, is the same on every run of a seed; with more, requests to different
//! spaces interleave by timing, so the profile is reproduced exactly and the firings closely.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use octopus_emulator::{Emulator, Fault};
use octoshare_cli::exit::exit_for_share_verdict;
use octoshare_cli::render::share::ShareRenderer;
use octoshare_cli::{Exit, error_line};
use octoshare_core::{Client, RetryPolicy};
use octoshare_discover::{DiscoverConfig, discover};
use octoshare_share::{
    FailureKind, Outcome, ShareOptions, ShareReport, ShareRequest, ShareTargets, SpaceFailure,
    WorkerFailure, resolve, share,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::support::binaries::{self, ORCHESTRATOR, Run};
use crate::support::fleet::{Fleet, POOL, SOURCE, faults_fired, worker_ids};
use crate::support::seeds::{run_seeds, seeds};
use crate::support::{Captured, capturing_emitter, client, env_count, report_figures, runtime};

/// Per-request timeout of the chaotic run; stalls last [`STALL`], twice as long.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(200);
/// How long a stalled request hangs before the emulator closes it unanswered.
const STALL: Duration = Duration::from_millis(400);
/// Routes a 418 window or a stall is aimed at.
const ROUTES: [&str; 9] = [
    "/api/spaces/all",
    "/api/*/workerpools/all",
    "/api/*/workers/all",
    "/api/*/machinepolicies/all",
    "/api/*/proxies/all",
    "/api/*/accounts/all",
    "/api/*/workerpools/*/workers",
    "/api/*/workers",
    "/api/*/workers/*",
];

/// A seed's fault profile and run options.
#[derive(Debug, Clone)]
struct Profile {
    fleet: Fleet,
    faults: Vec<Fault>,
    description: Vec<String>,
    prune: bool,
    concurrency: usize,
    /// Retries per request: few make first runs fail, so the re-run path is exercised too.
    max_retries: u32,
}

impl Profile {
    /// Everything about a run, decided by its seed.
    fn of(seed: u64) -> Profile {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0C70_5A4E);
        let mut fleet = Fleet {
            source_workers: rng.random_range(2..=4),
            targets: rng.random_range(3..=4),
            every_kind: false,
        };
        let mut faults = Vec::new();
        let mut description = Vec::new();
        if rng.random_bool(0.6) {
            let route = ROUTES[rng.random_range(0..ROUTES.len())];
            let window = rng.random_range(1..=3);
            faults.push(Fault::status(418).path(route).limit(window));
            description.push(format!("418 window of {window} on {route}"));
        }
        if rng.random_bool(0.5) {
            let route = ROUTES[rng.random_range(0..ROUTES.len())];
            faults.push(Fault::stall(STALL).path(route).rate(0.5).limit(1));
            description.push(format!("one {}ms stall on {route}", STALL.as_millis()));
        }
        let commit_then_500 = rng.random_range(0.0..0.35);
        let commit_then_drop = rng.random_range(0.0..0.2);
        for method in ["POST", "PUT", "DELETE"] {
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
        description.push(format!(
            "writes: commitThen500 {commit_then_500:.2}, commitThenDrop {commit_then_drop:.2}"
        ));
        let code = [500, 502, 503, 504][rng.random_range(0..4)];
        let server_error = rng.random_range(0.0..0.12);
        faults.push(Fault::status(code).rate(server_error));
        let rate_limited = rng.random_range(0.0..0.1);
        let retry_after = rng.random_range(0..=1);
        faults.push(
            Fault::status(429)
                .retry_after(retry_after)
                .rate(rate_limited),
        );
        let dropped = rng.random_range(0.0..0.08);
        faults.push(Fault::drop_connection().rate(dropped));
        description.push(format!(
            "any request: {code} {server_error:.2}, 429 (Retry-After {retry_after}) {rate_limited:.2}, drop {dropped:.2}"
        ));
        let prune = rng.random_bool(0.5);
        let concurrency = [1, 2, 16][rng.random_range(0..3)];
        let max_retries = [1, 2, 5, 5][rng.random_range(0..4)];
        // Half the fleets add a listening Tentacle (proxy), an SSH worker (account, proxy) and
        // a Kubernetes agent, so mapping and the lazy lookups run under faults too.
        fleet.every_kind = rng.random_bool(0.5);
        description.push(format!(
            "{} source workers{}, {} targets, concurrency {concurrency}, max retries {max_retries}, prune {prune}",
            fleet.source_workers,
            if fleet.every_kind {
                " + a listening Tentacle, an SSH worker and a Kubernetes agent"
            } else {
                ""
            },
            fleet.targets
        ));
        Profile {
            fleet,
            faults,
            description,
            prune,
            concurrency,
            max_retries,
        }
    }

    fn scenario(&self, seed: u64) -> octopus_emulator::Scenario {
        self.faults
            .iter()
            .fold(self.fleet.scenario().seed(seed), |scenario, fault| {
                scenario.fault(fault.clone())
            })
    }
}

/// Zero backoff; `Retry-After` honoured but capped at 10 ms so a `Retry-After: 1` costs nothing.
fn chaos_policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retry_after: Duration::from_millis(10),
        ..RetryPolicy::immediate(max_retries)
    }
}

/// What one seed did.
#[derive(Debug, Default, Clone)]
struct SeedOutcome {
    faults: BTreeMap<String, usize>,
    requests: usize,
    needed_rerun: bool,
    lost: usize,
    duplicates: usize,
}

/// Share only, or the discover → share chain of `octoshare run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Share,
    DiscoverThenShare,
}

/// One run in-process; `Ok(report)` only when it succeeded completely.
async fn run_once(
    client: &Client,
    fleet: Fleet,
    emulator: &Emulator,
    mode: Mode,
    profile: &Profile,
) -> Result<ShareReport, String> {
    let stdout = Captured::default();
    let mut emitter = capturing_emitter(&stdout);
    let targets = match mode {
        Mode::Share => {
            let targets = fleet.target_ids(emulator);
            let targets: Vec<&str> = targets.split(',').collect();
            resolve(client, &ShareRequest::new(SOURCE, &targets, POOL))
                .await
                .map_err(|error| format!("share failed: {}", error_line(&error)))?
        }
        Mode::DiscoverThenShare => {
            let outcome = discover(client, &DiscoverConfig::new(POOL), &mut ())
                .await
                .map_err(|error| format!("discover failed: {}", error_line(&error)))?;
            // What `octoshare run` does: discover's resolved targets, handed over as they are.
            ShareTargets::from_discovered(&outcome.initial, &outcome.remaining)
        }
    };
    let options = ShareOptions {
        prune: profile.prune,
        concurrency: profile.concurrency,
        ..ShareOptions::default()
    };
    let report = share(
        client,
        &targets,
        &options,
        &mut ShareRenderer::new(&mut emitter),
        &CancellationToken::new(),
    )
    .await
    .map_err(|error| format!("share failed: {}", error_line(&error)))?;
    octoshare_cli::render::share::finished(&mut emitter, &report);
    if exit_for_share_verdict(report.verdict()) == Exit::Success {
        Ok(report)
    } else {
        // Only transient kinds may fail under transient faults: a refusal, a "not found" or
        // an unexplained failure would be a bug.
        for space in &report.spaces {
            let kinds = space.failure.iter().map(SpaceFailure::kind).chain(
                space
                    .workers
                    .iter()
                    .filter(|worker| worker.outcome == Outcome::Failed)
                    .filter_map(|worker| worker.failure.as_ref().map(WorkerFailure::kind)),
            );
            for kind in kinds {
                if !matches!(kind, FailureKind::OutcomeUnknown | FailureKind::Unreachable) {
                    panic!(
                        "unexpected failure kind {kind:?} in {}:\n{}",
                        space.label(),
                        stdout.text()
                    );
                }
            }
        }
        Err(format!("share reported failures:\n{}", stdout.text()))
    }
}

fn run_seed(seed: u64, mode: Mode) -> SeedOutcome {
    let profile = Profile::of(seed);
    let fleet = profile.fleet;
    let emulator = Emulator::start(profile.scenario(seed)).expect("the emulator starts");
    let names = fleet.all_space_names();
    let ids_before = worker_ids(&emulator, &names);
    let runtime = runtime();
    let chaotic = client(
        &emulator,
        &emulator.api_key(),
        REQUEST_TIMEOUT,
        chaos_policy(profile.max_retries),
    );
    let first = runtime.block_on(run_once(&chaotic, fleet, &emulator, mode, &profile));
    let faults = faults_fired(&emulator);
    let requests = emulator.requests().len();
    // Duplicates are checked after the chaotic run too, not only after convergence.
    let after_first = fleet.tally(&emulator);
    assert_eq!(
        after_first.duplicates, 0,
        "duplicates after the chaotic run"
    );
    let needed_rerun = first.is_err();
    if needed_rerun {
        emulator.clear_faults();
        let calm = client(
            &emulator,
            &emulator.api_key(),
            Duration::from_secs(10),
            RetryPolicy::immediate(5),
        );
        let again = runtime.block_on(run_once(&calm, fleet, &emulator, mode, &profile));
        if let Err(error) = again {
            panic!(
                "the fault-free re-run failed: {error}\nfirst run: {}",
                first.err().unwrap_or_default()
            );
        }
    }
    fleet.assert_converged(&emulator, profile.prune, &ids_before, "after the run");
    let tally = fleet.tally(&emulator);
    SeedOutcome {
        faults,
        requests,
        needed_rerun,
        lost: tally.lost,
        duplicates: tally.duplicates + after_first.duplicates,
    }
}

#[test]
fn chaos_share_and_discover_share_converge_exactly_for_every_seed() {
    let seeds = seeds("CHAOS", 200);
    let started = Instant::now();
    let mode = |seed: u64| {
        if seed.is_multiple_of(2) {
            Mode::Share
        } else {
            Mode::DiscoverThenShare
        }
    };
    let outcomes = run_seeds(
        &seeds,
        "CHAOS",
        |seed| {
            format!(
                "{:?}; profile: {}",
                mode(seed),
                Profile::of(seed).description.join("; ")
            )
        },
        |seed| run_seed(seed, mode(seed)),
    );
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in &outcomes {
        for (kind, count) in &outcome.faults {
            *faults.entry(kind.clone()).or_default() += count;
        }
    }
    let total_faults: usize = faults.values().sum();
    let lost: usize = outcomes.iter().map(|outcome| outcome.lost).sum();
    let duplicates: usize = outcomes.iter().map(|outcome| outcome.duplicates).sum();
    let reruns = outcomes
        .iter()
        .filter(|outcome| outcome.needed_rerun)
        .count();
    let requests: usize = outcomes.iter().map(|outcome| outcome.requests).sum();
    report_figures(
        "chaos in-process",
        &[
            ("seeds", seeds.len().to_string()),
            ("requests", requests.to_string()),
            ("faults", total_faults.to_string()),
            ("by_kind", format!("{faults:?}")),
            ("reruns_needed", reruns.to_string()),
            ("duplicates", duplicates.to_string()),
            ("lost", lost.to_string()),
            ("wall_ms", started.elapsed().as_millis().to_string()),
        ],
    );
    assert_eq!((duplicates, lost), (0, 0));
    if seeds.len() >= 100 {
        for kind in [
            "status 418",
            "status 429",
            "stall",
            "drop",
            "commitThen500",
            "commitThenDrop",
        ] {
            assert!(
                faults.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} fault fired: {faults:?}"
            );
        }
        assert!(
            faults.keys().any(|kind| kind.starts_with("status 5")),
            "no 5xx fault fired: {faults:?}"
        );
    }
}

#[test]
fn chaos_profiles_are_reproducible_from_the_seed() {
    for seed in [0, 1, 17, 199] {
        let (first, second) = (Profile::of(seed), Profile::of(seed));
        assert_eq!(first.faults, second.faults);
        assert_eq!(first.description, second.description);
        assert_eq!(first.max_retries, second.max_retries);
        assert_eq!(
            (first.prune, first.concurrency),
            (second.prune, second.concurrency)
        );
    }
    assert_ne!(Profile::of(1).description, Profile::of(2).description);
}

/// `octoshare run` (the real binary) under the same profiles, with `--retry-delay 0ms`,
/// `--request-timeout 200ms` and `Retry-After: 0` (the CLI has no Retry-After cap).
#[test]
fn chaos_octoshare_run_binary_converges_exactly() {
    let seeds: Vec<u64> = seeds("CHAOS", 200)
        .into_iter()
        .map(|seed| seed + 10_000)
        .take(usize::try_from(env_count("CHAOS_RUN_SEEDS", 24)).unwrap_or(24))
        .collect();
    let started = Instant::now();
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    let mut reruns = 0;
    let mut tally = (0, 0);
    for &seed in &seeds {
        let mut profile = Profile::of(seed);
        // Retry-After: 0 only (seconds would really be waited for by the binary).
        profile.faults.retain(|fault| {
            !matches!(
                fault.kind(),
                octopus_emulator::FaultKind::Status { code: 429, .. }
            )
        });
        profile
            .faults
            .push(Fault::status(429).retry_after(0).rate(0.05));
        let fleet = profile.fleet;
        let emulator = Emulator::start(profile.scenario(seed)).expect("the emulator starts");
        let ids_before = worker_ids(&emulator, &fleet.all_space_names());
        let context = format!("seed {seed} ({})", profile.description.join("; "));
        let run = |timeout: &str, retries: u32| {
            let mut command = binaries::command(ORCHESTRATOR);
            command
                .env("OCTOPUS_URL", emulator.url())
                .env("OCTOPUS_API_KEY", emulator.api_key())
                .args([
                    "run",
                    "--worker-pool",
                    POOL,
                    "--output",
                    "json",
                    "--retry-delay",
                    "0ms",
                ])
                .args(["--request-timeout", timeout])
                .args(["--max-retries", &retries.to_string()])
                .args(["--concurrency", &profile.concurrency.to_string()]);
            if profile.prune {
                command.arg("--prune");
            }
            Run::of(format!("octoshare run, {context}"), &mut command)
        };
        let first = run("200ms", profile.max_retries);
        first.assert_no_panic();
        for (kind, count) in faults_fired(&emulator) {
            *faults.entry(kind).or_default() += count;
        }
        assert_eq!(fleet.tally(&emulator).duplicates, 0, "{}", first.describe());
        if first.code != 0 {
            assert!(matches!(first.code, 5 | 7), "{}", first.describe());
            reruns += 1;
            emulator.clear_faults();
            let again = run("10s", 5);
            assert_eq!(
                again.code,
                0,
                "{}\nfirst run:\n{}",
                again.describe(),
                first.describe()
            );
        } else {
            assert_eq!(first.json()["FailedCount"], 0, "{}", first.describe());
        }
        fleet.assert_converged(&emulator, profile.prune, &ids_before, &context);
        let seed_tally = fleet.tally(&emulator);
        tally.0 += seed_tally.duplicates;
        tally.1 += seed_tally.lost;
    }
    report_figures(
        "chaos octoshare run",
        &[
            ("seeds", seeds.len().to_string()),
            ("faults", faults.values().sum::<usize>().to_string()),
            ("by_kind", format!("{faults:?}")),
            ("reruns_needed", reruns.to_string()),
            ("duplicates", tally.0.to_string()),
            ("lost", tally.1.to_string()),
            ("wall_ms", started.elapsed().as_millis().to_string()),
        ],
    );
}
