//! The HTTP server: a hyper accept loop on the emulator's own thread and runtime, and the outer
//! service every request goes through (request log, scheduled registrations, latency, faults,
//! authentication, route mapping) before the axum router handles it.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::app::{App, Caller, LoggedRequest};
use crate::error::{ApiError, error_response, json_response};
use crate::fault::{Fault, FaultKind};
use crate::routes::{NODE_NAME, router};
use crate::scenario::{Scenario, WorkerSeed};
use crate::store::{NameFilter, WorkerFilter};

/// Returned by the outer service to make hyper close the connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed by an injected `{0}` fault")]
struct ClosedByFault(&'static str);

/// A running emulator. Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct Emulator {
    address: SocketAddr,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator on `127.0.0.1` with a free port, on its own thread and tokio runtime
    /// (so it works from sync tests, process tests and `#[tokio::test]` alike). Returns once
    /// the socket is listening.
    pub fn start(scenario: Scenario) -> anyhow::Result<Emulator> {
        Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), scenario)
    }

    /// Starts an emulator listening on `address` (port 0 picks a free port).
    pub fn start_on(address: SocketAddr, scenario: Scenario) -> anyhow::Result<Emulator> {
        let started = Instant::now();
        let app = Arc::new(App::new(&scenario, started)?);
        let listener =
            StdTcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot build the emulator's tokio runtime")?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (shutdown, shutdown_signal) = oneshot::channel();
        let thread_app = Arc::clone(&app);
        let thread = std::thread::Builder::new()
            .name(format!("octopus-emulator-{}", address.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, thread_app, shutdown_signal));
            })
            .context("cannot spawn the emulator thread")?;
        tracing::debug!(%address, "octopus emulator listening");
        Ok(Emulator {
            address,
            app,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// An admin API key (`API-` + upper-case letters and digits).
    pub fn api_key(&self) -> String {
        self.app.credentials.api_key.clone()
    }

    /// An API key that authenticates but is refused (403) every POST, PUT and DELETE.
    pub fn read_only_api_key(&self) -> String {
        self.app.credentials.read_only_api_key.clone()
    }

    /// A token accepted as `Authorization: Bearer <token>` (admin rights).
    pub fn access_token(&self) -> String {
        self.app.credentials.access_token.clone()
    }

    /// Every request so far (the last [`crate::REQUEST_LOG_CAPACITY`]), in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.app.log().snapshot()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        self.app.log().clear();
    }

    /// How many logged requests used `method` (case-insensitive).
    pub fn count(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method))
            .count()
    }

    /// Arms another fault (after those already armed).
    pub fn add_fault(&self, fault: Fault) {
        self.app.faults().add(fault);
    }

    /// Disarms every fault (the random generator keeps its position).
    pub fn clear_faults(&self) {
        self.app.faults().clear();
    }

    /// Makes `/api/octopusservernodes/ping` answer 418 (`true`) or 200 (`false`).
    pub fn set_draining(&self, draining: bool) {
        self.app.set_draining(draining);
    }

    /// The id (`Spaces-N`) of the space with this name (case-insensitive).
    pub fn space_id(&self, name: &str) -> Option<String> {
        self.app.store().space_id_by_name(name)
    }

    /// The workers of a space as `GET /api/{spaceId}/workers/all` returns them (empty if the
    /// space does not exist).
    pub fn workers(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .workers(space_id, &WorkerFilter::default())
            .unwrap_or_default()
    }

    /// The worker pools of a space as `/workerpools/all` returns them.
    pub fn worker_pools(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .worker_pools(space_id, &NameFilter::default())
            .unwrap_or_default()
    }

    /// The step templates of a space as `/actiontemplates/all` returns them.
    pub fn action_templates(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .action_templates(space_id, &NameFilter::default())
            .unwrap_or_default()
    }

    /// Adds a worker directly (as a Tentacle registration would, without the duplicate-name
    /// check) and returns its `Workers-N` id.
    ///
    /// # Panics
    /// If the space does not exist or has no pool or policy the seed names: that is a bug in
    /// the test, not a request to answer.
    pub fn add_worker(&self, space_id: &str, worker: WorkerSeed) -> String {
        match self.app.store().add_seeded_worker(space_id, &worker) {
            Ok(id) => id,
            Err(error) => panic!(
                "Emulator::add_worker({space_id}, {}): {error}",
                worker.name()
            ),
        }
    }

    /// Sets `HealthStatus` (and what a health check reports) of every worker with this name
    /// in the space.
    ///
    /// # Panics
    /// If no worker of that name exists in the space.
    pub fn set_health(&self, space_id: &str, worker_name: &str, health: &str) {
        let matched = self.app.store().set_health(space_id, worker_name, health);
        assert!(
            matched > 0,
            "Emulator::set_health: no worker named '{worker_name}' in {space_id}"
        );
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections until shutdown; scheduled registrations also fire from a timer so they
/// happen on time even when no request arrives.
async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: oneshot::Receiver<()>) {
    tokio::spawn(registration_timer(Arc::clone(&app)));
    let router = router(Arc::clone(&app));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let app = Arc::clone(&app);
                    let router = router.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            handle(Arc::clone(&app), router.clone(), request)
                        });
                        if let Err(error) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!("emulator connection ended: {error}");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!("emulator accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn registration_timer(app: Arc<App>) {
    loop {
        let Some(due) = app.store().next_registration() else {
            return;
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        app.apply_due_registrations();
    }
}

/// Marks the log entry of a request finished, also when the client hangs up and hyper drops
/// the request's future mid-way (the entry then keeps status 0).
struct LogEntry {
    app: Arc<App>,
    sequence: u64,
    finished: bool,
}

impl LogEntry {
    fn finish(mut self, status: u16) {
        self.app.log().finish(self.sequence, status);
        self.finished = true;
    }
}

impl Drop for LogEntry {
    fn drop(&mut self) {
        if !self.finished {
            self.app.log().finish(self.sequence, 0);
        }
    }
}

/// The outer service: everything that happens before and after the router.
async fn handle(
    app: Arc<App>,
    router: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, ClosedByFault> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or_default().to_owned();
    let sequence = app.log().begin(method.as_str(), &path, &raw_query);
    let entry = LogEntry {
        app: Arc::clone(&app),
        sequence,
        finished: false,
    };

    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    let decision = app.faults().decide(method.as_str(), &path);
    if !decision.names.is_empty() {
        app.log().set_fault(sequence, decision.names.join("+"));
    }
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.terminal {
        Some(FaultKind::Stall { ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            entry.finish(0);
            return Err(ClosedByFault("stall"));
        }
        Some(FaultKind::Drop) => {
            entry.finish(0);
            return Err(ClosedByFault("drop"));
        }
        Some(FaultKind::Status {
            code,
            retry_after_seconds,
        }) => {
            let response = decorate(status_fault_response(code, retry_after_seconds), &app);
            entry.finish(response.status().as_u16());
            return Ok(response);
        }
        _ => {}
    }

    let response = match prepare(&app, request) {
        Ok(request) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Err(error) => axum::response::IntoResponse::into_response(error),
    };
    let response = decorate(response, &app);

    match decision.terminal {
        Some(FaultKind::CommitThenDrop) => {
            entry.finish(0);
            Err(ClosedByFault("commitThenDrop"))
        }
        Some(FaultKind::CommitThen500) => {
            let response = decorate(
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({ "ErrorMessage": "The request was processed, but the emulator injected a 500 Internal Server Error before answering (commitThen500 fault)." }),
                ),
                &app,
            );
            entry.finish(response.status().as_u16());
            Ok(response)
        }
        _ => {
            entry.finish(response.status().as_u16());
            Ok(response)
        }
    }
}

/// Authenticates and authorises the request, then maps its path onto the router's routes.
fn prepare(app: &App, request: Request<Incoming>) -> Result<Request<Body>, ApiError> {
    let (mut parts, body) = request.into_parts();
    let default_space = app.store().default_space_id().map(str::to_owned);
    let path = route_path(parts.uri.path(), default_space.as_deref());
    let caller = if is_anonymous_route(&path) {
        Caller::Anonymous
    } else {
        authenticate(app, &parts.headers, parts.uri.query())?
    };
    let writes = matches!(
        parts.method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    );
    if writes && caller == Caller::ReadOnly {
        let permission = if path.to_ascii_lowercase().contains("/actiontemplates") {
            "ActionTemplateEdit"
        } else {
            "ConfigureServer"
        };
        return Err(ApiError::Forbidden(permission));
    }
    let path_and_query = match parts.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    if let Ok(uri) = Uri::builder().path_and_query(path_and_query).build() {
        parts.uri = uri;
    }
    parts.extensions.insert(caller);
    Ok(Request::from_parts(parts, Body::new(body)))
}

fn is_anonymous_route(path: &str) -> bool {
    matches!(path, "/api" | "/api/" | "/api/octopusservernodes/ping") || !path.starts_with("/api")
}

/// Reads `X-Octopus-ApiKey`, then `Authorization: Bearer`, then `?apikey=` (any letter case).
/// Empty values count as absent (the TypeScript client sends an empty header without a key).
fn authenticate(app: &App, headers: &HeaderMap, query: Option<&str>) -> Result<Caller, ApiError> {
    let credentials = &app.credentials;
    let header_key = headers
        .get("x-octopus-apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|v| !v.is_empty());
    let query_key = query.and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, value)| name.eq_ignore_ascii_case("apikey") && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
    });
    if let Some(token) = bearer.filter(|_| header_key.is_none()) {
        return if token == credentials.access_token {
            Ok(Caller::Admin)
        } else {
            Err(ApiError::InvalidApiKey)
        };
    }
    match header_key.map(str::to_owned).or(query_key) {
        None => Err(ApiError::MissingCredentials),
        Some(key) if key == credentials.api_key => Ok(Caller::Admin),
        Some(key) if key == credentials.read_only_api_key => Ok(Caller::ReadOnly),
        Some(_) => Err(ApiError::InvalidApiKey),
    }
}

