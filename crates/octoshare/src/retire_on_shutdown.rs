//! `octoshare retire-on-shutdown install|remove`: writes (or removes) the systemd unit
//! `octoshare-retire.service`, whose `ExecStop` runs `octoshare retire --this-machine` when the
//! machine shuts down, before the Tentacle service stops. The bootstrap script's
//! retire-on-shutdown section calls `install`; the API key is kept in a root-only file that the
//! unit names (`--api-key-file`), never in the unit or on a command line.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use octoshare_cli::args::read_secret_file;
use octoshare_cli::{CommonArgs, Exit, ExitError, parse_duration};
use octoshare_core::ServerUrl;

/// The unit's name.
pub const UNIT: &str = "octoshare-retire.service";

/// Where the bootstrap script records the registered settings: the unit deletes it after
/// retiring, so the next boot of the same machine registers it again.
const REGISTRATION_MARKER: &str = "/var/lib/octoshare/registration.sha256";

/// How much longer than the drain systemd lets the stop run (the listing, disables, deletes).
const STOP_MARGIN: Duration = Duration::from_secs(5 * 60);

/// `octoshare retire-on-shutdown`.
#[derive(Debug, Clone, clap::Args)]
pub struct RetireOnShutdownArgs {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the unit.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Action {
    /// Write octoshare-retire.service and enable and start it: at shutdown, before the Tentacle service stops, it runs octoshare retire --this-machine (needs --server; the key from OCTOPUS_API_KEY is kept in --api-key-file, root-only)
    Install(InstallArgs),
    /// Stop, disable and delete octoshare-retire.service without retiring the worker
    Remove(RemoveArgs),
}

/// `octoshare retire-on-shutdown install`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {
    /// The root-only file (mode 0600) the unit reads the API key from; written from OCTOPUS_API_KEY when that is set, else it must exist
    #[arg(long, value_name = "PATH")]
    pub api_key_file: PathBuf,

    /// The Tentacle instance configuration retire --this-machine reads the thumbprint from
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/octopus/Tentacle/tentacle-Tentacle.config"
    )]
    pub tentacle_config: PathBuf,

    /// The Tentacle instance's systemd service, which the unit stops before
    #[arg(long, value_name = "UNIT", default_value = "Tentacle.service")]
    pub tentacle_service: String,

    /// How long retire waits at shutdown for the tasks holding the worker to finish (the platform must allow longer: docs/scale-in.md)
    #[arg(long, value_name = "DURATION", default_value = "25m", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    #[command(flatten)]
    pub location: Location,
}

/// `octoshare retire-on-shutdown remove`.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub location: Location,
}

/// Where the unit files live.
#[derive(Debug, Clone, clap::Args)]
pub struct Location {
    /// Prefix of every path written (a test hook, like the bootstrap script's)
    #[arg(long, env = "OCTOSHARE_ROOT", value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

impl Location {
    /// `path` (absolute, as the machine sees it) under the root.
    fn of(&self, path: &Path) -> PathBuf {
        match self
            .root
            .as_deref()
            .filter(|root| !root.as_os_str().is_empty())
        {
            Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
            None => path.to_owned(),
        }
    }

    /// `path` as the machine sees it: without the root.
    fn system(&self, path: &Path) -> PathBuf {
        match self
            .root
            .as_deref()
            .filter(|root| !root.as_os_str().is_empty())
        {
            Some(root) => match path.strip_prefix(root) {
                Ok(inner) => Path::new("/").join(inner),
                Err(_) => path.to_owned(),
            },
            None => path.to_owned(),
        }
    }

    fn unit_file(&self) -> PathBuf {
        self.of(&Path::new("/etc/systemd/system").join(UNIT))
    }

