//! The command-line layer shared by every octoshare binary: common flags, the stdout emitter,
//! logging, graceful interruption and the documented exit codes.
//!
//! The step libraries never print and never name a flag: this crate owns the clap argument
//! groups ([`flags`]), the renderers of the steps' events and results ([`render`]), the mapping
//! from the steps' typed errors to the documented exit codes ([`exit`]), and the three step
//! binaries (`octoshare-discover`, `octoshare-wait`, `octoshare-share`, under `src/bin/`).
//!
//! A binary's `main` parses its clap `Args` (with [`CommonArgs`] flattened) and hands a closure
//! to [`run_step`], which builds the runtime, logging, emitter and client, runs the closure and
//! turns its result or error into the exit code.

pub mod args;
pub mod binaries;
pub mod duration;
pub mod exit;
pub mod flags;
pub mod hints;
pub mod json;
pub mod logging;
pub mod output;
pub mod render;
pub mod shell_docs;
pub mod shutdown;
pub mod timestamp;

pub use args::{ApiKeyFileArgs, CommonArgs};
pub use duration::{format_duration, format_elapsed, parse_duration};
pub use exit::{Exit, ExitError, error_line, exit_for_error, one_line};
pub use output::{Emitter, OutputMode, inert};
pub use shutdown::{Shutdown, Signal};

use octoshare_core::Client;
use serde::Serialize;
use std::process::ExitCode;

/// How a command ended: its exit code, the one-line failure when it failed, and its JSON
/// document (written in JSON mode, with the failure's `Error` and `ExitCode` after its keys).
#[derive(Debug, Clone)]
pub struct Ending<D> {
    /// The exit code.
    pub exit: Exit,
    /// The failure line (stderr, `resultMessage`, the document's `Error`).
    pub failure: Option<String>,
    /// The command's document.
    pub document: D,
}

impl<D> Ending<D> {
    /// A success with `document`.
    pub fn success(document: D) -> Ending<D> {
        Ending {
            exit: Exit::Success,
            failure: None,
            document,
        }
    }

    /// `document`, ending as `result` says: its exit code, or its failure.
    pub fn new(document: D, result: Result<Exit, ExitError>) -> Ending<D> {
        match result {
            Ok(exit) => Ending {
                exit,
                failure: None,
                document,
            },
            Err(error) => Ending {
                exit: error.exit,
                failure: Some(error.message),
                document,
            },
        }
    }
}

/// Runs a step that talks to an Octopus server: validates the connection flags, then calls
/// `step` with the emitter, the client (cancelled by the first SIGINT/SIGTERM) and the shutdown
/// signal.
pub fn run_step<D, F>(common: &CommonArgs, default_mode: OutputMode, step: F) -> ExitCode
where
    D: Serialize,
    F: AsyncFnOnce(&mut Emitter, Client, Shutdown) -> Result<Ending<D>, ExitError>,
{
    run_local(
        common,
        default_mode,
        async move |emitter: &mut Emitter, shutdown: Shutdown| {
            let client = common.client(&shutdown)?;
            step(emitter, client, shutdown).await
        },
    )
}

/// Runs work that needs no connection flags (e.g. `octoshare demo`): logging, emitter, runtime,
/// signals, the failure line, the JSON document and the exit code. An interruption exits with
/// 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
pub fn run_local<D, F>(common: &CommonArgs, default_mode: OutputMode, work: F) -> ExitCode
where
    D: Serialize,
    F: AsyncFnOnce(&mut Emitter, Shutdown) -> Result<Ending<D>, ExitError>,
{
    let mode = common.output_mode(default_mode);
    logging::init(mode, common.verbose, common.quiet);
    let mut emitter = Emitter::stdio(mode);
    emitter.set_quiet(common.quiet > 0);
    emitter.set_verbose(common.verbose > 0);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let failure = ExitError::new(
                Exit::Internal,
                format!("cannot start the async runtime: {error}"),
            );
            return end::<D>(emitter, Err(failure), None);
        }
    };
    let shutdown = Shutdown::new();
    let result = runtime.block_on(async {
        shutdown.listen_for_signals();
        work(&mut emitter, shutdown.clone()).await
    });
    end(emitter, result, shutdown.signal())
}

/// Prints the failure line, writes the document and turns the ending into the process's code.
fn end<D: Serialize>(
    mut emitter: Emitter,
    result: Result<Ending<D>, ExitError>,
    signal: Option<Signal>,
) -> ExitCode {
    let (exit, failure, body) = match result {
        Ok(ending) => (ending.exit, ending.failure, Some(ending.document)),
        Err(error) => (error.exit, Some(error.message), None),
    };
    let exit = exit.attributed_to(signal);
    if let Some(message) = &failure {
        emitter.failure(message);
    }
    let document = json::Document {
        body,
        failure: failure.map(|error| json::FailureFields {
            error,
            exit_code: exit.code(),
        }),
    };
    let written = emitter.write_document(&document);
    if (written.is_err() || emitter.finish().is_err()) && exit == Exit::Success {
        return Exit::Internal.into();
    }
    exit.into()
}
