//! The origin rule: a request carrying credentials only ever goes to the server's origin.
//! Redirects and `Page.Next` links to another scheme (https → http on the same host and port),
//! another port or another host are refused with a line naming the target and what differs,
//! and the test servers' logs show that no request carrying the key reached another origin.

use octoshare_core::{ApiError, Credentials};
use serde_json::{Value, json};

use crate::support::{
    CannedServer, CertSpec, Recorded, Reply, client_for_url, client_trusting, self_signed,
    tls_server,
};

const CANARY: &str = "API-ORIGINCANARY00000000000000";

/// Every request `server` received over plain HTTP (`tls == false`) or TLS.
fn received(server: &CannedServer, tls: bool) -> Vec<Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|request| request.tls == tls)
        .collect()
}

#[track_caller]
fn assert_other_origin(err: &ApiError, referrer: &str, target: &str, difference: &str) {
    let ApiError::OtherOrigin {
        referrer: found_referrer,
        target: found_target,
        difference: found_difference,
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(found_referrer, referrer);
    assert_eq!(found_target, target);
    assert_eq!(found_difference, difference);
    assert!(err.is_unreachable(), "exit 7 family");
    assert!(!err.to_string().contains(CANARY));
}

#[tokio::test]
async fn a_redirect_from_https_to_http_on_the_same_port_is_refused_and_nothing_goes_in_clear() {
    let identity = self_signed(&CertSpec::default());
    for status in [301, 302, 307, 308] {
        let server = tls_server(&identity, move |request, _| {
            if request.tls {
                let location = format!(
                    "http://localhost:{}{}",
                    request
                        .header("host")
                        .and_then(|h| h.rsplit(':').next())
                        .unwrap_or("0"),
                    request.target
                );
                Reply::redirect_with(status, &location)
            } else {
                Reply::json(200, "[]")
            }
        });
        let client = client_trusting(
            &server.https_url(),
            Credentials::api_key(CANARY),
            &identity.trusted_pem,
        );

        let err = client
            .get_json::<Value>("/api/spaces/all")
            .await
            .unwrap_err();

        assert_other_origin(
            &err,
            &format!("GET /api/spaces/all was redirected ({status})"),
            &format!("http://localhost:{}/api/spaces/all", server.port()),
            "scheme http instead of https",
        );
        assert!(
            err.to_string().contains("must not send the client to http"),
            "{err}"
        );
        assert!(
            received(&server, false).is_empty(),
            "nothing went over plain HTTP"
        );
        assert_eq!(
            received(&server, true).len(),
            1,
            "no retry of a refused redirect"
        );
    }
}

#[tokio::test]
async fn a_write_redirected_to_http_is_refused_too() {
    let identity = self_signed(&CertSpec::default());
    let server = tls_server(&identity, |request, _| {
        if request.tls {
            Reply::redirect_with(
                307,
                &format!(
                    "http://localhost:{}/api/Spaces-1/workers",
                    request
                        .header("host")
                        .and_then(|h| h.rsplit(':').next())
                        .unwrap_or("0")
                ),
            )
        } else {
            Reply::json(201, "{}")
        }
    });
    let client = client_trusting(
        &server.https_url(),
        Credentials::access_token(CANARY),
        &identity.trusted_pem,
    );

    let err = client
        .post_json::<_, Value>("/api/Spaces-1/workers", &json!({"Name": "w"}))
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::OtherOrigin { .. }), "{err:?}");
    assert!(
        !err.outcome_unknown(),
        "the write was refused, not sent twice"
    );
    assert!(received(&server, false).is_empty());
    assert!(server.requests().iter().all(|request| request.tls));
}

#[tokio::test]
async fn a_redirect_to_another_port_on_the_same_host_is_refused() {
    let other = CannedServer::always(Reply::json(200, "[]"));
    let location = format!("http://127.0.0.1:{}/api/spaces/all", other.port());
    let server = CannedServer::always(Reply::redirect_with(307, &location));
    let client = client_for_url(&server.url(), Credentials::api_key(CANARY));

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    assert_other_origin(
        &err,
        "GET /api/spaces/all was redirected (307)",
        &location,
        &format!("port {} instead of {}", other.port(), server.port()),
    );
    assert!(
        other.requests().is_empty(),
        "nothing reached the other port"
    );
}

#[tokio::test]
async fn page_next_to_http_on_the_same_port_is_refused_and_nothing_goes_in_clear() {
    let identity = self_signed(&CertSpec::default());
    let server = tls_server(&identity, |request, _| {
        let port = request
            .header("host")
            .and_then(|h| h.rsplit(':').next())
            .unwrap_or("0")
            .to_owned();
        Reply::json(
            200,
            &json!({
                "Items": [1],
                "Links": {"Page.Next": format!("http://localhost:{port}/api/things?skip=1&take=1")}
            })
            .to_string(),
        )
    });
    let client = client_trusting(
        &server.https_url(),
        Credentials::api_key(CANARY),
        &identity.trusted_pem,
    );

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=1")
        .await
        .unwrap_err();

    assert_other_origin(
        &err,
        "GET /api/things?skip=0&take=1 returned a Page.Next link",
        &format!(
            "http://localhost:{}/api/things?skip=1&take=1",
            server.port()
        ),
        "scheme http instead of https",
    );
    assert!(received(&server, false).is_empty());
}

#[tokio::test]
async fn same_origin_redirects_with_an_explicit_default_port_are_followed() {
    let identity = self_signed(&CertSpec::default());
    let server = tls_server(&identity, |request, _| {
        if request.target == "/api/spaces/all" {
            let port = request
                .header("host")
                .and_then(|h| h.rsplit(':').next())
                .unwrap_or("0")
                .to_owned();
            Reply::redirect_with(308, &format!("https://LOCALHOST:{port}/api/spaces/all?x=1"))
        } else {
            Reply::json(200, r#"[{"Id":"Spaces-1","Name":"Default"}]"#)
        }
    });
    let client = client_trusting(
        &server.https_url(),
        Credentials::api_key(CANARY),
        &identity.trusted_pem,
    );

    let spaces = client.spaces().all().await.unwrap();

    assert_eq!(spaces.len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|request| request.tls && request.carries(CANARY))
    );
}