    /// The runtime drop-in that clears the stop commands while `remove` stops the unit.
    fn off_dropin_dir(&self) -> PathBuf {
        self.of(&Path::new("/run/systemd/system").join(format!("{UNIT}.d")))
    }
}

/// `octoshare retire-on-shutdown` as a process: 0 done, 2 bad input, 1 a file or `systemctl`
/// failed.
pub fn command(args: RetireOnShutdownArgs, common: &CommonArgs) -> ExitCode {
    let quiet = common.quiet > 0;
    let result = match &args.action {
        Action::Install(install) => run_install(install, common),
        Action::Remove(remove) => run_remove(&remove.location),
    };
    match result {
        Ok(lines) => {
            if !quiet {
                let mut stdout = std::io::stdout().lock();
                for line in lines {
                    let _ = writeln!(stdout, "{line}");
                }
            }
            Exit::Success.into()
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {error}");
            error.exit.into()
        }
    }
}

fn failure(message: impl Into<String>) -> ExitError {
    ExitError::new(Exit::Internal, message)
}

fn run_install(args: &InstallArgs, common: &CommonArgs) -> Result<Vec<String>, ExitError> {
    let server = common
        .server
        .as_deref()
        .filter(|server| !server.trim().is_empty())
        .ok_or_else(|| {
            ExitError::usage(
                "no Octopus Server URL: pass --server or set OCTOPUS_URL (the unit retires from it)",
            )
        })?;
    ServerUrl::parse(server).map_err(|error| ExitError::usage(format!("--server: {error}")))?;
    for (flag, path) in [
        ("--api-key-file", &args.api_key_file),
        ("--tentacle-config", &args.tentacle_config),
    ] {
        if !path.is_absolute() {
            return Err(ExitError::usage(format!(
                "{flag} {} is not an absolute path: the unit runs from /",
                path.display()
            )));
        }
    }
    if !args.tentacle_service.ends_with(".service")
        || args
            .tentacle_service
            .contains(|c: char| c.is_whitespace() || c == '/')
    {
        return Err(ExitError::usage(format!(
            "--tentacle-service {:?} is not a systemd service name such as Tentacle.service",
            args.tentacle_service
        )));
    }
    let key = common
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|key| !key.is_empty());
    let mut lines = Vec::new();
    let key_file = args.location.of(&args.api_key_file);
    match key {
        Some(key) => {
            if keep_key(&key_file, key)? {
                lines.push(format!(
                    "kept the API key in {} (owner root, mode 0600) for the unit",
                    args.api_key_file.display()
                ));
            }
        }
        None => check_key_file(&key_file)?,
    }

    let exe = std::env::current_exe()
        .map_err(|error| failure(format!("cannot find octoshare's own executable: {error}")))?;
    let unit = unit_text(&UnitSettings {
        octoshare: args.location.system(&exe),
        server: server.trim().to_owned(),
        api_key_file: args.api_key_file.clone(),
        tentacle_config: args.tentacle_config.clone(),
        tentacle_service: args.tentacle_service.clone(),
        drain_timeout: args.drain_timeout,
        ca_cert: common.ca_cert.clone(),
    })?;
    let unit_file = args.location.unit_file();
    let changed = fs::read_to_string(&unit_file).ok().as_deref() != Some(unit.as_str());
    if changed {
        write_atomically(&unit_file, unit.as_bytes(), 0o644)?;
        systemctl(&["daemon-reload"])?;
    }
    systemctl(&["enable", UNIT])?;
    // Active (a oneshot that remains), so that systemd stops it, running ExecStop, at shutdown.
    systemctl(&["start", UNIT])?;
    lines.push(format!(
        "{UNIT} {}: at shutdown, before {} stops, it runs octoshare retire --this-machine (drain timeout {})",
        if changed { "installed" } else { "is up to date" },
        args.tentacle_service,
        humantime(args.drain_timeout),
    ));
    Ok(lines)
}

