//! The outer service every request goes through before the axum router: the request log,
//! outages, the concurrency gate, the hold switch, latency, injected faults, authentication,
//! route mapping and authorisation; afterwards Octopus's response headers and the
//! commit-then-fail faults.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use serde_json::json;
use tower::ServiceExt;

use crate::access::{Grant, Permission};
use crate::app::App;
use crate::error::{ApiError, error_response, json_response};
use crate::fault::FaultKind;
use crate::load::{Admission, OutageKind};
use crate::routing::{Requirement, requirement, route_path};
use crate::store::render::NODE_NAME;

/// Returned by the outer service to make hyper close the connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed by an injected `{0}` fault")]
pub(crate) struct ClosedByFault(&'static str);

/// Marks the log entry of a request finished, also when the client hangs up and hyper drops
/// the request's future mid-way (the entry then keeps status 0).
struct LogEntry {
    app: Arc<App>,
    sequence: u64,
    finished: bool,
}

impl LogEntry {
    fn fault(&self, name: &str) {
        self.app.log().add_fault(self.sequence, name);
    }

    fn finish(mut self, status: u16) {
        self.app.log().finish(self.sequence, status);
        self.finished = true;
    }

    /// Finishes the entry with the response's status and returns the response.
    fn answer(self, response: Response<Body>) -> Result<Response<Body>, ClosedByFault> {
        let response = decorate(response, &self.app);
        self.finish(response.status().as_u16());
        Ok(response)
    }

    /// Finishes the entry without a response: hyper closes the connection.
    fn close(self, fault: &'static str) -> Result<Response<Body>, ClosedByFault> {
        self.finish(0);
        Err(ClosedByFault(fault))
    }
}

impl Drop for LogEntry {
    fn drop(&mut self) {
        if !self.finished {
            self.app.log().finish(self.sequence, 0);
        }
    }
}

/// Everything that happens to a request, in order.
pub(crate) async fn handle(
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

    if let Some(outage) = app.outages.current(Instant::now()) {
        entry.fault("outage");
        return match outage {
            OutageKind::DropConnections => entry.close("outage"),
            OutageKind::Status {
                code,
                retry_after_seconds,
            } => entry.answer(status_fault_response(code, retry_after_seconds)),
        };
    }

    // The server's capacity: a slot for the whole handling, latency included.
    let (_slot, others_in_flight) = match app.gate.admit().await {
        Admission::Admitted {
            slot,
            others_in_flight,
        } => (slot, others_in_flight),
        Admission::Refused {
            status,
            retry_after_seconds,
        } => {
            entry.fault("concurrencyLimit");
            return entry.answer(status_fault_response(status, retry_after_seconds));
        }
    };
    let mut holds = app.holds.subscribe();
    let _ = holds.wait_for(|holds| *holds == 0).await;
    if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        let mut write_holds = app.write_holds.subscribe();
        let _ = write_holds.wait_for(|holds| *holds == 0).await;
    }

    let slope = app.latency_per_in_flight();
    let latency = app.latency() + slope * u32::try_from(others_in_flight).unwrap_or(u32::MAX);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let decision = app.faults().decide(method.as_str(), &path);
    for name in &decision.names {
        entry.fault(name);
    }
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.terminal {
        Some(FaultKind::Stall { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return entry.close("stall");
        }
        Some(FaultKind::Drop) => return entry.close("drop"),
        Some(FaultKind::Status {
            code,
            retry_after_seconds,
        }) => return entry.answer(status_fault_response(code, retry_after_seconds)),
        _ => {}
    }

    let response = match prepare(&app, request) {
        Ok(request) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Err(error) => axum::response::IntoResponse::into_response(error),
    };

    match decision.terminal {
        Some(FaultKind::CommitThenDrop) => entry.close("commitThenDrop"),
        Some(FaultKind::CommitThen500) => entry.answer(json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "ErrorMessage": "The request was processed, but the emulator injected a 500 Internal Server Error before answering (commitThen500 fault)." }),
        )),
        _ => entry.answer(response),
    }
}

