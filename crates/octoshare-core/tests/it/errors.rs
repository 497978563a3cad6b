//! Each failure maps to the right `ApiError` variant with a one-line message naming the
//! request and the fix: 401, 403, 404, 400/409, 429, 5xx, decode errors, HTML and non-JSON
//! bodies, redirect loops, refused connections and timeouts.

use std::time::Duration;

use octopus_emulator::{Fault, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::{
    ApiError, Client, CredentialKind, Credentials, Endpoint, NewWorker, RetryPolicy, ServerUrl,
    SpaceId, TransportKind, Worker, WorkerId,
};
use serde_json::Value;

use crate::support::{
    CannedServer, Reply, client, client_for_url, client_with, closed_port_url, emulator,
};

/// A server that answers `/api` as Octopus Deploy 3.0 does and every other request with
/// `reply`, so an odd answer is reported as it is rather than as "not an Octopus server".
fn octopus_answering(reply: Reply) -> CannedServer {
    CannedServer::start(move |request, _| {
        if request.target == "/api" {
            Reply::json(
                200,
                r#"{"Application":"Octopus Deploy","Version":"2026.3.0","ApiVersion":"3.0.0"}"#,
            )
        } else {
            reply.clone()
        }
    })
}

fn one_space() -> Scenario {
    Scenario::new().space(
        SpaceSeed::new("Default")
            .default_space()
            .pool("Shared Pool")
            .worker(
                WorkerSeed::polling(
                    "worker-1",
                    "poll://aaaaaaaaaaaaaaaaaaaa/",
                    "AAAA000000000000000000000000000000000001",
                )
                .in_pool("Shared Pool"),
            ),
    )
}

fn new_worker(space: &SpaceId, name: &str, pool: &Worker) -> NewWorker {
    NewWorker {
        name: name.to_owned(),
        space_id: space.clone(),
        is_disabled: false,
        worker_pool_ids: pool.worker_pool_ids.clone(),
        machine_policy_id: pool.machine_policy_id.clone(),
        endpoint: Endpoint::polling(
            "poll://bbbbbbbbbbbbbbbbbbbb/",
            "BBBB000000000000000000000000000000000002",
        ),
    }
}

#[track_caller]
fn assert_one_line(err: &ApiError) {
    let message = err.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(message.len() < 600, "short: {message}");
}

#[tokio::test]
async fn missing_api_key_is_unauthorized_and_says_to_set_it() {
    let emulator = emulator(one_space());
    let client = client_with(
        &emulator,
        Credentials::api_key(""),
        RetryPolicy::immediate(3),
    );

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Unauthorized {
                credential: CredentialKind::ApiKey,
                missing: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("OCTOPUS_"),
        "core names no variable: {err}"
    );
    assert_eq!(err.status(), Some(401));
    assert!(err.is_auth_failure());
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "no API key given for {} (401); the server said: ",
            emulator.url()
        )),
        "{message}"
    );
    assert!(
        message.contains("You must be logged in"),
        "server text kept: {message}"
    );
    assert_eq!(emulator.count("GET"), 1, "401 is not retried");
    assert_one_line(&err);
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized_and_says_to_check_it() {
    let emulator = emulator(one_space());
    let client = client_with(
        &emulator,
        Credentials::api_key("API-WRONGKEY0000000000000000"),
        RetryPolicy::immediate(3),
    );

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(err, ApiError::Unauthorized { missing: false, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "API key rejected by {} (401); the server said: ",
            emulator.url()
        )),
        "{message}"
    );
    assert_one_line(&err);
}

