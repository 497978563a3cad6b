//! Secrets: a canary API key (and a canary access token) given to every binary and mode —
//! successes, errors (wrong server, a server echoing the key back, 401, 404, unreachable),
//! `-v`/`-vv`/`-vvv`, `--report`, `--dry-run`, `--output octopus|json|text` — must never appear
//! on stdout or stderr (also not base64-encoded inside a service message), in any file written
//! (the run's working, home and temp directory), in a generated artifact (`step-templates/`),
//! nor on the argv of any process; and the binaries start no child process at all.
//!
//! `octoshare demo` runs against its own emulator and its own key, and `octoshare emulator`
//! serves until stopped: both are left out.

use std::path::{Path, PathBuf};
use std::process::Command;

use octopus_emulator::{Emulator, Fault};
use octoshare_core::service_message::parse_service_messages;

use crate::support::binaries::{self, DISCOVER, ORCHESTRATOR, Run, SHARE, WAIT, workspace_root};
use crate::support::canned::{CannedServer, Reply};
use crate::support::fleet::{Fleet, POOL, SOURCE};
use crate::support::{CANARY_KEY, report_figures};

/// A canary bearer token.
const CANARY_TOKEN: &str = "canary0token0secret0value000000";

/// Where the canary must never be.
#[derive(Debug, Default)]
struct LeakCheck {
    invocations: usize,
    leaks: Vec<String>,
}

impl LeakCheck {
    /// Records every place in a run's output holding a secret.
    fn check_run(&mut self, run: &Run) {
        self.invocations += 1;
        for secret in [CANARY_KEY, CANARY_TOKEN] {
            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                if text.contains(secret) {
                    self.leaks.push(format!("{stream} of {}", run.describe()));
                }
                for message in parse_service_messages(text) {
                    if message
                        .attributes
                        .iter()
                        .any(|(_, value)| value.contains(secret))
                    {
                        self.leaks.push(format!(
                            "a service message on {stream} of {}: {message:?}",
                            run.label
                        ));
                    }
                }
            }
        }
    }

    /// Records every file under `dir` holding a secret.
    fn check_files(&mut self, dir: &Path) -> usize {
        let mut files = 0;
        for path in files_under(dir) {
            files += 1;
            let bytes = std::fs::read(&path).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [CANARY_KEY, CANARY_TOKEN] {
                if text.contains(secret) {
                    self.leaks.push(format!("file {}", path.display()));
                }
            }
        }
        files
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// How a run is given its credentials.
#[derive(Debug, Clone, Copy)]
enum Secret {
    /// `OCTOPUS_API_KEY` in the environment (what the step templates do).
    KeyInEnvironment,
    /// `--api-key` on the command line (allowed; still never printed).
    KeyFlag,
    /// `OCTOPUS_ACCESS_TOKEN` in the environment.
    TokenInEnvironment,
}

/// One invocation: binary, arguments, credentials, server.
struct Invocation<'a> {
    binary: &'a str,
    args: Vec<String>,
    secret: Secret,
    server: String,
}

