//! Every JSON document of the step binaries (`--output json`, and share's `--report` file):
//! validated against its committed schema (`docs/schemas/`), PascalCase keys at every level,
//! and its shape pinned by a snapshot (values that vary between runs redacted).

use crate::discover::support::{TF_POOL, discover, four_spaces};
use crate::share::support::{
    self as share_support, POOL, args, share_args, source_space, target_spaces,
};
use crate::wait::support::{default_space, wait, worker};
use octopus_emulator::{Emulator, Scenario, SpaceSeed};
use serde_json::Value;
use std::path::PathBuf;

/// The committed schema of a document (`docs/schemas/<name>.schema.json`).
pub fn schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("a schema is JSON")
}

/// Fails unless `document` is valid against the committed schema `name` and every key at every
/// level is PascalCase.
#[track_caller]
pub fn assert_document(name: &str, document: &Value) {
    let validator = jsonschema::validator_for(&schema(name)).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{document:#}");
    assert_pascal_case(document, "$");
}

#[track_caller]
fn assert_pascal_case(value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                assert!(
                    key.starts_with(|c: char| c.is_ascii_uppercase())
                        && key.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{path}.{key} is not PascalCase"
                );
                assert_pascal_case(child, &format!("{path}.{key}"));
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                assert_pascal_case(item, &format!("{path}[{index}]"));
            }
        }
        _ => {}
    }
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|error| panic!("not one JSON document ({error}):\n{stdout}"))
}

#[test]
fn discover_documents_match_their_schema_and_snapshot() {
    // A space whose pool of that name is dynamic is skipped and listed in SkippedSpaces.
    let emulator = crate::discover::support::start(
        four_spaces().space(SpaceSeed::new("Cloud").dynamic_pool(TF_POOL, "UbuntuDefault")),
    );
    let found = discover(&emulator, &["--worker-pool", TF_POOL, "--output", "json"]);
    assert_eq!(found.code, 0, "{found:?}");
    let document = json(&found.stdout);
    assert_document("octoshare-discover", &document);
    insta::assert_json_snapshot!("discover", document);

    let missing = discover(&emulator, &["--worker-pool", "Nope", "--output", "json"]);
    assert_eq!(missing.code, 3, "{missing:?}");
    let document = json(&missing.stdout);
    assert_document("octoshare-discover", &document);
    insta::assert_json_snapshot!("discover-failed", document);
}

#[test]
fn wait_documents_match_their_schema_and_snapshot() {
    let emulator = crate::wait::support::start(Scenario::new().space(default_space([
        worker("worker-b", 2),
        worker("worker-a", 1),
    ])));
    let base = [
        "--space",
        "Default",
        "--worker-pool",
        crate::wait::support::TF_POOL,
    ];
    let satisfied = wait(
        &emulator,
        &[&base[..], &["--count", "2", "--output", "json"]].concat(),
    );
    assert_eq!(satisfied.code, 0, "{satisfied:?}");
    let document = json(&satisfied.stdout);
    assert_document("octoshare-wait", &document);
    insta::assert_json_snapshot!("wait", document);

    let unknown = wait(
        &emulator,
        &[
            "--space",
            "Nowhere",
            "--worker-pool",
            "P",
            "--count",
            "1",
            "--output",
            "json",
        ],
    );
    assert_eq!(unknown.code, 3, "{unknown:?}");
    let document = json(&unknown.stdout);
    assert_document("octoshare-wait", &document);
    insta::assert_json_snapshot!("wait-failed", document);
}

#[test]
fn share_documents_and_report_file_match_their_schemas_and_snapshots() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(2)), 1).space(SpaceSeed::new("No Pool")),
    )
    .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("report.json");
    let path_text = path.to_str().unwrap();
    let run = share_support::run(
        &emulator,
        &args(
            &share_args("Target 1,No Pool,Nowhere"),
            &["--output", "json", "--report", path_text],
        ),
    );
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    let document = json(&run.stdout);
    assert_document("octoshare-share", &document);
    insta::assert_json_snapshot!("share", document, {
        ".Report.Spaces[].Workers[].WorkerId" => "[worker id]",
    });

    let report = json(&std::fs::read_to_string(&path).unwrap());
    assert_document("share-report", &report);
    assert_eq!(
        report, document["Report"],
        "the file is the document's report"
    );
    assert_eq!(report["WorkerPoolName"], POOL);
}
