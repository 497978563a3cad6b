//! The Octopus step templates, one per step binary plus one for `octoshare run`, in the Library's
//! export format (`step-templates/*.json`).
//!
//! Every Id here is hard-coded and must never change: Octopus matches an imported template, its
//! parameters and its package reference by Id. `Version` and `$Meta.ExportedAt` are not decided
//! here but by `cargo xtask codegen`, which bumps them only when the content changed.

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::engine::{self, STEP_TEMPLATE_SCRIPT};

/// `$Meta.OctopusVersion` of every template: the Octopus version whose export format they follow.
pub const OCTOPUS_VERSION: &str = "2026.3.6158";
/// `Category` of every template (the Library has `logos/octopus.png` for it).
pub const CATEGORY: &str = "octopus";
/// Name of the package parameter and of its package reference.
pub const PACKAGE_PARAMETER: &str = "OctoShare.Package";
/// The variable through which a step finds the extracted package.
pub const PACKAGE_EXTRACTED_PATH_VARIABLE: &str =
    "Octopus.Action.Package[OctoShare.Package].ExtractedPath";
/// Name of the parameter holding the Octopus Server URL.
pub const SERVER_URL_PARAMETER: &str = "OctoShare.Server.Url";
/// Name of the sensitive parameter holding the API key.
pub const API_KEY_PARAMETER: &str = "OctoShare.Api.Key";
/// Name of the parameter naming the discover step (wait and share templates).
pub const DISCOVER_STEP_PARAMETER: &str = "OctoShare.StepName";

/// Name of the parameter holding the release download URL.
pub const RELEASE_URL_PARAMETER: &str = "OctoShare.Download.Url";
/// The project's home page, linked from every description.
pub const PROJECT_URL: &str = "https://github.com/octoshare/octoshare";

/// What `cargo xtask codegen` decides for every template: its author and which release the
/// templates download when no package is selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodegenConfig {
    /// `LastModifiedBy`: the GitHub user name of the maintainer submitting to the Library.
    pub last_modified_by: String,
    /// The pinned release.
    pub release: ReleasePin,
}

/// The release archive a template downloads when no package is selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePin {
    /// The octoshare version (the workspace version).
    pub version: String,
    /// Default of [`RELEASE_URL_PARAMETER`]: where the archive is published.
    pub url: String,
    /// Lower-case hex SHA-256 of the archive, from the release's `SHA256SUMS`; `None` until the
    /// release of this version is built and recorded (the templates then never download).
    pub sha256: Option<String>,
}

impl ReleasePin {
    /// The archive's name, `octoshare-<version>-x86_64-unknown-linux-gnu.tar.gz`.
    pub fn archive_name(&self) -> String {
        release_archive_name(&self.version)
    }
}

/// `octoshare-<version>-x86_64-unknown-linux-gnu.tar.gz`, the release archive for Linux x86-64.
pub fn release_archive_name(version: &str) -> String {
    format!("octoshare-{version}-x86_64-unknown-linux-gnu.tar.gz")
}

/// The release pin of `version`: `release_url_pattern` (`templates/codegen.json`'s
/// `ReleaseUrl`, with `{version}` and `{archive}`) and the SHA-256 `sha256sums` (a release's
/// `SHA256SUMS` text; empty when none is recorded) gives its archive. The one rule
/// `cargo xtask codegen` and [`embedded_release_pin`] share.
pub fn release_pin(
    release_url_pattern: &str,
    sha256sums: &str,
    version: &str,
) -> anyhow::Result<ReleasePin> {
    let archive = release_archive_name(version);
    let url = release_url_pattern
        .replace("{version}", version)
        .replace("{archive}", &archive);
    Ok(ReleasePin {
        version: version.to_owned(),
        url,
        sha256: pinned_sha256(sha256sums, &archive)?,
    })
}

/// The SHA-256 that `sums` (in `sha256sum` format) gives for `archive`, if any.
pub fn pinned_sha256(sums: &str, archive: &str) -> anyhow::Result<Option<String>> {
    for line in sums.lines() {
        let Some((digest, name)) = line.split_once("  ") else {
            continue;
        };
        if name.trim_start_matches('*') == archive {
            let valid = digest.len() == 64
                && digest
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
            if !valid {
                bail!("the SHA-256 of {archive} ({digest:?}) is not 64 lower-case hex digits");
            }
            return Ok(Some(digest.to_owned()));
        }
    }
    Ok(None)
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/release_pin.rs"));
}

/// The release pin of this build's version, from `templates/codegen.json` and
/// `release/SHA256SUMS` as they were when it was compiled: what `octoshare user-data` renders
/// into the bootstrap script (the committed files get the same pin from `cargo xtask codegen`).
pub fn embedded_release_pin() -> anyhow::Result<ReleasePin> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Codegen {
        release_url: String,
    }
    let codegen: Codegen = serde_json::from_str(embedded::CODEGEN_JSON)
        .context("templates/codegen.json (compiled in) has no ReleaseUrl")?;
    release_pin(
        &codegen.release_url,
        embedded::SHA256SUMS,
        env!("CARGO_PKG_VERSION"),
    )
}

/// A `sha256` that is not 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("release SHA-256 {0:?} is not 64 lower-case hex digits")]
pub struct InvalidSha256(pub String);

/// One step template, everything but its `Version` and `$Meta.ExportedAt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTemplate {
    /// File name under `step-templates/`, kebab-case of `name`.
    pub file_name: String,
    /// Lower-case GUID, fixed forever.
    pub id: &'static str,
    /// "Noun - Verb" name, e.g. `OctoShare - Discover Spaces`.
    pub name: &'static str,
    /// Markdown description.
    pub description: String,
    /// The package reference (always [`PACKAGE_PARAMETER`]).
    pub packages: Vec<PackageReference>,
    /// The parameters, in the order Octopus shows them.
    pub parameters: Vec<Parameter>,
    /// The Bash script (`Octopus.Action.Script.ScriptBody`).
    pub script_body: String,
    /// `LastModifiedBy`.
    pub last_modified_by: String,
}

/// A `Packages[]` entry: a package chosen when the template is used, through the parameter of
/// the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageReference {
    /// Lower-case GUID, fixed forever.
    pub id: &'static str,
    /// Reference name, equal to the package parameter's name.
    pub name: &'static str,
}

