//! `octoshare retire-on-shutdown install|remove`: the unit it writes (parsed, verified by
//! `systemd-analyze verify`), its `ExecStop` run against the emulator retiring this machine, the
//! root-only key file, and `systemctl` (a recording fake on `PATH`).

use crate::retire::{SPACES, THUMBPRINT, fleet, release_all, vm_state};
use crate::support::{Run, run_of, start};
use octopus_emulator::Emulator;
use octoshare_test_support::process::Program;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

const KEY_FILE: &str = "/etc/octoshare/api-key";
const TENTACLE_CONFIG: &str = "/etc/octopus/Tentacle/tentacle-Tentacle.config";
const UNIT: &str = "etc/systemd/system/octoshare-retire.service";
const DROPIN: &str = "run/systemd/system/octoshare-retire.service.d/off.conf";

/// A machine: a root folder for every path octoshare writes and a recording `systemctl`
/// (its argv, environment, and whether the drop-in that disarms the unit exists when it runs).
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        std::fs::create_dir_all(dir.path().join("root")).expect("root");
        let systemctl = bin.join("systemctl");
        std::fs::write(
            &systemctl,
            format!(
                "#!/bin/bash\n{{ printf '%s\\n' \"$*\"; env | sed 's/^/  env /'; if [[ -f $OCTOSHARE_ROOT/{DROPIN} ]]; then echo '  disarmed'; fi; }} >>{}\n",
                dir.path().join("systemctl.log").display()
            ),
        )
        .expect("written");
        std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        Machine { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `path` (as the machine sees it) under the root.
    fn file(&self, path: &str) -> PathBuf {
        self.root().join(path.trim_start_matches('/'))
    }

    /// octoshare on this machine, with `server` and `key` in its environment.
    fn octoshare(&self, server: Option<&str>, key: Option<&str>) -> Program {
        let mut command = Program::new(env!("CARGO_BIN_EXE_octoshare"));
        command
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display()),
            )
            .env("OCTOSHARE_ROOT", self.root())
            .timeout(Duration::from_secs(60));
        if let Some(server) = server {
            command.env("OCTOPUS_URL", server);
        }
        if let Some(key) = key {
            command.env("OCTOPUS_API_KEY", key);
        }
        command
    }

    /// Each `systemctl` call: its arguments, environment and whether the unit was disarmed.
    fn systemctl_calls(&self) -> Vec<(String, Vec<String>, bool)> {
        let log =
            std::fs::read_to_string(self.dir.path().join("systemctl.log")).unwrap_or_default();
        let mut calls: Vec<(String, Vec<String>, bool)> = Vec::new();
        for line in log.lines() {
            if let Some(entry) = line.strip_prefix("  env ") {
                calls.last_mut().expect("a call").1.push(entry.to_owned());
            } else if line == "  disarmed" {
                calls.last_mut().expect("a call").2 = true;
            } else {
                calls.push((line.to_owned(), Vec::new(), false));
            }
        }
        calls
    }

    fn systemctl_commands(&self) -> Vec<String> {
        self.systemctl_calls()
            .into_iter()
            .map(|(command, _, _)| command)
            .collect()
    }

    fn clear_log(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("systemctl.log"));
    }
}

fn install(machine: &Machine, emulator: &Emulator, key: Option<&str>) -> Run {
    run_of(machine.octoshare(Some(&emulator.url()), key).args([
        "retire-on-shutdown",
        "install",
        "--api-key-file",
        KEY_FILE,
        "--tentacle-config",
        TENTACLE_CONFIG,
    ]))
}

