//! `ClientBuilder`: settings, cancellation, limits, TLS roots and the authentication header.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::congestion::Limiter;
use super::origin::redirect_policy;
use super::paging::DEFAULT_MAX_PAGES;
use super::tls;
use super::transport::describe_error_chain;
use super::{Client, Counters, Inner};
use crate::clock::{Clock, SystemClock};
use crate::credentials::Credentials;
use crate::domain::DEFAULT_CONCURRENCY;
use crate::error::ApiError;
use crate::retry::RetryPolicy;
use crate::server_url::ServerUrl;

/// The largest response body the client reads by default: 256 MiB.
///
/// Octopus answers `GET /api/{space}/workers/all` with every worker in one array; a polling
/// worker is about 1.1–1.6 KB of JSON, so 100 000 workers are about 160 MB and fit with room to
/// spare. A larger answer is refused with [`ApiError::ResponseTooLarge`] instead of growing the
/// process's memory without bound. Error bodies are read up to 64 KiB only.
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// The longest a write (POST/PUT/DELETE) already sent is awaited after cancellation before it
/// is abandoned (and reported with [`ApiError::outcome_unknown`] true): 2 s.
pub const WRITE_GRACE_PERIOD: Duration = Duration::from_secs(2);

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
    max_response_bytes: u64,
    cancellation: CancellationToken,
    write_grace_period: Duration,
    concurrency: usize,
    adaptive: bool,
    clock: Arc<dyn Clock>,
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
            .field("max_response_bytes", &self.max_response_bytes)
            .field("cancelled", &self.cancellation.is_cancelled())
            .field("write_grace_period", &self.write_grace_period)
            .field("concurrency", &self.concurrency)
            .field("adaptive", &self.adaptive)
            .field("clock", &self.clock)
            .finish()
    }
}

impl ClientBuilder {
    pub(super) fn new(server: ServerUrl, credentials: Credentials) -> Self {
        Self {
            server,
            credentials,
            request_timeout: Duration::from_secs(30),
            retry_policy: RetryPolicy::default(),
            ca_certificate_pem: None,
            read_only: false,
            user_agent: format!("octoshare/{}", env!("CARGO_PKG_VERSION")),
            max_pages: DEFAULT_MAX_PAGES,
            max_response_bytes: MAX_RESPONSE_BYTES,
            cancellation: CancellationToken::new(),
            write_grace_period: WRITE_GRACE_PERIOD,
            concurrency: DEFAULT_CONCURRENCY,
            adaptive: true,
            clock: Arc::new(SystemClock),
        }
    }

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

    /// Extra trusted root certificates (PEM, one or more) for servers with a private CA, on top
    /// of the system's and Mozilla's roots. TLS is always verified. A self-signed server
    /// certificate may be given here too, even one marked as a CA (what `openssl req -x509`
    /// makes): the server may then present exactly that certificate.
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

    /// The largest response body read ([`ApiError::ResponseTooLarge`] beyond it); default
    /// [`MAX_RESPONSE_BYTES`].
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit.max(1);
        self
    }

    /// Cancels every call of the client once `token` is cancelled: a read in flight is
    /// abandoned, no retry is made, a backoff or `Retry-After` wait is cut short, and the call
    /// returns [`ApiError::Interrupted`] at once. A write already sent is given
    /// [`WRITE_GRACE_PERIOD`] to complete (its answer is then returned as usual), after which it
    /// is abandoned and reported with [`ApiError::outcome_unknown`] true. Default: a token
    /// nobody cancels.
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = token;
        self
    }

    /// How long a write already sent is awaited after cancellation; at most (and by default)
    /// [`WRITE_GRACE_PERIOD`].
    pub fn write_grace_period(mut self, grace: Duration) -> Self {
        self.write_grace_period = grace.min(WRITE_GRACE_PERIOD);
        self
    }

    /// The most requests in flight at once (at least 1); default [`DEFAULT_CONCURRENCY`].
    ///
    /// The client starts there and adapts like TCP congestion control: an overload answer
    /// (429, 503, 418) or a timeout halves the limit, each window of successful requests (as
    /// many as the limit, with every slot used) adds one back, never above this ceiling. A
    /// `Retry-After` on an overload answer holds every request of the client until then, not
    /// only the retry of the one that got it. Growing beyond the highest limit seen to work
    /// waits [`PROBE_INTERVAL_FACTOR`](crate::PROBE_INTERVAL_FACTOR) times that pause after a decrease. See
    /// [`Client::concurrency`].
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// Keeps the limit at [`ClientBuilder::concurrency`] whatever the server answers, and lets
    /// each request wait only for its own `Retry-After` (how the client behaved before
    /// adapting; for comparisons).
    pub fn fixed_concurrency(mut self) -> Self {
        self.adaptive = false;
        self
    }

    /// Where the retry loop reads the wall-clock time (for an HTTP-date `Retry-After`) and
    /// waits before a retry; default [`SystemClock`]. Tests pass a clock that records the
    /// delays and returns at once.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
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

        let extra_roots = match &self.ca_certificate_pem {
            Some(pem) => tls::parse_extra_roots(pem)?,
            None => Vec::new(),
        };
        let tls_config = tls::client_config(extra_roots)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config)
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout)
            .redirect(redirect_policy(&self.server))
            .user_agent(user_agent)
            .default_headers(default_headers)
            .build()
            .map_err(|err| ApiError::ClientSetup {
                reason: describe_error_chain(&err),
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
                max_response_bytes: self.max_response_bytes,
                cancellation: self.cancellation,
                write_grace_period: self.write_grace_period,
                clock: self.clock,
                counters: Counters::default(),
                limiter: Limiter::new(self.concurrency, self.adaptive),
                spoke_octopus_api: AtomicBool::new(false),
                not_octopus: OnceCell::new(),
            }),
        })
    }
}

pub(super) fn auth_header(
    credentials: &Credentials,
) -> Result<Option<(HeaderName, HeaderValue)>, ApiError> {
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
        what: credentials.kind(),
        reason: "it contains characters that cannot be sent in an HTTP header (a line break, a control character or non-ASCII text)".to_owned(),
    })?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
