//! The step flags, each declared once as a clap argument group and flattened into every binary
//! that takes it (the step binaries and `octoshare run`), with its validation next to it: a
//! group turns its raw values into the typed configuration the step libraries take.

use crate::duration::parse_duration;
use crate::exit::ExitError;
use octoshare_core::domain::DEFAULT_CONCURRENCY;
use octoshare_discover::{DiscoverConfig, FilterSide, PatternError, SpaceFilter};
use octoshare_share::{OnConflict, ShareOptions, ShareRequest, split_space_list};
use octoshare_wait::WaitConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--worker-pool`: the pool every step works on.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerPoolArgs {
    /// Worker pool shared across spaces, e.g. "AWS Worker Pool TF" (trimmed, case-insensitive; an exact match wins)
    #[arg(long, value_name = "NAME")]
    pub worker_pool: String,
}

impl WorkerPoolArgs {
    /// The pool name, trimmed; blank is a usage error.
    pub fn worker_pool(&self) -> Result<String, ExitError> {
        required(
            &self.worker_pool,
            "--worker-pool",
            "give the pool's name, e.g. --worker-pool 'AWS Worker Pool TF'",
        )
    }
}

/// Discover's own flags: which space is the initial one and which spaces are searched.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SpaceSearchArgs {
    /// Use this qualifying space (name or Id) as the initial space instead of the first one
    #[arg(long, value_name = "NAME|ID")]
    pub initial_space: Option<String>,

    /// Only search spaces whose name or Id matches this glob (case-insensitive; repeatable)
    #[arg(long = "include-space", value_name = "GLOB")]
    pub include_spaces: Vec<String>,

    /// Skip spaces whose name or Id matches this glob (case-insensitive; repeatable)
    #[arg(long = "exclude-space", value_name = "GLOB")]
    pub exclude_spaces: Vec<String>,
}

impl SpaceSearchArgs {
    /// The initial space asked for, trimmed (blank: none).
    pub fn initial_space(&self) -> Option<String> {
        self.initial_space
            .as_deref()
            .map(str::trim)
            .filter(|space| !space.is_empty())
            .map(str::to_owned)
    }

    /// The compiled globs; an invalid one is a usage error naming the flag and the pattern.
    pub fn filter(&self) -> Result<SpaceFilter, ExitError> {
        SpaceFilter::new(&self.include_spaces, &self.exclude_spaces).map_err(|error| {
            let flag = match error.side() {
                FilterSide::Include => "--include-space",
                FilterSide::Exclude => "--exclude-space",
            };
            ExitError::usage(match error {
                PatternError::Empty { .. } => format!(
                    "empty {flag} pattern: give a space name, an Id or a glob such as 'Team *'"
                ),
                PatternError::Invalid {
                    pattern, reason, ..
                } => {
                    format!("invalid {flag} pattern '{pattern}': {reason}: use * ? and [...] only")
                }
            })
        })
    }
}

/// `--concurrency`: how many spaces are read or written at once.
#[derive(Debug, Clone, clap::Args)]
pub struct ConcurrencyArgs {
    /// How many spaces to read (and share into) at once; also the most requests in flight (fewer while the server answers 429/503/418 or times out)
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_CONCURRENCY,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
    )]
    pub concurrency: usize,
}

impl Default for ConcurrencyArgs {
    fn default() -> ConcurrencyArgs {
        ConcurrencyArgs {
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

impl ConcurrencyArgs {
    /// The concurrency; 0 is a usage error.
    pub fn concurrency(&self) -> Result<usize, ExitError> {
        if self.concurrency == 0 {
            return Err(ExitError::usage("--concurrency must be at least 1"));
        }
        Ok(self.concurrency)
    }
}

/// The flags of `octoshare-discover`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub pool: WorkerPoolArgs,

    #[command(flatten)]
    pub search: SpaceSearchArgs,

    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,
}

impl DiscoverArgs {
    /// Validates the flags once (usage errors, exit code 2).
    pub fn into_config(self) -> Result<DiscoverConfig, ExitError> {
        discover_config(&self.pool, &self.search, &self.concurrency)
    }
}

/// The discovery the pool, search and concurrency groups ask for (shared by `octoshare-discover`
/// and `octoshare run`).
pub fn discover_config(
    pool: &WorkerPoolArgs,
    search: &SpaceSearchArgs,
    concurrency: &ConcurrencyArgs,
) -> Result<DiscoverConfig, ExitError> {
    Ok(DiscoverConfig {
        worker_pool: pool.worker_pool()?,
        initial_space: search.initial_space(),
        filter: search.filter()?,
        concurrency: concurrency.concurrency()?,
    })
}

/// How to wait: shared by `octoshare-wait` and `octoshare run` (which makes `--count` optional).
#[derive(Debug, Clone, clap::Args)]
pub struct WaitPollArgs {
    /// Give up after this long, e.g. 20m, 90s
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Time between the starts of two polls, e.g. 10s, 500ms
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Count only workers whose health is Healthy or HasWarnings
    #[arg(long)]
    pub healthy: bool,
}

impl WaitPollArgs {
    /// Refuses a zero poll interval (it would poll back to back), as a usage error.
    pub fn validate(&self) -> Result<(), ExitError> {
        if self.poll_interval.is_zero() {
            return Err(ExitError::usage(
                "--poll-interval must be more than 0s, e.g. --poll-interval 10s",
            ));
        }
        Ok(())
    }

    /// How to wait for `count` workers (`--count` must be at least 1).
    pub fn config(&self, count: u64) -> Result<WaitConfig, ExitError> {
        if count == 0 {
            return Err(ExitError::usage("--count must be at least 1"));
        }
        self.validate()?;
        Ok(WaitConfig {
            count,
            timeout: self.timeout,
            poll_interval: self.poll_interval,
            healthy_only: self.healthy,
        })
    }
}

/// The flags of `octoshare-wait`.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Space holding the pool (name or Id), usually the discover step's InitialSpaceId
    #[arg(long, value_name = "NAME|ID")]
    pub space: String,

    #[command(flatten)]
    pub pool: WorkerPoolArgs,

    /// How many workers the pool must hold (at least)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,

    #[command(flatten)]
    pub polling: WaitPollArgs,
}

/// A validated `octoshare-wait`: what to look up, and how to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitRequest {
    /// The space (name or Id, trimmed).
    pub space: String,
    /// The pool name (trimmed).
    pub worker_pool: String,
    /// How to wait.
    pub config: WaitConfig,
}

impl WaitArgs {
    /// Validates the flags once (exit code 2 on failure): non-blank space and pool, a count of at
    /// least 1, a poll interval above zero.
    pub fn into_request(self) -> Result<WaitRequest, ExitError> {
        let space = required(
            &self.space,
            "--space",
            "give the space's name or Id, e.g. --space Spaces-1",
        )?;
        let worker_pool = self.pool.worker_pool()?;
        Ok(WaitRequest {
            space,
            worker_pool,
            config: self.polling.config(self.count)?,
        })
    }
}

/// `--on-conflict`: what to do with a stale registration holding a worker's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnConflictMode {
    /// Update the stale registration in place: the source worker's endpoint, and the target pool
    /// added to its pools.
    #[default]
    Replace,
    /// Leave the stale registration alone and report a conflict (a warning, not a failure).
    Skip,
}

impl From<OnConflictMode> for OnConflict {
    fn from(mode: OnConflictMode) -> OnConflict {
        match mode {
            OnConflictMode::Replace => OnConflict::Replace,
            OnConflictMode::Skip => OnConflict::Skip,
        }
    }
}

/// How to share: shared by `octoshare-share` and `octoshare run`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShareOptionsArgs {
    /// Machine policy (by name) of the workers created in other spaces; default: each space's default policy
    #[arg(long, value_name = "NAME")]
    pub machine_policy: Option<String>,

    /// Only read (GET) and print the plan: what would be created, updated, pruned and why
    #[arg(long)]
    pub dry_run: bool,

    /// Also delete, in the other spaces' pools, shared workers (any kind) no longer in the source pool that are not healthy
    #[arg(long)]
    pub prune: bool,

    /// A worker name taken in a space by a stale registration: replace its endpoint, or skip it
    #[arg(long, value_enum, value_name = "MODE", default_value_t = OnConflictMode::Replace)]
    pub on_conflict: OnConflictMode,

    /// Write share's per-space, per-worker result as JSON to PATH (attached as an artifact in octopus mode)
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

impl ShareOptionsArgs {
    /// `--report`, checked before the first request (see [`check_report_path`]).
    pub fn report_path(&self) -> Result<Option<PathBuf>, ExitError> {
        match &self.report {
            None => Ok(None),
            Some(path) => {
                check_report_path(path)?;
                Ok(Some(path.clone()))
            }
        }
    }

    /// The share options with `concurrency`; a blank `--machine-policy` is a usage error.
    pub fn options(&self, concurrency: &ConcurrencyArgs) -> Result<ShareOptions, ExitError> {
        let machine_policy = match &self.machine_policy {
            None => None,
            Some(policy) => Some(required(
                policy,
                "--machine-policy",
                "give a policy name, e.g. --machine-policy 'Default Machine Policy', or leave the flag out",
            )?),
        };
        Ok(ShareOptions {
            machine_policy,
            concurrency: concurrency.concurrency()?,
            dry_run: self.dry_run,
            prune: self.prune,
            on_conflict: self.on_conflict.into(),
        })
    }
}

/// The flags of `octoshare-share`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShareArgs {
    /// Space holding the workers to share (name or Id), e.g. discover's InitialSpaceId
    #[arg(long, value_name = "NAME|ID")]
    pub from_space: String,

    /// Comma-separated target spaces (Ids or names), e.g. discover's RemainingSpaceIds; empty: nothing to do
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub to_spaces: String,

    #[command(flatten)]
    pub pool: WorkerPoolArgs,

    #[command(flatten)]
    pub share: ShareOptionsArgs,

    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,
}

/// A validated `octoshare-share`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCommand {
    /// The spaces and pool to resolve.
    pub request: ShareRequest,
    /// How to share.
    pub options: ShareOptions,
    /// Where to write the report.
    pub report: Option<PathBuf>,
}

impl ShareArgs {
    /// Validates the flags once. Failures are usage errors (exit code 2).
    pub fn into_command(self) -> Result<ShareCommand, ExitError> {
        let from_space = required(
            &self.from_space,
            "--from-space",
            "give a value, e.g. --from-space Spaces-1",
        )?;
        let worker_pool = self.pool.worker_pool()?;
        Ok(ShareCommand {
            request: ShareRequest {
                from_space,
                to_spaces: split_space_list(&self.to_spaces),
                worker_pool,
            },
            options: self.share.options(&self.concurrency)?,
            report: self.share.report_path()?,
        })
    }
}

/// Checks that the share report can be written at `path` when the run ends, before anything
/// is sent to the server, so a bad `--report` is a usage error (exit 2) instead of a failure
/// after every write. Nothing is left behind: an existing file is opened for writing without
/// being changed; for a missing one, the first thing the write would create (the file, or its
/// first missing directory) is created and removed again, which proves it can be.
///
/// Refused: a path naming a directory (an existing one, or ending in `/`), a parent that is a
/// file, and anything the system refuses (no permission, a read-only or virtual file system
/// such as `/proc`).
pub fn check_report_path(path: &Path) -> Result<(), ExitError> {
    check_output_path(path, "the report", "--report", "share-report.json")
}

/// [`check_report_path`] for any file a command writes when it ends: `what` names it in the
/// error line (`the report`), `flag` is the flag that gave the path, `example` a file name.
pub fn check_output_path(
    path: &Path,
    what: &str,
    flag: &str,
    example: &str,
) -> Result<(), ExitError> {
    let cannot = |reason: String| {
        ExitError::usage(format!(
            "cannot write {what} to '{}': {reason}: check {flag}",
            path.display()
        ))
    };
    let text = path.as_os_str().to_string_lossy();
    if text.trim().is_empty() {
        return Err(cannot("the path is empty".to_owned()));
    }
    if text.ends_with(std::path::MAIN_SEPARATOR)
        || text.ends_with('/')
        || path.file_name().is_none()
    {
        return Err(cannot(format!(
            "it names a directory: give a file name, e.g. {example}"
        )));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(cannot(format!(
            "it is a directory: give a file name inside it, e.g. {example}"
        ))),
        // Opened without truncation: the file is only replaced when the run ends.
        Ok(meta) if meta.is_file() => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(drop)
            .map_err(|error| cannot(format!("it cannot be opened for writing: {error}"))),
        // A device (e.g. /dev/null) or a pipe: written to as it is.
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            prove_creatable(path).map_err(cannot)
        }
        Err(error) => Err(cannot(error.to_string())),
    }
}

/// Creates and removes the first missing part of `path` (the file itself, or its first
/// missing directory): the proof that writing the report there will work.
fn prove_creatable(path: &Path) -> Result<(), String> {
    let mut missing = path;
    let parent = loop {
        let parent = match missing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        match std::fs::metadata(parent) {
            Ok(meta) if meta.is_dir() => break parent,
            Ok(_) => return Err(format!("{} is not a directory", parent.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => missing = parent,
            Err(error) => return Err(format!("{}: {error}", parent.display())),
        }
    };
    if missing == path {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(file) => {
                drop(file);
                let _ = std::fs::remove_file(path);
                Ok(())
            }
            // Created meanwhile by someone else: it can be written, or the end says why not.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(format!(
                "a file cannot be created in {}: {error}",
                parent.display()
            )),
        }
    } else {
        match std::fs::create_dir(missing) {
            Ok(()) => {
                let _ = std::fs::remove_dir(missing);
                Ok(())
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(format!(
                "the directory {} cannot be created: {error}",
                missing.display()
            )),
        }
    }
}

/// A required text flag, trimmed; blank is a usage error with `advice`.
pub(crate) fn required(value: &str, flag: &str, advice: &str) -> Result<String, ExitError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ExitError::usage(format!("{flag} is empty: {advice}")));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TestShare {
        #[command(flatten)]
        share: ShareArgs,
    }

    fn parse_share(arguments: &[&str]) -> Result<ShareCommand, String> {
        let mut all = vec!["octoshare-share"];
        all.extend_from_slice(arguments);
        let args = TestShare::try_parse_from(all).map_err(|error| error.to_string())?;
        args.share.into_command().map_err(|error| error.message)
    }

    #[test]
    fn share_defaults_and_every_flag() {
        let directory = tempfile::tempdir().unwrap();
        let report = directory.path().join("out/report.json");
        let report_text = report.to_str().unwrap();
        let command = parse_share(&[
            "--from-space",
            "Default",
            "--to-spaces",
            "",
            "--worker-pool",
            "P",
        ])
        .unwrap();
        assert!(command.request.to_spaces.is_empty());
        assert_eq!(command.options, ShareOptions::default());
        assert_eq!(command.report, None);

        let command = parse_share(&[
            "--from-space=Spaces-1",
            "--to-spaces=Spaces-2, ,Payments",
            "--worker-pool=P",
            "--machine-policy",
            " Fast ",
            "--concurrency",
            "3",
            "--dry-run",
            "--prune",
            "--on-conflict",
            "skip",
            "--report",
            report_text,
        ])
        .unwrap();
        assert_eq!(command.request.to_spaces, ["Spaces-2", "Payments"]);
        assert_eq!(command.options.machine_policy.as_deref(), Some("Fast"));
        assert_eq!(command.options.concurrency, 3);
        assert!(command.options.dry_run && command.options.prune);
        assert_eq!(command.options.on_conflict, OnConflict::Skip);
        assert_eq!(command.report, Some(report.clone()));
        assert!(
            !directory.path().join("out").exists(),
            "the check creates nothing"
        );
    }

    /// `--report` is checked before the first request: a directory, a path under a file, an
    /// unwritable place and a blank path are usage errors; a writable path leaves no trace.
    #[test]
    fn the_report_path_is_checked_without_leaving_anything_behind() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        let existing = root.join("existing.json");
        std::fs::write(&existing, "keep me").unwrap();
        for fine in [
            root.join("report.json"),
            root.join("a/b/c/report.json"),
            existing.clone(),
        ] {
            check_report_path(&fine).unwrap_or_else(|error| panic!("{fine:?}: {error}"));
        }
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
        let mut left: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["existing.json"], "nothing created");

        let directory_text = format!("{}/", root.join("sub").display());
        for (bad, reason) in [
            (root.to_path_buf(), "it is a directory"),
            (PathBuf::from(&directory_text), "it names a directory"),
            (existing.join("report.json"), "Not a directory"),
            (
                root.join("existing.json/deeper/report.json"),
                "Not a directory",
            ),
            (PathBuf::from(" "), "the path is empty"),
        ] {
            let error = check_report_path(&bad).unwrap_err();
            assert_eq!(error.exit, crate::Exit::Usage, "{bad:?}");
            assert!(
                error.message.contains(reason) && error.message.ends_with("check --report"),
                "{bad:?}: {}",
                error.message
            );
        }
        // A virtual file system refuses new entries even to root.
        if Path::new("/proc/self").exists() {
            let error = check_report_path(Path::new("/proc/nope/report.json")).unwrap_err();
            assert!(
                error.message.contains("cannot be created"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn blank_share_values_are_usage_errors() {
        for arguments in [
            &["--from-space", " ", "--to-spaces", "", "--worker-pool", "P"][..],
            &["--from-space", "A", "--to-spaces", "", "--worker-pool", " "][..],
            &[
                "--from-space",
                "A",
                "--to-spaces",
                "",
                "--worker-pool",
                "P",
                "--machine-policy",
                "",
            ][..],
        ] {
            let error = parse_share(arguments).unwrap_err();
            assert!(error.contains("is empty"), "{arguments:?}: {error}");
        }
        assert!(
            parse_share(&[
                "--from-space",
                "A",
                "--to-spaces",
                "",
                "--worker-pool",
                "P",
                "--concurrency",
                "0"
            ])
            .is_err()
        );
    }

    fn wait_args() -> WaitArgs {
        WaitArgs {
            space: " Spaces-2 ".to_owned(),
            pool: WorkerPoolArgs {
                worker_pool: "AWS Worker Pool TF".to_owned(),
            },
            count: 3,
            polling: WaitPollArgs {
                timeout: Duration::from_secs(60),
                poll_interval: Duration::from_secs(10),
                healthy: true,
            },
        }
    }

    #[test]
    fn wait_flags_are_validated_once() {
        let request = wait_args().into_request().unwrap();
        assert_eq!(request.space, "Spaces-2");
        assert!(request.config.healthy_only);

        let mut blank = wait_args();
        blank.pool.worker_pool = "  ".to_owned();
        assert_eq!(blank.into_request().unwrap_err().exit, crate::Exit::Usage);

        let mut hammering = wait_args();
        hammering.polling.poll_interval = Duration::ZERO;
        let error = hammering.into_request().unwrap_err();
        assert!(
            error
                .message
                .starts_with("--poll-interval must be more than 0s")
        );
    }

    fn args(worker_pool: &str) -> DiscoverArgs {
        DiscoverArgs {
            pool: WorkerPoolArgs {
                worker_pool: worker_pool.to_owned(),
            },
            search: SpaceSearchArgs {
                initial_space: Some("  ".to_owned()),
                ..SpaceSearchArgs::default()
            },
            concurrency: ConcurrencyArgs { concurrency: 4 },
        }
    }

    #[test]
    fn discover_flags_are_trimmed_and_validated() {
        let config = args("  AWS Worker Pool TF ").into_config().unwrap();
        assert_eq!(config.worker_pool, "AWS Worker Pool TF");
        assert_eq!(config.initial_space, None);
        assert_eq!(config.concurrency, 4);

        let error = args(" ").into_config().unwrap_err();
        assert_eq!(error.exit, crate::Exit::Usage);
        assert!(error.message.starts_with("--worker-pool is empty"));

        let mut bad_glob = args("P");
        bad_glob.search.exclude_spaces.push("[".to_owned());
        let error = bad_glob.into_config().unwrap_err();
        assert!(
            error
                .message
                .starts_with("invalid --exclude-space pattern '['"),
            "{}",
            error.message
        );
        let mut empty_glob = args("P");
        empty_glob.search.include_spaces.push(" ".to_owned());
        let error = empty_glob.into_config().unwrap_err();
        assert!(error.message.starts_with("empty --include-space pattern"));
    }
}

/// Flags of `octoshare run` (the connection and output flags are [`crate::CommonArgs`]): the step
/// binaries' own argument groups, flattened (declared once, in this module), minus
/// what one step hands the next (`--space`, `--from-space`, `--to-spaces`), plus an optional
/// `--count`; `step-templates/octoshare-run.json` calls exactly these.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten, next_help_heading = "Discover")]
    pub pool: WorkerPoolArgs,

    #[command(flatten, next_help_heading = "Discover")]
    pub search: SpaceSearchArgs,

    /// Wait until the initial space's pool holds at least N workers before sharing; without it, wait is skipped
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Wait")]
    pub count: Option<u64>,

    #[command(flatten, next_help_heading = "Wait")]
    pub polling: WaitPollArgs,

    #[command(flatten, next_help_heading = "Share")]
    pub share: ShareOptionsArgs,

    #[command(flatten, next_help_heading = "Share")]
    pub concurrency: ConcurrencyArgs,
}

impl RunArgs {
    /// Validates every flag once, before any request (usage errors, exit code 2), by the same
    /// functions the step binaries use.
    pub fn into_config(self) -> Result<RunConfig, ExitError> {
        let discover = discover_config(&self.pool, &self.search, &self.concurrency)?;
        let wait = match self.count {
            None => None,
            Some(count) => Some(self.polling.config(count)?),
        };
        Ok(RunConfig {
            discover,
            wait,
            share: self.share.options(&self.concurrency)?,
            report: self.share.report_path()?,
        })
    }
}

/// A validated `octoshare run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// What to discover.
    pub discover: DiscoverConfig,
    /// How to wait; `None` skips the wait phase (the space and pool come from discover).
    pub wait: Option<WaitConfig>,
    /// How to share (the spaces and pools come from discover).
    pub share: ShareOptions,
    /// Where to write share's JSON report.
    pub report: Option<PathBuf>,
}
