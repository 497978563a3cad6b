//! The Octopus API `Client`: building, authentication, link resolution (the only place URLs
//! are built), retries, error mapping and paging.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
};
use reqwest::{Method, redirect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::credentials::Credentials;
use crate::error::{ApiError, TransportKind, TransportSource, redact_query_secrets};
use crate::page::Page;
use crate::resources::{
    ActionTemplatesHandler, MachinePoliciesHandler, RootDocument, SpaceId, SpacesHandler,
    WorkerPoolsHandler, WorkersHandler,
};
use crate::retry::{
    RetryPolicy, parse_retry_after, status_is_retryable, transport_error_is_retryable,
};
use crate::server_url::ServerUrl;

/// Redirects followed per request before giving up (a redirect loop).
const MAX_REDIRECTS: usize = 5;
/// More pages than this while following `Page.Next` is treated as a paging loop (default).
const DEFAULT_MAX_PAGES: usize = 10_000;
/// Error bodies are read up to this many bytes.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Server-provided text quoted in an error message is cut to this many characters.
const EXCERPT_CHARS: usize = 240;
/// The page size used for paged listings (Octopus's own default).
pub(crate) const PAGE_SIZE: u32 = 30;
/// Secrets shorter than this are not searched for in server text (it would mangle messages).
const MIN_SCRUBBED_SECRET_LEN: usize = 6;

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

/// Builder for [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    server: ServerUrl,
    credentials: Credentials,
    request_timeout: Duration,
    retry_policy: RetryPolicy,
    ca_certificate_pem: Option<Vec<u8>>,
    read_only: bool,
    user_agent: String,
    max_pages: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("server", &self.server)
            .field("credentials", &self.credentials)
            .field("request_timeout", &self.request_timeout)
            .field("retry_policy", &self.retry_policy)
            .field("has_ca_certificate", &self.ca_certificate_pem.is_some())
            .field("read_only", &self.read_only)
            .field("user_agent", &self.user_agent)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}

impl ClientBuilder {
    /// Timeout of each HTTP request (connect, send and read the whole body); default 30 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Retry policy; default [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// An extra trusted root certificate (PEM, one or more certificates) for servers with a
    /// private CA. TLS is always verified.
    pub fn ca_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_certificate_pem = Some(pem);
        self
    }

    /// Makes every POST/PUT/DELETE fail with [`ApiError::ReadOnly`] before anything is sent
    /// (the dry-run guarantee).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The `User-Agent` header; default `octoshare/<version>`.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        user_agent.clone_into(&mut self.user_agent);
        self
    }

    /// The most pages `all_pages` reads before deciding the server is looping
    /// ([`ApiError::PagingLoop`]); default 10 000.
    pub fn max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`ApiError::InvalidCaCertificate`] for an unusable PEM and
    /// [`ApiError::InvalidCredentials`] for a secret that cannot be sent in a header.
    pub fn build(self) -> Result<Client, ApiError> {
        let auth_header = auth_header(&self.credentials)?;
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| ApiError::ClientSetup {
                reason: "the user agent contains characters that are not allowed in a header"
                    .to_owned(),
            })?;
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let mut http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout)
            .redirect(redirect_policy(&self.server))
            .user_agent(user_agent)
            .default_headers(default_headers);
        let has_ca_certificate = self.ca_certificate_pem.is_some();
        if let Some(pem) = &self.ca_certificate_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|err| {
                ApiError::InvalidCaCertificate {
                    reason: describe_error_chain(&err),
                }
            })?;
            if certificates.is_empty() {
                return Err(ApiError::InvalidCaCertificate {
                    reason: "no certificate found in the PEM data".to_owned(),
                });
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http.build().map_err(|err| {
            let reason = describe_error_chain(&err);
            if has_ca_certificate {
                ApiError::InvalidCaCertificate { reason }
            } else {
                ApiError::ClientSetup { reason }
            }
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                server: self.server,
                credentials: self.credentials,
                auth_header,
                retry_policy: self.retry_policy,
                read_only: self.read_only,
                max_pages: self.max_pages,
                counters: Counters::default(),
                spoke_octopus_api: AtomicBool::new(false),
                not_octopus: OnceCell::new(),
            }),
        })
    }
}

