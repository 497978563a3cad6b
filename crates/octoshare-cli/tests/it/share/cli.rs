//! The binary's contract: exit codes, `--to-spaces` handling, dry runs, the report file and its
//! artifact message, JSON output.

use super::support::*;
use octopus_emulator::{Emulator, Scenario, SpaceSeed};
use serde_json::Value;

fn two_targets() -> Emulator {
    Emulator::start(target_spaces(Scenario::new().space(source_space(2)), 2)).unwrap()
}

#[test]
fn share_unknown_source_space_or_pool_exits_3() {
    let emulator = two_targets();
    let unknown_space = run(
        &emulator,
        &[
            "--from-space",
            "Nowhere",
            "--to-spaces",
            "Target 1",
            "--worker-pool",
            POOL,
        ],
    );
    assert_eq!(unknown_space.code, 3, "{}", unknown_space.stderr);
    assert!(
        unknown_space
            .stderr
            .contains("no space has the name or Id 'Nowhere'")
    );
    assert!(unknown_space.stderr.contains("--from-space"));

    let unknown_pool = run(
        &emulator,
        &[
            "--from-space",
            "Spaces-1",
            "--to-spaces",
            "Target 1",
            "--worker-pool",
            "GCP",
        ],
    );
    assert_eq!(unknown_pool.code, 3, "{}", unknown_pool.stderr);
    assert!(
        unknown_pool
            .stderr
            .contains("has no worker pool named 'GCP'"),
        "{}",
        unknown_pool.stderr
    );
    assert!(unknown_pool.stderr.contains("'AWS Worker Pool TF'"));
    assert_eq!(writes(&emulator), 0);
}

#[test]
fn share_dry_run_makes_no_write_and_prints_the_plan() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(2)), 1).space(
            SpaceSeed::new("Stale")
                .pool(POOL)
                .worker(polling("web-1", 501))
                .worker(polling("gone", 502).health("Unavailable")),
        ),
    )
    .unwrap();
    for key in [emulator.api_key(), emulator.read_only_api_key()] {
        emulator.clear_requests();
        let result = run_with_key(
            &emulator,
            &key,
            &args(&share_args("Target 1,Stale"), &["--dry-run", "--prune"]),
        );
        assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
        assert_eq!(writes(&emulator), 0);
        assert!(
            emulator
                .requests()
                .iter()
                .all(|request| request.method == "GET")
        );
        // What a real run would do: 2 + 1 created, 1 replaced, 1 pruned.
        assert_eq!(result.counts(), [3, 1, 0, 1, 0]);
        for expected in [
            "'Target 1' (Spaces-2): plan: create 'web-1'",
            "'Stale' (Spaces-3): plan: replace endpoint 'web-1'",
            "'Stale' (Spaces-3): plan: delete 'gone'",
        ] {
            assert!(
                result.stdout.contains(expected),
                "{expected}:\n{}",
                result.stdout
            );
        }
        assert!(result.stdout.contains("dry run: would share 2 workers"));
    }
    let stale = emulator.space_id("Stale").unwrap();
    assert_eq!(emulator.workers(&stale).len(), 2);
}

#[test]
fn share_with_a_read_only_key_exits_6_after_trying_every_space() {
    let emulator = two_targets();
    let result = run_with_key(
        &emulator,
        &emulator.read_only_api_key(),
        &args(&share_args("Target 1,Target 2"), &[]),
    );
    assert_eq!(result.code, 6, "{}\n{}", result.stdout, result.stderr);
    // Every space was tried; once a write is refused, no further write starts in that space.
    assert!((2..=4).contains(&emulator.count("POST")));
    assert_eq!(result.output_number("FailedCount"), 4);
    assert!(
        result.stderr.contains("permission refused"),
        "{}",
        result.stderr
    );
    assert!(result.stdout.contains("403"), "{}", result.stdout);
}

#[test]
fn share_to_spaces_duplicates_source_and_unknown_entries() {
    let emulator = two_targets();
    let target_1 = emulator.space_id("Target 1").unwrap();
    let list = format!(
        " {target_1} , target 1,,Target 1, Default ,Nope,{}, {target_1}",
        target_1.to_lowercase()
    );
    let result = run(&emulator, &args(&share_args(&list), &[]));
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [2, 0, 0, 0, 1]);
    assert!(
        result.stdout.contains(
            "note: 'target 1' names 'Target 1' (Spaces-2), which --to-spaces already lists"
        )
    );
    assert!(result.stdout.contains("listed more than once"));
    assert!(
        result
            .stdout
            .contains("note: 'Default' is the source space 'Default' (Spaces-1): skipped")
    );
    assert!(
        result
            .stdout
            .contains("failed: 'Nope': no space has the name or Id 'Nope' (3 spaces searched): check --to-spaces"),
        "{}",
        result.stdout
    );
}

#[test]
fn share_empty_to_spaces_succeeds_with_zero_counts() {
    let emulator = two_targets();
    for list in ["", " , ,"] {
        emulator.clear_requests();
        let result = run(&emulator, &args(&share_args(list), &[]));
        assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
        assert_eq!(result.counts(), [0, 0, 0, 0, 0]);
        assert_eq!(writes(&emulator), 0);
        assert!(result.stdout.contains("nothing to do"), "{}", result.stdout);
    }
}

