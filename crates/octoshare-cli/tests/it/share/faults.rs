//! Writes whose outcome is unknown ("commit then 500", dropped connections) and interruption:
//! never a duplicate, and a re-run converges.

use super::support::*;
use octopus_emulator::{Emulator, Fault, Scenario, SpaceSeed, WorkerSeed};
use octoshare_cli::{Exit, Shutdown, Signal};
use octoshare_core::{Client, Credentials, RetryPolicy, Secret, ServerUrl};
use octoshare_share::Outcome;
use std::time::Duration;

const TARGETS: u32 = 3;
const SOURCE_WORKERS: u32 = 3;

fn config(emulator: &Emulator) -> ShareConfig {
    let names: Vec<String> = (1..=TARGETS).map(|n| format!("Target {n}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let ids = ids(emulator, &names);
    let ids: Vec<&str> = ids.split(',').collect();
    ShareConfig::new("Default", &ids, POOL)
}

/// Every target pool holds exactly one worker per source identity (and nothing else).
fn assert_one_per_identity(emulator: &Emulator, context: &str) {
    let source = emulator.space_id("Default").unwrap();
    let expected: Vec<(String, String)> = emulator.workers(&source).iter().map(identity).collect();
    for n in 1..=TARGETS {
        let id = emulator.space_id(&format!("Target {n}")).unwrap();
        let counts = identity_counts(&workers_in_pool(
            emulator,
            &id,
            &pool_id(emulator, &id, POOL),
        ));
        assert_eq!(
            counts.len(),
            expected.len(),
            "{context}: Target {n}: {counts:?}"
        );
        for key in &expected {
            assert_eq!(
                counts.get(key),
                Some(&1),
                "{context}: Target {n}: {counts:?}"
            );
        }
        assert_eq!(
            emulator.workers(&id).len(),
            expected.len(),
            "{context}: Target {n}"
        );
    }
}

#[test]
fn share_commit_then_500_and_dropped_posts_never_duplicate_across_100_seeded_runs() {
    let runtime = runtime();
    let mut retried_runs = 0;
    let mut faults_fired = 0;
    for seed in 0..100_u64 {
        let emulator = Emulator::start(
            target_spaces(
                Scenario::new()
                    .seed(seed)
                    .space(source_space(SOURCE_WORKERS)),
                TARGETS,
            )
            .fault(
                Fault::commit_then_500()
                    .method("POST")
                    .path("/api/*/workers")
                    .rate(0.35),
            )
            .fault(
                Fault::commit_then_drop()
                    .method("POST")
                    .path("/api/*/workers")
                    .rate(0.2),
            )
            .fault(
                Fault::drop_connection()
                    .method("POST")
                    .path("/api/*/workers")
                    .rate(0.2),
            ),
        )
        .unwrap();
        let client = client(&emulator, &emulator.api_key());
        let config = config(&emulator);
        let (report, output) =
            runtime.block_on(share_in_process(&client, &config, &Shutdown::new()));
        let report = report.unwrap_or_else(|error| panic!("seed {seed}: {error}\n{output}"));
        faults_fired += emulator
            .requests()
            .iter()
            .filter(|r| r.fault.is_some())
            .count();

        // Never a duplicate, whatever happened.
        let source = emulator.space_id("Default").unwrap();
        let source_count = emulator.workers(&source).len();
        for n in 1..=TARGETS {
            let id = emulator.space_id(&format!("Target {n}")).unwrap();
            let counts = identity_counts(&emulator.workers(&id));
            assert!(
                counts.values().all(|&count| count == 1),
                "seed {seed}: {counts:?}\n{output}"
            );
            assert!(counts.len() <= source_count);
        }
        if report.totals.failed > 0 {
            // Only "still unknown after bounded retries" may fail; a clean re-run converges.
            retried_runs += 1;
            for space in &report.spaces {
                for worker in space
                    .workers
                    .iter()
                    .filter(|w| w.outcome == Outcome::Failed)
                {
                    assert!(
                        worker.reason.contains("run the step again"),
                        "seed {seed}: {}",
                        worker.reason
                    );
                }
            }
            emulator.clear_faults();
            let (again, output) =
                runtime.block_on(share_in_process(&client, &config, &Shutdown::new()));
            let again = again.unwrap();
            assert_eq!(again.totals.failed, 0, "seed {seed}: {output}");
        } else {
            assert_eq!(
                report.totals.created,
                u64::from(TARGETS * SOURCE_WORKERS),
                "seed {seed}: {output}"
            );
        }
        assert_one_per_identity(&emulator, &format!("seed {seed}"));
    }
    assert!(
        retried_runs < 20,
        "{retried_runs} of 100 runs needed a second run"
    );
    assert!(faults_fired > 300, "only {faults_fired} faults fired");
}

#[test]
fn share_commit_then_500_on_post_is_counted_as_created_by_the_binary() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(2)), 1)
            .fault(
                Fault::commit_then_500()
                    .method("POST")
                    .path("/api/*/workers")
                    .limit(1),
            )
            .fault(
                Fault::drop_connection()
                    .method("POST")
                    .path("/api/*/workers")
                    .limit(1),
            ),
    )
    .unwrap();
    let result = run(&emulator, &args(&share_args("Target 1"), &[]));
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [2, 0, 0, 0, 0]);
    let target = emulator.space_id("Target 1").unwrap();
    assert_eq!(emulator.workers(&target).len(), 2);
    // Two first POSTs, one re-read each, one repeated POST for the dropped one.
    assert_eq!(emulator.count("POST"), 3, "{:#?}", emulator.requests());
}

