//! The Windows bootstrap script `configure-worker.ps1`: every generated form parses as PowerShell
//! (tree-sitter-powershell from PyPI, run by the tools virtualenv's Python; there is no PowerShell
//! here), the `.ps1.tftpl` renders with an
//! independent HCL implementation and carries every value byte-exact, and the Tentacle.exe
//! commands and flags are those the bash script runs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use octoshare_templates::{
    BootstrapFormat, BootstrapOs, END_OF_INPUTS_MARKER, render_bootstrap_for,
};
use serde::Deserialize;

use crate::evaluate::{Values, evaluate_octostache, evaluate_tftpl};
use crate::sandbox::Sandbox;

/// What the parser found.
#[derive(Debug, Deserialize)]
struct Parsed {
    has_error: bool,
    errors: Vec<ParseError>,
    /// Every single-quoted string literal's value, in document order.
    strings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // read through Debug when a test fails
struct ParseError {
    kind: String,
    line: u64,
    column: u64,
    text: String,
}

fn parse(python: &std::path::Path, script: &str) -> Parsed {
    let helper =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/parse_powershell.py");
    let mut child = Command::new(python)
        .arg(helper)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the PowerShell parser");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the parser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn render(format: BootstrapFormat, values: &Values) -> String {
    let rendered = render_bootstrap_for(BootstrapOs::Windows, format, &values.config()).unwrap();
    match format {
        BootstrapFormat::Bash => rendered,
        BootstrapFormat::Tftpl => evaluate_tftpl(&rendered, values),
        BootstrapFormat::Octostache => evaluate_octostache(&rendered, &values.octopus_variables()),
    }
}

/// Every PowerShell file octoshare generates or renders, by name.
fn every_form() -> Vec<(String, String)> {
    let typical = Values::typical();
    let mut forms = Vec::new();
    for format in BootstrapFormat::ALL {
        if format != BootstrapFormat::Bash {
            forms.push((
                format!("{format} template"),
                render_bootstrap_for(BootstrapOs::Windows, format, &typical.config()).unwrap(),
            ));
        }
        for (which, values) in [
            ("typical", Values::typical()),
            ("hostile", Values::hostile()),
        ] {
            forms.push((
                format!("{format} with {which} values"),
                render(format, &values),
            ));
        }
    }
    forms
}

#[test]
fn every_generated_powershell_script_parses_without_errors() {
    let Some(python) = octoshare_test_support::tools::require("tree-sitter-powershell") else {
        return;
    };
    for (name, script) in every_form() {
        let parsed = parse(&python, &script);
        assert!(
            parsed.errors.is_empty() && !parsed.has_error,
            "{name}: {:#?}",
            parsed.errors
        );
    }
}

#[test]
fn the_parser_reports_a_broken_script() {
    let Some(python) = octoshare_test_support::tools::require("tree-sitter-powershell") else {
        return;
    };
    let script = render(BootstrapFormat::Bash, &Values::typical());
    let unbalanced = script.replacen(
        "if (-not $space) { Stop-WithError",
        "if (-not $space) Stop-WithError {",
        1,
    );
    assert_ne!(unbalanced, script);
    let parsed = parse(&python, &unbalanced);
    assert!(parsed.has_error, "a misplaced brace went unnoticed");
    let unterminated = script.replacen("$instance = 'Tentacle'", "$instance = 'Tentacle", 1);
    assert!(
        parse(&python, &unterminated).has_error,
        "an unterminated string went unnoticed"
    );
}

/// The ten input literals: the first single-quoted strings after the preamble's
/// `$ErrorActionPreference = 'Stop'` and `$ProgressPreference = 'SilentlyContinue'`, in the order
/// the inputs are assigned.
fn input_literals(parsed: &Parsed) -> &[String] {
    assert_eq!(parsed.strings[..2], ["Stop", "SilentlyContinue"]);
    &parsed.strings[2..12]
}

#[test]
fn every_format_carries_each_value_byte_exact() {
    let Some(python) = octoshare_test_support::tools::require("tree-sitter-powershell") else {
        return;
    };
    let values = Values::hostile();
    let expected = [
        ("serverUrl", values.server_url.clone()),
        ("apiKey", values.api_key.clone()),
        ("space", values.space.clone()),
        ("workerPool", values.worker_pool.clone()),
        ("machinePolicy", values.machine_policy.clone()),
        ("serverCommsAddress", values.server_comms_address.clone()),
        ("serverCommsPort", values.server_comms_port.clone()),
        ("extraServerNodesText", values.extra_server_nodes.join("\n")),
        ("tentacleVersion", values.tentacle_version.clone()),
        ("workerName", values.worker_name.clone()),
    ];
    for format in BootstrapFormat::ALL {
        let script = render(format, &values);
        let parsed = parse(&python, &script);
        let assignments: Vec<&str> = script
            .lines()
            .filter_map(|line| line.strip_prefix('$')?.split_once(" = '"))
            .map(|(variable, _)| variable)
            .skip(2)
            .take(10)
            .collect();
        let names: Vec<&str> = expected.iter().map(|(variable, _)| *variable).collect();
        assert_eq!(
            assignments, names,
            "{format}: the inputs come first, in this order"
        );
        for ((variable, value), literal) in expected.iter().zip(input_literals(&parsed)) {
            let literal = literal.clone();
            let carried = if format == BootstrapFormat::Bash {
                literal
            } else {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&literal)
                    .unwrap_or_else(|_| panic!("{format}: ${variable} is not base64: {literal}"));
                String::from_utf8(bytes).unwrap()
            };
            if format == BootstrapFormat::Bash && *variable == "apiKey" {
                assert_eq!(carried, "", "the concrete script never holds the key");
            } else {
                assert_eq!(carried, *value, "{format}: ${variable}");
            }
        }
    }
}

