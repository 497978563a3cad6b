//! The worker bootstrap script `configure-worker.sh`, rendered from
//! `templates/configure-worker.sh.hbs` in three formats.
//!
//! The template is written as plain bash whose inputs are `{{inputs.*}}` shell words. The
//! [`BootstrapFormat::Bash`] format fills them with the configured values, single-quoted by the
//! escape function. The two static formats fill them with slot markers instead; once the text is
//! rendered, every literal marker of the second template language is escaped (`$${`, `%%{` for
//! Terraform, `##{` for Octostache) and only then are the slots replaced by that language's own
//! expressions. So the escaping never touches an injected expression, and an injected value never
//! meets bash unquoted.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::engine::{self, CONFIGURE_WORKER, CONFIGURE_WORKER_PS1};
use crate::shell::{powershell_quote, shell_quote};
use crate::step_templates::ReleasePin;

/// The polling port of an Octopus Server unless configured otherwise.
pub const DEFAULT_SERVER_COMMS_PORT: u16 = 10943;

/// Where a bootstrap script that does not embed the API key reads it at boot (besides the
/// `OCTOPUS_API_KEY` environment variable). Must be owned by root with mode 0600 or stricter.
pub const API_KEY_FILE: &str = "/etc/octoshare/api-key";

/// The operating system of the worker VM: which script language the bootstrap script is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BootstrapOs {
    /// Bash for Debian and Ubuntu: `configure-worker.sh`, Tentacle from Octopus's apt repository.
    Linux,
    /// Windows PowerShell 5.1 or later: `configure-worker.ps1`, Tentacle from its MSI.
    Windows,
}

impl BootstrapOs {
    /// Both, Linux first.
    pub const ALL: [BootstrapOs; 2] = [BootstrapOs::Linux, BootstrapOs::Windows];

    /// The lower-case name used by `--os`.
    pub fn as_str(self) -> &'static str {
        match self {
            BootstrapOs::Linux => "linux",
            BootstrapOs::Windows => "windows",
        }
    }

    /// The file `cargo xtask codegen` writes `format` to under `step-templates/`, or `None` for
    /// [`BootstrapFormat::Bash`], which depends on a configuration and is never committed.
    pub fn generated_file_name(self, format: BootstrapFormat) -> Option<&'static str> {
        match (self, format) {
            (_, BootstrapFormat::Bash) => None,
            (BootstrapOs::Linux, format) => format.generated_file_name(),
            (BootstrapOs::Windows, BootstrapFormat::Tftpl) => Some("configure-worker.ps1.tftpl"),
            (BootstrapOs::Windows, BootstrapFormat::Octostache) => Some("configure-worker.ps1"),
        }
    }
}

impl fmt::Display for BootstrapOs {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The three shapes of the worker bootstrap script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BootstrapFormat {
    /// Concrete values from a [`BootstrapConfig`], ready to paste as user data. Holds no API key:
    /// the script reads it at boot from `OCTOPUS_API_KEY` or [`API_KEY_FILE`].
    Bash,
    /// `configure-worker.sh.tftpl` for Terraform's `templatefile()`; the values are Terraform
    /// variables (`octopus_server_url`, `octopus_space`, …, documented in the file's header).
    Tftpl,
    /// `configure-worker.sh` with Octopus `#{...}` placeholders (`#{OctoShare.Space}`, …), for
    /// Octopus to substitute before Terraform reads the file, as the original
    /// `configure-tentacle.sh` did.
    Octostache,
}

impl BootstrapFormat {
    /// Every format, in the order of the `--format` help text.
    pub const ALL: [BootstrapFormat; 3] = [
        BootstrapFormat::Bash,
        BootstrapFormat::Tftpl,
        BootstrapFormat::Octostache,
    ];

    /// The lower-case name used by `--format`.
    pub fn as_str(self) -> &'static str {
        match self {
            BootstrapFormat::Bash => "bash",
            BootstrapFormat::Tftpl => "tftpl",
            BootstrapFormat::Octostache => "octostache",
        }
    }

