//! Every argv each committed step template's ScriptBody can build is accepted by the real clap
//! parser of the binary it runs (`octoshare_cli::binaries`), so renaming a flag a template uses,
//! or narrowing the values it accepts, fails here.
//!
//! The values come from each template's own parameters: both states of every Checkbox, every
//! option of every Select (and empty), the discover step named or not in a StepName, and each
//! text parameter empty, at its default, or at a sample value. Checkboxes, Selects and StepNames
//! are combined exhaustively, over two text baselines (every text parameter set, every one
//! empty); then each text parameter is emptied and set alone. The script runs under bash as
//! Calamari runs it (`step_script_run`), with a stand-in binary that records its argv.

use std::collections::BTreeMap;

use clap::Parser as _;
use octoshare_cli::binaries::{DiscoverCli, RunCli, ShareCli, WaitCli};
use serde_json::Value;

use crate::committed_templates;
use crate::step_script_run::{FakeLocation, run_template};

/// The discover step a StepName parameter names, and the outputs it set.
const DISCOVER_STEP: &str = "Discover Spaces";
const DISCOVER_OUTPUTS: [(&str, &str); 5] = [
    ("InitialSpaceId", "Spaces-1"),
    ("InitialSpaceName", "Default"),
    ("RemainingSpaceIds", "Spaces-2,Spaces-3"),
    ("RemainingSpaceNames", "Team A,Team B"),
    ("WorkerPoolName", "AWS Worker Pool TF"),
];

/// A value a user would type into a text parameter whose default is empty. A new text
/// parameter without a default needs one here (the test says so).
fn sample(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "OctoShare.WorkerPool.Name" => "AWS Worker Pool TF",
        "OctoShare.InitialSpace" => "Default",
        "OctoShare.IncludeSpaces" => "Team *\nDefault",
        "OctoShare.ExcludeSpaces" => "Sandbox*",
        "OctoShare.Count" => "3",
        "OctoShare.Timeout" => "1h30m",
        "OctoShare.PollInterval" => "5s",
        "OctoShare.MachinePolicy" => "Default Machine Policy",
        "OctoShare.Concurrency" => "4",
        "OctoShare.CaCertificate" => "/etc/ssl/certs/private-ca.pem",
        "OctoShare.Space" => "Spaces-1",
        "OctoShare.ToSpaces" => "Spaces-2, Spaces-3",
        "OctoShare.Worker.Name" => "web-1",
        "OctoShare.Worker.Thumbprint" => "0123456789ABCDEF0123456789ABCDEF01234567",
        "OctoShare.DrainTimeout" => "45m",
        _ => return None,
    })
}

/// How a parameter is varied.
#[derive(Debug, Clone)]
enum Kind {
    /// Combined exhaustively: every value listed.
    Choice(Vec<String>),
    /// Text: `None` is the default (the harness's value for the server URL), `Some` a value.
    Text {
        set: Option<String>,
        default_empty: bool,
    },
}

#[derive(Debug, Clone)]
struct Parameter {
    name: String,
    kind: Kind,
}

/// The parameters of `template` that change what the script builds, with their values. The API
/// key (Sensitive) and the package are the harness's: the binary comes from the package.
fn parameters(template: &Value) -> Vec<Parameter> {
    template["Parameters"]
        .as_array()
        .expect("Parameters")
        .iter()
        .filter_map(|parameter| {
            let name = parameter["Name"].as_str().expect("Name").to_owned();
            let default = parameter["DefaultValue"].as_str().unwrap_or_default();
            let settings = &parameter["DisplaySettings"];
            let control = settings["Octopus.ControlType"].as_str().unwrap_or_default();
            let kind = match control {
                "Sensitive" | "Package" => return None,
                "Checkbox" => Kind::Choice(vec!["True".into(), "False".into()]),
                "Select" => {
                    let mut values: Vec<String> = settings["Octopus.SelectOptions"]
                        .as_str()
                        .expect("a Select has options")
                        .lines()
                        .map(|option| option.split('|').next().unwrap_or_default().to_owned())
                        .collect();
                    assert!(!values.is_empty(), "{name}: no options");
                    values.push(String::new());
                    Kind::Choice(values)
                }
                "StepName" => Kind::Choice(vec![String::new(), DISCOVER_STEP.into()]),
                "SingleLineText" | "MultiLineText" => {
                    let set = sample(&name).map(str::to_owned);
                    assert!(
                        !default.is_empty() || set.is_some(),
                        "{name} has no default: give it a sample value in template_argv.rs"
                    );
                    Kind::Text {
                        set,
                        default_empty: default.is_empty(),
                    }
                }
                other => panic!("{name}: control type {other} is not varied by this test"),
            };
            Some(Parameter { name, kind })
        })
        .collect()
}

