//! `octoshare status` and `octoshare reconcile` in the end-to-end evidence (`RELIABILITY.md`):
//!
//! - **bad input**: every row gets one `error:` line, its documented exit code, no panic, and
//!   no request when the input is refused before any;
//! - **secrets**: a canary API key (from the environment or `--api-key-file`) and a canary
//!   webhook secret never appear in output, log lines, written files or any endpoint's answer,
//!   also when the server refuses the key or fails;
//! - **chaos**: seeded fault profiles (5xx, dropped connections, "commit then 500/drop" on
//!   writes, 429) under a running reconciler; it keeps cycling until every cell is `Shared`, the
//!   spaces end exactly in the expected state (no duplicate, no lost worker), and `status`
//!   under the same faults always answers with a JSON document and exit 0, 5 or 7.
//!   `RECONCILE_CHAOS_SEEDS=N` runs N seeds (default 8), `RECONCILE_CHAOS_SEED=S` only seed S.

use octoshare_test_support::process::Spawned;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use octopus_emulator::{Emulator, Fault};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::binaries::{self, ORCHESTRATOR, Run};
use crate::support::fleet::{Fleet, POOL, faults_fired, worker_ids};
use crate::support::{CANARY_KEY, env_count, report_figures};

/// A canary webhook secret.
const CANARY_TOKEN: &str = "canary0webhook0secret0000000000";

/// Waits for states, never for a time window; the deadline only stops a broken build.
const DEADLINE: Duration = Duration::from_secs(120);

const FLEET: Fleet = Fleet {
    source_workers: 3,
    targets: 3,
    every_kind: false,
};

fn octoshare(server: &str, key: &str) -> Command {
    let mut command = binaries::command(ORCHESTRATOR);
    command
        .env("OCTOPUS_URL", server)
        .env("OCTOPUS_API_KEY", key)
        .args(["--retry-delay", "0ms"]);
    command
}

fn run(label: &str, command: &mut Command) -> Run {
    Run::of(label, command)
}

/// A reconciler process with `--log-format json` and `--listen`, its log lines collected
/// (on the shared `Spawned`: waits are woken by each new line, the pipes are drained at exit).
struct Reconciler {
    process: Spawned,
    url: String,
}

