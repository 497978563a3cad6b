//! Bounded reads: a response body larger than the limit is refused (never read whole), an
//! endless body stops at the limit, and an over-long credential's 431 is explained.

use std::time::Duration;

use octoshare_core::{
    ApiError, Client, CredentialKind, Credentials, MAX_RESPONSE_BYTES, RetryPolicy, ServerUrl,
};
use serde_json::Value;

use crate::support::{CannedServer, Reply};

const LIMIT: u64 = 1024 * 1024;

fn limited_client(url: &str, limit: u64) -> Client {
    Client::builder(
        ServerUrl::parse(url).unwrap(),
        Credentials::api_key("API-KEY"),
    )
    .retry_policy(RetryPolicy::immediate(3))
    .request_timeout(Duration::from_secs(30))
    .max_response_bytes(limit)
    .build()
    .unwrap()
}

#[test]
fn the_default_limit_fits_a_hundred_thousand_workers() {
    // The recorded worker, as Octopus renders it (indented), with a long name and a polling
    // endpoint: the largest realistic shape, measured rather than guessed.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/octopus/worker-listening-tentaclepassive.json");
    let mut worker: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    worker["Name"] = Value::String("x".repeat(200));
    worker["Endpoint"]["CommunicationStyle"] = Value::String("TentacleActive".to_owned());
    worker["Endpoint"]["Uri"] = Value::String(format!("poll://{}/", "y".repeat(20)));
    let one = serde_json::to_vec_pretty(&worker).unwrap().len() as u64;
    assert!((1_000..2_000).contains(&one), "{one} bytes");
    assert!(
        100_000 * one < MAX_RESPONSE_BYTES,
        "100 000 workers of {one} bytes do not fit in {MAX_RESPONSE_BYTES}"
    );
}

#[tokio::test]
async fn an_endless_body_stops_at_the_limit_with_one_clear_error() {
    let server = CannedServer::always(Reply::endless());
    let client = limited_client(&server.url(), LIMIT);

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::ResponseTooLarge {
                limit: LIMIT,
                declared: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "GET /api/spaces/all returned more than 1 MiB: the rest was not read; check the server URL (something other than the Octopus API may be answering)"
    );
    assert!(err.is_unreachable(), "exit 7");
    assert_eq!(server.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn a_body_announced_larger_than_the_limit_is_not_read() {
    let server = CannedServer::always(Reply::json(200, "[]").truncated(2 * LIMIT as usize));
    let client = limited_client(&server.url(), LIMIT);

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert!(
        matches!(err, ApiError::ResponseTooLarge { declared: true, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("(announced in Content-Length)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read() {
    let body = format!("[{}]", " ".repeat(LIMIT as usize - 2));
    let server = CannedServer::always(Reply::json(200, &body));
    let client = limited_client(&server.url(), LIMIT);

    let value: Value = client.get_json("/api/spaces/all").await.unwrap();

    assert_eq!(value, Value::Array(Vec::new()));
}

#[tokio::test]
async fn an_api_key_too_long_for_the_server_is_explained() {
    // Kestrel (Octopus Server's web server) and most proxies refuse request headers beyond
    // 32 KiB in total with 431.
    let server = CannedServer::start(|request, _| {
        let header_bytes: usize = request
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum();
        if header_bytes > 32 * 1024 {
            Reply::text(431, "Request Header Fields Too Large")
        } else {
            Reply::json(200, "[]")
        }
    });
    let client = Client::builder(
        ServerUrl::parse(&server.url()).unwrap(),
        Credentials::api_key("A".repeat(120 * 1024)),
    )
    .retry_policy(RetryPolicy::immediate(3))
    .build()
    .unwrap();

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::RequestHeadersTooLarge {
                credential: CredentialKind::ApiKey,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(431));
    assert_eq!(
        err.to_string(),
        "GET /api/spaces/all was refused (431, request headers too large): the API key is too long for the server; check that it is the right value"
    );
    assert_eq!(server.requests().len(), 1, "not retried");
}
