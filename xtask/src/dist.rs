//! `cargo xtask dist`: release binaries that run on glibc 2.31 (Ubuntu 20.04) and newer,
//! packaged for an Octopus feed as `dist/octoshare.<version>.tar.gz` (binaries under `bin/`) with
//! `dist/SHA256SUMS`.
//!
//! The binaries are linked by `cargo-zigbuild` against glibc 2.31 symbol versions (zig provides
//! the libc stubs), then checked with `objdump -T`: a binary needing any `GLIBC_x.y` newer than
//! 2.31 fails the build.

use std::env;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256};

/// The Octopus package id.
pub const PACKAGE_ID: &str = "octoshare";
/// The binaries shipped under `bin/`.
pub const BINARIES: [&str; 4] = [
    "octoshare",
    "octoshare-discover",
    "octoshare-wait",
    "octoshare-share",
];
/// The Rust target triple of the release binaries.
pub const TARGET_TRIPLE: &str = "x86_64-unknown-linux-gnu";
/// The newest glibc the binaries may require.
pub const MAX_GLIBC: GlibcVersion = GlibcVersion {
    major: 2,
    minor: 31,
};
const PIP_INSTALL_HINT: &str = "python3 -m pip install ziglang cargo-zigbuild";

/// A `GLIBC_<major>.<minor>[.<patch>]` symbol version (the patch, rarely used, is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion {
    /// Major version (2).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}", self.major, self.minor)
    }
}

impl GlibcVersion {
    /// Parses `2.31` (or `2.3.4`, ignoring the patch).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        if parts.any(|patch| patch.parse::<u32>().is_err()) {
            return None;
        }
        Some(GlibcVersion { major, minor })
    }
}

/// A dynamic symbol whose glibc version is too new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooNewSymbol {
    /// The symbol, e.g. `__libc_start_main`.
    pub symbol: String,
    /// The version it needs.
    pub version: GlibcVersion,
}

/// Builds, checks and packages; returns the archive's path.
pub fn dist(root: &Path) -> anyhow::Result<PathBuf> {
    let version = env!("CARGO_PKG_VERSION");
    check_package_version(version)?;
    check_objdump()?;
    let zigbuild = ensure_zigbuild()?;
    build(root, &zigbuild)?;
    let release_dir = cargo_target_dir(root)?.join(TARGET_TRIPLE).join("release");
    let binaries: Vec<PathBuf> = BINARIES
        .iter()
        .map(|binary| release_dir.join(binary))
        .collect();
    for binary in &binaries {
        check_glibc(binary, MAX_GLIBC)?;
    }
    let dist_dir = root.join("dist");
    let archive = package(&binaries, &dist_dir, version, source_date_epoch())?;
    write_checksums(&dist_dir, &[archive.as_path()])?;
    println!(
        "wrote {} and {}",
        archive.display(),
        dist_dir.join("SHA256SUMS").display()
    );
    Ok(archive)
}

/// Fails unless `version` is a SemVer version Octopus accepts in a package file name.
pub fn check_package_version(version: &str) -> anyhow::Result<()> {
    let (core, _build) = version.split_once('+').unwrap_or((version, ""));
    let (release, pre_release) = core.split_once('-').unwrap_or((core, ""));
    let numbers: Vec<&str> = release.split('.').collect();
    let numeric = |part: &&str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let label_ok = |label: &str| {
        label.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        })
    };
    if numbers.len() != 3 || !numbers.iter().all(numeric) {
        bail!(
            "package version {version:?} is not MAJOR.MINOR.PATCH: fix [workspace.package] version"
        );
    }
    if (!pre_release.is_empty() || core.ends_with('-')) && !label_ok(pre_release) {
        bail!("package version {version:?} has an invalid pre-release label");
    }
    Ok(())
}

fn check_objdump() -> anyhow::Result<()> {
    match Command::new("objdump").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => bail!(
            "objdump not found: install binutils (apt-get install binutils) to check glibc symbol versions"
        ),
    }
}

