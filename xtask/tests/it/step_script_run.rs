//! Runs each committed step template's ScriptBody the way Calamari does (sourced by bash after
//! Octostache substitution, with `get_octopusvariable` and `fail_step` defined) against a fake
//! binary that records its argv and environment.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use octoshare_templates::shell_quote;
use serde_json::Value;
use tempfile::TempDir;

use crate::{committed_step_templates, octostache};

const DISCOVER: &str = "octoshare-discover-spaces.json";
const WAIT: &str = "octoshare-wait-for-workers.json";
const SHARE: &str = "octoshare-share-workers.json";
const RUN: &str = "octoshare-run.json";
const RETIRE: &str = "octoshare-retire-worker.json";

/// Parameter values set by the user, over the template's defaults.
type Overrides = &'static [(&'static str, &'static str)];

const SERVER: &str = "https://octopus.example.com/octopus/";
/// An API key that would break out of any careless quoting.
const API_KEY: &str = "API-KEY'\"$(touch pwned)`x` ${y} #{z}";
const DISCOVER_STEP: &str = "Discover Spaces";

pub(crate) const FAKE_BINARY: &str = r#"#!/usr/bin/env bash
sequence=0
until mkdir "$FAKE_RECORDS/$(printf '%03d' "$sequence")" 2>/dev/null; do
  sequence=$((sequence + 1))
done
record=$FAKE_RECORDS/$(printf '%03d' "$sequence")
printf '%s\0' "$0" "$@" >"$record/argv"
env -0 >"$record/env"
echo 'fake binary ran'
exit "${FAKE_EXIT_CODE:-0}"
"#;

/// Where the fake binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FakeLocation {
    Path,
    Package,
    PathAndPackage,
    Nowhere,
}

pub(crate) struct StepRun {
    pub(crate) exit_code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) work_dir: PathBuf,
    pub(crate) package_dir: PathBuf,
    pub(crate) invocations: Vec<Invocation>,
    _sandbox: TempDir,
}

pub(crate) struct Invocation {
    pub(crate) program: String,
    pub(crate) arguments: Vec<String>,
    pub(crate) environment: BTreeMap<String, String>,
}

impl StepRun {
    pub(crate) fn only_invocation(&self) -> &Invocation {
        assert_eq!(
            self.invocations.len(),
            1,
            "the binary ran {} times\nstdout:\n{}\nstderr:\n{}",
            self.invocations.len(),
            self.stdout,
            self.stderr
        );
        &self.invocations[0]
    }
}

