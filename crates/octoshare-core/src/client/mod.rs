//! The Octopus API `Client`: one value that owns the HTTP connection pool, the credentials and
//! the policies, and the typed calls every step makes.
//!
//! Each concern has its own module: [`builder`] (settings, TLS roots, the authentication
//! header), [`origin`] (credentials only ever go to the configured server), [`links`] (the only
//! place URLs are built), [`send`] (the request/retry loop), [`congestion`] (how many requests
//! are in flight, adapted to the server's answers, and its `Retry-After`), [`status`] (HTTP status to
//! [`ApiError`]), [`transport`] (failures below HTTP), [`redact`] (secrets out of messages), [`tls`] (trusted roots and certificate checks),
//! [`body`] (bounded reading and decoding) and [`paging`] (`Page.Next`).

mod body;
mod builder;
mod congestion;
mod links;
mod origin;
mod paging;
mod redact;
mod send;
mod status;
mod tls;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::credentials::Credentials;
use crate::error::{ApiError, redact_query_secrets};
use crate::resources::{
    AccountsHandler, ActionTemplatesHandler, MachinePoliciesHandler, ProxiesHandler, RootDocument,
    SpaceId, SpacesHandler, TasksHandler, WorkerPoolsHandler, WorkerTaskLeasesHandler,
    WorkersHandler,
};
use crate::retry::RetryPolicy;
use crate::server_url::ServerUrl;

pub use builder::{ClientBuilder, MAX_RESPONSE_BYTES, WRITE_GRACE_PERIOD};
pub use congestion::{ConcurrencyState, PROBE_INTERVAL_FACTOR};
pub(crate) use links::{api_path, first_page_path};

use body::{looks_like_html, starts_like_json};
use congestion::Limiter;
use links::display_path;
use redact::{EXCERPT_CHARS, truncate_chars};

/// The page size used for paged listings (Octopus's own default).
pub(crate) const PAGE_SIZE: u32 = 30;

/// Requests made by a [`Client`], counted per HTTP attempt (retries included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RequestCounts {
    /// GET attempts.
    pub get: u64,
    /// POST attempts.
    pub post: u64,
    /// PUT attempts.
    pub put: u64,
    /// DELETE attempts.
    pub delete: u64,
    /// Attempts that were retries of an earlier failed attempt.
    pub retries: u64,
}

impl RequestCounts {
    /// All attempts of any method.
    pub fn total(&self) -> u64 {
        self.get + self.post + self.put + self.delete
    }

    /// POST + PUT + DELETE attempts.
    pub fn writes(&self) -> u64 {
        self.post + self.put + self.delete
    }
}

#[derive(Debug, Default)]
struct Counters {
    get: AtomicU64,
    post: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
    retries: AtomicU64,
}

impl Counters {
    fn count(&self, method: &Method) {
        let counter = match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PUT => &self.put,
            Method::DELETE => &self.delete,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            get: self.get.load(Ordering::Relaxed),
            post: self.post.load(Ordering::Relaxed),
            put: self.put.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    http: reqwest::Client,
    server: ServerUrl,
    credentials: Credentials,
    auth_header: Option<(HeaderName, HeaderValue)>,
    retry_policy: RetryPolicy,
    read_only: bool,
    max_pages: usize,
    max_response_bytes: u64,
    cancellation: CancellationToken,
    write_grace_period: Duration,
    /// Wall-clock time and the waits before retries.
    clock: Arc<dyn crate::clock::Clock>,
    counters: Counters,
    /// How many requests are in flight at once, and the server's `Retry-After` for everyone.
    limiter: Limiter,
    /// The server answered in the Octopus API's language (a JSON body, or an error as
    /// Octopus's `{"ErrorMessage", "Errors"}` envelope): no need to ask whether it is Octopus.
    spoke_octopus_api: AtomicBool,
    /// The verdict of the one `GET /api` made to explain an unexpected first response:
    /// `Some(reason)` when the server is not Octopus Deploy 3.0.x.
    not_octopus: OnceCell<Option<String>>,
}

/// The Octopus API client. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.inner.server)
            .field("credentials", &self.inner.credentials)
            .field("retry_policy", &self.inner.retry_policy)
            .field("read_only", &self.inner.read_only)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client for `server` authenticating with `credentials`.
    pub fn builder(server: ServerUrl, credentials: Credentials) -> ClientBuilder {
        ClientBuilder::new(server, credentials)
    }

