//! The reconciler's HTTP endpoints (on `--listen`): `GET /metrics` (Prometheus text format),
//! `GET /healthz`, `GET /status.json`, `GET /` (the status page, reloading itself) and
//! `POST /webhook` (an authenticated "something changed": starts a cycle at once). Every answer
//! comes from the shared state; none calls the Octopus server.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use octoshare_cli::render::status::{escape_html, html};
use octoshare_core::Client;
use tokio::sync::Notify;

use super::state::ReconcileState;
use super::token::{TOKEN_HEADER, WebhookToken};

/// The largest webhook body read: 256 KiB (an Octopus subscription's payload, one event with
/// its subscription, is a few KiB). A larger one is refused with 413 and starts nothing.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 256 * 1024;

/// What the endpoints share with the loop.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The state the loop writes.
    pub state: Arc<Mutex<ReconcileState>>,
    /// Woken by an accepted webhook; the loop starts a cycle (many wake-ups before the loop
    /// looks make one cycle).
    pub wake: Arc<Notify>,
    /// The webhook secret; `None`: `POST /webhook` answers 404.
    pub token: Option<WebhookToken>,
    /// The client, for its request counts only (never used to send a request here).
    pub client: Client,
    /// How often the status page reloads itself.
    pub refresh: Duration,
}

impl Endpoints {
    fn with_state<T>(&self, read: impl FnOnce(&mut ReconcileState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        read(&mut state)
    }
}

/// The router serving every endpoint.
pub fn router(endpoints: Endpoints) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/status.json", get(status_json))
        .route("/", get(page))
        .route("/webhook", post(webhook))
        // Browsers ask for it; an answer without content keeps their consoles clean.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .with_state(Arc::new(endpoints))
}

async fn metrics(State(endpoints): State<Arc<Endpoints>>) -> Response {
    let requests = endpoints.client.request_counts();
    let text = endpoints.with_state(|state| state.metrics(requests, Instant::now()));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn healthz(State(endpoints): State<Arc<Endpoints>>) -> Response {
    let (healthy, failures) = endpoints.with_state(|state| {
        (
            state.is_healthy(Instant::now()),
            state.consecutive_failures(),
        )
    });
    if healthy {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "unhealthy: no successful cycle in the last 3 intervals ({failures} failed since the last success)\n"
            ),
        )
            .into_response()
    }
}

async fn status_json(State(endpoints): State<Arc<Endpoints>>) -> Response {
    let document = endpoints.with_state(|state| state.document(Instant::now()));
    axum::Json(document).into_response()
}

async fn page(State(endpoints): State<Arc<Endpoints>>) -> Response {
    let status = endpoints.with_state(|state| state.status().cloned());
    let body = match status {
        Some(document) => html(&document, Some(endpoints.refresh)),
        None => waiting_page(endpoints.refresh),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn waiting_page(refresh: Duration) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"{}\">\n<title>octoshare status</title>\n</head>\n<body>\n<p id=\"verdict\">{}</p>\n</body>\n</html>\n",
        refresh.as_secs().max(1),
        escape_html(
            "No matrix yet: the first cycle has not read the spaces. This page reloads itself."
        )
    )
}

async fn webhook(
    State(endpoints): State<Arc<Endpoints>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(token) = &endpoints.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let authorised = headers
        .get(TOKEN_HEADER)
        .is_some_and(|given| token.matches(given.as_bytes()));
    if !authorised {
        endpoints.with_state(|state| state.count_webhook(false));
        return (
            StatusCode::UNAUTHORIZED,
            format!("missing or wrong {TOKEN_HEADER} header\n"),
        )
            .into_response();
    }
    // The body is read (bounded) and dropped: it only says that something changed.
    if axum::body::to_bytes(body, MAX_WEBHOOK_BODY_BYTES)
        .await
        .is_err()
    {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than {} KiB\n",
                MAX_WEBHOOK_BODY_BYTES / 1024
            ),
        )
            .into_response();
    }
    endpoints.with_state(|state| state.count_webhook(true));
    endpoints.wake.notify_one();
    (StatusCode::ACCEPTED, "a cycle starts\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use octoshare_core::{Credentials, Secret, ServerUrl};
    use tower::ServiceExt as _;

    fn endpoints(token: Option<&str>) -> Endpoints {
        let client = Client::builder(
            ServerUrl::parse("http://127.0.0.1:9/").unwrap(),
            Credentials::ApiKey(Secret::new("API-UNUSED".to_owned())),
        )
        .build()
        .unwrap();
        Endpoints {
            state: Arc::new(Mutex::new(ReconcileState::new(Duration::from_secs(60)))),
            wake: Arc::new(Notify::new()),
            token: token.and_then(WebhookToken::new),
            client,
            refresh: Duration::from_secs(60),
        }
    }

    async fn send(endpoints: &Endpoints, request: Request<Body>) -> StatusCode {
        router(endpoints.clone())
            .oneshot(request)
            .await
            .unwrap()
            .status()
    }

    fn post(token: Option<&str>, body: Vec<u8>) -> Request<Body> {
        let mut request = Request::post("/webhook");
        if let Some(token) = token {
            request = request.header(TOKEN_HEADER, token);
        }
        request.body(Body::from(body)).unwrap()
    }

    /// Whether the loop was woken (a stored wake-up completes `notified()` at once).
    async fn woken(wake: &Notify) -> bool {
        tokio::time::timeout(Duration::ZERO, wake.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn only_the_right_token_starts_a_cycle() {
        let endpoints = endpoints(Some("right"));
        assert_eq!(
            send(&endpoints, post(Some("wrong"), b"{}".to_vec())).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            send(&endpoints, post(None, b"{}".to_vec())).await,
            StatusCode::UNAUTHORIZED
        );
        assert!(
            !woken(&endpoints.wake).await,
            "a refused webhook starts nothing"
        );
        assert_eq!(
            send(
                &endpoints,
                post(Some("right"), vec![b' '; MAX_WEBHOOK_BODY_BYTES + 1])
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert!(
            !woken(&endpoints.wake).await,
            "an oversized body starts nothing"
        );
        for _ in 0..5 {
            assert_eq!(
                send(&endpoints, post(Some("right"), b"{}".to_vec())).await,
                StatusCode::ACCEPTED
            );
        }
        assert!(woken(&endpoints.wake).await);
        assert!(!woken(&endpoints.wake).await, "a burst makes one wake-up");
        let metrics = endpoints.with_state(|state| {
            state.metrics(octoshare_core::RequestCounts::default(), Instant::now())
        });
        assert!(metrics.contains("octoshare_webhook_requests_total{result=\"accepted\"} 5"));
        assert!(metrics.contains("octoshare_webhook_requests_total{result=\"rejected\"} 2"));
    }

    #[tokio::test]
    async fn without_a_secret_the_webhook_is_not_there() {
        let endpoints = endpoints(None);
        assert_eq!(
            send(&endpoints, post(Some("anything"), Vec::new())).await,
            StatusCode::NOT_FOUND
        );
        assert!(!woken(&endpoints.wake).await);
    }

    #[tokio::test]
    async fn health_is_503_before_the_first_success() {
        let endpoints = endpoints(None);
        let response = router(endpoints.clone())
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let page = router(endpoints)
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
    }
}