/// A step-template parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Lower-case GUID, fixed forever.
    pub id: &'static str,
    /// Variable name, `OctoShare.*`.
    pub name: &'static str,
    /// UI label.
    pub label: &'static str,
    /// Markdown help.
    pub help_text: String,
    /// Default value (may hold Octostache such as `#{Octopus.Web.ServerUri}`).
    pub default_value: String,
    /// The UI control.
    pub control: ControlType,
}

/// `DisplaySettings."Octopus.ControlType"` (and, for `Select`, its options).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlType {
    /// One line of text.
    SingleLineText,
    /// Several lines of text.
    MultiLineText,
    /// A secret, masked in logs.
    Sensitive,
    /// `"True"` or `"False"`.
    Checkbox,
    /// One of the `(value, label)` options.
    Select(Vec<(&'static str, &'static str)>),
    /// The name of a step of the same process.
    StepName,
    /// A package chosen from a feed.
    Package,
}

impl ControlType {
    /// The `Octopus.ControlType` string.
    pub fn as_str(&self) -> &'static str {
        match self {
            ControlType::SingleLineText => "SingleLineText",
            ControlType::MultiLineText => "MultiLineText",
            ControlType::Sensitive => "Sensitive",
            ControlType::Checkbox => "Checkbox",
            ControlType::Select(_) => "Select",
            ControlType::StepName => "StepName",
            ControlType::Package => "Package",
        }
    }
}

impl StepTemplate {
    /// The template as the JSON file `cargo xtask codegen` commits: the key order of a current
    /// Octopus export, 2-space indentation, LF line ends, a trailing newline, no BOM.
    pub fn to_json(&self, version: u64, exported_at: &str) -> anyhow::Result<String> {
        let export = ActionTemplateExport {
            id: self.id,
            name: self.name,
            description: &self.description,
            action_type: "Octopus.Script",
            version,
            community_action_template_id: None,
            packages: self
                .packages
                .iter()
                .map(|package| PackageExport {
                    id: package.id,
                    name: package.name,
                    package_id: None,
                    feed_id: None,
                    acquisition_location: "Server",
                    properties: PackagePropertiesExport {
                        extract: "True",
                        selection_mode: "deferred",
                        package_parameter_name: package.name,
                        purpose: "",
                    },
                })
                .collect(),
            git_dependencies: Vec::new(),
            properties: PropertiesExport {
                run_on_server: "true",
                script_source: "Inline",
                syntax: "Bash",
                script_body: &self.script_body,
                use_bundled_tooling: "False",
            },
            parameters: self
                .parameters
                .iter()
                .map(|parameter| ParameterExport {
                    id: parameter.id,
                    name: parameter.name,
                    label: parameter.label,
                    help_text: &parameter.help_text,
                    default_value: &parameter.default_value,
                    display_settings: DisplaySettingsExport {
                        control_type: parameter.control.as_str(),
                        select_options: match &parameter.control {
                            ControlType::Select(options) => Some(
                                options
                                    .iter()
                                    .map(|(value, label)| format!("{value}|{label}"))
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            ),
                            _ => None,
                        },
                    },
                })
                .collect(),
            step_package_id: "Octopus.Script",
            meta: MetaExport {
                exported_at,
                octopus_version: OCTOPUS_VERSION,
                kind: "ActionTemplate",
            },
            last_modified_by: &self.last_modified_by,
            category: CATEGORY,
        };
        let mut json = serde_json::to_string_pretty(&export)
            .with_context(|| format!("serialising step template {}", self.name))?;
        json.push('\n');
        Ok(json)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ActionTemplateExport<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    action_type: &'a str,
    version: u64,
    community_action_template_id: Option<&'a str>,
    packages: Vec<PackageExport<'a>>,
    git_dependencies: Vec<()>,
    properties: PropertiesExport<'a>,
    parameters: Vec<ParameterExport<'a>>,
    step_package_id: &'a str,
    #[serde(rename = "$Meta")]
    meta: MetaExport<'a>,
    last_modified_by: &'a str,
    category: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PackageExport<'a> {
    id: &'a str,
    name: &'a str,
    package_id: Option<&'a str>,
    feed_id: Option<&'a str>,
    acquisition_location: &'a str,
    properties: PackagePropertiesExport<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PackagePropertiesExport<'a> {
    extract: &'a str,
    selection_mode: &'a str,
    package_parameter_name: &'a str,
    purpose: &'a str,
}

#[derive(Serialize)]
struct PropertiesExport<'a> {
    #[serde(rename = "Octopus.Action.RunOnServer")]
    run_on_server: &'a str,
    #[serde(rename = "Octopus.Action.Script.ScriptSource")]
    script_source: &'a str,
    #[serde(rename = "Octopus.Action.Script.Syntax")]
    syntax: &'a str,
    #[serde(rename = "Octopus.Action.Script.ScriptBody")]
    script_body: &'a str,
    /// As current Library exports of Octopus-category script templates have it.
    #[serde(rename = "OctopusUseBundledTooling")]
    use_bundled_tooling: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterExport<'a> {
    id: &'a str,
    name: &'a str,
    label: &'a str,
    help_text: &'a str,
    default_value: &'a str,
    display_settings: DisplaySettingsExport<'a>,
}

#[derive(Serialize)]
struct DisplaySettingsExport<'a> {
    #[serde(rename = "Octopus.ControlType")]
    control_type: &'a str,
    #[serde(
        rename = "Octopus.SelectOptions",
        skip_serializing_if = "Option::is_none"
    )]
    select_options: Option<String>,
}

#[derive(Serialize)]
struct MetaExport<'a> {
    #[serde(rename = "ExportedAt")]
    exported_at: &'a str,
    #[serde(rename = "OctopusVersion")]
    octopus_version: &'a str,
    #[serde(rename = "Type")]
    kind: &'a str,
}

/// Every step template, content complete (script rendered), in a fixed order.
pub fn step_templates(config: &CodegenConfig) -> anyhow::Result<Vec<StepTemplate>> {
    if let Some(sha256) = &config.release.sha256
        && !(sha256.len() == 64
            && sha256
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)))
    {
        return Err(InvalidSha256(sha256.clone()).into());
    }
    [discover(), wait(), share(), run(), retire()]
        .into_iter()
        .map(|definition| definition.build(config))
        .collect()
}

