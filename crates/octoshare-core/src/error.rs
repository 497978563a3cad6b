//! `ApiError`: every way a call to the Octopus API can fail, with messages that name the
//! request and the fix and never contain a secret.

use std::fmt;

use crate::credentials::CredentialKind;

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// No connection could be made (DNS, refused, TLS handshake, proxy): the request was never sent.
    Connect,
    /// The request timed out; the server may or may not have processed it.
    Timeout,
    /// The server's TLS certificate was refused (untrusted, expired, wrong host, ...): the
    /// request was never sent, and asking again cannot change the answer.
    Tls,
    /// Anything else (connection dropped mid-response, redirect loop, unreadable body, ...).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect (check the server URL, DNS, proxy and firewall)",
            Self::Timeout => "timed out (the server is slow or unreachable; raise the request timeout if it is just slow)",
            Self::Tls => "the server's TLS certificate was refused",
            Self::Other => "request failed",
        })
    }
}

/// What was wrong with the server's TLS certificate (for [`TransportKind::Tls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// Not signed by a trusted CA (a private CA or a self-signed certificate not trusted).
    UntrustedIssuer,
    /// A CA certificate (`CA:TRUE`) presented as the server's own, and not the very
    /// certificate trusted as an extra root.
    CaAsServerCertificate,
    /// Not issued for the host name in the server URL.
    WrongHost,
    /// Expired.
    Expired,
    /// Not valid yet.
    NotYetValid,
    /// Anything else (revoked, bad signature, wrong purpose, unparseable).
    Other,
}

/// The cause of an [`ApiError::Transport`]: a one-line summary with the fix (shown in the
/// error's own message) and the underlying error chain, flattened into one line with URLs and
/// secrets removed (shown as the error's source). Neither `Display` nor `Debug` can leak a key.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportSource {
    summary: String,
    detail: String,
    certificate: Option<CertificateProblem>,
}

impl TransportSource {
    /// Wraps an already redacted summary and detail.
    pub(crate) fn new(summary: String, detail: String) -> Self {
        Self {
            summary,
            detail,
            certificate: None,
        }
    }

    /// Records what was wrong with the server's certificate.
    pub(crate) fn with_certificate_problem(mut self, problem: Option<CertificateProblem>) -> Self {
        self.certificate = problem;
        self
    }

    /// What was wrong with the server's TLS certificate, when that is why the request failed.
    pub fn certificate_problem(&self) -> Option<CertificateProblem> {
        self.certificate
    }

