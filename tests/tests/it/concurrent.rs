//! Concurrent runs: two `octoshare-share` processes against the same spaces at once. The
//! emulator refuses a second worker with the same name in a space with Octopus's 400 validation
//! envelope; share treats that as "re-read, then decide", so both runs succeed and no worker is
//! ever registered twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use octopus_emulator::{Emulator, Fault};

use crate::support::binaries::{self, Run, SHARE};
use crate::support::fleet::{Fleet, POOL, SOURCE, worker_ids};
use crate::support::report_figures;

fn spawn_share(emulator: &Emulator, targets: &str, concurrency: &str, prune: bool) -> Child {
    let mut command: Command = binaries::command(SHARE);
    command
        .env("OCTOPUS_URL", emulator.url())
        .env("OCTOPUS_API_KEY", emulator.api_key())
        .args([
            "--from-space",
            SOURCE,
            "--to-spaces",
            targets,
            "--worker-pool",
            POOL,
        ])
        .args([
            "--concurrency",
            concurrency,
            "--retry-delay",
            "0ms",
            "--output",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if prune {
        command.arg("--prune");
    }
    command.spawn().expect("octoshare-share starts")
}

fn count_json(run: &Run, key: &str) -> u64 {
    run.json()[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {}", run.describe()))
}

#[test]
fn concurrent_share_processes_never_register_a_worker_twice() {
    let started = Instant::now();
    let rounds: [(u64, &str, bool); 6] = [
        (20, "16", false),
        (40, "1", false),
        (60, "16", true),
        (10, "2", true),
        (80, "16", false),
        (30, "1", true),
    ];
    let mut refusals = 0;
    let mut created_twice_attempts = 0;
    for (round, (latency_ms, concurrency, prune)) in rounds.into_iter().enumerate() {
        // Every other round shares every kind of worker (proxies and accounts mapped).
        let fleet = Fleet {
            source_workers: 3,
            targets: 3,
            every_kind: round % 2 == 1,
        };
        // Latency on every request makes both processes read before either writes.
        let emulator = Emulator::start(
            fleet
                .scenario()
                .fault(Fault::latency(Duration::from_millis(latency_ms))),
        )
        .expect("the emulator starts");
        let ids_before = worker_ids(&emulator, &fleet.all_space_names());
        let targets = fleet.target_ids(&emulator);
        let children = [
            spawn_share(&emulator, &targets, concurrency, prune),
            spawn_share(&emulator, &targets, concurrency, prune),
        ];
        let runs: Vec<Run> = children
            .into_iter()
            .enumerate()
            .map(|(index, child)| {
                let output = child.wait_with_output().expect("octoshare-share finishes");
                Run::from_output(format!("round {round}, process {index}"), &output)
            })
            .collect();
        for run in &runs {
            run.assert_no_panic();
            assert_eq!(run.code, 0, "{}", run.describe());
            assert_eq!(count_json(run, "FailedCount"), 0, "{}", run.describe());
        }
        let context = format!(
            "round {round} (latency {latency_ms}ms, concurrency {concurrency}, prune {prune}, every kind {})",
            fleet.every_kind
        );
        fleet.assert_converged(&emulator, prune, &ids_before, &context);
        let tally = fleet.tally(&emulator);
        assert_eq!((tally.duplicates, tally.lost), (0, 0), "{context}");

        // Every registration was created by exactly one of the two runs; the other found it.
        let needed = fleet.creates_needed();
        let created: u64 = runs
            .iter()
            .map(|run| count_json(run, "CreatedWorkerCount"))
            .sum();
        assert_eq!(created, needed, "{context}: {runs:#?}");
        let requests = emulator.requests();
        refusals += requests
            .iter()
            .filter(|request| request.method == "POST" && request.status == 400)
            .count();
        created_twice_attempts += requests
            .iter()
            .filter(|request| request.method == "POST")
            .count()
            .saturating_sub(usize::try_from(needed).unwrap_or(usize::MAX));
    }
    report_figures(
        "concurrent",
        &[
            ("rounds", rounds.len().to_string()),
            ("processes_per_round", "2".to_owned()),
            ("duplicate_name_refusals_settled", refusals.to_string()),
            ("extra_posts", created_twice_attempts.to_string()),
            ("duplicates", "0".to_owned()),
            ("lost", "0".to_owned()),
            ("wall_ms", started.elapsed().as_millis().to_string()),
        ],
    );
    // The races really happened: some POSTs were refused as duplicates and settled.
    assert!(refusals > 0, "the two runs never raced");
}
