//! `bash -n` and `shellcheck` for generated scripts. shellcheck is required when `CI` is set and
//! skipped with a notice otherwise.

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
    let mut command = Command::new("shellcheck");
    command.args([
        "--shell=bash",
        "--severity=style",
        "--external-sources",
        "-",
    ]);
    let output = match run_with_stdin(&mut command, script) {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "shellcheck is not installed but CI is set: install it (apt-get install -y shellcheck) so {name} can be checked"
                );
            }
            eprintln!(
                "notice: shellcheck not installed; skipping the shellcheck of {name} (set CI to make this an error)"
            );
            return;
        }
        Err(error) => panic!("running shellcheck failed: {error}"),
    };
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
