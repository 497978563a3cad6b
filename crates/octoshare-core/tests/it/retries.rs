//! Retries: GET is retried after 503/429/dropped connections (honouring `Retry-After`),
//! writes only when the server certainly did not process them, and every attempt is counted.

use std::time::{Duration, Instant, SystemTime};

use octopus_emulator::{Emulator, Fault, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::{
    ApiError, Credentials, Endpoint, NewWorker, RetryPolicy, SpaceId, TransportKind, Worker,
};
use serde_json::Value;

use crate::support::{CannedServer, Reply, client, client_for_url, client_with, emulator};

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
        machine_policy_id: source.machine_policy_id.clone().unwrap(),
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

#[tokio::test]
async fn get_waits_for_retry_after_seconds_on_429() {
    let emulator = emulator(one_space());
    emulator.add_fault(
        Fault::status(429)
            .retry_after(1)
            .method("GET")
            .path("/api/spaces/all")
            .limit(1),
    );
    let client = client(&emulator);

    let started = Instant::now();
    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
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
    let server = CannedServer::start(|_, index| {
        if index == 0 {
            let at = SystemTime::now() + Duration::from_secs(2);
            Reply::json(503, "").header("Retry-After", &http_date(at))
        } else {
            Reply::json(200, "[]")
        }
    });
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let started = Instant::now();
    let spaces = client.spaces().all().await.unwrap();

    assert!(spaces.is_empty());
    // The date has one-second resolution, so at least one second is left of the two.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_is_capped_by_the_policy() {
    let server = CannedServer::start(|_, index| {
        if index == 0 {
            Reply::json(429, "").header("Retry-After", "3600")
        } else {
            Reply::json(200, "[]")
        }
    });
    let client = octoshare_core::Client::builder(
        octoshare_core::ServerUrl::parse(&server.url()).unwrap(),
        Credentials::api_key("API-KEY"),
    )
    .retry_policy(RetryPolicy {
        max_retry_after: Duration::from_millis(50),
        ..RetryPolicy::immediate(2)
    })
    .build()
    .unwrap();

    let started = Instant::now();
    client.get_json::<Value>("/api/spaces/all").await.unwrap();

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
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
