//! `cargo xtask bench [ARGS]`: builds the benchmark and every octoshare binary with `--release`,
//! then runs `octoshare-bench` from the project root with ARGS passed through
//! (`cargo xtask bench --help` lists them).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The packages whose release binaries the bench runs (`octoshare-cli` holds the step binaries).
const PACKAGES: &[&str] = &["octoshare-bench", "octoshare", "octoshare-cli"];

/// Builds, then runs the bench with `args`.
pub fn bench(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut build = Command::new(&cargo);
    build.current_dir(root).args(["build", "--release"]);
    for package in PACKAGES {
        build.args(["-p", package]);
    }
    eprintln!("building {} (--release)", PACKAGES.join(", "));
    let status = build.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    let release = target_dir(root, &cargo)?.join("release");
    let program = release.join(format!("octoshare-bench{}", std::env::consts::EXE_SUFFIX));
    let status = Command::new(&program)
        .current_dir(root)
        .arg("--bin-dir")
        .arg(&release)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !status.success() {
        bail!("the bench failed ({status})");
    }
    Ok(())
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR` and `.cargo/config.toml`).
fn target_dir(root: &Path, cargo: &OsString) -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cannot parse cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}
