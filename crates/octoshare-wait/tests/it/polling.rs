//! When polls happen: at once, every interval from the previous start, never after the
//! deadline, and the wait ends on the first poll that sees enough workers.

use crate::support::{TF_POOL, default_space, polls, start, wait, worker, worker_reads};
use octopus_emulator::{Fault, Scenario};
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_millis(100);

#[test]
fn succeeds_on_the_first_poll_after_the_nth_registration() {
    let before_start = Instant::now();
    let emulator = start(
        Scenario::new().space(
            default_space([])
                .register_after(Duration::from_millis(400), worker("worker-b", 2))
                .register_after(Duration::from_millis(800), worker("worker-a", 1)),
        ),
    );
    let after_start = Instant::now();
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "2",
            "--poll-interval",
            "100ms",
            "--timeout",
            "20s",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");

    let requests = emulator.requests();
    let polls = polls(&requests);
    let (success, earlier) = polls.split_last().expect("at least one poll");
    // The second registration happened in [before_start, after_start] + 800 ms.
    let registered_by = after_start + Duration::from_millis(800);
    let registered_from = before_start + Duration::from_millis(800);
    for poll in earlier {
        assert!(
            poll.started < registered_by,
            "a poll after the registration did not end the wait"
        );
    }
    let previous = earlier
        .last()
        .expect("the registration came after the first poll");
    let gap = success.started.duration_since(previous.started);
    assert!(
        gap < INTERVAL + Duration::from_millis(150),
        "the successful poll came {gap:?} after the previous one"
    );
    assert!(success.started + Duration::from_millis(20) >= registered_from);
    // Never hammering: polls start an interval apart (less a little network jitter).
    for pair in polls.windows(2) {
        let gap = pair[1].started.duration_since(pair[0].started);
        assert!(gap >= Duration::from_millis(80), "polls only {gap:?} apart");
    }
    let span = success.started.duration_since(polls[0].started);
    let most = span.as_millis() / INTERVAL.as_millis() + 2;
    assert!(
        polls.len() as u128 <= most,
        "{} polls in {span:?} at a 100ms interval",
        polls.len()
    );

    let outputs = run.outputs();
    assert_eq!(outputs["RegisteredWorkerCount"], "2");
    assert_eq!(outputs["RegisteredWorkerNames"], "worker-a,worker-b");

    let progress = run.progress();
    assert!(
        progress.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "percentages increase: {progress:?}"
    );
    assert_eq!(
        progress.last(),
        Some(&(
            100,
            "2 of 2 workers registered in AWS Worker Pool TF (Spaces-1)".to_owned()
        ))
    );
    assert!(
        progress.contains(&(
            50,
            "1 of 2 workers registered in AWS Worker Pool TF (Spaces-1)".to_owned()
        )),
        "{progress:?}"
    );
}