/// Finds `cargo-zigbuild` (and zig), installing both from PyPI when missing.
fn ensure_zigbuild() -> anyhow::Result<PathBuf> {
    if let (Some(zigbuild), true) = (find_zigbuild(), zig_available()) {
        return Ok(zigbuild);
    }
    println!("cargo-zigbuild or zig is missing; running: {PIP_INSTALL_HINT}");
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "ziglang", "cargo-zigbuild"])
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        bail!("could not install cargo-zigbuild and zig: install them with `{PIP_INSTALL_HINT}`");
    }
    match (find_zigbuild(), zig_available()) {
        (Some(zigbuild), true) => Ok(zigbuild),
        _ => bail!(
            "cargo-zigbuild or zig still not found after `{PIP_INSTALL_HINT}`: put pip's scripts folder on PATH"
        ),
    }
}

/// `cargo-zigbuild` on PATH, else in the Python scripts folders pip installs into.
fn find_zigbuild() -> Option<PathBuf> {
    let mut folders: Vec<PathBuf> = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect())
        .unwrap_or_default();
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import os, sysconfig; print(sysconfig.get_path('scripts')); print(sysconfig.get_path('scripts', os.name + '_user'))",
        ])
        .output();
    if let Ok(output) = scripts {
        folders.extend(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(PathBuf::from),
        );
    }
    folders
        .into_iter()
        .map(|folder| folder.join("cargo-zigbuild"))
        .find(|candidate| candidate.is_file())
}

/// zig as cargo-zigbuild finds it: on PATH or as the `ziglang` Python package.
fn zig_available() -> bool {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    runs("zig", &["version"]) || runs("python3", &["-m", "ziglang", "version"])
}

fn build(root: &Path, zigbuild: &Path) -> anyhow::Result<()> {
    let target = format!("{TARGET_TRIPLE}.{MAX_GLIBC}");
    let mut command = Command::new(zigbuild);
    command
        .current_dir(root)
        .args(["zigbuild", "--release", "--locked", "--target", &target]);
    for binary in BINARIES {
        command.args(["--bin", binary]);
    }
    println!("building {} for {target}", BINARIES.join(", "));
    let status = command
        .status()
        .with_context(|| format!("running {}", zigbuild.display()))?;
    if !status.success() {
        bail!(
            "cargo zigbuild failed ({status}); if the target is missing: rustup target add {TARGET_TRIPLE}"
        );
    }
    Ok(())
}

fn cargo_target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

/// The dynamic symbols of `binary` that need a glibc newer than `max`, per `objdump -T`. A static
/// binary needs none.
pub fn glibc_symbols_newer_than(
    binary: &Path,
    max: GlibcVersion,
) -> anyhow::Result<Vec<TooNewSymbol>> {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .context("running objdump -T")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("not a dynamic object") {
            return Ok(Vec::new());
        }
        bail!("objdump -T {} failed: {}", binary.display(), stderr.trim());
    }
    let mut too_new = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(start) = line.find("GLIBC_") else {
            continue;
        };
        let version_text: String = line[start + "GLIBC_".len()..]
            .chars()
            .take_while(|character| character.is_ascii_digit() || *character == '.')
            .collect();
        let Some(version) = GlibcVersion::parse(&version_text) else {
            continue; // GLIBC_PRIVATE and the like
        };
        if version > max {
            let symbol = line
                .split_whitespace()
                .last()
                .unwrap_or_default()
                .to_owned();
            too_new.push(TooNewSymbol { symbol, version });
        }
    }
    Ok(too_new)
}

