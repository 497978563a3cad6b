//! Real installations: spaces the API key may not look inside (403) are skipped and reported,
//! dynamic pools never qualify.

use super::support::{TF_POOL, discover, discover_with_key, four_spaces, id, pool_reads, start};
use octopus_emulator::{Access, ApiKeySeed, Fault, Permission, Scenario, SpaceSeed};
use serde::Deserialize;

/// A key that sees every space of [`four_spaces`] but may only look at proxies in `hidden`
/// (listed, 403 on its pools).
const SCOPED_KEY: &str = "API-SCOPEDDISCOVERKEY00000000001";

fn with_scoped_key(scenario: Scenario, refused: &[&str]) -> Scenario {
    let key = refused.iter().fold(
        ApiKeySeed::api_key(SCOPED_KEY).default_access(Access::ReadOnly),
        |key, space| key.space(space, Access::Only(vec![Permission::ProxyView])),
    );
    scenario.scoped_key(key)
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Skipped {
    id: String,
    name: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    initial_space_name: String,
    remaining_space_names: Vec<String>,
    skipped_spaces: Vec<Skipped>,
}

#[test]
fn a_space_whose_pools_may_not_be_read_is_skipped_with_a_warning_and_listed() {
    let emulator = start(with_scoped_key(four_spaces(), &["Default"]));
    let run = discover_with_key(
        &emulator.url(),
        SCOPED_KEY,
        &["--worker-pool", TF_POOL, "--output", "json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let document: Document = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(document.initial_space_name, "Payments");
    assert_eq!(document.remaining_space_names, ["Platform"]);
    let default = id(&emulator, "Default");
    assert_eq!(
        document.skipped_spaces,
        [Skipped {
            id: default.clone(),
            name: "Default".to_owned(),
            reason: "the API key may not read its worker pools (it lacks WorkerView there)"
                .to_owned(),
        }]
    );
    assert!(
        run.stderr.contains(&format!(
            "space Default ({default}) skipped: the API key may not read its worker pools (it lacks the WorkerView permission there)"
        )),
        "{}",
        run.stderr
    );
    // Every listed space was searched once, the refused one included; nothing was retried.
    assert_eq!(pool_reads(&emulator.requests()).len(), 4);
}

#[test]
fn a_skipped_space_warns_in_octopus_mode_and_the_outputs_leave_it_out() {
    let emulator = start(with_scoped_key(four_spaces(), &["Platform"]));
    let run = discover_with_key(&emulator.url(), SCOPED_KEY, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 0, "{run:?}");
    let warnings = run.lines_at("warning");
    assert_eq!(
        warnings,
        [format!(
            "space Platform ({}) skipped: the API key may not read its worker pools (it lacks the WorkerView permission there)",
            id(&emulator, "Platform")
        )]
    );
    let outputs = run.outputs();
    assert_eq!(outputs["RemainingSpaceNames"], "Payments");
    assert_eq!(outputs["QualifyingSpaceCount"], "2");
}

#[test]
fn every_space_refused_exits_6_naming_the_permission() {
    let emulator = start(with_scoped_key(
        four_spaces(),
        &["Default", "Dev", "Payments", "Platform"],
    ));
    let run = discover_with_key(&emulator.url(), SCOPED_KEY, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 6, "{run:?}");
    let line = run.error_line();
    assert!(
        line.starts_with(
            "no space has a worker pool named 'AWS Worker Pool TF' (4 spaces searched, "
        ),
        "{line}"
    );
    assert!(
        line.contains("skipped: the API key lacks WorkerView there"),
        "{line}"
    );
    assert!(line.ends_with("or use another key"), "{line}");
}

#[test]
fn a_refused_initial_space_exits_6() {
    let emulator = start(with_scoped_key(four_spaces(), &["Payments"]));
    let run = discover_with_key(
        &emulator.url(),
        SCOPED_KEY,
        &["--worker-pool", TF_POOL, "--initial-space", "Payments"],
    );
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(
        run.error_line(),
        format!(
            "--initial-space Payments ({}) was skipped: the API key may not read its worker pools (it lacks WorkerView there): pick another space or fix the cause",
            id(&emulator, "Payments")
        )
    );
}

#[test]
fn a_403_without_a_permission_name_is_skipped_naming_the_one_the_read_needs() {
    let emulator = start(four_spaces());
    let dev = id(&emulator, "Dev");
    emulator.add_fault(
        Fault::status(403)
            .path(&format!("/api/{dev}/workerpools/all"))
            .limit(1),
    );
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--output", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let document: Document = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(document.skipped_spaces.len(), 1);
    assert_eq!(document.skipped_spaces[0].id, dev);
    assert!(
        document.skipped_spaces[0].reason.contains("WorkerView"),
        "{:?}",
        document.skipped_spaces
    );
}

#[test]
fn a_401_still_ends_the_discovery() {
    let emulator = start(four_spaces());
    emulator.add_fault(Fault::status(401).path("/api/*/workerpools/all").limit(1));
    let run = discover(&emulator, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 6, "{run:?}");
    assert!(
        run.error_line()
            .starts_with("while listing the worker pools of "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dynamic_pool_never_qualifies_its_space() {
    let scenario = Scenario::new()
        .space(
            SpaceSeed::new("Cloud")
                .default_space()
                .dynamic_pool(TF_POOL, "UbuntuDefault"),
        )
        .space(SpaceSeed::new("Payments").pool(TF_POOL))
        .space(SpaceSeed::new("Platform").pool(TF_POOL));
    let emulator = start(scenario);
    let run = discover(&emulator, &["--worker-pool", TF_POOL, "--output", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let document: Document = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(document.initial_space_name, "Payments");
    assert_eq!(document.remaining_space_names, ["Platform"]);
    let cloud = id(&emulator, "Cloud");
    assert_eq!(document.skipped_spaces.len(), 1);
    assert_eq!(document.skipped_spaces[0].name, "Cloud");
    assert!(
        document.skipped_spaces[0].reason.ends_with(
            "is a dynamic worker pool: Octopus does not allow adding workers to a dynamic pool"
        ),
        "{:?}",
        document.skipped_spaces
    );
    assert!(
        run.stderr.contains(&format!(
            "space Cloud ({cloud}) skipped: its pool 'AWS Worker Pool TF' ("
        )),
        "{}",
        run.stderr
    );

    let only_dynamic = start(
        Scenario::new().space(
            SpaceSeed::new("Cloud")
                .default_space()
                .dynamic_pool(TF_POOL, "UbuntuDefault"),
        ),
    );
    let run = discover(&only_dynamic, &["--worker-pool", TF_POOL]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.error_line()
            .contains("skipped: the pool is a dynamic worker pool there"),
        "{}",
        run.stderr
    );
}