/// Path segments the router matches literally; compared case-insensitively, as Octopus does.
const ROUTE_KEYWORDS: &[&str] = &[
    "api",
    "spaces",
    "all",
    "workers",
    "workerpools",
    "machinepolicies",
    "actiontemplates",
    "octopusservernodes",
    "ping",
    "users",
    "me",
];

/// Collections that also exist without a space id (legacy routes to the default space).
const SPACE_COLLECTIONS: &[&str] = &[
    "workers",
    "workerpools",
    "machinepolicies",
    "actiontemplates",
];

fn is_space_id(segment: &str) -> bool {
    segment.len() > 7
        && segment[..7].eq_ignore_ascii_case("spaces-")
        && segment[7..].bytes().all(|b| b.is_ascii_digit())
}

/// Maps the three route families onto `/api/{spaceId}/...`: legacy `/api/workers...` goes to
/// the default space, `/api/spaces/{spaceId}/workers...` drops its `spaces` segment. Literal
/// segments are lower-cased and trailing slashes dropped (except on the root `/api/`).
fn route_path(path: &str, default_space: Option<&str>) -> String {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let lower = s.to_ascii_lowercase();
            if ROUTE_KEYWORDS.contains(&lower.as_str()) {
                lower
            } else {
                s.to_owned()
            }
        })
        .collect();
    if segments.first().map(String::as_str) != Some("api") {
        return path.to_owned();
    }
    if segments.len() == 1 {
        return if path.ends_with('/') { "/api/" } else { "/api" }.to_owned();
    }
    if segments.len() >= 4 && segments[1] == "spaces" && is_space_id(&segments[2]) {
        segments.remove(1);
    } else if SPACE_COLLECTIONS.contains(&segments[1].as_str())
        && let Some(space) = default_space
    {
        segments.insert(1, space.to_owned());
    }
    format!("/{}", segments.join("/"))
}

