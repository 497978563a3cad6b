//! Load behaviour: the concurrency cap (refuse with 429 + `Retry-After`, or queue), latency
//! that grows with requests in flight, outages. Concurrency is built up with
//! `Emulator::hold_requests`, so no assertion depends on a timing window.

use std::time::{Duration, Instant};

use octopus_emulator::{ConcurrencyLimit, Emulator, OutageKind, OutageSeed, Scenario};
use serde_json::json;

use crate::support::*;

/// Sends `count` concurrent GETs of `/api/spaces`; returns their statuses (0: no response).
fn spawn_gets(
    emulator: &Emulator,
    count: usize,
) -> Vec<tokio::task::JoinHandle<(u16, Option<String>)>> {
    (0..count)
        .map(|_| {
            let request = client()
                .get(format!("{}/api/spaces", emulator.url()))
                .header("X-Octopus-ApiKey", emulator.api_key());
            tokio::spawn(async move {
                match request.send().await {
                    Ok(response) => (
                        response.status().as_u16(),
                        response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                    ),
                    Err(_) => (0, None),
                }
            })
        })
        .collect()
}

/// Waits (at most 30 s) until the emulator has `count` requests in flight.
async fn until_in_flight(emulator: &Emulator, count: usize) {
    within(30, async {
        while emulator.in_flight() < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

async fn statuses(
    handles: Vec<tokio::task::JoinHandle<(u16, Option<String>)>>,
) -> Vec<(u16, Option<String>)> {
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap_or((0, None)));
    }
    results.sort();
    results
}

#[tokio::test]
async fn beyond_the_cap_requests_get_429_with_retry_after() {
    let emulator =
        start(two_spaces().concurrency_limit(ConcurrencyLimit::reject(2).retry_after(1)));
    let hold = emulator.hold_requests();
    let handles = spawn_gets(&emulator, 6);
    // Two are admitted (and held); four are refused at once.
    within(
        30,
        emulator.wait_for_requests(|log| {
            log.len() == 6 && log.iter().filter(|r| r.status == 429).count() == 4
        }),
    )
    .await;
    assert_eq!(emulator.in_flight(), 2);
    hold.release();
    let results = statuses(handles).await;
    let expected: Vec<(u16, Option<String>)> = [(200, None), (200, None)]
        .into_iter()
        .chain(std::iter::repeat_n((429, Some("1".to_owned())), 4))
        .collect();
    assert_eq!(results, expected);
    assert_eq!(emulator.peak_in_flight(), 2);
    assert_eq!(emulator.refused_by_limit(), 4);
    let refused: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.status == 429)
        .collect();
    assert!(
        refused
            .iter()
            .all(|r| r.fault.as_deref() == Some("concurrencyLimit"))
    );
    // The body is an Octopus error envelope.
    let one = get(&emulator, "/api/spaces").await;
    assert_eq!(one.status, 200, "below the cap again");
}

#[tokio::test]
async fn in_queue_mode_requests_beyond_the_cap_wait_and_all_succeed() {
    let emulator = start(two_spaces().concurrency_limit(ConcurrencyLimit::queue(2)));
    let hold = emulator.hold_requests();
    let handles = spawn_gets(&emulator, 6);
    within(30, async {
        emulator.wait_for_requests(|log| log.len() == 6).await;
        while emulator.queued() < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!((emulator.in_flight(), emulator.queued()), (2, 4));
    drop(hold);
    let results = statuses(handles).await;
    assert_eq!(results, vec![(200, None); 6]);
    assert_eq!(emulator.peak_in_flight(), 2, "never more than the cap");
    assert_eq!(emulator.refused_by_limit(), 0);
}

#[tokio::test]
async fn the_cap_can_change_at_runtime() {
    let emulator = start(two_spaces());
    emulator.set_concurrency_limit(Some(ConcurrencyLimit::reject(1).status(503)));
    let hold = emulator.hold_requests();
    let handles = spawn_gets(&emulator, 2);
    within(
        30,
        emulator.wait_for_requests(|log| log.iter().any(|r| r.status == 503)),
    )
    .await;
    drop(hold);
    assert_eq!(statuses(handles).await, [(200, None), (503, None)]);
    emulator.set_concurrency_limit(None);
    emulator.reset_peak_in_flight();
    let hold = emulator.hold_requests();
    let handles = spawn_gets(&emulator, 3);
    until_in_flight(&emulator, 3).await;
    drop(hold);
    assert_eq!(statuses(handles).await, vec![(200, None); 3]);
    assert_eq!(emulator.peak_in_flight(), 3);
}

#[tokio::test]
async fn latency_grows_with_the_requests_already_in_flight() {
    let emulator = start(two_spaces().latency_per_in_flight(Duration::from_millis(100)));
    let hold = emulator.hold_requests();
    let handles = spawn_gets(&emulator, 3);
    until_in_flight(&emulator, 3).await;
    drop(hold);
    statuses(handles).await;
    // The third admitted request had two others in flight: at least 200 ms.
    let mut durations: Vec<Duration> = emulator
        .requests()
        .iter()
        .map(|r| r.finished - r.started)
        .collect();
    durations.sort();
    assert!(durations[2] >= Duration::from_millis(200), "{durations:?}");
    assert!(durations[1] >= Duration::from_millis(100), "{durations:?}");
}

#[tokio::test]
async fn an_outage_drops_or_refuses_every_request_until_it_ends() {
    let emulator = start(two_spaces());
    emulator.begin_outage(OutageKind::DropConnections);
    let dropped = client().get(format!("{}/api", emulator.url())).send().await;
    assert!(dropped.is_err(), "{dropped:?}");
    emulator.begin_outage(OutageKind::Status {
        code: 503,
        retry_after_seconds: Some(5),
    });
    let refused = get(&emulator, "/api/spaces").await;
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert_eq!(keys(&refused.json()), ["ErrorMessage", "Errors"]);
    // Nothing is written during an outage.
    let write = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w", "WorkerPools-2"),
    )
    .await;
    assert_eq!(write.status, 503);
    emulator.end_outage();
    assert_eq!(get(&emulator, "/api/spaces").await.status, 200);
    assert!(emulator.workers("Spaces-1").is_empty());
    let faults: Vec<Option<String>> = emulator.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            Some("outage".into()),
            Some("outage".into()),
            Some("outage".into()),
            None
        ]
    );
}

