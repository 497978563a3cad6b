//! The request/retry loop: one attempt after another until success, a final failure or the
//! retry budget is spent.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use super::Client;
use super::body::{Body, ERROR_BODY_LIMIT, is_octopus_error_envelope, read_limited};
use super::links::display_path;
use super::transport::{describe_error_chain, transport_kind, transport_summary};
use crate::error::{ApiError, TransportSource};
use crate::retry::{parse_retry_after, status_is_retryable, transport_error_is_retryable};
impl Client {
    /// Sends a request with retries and maps any failure to an [`ApiError`].
    pub(super) async fn execute(
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

    pub(super) async fn before_retry(
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
}

pub(super) enum Failure {
    Transport(reqwest::Error),
    Status(reqwest::Response),
}