/// Maps the path onto the router's routes, authenticates and authorises the request.
fn prepare(app: &App, request: Request<Incoming>) -> Result<Request<Body>, ApiError> {
    let (mut parts, body) = request.into_parts();
    let default_space = app.store().default_space_id().map(str::to_owned);
    let mut path = route_path(
        parts.uri.path(),
        default_space.as_deref(),
        app.spaces_route_family,
    );
    if !app.worker_task_leases && path.ends_with("/workertaskleases") {
        // A server before the lease endpoint: no such route.
        path = format!("/api/unrouted{path}");
    }
    let needed = requirement(&parts.method, &path);
    let grant = if needed == Requirement::Anonymous {
        Grant::anonymous()
    } else {
        authenticate(app, &parts.headers, parts.uri.query())?
    };
    authorize(app, &grant, &needed)?;
    let path_and_query = match parts.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    if let Ok(uri) = Uri::builder().path_and_query(path_and_query).build() {
        parts.uri = uri;
    }
    parts.extensions.insert(grant);
    Ok(Request::from_parts(parts, Body::new(body)))
}

/// Reads `X-Octopus-ApiKey`, then `Authorization: Bearer`, then `?apikey=` (any letter case).
/// Empty values count as absent (the TypeScript client sends an empty header without a key).
fn authenticate(app: &App, headers: &HeaderMap, query: Option<&str>) -> Result<Grant, ApiError> {
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
    let keys = app.keys();
    if let Some(token) = bearer.filter(|_| header_key.is_none()) {
        // A token the server does not know gets the invalid-API-key 401 (unverified).
        return keys.by_token(token).cloned().ok_or(ApiError::InvalidApiKey);
    }
    match header_key.map(str::to_owned).or(query_key) {
        None => Err(ApiError::MissingCredentials),
        Some(key) => keys.by_key(&key).cloned().ok_or(ApiError::InvalidApiKey),
    }
}

/// Refuses (403) what the caller's grant does not allow. Requests into a space that does not
/// exist pass, so the router answers 404 as the server does.
fn authorize(app: &App, grant: &Grant, needed: &Requirement) -> Result<(), ApiError> {
    let space_name = |id: &str| app.store().space_name(id).map(str::to_owned);
    match needed {
        Requirement::Anonymous | Requirement::Authenticated => Ok(()),
        Requirement::System(permission) => {
            if grant.has_system(*permission) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(*permission))
            }
        }
        Requirement::SpaceMember(space_id) => match space_name(space_id) {
            // A space the caller has no access in is refused naming `SpaceView` (unverified:
            // the server might answer 404 instead).
            Some(name) if !grant.sees_space(&name) => {
                Err(ApiError::Forbidden(Permission::SpaceView))
            }
            _ => Ok(()),
        },
        Requirement::Space(space_id, permission) => match space_name(space_id) {
            Some(name) if !grant.access_in(&name).grants(*permission) => {
                Err(ApiError::Forbidden(*permission))
            }
            _ => Ok(()),
        },
        Requirement::Task(task_id, permission) => {
            let store = app.store();
            let Ok((_, task_space)) = store.task(task_id) else {
                return Ok(());
            };
            match store.space_name(task_space) {
                Some(name) if !grant.access_in(name).grants(*permission) => {
                    Err(ApiError::Forbidden(*permission))
                }
                _ => Ok(()),
            }
        }
    }
}

/// An error body for an injected status, a refused request over the concurrency cap or an
/// outage. The texts are the emulator's own (Octopus documents 429 with `Retry-After` for its
/// rate limiting but not the body).
pub(crate) fn status_fault_response(code: u16, retry_after_seconds: Option<u64>) -> Response<Body> {
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

/// Adds the headers a real Octopus Server sends on every response (HTTP trace in
/// <https://github.com/OctopusDeploy/Issues/issues/4486>).
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