    /// What went wrong and what to do, e.g. `more than 5 redirects, probably a redirect loop: ...`.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The flattened, redacted chain of the underlying errors.
    pub fn description(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for TransportSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl fmt::Debug for TransportSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportSource")
            .field("summary", &self.summary)
            .field("detail", &self.detail)
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl std::error::Error for TransportSource {}

/// An error from the Octopus API client.
///
/// Messages are lower-case, one line, name the request (method and path) and, where there is
/// one, the fix. They never contain the API key or access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The server URL could not be used.
    #[error("invalid Octopus server URL '{input}': {reason}")]
    InvalidServerUrl {
        /// The URL as given (user info and secret query values redacted).
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The extra CA certificate is not a usable PEM certificate.
    #[error(
        "invalid CA certificate: {reason}: pass a PEM file with at least one '-----BEGIN CERTIFICATE-----' block"
    )]
    InvalidCaCertificate {
        /// Why it was rejected.
        reason: String,
    },
    /// The credentials cannot be sent (e.g. they contain control characters).
    #[error("invalid {what}: {reason}")]
    InvalidCredentials {
        /// `API key` or `access token`.
        what: CredentialKind,
        /// Why it was rejected (never contains the secret).
        reason: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {reason}")]
    ClientSetup {
        /// Why.
        reason: String,
    },
    /// The request did not produce an HTTP response (after retries where allowed).
    #[error("{method} {url} failed after {attempts} {}: {}", plural(*attempts, "attempt"), source.summary())]
    Transport {
        /// HTTP method.
        method: String,
        /// Full URL (secret query values redacted).
        url: String,
        /// Connect, timeout or other.
        kind: TransportKind,
        /// How many attempts were made.
        attempts: u32,
        /// The underlying cause, flattened and redacted.
        source: TransportSource,
    },
    /// 401: the credentials were missing or rejected.
    #[error("{message}")]
    Unauthorized {
        /// The server base URL.
        server: String,
        /// Which kind of credentials the client has.
        credential: CredentialKind,
        /// Whether the client had none to send (an empty secret).
        missing: bool,
        /// Full message, e.g. `API key rejected by https://host (401)`.
        message: String,
    },
    /// 403: authenticated, but not allowed to do this.
    #[error(
        "{method} {path} was refused (403): {message}: {}",
        forbidden_advice(method, path, message)
    )]
    Forbidden {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// The server's message.
        message: String,
    },
    /// 404, or a name/id that `resolve()` could not find.
    #[error("{what} not found: {message}")]
    NotFound {
        /// What was looked for, e.g. `GET /api/Spaces-1/workers/Workers-9` or `space 'Prod'`.
        what: String,
        /// Details and the fix.
        message: String,
    },
    /// 400 or 409: the server refused the request as invalid.
    #[error(
        "{method} {path} was rejected as invalid ({status}): {}",
        validation_text(message, errors)
    )]
    Validation {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// 400 or 409.
        status: u16,
        /// The server's `ErrorMessage`.
        message: String,
        /// The server's `Errors`.
        errors: Vec<String>,
    },
    /// 429 after all retries.
    #[error(
        "{method} {path} failed: rate limited (429) after {attempts} {}: wait and try again, or raise the retry limit",
        plural(*attempts, "attempt")
    )]
    RateLimited {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// 5xx or 418 (draining node) after all retries.
    #[error("{method} {path} failed: server error {status} after {attempts} {}{}", plural(*attempts, "attempt"), server_suffix(*status, message))]
    Server {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// HTTP status.
        status: u16,
        /// The server's message (may be empty).
        message: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// 431: the server (or a proxy in front of it) refused the request's headers as too large;
    /// the only large header the client sends is the credential.
    #[error(
        "{method} {path} was refused (431, request headers too large): the {credential} is too long for the server; check that it is the right value"
    )]
    RequestHeadersTooLarge {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// Which kind of credentials was sent.
        credential: CredentialKind,
    },
    /// A redirect or a link in an answer pointed to another origin (scheme, host or port) than
    /// the server's; nothing was sent there.
    #[error(
        "{referrer} to {target}, another origin ({difference}): nothing was sent there, credentials only ever go to {origin}; {advice}"
    )]
    OtherOrigin {
        /// What pointed there, e.g. `GET /api/spaces/all was redirected (307)` or
        /// `GET /api/spaces?skip=0&take=30 returned a Page.Next link`.
        referrer: String,
        /// The target (secret query values redacted).
        target: String,
        /// Which parts differ, e.g. `scheme http instead of https`.
        difference: String,
        /// The server's origin, e.g. `https://octopus.example.com`.
        origin: String,
        /// What to do about it.
        advice: String,
    },
    /// A response body was larger than the client reads ([`crate::MAX_RESPONSE_BYTES`] unless
    /// configured); the rest was not read.
    #[error(
        "{method} {path} returned more than {} MiB{}: the rest was not read; check the server URL (something other than the Octopus API may be answering)",
        limit / (1024 * 1024),
        if *declared { " (announced in Content-Length)" } else { "" }
    )]
    ResponseTooLarge {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// The limit in bytes.
        limit: u64,
        /// Whether the server announced the size up front (nothing of the body was read).
        declared: bool,
    },
    /// The call was cancelled (the process was asked to stop) before it completed.
    #[error("{method} {path} was interrupted{}", interrupted_suffix(method, *in_flight))]
    Interrupted {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// Whether the request had been sent (a write may then have been applied).
        in_flight: bool,
    },
    /// A status the client does not expect (e.g. 405, or a redirect it would not follow).
    #[error("{method} {path} returned unexpected status {status}")]
    UnexpectedStatus {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// HTTP status.
        status: u16,
    },
    /// The response body is not the JSON the client expects.
    #[error("{method} {path} returned a response that cannot be read at '{json_path}': {reason}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
        /// Where in the JSON document decoding failed (`.` for the whole document).
        json_path: String,
        /// Why.
        reason: String,
    },
    /// `GET /api` shows this is not an Octopus Deploy server (or an unsupported API version).
    #[error("{server} is not an Octopus Deploy server: {reason}")]
    NotOctopus {
        /// The server base URL.
        server: String,
        /// Why, e.g. `GET /api returned an HTML page`.
        reason: String,
    },
    /// Paging did not terminate: a `Page.Next` link was visited twice, or there were absurdly many pages.
    #[error(
        "paging loop while listing {path}: the server kept returning pages that were already read; report this to the server's administrator"
    )]
    PagingLoop {
        /// The first page's path.
        path: String,
    },
    /// A write was attempted on a read-only (dry-run) client; nothing was sent.
    #[error("refusing {method} {path}: the client is read-only (dry run), nothing was sent")]
    ReadOnly {
        /// HTTP method.
        method: String,
        /// Request path and query.
        path: String,
    },
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn interrupted_suffix(method: &str, in_flight: bool) -> &'static str {
    match (in_flight, is_write(method)) {
        (true, true) => {
            " after it was sent, with no answer in the grace period: the server may or may not have applied it"
        }
        (true, false) => " before the answer arrived",
        (false, _) => " before it was sent",
    }
}

