//! `octoshare-share`: registers the source pool's Tentacle workers into the same-named pool of
//! every target space (runbook step "Add workers to remaining spaces"); re-runs change nothing.

use clap::Parser;
use octoshare_cli::{CommonArgs, OutputMode, run_local};
use octoshare_share::{ShareArgs, conclude, share_workers};
use std::process::ExitCode;

/// Share the workers of a pool into the same-named pool of other spaces.
#[derive(Debug, Parser)]
#[command(name = "octoshare-share", version, about, long_about = None)]
struct Args {
    #[command(flatten)]
    share: ShareArgs,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (share_args, common) = (args.share, args.common);
    run_local(&common, OutputMode::Octopus, async |emitter, shutdown| {
        let config = share_args.into_config()?;
        let mut builder = common.client_builder(&shutdown)?;
        if config.dry_run {
            // A dry run cannot write: the client refuses POST/PUT/DELETE before sending.
            builder = builder.read_only();
        }
        let client = builder.build()?;
        let report = share_workers(&client, &config, emitter, &shutdown).await?;
        Ok(conclude(&report, &config, emitter))
    })
}
