//! Retries: GET is retried after 503/429/dropped connections (honouring `Retry-After`),
//! writes only when the server certainly did not process them, and every attempt is counted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use octopus_emulator::{Emulator, Fault, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::{
    ApiError, Client, Clock, Credentials, Endpoint, NewWorker, RetryPolicy, ServerUrl, SpaceId,
    TransportKind, Worker,
};
use octoshare_test_support::clock::RecordingClock;
use serde_json::Value;

use crate::support::{CannedServer, Reply, client, client_with, emulator};

fn one_space() -> Scenario {
    Scenario::new().space(
        SpaceSeed::new("Default").pool("Shared Pool").worker(
            WorkerSeed::polling(
                "worker-1",
                "poll://aaaaaaaaaaaaaaaaaaaa/",
                "AAAA000000000000000000000000000000000001",
            )
            .in_pool("Shared Pool"),
        ),
    )
}

async fn space_and_template(emulator: &Emulator) -> (SpaceId, Worker) {
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let worker = client(emulator)
        .workers(&space)
        .all()
        .await
        .unwrap()
        .remove(0);
    emulator.clear_requests();
    (space, worker)
}

fn copy_of(space: &SpaceId, name: &str, source: &Worker) -> NewWorker {
    NewWorker {
        name: name.to_owned(),
        space_id: space.clone(),
        is_disabled: false,
        worker_pool_ids: source.worker_pool_ids.clone(),
        machine_policy_id: source.machine_policy_id.clone(),
        endpoint: Endpoint::polling(
            "poll://bbbbbbbbbbbbbbbbbbbb/",
            "BBBB000000000000000000000000000000000002",
        ),
    }
}

fn n_requests(emulator: &Emulator, method: &str, path_suffix: &str) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|request| request.method == method && request.path.ends_with(path_suffix))
        .count()
}

#[tokio::test]
async fn get_is_retried_after_503_and_then_succeeds() {
    let emulator = emulator(one_space());
    emulator.add_fault(
        Fault::status(503)
            .method("GET")
            .path("/api/*/workerpools/all")
            .limit(2),
    );
    let client = client(&emulator);
    let space = SpaceId::from(emulator.space_id("Default").unwrap());

    let pools = client.worker_pools(&space).all().await.unwrap();

    assert!(pools.iter().any(|pool| pool.name == "Shared Pool"));
    assert_eq!(n_requests(&emulator, "GET", "/workerpools/all"), 3);
    let counts = client.request_counts();
    assert_eq!((counts.get, counts.retries), (3, 2));
}

/// A client on `url` with `policy` whose waits are recorded by `clock` instead of slept.
fn recording_client(url: &str, policy: RetryPolicy, clock: &Arc<RecordingClock>) -> Client {
    recording_client_with_key(url, "API-KEY", policy, clock)
}

fn recording_client_with_key(
    url: &str,
    key: &str,
    policy: RetryPolicy,
    clock: &Arc<RecordingClock>,
) -> Client {
    // A fixed limit: each request waits only for its own `Retry-After`, through the clock (the
    // adaptive limit's client-wide hold runs on Tokio's time and is tested under a paused
    // clock with the congestion controller).
    Client::builder(ServerUrl::parse(url).unwrap(), Credentials::api_key(key))
        .retry_policy(policy)
        .request_timeout(Duration::from_secs(10))
        .fixed_concurrency()
        .clock(Arc::clone(clock) as Arc<dyn Clock>)
        .build()
        .unwrap()
}

#[tokio::test]
async fn get_waits_for_retry_after_seconds_on_429() {
    let emulator = emulator(one_space());
    emulator.add_fault(
        Fault::status(429)
            .retry_after(7)
            .method("GET")
            .path("/api/spaces/all")
            .limit(1),
    );
    let clock = RecordingClock::new();
    let client = recording_client_with_key(
        &emulator.url(),
        &emulator.api_key(),
        RetryPolicy::immediate(3),
        &clock,
    );

    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
    assert_eq!(clock.waits(), [Duration::from_secs(7)]);
    assert_eq!(n_requests(&emulator, "GET", "/api/spaces/all"), 2);
}

fn http_date(at: SystemTime) -> String {
    // IMF-fixdate, computed by hand to avoid a date dependency.
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {month_name} {year} {hour:02}:{minute:02}:{second:02} GMT")
}

#[tokio::test]
async fn get_waits_for_a_retry_after_http_date() {
    // The client's wall clock is fixed, so the date is exactly 90 s ahead of it.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let server = CannedServer::start(move |_, index| {
        if index == 0 {
            Reply::json(503, "").header("Retry-After", &http_date(now + Duration::from_secs(90)))
        } else {
            Reply::json(200, "[]")
        }
    });
    let clock = RecordingClock::at(now);
    let client = recording_client(&server.url(), RetryPolicy::immediate(3), &clock);

    let spaces = client.spaces().all().await.unwrap();

    assert!(spaces.is_empty());
    assert_eq!(clock.waits(), [Duration::from_secs(90)]);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_retry_after_date_in_the_past_retries_at_once() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let server = CannedServer::start(move |_, index| {
        if index == 0 {
            Reply::json(429, "").header("Retry-After", &http_date(now - Duration::from_secs(30)))
        } else {
            Reply::json(200, "[]")
        }
    });
    let clock = RecordingClock::at(now);
    let client = recording_client(&server.url(), RetryPolicy::immediate(3), &clock);

    client.spaces().all().await.unwrap();

    assert_eq!(clock.waits(), [Duration::ZERO]);
}

