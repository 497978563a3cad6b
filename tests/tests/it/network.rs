//! Network hardening at the process level: an endless answer ends with exit 7 and bounded
//! memory (the peak resident set size is measured by the kernel through `peak-rss`); an
//! oversized `--ca-cert` file is a usage error; one SIGTERM or SIGINT stops a run stalled on a
//! server that never answers, with 143 or 130.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::binaries::{self, DISCOVER, Run};
use crate::support::canned::{CannedServer, Reply};
use crate::support::fleet::POOL;
use crate::support::{CANARY_KEY, report_figures};

/// The peak-rss wrapper (this package's own binary).
fn peak_rss() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_peak-rss"))
}

#[test]
fn network_an_endless_body_ends_with_exit_7_and_bounded_memory() {
    let server = CannedServer::start(|_, _| Reply::endless());
    let dir = tempfile::tempdir().expect("a temp dir");
    let report = dir.path().join("rss.json");
    let discover = binaries::command(DISCOVER);
    let mut command = Command::new(peak_rss());
    command
        .arg(&report)
        .arg(discover.get_program())
        .args(["--worker-pool", POOL, "--retry-delay", "0ms"])
        .env_clear()
        .env("OCTOPUS_URL", server.url())
        .env("OCTOPUS_API_KEY", CANARY_KEY)
        .stdin(Stdio::null());
    let started = Instant::now();
    let run = Run::of("discover against an endless body", &mut command);
    let elapsed = started.elapsed();

    assert_eq!(run.code, 7, "{}", run.describe());
    let line = run.error_line();
    assert!(
        line.contains("GET /api/spaces/all returned more than 256 MiB: the rest was not read"),
        "{}",
        run.describe()
    );
    let measured: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the peak-rss report"))
            .expect("a JSON report");
    assert_eq!(measured["Code"], 7);
    let peak_kib = measured["MaxRssKib"].as_u64().expect("a peak RSS");
    // The limit is 256 MiB; the process itself is a few MiB. Far below 1 GiB either way.
    assert!(peak_kib < 512 * 1024, "peak RSS {peak_kib} KiB");
    assert_eq!(server.requests().len(), 1, "not retried");
    report_figures(
        "network: endless body",
        &[
            ("exit", run.code.to_string()),
            ("peak_rss_mib", format!("{:.0}", peak_kib as f64 / 1024.0)),
            ("wall_ms", elapsed.as_millis().to_string()),
        ],
    );
}

#[test]
fn network_an_endless_ca_file_is_a_usage_error() {
    let mut command = binaries::command(DISCOVER);
    command
        .args(["--worker-pool", POOL, "--ca-cert", "/dev/zero"])
        .env("OCTOPUS_URL", "https://localhost:1")
        .env("OCTOPUS_API_KEY", CANARY_KEY);
    let run = Run::of("discover --ca-cert /dev/zero", &mut command);

    assert_eq!(run.code, 2, "{}", run.describe());
    let line = run.error_line();
    assert!(
        line.contains("cannot use the CA certificate file /dev/zero: it is larger than 4 MiB"),
        "{line}"
    );
}

#[test]
fn network_an_empty_ca_variable_is_unset() {
    let server = CannedServer::start(|_, _| Reply::json(200, "[]"));
    let mut command = binaries::command(DISCOVER);
    command
        .args(["--worker-pool", POOL, "--output", "json"])
        .env("OCTOPUS_URL", server.url())
        .env("OCTOPUS_API_KEY", CANARY_KEY)
        .env("OCTOPUS_CA_CERT", "");
    let run = Run::of("discover with OCTOPUS_CA_CERT=''", &mut command);

    // No space has the pool (3), but the run got as far as asking the server.
    assert_eq!(run.code, 3, "{}", run.describe());
    assert_eq!(server.requests().len(), 1);
}

/// Starts discover against a server that accepts and never answers, sends `signal` once the
/// request arrived, and returns the run and how long the process took to exit after it.
fn interrupt_stalled_discover(signal: &str) -> (Run, Duration) {
    let server = CannedServer::start(|_, _| Reply::stall());
    let mut child = binaries::command(DISCOVER)
        .args([
            "--worker-pool",
            POOL,
            "--request-timeout",
            "300s",
            "--retry-delay",
            "60s",
        ])
        .env("OCTOPUS_URL", server.url())
        .env("OCTOPUS_API_KEY", CANARY_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("discover starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.requests().is_empty() {
        assert!(Instant::now() < deadline, "discover sent nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let signalled = Instant::now();
    // Without cancellation the process would wait for its 300 s request timeout.
    let watchdog_deadline = signalled + Duration::from_secs(60);
    loop {
        if child
            .try_wait()
            .expect("the child can be waited for")
            .is_some()
        {
            break;
        }
        if Instant::now() > watchdog_deadline {
            let _ = child.kill();
            panic!("discover ignored SIG{signal} for 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let exited_after = signalled.elapsed();
    let output = child.wait_with_output().expect("the output");
    let run = Run::from_output(format!("discover stalled, SIG{signal}"), &output);
    assert_eq!(server.requests().len(), 1, "no retry after the signal");
    (run, exited_after)
}

#[test]
fn network_one_sigterm_or_sigint_stops_a_stalled_run_with_143_or_130() {
    let mut figures = Vec::new();
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let (run, exited_after) = interrupt_stalled_discover(signal);
        run.assert_no_panic();
        assert_eq!(run.code, code, "{}", run.describe());
        assert!(
            run.stderr
                .contains("GET /api/spaces/all was interrupted before the answer arrived"),
            "{}",
            run.describe()
        );
        figures.push((
            if code == 143 {
                "sigterm_exit_ms"
            } else {
                "sigint_exit_ms"
            },
            exited_after.as_millis().to_string(),
        ));
    }
    report_figures("network: interrupt a stalled discover", &figures);
}