fn auth_header(credentials: &Credentials) -> Result<Option<(HeaderName, HeaderValue)>, ApiError> {
    let secret = credentials.secret().expose().trim();
    if secret.is_empty() {
        return Ok(None);
    }
    let (name, value) = match credentials {
        Credentials::ApiKey(_) => (
            HeaderName::from_static("x-octopus-apikey"),
            secret.to_owned(),
        ),
        Credentials::AccessToken(_) => (AUTHORIZATION, format!("Bearer {secret}")),
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| ApiError::InvalidCredentials {
        what: credentials.kind_name().to_owned(),
        reason: format!(
            "it contains characters that cannot be sent in an HTTP header: check {}",
            credentials.env_var_name()
        ),
    })?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

/// Why the client refused to follow a redirect.
#[derive(Debug)]
enum RedirectRefused {
    TooMany,
    OtherHost(String),
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMany => write!(
                f,
                "more than {MAX_REDIRECTS} redirects, probably a redirect loop: check the server URL and any proxy in front of Octopus"
            ),
            Self::OtherHost(host) => write!(
                f,
                "the server redirected to another host ({host}); credentials are never sent there: use that address as the server URL if it is the Octopus Server"
            ),
        }
    }
}

impl std::error::Error for RedirectRefused {}

/// Follows at most [`MAX_REDIRECTS`] redirects and only on the server's own host: custom
/// headers such as `X-Octopus-ApiKey` are not stripped by reqwest on cross-host redirects.
fn redirect_policy(server: &ServerUrl) -> redirect::Policy {
    let (host, port) = match Url::parse(server.origin()) {
        Ok(origin) => (
            origin.host_str().unwrap_or_default().to_owned(),
            origin.port_or_known_default(),
        ),
        Err(_) => (String::new(), None),
    };
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused::TooMany);
        }
        let next = attempt.url();
        let same_host = next
            .host_str()
            .is_some_and(|next_host| next_host.eq_ignore_ascii_case(&host));
        let same_port = next.port_or_known_default() == port || next.scheme() == "https";
        if same_host && same_port {
            attempt.follow()
        } else {
            let other = next.host_str().unwrap_or("unknown host").to_owned();
            attempt.error(RedirectRefused::OtherHost(other))
        }
    })
}

struct Inner {
    http: reqwest::Client,
    server: ServerUrl,
    credentials: Credentials,
    auth_header: Option<(HeaderName, HeaderValue)>,
    retry_policy: RetryPolicy,
    read_only: bool,
    max_pages: usize,
    counters: Counters,
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

/// A successful response body.
struct Body {
    bytes: Vec<u8>,
}

impl Client {
    /// Starts building a client for `server` authenticating with `credentials`.
    pub fn builder(server: ServerUrl, credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            server,
            credentials,
            request_timeout: Duration::from_secs(30),
            retry_policy: RetryPolicy::default(),
            ca_certificate_pem: None,
            read_only: false,
            user_agent: format!("octoshare/{}", env!("CARGO_PKG_VERSION")),
            max_pages: DEFAULT_MAX_PAGES,
        }
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

    /// Action (step) templates of a space.
    pub fn action_templates(&self, space: &SpaceId) -> ActionTemplatesHandler<'_> {
        ActionTemplatesHandler::new(self, space.clone())
    }