    /// The file `cargo xtask codegen` writes this format to under `step-templates/`, or `None`
    /// for [`BootstrapFormat::Bash`], which depends on a configuration and is never committed.
    pub fn generated_file_name(self) -> Option<&'static str> {
        match self {
            BootstrapFormat::Bash => None,
            BootstrapFormat::Tftpl => Some("configure-worker.sh.tftpl"),
            BootstrapFormat::Octostache => Some("configure-worker.sh"),
        }
    }
}

impl fmt::Display for BootstrapFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A `--format` value that names no [`BootstrapFormat`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bootstrap format '{0}': expected bash, tftpl or octostache")]
pub struct UnknownBootstrapFormat(pub String);

impl FromStr for BootstrapFormat {
    type Err = UnknownBootstrapFormat;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        BootstrapFormat::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownBootstrapFormat(text.to_owned()))
    }
}

/// The values of a [`BootstrapFormat::Bash`] script. The static formats take their values from
/// Terraform or Octopus variables and ignore this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapConfig {
    /// Octopus Server URL, e.g. `https://octopus.example.com`.
    pub server_url: String,
    /// The initial space (name), into whose pool the worker registers.
    pub space: String,
    /// The worker pool name.
    pub worker_pool: String,
    /// Machine policy name; `None` leaves the space's default policy.
    pub machine_policy: Option<String>,
    /// The address Tentacle polls, `https://host[:port]` (Octopus Cloud:
    /// `https://polling.<instance>.octopus.app`); `None` polls the server URL's host.
    pub server_comms_address: Option<String>,
    /// The polling port; `None` means the comms address's port (443 for `https`) or, without a
    /// comms address, [`DEFAULT_SERVER_COMMS_PORT`].
    pub server_comms_port: Option<u16>,
    /// Further HA nodes Tentacle polls too (`poll-server`), `https://host[:port]`; a node without
    /// a port is polled on the primary's port.
    pub extra_server_nodes: Vec<String>,
    /// apt version of the `tentacle` package to pin; `None` installs the latest.
    pub tentacle_version: Option<String>,
    /// Worker name; `None` uses the machine's `$HOSTNAME`.
    pub worker_name: Option<String>,
    /// Linux: the script gets the retire-on-shutdown section, which installs octoshare (the
    /// pinned [`release`](Self::release), else `octoshare` on `PATH`) and runs `octoshare
    /// retire-on-shutdown install`: a systemd unit retires the worker from every space when the
    /// machine shuts down, the API key kept in [`API_KEY_FILE`]. Off, the section is absent.
    pub retire_on_shutdown: bool,
    /// The octoshare release the script installs for retire-on-shutdown (the step templates'
    /// pin); `None`, or a pin without a SHA-256: only `octoshare` on the machine's `PATH`.
    pub release: Option<ReleasePin>,
}

impl BootstrapConfig {
    /// A configuration with the required values and every default.
    pub fn new(
        server_url: impl Into<String>,
        space: impl Into<String>,
        worker_pool: impl Into<String>,
    ) -> Self {
        BootstrapConfig {
            server_url: server_url.into(),
            space: space.into(),
            worker_pool: worker_pool.into(),
            machine_policy: None,
            server_comms_address: None,
            server_comms_port: None,
            extra_server_nodes: Vec::new(),
            tentacle_version: None,
            worker_name: None,
            retire_on_shutdown: false,
            release: None,
        }
    }
}

/// A [`BootstrapConfig`] value the script cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapConfigError {
    /// A required value is empty.
    #[error("{field} is empty: the worker bootstrap script needs it")]
    Empty {
        /// The configuration field.
        field: &'static str,
    },
    /// A value holds a NUL byte, which no shell variable can hold.
    #[error("{field} contains a NUL byte, which a shell script cannot carry")]
    NulByte {
        /// The configuration field.
        field: &'static str,
    },
    /// The polling port is 0.
    #[error("server comms port 0 is not a TCP port: use 1-65535 (Octopus listens on 10943)")]
    ZeroPort,
    /// An extra server node is not an `https://host[:port]` address on one line.
    #[error("extra server node {value:?} is not https://host[:port]")]
    ExtraServerNode {
        /// The offending entry.
        value: String,
    },
    /// The server comms address is not an `https://host[:port]` address.
    #[error(
        "server comms address {value:?} is not https://host[:port] (Octopus Cloud: https://polling.<instance>.octopus.app)"
    )]
    ServerCommsAddress {
        /// The offending value.
        value: String,
    },
}

