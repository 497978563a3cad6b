//! `octoshare status`: the fleet's worker × space matrix — which worker of the source pool is
//! registered in which other qualifying space — as a text table, a JSON document or one
//! self-contained HTML page. Exit 0 when nothing drifted, 5 on drift (a monitoring check).
//!
//! It reads what discover reads (the space list and each space's pools) plus one
//! `GET /api/{spaceId}/workers/all` per qualifying space, and builds the matrix with
//! [`octoshare_status::build`] (cells `Shared`, `Missing`, `NotInPool`, `Stale`, `Unknown`,
//! flags `Disabled`/`Unhealthy`, each space's orphans).
//!
//! # Output
//!
//! `--format text` (the default): a heading, the table (fitted to `COLUMNS`, else 120
//! characters: space names as column heads when they fit, else numbered columns and
//! one-letter cells with a legend), the orphans, and the verdict. `--format json`: the status
//! document (`docs/json-output.md`, "status"). `--format html`: one page with no external
//! resources. `--output-file PATH` writes the format to a file instead of stdout; in `octopus`
//! mode the file (for `html` without `--output-file`: `octoshare-status.html`) is attached to
//! the task as an artifact. With `--output json` stdout holds the JSON document, so `--format
//! html` or `text` needs `--output-file`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use octoshare_cli::flags::{self, ConcurrencyArgs, SpaceSearchArgs, WorkerPoolArgs};
use octoshare_cli::json::{self, StatusDocument};
use octoshare_cli::render::status as render;
use octoshare_cli::timestamp::rfc3339_utc;
use octoshare_cli::{
    ApiKeyFileArgs, CommonArgs, Emitter, Ending, Exit, ExitError, OutputMode, run_local,
};
use octoshare_core::{ApiError, Client, RequestCounts};
use octoshare_discover::{DiscoverConfig, DiscoverError, DiscoverOutcome};
use octoshare_status::{FleetRead, StatusError, StatusMatrix};

/// The exit codes, as `octoshare status --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 every cell shared and no orphan; 2 usage error; 3 no \
space has the pool (or --from-space does not); 5 drift (a cell missing, not in the pool or stale, \
or an orphan), or a space could not be read; 6 credentials or permission refused; 7 server \
unreachable; 130/143 interrupted by SIGINT/SIGTERM (the spaces not read yet are unknown).";

/// The file `--format html` writes in `octopus` mode without `--output-file`.
pub const DEFAULT_HTML_FILE: &str = "octoshare-status.html";

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// A table that fits the terminal
    Text,
    /// The status document (PascalCase JSON)
    Json,
    /// One self-contained HTML page
    Html,
}

/// Flags of `octoshare status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pool: WorkerPoolArgs,

    /// The space whose pool is the source of truth (name or Id); default: the first qualifying space (same as --initial-space)
    #[arg(long, value_name = "NAME|ID", conflicts_with = "initial_space")]
    pub from_space: Option<String>,

    #[command(flatten)]
    pub search: SpaceSearchArgs,

    /// What to print: text (default), json (the default with --output json) or html
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<StatusFormat>,

    /// Write the format to PATH instead of stdout (attached as an artifact in octopus mode)
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,

    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,

    #[command(flatten)]
    pub key_file: ApiKeyFileArgs,
}

/// A validated `octoshare status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusConfig {
    /// What to discover (`--from-space` is its initial space).
    pub discover: DiscoverConfig,
    /// The format.
    pub format: StatusFormat,
    /// Where the format goes (stdout when `None`).
    pub output_file: Option<PathBuf>,
}

impl StatusArgs {
    /// Validates the flags once (usage errors, exit code 2) for output mode `mode`.
    pub fn into_config(self, mode: OutputMode) -> Result<StatusConfig, ExitError> {
        let mut search = self.search;
        if let Some(from_space) = self.from_space {
            search.initial_space = Some(from_space);
        }
        let discover = flags::discover_config(&self.pool, &search, &self.concurrency)?;
        let format = self.format.unwrap_or(if mode == OutputMode::Json {
            StatusFormat::Json
        } else {
            StatusFormat::Text
        });
        if mode == OutputMode::Json && format != StatusFormat::Json && self.output_file.is_none() {
            return Err(ExitError::usage(
                "with --output json stdout holds the JSON document: give --output-file PATH for --format html or text",
            ));
        }
        // The file is written once the matrix is read: whether it can be is checked before the
        // first request (exit 2), creating nothing.
        let file = self.output_file.clone().or_else(|| {
            (mode == OutputMode::Octopus && format == StatusFormat::Html)
                .then(|| PathBuf::from(DEFAULT_HTML_FILE))
        });
        if let Some(path) = &file {
            flags::check_output_path(path, "the status", "--output-file", DEFAULT_HTML_FILE)?;
        }
        Ok(StatusConfig {
            discover,
            format,
            output_file: self.output_file,
        })
    }
}

