//! The origin rule: a request carrying credentials is only ever sent to the configured
//! server's origin (scheme, host and port, a default port counting as written out). Redirects
//! and links from the server that lead elsewhere are refused before anything is sent there.
//!
//! reqwest strips `Authorization` on a redirect to another host but keeps custom headers such
//! as `X-Octopus-ApiKey`, and it treats a scheme downgrade or another port on the same host as
//! the same place: so the client decides itself.

use std::fmt;

use reqwest::redirect;
use url::Url;

use crate::error::ApiError;
use crate::server_url::ServerUrl;

use super::Client;
use super::links::display_url;

/// Redirects followed per request before giving up (a redirect loop).
pub(super) const MAX_REDIRECTS: usize = 5;

/// Why the client refused to follow a redirect (the error inside reqwest's redirect error).
#[derive(Debug)]
pub(super) enum RedirectRefused {
    TooMany,
    OtherOrigin { status: u16, target: Url },
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMany => write!(
                f,
                "more than {MAX_REDIRECTS} redirects, probably a redirect loop: check the server URL and any proxy in front of Octopus"
            ),
            Self::OtherOrigin { status, target } => write!(
                f,
                "redirected ({status}) to another origin ({}); not followed",
                display_url(target)
            ),
        }
    }
}

impl std::error::Error for RedirectRefused {}

/// The server's origin as a URL (`scheme://host[:port]/`).
pub(super) fn origin_url(server: &ServerUrl) -> Option<Url> {
    Url::parse(server.origin()).ok()
}

/// Which parts of `target`'s origin differ from `origin`'s, e.g. `scheme http instead of
/// https`; `None` when the origins are the same (default ports normalised).
pub(super) fn origin_difference(origin: &Url, target: &Url) -> Option<String> {
    let mut parts = Vec::new();
    let scheme_differs = origin.scheme() != target.scheme();
    if scheme_differs {
        parts.push(format!(
            "scheme {} instead of {}",
            target.scheme(),
            origin.scheme()
        ));
    }
    let host = |url: &Url| url.host_str().unwrap_or("no host").to_ascii_lowercase();
    if host(origin) != host(target) {
        parts.push(format!("host {} instead of {}", host(target), host(origin)));
    }
    let port = |url: &Url| url.port_or_known_default();
    // https://h → http://h differs in the scheme; its default ports (443, 80) are no news.
    let only_default_ports = scheme_differs && origin.port().is_none() && target.port().is_none();
    if port(origin) != port(target) && !only_default_ports {
        let shown = |url: &Url| port(url).map_or_else(|| "none".to_owned(), |p| p.to_string());
        parts.push(format!(
            "port {} instead of {}",
            shown(target),
            shown(origin)
        ));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

impl Client {
    /// The error for a redirect or link to another origin: `referrer` says what pointed there.
    pub(super) fn other_origin(
        &self,
        referrer: String,
        target: &Url,
        difference: String,
    ) -> ApiError {
        let origin = self.inner.server.origin().to_owned();
        let downgrade = origin.starts_with("https:") && target.scheme() == "http";
        let advice = if downgrade {
            "a server reached over https must not send the client to http, which would expose the credentials: fix the redirect or link on the server or in the proxy in front of it"
        } else {
            "if that is the Octopus Server, use its address as the server URL"
        };
        ApiError::OtherOrigin {
            referrer: self.scrub(&referrer),
            target: self.scrub(&display_url(target)),
            difference,
            origin,
            advice: advice.to_owned(),
        }
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only within the server's origin.
pub(super) fn redirect_policy(server: &ServerUrl) -> redirect::Policy {
    let origin = origin_url(server);
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused::TooMany);
        }
        let same_origin = origin
            .as_ref()
            .is_some_and(|origin| origin_difference(origin, attempt.url()).is_none());
        if same_origin {
            attempt.follow()
        } else {
            let refused = RedirectRefused::OtherOrigin {
                status: attempt.status().as_u16(),
                target: attempt.url().clone(),
            };
            attempt.error(refused)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(origin: &str, target: &str) -> Option<String> {
        origin_difference(&Url::parse(origin).unwrap(), &Url::parse(target).unwrap())
    }

    #[test]
    fn same_origin_normalises_default_ports_and_case() {
        assert_eq!(difference("https://h", "https://h:443/api/x?y=1"), None);
        assert_eq!(difference("https://h:443", "https://H/api"), None);
        assert_eq!(difference("http://h:80", "http://h/api"), None);
        assert_eq!(
            difference("http://127.0.0.1:8065", "http://127.0.0.1:8065/a"),
            None
        );
    }

    #[test]
    fn each_differing_part_is_named() {
        assert_eq!(
            difference("https://h:8443", "http://h:8443/api").as_deref(),
            Some("scheme http instead of https")
        );
        assert_eq!(
            difference("https://h", "http://h/api").as_deref(),
            Some("scheme http instead of https")
        );
        assert_eq!(
            difference("https://h", "https://h:8443/api").as_deref(),
            Some("port 8443 instead of 443")
        );
        assert_eq!(
            difference("https://h", "https://evil.example/api").as_deref(),
            Some("host evil.example instead of h")
        );
        assert_eq!(
            difference("https://h:8443", "http://evil:80/").as_deref(),
            Some("scheme http instead of https, host evil instead of h, port 80 instead of 8443")
        );
    }
}
