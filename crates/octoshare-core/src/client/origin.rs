//! The origin rule for redirects: credentials only ever go to the configured server.

use std::fmt;

use reqwest::redirect;
use url::Url;

use crate::server_url::ServerUrl;

/// Redirects followed per request before giving up (a redirect loop).
pub(super) const MAX_REDIRECTS: usize = 5;

/// Why the client refused to follow a redirect.
#[derive(Debug)]
pub(super) enum RedirectRefused {
    TooMany,
    OtherHost(String),
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMany => write!(
                f,
                "more than {MAX_REDIRECTS} redirects, probably a redirect loop: check the server URL and any proxy in front of Octopus"
            ),
            Self::OtherHost(host) => write!(
                f,
                "the server redirected to another host ({host}); credentials are never sent there: use that address as the server URL if it is the Octopus Server"
            ),
        }
    }
}

impl std::error::Error for RedirectRefused {}

/// Follows at most [`MAX_REDIRECTS`] redirects and only on the server's own host: custom
/// headers such as `X-Octopus-ApiKey` are not stripped by reqwest on cross-host redirects.
pub(super) fn redirect_policy(server: &ServerUrl) -> redirect::Policy {
    let (host, port) = match Url::parse(server.origin()) {
        Ok(origin) => (
            origin.host_str().unwrap_or_default().to_owned(),
            origin.port_or_known_default(),
        ),
        Err(_) => (String::new(), None),
    };
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused::TooMany);
        }
        let next = attempt.url();
        let same_host = next
            .host_str()
            .is_some_and(|next_host| next_host.eq_ignore_ascii_case(&host));
        let same_port = next.port_or_known_default() == port || next.scheme() == "https";
        if same_host && same_port {
            attempt.follow()
        } else {
            let other = next.host_str().unwrap_or("unknown host").to_owned();
            attempt.error(RedirectRefused::OtherHost(other))
        }
    })
}
