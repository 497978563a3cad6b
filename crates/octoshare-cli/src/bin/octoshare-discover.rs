//! `octoshare-discover`: finds the spaces that have a worker pool and sets the initial space and
//! the remaining spaces as Octopus output variables (runbook step "Get Space List").

use clap::Parser as _;
use octoshare_cli::binaries::DiscoverCli;
use octoshare_cli::json::DiscoverDocument;
use octoshare_cli::render::discover::{self as render, DiscoverRenderer};
use octoshare_cli::{Ending, OutputMode, run_local};
use octoshare_discover::discover;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = DiscoverCli::parse();
    let (discover_args, common) = (args.discover, args.common);
    run_local(&common, OutputMode::Octopus, async |emitter, shutdown| {
        let builder = common.client_builder(&shutdown)?;
        let config = discover_args.into_config()?;
        let client = builder.concurrency(config.concurrency).build()?;
        let outcome = discover(&client, &config, &mut DiscoverRenderer::new(emitter)).await?;
        render::finished(emitter, &outcome);
        render::set_outputs(emitter, &outcome);
        Ok(Ending::success(DiscoverDocument::of(&outcome)))
    })
}
