//! Which spaces qualify, in which order, and what the search costs in requests.

use super::support::{TF_POOL, discover, four_spaces, id, numbered_spaces, pool_reads, start};
use octopus_emulator::{Fault, Scenario, SpaceSeed};
use std::time::Duration;

#[test]
fn finds_the_pool_in_spaces_beyond_the_first_page() {
    // 35 spaces: a 30-item page would end before the only spaces that have the pool.
    let emulator = start(numbered_spaces(35, &[32, 35]));
    let run = discover(&emulator, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["InitialSpaceName"], "Space 32");
    assert_eq!(outputs["InitialSpaceId"], id(&emulator, "Space 32"));
    assert_eq!(outputs["RemainingSpaceIds"], id(&emulator, "Space 35"));
    assert_eq!(outputs["QualifyingSpaceCount"], "2");
    assert_eq!(pool_reads(&emulator.requests()).len(), 35);
}

#[test]
fn request_count_stays_within_one_per_space_plus_one_per_page() {
    for spaces in [1, 30, 31, 100] {
        let emulator = start(numbered_spaces(spaces, &[spaces]));
        let run = discover(&emulator, &["--worker-pool", TF_POOL]);
        assert_eq!(run.code, 0, "{spaces} spaces: {run:?}");
        let requests = emulator.requests();
        let budget = spaces + spaces.div_ceil(30);
        assert!(
            requests.len() <= budget,
            "{spaces} spaces took {} requests (budget {budget})",
            requests.len()
        );
        assert_eq!(requests.len(), spaces + 1, "{spaces} spaces");
        assert!(requests.iter().all(|request| request.method == "GET"));
        assert_eq!(pool_reads(&requests).len(), spaces);
    }
}

#[test]
fn pool_names_match_case_insensitively_and_report_the_real_name() {
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Alpha")
                    .default_space()
                    .pool("aws worker pool tf"),
            )
            .space(SpaceSeed::new("Beta").pool("AWS WORKER POOL TF"))
            .space(SpaceSeed::new("Gamma").pool("AWS Worker Pool")),
    );
    let run = discover(&emulator, &["--worker-pool", " AWS Worker Pool TF "]);
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["InitialSpaceName"], "Alpha");
    assert_eq!(outputs["WorkerPoolName"], "aws worker pool tf");
    assert_eq!(outputs["RemainingSpaceNames"], "Beta");
}

#[test]
fn initial_space_can_be_chosen_by_name_or_id() {
    let emulator = start(four_spaces());
    let platform = id(&emulator, "Platform");
    let expected_remaining = format!("{},{}", id(&emulator, "Default"), id(&emulator, "Payments"));
    for chosen in ["platform", platform.to_uppercase().as_str(), " PLATFORM "] {
        let run = discover(
            &emulator,
            &["--worker-pool", TF_POOL, "--initial-space", chosen],
        );
        assert_eq!(run.code, 0, "{chosen}: {run:?}");
        let outputs = run.outputs();
        assert_eq!(outputs["InitialSpaceName"], "Platform", "{chosen}");
        assert_eq!(outputs["InitialSpaceId"], platform, "{chosen}");
        assert_eq!(outputs["RemainingSpaceIds"], expected_remaining, "{chosen}");
        assert_eq!(
            outputs["RemainingSpaceNames"], "Default,Payments",
            "{chosen}"
        );
        assert_eq!(outputs["QualifyingSpaceCount"], "3", "{chosen}");
        let highlight = run.lines_at("highlight").join("\n");
        assert!(
            highlight.contains("(chosen by --initial-space)"),
            "{highlight}"
        );
    }
}

#[test]
fn stopped_task_queues_are_listed_with_a_warning() {
    let emulator = start(
        Scenario::new()
            .space(SpaceSeed::new("Default").default_space().pool(TF_POOL))
            .space(SpaceSeed::new("Ops").pool(TF_POOL).task_queue_stopped())
            .space(SpaceSeed::new("Quiet").task_queue_stopped()),
    );
    let ops = id(&emulator, "Ops");
    let run = discover(&emulator, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.outputs()["RemainingSpaceIds"], ops);
    let warnings = run.lines_at("warning");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("the task queue is stopped in Ops ({ops}):")),
        "{warnings:?}"
    );
    // A space without the pool is not worth a warning.
    assert!(!warnings[0].contains("Quiet"));
}

#[test]
fn pools_are_read_concurrently_within_the_limit_and_in_server_order() {
    // Every pool read takes 150 ms, the first space's 400 ms: with 3 in flight the later spaces
    // answer first, yet the result keeps the server's order.
    let emulator = start(
        numbered_spaces(9, &[1, 2, 5, 9])
            .fault(Fault::latency(Duration::from_millis(150)).path("/api/*/workerpools/all"))
            .fault(
                Fault::latency(Duration::from_millis(250)).path("/api/Spaces-1/workerpools/all"),
            ),
    );
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--concurrency", "3"]);
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["InitialSpaceName"], "Space 01");
    assert_eq!(outputs["RemainingSpaceNames"], "Space 02,Space 05,Space 09");

    let requests = emulator.requests();
    let reads = pool_reads(&requests);
    assert_eq!(reads.len(), 9);
    // The server counts the requests it holds at once (latency included); discover's other
    // reads come one at a time before the pool reads. The first space's read lasts 400 ms, so
    // the other two slots are busy beside it.
    assert_eq!(
        emulator.peak_in_flight(),
        3,
        "at most --concurrency reads run at once, and that many do"
    );
}

#[test]
fn a_slow_space_does_not_hold_back_the_others() {
    // The first space's pools take 1 s, every other's 100 ms. With 3 reads in flight the
    // other two slots get through the remaining 8 spaces (4 rounds, ~400 ms) while the slow
    // read is still out: an answer never waits for an earlier space's to free its slot.
    let emulator = start(
        numbered_spaces(9, &[1, 2, 5, 9])
            .fault(Fault::latency(Duration::from_millis(100)).path("/api/*/workerpools/all"))
            .fault(
                Fault::latency(Duration::from_millis(900)).path("/api/Spaces-1/workerpools/all"),
            ),
    );
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--concurrency", "3"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.outputs()["RemainingSpaceNames"],
        "Space 02,Space 05,Space 09"
    );

    let requests = emulator.requests();
    let reads = pool_reads(&requests);
    assert_eq!(reads.len(), 9);
    let slow = reads
        .iter()
        .find(|read| read.path.starts_with("/api/Spaces-1/"))
        .expect("the first space's pools were read");
    let slow_answered = slow.started + Duration::from_millis(1000);
    let late: Vec<&str> = reads
        .iter()
        .filter(|read| read.started >= slow_answered)
        .map(|read| read.path.as_str())
        .collect();
    assert!(
        late.is_empty(),
        "these reads waited for the slow space's answer: {late:?}"
    );
}
