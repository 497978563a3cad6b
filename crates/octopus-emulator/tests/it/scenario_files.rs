//! Scenario JSON: parsing, validation errors that name the field, files.

use octopus_emulator::{Emulator, Scenario};

use crate::support::*;

const EXAMPLE: &str = r#"{ "seed": 7, "latencyMs": 0, "rejectDuplicateNames": true,
  "spaces": [ { "name": "Default", "isDefault": true, "taskQueueStopped": false,
      "workerPools": ["AWS Worker Pool TF"], "machinePolicies": ["Fast Policy"],
      "workers": [ { "name": "worker-1", "pools": ["AWS Worker Pool TF"], "communicationStyle": "TentacleActive",
                     "uri": "poll://abcdefghijklmnopqrst/", "thumbprint": "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A",
                     "healthStatus": "Healthy", "isDisabled": false, "machinePolicy": "Fast Policy" } ],
      "registrations": [ { "afterMs": 3000, "worker": { "name": "worker-2", "pools": ["AWS Worker Pool TF"],
                     "uri": "poll://bcdefghijklmnopqrstu/", "thumbprint": "1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E" } } ] },
    { "name": "Payments", "workerPools": ["AWS Worker Pool TF"] } ],
  "faults": [ { "method": "POST", "path": "/api/*/workers", "kind": "commitThen500", "rate": 0.3, "limit": 10 } ] }"#;

fn parse_error(json: &str) -> String {
    match Scenario::from_json_str(json) {
        Ok(_) => panic!("expected an error for {json}"),
        Err(error) => format!("{error:#}"),
    }
}

#[tokio::test]
async fn example_scenario_parses_and_seeds_the_emulator() {
    let scenario = Scenario::from_json_str(EXAMPLE).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(scenario.faults().len(), 1);
    let emulator = start(scenario);
    assert_eq!(emulator.space_id("default").as_deref(), Some("Spaces-1"));
    let workers = emulator.workers("Spaces-1");
    assert_eq!(workers.len(), 1);
    assert_eq!(
        workers[0]["WorkerPoolIds"],
        serde_json::json!(["WorkerPools-2"])
    );
    assert_eq!(workers[0]["MachinePolicyId"], "MachinePolicies-2");
    let policies = get_json(&emulator, "/api/Spaces-1/machinepolicies").await;
    assert_eq!(policies["TotalResults"], 2);
}

