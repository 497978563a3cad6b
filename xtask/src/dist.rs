//! `cargo xtask dist`: release binaries that run on glibc 2.31 (Ubuntu 20.04) and newer, and
//! three files in `dist/`:
//!
//! - `octoshare-<version>-x86_64-unknown-linux-gnu.tar.gz`, the release archive: one folder of
//!   the same name holding the four binaries, `LICENSE-MIT`, `LICENSE-APACHE` and `README.md`
//!   and, from [`generated_docs`], every binary's shell completions (`completions/`) and the man
//!   pages (`man/man1/`);
//! - `octoshare.<version>.tar.gz`, the package for an Octopus feed (binaries under `bin/`);
//! - `SHA256SUMS` of both, in `sha256sum` format.
//!
//! The binaries are linked by `cargo-zigbuild` against glibc 2.31 symbol versions (zig provides
//! the libc stubs), then checked with `objdump -T`: a binary needing any `GLIBC_x.y` newer than
//! 2.31 fails the build.
//!
//! # Reproducible
//!
//! The same commit gives the same bytes: the binaries are built with `--locked`, without debug
//! information and with every build path remapped (`--remap-path-prefix` for the workspace and
//! `CARGO_HOME`; dist fails if a binary still holds the workspace path, `CARGO_HOME` or `HOME`);
//! the archives list their entries sorted, every entry with owner 0:0 (`root`), mode 0755 or
//! 0644 and the modification time `SOURCE_DATE_EPOCH` (default: the commit time of `HEAD`), and
//! gzip writes no name and no time. So the `SHA256SUMS` of a release can be checked by building
//! its tag again.

use std::env;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use clap::ValueEnum as _;
use flate2::Compression;
use flate2::write::GzEncoder;
use octoshare_cli::shell_docs::Shell;
use sha2::{Digest as _, Sha256};

/// The Octopus package id.
pub const PACKAGE_ID: &str = "octoshare";
/// Files of the repository root that every release archive carries.
pub const DOCUMENT_FILES: [&str; 3] = ["LICENSE-APACHE", "LICENSE-MIT", "README.md"];
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

/// What [`dist`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFiles {
    /// `octoshare-<version>-<target>.tar.gz`.
    pub release_archive: PathBuf,
    /// `octoshare.<version>.tar.gz`.
    pub feed_package: PathBuf,
    /// `SHA256SUMS`.
    pub checksums: PathBuf,
}

/// Builds, checks and packages into `<root>/dist/`.
pub fn dist(root: &Path) -> anyhow::Result<DistFiles> {
    let version = env!("CARGO_PKG_VERSION");
    check_package_version(version)?;
    check_objdump()?;
    let zigbuild = ensure_zigbuild()?;
    let mtime = source_date_epoch(root)?;
    build(root, &zigbuild, mtime)?;
    let release_dir = cargo_target_dir(root)?.join(TARGET_TRIPLE).join("release");
    let binaries: Vec<PathBuf> = BINARIES
        .iter()
        .map(|binary| release_dir.join(binary))
        .collect();
    let needles = build_path_needles(root);
    for binary in &binaries {
        check_glibc(binary, MAX_GLIBC)?;
        check_no_build_paths(binary, &needles)?;
    }
    let files = package_all(root, &binaries, &root.join("dist"), version, mtime)?;
    println!(
        "wrote {}, {} and {}",
        files.release_archive.display(),
        files.feed_package.display(),
        files.checksums.display()
    );
    Ok(files)
}

