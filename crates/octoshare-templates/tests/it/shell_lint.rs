//! `bash -n` and `shellcheck` for generated scripts. shellcheck is found (or, under `CI=true`,
//! required) through `octoshare_test_support::tools`; elsewhere a missing one skips with a notice.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Fails the test when `script` is not valid bash.
pub fn assert_bash_syntax(name: &str, script: &str) {
    let output = run_with_stdin(Command::new("bash").args(["-n", "/dev/stdin"]), script)
        .expect("bash is needed to run these tests");
    assert!(
        output.status.success(),
        "bash -n rejects {name}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fails the test when shellcheck reports anything (style level included) for `script`.
pub fn assert_shellcheck_clean(name: &str, script: &str) {
    let Some(shellcheck) = octoshare_test_support::tools::require("shellcheck") else {
        return;
    };
    let mut command = Command::new(&shellcheck);
    command.args([
        "--shell=bash",
        "--severity=style",
        "--external-sources",
        "-",
    ]);
    let output = run_with_stdin(&mut command, script)
        .unwrap_or_else(|error| panic!("running {} failed: {error}", shellcheck.display()));
    assert!(
        output.status.success(),
        "shellcheck reports problems in {name}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run_with_stdin(command: &mut Command, input: &str) -> std::io::Result<std::process::Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())?;
    child.wait_with_output()
}
