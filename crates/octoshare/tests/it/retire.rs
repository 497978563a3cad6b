//! `octoshare retire` as a process: the five-space drain with Octopus progress and outputs, the
//! drain timeout (exit 4), `--force`, the no-op re-run, SIGTERM mid-drain then a re-run,
//! `--dry-run`, and `--this-machine` with a fake `Tentacle`.

use crate::support::{Run, count, octoshare, run_of, start, strings};
use assert_cmd::cargo::CommandCargoExt as _;
use octopus_emulator::{Emulator, LeaseSeed, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::service_message::parse_service_message;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const POOL: &str = "AWS Worker Pool TF";
pub(crate) const THUMBPRINT: &str = "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A";
/// The spaces in the server's order (by name); the machine is busy in Mobile and Payments.
pub(crate) const SPACES: [&str; 5] = ["Data", "Default", "Mobile", "Payments", "Sandbox"];

fn vm(name: &str) -> WorkerSeed {
    WorkerSeed::polling(name, "poll://vmoneaaaaaaaaaaaaaa/", THUMBPRINT).in_pool(POOL)
}

fn other(number: u32) -> WorkerSeed {
    WorkerSeed::polling(
        &format!("other-{number}"),
        &format!("poll://other{number:015}/"),
        &format!("{number:040X}"),
    )
    .in_pool(POOL)
}

/// The machine in five spaces (as "mobile-vm-1" in Mobile), busy in Payments and Mobile.
pub(crate) fn fleet() -> Scenario {
    ["Default", "Payments", "Data", "Mobile", "Sandbox"]
        .iter()
        .enumerate()
        .fold(Scenario::new(), |scenario, (index, name)| {
            let name_there = if *name == "Mobile" {
                "mobile-vm-1"
            } else {
                "vm-1"
            };
            let mut space = SpaceSeed::new(name)
                .pool(POOL)
                .worker(other(u32::try_from(index).unwrap_or_default()))
                .worker(vm(name_there));
            if index == 0 {
                space = space.default_space();
            }
            if matches!(*name, "Payments" | "Mobile") {
                space = space.lease(
                    LeaseSeed::on(name_there).task("Deploy", &format!("Deploy Web to {name}")),
                );
            }
            scenario.space(space)
        })
}

fn space_ids(emulator: &Emulator, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|name| emulator.space_id(name).expect("the space"))
        .collect()
}