fn command_for(invocation: &Invocation<'_>, home: &Path) -> Command {
    let mut command = binaries::command(invocation.binary);
    command
        .current_dir(home)
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("OCTOPUS_URL", &invocation.server)
        .args(&invocation.args)
        .args([
            "--retry-delay",
            "0ms",
            "--max-retries",
            "1",
            "--request-timeout",
            "2s",
        ]);
    match invocation.secret {
        Secret::KeyInEnvironment => {
            command.env("OCTOPUS_API_KEY", CANARY_KEY);
        }
        Secret::KeyFlag => {
            command.args(["--api-key", CANARY_KEY]);
        }
        Secret::TokenInEnvironment => {
            command.env("OCTOPUS_ACCESS_TOKEN", CANARY_TOKEN);
        }
    }
    command
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// Every binary and mode against a server that accepts the canary.
fn successful_invocations<'a>(
    server: &str,
    targets: &str,
    report_dir: &Path,
) -> Vec<Invocation<'a>> {
    let report = |name: &str| report_dir.join(name).to_string_lossy().into_owned();
    let mut invocations = Vec::new();
    let steps: Vec<(&str, Vec<String>)> = vec![
        (DISCOVER, strings(&["--worker-pool", POOL])),
        (
            WAIT,
            strings(&[
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "--poll-interval",
                "10ms",
            ]),
        ),
        (
            SHARE,
            strings(&[
                "--from-space",
                SOURCE,
                "--to-spaces",
                targets,
                "--worker-pool",
                POOL,
                "--dry-run",
            ]),
        ),
        (
            ORCHESTRATOR,
            strings(&[
                "run",
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "--poll-interval",
                "10ms",
                "--dry-run",
            ]),
        ),
        (ORCHESTRATOR, strings(&["install", "--dry-run"])),
        (
            ORCHESTRATOR,
            strings(&["retire", "--worker", "web-1", "--dry-run"]),
        ),
    ];
    for (binary, args) in &steps {
        for output in ["octopus", "json", "text"] {
            for verbosity in [None, Some("-v"), Some("-vv"), Some("-vvv")] {
                let mut args = args.clone();
                args.extend(strings(&["--output", output]));
                args.extend(verbosity.map(str::to_owned));
                invocations.push(Invocation {
                    binary,
                    args,
                    secret: Secret::KeyInEnvironment,
                    server: server.to_owned(),
                });
            }
        }
    }
    // Writes, reports (attached as an artifact in octopus mode), prune, other credentials.
    for (binary, args) in [
        (
            SHARE,
            strings(&[
                "--from-space",
                SOURCE,
                "--to-spaces",
                targets,
                "--worker-pool",
                POOL,
                "--prune",
                "-vv",
                "--report",
                &report("share.json"),
            ]),
        ),
        (
            ORCHESTRATOR,
            strings(&[
                "run",
                "--worker-pool",
                POOL,
                "--prune",
                "-vvv",
                "--output",
                "octopus",
                "--report",
                &report("run.json"),
            ]),
        ),
        (
            ORCHESTRATOR,
            strings(&["install", "-vv", "--output", "json"]),
        ),
        (ORCHESTRATOR, strings(&["install", "-vv"])),
    ] {
        invocations.push(Invocation {
            binary,
            args,
            secret: Secret::KeyInEnvironment,
            server: server.to_owned(),
        });
    }
    for secret in [Secret::KeyFlag, Secret::TokenInEnvironment] {
        for (binary, args) in &steps {
            let mut args = args.clone();
            args.extend(strings(&["-vvv", "--output", "json"]));
            invocations.push(Invocation {
                binary,
                args,
                secret,
                server: server.to_owned(),
            });
        }
    }
    // A real retirement (disable, lease polls, delete), last: it removes web-2 everywhere.
    for secret in [Secret::KeyInEnvironment, Secret::KeyFlag] {
        for output in ["octopus", "json"] {
            invocations.push(Invocation {
                binary: ORCHESTRATOR,
                args: strings(&["retire", "--worker", "web-2", "-vvv", "--output", output]),
                secret,
                server: server.to_owned(),
            });
        }
    }
    // The bootstrap script never embeds the key, whatever the environment holds.
    for format in ["bash", "tftpl", "octostache"] {
        invocations.push(Invocation {
            binary: ORCHESTRATOR,
            args: strings(&[
                "user-data",
                "--server",
                server,
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--format",
                format,
                "-vv",
            ]),
            secret: Secret::KeyInEnvironment,
            server: server.to_owned(),
        });
    }
    invocations
}

/// Every binary against servers that fail: each is given the canary and must not repeat it.
fn failing_invocations<'a>(servers: &[String]) -> Vec<Invocation<'a>> {
    let mut invocations = Vec::new();
    for server in servers {
        for (binary, args) in [
            (DISCOVER, strings(&["--worker-pool", POOL])),
            (
                WAIT,
                strings(&[
                    "--space",
                    SOURCE,
                    "--worker-pool",
                    POOL,
                    "--count",
                    "1",
                    "--timeout",
                    "1s",
                ]),
            ),
            (
                WAIT,
                strings(&[
                    "--space",
                    "No Such Space",
                    "--worker-pool",
                    POOL,
                    "--count",
                    "1",
                ]),
            ),
            (
                SHARE,
                strings(&[
                    "--from-space",
                    SOURCE,
                    "--to-spaces",
                    "Nowhere",
                    "--worker-pool",
                    POOL,
                ]),
            ),
            (ORCHESTRATOR, strings(&["run", "--worker-pool", POOL])),
            (ORCHESTRATOR, strings(&["install", "--spaces", "Nowhere"])),
            (ORCHESTRATOR, strings(&["status", "--worker-pool", POOL])),
            (
                ORCHESTRATOR,
                strings(&["reconcile", "--worker-pool", POOL, "--once"]),
            ),
            (
                ORCHESTRATOR,
                strings(&["retire", "--worker", "web-1", "--drain-timeout", "1s"]),
            ),
            (
                ORCHESTRATOR,
                strings(&["retire", "--worker", "web-1", "--worker-pool", "Nowhere"]),
            ),
        ] {
            for output in ["octopus", "json"] {
                let mut args = args.clone();
                args.extend(strings(&["-vvv", "--output", output]));
                invocations.push(Invocation {
                    binary,
                    args,
                    secret: Secret::KeyInEnvironment,
                    server: server.clone(),
                });
            }
        }
    }
    invocations
}

