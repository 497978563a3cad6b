//! The flags every octoshare binary shares, and turning them into a connected client.

use crate::duration::parse_duration;
use crate::exit::ExitError;
use crate::output::OutputMode;
use crate::shutdown::Shutdown;
use octoshare_core::{Client, ClientBuilder, Credentials, RetryPolicy, Secret, ServerUrl};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest `--ca-cert` file read: 4 MiB (a full public CA bundle is about 0.2 MiB).
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

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

    /// Extra trusted root certificate (PEM) for servers with a private CA, or the server's own self-signed certificate; TLS is always verified
    #[arg(
        long,
        env = "OCTOPUS_CA_CERT",
        value_name = "PATH",
        global = true,
        value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from)
    )]
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

    /// Keep the number of requests in flight at --concurrency instead of adapting it to the
    /// server's 429/503/418 answers and timeouts; each request then waits only for its own
    /// Retry-After (the behaviour before adaptation, for benchmark comparisons)
    #[arg(long, hide = true, global = true)]
    pub fixed_concurrency: bool,

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

    /// Validates the connection flags into a client builder (callers may add `read_only()`);
    /// the client is cancelled by `shutdown` (the first SIGINT/SIGTERM). The CA file is read
    /// (bounded) and its certificates are checked when the client is built, before any request.
    pub fn client_builder(&self, shutdown: &Shutdown) -> anyhow::Result<ClientBuilder> {
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
            .user_agent(concat!("octoshare/", env!("CARGO_PKG_VERSION")))
            .cancellation(shutdown.token());
        if self.fixed_concurrency {
            builder = builder.fixed_concurrency();
        }
        // An empty OCTOPUS_CA_CERT is unset, like an empty OCTOPUS_URL.
        if let Some(path) = self
            .ca_cert
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
        {
            builder = builder.ca_certificate_pem(read_ca_file(path)?);
        }
        Ok(builder)
    }

    /// A connected client (nothing is sent until the first request), cancelled by `shutdown`.
    pub fn client(&self, shutdown: &Shutdown) -> anyhow::Result<Client> {
        Ok(self.client_builder(shutdown)?.build()?)
    }
}

/// The largest secret file read (`--api-key-file`, a webhook token file): 64 KiB, far more than
/// any key or token.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// `--api-key-file`: the API key read from a file, for services that get their secrets as files
/// (systemd's `LoadCredential=`, Kubernetes secrets mounted as volumes) rather than in the
/// environment or on a command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApiKeyFileArgs {
    /// Read the API key from this file (read once, surrounding whitespace trimmed), e.g. $CREDENTIALS_DIRECTORY/octopus-api-key
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
}

impl ApiKeyFileArgs {
    /// `common` with the API key read from `--api-key-file` when it is given. A file that
    /// cannot be read, is empty or larger than [`MAX_SECRET_FILE_BYTES`], or a key also given
    /// by `--api-key`/`OCTOPUS_API_KEY` or an access token, is a usage error (2); the key itself
    /// is never part of a message.
    pub fn apply(&self, common: &CommonArgs) -> Result<CommonArgs, ExitError> {
        let Some(path) = &self.api_key_file else {
            return Ok(common.clone());
        };
        if non_empty(common.api_key.as_deref()).is_some()
            || non_empty(common.access_token.as_deref()).is_some()
        {
            return Err(ExitError::usage(
                "--api-key-file and a key or token in OCTOPUS_API_KEY/--api-key or OCTOPUS_ACCESS_TOKEN/--access-token were both given: keep one",
            ));
        }
        let key = read_secret_file(path, "--api-key-file")?;
        let mut common = common.clone();
        common.api_key = Some(key);
        Ok(common)
    }
}

