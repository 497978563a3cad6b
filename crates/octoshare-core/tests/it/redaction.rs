//! The API key or token never appears in any error, whatever the server echoes back and
//! wherever the key shows up in a URL (`apikey=`): checked on `Display`, the `source()` chain
//! and `Debug` of every error kind.

use std::time::Duration;

use octopus_emulator::{Fault, Scenario, SpaceSeed};
use octoshare_core::{ApiError, Client, Credentials, RetryPolicy, ServerUrl, SpaceId, Worker};
use serde_json::{Value, json};

use crate::support::{CannedServer, Reply, chain, closed_port_url, emulator};

const CANARY: &str = "API-CANARY7777777777777777777777";
const TOKEN_CANARY: &str = "token-canary-8888888888888888";

fn canary_client(url: &str, credentials: Credentials) -> Client {
    Client::builder(ServerUrl::parse(url).unwrap(), credentials)
        .retry_policy(RetryPolicy::immediate(1))
        .request_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[track_caller]
fn assert_redacted(label: &str, err: &ApiError, secret: &str) {
    let shown = format!("{err} | {err:#} | {} | {err:?} | {err:#?}", chain(err));
    // The whole secret, and any 10-character piece of it (a cut-off prefix or suffix).
    let pieces: Vec<&str> = (0..=secret.len() - 10)
        .map(|start| &secret[start..start + 10])
        .collect();
    for piece in pieces {
        assert!(
            !shown.contains(piece),
            "{label}: secret piece {piece:?} leaked in {shown}"
        );
    }
}

/// A server that echoes the credential it received everywhere it can.
fn echoing_server(status: u16) -> CannedServer {
    CannedServer::start(move |request, _| {
        let secret = request
            .header("x-octopus-apikey")
            .or_else(|| {
                request
                    .header("authorization")
                    .and_then(|value| value.strip_prefix("Bearer "))
            })
            .unwrap_or("none")
            .to_owned();
        Reply::json(
            status,
            &json!({
                "ErrorMessage": format!("The API key {secret} is bad, see /api?apikey={secret}"),
                "Errors": [format!("key={secret}"), format!("Bearer {secret}")],
            })
            .to_string(),
        )
    })
}

fn both_credentials() -> [(Credentials, &'static str); 2] {
    [
        (Credentials::api_key(CANARY), CANARY),
        (Credentials::access_token(TOKEN_CANARY), TOKEN_CANARY),
    ]
}

#[tokio::test]
async fn status_errors_never_contain_the_secret_even_when_the_server_echoes_it() {
    for status in [400, 401, 403, 404, 405, 409, 418, 429, 500, 503] {
        let server = echoing_server(status);
        for (credentials, secret) in both_credentials() {
            let client = canary_client(&server.url(), credentials);
            let err = client
                .get_json::<Value>(&format!("/api/spaces/all?apikey={secret}"))
                .await
                .unwrap_err();
            assert_eq!(err.status(), Some(status), "{err:?}");
            assert_redacted(&format!("status {status}"), &err, secret);
            let err = client
                .post_json::<_, Value>(
                    &format!("/api/Spaces-1/workers?ApiKey={secret}"),
                    &json!({"Name": secret}),
                )
                .await
                .unwrap_err();
            assert_redacted(&format!("POST status {status}"), &err, secret);
        }
    }
}

#[tokio::test]
async fn decode_errors_never_contain_the_secret() {
    let server = CannedServer::always(Reply::json(
        200,
        &format!(r#"[{{"Id":"Workers-1","Name":"w","IsDisabled":"{CANARY}"}}]"#),
    ));
    let client = canary_client(&server.url(), Credentials::api_key(CANARY));

    let err = client
        .workers(&SpaceId::from("Spaces-1"))
        .all()
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert_redacted("decode", &err, CANARY);
    let err = client
        .get_json::<Vec<Worker>>(&format!("/api/x?apikey={CANARY}"))
        .await
        .unwrap_err();
    assert_redacted("decode with key in path", &err, CANARY);
}

#[tokio::test]
async fn html_and_plain_text_bodies_never_leak_the_secret() {
    for (credentials, secret) in both_credentials() {
        for reply in [
            Reply::html(200, &format!("<html>{secret}</html>")),
            Reply::text(200, secret),
            Reply::text(200, &format!("{}{secret}", "x".repeat(220))),
            Reply::text(502, &format!("bad gateway {secret}")),
            Reply::html(401, &format!("<html>{secret}</html>")),
        ] {
            let server = CannedServer::always(reply);
            let client = canary_client(&server.url(), credentials.clone());
            let err = client.spaces().all().await.unwrap_err();
            assert_redacted("body", &err, secret);
            let err = client.root().await.unwrap_err();
            assert_redacted("root", &err, secret);
        }
    }
}

#[tokio::test]
async fn not_octopus_never_contains_the_secret() {
    let server = CannedServer::always(Reply::json(
        200,
        &format!(r#"{{"Application":"x","ApiVersion":"{CANARY}"}}"#),
    ));
    let client = canary_client(&server.url(), Credentials::api_key(CANARY));

    let err = client.root().await.unwrap_err();

    assert!(matches!(err, ApiError::NotOctopus { .. }), "{err:?}");
    assert_redacted("not octopus", &err, CANARY);
}

#[tokio::test]
async fn transport_errors_never_contain_the_secret() {
    let client = canary_client(&closed_port_url(), Credentials::api_key(CANARY));
    let err = client
        .get_json::<Value>(&format!("/api/spaces/all?apikey={CANARY}&skip=0"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_redacted("connect", &err, CANARY);
    assert!(
        err.to_string().contains("apikey=[redacted]&skip=0"),
        "{err}"
    );

    let redirecting = CannedServer::always(Reply::redirect(&format!("/api/loop?apikey={CANARY}")));
    let client = canary_client(&redirecting.url(), Credentials::api_key(CANARY));
    let err = client.spaces().all().await.unwrap_err();
    assert_redacted("redirect loop", &err, CANARY);

    let cross_host = CannedServer::always(Reply::redirect(&format!(
        "http://localhost:1/?apikey={CANARY}"
    )));
    let client = canary_client(&cross_host.url(), Credentials::api_key(CANARY));
    let err = client.spaces().all().await.unwrap_err();
    assert_redacted("cross-host redirect", &err, CANARY);
}

#[tokio::test]
async fn timeouts_never_contain_the_secret() {
    let emulator = emulator(Scenario::new().space(SpaceSeed::new("Default")));
    emulator.add_fault(Fault::stall(Duration::from_secs(3)));
    let client = canary_client(&emulator.url(), Credentials::api_key(CANARY));

    let err = client
        .get_json::<Value>(&format!("/api/spaces/all?apikey={CANARY}"))
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_redacted("timeout", &err, CANARY);
}

#[tokio::test]
async fn client_side_errors_never_contain_the_secret() {
    let read_only = Client::builder(
        ServerUrl::parse("http://127.0.0.1:9").unwrap(),
        Credentials::api_key(CANARY),
    )
    .read_only()
    .build()
    .unwrap();
    let err = read_only
        .delete(&format!("/api/Spaces-1/workers/Workers-1?apikey={CANARY}"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::ReadOnly { .. }));
    assert_redacted("read only", &err, CANARY);

    let err = ServerUrl::parse(&format!("https://h/?apikey={CANARY}")).unwrap_err();
    assert_redacted("server url query", &err, CANARY);
    let err = ServerUrl::parse(&format!("https://user:{CANARY}@h/")).unwrap_err();
    assert_redacted("server url password", &err, CANARY);

    let err = Client::builder(
        ServerUrl::parse("https://h").unwrap(),
        Credentials::api_key(format!("{CANARY}\u{7}")),
    )
    .build()
    .unwrap_err();
    assert!(matches!(err, ApiError::InvalidCredentials { .. }));
    assert_redacted("invalid credentials", &err, CANARY);

    let server = CannedServer::always(Reply::json(
        200,
        &json!({"Items": [1], "Links": {"Page.Next": format!("/api/things?skip=0&apikey={CANARY}")}}).to_string(),
    ));
    let client = canary_client(&server.url(), Credentials::api_key(CANARY));
    let err = client
        .all_pages::<u32>(&format!("/api/things?skip=0&apikey={CANARY}"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::PagingLoop { .. }), "{err:?}");
    assert_redacted("paging loop", &err, CANARY);
    let server = CannedServer::always(Reply::json(
        200,
        &json!({"Items": [1], "Links": {"Page.Next": format!("https://evil/?apikey={CANARY}")}})
            .to_string(),
    ));
    let client = canary_client(&server.url(), Credentials::api_key(CANARY));
    let err = client.all_pages::<u32>("/api/things").await.unwrap_err();
    assert_redacted("foreign link", &err, CANARY);
}

#[test]
fn debug_of_clients_and_credentials_never_shows_the_secret() {
    let builder = Client::builder(
        ServerUrl::parse("https://h").unwrap(),
        Credentials::api_key(CANARY),
    );
    let shown = format!("{builder:?}");
    let client = builder.build().unwrap();
    let shown = format!(
        "{shown} {client:?} {:?}",
        Credentials::access_token(TOKEN_CANARY)
    );
    assert!(
        !shown.contains("CANARY7777") && !shown.contains("canary-8888"),
        "{shown}"
    );
}