#[test]
fn share_unknown_outcome_on_put_and_delete_is_settled_by_re_reading() {
    let emulator = Emulator::start(
        Scenario::new()
            .space(source_space(1))
            .space(
                SpaceSeed::new("Target 1")
                    .pool(POOL)
                    .pool("Other Pool")
                    .worker(
                        WorkerSeed::polling("web-1", &uri(1), &thumbprint(1)).in_pool("Other Pool"),
                    )
                    .worker(polling("gone", 300).health("Unavailable")),
            )
            .fault(
                Fault::commit_then_500()
                    .method("PUT")
                    .path("/api/*/workers/*")
                    .limit(1),
            )
            .fault(
                Fault::commit_then_drop()
                    .method("DELETE")
                    .path("/api/*/workers/*")
                    .limit(1),
            ),
    )
    .unwrap();
    let result = run(&emulator, &args(&share_args("Target 1"), &["--prune"]));
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [0, 1, 0, 1, 0]);
    assert_eq!((emulator.count("PUT"), emulator.count("DELETE")), (1, 1));
    let target = emulator.space_id("Target 1").unwrap();
    assert_eq!(emulator.workers(&target).len(), 1);
}

#[test]
fn share_duplicate_name_refusal_from_a_concurrent_creator_is_settled_by_re_reading() {
    // Another process registers web-1 between our read and our POST: the emulator refuses our
    // POST with Octopus's 400 duplicate-name envelope; re-reading shows it is already shared.
    let emulator =
        Emulator::start(target_spaces(Scenario::new().space(source_space(1)), 1)).unwrap();
    let target = emulator.space_id("Target 1").unwrap();
    // Our POST is held (already logged, not yet handled) until the other registration is in.
    let hold = emulator.hold_writes();
    let runtime = runtime();
    let client = client(&emulator, &emulator.api_key());
    let config = ShareConfig::new("Default", &[&target], POOL);
    let shutdown = Shutdown::new();
    let (report, output) = runtime.block_on(async {
        let share = share_in_process(&client, &config, &shutdown);
        let race = async {
            emulator
                .wait_for_requests(|log| log.iter().any(|request| request.method == "POST"))
                .await;
            emulator.add_worker(&target, polling("web-1", 1));
            drop(hold);
        };
        let (result, ()) = tokio::join!(share, race);
        result
    });
    let report = report.unwrap();
    assert_eq!(report.totals.failed, 0, "{output}");
    assert_eq!(report.totals.unchanged, 1, "{output}");
    assert_eq!(emulator.workers(&target).len(), 1);
}

