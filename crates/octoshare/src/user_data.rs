//! `octoshare user-data`: prints the worker bootstrap script (`configure-worker.sh`, or with
//! `--os windows` `configure-worker.ps1`) that a new VM runs as user data — install Tentacle, register it as a polling worker into the initial
//! space's pool — rendered by [`octoshare_templates::render_bootstrap`], the same renderer
//! `cargo xtask codegen` uses.
//!
//! Stdout holds the script and nothing else (with `--output json`: one document
//! `{"Format": "bash", "Script": "..."}`), so `octoshare user-data ... > user-data.sh` works;
//! notes go to stderr. No format ever contains an API key: the script reads it at boot from
//! `OCTOPUS_API_KEY` or [`octoshare_templates::API_KEY_FILE`]. This command needs no API key
//! and never prints one, even when `OCTOPUS_API_KEY` is set.

use octoshare_cli::json::UserDataDocument;
use octoshare_cli::{CommonArgs, Exit, ExitError, OutputMode, exit_for_error, one_line};
use octoshare_core::ServerUrl;
use octoshare_templates::step_templates::embedded_release_pin;
use octoshare_templates::{
    API_KEY_FILE, BootstrapConfig, BootstrapFormat, BootstrapOs, render_bootstrap_for,
};
use std::io::Write;
use std::process::ExitCode;

/// The `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// A ready-to-run script with the values of these flags
    Bash,
    /// configure-worker.sh.tftpl for Terraform's templatefile(); values come from Terraform variables
    Tftpl,
    /// configure-worker.sh with Octopus #{...} placeholders, substituted by Octopus before Terraform reads it
    Octostache,
}

impl From<FormatArg> for BootstrapFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Bash => BootstrapFormat::Bash,
            FormatArg::Tftpl => BootstrapFormat::Tftpl,
            FormatArg::Octostache => BootstrapFormat::Octostache,
        }
    }
}

/// The `--os` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OsArg {
    /// configure-worker.sh (bash; Tentacle from Octopus's apt repository)
    Linux,
    /// configure-worker.ps1 (PowerShell; Tentacle from its MSI)
    Windows,
}

impl From<OsArg> for BootstrapOs {
    fn from(os: OsArg) -> Self {
        match os {
            OsArg::Linux => BootstrapOs::Linux,
            OsArg::Windows => BootstrapOs::Windows,
        }
    }
}

/// Where the Windows script reads the key at boot (besides `OCTOPUS_API_KEY`).
const WINDOWS_API_KEY_FILE: &str = "%ProgramData%\\octoshare\\api-key";

/// Flags of `octoshare user-data` (besides the global `--server URL`).
#[derive(Debug, Clone, clap::Args)]
pub struct UserDataArgs {
    /// Initial space (name) whose pool the worker registers into, e.g. discover's InitialSpaceName
    #[arg(long, value_name = "NAME")]
    pub space: Option<String>,

    /// Worker pool the worker registers into
    #[arg(long, value_name = "NAME")]
    pub worker_pool: Option<String>,

    /// Script shape (bash: a ready-to-run script, PowerShell with --os windows)
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = FormatArg::Bash)]
    pub format: FormatArg,

    /// The worker VMs' operating system
    #[arg(long, value_enum, value_name = "OS", default_value_t = OsArg::Linux)]
    pub os: OsArg,

    /// Machine policy (by name) of the registered worker; default: the space's default policy
    #[arg(long, value_name = "NAME")]
    pub machine_policy: Option<String>,

    /// The address Tentacle polls (`https://host[:port]`).
    #[arg(
        long,
        value_name = "ADDRESS",
        help = "Address Tentacle polls, https://host[:port]; default: the server URL's host (Octopus Cloud: https://polling.<instance>.octopus.app)"
    )]
    pub server_comms_address: Option<String>,

    /// Polling port; default: the comms address's port (443 for https), else 10943
    #[arg(long, value_name = "PORT")]
    pub server_comms_port: Option<u16>,

    /// Further HA nodes Tentacle polls too (`https://host[:port]`).
    #[arg(
        long = "extra-server-node",
        value_name = "ADDRESS",
        help = "A further HA node Tentacle polls too, https://host[:port]; without a port it is polled on the primary's port (repeatable)"
    )]
    pub extra_server_nodes: Vec<String>,

    /// apt version of the tentacle package to pin; default: the latest
    #[arg(long, value_name = "VERSION")]
    pub tentacle_version: Option<String>,

    /// Worker name; default: the VM's $HOSTNAME
    #[arg(long, value_name = "NAME")]
    pub worker_name: Option<String>,

    /// Linux: install octoshare and its retire-on-shutdown unit, which retires the worker from every space when the VM shuts down (the API key stays on the VM, root-only)
    #[arg(long)]
    pub retire_on_shutdown: bool,
}