/// What one status read: discover's targets, the fleet as read and its matrix.
#[derive(Debug)]
pub struct Snapshot {
    /// What discover found.
    pub discovered: DiscoverOutcome,
    /// What was read.
    pub read: FleetRead,
    /// The matrix.
    pub matrix: StatusMatrix,
}

impl Snapshot {
    /// The API errors of the spaces that could not be read.
    pub fn unreadable(&self) -> Vec<&ApiError> {
        self.read.failures().map(|(_, error)| error).collect()
    }

    /// The exit code the matrix stands for (0, 5 on drift; 5 or 6 for unreadable spaces).
    pub fn exit(&self) -> Exit {
        render::exit_for_matrix(&self.matrix, &self.unreadable())
    }
}

/// Why no matrix could be built.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Discovering the qualifying spaces failed.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// Reading the source space failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

impl From<SnapshotError> for ExitError {
    fn from(error: SnapshotError) -> ExitError {
        match error {
            SnapshotError::Discover(error) => ExitError::from(error),
            SnapshotError::Status(error) => ExitError::new(
                render::exit_for_status_error(&error),
                render::error_message(&error),
            ),
        }
    }
}

/// Discovers the qualifying spaces, reads every worker of each (`concurrency` at once) and
/// builds the matrix.
pub async fn snapshot(
    client: &Client,
    discover: &DiscoverConfig,
) -> Result<Snapshot, SnapshotError> {
    let discovered = octoshare_discover::discover(client, discover, &mut ()).await?;
    let read = octoshare_status::read_fleet(
        client,
        &discovered.initial,
        &discovered.remaining,
        discover.concurrency,
    )
    .await?;
    let matrix = octoshare_status::build(&read);
    Ok(Snapshot {
        discovered,
        read,
        matrix,
    })
}

/// The status document of a matrix read from `client`'s server at `read_at`.
pub fn document(
    client: &Client,
    matrix: StatusMatrix,
    read_at: SystemTime,
    requests: RequestCounts,
) -> StatusDocument {
    StatusDocument {
        matrix,
        server_url: client.server().to_string(),
        generated_at: rfc3339_utc(read_at),
        requests: requests.into(),
    }
}

/// `octoshare status` as a process.
pub fn command(args: StatusArgs, common: &CommonArgs) -> ExitCode {
    let mode = common.output_mode(OutputMode::Text);
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        let key_file = args.key_file.clone();
        let config = args.into_config(mode)?;
        let client = key_file
            .apply(common)?
            .client_builder(&shutdown)?
            .concurrency(config.discover.concurrency)
            .build()?;
        let before = client.request_counts();
        let snapshot = snapshot(&client, &config.discover).await?;
        if !snapshot.discovered.stopped_task_queues.is_empty() {
            emitter.warning(&format!(
                "the task queue is stopped in {}: workers there run no task until it is started",
                octoshare_cli::render::list_spaces(
                    snapshot.discovered.stopped_task_queues.iter(),
                    octoshare_cli::render::SPACES_IN_LOG_LINES
                )
            ));
        }
        let exit = snapshot.exit();
        let requests = crate::run::difference(client.request_counts(), before);
        let document = document(&client, snapshot.matrix, SystemTime::now(), requests);
        let result = present(emitter, &config, &document, exit);
        Ok(Ending::new(document, result))
    })
}