fn run_remove(location: &Location) -> Result<Vec<String>, ExitError> {
    let unit_file = location.unit_file();
    if !unit_file.exists() {
        return Ok(vec![format!("{UNIT} is not installed: nothing to remove")]);
    }
    // Stopping the unit would retire the worker: a runtime drop-in clears the stop commands first.
    let dropin_dir = location.off_dropin_dir();
    write_atomically(
        &dropin_dir.join("off.conf"),
        b"[Service]\nExecStop=\nExecStopPost=\n",
        0o644,
    )?;
    systemctl(&["daemon-reload"])?;
    systemctl(&["stop", UNIT])?;
    systemctl(&["disable", UNIT])?;
    for result in [fs::remove_file(&unit_file), fs::remove_dir_all(&dropin_dir)] {
        if let Err(error) = result
            && error.kind() != std::io::ErrorKind::NotFound
        {
            return Err(failure(format!("cannot delete {UNIT}'s files: {error}")));
        }
    }
    systemctl(&["daemon-reload"])?;
    Ok(vec![format!(
        "{UNIT} removed without retiring: this worker stays registered (its key file is left in place)"
    )])
}

/// Writes `key` to `path` (its folder 0700, the file 0600) unless it holds it already; true
/// when written. The key is never part of a message.
fn keep_key(path: &Path, key: &str) -> Result<bool, ExitError> {
    if path.exists() {
        check_key_file(path)?;
        if read_secret_file(path, "--api-key-file")? == key {
            return Ok(false);
        }
    }
    if let Some(parent) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|error| {
                failure(format!(
                    "cannot create the folder {}: {error}",
                    parent.display()
                ))
            })?;
    }
    write_atomically(path, format!("{key}\n").as_bytes(), 0o600)?;
    Ok(true)
}

/// The key file exists, is a regular file of this user (root) that nobody else may read.
fn check_key_file(path: &Path) -> Result<(), ExitError> {
    let metadata = fs::symlink_metadata(path).map_err(|error| {
        ExitError::usage(format!(
            "no API key: set OCTOPUS_API_KEY or write the key to {} (owner root, mode 0600) ({error})",
            path.display()
        ))
    })?;
    if !metadata.is_file() {
        return Err(ExitError::usage(format!(
            "{} is not a regular file: write the API key to it (owner root, mode 0600)",
            path.display()
        )));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ExitError::usage(format!(
            "refusing to keep the API key in {}: mode {mode:o} lets other users read it (chmod 600 {})",
            path.display(),
            path.display()
        )));
    }
    // /proc/self belongs to the process's effective user.
    if let Ok(me) = fs::metadata("/proc/self")
        && metadata.uid() != me.uid()
    {
        return Err(ExitError::usage(format!(
            "refusing to keep the API key in {}: it belongs to user {}, not to the user running octoshare (chown it to root)",
            path.display(),
            metadata.uid()
        )));
    }
    read_secret_file(path, "--api-key-file").map(drop)
}

/// Writes `contents` to a new file next to `path` with `mode`, then renames it over `path`: a
/// reader sees the old file or the new one, never half of it.
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), ExitError> {
    let cannot =
        |error: std::io::Error| failure(format!("cannot write {}: {error}", path.display()));
    if let Some(parent) = path.parent()
        && !parent.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(cannot)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .map_err(cannot)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(cannot)?;
    fs::rename(&temporary, path).map_err(cannot)
}

/// Runs `systemctl ARGS` (from `PATH`), its output passed through.
fn systemctl(arguments: &[&str]) -> Result<(), ExitError> {
    let status = Command::new("systemctl")
        .args(arguments)
        .stdin(Stdio::null())
        .env_remove("OCTOPUS_API_KEY")
        .status()
        .map_err(|error| {
            failure(format!(
                "cannot run systemctl: {error}: is this a systemd machine?"
            ))
        })?;
    if !status.success() {
        return Err(failure(format!(
            "systemctl {} failed ({status}); see its output above",
            arguments.join(" ")
        )));
    }
    Ok(())
}