fn leases(emulator: &Emulator, space: &str) -> Vec<String> {
    emulator
        .leases(&emulator.space_id(space).expect("the space"))
        .iter()
        .filter_map(|lease| lease["Id"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) fn release_all(emulator: &Emulator) {
    for space in SPACES {
        for lease in leases(emulator, space) {
            emulator.release_lease(&lease);
        }
    }
}

/// Whether the machine is still registered in a space, and whether it is disabled there.
pub(crate) fn vm_state(emulator: &Emulator, space: &str) -> Option<bool> {
    emulator
        .workers(&emulator.space_id(space).expect("the space"))
        .iter()
        .find(|worker| worker["Thumbprint"] == THUMBPRINT)
        .map(|worker| worker["IsDisabled"] == true)
}

/// The binary as a child process with piped output.
fn spawn(emulator: &Emulator, args: &[&str]) -> Child {
    Command::cargo_bin("octoshare")
        .expect("the binary")
        .env_clear()
        .env("OCTOPUS_URL", emulator.url())
        .env("OCTOPUS_API_KEY", emulator.api_key())
        .args(["--retry-delay", "0ms", "retire"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// The `(percentage, message)` of the next `progress` service message, with every line read.
fn next_progress(stdout: &mut impl BufRead, seen: &mut String) -> (u8, String) {
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("stdout readable");
        assert!(
            read > 0,
            "the process ended before reporting progress: {seen}"
        );
        seen.push_str(&line);
        if let Ok(message) = parse_service_message(line.trim_end())
            && message.name == "progress"
        {
            let percentage = message
                .get("percentage")
                .unwrap_or("0")
                .parse()
                .unwrap_or(0);
            return (
                percentage,
                message.get("message").unwrap_or_default().to_owned(),
            );
        }
    }
}

/// Waits for the child and collects what is left of its output.
fn finish(mut child: Child, stdout: BufReader<std::process::ChildStdout>, seen: String) -> Run {
    let mut rest = seen;
    let mut stdout = stdout;
    stdout.read_to_string(&mut rest).expect("stdout readable");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("stderr readable");
    }
    let status = child.wait().expect("the process ends");
    Run {
        label: "octoshare retire".to_owned(),
        code: status.code().unwrap_or(-1),
        stdout: rest,
        stderr,
    }
}

#[test]
fn five_spaces_busy_in_two_are_retired_as_their_tasks_end() {
    let emulator = start(fleet());
    let mut child = spawn(
        &emulator,
        &[
            "--worker",
            "vm-1",
            "--output",
            "octopus",
            "--poll-interval",
            "50ms",
            "--drain-timeout",
            "60s",
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut seen = String::new();
    // The first round deleted the three idle registrations; the two busy ones wait.
    let (_, first) = next_progress(&mut stdout, &mut seen);
    assert!(
        first.starts_with("3 of 5 registrations retired; still held in Mobile"),
        "{first}"
    );
    assert_eq!(
        vm_state(&emulator, "Payments"),
        Some(true),
        "disabled, not deleted"
    );
    let payments = leases(&emulator, "Payments");
    emulator.release_lease(&payments[0]);
    // Wait until the Payments registration is gone, then end the Mobile task.
    loop {
        let (_, message) = next_progress(&mut stdout, &mut seen);
        if message.starts_with("4 of 5") {
            break;
        }
    }
    release_all(&emulator);
    let run = finish(child, stdout, seen);
    assert_eq!(run.code, 0, "{run:?}");
    let outputs = run.outputs();
    assert_eq!(outputs["RetiredWorkerCount"], "5");
    assert_eq!(
        outputs["RetiredSpaceIds"],
        space_ids(&emulator, &SPACES).join(",")
    );
    assert_eq!(outputs["StillBusySpaceIds"], "");
    for space in SPACES {
        assert_eq!(vm_state(&emulator, space), None, "{space}");
    }
    // No DELETE was refused: none was sent while a task held the worker.
    let requests = emulator.requests();
    let deletes: Vec<_> = requests.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deletes.len(), 5);
    assert!(deletes.iter().all(|r| r.status == 200));
    let progress: Vec<u8> = run
        .messages()
        .iter()
        .filter(|m| m.name == "progress")
        .filter_map(|m| m.get("percentage")?.parse().ok())
        .collect();
    assert_eq!(progress.first(), Some(&60));
    assert_eq!(progress.last(), Some(&100));
}

#[test]
fn a_lease_outliving_the_drain_timeout_exits_4_with_the_worker_disabled() {
    let emulator = start(fleet());
    let run = run_of(octoshare(&emulator).args([
        "retire",
        "--thumbprint",
        THUMBPRINT,
        "--output",
        "json",
        "--drain-timeout",
        "300ms",
        "--poll-interval",
        "50ms",
    ]));
    assert_eq!(run.code, 4, "{run:?}");
    let document = run.json();
    assert_eq!(document["RetiredWorkerCount"], 3);
    assert_eq!(
        strings(&document["StillBusySpaceIds"]),
        space_ids(&emulator, &["Mobile", "Payments"])
    );
    assert_eq!(document["ExitCode"], 4);
    let error = document["Error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("drain timed out after 300ms: 2 registrations still held by a task"),
        "{error}"
    );
    assert_eq!(document["Status"], "StillBusy");
    let busy: Vec<&Value> = document["Registrations"]
        .as_array()
        .expect("registrations")
        .iter()
        .filter(|r| r["State"] == "StillBusy")
        .collect();
    assert_eq!(busy.len(), 2);
    assert_eq!(busy[1]["Space"]["Name"], "Payments");
    assert_eq!(busy[1]["Leases"][0]["TaskId"], "ServerTasks-1");
    assert_eq!(
        busy[1]["Leases"][0]["Task"]["Description"],
        "Deploy Web to Payments"
    );
    assert_eq!(document["Requests"]["Delete"], 3);
    assert_eq!(document["Requests"]["Put"], 5);
    for space in ["Mobile", "Payments"] {
        assert_eq!(
            vm_state(&emulator, space),
            Some(true),
            "{space}: left disabled"
        );
    }
    assert!(
        run.stderr
            .contains("still held after 300ms, left disabled: vm-1"),
        "{}",
        run.stderr
    );
}

#[test]
fn force_cancels_the_tasks_deletes_and_warns() {
    let emulator = start(fleet());
    let run = run_of(octoshare(&emulator).args([
        "retire",
        "--worker",
        "vm-1",
        "--output",
        "json",
        "--drain-timeout",
        "0s",
        "--poll-interval",
        "50ms",
        "--force",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    assert_eq!(document["RetiredWorkerCount"], 5);
    let forced: Vec<(String, bool)> = document["ForcedTasks"]
        .as_array()
        .expect("forced tasks")
        .iter()
        .map(|task| {
            (
                task["TaskId"].as_str().unwrap_or_default().to_owned(),
                task["Cancelled"] == true,
            )
        })
        .collect();
    assert_eq!(
        forced,
        [
            ("ServerTasks-2".to_owned(), true),
            ("ServerTasks-1".to_owned(), true)
        ]
    );
    assert!(
        run.stderr.contains("warning: --force broke 2 tasks: ServerTasks-2 (Deploy Web to Mobile), ServerTasks-1 (Deploy Web to Payments)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        count(&emulator.requests(), "POST"),
        2,
        "one cancel per task"
    );
}

#[test]
fn a_second_run_has_nothing_to_retire() {
    let emulator = start(fleet());
    release_all(&emulator);
    let first = run_of(octoshare(&emulator).args(["retire", "--worker", "vm-1"]));
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stdout
            .contains("retired worker 'vm-1': 5 registrations deleted from"),
        "{}",
        first.stdout
    );
    emulator.clear_requests();
    let again =
        run_of(octoshare(&emulator).args(["retire", "--worker", "vm-1", "--output", "octopus"]));
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.contains(
            "nothing to retire: no registration of worker 'vm-1' in the 5 spaces searched"
        ),
        "{}",
        again.stdout
    );
    let outputs = again.outputs();
    assert_eq!(outputs["RetiredWorkerCount"], "0");
    assert_eq!(outputs["RetiredSpaceIds"], "");
    let requests = emulator.requests();
    assert_eq!(requests.len(), 6, "the spaces and one listing per space");
    assert!(requests.iter().all(|r| r.method == "GET"));
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} failed");
}

#[test]
fn sigterm_mid_drain_leaves_the_rest_disabled_and_a_rerun_finishes() {
    interrupted_mid_drain("TERM", 143);
}

#[test]
fn sigint_mid_drain_exits_130_and_a_rerun_finishes() {
    interrupted_mid_drain("INT", 130);
}

/// Signals the process once its first drain round is reported; it must exit `code` (128 + the
/// signal), having started no write after the signal, with the idle spaces' registrations
/// deleted and the busy ones disabled; a re-run after the tasks end finishes with no PUT.
fn interrupted_mid_drain(signal_name: &str, code: i32) {
    let emulator = start(fleet());
    let mut child = spawn(
        &emulator,
        &[
            "--worker",
            "vm-1",
            "--output",
            "octopus",
            "--poll-interval",
            "50ms",
            "--drain-timeout",
            "60s",
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut seen = String::new();
    let (_, first) = next_progress(&mut stdout, &mut seen);
    assert!(first.starts_with("3 of 5"), "{first}");
    let signalled = Instant::now();
    signal(&child, signal_name);
    let run = finish(child, stdout, seen);
    assert_eq!(run.code, code, "128 + SIG{signal_name}: {run:?}");
    assert!(
        run.stderr
            .contains("interrupted: 3 deleted, 2 left disabled"),
        "{}",
        run.stderr
    );
    let requests = emulator.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.method != "GET")
            .all(|r| r.started < signalled),
        "no write started after SIG{signal_name}"
    );
    for space in ["Mobile", "Payments"] {
        assert_eq!(
            vm_state(&emulator, space),
            Some(true),
            "{space}: disabled, not deleted"
        );
    }

    release_all(&emulator);
    emulator.clear_requests();
    let rerun =
        run_of(octoshare(&emulator).args(["retire", "--worker", "vm-1", "--output", "json"]));
    assert_eq!(rerun.code, 0, "{rerun:?}");
    assert_eq!(rerun.json()["RetiredWorkerCount"], 2);
    assert_eq!(count(&emulator.requests(), "PUT"), 0, "already disabled");
    for space in SPACES {
        assert_eq!(vm_state(&emulator, space), None, "{space}");
    }
}

#[test]
fn a_dry_run_sends_only_gets() {
    let emulator = start(fleet());
    emulator.clear_requests();
    let run = run_of(octoshare(&emulator).args([
        "retire",
        "--worker",
        "vm-1",
        "--dry-run",
        "--output",
        "octopus",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(emulator.requests().iter().all(|r| r.method == "GET"));
    let outputs = run.outputs();
    assert_eq!(outputs["RetiredWorkerCount"], "5");
    assert_eq!(
        outputs["StillBusySpaceIds"],
        space_ids(&emulator, &["Mobile", "Payments"]).join(",")
    );
    assert!(
        run.stdout.contains("dry run: would retire 5 registrations"),
        "{}",
        run.stdout
    );
}

#[test]
fn this_machine_retires_the_local_tentacle_without_handing_it_the_key() {
    let emulator = start(fleet());
    release_all(&emulator);
    let dir = tempfile::tempdir().expect("a temp dir");
    let tentacle = dir.path().join("Tentacle");
    std::fs::write(
        &tentacle,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"{dir}/argv\"\nprintf '%s' \"${{OCTOPUS_API_KEY:-}}\" > \"{dir}/key\"\nprintf '%s' '{THUMBPRINT}'\n",
            dir = dir.path().display()
        ),
    )
    .expect("written");
    std::fs::set_permissions(&tentacle, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = run_of(octoshare(&emulator).args([
        "retire",
        "--this-machine",
        "--tentacle-path",
        tentacle.to_str().expect("UTF-8"),
        "--tentacle-instance",
        "Worker",
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["RetiredWorkerCount"], 5);
    assert_eq!(run.json()["Selector"], format!("thumbprint {THUMBPRINT}"));
    let argv = std::fs::read_to_string(dir.path().join("argv")).expect("argv recorded");
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        ["show-thumbprint", "--instance", "Worker", "--nologo"]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("key")).expect("key recorded"),
        "",
        "the key was handed to Tentacle"
    );
}

/// What a shutdown hook runs: the identity from the instance configuration, the key from a
/// root-only file, nothing in the environment.
#[test]
fn this_machine_from_the_tentacle_config_with_the_key_from_a_file() {
    let emulator = start(fleet());
    release_all(&emulator);
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("tentacle-Tentacle.config");
    std::fs::write(
        &config,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<octopus-settings>\n  <set key=\"Tentacle.CertificateThumbprint\">{}</set>\n</octopus-settings>\n",
            THUMBPRINT.to_lowercase()
        ),
    )
    .expect("written");
    let key_file = dir.path().join("api-key");
    std::fs::write(&key_file, format!("{}\n", emulator.api_key())).expect("written");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut command = octoshare(&emulator);
    command.env_remove("OCTOPUS_API_KEY");
    let run = run_of(command.args([
        "retire",
        "--this-machine",
        "--tentacle-config",
        config.to_str().expect("UTF-8"),
        "--api-key-file",
        key_file.to_str().expect("UTF-8"),
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["RetiredWorkerCount"], 5);
    assert_eq!(run.json()["Selector"], format!("thumbprint {THUMBPRINT}"));
    assert!(!run.stdout.contains(&emulator.api_key()));
    assert!(!run.stderr.contains(&emulator.api_key()));

    // The key given twice is refused before any request.
    emulator.clear_requests();
    let twice = run_of(octoshare(&emulator).args([
        "retire",
        "--worker",
        "vm-1",
        "--api-key-file",
        key_file.to_str().expect("UTF-8"),
    ]));
    assert_eq!(twice.code, 2, "{twice:?}");
    assert!(emulator.requests().is_empty());
}

#[test]
fn an_unreadable_tentacle_is_a_usage_error() {
    let emulator = start(fleet());
    let run = run_of(octoshare(&emulator).args([
        "retire",
        "--this-machine",
        "--tentacle-config",
        "/nonexistent/tentacle.config",
    ]));
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with("error: --this-machine: cannot read the Tentacle configuration /nonexistent/tentacle.config"),
        "{}",
        run.stderr
    );
    assert_eq!(
        emulator.requests().len(),
        0,
        "nothing was asked of the server"
    );
}

#[test]
fn worker_pool_narrows_the_search_to_the_spaces_having_it() {
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .pool(POOL)
                    .worker(vm("vm-1")),
            )
            .space(
                SpaceSeed::new("Other").pool("Elsewhere").worker(
                    WorkerSeed::polling("vm-1", "poll://vmoneaaaaaaaaaaaaaa/", THUMBPRINT)
                        .in_pool("Elsewhere"),
                ),
            ),
    );
    let run = run_of(octoshare(&emulator).args([
        "retire",
        "--worker",
        "vm-1",
        "--worker-pool",
        "aws worker pool tf",
        "--output",
        "json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        strings(&run.json()["RetiredSpaceIds"]),
        space_ids(&emulator, &["Default"])
    );
    assert_eq!(
        vm_state(&emulator, "Other"),
        Some(false),
        "not searched, not touched"
    );
    let missing =
        run_of(octoshare(&emulator).args(["retire", "--worker", "vm-1", "--worker-pool", "Nope"]));
    assert_eq!(missing.code, 3, "{missing:?}");
    assert!(
        missing.stderr.contains("check --worker-pool"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_name_with_several_endpoints_retires_each_and_says_so() {
    let other_machine =
        WorkerSeed::polling("vm-1", "poll://anothermachineaaaaa/", &"B".repeat(40)).in_pool(POOL);
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .pool(POOL)
                    .worker(vm("vm-1")),
            )
            .space(SpaceSeed::new("Payments").pool(POOL).worker(other_machine)),
    );
    let run = run_of(octoshare(&emulator).args(["retire", "--worker", "vm-1", "--output", "json"]));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["RetiredWorkerCount"], 2);
    assert!(
        run.stderr.contains(
            "warning: worker 'vm-1' has 2 different endpoints in the spaces where it is found"
        ),
        "{}",
        run.stderr
    );
}
