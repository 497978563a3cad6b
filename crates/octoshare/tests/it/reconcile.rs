//! `octoshare reconcile` as a process against the emulator: it picks up a worker registered and
//! a space created after it started within one interval, a webhook starts a cycle at once (a
//! wrong token starts nothing, a burst makes one cycle), it survives an outage (`/healthz`
//! flips to 503 after 3 failing intervals and back), SIGTERM lets the write in flight finish
//! and exits 0, `--once` exits with share's code, and its endpoints answer.
//!
//! Assertions are on state (log lines, `/status.json`, the emulator's store and log), never on
//! how long something took.

use crate::reconciler::{Reconciler, TOKEN, command};
use crate::support::{POOL, octoshare, polling, pool_worker_names, run_of, start};
use octopus_emulator::{Fault, OutageKind, Scenario, SpaceSeed};
use serde_json::Value;
use std::time::Duration;

/// Alpha (the source) with `worker-1`; Beta with the pool.
fn two_spaces() -> Scenario {
    Scenario::new()
        .space(
            SpaceSeed::new("Alpha")
                .default_space()
                .pool(POOL)
                .worker(polling("worker-1", 1)),
        )
        .space(SpaceSeed::new("Beta").pool(POOL))
}

fn shared(cycle: &Value) -> u64 {
    cycle["Totals"]["Shared"].as_u64().unwrap_or(0)
}

fn token_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, format!("{TOKEN}\n").as_bytes()).unwrap();
    file
}