    /// Requests made so far, per HTTP attempt.
    pub fn request_counts(&self) -> RequestCounts {
        self.inner.counters.snapshot()
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

    /// Reads every page of a paged collection, following `Links["Page.Next"]`.
    ///
    /// A next link that was already visited, a `skip` that does not advance, an empty page
    /// that still has a next link, or more pages than [`ClientBuilder::max_pages`] (10 000)
    /// fail with [`ApiError::PagingLoop`].
    pub async fn all_pages<T: DeserializeOwned>(
        &self,
        first_page: &str,
    ) -> Result<Vec<T>, ApiError> {
        let first_url = self.resolve(&Method::GET, first_page)?;
        let paging_loop = || ApiError::PagingLoop {
            path: display_path(&first_url),
        };
        let mut visited: HashSet<String> = HashSet::new();
        let mut items = Vec::new();
        let mut next_url = Some(first_url.clone());
        while let Some(url) = next_url.take() {
            if visited.len() >= self.inner.max_pages || !visited.insert(url.as_str().to_owned()) {
                return Err(paging_loop());
            }
            let page: Page<T> = self.request_json(Method::GET, url.clone(), None).await?;
            let page_was_empty = page.items.is_empty();
            let next_link = page.next_link().map(str::to_owned);
            items.extend(page.items);
            if let Some(link) = next_link {
                let next = self.resolve(&Method::GET, &link)?;
                let skip_went_back = match (skip_of(&url), skip_of(&next)) {
                    (Some(current), Some(following)) => following <= current,
                    _ => false,
                };
                if page_was_empty || skip_went_back {
                    return Err(paging_loop());
                }
                next_url = Some(next);
            }
        }
        Ok(items)
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

    fn decode<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &Url,
        bytes: &[u8],
    ) -> Result<T, ApiError> {
        let decode_error = |json_path: String, reason: String| ApiError::Decode {
            method: method.to_string(),
            path: display_path(url),
            json_path,
            reason,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(decode_error(
                ".".to_owned(),
                "the response body is empty, JSON was expected".to_owned(),
            ));
        }
        if looks_like_html(bytes) {
            return Err(decode_error(
                ".".to_owned(),
                "the server returned an HTML page instead of JSON: check the server URL (a proxy or login page may be answering)".to_owned(),
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let path = err.path().to_string();
            let reason = err.into_inner().to_string();
            decode_error(path, truncate_chars(&self.scrub(&reason), EXCERPT_CHARS))
        })?;
        deserializer.end().map_err(|err| {
            decode_error(
                ".".to_owned(),
                self.scrub(&format!("unexpected data after the JSON document: {err}")),
            )
        })?;
        Ok(value)
    }

    /// Sends a request with retries and maps any failure to an [`ApiError`].
    async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Body, ApiError> {
        if self.inner.read_only && !matches!(method, Method::GET | Method::HEAD) {
            return Err(ApiError::ReadOnly {
                method: method.to_string(),
                path: display_path(&url),
            });
        }
        let policy = self.inner.retry_policy;
        let max_attempts = policy.max_attempts();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.inner.counters.count(&method);
            let mut request = self.inner.http.request(method.clone(), url.clone());
            if let Some((name, value)) = &self.inner.auth_header {
                request = request.header(name, value.clone());
            }
            if let Some(bytes) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.clone());
            }
            let failure = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(bytes) => {
                            tracing::debug!(%method, path = %display_path(&url), status, attempt, "octopus api request");
                            return Ok(Body {
                                bytes: bytes.to_vec(),
                            });
                        }
                        Err(err) => Failure::Transport(err),
                    }
                }
                Ok(response) => Failure::Status(response),
                Err(err) => Failure::Transport(err),
            };
            match failure {
                Failure::Transport(err) => {
                    let kind = transport_kind(&err);
                    // A redirect loop or a refused redirect will not go away by asking again.
                    let deterministic = err.is_redirect() || err.is_builder();
                    if attempt < max_attempts
                        && !deterministic
                        && transport_error_is_retryable(&method, kind)
                    {
                        let delay = policy.delay_before_retry(attempt, None);
                        self.before_retry(
                            &method,
                            &url,
                            &self.scrub(&transport_summary(&err, kind)),
                            attempt,
                            delay,
                        )
                        .await;
                        continue;
                    }
                    return Err(ApiError::Transport {
                        method: method.to_string(),
                        url: self.scrub(url.as_str()),
                        kind,
                        attempts: attempt,
                        source: TransportSource::new(
                            self.scrub(&transport_summary(&err, kind)),
                            self.scrub(&describe_error_chain(&err)),
                        ),
                    });
                }
                Failure::Status(response) => {
                    let status = response.status().as_u16();
                    if attempt < max_attempts && status_is_retryable(&method, status) {
                        let retry_after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|value| value.to_str().ok())
                            .and_then(|value| parse_retry_after(value, SystemTime::now()));
                        drop(response);
                        let delay = policy.delay_before_retry(attempt, retry_after);
                        self.before_retry(
                            &method,
                            &url,
                            &format!("the server answered {status}"),
                            attempt,
                            delay,
                        )
                        .await;
                        continue;
                    }
                    let is_html_content = response
                        .headers()
                        .get(CONTENT_TYPE)
                        .and_then(|value| value.to_str().ok())
                        .is_some_and(|value| value.to_ascii_lowercase().contains("text/html"));
                    let bytes = read_limited(response, ERROR_BODY_LIMIT).await;
                    if is_octopus_error_envelope(&bytes) {
                        self.inner.spoke_octopus_api.store(true, Ordering::Relaxed);
                    }
                    tracing::debug!(%method, path = %display_path(&url), status, attempt, "octopus api request failed");
                    return Err(self.status_error(
                        &method,
                        &url,
                        status,
                        attempt,
                        &bytes,
                        is_html_content,
                    ));
                }
            }
        }
    }

    async fn before_retry(
        &self,
        method: &Method,
        url: &Url,
        what: &str,
        attempt: u32,
        delay: Duration,
    ) {
        self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            "{method} {}: {what} (attempt {attempt} of {}), retrying in {:.1}s",
            display_path(url),
            self.inner.retry_policy.max_attempts(),
            delay.as_secs_f64()
        );
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    fn status_error(
        &self,
        method: &Method,
        url: &Url,
        status: u16,
        attempts: u32,
        body: &[u8],
        is_html_content: bool,
    ) -> ApiError {
        let detail = self.error_detail(body, is_html_content);
        let method_name = method.to_string();
        let path = display_path(url);
        match status {
            401 => {
                let credentials = &self.inner.credentials;
                let kind = credentials.kind_name();
                let env = credentials.env_var_name();
                let mut message = if credentials.secret().is_empty() {
                    format!("no {kind} given for {} (401): set {env}", self.inner.server)
                } else {
                    format!(
                        "{kind} rejected by {} (401): check {env}",
                        self.inner.server
                    )
                };
                if !detail.message.is_empty() {
                    message.push_str("; the server said: ");
                    message.push_str(&detail.message);
                }
                ApiError::Unauthorized {
                    server: self.inner.server.to_string(),
                    message,
                }
            }
            403 => ApiError::Forbidden {
                method: method_name,
                path,
                message: non_empty_or(detail.message, "permission denied"),
            },
            404 => ApiError::NotFound {
                what: format!("{method_name} {path}"),
                message: non_empty_or(
                    detail.message,
                    "the server has no such resource: check the server URL (including any virtual directory) and the ids",
                ),
            },
            400 | 409 => ApiError::Validation {
                method: method_name,
                path,
                status,
                message: detail.message,
                errors: detail.errors,
            },
            429 => ApiError::RateLimited {
                method: method_name,
                path,
                attempts,
            },
            418 | 500..=599 => ApiError::Server {
                method: method_name,
                path,
                status,
                message: detail.message,
                attempts,
            },
            _ => ApiError::UnexpectedStatus {
                method: method_name,
                path,
                status,
            },
        }
    }

    /// Extracts `ErrorMessage`/`Errors` from an error body, or a short safe excerpt of it.
    fn error_detail(&self, body: &[u8], is_html_content: bool) -> ErrorDetail {
        if is_html_content || looks_like_html(body) {
            return ErrorDetail {
                message: "the server returned an HTML page (a proxy, load balancer or login page may be in front of Octopus)".to_owned(),
                errors: Vec::new(),
            };
        }
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
            let message = match object.get("ErrorMessage") {
                Some(Value::String(text)) => self.excerpt(text.as_bytes(), EXCERPT_CHARS),
                _ => String::new(),
            };
            let errors = match object.get("Errors") {
                Some(Value::Array(errors)) => errors
                    .iter()
                    .filter_map(|error| match error {
                        Value::String(text) => Some(self.excerpt(text.as_bytes(), EXCERPT_CHARS)),
                        Value::Null => None,
                        other => Some(self.excerpt(other.to_string().as_bytes(), EXCERPT_CHARS)),
                    })
                    .filter(|text| !text.is_empty())
                    .take(20)
                    .collect(),
                _ => Vec::new(),
            };
            return ErrorDetail { message, errors };
        }
        ErrorDetail {
            message: self.excerpt(body, EXCERPT_CHARS),
            errors: Vec::new(),
        }
    }

    /// A one-line, length-limited, scrubbed excerpt of server-provided text.
    fn excerpt(&self, bytes: &[u8], max_chars: usize) -> String {
        let text = String::from_utf8_lossy(bytes);
        let one_line: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        // Scrub before cutting, so that a secret cut in half cannot survive as a prefix.
        truncate_chars(&self.scrub(&one_line), max_chars)
    }

    /// Removes the secret and any secret query values from text that is about to go into an error.
    fn scrub(&self, text: &str) -> String {
        let mut text = redact_query_secrets(text);
        let secret = self.inner.credentials.secret().expose().trim();
        if secret.len() >= MIN_SCRUBBED_SECRET_LEN && text.contains(secret) {
            text = text.replace(secret, "[redacted]");
        }
        text
    }

    /// Resolves a path or Octopus link against the server base URL.
    ///
    /// Octopus links are paths such as `/api/spaces?skip=30&take=30`. With a virtual directory
    /// the server may or may not include it: a link that already starts with the base path is
    /// used as is, otherwise the base path is prefixed. Unexpanded URI-template parts (`{?skip,take}`)
    /// are dropped. Absolute links to another host are refused.
    pub(crate) fn resolve(&self, method: &Method, link: &str) -> Result<Url, ApiError> {
        let server = &self.inner.server;
        let link = strip_uri_template(link.trim());
        let invalid_link = |reason: String| ApiError::Decode {
            method: method.to_string(),
            path: self.scrub(&link),
            json_path: ".".to_owned(),
            reason,
        };
        let scheme_relative = link.starts_with("//");
        let has_scheme = link
            .find("://")
            .is_some_and(|at| !link[..at].contains(['/', '?', '#']));
        if has_scheme || scheme_relative {
            let absolute = if scheme_relative {
                let scheme = server.origin().split("://").next().unwrap_or("https");
                format!("{scheme}:{link}")
            } else {
                link.clone()
            };
            let url = Url::parse(&absolute)
                .map_err(|err| invalid_link(format!("not a valid link: {err}")))?;
            if url.origin().ascii_serialization() != server.origin() {
                return Err(invalid_link(format!(
                    "the link points to another host ({}); octoshare only follows links on {server}",
                    url.host_str().unwrap_or("unknown host")
                )));
            }
            return Ok(url);
        }
        let path = link.strip_prefix('~').unwrap_or(&link);
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let full_path = if starts_with_base_path(&path, server.base_path()) {
            path
        } else {
            format!("{}{path}", server.base_path())
        };
        Url::parse(&format!("{}{full_path}", server.origin()))
            .map_err(|err| invalid_link(format!("not a valid link: {err}")))
    }
}

