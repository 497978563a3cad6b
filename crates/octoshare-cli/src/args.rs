//! The flags every octoshare binary shares, and turning them into a connected client.

use crate::duration::parse_duration;
use crate::exit::ExitError;
use crate::output::OutputMode;
use octoshare_core::{Client, ClientBuilder, Credentials, RetryPolicy, Secret, ServerUrl};
use std::path::PathBuf;
use std::time::Duration;

/// Connection, output and logging flags shared by every binary (docs/reference.md, "Common flags").
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Octopus Server base URL; a virtual directory (https://host/octopus/) and a trailing slash both work
    #[arg(long, env = "OCTOPUS_URL", value_name = "URL", global = true)]
    pub server: Option<String>,

    /// API key, sent as X-Octopus-ApiKey; prefer the environment variable, never printed
    #[arg(
        long,
        env = "OCTOPUS_API_KEY",
        value_name = "KEY",
        hide_env_values = true,
        global = true
    )]
    pub api_key: Option<String>,

    /// Access token, sent as "Authorization: Bearer"; alternative to the API key
    #[arg(
        long,
        env = "OCTOPUS_ACCESS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub access_token: Option<String>,

    /// Output: octopus (log lines + service messages), json (one document on stdout), text
    #[arg(long, value_enum, value_name = "MODE", global = true)]
    pub output: Option<OutputMode>,

    /// Extra trusted root certificate (PEM) for servers with a private CA; TLS is always verified
    #[arg(long, env = "OCTOPUS_CA_CERT", value_name = "PATH", global = true)]
    pub ca_cert: Option<PathBuf>,

    /// Timeout of each HTTP request, e.g. 30s
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, global = true)]
    pub request_timeout: Duration,

    /// Retries of retryable failures (connect errors, 408, 429, 5xx, 418), with exponential backoff
    #[arg(long, value_name = "N", default_value_t = 5, global = true)]
    pub max_retries: u32,

    /// Base delay of the retry backoff (doubles each attempt, with jitter; Retry-After wins)
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration, global = true)]
    pub retry_delay: Duration,

    /// More logging (-v, -vv)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Less logging (-q: warnings, outputs and errors only)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
}

impl CommonArgs {
    /// The output mode: the flag, else the binary's default.
    pub fn output_mode(&self, default: OutputMode) -> OutputMode {
        self.output.unwrap_or(default)
    }

    /// Validates the connection flags into a client builder (callers may add `read_only()`).
    pub fn client_builder(&self) -> anyhow::Result<ClientBuilder> {
        let server_text = non_empty(self.server.as_deref()).ok_or_else(|| {
            ExitError::usage("no Octopus server given: pass --server URL or set OCTOPUS_URL")
        })?;
        let server = ServerUrl::parse(server_text)?;
        let credentials = match (
            non_empty(self.api_key.as_deref()),
            non_empty(self.access_token.as_deref()),
        ) {
            (Some(key), None) => Credentials::ApiKey(Secret::new(key.to_owned())),
            (None, Some(token)) => Credentials::AccessToken(Secret::new(token.to_owned())),
            (Some(_), Some(_)) => {
                return Err(ExitError::usage(
                    "both an API key and an access token were given: keep one of OCTOPUS_API_KEY/--api-key and OCTOPUS_ACCESS_TOKEN/--access-token",
                )
                .into());
            }
            (None, None) => {
                return Err(ExitError::usage(
                    "no credentials given: set OCTOPUS_API_KEY (or pass --api-key), or OCTOPUS_ACCESS_TOKEN",
                )
                .into());
            }
        };
        if self.request_timeout.is_zero() {
            return Err(ExitError::usage("--request-timeout must be more than 0s").into());
        }
        let retry_policy = RetryPolicy {
            max_retries: self.max_retries,
            base_delay: self.retry_delay,
            ..RetryPolicy::default()
        };
        let mut builder = Client::builder(server, credentials)
            .request_timeout(self.request_timeout)
            .retry_policy(retry_policy)
            .user_agent(concat!("octoshare/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path).map_err(|error| {
                ExitError::usage(format!(
                    "cannot read the CA certificate {}: {error}",
                    path.display()
                ))
            })?;
            builder = builder.ca_certificate_pem(pem);
        }
        Ok(builder)
    }

    /// A connected client (nothing is sent until the first request).
    pub fn client(&self) -> anyhow::Result<Client> {
        Ok(self.client_builder()?.build()?)
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|text| !text.is_empty())
}
