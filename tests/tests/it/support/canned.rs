//! A tiny canned HTTP/1.1 server for the servers the emulator cannot imitate (an HTML page, a
//! redirect loop, a truncated body, another API version, an endless body, a server that never
//! answers): one thread, one response per connection (`Connection: close`), every request
//! logged. With a TLS identity it speaks TLS and plain HTTP on the same port (it peeks at the
//! first byte: a TLS handshake starts with 0x16), so a redirect from `https://` to `http://` on
//! the same port reaches it either way and its log shows what arrived in clear.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as the canned server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Header lines, as sent (`name: value`).
    pub headers: Vec<String>,
    /// Whether it came over TLS.
    pub tls: bool,
}

impl CannedRequest {
    /// Whether `secret` appears anywhere in what was received.
    pub fn carries(&self, secret: &str) -> bool {
        self.target.contains(secret) || self.headers.iter().any(|line| line.contains(secret))
    }

    /// The port in the `Host` header.
    pub fn host_port(&self) -> String {
        self.headers
            .iter()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim().eq_ignore_ascii_case("host").then(|| {
                    value
                        .rsplit(':')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                })
            })
            .unwrap_or_default()
    }
}

/// Raw bytes to answer with; build with [`CannedResponse::new`] or write them yourself. The
/// two special answers are [`CannedResponse::endless`] and [`CannedResponse::stall`].
#[derive(Debug, Clone)]
pub struct CannedResponse(pub Vec<u8>);

/// Marks an endless chunked body (never sent on the wire as such).
const ENDLESS: &[u8] = b"\0endless";
/// Marks "never answer" (never sent on the wire as such).
const STALL: &[u8] = b"\0stall";

impl CannedResponse {
    /// A complete response with `Content-Length` and `Connection: close`.
    pub fn new(status: &str, content_type: &str, body: &str) -> Self {
        Self::with_headers(status, &[("Content-Type", content_type)], body)
    }

    /// A complete response with extra headers.
    pub fn with_headers(status: &str, headers: &[(&str, &str)], body: &str) -> Self {
        let mut text = format!("HTTP/1.1 {status}\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        CannedResponse(text.into_bytes())
    }

    /// A JSON 200 whose chunked body never ends (`[` and then spaces, 64 KiB per chunk, until
    /// the client goes away or 4 GiB were sent).
    pub fn endless() -> Self {
        CannedResponse(ENDLESS.to_vec())
    }

    /// No answer: the request is read and the connection held open until the server stops.
    pub fn stall() -> Self {
        CannedResponse(STALL.to_vec())
    }

    /// A JSON 200.
    pub fn json(body: &str) -> Self {
        Self::new("200 OK", "application/json; charset=utf-8", body)
    }

    /// Announces `declared` body bytes but sends only `body`, then closes the connection.
    pub fn truncated(body: &str, declared: usize) -> Self {
        CannedResponse(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n{body}"
            )
            .into_bytes(),
        )
    }
}

type Responder = dyn Fn(&CannedRequest) -> CannedResponse + Send + Sync;

/// The running server; stops when dropped.
pub struct CannedServer {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<CannedRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CannedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CannedServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl CannedServer {
    /// Serves `respond` on `127.0.0.1:<free port>`.
    pub fn start(
        respond: impl Fn(&CannedRequest) -> CannedResponse + Send + Sync + 'static,
    ) -> Self {
        Self::serve(None, respond)
    }

    /// Serves `respond` over TLS (with `identity`) and plain HTTP on one port.
    pub fn start_tls(
        identity: &TlsIdentity,
        respond: impl Fn(&CannedRequest) -> CannedResponse + Send + Sync + 'static,
    ) -> Self {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .expect("a usable test certificate");
        Self::serve(Some(Arc::new(config)), respond)
    }

    fn serve(
        tls: Option<Arc<rustls::ServerConfig>>,
        respond: impl Fn(&CannedRequest) -> CannedResponse + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let address = listener.local_addr().expect("a bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let respond: Arc<Responder> = Arc::new(respond);
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut held: Vec<Box<dyn Send>> = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
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
                            if let Some(stream) = serve(stream, true, &requests, respond.as_ref()) {
                                held.push(Box::new(stream));
                            }
                        }
                        _ => {
                            if let Some(stream) = serve(stream, false, &requests, respond.as_ref())
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
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `https://localhost:PORT` (the name the test certificate is issued for).
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.address.port())
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<CannedRequest> {
        self.requests.lock().expect("request log").clone()
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request, logs it and answers; returns the stream when the answer is to stall.
fn serve<S: Read + Write>(
    mut stream: S,
    tls: bool,
    requests: &Mutex<Vec<CannedRequest>>,
    respond: &Responder,
) -> Option<S> {
    let mut reader = BufReader::new(&mut stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
        headers.push(line);
    }
    let mut body = vec![0; content_length];
    let _ = reader.read_exact(&mut body);
    drop(reader);
    let request = CannedRequest {
        method,
        target,
        headers,
        tls,
    };
    let response = respond(&request);
    requests.lock().expect("request log").push(request);
    if response.0 == STALL {
        return Some(stream);
    }
    if response.0 == ENDLESS {
        let _ = write_endless(&mut stream);
    } else {
        let _ = stream.write_all(&response.0);
    }
    let _ = stream.flush();
    None
}

fn write_endless(stream: &mut impl Write) -> std::io::Result<()> {
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\n[\r\n",
    )?;
    let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
    chunk.extend_from_slice(b"\r\n");
    for _ in 0..(64 * 1024) {
        stream.write_all(&chunk)?;
    }
    Ok(())
}

/// A self-signed certificate for `localhost` (CA:TRUE, as `openssl req -x509` makes it) and
/// its key, for a TLS test server; `pem` is what a user passes as `--ca-cert`.
pub struct TlsIdentity {
    /// The certificate.
    pub certificate: rustls::pki_types::CertificateDer<'static>,
    /// Its private key.
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
    /// The certificate as PEM.
    pub pem: String,
}

impl TlsIdentity {
    /// A new self-signed identity for `localhost`.
    pub fn localhost() -> Self {
        let key = rcgen::KeyPair::generate().expect("a key pair");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("certificate params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let certificate = params.self_signed(&key).expect("a self-signed certificate");
        TlsIdentity {
            certificate: certificate.der().clone(),
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            pem: certificate.pem(),
        }
    }
}

/// An Octopus root document with this `ApiVersion`.
pub fn root_document(api_version: &str) -> String {
    format!(
        r#"{{"Application":"Octopus Deploy","Version":"2026.3.0","ApiVersion":"{api_version}","InstallationId":"00000000-0000-0000-0000-000000000000","Links":{{"Self":"/api","Spaces":"/api/spaces{{/id}}{{?skip,ids,take,partialName}}"}}}}"#
    )
}
