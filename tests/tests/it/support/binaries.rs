//! Locating the workspace's built binaries (`CARGO_BIN_EXE_*` only exists for a package's own
//! bins), building them once when they are missing or older than their sources, and running them
//! (what a run produced is the shared `octoshare_test_support::process::Run`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

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

pub use octoshare_test_support::process::Run;
