//! The step's own flags ([`ShareArgs`]) and the validated configuration they turn into
//! ([`ShareConfig`]).

use octoshare_cli::ExitError;
use std::path::PathBuf;

/// How many target spaces are worked on at once (and how many requests are in flight at most)
/// unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// What to do when a worker's name is taken in a target space by a registration whose endpoint
/// is not among the source pool's (a VM re-created with the same host name and a new thumbprint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum OnConflict {
    /// Update the stale registration in place: the source worker's endpoint, and the target pool
    /// added to its pools.
    #[default]
    Replace,
    /// Leave the stale registration alone and report a conflict (a warning, not a failure).
    Skip,
}

impl OnConflict {
    /// The flag value (`replace` or `skip`).
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Replace => "replace",
            OnConflict::Skip => "skip",
        }
    }
}

/// The step's own flags (the connection and output flags are `octoshare_cli::CommonArgs`).
#[derive(Debug, Clone, clap::Args)]
pub struct ShareArgs {
    /// Space holding the workers to share (name or Id), e.g. discover's InitialSpaceId
    #[arg(long, value_name = "NAME|ID")]
    pub from_space: String,

    /// Comma-separated target spaces (Ids or names), e.g. discover's RemainingSpaceIds; empty: nothing to do
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub to_spaces: String,

    /// Worker pool whose workers are shared, and that receives them in every target space (case-insensitive)
    #[arg(long, value_name = "NAME")]
    pub worker_pool: String,

    /// Machine policy (by name) of the workers created in target spaces; default: each space's default policy
    #[arg(long, value_name = "NAME")]
    pub machine_policy: Option<String>,

    /// How many target spaces to work on at once (also the most requests in flight)
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_CONCURRENCY,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
    )]
    pub concurrency: usize,

    /// Only read (GET) and print the plan: what would be created, updated, pruned and why
    #[arg(long)]
    pub dry_run: bool,

    /// Also delete, in the target pools, polling workers that are no longer in the source pool and are not healthy
    #[arg(long)]
    pub prune: bool,

    /// A worker name taken in a target space by a stale registration: replace its endpoint, or skip it
    #[arg(long, value_enum, value_name = "MODE", default_value_t = OnConflict::Replace)]
    pub on_conflict: OnConflict,

    /// Write the per-space, per-worker result as JSON to PATH (attached as an artifact in octopus mode)
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

impl ShareArgs {
    /// Validates the flags once. Failures are usage errors (exit code 2).
    pub fn into_config(self) -> anyhow::Result<ShareConfig> {
        let from_space = required(&self.from_space, "--from-space", "--from-space Spaces-1")?;
        let worker_pool = required(
            &self.worker_pool,
            "--worker-pool",
            "--worker-pool 'AWS Worker Pool TF'",
        )?;
        let machine_policy = match self.machine_policy {
            None => None,
            Some(policy) => Some(required(
                &policy,
                "--machine-policy",
                "--machine-policy 'Default Machine Policy', or leave the flag out",
            )?),
        };
        if self.concurrency == 0 {
            return Err(ExitError::usage("--concurrency must be at least 1").into());
        }
        Ok(ShareConfig {
            from_space,
            to_spaces: split_space_list(&self.to_spaces),
            worker_pool,
            machine_policy,
            concurrency: self.concurrency,
            dry_run: self.dry_run,
            prune: self.prune,
            on_conflict: self.on_conflict,
            report: self.report,
        })
    }
}

fn required(value: &str, flag: &str, example: &str) -> anyhow::Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(
            ExitError::usage(format!("{flag} is empty: give a value, e.g. {example}")).into(),
        );
    }
    Ok(trimmed.to_owned())
}

/// Splits a comma-separated `--to-spaces` value: entries are trimmed and empty ones dropped
/// (`"Spaces-2, ,Spaces-3,"` → `["Spaces-2", "Spaces-3"]`). Duplicates are kept here; the step
/// removes them (with a note) when it resolves the spaces.
pub fn split_space_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What to share; built from [`ShareArgs`] or directly by the orchestrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareConfig {
    /// The source space (name or `Spaces-N` Id).
    pub from_space: String,
    /// Target spaces (names or Ids) in the order results are reported; duplicates are removed
    /// (case-insensitively, and when two entries name the same space) with a note.
    pub to_spaces: Vec<String>,
    /// The pool name, matched case-insensitively (surrounding whitespace ignored) in every space.
    pub worker_pool: String,
    /// Machine policy name for created workers; `None`: each target space's default policy.
    pub machine_policy: Option<String>,
    /// Target spaces worked on at once, and requests in flight at most (≥ 1).
    pub concurrency: usize,
    /// Only read and print the plan.
    pub dry_run: bool,
    /// Delete stale, non-healthy polling workers from the target pools.
    pub prune: bool,
    /// What to do with a stale registration holding a worker's name.
    pub on_conflict: OnConflict,
    /// Where to write the JSON report.
    pub report: Option<PathBuf>,
}