/// Every combination of the Choice parameters' values.
fn choice_combinations(parameters: &[Parameter]) -> Vec<BTreeMap<String, String>> {
    let mut combinations = vec![BTreeMap::new()];
    for parameter in parameters {
        let Kind::Choice(values) = &parameter.kind else {
            continue;
        };
        combinations = combinations
            .into_iter()
            .flat_map(|combination| {
                values.iter().map(move |value| {
                    let mut next = combination.clone();
                    next.insert(parameter.name.clone(), value.clone());
                    next
                })
            })
            .collect();
    }
    combinations
}

/// The text values of the filled baseline: every text parameter at its sample, or its default.
fn filled(parameters: &[Parameter]) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for parameter in parameters {
        if let Kind::Text {
            set: Some(value), ..
        } = &parameter.kind
        {
            values.insert(parameter.name.clone(), value.clone());
        }
    }
    values
}

/// One variable set to run the script with; `must_run`: the script must run the binary (every
/// value it needs is there), and then the parsed flags must also validate.
#[derive(Debug, Clone)]
struct Case {
    values: BTreeMap<String, String>,
    must_run: bool,
}

/// Each text parameter alone emptied, and alone at its default, from the filled baseline with
/// the first combination of choices.
fn single_text_cases(parameters: &[Parameter]) -> Vec<(String, Case)> {
    let first_choices = choice_combinations(parameters).swap_remove(0);
    let mut base = filled(parameters);
    base.extend(first_choices);
    let mut cases = Vec::new();
    for parameter in parameters {
        let Kind::Text { set, default_empty } = &parameter.kind else {
            continue;
        };
        let mut emptied = base.clone();
        emptied.insert(parameter.name.clone(), String::new());
        cases.push((
            parameter.name.clone(),
            Case {
                values: emptied,
                must_run: false,
            },
        ));
        if !default_empty && set.is_some() {
            let mut default = base.clone();
            default.remove(&parameter.name);
            cases.push((
                String::new(),
                Case {
                    values: default,
                    must_run: true,
                },
            ));
        }
    }
    cases
}

/// Every combination of choices over the filled text baseline; over the minimal one (every text
/// parameter in `optional` emptied), each value of each choice; then each optional parameter set
/// alone over minimal.
fn combined_cases(parameters: &[Parameter], optional: &[String]) -> Vec<Case> {
    let base = filled(parameters);
    let mut minimal = base.clone();
    for name in optional {
        minimal.insert(name.clone(), String::new());
    }
    let mut cases = Vec::new();
    for choices in choice_combinations(parameters) {
        let mut values = base.clone();
        values.extend(choices);
        cases.push(Case {
            values,
            must_run: true,
        });
    }
    // Over minimal: each value of each choice, the others at their first value.
    let first_choices = choice_combinations(parameters).swap_remove(0);
    for parameter in parameters {
        let Kind::Choice(values) = &parameter.kind else {
            continue;
        };
        for value in values {
            let mut case = minimal.clone();
            case.extend(first_choices.clone());
            case.insert(parameter.name.clone(), value.clone());
            cases.push(Case {
                values: case,
                must_run: true,
            });
        }
    }
    for name in optional {
        let mut values = minimal.clone();
        values.extend(first_choices.clone());
        if let Some(value) = base.get(name) {
            values.insert(name.clone(), value.clone());
        } else {
            values.remove(name);
        }
        cases.push(Case {
            values,
            must_run: true,
        });
    }
    cases
}