    /// The server this client talks to.
    pub fn server(&self) -> &ServerUrl {
        &self.inner.server
    }

    /// Whether writes are refused (dry run).
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry_policy
    }

    /// `GET /api`, checking that the server is Octopus Deploy with API version 3.0.x.
    ///
    /// An HTML page, a non-JSON body, a 404, JSON without `Application`/`ApiVersion` or another
    /// API version gives [`ApiError::NotOctopus`].
    pub async fn root(&self) -> Result<RootDocument, ApiError> {
        let url = self.resolve(&Method::GET, "/api")?;
        let shown = format!("GET {}", display_path(&url));
        let not_octopus = |reason: String| ApiError::NotOctopus {
            server: self.inner.server.to_string(),
            reason,
        };
        let body = match self.execute(Method::GET, url.clone(), None).await {
            Ok(body) => body,
            Err(ApiError::NotFound { .. }) => {
                return Err(not_octopus(format!(
                    "{shown} returned 404: check the server URL, including any virtual directory (e.g. https://host/octopus)"
                )));
            }
            Err(err) => return Err(err),
        };
        if looks_like_html(&body.bytes) {
            return Err(not_octopus(format!(
                "{shown} returned an HTML page: check the server URL (a proxy or login page may be answering)"
            )));
        }
        let document: Value = serde_json::from_slice(&body.bytes).map_err(|_| {
            not_octopus(format!(
                "{shown} did not return JSON (it starts with '{}')",
                self.excerpt(&body.bytes, 40)
            ))
        })?;
        let application = document.get("Application").and_then(Value::as_str);
        let api_version = document.get("ApiVersion").and_then(Value::as_str);
        let (Some(_), Some(api_version)) = (application, api_version) else {
            return Err(not_octopus(format!(
                "{shown} returned JSON without 'Application' and 'ApiVersion'"
            )));
        };
        if !(api_version == "3.0" || api_version.starts_with("3.0.")) {
            return Err(not_octopus(format!(
                "{shown} reports API version '{}', octoshare supports 3.0.x",
                self.scrub(api_version)
            )));
        }
        serde_path_to_error::deserialize(document).map_err(|err| ApiError::Decode {
            method: "GET".to_owned(),
            path: display_path(&url),
            json_path: err.path().to_string(),
            reason: truncate_chars(&self.scrub(&err.inner().to_string()), EXCERPT_CHARS),
        })
    }

    /// Spaces.
    pub fn spaces(&self) -> SpacesHandler<'_> {
        SpacesHandler::new(self)
    }

    /// Worker pools of a space.
    pub fn worker_pools(&self, space: &SpaceId) -> WorkerPoolsHandler<'_> {
        WorkerPoolsHandler::new(self, space.clone())
    }

    /// Workers of a space.
    pub fn workers(&self, space: &SpaceId) -> WorkersHandler<'_> {
        WorkersHandler::new(self, space.clone())
    }

    /// Machine policies of a space.
    pub fn machine_policies(&self, space: &SpaceId) -> MachinePoliciesHandler<'_> {
        MachinePoliciesHandler::new(self, space.clone())
    }

    /// Proxies of a space.
    pub fn proxies(&self, space: &SpaceId) -> ProxiesHandler<'_> {
        ProxiesHandler::new(self, space.clone())
    }

    /// Accounts of a space.
    pub fn accounts(&self, space: &SpaceId) -> AccountsHandler<'_> {
        AccountsHandler::new(self, space.clone())
    }

    /// Worker task leases of a space.
    pub fn worker_task_leases(&self, space: &SpaceId) -> WorkerTaskLeasesHandler<'_> {
        WorkerTaskLeasesHandler::new(self, space.clone())
    }

    /// Server tasks.
    pub fn tasks(&self) -> TasksHandler<'_> {
        TasksHandler::new(self)
    }

    /// Action (step) templates of a space.
    pub fn action_templates(&self, space: &SpaceId) -> ActionTemplatesHandler<'_> {
        ActionTemplatesHandler::new(self, space.clone())
    }

    /// Requests made so far, per HTTP attempt.
    pub fn request_counts(&self) -> RequestCounts {
        self.inner.counters.snapshot()
    }

    /// How many requests the client sends at once now, and how that limit has adapted (see
    /// [`ClientBuilder::concurrency`]).
    pub fn concurrency(&self) -> ConcurrencyState {
        self.inner.limiter.state()
    }

    /// `GET` a path relative to the server base (e.g. `/api/spaces/all`) or an Octopus link
    /// (with or without the virtual directory) and decode the JSON body.
    pub async fn get_json<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, ApiError> {
        let url = self.resolve(&Method::GET, path_and_query)?;
        self.request_json(Method::GET, url, None).await
    }

    /// `POST` a JSON body and decode the JSON response. Retried only when the request
    /// certainly was not processed.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.write_json(Method::POST, path_and_query, body).await
    }

    /// `PUT` a JSON body and decode the JSON response. Retried only when the request
    /// certainly was not processed.
    pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.write_json(Method::PUT, path_and_query, body).await
    }

    /// `DELETE` a resource; any response body is ignored.
    pub async fn delete(&self, path_and_query: &str) -> Result<(), ApiError> {
        self.refuse_if_read_only(&Method::DELETE, path_and_query)?;
        let url = self.resolve(&Method::DELETE, path_and_query)?;
        match self.execute(Method::DELETE, url, None).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.explain_unexpected(err).await),
        }
    }

    async fn write_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.refuse_if_read_only(&method, path_and_query)?;
        let url = self.resolve(&method, path_and_query)?;
        let bytes = serde_json::to_vec(body).map_err(|err| ApiError::Decode {
            method: method.to_string(),
            path: display_path(&url),
            json_path: ".".to_owned(),
            reason: format!("cannot encode the request body: {err}"),
        })?;
        self.request_json(method, url, Some(bytes)).await
    }

    fn refuse_if_read_only(&self, method: &Method, path_and_query: &str) -> Result<(), ApiError> {
        if self.inner.read_only && !matches!(*method, Method::GET | Method::HEAD) {
            return Err(ApiError::ReadOnly {
                method: method.to_string(),
                path: redact_query_secrets(path_and_query),
            });
        }
        Ok(())
    }

    async fn request_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<T, ApiError> {
        let result = match self.execute(method.clone(), url.clone(), body).await {
            Ok(response) => {
                if starts_like_json(&response.bytes) {
                    self.inner.spoke_octopus_api.store(true, Ordering::Relaxed);
                }
                self.decode(&method, &url, &response.bytes)
            }
            Err(err) => Err(err),
        };
        match result {
            Ok(value) => Ok(value),
            Err(err) => Err(self.explain_unexpected(err).await),
        }
    }

    /// Turns an answer that is not the Octopus API's (a body that is not JSON, a 404 or an
    /// unexpected status without Octopus's error envelope) into [`ApiError::NotOctopus`] when
    /// the server is not Octopus Deploy 3.0.x.
    ///
    /// The steps never request `/api` up front (it would cost every run a request), so a wrong
    /// URL first shows as an odd answer to a resource request. Until the server has answered
    /// in the API's language (any JSON body, or an error in Octopus's envelope), such an answer
    /// makes the client ask `GET /api` once (shared by every request of this client) and, if
    /// [`Client::root`] says `NotOctopus`, report that instead: "https://host is not an Octopus
    /// Deploy server: GET /api returned an HTML page". Otherwise the original error stands.
    async fn explain_unexpected(&self, err: ApiError) -> ApiError {
        let unexpected = matches!(
            err,
            ApiError::Decode { .. } | ApiError::NotFound { .. } | ApiError::UnexpectedStatus { .. }
        );
        if !unexpected || self.inner.spoke_octopus_api.load(Ordering::Relaxed) {
            return err;
        }
        let verdict = self
            .inner
            .not_octopus
            .get_or_init(|| async {
                match self.root().await {
                    Err(ApiError::NotOctopus { reason, .. }) => Some(reason),
                    Ok(_) | Err(_) => None,
                }
            })
            .await;
        match verdict {
            Some(reason) => ApiError::NotOctopus {
                server: self.inner.server.to_string(),
                reason: reason.clone(),
            },
            None => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone>() {}
        assert_traits::<Client>();
    }
}
