//! `octoshare-wait`: waits until a worker pool holds at least N workers (runbook step "Wait for
//! workers to register"); exit code 4 on timeout, after setting the outputs.

use clap::Parser;
use octoshare_cli::{CommonArgs, Exit, OutputMode, run_step};
use octoshare_wait::{WaitArgs, emit_outputs, unsatisfied_error, wait_for_workers};
use std::process::ExitCode;

/// Wait until worker pool NAME in a space holds at least N workers.
#[derive(Debug, Parser)]
#[command(name = "octoshare-wait", version, about, long_about = None)]
struct Args {
    #[command(flatten)]
    wait: WaitArgs,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let wait_args = args.wait;
    run_step(
        &args.common,
        OutputMode::Octopus,
        async move |emitter, client, shutdown| {
            let config = wait_args.into_config()?;
            let outcome = wait_for_workers(&client, &config, emitter, &shutdown).await?;
            emit_outputs(&outcome, emitter);
            match unsatisfied_error(&outcome, &config) {
                Some(error) => Err(error.into()),
                None => Ok(Exit::Success),
            }
        },
    )
}
