//! The output variables: the original runbook's names and meanings, and the JSON document.

use super::support::{TF_POOL, discover, four_spaces, id, numbered_spaces, start};
use octopus_emulator::{Scenario, SpaceSeed};
use serde::Deserialize;

#[test]
fn outputs_keep_the_original_runbook_names_and_meanings() {
    let emulator = start(four_spaces());
    let run = discover(&emulator, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();

    // The original step: first qualifying space in the server's order is the initial one, the
    // others are comma-joined Ids, WorkerPoolName is the pool's name.
    let (default, payments, platform) = (
        id(&emulator, "Default"),
        id(&emulator, "Payments"),
        id(&emulator, "Platform"),
    );
    assert_eq!(outputs["InitialSpaceName"], "Default");
    assert_eq!(outputs["InitialSpaceId"], default);
    assert_eq!(
        outputs["RemainingSpaceIds"],
        format!("{payments},{platform}")
    );
    assert_eq!(outputs["WorkerPoolName"], TF_POOL);
    assert_eq!(outputs["RemainingSpaceNames"], "Payments,Platform");
    assert_eq!(outputs["QualifyingSpaceCount"], "3");
    assert_eq!(outputs.len(), 6, "{outputs:?}");

    let highlights = run.lines_at("highlight");
    assert_eq!(
        highlights,
        [format!(
            "initial space: Default ({default}); worker pool '{TF_POOL}'; remaining spaces: Payments ({payments}), Platform ({platform})"
        )]
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn a_single_qualifying_space_leaves_the_remaining_lists_empty() {
    let emulator = start(
        Scenario::new()
            .space(SpaceSeed::new("Default").default_space())
            .space(SpaceSeed::new("Ops").pool(TF_POOL)),
    );
    let run = discover(&emulator, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["InitialSpaceName"], "Ops");
    assert_eq!(outputs["RemainingSpaceIds"], "");
    assert_eq!(outputs["RemainingSpaceNames"], "");
    assert_eq!(outputs["QualifyingSpaceCount"], "1");
    assert!(run.stdout.contains("value=''"), "{}", run.stdout);
}

/// The documented JSON shape (crate docs of `octoshare_discover`).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct DiscoverDocument {
    initial_space_name: String,
    initial_space_id: String,
    remaining_space_ids: Vec<String>,
    worker_pool_name: String,
    remaining_space_names: Vec<String>,
    qualifying_space_count: u64,
    skipped_spaces: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct FailureDocument {
    error: String,
    exit_code: u8,
}

#[test]
fn json_output_is_one_document_of_the_documented_shape() {
    let emulator = start(four_spaces());
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--output", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let document: DiscoverDocument = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not the documented document ({error}):\n{}", run.stdout));
    assert_eq!(
        document,
        DiscoverDocument {
            initial_space_name: "Default".to_owned(),
            initial_space_id: id(&emulator, "Default"),
            remaining_space_ids: vec![id(&emulator, "Payments"), id(&emulator, "Platform")],
            worker_pool_name: TF_POOL.to_owned(),
            remaining_space_names: vec!["Payments".to_owned(), "Platform".to_owned()],
            qualifying_space_count: 3,
            skipped_spaces: Vec::new(),
        }
    );
    // Human lines go to stderr in JSON mode.
    assert!(
        run.stderr.contains("initial space: Default"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_failure_is_a_document_with_the_error_and_exit_code() {
    let emulator = start(four_spaces());
    let run = discover(
        &emulator,
        &["--worker-pool", "GCP Worker Pool TF", "--output", "json"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    let document: FailureDocument = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(document.exit_code, 3);
    assert!(
        document
            .error
            .starts_with("no space has a worker pool named 'GCP Worker Pool TF'")
    );
}

#[test]
fn text_output_has_no_service_messages() {
    let emulator = start(four_spaces());
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--output", "text"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("##octopus"), "{}", run.stdout);
    assert!(
        run.stdout.contains("initial space: Default"),
        "{}",
        run.stdout
    );
}

#[test]
fn long_space_lists_are_abbreviated_in_the_log_but_complete_in_the_outputs() {
    let emulator = start(numbered_spaces(25, &(1..=25).collect::<Vec<_>>()));
    let run = discover(&emulator, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 0, "{run:?}");
    let shown = |number: usize| {
        let name = format!("Space {number:02}");
        format!("{name} ({})", id(&emulator, &name))
    };
    let listed = |numbers: std::ops::RangeInclusive<usize>| {
        numbers.map(shown).collect::<Vec<_>>().join(", ")
    };

    let outputs = run.outputs();
    let remaining: Vec<String> = (2..=25)
        .map(|number| id(&emulator, &format!("Space {number:02}")))
        .collect();
    assert_eq!(outputs["RemainingSpaceIds"], remaining.join(","));
    assert_eq!(outputs["QualifyingSpaceCount"], "25");

    assert_eq!(
        run.lines_at("highlight"),
        [format!(
            "initial space: {}; worker pool '{TF_POOL}'; remaining spaces: {} and 14 more",
            shown(1),
            listed(2..=11)
        )]
    );
    let summary = format!(
        "25 of 25 spaces have the pool: {} and 15 more",
        listed(1..=10)
    );
    assert!(
        run.stdout.lines().any(|line| line == summary),
        "no line '{summary}' in:\n{}",
        run.stdout
    );
    // The task log's verbose level (hidden until asked for) lists every one.
    assert!(
        run.lines_at("verbose").contains(&format!(
            "every space that has the pool: {}",
            listed(1..=25)
        )),
        "{}",
        run.stdout
    );
}
