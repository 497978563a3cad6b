//! A tiny canned HTTP/1.1 server for the servers the emulator cannot imitate (an HTML page, a
//! redirect loop, a truncated body, another API version): one thread, one response per
//! connection (`Connection: close`), every request line logged.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
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
}

/// Raw bytes to answer with; build with [`CannedResponse::new`] or write them yourself.
#[derive(Debug, Clone)]
pub struct CannedResponse(pub Vec<u8>);

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
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let address = listener.local_addr().expect("a bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let respond: Arc<Responder> = Arc::new(respond);
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &requests, respond.as_ref());
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

fn serve(stream: TcpStream, requests: &Mutex<Vec<CannedRequest>>, respond: &Responder) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(stream) => stream,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
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
    let request = CannedRequest {
        method,
        target,
        headers,
    };
    let response = respond(&request);
    requests.lock().expect("request log").push(request);
    let mut stream = stream;
    let _ = stream.write_all(&response.0);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// An Octopus root document with this `ApiVersion`.
pub fn root_document(api_version: &str) -> String {
    format!(
        r#"{{"Application":"Octopus Deploy","Version":"2026.3.0","ApiVersion":"{api_version}","InstallationId":"00000000-0000-0000-0000-000000000000","Links":{{"Self":"/api","Spaces":"/api/spaces{{/id}}{{?skip,ids,take,partialName}}"}}}}"#
    )
}
