//! `octoshare-share`: registers the source pool's Tentacle workers into the same-named pool of
//! every target space (runbook step "Add workers to remaining spaces"); re-runs change nothing.

use clap::Parser as _;
use octoshare_cli::binaries::ShareCli;
use octoshare_cli::json::{ShareDocument, ShareOutputs};
use octoshare_cli::render::share::{self as render, ShareRenderer};
use octoshare_cli::{Ending, OutputMode, run_local};
use octoshare_share::{resolve, share};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = ShareCli::parse();
    let (share_args, common) = (args.share, args.common);
    run_local(&common, OutputMode::Octopus, async |emitter, shutdown| {
        let command = share_args.into_command()?;
        let mut builder = common
            .client_builder(&shutdown)?
            .concurrency(command.options.concurrency);
        if command.options.dry_run {
            // A dry run cannot write: the client refuses POST/PUT/DELETE before sending.
            builder = builder.read_only();
        }
        let client = builder.build()?;
        let targets = resolve(&client, &command.request).await?;
        render::notes(emitter, &targets, !command.request.to_spaces.is_empty());
        let report = share(
            &client,
            &targets,
            &command.options,
            &mut ShareRenderer::new(emitter),
            &shutdown.token(),
        )
        .await?;
        render::finished(emitter, &report);
        let result = render::conclude(emitter, &report, command.report.as_deref());
        let document = ShareDocument {
            outputs: ShareOutputs::of(&report.totals),
            report,
        };
        Ok(Ending::new(document, result))
    })
}
