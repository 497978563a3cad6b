//! The webhook's shared secret: read once (from a file or the environment), compared in
//! constant time, never shown.

use std::fmt;
use std::path::Path;

use octoshare_cli::ExitError;
use octoshare_cli::args::read_secret_file;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The header an Octopus subscription sends the secret in (its "header key").
pub const TOKEN_HEADER: &str = "X-OctoShare-Webhook-Token";

/// The environment variable holding the secret when no file is given.
pub const TOKEN_ENV: &str = "OCTOSHARE_WEBHOOK_TOKEN";

/// The webhook secret. Only its SHA-256 digest is kept: a request's header is hashed and the
/// two digests compared in constant time, so neither the secret's bytes nor its length show in
/// how long a refusal takes. `Debug` shows nothing.
#[derive(Clone)]
pub struct WebhookToken {
    digest: [u8; 32],
}

impl fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookToken(..)")
    }
}

impl WebhookToken {
    /// A token from its text (trimmed; `None` when blank).
    pub fn new(secret: &str) -> Option<WebhookToken> {
        let secret = secret.trim();
        if secret.is_empty() {
            return None;
        }
        Some(WebhookToken {
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// The configured secret: the file when given (a usage error when it cannot be read or is
    /// empty), else the environment variable's value (blank: none), else none.
    pub fn configured(
        file: Option<&Path>,
        environment: Option<&str>,
    ) -> Result<Option<WebhookToken>, ExitError> {
        match file {
            Some(path) => {
                let secret = read_secret_file(path, "--webhook-token-file")?;
                Ok(WebhookToken::new(&secret))
            }
            None => Ok(environment.and_then(WebhookToken::new)),
        }
    }

    /// Whether `given` (a request header's bytes) is the secret, in constant time.
    pub fn matches(&self, given: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(given).into();
        bool::from(self.digest.ct_eq(&digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        let token = WebhookToken::new("  s3cret-token\n").unwrap();
        assert!(token.matches(b"s3cret-token"));
        for wrong in [
            &b""[..],
            b"s3cret-toke",
            b"s3cret-token ",
            b"S3CRET-TOKEN",
            b"x",
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        assert!(WebhookToken::new(" \n").is_none());
        assert_eq!(format!("{token:?}"), "WebhookToken(..)");
    }

    #[test]
    fn the_file_wins_over_the_environment() {
        let dir = std::env::temp_dir().join(format!("octoshare-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let token = WebhookToken::configured(Some(&file), Some("from-env"))
            .unwrap()
            .unwrap();
        assert!(token.matches(b"from-file"));
        let token = WebhookToken::configured(None, Some("from-env"))
            .unwrap()
            .unwrap();
        assert!(token.matches(b"from-env"));
        assert!(
            WebhookToken::configured(None, Some("  "))
                .unwrap()
                .is_none()
        );
        assert!(WebhookToken::configured(None, None).unwrap().is_none());
        let error = WebhookToken::configured(Some(&dir.join("missing")), None).unwrap_err();
        assert_eq!(error.exit, octoshare_cli::Exit::Usage);
        assert!(error.message.contains("--webhook-token-file"));
    }
}
