//! Cancellation: once the token is cancelled a read in flight is abandoned, retries stop,
//! backoff and `Retry-After` waits are cut short, and the call returns `Interrupted` at once; a
//! write already sent gets its grace period, then is abandoned with an unknown outcome.
//!
//! No timing windows: each test waits for a condition (the server got the request, the client
//! counted a retry) before cancelling, and the calls would otherwise wait for minutes.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octoshare_core::{ApiError, Client, Credentials, RetryPolicy, ServerUrl};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{CannedServer, Reply, closed_port_url};

fn cancellable_client(url: &str, token: &CancellationToken, policy: RetryPolicy) -> Client {
    Client::builder(
        ServerUrl::parse(url).unwrap(),
        Credentials::api_key("API-KEY"),
    )
    .retry_policy(policy)
    .request_timeout(Duration::from_secs(600))
    .cancellation(token.clone())
    .build()
    .unwrap()
}

/// Waits (checking every few milliseconds, for at most 60 s) until `condition` holds.
async fn until(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..12_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

#[track_caller]
fn assert_interrupted(err: &ApiError, method: &str, in_flight: bool) {
    let ApiError::Interrupted {
        method: found,
        in_flight: found_in_flight,
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(found, method);
    assert_eq!(*found_in_flight, in_flight, "{err}");
    assert!(err.is_interrupted());
    assert!(!err.is_unreachable(), "an interruption is not an outage");
}

#[tokio::test]
async fn a_read_in_flight_is_abandoned_at_once() {
    let server = CannedServer::always(Reply::stall());
    let token = CancellationToken::new();
    let client = cancellable_client(&server.url(), &token, RetryPolicy::default());

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_json::<Value>("/api/spaces/all").await }
    });
    until("the server got the GET", || server.requests().len() == 1).await;
    token.cancel();
    let err = call.await.unwrap().unwrap_err();

    assert_interrupted(&err, "GET", true);
    assert!(!err.outcome_unknown(), "a read has no outcome to doubt");
    assert_eq!(
        err.to_string(),
        "GET /api/spaces/all was interrupted before the answer arrived"
    );
    assert_eq!(client.request_counts().retries, 0);
}

#[tokio::test]
async fn paging_stops_at_once_too() {
    let server = CannedServer::start(|_, index| {
        if index == 0 {
            Reply::json(
                200,
                &json!({"Items": [1], "Links": {"Page.Next": "/api/things?skip=1&take=1"}})
                    .to_string(),
            )
        } else {
            Reply::stall()
        }
    });
    let token = CancellationToken::new();
    let client = cancellable_client(&server.url(), &token, RetryPolicy::default());

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.all_pages::<u32>("/api/things?skip=0&take=1").await }
    });
    until("the second page was asked for", || {
        server.requests().len() == 2
    })
    .await;
    token.cancel();
    let err = call.await.unwrap().unwrap_err();

    assert_interrupted(&err, "GET", true);
}

#[tokio::test]
async fn a_write_in_flight_gets_its_grace_period_then_its_outcome_is_unknown() {
    let server = CannedServer::always(Reply::stall());
    let token = CancellationToken::new();
    let client = Client::builder(
        ServerUrl::parse(&server.url()).unwrap(),
        Credentials::api_key("API-KEY"),
    )
    .request_timeout(Duration::from_secs(600))
    .cancellation(token.clone())
    .write_grace_period(Duration::from_millis(100))
    .build()
    .unwrap();

    let call = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post_json::<_, Value>("/api/Spaces-1/workers", &json!({"Name": "w"}))
                .await
        }
    });
    until("the server got the POST", || server.requests().len() == 1).await;
    token.cancel();
    let err = call.await.unwrap().unwrap_err();

    assert_interrupted(&err, "POST", true);
    assert!(
        err.outcome_unknown(),
        "the caller must re-read before repeating"
    );
    assert!(
        err.to_string().contains("may or may not have applied it"),
        "{err}"
    );
}

#[tokio::test]
async fn a_write_answered_in_its_grace_period_completes() {
    let (got_tx, got_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let got_tx = Mutex::new(got_tx);
    let release_rx = Mutex::new(release_rx);
    let server = CannedServer::start(move |_, _| {
        got_tx.lock().unwrap().send(()).unwrap();
        let _ = release_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30));
        Reply::json(201, r#"{"Id":"Workers-1"}"#)
    });
    let token = CancellationToken::new();
    let client = cancellable_client(&server.url(), &token, RetryPolicy::default());

    let call = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post_json::<_, Value>("/api/Spaces-1/workers", &json!({"Name": "w"}))
                .await
        }
    });
    let got_rx = Arc::new(Mutex::new(got_rx));
    until("the server got the POST", || {
        got_rx.lock().unwrap().try_recv().is_ok()
    })
    .await;
    token.cancel();
    release_tx.send(()).unwrap();
    let created = call.await.unwrap().unwrap();

    assert_eq!(created["Id"], "Workers-1");
}

#[tokio::test]
async fn a_retry_after_wait_is_cut_short() {
    let server = CannedServer::always(Reply::text(503, "busy").header("Retry-After", "120"));
    let token = CancellationToken::new();
    let client = cancellable_client(&server.url(), &token, RetryPolicy::immediate(5));

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_json::<Value>("/api/spaces/all").await }
    });
    until("the client is waiting before its first retry", || {
        client.request_counts().retries == 1
    })
    .await;
    token.cancel();
    let err = call.await.unwrap().unwrap_err();

    assert_interrupted(&err, "GET", false);
    assert_eq!(server.requests().len(), 1, "no further attempt");
}

#[tokio::test]
async fn a_backoff_wait_is_cut_short_and_no_retry_follows() {
    let token = CancellationToken::new();
    let policy = RetryPolicy {
        max_retries: 5,
        base_delay: Duration::from_secs(600),
        max_delay: Duration::from_secs(600),
        ..RetryPolicy::default()
    };
    let client = cancellable_client(&closed_port_url(), &token, policy);

    let call = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post_json::<_, Value>("/api/Spaces-1/workers", &json!({"Name": "w"}))
                .await
        }
    });
    until("the client is waiting before a retry", || {
        client.request_counts().retries >= 1
    })
    .await;
    token.cancel();
    let err = call.await.unwrap().unwrap_err();

    assert_interrupted(&err, "POST", false);
    assert!(!err.outcome_unknown(), "nothing was sent");
    assert_eq!(
        err.to_string(),
        "POST /api/Spaces-1/workers was interrupted before it was sent"
    );
}

#[tokio::test]
async fn a_cancelled_client_sends_nothing() {
    let server = CannedServer::always(Reply::json(200, "[]"));
    let token = CancellationToken::new();
    token.cancel();
    let client = cancellable_client(&server.url(), &token, RetryPolicy::default());

    let err = client.spaces().all().await.unwrap_err();

    assert_interrupted(&err, "GET", false);
    assert_eq!(server.connections(), 0);
    assert_eq!(client.request_counts().total(), 0);
}
