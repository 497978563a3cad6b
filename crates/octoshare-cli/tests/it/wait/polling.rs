//! When polls happen: at once, every interval from the previous start, never after the
//! deadline, and the wait ends on the first poll that sees enough workers.

use super::support::{TF_POOL, command, default_space, polls, start, wait, worker, worker_reads};
use octopus_emulator::{Fault, LoggedRequest, Scenario};
use octoshare_core::service_message::parse_service_message;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_millis(100);

/// Checks the polls of a successful wait whose Nth worker registered by `registered_by`: every
/// earlier poll started before it (a later one would have ended the wait), polls start an
/// interval apart, and their number fits the time they span.
fn assert_polls_end_at_the_registration(polls: &[&LoggedRequest], registered_by: Instant) {
    let (success, earlier) = polls.split_last().expect("at least one poll");
    for poll in earlier {
        assert!(
            poll.started < registered_by,
            "a poll after the registration did not end the wait"
        );
    }
    // Never hammering: polls start an interval apart (the server sees arrival times, which a
    // busy machine can delay by a few tens of milliseconds).
    for pair in polls.windows(2) {
        let gap = pair[1].started.duration_since(pair[0].started);
        assert!(gap >= Duration::from_millis(50), "polls only {gap:?} apart");
    }
    let span = success.started.duration_since(polls[0].started);
    let most = span.as_millis() / INTERVAL.as_millis() + 2;
    assert!(
        polls.len() as u128 <= most,
        "{} polls in {span:?} at a 100ms interval",
        polls.len()
    );
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
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests = emulator.requests();
    let polls = polls(&requests);
    assert_polls_end_at_the_registration(&polls, registered_by);
    if let [.., previous, success] = polls.as_slice() {
        // Not a poll later than needed: the one after the last that missed the worker.
        let gap = success.started.duration_since(previous.started);
        assert!(gap < INTERVAL + Duration::from_millis(150), "{gap:?}");
    }

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
    let [.., previous, success] = polls.as_slice() else {
        panic!("at least two polls: {polls:?}");
    };
    let gap = success.started.duration_since(previous.started);
    assert!(gap < INTERVAL + Duration::from_millis(150), "{gap:?}");
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
        last_poll.duration_since(first_request) <= Duration::from_millis(600),
        "the last poll started {:?} after the first request",
        last_poll.duration_since(first_request)
    );
    assert!(
        (2..=7).contains(&polls.len()),
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
    assert_eq!(run.code, Some(4), "{run:?}");
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
    let polls = polls(&emulator.requests()).len();
    assert!((2..=5).contains(&polls), "{polls} polls in 300ms");
}

#[test]
fn a_hanging_poll_is_abandoned_soon_after_the_deadline() {
    let emulator = start(Scenario::new().space(default_space([])));
    emulator.add_fault(Fault::stall(Duration::from_secs(20)).path("/api/*/workerpools/*/workers"));
    let started = Instant::now();
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
    let took = started.elapsed();
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(
        run.error_line().ends_with(
            "the number of registered workers is unknown (1 worker wanted); last poll failed: no answer before the deadline: the poll was abandoned"
        ),
        "{}",
        run.stderr
    );
    assert!(took < Duration::from_secs(5), "the wait took {took:?}");
}