#[test]
fn share_report_file_has_the_documented_shape_and_is_attached() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(2)), 1).space(SpaceSeed::new("No Pool")),
    )
    .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("reports/share.json");
    let path_text = path.to_str().unwrap();
    let result = run(
        &emulator,
        &args(&share_args("Target 1,No Pool"), &["--report", path_text]),
    );
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);

    let artifacts = result.messages_named("createArtifact");
    assert_eq!(artifacts.len(), 1, "{}", result.stdout);
    assert_eq!(artifacts[0].get("path"), Some(path_text));
    assert_eq!(artifacts[0].get("name"), Some("share.json"));
    let length: u64 = artifacts[0].get("length").unwrap().parse().unwrap();
    assert_eq!(length, std::fs::metadata(&path).unwrap().len());

    let text = std::fs::read_to_string(&path).unwrap();
    let report: ReportFile = serde_json::from_str(&text).unwrap();
    assert_eq!(report.source_space.name, "Default");
    assert_eq!(report.worker_pool_name, POOL);
    assert!(!report.dry_run && !report.interrupted);
    assert_eq!((report.totals.created, report.totals.failed), (2, 1));
    assert_eq!(report.spaces.len(), 2);
    assert_eq!(report.spaces[0].entry, "Target 1");
    assert_eq!(report.spaces[0].status, "Succeeded");
    let workers: Vec<(&str, &str, &str)> = report.spaces[0]
        .workers
        .iter()
        .map(|w| (w.name.as_str(), w.action.as_str(), w.outcome.as_str()))
        .collect();
    assert_eq!(
        workers,
        vec![("web-1", "Create", "Done"), ("web-2", "Create", "Done")]
    );
    assert!(
        report.spaces[0]
            .workers
            .iter()
            .all(|w| w.worker_id.is_some())
    );
    assert_eq!(report.spaces[1].status, "Failed");
    assert!(
        report.spaces[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("no worker pool named")
    );

    let value: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "SourceSpace",
            "WorkerPoolName",
            "DryRun",
            "Interrupted",
            "Totals",
            "SourceWorkers",
            "Spaces"
        ]
    );
    assert_eq!(value["Spaces"][1]["FailureKind"], "NotFound");
}

/// The documented shape of the report file (docs/json-output.md), decoded.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ReportFile {
    source_space: SpaceEntry,
    worker_pool_name: String,
    dry_run: bool,
    interrupted: bool,
    totals: Counts,
    #[allow(dead_code)]
    source_workers: Vec<Value>,
    spaces: Vec<SpaceReport>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct SpaceEntry {
    #[allow(dead_code)]
    id: String,
    name: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Counts {
    created: u64,
    failed: u64,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct SpaceReport {
    entry: String,
    #[allow(dead_code)]
    space: Option<SpaceEntry>,
    status: String,
    reason: Option<String>,
    #[allow(dead_code)]
    failure_kind: Option<String>,
    #[allow(dead_code)]
    counts: Value,
    workers: Vec<WorkerReport>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct WorkerReport {
    name: String,
    worker_id: Option<String>,
    action: String,
    outcome: String,
    #[allow(dead_code)]
    reason: String,
    #[allow(dead_code)]
    failure_kind: Option<String>,
}

#[test]
fn share_json_output_is_one_document_with_the_outputs_and_the_report() {
    let emulator = two_targets();
    let result = run(
        &emulator,
        &args(&share_args("Target 1"), &["--output", "json"]),
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(document["CreatedWorkerCount"], 2);
    assert_eq!(document["UnchangedWorkerCount"], 0);
    assert_eq!(document["FailedCount"], 0);
    assert_eq!(document["Report"]["Spaces"][0]["Counts"]["Created"], 2);
}

#[test]
fn share_progress_and_summary_table_in_octopus_mode() {
    let emulator = two_targets();
    let result = run(&emulator, &args(&share_args("Target 1,Target 2"), &[]));
    assert_eq!(result.code, 0);
    let progress: Vec<String> = result
        .messages_named("progress")
        .iter()
        .map(|m| m.get("percentage").unwrap().to_owned())
        .collect();
    assert_eq!(progress, vec!["50", "100"]);
    assert!(
        result
            .stdout
            .lines()
            .any(|line| line.starts_with("space") && line.contains("created"))
    );
    assert!(
        result
            .stdout
            .lines()
            .any(|line| line.starts_with("total") && line.contains(" 4 "))
    );
    assert!(result.stdout.contains("##octopus[stdout-highlight]"));
}

#[test]
fn share_usage_errors_exit_2() {
    let emulator = two_targets();
    let result = run(
        &emulator,
        &[
            "--from-space",
            "Default",
            "--to-spaces",
            "x",
            "--worker-pool",
            " ",
        ],
    );
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(result.stderr.contains("--worker-pool is empty"));
    let result = run(
        &emulator,
        &args(&share_args("x"), &["--on-conflict", "merge"]),
    );
    assert_eq!(result.code, 2);
}
