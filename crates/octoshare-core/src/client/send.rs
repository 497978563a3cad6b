//! The request/retry loop: one attempt after another until success, a final failure, the end
//! of the retry budget or cancellation.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use super::Client;
use super::body::{
    Body, BodyFailure, ERROR_BODY_LIMIT, is_octopus_error_envelope, read_bounded, read_limited,
};
use super::congestion::{Change, Signal};
use super::links::display_path;
use super::origin::{RedirectRefused, origin_difference, origin_url};
use super::transport::{
    certificate_problem_of, describe_error_chain, redirect_refusal, transport_kind,
    transport_summary,
};
use crate::error::{ApiError, TransportKind, TransportSource};
use crate::retry::{parse_retry_after, status_is_retryable, transport_error_is_retryable};

/// What one attempt produced.
enum Outcome {
    /// A 2xx with its whole body.
    Success(Vec<u8>),
    /// No (complete) HTTP answer.
    Transport(reqwest::Error),
    /// A 2xx whose body is larger than the limit.
    TooLarge { declared: bool },
    /// A non-2xx answer.
    Status(StatusAnswer),
}

struct StatusAnswer {
    status: u16,
    retry_after: Option<Duration>,
    is_html: bool,
    /// Up to [`ERROR_BODY_LIMIT`] bytes; not read when the answer will be retried.
    body: Vec<u8>,
}