/// Writes both archives and `SHA256SUMS` into `dist_dir` from built `binaries` and the
/// [`DOCUMENT_FILES`] of `root`.
pub fn package_all(
    root: &Path,
    binaries: &[PathBuf],
    dist_dir: &Path,
    version: &str,
    mtime: u64,
) -> anyhow::Result<DistFiles> {
    let mut documents = Vec::new();
    for name in DOCUMENT_FILES {
        let path = root.join(name);
        let contents = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        documents.push(ArchiveEntry::file(name, contents));
    }
    documents.extend(generated_docs(binaries)?);
    let release_archive = release_archive(binaries, &documents, dist_dir, version, mtime)?;
    let feed_package = package(binaries, dist_dir, version, mtime)?;
    let checksums = write_checksums(
        dist_dir,
        &[release_archive.as_path(), feed_package.as_path()],
    )?;
    Ok(DistFiles {
        release_archive,
        feed_package,
        checksums,
    })
}

/// The documents generated from the binaries, for the release archive: each binary's shell
/// completions under `completions/` (`NAME.bash`, `_NAME`, `NAME.fish`, `_NAME.ps1`) and the man
/// pages of `octoshare`, its subcommands and the step binaries under `man/man1/`.
///
/// They come from the built `octoshare` binary itself (`octoshare completions --binary NAME
/// SHELL` for every binary in `binaries` and every shell, `octoshare man-pages`), so a new
/// subcommand or flag is covered without a list here, and a binary `octoshare` cannot describe
/// fails the build. Entries are returned sorted by path.
pub fn generated_docs(binaries: &[PathBuf]) -> anyhow::Result<Vec<ArchiveEntry>> {
    let octoshare = binaries
        .iter()
        .find(|binary| binary.file_name().is_some_and(|name| name == PACKAGE_ID))
        .with_context(|| format!("no {PACKAGE_ID} binary among the binaries to package"))?;
    let mut entries = Vec::new();
    for binary in binaries {
        let name = binary
            .file_name()
            .with_context(|| format!("{} has no file name", binary.display()))?
            .to_string_lossy()
            .into_owned();
        for shell in Shell::ALL {
            let shell_name = shell
                .to_possible_value()
                .context("every shell has a name")?
                .get_name()
                .to_owned();
            let script = run_binary(octoshare, &["completions", "--binary", &name, &shell_name])?;
            if script.is_empty() {
                bail!(
                    "{} wrote no {shell_name} completions for {name}",
                    octoshare.display()
                );
            }
            entries.push(ArchiveEntry::file(
                format!("completions/{}", shell.file_name(&name)),
                script,
            ));
        }
    }
    let pages = tempfile::tempdir().context("creating a folder for the man pages")?;
    let out_dir = pages.path().to_string_lossy().into_owned();
    run_binary(octoshare, &["man-pages", "--out-dir", &out_dir])?;
    let mut names = Vec::new();
    for entry in fs::read_dir(pages.path()).context("listing the man pages")? {
        names.push(
            entry
                .context("listing the man pages")?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    for binary in binaries {
        let page = format!(
            "{}.1",
            binary.file_name().unwrap_or_default().to_string_lossy()
        );
        if !names.contains(&page) {
            bail!("{} wrote no man page {page}", octoshare.display());
        }
    }
    for name in names {
        let contents = fs::read(pages.path().join(&name))
            .with_context(|| format!("reading the man page {name}"))?;
        entries.push(ArchiveEntry::file(format!("man/man1/{name}"), contents));
    }
    entries.sort_by(|left, right| left.path.cmp(&right.path));
    Ok(entries)
}

/// Runs `binary` with `args`; its stdout, or an error naming the command and its stderr.
fn run_binary(binary: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_remove("OCTOPUS_API_KEY")
        .env_remove("OCTOPUS_ACCESS_TOKEN");
    // "Text file busy": the executable was just written and another thread's fork still holds
    // it open for writing until that child's exec; it passes in moments, so try again.
    let mut attempts = 0;
    let output = loop {
        match command.output() {
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 10 =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            result => break result,
        }
    }
    .with_context(|| format!("running {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed ({}): {}",
            binary.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// `octoshare-<version>-x86_64-unknown-linux-gnu`: the release archive's name without `.tar.gz`,
/// and the folder inside it.
pub fn release_name(version: &str) -> String {
    format!("{PACKAGE_ID}-{version}-{TARGET_TRIPLE}")
}

/// `octoshare-<version>-x86_64-unknown-linux-gnu.tar.gz`.
pub fn release_archive_name(version: &str) -> String {
    format!("{}.tar.gz", release_name(version))
}

/// One file of an archive: its path inside the archive, mode and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    /// Path relative to the archive's root (or its top folder), `/`-separated.
    pub path: String,
    /// 0755 for executables, 0644 otherwise.
    pub mode: u32,
    /// The bytes.
    pub contents: Vec<u8>,
}

impl ArchiveEntry {
    /// A plain file, mode 0644.
    pub fn file(path: impl Into<String>, contents: Vec<u8>) -> Self {
        ArchiveEntry {
            path: path.into(),
            mode: 0o644,
            contents,
        }
    }

    /// An executable, mode 0755.
    pub fn executable(path: impl Into<String>, contents: Vec<u8>) -> Self {
        ArchiveEntry {
            path: path.into(),
            mode: 0o755,
            contents,
        }
    }
}

fn read_binaries(binaries: &[PathBuf], folder: &str) -> anyhow::Result<Vec<ArchiveEntry>> {
    binaries
        .iter()
        .map(|binary| {
            let name = binary
                .file_name()
                .with_context(|| format!("{} has no file name", binary.display()))?
                .to_string_lossy();
            let contents =
                fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
            Ok(ArchiveEntry::executable(
                format!("{folder}{name}"),
                contents,
            ))
        })
        .collect()
}

/// Writes `<dist_dir>/octoshare-<version>-x86_64-unknown-linux-gnu.tar.gz`: the binaries and
/// `documents` in one folder of the archive's name.
pub fn release_archive(
    binaries: &[PathBuf],
    documents: &[ArchiveEntry],
    dist_dir: &Path,
    version: &str,
    mtime: u64,
) -> anyhow::Result<PathBuf> {
    check_package_version(version)?;
    let mut entries = read_binaries(binaries, "")?;
    entries.extend(documents.iter().cloned());
    let path = dist_dir.join(release_archive_name(version));
    write_tar_gz(&path, &release_name(version), entries, mtime)?;
    Ok(path)
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

fn build(root: &Path, zigbuild: &Path, mtime: u64) -> anyhow::Result<()> {
    let target = format!("{TARGET_TRIPLE}.{MAX_GLIBC}");
    let mut command = Command::new(zigbuild);
    let needles = build_path_needles(root);
    // Build paths out of the binaries: panic locations of dependencies name CARGO_HOME.
    let mut rustflags = vec![format!("--remap-path-prefix={}=/octoshare", needles[0])];
    if let Some(cargo_home) = needles.get(1) {
        rustflags.push(format!("--remap-path-prefix={cargo_home}=/cargo"));
    }
    command
        .current_dir(root)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\u{1f}"))
        .env("SOURCE_DATE_EPOCH", mtime.to_string())
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

/// `SOURCE_DATE_EPOCH` if set, else the commit time of `HEAD`: the archive entries' modification
/// time, the same for every build of one commit.
pub fn source_date_epoch(root: &Path) -> anyhow::Result<u64> {
    if let Ok(text) = env::var("SOURCE_DATE_EPOCH") {
        return text
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH {text:?} is not a number of seconds"));
    }
    let output = Command::new("git")
        .current_dir(root)
        .args(["log", "-1", "--format=%ct", "HEAD"])
        .output()
        .context("running git log to date the archive entries (or set SOURCE_DATE_EPOCH)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("git log -1 failed: set SOURCE_DATE_EPOCH to date the archive entries");
    }
    text.trim()
        .parse()
        .with_context(|| format!("git log printed {:?}, not a commit time", text.trim()))
}

/// Writes a gzip-compressed tar of `entries` under the folder `top` (none when empty), sorted by
/// path with their parent folders first, owner 0:0 and modification time `mtime`.
pub fn write_tar_gz(
    path: &Path,
    top: &str,
    mut entries: Vec<ArchiveEntry>,
    mtime: u64,
) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let prefix = if top.is_empty() {
        String::new()
    } else {
        format!("{top}/")
    };
    for entry in &mut entries {
        entry.path = format!("{prefix}{}", entry.path);
    }
    let mut folders: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for entry in &entries {
        let mut folder = entry.path.as_str();
        while let Some((parent, _)) = folder.rsplit_once('/') {
            folders.insert(format!("{parent}/"));
            folder = parent;
        }
    }
    entries.sort_by(|left, right| left.path.cmp(&right.path));
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    // GzBuilder writes no file name and a zero time: the bytes depend on the contents only.
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, Compression::best());
    let mut archive = tar::Builder::new(encoder);
    let mut all: Vec<(String, Option<&ArchiveEntry>)> = folders
        .into_iter()
        .map(|folder| (folder, None))
        .chain(
            entries
                .iter()
                .map(|entry| (entry.path.clone(), Some(entry))),
        )
        .collect();
    all.sort_by(|left, right| left.0.cmp(&right.0));
    for (name, entry) in all {
        let mut header = tar::Header::new_gnu();
        match entry {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                set_common_fields(&mut header, 0o755, 0, mtime);
                archive
                    .append_data(&mut header, &name, io::empty())
                    .with_context(|| format!("adding {name} to {}", path.display()))?;
            }
            Some(entry) => {
                header.set_entry_type(tar::EntryType::Regular);
                set_common_fields(&mut header, entry.mode, entry.contents.len() as u64, mtime);
                archive
                    .append_data(&mut header, &name, entry.contents.as_slice())
                    .with_context(|| format!("adding {name} to {}", path.display()))?;
            }
        }
    }
    archive
        .into_inner()
        .and_then(GzEncoder::finish)
        .and_then(|mut file| file.flush())
        .with_context(|| format!("writing {}", path.display()))
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
    let entries = read_binaries(binaries, "bin/")?;
    let archive_path = dist_dir.join(format!("{PACKAGE_ID}.{version}.tar.gz"));
    write_tar_gz(&archive_path, "", entries, mtime)?;
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

/// Writes `<dist_dir>/SHA256SUMS` in `sha256sum` format for `files` (sorted by name) and returns
/// its path.
pub fn write_checksums(dist_dir: &Path, files: &[&Path]) -> anyhow::Result<PathBuf> {
    let mut lines = Vec::new();
    for file in files {
        let contents = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file
            .file_name()
            .with_context(|| format!("{} has no file name", file.display()))?
            .to_string_lossy()
            .into_owned();
        lines.push((name, sha256_hex(&contents)));
    }
    lines.sort();
    let sums: String = lines
        .iter()
        .map(|(name, hex)| format!("{hex}  {name}\n"))
        .collect();
    let path = dist_dir.join("SHA256SUMS");
    fs::write(&path, sums).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The paths a reproducible binary must not contain: the workspace root, `CARGO_HOME` and `HOME`.
pub fn build_path_needles(root: &Path) -> Vec<String> {
    let mut needles = vec![root.to_string_lossy().into_owned()];
    let home = env::var("HOME").ok();
    let cargo_home = env::var("CARGO_HOME")
        .ok()
        .or_else(|| home.as_ref().map(|home| format!("{home}/.cargo")));
    needles.extend(cargo_home);
    needles.extend(home.filter(|home| home.len() > 1));
    needles
}

/// Fails naming the first of `needles` found in `binary`.
pub fn check_no_build_paths(binary: &Path, needles: &[String]) -> anyhow::Result<()> {
    let contents = fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    for needle in needles {
        if !needle.is_empty()
            && contents
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        {
            bail!(
                "{} contains the build path {needle}: it would differ between machines (check --remap-path-prefix)",
                binary.display()
            );
        }
    }
    Ok(())
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
