//! `octoshare-discover`: finds the spaces that have a worker pool and sets the initial space and
//! the remaining spaces as Octopus output variables (runbook step "Get Space List").

use clap::Parser;
use octoshare_cli::flags::DiscoverArgs;
use octoshare_cli::json::DiscoverDocument;
use octoshare_cli::render::discover::{self as render, DiscoverRenderer};
use octoshare_cli::{CommonArgs, Ending, OutputMode, run_local};
use octoshare_discover::discover;
use std::process::ExitCode;

/// Find every space that has worker pool NAME; the first is the initial space.
#[derive(Debug, Parser)]
#[command(name = "octoshare-discover", version, about, long_about = None)]
struct Args {
    #[command(flatten)]
    discover: DiscoverArgs,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    /// clap's own consistency checks of every flag (groups, conflicts, defaults, value names).
    #[test]
    fn flags_pass_clap_debug_assert() {
        Args::command().debug_assert();
    }
}
