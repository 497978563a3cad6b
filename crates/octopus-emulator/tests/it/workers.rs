//! Workers: POST/PUT/DELETE, server-filled fields, validation and the naming rules.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn post_worker_returns_201_with_server_filled_fields_in_octopus_order() {
    let emulator = start(two_spaces());
    let space = space_id(&emulator, "Default");
    let pool = pool_id(&emulator, &space, TF_POOL);
    let mut body = worker_body("polling-worker-01", &pool);
    body["Endpoint"]["ExtraClientField"] = json!({"kept": true});

    let reply = post(&emulator, &format!("/api/{space}/workers"), &body).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let worker = reply.json();
    assert_eq!(
        keys(&worker),
        [
            "Id", "WorkerPoolIds", "SpaceId", "Name", "Thumbprint", "Uri", "IsDisabled",
            "MachinePolicyId", "HealthStatus", "HasLatestCalamari", "StatusSummary", "IsInProcess",
            "Endpoint", "OperatingSystem", "ShellName", "ShellVersion", "Architecture", "Slug",
            "SkipInitialHealthCheck", "LastModifiedOn", "LastModifiedBy", "Links"
        ]
    );
    assert_eq!(worker["SpaceId"], space.as_str());
    assert_eq!(worker["Thumbprint"], THUMBPRINT);
    assert_eq!(worker["Uri"], POLL_URI);
    assert_eq!(worker["HealthStatus"], "Unknown");
    assert_eq!(
        worker["StatusSummary"],
        "This machine was recently added. Please perform a health check."
    );
    assert_eq!(worker["HasLatestCalamari"], false);
    assert_eq!(worker["OperatingSystem"], "Unknown");
    assert_eq!(worker["Slug"], "polling-worker-01");
    assert_eq!(worker["MachinePolicyId"], "MachinePolicies-1");
    assert_eq!(worker["Endpoint"]["ExtraClientField"], json!({"kept": true}));
    assert_eq!(worker["Endpoint"]["TentacleVersionDetails"], json!(null));
    assert_eq!(worker["Endpoint"]["Links"], json!({}));
    let id = worker["Id"].as_str().unwrap_or_default();
    assert_eq!(worker["Links"]["Self"], format!("/api/{space}/workers/{id}"));
    assert_eq!(
        get_json(&emulator, &format!("/api/{space}/workers/{id}")).await,
        worker
    );
    let _ = Method::GET;
}