/// What to do about a 403: grant the permission the server named (or the request needs), in
/// the space concerned.
fn forbidden_advice(method: &str, path: &str, message: &str) -> String {
    match crate::domain::PermissionRefusal::from_parts(method, path, message) {
        Some(refusal) => format!(
            "grant {refusal} to the user behind the API key (a space permission), or use another key"
        ),
        None => {
            "grant the user behind the API key the missing permission or use another key".to_owned()
        }
    }
}

fn validation_text(message: &str, errors: &[String]) -> String {
    let message = message.trim().trim_end_matches('.');
    match (message.is_empty(), errors.is_empty()) {
        (false, true) => message.to_owned(),
        (true, true) => "no details given".to_owned(),
        (true, false) => errors.join("; "),
        (false, false) => format!("{message}: {}", errors.join("; ")),
    }
}

fn server_suffix(status: u16, message: &str) -> String {
    let mut suffix = String::new();
    if status == 418 {
        suffix.push_str(" (the server node is draining or offline)");
    }
    let message = message.trim();
    if !message.is_empty() {
        suffix.push_str(": ");
        suffix.push_str(message);
    }
    suffix
}

impl ApiError {
    /// The HTTP status behind this error, if there is one (a `resolve()` miss reports 404).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Validation { status, .. }
            | Self::Server { status, .. }
            | Self::UnexpectedStatus { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::RequestHeadersTooLarge { .. } => Some(431),
            _ => None,
        }
    }

    /// 401 or 403: the credentials were refused.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::Forbidden { .. })
    }

    /// The server could not be reached or kept failing: transport errors, timeouts,
    /// 5xx/429/418 after retries, not an Octopus server at all, an answer pointing to another
    /// origin, or an answer too large to read.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::Transport { .. }
                | Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::NotOctopus { .. }
                | Self::OtherOrigin { .. }
                | Self::ResponseTooLarge { .. }
        )
    }

    /// The call was abandoned because the client was cancelled (see
    /// [`crate::ClientBuilder::cancellation`]).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Self::Interrupted { .. })
    }

    /// 404 or a `resolve()` miss.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// A write (POST/PUT/DELETE) that may have been applied although it failed: a timeout, a
    /// connection dropped after sending, a 5xx, or a write abandoned in flight on interruption.
    /// Re-read state before deciding what to do.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Interrupted {
                method, in_flight, ..
            } => is_write(method) && *in_flight,
            Self::Transport { method, kind, .. } => {
                is_write(method) && matches!(kind, TransportKind::Timeout | TransportKind::Other)
            }
            Self::Server { method, status, .. } => is_write(method) && *status != 418,
            _ => false,
        }
    }
}

