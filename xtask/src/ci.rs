//! `cargo xtask ci`: the project's whole test command (README.md, `.ci/run`).
//!
//! In order: `cargo fmt --check`; the unused-dependency check (`cargo xtask unused-deps`); the
//! installation of every external tool the tests use (`cargo xtask tools`: shellcheck,
//! strace, objdump, the TypeScript Octopus client, … — the table is
//! `octoshare_test_support::tools::TOOLS`); `cargo clippy -D warnings`; `cargo doc` with
//! warnings denied; and `cargo test` for the whole workspace with `CI=true`, under which a
//! test whose tool is missing fails instead of skipping. The test run comes last so its
//! summary closes the output.

use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;

use crate::{deps, tools};

/// Runs every check; the first failing step ends the run with its error.
pub fn ci(root: &Path) -> anyhow::Result<()> {
    cargo(root, &["fmt", "--all", "--check"], &[])?;
    eprintln!("==> unused dependencies");
    deps::check(root)?;
    tools::install(root)?;
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
    // The tools were just installed: under CI=true a test whose tool is missing fails.
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