impl Reconciler {
    fn start(mut command: Command, args: &[&str]) -> Reconciler {
        command
            .args([
                "reconcile",
                "--worker-pool",
                POOL,
                "--log-format",
                "json",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn().expect("octoshare starts");
        let mut reconciler = Reconciler {
            process: Spawned::collect("octoshare reconcile", child),
            url: String::new(),
        };
        let listening = reconciler.wait_for(|event| event["Event"] == "Listening");
        reconciler.url = listening["Url"].as_str().unwrap().to_owned();
        reconciler
    }

    fn wait_for(&mut self, condition: impl Fn(&Value) -> bool) -> Value {
        self.process.wait_for("such a log line", DEADLINE, |lines| {
            lines
                .iter()
                .map(|line| serde_json::from_str::<Value>(line).expect("a JSON log line"))
                .find(|event| condition(event))
        })
    }

    /// Stops it with SIGTERM: its exit code, stdout and stderr.
    fn stop(self) -> (i32, String, String) {
        self.process.terminate();
        let run = self.process.wait_exit(DEADLINE);
        (run.code, run.stdout, run.stderr)
    }
}

/// `method path` on `url`: the status and the whole answer (head included).
fn http(url: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: 2\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n{}");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    (code, response)
}

/// One bad-input row: label, server, key, arguments, exit code, whether requests may be made
/// (no: refused before any), what the error line contains.
type BadInput = (
    &'static str,
    String,
    String,
    Vec<String>,
    i32,
    bool,
    &'static str,
);

#[test]
fn status_and_reconcile_bad_input_gets_one_line_and_its_exit_code() {
    let emulator = Emulator::start(FLEET.scenario()).unwrap();
    let url = emulator.url();
    let key = emulator.api_key();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let missing = dir.path().join("missing");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, &key).unwrap();
    // Under a file: nothing can be created there.
    let unwritable = empty.join("status.html");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_address = busy.local_addr().unwrap().to_string();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let path = |path: &std::path::Path| path.to_str().unwrap().to_owned();

    let rows: Vec<BadInput> = vec![
        (
            "status: unknown pool",
            url.clone(),
            key.clone(),
            vec!["status".into(), "--worker-pool".into(), "Nope".into()],
            3,
            true,
            "no space has a worker pool named 'Nope'",
        ),
        (
            "status: unknown --from-space",
            url.clone(),
            key.clone(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--from-space".into(),
                "Nowhere".into(),
            ],
            3,
            true,
            "Nowhere",
        ),
        (
            "status: unwritable --output-file",
            url.clone(),
            key.clone(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--format".into(),
                "html".into(),
                "--output".into(),
                "octopus".into(),
                "--output-file".into(),
                path(&unwritable),
            ],
            2,
            false,
            "check --output-file",
        ),
        (
            "status: --output-file is a directory",
            url.clone(),
            key.clone(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--format".into(),
                "html".into(),
                "--output-file".into(),
                path(dir.path()),
            ],
            2,
            false,
            "it is a directory",
        ),
        (
            "status: refused key",
            url.clone(),
            "API-WRONGWRONGWRONGWRONG0000".into(),
            vec!["status".into(), "--worker-pool".into(), POOL.into()],
            6,
            true,
            "401",
        ),
        (
            "status: unreachable",
            closed.clone(),
            key.clone(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--max-retries".into(),
                "0".into(),
            ],
            7,
            true,
            "",
        ),
        (
            "status: empty key file",
            url.clone(),
            String::new(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--api-key-file".into(),
                path(&empty),
            ],
            2,
            false,
            "it is empty",
        ),
        (
            "status: missing key file",
            url.clone(),
            String::new(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--api-key-file".into(),
                path(&missing),
            ],
            2,
            false,
            "--api-key-file",
        ),
        (
            "status: key file and key",
            url.clone(),
            key.clone(),
            vec![
                "status".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--api-key-file".into(),
                path(&key_file),
            ],
            2,
            false,
            "keep one",
        ),
        (
            "reconcile: zero interval",
            url.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--interval".into(),
                "0s".into(),
            ],
            2,
            false,
            "--interval must be at least 10ms",
        ),
        (
            "reconcile: address in use",
            url.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--listen".into(),
                busy_address.clone(),
            ],
            2,
            false,
            "cannot listen on",
        ),
        (
            "reconcile: missing token file",
            url.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--webhook-token-file".into(),
                path(&missing),
            ],
            2,
            false,
            "--webhook-token-file",
        ),
        (
            "reconcile: empty token file",
            url.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--webhook-token-file".into(),
                path(&empty),
            ],
            2,
            false,
            "it is empty",
        ),
        (
            "reconcile: unwritable --report",
            url.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--once".into(),
                "--report".into(),
                path(&unwritable),
            ],
            2,
            false,
            "check --report",
        ),
        (
            "reconcile --once: unknown pool",
            url.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                "Nope".into(),
                "--once".into(),
            ],
            3,
            true,
            "no space has a worker pool named 'Nope'",
        ),
        (
            "reconcile --once: refused key",
            url.clone(),
            "API-WRONGWRONGWRONGWRONG0000".into(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--once".into(),
            ],
            6,
            true,
            "401",
        ),
        (
            "reconcile --once: unreachable",
            closed.clone(),
            key.clone(),
            vec![
                "reconcile".into(),
                "--worker-pool".into(),
                POOL.into(),
                "--once".into(),
                "--max-retries".into(),
                "0".into(),
            ],
            7,
            true,
            "",
        ),
    ];
    let mut tried = 0;
    for (label, server, row_key, args, code, may_request, text) in rows {
        emulator.clear_requests();
        let mut command = octoshare(&server, &row_key);
        command.env_remove("OCTOSHARE_WEBHOOK_TOKEN");
        if row_key.is_empty() {
            command.env_remove("OCTOPUS_API_KEY");
        }
        command.args(&args);
        let result = run(label, &mut command);
        tried += 1;
        assert_eq!(result.code, code, "{label}: {}", result.describe());
        let line = result.error_line();
        assert!(line.contains(text), "{label}: {line}");
        if !may_request {
            assert!(
                emulator.requests().is_empty(),
                "{label}: requests were made"
            );
        }
    }
    // clap's own refusals: one error line, exit 2.
    for args in [
        vec!["reconcile", "--worker-pool", POOL, "--interval", "5"],
        vec!["reconcile", "--worker-pool", POOL, "--listen", "nowhere"],
        vec![
            "reconcile",
            "--worker-pool",
            POOL,
            "--once",
            "--listen",
            "127.0.0.1:1",
        ],
        vec!["status", "--worker-pool", POOL, "--format", "pdf"],
        vec!["status"],
    ] {
        let result = run(&args.join(" "), octoshare(&url, &key).args(&args));
        tried += 1;
        assert_eq!(result.code, 2, "{}", result.describe());
        result.usage_error_line();
    }
    drop(busy);
    report_figures(
        "bad input: status and reconcile",
        &[("inputs_tried", tried.to_string())],
    );
}

