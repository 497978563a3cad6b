//! The binary's polling against the emulator, in real time: the wait ends on the first poll
//! that sees enough workers, outputs and progress are right, timeouts and failures end as
//! documented. These tests assert no timing window (the machine may be loaded): the exact
//! schedule (poll at once, every interval from the previous start, the last one at the
//! deadline, abandoned polls) is asserted in `crates/octoshare-wait/tests/it/schedule.rs` under
//! Tokio's paused clock. The progress-driven test below is the one real-time smoke test.

use super::support::{TF_POOL, command, default_space, polls, start, wait, worker, worker_reads};
use octopus_emulator::{Fault, LoggedRequest, Scenario};
use octoshare_core::service_message::parse_service_message;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Every poll but the last started before `registered_by`, the time by which the Nth worker was
/// registered (a later poll would have seen it and ended the wait). The server logs arrival
/// times, so this holds however slow the machine is.
fn assert_polls_end_at_the_registration(polls: &[&LoggedRequest], registered_by: Instant) {
    let (_, earlier) = polls.split_last().expect("at least one poll");
    for poll in earlier {
        assert!(
            poll.started < registered_by,
            "a poll after the registration did not end the wait"
        );
    }
}

#[test]
fn succeeds_on_the_first_poll_after_the_scheduled_nth_registration() {
    let emulator = start(
        Scenario::new().space(
            default_space([])
                .register_after(Duration::from_millis(300), worker("worker-b", 2))
                .register_after(Duration::from_millis(600), worker("worker-a", 1)),
        ),
    );
    // The emulator's clock started before `start` returned.
    let registered_by = Instant::now() + Duration::from_millis(600);
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
    assert_eq!(run.code, 0, "{run:?}");
    let requests = emulator.requests();
    let polls = polls(&requests);
    assert_polls_end_at_the_registration(&polls, registered_by);

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
}

/// The next `progress` message the running binary prints, decoded.
fn next_progress(stdout: &mut impl BufRead) -> (String, String) {
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("stdout readable");
        assert!(read > 0, "the binary ended before reporting progress");
        if let Ok(message) = parse_service_message(line.trim_end())
            && message.name == "progress"
        {
            let text = |name: &str| message.get(name).unwrap_or_default().to_owned();
            return (text("percentage"), text("message"));
        }
    }
}

#[test]
fn succeeds_on_the_first_poll_after_each_registration_driven_by_progress() {
    let emulator = start(Scenario::new().space(default_space([])));
    let space = emulator.space_id("Default").expect("the space");
    let mut child = command(
        &emulator.url(),
        &emulator.api_key(),
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
            "1m",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));

    let first = next_progress(&mut stdout);
    assert_eq!(first.0, "0");
    emulator.add_worker(&space, worker("worker-b", 2));
    let second = next_progress(&mut stdout);
    assert_eq!(
        second,
        (
            "50".to_owned(),
            "1 of 2 workers registered in AWS Worker Pool TF (Spaces-1)".to_owned()
        )
    );
    let polls_before = polls(&emulator.requests()).len();
    emulator.add_worker(&space, worker("worker-a", 1));
    let registered_by = Instant::now();
    let third = next_progress(&mut stdout);
    assert_eq!(third.0, "100");
    let status = child.wait().expect("the binary ends");
    assert_eq!(status.code(), Some(0));

    let requests = emulator.requests();
    let polls = polls(&requests);
    assert_polls_end_at_the_registration(&polls, registered_by);
    // The wait ended on the first or, when a poll was already under way while the worker was
    // added, the second poll after the registration.
    assert!(
        polls.len() - polls_before <= 2,
        "{} polls after the registration",
        polls.len() - polls_before
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
    assert_eq!(run.code, 0, "{run:?}");
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
    assert_eq!(run.code, 0, "{run:?}");
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
    assert_eq!(run.code, 0, "{run:?}");
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
    assert_eq!(run.code, 4, "{run:?}");
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
    assert_eq!(run.code, 4, "{run:?}");
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
    assert!(!polls(&emulator.requests()).is_empty());
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
    assert_eq!(run.code, 0, "{run:?}");
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

#[test]
fn failing_polls_until_the_deadline_time_out_with_the_last_error() {
    let emulator = start(Scenario::new().space(default_space([worker("worker-a", 1)])));
    emulator.add_fault(Fault::status(503).path("/api/*/workerpools/*/workers"));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
            "--timeout",
            "300ms",
            "--poll-interval",
            "100ms",
            "--max-retries",
            "0",
        ],
    );
    assert_eq!(run.code, 4, "{run:?}");
    let line = run.error_line();
    // No poll answered: the count is unknown, not 0, and no output claims it.
    assert!(
        line.starts_with(
            "timed out after 300ms: no poll of worker pool 'AWS Worker Pool TF' (Spaces-1) succeeded, so the number of registered workers is unknown (1 worker wanted); last poll failed: "
        ),
        "{line}"
    );
    assert!(line.contains("503"), "{line}");
    let outputs = run.outputs();
    assert!(
        !outputs.contains_key("RegisteredWorkerCount")
            && !outputs.contains_key("RegisteredWorkerNames"),
        "{outputs:?}"
    );
    let requests = emulator.requests();
    let reads = worker_reads(&requests);
    assert!(
        !reads.is_empty() && reads.iter().all(|read| read.status == 503),
        "{reads:?}"
    );
}

/// The stall outlasts the runner's 60 s guard, so the binary can only pass by abandoning the
/// poll (how soon is asserted in the schedule tests, not here).
#[test]
fn a_hanging_poll_is_abandoned_after_the_deadline() {
    let emulator = start(Scenario::new().space(default_space([])));
    emulator.add_fault(Fault::stall(Duration::from_secs(600)).path("/api/*/workerpools/*/workers"));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
            "--timeout",
            "300ms",
            "--poll-interval",
            "100ms",
            "--request-timeout",
            "10s",
        ],
    );
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.error_line().ends_with(
            "the number of registered workers is unknown (1 worker wanted); last poll failed: no answer before the deadline: the poll was abandoned"
        ),
        "{}",
        run.stderr
    );
}