fn is_write(method: &str) -> bool {
    !matches!(
        method.to_ascii_uppercase().as_str(),
        "GET" | "HEAD" | "OPTIONS"
    )
}

/// Query parameter names whose values are secrets.
const SECRET_QUERY_NAMES: [&str; 4] = ["apikey", "api_key", "access_token", "token"];

/// Replaces the value of any `apikey=` (and similar) query parameter in `text` with `[redacted]`.
///
/// Works on free text (a URL inside a sentence): the value ends at `&`, `#`, whitespace or a quote.
pub(crate) fn redact_query_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let bytes = lower.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let at_param_start = index == 0 || matches!(bytes[index - 1], b'?' | b'&' | b';');
        let matched = at_param_start
            .then(|| {
                SECRET_QUERY_NAMES.iter().find(|name| {
                    lower[index..].starts_with(*name)
                        && bytes.get(index + name.len()) == Some(&b'=')
                })
            })
            .flatten();
        if let Some(name) = matched {
            let value_start = index + name.len() + 1;
            let value_end = text[value_start..]
                .find(|c: char| {
                    matches!(c, '&' | '#' | '\'' | '"' | '<' | '>' | ')') || c.is_whitespace()
                })
                .map_or(text.len(), |offset| value_start + offset);
            out.push_str(&text[copied..value_start]);
            out.push_str("[redacted]");
            copied = value_end;
            index = value_end;
        } else {
            index += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_query_values_anywhere() {
        assert_eq!(
            redact_query_secrets("GET https://h/api?apikey=API-123&skip=0 failed"),
            "GET https://h/api?apikey=[redacted]&skip=0 failed"
        );
        assert_eq!(
            redact_query_secrets("/api?skip=0&ApiKey=API-123"),
            "/api?skip=0&ApiKey=[redacted]"
        );
        assert_eq!(
            redact_query_secrets("/api/spaces?partialName=apikey=x"),
            "/api/spaces?partialName=apikey=x"
        );
        assert_eq!(
            redact_query_secrets("é?token=ü abc"),
            "é?token=[redacted] abc"
        );
        assert_eq!(redact_query_secrets("no secrets"), "no secrets");
    }

    #[test]
    fn messages_are_lower_case_and_name_the_request() {
        let err = ApiError::Server {
            method: "GET".into(),
            path: "/api/Spaces-3/workerpools/all".into(),
            status: 503,
            message: String::new(),
            attempts: 6,
        };
        assert_eq!(
            err.to_string(),
            "GET /api/Spaces-3/workerpools/all failed: server error 503 after 6 attempts"
        );
        assert!(err.is_unreachable());
        assert!(!err.outcome_unknown());
        assert_eq!(err.status(), Some(503));
    }

    #[test]
    fn validation_joins_errors() {
        let err = ApiError::Validation {
            method: "POST".into(),
            path: "/api/Spaces-1/workers".into(),
            status: 400,
            message: "There was a problem with your request.".into(),
            errors: vec!["Name is required".into(), "Endpoint is required".into()],
        };
        assert_eq!(
            err.to_string(),
            "POST /api/Spaces-1/workers was rejected as invalid (400): There was a problem with your request: Name is required; Endpoint is required"
        );
    }

    #[test]
    fn outcome_unknown_only_for_writes_that_may_have_been_applied() {
        let transport = |method: &str, kind| ApiError::Transport {
            method: method.into(),
            url: "http://h/api".into(),
            kind,
            attempts: 1,
            source: TransportSource::new("x".into(), "y".into()),
        };
        assert!(transport("POST", TransportKind::Timeout).outcome_unknown());
        assert!(transport("PUT", TransportKind::Other).outcome_unknown());
        assert!(!transport("POST", TransportKind::Connect).outcome_unknown());
        assert!(!transport("GET", TransportKind::Timeout).outcome_unknown());
        let server = |status| ApiError::Server {
            method: "POST".into(),
            path: "/api".into(),
            status,
            message: String::new(),
            attempts: 1,
        };
        assert!(server(500).outcome_unknown());
        assert!(!server(418).outcome_unknown());
    }
}
