//! Adaptive concurrency against the emulator's concurrency cap: a burst beyond the cap halves
//! the client's limit once per overload event, and a `Retry-After` holds every request of the
//! client. (The controller's schedule is unit-tested under a paused clock in the client.)

use std::time::Duration;

use octopus_emulator::{ConcurrencyLimit, Emulator, LoggedRequest, Scenario, SpaceSeed};
use octoshare_core::{ApiError, Client, Credentials, RetryPolicy, ServerUrl, Space};

use crate::support::emulator;

fn capped(limit: ConcurrencyLimit) -> Emulator {
    emulator(
        Scenario::new()
            .space(SpaceSeed::new("Default").pool("Shared Pool"))
            .concurrency_limit(limit),
    )
}

fn client(emulator: &Emulator, fixed: bool) -> Client {
    let builder = Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::api_key(emulator.api_key()),
    )
    .retry_policy(RetryPolicy::immediate(5))
    .request_timeout(Duration::from_secs(30))
    .concurrency(16);
    if fixed {
        builder.fixed_concurrency().build().unwrap()
    } else {
        builder.build().unwrap()
    }
}

fn refused(log: &[LoggedRequest]) -> usize {
    log.iter().filter(|request| request.status == 429).count()
}

fn spawn_reads(
    client: &Client,
    count: usize,
) -> Vec<tokio::task::JoinHandle<Result<(), ApiError>>> {
    (0..count)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.spaces().all().await.map(|_: Vec<Space>| ()) })
        })
        .collect()
}

async fn failures(handles: Vec<tokio::task::JoinHandle<Result<(), ApiError>>>) -> usize {
    let mut failed = 0;
    for handle in handles {
        if handle.await.unwrap().is_err() {
            failed += 1;
        }
    }
    failed
}

#[tokio::test]
async fn a_burst_beyond_the_servers_cap_halves_the_limit_per_event_and_every_read_succeeds() {
    let emulator = capped(ConcurrencyLimit::reject(4));
    let client = client(&emulator, false);
    // The server holds the 4 it admits; the other 12 of the burst are refused at once. The
    // first refusal halves the limit to 8 (the other 11 belong to the same event); the 4 retries
    // the freed slots allow are refused too and halve it to 4, which the held ones fill: the
    // client sends nothing more until the server answers them.
    let hold = emulator.hold_requests();
    let handles = spawn_reads(&client, 16);
    emulator.wait_for_requests(|log| refused(log) >= 16).await;
    assert_eq!(refused(&emulator.requests()), 16);
    hold.release();
    assert_eq!(failures(handles).await, 0);
    let state = client.concurrency();
    assert_eq!(state.ceiling, 16);
    assert!(state.decreases >= 2, "{state:?}");
    // From 4, the 12 reads left make at most two windows (4 + 5 successes): at most 6.
    assert!(state.limit <= 6, "{state:?}");
    assert_eq!(
        client.request_counts().get,
        16 + emulator.refused_by_limit()
    );
}

#[tokio::test]
async fn with_a_fixed_limit_the_same_burst_spends_every_retry() {
    let emulator = capped(ConcurrencyLimit::reject(4));
    let client = client(&emulator, true);
    // The 12 refused reads retry at once, 6 attempts each, while the server holds the 4 it
    // admitted: every attempt is refused and the 12 fail.
    let hold = emulator.hold_requests();
    let handles = spawn_reads(&client, 16);
    emulator
        .wait_for_requests(|log| refused(log) >= 12 * 6)
        .await;
    hold.release();
    assert_eq!(failures(handles).await, 12);
    assert_eq!(emulator.refused_by_limit(), 12 * 6);
    let state = client.concurrency();
    assert_eq!(
        (state.limit, state.decreases, state.adaptive),
        (16, 0, false)
    );
}

#[tokio::test]
async fn retry_after_holds_every_request_of_the_client_not_only_the_refused_one() {
    let emulator = capped(ConcurrencyLimit::reject(1).retry_after(1));
    let client = client(&emulator, false);
    let hold = emulator.hold_requests();
    let first = spawn_reads(&client, 2);
    emulator.wait_for_requests(|log| refused(log) == 1).await;
    hold.release();
    assert_eq!(failures(first).await, 0);
    // A read started after the refusal was answered, by another task: it waits too.
    let later = spawn_reads(&client, 1);
    assert_eq!(failures(later).await, 0);
    let log = emulator.requests();
    let refusal = log.iter().find(|request| request.status == 429).unwrap();
    let pause_ends = refusal.finished + Duration::from_secs(1);
    let after: Vec<&LoggedRequest> = log
        .iter()
        .filter(|request| request.started > refusal.finished)
        .collect();
    // The refused read's retry and the later read.
    assert_eq!(after.len(), 2, "{log:#?}");
    assert!(
        after.iter().all(|request| request.started >= pause_ends),
        "{log:#?}"
    );
}
