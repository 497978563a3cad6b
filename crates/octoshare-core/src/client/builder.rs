//! `ClientBuilder`: settings, TLS roots and the authentication header.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::OnceCell;

use super::origin::redirect_policy;
use super::paging::DEFAULT_MAX_PAGES;
use super::transport::describe_error_chain;
use super::{Client, Counters, Inner};
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::retry::RetryPolicy;
use crate::server_url::ServerUrl;

/// Builder for [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    server: ServerUrl,
    credentials: Credentials,
    request_timeout: Duration,
    retry_policy: RetryPolicy,
    ca_certificate_pem: Option<Vec<u8>>,
    read_only: bool,
    user_agent: String,
    max_pages: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("server", &self.server)
            .field("credentials", &self.credentials)
            .field("request_timeout", &self.request_timeout)
            .field("retry_policy", &self.retry_policy)
            .field("has_ca_certificate", &self.ca_certificate_pem.is_some())
            .field("read_only", &self.read_only)
            .field("user_agent", &self.user_agent)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}

impl ClientBuilder {
    pub(super) fn new(server: ServerUrl, credentials: Credentials) -> Self {
        Self {
            server,
            credentials,
            request_timeout: Duration::from_secs(30),
            retry_policy: RetryPolicy::default(),
            ca_certificate_pem: None,
            read_only: false,
            user_agent: format!("octoshare/{}", env!("CARGO_PKG_VERSION")),
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// Timeout of each HTTP request (connect, send and read the whole body); default 30 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Retry policy; default [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// An extra trusted root certificate (PEM, one or more certificates) for servers with a
    /// private CA. TLS is always verified.
    pub fn ca_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_certificate_pem = Some(pem);
        self
    }

    /// Makes every POST/PUT/DELETE fail with [`ApiError::ReadOnly`] before anything is sent
    /// (the dry-run guarantee).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The `User-Agent` header; default `octoshare/<version>`.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        user_agent.clone_into(&mut self.user_agent);
        self
    }

    /// The most pages `all_pages` reads before deciding the server is looping
    /// ([`ApiError::PagingLoop`]); default 10 000.
    pub fn max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`ApiError::InvalidCaCertificate`] for an unusable PEM and
    /// [`ApiError::InvalidCredentials`] for a secret that cannot be sent in a header.
    pub fn build(self) -> Result<Client, ApiError> {
        let auth_header = auth_header(&self.credentials)?;
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|_| ApiError::ClientSetup {
                reason: "the user agent contains characters that are not allowed in a header"
                    .to_owned(),
            })?;
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let mut http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout)
            .redirect(redirect_policy(&self.server))
            .user_agent(user_agent)
            .default_headers(default_headers);
        let has_ca_certificate = self.ca_certificate_pem.is_some();
        if let Some(pem) = &self.ca_certificate_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|err| {
                ApiError::InvalidCaCertificate {
                    reason: describe_error_chain(&err),
                }
            })?;
            if certificates.is_empty() {
                return Err(ApiError::InvalidCaCertificate {
                    reason: "no certificate found in the PEM data".to_owned(),
                });
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http.build().map_err(|err| {
            let reason = describe_error_chain(&err);
            if has_ca_certificate {
                ApiError::InvalidCaCertificate { reason }
            } else {
                ApiError::ClientSetup { reason }
            }
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                server: self.server,
                credentials: self.credentials,
                auth_header,
                retry_policy: self.retry_policy,
                read_only: self.read_only,
                max_pages: self.max_pages,
                counters: Counters::default(),
                spoke_octopus_api: AtomicBool::new(false),
                not_octopus: OnceCell::new(),
            }),
        })
    }
}

pub(super) fn auth_header(
    credentials: &Credentials,
) -> Result<Option<(HeaderName, HeaderValue)>, ApiError> {
    let secret = credentials.secret().expose().trim();
    if secret.is_empty() {
        return Ok(None);
    }
    let (name, value) = match credentials {
        Credentials::ApiKey(_) => (
            HeaderName::from_static("x-octopus-apikey"),
            secret.to_owned(),
        ),
        Credentials::AccessToken(_) => (AUTHORIZATION, format!("Bearer {secret}")),
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| ApiError::InvalidCredentials {
        what: credentials.kind_name().to_owned(),
        reason: format!(
            "it contains characters that cannot be sent in an HTTP header: check {}",
            credentials.env_var_name()
        ),
    })?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_ca_certificate_is_rejected() {
        for pem in [
            &b"not a certificate"[..],
            b"-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let err = Client::builder(
                ServerUrl::parse("https://h").unwrap(),
                Credentials::api_key("k"),
            )
            .ca_certificate_pem(pem.to_vec())
            .build()
            .unwrap_err();
            assert!(
                matches!(err, ApiError::InvalidCaCertificate { .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn credentials_with_control_characters_are_rejected_without_echoing_them() {
        let err = Client::builder(
            ServerUrl::parse("https://h").unwrap(),
            Credentials::api_key("API-SECRET\u{0}X"),
        )
        .build()
        .unwrap_err();
        assert!(matches!(err, ApiError::InvalidCredentials { .. }));
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }
}