/// What the unit runs.
#[derive(Debug, Clone)]
pub struct UnitSettings {
    /// The octoshare executable.
    pub octoshare: PathBuf,
    /// The server URL.
    pub server: String,
    /// The key file.
    pub api_key_file: PathBuf,
    /// The Tentacle instance configuration.
    pub tentacle_config: PathBuf,
    /// The Tentacle service the unit is ordered after.
    pub tentacle_service: String,
    /// retire's `--drain-timeout`.
    pub drain_timeout: Duration,
    /// retire's `--ca-cert`, when given.
    pub ca_cert: Option<PathBuf>,
}

/// The unit file: ordered after the Tentacle service (so stopped before it), a oneshot that
/// remains active, whose `ExecStop` retires this machine.
pub fn unit_text(settings: &UnitSettings) -> Result<String, ExitError> {
    let path = |path: &Path| path.to_string_lossy().into_owned();
    let mut words = vec![
        path(&settings.octoshare),
        "retire".to_owned(),
        "--this-machine".to_owned(),
        "--tentacle-config".to_owned(),
        path(&settings.tentacle_config),
        "--api-key-file".to_owned(),
        path(&settings.api_key_file),
        "--server".to_owned(),
        settings.server.clone(),
        "--drain-timeout".to_owned(),
        humantime(settings.drain_timeout),
        "--output".to_owned(),
        "text".to_owned(),
    ];
    if let Some(ca_cert) = &settings.ca_cert {
        words.extend(["--ca-cert".to_owned(), path(ca_cert)]);
    }
    let mut exec_stop = String::new();
    for word in &words {
        if !exec_stop.is_empty() {
            exec_stop.push(' ');
        }
        exec_stop.push_str(&systemd_word(word)?);
    }
    let stop_seconds = (settings.drain_timeout + STOP_MARGIN).as_secs();
    let mut unit = String::new();
    let _ = write!(
        unit,
        "\
# Written by `octoshare retire-on-shutdown install`; `octoshare retire-on-shutdown remove` deletes
# it. Stopping this unit retires the worker from every Octopus space; at shutdown systemd stops it
# before {tentacle} (After= below). The API key is read from the root-only file it names.
[Unit]
Description=octoshare: retire this worker from every Octopus space before Tentacle stops
Documentation=https://github.com/octoshare/octoshare/blob/main/docs/scale-in.md
Wants=network-online.target
After=network-online.target {tentacle}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop={exec_stop}
ExecStopPost=/bin/rm -f {marker}
TimeoutStopSec={stop_seconds}
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=-/var/lib/octoshare
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
",
        tentacle = settings.tentacle_service,
        marker = systemd_word(REGISTRATION_MARKER)?,
    );
    Ok(unit)
}

/// `word` as one word of a systemd command line: double-quoted, `\` and `"` escaped, `%` and
/// `$` doubled (specifiers and variables). A line break cannot be part of a word.
fn systemd_word(word: &str) -> Result<String, ExitError> {
    if word.contains(['\n', '\r']) {
        return Err(ExitError::usage(format!(
            "{word:?} spans several lines and cannot be part of the unit's command line"
        )));
    }
    let escaped = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    Ok(format!("\"{escaped}\""))
}

/// `duration` as retire's `--drain-timeout` reads it (whole seconds, minutes when exact).
fn humantime(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds > 0 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_words_escape_quotes_backslashes_specifiers_and_variables() {
        assert_eq!(
            systemd_word(r#"a "b" \c %d $e"#).unwrap(),
            r#""a \"b\" \\c %%d $$e""#
        );
        assert!(systemd_word("a\nb").is_err());
    }

    #[test]
    fn durations_are_written_as_retire_reads_them() {
        assert_eq!(humantime(Duration::from_secs(25 * 60)), "25m");
        assert_eq!(humantime(Duration::from_secs(90)), "90s");
    }
}