/// `octoshare user-data` as a process.
pub fn command(args: UserDataArgs, common: &CommonArgs) -> ExitCode {
    let mode = common.output_mode(OutputMode::Text);
    let quiet = common.quiet > 0;
    let result = render(&args, common.server.as_deref()).and_then(|(script, notes)| {
        print(&script, args.format, mode)?;
        if !quiet {
            let mut stderr = std::io::stderr().lock();
            for note in notes {
                let _ = writeln!(stderr, "note: {note}");
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => Exit::Success.into(),
        Err(error) => {
            let exit = exit_for_error(&error);
            let _ = writeln!(std::io::stderr().lock(), "error: {}", one_line(&error));
            exit.into()
        }
    }
}

/// Renders the script; returns it with the notes for stderr.
fn render(args: &UserDataArgs, server: Option<&str>) -> anyhow::Result<(String, Vec<String>)> {
    let format = BootstrapFormat::from(args.format);
    let mut notes = Vec::new();
    let config = match format {
        BootstrapFormat::Bash => {
            let server = required(
                server,
                "--server URL (or OCTOPUS_URL)",
                "the Octopus Server URL",
            )?;
            let server = ServerUrl::parse(server)?;
            BootstrapConfig {
                server_url: server.to_string(),
                space: required(
                    args.space.as_deref(),
                    "--space NAME",
                    "the initial space, discover's InitialSpaceName",
                )?
                .to_owned(),
                worker_pool: required(
                    args.worker_pool.as_deref(),
                    "--worker-pool NAME",
                    "the shared worker pool",
                )?
                .to_owned(),
                machine_policy: optional(args.machine_policy.as_deref()),
                server_comms_address: optional(args.server_comms_address.as_deref()),
                server_comms_port: args.server_comms_port,
                extra_server_nodes: args
                    .extra_server_nodes
                    .iter()
                    .map(|node| node.trim().to_owned())
                    .collect(),
                tentacle_version: optional(args.tentacle_version.as_deref()),
                worker_name: optional(args.worker_name.as_deref()),
                retire_on_shutdown: args.retire_on_shutdown,
                release: None,
            }
        }
        BootstrapFormat::Tftpl | BootstrapFormat::Octostache => {
            let given = given_values(args, server);
            if !given.is_empty() {
                let source = if format == BootstrapFormat::Tftpl {
                    "Terraform variables (listed in the script's header)"
                } else {
                    "Octopus variables (#{OctoShare.*})"
                };
                notes.push(format!(
                    "--format {} takes its values from {source}; ignored: {}",
                    format.as_str(),
                    given.join(", ")
                ));
            }
            BootstrapConfig::new("unused", "unused", "unused")
        }
    };
    let os = BootstrapOs::from(args.os);
    if args.retire_on_shutdown && os == BootstrapOs::Windows {
        return Err(ExitError::usage(
            "--retire-on-shutdown installs a systemd unit: Linux only (on Windows, retire from a runbook: docs/scale-in.md)",
        )
        .into());
    }
    let mut config = config;
    // The release retire-on-shutdown installs: the step templates' pin, as codegen gives it to
    // the committed files.
    config.release = Some(embedded_release_pin()?);
    let script = render_bootstrap_for(os, format, &config).map_err(|error| {
        ExitError::usage(format!("cannot render the bootstrap script: {error:#}"))
    })?;
    notes.push(match os {
        BootstrapOs::Linux => format!(
            "the script holds no API key: at boot it reads OCTOPUS_API_KEY or {API_KEY_FILE} (owned by root, mode 0600)"
        ),
        BootstrapOs::Windows => format!(
            "the script holds no API key: at boot it reads OCTOPUS_API_KEY or {WINDOWS_API_KEY_FILE} (readable by SYSTEM and Administrators only)"
        ),
    });
    Ok((script, notes))
}

fn print(script: &str, format: FormatArg, mode: OutputMode) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = if mode == OutputMode::Json {
        let document = UserDataDocument {
            format: BootstrapFormat::from(format).as_str().to_owned(),
            script: script.to_owned(),
        };
        let text = serde_json::to_string_pretty(&document)?;
        writeln!(stdout, "{text}")
    } else {
        stdout.write_all(script.as_bytes())
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|error| anyhow::anyhow!("cannot write the script to stdout: {error}"))
}

fn required<'a>(value: Option<&'a str>, flag: &str, what: &str) -> anyhow::Result<&'a str> {
    match value.map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ExitError::usage(format!(
            "--format bash needs {flag}: {what} (or use --format tftpl or octostache, which take their values later)"
        ))
        .into()),
    }
}

fn optional(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The value flags given to a static format (which ignores them).
fn given_values(args: &UserDataArgs, server: Option<&str>) -> Vec<&'static str> {
    let mut given = Vec::new();
    for (flag, value) in [
        ("--server", server),
        ("--space", args.space.as_deref()),
        ("--worker-pool", args.worker_pool.as_deref()),
        ("--machine-policy", args.machine_policy.as_deref()),
        (
            "--server-comms-address",
            args.server_comms_address.as_deref(),
        ),
        ("--tentacle-version", args.tentacle_version.as_deref()),
        ("--worker-name", args.worker_name.as_deref()),
    ] {
        if value.is_some_and(|value| !value.trim().is_empty()) {
            given.push(flag);
        }
    }
    if !args.extra_server_nodes.is_empty() {
        given.push("--extra-server-node");
    }
    if args.server_comms_port.is_some() {
        given.push("--server-comms-port");
    }
    if args.retire_on_shutdown {
        given.push("--retire-on-shutdown");
    }
    given
}
