//! Redaction and quoting of server-provided text in error messages.

use super::Client;
use crate::error::redact_query_secrets;
/// Server-provided text quoted in an error message is cut to this many characters.
pub(super) const EXCERPT_CHARS: usize = 240;
/// Secrets shorter than this are not searched for in server text (it would mangle messages).
pub(super) const MIN_SCRUBBED_SECRET_LEN: usize = 6;

impl Client {
    /// A one-line, length-limited, scrubbed excerpt of server-provided text.
    pub(super) fn excerpt(&self, bytes: &[u8], max_chars: usize) -> String {
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
    pub(super) fn scrub(&self, text: &str) -> String {
        let mut text = redact_query_secrets(text);
        let secret = self.inner.credentials.secret().expose().trim();
        if secret.len() >= MIN_SCRUBBED_SECRET_LEN && text.contains(secret) {
            text = text.replace(secret, "[redacted]");
        }
        text
    }
}

pub(super) fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, ServerUrl};

    fn client(server: &str) -> Client {
        Client::builder(
            ServerUrl::parse(server).unwrap(),
            Credentials::api_key("API-CANARY0000000000000"),
        )
        .build()
        .unwrap()
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
}