#[tokio::test]
async fn a_scheduled_outage_ends_on_its_own() {
    let started = Instant::now();
    let emulator = start(two_spaces().outage(OutageSeed::new(
        Duration::ZERO,
        Duration::from_millis(300),
        OutageKind::service_unavailable(),
    )));
    let first = get(&emulator, "/api/spaces").await;
    let first_at = started.elapsed();
    let recovered = within(30, async {
        loop {
            let reply = get(&emulator, "/api/spaces").await;
            if reply.status == 200 {
                return reply;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // The first request came well inside the window unless the machine stalled for 300 ms.
    if first_at < Duration::from_millis(250) {
        assert_eq!(first.status, 503);
    }
    assert_eq!(recovered.json()["TotalResults"], 2);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn load_settings_in_scenario_files() {
    let scenario = Scenario::from_json_str(
        r#"{ "latencyPerInFlightMs": 5,
             "concurrencyLimit": { "maxInFlight": 4, "overLimit": "reject", "retryAfterSeconds": 1 },
             "outages": [ { "afterMs": 1000, "durationMs": 2000, "kind": "drop" },
                          { "afterMs": 5000, "durationMs": 1000, "kind": "status", "code": 503 } ] }"#,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let round_trip =
        Scenario::from_json_str(&scenario.to_json_string()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(round_trip, scenario);
    let text: serde_json::Value =
        serde_json::from_str(&scenario.to_json_string()).unwrap_or_default();
    assert_eq!(
        text["concurrencyLimit"],
        json!({"maxInFlight": 4, "overLimit": "reject", "retryAfterSeconds": 1})
    );
    for (document, expected) in [
        (
            r#"{ "concurrencyLimit": { "maxInFlight": 0 } }"#,
            "maxInFlight",
        ),
        (
            r#"{ "concurrencyLimit": { "maxInFlight": 2, "overLimit": "drop" } }"#,
            "overLimit",
        ),
        (
            r#"{ "outages": [ { "afterMs": 0, "durationMs": 1, "kind": "flood" } ] }"#,
            "outage kind",
        ),
    ] {
        let error = Scenario::from_json_str(document)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains(expected), "{document}: {error}");
    }
}

#[tokio::test]
async fn held_writes_wait_while_reads_go_through() {
    let emulator = start(two_spaces());
    let space = space_id(&emulator, "Default");
    let pool = pool_id(&emulator, &space, TF_POOL);
    let hold = emulator.hold_writes();
    let write = tokio::spawn({
        let url = format!("/api/{space}/workers");
        let body = worker_body("held-worker", &pool);
        let emulator_url = emulator.url();
        let key = emulator.api_key();
        async move {
            let request = client()
                .post(format!("{emulator_url}{url}"))
                .header("X-Octopus-ApiKey", key);
            send(request, Some(&body)).await.status
        }
    });
    within(
        30,
        emulator.wait_for_requests(|log| log.iter().any(|r| r.method == "POST")),
    )
    .await;
    // The POST is logged but not handled: a read still answers, without the worker.
    let read = get(&emulator, &format!("/api/{space}/workers/all")).await;
    assert_eq!(read.status, 200);
    assert!(emulator.workers(&space).is_empty());
    assert!(!write.is_finished());
    drop(hold);
    assert_eq!(within(30, write).await.expect("the POST task"), 201);
    assert_eq!(emulator.workers(&space).len(), 1);
}

#[tokio::test]
async fn a_threaded_emulator_holds_and_serves_concurrent_requests() {
    let emulator = Emulator::start_threaded(two_spaces(), 2).unwrap();
    let hold = emulator.hold_requests();
    let handles = spawn_gets(&emulator, 6);
    until_in_flight(&emulator, 6).await;
    drop(hold);
    let results = statuses(handles).await;
    assert!(
        results.iter().all(|(status, _)| *status == 200),
        "{results:?}"
    );
    assert_eq!(emulator.requests().len(), 6);
}