/// A server that echoes the request (headers included) back in its answers, as a debugging
/// proxy or a misconfigured web server might: as text, as an HTML page, and inside an Octopus
/// error envelope.
fn echoing_server(kind: &'static str) -> CannedServer {
    CannedServer::start(move |request, _| {
        let echoed = format!(
            "{} {} {}",
            request.method,
            request.target,
            request.header_lines().join(" | ")
        );
        match kind {
            "text" => Reply::new(200, "text/plain", &echoed),
            "html" => Reply::new(
                502,
                "text/html",
                format!("<html><body><pre>{echoed}</pre></body></html>"),
            ),
            _ => Reply::new(
                400,
                "application/json",
                serde_json::json!({"ErrorMessage": echoed, "Errors": [echoed]}).to_string(),
            ),
        }
    })
}

/// Runs `invocation` under `strace -f -e trace=execve` and returns every exec'd argv.
fn traced_execs(
    strace: &Path,
    invocation: &Invocation<'_>,
    home: &Path,
    trace: &Path,
) -> (Run, Vec<String>) {
    let command = command_for(invocation, home);
    let mut traced = Command::new(strace);
    traced.args([
        "-f",
        "-qq",
        "-s",
        "4096",
        "-e",
        "trace=execve,execveat",
        "-o",
    ]);
    traced
        .arg(trace)
        .arg(command.get_program())
        .args(command.get_args());
    traced.current_dir(home);
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => traced.env(name, value),
            None => traced.env_remove(name),
        };
    }
    let run = Run::of(
        format!("strace {} {}", invocation.binary, invocation.args.join(" ")),
        &mut traced,
    );
    let log = std::fs::read_to_string(trace).unwrap_or_default();
    let execs = log
        .lines()
        .filter(|line| line.contains("execve"))
        .map(str::to_owned)
        .collect();
    (run, execs)
}

