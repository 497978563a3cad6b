//! `root()`: the Octopus root document is accepted; anything that is not an Octopus Deploy
//! server with API version 3.0.x is `NotOctopus` with a clear reason.

use octopus_emulator::Scenario;
use octoshare_core::{ApiError, Credentials};

use crate::support::{CannedServer, Reply, client, client_for_url, emulator};

#[tokio::test]
async fn root_document_of_the_emulator_is_octopus() {
    let emulator = emulator(Scenario::new());
    let client = client(&emulator);

    let root = client.root().await.unwrap();

    assert_eq!(root.application, "Octopus Deploy");
    assert_eq!(root.api_version, "3.0.0");
    assert!(root.links.contains_key("Spaces"));
}

#[tokio::test]
async fn recorded_root_document_is_accepted_under_a_virtual_directory() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/octopus/root-2023.1.9626.json"
    ))
    .unwrap();
    let server = CannedServer::always(Reply::json(200, &body));
    let client = client_for_url(
        &format!("{}/octopus/api/", server.url()),
        Credentials::api_key("K"),
    );

    let root = client.root().await.unwrap();

    assert_eq!(root.version, "2023.1.9626");
    assert_eq!(server.requests()[0].target, "/octopus/api");
}

#[track_caller]
fn assert_not_octopus(err: &ApiError, server: &str, reason_start: &str) {
    assert!(matches!(err, ApiError::NotOctopus { .. }), "{err:?}");
    assert!(err.is_unreachable());
    let expected = format!("{server} is not an Octopus Deploy server: {reason_start}");
    assert!(
        err.to_string().starts_with(&expected),
        "{err}\nexpected {expected}"
    );
}

#[tokio::test]
async fn html_page_is_not_octopus() {
    let server = CannedServer::always(Reply::html(
        200,
        "<!doctype html><html><body>Welcome to nginx</body></html>",
    ));
    let client = client_for_url(&server.url(), Credentials::api_key("K"));

    let err = client.root().await.unwrap_err();

    assert_not_octopus(&err, &server.url(), "GET /api returned an HTML page");
}

#[tokio::test]
async fn not_found_api_is_not_octopus() {
    let server = CannedServer::always(Reply::html(404, "<html>Not Found</html>"));
    let client = client_for_url(
        &format!("{}/wrong", server.url()),
        Credentials::api_key("K"),
    );

    let err = client.root().await.unwrap_err();

    assert_not_octopus(
        &err,
        &format!("{}/wrong", server.url()),
        "GET /wrong/api returned 404",
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn json_that_is_not_the_root_document_is_not_octopus() {
    let server = CannedServer::always(Reply::json(200, r#"{"status":"ok"}"#));
    let client = client_for_url(&server.url(), Credentials::api_key("K"));

    let err = client.root().await.unwrap_err();

    assert_not_octopus(
        &err,
        &server.url(),
        "GET /api returned JSON without 'Application' and 'ApiVersion'",
    );
}

#[tokio::test]
async fn non_json_root_is_not_octopus() {
    let server = CannedServer::always(Reply::text(200, "hello"));
    let client = client_for_url(&server.url(), Credentials::api_key("K"));

    let err = client.root().await.unwrap_err();

    assert_not_octopus(&err, &server.url(), "GET /api did not return JSON");
}

#[tokio::test]
async fn other_api_versions_are_not_supported() {
    for version in ["4.0.0", "2.0", "3.1.0", "30.0.0"] {
        let server = CannedServer::always(Reply::json(
            200,
            &format!(
                r#"{{"Application":"Octopus Deploy","Version":"2099.1","ApiVersion":"{version}"}}"#
            ),
        ));
        let client = client_for_url(&server.url(), Credentials::api_key("K"));

        let err = client.root().await.unwrap_err();

        assert_not_octopus(
            &err,
            &server.url(),
            &format!("GET /api reports API version '{version}', octoshare supports 3.0.x"),
        );
    }
}

// A wrong server first shows as an odd answer to a resource request (the steps never request
// `/api` up front); the client then asks `GET /api` once and reports `NotOctopus`.

fn targets(server: &CannedServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|request| request.target)
        .collect()
}

#[tokio::test]
async fn an_html_answer_to_the_first_request_is_explained_by_one_root_probe() {
    let server = CannedServer::always(Reply::html(200, "<!DOCTYPE html><html>Sign in</html>"));
    let client = client_for_url(&server.url(), Credentials::api_key("K"));

    let err = client.spaces().all().await.unwrap_err();

    assert_not_octopus(&err, &server.url(), "GET /api returned an HTML page");
    assert_eq!(targets(&server), ["/api/spaces/all", "/api"]);
}

#[tokio::test]
async fn a_404_from_a_wrong_base_url_is_explained_and_the_probe_is_made_once() {
    let server = CannedServer::always(Reply::html(404, "<html>Not Found</html>"));
    let client = client_for_url(&server.url(), Credentials::api_key("K"));

    for _ in 0..3 {
        let err = client.spaces().all().await.unwrap_err();
        assert_not_octopus(&err, &server.url(), "GET /api returned 404");
    }
    assert_eq!(
        targets(&server),
        [
            "/api/spaces/all",
            "/api",
            "/api/spaces/all",
            "/api/spaces/all"
        ]
    );
}

#[tokio::test]
async fn another_api_version_behind_unknown_routes_is_explained() {
    let server = CannedServer::start(|request, _| {
        if request.target == "/api" {
            Reply::json(
                200,
                r#"{"Application":"Octopus Deploy","Version":"2099.1","ApiVersion":"4.0.0"}"#,
            )
        } else {
            // A web application's fallback page for every route it does not know.
            Reply::html(200, "<!DOCTYPE html><html><body>app</body></html>")
        }
    });
    let client = client_for_url(&server.url(), Credentials::api_key("K"));

    let err = client.spaces().all().await.unwrap_err();

    assert_not_octopus(&err, &server.url(), "GET /api reports API version '4.0.0'");
}

#[tokio::test]
async fn a_404_in_octopus_error_envelope_stays_a_404_without_a_probe() {
    let emulator = emulator(Scenario::new());
    let client = client(&emulator);

    let err = client
        .get_json::<serde_json::Value>("/api/Spaces-99/workerpools/all")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert_eq!(emulator.count("GET"), 1, "{:#?}", emulator.requests());
}

#[tokio::test]
async fn no_probe_once_the_server_has_answered() {
    let emulator = emulator(Scenario::new());
    let client = client(&emulator);
    client.spaces().all().await.unwrap();

    let err = client
        .get_json::<serde_json::Value>("/api/Spaces-99/workerpools/all")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert_eq!(emulator.count("GET"), 2, "{:#?}", emulator.requests());
}
