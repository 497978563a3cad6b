//! Shared helpers: scenarios, running the binary, decoding its output.

use octopus_emulator::{Emulator, LoggedRequest, Scenario, SpaceSeed};
use octoshare_core::service_message::parse_service_messages;
use std::collections::BTreeMap;
use std::time::Duration;

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

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// `setVariable` messages, decoded, by name; each name must be set once.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        let mut outputs = BTreeMap::new();
        for message in parse_service_messages(&self.stdout) {
            if message.name != "setVariable" {
                continue;
            }
            let name = message.get("name").expect("setVariable without a name");
            let value = message.get("value").expect("setVariable without a value");
            let previous = outputs.insert(name.to_owned(), value.to_owned());
            assert!(
                previous.is_none(),
                "output {name} set twice:\n{}",
                self.stdout
            );
        }
        outputs
    }

    /// Lines written between `##octopus[stdout-<level>]` and `##octopus[stdout-default]`.
    pub fn lines_at(&self, level: &str) -> Vec<String> {
        let open = format!("##octopus[stdout-{level}]");
        let mut lines = Vec::new();
        let mut inside = false;
        for line in self.stdout.lines() {
            if line == open {
                inside = true;
            } else if line.starts_with("##octopus[stdout-") {
                inside = false;
            } else if inside {
                lines.push(line.to_owned());
            }
        }
        lines
    }

    /// The single stderr line of a failed run (asserts there is exactly one, and no panic).
    pub fn error_line(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one stderr line, got:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        lines[0].trim_start_matches("error: ").to_owned()
    }
}

/// Runs `octoshare-discover` against the emulator with the admin key.
pub fn discover(emulator: &Emulator, args: &[&str]) -> Run {
    discover_with_key(&emulator.url(), &emulator.api_key(), args)
}

pub fn discover_with_key(url: &str, api_key: &str, args: &[&str]) -> Run {
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_octoshare-discover"))
        .env("OCTOPUS_URL", url)
        .env("OCTOPUS_API_KEY", api_key)
        .env_remove("OCTOPUS_ACCESS_TOKEN")
        .env_remove("OCTOPUS_CA_CERT")
        .env_remove("RUST_LOG")
        .args(["--retry-delay", "0ms"])
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
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