/// The `key=value` settings of a unit file, in order (comments and section headers left out).
fn unit_settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with('[') && !line.is_empty())
        .map(|line| {
            let (key, value) = line.split_once('=').expect("key=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn setting<'a>(settings: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .collect()
}

/// A systemd command line of double-quoted words (`\\`, `\"`, `%%` and `$$` unescaped) as argv.
fn systemd_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut characters = line.chars().peekable();
    loop {
        while characters.next_if(|c| *c == ' ').is_some() {}
        match characters.next() {
            None => return words,
            Some('"') => {}
            Some(other) => panic!("an unquoted word starting with {other:?} in {line}"),
        }
        let mut word = String::new();
        loop {
            match characters.next().expect("a closing quote") {
                '"' => break,
                '\\' => word.push(characters.next().expect("an escaped character")),
                c @ ('%' | '$') => {
                    assert_eq!(characters.next(), Some(c), "a lone {c} in {line}");
                    word.push(c);
                }
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("exists").mode() & 0o777
}

/// The shutdown unit, end to end: written with the key kept root-only, ordered before
/// Tentacle.service stops, accepted by systemd, and its ExecStop retires exactly this machine.
#[test]
fn install_writes_a_unit_whose_stop_retires_this_machine_before_tentacle_stops() {
    let emulator = start(fleet());
    let machine = Machine::new();
    let key = emulator.api_key();
    let run = install(&machine, &emulator, Some(&key));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("octoshare-retire.service installed"),
        "{run:?}"
    );

    // The key: in the root-only file, nowhere else.
    let key_file = machine.file(KEY_FILE);
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("written").trim(),
        key
    );
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(key_file.parent().expect("a folder")), 0o700);
    let unit = std::fs::read_to_string(machine.root().join(UNIT)).expect("the unit");
    assert!(!unit.contains(&key), "the key is in the unit");
    assert!(!run.stdout.contains(&key) && !run.stderr.contains(&key));
    assert_eq!(mode(&machine.root().join(UNIT)), 0o644);

    // Started after Tentacle.service, so stopped before it; a oneshot that stays active so that
    // shutdown stops it.
    let settings = unit_settings(&unit);
    let after: Vec<&str> = setting(&settings, "After")[0].split_whitespace().collect();
    assert_eq!(after, ["network-online.target", "Tentacle.service"]);
    assert_eq!(setting(&settings, "Type"), ["oneshot"]);
    assert_eq!(setting(&settings, "RemainAfterExit"), ["yes"]);
    assert_eq!(setting(&settings, "WantedBy"), ["multi-user.target"]);
    assert_eq!(setting(&settings, "TimeoutStopSec"), ["1800"]);
    let exec_stop = systemd_words(setting(&settings, "ExecStop")[0]);
    assert_eq!(
        exec_stop,
        [
            env!("CARGO_BIN_EXE_octoshare"),
            "retire",
            "--this-machine",
            "--tentacle-config",
            TENTACLE_CONFIG,
            "--api-key-file",
            KEY_FILE,
            "--server",
            &emulator.url(),
            "--drain-timeout",
            "25m",
            "--output",
            "text",
        ]
    );

    // systemctl: reloaded for the new unit, enabled and started; the key not in its environment.
    let calls = machine.systemctl_calls();
    let commands: Vec<&str> = calls
        .iter()
        .map(|(command, _, _)| command.as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "daemon-reload",
            "enable octoshare-retire.service",
            "start octoshare-retire.service"
        ]
    );
    for (command, environment, _) in &calls {
        assert!(
            !environment.iter().any(|entry| entry.contains(&key)),
            "the key is in the environment of systemctl {command}"
        );
    }

    // systemd accepts the unit as written.
    if let Some(analyze) = octoshare_test_support::tools::require("systemd-analyze") {
        let dir = tempfile::tempdir().expect("a temp dir");
        let copy = dir.path().join("octoshare-retire.service");
        std::fs::write(&copy, &unit).expect("written");
        let verify = std::process::Command::new(analyze)
            .arg("verify")
            .arg(&copy)
            .output()
            .expect("systemd-analyze runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(verify.status.success(), "{said}");
        let complaints: Vec<&str> = said
            .lines()
            .filter(|line| line.contains("octoshare-retire.service"))
            .collect();
        assert!(complaints.is_empty(), "systemd-analyze verify: {said}");
    }

    // What systemd runs at shutdown, with this machine's Tentacle configuration: the key from
    // the file (no key in the environment), the identity from the configuration.
    std::fs::create_dir_all(machine.file(TENTACLE_CONFIG).parent().expect("a folder"))
        .expect("folder");
    std::fs::write(
        machine.file(TENTACLE_CONFIG),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<octopus-settings>\n  <set key=\"Tentacle.CertificateThumbprint\">{THUMBPRINT}</set>\n</octopus-settings>\n"
        ),
    )
    .expect("written");
    release_all(&emulator);
    let on_this_machine: Vec<String> = exec_stop[1..]
        .iter()
        .map(|word| {
            if word.starts_with("/etc/") {
                machine.file(word).to_string_lossy().into_owned()
            } else {
                word.clone()
            }
        })
        .collect();
    let mut stop = machine.octoshare(None, None);
    let retired = run_of(stop.args(&on_this_machine));
    assert_eq!(retired.code, 0, "{retired:?}");
    for space in SPACES {
        assert_eq!(
            vm_state(&emulator, space),
            None,
            "still registered in {space}"
        );
    }
    assert!(!retired.stdout.contains(&key) && !retired.stderr.contains(&key));
}

