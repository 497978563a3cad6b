//! Failures: unknown space or pool, refused credentials, interruption; one stderr line each.

use super::support::{
    TF_POOL, command, default_space, start, wait, wait_with_key, worker, worker_reads,
};
use octopus_emulator::{Fault, Scenario};
use octoshare_core::service_message::parse_service_messages;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

#[test]
fn unknown_space_exits_3() {
    let emulator = start(Scenario::new().space(default_space([])));
    for space in ["Nowhere", "Spaces-99"] {
        let run = wait(
            &emulator,
            &["--space", space, "--worker-pool", TF_POOL, "--count", "1"],
        );
        assert_eq!(run.code, 3, "{space}: {run:?}");
        let line = run.error_line();
        assert!(line.contains(space), "{line}");
    }
    assert!(worker_reads(&emulator.requests()).is_empty());
}

#[test]
fn unknown_pool_exits_3_listing_the_pools_there() {
    let emulator = start(Scenario::new().space(default_space([])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "default",
            "--worker-pool",
            "GCP Worker Pool TF",
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.error_line(),
        "Default (Spaces-1) has no worker pool named 'GCP Worker Pool TF' (pools there: 'Default Worker Pool', 'AWS Worker Pool TF'): check --worker-pool"
    );
}

#[test]
fn pool_name_matches_case_insensitively() {
    let emulator = start(Scenario::new().space(default_space([worker("worker-a", 1)])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "DEFAULT",
            "--worker-pool",
            "aws worker pool tf",
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.outputs()["RegisteredWorkerCount"], "1");
}

#[test]
fn unauthorized_poll_stops_at_once_with_exit_code_6() {
    let emulator = start(Scenario::new().space(default_space([])));
    emulator.add_fault(Fault::status(401).path("/api/*/workerpools/*/workers"));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.error_line().contains("401"), "{}", run.stderr);
    assert_eq!(worker_reads(&emulator.requests()).len(), 1);
}

#[test]
fn rejected_api_key_exits_6_before_polling() {
    let emulator = start(Scenario::new().space(default_space([])));
    let run = wait_with_key(
        &emulator,
        "API-WRONGKEY0000000000000000000000",
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 6, "{run:?}");
    let line = run.error_line();
    assert!(!line.contains("API-WRONGKEY"), "{line}");
    assert!(worker_reads(&emulator.requests()).is_empty());
}

#[test]
fn zero_poll_interval_is_a_usage_error() {
    let emulator = start(Scenario::new().space(default_space([])));
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "1",
            "--poll-interval",
            "0s",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.error_line()
            .starts_with("--poll-interval must be more than 0s")
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn interrupt_exits_130_with_the_last_completed_poll() {
    let emulator = start(Scenario::new().space(default_space([worker("worker-a", 1)])));
    let mut child = command(
        &emulator.url(),
        &emulator.api_key(),
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "2",
            "--poll-interval",
            "100ms",
            "--timeout",
            "1m",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    // Interrupt once the first poll has been reported.
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("stdout readable");
        assert!(read > 0, "exited before polling:\n{seen}");
        seen.push_str(&line);
        if line.starts_with("##octopus[progress") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    stdout.read_to_string(&mut seen).expect("stdout readable");
    let output = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    // Interrupted, not timed out: 130 for SIGINT.
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: interrupted after ")
            && lines[0].ends_with(
                "; the last completed poll counted 1 of 2 workers in 'AWS Worker Pool TF' (Spaces-1): worker-a; 1 missing"
            ),
        "{stderr}"
    );
    // The outputs are the last completed poll's.
    let outputs: Vec<(String, String)> = parse_service_messages(&seen)
        .into_iter()
        .filter(|message| message.name == "setVariable")
        .map(|message| {
            (
                message.get("name").unwrap_or_default().to_owned(),
                message.get("value").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outputs,
        [
            ("RegisteredWorkerCount".to_owned(), "1".to_owned()),
            ("RegisteredWorkerNames".to_owned(), "worker-a".to_owned())
        ],
        "{seen}"
    );
}

#[test]
fn a_dynamic_pool_is_refused_at_once_with_exit_3() {
    let emulator = start(
        Scenario::new().space(
            octopus_emulator::SpaceSeed::new("Cloud")
                .default_space()
                .dynamic_pool("Hosted Ubuntu", "UbuntuDefault"),
        ),
    );
    let run = wait(
        &emulator,
        &[
            "--space",
            "Cloud",
            "--worker-pool",
            "hosted ubuntu",
            "--count",
            "1",
            "--timeout",
            "10m",
        ],
    );
    assert_eq!(run.code, 3, "{run:?}");
    let line = run.error_line();
    assert!(
        line.starts_with("worker pool 'Hosted Ubuntu' (")
            && line.contains("is a dynamic worker pool: Octopus provisions its workers on demand and does not allow adding workers to a dynamic pool")
            && line.ends_with("give a static pool in --worker-pool"),
        "{line}"
    );
    assert!(
        worker_reads(&emulator.requests()).is_empty(),
        "never polled"
    );
}

#[test]
fn every_kind_of_worker_in_the_pool_counts() {
    let emulator = start(
        Scenario::new().space(
            default_space([worker("polling-1", 1)])
                .worker(
                    octopus_emulator::WorkerSeed::listening(
                        "listener-1",
                        "https://listener-1:10933/",
                        "5C1B0E9A7D3F2E4B6A8C0D1E2F3A4B5C6D7E8F90",
                    )
                    .in_pool(TF_POOL),
                )
                .worker(
                    octopus_emulator::WorkerSeed::kubernetes_agent(
                        "k8s-1",
                        "poll://kcxzcv2fpsxkn6tk9u6d/",
                        "96203ED84246201C26A2F4360D7CBC36AC1D232D",
                    )
                    .in_pool(TF_POOL),
                ),
        ),
    );
    let run = wait(
        &emulator,
        &[
            "--space",
            "Default",
            "--worker-pool",
            TF_POOL,
            "--count",
            "3",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.outputs()["RegisteredWorkerCount"], "3");
    assert_eq!(
        run.outputs()["RegisteredWorkerNames"],
        "k8s-1,listener-1,polling-1"
    );
}