fn status_fault_response(code: u16, retry_after_seconds: Option<u64>) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match code {
        429 => "Too many requests. The rate limit for this user or IP address was exceeded; retry later.".to_owned(),
        500 => "An unexpected error occurred on the Octopus Server (fault injected by the emulator).".to_owned(),
        503 => "The Octopus Server is temporarily unavailable; retry later.".to_owned(),
        418 => "This Octopus Server node is draining.".to_owned(),
        other => format!("The emulator injected an HTTP {other} response."),
    };
    let mut response = error_response(status, &message, &[]);
    if let Some(seconds) = retry_after_seconds
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

/// Adds the headers a real Octopus Server sends on every response.
fn decorate(mut response: Response<Body>, app: &App) -> Response<Body> {
    let headers = response.headers_mut();
    if let Ok(node) = HeaderValue::from_str(&format!("name={NODE_NAME}; version={}", app.version)) {
        headers.insert("octopus-node", node);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_newer_routes_map_to_space_routes() {
        assert_eq!(
            route_path("/api/workers", Some("Spaces-1")),
            "/api/Spaces-1/workers"
        );
        assert_eq!(
            route_path("/API/Workers/Workers-3/", Some("Spaces-1")),
            "/api/Spaces-1/workers/Workers-3"
        );
        assert_eq!(
            route_path("/api/spaces/Spaces-2/workerpools/all", None),
            "/api/Spaces-2/workerpools/all"
        );
        assert_eq!(
            route_path("/api/spaces/Spaces-2", None),
            "/api/spaces/Spaces-2"
        );
        assert_eq!(route_path("/api/", None), "/api/");
        assert_eq!(route_path("/api/workers", None), "/api/workers");
    }
}
