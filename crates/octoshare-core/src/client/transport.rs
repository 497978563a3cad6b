//! Classifying and describing failures below HTTP (connect, timeout, TLS, redirect refusals).

use super::origin::RedirectRefused;
use crate::error::TransportKind;
pub(super) fn transport_kind(err: &reqwest::Error) -> TransportKind {
    if err.is_connect() {
        TransportKind::Connect
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    }
}

/// What went wrong below HTTP and the fix, for the error's own message.
pub(super) fn transport_summary(err: &reqwest::Error, kind: TransportKind) -> String {
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
pub(super) fn describe_error_chain(err: &reqwest::Error) -> String {
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
pub(super) fn strip_reqwest_url(text: &str) -> String {
    match text.find(" for url (") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}