#[test]
fn more_workers_than_needed_succeed_on_the_first_poll() {
    let emulator = start(Scenario::new().space(default_space([
        worker("worker-d", 4),
        worker("Worker-B", 2),
        worker("worker-a", 1),
        worker("worker-c", 3),
    ])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Spaces-1",
            "--worker-pool",
            TF_POOL,
            "--count",
            "3",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(polls(&emulator.requests()).len(), 1);
    let outputs = run.outputs();
    assert_eq!(outputs["RegisteredWorkerCount"], "4");
    assert_eq!(
        outputs["RegisteredWorkerNames"],
        "worker-a,Worker-B,worker-c,worker-d"
    );
}

#[test]
fn every_page_of_the_pool_is_counted() {
    let workers = (1..=35).map(|number| worker(&format!("worker-{number:02}"), number));
    let emulator = start(Scenario::new().space(default_space(workers)));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "35",
            "--timeout",
            "5s",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests = emulator.requests();
    let reads = worker_reads(&requests);
    assert_eq!(reads.len(), 2, "one poll of two pages: {reads:?}");
    assert!(reads[1].query.contains("skip=30"), "{:?}", reads[1]);
    let outputs = run.outputs();
    assert_eq!(outputs["RegisteredWorkerCount"], "35");
    assert_eq!(outputs["RegisteredWorkerNames"].split(',').count(), 35);
}

#[test]
fn healthy_counts_only_healthy_and_has_warnings() {
    let seeds = || {
        default_space([
            worker("worker-a", 1),
            worker("worker-b", 2).health("HasWarnings"),
            worker("worker-c", 3).health("Unhealthy"),
            worker("worker-d", 4).health("Unknown"),
        ])
    };
    let emulator = start(Scenario::new().space(seeds()));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "2",
            "--healthy",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.outputs()["RegisteredWorkerNames"], "worker-a,worker-b");

    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "3",
            "--healthy",
            "--timeout",
            "300ms",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(run.code, Some(4), "{run:?}");
    assert_eq!(
        run.error_line(),
        "timed out after 300ms: 2 of 3 healthy workers registered in 'AWS Worker Pool TF' (Spaces-1): worker-a, worker-b; 1 missing; not healthy: worker-c, worker-d"
    );
    assert_eq!(run.outputs()["RegisteredWorkerCount"], "2");
}

#[test]
fn times_out_with_exit_code_4_naming_the_registered_workers() {
    let emulator = start(Scenario::new().space(default_space([
        worker("worker-b", 2),
        worker("worker-a", 1),
    ])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "3",
            "--timeout",
            "500ms",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(run.code, Some(4), "{run:?}");
    assert_eq!(
        run.error_line(),
        "timed out after 500ms: 2 of 3 workers registered in 'AWS Worker Pool TF' (Spaces-1): worker-a, worker-b; 1 missing"
    );
    // The outputs are set before the step fails.
    let names: Vec<String> = run
        .messages()
        .into_iter()
        .map(|message| message.name)
        .collect();
    let result_at = names
        .iter()
        .position(|name| name == "resultMessage")
        .expect("a resultMessage");
    let last_output = names
        .iter()
        .rposition(|name| name == "setVariable")
        .expect("outputs");
    assert!(last_output < result_at, "{names:?}");
    assert_eq!(run.outputs()["RegisteredWorkerNames"], "worker-a,worker-b");

    let requests = emulator.requests();
    let polls = polls(&requests);
    let first_request = requests.first().expect("requests").started;
    let last_poll = polls.last().expect("polls").started;
    assert!(
        last_poll.duration_since(first_request) <= Duration::from_millis(560),
        "the last poll started {:?} after the first request",
        last_poll.duration_since(first_request)
    );
    assert!(
        (4..=7).contains(&polls.len()),
        "{} polls in 500ms",
        polls.len()
    );
}

#[test]
fn server_errors_while_polling_are_warnings_and_polling_goes_on() {
    let emulator = start(Scenario::new().space(default_space([worker("worker-a", 1)])));
    emulator.add_fault(
        Fault::status(503)
            .path("/api/*/workerpools/*/workers")
            .limit(4),
    );
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
            "--poll-interval",
            "100ms",
            "--max-retries",
            "1",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests = emulator.requests();
    let reads = worker_reads(&requests);
    let failed = reads.iter().filter(|read| read.status == 503).count();
    assert_eq!(
        (reads.len(), failed),
        (5, 4),
        "two failed polls of two attempts, then one"
    );
    let warnings: Vec<String> = run
        .lines_at("warning")
        .into_iter()
        .filter(|line| line.starts_with("poll "))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "poll 1 of worker pool 'AWS Worker Pool TF' (Spaces-1) failed, polling goes on"
        ),
        "{warnings:?}"
    );
    assert!(warnings[1].starts_with("poll 2 of"), "{warnings:?}");
    assert_eq!(run.outputs()["RegisteredWorkerNames"], "worker-a");
}
