//! Shared helpers: scenarios, running the binary, decoding its output.

use octopus_emulator::{Emulator, LoggedRequest, Scenario, SpaceSeed};
use octoshare_test_support::process::Program;

pub use octoshare_test_support::process::Run;

pub const TF_POOL: &str = "AWS Worker Pool TF";

/// Default (pool), Dev (no pool), Payments (pool), Platform (pool): the emulator lists spaces
/// by name, so their Ids are Spaces-1..4 in that order.
pub fn four_spaces() -> Scenario {
    Scenario::new()
        .space(SpaceSeed::new("Default").default_space().pool(TF_POOL))
        .space(SpaceSeed::new("Dev"))
        .space(SpaceSeed::new("Payments").pool(TF_POOL))
        .space(SpaceSeed::new("Platform").pool(TF_POOL))
}

/// `count` spaces named "Space 01".. (Ids Spaces-1.. in the same order); those in `with_pool`
/// (1-based) have the TF pool.
pub fn numbered_spaces(count: usize, with_pool: &[usize]) -> Scenario {
    (1..=count).fold(Scenario::new(), |scenario, number| {
        let mut space = SpaceSeed::new(&format!("Space {number:02}"));
        if number == 1 {
            space = space.default_space();
        }
        if with_pool.contains(&number) {
            space = space.pool(TF_POOL);
        }
        scenario.space(space)
    })
}

pub fn start(scenario: Scenario) -> Emulator {
    Emulator::start(scenario).unwrap_or_else(|error| panic!("emulator did not start: {error:#}"))
}

/// Runs `octoshare-discover` against the emulator with the admin key.
pub fn discover(emulator: &Emulator, args: &[&str]) -> Run {
    discover_with_key(&emulator.url(), &emulator.api_key(), args)
}

pub fn discover_with_key(url: &str, api_key: &str, args: &[&str]) -> Run {
    Program::new(env!("CARGO_BIN_EXE_octoshare-discover"))
        .server(url, api_key)
        .args(["--retry-delay", "0ms"])
        .args(args)
        .run()
}

/// The logged requests to a space's `/workerpools/all`.
pub fn pool_reads(requests: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    requests
        .iter()
        .filter(|request| request.path.to_lowercase().ends_with("/workerpools/all"))
        .collect()
}

pub fn id(emulator: &Emulator, name: &str) -> String {
    emulator
        .space_id(name)
        .unwrap_or_else(|| panic!("no space named {name}"))
}