#[tokio::test]
async fn wrong_access_token_is_unauthorized_and_names_the_token() {
    let emulator = emulator(one_space());
    let client = client_with(
        &emulator,
        Credentials::access_token("not-the-token"),
        RetryPolicy::immediate(3),
    );

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        err.to_string().starts_with(&format!(
            "access token rejected by {} (401); the server said: ",
            emulator.url()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn read_only_key_writing_is_forbidden() {
    let emulator = emulator(one_space());
    let admin = client(&emulator);
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let existing = admin.workers(&space).all().await.unwrap().remove(0);
    let reader = client_with(
        &emulator,
        Credentials::api_key(emulator.read_only_api_key()),
        RetryPolicy::immediate(3),
    );

    let err = reader
        .workers(&space)
        .create(&new_worker(&space, "worker-2", &existing))
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
    assert_eq!(err.status(), Some(403));
    assert!(err.is_auth_failure());
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("POST /api/{space}/workers was refused (403)")),
        "{message}"
    );
    assert!(
        message.contains("Missing permission: WorkerEdit"),
        "{message}"
    );
    assert_eq!(emulator.count("POST"), 1, "403 is not retried");
    assert_one_line(&err);
}

#[tokio::test]
async fn unknown_worker_is_not_found() {
    let emulator = emulator(one_space());
    let client = client(&emulator);
    let space = SpaceId::from(emulator.space_id("Default").unwrap());

    let err = client
        .workers(&space)
        .get(&WorkerId::from("Workers-999"))
        .await
        .unwrap_err();

    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert!(
        err.to_string()
            .starts_with(&format!("GET /api/{space}/workers/Workers-999 not found")),
        "{err}"
    );
    assert_eq!(emulator.count("GET"), 1, "404 is not retried");
}

#[tokio::test]
async fn duplicate_worker_name_is_a_validation_error_with_the_servers_errors() {
    let emulator = emulator(one_space());
    let client = client(&emulator);
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let existing = client.workers(&space).all().await.unwrap().remove(0);

    let err = client
        .workers(&space)
        .create(&new_worker(&space, " WORKER-1 ", &existing))
        .await
        .unwrap_err();

    let ApiError::Validation {
        status,
        message,
        errors,
        ..
    } = &err
    else {
        panic!("expected a validation error, got {err:?}");
    };
    assert_eq!(*status, 400);
    assert_eq!(message, "There was a problem with your request.");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("already exists"), "{errors:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("POST /api/{space}/workers was rejected as invalid (400): There was a problem with your request: A machine named")),
        "{text}"
    );
    assert_eq!(emulator.count("POST"), 1);
}

