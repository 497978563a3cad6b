//! Fault injection: each kind, matching, limits, seeded determinism and the request log.

use std::time::{Duration, Instant};

use octopus_emulator::{Emulator, Fault, Scenario};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

async fn try_post_worker(
    emulator: &Emulator,
    name: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    client()
        .post(format!("{}/api/Spaces-1/workers", emulator.url()))
        .header("X-Octopus-ApiKey", emulator.api_key())
        .json(&worker_body(name, "WorkerPools-2"))
        .send()
        .await
}

#[tokio::test]
async fn drop_closes_the_connection_without_a_response_and_commits_nothing() {
    let emulator = start(
        two_spaces().fault(
            Fault::drop_connection()
                .method("POST")
                .path("/api/*/workers"),
        ),
    );

    let result = try_post_worker(&emulator, "w1").await;

    let error = result
        .err()
        .unwrap_or_else(|| panic!("expected a connection error"));
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    assert!(emulator.workers("Spaces-1").is_empty());
    let log = emulator.requests();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].fault.as_deref()), (0, Some("drop")));
    // Other routes are unaffected.
    assert_eq!(get(&emulator, "/api/Spaces-1/workers").await.status, 200);
}

#[tokio::test]
async fn commit_then_500_commits_the_write_then_answers_500() {
    let emulator = start(
        two_spaces().fault(
            Fault::commit_then_500()
                .method("post")
                .path("/api/*/workers")
                .limit(1),
        ),
    );

    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-2"),
    )
    .await;

    assert_eq!(reply.status, 500);
    assert!(reply.json()["ErrorMessage"].is_string());
    assert_eq!(
        emulator.workers("Spaces-1").len(),
        1,
        "the write was committed"
    );
    // The client's retry now meets the duplicate-name rule.
    let retry = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-2"),
    )
    .await;
    assert_eq!(retry.status, 400);
    assert_eq!(
        emulator.requests()[0].fault.as_deref(),
        Some("commitThen500")
    );
}

#[tokio::test]
async fn commit_then_drop_commits_the_write_then_closes_the_connection() {
    let emulator = start(two_spaces().fault(Fault::commit_then_drop().method("POST")));
    let result = try_post_worker(&emulator, "w1").await;
    assert!(result.is_err());
    assert_eq!(emulator.workers("Spaces-1").len(), 1);
    assert_eq!(
        emulator.requests()[0].fault.as_deref(),
        Some("commitThenDrop")
    );
}

#[tokio::test]
async fn status_faults_answer_without_touching_state() {
    let emulator =
        start(two_spaces().fault(Fault::status(429).retry_after(7).method("POST").limit(1)));
    let limited = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-2"),
    )
    .await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(keys(&limited.json()), ["ErrorMessage", "Errors"]);
    assert!(emulator.workers("Spaces-1").is_empty());

    emulator.add_fault(Fault::status(503).path("/api/spaces").limit(1));
    emulator.add_fault(Fault::status(418).path("/api/spaces/**").limit(1));
    assert_eq!(get(&emulator, "/api/spaces").await.status, 503);
    assert_eq!(get(&emulator, "/api/spaces/Spaces-1").await.status, 418);
    assert_eq!(
        get(&emulator, "/api/spaces").await.status,
        200,
        "limit reached"
    );
    let after = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-2"),
    )
    .await;
    assert_eq!(after.status, 201);
}

#[tokio::test]
async fn latency_faults_and_scenario_latency_delay_responses() {
    let emulator = start(
        two_spaces()
            .latency(Duration::from_millis(40))
            .fault(Fault::latency(Duration::from_millis(80)).path("/api/spaces")),
    );
    let started = Instant::now();
    assert_eq!(get(&emulator, "/api/spaces").await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(120),
        "{:?}",
        started.elapsed()
    );
    let entry = &emulator.requests()[0];
    assert_eq!(entry.fault.as_deref(), Some("latency"));
    assert!(entry.finished - entry.started >= Duration::from_millis(120));
}

