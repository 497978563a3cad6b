//! Shared helpers: scenarios, running the binary, decoding its output, reading the request log.

use octopus_emulator::{Emulator, LoggedRequest, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::service_message::{ServiceMessage, parse_service_messages};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

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

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn messages(&self) -> Vec<ServiceMessage> {
        parse_service_messages(&self.stdout)
    }

    /// `setVariable` messages, decoded, by name; each name must be set once.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        let mut outputs = BTreeMap::new();
        for message in self.messages() {
            if message.name == "setVariable" {
                let name = message.get("name").expect("a name").to_owned();
                let value = message.get("value").expect("a value").to_owned();
                assert!(outputs.insert(name, value).is_none(), "{}", self.stdout);
            }
        }
        outputs
    }

    /// `(percentage, message)` of every `progress` message, in order.
    pub fn progress(&self) -> Vec<(u8, String)> {
        self.messages()
            .iter()
            .filter(|message| message.name == "progress")
            .map(|message| {
                let percentage = message.get("percentage").expect("a percentage");
                (
                    percentage.parse().expect("a whole percentage"),
                    message.get("message").expect("a message").to_owned(),
                )
            })
            .collect()
    }

    /// Lines written between `##octopus[stdout-<level>]` and the next level message.
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
    let output = assert_cmd::Command::from_std(command(&emulator.url(), key, args))
        .timeout(Duration::from_secs(60))
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
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