/// Reads a secret from a file given by `flag`: at most [`MAX_SECRET_FILE_BYTES`], UTF-8,
/// surrounding whitespace (a trailing newline) trimmed, not empty. Failures are usage errors
/// naming the file, never its content.
pub fn read_secret_file(path: &Path, flag: &str) -> Result<String, ExitError> {
    let cannot = |reason: &str| {
        ExitError::usage(format!("cannot use {} ({flag}): {reason}", path.display()))
    };
    if path.is_dir() {
        return Err(cannot(
            "it is a directory, give the file holding the secret",
        ));
    }
    let file = std::fs::File::open(path).map_err(|error| cannot(&error.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| cannot(&error.to_string()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(cannot(
            "it is larger than 64 KiB, more than any key or token",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| cannot("it is not UTF-8 text"))?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(cannot("it is empty"));
    }
    Ok(secret.to_owned())
}

/// Reads the `--ca-cert` file, at most [`MAX_CA_FILE_BYTES`]: a usage error (2) otherwise.
fn read_ca_file(path: &Path) -> Result<Vec<u8>, ExitError> {
    let cannot = |reason: String| {
        ExitError::usage(format!(
            "cannot use the CA certificate file {}: {reason}; pass a PEM file with --ca-cert or OCTOPUS_CA_CERT",
            path.display()
        ))
    };
    if path.is_dir() {
        return Err(cannot("it is a directory".to_owned()));
    }
    let file = std::fs::File::open(path).map_err(|error| cannot(error.to_string()))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|error| cannot(error.to_string()))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(cannot(format!(
            "it is larger than {} MiB, more than any certificate bundle",
            MAX_CA_FILE_BYTES / (1024 * 1024)
        )));
    }
    Ok(pem)
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Args {
        #[command(flatten)]
        common: CommonArgs,
    }

    fn parse(args: &[&str]) -> CommonArgs {
        Args::try_parse_from(
            ["test", "--server", "https://h", "--api-key", "API-K"]
                .iter()
                .chain(args),
        )
        .unwrap()
        .common
    }

    #[test]
    fn an_empty_ca_cert_is_unset() {
        let common = parse(&["--ca-cert", ""]);
        assert_eq!(common.ca_cert.as_deref(), Some(Path::new("")));
        common.client(&Shutdown::new()).unwrap();
    }

    #[test]
    fn unusable_ca_files_are_usage_errors() {
        let dir = tempfile_dir();
        let missing = dir.join("missing.pem");
        for (path, reason) in [
            (dir.clone(), "it is a directory"),
            (missing, "No such file"),
            (PathBuf::from("/dev/zero"), "larger than 4 MiB"),
        ] {
            let error = parse(&["--ca-cert", path.to_str().unwrap()])
                .client(&Shutdown::new())
                .unwrap_err();
            let exit_error = error.downcast_ref::<ExitError>().expect("an ExitError");
            assert_eq!(exit_error.exit, Exit::Usage, "{error}");
            assert!(exit_error.message.contains(reason), "{error}");
        }
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let error = parse(&["--ca-cert", not_pem.to_str().unwrap()])
            .client(&Shutdown::new())
            .unwrap_err();
        assert_eq!(crate::exit::exit_for_error(&error), Exit::Usage, "{error}");
    }

    #[test]
    fn the_client_is_cancelled_by_the_shutdown() {
        let shutdown = Shutdown::new();
        let client = parse(&[]).client(&shutdown).unwrap();
        shutdown.request();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let error = runtime
            .block_on(client.spaces().all())
            .expect_err("a cancelled client sends nothing");
        assert!(error.is_interrupted(), "{error}");
        assert_eq!(client.request_counts().total(), 0);
    }

    #[test]
    fn the_api_key_file_is_read_once_and_trimmed() {
        let dir = tempfile_dir();
        let key_file = dir.join("octopus-api-key");
        std::fs::write(&key_file, "  API-FROMFILE0000000000000000\n").unwrap();
        let args = ApiKeyFileArgs {
            api_key_file: Some(key_file.clone()),
        };
        let bare = Args::try_parse_from(["test", "--server", "https://h"])
            .unwrap()
            .common;
        let common = args.apply(&bare).unwrap();
        assert_eq!(
            common.api_key.as_deref(),
            Some("API-FROMFILE0000000000000000")
        );
        let error = args.apply(&parse(&[])).unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        assert!(!error.message.contains("API-K"), "{}", error.message);

        let empty = dir.join("empty-key");
        std::fs::write(&empty, " \n").unwrap();
        for (path, reason) in [
            (empty, "it is empty"),
            (dir.join("missing-key"), "No such file"),
            (dir.clone(), "it is a directory"),
            (PathBuf::from("/dev/zero"), "larger than 64 KiB"),
        ] {
            let error = ApiKeyFileArgs {
                api_key_file: Some(path.clone()),
            }
            .apply(&bare)
            .unwrap_err();
            assert_eq!(error.exit, Exit::Usage, "{path:?}");
            assert!(error.message.contains(reason), "{}", error.message);
            assert!(
                error.message.contains("--api-key-file"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn the_limit_adapts_unless_the_hidden_flag_fixes_it() {
        let adaptive = parse(&[]).client(&Shutdown::new()).unwrap().concurrency();
        assert!(adaptive.adaptive);
        let fixed = parse(&["--fixed-concurrency"])
            .client_builder(&Shutdown::new())
            .unwrap()
            .concurrency(7)
            .build()
            .unwrap()
            .concurrency();
        assert_eq!((fixed.adaptive, fixed.ceiling, fixed.limit), (false, 7, 7));
        let mut help = Vec::new();
        <Args as clap::CommandFactory>::command()
            .write_long_help(&mut help)
            .unwrap();
        assert!(
            !String::from_utf8(help)
                .unwrap()
                .contains("fixed-concurrency")
        );
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("octoshare-cli-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