#[tokio::test]
async fn several_validation_errors_are_joined_with_semicolons() {
    let server = CannedServer::always(Reply::json(
        409,
        r#"{"ErrorMessage":"There was a problem with your request.","Errors":["Name is required","Endpoint is required"]}"#,
    ));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .post_json::<_, Value>("/api/Spaces-1/workers", &serde_json::json!({}))
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(409));
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.body, b"{}");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(server.requests().len(), 1, "409 is not retried");
    assert!(
        err.to_string().ends_with(
            "(409): There was a problem with your request: Name is required; Endpoint is required"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn persistent_503_is_a_server_error_after_every_retry() {
    let emulator = emulator(one_space());
    let space = emulator.space_id("Default").unwrap();
    emulator.add_fault(
        Fault::status(503)
            .method("GET")
            .path("/api/*/workerpools/all"),
    );
    let client = client(&emulator);

    let err = client
        .worker_pools(&SpaceId::from(space.as_str()))
        .all()
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_unreachable());
    assert!(!err.outcome_unknown(), "a GET changes nothing");
    assert!(
        err.to_string().starts_with(&format!(
            "GET /api/{space}/workerpools/all failed: server error 503 after 4 attempts"
        )),
        "{err}"
    );
    assert_eq!(emulator.count("GET"), 4);
    assert_eq!(client.request_counts().retries, 3);
}

#[tokio::test]
async fn persistent_429_is_rate_limited() {
    let server = CannedServer::always(Reply::json(429, "").header("Retry-After", "0"));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert!(
        matches!(err, ApiError::RateLimited { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(429));
    assert!(err.is_unreachable());
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn recorded_500_body_gives_the_servers_message() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/octopus/error-500-issue-4486.json"
    ))
    .unwrap();
    let server = CannedServer::always(Reply::json(500, &body));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert!(
        err.to_string().ends_with("server error 500 after 4 attempts: Object reference not set to an instance of an object."),
        "{err}"
    );
}

#[tokio::test]
async fn unexpected_status_is_reported() {
    let server = CannedServer::always(Reply::json(405, r#"{"ErrorMessage":"Method not allowed"}"#));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert!(
        matches!(err, ApiError::UnexpectedStatus { status: 405, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "GET /api/spaces/all returned unexpected status 405"
    );
}

#[tokio::test]
async fn decode_error_names_the_json_path_of_the_bad_field() {
    let server = CannedServer::always(Reply::json(
        200,
        r#"[{"Id":"Workers-1","Name":"a"},{"Id":"Workers-2","Name":"b","WorkerPoolIds":["WorkerPools-1",7]}]"#,
    ));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .workers(&SpaceId::from("Spaces-1"))
        .all()
        .await
        .unwrap_err();

    let ApiError::Decode { json_path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(json_path, "[1].WorkerPoolIds[1]");
    assert!(
        err.to_string().starts_with("GET /api/Spaces-1/workers/all returned a response that cannot be read at '[1].WorkerPoolIds[1]': invalid type: integer `7`"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1, "decode errors are not retried");
}

#[tokio::test]
async fn decode_error_inside_a_page_names_the_item() {
    let server = CannedServer::always(Reply::json(
        200,
        r#"{"TotalResults":2,"Items":[{"Id":"Workers-1","Name":"a"},{"Id":"Workers-2","Name":"b","Endpoint":[]}],"Links":{}}"#,
    ));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<Worker>("/api/Spaces-1/workers")
        .await
        .unwrap_err();

    let ApiError::Decode { json_path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(json_path, "Items[1].Endpoint");
}

#[tokio::test]
async fn missing_required_field_names_the_item() {
    let server = CannedServer::always(Reply::json(200, r#"[{"Id":"Spaces-1"}]"#));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    let ApiError::Decode {
        json_path, reason, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(json_path, "[0]");
    assert!(reason.contains("missing field `Name`"), "{reason}");
}

#[tokio::test]
async fn html_page_instead_of_json_is_a_decode_error_without_a_dump() {
    let huge_page = format!(
        "<!DOCTYPE html><html><body>{}</body></html>",
        "login ".repeat(200_000)
    );
    let server = octopus_answering(Reply::html(200, &huge_page));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("returned an HTML page instead of JSON"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("login login"),
        "no page dump: {err}"
    );
    assert_one_line(&err);
}

#[tokio::test]
async fn html_error_page_is_summarised() {
    let huge_page = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "nginx ".repeat(100_000)
    );
    let server = CannedServer::always(Reply::html(502, &huge_page));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(err, ApiError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the server returned an HTML page"),
        "{err}"
    );
    assert_one_line(&err);
}

#[tokio::test]
async fn plain_text_error_body_is_quoted_as_a_short_excerpt() {
    let body = format!("Service Unavailable\r\n{}", "x".repeat(10_000));
    let server = CannedServer::always(Reply::text(503, &body));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    let message = err.to_string();
    assert!(message.contains(": Service Unavailable x"), "{message}");
    assert!(message.ends_with('…'), "{message}");
    assert_one_line(&err);
}

#[tokio::test]
async fn non_json_body_is_a_decode_error() {
    let server = octopus_answering(Reply::text(200, "OK"));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    let ApiError::Decode {
        json_path, reason, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(json_path, ".");
    assert!(reason.starts_with("expected value"), "{reason}");
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let server = CannedServer::always(Reply::json(200, r#"[{"Id":"Spaces-1","Na"#));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    let ApiError::Decode { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("EOF while parsing"), "{reason}");
}

#[tokio::test]
async fn body_shorter_than_its_content_length_is_a_transport_error() {
    let server = CannedServer::always(Reply::json(200, r#"[{"Id":"Spaces-1""#).truncated(1000));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Other,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn empty_body_is_a_decode_error() {
    let server = octopus_answering(Reply::json(200, ""));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        err.to_string()
            .ends_with("the response body is empty, JSON was expected"),
        "{err}"
    );
}

#[tokio::test]
async fn redirect_loop_is_a_clear_transport_error() {
    let server =
        CannedServer::start(|_, index| Reply::redirect(&format!("/api/spaces/all?hop={index}")));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

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
    assert!(
        err.to_string().ends_with("failed after 1 attempt: more than 5 redirects, probably a redirect loop: check the server URL and any proxy in front of Octopus"),
        "{err}"
    );
    assert!(
        crate::support::chain(&err).ends_with(": error following redirect"),
        "{err:#}"
    );
    assert_eq!(
        server.requests().len(),
        6,
        "the first request and five redirects"
    );
}

#[tokio::test]
async fn same_host_redirect_is_followed_with_credentials() {
    let server = CannedServer::start(|request, _| {
        if request.target == "/api/spaces/all" {
            Reply::redirect("/octopus/api/spaces/all")
        } else {
            Reply::json(200, r#"[{"Id":"Spaces-1","Name":"Default"}]"#)
        }
    });
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("x-octopus-apikey"), Some("API-KEY"));
}

#[tokio::test]
async fn redirect_to_another_host_is_refused_and_credentials_stay_home() {
    let other = CannedServer::always(Reply::json(200, "[]"));
    let location = format!("http://localhost:{}/api/spaces/all", other.port());
    let server = CannedServer::always(Reply::redirect(&location));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    let ApiError::OtherOrigin {
        referrer,
        target,
        difference,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(referrer, "GET /api/spaces/all was redirected (302)");
    assert_eq!(target, &location);
    assert_eq!(
        difference,
        &format!(
            "host localhost instead of 127.0.0.1, port {} instead of {}",
            other.port(),
            server.port()
        )
    );
    assert!(err.is_unreachable());
    assert_eq!(server.requests().len(), 1, "the redirect is not retried");
    assert!(
        other.requests().is_empty(),
        "nothing was sent to the other host"
    );
}

#[tokio::test]
async fn refused_connection_is_a_connect_error_after_retries() {
    let client = client_for_url(&closed_port_url(), Credentials::api_key("API-KEY"));

    let err = client.spaces().all().await.unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Connect,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_unreachable());
    assert!(
        err.to_string()
            .contains("failed after 4 attempts: could not connect"),
        "{err}"
    );
    assert!(
        crate::support::chain(&err).contains("Connection refused"),
        "cause kept: {err:#}"
    );
    assert_eq!(client.request_counts().get, 4);
}

#[tokio::test]
async fn stalled_get_times_out_and_is_retried() {
    let emulator = emulator(one_space());
    emulator.add_fault(
        Fault::stall(Duration::from_secs(3))
            .method("GET")
            .path("/api/spaces/all")
            .limit(1),
    );
    let client = Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::api_key(emulator.api_key()),
    )
    .retry_policy(RetryPolicy::immediate(2))
    .request_timeout(Duration::from_millis(300))
    .build()
    .unwrap();

    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
    assert_eq!(client.request_counts().get, 2);
}

#[tokio::test]
async fn stalled_post_times_out_once_with_an_unknown_outcome() {
    let emulator = emulator(one_space());
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let existing = client(&emulator)
        .workers(&space)
        .all()
        .await
        .unwrap()
        .remove(0);
    emulator.add_fault(Fault::stall(Duration::from_secs(3)).method("POST"));
    let client = Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::api_key(emulator.api_key()),
    )
    .retry_policy(RetryPolicy::immediate(3))
    .request_timeout(Duration::from_millis(300))
    .build()
    .unwrap();

    let err = client
        .workers(&space)
        .create(&new_worker(&space, "worker-2", &existing))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ApiError::Transport {
                kind: TransportKind::Timeout,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    assert_eq!(client.request_counts().post, 1);
    assert!(err.to_string().contains("timed out"), "{err}");
}
