//! The Octopus Server base URL: parsing, validation and normalisation (virtual directory, `/api`).

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::error::{ApiError, redact_query_secrets};

/// A validated, normalised Octopus Server base URL.
///
/// Accepts `http` and `https` URLs with or without a virtual directory and trailing slash;
/// a trailing `/api` segment is removed. `Display` gives the base without a trailing slash,
/// e.g. `https://host/octopus`.
///
/// ```
/// # use octoshare_core::ServerUrl;
/// let server = ServerUrl::parse("https://host/octopus/api/").unwrap();
/// assert_eq!(server.to_string(), "https://host/octopus");
/// assert_eq!(server.base_path(), "/octopus");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl {
    /// `scheme://host[:port]`, no trailing slash.
    origin: String,
    /// `""` or `/virtual/dir`, no trailing slash.
    base_path: String,
    /// `origin + base_path`.
    normalised: String,
}

impl ServerUrl {
    /// Parses and normalises a server URL.
    ///
    /// Rejects other schemes, an empty host, a user name or password, a query string and a
    /// fragment with [`ApiError::InvalidServerUrl`].
    pub fn parse(input: &str) -> Result<ServerUrl, ApiError> {
        let trimmed = input.trim();
        let invalid = |reason: String| ApiError::InvalidServerUrl {
            input: redact_url_input(trimmed),
            reason,
        };
        if trimmed.is_empty() {
            return Err(invalid(
                "the URL is empty: pass the Octopus Server URL, e.g. https://octopus.example.com"
                    .to_owned(),
            ));
        }
        if !trimmed.contains("://") {
            return Err(invalid(format!(
                "it has no scheme: use e.g. https://{}",
                redact_url_input(trimmed)
            )));
        }
        let url = Url::parse(trimmed).map_err(|err| invalid(format!("{err}")))?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(invalid(format!(
                    "unsupported scheme '{other}': use http:// or https://"
                )));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host name".to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "it contains a user name or password: remove them and pass an API key or access token instead"
                    .to_owned(),
            ));
        }
        if url.query().is_some() {
            return Err(invalid(
                "it has a query string ('?...'): pass only the server's base URL".to_owned(),
            ));
        }
        if url.fragment().is_some() {
            return Err(invalid(
                "it has a fragment ('#...'), like a web UI address: pass only the server's base URL"
                    .to_owned(),
            ));
        }
        let mut segments: Vec<&str> = url
            .path_segments()
            .map(|segments| segments.filter(|segment| !segment.is_empty()).collect())
            .unwrap_or_default();
        if segments
            .last()
            .is_some_and(|last| last.eq_ignore_ascii_case("api"))
        {
            segments.pop();
        }
        let base_path: String = segments
            .iter()
            .map(|segment| format!("/{segment}"))
            .collect();
        let origin = url.origin().ascii_serialization();
        let normalised = format!("{origin}{base_path}");
        Ok(ServerUrl {
            origin,
            base_path,
            normalised,
        })
    }

    /// The virtual directory, `""` or e.g. `/octopus` (never a trailing slash).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The normalised base URL, e.g. `https://host/octopus` (same as `Display`).
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// `scheme://host[:port]` without any path.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalised)
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({:?})", self.normalised)
    }
}

impl FromStr for ServerUrl {
    type Err = ApiError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// Hides user info (`user:password@`) and secret query values in a URL typed by the user.
fn redact_url_input(input: &str) -> String {
    let mut text = redact_query_secrets(input);
    if let Some(scheme_end) = text.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = text[authority_start..]
            .find(['/', '?', '#'])
            .map_or(text.len(), |offset| authority_start + offset);
        if let Some(at) = text[authority_start..authority_end].rfind('@') {
            text.replace_range(authority_start..authority_start + at, "[redacted]");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, normalised: &str, base_path: &str) {
        let server = ServerUrl::parse(input).unwrap();
        assert_eq!(server.to_string(), normalised, "input {input}");
        assert_eq!(server.base_path(), base_path, "input {input}");
    }

    #[track_caller]
    fn check_invalid(input: &str, reason_part: &str) {
        let err = ServerUrl::parse(input).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, ApiError::InvalidServerUrl { .. }),
            "{input}: {err:?}"
        );
        assert!(message.contains(reason_part), "{input}: {message}");
    }

    #[test]
    fn normalisation_table() {
        check("https://h", "https://h", "");
        check("https://h/", "https://h", "");
        check("https://h/octopus", "https://h/octopus", "/octopus");
        check("https://h/octopus/", "https://h/octopus", "/octopus");
        check("https://h/api", "https://h", "");
        check("https://h/api/", "https://h", "");
        check("https://h/octopus/api/", "https://h/octopus", "/octopus");
        check("https://h/octopus/API", "https://h/octopus", "/octopus");
        check(
            "  https://H.Example.COM:443/  ",
            "https://h.example.com",
            "",
        );
        check("http://127.0.0.1:8065", "http://127.0.0.1:8065", "");
        check("https://h:8443/a/b/", "https://h:8443/a/b", "/a/b");
        check("https://h//octopus//", "https://h/octopus", "/octopus");
        check("http://[::1]:8080/", "http://[::1]:8080", "");
    }

    #[test]
    fn invalid_urls_say_why() {
        check_invalid("", "empty");
        check_invalid(
            "octopus.example.com",
            "no scheme: use e.g. https://octopus.example.com",
        );
        check_invalid("ftp://h/", "unsupported scheme 'ftp'");
        check_invalid("https://user:pw@h/", "user name or password");
        check_invalid("https://h/?apikey=API-X", "query string");
        check_invalid("https://h/app#/Spaces-1", "fragment");
        check_invalid("https://", "invalid Octopus server URL");
        check_invalid("file:///etc/passwd", "unsupported scheme 'file'");
    }

    #[test]
    fn invalid_url_messages_hide_passwords_and_keys() {
        let message = ServerUrl::parse("https://user:hunter2@h/")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("hunter2"), "{message}");
        let message = ServerUrl::parse("https://h/?apikey=API-CANARY")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("API-CANARY"), "{message}");
    }

    #[test]
    fn from_str_works() {
        let server: ServerUrl = "https://h/octopus/".parse().unwrap();
        assert_eq!(server.as_str(), "https://h/octopus");
        assert_eq!(server.origin(), "https://h");
    }
}