#[test]
fn every_format_runs_the_same_script_body() {
    let values = Values::hostile();
    let body = |format| {
        let script = render(format, &values);
        let start = script
            .find(END_OF_INPUTS_MARKER)
            .unwrap_or_else(|| panic!("{format} has no end-of-inputs marker"));
        script[start..].to_owned()
    };
    let concrete = body(BootstrapFormat::Bash);
    assert_eq!(body(BootstrapFormat::Tftpl), concrete);
    assert_eq!(body(BootstrapFormat::Octostache), concrete);
}

const TENTACLE_COMMANDS: [&str; 7] = [
    "create-instance",
    "new-certificate",
    "configure",
    "service",
    "register-worker",
    "clear-trusted-servers",
    "poll-server",
];

/// Command → flags, from the PowerShell script's string literals: a literal naming a Tentacle
/// command starts that command's arguments; each `--flag` literal after it is one of its flags.
fn powershell_commands(parsed: &Parsed) -> BTreeMap<String, BTreeSet<String>> {
    let mut commands: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for string in &parsed.strings {
        if TENTACLE_COMMANDS.contains(&string.as_str()) {
            commands.entry(string.clone()).or_default();
            current = Some(string.clone());
        } else if let (Some(command), true) = (&current, string.starts_with("--")) {
            commands.get_mut(command).unwrap().insert(string.clone());
        }
    }
    commands
}

/// Command → flags of every Tentacle call the bash script made in runs covering every input.
fn bash_commands() -> BTreeMap<String, BTreeSet<String>> {
    let mut commands: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut cloud = Values::typical();
    cloud.machine_policy = "Default Machine Policy".to_owned();
    cloud.server_comms_address = "https://polling.acme.octopus.app".to_owned();
    cloud.extra_server_nodes = vec!["https://node2.acme.octopus.app".to_owned()];
    for values in [Values::typical(), Values::hostile(), cloud] {
        let sandbox = Sandbox::new();
        let script =
            octoshare_templates::render_bootstrap(BootstrapFormat::Bash, &values.config()).unwrap();
        let run = sandbox.run(&script, &[("OCTOPUS_API_KEY", &values.api_key)]);
        run.assert_success();
        for call in run.calls.iter().filter(|call| call.program() == "Tentacle") {
            let flags = commands.entry(call.argv[1].clone()).or_default();
            flags.extend(
                call.argv[2..]
                    .iter()
                    .filter(|argument| argument.starts_with("--"))
                    .cloned(),
            );
        }
    }
    commands
}

#[test]
fn tentacle_exe_gets_the_commands_and_flags_the_bash_script_gives_tentacle() {
    let Some(python) = octoshare_test_support::tools::require("tree-sitter-powershell") else {
        return;
    };
    let script = render_bootstrap_for(
        BootstrapOs::Windows,
        BootstrapFormat::Octostache,
        &Values::typical().config(),
    )
    .unwrap();
    let windows = powershell_commands(&parse(&python, &script));
    let linux = bash_commands();
    assert_eq!(windows, linux);
    assert_eq!(windows.len(), TENTACLE_COMMANDS.len(), "{windows:#?}");
    assert!(windows["register-worker"].contains("--server-comms-address"));
    assert!(windows["poll-server"].contains("--reuse-server-thumbprint"));
}

#[test]
fn every_powershell_form_fits_aws_windows_user_data() {
    // AWS allows 16 KB of user data, <powershell></powershell> tags included.
    for (name, script) in every_form()
        .into_iter()
        .filter(|(name, _)| !name.contains("hostile"))
    {
        assert!(
            script.len() <= 15 * 1024,
            "{name} is {} bytes",
            script.len()
        );
    }
}
