//! Every recorded Octopus JSON document in `tests/fixtures/octopus/` deserializes into the
//! client's models, and worker endpoints round-trip exactly.

use std::path::PathBuf;

use octoshare_core::domain::{EndpointIdentity, WorkerKind};
use octoshare_core::{ActionTemplate, Endpoint, Page, RootDocument, Space, Worker};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/octopus")
}

fn fixtures() -> Vec<(String, String)> {
    let dir = fixtures_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("fixtures expected at {}: {err}", dir.display()));
    let mut files: Vec<(String, String)> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the recorded fixtures, found {}",
        files.len()
    );
    files
}

#[track_caller]
fn decode<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// Every field of `original` comes back unchanged from the model, unless it was `null`.
#[track_caller]
fn assert_round_trips(name: &str, original: &Value, model: &impl serde::Serialize) {
    let serialized = serde_json::to_value(model).unwrap();
    for (key, value) in original.as_object().unwrap() {
        if value.is_null() {
            continue;
        }
        assert_eq!(
            serialized.get(key),
            Some(value),
            "{name}: field {key} changed in a round trip"
        );
    }
}

#[track_caller]
fn assert_endpoint_round_trips_exactly(name: &str, original: &Value) {
    let endpoint_json = original.get("Endpoint").expect("fixture has an Endpoint");
    let expected = serde_json::to_string(endpoint_json).unwrap();
    let endpoint: Endpoint = serde_json::from_value(endpoint_json.clone()).unwrap();
    let once = serde_json::to_string(&endpoint).unwrap();
    let again: Endpoint = serde_json::from_str(&once).unwrap();
    let twice = serde_json::to_string(&again).unwrap();
    assert_eq!(once, expected, "{name}: endpoint changed");
    assert_eq!(
        twice, expected,
        "{name}: endpoint changed on the second round trip"
    );
}

#[test]
fn every_recorded_fixture_deserializes_into_its_model() {
    for (name, text) in fixtures() {
        let value: Value = serde_json::from_str(&text).unwrap();
        if name.starts_with("root-") {
            let root: RootDocument = decode(&name, &text);
            assert_eq!(root.application, "Octopus Deploy", "{name}");
            assert!(root.api_version.starts_with("3.0"), "{name}");
            assert!(root.links.contains_key("Spaces"), "{name}");
            assert_round_trips(&name, &value, &root);
        } else if name.starts_with("space-") {
            let space: Space = decode(&name, &text);
            assert_eq!(space.id.as_str(), "Spaces-1");
            assert!(space.is_default);
            assert_round_trips(&name, &value, &space);
        } else if name.starts_with("worker-") || name.starts_with("machine-") {
            let worker: Worker = decode(&name, &text);
            assert!(!worker.name.is_empty(), "{name}");
            assert!(!worker.endpoint.is_empty(), "{name}");
            assert_round_trips(&name, &value, &worker);
            assert_endpoint_round_trips_exactly(&name, &value);
        } else if name.contains("-collection-") {
            let page: Page<Value> = decode(&name, &text);
            assert!(!page.items.is_empty(), "{name}");
            assert!(
                page.next_link().is_some(),
                "{name}: recorded pages have a next page"
            );
            assert!(page.total_results.is_some(), "{name}");
        } else if name.starts_with("actiontemplate-") {
            let template: ActionTemplate = decode(&name, &text);
            assert!(!template.name.is_empty(), "{name}");
            assert!(template.version.is_some(), "{name}");
            assert!(template.extra.contains_key("Properties"), "{name}");
            assert_round_trips(&name, &value, &template);
        } else if name.starts_with("error-") {
            assert!(value.get("ErrorMessage").is_some(), "{name}");
        } else {
            panic!("{name}: new fixture, classify it in this test");
        }
    }
}

#[test]
fn listening_worker_fixture_keeps_its_fields_and_is_not_polling() {
    let text =
        std::fs::read_to_string(fixtures_dir().join("worker-listening-tentaclepassive.json"))
            .unwrap();
    let worker: Worker = serde_json::from_str(&text).unwrap();
    assert_eq!(
        worker.endpoint.communication_style(),
        Some("TentaclePassive")
    );
    assert_eq!(
        WorkerKind::of(&worker.endpoint),
        WorkerKind::ListeningTentacle
    );
    assert!(EndpointIdentity::of(&worker.endpoint).is_some());
    assert!(!worker.worker_pool_ids.is_empty());
    assert!(worker.extra.contains_key("StatusSummary"));
}

#[test]
fn legacy_collection_pages_keep_their_extra_fields() {
    let text =
        std::fs::read_to_string(fixtures_dir().join("tasks-collection-legacy-2017-skip30.json"))
            .unwrap();
    let page: Page<Value> = serde_json::from_str(&text).unwrap();
    assert!(page.extra.contains_key("IsStale"));
    assert!(page.links.contains_key("Page.Previous"));
}

#[test]
fn typed_worker_collection_deserializes_from_a_page() {
    let worker = std::fs::read_to_string(fixtures_dir().join("worker-ssh.json")).unwrap();
    let text = format!(
        r#"{{"ItemType":"Worker","TotalResults":1,"ItemsPerPage":30,"NumberOfPages":1,"LastPageNumber":0,"Items":[{worker}],"Links":{{"Self":"/api/Spaces-1/workers"}}}}"#
    );
    let page: Page<Worker> = serde_json::from_str(&text).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].endpoint.communication_style(), Some("Ssh"));
    assert_eq!(page.next_link(), None);
}

#[test]
fn recorded_ssh_worker_is_a_shared_ssh_kind_with_host_port_fingerprint_identity_and_an_account() {
    let text = std::fs::read_to_string(fixtures_dir().join("worker-ssh.json")).unwrap();
    let worker: Worker = serde_json::from_str(&text).unwrap();
    let kind = WorkerKind::of(&worker.endpoint);
    assert_eq!(kind, WorkerKind::Ssh);
    assert!(kind.is_shared());
    // Its account (and proxy, when it has one) belong to its space: share maps them by name.
    let references = octoshare_core::domain::endpoint_references(&worker.endpoint);
    assert!(
        references
            .iter()
            .any(|reference| reference.kind == octoshare_core::domain::ReferenceKind::Account),
        "{references:?}"
    );
    let identity = EndpointIdentity::of(&worker.endpoint).expect("host, port and fingerprint");
    let fields = worker.endpoint.as_map();
    assert!(
        identity
            .to_string()
            .contains(fields["Host"].as_str().unwrap()),
        "{identity}"
    );
}
