//! `octoshare run`: discover → wait → share in one process.

use crate::support::{
    POOL, count, instance, octoshare, pool_id, pool_worker_names, run_of, start, strings, writes,
};
use serde_json::json;
use std::time::Duration;

fn run_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "run".to_owned(),
        "--worker-pool".to_owned(),
        POOL.to_owned(),
    ];
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

#[test]
fn run_json_holds_the_outputs_of_every_phase() {
    let emulator = start(instance(Duration::from_millis(300)));
    let run = run_of(octoshare(&emulator).args(run_args(&[
        "--count",
        "2",
        "--poll-interval",
        "100ms",
        "--output",
        "json",
    ])));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();

    // discover
    assert_eq!(document["InitialSpaceName"], "Alpha");
    assert_eq!(document["InitialSpaceId"], "Spaces-1");
    assert_eq!(
        strings(&document["RemainingSpaceIds"]),
        ["Spaces-2", "Spaces-3"]
    );
    assert_eq!(strings(&document["RemainingSpaceNames"]), ["Beta", "Delta"]);
    assert_eq!(document["WorkerPoolName"], POOL);
    assert_eq!(document["QualifyingSpaceCount"], 3);
    // wait
    assert_eq!(document["RegisteredWorkerCount"], 2);
    assert_eq!(
        strings(&document["RegisteredWorkerNames"]),
        ["worker-1", "worker-2"]
    );
    // share: Beta gets two new workers; Delta one new, and its stale worker-1 replaced
    assert_eq!(document["CreatedWorkerCount"], 3);
    assert_eq!(document["UpdatedWorkerCount"], 1);
    assert_eq!(document["UnchangedWorkerCount"], 0);
    assert_eq!(document["PrunedWorkerCount"], 0);
    assert_eq!(document["FailedCount"], 0);
    assert_eq!(document["Report"]["SourceSpace"]["Name"], "Alpha");

    // detail
    let phases = &document["Phases"];
    for phase in ["Discover", "Wait", "Share"] {
        assert_eq!(phases[phase]["Status"], "Done", "{phase}: {phases}");
        assert!(phases[phase]["ElapsedMs"].is_u64(), "{phase}: {phases}");
    }
    assert_eq!(phases["Wait"]["Outcome"]["Status"], "Satisfied");
    assert_eq!(
        phases["Discover"]["Outcome"]["Initial"]["Space"]["Name"],
        "Alpha"
    );
    assert_eq!(document["DryRun"], false);
    assert_eq!(document["Requests"]["Post"], 3);
    assert_eq!(document["Requests"]["Put"], 1);
    assert_eq!(document["Requests"]["Delete"], 0);

    let logged = emulator.requests();
    assert_eq!(count(&logged, "POST"), 3);
    assert_eq!(count(&logged, "PUT"), 1);
    assert_eq!(document["Requests"]["Get"], count(&logged, "GET"));
    for space in ["Beta", "Delta"] {
        assert_eq!(
            pool_worker_names(&emulator, space),
            ["worker-1", "worker-2"],
            "{space}"
        );
    }
}

