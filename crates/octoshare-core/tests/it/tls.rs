//! TLS: always verified; a refused certificate fails at once (no retry) with a precise reason;
//! a private CA and a trusted self-signed certificate work, including one marked as a CA (what
//! `openssl req -x509` makes), and webpki's raw `CaUsedAsEndEntity` never reaches a message.

use octoshare_core::{ApiError, CertificateProblem, Credentials, TransportKind};
use serde_json::Value;

use crate::support::{
    CannedServer, CertSpec, Reply, TestIdentity, client_for_url, client_trusting,
    openssl_self_signed, self_signed, signed_by_test_ca, tls_server,
};

const KEY: &str = "API-TLSCANARY000000000000000";

fn spaces_server(identity: &TestIdentity) -> CannedServer {
    tls_server(identity, |_, _| {
        Reply::json(200, r#"[{"Id":"Spaces-1","Name":"Default"}]"#)
    })
}

/// The request fails with a TLS refusal after one connection, and nothing reached HTTP.
#[track_caller]
fn assert_refused(
    server: &CannedServer,
    err: &ApiError,
    problem: CertificateProblem,
    says: &str,
) -> String {
    let ApiError::Transport {
        kind,
        attempts,
        source,
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*kind, TransportKind::Tls, "{err}");
    assert_eq!(*attempts, 1, "a refused certificate is not retried: {err}");
    assert_eq!(source.certificate_problem(), Some(problem), "{err}");
    assert_eq!(server.connections(), 1, "one handshake, no retry");
    assert!(server.requests().is_empty(), "no request was sent");
    let shown = crate::support::chain(err);
    assert!(shown.contains(says), "{shown}");
    assert!(!shown.contains("CaUsedAsEndEntity"), "{shown}");
    assert!(!shown.contains("--ca-cert"), "core names no flag: {shown}");
    shown
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_at_once_and_says_why() {
    let server = spaces_server(&self_signed(&CertSpec::default()));
    let client = client_for_url(&server.https_url(), Credentials::api_key(KEY));

    let err = client.spaces().all().await.unwrap_err();

    assert_refused(
        &server,
        &err,
        CertificateProblem::UntrustedIssuer,
        "the server's TLS certificate is not signed by a trusted CA",
    );
    assert!(err.is_unreachable());
}

#[tokio::test]
async fn an_expired_certificate_is_refused_at_once_even_when_trusted() {
    let identity = self_signed(&CertSpec {
        expired: true,
        ..CertSpec::default()
    });
    let server = spaces_server(&identity);
    let client = client_trusting(
        &server.https_url(),
        Credentials::api_key(KEY),
        &identity.trusted_pem,
    );

    let err = client.spaces().all().await.unwrap_err();

    assert_refused(
        &server,
        &err,
        CertificateProblem::Expired,
        "the server's TLS certificate has expired",
    );
}

#[tokio::test]
async fn an_expired_self_signed_ca_certificate_is_refused_even_when_trusted() {
    // The exception for a trusted certificate marked as a CA must not skip the validity check.
    let identity = self_signed(&CertSpec {
        expired: true,
        is_ca: true,
        ..CertSpec::default()
    });
    let server = spaces_server(&identity);
    let client = client_trusting(
        &server.https_url(),
        Credentials::api_key(KEY),
        &identity.trusted_pem,
    );

    let err = client.spaces().all().await.unwrap_err();

    assert_refused(&server, &err, CertificateProblem::Expired, "has expired");
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_naming_both() {
    for is_ca in [false, true] {
        let identity = self_signed(&CertSpec {
            names: &["octopus.example.com"],
            is_ca,
            ..CertSpec::default()
        });
        let server = spaces_server(&identity);
        let client = client_trusting(
            &server.https_url(),
            Credentials::api_key(KEY),
            &identity.trusted_pem,
        );

        let err = client.spaces().all().await.unwrap_err();

        assert_refused(
            &server,
            &err,
            CertificateProblem::WrongHost,
            "is not valid for localhost (it names DnsName(\"octopus.example.com\"))",
        );
    }
}

#[tokio::test]
async fn a_ca_certificate_signed_by_a_trusted_ca_cannot_be_the_servers_and_the_message_says_how_to_fix_it()
 {
    let identity = signed_by_test_ca(&CertSpec {
        is_ca: true,
        ..CertSpec::default()
    });
    let server = spaces_server(&identity);
    let client = client_trusting(
        &server.https_url(),
        Credentials::api_key(KEY),
        &identity.trusted_pem,
    );

    let err = client.spaces().all().await.unwrap_err();

    assert_refused(
        &server,
        &err,
        CertificateProblem::CaAsServerCertificate,
        "is marked as a CA certificate (basic constraints CA:TRUE)",
    );
}

#[tokio::test]
async fn a_private_ca_and_trusted_self_signed_certificates_work() {
    let identities = [
        (
            "signed by a private CA",
            signed_by_test_ca(&CertSpec::default()),
        ),
        ("self-signed, CA:FALSE", self_signed(&CertSpec::default())),
        (
            "self-signed, CA:TRUE",
            self_signed(&CertSpec {
                is_ca: true,
                ..CertSpec::default()
            }),
        ),
        ("made by openssl req -x509", openssl_self_signed()),
    ];
    for (label, identity) in identities {
        let server = spaces_server(&identity);
        let client = client_trusting(
            &server.https_url(),
            Credentials::api_key(KEY),
            &identity.trusted_pem,
        );

        let spaces = client.spaces().all().await;

        let spaces = spaces.unwrap_or_else(|err| panic!("{label}: {err}"));
        assert_eq!(spaces.len(), 1, "{label}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{label}");
        assert!(requests[0].tls, "{label}");
        assert_eq!(requests[0].header("x-octopus-apikey"), Some(KEY), "{label}");
    }
}

#[tokio::test]
async fn the_openssl_certificate_is_only_trusted_when_given() {
    let identity = openssl_self_signed();
    let server = spaces_server(&identity);
    let other = self_signed(&CertSpec {
        is_ca: true,
        ..CertSpec::default()
    });
    let client = client_trusting(
        &server.https_url(),
        Credentials::api_key(KEY),
        &other.trusted_pem,
    );

    let err = client
        .get_json::<Value>("/api/spaces/all")
        .await
        .unwrap_err();

    // webpki checks the basic constraints before looking for an issuer.
    assert_refused(
        &server,
        &err,
        CertificateProblem::CaAsServerCertificate,
        "trust that very certificate, or the CA that signed it",
    );
}

#[test]
fn ca_files_without_a_certificate_are_refused_when_the_client_is_built() {
    for pem in [
        &b""[..],
        b"hello",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        let err = octoshare_core::Client::builder(
            octoshare_core::ServerUrl::parse("https://h").unwrap(),
            Credentials::api_key(KEY),
        )
        .ca_certificate_pem(pem.to_vec())
        .build()
        .unwrap_err();
        assert!(
            matches!(err, ApiError::InvalidCaCertificate { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("no certificate found"), "{err}");
    }
}