#[test]
fn a_worker_registered_and_a_space_created_later_are_shared_within_one_interval() {
    let emulator = start(two_spaces());
    let mut reconciler = Reconciler::start(command(&emulator), &["--interval", "300ms"]);
    reconciler.wait_for_cycle("worker-1 shared into Beta", |cycle| {
        cycle["Result"] == "Success" && shared(cycle) == 1
    });
    // Cycle `before` had finished when the changes were made; the one after it may have
    // started already and miss them, the one after that cannot.
    let before = reconciler.last_cycle();
    let alpha = emulator.space_id("Alpha").unwrap();
    emulator.add_worker(&alpha, polling("worker-2", 2));
    emulator.add_space(SpaceSeed::new("Zeta").pool(POOL));
    let cycle = reconciler.wait_for_cycle("both workers in both spaces", |cycle| {
        cycle["Spaces"] == 2 && shared(cycle) == 4
    });
    let number = cycle["Cycle"].as_u64().unwrap();
    assert!(
        number <= before + 2,
        "shared by cycle {number}, changes made after cycle {before}"
    );
    assert_eq!(cycle["Trigger"], "Interval");
    assert_eq!(cycle["ShareRan"], true);
    assert_eq!(cycle["Drift"], false);
    assert_eq!(
        pool_worker_names(&emulator, "Zeta"),
        ["worker-1", "worker-2"]
    );
    // The next cycle has nothing to do: no write, and only the reads of an idle cycle.
    let idle = reconciler.wait_for_cycle("an idle cycle", |cycle| {
        cycle["Cycle"].as_u64().unwrap() > number
    });
    assert_eq!(idle["ShareRan"], false);
    let requests = &idle["Requests"];
    assert_eq!(
        (
            requests["Post"].as_u64(),
            requests["Put"].as_u64(),
            requests["Delete"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    // 1 space list + 3 pool lists + 3 worker lists: at most 2 per qualifying space plus 2.
    assert_eq!(requests["Get"], 7, "{idle:#}");
}

#[test]
fn a_webhook_starts_a_cycle_at_once_and_a_wrong_token_starts_nothing() {
    let emulator = start(two_spaces());
    let token = token_file();
    let mut reconciler = Reconciler::start(
        command(&emulator),
        &[
            "--interval",
            "1h",
            "--listen",
            "127.0.0.1:0",
            "--webhook-token-file",
            token.path().to_str().unwrap(),
        ],
    );
    reconciler.wait_for_cycle("the first cycle", |cycle| cycle["Cycle"] == 1);
    assert_eq!(reconciler.webhook(Some("wrong-secret")), 401);
    assert_eq!(reconciler.webhook(None), 401);
    assert_eq!(
        reconciler.webhook(Some(&format!("{TOKEN}x"))),
        401,
        "a longer secret is wrong too"
    );
    let alpha = emulator.space_id("Alpha").unwrap();
    emulator.add_worker(&alpha, polling("worker-2", 2));
    assert_eq!(reconciler.webhook(Some(TOKEN)), 202);
    let cycle = reconciler.wait_for_cycle("worker-2 shared", |cycle| shared(cycle) == 2);
    assert_eq!(cycle["Trigger"], "Webhook");
    assert_eq!(
        cycle["Cycle"],
        2,
        "the refused webhooks started no cycle: {:#?}",
        reconciler.cycles()
    );
    let (_, metrics) = reconciler.get("/metrics");
    assert!(metrics.contains("octoshare_webhook_requests_total{result=\"rejected\"} 3"));
    assert!(metrics.contains("octoshare_webhook_requests_total{result=\"accepted\"} 1"));
    reconciler.signal("TERM");
    let (code, events, stderr) = reconciler.wait_exit();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains(TOKEN) && !format!("{events:?}").contains(TOKEN));
}

#[test]
fn without_a_secret_the_webhook_answers_404() {
    let emulator = start(two_spaces());
    let mut reconciler = Reconciler::start(
        command(&emulator),
        &["--interval", "1h", "--listen", "127.0.0.1:0"],
    );
    reconciler.wait_for_cycle("the first cycle", |cycle| cycle["Cycle"] == 1);
    assert_eq!(reconciler.webhook(Some(TOKEN)), 404);
    assert_eq!(reconciler.webhook(None), 404);
    let (code, _) = reconciler.get("/nothing-here");
    assert_eq!(code, 404);
}

#[test]
fn a_burst_of_webhooks_during_a_cycle_makes_one_more_cycle() {
    let emulator = start(two_spaces());
    let mut with_token = command(&emulator);
    with_token.env("OCTOSHARE_WEBHOOK_TOKEN", TOKEN);
    let mut reconciler =
        Reconciler::start(with_token, &["--interval", "1h", "--listen", "127.0.0.1:0"]);
    reconciler.wait_for_cycle("the first cycle", |cycle| cycle["Cycle"] == 1);
    // Cycle 2 starts and waits on its first request.
    let hold = emulator.hold_requests();
    assert_eq!(reconciler.webhook(Some(TOKEN)), 202);
    let deadline = std::time::Instant::now() + crate::reconciler::DEADLINE;
    while emulator.in_flight() == 0 {
        assert!(std::time::Instant::now() < deadline, "cycle 2 sent nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    for _ in 0..10 {
        assert_eq!(reconciler.webhook(Some(TOKEN)), 202);
    }
    hold.release();
    reconciler.wait_for_cycle("the cycle the burst started", |cycle| cycle["Cycle"] == 3);
    // A change now, announced by one more webhook: the cycle that shares it comes right
    // after the burst's one cycle.
    let alpha = emulator.space_id("Alpha").unwrap();
    emulator.add_worker(&alpha, polling("worker-2", 2));
    assert_eq!(reconciler.webhook(Some(TOKEN)), 202);
    let cycle = reconciler.wait_for_cycle("worker-2 shared", |cycle| shared(cycle) == 2);
    assert_eq!(cycle["Cycle"], 4, "{:#?}", reconciler.cycles());
    assert!(
        reconciler
            .cycles()
            .iter()
            .skip(1)
            .all(|cycle| cycle["Trigger"] == "Webhook")
    );
}

/// The outage lasts until the reconciler has failed [`OUTAGE_FAILED_CYCLES`] cycles in a row and
/// `/healthz` says 503: with a 200 ms interval and backoff that is a few seconds here. The same
/// test with `--interval 60s` and a 2-minute outage behaves the same way, only slower.
const OUTAGE_FAILED_CYCLES: u64 = 4;

#[test]
fn an_outage_is_survived_and_healthz_is_503_after_three_failing_intervals() {
    let emulator = start(two_spaces());
    let mut reconciler = Reconciler::start(
        command(&emulator),
        &[
            "--interval",
            "200ms",
            "--listen",
            "127.0.0.1:0",
            "--max-retries",
            "0",
            "--request-timeout",
            "5s",
        ],
    );
    reconciler.wait_for_cycle("a successful cycle", |cycle| cycle["Result"] == "Success");
    assert_eq!(reconciler.get("/healthz").0, 200);

    emulator.begin_outage(OutageKind::service_unavailable());
    let alpha = emulator.space_id("Alpha").unwrap();
    emulator.add_worker(&alpha, polling("worker-2", 2));
    reconciler.wait_for("failing cycles", |events| {
        events
            .iter()
            .rev()
            .take_while(|event| event["Event"] == "Cycle" && event["Result"] == "Failure")
            .count() as u64
            >= OUTAGE_FAILED_CYCLES
    });
    let deadline = std::time::Instant::now() + crate::reconciler::DEADLINE;
    loop {
        let (code, body) = reconciler.get("/healthz");
        if code == 503 {
            assert!(body.starts_with("unhealthy"), "{body}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "healthz stayed {code}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = reconciler.status_json();
    assert_eq!(state["Healthy"], false);
    assert!(state["ConsecutiveFailures"].as_u64().unwrap() >= OUTAGE_FAILED_CYCLES);
    let failures: Vec<Value> = reconciler
        .cycles()
        .into_iter()
        .filter(|cycle| cycle["Result"] == "Failure")
        .collect();
    assert!(
        failures
            .iter()
            .all(|cycle| cycle["Trigger"] == "Retry" || cycle["Trigger"] == "Interval")
    );
    assert!(
        failures.iter().all(|cycle| cycle["ExitCode"] == 7),
        "{failures:#?}"
    );
    assert!(
        reconciler.is_running(),
        "a failing cycle never ends the process"
    );

    emulator.end_outage();
    let recovered = reconciler.wait_for_cycle("recovery", |cycle| {
        cycle["Result"] == "Success" && shared(cycle) == 2
    });
    assert_eq!(recovered["Trigger"], "Retry");
    assert_eq!(reconciler.get("/healthz").0, 200);
    assert_eq!(
        pool_worker_names(&emulator, "Beta"),
        ["worker-1", "worker-2"]
    );
    reconciler.signal("TERM");
    assert_eq!(reconciler.wait_exit().0, 0);
}

#[test]
fn sigterm_lets_the_write_in_flight_finish_and_exits_0() {
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Alpha")
                    .default_space()
                    .pool(POOL)
                    .worker(polling("worker-1", 1))
                    .worker(polling("worker-2", 2))
                    .worker(polling("worker-3", 3)),
            )
            .space(SpaceSeed::new("Beta").pool(POOL))
            .space(SpaceSeed::new("Delta").pool(POOL))
            .fault(Fault::latency(Duration::from_millis(600)).method("POST")),
    );
    let reconciler = Reconciler::start(
        command(&emulator),
        &["--interval", "1h", "--concurrency", "1"],
    );
    let deadline = std::time::Instant::now() + crate::reconciler::DEADLINE;
    while emulator.count("POST") == 0 {
        assert!(std::time::Instant::now() < deadline, "no POST");
        std::thread::sleep(Duration::from_millis(2));
    }
    reconciler.signal("TERM");
    let (code, events, stderr) = reconciler.wait_exit();
    assert_eq!(code, 0, "{stderr}");
    let last = events.last().unwrap();
    assert_eq!(last["Event"], "Stopped", "{events:#?}");
    assert_eq!(last["Signal"], "SIGTERM");
    let cycle = events
        .iter()
        .find(|event| event["Event"] == "Cycle")
        .unwrap();
    assert_eq!(cycle["Result"], "Interrupted");
    // Every POST that reached the server made exactly one complete worker; nothing else was
    // written, and no name is registered twice.
    let posts = emulator.count("POST");
    let mut created = 0;
    for space in ["Beta", "Delta"] {
        let names = pool_worker_names(&emulator, space);
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique, "{space}");
        created += names.len();
        let space_id = emulator.space_id(space).unwrap();
        for worker in emulator.workers(&space_id) {
            assert_eq!(worker["Endpoint"]["CommunicationStyle"], "TentacleActive");
            assert!(worker["Endpoint"]["Thumbprint"].is_string(), "{worker}");
        }
    }
    assert_eq!(created, posts, "{:#?}", emulator.requests());
    assert!(created < 6, "the signal stopped the sharing early");
    // A re-run converges.
    let once = run_of(octoshare(&emulator).args(["reconcile", "--worker-pool", POOL, "--once"]));
    assert_eq!(once.code, 0, "{once:?}");
    let status = run_of(octoshare(&emulator).args(["status", "--worker-pool", POOL]));
    assert_eq!(status.code, 0, "{status:?}");
}

#[test]
fn once_runs_one_cycle_and_exits_with_shares_code() {
    let emulator = start(two_spaces());
    let run = run_of(octoshare(&emulator).args([
        "reconcile",
        "--worker-pool",
        POOL,
        "--once",
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["LastCycle"]["ShareRan"], true);
    assert_eq!(document["LastCycle"]["Changes"]["Created"], 1);
    assert_eq!(document["Status"]["Drift"], false);
    assert_eq!(document["Cycles"]["Success"], 1);
    assert!(
        run.stderr
            .starts_with("reconcile: cycle 1 (startup): success"),
        "the cycle line goes to stderr in JSON mode: {}",
        run.stderr
    );

    let fresh = start(two_spaces());
    let read_only = run_of(
        octoshare(&fresh)
            .env("OCTOPUS_API_KEY", fresh.read_only_api_key())
            .args(["reconcile", "--worker-pool", POOL, "--once"]),
    );
    assert_eq!(read_only.code, 6, "{read_only:?}");
    let no_pool = run_of(octoshare(&fresh).args(["reconcile", "--worker-pool", "Nope", "--once"]));
    assert_eq!(no_pool.code, 3, "{no_pool:?}");
    assert_eq!(
        no_pool
            .stderr
            .lines()
            .filter(|line| line.starts_with("error: "))
            .count(),
        1,
        "{no_pool:?}"
    );
}

#[test]
fn the_api_key_file_is_read_and_never_shown() {
    let emulator = start(two_spaces());
    let mut key_file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(
        &mut key_file,
        format!("  {}\n", emulator.api_key()).as_bytes(),
    )
    .unwrap();
    let mut bare = command(&emulator);
    bare.env_remove("OCTOPUS_API_KEY");
    let mut reconciler = Reconciler::start(
        bare,
        &[
            "--interval",
            "1h",
            "--listen",
            "127.0.0.1:0",
            "--api-key-file",
            key_file.path().to_str().unwrap(),
        ],
    );
    reconciler.wait_for_cycle("a successful cycle", |cycle| cycle["Result"] == "Success");
    let mut shown = format!("{:?}{}", reconciler.events(), reconciler.stderr());
    for path in ["/metrics", "/status.json", "/", "/healthz"] {
        shown.push_str(&reconciler.get(path).1);
    }
    assert!(!shown.contains(&emulator.api_key()), "the key was shown");
}

#[test]
fn the_status_page_and_the_json_match_the_matrix() {
    let emulator = start(two_spaces());
    let mut reconciler = Reconciler::start(
        command(&emulator),
        &["--interval", "1h", "--listen", "127.0.0.1:0"],
    );
    reconciler.wait_for_cycle("a successful cycle", |cycle| cycle["Result"] == "Success");
    let state = reconciler.status_json();
    assert_eq!(state["Healthy"], true);
    assert_eq!(state["Status"]["Totals"]["Shared"], 1);
    let (code, page) = reconciler.get("/");
    assert_eq!(code, 200);
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"3600\">"));
    let cells = crate::status::html_cells(&page);
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].1, "Shared");
}
