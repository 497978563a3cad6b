//! `octoshare retire`: takes a worker out of every space without breaking a running deployment:
//! disable its registrations everywhere, wait until no task holds them, delete them (the
//! `octoshare-retire` library; this module is its flags and wiring).
//!
//! What is retired, exactly one of:
//! - `--worker NAME`: the endpoint(s) the worker named NAME has in the spaces where a worker of
//!   that name is found (name rule: trimmed, case-insensitive, an exact match wins). Every
//!   registration of those endpoints goes, in every space, whatever its name there.
//! - `--thumbprint THUMB`: every registration whose endpoint holds that Tentacle certificate
//!   (polling and listening Tentacles, Kubernetes agents).
//! - `--this-machine`: `--thumbprint` of the Tentacle on this machine, read with
//!   `Tentacle show-thumbprint` (or from `--tentacle-config`).
//!
//! `--worker-pool NAME` narrows the search to the spaces having that pool (found as
//! `octoshare-discover` finds them); without it every space the key can read is searched.

use octoshare_cli::duration::parse_duration;
use octoshare_cli::flags::ConcurrencyArgs;
use octoshare_cli::render::retire::{self as render, RetireRenderer};
use octoshare_cli::{ApiKeyFileArgs, CommonArgs, Ending, ExitError, OutputMode, run_local};
use octoshare_core::Client;
use octoshare_core::domain::SpaceRef;
use octoshare_discover::{DiscoverConfig, discover};
use octoshare_retire::this_machine::{
    DEFAULT_TENTACLE_INSTANCE, DEFAULT_TENTACLE_PATH, SHOW_THUMBPRINT_TIMEOUT,
    thumbprint_from_config, thumbprint_from_tentacle,
};
use octoshare_retire::{RetireConfig, RetireScope, WorkerSelector, retire};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The exit codes, as `octoshare retire --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 retired, or nothing to retire; 2 usage error (or \
the local Tentacle's thumbprint cannot be read); 3 no space has --worker-pool; 4 the drain timed \
out: a task still holds a registration, left disabled; 5 some spaces or registrations failed (the \
rest was done); 6 credentials or permission refused (WorkerEdit, TaskCancel); 7 server \
unreachable; 130/143 interrupted (run it again to finish).";

/// Flags of `octoshare retire` (the connection and output flags are [`CommonArgs`]).
#[derive(Debug, Clone, clap::Args)]
#[command(group(
    // Not `required`: the missing case gets one line naming the three flags (into_request).
    clap::ArgGroup::new("what").args(["worker", "thumbprint", "this_machine"]),
))]
pub struct RetireArgs {
    /// Retire the endpoint(s) of the worker named NAME, in every space it is registered in (whatever its name there)
    #[arg(long, value_name = "NAME", help_heading = "What to retire")]
    pub worker: Option<String>,

    /// Retire every registration of the Tentacle with this certificate thumbprint (40 hexadecimal digits)
    #[arg(long, value_name = "THUMBPRINT", help_heading = "What to retire")]
    pub thumbprint: Option<String>,

    /// Retire the Tentacle installed on this machine (its thumbprint from `Tentacle show-thumbprint`)
    #[arg(long, help_heading = "What to retire")]
    pub this_machine: bool,

    /// The Tentacle executable --this-machine runs [default: /opt/octopus/tentacle/Tentacle, else Tentacle on PATH]
    #[arg(long, value_name = "PATH", help_heading = "What to retire")]
    pub tentacle_path: Option<PathBuf>,

    /// The Tentacle instance --this-machine asks [default: Tentacle]
    #[arg(long, value_name = "NAME", help_heading = "What to retire")]
    pub tentacle_instance: Option<String>,

    /// Read the thumbprint from this Tentacle instance configuration file instead of running Tentacle
    #[arg(long, value_name = "FILE", help_heading = "What to retire")]
    pub tentacle_config: Option<PathBuf>,

    /// Only search the spaces having this worker pool (trimmed, case-insensitive)
    #[arg(long, value_name = "NAME")]
    pub worker_pool: Option<String>,

    /// How long to wait for the tasks holding the registrations to finish, e.g. 30m
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// The longest pause between two lease polls (they start 1s apart and back off to it)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// After the drain timeout, cancel the tasks still holding a registration and delete it anyway
    #[arg(long, conflicts_with = "dry_run")]
    pub force: bool,

    /// Only read (GET): list the registrations and the tasks holding them now
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,

    // --api-key-file: the shutdown unit reads the key from a root-only file.
    #[command(flatten)]
    pub key_file: ApiKeyFileArgs,
}

/// Where `--this-machine` reads the thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThisMachineSource {
    /// `Tentacle show-thumbprint --instance NAME --nologo`.
    Tentacle {
        /// The executable.
        path: PathBuf,
        /// The instance.
        instance: String,
    },
    /// The instance configuration file.
    Config(PathBuf),
}

/// What the flags name, before `--this-machine` is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Known from the flags.
    Selector(WorkerSelector),
    /// The local Tentacle's thumbprint.
    ThisMachine(ThisMachineSource),
}

/// A validated `octoshare retire`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetireRequest {
    /// What to retire.
    pub target: Target,
    /// The pool whose spaces are searched (`None`: every space).
    pub worker_pool: Option<String>,
    /// How (its selector is replaced once the target is known).
    pub config: RetireConfig,
}

impl RetireArgs {
    /// Validates the flags once, before any request (usage errors, exit code 2).
    pub fn into_request(self) -> Result<RetireRequest, ExitError> {
        if !self.this_machine {
            let tentacle_flags = [
                ("--tentacle-path", self.tentacle_path.is_some()),
                ("--tentacle-instance", self.tentacle_instance.is_some()),
                ("--tentacle-config", self.tentacle_config.is_some()),
            ];
            if let Some((flag, _)) = tentacle_flags.iter().find(|(_, given)| *given) {
                return Err(ExitError::usage(format!(
                    "{flag} only applies to --this-machine: add --this-machine, or leave {flag} out"
                )));
            }
        }
        if self.tentacle_config.is_some()
            && (self.tentacle_path.is_some() || self.tentacle_instance.is_some())
        {
            return Err(ExitError::usage(
                "--tentacle-config reads the thumbprint from the file without running Tentacle: leave out --tentacle-path and --tentacle-instance",
            ));
        }
        let target = match (self.worker, self.thumbprint, self.this_machine) {
            (Some(name), None, false) => {
                let name = name.trim();
                if name.is_empty() {
                    return Err(ExitError::usage(
                        "--worker is empty: give the worker's name, e.g. --worker aws-tf-worker-01",
                    ));
                }
                Target::Selector(WorkerSelector::Name(name.to_owned()))
            }
            (None, Some(thumbprint), false) => {
                Target::Selector(WorkerSelector::Thumbprint(thumbprint_flag(&thumbprint)?))
            }
            (None, None, true) => Target::ThisMachine(match self.tentacle_config {
                Some(path) => ThisMachineSource::Config(path),
                None => ThisMachineSource::Tentacle {
                    path: self.tentacle_path.unwrap_or_else(default_tentacle_path),
                    instance: nonblank(
                        self.tentacle_instance
                            .as_deref()
                            .unwrap_or(DEFAULT_TENTACLE_INSTANCE),
                        "--tentacle-instance",
                    )?,
                },
            }),
            _ => {
                return Err(ExitError::usage(
                    "nothing to retire named: give exactly one of --worker NAME, --thumbprint THUMBPRINT and --this-machine",
                ));
            }
        };
        let worker_pool = match self.worker_pool {
            None => None,
            Some(pool) => Some(nonblank(&pool, "--worker-pool")?),
        };
        if self.poll_interval.is_zero() {
            return Err(ExitError::usage(
                "--poll-interval must be more than 0s, e.g. --poll-interval 10s",
            ));
        }
        let mut config = RetireConfig::new(WorkerSelector::Name(String::new()));
        config.drain_timeout = self.drain_timeout;
        config.poll_interval = self.poll_interval;
        config.force = self.force;
        config.dry_run = self.dry_run;
        config.concurrency = self.concurrency.concurrency()?;
        Ok(RetireRequest {
            target,
            worker_pool,
            config,
        })
    }
}

fn nonblank(value: &str, flag: &str) -> Result<String, ExitError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ExitError::usage(format!("{flag} is empty")));
    }
    Ok(trimmed.to_owned())
}

/// A certificate thumbprint as Tentacle prints it: 40 hexadecimal digits (any case, spaces and
/// colons between pairs allowed, as some tools print them).
fn thumbprint_flag(text: &str) -> Result<String, ExitError> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.len() == 40 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(digits.to_ascii_uppercase())
    } else {
        Err(ExitError::usage(format!(
            "--thumbprint '{}' is not a certificate thumbprint: give the 40 hexadecimal digits `Tentacle show-thumbprint` prints",
            text.trim()
        )))
    }
}

/// `/opt/octopus/tentacle/Tentacle` when it exists, else `Tentacle` (looked up on `PATH`).
fn default_tentacle_path() -> PathBuf {
    let installed = Path::new(DEFAULT_TENTACLE_PATH);
    if installed.exists() {
        installed.to_path_buf()
    } else {
        PathBuf::from("Tentacle")
    }
}

/// Runs `octoshare retire`.
pub fn command(args: RetireArgs, common: &CommonArgs) -> ExitCode {
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        let common = args.key_file.apply(common)?;
        let request = args.into_request()?;
        let mut builder = common
            .client_builder(&shutdown)?
            .concurrency(request.config.concurrency);
        if request.config.dry_run {
            // A dry run cannot write: the client refuses POST/PUT/DELETE before sending.
            builder = builder.read_only();
        }
        let client = builder.build()?;
        let mut config = request.config;
        config.selector = match request.target {
            Target::Selector(selector) => selector,
            Target::ThisMachine(source) => {
                let thumbprint = match source {
                    ThisMachineSource::Config(path) => thumbprint_from_config(&path),
                    ThisMachineSource::Tentacle { path, instance } => {
                        thumbprint_from_tentacle(&path, &instance, SHOW_THUMBPRINT_TIMEOUT).await
                    }
                }
                .map_err(|error| render::this_machine_error(&error))?;
                emitter.info(&format!(
                    "this machine's Tentacle has thumbprint {thumbprint}"
                ));
                WorkerSelector::Thumbprint(thumbprint)
            }
        };
        let scope = scope(&client, request.worker_pool.as_deref(), config.concurrency).await?;
        let outcome = retire(
            &client,
            &scope,
            &config,
            &mut RetireRenderer::new(emitter),
            &shutdown.token(),
        )
        .await?;
        render::finished(emitter, &outcome);
        render::set_outputs(emitter, &outcome);
        let result = render::conclude(&outcome);
        // Every request of the command: the search for --worker-pool's spaces included.
        let document = render::document(outcome, client.request_counts());
        Ok(Ending::new(document, result))
    })
}

/// Every space, or the spaces having `worker_pool` (as discover finds them: exit 3 when none).
async fn scope(
    client: &Client,
    worker_pool: Option<&str>,
    concurrency: usize,
) -> Result<RetireScope, ExitError> {
    let Some(worker_pool) = worker_pool else {
        return Ok(RetireScope::AllSpaces);
    };
    let mut config = DiscoverConfig::new(worker_pool);
    config.concurrency = concurrency;
    // Discover's own failures: "no space has a worker pool named ...: check --worker-pool".
    let outcome = discover(client, &config, &mut ()).await?;
    let spaces: Vec<SpaceRef> = outcome
        .qualifying()
        .iter()
        .map(|target| target.space.clone())
        .collect();
    Ok(RetireScope::Spaces(spaces))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        retire: RetireArgs,
    }

    fn parse(args: &[&str]) -> Result<RetireRequest, String> {
        let cli = Cli::try_parse_from(std::iter::once("retire").chain(args.iter().copied()))
            .map_err(|error| error.kind().to_string())?;
        cli.retire.into_request().map_err(|error| error.message)
    }

    #[test]
    fn exactly_one_target_is_required() {
        assert!(
            parse(&[])
                .unwrap_err()
                .starts_with("nothing to retire named")
        );
        assert!(parse(&["--worker", "a", "--thumbprint", "b"]).is_err());
        let error = parse(&["--worker", "a", "--tentacle-config", "/x"]).unwrap_err();
        assert!(
            error.starts_with("--tentacle-config only applies to --this-machine"),
            "{error}"
        );
        let thumbprint = "A".repeat(40);
        let error = parse(&["--thumbprint", &thumbprint, "--tentacle-instance", "T"]).unwrap_err();
        assert!(
            error.starts_with("--tentacle-instance only applies"),
            "{error}"
        );
        assert!(
            parse(&[
                "--this-machine",
                "--tentacle-config",
                "/x",
                "--tentacle-path",
                "/t"
            ])
            .is_err()
        );
        let request = parse(&["--worker", " vm-1 "]).unwrap();
        assert_eq!(
            request.target,
            Target::Selector(WorkerSelector::Name("vm-1".into()))
        );
        assert_eq!(request.config.drain_timeout, Duration::from_secs(1800));
    }

    #[test]
    fn thumbprints_are_checked_and_normalised() {
        let request = parse(&[
            "--thumbprint",
            "8a:9f:3b:6d:2c:7e:1f:0a:4b:5c:6d:7e:8f:9a:0b:1c:2d:3e:4f:5a",
        ])
        .unwrap();
        assert_eq!(
            request.target,
            Target::Selector(WorkerSelector::Thumbprint(
                "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A".into()
            ))
        );
        let error = parse(&["--thumbprint", "abc"]).unwrap_err();
        assert!(error.starts_with("--thumbprint 'abc' is not a certificate thumbprint"));
    }

    #[test]
    fn this_machine_reads_tentacle_or_its_configuration() {
        let request = parse(&[
            "--this-machine",
            "--tentacle-path",
            "/usr/bin/Tentacle",
            "--tentacle-instance",
            "Worker",
        ])
        .unwrap();
        assert_eq!(
            request.target,
            Target::ThisMachine(ThisMachineSource::Tentacle {
                path: "/usr/bin/Tentacle".into(),
                instance: "Worker".into()
            })
        );
        let request = parse(&["--this-machine", "--tentacle-config", "/etc/t.config"]).unwrap();
        assert_eq!(
            request.target,
            Target::ThisMachine(ThisMachineSource::Config("/etc/t.config".into()))
        );
    }

    #[test]
    fn force_and_dry_run_exclude_each_other_and_polls_need_a_pause() {
        assert!(parse(&["--worker", "a", "--force", "--dry-run"]).is_err());
        let error = parse(&["--worker", "a", "--poll-interval", "0s"]).unwrap_err();
        assert!(error.starts_with("--poll-interval must be more than 0s"));
        assert!(parse(&["--worker", "  "]).is_err());
        assert!(parse(&["--worker", "a", "--worker-pool", " "]).is_err());
    }
}
