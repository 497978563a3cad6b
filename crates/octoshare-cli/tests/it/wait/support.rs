//! Shared helpers: scenarios, running the binary, decoding its output, reading the request log.

use octopus_emulator::{Emulator, LoggedRequest, Scenario, SpaceSeed, WorkerSeed};
use octoshare_test_support::process::Program;
use std::process::Command;

pub use octoshare_test_support::process::Run;

pub const TF_POOL: &str = "AWS Worker Pool TF";

/// A polling worker in the TF pool with a unique subscription id and thumbprint.
pub fn worker(name: &str, number: u32) -> WorkerSeed {
    WorkerSeed::polling(
        name,
        &format!("poll://worker{number:014}/"),
        &format!("{number:040X}"),
    )
    .in_pool(TF_POOL)
}

/// "Default" (Spaces-1) with the TF pool, holding `workers`.
pub fn default_space(workers: impl IntoIterator<Item = WorkerSeed>) -> SpaceSeed {
    workers.into_iter().fold(
        SpaceSeed::new("Default").default_space().pool(TF_POOL),
        SpaceSeed::worker,
    )
}

pub fn start(scenario: Scenario) -> Emulator {
    Emulator::start(scenario).unwrap_or_else(|error| panic!("emulator did not start: {error:#}"))
}

/// The command, with the emulator's URL and `key`, no retry delay, and `args`.
pub fn command(url: &str, key: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_octoshare-wait"));
    command
        .env("OCTOPUS_URL", url)
        .env("OCTOPUS_API_KEY", key)
        .env_remove("OCTOPUS_ACCESS_TOKEN")
        .env_remove("OCTOPUS_CA_CERT")
        .env_remove("RUST_LOG")
        .args(["--retry-delay", "0ms"])
        .args(args);
    command
}

pub fn wait(emulator: &Emulator, args: &[&str]) -> Run {
    wait_with_key(emulator, &emulator.api_key(), args)
}

pub fn wait_with_key(emulator: &Emulator, key: &str, args: &[&str]) -> Run {
    Program::new(env!("CARGO_BIN_EXE_octoshare-wait"))
        .server(&emulator.url(), key)
        .args(["--retry-delay", "0ms"])
        .args(args)
        .run()
}

/// Requests to a pool's workers route (`/api/{space}/workerpools/{id}/workers`), every page.
pub fn worker_reads(requests: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    requests
        .iter()
        .filter(|request| {
            let path = request.path.to_lowercase();
            path.contains("/workerpools/") && path.ends_with("/workers")
        })
        .collect()
}

/// The polls: reads of the first page of the workers route.
pub fn polls(requests: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    worker_reads(requests)
        .into_iter()
        .filter(|request| !request.query.contains("skip=") || request.query.contains("skip=0"))
        .collect()
}