/// Prints (or writes) the document in the configured format and ends with `exit`.
fn present(
    emitter: &mut Emitter,
    config: &StatusConfig,
    document: &StatusDocument,
    exit: Exit,
) -> Result<Exit, ExitError> {
    let matrix = &document.matrix;
    // A table's rows hold names: printed, each row is one line whatever the names hold.
    let rows = (config.format == StatusFormat::Text).then(|| {
        let mut lines = vec![render::heading(matrix)];
        lines.extend(render::table(matrix, render::terminal_width()));
        lines.push(render::verdict(matrix));
        lines
    });
    let content = match (config.format, &rows) {
        (StatusFormat::Text, Some(rows)) => rows.join("\n") + "\n",
        (StatusFormat::Text, None) => String::new(),
        (StatusFormat::Json, _) => {
            // Written as the JSON documents are: safe to print line by line, same values.
            let mut text = octoshare_cli::output::inert_json_pretty(&json::Document {
                body: Some(document),
                failure: None,
            })
            .map_err(|error| ExitError::new(Exit::Internal, error.to_string()))?;
            text.push('\n');
            text
        }
        (StatusFormat::Html, _) => render::html(document, None),
    };
    let file = config.output_file.clone().or_else(|| {
        (emitter.mode() == OutputMode::Octopus && config.format == StatusFormat::Html)
            .then(|| PathBuf::from(DEFAULT_HTML_FILE))
    });
    match &file {
        Some(path) => {
            write_file(path, &content)?;
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| DEFAULT_HTML_FILE.to_owned());
            emitter.artifact(path, &name);
            if emitter.mode() != OutputMode::Json {
                emitter.info(&render::heading(matrix));
            }
        }
        None => match &rows {
            Some(rows) => {
                for row in rows {
                    emitter.result_line(row);
                }
            }
            None => emitter.result_text(content.trim_end()),
        },
    }
    if exit == Exit::Success {
        if file.is_some() && emitter.mode() != OutputMode::Json {
            emitter.highlight(&render::verdict(matrix));
        }
        return Ok(exit);
    }
    if let Exit::Interrupted(_) = exit {
        // Only what was read is reported: the spaces the interruption cut short are unknown.
        return Err(ExitError::new(
            exit,
            format!(
                "interrupted before every space was read: {} in pool '{}'; run it again for the whole matrix",
                render::verdict(matrix),
                matrix.worker_pool_name
            ),
        ));
    }
    Err(ExitError::new(
        exit,
        format!(
            "{} in pool '{}'{}",
            render::verdict(matrix),
            matrix.worker_pool_name,
            if matrix.drift {
                ": octoshare run (or reconcile) shares what is missing"
            } else {
                ""
            }
        ),
    ))
}

fn write_file(path: &Path, content: &str) -> Result<(), ExitError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            ExitError::new(
                Exit::Internal,
                format!(
                    "cannot create the directory {}: {error}: check --output-file",
                    parent.display()
                ),
            )
        })?;
    }
    std::fs::write(path, content).map_err(|error| {
        ExitError::new(
            Exit::Internal,
            format!(
                "cannot write {}: {error}: check --output-file",
                path.display()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TestArgs {
        #[command(flatten)]
        status: StatusArgs,
    }

    fn parse(arguments: &[&str], mode: OutputMode) -> Result<StatusConfig, ExitError> {
        let mut all = vec!["octoshare-status"];
        all.extend_from_slice(arguments);
        let args =
            TestArgs::try_parse_from(all).map_err(|error| ExitError::usage(error.to_string()))?;
        args.status.into_config(mode)
    }

    #[test]
    fn status_flags_pass_clap_debug_assert() {
        use clap::CommandFactory;
        TestArgs::command().debug_assert();
    }

    #[test]
    fn from_space_is_the_initial_space_and_the_format_follows_the_output() {
        let config = parse(
            &["--worker-pool", "P", "--from-space", " Ops "],
            OutputMode::Text,
        )
        .unwrap();
        assert_eq!(config.discover.initial_space.as_deref(), Some("Ops"));
        assert_eq!(config.format, StatusFormat::Text);
        let config = parse(&["--worker-pool", "P"], OutputMode::Json).unwrap();
        assert_eq!(config.format, StatusFormat::Json);
        assert!(
            parse(
                &[
                    "--worker-pool",
                    "P",
                    "--from-space",
                    "A",
                    "--initial-space",
                    "B"
                ],
                OutputMode::Text
            )
            .is_err()
        );
    }

    #[test]
    fn html_with_json_output_needs_a_file() {
        let error = parse(
            &["--worker-pool", "P", "--format", "html"],
            OutputMode::Json,
        )
        .unwrap_err();
        assert_eq!(error.exit, Exit::Usage);
        let config = parse(
            &[
                "--worker-pool",
                "P",
                "--format",
                "html",
                "--output-file",
                "s.html",
            ],
            OutputMode::Json,
        )
        .unwrap();
        assert_eq!(config.output_file, Some(PathBuf::from("s.html")));
    }
}
