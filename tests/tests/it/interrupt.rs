//! Interruption of the real processes: SIGINT or SIGTERM while `octoshare-share` or
//! `octoshare run` is writing stops new writes, lets the write in flight finish, prints the
//! partial summary and exits non-zero (5); a second signal ends the process at once (130); a
//! re-run converges to exactly the expected state.
//!
//! POSTs are slowed down by the emulator and the spaces are shared one at a time, so once the
//! first POST shows in the emulator's log the process is certainly mid-write when signalled.

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use octopus_emulator::{Emulator, Fault};

use crate::support::binaries::{self, ORCHESTRATOR, Run, SHARE};
use crate::support::fleet::{Fleet, POOL, SOURCE, worker_ids};
use crate::support::report_figures;

/// How long each POST takes: the window in which the signal must be handled.
const POST_LATENCY: Duration = Duration::from_millis(600);

const FLEET: Fleet = Fleet {
    source_workers: 3,
    targets: 3,
    every_kind: false,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Share,
    Run,
}

fn command(program: Program, emulator: &Emulator) -> Command {
    let mut command = match program {
        Program::Share => {
            let mut command = binaries::command(SHARE);
            command.args([
                "--from-space",
                SOURCE,
                "--to-spaces",
                &FLEET.target_ids(emulator),
                "--worker-pool",
                POOL,
            ]);
            command
        }
        Program::Run => {
            let mut command = binaries::command(ORCHESTRATOR);
            command.args(["run", "--worker-pool", POOL]);
            command
        }
    };
    command
        .env("OCTOPUS_URL", emulator.url())
        .env("OCTOPUS_API_KEY", emulator.api_key())
        .args([
            "--concurrency",
            "1",
            "--output",
            "json",
            "--retry-delay",
            "0ms",
        ]);
    command
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} failed");
}

/// Waits (polling the emulator's log) until the first POST has arrived.
fn wait_for_first_post(emulator: &Emulator) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while emulator.count("POST") == 0 {
        assert!(
            Instant::now() < deadline,
            "no POST within 30s: {:#?}",
            emulator.requests()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn writes(emulator: &Emulator) -> Vec<octopus_emulator::LoggedRequest> {
    emulator
        .requests()
        .into_iter()
        .filter(|request| request.method != "GET")
        .collect()
}

/// Interrupts `program` with `signals` during its first write; each further signal is sent once
/// the process has said it was interrupted (two pending signals of one kind would merge).
fn interrupt(program: Program, signals: &[&str]) -> (Emulator, Run, Instant) {
    let emulator = Emulator::start(
        FLEET
            .scenario()
            .fault(Fault::latency(POST_LATENCY).method("POST")),
    )
    .expect("the emulator starts");
    let mut child = command(program, &emulator)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                stderr.lock().expect("stderr buffer").push_str(&text);
            }
        })
    };
    wait_for_first_post(&emulator);
    let signalled = Instant::now();
    for (index, name) in signals.iter().enumerate() {
        if index > 0 {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stderr
                .lock()
                .expect("stderr buffer")
                .contains("interrupted")
            {
                assert!(
                    Instant::now() < deadline,
                    "the process never said it was interrupted"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        signal(&child, name);
    }
    let output = child.wait_with_output().expect("the binary ends");
    reader.join().expect("the stderr reader ends");
    let mut run = Run::from_output(format!("{program:?} interrupted by {signals:?}"), &output);
    run.stderr = stderr.lock().expect("stderr buffer").clone();
    run.assert_no_panic();
    (emulator, run, signalled)
}

/// A clean re-run converges exactly.
fn rerun_converges(program: Program, emulator: &Emulator) {
    emulator.clear_faults();
    let ids_before = worker_ids(emulator, &FLEET.all_space_names());
    let run = Run::of(
        format!("{program:?} re-run"),
        &mut command(program, emulator),
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    FLEET.assert_converged(
        emulator,
        false,
        &ids_before,
        &format!("{program:?} after the re-run"),
    );
}

fn graceful(program: Program, signal_name: &str) -> usize {
    let (emulator, run, signalled) = interrupt(program, &[signal_name]);
    assert_eq!(run.code, 5, "{}", run.describe());
    let document = run.json();
    let report = &document["Report"];
    assert_eq!(report["Interrupted"], true, "{}", run.describe());
    assert!(
        document["Error"]
            .as_str()
            .is_some_and(|error| error.contains("interrupted")),
        "{}",
        run.describe()
    );
    // The partial summary: the counts so far, and what was not attempted.
    assert_eq!(document["CreatedWorkerCount"], 1, "{}", run.describe());
    assert!(
        report["Totals"]["NotAttempted"].as_u64().unwrap_or(0) > 0,
        "{}",
        run.describe()
    );
    // No write started after the signal; the one in flight (the slow POST) finished.
    let writes = writes(&emulator);
    assert!(
        writes.iter().all(|write| write.started < signalled),
        "{writes:#?}"
    );
    assert!(
        writes
            .iter()
            .all(|write| (200..300).contains(&write.status)),
        "{writes:#?}"
    );
    let in_flight: Vec<_> = writes
        .iter()
        .filter(|write| write.finished > signalled)
        .collect();
    assert_eq!(in_flight.len(), 1, "{writes:#?}");
    assert_eq!(in_flight[0].method, "POST");
    assert_eq!(FLEET.tally(&emulator).duplicates, 0);
    rerun_converges(program, &emulator);
    in_flight.len()
}

#[test]
fn interrupt_share_with_sigint_finishes_the_write_in_flight_then_exits_5() {
    graceful(Program::Share, "INT");
}

#[test]
fn interrupt_share_with_sigterm_finishes_the_write_in_flight_then_exits_5() {
    graceful(Program::Share, "TERM");
}

#[test]
fn interrupt_run_with_sigint_or_sigterm_finishes_the_write_in_flight_then_exits_5() {
    let started = Instant::now();
    let in_flight = graceful(Program::Run, "INT") + graceful(Program::Run, "TERM");
    report_figures(
        "interrupt",
        &[
            (
                "graceful_runs_checked",
                "4 (share and run, SIGINT and SIGTERM; 2 of them in this test)".to_owned(),
            ),
            ("writes_in_flight_finished", in_flight.to_string()),
            ("wall_ms", started.elapsed().as_millis().to_string()),
        ],
    );
}

#[test]
fn interrupt_twice_stops_at_once_with_130_and_a_rerun_converges() {
    for program in [Program::Share, Program::Run] {
        let (emulator, run, _) = interrupt(program, &["INT", "INT"]);
        assert_eq!(run.code, 130, "{}", run.describe());
        // Whether the POST in flight was committed or not, nothing is duplicated and a re-run
        // finishes the job.
        assert_eq!(FLEET.tally(&emulator).duplicates, 0);
        rerun_converges(program, &emulator);
    }
}
