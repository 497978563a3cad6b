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
pub mod duration;
pub mod exit;
pub mod flags;
pub mod hints;
pub mod logging;
pub mod output;
pub mod render;
pub mod shutdown;

pub use args::CommonArgs;
pub use duration::{format_duration, format_elapsed, parse_duration};
pub use exit::{Exit, ExitError, error_line, exit_for_error, one_line};
pub use output::{Emitter, OutputMode, OutputValue, inert};
pub use shutdown::{Shutdown, Signal};

use octoshare_core::Client;
use std::process::ExitCode;

/// Runs a step that talks to an Octopus server: validates the connection flags, then calls
/// `step` with the emitter, the client (cancelled by the first SIGINT/SIGTERM) and the
/// shutdown flag.
pub fn run_step<F>(common: &CommonArgs, default_mode: OutputMode, step: F) -> ExitCode
where
    F: AsyncFnOnce(&mut Emitter, Client, Shutdown) -> Result<Exit, ExitError>,
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
/// signals and exit-code mapping only.
///
/// A failure is printed as one line with the CLI's advice appended ([`hints::with_hint`]); an
/// interruption exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
pub fn run_local<F>(common: &CommonArgs, default_mode: OutputMode, work: F) -> ExitCode
where
    F: AsyncFnOnce(&mut Emitter, Shutdown) -> Result<Exit, ExitError>,
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
            emitter.failure(
                &format!("cannot start the async runtime: {error}"),
                Exit::Internal.code(),
            );
            return Exit::Internal.into();
        }
    };
    let shutdown = Shutdown::new();
    let result = runtime.block_on(async {
        shutdown.listen_for_signals();
        work(&mut emitter, shutdown.clone()).await
    });
    let exit = match result {
        Ok(exit) => exit.attributed_to(shutdown.signal()),
        Err(error) => {
            let exit = error.exit.attributed_to(shutdown.signal());
            emitter.failure(&error.message, exit.code());
            exit
        }
    };
    if emitter.finish().is_err() && exit == Exit::Success {
        return Exit::Internal.into();
    }
    exit.into()
}
