//! Shared fixtures: a small instance with a shared pool, running the binary against an
//! emulator, and decoding its output.

use octopus_emulator::{Emulator, LoggedRequest, Scenario, SpaceSeed, WorkerSeed};
use octoshare_test_support::process::Program;
use serde_json::Value;
use std::time::Duration;

/// The pool shared in every test.
pub const POOL: &str = "AWS Worker Pool TF";

/// A polling worker `name` with endpoint number `n`, in the pool.
pub fn polling(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::polling(
        name,
        &format!("poll://w{n:019}/"),
        &format!("{:040X}", 0xABCD_0000_u64 + u64::from(n)),
    )
    .in_pool(POOL)
}

/// Four spaces, sorted by name as the server lists them:
///
/// - "Alpha" (the initial space): the pool with `worker-1`; `worker-2` registers after
///   `second_worker_after`;
/// - "Beta": the pool, empty;
/// - "Delta": the pool, with a stale `worker-1` (another endpoint, Unavailable);
/// - "Gamma": no such pool.
pub fn instance(second_worker_after: Duration) -> Scenario {
    Scenario::new()
        .space(
            SpaceSeed::new("Alpha")
                .default_space()
                .pool(POOL)
                .worker(polling("worker-1", 1))
                .register_after(second_worker_after, polling("worker-2", 2)),
        )
        .space(SpaceSeed::new("Beta").pool(POOL))
        .space(
            SpaceSeed::new("Delta")
                .pool(POOL)
                .worker(polling("worker-1", 99).health("Unavailable")),
        )
        .space(SpaceSeed::new("Gamma").pool("Something Else"))
}

/// Starts an emulator (each test its own).
pub fn start(scenario: Scenario) -> Emulator {
    Emulator::start(scenario).expect("the emulator starts")
}

/// The binary, pointed at `emulator` through the environment, with immediate retries.
pub fn octoshare(emulator: &Emulator) -> Program {
    let mut program = octoshare_offline();
    program
        .server(&emulator.url(), &emulator.api_key())
        .args(["--retry-delay", "0ms"]);
    program
}

/// The binary without a server (demo, user-data, help).
pub fn octoshare_offline() -> Program {
    let mut program = Program::new(env!("CARGO_BIN_EXE_octoshare"));
    program.env_clear();
    program
}

pub use octoshare_test_support::process::Run;

/// Runs the program to the end.
pub fn run_of(program: &mut Program) -> Run {
    program.run()
}

/// Logged requests with this method.
pub fn count(requests: &[LoggedRequest], method: &str) -> usize {
    requests
        .iter()
        .filter(|request| request.method.eq_ignore_ascii_case(method))
        .count()
}

/// POST + PUT + DELETE requests.
pub fn writes(requests: &[LoggedRequest]) -> usize {
    count(requests, "POST") + count(requests, "PUT") + count(requests, "DELETE")
}

/// The names of the workers in a space's pool.
pub fn pool_worker_names(emulator: &Emulator, space: &str) -> Vec<String> {
    let space_id = emulator.space_id(space).expect("the space exists");
    let pool_id = pool_id(emulator, space);
    let mut names: Vec<String> = emulator
        .workers(&space_id)
        .iter()
        .filter(|worker| {
            worker["WorkerPoolIds"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| id == pool_id.as_str()))
        })
        .filter_map(|worker| worker["Name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The Id of the shared pool in a space.
pub fn pool_id(emulator: &Emulator, space: &str) -> String {
    let space_id = emulator.space_id(space).expect("the space exists");
    emulator
        .worker_pools(&space_id)
        .iter()
        .find(|pool| pool["Name"] == POOL)
        .and_then(|pool| pool["Id"].as_str())
        .expect("the space has the pool")
        .to_owned()
}

/// `value[key]` as a string list.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|item| item.as_str().expect("a string").to_owned())
        .collect()
}