/// Runs `case` and checks the argv the binary got, if it ran; returns that argv.
fn run_case(file_name: &str, template: &Value, binary: &str, case: &Case) -> Option<Vec<String>> {
    let mut overrides: Vec<(String, String)> = case
        .values
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    for (output, value) in DISCOVER_OUTPUTS {
        overrides.push((
            format!("Octopus.Action[{DISCOVER_STEP}].Output.{output}"),
            value.to_owned(),
        ));
    }
    let borrowed: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let run = run_template(
        template,
        binary,
        &borrowed,
        FakeLocation::Package,
        &[],
        None,
    );
    if run.invocations.is_empty() {
        // The script refused (fail_step) before running the binary: a missing value.
        assert!(
            run.stderr.contains("FAIL_STEP: ") && !case.must_run,
            "{file_name} {:?}: nothing ran\n{}",
            case.values,
            run.stderr
        );
        return None;
    }
    let arguments = run.only_invocation().arguments.clone();
    if let Err(error) = check_argv(binary, &arguments, case.must_run) {
        panic!(
            "{file_name} with {:?} runs {binary} {arguments:?}, which its parser refuses: {error}",
            case.values
        );
    }
    Some(arguments)
}

/// Parses `arguments` (without argv[0]) with the clap parser of `binary`; with `validate`, also
/// turns the flags into the step's configuration as the binary does before any request.
pub(crate) fn check_argv(binary: &str, arguments: &[String], validate: bool) -> Result<(), String> {
    let argv = |name: &str, skip: usize| {
        std::iter::once(name.to_owned())
            .chain(arguments.iter().skip(skip).cloned())
            .collect::<Vec<String>>()
    };
    let invalid = |error: octoshare_cli::ExitError| error.to_string();
    match binary {
        "octoshare-discover" => {
            let parsed = DiscoverCli::try_parse_from(argv(binary, 0)).map_err(|e| e.to_string())?;
            if validate {
                parsed.discover.into_config().map_err(invalid)?;
            }
        }
        "octoshare-wait" => {
            let parsed = WaitCli::try_parse_from(argv(binary, 0)).map_err(|e| e.to_string())?;
            if validate {
                parsed.wait.into_request().map_err(invalid)?;
            }
        }
        "octoshare-share" => {
            let parsed = ShareCli::try_parse_from(argv(binary, 0)).map_err(|e| e.to_string())?;
            if validate {
                parsed.share.into_command().map_err(invalid)?;
            }
        }
        "octoshare" if arguments.first().map(String::as_str) != Some("run") => {
            // Other subcommands' flags are the `octoshare` binary's own: its parser runs with
            // `--help` appended, which it reaches only after every flag and value before it
            // parsed (validation past clap is not reached).
            let output = std::process::Command::new(octoshare_binary())
                .args(arguments)
                .arg("--help")
                .env_clear()
                .output()
                .map_err(|error| error.to_string())?;
            if !output.status.success() {
                return Err(String::from_utf8_lossy(&output.stderr).into_owned());
            }
        }
        "octoshare" => {
            let parsed =
                RunCli::try_parse_from(argv("octoshare run", 1)).map_err(|e| e.to_string())?;
            if validate {
                parsed.run.into_config().map_err(invalid)?;
            }
        }
        other => return Err(format!("no parser for {other}")),
    }
    Ok(())
}

/// The `octoshare` binary of this workspace, built (once per test process) into this test's
/// target directory.
fn octoshare_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = crate::cargo_install::target_dir();
            let status = crate::cargo_install::nested_cargo()
                .current_dir(xtask::project_root())
                .env("CARGO_TARGET_DIR", &target)
                .args(["build", "-p", "octoshare", "--bin", "octoshare"])
                .stdout(std::process::Stdio::null())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building octoshare failed");
            target.join("debug").join("octoshare")
        })
        .clone()
}

/// The binary a template runs: the one its script names in `command -v '…'`.
fn binary_of(template: &Value) -> String {
    let body = template["Properties"]["Octopus.Action.Script.ScriptBody"]
        .as_str()
        .expect("a ScriptBody");
    let start = body
        .find("command -v '")
        .expect("the script looks for its binary")
        + 12;
    body[start..]
        .split('\'')
        .next()
        .expect("a quoted name")
        .to_owned()
}

