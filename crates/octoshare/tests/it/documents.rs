//! Every JSON document of `octoshare` (`run`, `demo`, `install`): validated against its
//! committed schema (`docs/schemas/`), PascalCase keys at every level, and its shape pinned by a
//! snapshot (times, ports and Ids that vary between runs redacted).

use crate::support::{instance, octoshare, octoshare_offline, run_of, start};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Fails unless `document` is valid against the committed schema `name` and every key at every
/// level is PascalCase.
#[track_caller]
fn assert_document(name: &str, document: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas")
        .join(format!("{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
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
                match (key.as_str(), child) {
                    // The status matrix's cells are keyed by space Id: data, not field names.
                    ("Cells", Value::Object(cells)) => {
                        for (space, cell) in cells {
                            assert!(space.starts_with("Spaces-"), "{path}.Cells.{space}");
                            assert_pascal_case(cell, &format!("{path}.Cells.{space}"));
                        }
                    }
                    _ => assert_pascal_case(child, &format!("{path}.{key}")),
                }
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

#[test]
fn run_documents_match_their_schema_and_snapshot() {
    let emulator = start(instance(Duration::from_millis(200)));
    let run = run_of(octoshare(&emulator).args([
        "run",
        "--worker-pool",
        crate::support::POOL,
        "--count",
        "2",
        "--poll-interval",
        "100ms",
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_document("octoshare-run", &document);
    insta::assert_json_snapshot!("run", document, {
        ".ElapsedMs" => "[ms]",
        ".Phases.*.ElapsedMs" => "[ms]",
        ".Phases.Wait.Outcome.ElapsedMs" => "[ms]",
        ".Phases.Wait.Outcome.Polls" => "[polls]",
        ".Phases.Wait.Outcome.CountedPolls" => "[polls]",
        ".Requests.Get" => "[gets]",
        ".Report.Spaces[].Workers[].WorkerId" => "[worker id]",
    });

    let timed_out = run_of(octoshare(&emulator).args([
        "run",
        "--worker-pool",
        crate::support::POOL,
        "--count",
        "5",
        "--timeout",
        "200ms",
        "--poll-interval",
        "100ms",
        "--output",
        "json",
    ]));
    assert_eq!(timed_out.code, 4, "{timed_out:?}");
    let document = timed_out.json();
    assert_document("octoshare-run", &document);
    insta::assert_json_snapshot!("run-timed-out", document, {
        ".ElapsedMs" => "[ms]",
        ".Phases.*.ElapsedMs" => "[ms]",
        ".Phases.Wait.Outcome.ElapsedMs" => "[ms]",
        ".Phases.Wait.Outcome.Polls" => "[polls]",
        ".Phases.Wait.Outcome.CountedPolls" => "[polls]",
        ".Requests.Get" => "[gets]",
        ".Error" => "[timed out after 200ms: 2 of 5 workers ...]",
    });
}

#[test]
fn demo_document_matches_its_schema_and_snapshot() {
    let run = run_of(octoshare_offline().args(["demo", "--output", "json"]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_document("octoshare-demo", &document);
    insta::assert_json_snapshot!("demo", document, {
        ".EmulatorUrl" => "[url]",
        ".ElapsedMs" => "[ms]",
        ".Runs[].ElapsedMs" => "[ms]",
        ".Runs[].Phases.*.ElapsedMs" => "[ms]",
        ".Runs[].Phases.Wait.Outcome.ElapsedMs" => "[ms]",
        ".Runs[].Phases.Wait.Outcome.Polls" => "[polls]",
        ".Runs[].Phases.Wait.Outcome.CountedPolls" => "[polls]",
        ".Runs[].Requests.Get" => "[gets]",
        ".RunRequests[].Get" => "[gets]",
        ".Runs[].Report.Spaces[].Workers[].WorkerId" => "[worker id]",
        ".Runs[].Report.Spaces[].Workers[].Reason" => "[reason]",
    });
}

#[test]
fn install_document_matches_its_schema_and_snapshot() {
    let emulator = start(instance(Duration::ZERO));
    let run = run_of(octoshare(&emulator).args(["install", "--output", "json", "--dry-run"]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_document("octoshare-install", &document);
    insta::assert_json_snapshot!("install", document);
}

#[test]
fn status_documents_match_their_schema_and_snapshot() {
    let emulator = start(instance(Duration::from_secs(3600)));
    let run = run_of(octoshare(&emulator).args([
        "status",
        "--worker-pool",
        crate::support::POOL,
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 5, "drift: {run:?}");
    let document = run.json();
    assert_document("octoshare-status", &document);
    insta::assert_json_snapshot!("status", document, {
        ".ServerUrl" => "[url]",
        ".GeneratedAt" => "[time]",
    });
    let failed =
        run_of(octoshare(&emulator).args(["status", "--worker-pool", "Nope", "--output", "json"]));
    assert_eq!(failed.code, 3);
    assert_document("octoshare-status", &failed.json());
}

#[test]
fn reconcile_documents_and_log_lines_match_their_schemas_and_snapshot() {
    let emulator = start(instance(Duration::from_secs(3600)));
    let run = run_of(octoshare(&emulator).args([
        "reconcile",
        "--worker-pool",
        crate::support::POOL,
        "--once",
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_document("octoshare-reconcile", &document);
    insta::assert_json_snapshot!("reconcile", document, {
        ".LastSuccessAt" => "[time]",
        ".LastCycle.StartedAt" => "[time]",
        ".LastCycle.DurationMs" => "[ms]",
        ".Status.ServerUrl" => "[url]",
        ".Status.GeneratedAt" => "[time]",
        ".Report.Spaces[].Workers[].WorkerId" => "[worker id]",
    });

    let logged = run_of(octoshare(&emulator).args([
        "reconcile",
        "--worker-pool",
        crate::support::POOL,
        "--once",
        "--log-format",
        "json",
    ]));
    assert_eq!(logged.code, 0, "{logged:?}");
    let lines: Vec<Value> = logged
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", logged.stdout);
    assert_eq!(lines[0]["Event"], "Cycle");
    for line in &lines {
        assert_document("reconcile-log-line", line);
    }
}

#[test]
fn retire_documents_match_their_schema_and_snapshot() {
    use octopus_emulator::{LeaseSeed, Scenario, SpaceSeed, WorkerSeed};
    let pool = crate::support::POOL;
    let vm = |name: &str| {
        WorkerSeed::polling(
            name,
            "poll://vmoneaaaaaaaaaaaaaa/",
            "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A",
        )
        .in_pool(pool)
    };
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .pool(pool)
                    .worker(vm("vm-1")),
            )
            .space(
                SpaceSeed::new("Payments")
                    .pool(pool)
                    .worker(vm("payments-vm-1"))
                    .lease(LeaseSeed::on("payments-vm-1").task("Deploy", "Deploy Web to Payments")),
            ),
    );
    let redactions = |document: &Value| {
        let mut document = document.clone();
        document["ElapsedMs"] = "[ms]".into();
        if let Some(registrations) = document["Registrations"].as_array_mut() {
            for registration in registrations {
                if let Some(leases) = registration["Leases"].as_array_mut() {
                    for lease in leases {
                        lease["TakenAt"] = "[time]".into();
                        lease["AgeSeconds"] = "[seconds]".into();
                        lease["OlderThanDrainTimeout"] = "[bool]".into();
                    }
                }
            }
        }
        document
    };
    let dry_run = run_of(octoshare(&emulator).args([
        "retire",
        "--worker",
        "vm-1",
        "--dry-run",
        "--output",
        "json",
    ]));
    assert_eq!(dry_run.code, 0, "{dry_run:?}");
    assert_document("octoshare-retire", &dry_run.json());
    insta::assert_json_snapshot!("retire-dry-run", redactions(&dry_run.json()));

    let timed_out = run_of(octoshare(&emulator).args([
        "retire",
        "--worker",
        "vm-1",
        "--drain-timeout",
        "0s",
        "--output",
        "json",
    ]));
    assert_eq!(timed_out.code, 4, "{timed_out:?}");
    assert_document("octoshare-retire", &timed_out.json());
    insta::assert_json_snapshot!("retire-timed-out", redactions(&timed_out.json()));

    let refused =
        run_of(octoshare(&emulator).args(["retire", "--thumbprint", "abc", "--output", "json"]));
    assert_eq!(refused.code, 2, "{refused:?}");
    assert_document("octoshare-retire", &refused.json());
}
