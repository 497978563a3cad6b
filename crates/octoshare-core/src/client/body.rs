//! Reading response bodies, always with a size limit, and decoding them.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::Client;
use super::links::display_path;
use super::redact::{EXCERPT_CHARS, truncate_chars};
use crate::error::ApiError;

/// Error bodies are read up to this many bytes.
pub(super) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A successful response body.
pub(super) struct Body {
    pub(super) bytes: Vec<u8>,
}

impl Client {
    pub(super) fn decode<T: DeserializeOwned>(
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
}

/// Why a body could not be read whole.
pub(super) enum BodyFailure {
    /// The connection failed mid-body.
    Transport(reqwest::Error),
    /// The body is larger than the limit; `declared` when Content-Length said so up front.
    TooLarge { declared: bool },
}

/// Reads a whole body of at most `limit` bytes; stops reading (and fails) at the first byte
/// beyond it, so an endless or huge answer costs at most `limit` bytes of memory.
pub(super) async fn read_bounded(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, BodyFailure> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(BodyFailure::TooLarge { declared: true });
    }
    // Never trust a declared length for more than a modest first allocation.
    let first = response.content_length().unwrap_or(0).min(1024 * 1024);
    let mut bytes = Vec::with_capacity(usize::try_from(first).unwrap_or(0));
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    while let Some(chunk) = response.chunk().await.map_err(BodyFailure::Transport)? {
        if chunk.len() > limit - bytes.len() {
            return Err(BodyFailure::TooLarge { declared: false });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads at most `limit` bytes of an error body (what is there; errors end it quietly).
pub(super) async fn read_limited(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
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
pub(super) fn starts_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.iter().find(|byte| !byte.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Whether an error body is Octopus's `{"ErrorMessage": ..., "Errors": [...]}` envelope.
pub(super) fn is_octopus_error_envelope(bytes: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<Value>(bytes),
        Ok(Value::Object(object)) if object.contains_key("ErrorMessage")
    )
}

pub(super) fn looks_like_html(bytes: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
