//! Link resolution and API paths: the only place URLs are built.

use reqwest::Method;
use url::Url;

use super::origin::{origin_difference, origin_url};
use super::{Client, PAGE_SIZE};
use crate::error::{ApiError, redact_query_secrets};

/// Why a link cannot be followed.
enum LinkProblem {
    /// Not a usable URL or path.
    Invalid(String),
    /// An absolute link to another origin.
    OtherOrigin { target: Url, difference: String },
}

impl Client {
    /// Resolves a path or Octopus link given by the caller against the server base URL.
    ///
    /// Octopus links are paths such as `/api/spaces?skip=30&take=30`. With a virtual directory
    /// the server may or may not include it: a link that already starts with the base path is
    /// used as is, otherwise the base path is prefixed. Unexpanded URI-template parts (`{?skip,take}`)
    /// are dropped. Absolute links to another origin are refused ([`ApiError::OtherOrigin`]).
    pub(crate) fn resolve(&self, method: &Method, link: &str) -> Result<Url, ApiError> {
        self.resolve_url(link).map_err(|problem| match problem {
            LinkProblem::Invalid(reason) => ApiError::Decode {
                method: method.to_string(),
                path: self.scrub(&redact_query_secrets(link)),
                json_path: ".".to_owned(),
                reason,
            },
            LinkProblem::OtherOrigin { target, difference } => {
                self.other_origin(format!("{method} was given a link"), &target, difference)
            }
        })
    }

    /// Resolves the link `name` (e.g. `Page.Next`) found in the answer to `method from`; the
    /// same rules as [`Client::resolve`], with errors naming the answer and the link.
    pub(super) fn resolve_link(
        &self,
        method: &Method,
        from: &Url,
        name: &str,
        link: &str,
    ) -> Result<Url, ApiError> {
        self.resolve_url(link).map_err(|problem| match problem {
            LinkProblem::Invalid(reason) => ApiError::Decode {
                method: method.to_string(),
                path: display_path(from),
                json_path: format!("Links.{name}"),
                reason: self.scrub(&reason),
            },
            LinkProblem::OtherOrigin { target, difference } => self.other_origin(
                format!("{method} {} returned a {name} link", display_path(from)),
                &target,
                difference,
            ),
        })
    }

    fn resolve_url(&self, link: &str) -> Result<Url, LinkProblem> {
        let server = &self.inner.server;
        let link = strip_uri_template(link.trim());
        let invalid =
            |err: url::ParseError| LinkProblem::Invalid(format!("not a valid link: {err}"));
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
            let url = Url::parse(&absolute).map_err(invalid)?;
            let origin = origin_url(server)
                .ok_or_else(|| LinkProblem::Invalid("the server URL has no origin".to_owned()))?;
            if let Some(difference) = origin_difference(&origin, &url) {
                return Err(LinkProblem::OtherOrigin {
                    target: url,
                    difference,
                });
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
        Url::parse(&format!("{}{full_path}", server.origin())).map_err(invalid)
    }
}

/// A whole URL for messages: no user info, secret query values redacted.
pub(super) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    redact_query_secrets(shown.as_str())
}

/// Path and query of a URL for messages, with secret query values redacted.
pub(super) fn display_path(url: &Url) -> String {
    let mut shown = url.path().to_owned();
    if let Some(query) = url.query() {
        shown.push('?');
        shown.push_str(query);
    }
    redact_query_secrets(&shown)
}

pub(super) fn starts_with_base_path(path: &str, base_path: &str) -> bool {
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
pub(super) fn strip_uri_template(link: &str) -> String {
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
    use crate::{Credentials, ServerUrl};

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
    fn links_to_another_origin_are_refused_naming_the_difference() {
        let client = client("https://h/octopus");
        for (link, difference) in [
            (
                "https://evil.example/api/spaces",
                "host evil.example instead of h",
            ),
            ("//evil.example/api", "host evil.example instead of h"),
            ("http://h/api", "scheme http instead of https"),
            ("https://h:8443/octopus/api", "port 8443 instead of 443"),
        ] {
            let err = client.resolve(&Method::GET, link).unwrap_err();
            let ApiError::OtherOrigin {
                difference: found, ..
            } = &err
            else {
                panic!("{link}: {err:?}");
            };
            assert_eq!(found, difference, "{link}");
        }
        let from = Url::parse("https://h/octopus/api/spaces?skip=0&take=30").unwrap();
        let err = client
            .resolve_link(
                &Method::GET,
                &from,
                "Page.Next",
                "https://h:8443/api/spaces?skip=30",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /octopus/api/spaces?skip=0&take=30 returned a Page.Next link to https://h:8443/api/spaces?skip=30, another origin (port 8443 instead of 443): nothing was sent there, credentials only ever go to https://h; if that is the Octopus Server, use its address as the server URL"
        );
        assert!(err.is_unreachable());
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
}