#[tokio::test]
async fn retry_after_is_capped_by_the_policy() {
    let server = CannedServer::start(|_, index| {
        if index < 2 {
            Reply::json(429, "").header("Retry-After", "3600")
        } else {
            Reply::json(200, "[]")
        }
    });
    let clock = RecordingClock::new();
    let policy = RetryPolicy {
        max_retry_after: Duration::from_secs(120),
        ..RetryPolicy::immediate(2)
    };
    let client = recording_client(&server.url(), policy, &clock);

    client.get_json::<Value>("/api/spaces/all").await.unwrap();

    assert_eq!(clock.waits(), [Duration::from_secs(120); 2]);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn backoff_waits_grow_within_their_ceilings_until_the_budget_is_spent() {
    let server = CannedServer::always(Reply::json(503, ""));
    let clock = RecordingClock::new();
    let policy = RetryPolicy::default();
    let client = recording_client(&server.url(), policy, &clock);

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(503), "{err:?}");
    let waits = clock.waits();
    assert_eq!(waits.len(), 5, "one wait before each of the 5 retries");
    for (retry, wait) in (1..).zip(&waits) {
        // Full jitter: anywhere in [0, min(30 s, 500 ms * 2^(retry-1))].
        assert!(
            *wait <= policy.backoff_ceiling(retry),
            "retry {retry} waited {wait:?}"
        );
    }
    assert_eq!(
        (1..=5)
            .map(|retry| policy.backoff_ceiling(retry))
            .collect::<Vec<_>>(),
        [500, 1000, 2000, 4000, 8000].map(Duration::from_millis)
    );
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn get_is_retried_after_a_dropped_connection() {
    let emulator = emulator(one_space());
    emulator.add_fault(
        Fault::drop_connection()
            .method("GET")
            .path("/api/spaces/all")
            .limit(1),
    );
    let client = client(&emulator);

    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
    assert_eq!(client.request_counts().get, 2);
}

#[tokio::test]
async fn post_is_not_retried_after_503() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(
        Fault::status(503)
            .method("POST")
            .path("/api/*/workers")
            .limit(1),
    );
    let client = client(&emulator);

    let err = client
        .workers(&space)
        .create(&copy_of(&space, "worker-2", &source))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    assert_eq!(emulator.count("POST"), 1, "exactly one POST");
    assert_eq!(client.request_counts().post, 1);
}

#[tokio::test]
async fn post_is_not_retried_after_a_commit_then_500() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(
        Fault::commit_then_500()
            .method("POST")
            .path("/api/*/workers")
            .limit(1),
    );
    let client = client(&emulator);

    let err = client
        .workers(&space)
        .create(&copy_of(&space, "worker-2", &source))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.outcome_unknown(),
        "the caller must re-read before trying again"
    );
    assert_eq!(emulator.count("POST"), 1, "exactly one POST");
    let workers = client.workers(&space).all().await.unwrap();
    assert_eq!(
        workers
            .iter()
            .filter(|worker| worker.name == "worker-2")
            .count(),
        1,
        "committed once"
    );
}

#[tokio::test]
async fn post_is_not_retried_after_a_dropped_connection() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(
        Fault::commit_then_drop()
            .method("POST")
            .path("/api/*/workers")
            .limit(1),
    );
    let client = client(&emulator);

    let err = client
        .workers(&space)
        .create(&copy_of(&space, "worker-2", &source))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Other,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    assert_eq!(emulator.count("POST"), 1);
}

#[tokio::test]
async fn post_is_retried_after_429_because_it_was_not_processed() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(
        Fault::status(429)
            .method("POST")
            .path("/api/*/workers")
            .limit(1),
    );
    let client = client(&emulator);

    let created = client
        .workers(&space)
        .create(&copy_of(&space, "worker-2", &source))
        .await
        .unwrap();

    assert_eq!(created.name, "worker-2");
    assert_eq!(emulator.count("POST"), 2);
    let counts = client.request_counts();
    assert_eq!((counts.post, counts.retries), (2, 1));
}

#[tokio::test]
async fn put_is_retried_after_418_from_a_draining_node() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(Fault::status(418).method("PUT").limit(1));
    let client = client(&emulator);
    let mut worker = source.clone();
    worker.is_disabled = true;

    let updated = client.workers(&space).update(&worker).await.unwrap();

    assert!(updated.is_disabled);
    assert_eq!(emulator.count("PUT"), 2);
}

#[tokio::test]
async fn put_is_not_retried_after_500() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(Fault::status(500).method("PUT"));
    let client = client(&emulator);

    let err = client.workers(&space).update(&source).await.unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(emulator.count("PUT"), 1);
}

#[tokio::test]
async fn no_retries_with_the_none_policy() {
    let emulator = emulator(one_space());
    emulator.add_fault(Fault::status(503).method("GET"));
    let client = client_with(
        &emulator,
        Credentials::api_key(emulator.api_key()),
        RetryPolicy::none(),
    );

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(err, ApiError::Server { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("GET /api/spaces/all failed: server error 503 after 1 attempt"),
        "{err}"
    );
    assert_eq!(emulator.count("GET"), 1);
}

#[tokio::test]
async fn request_counts_count_every_attempt_per_method() {
    let emulator = emulator(one_space());
    let (space, source) = space_and_template(&emulator).await;
    emulator.add_fault(
        Fault::status(503)
            .method("GET")
            .path("/api/*/workers/all")
            .limit(1),
    );
    let client = client(&emulator);

    client.workers(&space).all().await.unwrap();
    let created = client
        .workers(&space)
        .create(&copy_of(&space, "worker-2", &source))
        .await
        .unwrap();
    client.workers(&space).update(&created).await.unwrap();
    client.workers(&space).delete(&created.id).await.unwrap();

    let counts = client.request_counts();
    assert_eq!(
        (
            counts.get,
            counts.post,
            counts.put,
            counts.delete,
            counts.retries
        ),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(counts.total(), 5);
    assert_eq!(counts.writes(), 3);
}
