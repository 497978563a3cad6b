//! Credentials (API key or bearer access token) and the `Secret` wrapper that keeps them out of logs.

use std::fmt;

/// A secret string (API key or access token).
///
/// It has no `Display` implementation and its `Debug` output is `Secret([redacted])`, so it
/// cannot end up in a log line or an error message by accident. Use [`Secret::expose`] at the
/// one place that needs the value (the HTTP header).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// Returns the secret value. Only the HTTP layer should need this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (after trimming whitespace).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// The kind of credentials, for messages: `Display` gives `API key` or `access token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An Octopus API key (`X-Octopus-ApiKey`).
    ApiKey,
    /// A bearer access token (`Authorization: Bearer`).
    AccessToken,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ApiKey => "API key",
            Self::AccessToken => "access token",
        })
    }
}

/// How the client authenticates.
///
/// An empty secret sends no credentials at all (the server then answers 401, which the
/// client reports as missing credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Sent as the `X-Octopus-ApiKey` header.
    ApiKey(Secret),
    /// Sent as `Authorization: Bearer <token>`.
    AccessToken(Secret),
}

impl Credentials {
    /// Convenience constructor for [`Credentials::ApiKey`].
    pub fn api_key(key: impl Into<String>) -> Self {
        Self::ApiKey(Secret::new(key.into()))
    }

    /// Convenience constructor for [`Credentials::AccessToken`].
    pub fn access_token(token: impl Into<String>) -> Self {
        Self::AccessToken(Secret::new(token.into()))
    }

    /// The secret inside, whichever kind it is.
    pub fn secret(&self) -> &Secret {
        match self {
            Self::ApiKey(secret) | Self::AccessToken(secret) => secret,
        }
    }

    /// Which kind of credentials these are.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Self::ApiKey(_) => CredentialKind::ApiKey,
            Self::AccessToken(_) => CredentialKind::AccessToken,
        }
    }

    /// Human name of the credential kind, for messages: `API key` or `access token`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "API key",
            Self::AccessToken(_) => "access token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let credentials = Credentials::api_key("API-CANARY123");
        let debug = format!("{credentials:?} {:?}", credentials.secret());
        assert!(!debug.contains("CANARY"), "{debug}");
        assert!(debug.contains("Secret([redacted])"));
    }

    #[test]
    fn kind_names() {
        assert_eq!(Credentials::api_key("k").kind_name(), "API key");
        assert_eq!(Credentials::api_key("k").kind(), CredentialKind::ApiKey);
        assert_eq!(
            Credentials::access_token("t").kind().to_string(),
            "access token"
        );
    }
}
