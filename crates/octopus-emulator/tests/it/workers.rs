//! Workers: POST/PUT/DELETE, server-filled fields, validation and the naming rules.

use reqwest::Method;
use serde_json::{Value, json};

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
            "Id",
            "WorkerPoolIds",
            "SpaceId",
            "Name",
            "Thumbprint",
            "Uri",
            "IsDisabled",
            "MachinePolicyId",
            "HealthStatus",
            "HasLatestCalamari",
            "StatusSummary",
            "IsInProcess",
            "Endpoint",
            "OperatingSystem",
            "ShellName",
            "ShellVersion",
            "Architecture",
            "Slug",
            "SkipInitialHealthCheck",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
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
    assert_eq!(
        worker["Endpoint"]["ExtraClientField"],
        json!({"kept": true})
    );
    assert_eq!(worker["Endpoint"]["TentacleVersionDetails"], json!(null));
    assert_eq!(worker["Endpoint"]["Links"], json!({}));
    let id = worker["Id"].as_str().unwrap_or_default();
    assert_eq!(
        worker["Links"]["Self"],
        format!("/api/{space}/workers/{id}")
    );
    assert_eq!(
        get_json(&emulator, &format!("/api/{space}/workers/{id}")).await,
        worker
    );
}

#[tokio::test]
async fn listening_endpoint_gets_proxy_id_and_server_fields_in_order() {
    let emulator = start(two_spaces());
    let body = json!({
        "Name": "listener", "WorkerPoolIds": ["WorkerPools-1"], "IsDisabled": true,
        "Endpoint": { "Thumbprint": THUMBPRINT, "Uri": "https://worker01:10933/", "CommunicationStyle": "TentaclePassive" }
    });
    let reply = post(&emulator, "/api/Spaces-1/workers", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let worker = reply.json();
    assert_eq!(
        keys(&worker["Endpoint"]),
        [
            "CommunicationStyle",
            "Uri",
            "ProxyId",
            "Thumbprint",
            "TentacleVersionDetails",
            "CertificateSignatureAlgorithm",
            "Id",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
        ]
    );
    assert_eq!(worker["IsDisabled"], true);
    assert_eq!(worker["Uri"], "https://worker01:10933/");
}

#[tokio::test]
async fn duplicate_worker_name_in_a_space_is_a_400_envelope() {
    let emulator = start(two_spaces());
    let first = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("polling-worker-01", "WorkerPools-2"),
    )
    .await;
    assert_eq!(first.status, 201);

    let again = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("  POLLING-worker-01 ", "WorkerPools-2"),
    )
    .await;

    assert_eq!(again.status, 400);
    assert_eq!(
        again.json(),
        json!({
            "ErrorMessage": "There was a problem with your request.",
            "Errors": ["A machine named 'POLLING-worker-01' already exists in this space. Machine names must be unique within a space."]
        })
    );
    assert_eq!(emulator.workers("Spaces-1").len(), 1);
}

#[tokio::test]
async fn duplicate_names_are_accepted_when_the_scenario_allows_them() {
    let emulator = start(two_spaces().allow_duplicate_names());
    for _ in 0..2 {
        let reply = post(
            &emulator,
            "/api/Spaces-1/workers",
            &worker_body("twin", "WorkerPools-2"),
        )
        .await;
        assert_eq!(reply.status, 201);
    }
    assert_eq!(emulator.workers("Spaces-1").len(), 2);
}

#[tokio::test]
async fn same_thumbprint_and_poll_uri_in_two_spaces_and_twice_in_one_space_is_accepted() {
    let emulator = start(two_spaces());
    let in_default = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("shared", "WorkerPools-2"),
    )
    .await;
    let in_payments = post(
        &emulator,
        "/api/Spaces-2/workers",
        &worker_body("shared", "WorkerPools-4"),
    )
    .await;
    let second_in_payments = post(
        &emulator,
        "/api/Spaces-2/workers",
        &worker_body("shared-clone", "WorkerPools-4"),
    )
    .await;

    assert_eq!(
        (
            in_default.status,
            in_payments.status,
            second_in_payments.status
        ),
        (201, 201, 201)
    );
    let ids: Vec<Value> = [&in_default, &in_payments, &second_in_payments]
        .iter()
        .map(|r| r.json()["Id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!("Workers-1"), json!("Workers-2"), json!("Workers-3")]
    );
    let by_thumbprint = get_json(
        &emulator,
        &format!("/api/Spaces-2/workers?thumbprint={THUMBPRINT}"),
    )
    .await;
    assert_eq!(by_thumbprint["TotalResults"], 2);
}

