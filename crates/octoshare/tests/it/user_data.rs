//! `octoshare user-data`: the worker bootstrap script, in every format, without a key.

use crate::support::{octoshare_offline, run_of};
use std::process::Command;

const SECRET: &str = "API-NEVERPRINTTHISKEY00000000042";

fn passes_bash_syntax_check(script: &str) -> bool {
    let directory = tempfile::tempdir().expect("a temp dir");
    let path = directory.path().join("user-data.sh");
    std::fs::write(&path, script).expect("written");
    Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .expect("bash runs")
        .success()
}

#[test]
fn user_data_prints_a_valid_script_without_the_key_in_every_format() {
    for format in ["bash", "tftpl", "octostache"] {
        let run = run_of(octoshare_offline().env("OCTOPUS_API_KEY", SECRET).args([
            "user-data",
            "--server",
            "https://octopus.example.com/",
            "--space",
            "Data Science",
            "--worker-pool",
            "AWS Worker Pool TF",
            "--machine-policy",
            "Fast",
            "--extra-server-node",
            "https://node-2.example.com:10944",
            "--server-comms-address",
            "https://polling.example.com",
            "--worker-name",
            "vm-1",
            "--format",
            format,
            "--api-key",
            SECRET,
        ]));
        assert_eq!(run.code, 0, "{format}: {run:?}");
        assert!(run.stdout.starts_with("#!/usr/bin/env bash\n"), "{format}");
        assert!(passes_bash_syntax_check(&run.stdout), "{format}");
        assert!(!run.stdout.contains(SECRET), "{format}");
        assert!(!run.stderr.contains(SECRET), "{format}");
        if format == "bash" {
            assert!(
                run.stdout.contains("space='Data Science'"),
                "{}",
                run.stdout
            );
            assert!(
                run.stdout
                    .contains("server_url='https://octopus.example.com'")
            );
        } else {
            assert!(run.stderr.contains("ignored"), "{format}: {}", run.stderr);
        }
    }
}

#[test]
fn user_data_bash_needs_the_space() {
    let run = run_of(octoshare_offline().args([
        "user-data",
        "--server",
        "https://octopus.example.com",
        "--worker-pool",
        "AWS Worker Pool TF",
    ]));
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("--space"), "{}", run.stderr);
}

#[test]
fn user_data_json_wraps_the_script() {
    let run =
        run_of(octoshare_offline().args(["user-data", "--format", "tftpl", "--output", "json"]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["Format"], "tftpl");
    assert!(
        document["Script"]
            .as_str()
            .is_some_and(|script| script.contains("octopus_server_url"))
    );
}

#[test]
fn user_data_bash_carries_the_comms_address_and_refuses_one_that_is_not_https() {
    let base = [
        "user-data",
        "--server",
        "https://acme.octopus.app",
        "--space",
        "Default",
        "--worker-pool",
        "Pool",
    ];
    let run = run_of(
        octoshare_offline()
            .args(base)
            .args(["--server-comms-address", "https://polling.acme.octopus.app"]),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("server_comms_address='https://polling.acme.octopus.app'"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("server_comms_port=''\n"));

    let refused = run_of(
        octoshare_offline()
            .args(base)
            .args(["--server-comms-address", "polling.acme.octopus.app"]),
    );
    assert_eq!(refused.code, 2, "{refused:?}");
    assert_eq!(
        refused.stderr.trim_end(),
        "error: cannot render the bootstrap script: server comms address \"polling.acme.octopus.app\" is not https://host[:port] (Octopus Cloud: https://polling.<instance>.octopus.app)"
    );
}

#[test]
fn user_data_for_windows_prints_the_powershell_script_in_every_format() {
    let committed = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../step-templates")
                .join(name),
        )
        .unwrap()
    };
    let tftpl =
        run_of(octoshare_offline().args(["user-data", "--os", "windows", "--format", "tftpl"]));
    assert_eq!(tftpl.code, 0, "{tftpl:?}");
    assert_eq!(tftpl.stdout, committed("configure-worker.ps1.tftpl"));
    let octostache = run_of(octoshare_offline().args([
        "user-data",
        "--os",
        "windows",
        "--format",
        "octostache",
    ]));
    assert_eq!(octostache.stdout, committed("configure-worker.ps1"));

    let concrete = run_of(octoshare_offline().env("OCTOPUS_API_KEY", SECRET).args([
        "user-data",
        "--os",
        "windows",
        "--server",
        "https://octopus.example.com",
        "--space",
        "Data 'Science'",
        "--worker-pool",
        "Windows Pool",
    ]));
    assert_eq!(concrete.code, 0, "{concrete:?}");
    assert!(
        concrete
            .stdout
            .starts_with("# configure-worker.ps1, rendered by")
    );
    assert!(
        concrete.stdout.contains("$space = 'Data ''Science'''\n"),
        "{}",
        concrete.stdout
    );
    assert!(!concrete.stdout.contains(SECRET));
    assert!(concrete.stderr.contains(r"%ProgramData%\octoshare\api-key"));
}

/// `--retire-on-shutdown` adds one section (octoshare's pinned download and one call of
/// `octoshare retire-on-shutdown install`); without it the script has no trace of it; Windows
/// has no systemd unit.
#[test]
fn retire_on_shutdown_adds_its_section_only_when_asked() {
    let script = |extra: &[&str]| {
        let mut args = vec![
            "user-data",
            "--server",
            "https://octopus.example.com/",
            "--space",
            "Default",
            "--worker-pool",
            "Pool",
        ];
        args.extend_from_slice(extra);
        run_of(
            octoshare_offline()
                .env("OCTOPUS_API_KEY", SECRET)
                .args(&args),
        )
    };
    let off = script(&[]);
    assert_eq!(off.code, 0, "{off:?}");
    assert!(!off.stdout.contains("retire-on-shutdown"));
    let on = script(&["--retire-on-shutdown"]);
    assert_eq!(on.code, 0, "{on:?}");
    assert!(passes_bash_syntax_check(&on.stdout));
    assert!(!on.stdout.contains(SECRET));
    let calls: Vec<&str> = on
        .stdout
        .lines()
        .filter(|line| line.contains("\"$binary\" retire-on-shutdown install"))
        .collect();
    assert_eq!(calls.len(), 1, "{}", on.stdout);
    assert!(on.stdout.len() - off.stdout.len() < 4 * 1024);

    let windows = script(&["--retire-on-shutdown", "--os", "windows"]);
    assert_eq!(windows.code, 2, "{windows:?}");
    assert!(windows.stderr.contains("Linux only"), "{windows:?}");
}
