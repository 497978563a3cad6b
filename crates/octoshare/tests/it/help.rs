//! `--help` of every subcommand, and the flags the generated `octoshare run` step template uses.

use crate::support::{octoshare_offline, run_of};

#[test]
fn every_subcommand_has_help() {
    for subcommand in [
        "run",
        "status",
        "reconcile",
        "demo",
        "emulator",
        "install",
        "user-data",
        "retire",
        "completions",
        "man-pages",
    ] {
        let run = run_of(octoshare_offline().args([subcommand, "--help"]));
        assert_eq!(run.code, 0, "{subcommand}: {run:?}");
        assert!(
            run.stdout
                .contains(&format!("Usage: octoshare {subcommand}")),
            "{subcommand}: {}",
            run.stdout
        );
    }
    let run = run_of(octoshare_offline().arg("--help"));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("octoshare demo"), "{}", run.stdout);
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let run = run_of(&mut octoshare_offline());
    assert_eq!(run.code, 2, "{run:?}");
}

/// Every `--flag` the run step template's script passes to `octoshare run` is accepted.
#[test]
fn run_accepts_every_flag_of_the_run_step_template() {
    accepts_every_flag_of(
        include_str!("../../../../step-templates/octoshare-run.json"),
        "run",
        "--worker-pool",
    );
}

/// Every `--flag` the retire step template's script passes to `octoshare retire` is accepted.
#[test]
fn retire_accepts_every_flag_of_the_retire_step_template() {
    accepts_every_flag_of(
        include_str!("../../../../step-templates/octoshare-retire-worker.json"),
        "retire",
        "--drain-timeout",
    );
}

fn accepts_every_flag_of(template: &str, subcommand: &str, expected_flag: &str) {
    let template: serde_json::Value = serde_json::from_str(template).expect("JSON");
    let script = template["Properties"]["Octopus.Action.Script.ScriptBody"]
        .as_str()
        .expect("a script body");
    // The binary's argv is built in `args`; other commands (curl, tar) have flags of their own.
    let mut flags: Vec<&str> = script
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("args=(") || line.starts_with("args+=("))
        .flat_map(|line| {
            line.split(|c: char| c.is_whitespace() || c == '\'' || c == '(' || c == ')')
        })
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .collect();
    flags.sort_unstable();
    flags.dedup();
    assert!(flags.contains(&expected_flag), "{flags:?}");
    let help = run_of(octoshare_offline().args([subcommand, "--help"]));
    for flag in flags {
        assert!(
            help.stdout.contains(&format!("{flag} ")) || help.stdout.contains(&format!("{flag}\n")),
            "{flag} is not a flag of `octoshare {subcommand}`: {}",
            help.stdout
        );
    }
}