#[test]
fn unknown_field_is_an_error_naming_its_path() {
    let message = parse_error(
        r#"{ "spaces": [ { "name": "A", "workers": [ { "name": "w", "pool": [], "uri": "poll://x/", "thumbprint": "AB" } ] } ] }"#,
    );
    assert!(message.contains("spaces[0].workers[0]"), "{message}");
    assert!(message.contains("unknown field `pool`"), "{message}");

    let message = parse_error(r#"{ "sead": 1 }"#);
    assert!(message.contains("unknown field `sead`"), "{message}");
}

#[test]
fn fault_documents_are_checked() {
    let message = parse_error(r#"{ "faults": [ { "kind": "explode" } ] }"#);
    assert!(
        message.contains("faults[0]") && message.contains("unknown fault kind `explode`"),
        "{message}"
    );
    let message = parse_error(r#"{ "faults": [ { "kind": "status" } ] }"#);
    assert!(message.contains("needs `code`"), "{message}");
    let message = parse_error(r#"{ "faults": [ { "kind": "drop", "rate": 2 } ] }"#);
    assert!(message.contains("rate"), "{message}");
}

#[test]
fn references_and_defaults_are_validated() {
    let message = parse_error(
        r#"{ "spaces": [ { "name": "A", "workers": [ { "name": "w", "pools": ["Nope"], "uri": "poll://abcdefghijklmnopqrst/", "thumbprint": "AB" } ] } ] }"#,
    );
    assert!(
        message.contains("spaces[0]")
            && message.contains("workers[0]")
            && message.contains("'Nope'"),
        "{message}"
    );
    let message = parse_error(
        r#"{ "spaces": [ { "name": "A", "isDefault": true }, { "name": "B", "isDefault": true } ] }"#,
    );
    assert!(message.contains("isDefault"), "{message}");
    let message = parse_error(r#"{ "spaces": [ { "name": "A" }, { "name": "a" } ] }"#);
    assert!(message.contains("listed twice"), "{message}");
    let message = parse_error(
        r#"{ "spaces": [ { "name": "A", "workers": [ { "name": "w", "uri": "https://x/", "thumbprint": "AB" } ] } ] }"#,
    );
    assert!(message.contains("poll://"), "{message}");
}

#[test]
fn scenario_files_round_trip_and_name_the_file_in_errors() {
    let directory =
        std::env::temp_dir().join(format!("octopus-emulator-it-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap_or_else(|e| panic!("{e}"));
    let good = directory.join("good.json");
    std::fs::write(&good, Scenario::demo().to_json_string()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Scenario::from_file(&good).ok(), Some(Scenario::demo()));

    let bad = directory.join("bad.json");
    std::fs::write(&bad, "{ \"spaces\": 3 }").unwrap_or_else(|e| panic!("{e}"));
    let message = Scenario::from_file(&bad)
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(
        message.contains("bad.json") && message.contains("spaces"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn an_invalid_built_scenario_is_refused_at_start() {
    let scenario =
        Scenario::new().space(octopus_emulator::SpaceSeed::new("A").worker(polling("w")));
    let error = Emulator::start(scenario)
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(error.contains(TF_POOL), "{error}");
}

#[test]
fn emulator_starts_and_stops_from_synchronous_code() {
    let emulator = start(Scenario::new());
    let url = emulator.url();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with('/'));
    let address = emulator.local_addr();
    drop(emulator);
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "the listener is closed on drop"
    );
}

#[test]
fn emulator_handle_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emulator>();
    assert_send_sync::<Scenario>();
}

#[tokio::test]
async fn shipped_example_scenario_from_the_crate_docs_parses_and_starts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/example.json");
    let scenario = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(scenario.faults().len(), 3);
    assert_eq!(
        Scenario::from_json_str(&scenario.to_json_string()).ok(),
        Some(scenario.clone()),
        "round-trips"
    );
    let before_start = std::time::Instant::now();
    let emulator = start(scenario.api_key("API-OTHERKEY000000000000000000001"));
    // The example's faults would answer the first request with 429.
    emulator.clear_faults();
    let templates = emulator.action_templates("Spaces-1");
    assert_eq!(templates[0]["Name"], "Say hello");
    let styles: Vec<String> = emulator
        .workers("Spaces-1")
        .iter()
        .map(|w| {
            w["Endpoint"]["CommunicationStyle"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        styles,
        [
            "KubernetesTentacle",
            "TentaclePassive",
            "OfflineDrop",
            "Ssh",
            "TentacleActive"
        ],
        "sorted by name: k8s-agent-1, listener-1, offline-drop, ssh-1, worker-1"
    );
    assert_eq!(emulator.leases("Spaces-1").len(), 2);
    assert_eq!(
        emulator.worker_pools("Spaces-3")[1]["WorkerPoolType"],
        "DynamicWorkerPool"
    );
    if before_start.elapsed() < std::time::Duration::from_secs(9) {
        assert!(
            emulator.space_id("Created Later").is_none(),
            "appears after 10 s"
        );
    }
    // The scoped key sees only the spaces it has access in.
    let spaces = call_as(
        &emulator,
        "API-PAYMENTSBOT00000000000000001",
        reqwest::Method::GET,
        "/api/spaces/all",
        None,
    )
    .await
    .json();
    let names: Vec<&str> = spaces
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Name"].as_str())
        .collect();
    assert_eq!(names, ["Cloud", "Default", "Payments"]);
}

#[test]
fn start_on_a_taken_address_is_an_error_naming_it() {
    let first = start(Scenario::new());
    let error = Emulator::start_on(first.local_addr(), Scenario::new())
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(error.contains(&first.local_addr().to_string()), "{error}");
}