#[tokio::test]
async fn missing_name_endpoint_or_thumbprint_is_refused_with_every_error() {
    let emulator = start(two_spaces());
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &json!({"WorkerPoolIds": ["WorkerPools-1"]}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["Errors"],
        json!([
            "Please provide a name for this machine.",
            "Please provide an endpoint for this machine."
        ])
    );

    let mut no_thumbprint = worker_body("w", "WorkerPools-1");
    no_thumbprint["Endpoint"]["Thumbprint"] = json!("");
    let reply = post(&emulator, "/api/Spaces-1/workers", &no_thumbprint).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["Errors"],
        json!(["Please provide a thumbprint for this machine."])
    );
    assert!(emulator.workers("Spaces-1").is_empty());
}

#[tokio::test]
async fn unknown_pool_policy_or_foreign_space_id_is_refused() {
    let emulator = start(two_spaces());
    let foreign_pool = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w", "WorkerPools-4"),
    )
    .await;
    assert_eq!(foreign_pool.status, 400);
    assert_eq!(
        foreign_pool.json()["Errors"],
        json!(["The worker pool 'WorkerPools-4' could not be found in space Spaces-1."])
    );

    let mut bad_policy = worker_body("w", "WorkerPools-1");
    bad_policy["MachinePolicyId"] = json!("MachinePolicies-2");
    assert_eq!(
        post(&emulator, "/api/Spaces-1/workers", &bad_policy)
            .await
            .status,
        400
    );

    let mut other_space = worker_body("w", "WorkerPools-1");
    other_space["SpaceId"] = json!("Spaces-2");
    assert_eq!(
        post(&emulator, "/api/Spaces-1/workers", &other_space)
            .await
            .status,
        400
    );

    let mut explicit = worker_body("w", "WorkerPools-1");
    explicit["SpaceId"] = json!("Spaces-1");
    explicit["MachinePolicyId"] = json!("MachinePolicies-1");
    assert_eq!(
        post(&emulator, "/api/Spaces-1/workers", &explicit)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_envelopes() {
    let emulator = start(two_spaces());
    for body in ["{not json", "[1,2]", ""] {
        let reply = client()
            .post(format!("{}/api/Spaces-1/workers", emulator.url()))
            .header("X-Octopus-ApiKey", emulator.api_key())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.status().as_u16(), 400, "body {body:?}");
        let json: Value = reply.json().await.unwrap_or_default();
        assert_eq!(
            json["ErrorMessage"],
            "There was a problem with your request."
        );
    }
    let mut wrong_type = worker_body("w", "WorkerPools-1");
    wrong_type["IsDisabled"] = json!("yes");
    wrong_type["WorkerPoolIds"] = json!("WorkerPools-1");
    let reply = post(&emulator, "/api/Spaces-1/workers", &wrong_type).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["Errors"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn put_updates_the_worker_and_ignores_read_only_fields() {
    let emulator = start(two_spaces());
    let created = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-1"),
    )
    .await
    .json();
    let mut changed = created.clone();
    changed["Name"] = json!("w1-renamed");
    changed["WorkerPoolIds"] = json!(["WorkerPools-1", "WorkerPools-2"]);
    changed["IsDisabled"] = json!(true);
    changed["HealthStatus"] = json!("Healthy");
    changed["Endpoint"]["Thumbprint"] = json!("00112233445566778899AABBCCDDEEFF00112233");

    let reply = call(
        &emulator,
        Method::PUT,
        "/api/Spaces-1/workers/Workers-1",
        Some(&changed),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    let updated = reply.json();
    assert_eq!(updated["Name"], "w1-renamed");
    assert_eq!(
        updated["WorkerPoolIds"],
        json!(["WorkerPools-1", "WorkerPools-2"])
    );
    assert_eq!(updated["IsDisabled"], true);
    assert_eq!(
        updated["HealthStatus"], "Unknown",
        "HealthStatus is read-only"
    );
    assert_eq!(
        updated["Thumbprint"],
        "00112233445566778899AABBCCDDEEFF00112233"
    );
    assert_eq!(keys(&updated), keys(&created));
    assert_eq!(
        get_json(&emulator, "/api/Spaces-1/workers/Workers-1").await,
        updated
    );

    let wrong_id = call(
        &emulator,
        Method::PUT,
        "/api/Spaces-1/workers/Workers-2",
        Some(&changed),
    )
    .await;
    assert_eq!(wrong_id.status, 404);
}

#[tokio::test]
async fn put_changing_the_endpoint_type_is_refused() {
    let emulator = start(two_spaces());
    let mut worker = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-1"),
    )
    .await
    .json();
    worker["Endpoint"]["CommunicationStyle"] = json!("TentaclePassive");
    worker["Endpoint"]["Uri"] = json!("https://w1:10933/");
    let reply = call(
        &emulator,
        Method::PUT,
        "/api/Spaces-1/workers/Workers-1",
        Some(&worker),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["Errors"],
        json!(["Model Endpoint type does not match incoming type"])
    );
}

#[tokio::test]
async fn put_to_a_name_taken_by_another_worker_is_refused() {
    let emulator = start(two_spaces());
    post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("a", "WorkerPools-1"),
    )
    .await;
    let mut b = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("b", "WorkerPools-1"),
    )
    .await
    .json();
    b["Name"] = json!("A");
    let reply = call(
        &emulator,
        Method::PUT,
        "/api/Spaces-1/workers/Workers-2",
        Some(&b),
    )
    .await;
    assert_eq!(reply.status, 400);
    // Renaming to its own name (another case) is fine.
    b["Name"] = json!("B");
    let reply = call(
        &emulator,
        Method::PUT,
        "/api/Spaces-1/workers/Workers-2",
        Some(&b),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn delete_returns_200_with_an_empty_body_and_removes_the_worker() {
    let emulator = start(two_spaces());
    post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-1"),
    )
    .await;
    let reply = call(
        &emulator,
        Method::DELETE,
        "/api/Spaces-1/workers/Workers-1",
        None,
    )
    .await;
    assert_eq!((reply.status, reply.text.as_str()), (200, ""));
    assert_eq!(
        get(&emulator, "/api/Spaces-1/workers/Workers-1")
            .await
            .status,
        404
    );
    assert_eq!(
        call(
            &emulator,
            Method::DELETE,
            "/api/Spaces-1/workers/Workers-1",
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn helpers_add_workers_and_set_health_visible_over_http() {
    let emulator = start(two_spaces());
    let id = emulator.add_worker("Spaces-2", polling("seeded"));
    assert_eq!(id, "Workers-1");
    let worker = get_json(&emulator, "/api/Spaces-2/workers/Workers-1").await;
    assert_eq!(worker["HealthStatus"], "Healthy");
    assert_eq!(worker["WorkerPoolIds"], json!(["WorkerPools-4"]));
    assert!(worker["Endpoint"]["TentacleVersionDetails"]["Version"].is_string());

    emulator.set_health("Spaces-2", "SEEDED", "Unavailable");
    let worker = get_json(&emulator, "/api/Spaces-2/workers/Workers-1").await;
    assert_eq!(worker["HealthStatus"], "Unavailable");
    assert_eq!(emulator.workers("Spaces-2"), vec![worker]);
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids_and_all_commit() {
    let emulator = start(two_spaces());
    let requests = (0..40).map(|n| {
        let space = if n % 2 == 0 { "Spaces-1" } else { "Spaces-2" };
        let pool = if n % 2 == 0 {
            "WorkerPools-2"
        } else {
            "WorkerPools-4"
        };
        let body = worker_body(&format!("parallel-{n:02}"), pool);
        let emulator = &emulator;
        async move { post(emulator, &format!("/api/{space}/workers"), &body).await }
    });
    let replies = futures::future::join_all(requests).await;
    let mut ids: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.json()["Id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    assert_eq!(
        emulator.workers("Spaces-1").len() + emulator.workers("Spaces-2").len(),
        40
    );
    assert_eq!(emulator.count("POST"), 40);
}
