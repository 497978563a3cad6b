//! One name rule in every step: with pools `AWS` and `aws` in the same spaces, discover, wait,
//! share and `octoshare run` resolve `aws` and `AWS` to the same pool (an exact match wins), and
//! all fail the same way (exit 3, naming both candidates) for `Aws`, which matches both ignoring
//! case and neither exactly.
//!
//! The emulator refuses two pools whose names differ only in case (its scenarios are checked
//! like Octopus's), so a canned, read-only server answers here; the share and run invocations
//! are dry runs, which only read.

use serde_json::{Value, json};

use crate::support::binaries::{DISCOVER, ORCHESTRATOR, Run, SHARE, WAIT, command};
use crate::support::canned::{CannedServer, Recorded, Reply};
use crate::support::fleet::{thumbprint, uri};

/// `AWS` holds `upper-1`; `aws` holds `lower-1` and `lower-2` (Default's pools).
const UPPER: &str = "WorkerPools-11";
const LOWER: &str = "WorkerPools-12";

fn worker(id: u32, name: &str, pool: &str) -> Value {
    json!({
        "Id": format!("Workers-{id}"), "Name": name, "SpaceId": "Spaces-1",
        "WorkerPoolIds": [pool], "MachinePolicyId": "MachinePolicies-1", "IsDisabled": false,
        "HealthStatus": "Healthy",
        "Endpoint": {"CommunicationStyle": "TentacleActive", "Uri": uri(id), "Thumbprint": thumbprint(id)}
    })
}

fn page(items: Vec<Value>) -> Value {
    json!({
        "ItemType": "Worker", "TotalResults": items.len(), "ItemsPerPage": 30,
        "NumberOfPages": 1, "LastPageNumber": 0, "Items": items, "Links": {}
    })
}

/// Two spaces, each with pools `AWS` and `aws`; Default's hold three workers; Payments is empty.
fn answer(request: &Recorded, _: usize) -> Reply {
    let path = request
        .target
        .split('?')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let default =
        json!({"Id": "Spaces-1", "Name": "Default", "IsDefault": true, "TaskQueueStopped": false});
    let payments = json!({"Id": "Spaces-2", "Name": "Payments", "IsDefault": false, "TaskQueueStopped": false});
    let pools = |space: u32| {
        json!([
            {"Id": format!("WorkerPools-{space}1"), "Name": "AWS", "SpaceId": format!("Spaces-{space}")},
            {"Id": format!("WorkerPools-{space}2"), "Name": "aws", "SpaceId": format!("Spaces-{space}")},
        ])
    };
    let body = match path.as_str() {
        "/api/spaces/all" => json!([default, payments]),
        "/api/spaces/spaces-1" => default,
        "/api/spaces/spaces-2" => payments,
        "/api/spaces-1/workerpools/all" => pools(1),
        "/api/spaces-2/workerpools/all" => pools(2),
        "/api/spaces-1/workerpools/workerpools-11/workers" => {
            page(vec![worker(1, "upper-1", UPPER)])
        }
        "/api/spaces-1/workerpools/workerpools-12/workers" => page(vec![
            worker(2, "lower-1", LOWER),
            worker(3, "lower-2", LOWER),
        ]),
        "/api/spaces-2/machinepolicies/all" => {
            json!([{"Id": "MachinePolicies-2", "Name": "Default Machine Policy", "IsDefault": true}])
        }
        "/api/spaces-2/workers/all" => json!([]),
        _ => return Reply::new(404, "text/plain", "Not Found"),
    };
    Reply::json(200, &body.to_string())
}

fn invoke(server: &CannedServer, binary: &str, args: &[&str]) -> Run {
    let mut process = command(binary);
    process
        .env("OCTOPUS_URL", server.url())
        .env("OCTOPUS_API_KEY", "API-NAMERULE0000000000000000000")
        .args([
            "--retry-delay",
            "0ms",
            "--max-retries",
            "0",
            "--output",
            "json",
        ])
        .args(args);
    let run = Run::of(format!("{binary} {args:?}"), &mut process);
    run.assert_no_panic();
    run
}

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["Name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_exact_match_wins_in_every_step() {
    let server = CannedServer::start(answer);
    for (wanted, shared) in [
        ("aws", vec!["lower-1", "lower-2"]),
        ("AWS", vec!["upper-1"]),
    ] {
        let count = shared.len().to_string();

        let found = invoke(&server, DISCOVER, &["--worker-pool", wanted]);
        assert_eq!(found.code, 0, "{}", found.describe());
        let document = found.json();
        assert_eq!(document["WorkerPoolName"], wanted);
        assert_eq!(document["RemainingSpaceNames"], json!(["Payments"]));

        let waited = invoke(
            &server,
            WAIT,
            &[
                "--space",
                "Default",
                "--worker-pool",
                wanted,
                "--count",
                &count,
            ],
        );
        assert_eq!(waited.code, 0, "{}", waited.describe());
        assert_eq!(waited.json()["RegisteredWorkerNames"], json!(shared));

        let planned = invoke(
            &server,
            SHARE,
            &[
                "--from-space",
                "Default",
                "--to-spaces",
                "Payments",
                "--worker-pool",
                wanted,
                "--dry-run",
            ],
        );
        assert_eq!(planned.code, 0, "{}", planned.describe());
        let document = planned.json();
        assert_eq!(document["Report"]["WorkerPoolName"], wanted);
        assert_eq!(names(&document["Report"]["SourceWorkers"]), shared);
        assert_eq!(names(&document["Report"]["Spaces"][0]["Workers"]), shared);
        assert_eq!(document["CreatedWorkerCount"], shared.len());

        let run = invoke(
            &server,
            ORCHESTRATOR,
            &[
                "run",
                "--worker-pool",
                wanted,
                "--count",
                &count,
                "--dry-run",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.describe());
        let document = run.json();
        assert_eq!(document["WorkerPoolName"], wanted);
        assert_eq!(document["RegisteredWorkerNames"], json!(shared));
        assert_eq!(names(&document["Report"]["SourceWorkers"]), shared);
        assert_eq!(document["CreatedWorkerCount"], shared.len());
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.method == "GET"),
        "{:?}",
        server.requests()
    );
}

#[test]
fn a_name_matching_several_pools_only_ignoring_case_is_the_same_error_in_every_step() {
    let server = CannedServer::start(answer);
    let ambiguity = format!(
        "Default (Spaces-1) has 2 worker pools named 'Aws' ignoring case and none exactly: 'AWS' ({UPPER}), 'aws' ({LOWER}): give the exact name"
    );
    let runs = [
        invoke(&server, DISCOVER, &["--worker-pool", "Aws"]),
        invoke(
            &server,
            WAIT,
            &["--space", "Default", "--worker-pool", "Aws", "--count", "1"],
        ),
        invoke(
            &server,
            SHARE,
            &[
                "--from-space",
                "Default",
                "--to-spaces",
                "Payments",
                "--worker-pool",
                "Aws",
            ],
        ),
        invoke(&server, ORCHESTRATOR, &["run", "--worker-pool", "Aws"]),
    ];
    for run in runs {
        assert_eq!(run.code, 3, "{}", run.describe());
        let document = run.json();
        assert_eq!(document["ExitCode"], 3, "{}", run.describe());
        let error = document["Error"].as_str().expect("an error line");
        assert!(error.contains(&ambiguity), "{error}\nwanted: {ambiguity}");
        assert!(error.ends_with("in --worker-pool"), "{error}");
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.method == "GET"),
        "nothing is written when the pool is ambiguous"
    );
}