#[test]
fn status_and_reconcile_never_show_the_key_or_the_webhook_secret() {
    let emulator = Emulator::start(FLEET.scenario().api_key(CANARY_KEY)).unwrap();
    let url = emulator.url();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("octopus-api-key");
    std::fs::write(&key_file, format!("{CANARY_KEY}\n")).unwrap();
    let token_file = dir.path().join("webhook-token");
    std::fs::write(&token_file, CANARY_TOKEN).unwrap();
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut record = |label: String, text: String| shown.push((label, text));

    for format in ["text", "json", "html"] {
        let file = dir.path().join(format!("status.{format}"));
        for output in ["text", "json", "octopus"] {
            let mut command = octoshare(&url, CANARY_KEY);
            command.args([
                "status",
                "--worker-pool",
                POOL,
                "--format",
                format,
                "--output",
                output,
            ]);
            command.arg("--output-file").arg(&file);
            let result = run("status", &mut command);
            assert!([0, 5].contains(&result.code), "{}", result.describe());
            record(format!("status {format} {output}"), result.describe());
            record(
                format!("file {}", file.display()),
                std::fs::read_to_string(&file).unwrap(),
            );
        }
    }
    let mut from_file = octoshare(&url, "");
    from_file.env_remove("OCTOPUS_API_KEY");
    from_file.args([
        "reconcile",
        "--worker-pool",
        POOL,
        "--once",
        "--output",
        "json",
        "--log-format",
        "json",
    ]);
    from_file.arg("--api-key-file").arg(&key_file);
    let once = run("reconcile --once", &mut from_file);
    assert_eq!(once.code, 0, "{}", once.describe());
    record("reconcile --once".to_owned(), once.describe());

    let token_argument = token_file.to_str().unwrap().to_owned();
    let mut reconciler = Reconciler::start(
        octoshare(&url, CANARY_KEY),
        &["--interval", "1h", "--webhook-token-file", &token_argument],
    );
    reconciler.wait_for(|event| event["Event"] == "Cycle");
    for (method, path, headers) in [
        ("GET", "/metrics", vec![]),
        ("GET", "/status.json", vec![]),
        ("GET", "/", vec![]),
        ("GET", "/healthz", vec![]),
        (
            "POST",
            "/webhook",
            vec![("X-OctoShare-Webhook-Token", "wrong")],
        ),
        (
            "POST",
            "/webhook",
            vec![("X-OctoShare-Webhook-Token", CANARY_TOKEN)],
        ),
    ] {
        let (_, answer) = http(&reconciler.url, method, path, &headers);
        record(format!("{method} {path}"), answer);
    }
    reconciler.wait_for(|event| event["Event"] == "Cycle" && event["Trigger"] == "Webhook");
    let (code, stdout, stderr) = reconciler.stop();
    assert_eq!(code, 0, "{stderr}");
    record("reconcile log".to_owned(), format!("{stdout}\n{stderr}"));

    // A server that refuses the key, and one that fails: the error lines do not repeat it.
    let refusing = Emulator::start(FLEET.scenario()).unwrap();
    for args in [
        vec!["status", "--worker-pool", POOL],
        vec!["reconcile", "--worker-pool", POOL, "--once"],
    ] {
        let result = run(
            "refused",
            octoshare(&refusing.url(), CANARY_KEY).args(&args),
        );
        assert_eq!(result.code, 6, "{}", result.describe());
        record(format!("refused {}", args[0]), result.describe());
    }
    emulator.add_fault(Fault::status(500));
    let failing = run(
        "failing",
        octoshare(&url, CANARY_KEY).args(["status", "--worker-pool", POOL, "--max-retries", "0"]),
    );
    assert_eq!(failing.code, 7, "{}", failing.describe());
    record("failing status".to_owned(), failing.describe());

    let leaks: Vec<&String> = shown
        .iter()
        .filter(|(_, text)| text.contains(CANARY_KEY) || text.contains(CANARY_TOKEN))
        .map(|(label, _)| label)
        .collect();
    assert!(leaks.is_empty(), "a secret was shown in: {leaks:?}");
    report_figures(
        "secrets: status and reconcile",
        &[
            ("places_checked", shown.len().to_string()),
            ("leaks", "0".to_owned()),
        ],
    );
}

