//! `octoshare-wait`: waits until a worker pool holds at least N workers (runbook step "Wait for
//! workers to register"); exit code 4 on timeout, after setting the outputs.

use clap::Parser as _;
use octoshare_cli::binaries::WaitCli;
use octoshare_cli::json::WaitOutputs;
use octoshare_cli::render::wait::{self as render, WaitRenderer};
use octoshare_cli::{Ending, Exit, OutputMode, run_step};
use octoshare_wait::{resolve, wait_for_workers};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = WaitCli::parse();
    let wait_args = args.wait;
    run_step(
        &args.common,
        OutputMode::Octopus,
        async move |emitter, client, shutdown| {
            let request = wait_args.into_request()?;
            let target = resolve(&client, &request.space, &request.worker_pool).await?;
            let outcome = wait_for_workers(
                &client,
                &target,
                &request.config,
                &mut WaitRenderer::new(emitter),
                &shutdown.token(),
            )
            .await?;
            render::finished(emitter, &outcome);
            render::set_outputs(emitter, &outcome);
            let result = match render::unsatisfied(&outcome) {
                Some(error) => Err(error),
                None => Ok(Exit::Success),
            };
            Ok(Ending::new(WaitOutputs::of(&outcome), result))
        },
    )
}