/// How the script turns a parameter into command-line flags.
#[derive(Debug, Clone)]
enum Binding {
    /// Read by the script's fixed part (server URL, API key, package, discover step).
    Fixed,
    /// `flag value`, left out when the value is empty.
    Optional { flag: &'static str },
    /// `flag value`; an empty value fails the step with `missing`.
    Required {
        flag: &'static str,
        missing: &'static str,
    },
    /// `flag line` for every non-empty line.
    Lines { flag: &'static str },
    /// `flag` when the Checkbox is checked.
    Switch { flag: &'static str },
    /// `flag value`, the value being the discover step's output `output`, or this parameter
    /// when no discover step is named.
    FromDiscoverStep {
        flag: &'static str,
        output: &'static str,
        when_empty: WhenEmpty,
    },
    /// `--report $PWD/<file_name>` when the Checkbox is checked.
    Report { file_name: &'static str },
}

#[derive(Debug, Clone)]
enum WhenEmpty {
    /// Pass the empty value (it means "nothing to do").
    Pass,
    /// Fail the step with this message when no discover step is named (with one, the message
    /// names the missing output variable).
    Fail(&'static str),
}

struct Definition {
    id: &'static str,
    name: &'static str,
    description: String,
    binary: &'static str,
    subcommand: Option<&'static str>,
    package_id: &'static str,
    /// Id of the template's [`RELEASE_URL_PARAMETER`].
    release_url_id: &'static str,
    parameters: Vec<(Parameter, Binding)>,
}

impl Definition {
    fn build(mut self, config: &CodegenConfig) -> anyhow::Result<StepTemplate> {
        self.parameters
            .insert(3, release_url(self.release_url_id, &config.release));
        let script_body = self
            .render_script(&config.release)
            .with_context(|| format!("rendering the script of step template {}", self.name))?;
        Ok(StepTemplate {
            file_name: format!("{}.json", kebab_case(self.name)),
            id: self.id,
            name: self.name,
            description: self.description,
            packages: vec![PackageReference {
                id: self.package_id,
                name: PACKAGE_PARAMETER,
            }],
            parameters: self
                .parameters
                .into_iter()
                .map(|(parameter, _)| parameter)
                .collect(),
            script_body,
            last_modified_by: config.last_modified_by.clone(),
        })
    }

    fn render_script(&self, release: &ReleasePin) -> anyhow::Result<String> {
        let has_discover_step = self
            .parameters
            .iter()
            .any(|(parameter, _)| parameter.name == DISCOVER_STEP_PARAMETER);
        let mut arguments = Vec::new();
        for (parameter, binding) in &self.parameters {
            let argument = match binding {
                Binding::Fixed => continue,
                Binding::Optional { flag } => ArgumentContext::new("optional", flag, parameter),
                Binding::Required { flag, missing } => ArgumentContext {
                    missing: (*missing).to_owned(),
                    ..ArgumentContext::new("required", flag, parameter)
                },
                Binding::Lines { flag } => ArgumentContext::new("lines", flag, parameter),
                Binding::Switch { flag } => ArgumentContext::new("switch", flag, parameter),
                Binding::FromDiscoverStep {
                    flag,
                    output,
                    when_empty,
                } => {
                    if !has_discover_step {
                        bail!(
                            "{} reads a discover step output without a {DISCOVER_STEP_PARAMETER} parameter",
                            parameter.name
                        );
                    }
                    let (kind, missing) = match when_empty {
                        WhenEmpty::Pass => ("from_step_or_empty", ""),
                        WhenEmpty::Fail(missing) => ("from_step", *missing),
                    };
                    ArgumentContext {
                        output: (*output).to_owned(),
                        missing_output: format!(
                            "set no output variable {output}: {DISCOVER_STEP_PARAMETER} must name the OctoShare - Discover Spaces step, which must run before this step"
                        ),
                        missing: missing.to_owned(),
                        ..ArgumentContext::new(kind, flag, parameter)
                    }
                }
                Binding::Report { file_name } => ArgumentContext {
                    file_name: (*file_name).to_owned(),
                    ..ArgumentContext::new("report", "--report", parameter)
                },
            };
            arguments.push(argument);
        }
        let command = match self.subcommand {
            Some(subcommand) => format!("{} {subcommand}", self.binary),
            None => self.binary.to_owned(),
        };
        let context = ScriptContext {
            name: self.name,
            binary: self.binary,
            subcommand: self.subcommand,
            server_url_parameter: SERVER_URL_PARAMETER,
            api_key_parameter: API_KEY_PARAMETER,
            package_path_variable: PACKAGE_EXTRACTED_PATH_VARIABLE,
            release_url_parameter: RELEASE_URL_PARAMETER,
            release_version: release.version.clone(),
            release_folder: release
                .archive_name()
                .trim_end_matches(".tar.gz")
                .to_owned(),
            release_sha256: release.sha256.clone().unwrap_or_default(),
            discover_step_parameter: has_discover_step.then_some(DISCOVER_STEP_PARAMETER),
            arguments,
            messages: ScriptMessages {
                no_server_url: format!(
                    "{SERVER_URL_PARAMETER} is empty: set it to the Octopus Server URL"
                ),
                no_api_key: format!(
                    "{API_KEY_PARAMETER} is empty: set it to an API key allowed to manage workers in every space"
                ),
                package_without_binary: format!(
                    "the package selected in {PACKAGE_PARAMETER} has no bin/{}: select the octoshare package (octoshare.<version>.tar.gz of a release)",
                    self.binary
                ),
                download_failed: format!(
                    "fix {RELEASE_URL_PARAMETER}, select the octoshare package in {PACKAGE_PARAMETER} or put {} on the PATH of the worker",
                    self.binary
                ),
                binary_not_found: format!(
                    "{} not found: select the octoshare package in {PACKAGE_PARAMETER}, or put {} on the PATH of the worker",
                    self.binary, self.binary
                ),
            },
            command,
        };
        let script = engine::render(STEP_TEMPLATE_SCRIPT, &context)?;
        // Octopus substitutes #{...} in a script body before running it.
        Ok(engine::escape_octostache_literal(&script)?)
    }
}

#[derive(Debug, Serialize)]
struct ScriptContext {
    name: &'static str,
    command: String,
    binary: &'static str,
    subcommand: Option<&'static str>,
    server_url_parameter: &'static str,
    api_key_parameter: &'static str,
    package_path_variable: &'static str,
    release_url_parameter: &'static str,
    release_version: String,
    release_folder: String,
    release_sha256: String,
    discover_step_parameter: Option<&'static str>,
    arguments: Vec<ArgumentContext>,
    messages: ScriptMessages,
}

#[derive(Debug, Serialize)]
struct ScriptMessages {
    no_server_url: String,
    no_api_key: String,
    package_without_binary: String,
    binary_not_found: String,
    download_failed: String,
}

/// One argument of the script; fields a kind does not use are empty.
#[derive(Debug, Serialize)]
struct ArgumentContext {
    kind: &'static str,
    flag: &'static str,
    parameter: &'static str,
    output: String,
    missing: String,
    missing_output: String,
    file_name: String,
}

impl ArgumentContext {
    fn new(kind: &'static str, flag: &'static str, parameter: &Parameter) -> Self {
        ArgumentContext {
            kind,
            flag,
            parameter: parameter.name,
            output: String::new(),
            missing: String::new(),
            missing_output: String::new(),
            file_name: String::new(),
        }
    }
}

/// `OctoShare - Discover Spaces` → `octoshare-discover-spaces`.
pub fn kebab_case(name: &str) -> String {
    name.split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

fn parameter(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    help_text: impl Into<String>,
    default_value: &str,
    control: ControlType,
) -> Parameter {
    Parameter {
        id,
        name,
        label,
        help_text: help_text.into(),
        default_value: default_value.to_owned(),
        control,
    }
}

fn server_url(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        SERVER_URL_PARAMETER,
        "Octopus Server URL",
        "URL of the Octopus Server whose spaces to manage (`--server`). Default: `#{Octopus.Web.ServerUri}`, this server's own URL.",
        "#{Octopus.Web.ServerUri}",
        ControlType::SingleLineText,
    );
    (parameter, Binding::Fixed)
}

fn api_key(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        API_KEY_PARAMETER,
        "Octopus API key",
        "API key of a user or service account allowed to view spaces and worker pools and to create, edit and delete workers in every space involved. It reaches the binary in the `OCTOPUS_API_KEY` environment variable, never on its command line.",
        "",
        ControlType::Sensitive,
    );
    (parameter, Binding::Fixed)
}

fn package(id: &'static str, binary: &str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        PACKAGE_PARAMETER,
        "octoshare package",
        format!(
            "Optional `octoshare` package (`octoshare.<version>.tar.gz` from the project's releases, pushed to a feed such as the built-in one). The step runs `bin/{binary}` from it. Empty: the release archive at **Download URL**, else `{binary}` on the worker's `PATH`."
        ),
        "",
        ControlType::Package,
    );
    (parameter, Binding::Fixed)
}

fn release_url(id: &'static str, release: &ReleasePin) -> (Parameter, Binding) {
    let verification = match &release.sha256 {
        Some(sha256) => format!("SHA-256 `{sha256}`, pinned in this template"),
        None => {
            "none: this version of the template pins no release, so it never downloads".to_owned()
        }
    };
    let parameter = parameter(
        id,
        RELEASE_URL_PARAMETER,
        "Download URL",
        format!(
            "Where to download the octoshare {version} release archive (`{archive}`) when no package is selected: a mirror or your own build of the same release tag works too. The archive is checked against the SHA-256 pinned in this template ({verification}) before it is unpacked, and kept per worker under `~/.cache/octoshare/{version}`. Empty: never download. Default: `{url}`.",
            version = release.version,
            archive = release.archive_name(),
            url = release.url,
        ),
        &release.url,
        ControlType::SingleLineText,
    );
    (parameter, Binding::Fixed)
}

fn discover_step(id: &'static str, outputs: &str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        DISCOVER_STEP_PARAMETER,
        "Discover step",
        format!(
            "The **OctoShare - Discover Spaces** step of this process, which must run before this one. Its output variables {outputs} are used. Leave empty to use the parameters marked *without a discover step* instead."
        ),
        "",
        ControlType::StepName,
    );
    (parameter, Binding::Fixed)
}

fn worker_pool_name(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.WorkerPool.Name",
        "Worker pool name",
        "Name of the worker pool shared across spaces, matched case-insensitively, e.g. `AWS Worker Pool TF` (`--worker-pool`). A space qualifies when it has a pool of this name.",
        "",
        ControlType::SingleLineText,
    );
    let binding = Binding::Required {
        flag: "--worker-pool",
        missing: "OctoShare.WorkerPool.Name is empty: set it to the name of the shared worker pool",
    };
    (parameter, binding)
}

fn worker_pool_from_discover_step(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.WorkerPool.Name",
        "Worker pool name (without a discover step)",
        "Name of the shared worker pool (`--worker-pool`). Used only when no discover step is selected; otherwise its `WorkerPoolName` output is used.",
        "",
        ControlType::SingleLineText,
    );
    let binding = Binding::FromDiscoverStep {
        flag: "--worker-pool",
        output: "WorkerPoolName",
        when_empty: WhenEmpty::Fail(
            "no worker pool: select the discover step in OctoShare.StepName or set OctoShare.WorkerPool.Name",
        ),
    };
    (parameter, binding)
}