/// Fails, naming every offending symbol, when `binary` needs a glibc newer than `max`.
pub fn check_glibc(binary: &Path, max: GlibcVersion) -> anyhow::Result<()> {
    if !binary.is_file() {
        bail!("{} was not built", binary.display());
    }
    let too_new = glibc_symbols_newer_than(binary, max)?;
    if too_new.is_empty() {
        return Ok(());
    }
    let symbols: Vec<String> = too_new
        .iter()
        .map(|symbol| format!("{}@GLIBC_{}", symbol.symbol, symbol.version))
        .collect();
    bail!(
        "{} needs a glibc newer than {max}: {}",
        binary.display(),
        symbols.join(", ")
    )
}

/// `SOURCE_DATE_EPOCH` if set (reproducible builds), else now: the archive entries' mtime.
fn source_date_epoch() -> u64 {
    env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|duration| duration.as_secs())
                .unwrap_or_default()
        })
}

/// Writes `<dist_dir>/octoshare.<version>.tar.gz` holding each binary as `bin/<file name>`
/// (mode 0755, owner root, modification time `mtime`), and returns its path.
pub fn package(
    binaries: &[PathBuf],
    dist_dir: &Path,
    version: &str,
    mtime: u64,
) -> anyhow::Result<PathBuf> {
    check_package_version(version)?;
    fs::create_dir_all(dist_dir).with_context(|| format!("creating {}", dist_dir.display()))?;
    let archive_path = dist_dir.join(format!("{PACKAGE_ID}.{version}.tar.gz"));
    let file = File::create(&archive_path)
        .with_context(|| format!("creating {}", archive_path.display()))?;
    let mut archive = tar::Builder::new(GzEncoder::new(file, Compression::best()));

    let mut directory = tar::Header::new_gnu();
    directory.set_entry_type(tar::EntryType::Directory);
    set_common_fields(&mut directory, 0o755, 0, mtime);
    archive.append_data(&mut directory, "bin/", io::empty())?;

    for binary in binaries {
        let name = binary
            .file_name()
            .with_context(|| format!("{} has no file name", binary.display()))?;
        let contents = fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        set_common_fields(&mut header, 0o755, contents.len() as u64, mtime);
        archive
            .append_data(
                &mut header,
                Path::new("bin").join(name),
                contents.as_slice(),
            )
            .with_context(|| format!("adding {} to the package", binary.display()))?;
    }
    archive
        .into_inner()
        .and_then(GzEncoder::finish)
        .and_then(|mut file| file.flush())
        .with_context(|| format!("writing {}", archive_path.display()))?;
    Ok(archive_path)
}

fn set_common_fields(header: &mut tar::Header, mode: u32, size: u64, mtime: u64) {
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    // Names only fit when short; these always are.
    let _ = header.set_username("root");
    let _ = header.set_groupname("root");
}

/// Writes `<dist_dir>/SHA256SUMS` in `sha256sum` format for `files`.
pub fn write_checksums(dist_dir: &Path, files: &[&Path]) -> anyhow::Result<()> {
    let mut sums = String::new();
    for file in files {
        let contents = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let digest = Sha256::digest(&contents);
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        let name = file
            .file_name()
            .with_context(|| format!("{} has no file name", file.display()))?
            .to_string_lossy();
        sums.push_str(&format!("{hex}  {name}\n"));
    }
    let path = dist_dir.join("SHA256SUMS");
    fs::write(&path, sums).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_parse_and_order() {
        let parse = |text| GlibcVersion::parse(text).unwrap();
        assert!(parse("2.34") > MAX_GLIBC);
        assert!(parse("2.2.5") < MAX_GLIBC);
        assert_eq!(parse("2.31"), MAX_GLIBC);
        assert_eq!(GlibcVersion::parse("PRIVATE"), None);
    }

    #[test]
    fn package_versions_must_be_semver() {
        assert!(check_package_version("0.1.0").is_ok());
        assert!(check_package_version("1.2.3-beta.1+build.5").is_ok());
        for bad in ["1.2", "1.2.x", "1.2.3-", "1..3", ""] {
            assert!(check_package_version(bad).is_err(), "{bad} accepted");
        }
    }
}