/// Runs every case of the committed template `file_name`.
fn check_template(file_name: &str) {
    let text = committed_templates()
        .into_iter()
        .find(|(name, _)| name == file_name)
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("{file_name} is not in step-templates/"));
    let template: Value = serde_json::from_str(&text).expect("JSON");
    let binary = binary_of(&template);
    let parameters = parameters(&template);
    let mut argvs = std::collections::BTreeSet::new();
    let mut optional = Vec::new();
    let singles = single_text_cases(&parameters);
    for (emptied, case) in &singles {
        if let Some(argv) = run_case(file_name, &template, &binary, case) {
            argvs.insert(argv);
            if !emptied.is_empty() {
                optional.push(emptied.clone());
            }
        }
    }
    let combined = combined_cases(&parameters, &optional);
    for case in &combined {
        argvs.extend(run_case(file_name, &template, &binary, case));
    }
    assert!(
        argvs.len() > parameters.len(),
        "{file_name}: {} distinct argvs",
        argvs.len()
    );
    eprintln!(
        "{file_name}: {} runs, {} distinct argvs, optional text: {optional:?}",
        singles.len() + combined.len(),
        argvs.len()
    );
}

/// One test per template (they run in parallel), and none missed.
const TEMPLATES: [&str; 5] = [
    "octoshare-discover-spaces.json",
    "octoshare-retire-worker.json",
    "octoshare-run.json",
    "octoshare-share-workers.json",
    "octoshare-wait-for-workers.json",
];

#[test]
fn every_committed_template_is_checked() {
    let names: Vec<String> = committed_templates()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, TEMPLATES);
}

#[test]
fn discover_template_argvs_parse() {
    check_template(TEMPLATES[0]);
}

#[test]
fn retire_template_argvs_parse() {
    check_template(TEMPLATES[1]);
}

#[test]
fn run_template_argvs_parse() {
    check_template(TEMPLATES[2]);
}

#[test]
fn share_template_argvs_parse() {
    check_template(TEMPLATES[3]);
}

#[test]
fn wait_template_argvs_parse() {
    check_template(TEMPLATES[4]);
}

/// The check fails on what a rename or a narrowed value would produce.
#[test]
fn the_argv_check_refuses_unknown_flags_and_invalid_values() {
    let strings = |items: &[&str]| {
        items
            .iter()
            .map(|item| (*item).to_owned())
            .collect::<Vec<_>>()
    };
    let good = strings(&[
        "--server",
        "https://o.example.com",
        "--worker-pool",
        "P",
        "--count",
        "2",
        "--space",
        "Spaces-1",
    ]);
    assert_eq!(check_argv("octoshare-wait", &good, true), Ok(()));
    let renamed = strings(&[
        "--server",
        "https://o.example.com",
        "--pool",
        "P",
        "--count",
        "2",
        "--space",
        "Spaces-1",
    ]);
    assert!(check_argv("octoshare-wait", &renamed, false).is_err());
    let invalid = strings(&[
        "--server",
        "https://o.example.com",
        "--worker-pool",
        "P",
        "--count",
        "two",
        "--space",
        "Spaces-1",
    ]);
    assert!(check_argv("octoshare-wait", &invalid, false).is_err());
    let bad_duration = strings(&[
        "--server",
        "https://o.example.com",
        "--worker-pool",
        "P",
        "--count",
        "2",
        "--space",
        "Spaces-1",
        "--timeout",
        "soon",
    ]);
    assert!(
        check_argv("octoshare-wait", &bad_duration, false).is_err()
            || check_argv("octoshare-wait", &bad_duration, true).is_err()
    );
    let run = strings(&["run", "--worker-pool", "P", "--on-conflict", "overwrite"]);
    assert!(check_argv("octoshare", &run, false).is_err());
    let run = strings(&["run", "--worker-pool", "P", "--on-conflict", "skip"]);
    assert_eq!(check_argv("octoshare", &run, true), Ok(()));
    let retire = strings(&["retire", "--worker", "web-1", "--drain-timeout", "soon"]);
    assert!(check_argv("octoshare", &retire, false).is_err());
    let retire = strings(&["retire", "--worker", "web-1", "--drain-timeout", "5m"]);
    assert_eq!(check_argv("octoshare", &retire, false), Ok(()));
    let retire = strings(&["retire", "--machine", "web-1"]);
    assert!(check_argv("octoshare", &retire, false).is_err());
}
