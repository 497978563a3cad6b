//! Test support: clients for the emulator; `CannedServer`, a blocking HTTP/1.1 server
//! answering each request with a response chosen by a closure (optionally speaking TLS and
//! plain HTTP on one port); and test certificates.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use octopus_emulator::{Emulator, Scenario};
use octoshare_core::{Client, Credentials, RetryPolicy, ServerUrl};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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

/// A request as the canned server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether it came over TLS.
    pub tls: bool,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether `secret` appears anywhere in what was received (target, headers, body).
    pub fn carries(&self, secret: &str) -> bool {
        self.target.contains(secret)
            || self
                .headers
                .iter()
                .any(|(name, value)| name.contains(secret) || value.contains(secret))
            || String::from_utf8_lossy(&self.body).contains(secret)
    }
}

/// How the body of a reply is sent.
#[derive(Debug, Clone)]
enum Delivery {
    /// `Content-Length` (possibly a lie, for truncated answers) and the body.
    Whole { declared_length: Option<usize> },
    /// `Transfer-Encoding: chunked`, 64 KiB chunks until the client goes away (at most 1 GiB).
    Endless,
    /// No answer at all: the connection is held open until the server stops.
    Stall,
}

/// A raw HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delivery: Delivery,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delivery: Delivery::Whole {
                declared_length: None,
            },
        }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::new(status, "application/json; charset=utf-8", body)
    }

    pub fn html(status: u16, body: &str) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self::new(status, "text/plain", body)
    }

    pub fn redirect(location: &str) -> Self {
        Self::new(302, "text/plain", "").header("Location", location)
    }

    /// A redirect with another status (307, 308, ...).
    pub fn redirect_with(status: u16, location: &str) -> Self {
        Self::new(status, "text/plain", "").header("Location", location)
    }

    /// A 200 JSON answer whose chunked body never ends (`[` followed by spaces).
    pub fn endless() -> Self {
        let mut reply = Self::json(200, "[");
        reply.delivery = Delivery::Endless;
        reply
    }

    /// No answer: the request is read and the connection is held open.
    pub fn stall() -> Self {
        let mut reply = Self::json(200, "");
        reply.delivery = Delivery::Stall;
        reply
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Declares a longer Content-Length than the body and closes early.
    pub fn truncated(mut self, declared_length: usize) -> Self {
        self.delivery = Delivery::Whole {
            declared_length: Some(declared_length),
        };
        self
    }

    fn write_to(&self, stream: &mut impl Write) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {} Canned\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match self.delivery {
            Delivery::Whole { declared_length } => {
                let length = declared_length.unwrap_or(self.body.len());
                head.push_str(&format!(
                    "Content-Length: {length}\r\nConnection: close\r\n\r\n"
                ));
                stream.write_all(head.as_bytes())?;
                stream.write_all(&self.body)?;
            }
            Delivery::Endless => {
                head.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
                stream.write_all(head.as_bytes())?;
                write_chunk(stream, &self.body)?;
                let chunk = vec![b' '; 64 * 1024];
                for _ in 0..(1024 * 1024 * 1024 / chunk.len()) {
                    write_chunk(stream, &chunk)?;
                }
            }
            Delivery::Stall => return Ok(()),
        }
        stream.flush()
    }
}

fn write_chunk(stream: &mut impl Write, chunk: &[u8]) -> std::io::Result<()> {
    stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
    stream.write_all(chunk)?;
    stream.write_all(b"\r\n")
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A blocking HTTP/1.1 server on `127.0.0.1:0`; one connection per request. With a TLS
/// identity it speaks TLS *and* plain HTTP on the same port (it peeks at the first byte: a TLS
/// handshake starts with 0x16), so a redirect from `https://` to `http://` on the same port
/// reaches it either way.
pub struct CannedServer {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CannedServer {
    /// Answers request number `n` (0-based) with `handler(request, n)`.
    pub fn start(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::serve(None, Arc::new(handler))
    }

    /// Like [`CannedServer::start`], speaking TLS with `identity` as well as plain HTTP.
    pub fn start_tls(
        identity: &TestIdentity,
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .unwrap();
        Self::serve(Some(Arc::new(config)), Arc::new(handler))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = Arc::clone(&requests);
            let connections = Arc::clone(&connections);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut held: Vec<Box<dyn Send>> = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    // A client that stopped reading an endless body must not keep the thread.
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let mut first = [0u8; 1];
                    let is_tls = matches!(stream.peek(&mut first), Ok(1) if first[0] == 0x16);
                    match (&tls, is_tls) {
                        (Some(config), true) => {
                            let Ok(connection) = rustls::ServerConnection::new(Arc::clone(config))
                            else {
                                continue;
                            };
                            let stream = rustls::StreamOwned::new(connection, stream);
                            if let Some(stream) = answer(stream, true, &requests, handler.as_ref())
                            {
                                held.push(Box::new(stream));
                            }
                        }
                        _ => {
                            if let Some(stream) = answer(stream, false, &requests, handler.as_ref())
                            {
                                held.push(Box::new(stream));
                            }
                        }
                    }
                }
            })
        };
        CannedServer {
            address,
            requests,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    /// Always answers with the same reply.
    pub fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `https://localhost:<port>` (the name the test certificates are issued for).
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.port())
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Connections accepted so far (TLS handshakes that failed included).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads one request, logs it and answers; returns the stream when the reply is to stall.
fn answer<S: Read + Write>(
    mut stream: S,
    tls: bool,
    requests: &Mutex<Vec<Recorded>>,
    handler: &Handler,
) -> Option<S> {
    let request = read_request(&mut stream, tls)?;
    let index = {
        let mut log = requests.lock().unwrap();
        log.push(request.clone());
        log.len() - 1
    };
    let reply = handler(&request, index);
    if matches!(reply.delivery, Delivery::Stall) {
        return Some(stream);
    }
    let _ = reply.write_to(&mut stream);
    None
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_request(stream: &mut impl Read, tls: bool) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        target,
        headers,
        body,
        tls,
    })
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