/// Renders the worker bootstrap script in `format`.
///
/// [`BootstrapFormat::Bash`] uses `config` (validated first: see [`BootstrapConfigError`]);
/// [`BootstrapFormat::Tftpl`] and [`BootstrapFormat::Octostache`] are static files that ignore
/// it. No format ever contains an API key value.
pub fn render_bootstrap(
    format: BootstrapFormat,
    config: &BootstrapConfig,
) -> anyhow::Result<String> {
    render_bootstrap_for(BootstrapOs::Linux, format, config)
}

/// [`render_bootstrap`] for the worker's operating system: `configure-worker.sh` for Linux,
/// `configure-worker.ps1` for Windows, with the same inputs and the same guarantees. In the
/// [`BootstrapFormat::Bash`] format the Windows script is PowerShell with the values quoted.
pub fn render_bootstrap_for(
    os: BootstrapOs,
    format: BootstrapFormat,
    config: &BootstrapConfig,
) -> anyhow::Result<String> {
    let context = match format {
        BootstrapFormat::Bash => {
            validate(config)?;
            BootstrapContext::concrete(os, config)
        }
        BootstrapFormat::Tftpl | BootstrapFormat::Octostache => {
            BootstrapContext::slots(os, format, config.release.as_ref())
        }
    };
    let (template, quote, source): (_, fn(&str) -> String, _) = match os {
        BootstrapOs::Linux => (
            CONFIGURE_WORKER,
            shell_quote,
            "templates/configure-worker.sh.hbs",
        ),
        BootstrapOs::Windows => (
            CONFIGURE_WORKER_PS1,
            powershell_quote,
            "templates/configure-worker.ps1.hbs",
        ),
    };
    let rendered = engine::render_quoted(template, &context, quote)?;
    let script = match format {
        BootstrapFormat::Bash => rendered,
        BootstrapFormat::Tftpl => fill_slots(
            &fill_sections(
                &engine::escape_terraform_literal(&rendered)?,
                TERRAFORM_SECTION,
                source,
            )?,
            |input| terraform_expression(os, input),
            source,
        )?,
        BootstrapFormat::Octostache => fill_slots(
            &fill_sections(
                &engine::escape_octostache_literal(&rendered)?,
                OCTOSTACHE_SECTION,
                source,
            )?,
            octostache_expression,
            source,
        )?,
    };
    Ok(script)
}

fn validate(config: &BootstrapConfig) -> Result<(), BootstrapConfigError> {
    let required = [
        ("server URL", &config.server_url),
        ("space", &config.space),
        ("worker pool", &config.worker_pool),
    ];
    for (field, value) in required {
        if value.trim().is_empty() {
            return Err(BootstrapConfigError::Empty { field });
        }
    }
    let optional = [
        ("machine policy", &config.machine_policy),
        ("server comms address", &config.server_comms_address),
        ("tentacle version", &config.tentacle_version),
        ("worker name", &config.worker_name),
    ];
    let all_values = required
        .into_iter()
        .chain(
            optional
                .into_iter()
                .filter_map(|(field, value)| value.as_ref().map(|value| (field, value))),
        )
        .chain(
            config
                .extra_server_nodes
                .iter()
                .map(|node| ("extra server node", node)),
        );
    for (field, value) in all_values {
        if value.contains('\0') {
            return Err(BootstrapConfigError::NulByte { field });
        }
    }
    if config.server_comms_port == Some(0) {
        return Err(BootstrapConfigError::ZeroPort);
    }
    if let Some(address) = &config.server_comms_address
        && !is_https_address(address)
    {
        return Err(BootstrapConfigError::ServerCommsAddress {
            value: address.clone(),
        });
    }
    if let Some(node) = config
        .extra_server_nodes
        .iter()
        .find(|node| !is_https_address(node))
    {
        return Err(BootstrapConfigError::ExtraServerNode {
            value: node.clone(),
        });
    }
    Ok(())
}