/// Why the limit was halved, for the log line.
fn overload_cause(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(answer) => match answer.retry_after {
            Some(pause) => format!(
                "the server is overloaded ({}, Retry-After {}s)",
                answer.status,
                pause.as_secs()
            ),
            None => format!("the server is overloaded ({})", answer.status),
        },
        _ => "the request timed out".to_owned(),
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

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
            if self.inner.cancellation.is_cancelled() {
                return Err(self.interrupted(&method, &url, false));
            }
            // A slot among the requests in flight, after any pause the server asked for.
            let slot = tokio::select! {
                biased;
                () = self.inner.cancellation.cancelled() => {
                    return Err(self.interrupted(&method, &url, false));
                }
                slot = self.inner.limiter.acquire() => slot,
            };
            self.inner.counters.count(&method);
            let may_retry = attempt < max_attempts;
            let outcome = self
                .attempt_until_cancelled(&method, &url, body.as_deref(), may_retry)
                .await?;
            let signal = self.load_signal(&outcome);
            match slot.finish(signal) {
                Change::Decreased { from, to } => tracing::warn!(
                    "{method} {}: {}: sending at most {to} request{} at once (was {from})",
                    display_path(&url),
                    overload_cause(&outcome),
                    if to == 1 { "" } else { "s" },
                ),
                Change::Capped { from, to } => tracing::warn!(
                    "the server served only {to} of the requests in flight when it refused some: sending at most {to} at once (was {from})"
                ),
                Change::Increased { from, to } => tracing::debug!(
                    from,
                    to,
                    "the server keeps up: sending at most {to} requests at once"
                ),
                Change::None => {}
            }
            match outcome {
                Outcome::Success(bytes) => {
                    tracing::debug!(%method, path = %display_path(&url), attempt, bytes = bytes.len(), "octopus api request");
                    return Ok(Body { bytes });
                }
                Outcome::TooLarge { declared } => {
                    return Err(ApiError::ResponseTooLarge {
                        method: method.to_string(),
                        path: display_path(&url),
                        limit: self.inner.max_response_bytes,
                        declared,
                    });
                }
                Outcome::Transport(err) => {
                    if let Some(RedirectRefused::OtherOrigin { status, target }) =
                        redirect_refusal(&err)
                        && let Some(origin) = origin_url(&self.inner.server)
                    {
                        let difference = origin_difference(&origin, target)
                            .unwrap_or_else(|| "another origin".to_owned());
                        return Err(self.other_origin(
                            format!("{method} {} was redirected ({status})", display_path(&url)),
                            target,
                            difference,
                        ));
                    }
                    let kind = transport_kind(&err);
                    // A redirect loop, a refused redirect or a refused certificate will not go
                    // away by asking again.
                    let deterministic =
                        err.is_redirect() || err.is_builder() || kind == TransportKind::Tls;
                    if may_retry && !deterministic && transport_error_is_retryable(&method, kind) {
                        let delay = policy.delay_before_retry(attempt, None);
                        let what = self.scrub(&transport_summary(&err, kind));
                        self.before_retry(&method, &url, &what, attempt, delay)
                            .await?;
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
                        )
                        .with_certificate_problem(certificate_problem_of(&err)),
                    });
                }
                Outcome::Status(answer) => {
                    let status = answer.status;
                    if may_retry && status_is_retryable(&method, status) {
                        let delay = policy.delay_before_retry(attempt, answer.retry_after);
                        let what = format!("the server answered {status}");
                        self.before_retry(&method, &url, &what, attempt, delay)
                            .await?;
                        continue;
                    }
                    if is_octopus_error_envelope(&answer.body) {
                        self.inner.spoke_octopus_api.store(true, Ordering::Relaxed);
                    }
                    tracing::debug!(%method, path = %display_path(&url), status, attempt, "octopus api request failed");
                    return Err(self.status_error(
                        &method,
                        &url,
                        status,
                        attempt,
                        &answer.body,
                        answer.is_html,
                    ));
                }
            }
        }
    }

    /// What an attempt's outcome says about the server's load (see [`super::congestion`]).
    fn load_signal(&self, outcome: &Outcome) -> Signal {
        match outcome {
            Outcome::Success(_) | Outcome::TooLarge { .. } => Signal::KeptUp,
            Outcome::Transport(err) if transport_kind(err) == TransportKind::Timeout => {
                Signal::Overloaded { pause: None }
            }
            Outcome::Transport(_) => Signal::Neutral,
            Outcome::Status(answer) => match answer.status {
                429 | 503 | 418 => Signal::Overloaded {
                    pause: answer
                        .retry_after
                        .map(|pause| pause.min(self.inner.retry_policy.max_retry_after)),
                },
                400..=499 => Signal::KeptUp,
                _ => Signal::Neutral,
            },
        }
    }

    /// One attempt, abandoned when the client is cancelled: a read at once, a write after the
    /// grace period (reported as in flight, so its outcome is unknown).
    async fn attempt_until_cancelled(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        may_retry: bool,
    ) -> Result<Outcome, ApiError> {
        let attempt = self.attempt(method, url, body, may_retry);
        tokio::pin!(attempt);
        tokio::select! {
            biased;
            outcome = &mut attempt => Ok(outcome),
            () = self.inner.cancellation.cancelled() => {
                if !is_write(method) {
                    return Err(self.interrupted(method, url, true));
                }
                tracing::debug!(%method, path = %display_path(url), "interrupted: waiting for the write in flight");
                match tokio::time::timeout(self.inner.write_grace_period, &mut attempt).await {
                    Ok(outcome) => Ok(outcome),
                    Err(_) => Err(self.interrupted(method, url, true)),
                }
            }
        }
    }

    /// Sends the request and reads the answer (bounded).
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        may_retry: bool,
    ) -> Outcome {
        let mut request = self.inner.http.request(method.clone(), url.clone());
        if let Some((name, value)) = &self.inner.auth_header {
            request = request.header(name, value.clone());
        }
        if let Some(bytes) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.to_vec());
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(err) => return Outcome::Transport(err),
        };
        if response.status().is_success() {
            return match read_bounded(&mut response, self.inner.max_response_bytes).await {
                Ok(bytes) => Outcome::Success(bytes),
                Err(BodyFailure::Transport(err)) => Outcome::Transport(err),
                Err(BodyFailure::TooLarge { declared }) => Outcome::TooLarge { declared },
            };
        }
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after =
            header(RETRY_AFTER).and_then(|value| parse_retry_after(&value, self.inner.clock.now()));
        let is_html = header(CONTENT_TYPE)
            .is_some_and(|value| value.to_ascii_lowercase().contains("text/html"));
        let body = if may_retry && status_is_retryable(method, status) {
            Vec::new()
        } else {
            read_limited(response, ERROR_BODY_LIMIT).await
        };
        Outcome::Status(StatusAnswer {
            status,
            retry_after,
            is_html,
            body,
        })
    }

    /// Counts and logs a retry, then waits `delay` unless the client is cancelled first.
    async fn before_retry(
        &self,
        method: &Method,
        url: &Url,
        what: &str,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), ApiError> {
        self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            "{method} {}: {what} (attempt {attempt} of {}), retrying in {:.1}s",
            display_path(url),
            self.inner.retry_policy.max_attempts(),
            delay.as_secs_f64()
        );
        tokio::select! {
            biased;
            () = self.inner.cancellation.cancelled() => Err(self.interrupted(method, url, false)),
            () = self.inner.clock.sleep(delay) => Ok(()),
        }
    }

    fn interrupted(&self, method: &Method, url: &Url, in_flight: bool) -> ApiError {
        tracing::debug!(%method, path = %display_path(url), in_flight, "request interrupted");
        ApiError::Interrupted {
            method: method.to_string(),
            path: display_path(url),
            in_flight,
        }
    }
}
