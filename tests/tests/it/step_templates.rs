//! Each committed step template's ScriptBody, run the way Calamari runs it (sourced by bash with
//! `get_octopusvariable`, `set_octopusvariable` and `fail_step` defined, after Octostache's
//! substitution) with the real binaries — from the selected package and from `PATH` — against
//! an emulator: Discover → Wait → Share chained through `OctoShare.StepName` (each step reading
//! the previous step's output variables, decoded from its service messages), and Run alone.
//! The emulator's workers afterwards must be exactly the converged state.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use octopus_emulator::{DEFAULT_API_KEY, Emulator};
use serde_json::Value;

use crate::support::binaries::{Run, binary, workspace_root};
use crate::support::fleet::{Fleet, POOL, SOURCE, actual_state};

#[path = "../../../xtask/tests/it/octostache.rs"]
mod octostache;

const DISCOVER_STEP: &str = "OctoShare - Discover Spaces";

/// Where the step finds its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    /// `Octopus.Action.Package[OctoShare.Package].ExtractedPath/bin/NAME`.
    Package,
    /// A folder on `PATH`.
    Path,
}

fn template(file_name: &str) -> Value {
    let path = workspace_root().join("step-templates").join(file_name);
    serde_json::from_str(&fs::read_to_string(&path).expect("the template exists")).expect("JSON")
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The binary a template's script runs (the name it looks up with `command -v`).
fn binary_of(body: &str) -> String {
    let start = body
        .find("command -v '")
        .expect("the script looks for its binary")
        + 12;
    body[start..].split('\'').next().expect("a name").to_owned()
}

/// Runs `file_name`'s ScriptBody with the template's defaults, the emulator's URL and key, and
/// `overrides`, the real binary at `location`; returns the run (outputs decoded from stdout).
fn run_step(
    file_name: &str,
    emulator: &Emulator,
    overrides: &[(String, String)],
    location: Location,
) -> Run {
    let template = template(file_name);
    let body = template["Properties"]["Octopus.Action.Script.ScriptBody"]
        .as_str()
        .expect("a ScriptBody");
    let body = octostache::substitute(body).expect("no unescaped #{ in the body");
    let name = binary_of(&body);
    let mut variables: BTreeMap<String, String> = template["Parameters"]
        .as_array()
        .expect("Parameters")
        .iter()
        .map(|parameter| {
            (
                parameter["Name"].as_str().expect("Name").to_owned(),
                parameter["DefaultValue"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    variables.insert("OctoShare.Server.Url".into(), emulator.url());
    variables.insert("OctoShare.Api.Key".into(), DEFAULT_API_KEY.into());
    // No download: the binary comes from the package or PATH.
    variables.insert("OctoShare.Download.Url".into(), String::new());

    let sandbox = tempfile::tempdir().expect("temp dir");
    let root = sandbox.path();
    let (bin_dir, package_dir, work_dir) =
        (root.join("bin"), root.join("package"), root.join("work"));
    for dir in [&bin_dir, &package_dir.join("bin"), &work_dir] {
        fs::create_dir_all(dir).expect("created");
    }
    let real = binary(&name);
    match location {
        Location::Path => {
            std::os::unix::fs::symlink(&real, bin_dir.join(&name)).expect("linked");
        }
        Location::Package => {
            let packaged = package_dir.join("bin").join(&name);
            fs::hard_link(&real, &packaged)
                .or_else(|_| fs::copy(&real, &packaged).map(|_| ()))
                .expect("packaged");
            variables.insert(
                "Octopus.Action.Package[OctoShare.Package].ExtractedPath".into(),
                package_dir.to_string_lossy().into_owned(),
            );
        }
    }
    for (name, value) in overrides {
        variables.insert(name.clone(), value.clone());
    }
    let declarations: String = variables
        .iter()
        .map(|(name, value)| format!("  [{}]={}\n", quote(name), quote(value)))
        .collect();
    let harness = format!(
        "declare -A octopus_variables=(\n{declarations})\n\
         get_octopusvariable() {{\n  printf '%s' \"${{octopus_variables[$1]-}}\"\n}}\n\
         set_octopusvariable() {{\n  printf \"##octopus[setVariable name='%s' value='%s']\\n\" \
         \"$(printf '%s' \"$1\" | base64 -w0)\" \"$(printf '%s' \"$2\" | base64 -w0)\"\n}}\n\
         fail_step() {{\n  printf 'FAIL_STEP: %s\\n' \"$1\" >&2\n  exit 1\n}}\n\
         source ./script.sh\n"
    );
    fs::write(work_dir.join("script.sh"), body).expect("written");
    fs::write(work_dir.join("bootstrap.sh"), harness).expect("written");
    let output = Command::new("/bin/bash")
        .arg("bootstrap.sh")
        .current_dir(&work_dir)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("HOME", root)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let run = Run::from_output(format!("{file_name} ({location:?})"), &output);
    assert!(
        !run.stdout.contains(DEFAULT_API_KEY) && !run.stderr.contains(DEFAULT_API_KEY),
        "the API key is in the step's output"
    );
    run
}

fn fleet() -> Fleet {
    Fleet {
        source_workers: 3,
        targets: 3,
        every_kind: false,
    }
}

fn count(run: &Run, name: &str) -> u64 {
    run.output(name)
        .unwrap_or_else(|| panic!("{}: no output {name}\n{}", run.label, run.describe()))
        .parse()
        .expect("a count")
}

/// The discover step's outputs as the next steps see them.
fn as_step_outputs(run: &Run) -> Vec<(String, String)> {
    run.outputs()
        .into_iter()
        .map(|(name, value)| {
            (
                format!("Octopus.Action[{DISCOVER_STEP}].Output.{name}"),
                value,
            )
        })
        .chain([("OctoShare.StepName".to_owned(), DISCOVER_STEP.to_owned())])
        .collect()
}

fn assert_converged(emulator: &Emulator, fleet: &Fleet) {
    assert_eq!(
        actual_state(emulator, &fleet.all_space_names()),
        fleet.expected(false)
    );
}

#[test]
fn discover_wait_share_chain_shares_the_fleet_through_step_outputs() {
    let fleet = fleet();
    let emulator = Emulator::start(fleet.scenario()).expect("the emulator starts");
    let pool = [("OctoShare.WorkerPool.Name".to_owned(), POOL.to_owned())];

    let discover = run_step(
        "octoshare-discover-spaces.json",
        &emulator,
        &pool,
        Location::Package,
    );
    assert_eq!(discover.code, 0, "{}", discover.describe());
    assert_eq!(discover.output("InitialSpaceName").as_deref(), Some(SOURCE));
    assert_eq!(discover.output("WorkerPoolName").as_deref(), Some(POOL));
    assert_eq!(
        discover.output("RemainingSpaceIds"),
        Some(fleet.target_ids(&emulator))
    );
    let from_discover = as_step_outputs(&discover);

    let mut wait_values = from_discover.clone();
    wait_values.push(("OctoShare.Count".into(), fleet.source_workers.to_string()));
    let wait = run_step(
        "octoshare-wait-for-workers.json",
        &emulator,
        &wait_values,
        Location::Path,
    );
    assert_eq!(wait.code, 0, "{}", wait.describe());
    assert_eq!(
        count(&wait, "RegisteredWorkerCount"),
        u64::from(fleet.source_workers)
    );

    let share = run_step(
        "octoshare-share-workers.json",
        &emulator,
        &from_discover,
        Location::Package,
    );
    assert_eq!(share.code, 0, "{}", share.describe());
    assert_eq!(count(&share, "CreatedWorkerCount"), fleet.creates_needed());
    assert_eq!(count(&share, "FailedCount"), 0);
    assert_converged(&emulator, &fleet);

    // A re-run (from PATH this time) changes nothing.
    let again = run_step(
        "octoshare-share-workers.json",
        &emulator,
        &from_discover,
        Location::Path,
    );
    assert_eq!(again.code, 0, "{}", again.describe());
    assert_eq!(count(&again, "CreatedWorkerCount"), 0);
    assert_eq!(count(&again, "UpdatedWorkerCount"), 0);
    assert_converged(&emulator, &fleet);
}

#[test]
fn run_template_waits_and_shares_in_one_step() {
    let fleet = fleet();
    for location in [Location::Path, Location::Package] {
        let emulator = Emulator::start(fleet.scenario()).expect("the emulator starts");
        let values = [
            ("OctoShare.WorkerPool.Name".to_owned(), POOL.to_owned()),
            (
                "OctoShare.Count".to_owned(),
                fleet.source_workers.to_string(),
            ),
        ];
        let run = run_step("octoshare-run.json", &emulator, &values, location);
        assert_eq!(run.code, 0, "{}", run.describe());
        assert_eq!(run.output("InitialSpaceName").as_deref(), Some(SOURCE));
        assert_eq!(
            count(&run, "RegisteredWorkerCount"),
            u64::from(fleet.source_workers)
        );
        assert_eq!(count(&run, "CreatedWorkerCount"), fleet.creates_needed());
        assert_converged(&emulator, &fleet);
    }
}

#[test]
fn a_step_without_its_binary_fails_with_one_message_and_sets_nothing() {
    let emulator = Emulator::start(fleet().scenario()).expect("the emulator starts");
    let path = Path::new("/nonexistent");
    let values = [
        ("OctoShare.WorkerPool.Name".to_owned(), POOL.to_owned()),
        (
            "Octopus.Action.Package[OctoShare.Package].ExtractedPath".to_owned(),
            path.to_string_lossy().into_owned(),
        ),
    ];
    let run = run_step(
        "octoshare-discover-spaces.json",
        &emulator,
        &values,
        Location::Path,
    );
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        run.stderr.contains(
            "FAIL_STEP: the package selected in OctoShare.Package has no bin/octoshare-discover"
        ),
        "{}",
        run.describe()
    );
    assert!(run.outputs().is_empty());
}