enum Failure {
    Transport(reqwest::Error),
    Status(reqwest::Response),
}

struct ErrorDetail {
    message: String,
    errors: Vec<String>,
}

fn non_empty_or(text: String, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_owned()
    } else {
        text
    }
}

fn transport_kind(err: &reqwest::Error) -> TransportKind {
    if err.is_connect() {
        TransportKind::Connect
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    }
}

/// What went wrong below HTTP and the fix, for the error's own message.
fn transport_summary(err: &reqwest::Error, kind: TransportKind) -> String {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = current {
        if let Some(refused) = cause.downcast_ref::<RedirectRefused>() {
            return refused.to_string();
        }
        current = cause.source();
    }
    let chain = describe_error_chain(err).to_ascii_lowercase();
    match kind {
        TransportKind::Connect if chain.contains("certificate") => {
            "the server's TLS certificate is not trusted: pass the CA certificate that signed it (--ca-cert / OCTOPUS_CA_CERT)".to_owned()
        }
        TransportKind::Connect | TransportKind::Timeout => kind.to_string(),
        TransportKind::Other if err.is_body() || err.is_decode() => {
            "the connection was closed before the whole response arrived".to_owned()
        }
        TransportKind::Other => {
            "the connection failed or was closed before a response arrived".to_owned()
        }
    }
}

