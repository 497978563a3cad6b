//! The output variables and the JSON document.

use super::support::{TF_POOL, default_space, start, wait, worker};
use octopus_emulator::Scenario;
use serde::Deserialize;

/// The documented JSON shape (crate docs of `octoshare_wait`).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct WaitDocument {
    registered_worker_count: u64,
    registered_worker_names: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct FailedWaitDocument {
    registered_worker_count: u64,
    registered_worker_names: Vec<String>,
    error: String,
    exit_code: u8,
}

#[test]
fn json_mode_prints_exactly_one_document() {
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
            "2",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let document: WaitDocument = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not one documented document ({error}):\n{}", run.stdout));
    assert_eq!(
        document,
        WaitDocument {
            registered_worker_count: 2,
            registered_worker_names: vec!["worker-a".to_owned(), "worker-b".to_owned()],
        }
    );
}

#[test]
fn json_mode_timeout_keeps_the_outputs_and_adds_the_error() {
    let emulator = start(Scenario::new().space(default_space([worker("worker-a", 1)])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "2",
            "--output",
            "json",
            "--timeout",
            "200ms",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(run.code, 4, "{run:?}");
    let document: FailedWaitDocument = serde_json::from_str(&run.stdout).expect("one document");
    assert_eq!(document.registered_worker_count, 1);
    assert_eq!(document.registered_worker_names, ["worker-a"]);
    assert_eq!(document.exit_code, 4);
    assert!(
        document
            .error
            .starts_with("timed out after 200ms: 1 of 2 workers")
    );
}

#[test]
fn octopus_mode_sets_both_outputs_and_highlights_the_result() {
    let emulator = start(Scenario::new().space(default_space([worker("worker-a", 1)])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs["RegisteredWorkerCount"], "1");
    assert_eq!(outputs["RegisteredWorkerNames"], "worker-a");
    let highlights = run.lines_at("highlight");
    assert_eq!(highlights.len(), 1, "{highlights:?}");
    assert!(
        highlights[0]
            .starts_with("1 of 1 worker registered in 'AWS Worker Pool TF' (Spaces-1) after "),
        "{highlights:?}"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}