fn initial_space(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.InitialSpace",
        "Initial space",
        "Optional name or Id of the qualifying space the workers register in first (`--initial-space`). Default: the first qualifying space, in the server's order.",
        "",
        ControlType::SingleLineText,
    );
    let binding = Binding::Optional {
        flag: "--initial-space",
    };
    (parameter, binding)
}

fn include_spaces(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.IncludeSpaces",
        "Include spaces",
        "Optional space-name globs, one per line, e.g. `Team *` (`--include-space`). When given, only matching spaces qualify.",
        "",
        ControlType::MultiLineText,
    );
    let binding = Binding::Lines {
        flag: "--include-space",
    };
    (parameter, binding)
}

fn exclude_spaces(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.ExcludeSpaces",
        "Exclude spaces",
        "Optional space-name globs, one per line (`--exclude-space`). Matching spaces never qualify.",
        "",
        ControlType::MultiLineText,
    );
    let binding = Binding::Lines {
        flag: "--exclude-space",
    };
    (parameter, binding)
}

fn concurrency(id: &'static str, default_value: &str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.Concurrency",
        "Concurrency",
        "How many spaces are processed at once (`--concurrency`). Default: `16`.",
        default_value,
        ControlType::SingleLineText,
    );
    let binding = Binding::Optional {
        flag: "--concurrency",
    };
    (parameter, binding)
}