#[test]
fn installing_again_keeps_the_unit_and_the_key_file_and_reloads_nothing() {
    let emulator = start(fleet());
    let machine = Machine::new();
    let key = emulator.api_key();
    assert_eq!(install(&machine, &emulator, Some(&key)).code, 0);
    let written = std::fs::metadata(machine.file(KEY_FILE))
        .expect("kept")
        .modified()
        .ok();
    machine.clear_log();

    let again = install(&machine, &emulator, Some(&key));
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("is up to date"), "{again:?}");
    assert!(!again.stdout.contains("kept the API key"), "{again:?}");
    assert_eq!(
        std::fs::metadata(machine.file(KEY_FILE))
            .expect("kept")
            .modified()
            .ok(),
        written
    );
    assert_eq!(
        machine.systemctl_commands(),
        [
            "enable octoshare-retire.service",
            "start octoshare-retire.service"
        ]
    );

    // A later boot without the key in the environment uses the file already there.
    machine.clear_log();
    let from_file = install(&machine, &emulator, None);
    assert_eq!(from_file.code, 0, "{from_file:?}");
}

#[test]
fn remove_disarms_the_unit_before_stopping_it_and_deletes_it() {
    let emulator = start(fleet());
    let machine = Machine::new();
    assert_eq!(
        install(&machine, &emulator, Some(&emulator.api_key())).code,
        0
    );
    machine.clear_log();
    let remove = || {
        run_of(
            machine
                .octoshare(None, None)
                .args(["retire-on-shutdown", "remove"]),
        )
    };

    let run = remove();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("removed without retiring"), "{run:?}");
    let calls = machine.systemctl_calls();
    let commands: Vec<(&str, bool)> = calls
        .iter()
        .map(|(command, _, disarmed)| (command.as_str(), *disarmed))
        .collect();
    // Stopped only once the drop-in clears ExecStop: removing never retires the worker.
    assert_eq!(
        commands,
        [
            ("daemon-reload", true),
            ("stop octoshare-retire.service", true),
            ("disable octoshare-retire.service", true),
            ("daemon-reload", false),
        ]
    );
    assert!(!machine.root().join(UNIT).exists());
    assert!(!machine.root().join(DROPIN).exists());
    for space in SPACES {
        assert!(vm_state(&emulator, space).is_some(), "retired in {space}");
    }

    // Nothing left: a second remove does nothing.
    machine.clear_log();
    let again = remove();
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("nothing to remove"), "{again:?}");
    assert!(machine.systemctl_commands().is_empty());
}

#[test]
fn bad_input_is_one_error_line_and_exit_2_with_nothing_written() {
    let emulator = start(fleet());
    let machine = Machine::new();
    let key = emulator.api_key();
    let expect_usage = |run: Run, expected: &str| {
        assert_eq!(run.code, 2, "{run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(run.stderr.starts_with("error: "), "{run:?}");
        assert!(run.stderr.contains(expected), "{expected}: {run:?}");
        assert!(!run.stderr.contains(&key));
    };

    // No server.
    expect_usage(
        run_of(machine.octoshare(None, Some(&key)).args([
            "retire-on-shutdown",
            "install",
            "--api-key-file",
            KEY_FILE,
        ])),
        "no Octopus Server URL",
    );
    // A relative key file.
    expect_usage(
        run_of(machine.octoshare(Some(&emulator.url()), Some(&key)).args([
            "retire-on-shutdown",
            "install",
            "--api-key-file",
            "api-key",
        ])),
        "is not an absolute path",
    );
    // No key anywhere.
    expect_usage(
        install(&machine, &emulator, None),
        "no API key: set OCTOPUS_API_KEY",
    );
    // A key file others may read, with or without a key to keep.
    let key_file = machine.file(KEY_FILE);
    std::fs::create_dir_all(key_file.parent().expect("a folder")).expect("folder");
    std::fs::write(&key_file, format!("{key}\n")).expect("written");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    expect_usage(install(&machine, &emulator, None), "chmod 600");
    expect_usage(install(&machine, &emulator, Some(&key)), "chmod 600");
    assert!(!machine.root().join(UNIT).exists());
    assert!(machine.systemctl_commands().is_empty());
}