#[test]
fn run_octopus_mode_sets_every_output_and_progress_only_grows() {
    let emulator = start(instance(Duration::from_millis(300)));
    let run = run_of(octoshare(&emulator).args(run_args(&[
        "--count",
        "2",
        "--poll-interval",
        "100ms",
        "--output",
        "octopus",
    ])));
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    let expected = [
        ("InitialSpaceName", "Alpha"),
        ("InitialSpaceId", "Spaces-1"),
        ("RemainingSpaceIds", "Spaces-2,Spaces-3"),
        ("WorkerPoolName", POOL),
        ("RemainingSpaceNames", "Beta,Delta"),
        ("QualifyingSpaceCount", "3"),
        ("RegisteredWorkerCount", "2"),
        ("RegisteredWorkerNames", "worker-1,worker-2"),
        ("CreatedWorkerCount", "3"),
        ("UpdatedWorkerCount", "1"),
        ("UnchangedWorkerCount", "0"),
        ("PrunedWorkerCount", "0"),
        ("FailedCount", "0"),
    ];
    for (name, value) in expected {
        assert_eq!(
            outputs.get(name).map(String::as_str),
            Some(value),
            "{name}: {outputs:?}"
        );
    }
    assert_eq!(outputs.len(), expected.len(), "{outputs:?}");

    let progress: Vec<(u8, String)> = run
        .messages()
        .into_iter()
        .filter(|message| message.name == "progress")
        .map(|message| {
            (
                message
                    .get("percentage")
                    .and_then(|value| value.parse().ok())
                    .expect("a percentage"),
                message.get("message").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let percentages: Vec<u8> = progress.iter().map(|(percentage, _)| *percentage).collect();
    assert!(
        percentages.windows(2).all(|pair| pair[0] <= pair[1]),
        "{progress:?}"
    );
    assert_eq!(percentages.first(), Some(&0), "{progress:?}");
    assert_eq!(percentages.last(), Some(&100), "{progress:?}");
    for phase in ["discover: ", "wait: ", "share: "] {
        assert!(
            progress
                .iter()
                .any(|(_, message)| message.starts_with(phase)),
            "{phase}{progress:?}"
        );
    }
    // the wait's progress lies in its share of the run
    assert!(
        progress
            .iter()
            .filter(|(_, message)| message.starts_with("wait: "))
            .all(|(percentage, _)| (10..=60).contains(percentage)),
        "{progress:?}"
    );
}

#[test]
fn run_without_count_skips_the_wait() {
    // worker-2 would register only after a minute: without --count nobody waits for it.
    let emulator = start(instance(Duration::from_secs(60)));
    let run = run_of(octoshare(&emulator).args(run_args(&["--output", "json"])));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["Phases"]["Wait"]["Status"], "Skipped");
    assert!(
        document["Phases"]["Wait"]["Reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("--count")),
        "{document}"
    );
    assert!(
        document.get("RegisteredWorkerCount").is_none(),
        "{document}"
    );
    assert!(
        document.get("RegisteredWorkerNames").is_none(),
        "{document}"
    );
    // only worker-1 was there to share: one create in Beta, one replace in Delta
    assert_eq!(document["CreatedWorkerCount"], 1);
    assert_eq!(document["UpdatedWorkerCount"], 1);

    // The initial pool's workers were read once: by share, not by a wait.
    let workers_path = format!(
        "/api/Spaces-1/workerpools/{}/workers",
        pool_id(&emulator, "Alpha")
    );
    let pool_reads = emulator
        .requests()
        .iter()
        .filter(|request| request.path.eq_ignore_ascii_case(&workers_path))
        .count();
    assert_eq!(pool_reads, 1, "{:?}", emulator.requests());
}

#[test]
fn run_reads_the_spaces_and_their_pools_once() {
    let emulator = start(instance(Duration::from_secs(60)));
    let run = run_of(octoshare(&emulator).args(run_args(&["--output", "json"])));
    assert_eq!(run.code, 0, "{run:?}");
    let logged = emulator.requests();
    let reads = |suffix: &str| {
        logged
            .iter()
            .filter(|request| request.path.to_ascii_lowercase().ends_with(suffix))
            .count()
    };
    // Share is handed what discover read: no second space list, no second pool read.
    assert_eq!(reads("/api/spaces/all"), 1, "{logged:?}");
    assert_eq!(reads("/workerpools/all"), 4, "{logged:?}");
    // discover (1 + 4 spaces), the initial pool's workers, then the workers of Beta and
    // Delta; no machine policy (Beta's create leaves it to the server, the space's default;
    // Delta's stale worker-1 is replaced in place).
    assert_eq!(count(&logged, "GET"), 1 + 4 + 1 + 2, "{logged:?}");
    assert_eq!(reads("/machinepolicies/all"), 0, "{logged:?}");
}

#[test]
fn run_again_makes_no_write() {
    let emulator = start(instance(Duration::ZERO));
    let first = run_of(octoshare(&emulator).args(run_args(&["--count", "2", "--output", "json"])));
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.json()["CreatedWorkerCount"], 3);
    emulator.clear_requests();

    let second = run_of(octoshare(&emulator).args(run_args(&["--count", "2", "--output", "json"])));
    assert_eq!(second.code, 0, "{second:?}");
    let logged = emulator.requests();
    assert_eq!(writes(&logged), 0, "{logged:?}");
    let document = second.json();
    assert_eq!(document["CreatedWorkerCount"], 0);
    assert_eq!(document["UpdatedWorkerCount"], 0);
    assert_eq!(document["UnchangedWorkerCount"], 4);
    assert_eq!(
        document["Requests"],
        json!({"Get": count(&logged, "GET"), "Post": 0, "Put": 0, "Delete": 0, "Retries": 0})
    );
}

#[test]
fn run_text_output_shows_each_phase_and_a_summary() {
    let emulator = start(instance(Duration::ZERO));
    let run = run_of(octoshare(&emulator).args(run_args(&["--count", "2"])));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("##octopus"), "{}", run.stdout);
    for line in [
        "[1/3] discover",
        "[2/3] wait",
        "[3/3] share",
        "octoshare run finished in",
        "  share     3 created, 1 updated, 0 unchanged, 0 pruned, 0 failed in 2 spaces",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
}

#[test]
fn run_wait_timeout_exits_4_and_shares_nothing() {
    let emulator = start(instance(Duration::from_secs(60)));
    let run = run_of(octoshare(&emulator).args(run_args(&[
        "--count",
        "2",
        "--timeout",
        "300ms",
        "--poll-interval",
        "100ms",
        "--output",
        "json",
    ])));
    assert_eq!(run.code, 4, "{run:?}");
    let document = run.json();
    assert_eq!(document["ExitCode"], 4);
    assert_eq!(document["RegisteredWorkerCount"], 1);
    assert_eq!(document["Phases"]["Wait"]["Status"], "Failed");
    assert_eq!(document["Phases"]["Share"]["Status"], "NotRun");
    assert!(document.get("CreatedWorkerCount").is_none(), "{document}");
    assert!(
        document["Error"]
            .as_str()
            .is_some_and(|error| error.contains("worker-1") && error.contains("1 missing")),
        "{document}"
    );
    assert_eq!(writes(&emulator.requests()), 0);
}

#[test]
fn run_without_a_qualifying_space_exits_3() {
    let emulator = start(instance(Duration::ZERO));
    let run = run_of(octoshare(&emulator).args([
        "run",
        "--worker-pool",
        "GCP Worker Pool TF",
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 3, "{run:?}");
    let document = run.json();
    assert_eq!(document["Phases"]["Discover"]["Status"], "Failed");
    assert_eq!(document["Phases"]["Wait"]["Status"], "NotRun");
    assert_eq!(document["Phases"]["Share"]["Status"], "NotRun");
    assert_eq!(document["ExitCode"], 3);
}

#[test]
fn run_with_failing_spaces_exits_5_after_sharing_the_rest() {
    let emulator = start(instance(Duration::ZERO));
    // No space has this policy: creates fail, the rest is still reported.
    let run = run_of(octoshare(&emulator).args(run_args(&[
        "--machine-policy",
        "No Such Policy",
        "--output",
        "json",
    ])));
    assert_eq!(run.code, 5, "{run:?}");
    let document = run.json();
    assert_eq!(document["ExitCode"], 5);
    assert!(
        document["FailedCount"]
            .as_u64()
            .is_some_and(|failed| failed > 0)
    );
    assert_eq!(document["Phases"]["Share"]["Status"], "Failed");
    assert_eq!(document["Phases"]["Discover"]["Status"], "Done");
}

#[test]
fn run_dry_run_only_reads() {
    let emulator = start(instance(Duration::ZERO));
    let run = run_of(octoshare(&emulator).args(run_args(&[
        "--count",
        "2",
        "--dry-run",
        "--output",
        "json",
    ])));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["DryRun"], true);
    assert_eq!(document["CreatedWorkerCount"], 3);
    assert_eq!(writes(&emulator.requests()), 0);
}

#[test]
fn run_refused_credentials_exit_6() {
    let emulator = start(instance(Duration::ZERO));
    let run = run_of(
        octoshare(&emulator)
            .env("OCTOPUS_API_KEY", "API-WRONGWRONGWRONGWRONGWRONG0001")
            .args(run_args(&[])),
    );
    assert_eq!(run.code, 6, "{run:?}");
    assert!(!run.stderr.contains("API-WRONG"), "{}", run.stderr);
}