#[test]
fn share_interrupted_run_starts_no_new_write_and_a_rerun_converges() {
    let emulator = Emulator::start(target_spaces(
        Scenario::new().space(source_space(SOURCE_WORKERS)),
        TARGETS,
    ))
    .unwrap();
    // The first POST is held in flight until the interruption was requested.
    let hold = emulator.hold_writes();
    let runtime = runtime();
    let client = client(&emulator, &emulator.api_key());
    let mut config = config(&emulator);
    config.options.concurrency = 1;
    let shutdown = Shutdown::new();
    let (report, output) = runtime.block_on(async {
        let share = share_in_process(&client, &config, &shutdown);
        let interrupt = async {
            emulator
                .wait_for_requests(|log| log.iter().any(|request| request.method == "POST"))
                .await;
            shutdown.request();
            drop(hold);
        };
        let (result, ()) = tokio::join!(share, interrupt);
        result
    });
    let report = report.unwrap();
    assert!(report.interrupted, "{output}");
    assert_eq!(exit_of(&report), Exit::Interrupted(Signal::Interrupt));
    // The POST in flight finished; nothing else was sent.
    assert_eq!(emulator.count("POST"), 1, "{output}");
    assert_eq!(report.totals.created, 1, "{output}");
    assert_eq!(report.totals.not_attempted, 2 + 2, "{output}");
    assert!(output.contains("not attempted"), "{output}");

    let (again, output) = runtime.block_on(share_in_process(&client, &config, &Shutdown::new()));
    let again = again.unwrap();
    assert_eq!(exit_of(&again), Exit::Success, "{output}");
    assert_eq!((again.totals.created, again.totals.unchanged), (8, 1));
    assert_one_per_identity(&emulator, "after the re-run");
}

/// A client cancelled by `shutdown`, as the binaries build it, with a short write grace period.
fn cancellable_client(emulator: &Emulator, shutdown: &Shutdown, base_delay: Duration) -> Client {
    Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::ApiKey(Secret::new(emulator.api_key())),
    )
    .retry_policy(RetryPolicy {
        max_retries: 0,
        base_delay,
        ..RetryPolicy::default()
    })
    .cancellation(shutdown.token())
    .write_grace_period(Duration::from_millis(200))
    .build()
    .unwrap()
}

/// A POST the server never answers: the interruption abandons it after the grace period, the
/// report says it may or may not have been applied (not a failure, not "done"), nothing else
/// is sent, and a re-run converges.
#[test]
fn share_interrupted_during_a_write_with_no_answer_reports_it_unsettled() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(SOURCE_WORKERS)), TARGETS)
            .fault(Fault::stall(Duration::from_secs(120)).method("POST")),
    )
    .unwrap();
    let runtime = runtime();
    let shutdown = Shutdown::new();
    let client = cancellable_client(&emulator, &shutdown, Duration::from_millis(10));
    let mut config = config(&emulator);
    config.options.concurrency = 1;
    let (report, output) = runtime.block_on(async {
        let share = share_in_process(&client, &config, &shutdown);
        let interrupt = async {
            while emulator.count("POST") == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            shutdown.request();
        };
        let (result, ()) = tokio::join!(share, interrupt);
        result
    });
    let report = report.unwrap();
    assert!(report.interrupted, "{output}");
    assert_eq!(exit_of(&report), Exit::Interrupted(Signal::Interrupt));
    assert_eq!(report.totals.failed, 0, "{output}");
    assert_eq!(emulator.count("POST"), 1, "{output}");
    let unsettled: Vec<_> = report
        .spaces
        .iter()
        .flat_map(|space| &space.workers)
        .filter(|worker| worker.reason.contains("may or may not have been applied"))
        .collect();
    assert_eq!(unsettled.len(), 1, "{output}");
    assert_eq!(unsettled[0].outcome, Outcome::NotAttempted);
    assert_eq!(
        report.totals.not_attempted,
        u64::from(SOURCE_WORKERS + TARGETS - 1),
        "the stalled POST, the rest of its space, the spaces not started: {output}"
    );

    emulator.clear_faults();
    let fresh = super::support::client(&emulator, &emulator.api_key());
    let (again, output) = runtime.block_on(share_in_process(&fresh, &config, &Shutdown::new()));
    let again = again.unwrap();
    assert_eq!(exit_of(&again), Exit::Success, "{output}");
    assert_one_per_identity(&emulator, "after the re-run");
}

