//! `cargo install --locked --path crates/octoshare` and `--path crates/octoshare-cli` (README,
//! "Install") into a temporary root: every binary lands in `<root>/bin` and answers `--version`.
//!
//! The install reuses this test's target directory and the dev profile (`--debug`), so it links
//! what `cargo test --workspace` has built already instead of a release build of everything;
//! the manifests, the lock file (`--locked`) and the `[[bin]]` targets are what it checks, and
//! those are the same for both profiles.

use std::path::{Path, PathBuf};
use std::process::Command;

use octoshare_cli::binaries::STEP_BINARIES;

/// The target directory this test binary was built into (`<target>/debug/deps/it-…`).
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf()
}

/// A `cargo` command without the variables cargo set for this test process (they would change
/// the nested build's fingerprints).
pub(crate) fn nested_cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    for (variable, _) in std::env::vars_os() {
        let name = variable.to_string_lossy();
        if (name.starts_with("CARGO_") && name != "CARGO_HOME") || name.starts_with("RUSTC") {
            command.env_remove(&variable);
        }
    }
    command
}

/// Runs `cargo install --locked --debug --root root --path <workspace>/package`.
fn install(package: &str, root: &Path) {
    let output = nested_cargo()
        .current_dir(xtask::project_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["install", "--locked", "--debug", "--no-track", "--root"])
        .arg(root)
        .arg("--path")
        .arg(xtask::project_root().join("crates").join(package))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo install --path crates/{package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cargo_install_puts_every_binary_into_the_root() {
    let root = tempfile::tempdir().expect("temp dir");
    install("octoshare", root.path());
    install("octoshare-cli", root.path());

    let mut expected: Vec<String> = std::iter::once("octoshare")
        .chain(STEP_BINARIES)
        .map(str::to_owned)
        .collect();
    expected.sort();
    let bin = root.path().join("bin");
    let mut installed: Vec<String> = std::fs::read_dir(&bin)
        .expect("<root>/bin exists")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    installed.sort();
    assert_eq!(installed, expected);

    for name in &expected {
        let output = Command::new(bin.join(name))
            .arg("--version")
            .env_clear()
            .output()
            .expect("the installed binary runs");
        assert!(output.status.success(), "{name} --version: {output:?}");
        assert_eq!(
            String::from_utf8(output.stdout).expect("UTF-8"),
            format!("{name} {}\n", env!("CARGO_PKG_VERSION")),
            "{name}"
        );
    }
}
