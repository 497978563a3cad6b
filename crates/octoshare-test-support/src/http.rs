//! [`CannedServer`]: a blocking HTTP/1.1 server on `127.0.0.1` for the servers the emulator
//! cannot imitate (an HTML page, a redirect loop, a truncated or endless body, a server that
//! never answers, a scripted sequence of answers). One thread, one request per connection
//! (`Connection: close`); request number `n` (0-based) is answered with `handler(request, n)`
//! and every request is recorded. With a TLS identity it speaks TLS *and* plain HTTP on the
//! same port (it peeks at the first byte: a TLS handshake starts with 0x16), so a redirect from
//! `https://` to `http://` on the same port reaches it either way and the log shows what
//! arrived in clear.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A request as the canned server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub body: Vec<u8>,
    /// Whether it came over TLS.
    pub tls: bool,
}

impl Recorded {
    /// The value of a header (name case-insensitive).
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

    /// The headers as `name: value` lines (names lower-cased).
    pub fn header_lines(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect()
    }

    /// The port in the `Host` header (empty without one).
    pub fn host_port(&self) -> String {
        self.header("host")
            .and_then(|host| host.rsplit_once(':'))
            .map(|(_, port)| port.trim().to_owned())
            .unwrap_or_default()
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
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
    /// A complete answer with this status, `Content-Type` and body.
    pub fn new(status: u16, content_type: &str, body: impl AsRef<[u8]>) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.as_ref().to_vec(),
            delivery: Delivery::Whole {
                declared_length: None,
            },
        }
    }

    /// A JSON answer.
    pub fn json(status: u16, body: &str) -> Self {
        Self::new(status, "application/json; charset=utf-8", body)
    }

    /// An HTML answer.
    pub fn html(status: u16, body: &str) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Self {
        Self::new(status, "text/plain", body)
    }

    /// A 302 to `location`.
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

    /// Adds a header.
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
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
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

/// The reason phrase of the common statuses ("Canned" for the others).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Canned",
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
#[derive(Debug)]
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

    /// Like [`CannedServer::start`], speaking TLS with this certificate chain and key as well
    /// as plain HTTP.
    pub fn start_tls(
        chain: &[CertificateDer<'static>],
        key: &PrivateKeyDer<'static>,
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain.to_vec(), key.clone_key())
        .expect("a usable test certificate");
        Self::serve(Some(Arc::new(config)), Arc::new(handler))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let address = listener.local_addr().expect("a bound address");
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

    /// The port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
        let mut log = requests.lock().unwrap_or_else(PoisonError::into_inner);
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
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
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