/// The error and its causes on one line, without URLs (reqwest's URL is dropped; others are
/// redacted by the caller). A refused redirect is left out: the summary already says it.
fn describe_error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let top = strip_reqwest_url(&err.to_string());
    parts.push(top);
    while let Some(cause) = current {
        let text = cause.to_string();
        if !cause.is::<RedirectRefused>() && !parts.iter().any(|part| part == &text) {
            parts.push(text);
        }
        current = cause.source();
    }
    parts.join(": ")
}

/// reqwest formats errors as `error sending request for url (https://...)`; drop the URL part.
fn strip_reqwest_url(text: &str) -> String {
    match text.find(" for url (") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(limit);
    bytes
}

/// Whether a body starts like a JSON object or array (what every Octopus API resource is).
fn starts_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.iter().find(|byte| !byte.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Whether an error body is Octopus's `{"ErrorMessage": ..., "Errors": [...]}` envelope.
fn is_octopus_error_envelope(bytes: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<Value>(bytes),
        Ok(Value::Object(object)) if object.contains_key("ErrorMessage")
    )
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let head: Vec<u8> = bytes[start..]
        .iter()
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype")
        || head.starts_with(b"<html")
        || head.starts_with(b"<head")
        || head.starts_with(b"<body")
        || (head.first() == Some(&b'<') && !head.starts_with(b"<?xml"))
}

fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Path and query of a URL for messages, with secret query values redacted.
fn display_path(url: &Url) -> String {
    let mut shown = url.path().to_owned();
    if let Some(query) = url.query() {
        shown.push('?');
        shown.push_str(query);
    }
    redact_query_secrets(&shown)
}

fn starts_with_base_path(path: &str, base_path: &str) -> bool {
    if base_path.is_empty() {
        return true;
    }
    let Some(prefix) = path.get(..base_path.len()) else {
        return false;
    };
    prefix.eq_ignore_ascii_case(base_path)
        && matches!(
            path.as_bytes().get(base_path.len()),
            None | Some(b'/' | b'?')
        )
}

/// Drops RFC 6570 template expressions (`{/id}`, `{?skip,take}`) from an Octopus link.
fn strip_uri_template(link: &str) -> String {
    let mut out = String::with_capacity(link.len());
    let mut depth = 0usize;
    for c in link.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn skip_of(url: &Url) -> Option<u64> {
    url.query_pairs()
        .find(|(name, _)| name.eq_ignore_ascii_case("skip"))
        .and_then(|(_, value)| value.parse().ok())
}

/// Builds an API path from raw segments, percent-encoding each one:
/// `api_path(&["Spaces-1", "workers", "all"])` is `/api/Spaces-1/workers/all`.
pub(crate) fn api_path(segments: &[&str]) -> String {
    let mut path = String::from("/api");
    for segment in segments {
        path.push('/');
        for byte in segment.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                path.push(char::from(byte));
            } else {
                path.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    path
}

/// `api_path` plus `?skip=0&take=<PAGE_SIZE>` for the first page of a paged listing.
pub(crate) fn first_page_path(segments: &[&str]) -> String {
    format!("{}?skip=0&take={PAGE_SIZE}", api_path(segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(server: &str) -> Client {
        Client::builder(
            ServerUrl::parse(server).unwrap(),
            Credentials::api_key("API-CANARY0000000000000"),
        )
        .build()
        .unwrap()
    }

    #[track_caller]
    fn check_resolve(server: &str, link: &str, expected: &str) {
        let url = client(server).resolve(&Method::GET, link).unwrap();
        assert_eq!(url.as_str(), expected, "server {server}, link {link}");
    }

    #[test]
    fn links_resolve_with_and_without_virtual_directory() {
        check_resolve(
            "https://h",
            "/api/spaces?skip=30&take=30",
            "https://h/api/spaces?skip=30&take=30",
        );
        check_resolve(
            "https://h/octopus/",
            "/api/spaces?skip=30&take=30",
            "https://h/octopus/api/spaces?skip=30&take=30",
        );
        check_resolve(
            "https://h/octopus",
            "/octopus/api/spaces?skip=30",
            "https://h/octopus/api/spaces?skip=30",
        );
        check_resolve(
            "https://h/octopus",
            "/Octopus/api/spaces",
            "https://h/Octopus/api/spaces",
        );
        check_resolve(
            "https://h/octopus",
            "/octopusx/api",
            "https://h/octopus/octopusx/api",
        );
        check_resolve(
            "https://h/octopus",
            "api/spaces/all",
            "https://h/octopus/api/spaces/all",
        );
        check_resolve(
            "https://h/octopus",
            "~/api/spaces",
            "https://h/octopus/api/spaces",
        );
        check_resolve(
            "https://h",
            "/api/Spaces-1/workers{/id}{?skip,take}",
            "https://h/api/Spaces-1/workers",
        );
        check_resolve("https://h/o", "https://h/o/api/x", "https://h/o/api/x");
        check_resolve("http://127.0.0.1:8065", "/api", "http://127.0.0.1:8065/api");
    }

    #[test]
    fn links_to_another_host_are_refused() {
        let client = client("https://h/octopus");
        for link in [
            "https://evil.example/api/spaces",
            "//evil.example/api",
            "http://h/api",
        ] {
            let err = client.resolve(&Method::GET, link).unwrap_err();
            assert!(matches!(err, ApiError::Decode { .. }), "{link}: {err:?}");
        }
    }

    #[test]
    fn api_paths_encode_segments() {
        assert_eq!(
            api_path(&["Spaces-1", "workers", "all"]),
            "/api/Spaces-1/workers/all"
        );
        assert_eq!(
            api_path(&["Spaces-1", "workers", "a/b?c"]),
            "/api/Spaces-1/workers/a%2Fb%3Fc"
        );
        assert_eq!(first_page_path(&["spaces"]), "/api/spaces?skip=0&take=30");
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html(b"  <!DOCTYPE html><html>"));
        assert!(looks_like_html(b"<html><body>"));
        assert!(!looks_like_html(b"{\"a\":1}"));
        assert!(!looks_like_html(b""));
    }

    #[test]
    fn octopus_answers_are_recognised() {
        assert!(starts_like_json(b" \n[{\"Id\":"));
        assert!(starts_like_json(b"{\"Items\":[]}"));
        assert!(!starts_like_json(b"<!DOCTYPE html>"));
        assert!(!starts_like_json(b""));
        assert!(!starts_like_json(b"OK"));
        assert!(is_octopus_error_envelope(
            br#"{"ErrorMessage":"Not found","Errors":[]}"#
        ));
        assert!(!is_octopus_error_envelope(b"<html>Not Found</html>"));
        assert!(!is_octopus_error_envelope(br#"{"error":"nope"}"#));
    }

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }

    #[test]
    fn scrub_removes_the_secret_and_query_keys() {
        let client = client("https://h");
        let scrubbed = client.scrub("key API-CANARY0000000000000 and /api?apikey=XYZ");
        assert_eq!(scrubbed, "key [redacted] and /api?apikey=[redacted]");
    }

    #[test]
    fn invalid_ca_certificate_is_rejected() {
        for pem in [
            &b"not a certificate"[..],
            b"-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let err = Client::builder(
                ServerUrl::parse("https://h").unwrap(),
                Credentials::api_key("k"),
            )
            .ca_certificate_pem(pem.to_vec())
            .build()
            .unwrap_err();
            assert!(
                matches!(err, ApiError::InvalidCaCertificate { .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn credentials_with_control_characters_are_rejected_without_echoing_them() {
        let err = Client::builder(
            ServerUrl::parse("https://h").unwrap(),
            Credentials::api_key("API-SECRET\u{0}X"),
        )
        .build()
        .unwrap_err();
        assert!(matches!(err, ApiError::InvalidCredentials { .. }));
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }

    #[test]
    fn client_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone>() {}
        assert_traits::<Client>();
    }
}
