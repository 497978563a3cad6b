//! `octoshare emulator`: serves the Octopus API emulator (`octopus_emulator`) on a local address
//! until Ctrl-C, seeded from a scenario file or with the demo's sample instance, and prints the
//! URL and an API key to use with it.
//!
//! The emulator is a test double, not a server to deploy: it keeps everything in memory and its
//! API keys are fixed, public values (unless the scenario sets its own).

use octopus_emulator::{DEMO_POOL, Emulator, Scenario};
use octoshare_cli::json::EmulatorDocument;
use octoshare_cli::{CommonArgs, Ending, ExitError, OutputMode, run_local};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `octoshare emulator`.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:8065")]
    pub listen: SocketAddr,

    /// Scenario file (JSON, format: crates/octopus-emulator/scenarios/example.json); default: the demo's sample instance
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}

/// `octoshare emulator` as a process: starts the emulator, prints how to use it, serves until
/// SIGINT/SIGTERM, then prints how many requests it served.
pub fn command(args: EmulatorArgs, common: &CommonArgs) -> ExitCode {
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        let (scenario, scenario_name) = match &args.scenario {
            Some(path) => (
                Scenario::from_file(path).map_err(|error| {
                    ExitError::usage(format!("{error:#}: fix the file or leave --scenario out"))
                })?,
                path.display().to_string(),
            ),
            None => (Scenario::demo(), "the demo's sample instance".to_owned()),
        };
        let space_names: Vec<String> = scenario
            .spaces()
            .iter()
            .map(|space| space.name().to_owned())
            .collect();
        let emulator = Emulator::start_on(args.listen, scenario).map_err(|error| {
            ExitError::usage(format!(
                "{error:#}: pick another address with --listen, e.g. --listen 127.0.0.1:0"
            ))
        })?;
        let url = emulator.url();
        let api_key = emulator.api_key();
        emitter.highlight(&format!("Octopus API emulator listening on {url}"));
        emitter.info(&format!("  scenario      {scenario_name}"));
        emitter.info(&format!("  spaces        {}", space_summary(&space_names)));
        emitter.info(&format!("  API key       {api_key}"));
        emitter.info(&format!(
            "  read-only key {} (refused every write)",
            emulator.read_only_api_key()
        ));
        emitter.info("");
        emitter.info("Try it in another terminal:");
        emitter.info(&format!(
            "  export OCTOPUS_URL={url} OCTOPUS_API_KEY={api_key}"
        ));
        if args.scenario.is_none() {
            emitter.info(&format!(
                "  octoshare run --worker-pool '{DEMO_POOL}' --count 5 --poll-interval 1s"
            ));
        }
        emitter.info("  octoshare install");
        emitter.info(&format!(
            "  curl -H \"X-Octopus-ApiKey: $OCTOPUS_API_KEY\" {url}/api/spaces/all"
        ));
        emitter.info("");
        emitter.info("Serving until Ctrl-C.");

        shutdown.requested().await;
        let served = emulator.requests().len();
        drop(emulator);
        emitter.info(&format!(
            "emulator stopped after serving {served} {}",
            if served == 1 { "request" } else { "requests" }
        ));
        Ok(Ending::success(EmulatorDocument {
            url,
            api_key,
            request_count: served as u64,
        }))
    })
}

/// `6: Default, Platform Team, Payments, …` — how many spaces the emulator holds, and the first.
fn space_summary(names: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut summary = format!("{}", names.len());
    if !names.is_empty() {
        let shown: Vec<&str> = names.iter().take(SHOWN).map(String::as_str).collect();
        summary.push_str(&format!(": {}", shown.join(", ")));
        if names.len() > SHOWN {
            summary.push_str(&format!(", and {} more", names.len() - SHOWN));
        }
    }
    summary
}