impl ShareConfig {
    /// A configuration with the defaults of the flags (`--concurrency 16`, `--on-conflict
    /// replace`, no dry run, no prune, no report).
    pub fn new(from_space: &str, to_spaces: &[&str], worker_pool: &str) -> ShareConfig {
        ShareConfig {
            from_space: from_space.trim().to_owned(),
            to_spaces: to_spaces
                .iter()
                .map(|space| space.trim())
                .filter(|space| !space.is_empty())
                .map(str::to_owned)
                .collect(),
            worker_pool: worker_pool.trim().to_owned(),
            machine_policy: None,
            concurrency: DEFAULT_CONCURRENCY,
            dry_run: false,
            prune: false,
            on_conflict: OnConflict::Replace,
            report: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use octoshare_cli::{Exit, exit_for_error};

    #[derive(Debug, Parser)]
    struct TestArgs {
        #[command(flatten)]
        share: ShareArgs,
    }

    fn parse(arguments: &[&str]) -> anyhow::Result<ShareConfig> {
        let mut all = vec!["octoshare-share"];
        all.extend_from_slice(arguments);
        TestArgs::try_parse_from(all)?.share.into_config()
    }

    #[test]
    fn defaults_follow_the_product_contract() {
        let config = parse(&[
            "--from-space",
            " Default ",
            "--to-spaces",
            "Spaces-2,Spaces-3",
            "--worker-pool",
            "AWS Worker Pool TF",
        ])
        .unwrap();
        assert_eq!(config.from_space, "Default");
        assert_eq!(config.to_spaces, vec!["Spaces-2", "Spaces-3"]);
        assert_eq!(config.concurrency, 16);
        assert_eq!(config.on_conflict, OnConflict::Replace);
        assert!(!config.dry_run && !config.prune);
        assert_eq!(config.machine_policy, None);
        assert_eq!(config.report, None);
    }

    #[test]
    fn space_list_is_trimmed_and_empty_entries_dropped() {
        assert_eq!(
            split_space_list(" Spaces-2, ,Payments ,,"),
            vec!["Spaces-2", "Payments"]
        );
        assert!(split_space_list("").is_empty());
        assert!(split_space_list(" , ").is_empty());
    }

    #[test]
    fn empty_to_spaces_is_accepted() {
        let config = parse(&[
            "--from-space",
            "Default",
            "--to-spaces",
            "",
            "--worker-pool",
            "P",
        ])
        .unwrap();
        assert!(config.to_spaces.is_empty());
    }

    #[test]
    fn all_flags_parse() {
        let config = parse(&[
            "--from-space=Spaces-1",
            "--to-spaces=Spaces-2",
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
            "out/report.json",
        ])
        .unwrap();
        assert_eq!(config.machine_policy.as_deref(), Some("Fast"));
        assert_eq!(config.concurrency, 3);
        assert!(config.dry_run && config.prune);
        assert_eq!(config.on_conflict, OnConflict::Skip);
        assert_eq!(config.report, Some(PathBuf::from("out/report.json")));
    }

    #[test]
    fn blank_values_are_usage_errors() {
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
            let error = parse(arguments).unwrap_err();
            assert_eq!(
                exit_for_error(&error),
                Exit::Usage,
                "{arguments:?}: {error:#}"
            );
            assert!(error.to_string().contains("is empty"), "{error}");
        }
    }

    #[test]
    fn zero_concurrency_is_refused_by_clap() {
        let result = TestArgs::try_parse_from([
            "octoshare-share",
            "--from-space",
            "A",
            "--to-spaces",
            "",
            "--worker-pool",
            "P",
            "--concurrency",
            "0",
        ]);
        assert!(result.is_err());
    }

    #[test]
    fn config_new_uses_flag_defaults() {
        let config = ShareConfig::new("Default", &["Spaces-2", " "], "P");
        assert_eq!(config.to_spaces, vec!["Spaces-2"]);
        assert_eq!(config.concurrency, DEFAULT_CONCURRENCY);
    }
}
