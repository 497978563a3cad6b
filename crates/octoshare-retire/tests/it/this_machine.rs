//! `--this-machine` against a fake `Tentacle`: the command line it gets and what it prints (that
//! it never gets the key is checked by `octoshare retire`'s process tests, which set one).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use octoshare_retire::this_machine::{
    ThisMachineError, thumbprint_from_config, thumbprint_from_tentacle,
};

const THUMBPRINT: &str = "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A";

/// A fake `Tentacle` that records its arguments, then runs `body`.
fn fake_tentacle(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("Tentacle");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"{dir}/argv\"\n{body}\n",
        dir = dir.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn the_thumbprint_comes_from_show_thumbprint_with_its_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let tentacle = fake_tentacle(
        dir.path(),
        &format!("printf '%s' '{}'", THUMBPRINT.to_lowercase()),
    );
    let thumbprint = thumbprint_from_tentacle(&tentacle, "Worker 2", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(thumbprint, THUMBPRINT);
    let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        ["show-thumbprint", "--instance", "Worker 2", "--nologo"]
    );
}

#[tokio::test]
async fn a_failing_tentacle_is_an_error_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let tentacle = fake_tentacle(
        dir.path(),
        "echo 'Instance Tentacle of tentacle has not been configured on this machine. Available instances: .' >&2\nexit 1",
    );
    let error = thumbprint_from_tentacle(&tentacle, "Tentacle", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(error, ThisMachineError::Failed { .. }));
    assert!(
        error
            .to_string()
            .ends_with("Instance Tentacle of tentacle has not been configured on this machine. Available instances: ."),
        "{error}"
    );
}

#[tokio::test]
async fn output_without_a_thumbprint_and_a_missing_tentacle_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tentacle = fake_tentacle(dir.path(), "echo 'hello'");
    let error = thumbprint_from_tentacle(&tentacle, "Tentacle", Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ThisMachineError::NoThumbprint { .. }),
        "{error}"
    );
    let missing = thumbprint_from_tentacle(
        &dir.path().join("nope"),
        "Tentacle",
        Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(missing, ThisMachineError::Start { .. }),
        "{missing}"
    );
}

#[tokio::test]
async fn a_hanging_tentacle_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let tentacle = fake_tentacle(dir.path(), "exec sleep 30");
    let error = thumbprint_from_tentacle(&tentacle, "Tentacle", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ThisMachineError::TimedOut { .. }),
        "{error}"
    );
}

#[test]
fn the_thumbprint_comes_from_the_instance_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tentacle.config");
    std::fs::write(
        &config,
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<octopus-settings>\n  <set key=\"Tentacle.CertificateThumbprint\">{THUMBPRINT}</set>\n</octopus-settings>\n"),
    )
    .unwrap();
    assert_eq!(thumbprint_from_config(&config).unwrap(), THUMBPRINT);
    std::fs::write(&config, "<octopus-settings/>").unwrap();
    assert!(matches!(
        thumbprint_from_config(&config),
        Err(ThisMachineError::NoConfigThumbprint { .. })
    ));
    assert!(matches!(
        thumbprint_from_config(&dir.path().join("missing.config")),
        Err(ThisMachineError::ReadConfig { .. })
    ));
}