fn template(file_name: &str) -> Value {
    let text = fs::read_to_string(committed_step_templates().join(file_name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn binary_name(file_name: &str) -> &'static str {
    match file_name {
        DISCOVER => "octoshare-discover",
        WAIT => "octoshare-wait",
        SHARE => "octoshare-share",
        RUN | RETIRE => "octoshare",
        other => panic!("no binary for {other}"),
    }
}

/// The variables Octopus would hand the script: every parameter's default (the server URL as
/// Octopus evaluates `#{Octopus.Web.ServerUri}`), the API key, then `overrides`.
fn variables(template: &Value, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut variables: BTreeMap<String, String> = template["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|parameter| {
            let name = parameter["Name"].as_str().unwrap().to_owned();
            let default = parameter["DefaultValue"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (name, default)
        })
        .collect();
    variables.insert("OctoShare.Server.Url".into(), SERVER.into());
    variables.insert("OctoShare.Api.Key".into(), API_KEY.into());
    for (name, value) in overrides {
        variables.insert((*name).to_owned(), (*value).to_owned());
    }
    variables
}

fn run_step(
    file_name: &str,
    overrides: &[(&str, &str)],
    location: FakeLocation,
    environment: &[(&str, &str)],
) -> StepRun {
    run_template(
        &template(file_name),
        binary_name(file_name),
        overrides,
        location,
        environment,
        None,
    )
}

/// Runs `template`'s ScriptBody in a fresh sandbox; `home` (default: the sandbox) is `$HOME`,
/// where the release cache lives.
pub(crate) fn run_template(
    template: &Value,
    binary: &str,
    overrides: &[(&str, &str)],
    location: FakeLocation,
    environment: &[(&str, &str)],
    home: Option<&Path>,
) -> StepRun {
    let body = template["Properties"]["Octopus.Action.Script.ScriptBody"]
        .as_str()
        .unwrap();
    let body = octostache::substitute(body).expect("no unescaped #{ in the body");
    let mut variables = variables(template, overrides);

    let sandbox = tempfile::tempdir().unwrap();
    let root = sandbox.path().canonicalize().unwrap();
    let (bin_dir, package_dir, work_dir, records) = (
        root.join("bin"),
        root.join("package"),
        root.join("work"),
        root.join("records"),
    );
    for dir in [&bin_dir, &package_dir.join("bin"), &work_dir, &records] {
        fs::create_dir_all(dir).unwrap();
    }
    if matches!(location, FakeLocation::Path | FakeLocation::PathAndPackage) {
        write_file(&bin_dir.join(binary), FAKE_BINARY, 0o755);
    }
    if matches!(
        location,
        FakeLocation::Package | FakeLocation::PathAndPackage
    ) {
        // Extraction may drop the executable bit: the script must chmod +x.
        write_file(&package_dir.join("bin").join(binary), FAKE_BINARY, 0o644);
        variables.insert(
            "Octopus.Action.Package[OctoShare.Package].ExtractedPath".into(),
            package_dir.to_str().unwrap().into(),
        );
    }

    let declarations: String = variables
        .iter()
        .map(|(name, value)| format!("  [{}]={}\n", shell_quote(name), shell_quote(value)))
        .collect();
    let harness = format!(
        "declare -A octopus_variables=(\n{declarations})\n\
         get_octopusvariable() {{\n  printf '%s' \"${{octopus_variables[$1]-}}\"\n}}\n\
         fail_step() {{\n  printf 'FAIL_STEP: %s\\n' \"$1\" >&2\n  exit 1\n}}\n\
         source ./script.sh\n"
    );
    fs::write(work_dir.join("script.sh"), body).unwrap();
    fs::write(work_dir.join("bootstrap.sh"), harness).unwrap();

    let output = Command::new("/bin/bash")
        .arg("bootstrap.sh")
        .current_dir(&work_dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", home.unwrap_or(&root))
        .env("FAKE_RECORDS", &records)
        .envs(environment.iter().copied())
        .output()
        .unwrap();
    StepRun {
        exit_code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        invocations: read_invocations(&records),
        work_dir,
        package_dir,
        _sandbox: sandbox,
    }
}

fn write_file(path: &Path, contents: &str, mode: u32) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    let mut parts: Vec<String> = bytes
        .split(|byte| *byte == 0)
        .map(|part| String::from_utf8(part.to_vec()).unwrap())
        .collect();
    assert_eq!(
        parts.pop().as_deref(),
        Some(""),
        "record not NUL-terminated"
    );
    parts
}

fn read_invocations(records: &Path) -> Vec<Invocation> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(records)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let mut argv = split_nul(&fs::read(dir.join("argv")).unwrap());
            let program = argv.remove(0);
            let environment = split_nul(&fs::read(dir.join("env")).unwrap())
                .into_iter()
                .filter_map(|entry| {
                    entry
                        .split_once('=')
                        .map(|(name, value)| (name.to_owned(), value.to_owned()))
                })
                .collect();
            Invocation {
                program,
                arguments: argv,
                environment,
            }
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// The arguments every invocation starts with.
fn common(prefix: &[&str]) -> Vec<String> {
    let mut arguments = strings(prefix);
    arguments.extend(strings(&["--server", SERVER, "--output", "octopus"]));
    arguments
}

/// The key is in the binary's environment only: not in its argv, not in the step's output.
fn assert_key_only_in_environment(run: &StepRun) {
    let invocation = run.only_invocation();
    assert_eq!(
        invocation
            .environment
            .get("OCTOPUS_API_KEY")
            .map(String::as_str),
        Some(API_KEY)
    );
    assert!(
        !invocation
            .arguments
            .iter()
            .any(|argument| argument.contains("API-KEY")),
        "the API key is on the command line: {:?}",
        invocation.arguments
    );
    assert!(!run.stdout.contains("API-KEY"), "the API key is on stdout");
    assert!(!run.stderr.contains("API-KEY"), "the API key is on stderr");
    assert!(
        !run.work_dir.join("pwned").exists(),
        "the API key was executed"
    );
}

#[test]
fn discover_passes_every_parameter_as_its_flag() {
    let run = run_step(
        DISCOVER,
        &[
            ("OctoShare.WorkerPool.Name", "AWS Worker Pool TF"),
            ("OctoShare.InitialSpace", "Spaces-2"),
            ("OctoShare.IncludeSpaces", "Team *\n\n  Ops ?  \r\n"),
            ("OctoShare.ExcludeSpaces", "Sandbox*"),
            ("OctoShare.Concurrency", "4"),
            ("OctoShare.CaCertificate", "/etc/ssl/private ca.pem"),
            ("OctoShare.Verbose", "True"),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let mut expected = common(&[]);
    expected.extend(strings(&[
        "--worker-pool",
        "AWS Worker Pool TF",
        "--initial-space",
        "Spaces-2",
        "--include-space",
        "Team *",
        "--include-space",
        "Ops ?",
        "--exclude-space",
        "Sandbox*",
        "--concurrency",
        "4",
        "--ca-cert",
        "/etc/ssl/private ca.pem",
        "-v",
    ]));
    assert_eq!(run.only_invocation().arguments, expected);
    assert_key_only_in_environment(&run);
}

#[test]
fn empty_optional_parameters_are_omitted() {
    let cases: [(&str, Overrides, Vec<String>); 4] = [
        (
            DISCOVER,
            &[
                ("OctoShare.WorkerPool.Name", "Pool"),
                ("OctoShare.Concurrency", ""),
            ],
            strings(&["--worker-pool", "Pool"]),
        ),
        (
            WAIT,
            &[
                ("OctoShare.Space", "Spaces-1"),
                ("OctoShare.WorkerPool.Name", "Pool"),
                ("OctoShare.Count", "3"),
                ("OctoShare.Timeout", ""),
                ("OctoShare.PollInterval", " "),
            ],
            strings(&[
                "--space",
                "Spaces-1",
                "--worker-pool",
                "Pool",
                "--count",
                "3",
            ]),
        ),
        (
            SHARE,
            &[
                ("OctoShare.Space", "Spaces-1"),
                ("OctoShare.WorkerPool.Name", "Pool"),
                ("OctoShare.Concurrency", ""),
                ("OctoShare.OnConflict", ""),
                ("OctoShare.Report", "False"),
            ],
            strings(&[
                "--from-space",
                "Spaces-1",
                "--to-spaces",
                "",
                "--worker-pool",
                "Pool",
            ]),
        ),
        (
            RUN,
            &[
                ("OctoShare.WorkerPool.Name", "Pool"),
                ("OctoShare.Timeout", ""),
                ("OctoShare.PollInterval", ""),
                ("OctoShare.Concurrency", ""),
                ("OctoShare.OnConflict", ""),
                ("OctoShare.Report", "false"),
            ],
            strings(&["--worker-pool", "Pool"]),
        ),
    ];
    for (file_name, overrides, flags) in cases {
        let run = run_step(file_name, overrides, FakeLocation::Path, &[]);
        assert_eq!(run.exit_code, Some(0), "{file_name}: {}", run.stderr);
        let prefix: &[&str] = if file_name == RUN { &["run"] } else { &[] };
        let mut expected = common(prefix);
        expected.extend(flags);
        assert_eq!(run.only_invocation().arguments, expected, "{file_name}");
        assert_key_only_in_environment(&run);
    }
}

#[test]
fn wait_reads_space_and_pool_from_the_discover_step() {
    let run = run_step(
        WAIT,
        &[
            ("OctoShare.StepName", DISCOVER_STEP),
            (
                "Octopus.Action[Discover Spaces].Output.InitialSpaceId",
                "Spaces-7",
            ),
            (
                "Octopus.Action[Discover Spaces].Output.WorkerPoolName",
                "GCP Worker Pool TF",
            ),
            ("OctoShare.Space", "ignored"),
            ("OctoShare.WorkerPool.Name", "ignored"),
            ("OctoShare.Count", "5"),
            ("OctoShare.Healthy", "TRUE"),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let mut expected = common(&[]);
    expected.extend(strings(&[
        "--space",
        "Spaces-7",
        "--worker-pool",
        "GCP Worker Pool TF",
        "--count",
        "5",
        "--timeout",
        "20m",
        "--poll-interval",
        "10s",
        "--healthy",
    ]));
    assert_eq!(run.only_invocation().arguments, expected);
    assert_key_only_in_environment(&run);
}

#[test]
fn share_reads_the_three_discover_outputs_and_attaches_a_report() {
    let run = run_step(
        SHARE,
        &[
            ("OctoShare.StepName", DISCOVER_STEP),
            (
                "Octopus.Action[Discover Spaces].Output.InitialSpaceId",
                "Spaces-1",
            ),
            (
                "Octopus.Action[Discover Spaces].Output.RemainingSpaceIds",
                "Spaces-2,Spaces-3",
            ),
            (
                "Octopus.Action[Discover Spaces].Output.WorkerPoolName",
                "AWS Worker Pool TF",
            ),
            ("OctoShare.MachinePolicy", "Workers 'shared'"),
            ("OctoShare.DryRun", "True"),
            ("OctoShare.Prune", "True"),
            ("OctoShare.OnConflict", "skip"),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let report = run.work_dir.join("octoshare-share-report.json");
    let mut expected = common(&[]);
    expected.extend(strings(&[
        "--from-space",
        "Spaces-1",
        "--to-spaces",
        "Spaces-2,Spaces-3",
        "--worker-pool",
        "AWS Worker Pool TF",
        "--machine-policy",
        "Workers 'shared'",
        "--concurrency",
        "16",
        "--dry-run",
        "--prune",
        "--on-conflict",
        "skip",
        "--report",
        report.to_str().unwrap(),
    ]));
    assert_eq!(run.only_invocation().arguments, expected);
    assert_key_only_in_environment(&run);
}

#[test]
fn run_passes_the_subcommand_and_every_flag() {
    let run = run_step(
        RUN,
        &[
            ("OctoShare.WorkerPool.Name", "Pool"),
            ("OctoShare.InitialSpace", "Default"),
            ("OctoShare.IncludeSpaces", "A*\nB*"),
            ("OctoShare.ExcludeSpaces", "C*"),
            ("OctoShare.Count", "2"),
            ("OctoShare.Timeout", "1h"),
            ("OctoShare.PollInterval", "500ms"),
            ("OctoShare.Healthy", "True"),
            ("OctoShare.MachinePolicy", "Policy"),
            ("OctoShare.DryRun", "True"),
            ("OctoShare.Prune", "True"),
            ("OctoShare.OnConflict", "replace"),
            ("OctoShare.CaCertificate", "/ca.pem"),
            ("OctoShare.Verbose", "True"),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let report = run.work_dir.join("octoshare-run-report.json");
    let mut expected = common(&["run"]);
    expected.extend(strings(&[
        "--worker-pool",
        "Pool",
        "--initial-space",
        "Default",
        "--include-space",
        "A*",
        "--include-space",
        "B*",
        "--exclude-space",
        "C*",
        "--count",
        "2",
        "--timeout",
        "1h",
        "--poll-interval",
        "500ms",
        "--healthy",
        "--machine-policy",
        "Policy",
        "--concurrency",
        "16",
        "--dry-run",
        "--prune",
        "--on-conflict",
        "replace",
        "--report",
        report.to_str().unwrap(),
        "--ca-cert",
        "/ca.pem",
        "-v",
    ]));
    assert_eq!(run.only_invocation().arguments, expected);
    assert_key_only_in_environment(&run);
}

#[test]
fn retire_passes_the_subcommand_and_every_flag() {
    let run = run_step(
        RETIRE,
        &[
            ("OctoShare.Worker.Name", "vm-7"),
            (
                "OctoShare.Worker.Thumbprint",
                "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A",
            ),
            ("OctoShare.WorkerPool.Name", "Pool"),
            ("OctoShare.DrainTimeout", "10m"),
            ("OctoShare.Force", "True"),
            ("OctoShare.DryRun", "True"),
            ("OctoShare.CaCertificate", "/ca.pem"),
            ("OctoShare.Verbose", "True"),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let mut expected = common(&["retire"]);
    expected.extend(strings(&[
        "--worker",
        "vm-7",
        "--thumbprint",
        "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A",
        "--worker-pool",
        "Pool",
        "--drain-timeout",
        "10m",
        "--force",
        "--dry-run",
        "--concurrency",
        "16",
        "--ca-cert",
        "/ca.pem",
        "-v",
    ]));
    assert_eq!(run.only_invocation().arguments, expected);
    assert_key_only_in_environment(&run);

    // The defaults: only the worker given, a 30-minute drain.
    let run = run_step(
        RETIRE,
        &[("OctoShare.Worker.Name", "vm-7")],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let mut expected = common(&["retire"]);
    expected.extend(strings(&[
        "--worker",
        "vm-7",
        "--drain-timeout",
        "30m",
        "--concurrency",
        "16",
    ]));
    assert_eq!(run.only_invocation().arguments, expected);
}

#[test]
fn hostile_parameter_values_reach_the_binary_byte_exact() {
    let hostile = "it's \"x\" $(touch pwned) `touch pwned` ${HOME} #{y} ##{z} \\ ; | & * ü";
    let run = run_step(
        WAIT,
        &[
            ("OctoShare.Space", hostile),
            ("OctoShare.WorkerPool.Name", hostile),
            ("OctoShare.Count", "1"),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let arguments = &run.only_invocation().arguments;
    assert_eq!(
        arguments[4..8],
        strings(&["--space", hostile, "--worker-pool", hostile])
    );
    assert!(!run.work_dir.join("pwned").exists());
}

#[test]
fn the_binary_exit_code_is_the_step_exit_code() {
    for code in ["3", "5", "7"] {
        let run = run_step(
            DISCOVER,
            &[("OctoShare.WorkerPool.Name", "Pool")],
            FakeLocation::Path,
            &[("FAKE_EXIT_CODE", code)],
        );
        assert_eq!(run.exit_code, Some(code.parse().unwrap()));
        assert_eq!(run.invocations.len(), 1);
    }
}

#[test]
fn the_package_binary_is_made_executable_and_preferred_over_path() {
    let run = run_step(
        SHARE,
        &[
            ("OctoShare.Space", "Spaces-1"),
            ("OctoShare.WorkerPool.Name", "Pool"),
        ],
        FakeLocation::PathAndPackage,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let packaged = run.package_dir.join("bin/octoshare-share");
    assert_eq!(run.only_invocation().program, packaged.to_str().unwrap());
    let mode = fs::metadata(&packaged).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "not made executable");
    assert_key_only_in_environment(&run);
}

#[test]
fn the_package_binary_is_used_when_the_binary_is_not_on_path() {
    let run = run_step(
        DISCOVER,
        &[("OctoShare.WorkerPool.Name", "Pool")],
        FakeLocation::Package,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let packaged = run.package_dir.join("bin/octoshare-discover");
    assert_eq!(run.only_invocation().program, packaged.to_str().unwrap());
}

#[test]
fn without_a_package_the_binary_comes_from_path() {
    let run = run_step(
        DISCOVER,
        &[("OctoShare.WorkerPool.Name", "Pool")],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    assert!(
        run.only_invocation()
            .program
            .ends_with("/bin/octoshare-discover"),
        "{}",
        run.only_invocation().program
    );
    assert!(
        !run.only_invocation()
            .program
            .starts_with(run.package_dir.to_str().unwrap())
    );
}

#[test]
fn a_missing_binary_fails_the_step_with_a_clear_message() {
    let run = run_step(
        DISCOVER,
        &[("OctoShare.WorkerPool.Name", "Pool")],
        FakeLocation::Nowhere,
        &[],
    );
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(
        run.stderr,
        "FAIL_STEP: octoshare-discover not found: select the octoshare package in OctoShare.Package, or put octoshare-discover on the PATH of the worker\n"
    );

    let empty_package = run_step(
        DISCOVER,
        &[
            ("OctoShare.WorkerPool.Name", "Pool"),
            (
                "Octopus.Action.Package[OctoShare.Package].ExtractedPath",
                "/nonexistent/package",
            ),
        ],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(empty_package.exit_code, Some(1));
    assert!(
        empty_package.stderr.starts_with(
            "FAIL_STEP: the package selected in OctoShare.Package has no bin/octoshare-discover"
        ),
        "{}",
        empty_package.stderr
    );
    assert!(empty_package.invocations.is_empty());
}

#[test]
fn a_discover_step_without_outputs_fails_naming_the_step() {
    let run = run_step(
        SHARE,
        &[("OctoShare.StepName", "Find Spaces")],
        FakeLocation::Path,
        &[],
    );
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(
        run.stderr,
        "FAIL_STEP: step 'Find Spaces' set no output variable InitialSpaceId: OctoShare.StepName must name the OctoShare - Discover Spaces step, which must run before this step\n"
    );
    assert!(run.invocations.is_empty());
}

#[test]
fn missing_required_values_fail_the_step() {
    let cases: [(&str, Overrides, &str); 4] = [
        (
            DISCOVER,
            &[],
            "FAIL_STEP: OctoShare.WorkerPool.Name is empty: set it to the name of the shared worker pool\n",
        ),
        (
            WAIT,
            &[
                ("OctoShare.WorkerPool.Name", "Pool"),
                ("OctoShare.Count", "1"),
            ],
            "FAIL_STEP: no space: select the discover step in OctoShare.StepName or set OctoShare.Space\n",
        ),
        (
            WAIT,
            &[
                ("OctoShare.Space", "Spaces-1"),
                ("OctoShare.WorkerPool.Name", "Pool"),
            ],
            "FAIL_STEP: OctoShare.Count is empty: set it to the number of workers to wait for\n",
        ),
        (
            RUN,
            &[
                ("OctoShare.WorkerPool.Name", "Pool"),
                ("OctoShare.Api.Key", ""),
            ],
            "FAIL_STEP: OctoShare.Api.Key is empty: set it to an API key allowed to manage workers in every space\n",
        ),
    ];
    for (file_name, overrides, message) in cases {
        let run = run_step(file_name, overrides, FakeLocation::Path, &[]);
        assert_eq!(run.exit_code, Some(1), "{file_name}");
        assert_eq!(run.stderr, message, "{file_name}");
        assert!(run.invocations.is_empty(), "{file_name}");
    }
}

#[test]
fn an_access_token_in_the_worker_environment_does_not_reach_the_binary() {
    let run = run_step(
        DISCOVER,
        &[("OctoShare.WorkerPool.Name", "Pool")],
        FakeLocation::Path,
        &[
            ("OCTOPUS_ACCESS_TOKEN", "token"),
            ("OCTOPUS_API_KEY", "other"),
        ],
    );
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let environment = &run.only_invocation().environment;
    assert!(!environment.contains_key("OCTOPUS_ACCESS_TOKEN"));
    assert_key_only_in_environment(&run);
}