/// Interrupted in the backoff before repeating a write whose outcome was unknown (a 500 not
/// committed): the write is not repeated and is reported as unsettled, not failed. (That the
/// backoff itself is cut short is the unit test `an_interruption_cuts_the_backoff_short` of
/// octoshare-share, with paused time.)
#[test]
fn share_interrupted_during_the_backoff_of_a_write_reports_it_unsettled() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(1)), 1)
            .fault(Fault::status(500).method("POST")),
    )
    .unwrap();
    let runtime = runtime();
    let shutdown = Shutdown::new();
    let client = cancellable_client(&emulator, &shutdown, Duration::from_secs(60));
    let target = emulator.space_id("Target 1").unwrap();
    let config = ShareConfig::new("Default", &[target.as_str()], POOL);
    // The step logs (a warning) that it will repeat the write, then waits out the backoff: the
    // interruption is requested once that line is logged, so it lands in the backoff.
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let (report, output) = runtime.block_on(async {
        let share = share_in_process(&client, &config, &shutdown);
        let interrupt = async {
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while !logs.text().contains("retrying") {
                // Another test's thread may have registered the step's warning callsite
                // while no subscriber of this thread existed, caching "never" for it (a
                // known race of tracing's per-callsite interest cache, which made this test
                // wait forever under load): recompute the cached interests with this
                // thread's subscriber until the line arrives.
                tracing::callsite::rebuild_interest_cache();
                assert!(
                    std::time::Instant::now() < deadline,
                    "the step never logged that it would retry"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            shutdown.request();
        };
        tokio::join!(share, interrupt).0
    });
    let report = report.unwrap();
    assert_eq!(exit_of(&report), Exit::Interrupted(Signal::Interrupt));
    assert_eq!(emulator.count("POST"), 1, "{output}");
    let worker = &report.spaces[0].workers[0];
    assert_eq!(worker.outcome, Outcome::NotAttempted, "{output}");
    assert!(
        worker
            .reason
            .starts_with("interrupted after a write whose outcome is unknown"),
        "{}",
        worker.reason
    );
}

#[test]
fn share_shutdown_before_start_attempts_nothing() {
    let emulator =
        Emulator::start(target_spaces(Scenario::new().space(source_space(1)), 2)).unwrap();
    let client = client(&emulator, &emulator.api_key());
    let shutdown = Shutdown::new();
    shutdown.request();
    let (report, _) =
        runtime().block_on(share_in_process(&client, &config_two(&emulator), &shutdown));
    let report = report.unwrap();
    assert_eq!(report.totals.not_attempted, 2);
    assert!(report.interrupted);
    assert_eq!(writes(&emulator), 0);
}

fn config_two(emulator: &Emulator) -> ShareConfig {
    let ids = ids(emulator, &["Target 1", "Target 2"]);
    let ids: Vec<&str> = ids.split(',').collect();
    ShareConfig::new("Default", &ids, POOL)
}