/// Whether `text` is `https://host[:port][/...]` as the script accepts it: a host without white
/// space, `:`, `@` or brackets (or a bracketed IPv6 literal) and an optional port 1-65535.
pub fn is_https_address(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("https://") else {
        return false;
    };
    if text.contains(['\n', '\r']) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((literal, after)) = bracketed.split_once(']') else {
            return false;
        };
        let literal_ok = !literal.is_empty()
            && literal
                .chars()
                .all(|character| character.is_ascii_hexdigit() || matches!(character, ':' | '.'));
        if !literal_ok {
            return false;
        }
        (literal, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && !host
            .chars()
            .any(|character| character.is_whitespace() || matches!(character, '@' | '[' | ']'));
    let port_ok = port.is_none_or(|port| {
        port.len() <= 5
            && port.bytes().all(|byte| byte.is_ascii_digit())
            && port
                .parse::<u32>()
                .is_ok_and(|port| (1..=65_535).contains(&port))
    });
    host_ok && port_ok
}

/// One injected value of the script, in the order of the template's input block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    ServerUrl,
    ApiKey,
    Space,
    WorkerPool,
    MachinePolicy,
    ServerCommsAddress,
    ServerCommsPort,
    ExtraServerNodes,
    TentacleVersion,
    WorkerName,
}

impl Input {
    const ALL: [Input; 10] = [
        Input::ServerUrl,
        Input::ApiKey,
        Input::Space,
        Input::WorkerPool,
        Input::MachinePolicy,
        Input::ServerCommsAddress,
        Input::ServerCommsPort,
        Input::ExtraServerNodes,
        Input::TentacleVersion,
        Input::WorkerName,
    ];

    /// The marker standing for this input in a static format until [`fill_slots`]. It holds no
    /// character that shell quoting or either escaper would change.
    fn slot(self) -> String {
        format!("@@octoshare-input:{}@@", self.terraform_variable())
    }

    fn terraform_variable(self) -> &'static str {
        match self {
            Input::ServerUrl => "octopus_server_url",
            Input::ApiKey => "octopus_api_key",
            Input::Space => "octopus_space",
            Input::WorkerPool => "octopus_worker_pool",
            Input::MachinePolicy => "octopus_machine_policy",
            Input::ServerCommsAddress => "octopus_server_comms_address",
            Input::ServerCommsPort => "octopus_server_comms_port",
            Input::ExtraServerNodes => "extra_server_nodes",
            Input::TentacleVersion => "tentacle_version",
            Input::WorkerName => "worker_name",
        }
    }

    fn octopus_variable(self) -> &'static str {
        match self {
            Input::ServerUrl => "OctoShare.Server.Url",
            Input::ApiKey => "OctoShare.Api.Key",
            Input::Space => "OctoShare.Space",
            Input::WorkerPool => "OctoShare.WorkerPool.Name",
            Input::MachinePolicy => "OctoShare.MachinePolicy",
            Input::ServerCommsAddress => "OctoShare.ServerCommsAddress",
            Input::ServerCommsPort => "OctoShare.ServerCommsPort",
            Input::ExtraServerNodes => "OctoShare.ExtraServerNodes",
            Input::TentacleVersion => "OctoShare.Tentacle.Version",
            Input::WorkerName => "OctoShare.Worker.Name",
        }
    }

    /// The PowerShell variable the Windows template assigns (named in its concrete messages).
    fn powershell_variable(self) -> &'static str {
        match self {
            Input::ServerUrl => "$serverUrl",
            Input::ApiKey => "$apiKey",
            Input::Space => "$space",
            Input::WorkerPool => "$workerPool",
            Input::MachinePolicy => "$machinePolicy",
            Input::ServerCommsAddress => "$serverCommsAddress",
            Input::ServerCommsPort => "$serverCommsPort",
            Input::ExtraServerNodes => "$extraServerNodesText",
            Input::TentacleVersion => "$tentacleVersion",
            Input::WorkerName => "$workerName",
        }
    }

    /// The bash variable the template assigns (named in the Bash format's messages).
    fn bash_variable(self) -> &'static str {
        match self {
            Input::ServerUrl => "server_url",
            Input::ApiKey => "api_key",
            Input::Space => "space",
            Input::WorkerPool => "worker_pool",
            Input::MachinePolicy => "machine_policy",
            Input::ServerCommsAddress => "server_comms_address",
            Input::ServerCommsPort => "server_comms_port",
            Input::ExtraServerNodes => "extra_server_nodes_text",
            Input::TentacleVersion => "tentacle_version",
            Input::WorkerName => "worker_name",
        }
    }
}

