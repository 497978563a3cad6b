//! Classifying and describing failures below HTTP (connect, timeout, TLS, redirect refusals).

use super::origin::RedirectRefused;
use super::tls::{certificate_problem, certificate_refusal, rustls_error};
use crate::error::{CertificateProblem, TransportKind};

/// What was wrong with the server's certificate, if that is why the request failed.
pub(super) fn certificate_problem_of(err: &reqwest::Error) -> Option<CertificateProblem> {
    rustls_error(err).and_then(certificate_problem)
}

/// Connect, timeout, a refused TLS certificate, or something else.
pub(super) fn transport_kind(err: &reqwest::Error) -> TransportKind {
    if rustls_error(err).and_then(certificate_refusal).is_some() {
        TransportKind::Tls
    } else if err.is_connect() {
        TransportKind::Connect
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    }
}

/// The redirect refusal inside a transport error, if the redirect policy stopped it.
pub(super) fn redirect_refusal(err: &reqwest::Error) -> Option<&RedirectRefused> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = current {
        if let Some(refused) = cause.downcast_ref::<RedirectRefused>() {
            return Some(refused);
        }
        current = cause.source();
    }
    None
}

/// What went wrong below HTTP and the fix, for the error's own message.
pub(super) fn transport_summary(err: &reqwest::Error, kind: TransportKind) -> String {
    if let Some(refused) = redirect_refusal(err) {
        return refused.to_string();
    }
    let tls = rustls_error(err);
    if let Some(refusal) = tls.and_then(certificate_refusal) {
        return refusal;
    }
    match kind {
        TransportKind::Connect => match tls {
            Some(tls) => format!(
                "the TLS handshake failed ({tls}): check that the server speaks https on that port"
            ),
            None => kind.to_string(),
        },
        TransportKind::Timeout | TransportKind::Tls => kind.to_string(),
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
pub(super) fn describe_error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let top = strip_reqwest_url(&err.to_string());
    parts.push(top);
    while let Some(cause) = current {
        let mut text = cause.to_string();
        // rustls names the refusal in its own terms (`Other(OtherError(CaUsedAsEndEntity))`);
        // the summary already says it in words.
        if let Some(at) = text.find("invalid peer certificate") {
            text.truncate(at + "invalid peer certificate".len());
        }
        if !cause.is::<RedirectRefused>() && !parts.iter().any(|part| part == &text) {
            parts.push(text);
        }
        current = cause.source();
    }
    parts.join(": ")
}

/// reqwest formats errors as `error sending request for url (https://...)`; drop the URL part.
pub(super) fn strip_reqwest_url(text: &str) -> String {
    match text.find(" for url (") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}