/// A seed's faults: which, where, how often (each with a limit, so the server recovers).
fn profile(seed: u64) -> (Vec<Fault>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5A7E_11E5);
    let mut faults = Vec::new();
    let mut description = Vec::new();
    let mut add = |fault: Fault, text: String| {
        faults.push(fault);
        description.push(text);
    };
    let rate = rng.random_range(0.1..0.4);
    let limit = rng.random_range(3..=12);
    add(
        Fault::status(503).rate(rate).limit(limit),
        format!("503 at rate {rate:.2}, {limit} times"),
    );
    if rng.random_bool(0.6) {
        let limit = rng.random_range(1..=4);
        add(
            Fault::drop_connection().rate(0.2).limit(limit),
            format!("dropped connections, {limit} times"),
        );
    }
    if rng.random_bool(0.7) {
        let limit = rng.random_range(1..=3);
        add(
            Fault::commit_then_500()
                .method("POST")
                .rate(0.5)
                .limit(limit),
            format!("commit then 500 on POST, {limit} times"),
        );
    }
    if rng.random_bool(0.5) {
        let limit = rng.random_range(1..=3);
        add(
            Fault::commit_then_drop()
                .method("PUT")
                .rate(0.5)
                .limit(limit),
            format!("commit then drop on PUT, {limit} times"),
        );
    }
    if rng.random_bool(0.5) {
        add(
            Fault::status(429).retry_after(0).rate(0.2).limit(4),
            "429 with Retry-After 0, 4 times".to_owned(),
        );
    }
    (faults, description)
}

#[test]
fn chaos_reconcile_converges_exactly_under_seeded_faults() {
    let seeds: Vec<u64> = match std::env::var("RECONCILE_CHAOS_SEED") {
        Ok(seed) => vec![seed.trim().parse().expect("a seed")],
        Err(_) => (0..env_count("RECONCILE_CHAOS_SEEDS", 8)).collect(),
    };
    let mut failed_cycles = 0;
    let mut cycles = 0;
    let mut fired = BTreeMap::new();
    for seed in seeds {
        let (faults, description) = profile(seed);
        let mut scenario = FLEET.scenario().seed(seed);
        for fault in faults {
            scenario = scenario.fault(fault);
        }
        let emulator = Emulator::start(scenario).unwrap();
        let names = FLEET.all_space_names();
        let ids_before = worker_ids(&emulator, &names);
        let context = format!("seed {seed} ({})", description.join("; "));

        // status under the faults: a document and 0, 5 or 7, never anything else.
        let status = run(
            "status",
            octoshare(&emulator.url(), &emulator.api_key()).args([
                "status",
                "--worker-pool",
                POOL,
                "--output",
                "json",
                "--max-retries",
                "1",
            ]),
        );
        assert!(
            [0, 5, 7].contains(&status.code),
            "{context}: {}",
            status.describe()
        );
        status.assert_no_panic();
        let _ = status.json();

        let mut reconciler = Reconciler::start(
            octoshare(&emulator.url(), &emulator.api_key()),
            &[
                "--interval",
                "50ms",
                "--max-retries",
                "1",
                "--request-timeout",
                "2s",
            ],
        );
        let converged = reconciler.wait_for(|event| {
            event["Event"] == "Cycle"
                && event["Result"] == "Success"
                && event["Totals"]["Missing"] == 0
                && event["Totals"]["NotInPool"] == 0
                && event["Totals"]["Stale"] == 0
        });
        let number = converged["Cycle"].as_u64().unwrap();
        let (code, _, stderr) = reconciler.stop();
        assert_eq!(code, 0, "{context}: {stderr}");
        assert!(!stderr.contains("panicked"), "{context}: {stderr}");
        cycles += number;
        failed_cycles += number - 1;
        FLEET.assert_converged(&emulator, false, &ids_before, &context);
        for (name, count) in faults_fired(&emulator) {
            *fired.entry(name).or_insert(0) += count;
        }
    }
    report_figures(
        "chaos: reconcile",
        &[
            ("cycles_to_converge", cycles.to_string()),
            ("cycles_before_convergence", failed_cycles.to_string()),
            ("faults_fired", format!("{fired:?}")),
        ],
    );
}