/// The text between the single quotes of a Terraform-format input. Bash: the variable with every
/// `'` replaced by `'\''`, so the single-quoted bash word yields the value unchanged. PowerShell:
/// its base64 (which holds no quote of any kind), decoded by the script.
fn terraform_expression(os: BootstrapOs, input: Input) -> String {
    let value = match input {
        Input::ExtraServerNodes => format!("join(\"\\n\", {})", input.terraform_variable()),
        _ => input.terraform_variable().to_owned(),
    };
    match os {
        BootstrapOs::Linux => format!(r#"${{replace({value}, "'", "'\\''")}}"#),
        BootstrapOs::Windows => format!("${{base64encode({value})}}"),
    }
}

/// The text between the single quotes of an Octostache-format input: base64 (which holds no
/// quote), decoded by the script's `decode_input`.
fn octostache_expression(input: Input) -> String {
    format!("#{{{} | ToBase64}}", input.octopus_variable())
}

/// The line opening the retire-on-shutdown section in a static format before
/// [`fill_sections`] (the template writes it; it holds no character either escape changes).
const SECTION_IF: &str = "# @@octoshare-section: if retire_on_shutdown\n";
/// The line closing it.
const SECTION_END: &str = "# @@octoshare-section: end\n";

/// Terraform's directives for the section (`retire_on_shutdown`: a `templatefile()` bool). Each
/// takes the place of its delimiter line without the line break: the section's first line is
/// empty, so off or on the script reads as the Bash format's.
const TERRAFORM_SECTION: (&str, &str) = ("%{ if retire_on_shutdown }", "%{ endif }");
/// Octostache's conditional: an undefined, empty, `False`, `No` or `0` variable is false.
const OCTOSTACHE_SECTION: (&str, &str) = ("#{if OctoShare.RetireOnShutdown}", "#{/if}");

/// Replaces the section delimiters (after the literal text is escaped) by the target
/// language's conditional `(open, close)`; a Windows script has none.
fn fill_sections(text: &str, (open, close): (&str, &str), source: &str) -> anyhow::Result<String> {
    let opened = text.matches(SECTION_IF).count();
    if opened != text.matches(SECTION_END).count() {
        bail!("{source} opens {opened} conditional sections but closes a different number");
    }
    let filled = text.replace(SECTION_IF, open).replace(SECTION_END, close);
    if filled.contains("@@octoshare-section:") {
        bail!("{source} has a section delimiter that is not a line of its own");
    }
    Ok(filled)
}

/// Replaces every quoted slot (`'<slot>'`, as either escape function writes it) by the quoted
/// expression, and checks that each input was placed and no slot is left.
fn fill_slots(
    text: &str,
    expression: impl Fn(Input) -> String,
    source: &str,
) -> anyhow::Result<String> {
    let mut filled = text.to_owned();
    for input in Input::ALL {
        let quoted_slot = shell_quote(&input.slot());
        if !filled.contains(&quoted_slot) {
            bail!("{source} does not use inputs.{}", input.bash_variable());
        }
        filled = filled.replace(&quoted_slot, &format!("'{}'", expression(input)));
    }
    if filled.contains("@@octoshare-input:") {
        bail!("{source} uses an input outside a plain quoted word");
    }
    Ok(filled)
}

#[derive(Debug, Serialize)]
struct BootstrapContext {
    bash: bool,
    /// The concrete format (the Windows template's name for `bash`).
    concrete: bool,
    tftpl: bool,
    octostache: bool,
    inputs: Inputs,
    /// How each format's error messages name an input the user must set.
    names: Names,
    /// Whether the script has the retire-on-shutdown section: the Bash format's option; always
    /// in the static formats, which delimit it with [`SECTION_IF`] and [`SECTION_END`] lines
    /// that become their language's conditional (see [`fill_sections`]).
    retire_on_shutdown: bool,
    /// The octoshare release retire-on-shutdown installs.
    release: ReleaseContext,
    /// The binary the release download unpacks (`release-download.sh.hbs`).
    binary: &'static str,
}

/// The pinned release, as the release download (`release-download.sh.hbs`) needs it; empty
/// values when nothing is pinned.
#[derive(Debug, Serialize)]
struct ReleaseContext {
    version: String,
    folder: String,
    sha256: String,
    url: String,
}

impl ReleaseContext {
    fn of(release: Option<&ReleasePin>) -> Self {
        match release {
            Some(release) => ReleaseContext {
                version: release.version.clone(),
                folder: release
                    .archive_name()
                    .trim_end_matches(".tar.gz")
                    .to_owned(),
                sha256: release.sha256.clone().unwrap_or_default(),
                url: release.url.clone(),
            },
            None => ReleaseContext {
                version: String::new(),
                folder: String::new(),
                sha256: String::new(),
                url: String::new(),
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct Inputs {
    server_url: String,
    api_key: String,
    space: String,
    worker_pool: String,
    machine_policy: String,
    server_comms_address: String,
    server_comms_port: String,
    extra_server_nodes: String,
    tentacle_version: String,
    worker_name: String,
}

#[derive(Debug, Serialize)]
struct Names {
    server_url: String,
    api_key: String,
    space: String,
    worker_pool: String,
    server_comms_address: String,
    server_comms_port: String,
    extra_server_nodes: String,
}

impl BootstrapContext {
    fn concrete(os: BootstrapOs, config: &BootstrapConfig) -> Self {
        BootstrapContext {
            bash: true,
            concrete: true,
            tftpl: false,
            octostache: false,
            inputs: Inputs {
                server_url: config.server_url.clone(),
                // Never written into a file: the script reads it at boot.
                api_key: String::new(),
                space: config.space.clone(),
                worker_pool: config.worker_pool.clone(),
                machine_policy: config.machine_policy.clone().unwrap_or_default(),
                server_comms_address: config.server_comms_address.clone().unwrap_or_default(),
                server_comms_port: config
                    .server_comms_port
                    .map(|port| port.to_string())
                    .unwrap_or_default(),
                extra_server_nodes: config.extra_server_nodes.join("\n"),
                tentacle_version: config.tentacle_version.clone().unwrap_or_default(),
                worker_name: config.worker_name.clone().unwrap_or_default(),
            },
            names: Names::of(os, BootstrapFormat::Bash),
            retire_on_shutdown: config.retire_on_shutdown,
            release: ReleaseContext::of(config.release.as_ref()),
            binary: "octoshare",
        }
    }

    fn slots(os: BootstrapOs, format: BootstrapFormat, release: Option<&ReleasePin>) -> Self {
        BootstrapContext {
            bash: false,
            concrete: false,
            tftpl: format == BootstrapFormat::Tftpl,
            octostache: format == BootstrapFormat::Octostache,
            inputs: Inputs {
                server_url: Input::ServerUrl.slot(),
                api_key: Input::ApiKey.slot(),
                space: Input::Space.slot(),
                worker_pool: Input::WorkerPool.slot(),
                machine_policy: Input::MachinePolicy.slot(),
                server_comms_address: Input::ServerCommsAddress.slot(),
                server_comms_port: Input::ServerCommsPort.slot(),
                extra_server_nodes: Input::ExtraServerNodes.slot(),
                tentacle_version: Input::TentacleVersion.slot(),
                worker_name: Input::WorkerName.slot(),
            },
            names: Names::of(os, format),
            retire_on_shutdown: true,
            release: ReleaseContext::of(release),
            binary: "octoshare",
        }
    }
}

impl Names {
    fn of(os: BootstrapOs, format: BootstrapFormat) -> Self {
        let name = |input: Input| -> String {
            match format {
                BootstrapFormat::Bash if os == BootstrapOs::Windows => {
                    input.powershell_variable().to_owned()
                }
                BootstrapFormat::Bash => input.bash_variable().to_owned(),
                BootstrapFormat::Tftpl => input.terraform_variable().to_owned(),
                BootstrapFormat::Octostache => input.octopus_variable().to_owned(),
            }
        };
        let api_key = match format {
            BootstrapFormat::Bash => "set OCTOPUS_API_KEY".to_owned(),
            BootstrapFormat::Tftpl | BootstrapFormat::Octostache => {
                format!("set {} or OCTOPUS_API_KEY,", name(Input::ApiKey))
            }
        };
        Names {
            server_url: name(Input::ServerUrl),
            api_key,
            space: name(Input::Space),
            worker_pool: name(Input::WorkerPool),
            server_comms_address: name(Input::ServerCommsAddress),
            server_comms_port: name(Input::ServerCommsPort),
            extra_server_nodes: name(Input::ExtraServerNodes),
        }
    }
}

/// The line after which every format of the script is identical.
pub const END_OF_INPUTS_MARKER: &str =
    "# ---- end of inputs; everything below is identical in every format ----";

/// Renders both static formats for both operating systems, as `(file name, contents)` for
/// `cargo xtask codegen`, with `release` (the step templates' pin) as the octoshare release that
/// retire-on-shutdown installs.
pub fn generated_bootstrap_files(
    release: &ReleasePin,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    // The static formats take their values from variables: only the release counts here.
    let mut config = BootstrapConfig::new("unused", "unused", "unused");
    config.release = Some(release.clone());
    BootstrapOs::ALL
        .into_iter()
        .flat_map(|os| {
            BootstrapFormat::ALL
                .into_iter()
                .map(move |format| (os, format))
        })
        .filter_map(|(os, format)| {
            os.generated_file_name(format)
                .map(|name| (os, format, name))
        })
        .map(|(os, format, name)| {
            render_bootstrap_for(os, format, &config)
                .with_context(|| format!("rendering step-templates/{name}"))
                .map(|contents| (name, contents))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BootstrapConfig {
        BootstrapConfig::new("https://octopus.example.com", "Default", "Linux Pool")
    }

    #[test]
    fn format_names_round_trip_case_insensitively() {
        for format in BootstrapFormat::ALL {
            assert_eq!(format.to_string().parse::<BootstrapFormat>(), Ok(format));
        }
        assert_eq!("TFTPL".parse(), Ok(BootstrapFormat::Tftpl));
        let error = "yaml".parse::<BootstrapFormat>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown bootstrap format 'yaml': expected bash, tftpl or octostache"
        );
    }

    #[test]
    fn bash_format_quotes_values_and_holds_no_api_key_value() {
        let mut config = config();
        config.space = "it's $HOME".to_owned();
        let script = render_bootstrap(BootstrapFormat::Bash, &config).unwrap();
        assert!(script.contains(r"space='it'\''s $HOME'"));
        assert!(script.contains("api_key=''\n"));
        assert!(!script.contains("@@octoshare-input"));
    }

    #[test]
    fn empty_required_values_are_refused() {
        let mut config = config();
        config.worker_pool = " ".to_owned();
        let error = render_bootstrap(BootstrapFormat::Bash, &config).unwrap_err();
        assert_eq!(
            error.downcast_ref::<BootstrapConfigError>(),
            Some(&BootstrapConfigError::Empty {
                field: "worker pool"
            })
        );
    }

    #[test]
    fn nul_bytes_zero_ports_and_multi_line_nodes_are_refused() {
        let mut with_nul = config();
        with_nul.worker_name = Some("a\0b".to_owned());
        let mut zero_port = config();
        zero_port.server_comms_port = Some(0);
        let mut bad_node = config();
        bad_node.extra_server_nodes = vec!["https://a\nhttps://b".to_owned()];
        for (config, expected) in [
            (
                with_nul,
                BootstrapConfigError::NulByte {
                    field: "worker name",
                },
            ),
            (zero_port, BootstrapConfigError::ZeroPort),
            (
                bad_node,
                BootstrapConfigError::ExtraServerNode {
                    value: "https://a\nhttps://b".to_owned(),
                },
            ),
        ] {
            let error = render_bootstrap(BootstrapFormat::Bash, &config).unwrap_err();
            assert_eq!(
                error.downcast_ref::<BootstrapConfigError>(),
                Some(&expected)
            );
        }
    }

    #[test]
    fn https_addresses_are_host_and_optional_port() {
        for good in [
            "https://polling.acme.octopus.app",
            "https://octo:10944",
            "https://octo.example.com:10945/",
            "https://[::1]:10943",
            "https://node/path 'with' $(anything)",
        ] {
            assert!(is_https_address(good), "{good}");
        }
        for bad in [
            "http://octo",
            "octo:10943",
            "https://",
            "https://octo:0",
            "https://octo:65536",
            "https://octo:port",
            "https://user@octo",
            "https://two words",
            "https://octo\nhttps://b",
        ] {
            assert!(!is_https_address(bad), "{bad}");
        }
    }

    #[test]
    fn static_formats_ignore_the_configuration() {
        let mut other = config();
        other.space = "Other".to_owned();
        for format in [BootstrapFormat::Tftpl, BootstrapFormat::Octostache] {
            assert_eq!(
                render_bootstrap(format, &config()).unwrap(),
                render_bootstrap(format, &other).unwrap()
            );
        }
    }

    #[test]
    fn tftpl_injects_only_its_variables_with_quote_replacement() {
        let script = render_bootstrap(BootstrapFormat::Tftpl, &config()).unwrap();
        assert!(script.contains(r#"space='${replace(octopus_space, "'", "'\\''")}'"#));
        assert!(script.contains(
            r#"extra_server_nodes_text='${replace(join("\n", extra_server_nodes), "'", "'\\''")}'"#
        ));
        let unescaped_interpolations = script
            .match_indices("${")
            .filter(|(index, _)| !script[..*index].ends_with('$'))
            .map(|(index, _)| &script[index..])
            .filter(|rest| !rest.starts_with("${replace("))
            .count();
        assert_eq!(unescaped_interpolations, 0);
    }

    #[test]
    fn octostache_injects_base64_filtered_variables_and_escapes_the_rest() {
        let script = render_bootstrap(BootstrapFormat::Octostache, &config()).unwrap();
        assert!(script.contains("space='#{OctoShare.Space | ToBase64}'"));
        assert!(script.contains("##{Octopus.Action[Discover Spaces].Output.InitialSpaceName}"));
        for (index, _) in script.match_indices("#{") {
            let escaped = script[..index].ends_with('#');
            let injected = script[index..].starts_with("#{OctoShare.");
            let section = ["#{if OctoShare.RetireOnShutdown}\n", "#{/if}\nunset"]
                .iter()
                .any(|directive| script[index..].starts_with(directive));
            assert!(
                escaped || injected || section,
                "unescaped #{{ at byte {index}"
            );
        }
        // The retire-on-shutdown section is one conditional block; the Bash format has it only
        // with the option.
        assert_eq!(script.matches("#{if ").count(), 1);
        assert_eq!(script.matches("#{/if}").count(), 1);
        let tftpl = render_bootstrap(BootstrapFormat::Tftpl, &config()).unwrap();
        assert_eq!(tftpl.matches("%{ if retire_on_shutdown }\n").count(), 1);
        assert_eq!(tftpl.matches("%{ endif }\nunset").count(), 1);
        let mut config = config();
        assert!(
            !render_bootstrap(BootstrapFormat::Bash, &config)
                .unwrap()
                .contains("retire-on-shutdown")
        );
        config.retire_on_shutdown = true;
        assert!(
            render_bootstrap(BootstrapFormat::Bash, &config)
                .unwrap()
                .contains("retire-on-shutdown install")
        );
    }
}