#[tokio::test]
async fn stall_outlasts_the_client_timeout_and_commits_nothing() {
    let emulator = start(
        two_spaces().fault(
            Fault::stall(Duration::from_millis(300))
                .method("POST")
                .limit(1),
        ),
    );
    let result = client()
        .post(format!("{}/api/Spaces-1/workers", emulator.url()))
        .header("X-Octopus-ApiKey", emulator.api_key())
        .timeout(Duration::from_millis(100))
        .json(&worker_body("w1", "WorkerPools-2"))
        .send()
        .await;
    assert!(result.err().is_some_and(|e| e.is_timeout()));

    // Wait (bounded) until the server gave up on the stalled request.
    tokio::time::timeout(
        Duration::from_secs(30),
        emulator.wait_for_requests(|log| log[0].finished > log[0].started),
    )
    .await
    .unwrap_or_else(|_| panic!("the stalled request never finished"));
    let entry = &emulator.requests()[0];
    assert_eq!((entry.status, entry.fault.as_deref()), (0, Some("stall")));
    assert!(emulator.workers("Spaces-1").is_empty());
    // A retry after the stall commits.
    assert_eq!(
        post(
            &emulator,
            "/api/Spaces-1/workers",
            &worker_body("w1", "WorkerPools-2")
        )
        .await
        .status,
        201
    );
}

async fn status_sequence(seed: u64) -> Vec<u16> {
    let emulator = start(
        two_spaces()
            .seed(seed)
            .fault(Fault::status(500).rate(0.5).path("/api/spaces")),
    );
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(get(&emulator, "/api/spaces").await.status);
    }
    statuses
}

#[tokio::test]
async fn same_seed_gives_the_same_fault_sequence() {
    let first = status_sequence(42).await;
    let second = status_sequence(42).await;
    let other = status_sequence(43).await;
    assert_eq!(first, second);
    assert_ne!(first, other);
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!(
        (5..=35).contains(&failures),
        "rate 0.5 fired {failures}/40 times"
    );
}

#[tokio::test]
async fn path_patterns_and_methods_select_requests() {
    let emulator = start(two_spaces());
    emulator.add_fault(Fault::status(503).method("DELETE").path("/api/*/workers/*"));
    emulator.add_fault(Fault::status(500).path("/api/Spaces-2/**"));
    assert_eq!(get(&emulator, "/api/Spaces-1/workers").await.status, 200);
    assert_eq!(get(&emulator, "/api/Spaces-2").await.status, 500);
    assert_eq!(
        get(&emulator, "/api/Spaces-2/workers/all").await.status,
        500
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
        503
    );
    emulator.clear_faults();
    assert_eq!(get(&emulator, "/api/Spaces-2").await.status, 200);
}

#[tokio::test]
async fn request_log_records_every_request_in_arrival_order() {
    let emulator = start(two_spaces());
    get(&emulator, "/api/spaces?take=1").await;
    post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w1", "WorkerPools-2"),
    )
    .await;
    let reply = client()
        .get(format!("{}/api/Spaces-1/workers", emulator.url()))
        .send()
        .await;
    assert_eq!(reply.map(|r| r.status().as_u16()).ok(), Some(401));

    let log = emulator.requests();
    let summary: Vec<(&str, &str, &str, u16)> = log
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.query.as_str(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("GET", "/api/spaces", "take=1", 200),
            ("POST", "/api/Spaces-1/workers", "", 201),
            ("GET", "/api/Spaces-1/workers", "", 401),
        ]
    );
    assert!(
        log.iter()
            .all(|r| r.fault.is_none() && r.finished >= r.started)
    );
    assert_eq!(
        (
            emulator.count("GET"),
            emulator.count("post"),
            emulator.count("PUT")
        ),
        (2, 1, 0)
    );
    emulator.clear_requests();
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn faults_from_a_scenario_file_fire_like_built_ones() {
    let scenario = Scenario::from_json_str(
        r#"{ "spaces": [ { "name": "Default", "isDefault": true } ],
             "faults": [ { "method": "GET", "path": "/api/spaces", "kind": "status", "code": 503, "limit": 2 } ] }"#,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let emulator = start(scenario);
    let statuses = [
        get(&emulator, "/api/spaces").await.status,
        get(&emulator, "/api/spaces").await.status,
        get(&emulator, "/api/spaces").await.status,
    ];
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(json!(emulator.requests()[0].fault), json!("status"));
}
