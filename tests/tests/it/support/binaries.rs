//! Locating the workspace's built binaries (`CARGO_BIN_EXE_*` only exists for a package's own
//! bins), building them once when they are missing or older than their sources, and running them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use octoshare_core::service_message::parse_service_messages;

/// The step binaries and the orchestrator.
pub const DISCOVER: &str = "octoshare-discover";
/// `octoshare-wait`.
pub const WAIT: &str = "octoshare-wait";
/// `octoshare-share`.
pub const SHARE: &str = "octoshare-share";
/// `octoshare` (run, demo, emulator, install, user-data).
pub const ORCHESTRATOR: &str = "octoshare";

/// `<target>/<profile>`: the directory holding this test binary's `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let deps = exe.parent().expect("the test binary is in deps/");
    deps.parent()
        .expect("deps/ is inside the profile directory")
        .to_path_buf()
}

/// The workspace root (this package is `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e package is inside the workspace")
        .to_path_buf()
}

/// Newest modification time of the sources the binaries are built from.
fn newest_source(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return newest;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "tests" || name == "target" {
            continue;
        }
        let modified = if path.is_dir() {
            newest_source(&path)
        } else if path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "toml" || ext == "hbs" || ext == "json")
        {
            entry
                .metadata()
                .and_then(|meta| meta.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        } else {
            SystemTime::UNIX_EPOCH
        };
        newest = newest.max(modified);
    }
    newest
}

fn is_fresh(binary: &Path, sources: SystemTime) -> bool {
    binary
        .metadata()
        .and_then(|meta| meta.modified())
        .is_ok_and(|built| built >= sources)
}

/// Builds a package's binary once per test process when it is missing or older than the
/// sources (`cargo test -p octoshare-e2e` alone does not build other packages' bins; a full
/// `cargo test --workspace` has built them already, so nothing is built then).
fn ensure_built(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<BTreeMap<String, bool>>> = OnceLock::new();
    let dir = profile_dir();
    let path = dir.join(name);
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if built.contains_key(name) {
        return path;
    }
    let root = workspace_root();
    let sources = newest_source(&root.join("crates")).max(newest_source(&root.join("templates")));
    if !is_fresh(&path, sources) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let target_dir = dir
            .parent()
            .expect("the profile directory is in the target directory");
        let mut command = Command::new(cargo);
        // Variables cargo set for this test process would make the nested build's fingerprints
        // differ from a plain `cargo build` (and rebuild dependencies every time).
        for (variable, _) in std::env::vars_os() {
            let name = variable.to_string_lossy();
            if (name.starts_with("CARGO_") && name != "CARGO_HOME") || name.starts_with("RUSTC") {
                command.env_remove(&variable);
            }
        }
        command
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", target_dir)
            .args(["build", "-p", package_of(name), "--bin", name]);
        if dir.file_name().is_some_and(|profile| profile == "release") {
            command.arg("--release");
        }
        let status = command
            .stdout(Stdio::null())
            .status()
            .expect("cargo runs to build the octoshare binaries");
        assert!(status.success(), "building {name} failed");
    }
    built.insert(name.to_owned(), true);
    path
}

/// The package a binary is built from: the step binaries live in `octoshare-cli`.
fn package_of(binary: &str) -> &str {
    match binary {
        DISCOVER | WAIT | SHARE => "octoshare-cli",
        other => other,
    }
}

/// The path of a built workspace binary, building it first if needed.
pub fn binary(name: &str) -> PathBuf {
    let path = ensure_built(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// A command for a workspace binary with no OCTOPUS_* variables inherited from the caller.
pub fn command(name: &str) -> Command {
    let mut command = Command::new(binary(name));
    for variable in [
        "OCTOPUS_URL",
        "OCTOPUS_API_KEY",
        "OCTOPUS_ACCESS_TOKEN",
        "OCTOPUS_CA_CERT",
        "RUST_BACKTRACE",
        "RUST_LOG",
    ] {
        command.env_remove(variable);
    }
    command.stdin(Stdio::null());
    command
}

/// What a finished process produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// What was run, for failure messages.
    pub label: String,
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// Runs `command` to completion.
    pub fn of(label: impl Into<String>, command: &mut Command) -> Run {
        let output = command.output().expect("the binary starts");
        Run::from_output(label, &output)
    }

    /// Wraps an already collected output.
    pub fn from_output(label: impl Into<String>, output: &Output) -> Run {
        Run {
            label: label.into(),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Output variables from `setVariable` service messages, in order.
    pub fn outputs(&self) -> Vec<(String, String)> {
        parse_service_messages(&self.stdout)
            .into_iter()
            .filter(|message| message.name == "setVariable")
            .filter_map(|message| {
                Some((
                    message.get("name")?.to_owned(),
                    message.get("value")?.to_owned(),
                ))
            })
            .collect()
    }

    /// The last value of an output variable.
    pub fn output(&self, name: &str) -> Option<String> {
        self.outputs()
            .into_iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Stdout parsed as the one JSON document of `--output json`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "{}: stdout is not one JSON document ({error}):\n{}",
                self.label, self.stdout
            )
        })
    }

    /// Both streams, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.label, self.code, self.stdout, self.stderr
        )
    }

    /// Fails if anything shows a panic, a backtrace hint or a stack trace.
    #[track_caller]
    pub fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            for marker in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
                assert!(
                    !text.contains(marker),
                    "'{marker}' in the output of {}",
                    self.describe()
                );
            }
        }
    }

    /// The single `error: ...` line on stderr (octopus mode: stderr holds nothing else).
    #[track_caller]
    pub fn single_error_line(&self) -> String {
        self.assert_no_panic();
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one stderr line from {}",
            self.describe()
        );
        let line = lines[0];
        assert!(
            line.starts_with("error: "),
            "stderr line is not an error line: {}",
            self.describe()
        );
        line.trim_start_matches("error: ").to_owned()
    }

    /// The first line of a clap usage error (clap adds usage lines after it); exactly one
    /// `error:` line.
    #[track_caller]
    pub fn usage_error_line(&self) -> String {
        self.assert_no_panic();
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "expected exactly one error line from {}",
            self.describe()
        );
        errors[0].trim_start_matches("error: ").to_owned()
    }
}
