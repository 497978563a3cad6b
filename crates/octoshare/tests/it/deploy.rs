//! The deploy files operators install: `deploy/systemd/octoshare-reconcile.service` passes
//! `systemd-analyze verify` and its offline security review, and keeps its hardening;
//! `deploy/kubernetes/` passes `kubernetes-validate --strict`, and both run `octoshare reconcile`
//! with flags it has, the key from a file, readiness on `/healthz` and a `metrics` port.

use crate::support::{octoshare_offline, run_of};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `--flag` of `arguments` is a flag of `octoshare reconcile`.
#[track_caller]
fn assert_reconcile_flags(arguments: &[String]) {
    let help = run_of(octoshare_offline().args(["reconcile", "--help"]));
    assert_eq!(help.code, 0, "{help:?}");
    let flags: Vec<&String> = arguments
        .iter()
        .filter(|word| word.starts_with("--"))
        .collect();
    assert!(!flags.is_empty());
    for flag in flags {
        assert!(
            help.stdout.contains(&format!("{flag} ")) || help.stdout.contains(&format!("{flag}\n")),
            "{flag} is not a flag of `octoshare reconcile`"
        );
    }
    assert!(
        !arguments.iter().any(|word| word == "--api-key"),
        "the key is never an argument"
    );
    assert!(arguments.iter().any(|word| word == "--api-key-file"));
}

/// `key=value` lines of the unit (comments and sections left out).
fn unit_settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with('[') && !line.is_empty())
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let Some(analyze) = octoshare_test_support::tools::require("systemd-analyze") else {
        return;
    };
    let unit =
        std::fs::read_to_string(repository().join("deploy/systemd/octoshare-reconcile.service"))
            .unwrap();
    let settings = unit_settings(&unit);
    let value = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .collect()
    };
    for (key, expected) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(value(key), [expected], "{key}");
    }
    assert!(
        value("LoadCredential")
            .iter()
            .any(|credential| credential.starts_with("octopus-api-key:")),
        "the key comes as a credential"
    );
    assert!(
        !settings
            .iter()
            .any(|(key, value)| key == "Environment" && value.contains("OCTOPUS_API_KEY")),
        "the key is never in the environment"
    );
    let exec_start = value("ExecStart")[0];
    assert!(exec_start.starts_with("/usr/local/bin/octoshare reconcile "));
    let arguments: Vec<String> = exec_start
        .split_whitespace()
        .skip(2)
        .map(str::to_owned)
        .collect();
    assert_reconcile_flags(&arguments);

    // systemd checks that the executable exists: point it at the one just built.
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("octoshare-reconcile.service");
    std::fs::write(
        &installed,
        unit.replace("/usr/local/bin/octoshare", env!("CARGO_BIN_EXE_octoshare")),
    )
    .unwrap();
    let verify = Command::new(&analyze)
        .arg("verify")
        .arg(&installed)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success(), "{said}");
    assert!(
        said.trim().is_empty(),
        "systemd-analyze verify warned: {said}"
    );
    // The offline security review: exposure at most 2.0 ("OK") on systemd's 0-10 scale.
    let security = Command::new(&analyze)
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&installed)
        .output()
        .unwrap();
    let review = String::from_utf8_lossy(&security.stdout);
    assert!(
        security.status.success(),
        "{review}{}",
        String::from_utf8_lossy(&security.stderr)
    );
    let exposure: f64 = review
        .lines()
        .find_map(|line| {
            line.split("Overall exposure level for octoshare-reconcile.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level: {review}"));
    assert!(exposure <= 2.0, "exposure {exposure}: {review}");
}

/// The manifests decoded (YAML to JSON by the validator's own Python, which has PyYAML).
fn manifests(python: &Path, files: &[PathBuf]) -> Vec<Value> {
    let script = "import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))";
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_kubernetes_manifests_validate_and_run_reconcile_with_readiness_on_healthz() {
    let Some(validate) = octoshare_test_support::tools::require("kubernetes-validate") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(repository().join("deploy/kubernetes"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let validation = Command::new(&validate)
        .args(["--strict", "--no-warn"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        validation.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validation.stdout),
        String::from_utf8_lossy(&validation.stderr)
    );

    let python = validate.with_file_name("python");
    let documents = manifests(&python, &files);
    let kind = |kind: &str| -> &Value {
        documents
            .iter()
            .find(|document| document["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    let deployment = kind("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let arguments: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|argument| argument.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(arguments[0], "reconcile");
    assert_reconcile_flags(&arguments);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert!(
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .all(|variable| variable["name"] != "OCTOPUS_API_KEY"),
        "the key comes from the mounted Secret"
    );
    let service = kind("Service");
    assert_eq!(service["spec"]["ports"][0]["name"], "metrics");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "metrics");
    let secret = kind("Secret");
    let keys: Vec<&String> = secret["stringData"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["octopus-api-key", "webhook-token"]);
    let mounted = &deployment["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"];
    assert_eq!(*mounted, secret["metadata"]["name"]);
}
