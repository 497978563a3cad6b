//! Test support: clients for the emulator and for the workspace's canned HTTP server
//! (`octoshare_test_support::http`, re-exported here), and test certificates.

use std::net::TcpListener;
use std::time::Duration;

use octopus_emulator::{Emulator, Scenario};
use octoshare_core::{Client, Credentials, RetryPolicy, ServerUrl};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use octoshare_test_support::http::{CannedServer, Recorded, Reply};

/// Starts an emulator, panicking with the reason if it cannot.
pub fn emulator(scenario: Scenario) -> Emulator {
    Emulator::start(scenario).expect("emulator starts")
}

/// A client for the emulator's admin API key with `RetryPolicy::immediate(3)`.
pub fn client(emulator: &Emulator) -> Client {
    client_with(
        emulator,
        Credentials::api_key(emulator.api_key()),
        RetryPolicy::immediate(3),
    )
}

/// A client for the emulator with the given credentials and retry policy.
pub fn client_with(emulator: &Emulator, credentials: Credentials, policy: RetryPolicy) -> Client {
    Client::builder(ServerUrl::parse(&emulator.url()).unwrap(), credentials)
        .retry_policy(policy)
        .request_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A client for a canned server (or any URL) with `RetryPolicy::immediate(3)`.
pub fn client_for_url(url: &str, credentials: Credentials) -> Client {
    Client::builder(ServerUrl::parse(url).unwrap(), credentials)
        .retry_policy(RetryPolicy::immediate(3))
        .request_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A certificate chain and its key for a TLS test server, and the PEM to trust.
pub struct TestIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// What a user would pass as the extra trusted root.
    pub trusted_pem: Vec<u8>,
}

/// Options for a generated server certificate.
pub struct CertSpec<'a> {
    /// Subject alternative names.
    pub names: &'a [&'a str],
    /// Marked as a CA (basic constraints CA:TRUE), as `openssl req -x509` does.
    pub is_ca: bool,
    /// Already expired.
    pub expired: bool,
}

impl Default for CertSpec<'_> {
    fn default() -> Self {
        CertSpec {
            names: &["localhost"],
            is_ca: false,
            expired: false,
        }
    }
}

fn params(spec: &CertSpec<'_>) -> rcgen::CertificateParams {
    let names: Vec<String> = spec.names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    if spec.is_ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    if spec.expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    params
}

/// A self-signed server certificate; the PEM to trust is the certificate itself.
pub fn self_signed(spec: &CertSpec<'_>) -> TestIdentity {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params(spec).self_signed(&key).unwrap();
    TestIdentity {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        trusted_pem: cert.pem().into_bytes(),
    }
}

/// A server certificate signed by a test CA; the PEM to trust is the CA's certificate.
pub fn signed_by_test_ca(spec: &CertSpec<'_>) -> TestIdentity {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params(spec).signed_by(&key, &ca).unwrap();
    TestIdentity {
        chain: vec![cert.der().clone(), ca.der().clone()],
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        trusted_pem: ca.pem().into_bytes(),
    }
}

/// A canned server speaking TLS with `identity` as well as plain HTTP.
pub fn tls_server(
    identity: &TestIdentity,
    handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
) -> CannedServer {
    CannedServer::start_tls(&identity.chain, &identity.key, handler)
}

/// The certificate made with `openssl req -x509` (CA:TRUE), from `tests/fixtures/tls`.
pub fn openssl_self_signed() -> TestIdentity {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let pem = std::fs::read(dir.join("openssl-self-signed.pem")).unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("openssl-self-signed.key.pem")).unwrap();
    TestIdentity {
        chain,
        key,
        trusted_pem: pem,
    }
}

/// A client for `url` trusting `pem`, with `RetryPolicy::immediate(3)`.
pub fn client_trusting(url: &str, credentials: Credentials, pem: &[u8]) -> Client {
    Client::builder(ServerUrl::parse(url).unwrap(), credentials)
        .retry_policy(RetryPolicy::immediate(3))
        .request_timeout(Duration::from_secs(10))
        .ca_certificate_pem(pem.to_vec())
        .build()
        .unwrap()
}

/// A `127.0.0.1` address where nothing listens.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// The error with its whole `source()` chain, as `{:#}` in anyhow would print it.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut current = err.source();
    while let Some(cause) = current {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        current = cause.source();
    }
    text
}
