//! Authentication: API key and bearer token headers, the user agent, and the read-only
//! (dry-run) client that refuses writes without sending anything.

use octopus_emulator::{Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::{
    ApiError, Client, Credentials, Endpoint, NewWorker, RetryPolicy, ServerUrl, SpaceId,
};
use serde_json::json;

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

#[tokio::test]
async fn bearer_token_authenticates() {
    let emulator = emulator(one_space());
    let client = client_with(
        &emulator,
        Credentials::access_token(emulator.access_token()),
        RetryPolicy::immediate(1),
    );

    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
}

#[tokio::test]
async fn api_key_and_bearer_headers_are_sent_as_octopus_expects() {
    let server = CannedServer::always(Reply::json(200, "[]"));
    let by_key = client_for_url(&server.url(), Credentials::api_key(" API-KEY123 \n"));
    let by_token = client_for_url(&server.url(), Credentials::access_token("token-123"));

    by_key.spaces().all().await.unwrap();
    by_token.spaces().all().await.unwrap();

    let requests = server.requests();
    assert_eq!(
        requests[0].header("x-octopus-apikey"),
        Some("API-KEY123"),
        "trimmed"
    );
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(requests[0].header("accept"), Some("application/json"));
    assert_eq!(
        requests[0].header("user-agent"),
        Some(format!("octoshare/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer token-123")
    );
    assert_eq!(requests[1].header("x-octopus-apikey"), None);
    assert!(
        requests
            .iter()
            .all(|request| !request.target.contains("apikey")),
        "never in the URL"
    );
}

#[tokio::test]
async fn empty_credentials_send_no_auth_header() {
    let server = CannedServer::always(Reply::json(200, "[]"));
    let client = client_for_url(&server.url(), Credentials::api_key("   "));

    client.spaces().all().await.unwrap();

    let request = &server.requests()[0];
    assert_eq!(request.header("x-octopus-apikey"), None);
    assert_eq!(request.header("authorization"), None);
}

#[tokio::test]
async fn custom_user_agent_is_sent() {
    let server = CannedServer::always(Reply::json(200, "[]"));
    let client = Client::builder(
        ServerUrl::parse(&server.url()).unwrap(),
        Credentials::api_key("API-KEY"),
    )
    .user_agent("octoshare-share/9.9")
    .build()
    .unwrap();

    client.spaces().all().await.unwrap();

    assert_eq!(
        server.requests()[0].header("user-agent"),
        Some("octoshare-share/9.9")
    );
}

#[tokio::test]
async fn read_only_client_refuses_every_write_without_sending() {
    let emulator = emulator(one_space());
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let client = Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::api_key(emulator.api_key()),
    )
    .read_only()
    .build()
    .unwrap();
    assert!(client.is_read_only());
    let worker = client.workers(&space).all().await.unwrap().remove(0);
    let new_worker = NewWorker {
        name: "worker-2".into(),
        space_id: space.clone(),
        is_disabled: false,
        worker_pool_ids: worker.worker_pool_ids.clone(),
        machine_policy_id: worker.machine_policy_id.clone(),
        endpoint: Endpoint::polling("poll://bbbbbbbbbbbbbbbbbbbb/", "BBBB"),
    };

    let errors = [
        client
            .workers(&space)
            .create(&new_worker)
            .await
            .unwrap_err(),
        client.workers(&space).update(&worker).await.unwrap_err(),
        client.workers(&space).delete(&worker.id).await.unwrap_err(),
        client
            .action_templates(&space)
            .create(&json!({"Name": "x"}))
            .await
            .unwrap_err(),
        client
            .action_templates(&space)
            .update(&"ActionTemplates-1".into(), &json!({}))
            .await
            .unwrap_err(),
    ];

    for err in &errors {
        assert!(matches!(err, ApiError::ReadOnly { .. }), "{err:?}");
    }
    assert_eq!(
        errors[0].to_string(),
        format!(
            "refusing POST /api/{space}/workers: the client is read-only (dry run), nothing was sent"
        )
    );
    assert_eq!(
        emulator.count("POST") + emulator.count("PUT") + emulator.count("DELETE"),
        0
    );
    let counts = client.request_counts();
    assert_eq!(counts.writes(), 0);
    assert_eq!(counts.get, 1, "reads still work");
}

#[tokio::test]
async fn admin_client_can_write() {
    let emulator = emulator(one_space());
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let client = client(&emulator);
    let worker = client.workers(&space).all().await.unwrap().remove(0);

    client.workers(&space).delete(&worker.id).await.unwrap();

    assert!(emulator.workers(space.as_str()).is_empty());
}