/// strace can trace here (ptrace may be refused in some containers): `Err` with strace's words.
fn strace_can_trace(strace: &Path) -> Result<(), String> {
    let output = Command::new(strace)
        .args(["-f", "-qq", "-e", "trace=execve", "-o", "/dev/null", "true"])
        .output()
        .map_err(|error| format!("cannot run {}: {error}", strace.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

#[test]
fn secrets_the_canary_key_never_leaves_a_request_header() {
    // Every kind of worker: the proxy and account lookups (and their failure messages) run
    // with the canary key too.
    let fleet = Fleet {
        source_workers: 2,
        targets: 2,
        every_kind: true,
    };
    let emulator = Emulator::start(
        fleet
            .scenario()
            .api_key(CANARY_KEY)
            .access_token(CANARY_TOKEN),
    )
    .expect("the emulator starts");
    let refusing = Emulator::start(fleet.scenario()).expect("the emulator starts");
    // Accepts the canary but refuses to show proxies and accounts (403): the listening and SSH
    // copies fail with the refusal in their reason.
    let lookups_refused = Emulator::start(
        fleet
            .scenario()
            .api_key(CANARY_KEY)
            .fault(Fault::status(403).path("/api/*/proxies/all"))
            .fault(Fault::status(403).path("/api/*/accounts/all")),
    )
    .expect("the emulator starts");
    let home = tempfile::tempdir().expect("a temp dir");
    let reports = home.path().join("reports");
    std::fs::create_dir_all(&reports).expect("reports dir");
    let targets = fleet.target_ids(&emulator);
    let mut check = LeakCheck::default();

    for invocation in successful_invocations(&emulator.url(), &targets, &reports) {
        let run = Run::of(
            format!("{} {}", invocation.binary, invocation.args.join(" ")),
            &mut command_for(&invocation, home.path()),
        );
        run.assert_no_panic();
        assert_eq!(run.code, 0, "{}", run.describe());
        check.check_run(&run);
    }
    assert!(reports.join("share.json").is_file() && reports.join("run.json").is_file());

    let echo_text = echoing_server("text");
    let echo_html = echoing_server("html");
    let echo_envelope = echoing_server("envelope");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        format!("http://{}", listener.local_addr().expect("an address"))
    };
    let servers = [
        refusing.url(),
        emulator.url(),
        lookups_refused.url(),
        echo_text.url(),
        echo_html.url(),
        echo_envelope.url(),
        closed,
    ];
    for invocation in failing_invocations(&servers) {
        let run = Run::of(
            format!(
                "{} {} against {}",
                invocation.binary,
                invocation.args.join(" "),
                invocation.server
            ),
            &mut command_for(&invocation, home.path()),
        );
        run.assert_no_panic();
        check.check_run(&run);
    }
    // The lookups were really refused with the canary key.
    assert!(
        lookups_refused
            .requests()
            .iter()
            .any(|request| request.path.ends_with("/proxies/all") && request.status == 403)
    );
    // The echoing servers really received the canary (in the header) and sent it back.
    assert!(echo_text.requests().iter().any(|request| {
        request
            .header_lines()
            .iter()
            .any(|header| header.contains(CANARY_KEY))
    }));

    let files_written = check.check_files(home.path());
    let artifacts = check.check_files(&workspace_root().join("step-templates"));
    assert!(artifacts >= 6, "step-templates/ has {artifacts} files");

    report_figures(
        "secrets",
        &[
            ("invocations", check.invocations.to_string()),
            ("files_scanned", (files_written + artifacts).to_string()),
            ("leaks", check.leaks.len().to_string()),
        ],
    );
    assert!(
        check.leaks.is_empty(),
        "the canary leaked:\n{}",
        check.leaks.join("\n\n")
    );
}

#[test]
fn secrets_binaries_start_no_child_process_and_no_argv_holds_the_key() {
    let Some(strace) = octoshare_test_support::tools::require("strace") else {
        return;
    };
    if let Err(why) = strace_can_trace(&strace) {
        assert!(
            !octoshare_test_support::tools::in_ci(),
            "strace cannot trace here under CI=true ({why}): allow ptrace (e.g. run the container with --cap-add SYS_PTRACE)"
        );
        eprintln!("notice: skipping the child-process check: strace cannot trace here ({why})");
        return;
    }
    let fleet = Fleet {
        source_workers: 1,
        targets: 1,
        every_kind: false,
    };
    let emulator =
        Emulator::start(fleet.scenario().api_key(CANARY_KEY)).expect("the emulator starts");
    let home = tempfile::tempdir().expect("a temp dir");
    let targets = fleet.target_ids(&emulator);
    let server = emulator.url();
    let invocations = [
        Invocation {
            binary: DISCOVER,
            args: strings(&["--worker-pool", POOL, "-vv"]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
        Invocation {
            binary: WAIT,
            args: strings(&["--space", SOURCE, "--worker-pool", POOL, "--count", "1"]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
        Invocation {
            binary: SHARE,
            args: strings(&[
                "--from-space",
                SOURCE,
                "--to-spaces",
                &targets,
                "--worker-pool",
                POOL,
                "--report",
                "r.json",
            ]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
        Invocation {
            binary: ORCHESTRATOR,
            args: strings(&["run", "--worker-pool", POOL, "--output", "octopus"]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
        Invocation {
            binary: ORCHESTRATOR,
            args: strings(&["install"]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
        Invocation {
            binary: ORCHESTRATOR,
            args: strings(&["retire", "--worker", "web-1", "--output", "json"]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
        Invocation {
            binary: ORCHESTRATOR,
            args: strings(&[
                "user-data",
                "--server",
                &server,
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
            ]),
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        },
    ];
    for (index, invocation) in invocations.iter().enumerate() {
        let trace = home.path().join(format!("trace-{index}.txt"));
        let (run, execs) = traced_execs(&strace, invocation, home.path(), &trace);
        assert_eq!(run.code, 0, "{}", run.describe());
        assert_eq!(
            execs.len(),
            1,
            "{} started other programs: {execs:#?}",
            invocation.binary
        );
        assert!(execs[0].contains(invocation.binary), "{execs:?}");
        for exec in &execs {
            assert!(!exec.contains(CANARY_KEY), "the key is on an argv: {exec}");
        }
    }
    report_figures(
        "secrets: child processes",
        &[
            ("binaries_traced", invocations.len().to_string()),
            ("child_processes", "0".to_owned()),
        ],
    );
}

/// `octoshare retire --this-machine` is the one command that starts a program: the local
/// `Tentacle show-thumbprint`. Traced with its environment (`strace -v`), that child holds the
/// key neither on its argv nor in its environment, though the retire process got it there.
#[test]
fn secrets_this_machine_hands_tentacle_neither_the_key_nor_the_token() {
    let Some(strace) = octoshare_test_support::tools::require("strace") else {
        return;
    };
    if let Err(why) = strace_can_trace(&strace) {
        assert!(
            !octoshare_test_support::tools::in_ci(),
            "strace cannot trace here under CI=true ({why}): allow ptrace (e.g. run the container with --cap-add SYS_PTRACE)"
        );
        eprintln!("notice: skipping the Tentacle child check: strace cannot trace here ({why})");
        return;
    }
    let fleet = Fleet {
        source_workers: 1,
        targets: 1,
        every_kind: false,
    };
    let emulator =
        Emulator::start(fleet.scenario().api_key(CANARY_KEY)).expect("the emulator starts");
    let home = tempfile::tempdir().expect("a temp dir");
    let tentacle = home.path().join("Tentacle");
    std::fs::write(
        &tentacle,
        format!(
            "#!/bin/sh\nprintf '%s' '{}'\n",
            crate::support::fleet::thumbprint(1)
        ),
    )
    .expect("the fake Tentacle is written");
    std::fs::set_permissions(
        &tentacle,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("executable");
    let invocation = Invocation {
        binary: ORCHESTRATOR,
        args: strings(&[
            "retire",
            "--this-machine",
            "--tentacle-path",
            &tentacle.to_string_lossy(),
            "--output",
            "json",
        ]),
        secret: Secret::KeyInEnvironment,
        server: emulator.url(),
    };
    let command = command_for(&invocation, home.path());
    let trace = home.path().join("trace.txt");
    let mut traced = traced_with_environment(&command, &trace, home.path());
    let run = Run::of("strace octoshare retire --this-machine", &mut traced);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        run.json()["RetiredWorkerCount"],
        2,
        "web-1 in the source and the target"
    );
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    let execs: Vec<&str> = log.lines().filter(|line| line.contains("execve")).collect();
    assert!(execs.len() >= 2, "Tentacle was not started: {execs:#?}");
    assert!(
        execs[0].contains(CANARY_KEY),
        "the retire process got the key in its environment"
    );
    for exec in &execs[1..] {
        assert!(
            !exec.contains(CANARY_KEY),
            "a child got the key on its argv or in its environment: {exec}"
        );
    }
    assert!(execs[1].contains("show-thumbprint"), "{execs:#?}");
    report_figures(
        "secrets: this machine",
        &[
            ("children_traced", (execs.len() - 1).to_string()),
            ("children_with_the_key", "0".to_owned()),
        ],
    );
}

/// Names come from the server, and anyone who may name a worker or a space in one space could
/// put a service message in it. Octopus acts on `##octopus[...]` anywhere in a step's output, so
/// an echoed name could set another step's output variables or collect any file on the worker
/// (the API key file included) as an artifact. octoshare must print such names inert.
#[test]
fn secrets_server_provided_names_cannot_inject_service_messages() {
    use octopus_emulator::{Scenario, SpaceSeed};
    use octoshare_core::ServiceMessage;

    use crate::support::fleet::polling;

    let set_variable = ServiceMessage::set_variable("InitialSpaceId", "Spaces-666").to_line();
    let artifact = ServiceMessage::create_artifact("/etc/octoshare/api-key", "key", 10).to_line();
    let evil_space = format!("Evil {artifact} space");
    let evil_worker = format!("evil {set_variable}\n{artifact}");
    let emulator = Emulator::start(
        Scenario::new()
            .space(
                SpaceSeed::new(SOURCE)
                    .default_space()
                    .pool(POOL)
                    .worker(polling(&evil_worker, 1).in_pool(POOL)),
            )
            .space(SpaceSeed::new(&evil_space).pool(POOL)),
    )
    .expect("the emulator starts");
    let target = emulator.space_id(&evil_space).expect("the evil space");
    let home = tempfile::tempdir().expect("a temp dir");
    let server = emulator.url();
    let runs = [
        (DISCOVER, strings(&["--worker-pool", POOL, "-vv"])),
        (
            WAIT,
            strings(&[
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "-vv",
            ]),
        ),
        (
            SHARE,
            strings(&[
                "--from-space",
                SOURCE,
                "--to-spaces",
                &target,
                "--worker-pool",
                POOL,
                "-vv",
            ]),
        ),
        (
            ORCHESTRATOR,
            strings(&["run", "--worker-pool", POOL, "--output", "octopus", "-vv"]),
        ),
        (
            WAIT,
            strings(&[
                "--space",
                &evil_space,
                "--worker-pool",
                POOL,
                "--count",
                "5",
                "--timeout",
                "50ms",
                "-vv",
            ]),
        ),
    ];
    for (binary, args) in runs {
        let invocation = Invocation {
            binary,
            args,
            secret: Secret::KeyInEnvironment,
            server: server.clone(),
        };
        let mut command = command_for(&invocation, home.path());
        command.env("OCTOPUS_API_KEY", emulator.api_key());
        let run = Run::of(
            format!("{binary} {}", invocation.args.join(" ")),
            &mut command,
        );
        run.assert_no_panic();
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            for message in parse_service_messages(text) {
                assert_ne!(
                    message.name,
                    "createArtifact",
                    "injected on {stream}: {}",
                    run.describe()
                );
                assert!(
                    message.get("value") != Some("Spaces-666"),
                    "injected on {stream}: {}",
                    run.describe()
                );
            }
        }
    }
}

/// A redirect that leaves the server's origin — https → http on the same host and port,
/// another port, another host — is refused by every binary with exit 7 and one line naming the
/// difference; the servers' logs show that the key never reached another origin (and nothing
/// at all went over plain HTTP).
#[test]
fn secrets_redirects_off_the_origin_never_carry_the_key() {
    use crate::support::canned::TlsIdentity;

    let identity = TlsIdentity::localhost();
    let home = tempfile::tempdir().expect("a temp dir");
    let ca_file = home.path().join("server.pem");
    std::fs::write(&ca_file, &identity.pem).expect("the CA file");
    // Another TLS service on the same host: it must never see a request.
    let elsewhere = CannedServer::start_tls(
        std::slice::from_ref(&identity.certificate),
        &identity.key,
        |_, _| Reply::json(200, "[]"),
    );
    let elsewhere_port = elsewhere.port();
    /// Where the server redirects to, given the port it was asked on.
    type Target = Box<dyn Fn(&str) -> String + Send + Sync>;
    let cases: Vec<(&str, Target, String)> = vec![
        (
            "https to http, same host and port",
            Box::new(|port: &str| format!("http://localhost:{port}/api/spaces/all")),
            "scheme http instead of https".to_owned(),
        ),
        (
            "another port",
            Box::new(move |_: &str| format!("https://localhost:{elsewhere_port}/api/spaces/all")),
            format!("port {elsewhere_port} instead of"),
        ),
        (
            "another host, same port",
            Box::new(|port: &str| format!("https://127.0.0.1:{port}/api/spaces/all")),
            "host 127.0.0.1 instead of localhost".to_owned(),
        ),
    ];
    let mut check = LeakCheck::default();
    let mut refused = 0;
    for (label, target, difference) in cases {
        let server = CannedServer::start_tls(
            std::slice::from_ref(&identity.certificate),
            &identity.key,
            move |request, _| {
                if request.tls
                    && request
                        .header_lines()
                        .iter()
                        .any(|h| h.contains("localhost"))
                {
                    Reply::redirect_with(307, &target(&request.host_port()))
                } else {
                    Reply::json(200, "[]")
                }
            },
        );
        for (binary, args) in [
            (DISCOVER, strings(&["--worker-pool", POOL])),
            (
                WAIT,
                strings(&["--space", SOURCE, "--worker-pool", POOL, "--count", "1"]),
            ),
            (
                SHARE,
                strings(&[
                    "--from-space",
                    SOURCE,
                    "--to-spaces",
                    "Target",
                    "--worker-pool",
                    POOL,
                ]),
            ),
            (ORCHESTRATOR, strings(&["run", "--worker-pool", POOL])),
            (ORCHESTRATOR, strings(&["status", "--worker-pool", POOL])),
            (
                ORCHESTRATOR,
                strings(&["reconcile", "--worker-pool", POOL, "--once"]),
            ),
        ] {
            let invocation = Invocation {
                binary,
                args: [args, strings(&["--output", "octopus", "-v"])].concat(),
                secret: Secret::KeyInEnvironment,
                server: server.https_url(),
            };
            let mut command = command_for(&invocation, home.path());
            command.env("OCTOPUS_CA_CERT", &ca_file);
            let run = Run::of(format!("{binary} redirected: {label}"), &mut command);
            run.assert_no_panic();
            assert_eq!(run.code, 7, "{}", run.describe());
            assert!(
                run.stderr.contains("was redirected (307) to")
                    && run.stderr.contains(&difference)
                    && run.stderr.contains("nothing was sent there"),
                "{}",
                run.describe()
            );
            check.check_run(&run);
            refused += 1;
        }
        // What the server received: the key only over TLS, only addressed to localhost:PORT.
        let port = server.port().to_string();
        for request in server.requests() {
            assert!(
                request.tls,
                "{label}: a request arrived in clear: {request:?}"
            );
            if request.carries(CANARY_KEY) {
                assert!(
                    request
                        .header_lines()
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(&format!("host: localhost:{port}"))),
                    "{label}: the key reached another origin: {request:?}"
                );
            }
        }
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the other service received {:?}",
        elsewhere.requests()
    );
    report_figures(
        "secrets: redirects off the origin",
        &[
            ("runs_refused", refused.to_string()),
            ("requests_elsewhere", "0".to_owned()),
            ("requests_in_clear", "0".to_owned()),
            ("leaks", check.leaks.len().to_string()),
        ],
    );
    assert!(check.leaks.is_empty(), "{}", check.leaks.join("\n\n"));
}

/// Names cannot forge log lines (issue 19, item 7): a worker named
/// `"evil\nshared 0 workers: all OK"` and a space named `"Beta\r\nfake line"` used to print raw
/// line breaks, so a forged summary line appeared in the Octopus task log. Every binary and mode
/// now prints them escaped, on their own line, and the outputs (service messages, JSON) keep the
/// exact names.
#[test]
fn secrets_names_cannot_forge_log_lines() {
    use octopus_emulator::{Fault, Scenario, SpaceSeed};
    use octoshare_cli::output::is_escaped;

    use crate::support::fleet::polling;

    let evil_worker = "evil\nshared 0 workers: all OK";
    let evil_space = "Beta\r\nfake line";
    let emulator = Emulator::start(
        Scenario::new()
            .space(
                SpaceSeed::new(SOURCE)
                    .default_space()
                    .pool(POOL)
                    .worker(polling(evil_worker, 1).in_pool(POOL))
                    .worker(polling("web-2\u{202e}lmth.exe", 2).in_pool(POOL)),
            )
            .space(SpaceSeed::new(evil_space).pool(POOL)),
    )
    .expect("the emulator starts");
    let target = emulator.space_id(evil_space).expect("the evil space");
    let runs: Vec<(&str, Vec<&str>)> = vec![
        (DISCOVER, vec!["--worker-pool", POOL, "-v"]),
        (
            DISCOVER,
            vec!["--worker-pool", POOL, "--output", "json", "-v"],
        ),
        (
            WAIT,
            vec![
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--count",
                "2",
                "-v",
            ],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                &target,
                "--worker-pool",
                POOL,
                "-v",
            ],
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                POOL,
                "--count",
                "2",
                "--output",
                "octopus",
                "-v",
            ],
        ),
        (ORCHESTRATOR, vec!["run", "--worker-pool", POOL, "-v"]),
        (
            ORCHESTRATOR,
            vec!["run", "--worker-pool", POOL, "--output", "json", "-v"],
        ),
        (ORCHESTRATOR, vec!["install", "--dry-run", "-v"]),
        (ORCHESTRATOR, vec!["status", "--worker-pool", POOL]),
        (
            ORCHESTRATOR,
            vec!["status", "--worker-pool", POOL, "--format", "json"],
        ),
        (
            ORCHESTRATOR,
            vec!["status", "--worker-pool", POOL, "--format", "html"],
        ),
        (
            ORCHESTRATOR,
            vec!["status", "--worker-pool", POOL, "--output", "octopus"],
        ),
    ];
    let mut lines_checked = 0;
    for (binary, args) in &runs {
        let mut command = binaries::command(binary);
        command
            .env("OCTOPUS_URL", emulator.url())
            .env("OCTOPUS_API_KEY", emulator.api_key())
            .args(args);
        let run = Run::of(format!("{binary} {}", args.join(" ")), &mut command);
        assert_eq!(run.code, 0, "{}", run.describe());
        run.assert_no_panic();
        for line in run.stdout.split('\n').chain(run.stderr.split('\n')) {
            lines_checked += 1;
            assert!(
                line != "fake line" && !line.starts_with("shared 0 workers"),
                "a forged line: {line:?}\n{}",
                run.describe()
            );
            assert!(
                !line.contains(is_escaped),
                "a raw control character or bidi override: {line:?}\n{}",
                run.describe()
            );
        }
        let human = if args.windows(2).any(|pair| pair == ["--output", "json"]) {
            &run.stderr
        } else {
            &run.stdout
        };
        // Shown, escaped visibly (in a line, a JSON string, or HTML character references).
        assert!(
            [
                "Beta\\r\\nfake line",
                "evil\\nshared 0 workers",
                "Beta&#xd;&#xa;fake line",
            ]
            .iter()
            .any(|shown| human.contains(shown)),
            "{}",
            run.describe()
        );
    }
    // A space that cannot be read: its name is in status's and reconcile's failure lines and
    // in each reconcile cycle's log line (text and JSON).
    emulator.add_fault(Fault::status(500).path(&format!("/api/{target}/workers/all")));
    // (From the source space: the evil space, first by name, is the initial one otherwise.)
    let failing: Vec<Vec<&str>> = vec![
        vec!["status", "--worker-pool", POOL],
        vec!["reconcile", "--worker-pool", POOL, "--once"],
        vec![
            "reconcile",
            "--worker-pool",
            POOL,
            "--once",
            "--log-format",
            "json",
        ],
        vec![
            "reconcile",
            "--worker-pool",
            POOL,
            "--once",
            "--output",
            "octopus",
        ],
    ];
    for args in &failing {
        let mut command = binaries::command(ORCHESTRATOR);
        command
            .env("OCTOPUS_URL", emulator.url())
            .env("OCTOPUS_API_KEY", emulator.api_key())
            .args(args)
            .args(["--initial-space", SOURCE])
            .args(["--max-retries", "0", "--retry-delay", "0ms"]);
        let run = Run::of(format!("octoshare {}", args.join(" ")), &mut command);
        assert_eq!(run.code, 5, "{}", run.describe());
        run.assert_no_panic();
        for line in run.stdout.split('\n').chain(run.stderr.split('\n')) {
            lines_checked += 1;
            assert!(
                line != "fake line" && !line.contains(is_escaped),
                "a forged line or a raw control character: {line:?}\n{}",
                run.describe()
            );
        }
        // Shown, escaped, in the failure line (and the cycle's log line).
        let shown = run
            .stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|line| line.contains("Beta\\r\\nfake line"))
            .count();
        assert!(shown >= 1, "{}", run.describe());
        if args.contains(&"json") {
            // The JSON log line keeps the exact name once parsed.
            let cycle: serde_json::Value = run
                .stdout
                .lines()
                .find_map(|line| serde_json::from_str(line).ok())
                .expect("a JSON log line");
            assert!(
                cycle["Error"]
                    .as_str()
                    .is_some_and(|error| error.contains(evil_space)),
                "{}",
                run.describe()
            );
        }
    }
    emulator.clear_faults();
    // The outputs keep the exact names.
    let discover = Run::of(
        "discover",
        binaries::command(DISCOVER)
            .env("OCTOPUS_URL", emulator.url())
            .env("OCTOPUS_API_KEY", emulator.api_key())
            .args(["--worker-pool", POOL]),
    );
    // The emulator lists spaces by name, so the evil space is the initial one.
    assert_eq!(
        discover.output("InitialSpaceName").as_deref(),
        Some(evil_space),
        "{}",
        discover.describe()
    );
    let wait = Run::of(
        "wait --output json",
        binaries::command(WAIT)
            .env("OCTOPUS_URL", emulator.url())
            .env("OCTOPUS_API_KEY", emulator.api_key())
            .args(["--space", SOURCE, "--worker-pool", POOL, "--count", "2"])
            .args(["--output", "json"]),
    );
    assert_eq!(
        wait.json()["RegisteredWorkerNames"],
        serde_json::json!([evil_worker, "web-2\u{202e}lmth.exe"]),
        "{}",
        wait.describe()
    );
    report_figures(
        "secrets: forged lines",
        &[
            ("runs", (runs.len() + failing.len()).to_string()),
            ("lines_checked", lines_checked.to_string()),
            ("forged", "0".to_owned()),
        ],
    );
}

/// `octoshare retire-on-shutdown install` (what the bootstrap script runs with the key in its
/// environment) under `strace -f -v`: the key reaches the root-only key file and nothing else —
/// not the unit (whose `ExecStop` names the file), not the argv or environment of `systemctl`,
/// not the output.
#[test]
fn secrets_retire_on_shutdown_keeps_the_key_in_the_root_only_file_only() {
    let Some(strace) = octoshare_test_support::tools::require("strace") else {
        return;
    };
    if let Err(why) = strace_can_trace(&strace) {
        assert!(
            !octoshare_test_support::tools::in_ci(),
            "strace cannot trace here under CI=true ({why}): allow ptrace (e.g. run the container with --cap-add SYS_PTRACE)"
        );
        eprintln!(
            "notice: skipping the retire-on-shutdown check: strace cannot trace here ({why})"
        );
        return;
    }
    let home = tempfile::tempdir().expect("a temp dir");
    let bin = home.path().join("bin");
    let root = home.path().join("root");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::create_dir_all(&root).expect("root");
    std::fs::write(bin.join("systemctl"), "#!/bin/sh\nexit 0\n").expect("the fake systemctl");
    std::fs::set_permissions(
        bin.join("systemctl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("executable");
    let mut command = binaries::command(ORCHESTRATOR);
    command
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("OCTOSHARE_ROOT", &root)
        .env("OCTOPUS_URL", "https://octopus.example.com")
        .env("OCTOPUS_API_KEY", CANARY_KEY)
        .args([
            "retire-on-shutdown",
            "install",
            "--api-key-file",
            "/etc/octoshare/api-key",
        ]);
    let trace = home.path().join("trace.txt");
    let mut traced = traced_with_environment(&command, &trace, home.path());
    let run = Run::of("strace octoshare retire-on-shutdown install", &mut traced);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(!run.stdout.contains(CANARY_KEY) && !run.stderr.contains(CANARY_KEY));
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    let execs: Vec<&str> = log.lines().filter(|line| line.contains("execve")).collect();
    let systemctl: Vec<&&str> = execs
        .iter()
        .filter(|exec| exec.contains("systemctl"))
        .collect();
    assert_eq!(
        systemctl.len(),
        3,
        "daemon-reload, enable, start: {execs:#?}"
    );
    for exec in &execs[1..] {
        assert!(
            !exec.contains(CANARY_KEY),
            "a child got the key on its argv or in its environment: {exec}"
        );
    }
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/octoshare-retire.service"))
        .expect("the unit");
    assert!(!unit.contains(CANARY_KEY), "the key is in the unit");
    assert!(
        unit.contains("\"--api-key-file\" \"/etc/octoshare/api-key\""),
        "{unit}"
    );
    let key_file = root.join("etc/octoshare/api-key");
    assert_eq!(
        std::fs::read_to_string(&key_file)
            .expect("the key file")
            .trim(),
        CANARY_KEY
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("the key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

/// `command` under `strace -f -v`: every `execve` of it and its children, with argv and
/// environment, written to `trace`; run in `dir` with `command`'s own environment.
fn traced_with_environment(command: &Command, trace: &Path, dir: &Path) -> Command {
    let mut traced = Command::new("strace");
    traced.args([
        "-f",
        "-qq",
        "-v",
        "-s",
        "4096",
        "-e",
        "trace=execve,execveat",
        "-o",
    ]);
    traced
        .arg(trace)
        .arg(command.get_program())
        .args(command.get_args())
        .current_dir(dir);
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => traced.env(name, value),
            None => traced.env_remove(name),
        };
    }
    traced
}