fn count(id: &'static str, required: bool) -> (Parameter, Binding) {
    if required {
        let parameter = parameter(
            id,
            "OctoShare.Count",
            "Worker count",
            "How many workers the pool must hold (`--count`), e.g. the instance count given to Terraform.",
            "",
            ControlType::SingleLineText,
        );
        let binding = Binding::Required {
            flag: "--count",
            missing: "OctoShare.Count is empty: set it to the number of workers to wait for",
        };
        (parameter, binding)
    } else {
        let parameter = parameter(
            id,
            "OctoShare.Count",
            "Worker count",
            "How many workers the pool of the initial space must hold before they are shared (`--count`), e.g. the instance count given to Terraform. Empty: do not wait.",
            "",
            ControlType::SingleLineText,
        );
        (parameter, Binding::Optional { flag: "--count" })
    }
}

fn timeout(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.Timeout",
        "Timeout",
        "How long to wait for the workers (`--timeout`), e.g. `1h`. On timeout the step fails with exit code 4, naming the workers that registered. Default: `20m`.",
        "20m",
        ControlType::SingleLineText,
    );
    (parameter, Binding::Optional { flag: "--timeout" })
}

fn poll_interval(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.PollInterval",
        "Poll interval",
        "How often the pool is read while waiting (`--poll-interval`), e.g. `30s`. Default: `10s`.",
        "10s",
        ControlType::SingleLineText,
    );
    let binding = Binding::Optional {
        flag: "--poll-interval",
    };
    (parameter, binding)
}

fn healthy(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.Healthy",
        "Count only healthy workers",
        "Count only workers whose health status is `Healthy` or `HasWarnings` (`--healthy`). Default: `False`.",
        "False",
        ControlType::Checkbox,
    );
    (parameter, Binding::Switch { flag: "--healthy" })
}

fn machine_policy(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.MachinePolicy",
        "Machine policy",
        "Optional name of the machine policy given to the workers added to other spaces (`--machine-policy`). Default: each target space's default policy.",
        "",
        ControlType::SingleLineText,
    );
    let binding = Binding::Optional {
        flag: "--machine-policy",
    };
    (parameter, binding)
}

fn dry_run(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.DryRun",
        "Dry run",
        "Only read from the server and print the plan; change nothing (`--dry-run`). Default: `False`.",
        "False",
        ControlType::Checkbox,
    );
    (parameter, Binding::Switch { flag: "--dry-run" })
}

fn prune(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.Prune",
        "Prune stale workers",
        "Delete, in the target pools only, workers (polling or listening Tentacles, SSH workers, Kubernetes agents) that are no longer in the source pool (machines destroyed) and that are neither `Healthy` nor `HasWarnings` (`--prune`). Default: `False`.",
        "False",
        ControlType::Checkbox,
    );
    (parameter, Binding::Switch { flag: "--prune" })
}

fn on_conflict(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.OnConflict",
        "When a worker name is taken",
        "What to do when a target space already has a worker of the same name whose endpoint is not in the source pool, a stale registration (`--on-conflict`). Default: `replace`.",
        "replace",
        ControlType::Select(vec![
            ("replace", "Replace stale registrations"),
            ("skip", "Skip and report"),
        ]),
    );
    let binding = Binding::Optional {
        flag: "--on-conflict",
    };
    (parameter, binding)
}

fn report(id: &'static str, file_name: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.Report",
        "Attach a report",
        format!(
            "Write the per-space, per-worker result as JSON to `{file_name}` and attach it to the task as an artifact (`--report`). Default: `True`."
        ),
        "True",
        ControlType::Checkbox,
    );
    (parameter, Binding::Report { file_name })
}

fn ca_certificate(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.CaCertificate",
        "CA certificate file",
        "Optional path, on the worker, of a PEM file holding an extra trusted root certificate, for a server whose certificate a private CA issued (`--ca-cert`). TLS is always verified.",
        "",
        ControlType::SingleLineText,
    );
    (parameter, Binding::Optional { flag: "--ca-cert" })
}

fn verbose(id: &'static str) -> (Parameter, Binding) {
    let parameter = parameter(
        id,
        "OctoShare.Verbose",
        "Verbose logging",
        "Log more detail (`-v`). Default: `False`.",
        "False",
        ControlType::Checkbox,
    );
    (parameter, Binding::Switch { flag: "-v" })
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 internal error, 2 usage error, 3 nothing qualifies or not found, 4 wait timed out, 5 some items failed, 6 authentication or permission refused, 7 server unreachable, 130/143 interrupted (SIGINT/SIGTERM).";

const BINARY_SOURCE: &str = "Runs on a Linux x86-64 worker (glibc 2.31 or newer, bash, curl, tar). The binary comes from the package selected in **octoshare package**, else from the release archive at **Download URL** (downloaded once per worker and checked against the SHA-256 pinned in the template), else from the worker's `PATH`. The API key reaches it through its environment only; it needs permission to view spaces and worker pools (and machine policies when one is named) and to create, edit and delete workers in every space involved.";

const ABOUT: &str = "octoshare shares one fleet of polling Tentacle workers across Octopus spaces: https://github.com/octoshare/octoshare";

fn discover() -> Definition {
    Definition {
        id: "905bcb2c-1655-4ecc-a2a6-f299c8a7619e",
        name: "OctoShare - Discover Spaces",
        description: format!(
            "Finds every space of this Octopus Server that has a worker pool of the given name, by running `octoshare-discover`. The first qualifying space (or **Initial space**) is the *initial* space, where new workers register; the others are the spaces the workers are shared into.\n\nInputs: the pool name, optionally the initial space and space-name globs to include or exclude. Output variables: `InitialSpaceName`, `InitialSpaceId`, `RemainingSpaceIds` (comma-joined), `WorkerPoolName`, `RemainingSpaceNames` (comma-joined) and `QualifyingSpaceCount`, read by later steps as `Octopus.Action[<this step>].Output.<name>` (for example by **OctoShare - Wait for Workers** and **OctoShare - Share Workers**, or by the step that creates the worker VMs).\n\n{BINARY_SOURCE}\n\n{EXIT_CODES}\n\n{ABOUT}"
        ),
        binary: "octoshare-discover",
        subcommand: None,
        release_url_id: "5fb1c9cf-2507-4957-8dab-94ab6427bd59",
        package_id: "ba121b3d-19cc-4ec0-81a4-733af0e86b21",
        parameters: vec![
            server_url("50003735-25a5-4f2d-80e0-b050d20f6ac1"),
            api_key("0c7242f8-0078-4315-ba23-ef6c3d04ca3f"),
            package("061c757d-de2b-449b-b8a7-7f4fe6dc2f1d", "octoshare-discover"),
            worker_pool_name("1e01054d-e48c-40b3-8185-4a9862aadf14"),
            initial_space("f8697e1e-559a-4db2-a990-30e81d314316"),
            include_spaces("f54e491a-4a1f-48ab-8695-c70adb87f325"),
            exclude_spaces("5832512a-ca86-4032-a1a2-ba984788c7af"),
            concurrency("498ce0df-bbaa-410c-99b5-32905e95f0e1", "16"),
            ca_certificate("2143c135-d4c3-45db-923a-cbfb800818a5"),
            verbose("57ce5c92-18dc-40d2-a26a-0612289688e1"),
        ],
    }
}

fn wait() -> Definition {
    Definition {
        id: "9f4a1e9d-ef94-4284-8d63-f829660960d7",
        name: "OctoShare - Wait for Workers",
        description: format!(
            "Waits until a worker pool holds at least the expected number of workers, by running `octoshare-wait`. Use it after the step that creates worker VMs which register themselves as polling Tentacles, so the next step sees all of them.\n\nInputs: the space and pool, taken from the outputs of an **OctoShare - Discover Spaces** step named in **Discover step** (or given directly), the worker count, a timeout and a poll interval. Output variables: `RegisteredWorkerCount`, `RegisteredWorkerNames` (comma-joined).\n\n{BINARY_SOURCE}\n\n{EXIT_CODES}\n\n{ABOUT}"
        ),
        binary: "octoshare-wait",
        subcommand: None,
        release_url_id: "700bfe2a-b20e-469b-81e3-d64a5a6b63b4",
        package_id: "41879fba-faa1-4c55-9d5e-bd91e62a0585",
        parameters: vec![
            server_url("8f81895d-69f1-4ad3-9645-50d9b896cbc6"),
            api_key("656e47ae-6aba-4ad1-82a9-dab44158bde5"),
            package("b2368f4a-069d-4a82-996f-eb3a1f6333a0", "octoshare-wait"),
            discover_step(
                "e36d64eb-1139-4460-94ea-22570a86a7bd",
                "`InitialSpaceId` and `WorkerPoolName`",
            ),
            (
                parameter(
                    "d8b889c1-0778-4be7-a999-e5c9ce7ade4e",
                    "OctoShare.Space",
                    "Space (without a discover step)",
                    "Name or Id of the space whose pool to watch (`--space`). Used only when no discover step is selected; otherwise its `InitialSpaceId` output is used.",
                    "",
                    ControlType::SingleLineText,
                ),
                Binding::FromDiscoverStep {
                    flag: "--space",
                    output: "InitialSpaceId",
                    when_empty: WhenEmpty::Fail(
                        "no space: select the discover step in OctoShare.StepName or set OctoShare.Space",
                    ),
                },
            ),
            worker_pool_from_discover_step("2d43329e-8064-487d-a498-fa7dede9ed10"),
            count("05ea8c16-5542-431a-8c0f-d645a99617ea", true),
            timeout("d642dfff-c7db-45c7-9776-494886f431bd"),
            poll_interval("ce9f0b75-86f3-4ed1-8d3f-7f1ffc2595eb"),
            healthy("4e5cbb9b-d742-4844-a836-e9aed9e31bac"),
            ca_certificate("a861140b-a702-4ec8-8302-f75edf5e014f"),
            verbose("8a936f64-7ec6-48e0-b1a5-faad0bd6fd1b"),
        ],
    }
}

fn share() -> Definition {
    Definition {
        id: "07ea86d7-3afa-48ee-9248-ba00a1850352",
        name: "OctoShare - Share Workers",
        description: format!(
            "Registers every worker of a pool in one space into the same-named pool of other spaces, by running `octoshare-share`. Each copy keeps the worker's endpoint, so one polling Tentacle serves all those spaces. Re-running changes nothing; a stale registration of the same name (a re-created VM) is replaced or skipped; **Prune stale workers** deletes the copies of destroyed VMs.\n\nInputs: the source space, the target spaces and the pool, taken from the outputs of an **OctoShare - Discover Spaces** step named in **Discover step** (or given directly), plus the machine policy, concurrency, dry run and conflict handling. Output variables: `CreatedWorkerCount`, `UpdatedWorkerCount`, `UnchangedWorkerCount`, `PrunedWorkerCount`, `FailedCount`; optionally a JSON report attached as an artifact.\n\n{BINARY_SOURCE}\n\n{EXIT_CODES}\n\n{ABOUT}"
        ),
        binary: "octoshare-share",
        subcommand: None,
        release_url_id: "8a302b47-69c3-4e1d-917b-3b921bea00cb",
        package_id: "48be1d0a-4a4e-47c5-8c0a-4c9309dcc4cc",
        parameters: vec![
            server_url("114e0558-d015-413e-ab93-00a99d93007f"),
            api_key("08bcad90-5998-4cc0-ae7d-989242c7f0c4"),
            package("5a0ad185-5067-4d0a-90cc-d8d33e083d42", "octoshare-share"),
            discover_step(
                "4f9fe594-3c49-4b28-8733-099b1c9b32ef",
                "`InitialSpaceId`, `RemainingSpaceIds` and `WorkerPoolName`",
            ),
            (
                parameter(
                    "0c4a6d33-5fd0-401d-aaf2-dad169965280",
                    "OctoShare.Space",
                    "Source space (without a discover step)",
                    "Name or Id of the space whose pool holds the registered workers (`--from-space`). Used only when no discover step is selected; otherwise its `InitialSpaceId` output is used.",
                    "",
                    ControlType::SingleLineText,
                ),
                Binding::FromDiscoverStep {
                    flag: "--from-space",
                    output: "InitialSpaceId",
                    when_empty: WhenEmpty::Fail(
                        "no source space: select the discover step in OctoShare.StepName or set OctoShare.Space",
                    ),
                },
            ),
            (
                parameter(
                    "f320fce7-a56f-4f38-a385-528d76930a1a",
                    "OctoShare.ToSpaces",
                    "Target spaces (without a discover step)",
                    "Comma-separated names or Ids of the spaces to add the workers to (`--to-spaces`); empty means nothing to do. Used only when no discover step is selected; otherwise its `RemainingSpaceIds` output is used.",
                    "",
                    ControlType::SingleLineText,
                ),
                Binding::FromDiscoverStep {
                    flag: "--to-spaces",
                    output: "RemainingSpaceIds",
                    when_empty: WhenEmpty::Pass,
                },
            ),
            worker_pool_from_discover_step("00f54658-2f25-418f-a0cd-d132296fae73"),
            machine_policy("9af3e227-4780-4fd9-953c-77d693a1c0c1"),
            concurrency("a5486968-e112-41f0-b294-ac3af50e0d4f", "16"),
            dry_run("796e9e33-9c2b-4bfb-a59a-c400fb0bd40c"),
            prune("04cfc17a-7793-4cd6-bb44-2a40f14d79f4"),
            on_conflict("1e3fb5da-3f29-4b0b-8dcf-7d2c332bd8d6"),
            report(
                "c67f5b16-c7f8-4e56-b534-f18728e7701c",
                "octoshare-share-report.json",
            ),
            ca_certificate("3717d6dc-884b-4682-9713-4600791313dd"),
            verbose("07acb913-ddb3-4381-91a2-5aa6a7e66cb9"),
        ],
    }
}

fn run() -> Definition {
    Definition {
        id: "ea0bdef4-9756-4460-beda-c9663a36a36e",
        name: "OctoShare - Run",
        description: format!(
            "Shares one fleet of polling workers across spaces in one step, with `octoshare run`: finds the spaces that have a worker pool of the given name, optionally waits until the initial space's pool holds **Worker count** workers, then registers every worker of that pool into the same-named pool of the other spaces. Use the separate **OctoShare - Discover Spaces**, **OctoShare - Wait for Workers** and **OctoShare - Share Workers** steps when something (such as creating the worker VMs) must run between discovering and waiting.\n\nInputs: those of the three separate steps. Output variables: those of the three separate steps (`InitialSpaceId`, `RegisteredWorkerCount`, `CreatedWorkerCount` and the others).\n\n{BINARY_SOURCE}\n\n{EXIT_CODES}\n\n{ABOUT}"
        ),
        binary: "octoshare",
        subcommand: Some("run"),
        release_url_id: "141a2f18-789d-4b3d-987f-87e1846d76c2",
        package_id: "f8aefae3-aa5a-4c7e-ac6a-feff3be2413d",
        parameters: vec![
            server_url("489838fa-2cd8-484f-970c-5cadb7b65821"),
            api_key("21893941-1bee-4ebb-93bd-3ad5c3a2e53d"),
            package("4d9ae695-95ce-4e46-bc2f-a421bc86f4da", "octoshare"),
            worker_pool_name("ce77b6a3-efc6-4b8f-a076-4e560e01d0dd"),
            initial_space("f048984f-5e46-4d28-9c6e-ab53bd81a391"),
            include_spaces("9cfd666c-b1d0-4e97-8c33-602f021c8ce2"),
            exclude_spaces("25eb7093-139d-48e5-928b-01d905382667"),
            count("edd6c794-a2e9-4c3a-a39f-2ac56081e508", false),
            timeout("2acc83df-0d5e-4124-9079-f3c9e2a5053e"),
            poll_interval("bdd2e4a4-b56d-405b-9011-fd6db43d858b"),
            healthy("6c90ef7e-2c88-4753-ad8f-625575c19a2b"),
            machine_policy("bde3aac9-6255-4c88-922d-f9ba12be82e2"),
            concurrency("86821637-ad2f-407f-93fc-64bd9faf6d58", "16"),
            dry_run("fad1b949-7126-42d9-b3e7-63196f867e5a"),
            prune("4226fb75-3814-4b44-b363-19f6b36fb81a"),
            on_conflict("b04898c9-3362-4999-9f1c-401788e85dcc"),
            report(
                "7540e761-53fc-4140-a054-5bbf31121fdf",
                "octoshare-run-report.json",
            ),
            ca_certificate("23c48792-276c-4f49-9339-cebc34506c0d"),
            verbose("d3df6a00-3a9e-479e-9833-184037b063c2"),
        ],
    }
}

/// `octoshare retire`'s exit codes (4 is its drain timeout).
const RETIRE_EXIT_CODES: &str = "Exit codes: 0 retired, or nothing to retire; 1 internal error; 2 usage error; 3 no space has the worker pool; 4 the drain timed out: a task still holds a registration, left disabled; 5 some spaces or registrations failed (the rest was done); 6 authentication or permission refused; 7 server unreachable.";

fn retire() -> Definition {
    Definition {
        id: "a3f2b144-392e-4fde-b094-8ca3f59bb013",
        name: "OctoShare - Retire Worker",
        description: format!(
            "Takes one worker out of every space without breaking a running deployment, with `octoshare retire`: finds every registration of the worker's endpoint in every space the API key can read, disables them all, waits until no task holds any of them (Octopus's worker task leases) and deletes each as soon as it is free. Use it in a process triggered when a worker VM is scaled in (an AWS Auto Scaling lifecycle hook, an Azure scale set termination notification).\n\nInputs: the worker's name or its Tentacle thumbprint (exactly one), optionally the worker pool whose spaces to search, the drain timeout and **Force**. On a drain timeout the registrations stay disabled and the step fails with exit code 4, naming the tasks that hold them; with **Force** those tasks are cancelled and the registrations deleted. Running it again finishes the job; when nothing is left it prints \"nothing to retire\". Output variables: `RetiredWorkerCount`, `RetiredSpaceIds` and `StillBusySpaceIds` (comma-joined).\n\n{BINARY_SOURCE} To retire it needs `WorkerEdit` in each space (and `TaskCancel` for **Force**).\n\n{RETIRE_EXIT_CODES}\n\n{ABOUT}"
        ),
        binary: "octoshare",
        subcommand: Some("retire"),
        release_url_id: "c22210b8-ee5e-4f0b-8910-efaa11fb9c5b",
        package_id: "6089317d-e567-404e-9492-af7817c1f32f",
        parameters: vec![
            server_url("7b90ca9c-4c55-4115-89ee-21d39a284662"),
            api_key("42df7023-617a-4fb2-b91e-e7f05736d408"),
            package("b2bf3da4-4472-466f-bf1b-666f388c41b5", "octoshare"),
            (
                parameter(
                    "0d00aa11-3ce7-4421-b3ba-33c4acbbed85",
                    "OctoShare.Worker.Name",
                    "Worker name",
                    "Name of the worker to retire (`--worker`), matched case-insensitively, e.g. the VM's host name: its endpoint is retired from every space where a worker of that name is found, whatever its name in other spaces. Set this or **Tentacle thumbprint**.",
                    "",
                    ControlType::SingleLineText,
                ),
                Binding::Optional { flag: "--worker" },
            ),
            (
                parameter(
                    "58f98104-fd28-4cf5-9763-22af163e4d84",
                    "OctoShare.Worker.Thumbprint",
                    "Tentacle thumbprint",
                    "Certificate thumbprint of the Tentacle to retire (`--thumbprint`, 40 hexadecimal digits): every registration of that Tentacle goes, in every space. Set this or **Worker name**.",
                    "",
                    ControlType::SingleLineText,
                ),
                Binding::Optional {
                    flag: "--thumbprint",
                },
            ),
            (
                parameter(
                    "e5ca87ab-07ce-4277-8bb2-388fddf119fa",
                    "OctoShare.WorkerPool.Name",
                    "Worker pool name",
                    "Optional: search only the spaces having a worker pool of this name (`--worker-pool`). Default: every space the API key can read.",
                    "",
                    ControlType::SingleLineText,
                ),
                Binding::Optional {
                    flag: "--worker-pool",
                },
            ),
            (
                parameter(
                    "55a95a38-270e-491a-998c-7cc7309c4666",
                    "OctoShare.DrainTimeout",
                    "Drain timeout",
                    "How long to wait for the tasks holding the worker to finish (`--drain-timeout`), e.g. `10m`; keep it shorter than the time the platform gives the VM. Default: `30m`.",
                    "30m",
                    ControlType::SingleLineText,
                ),
                Binding::Optional {
                    flag: "--drain-timeout",
                },
            ),
            (
                parameter(
                    "5e2d24d9-d8f7-4b0b-b1dc-5fbbef64fce6",
                    "OctoShare.Force",
                    "Force",
                    "After the drain timeout, cancel the tasks still holding the worker and delete it anyway (`--force`); the step names every task it broke. Default: `False`.",
                    "False",
                    ControlType::Checkbox,
                ),
                Binding::Switch { flag: "--force" },
            ),
            dry_run("c25d7b1f-ebfc-4a87-b095-7e41a3bfaa61"),
            concurrency("1f98014e-fea1-45d8-a3ae-05cf47181f1b", "16"),
            ca_certificate("f21f8ff1-4695-4f0e-8cca-4d98f2392a5e"),
            verbose("160f4ca8-1196-473b-8160-1103ae10d9f7"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sha256: Option<&str>) -> CodegenConfig {
        CodegenConfig {
            last_modified_by: "someone".to_owned(),
            release: ReleasePin {
                version: "1.2.3".to_owned(),
                url: "https://example.com/octoshare-1.2.3-x86_64-unknown-linux-gnu.tar.gz"
                    .to_owned(),
                sha256: sha256.map(str::to_owned),
            },
        }
    }

    fn step_templates() -> anyhow::Result<Vec<StepTemplate>> {
        super::step_templates(&config(None))
    }

    #[test]
    fn the_pin_is_embedded_only_when_valid() {
        let digest = "0123456789abcdef".repeat(4);
        let templates = super::step_templates(&config(Some(&digest))).unwrap();
        for template in &templates {
            assert!(
                template
                    .script_body
                    .contains(&format!("release_sha256='{digest}'")),
                "{}",
                template.name
            );
            let url = template
                .parameters
                .iter()
                .find(|parameter| parameter.name == RELEASE_URL_PARAMETER)
                .unwrap();
            assert_eq!(url.default_value, config(None).release.url);
            assert_eq!(template.last_modified_by, "someone");
        }
        let unpinned = step_templates().unwrap();
        assert!(unpinned[0].script_body.contains("release_sha256=''\n"));
        let error = super::step_templates(&config(Some("ABC"))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "release SHA-256 \"ABC\" is not 64 lower-case hex digits"
        );
    }

    #[test]
    fn file_names_are_kebab_case_of_the_names() {
        assert_eq!(
            kebab_case("OctoShare - Wait for Workers"),
            "octoshare-wait-for-workers"
        );
        let names: Vec<_> = step_templates()
            .unwrap()
            .into_iter()
            .map(|template| template.file_name)
            .collect();
        assert_eq!(
            names,
            [
                "octoshare-discover-spaces.json",
                "octoshare-wait-for-workers.json",
                "octoshare-share-workers.json",
                "octoshare-run.json",
                "octoshare-retire-worker.json"
            ]
        );
    }

    #[test]
    fn json_keys_follow_the_export_order() {
        let template = step_templates().unwrap().remove(0);
        let json = template.to_json(3, "2026-01-02T03:04:05.006Z").unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "Id",
                "Name",
                "Description",
                "ActionType",
                "Version",
                "CommunityActionTemplateId",
                "Packages",
                "GitDependencies",
                "Properties",
                "Parameters",
                "StepPackageId",
                "$Meta",
                "LastModifiedBy",
                "Category"
            ]
        );
        assert_eq!(value["Version"], 3);
        assert!(json.ends_with("}\n"));
        assert!(!json.contains('\r'));
    }
}
