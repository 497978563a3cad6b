//! The commands beyond the first share, measured on an instance where everything is already
//! shared ([`Fleet::shared_scenario`]): `octoshare status`, a `reconcile` cycle with nothing to
//! do, the time from a webhook to a new worker shared everywhere, and `retire` of one worker.
//! Each runs only when the build has the command.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use octopus_emulator::Emulator;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bench::{Phase, Settings, connection_env, json_document, lower_bound_ms};
use crate::fleet::{Fleet, POOL, worker_seed};
use crate::measure::{Launch, Requests, median, take_requests};

/// How many times `status` runs; its time is the median.
pub const STATUS_RUNS: usize = 3;

/// One run of a command on the shared instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandRun {
    /// The size.
    pub fleet: Fleet,
    /// Requests and wall time.
    pub phase: Phase,
    /// The exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// Whether it did what it should (exit code and state checked).
    pub ok: bool,
    /// What was wrong, when not ok.
    pub problem: Option<String>,
    /// `ceil(requests / concurrency) × latency`, in milliseconds.
    pub lower_bound_ms: f64,
}

impl CommandRun {
    /// Wall time / lower bound.
    pub fn ratio_to_bound(&self) -> f64 {
        self.phase.wall_ms / self.lower_bound_ms
    }
}

/// A worker added to the source pool while `reconcile` runs, then `POST /webhook`: the time
/// until every other space holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResult {
    /// The size.
    pub fleet: Fleet,
    /// From sending `POST /webhook` to the last space holding the new worker, milliseconds.
    pub latency_ms: f64,
    /// What the server saw in that time.
    pub requests: Requests,
    /// `ceil(those requests / concurrency) × latency`, in milliseconds.
    pub lower_bound_ms: f64,
    /// The whole cycle as reconcile logged it (it reads the matrix again after sharing).
    pub cycle_ms: Option<f64>,
}

/// Everything measured of the commands; `None` where the build lacks one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandsResult {
    /// `octoshare status` on the shared instance (the median of [`STATUS_RUNS`]).
    pub status: Option<CommandRun>,
    /// `octoshare reconcile --once` on the shared instance: a cycle with nothing to do.
    pub reconcile_idle: Option<CommandRun>,
    /// `octoshare reconcile` serving a webhook.
    pub webhook: Option<WebhookResult>,
    /// `octoshare retire --worker` of one worker registered in every space.
    pub retire: Option<CommandRun>,
}

/// Which commands to measure, and on what.
#[derive(Debug, Clone, Copy)]
pub struct CommandsPlan {
    /// The shared instance of status, the idle cycle and retire.
    pub fleet: Fleet,
    /// The instance of the webhook measurement.
    pub webhook_fleet: Fleet,
    /// The build has `octoshare status`.
    pub status: bool,
    /// ... `octoshare reconcile`.
    pub reconcile: bool,
    /// ... `octoshare retire`.
    pub retire: bool,
}

/// Runs what the plan asks for.
pub fn run_commands(
    settings: &Settings,
    octoshare: &Path,
    plan: &CommandsPlan,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<CommandsResult> {
    let mut result = CommandsResult::default();
    let fleet = plan.fleet;
    let label = format!("S={} W={}", fleet.spaces, fleet.workers);
    if plan.status || plan.reconcile || plan.retire {
        let emulator = crate::bench::emulator(fleet.shared_scenario(settings.latency))?;
        if plan.status {
            let run = status(settings, octoshare, &emulator, fleet).context("octoshare status")?;
            progress(&format!("status {label}: {}", describe(&run)));
            result.status = Some(run);
        }
        if plan.reconcile {
            let run = reconcile_idle(settings, octoshare, &emulator, fleet)
                .context("octoshare reconcile --once")?;
            progress(&format!("reconcile idle cycle {label}: {}", describe(&run)));
            result.reconcile_idle = Some(run);
        }
        if plan.retire {
            let run = retire(settings, octoshare, &emulator, fleet).context("octoshare retire")?;
            progress(&format!("retire {label}: {}", describe(&run)));
            result.retire = Some(run);
        }
    }
    if plan.reconcile {
        let webhook = webhook(settings, octoshare, plan.webhook_fleet)
            .context("octoshare reconcile, webhook to shared")?;
        progress(&format!(
            "reconcile webhook to shared S={} W={}: {} ({} requests)",
            webhook.fleet.spaces,
            webhook.fleet.workers,
            crate::report::duration_ms(webhook.latency_ms),
            webhook.requests.total()
        ));
        result.webhook = Some(webhook);
    }
    Ok(result)
}

fn describe(run: &CommandRun) -> String {
    format!(
        "{} in {} ({} requests, {:.2}× the bound){}",
        if run.ok { "done" } else { "FAILED" },
        crate::report::duration_ms(run.phase.wall_ms),
        run.phase.requests.total(),
        run.ratio_to_bound(),
        run.problem
            .as_deref()
            .map(|problem| format!(": {problem}"))
            .unwrap_or_default()
    )
}

fn concurrency_args(settings: &Settings) -> Vec<String> {
    vec!["--concurrency".to_owned(), settings.concurrency.to_string()]
}

fn command_run(
    settings: &Settings,
    fleet: Fleet,
    requests: Requests,
    wall: Duration,
    exit_code: Option<i32>,
    problem: Option<String>,
) -> CommandRun {
    CommandRun {
        fleet,
        phase: Phase::new(requests, wall),
        exit_code,
        ok: problem.is_none(),
        problem,
        lower_bound_ms: lower_bound_ms(requests.total(), settings.concurrency, settings.latency),
    }
}

/// The document's `Error`, or the exit code.
fn failure(stdout: &str, exit_code: Option<i32>, what: &str) -> String {
    json_document(stdout, what)
        .ok()
        .and_then(|document| document["Error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("exit code {exit_code:?}"))
}

/// `octoshare status --worker-pool P --output json`: no drift, exit 0.
fn status(
    settings: &Settings,
    octoshare: &Path,
    emulator: &Emulator,
    fleet: Fleet,
) -> anyhow::Result<CommandRun> {
    let mut args: Vec<String> = ["status", "--worker-pool", POOL, "--output", "json"]
        .map(str::to_owned)
        .to_vec();
    args.extend(concurrency_args(settings));
    let launch = Launch {
        program: octoshare,
        args,
        env: connection_env(emulator),
        measurer: None,
    };
    let first = launch.run_to_end()?;
    let requests = take_requests(emulator)?;
    let mut walls = vec![first.wall];
    for _ in 1..STATUS_RUNS {
        let again = launch.run_to_end()?;
        let again_requests = take_requests(emulator)?;
        ensure!(
            again_requests == requests || again.exit_code != Some(0),
            "octoshare status made {} requests, then {}",
            requests.total(),
            again_requests.total()
        );
        walls.push(again.wall);
    }
    let problem = if first.exit_code == Some(0) {
        let document = json_document(&first.stdout, "octoshare status")?;
        (document["Drift"] != Value::Bool(false)).then(|| "the matrix shows drift".to_owned())
    } else {
        Some(failure(&first.stdout, first.exit_code, "octoshare status"))
    };
    Ok(command_run(
        settings,
        fleet,
        requests,
        median(&mut walls),
        first.exit_code,
        problem,
    ))
}

/// `octoshare reconcile --worker-pool P --once --output json`: nothing to do, no write.
fn reconcile_idle(
    settings: &Settings,
    octoshare: &Path,
    emulator: &Emulator,
    fleet: Fleet,
) -> anyhow::Result<CommandRun> {
    let mut args: Vec<String> = [
        "reconcile",
        "--worker-pool",
        POOL,
        "--once",
        "--output",
        "json",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(concurrency_args(settings));
    let run = Launch {
        program: octoshare,
        args,
        env: connection_env(emulator),
        measurer: None,
    }
    .run_to_end()?;
    let requests = take_requests(emulator)?;
    let problem = if run.exit_code != Some(0) {
        Some(failure(&run.stdout, run.exit_code, "octoshare reconcile"))
    } else if requests.writes() > 0 {
        Some(format!(
            "{} writes in a cycle with nothing to do",
            requests.writes()
        ))
    } else {
        None
    };
    Ok(command_run(
        settings,
        fleet,
        requests,
        run.wall,
        run.exit_code,
        problem,
    ))
}

/// `octoshare retire --worker worker-001 --worker-pool P --output json`: gone from every space.
fn retire(
    settings: &Settings,
    octoshare: &Path,
    emulator: &Emulator,
    fleet: Fleet,
) -> anyhow::Result<CommandRun> {
    let name = worker_seed(0).name().to_owned();
    let mut args: Vec<String> = [
        "retire",
        "--worker",
        &name,
        "--worker-pool",
        POOL,
        "--output",
        "json",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(concurrency_args(settings));
    let run = Launch {
        program: octoshare,
        args,
        env: connection_env(emulator),
        measurer: None,
    }
    .run_to_end()?;
    let requests = take_requests(emulator)?;
    let left: usize = (1..=fleet.spaces)
        .filter(|index| {
            emulator
                .workers(&format!("Spaces-{index}"))
                .iter()
                .any(|worker| worker["Name"] == name.as_str())
        })
        .count();
    let problem = if run.exit_code != Some(0) {
        Some(failure(&run.stdout, run.exit_code, "octoshare retire"))
    } else if left > 0 {
        Some(format!("{name} is still registered in {left} spaces"))
    } else {
        None
    };
    Ok(command_run(
        settings,
        fleet,
        requests,
        run.wall,
        run.exit_code,
        problem,
    ))
}

/// A child process killed when dropped.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The webhook's shared secret in the bench (the emulator's instance is the bench's own).
const WEBHOOK_TOKEN: &str = "octoshare-bench-webhook-token";
/// How long the bench waits for reconcile to start, or for a worker to be shared.
const PATIENCE: Duration = Duration::from_secs(300);

/// `octoshare reconcile --listen 127.0.0.1:0` on a shared instance; after its first cycle a new
/// worker joins the source pool and the bench sends `POST /webhook`, then measures until every
/// other space holds the worker.
fn webhook(settings: &Settings, octoshare: &Path, fleet: Fleet) -> anyhow::Result<WebhookResult> {
    let emulator = crate::bench::emulator(fleet.shared_scenario(settings.latency))?;
    let token_file = std::env::temp_dir().join(format!(
        "octoshare-bench-webhook-{}.token",
        std::process::id()
    ));
    std::fs::write(&token_file, WEBHOOK_TOKEN)
        .with_context(|| format!("cannot write {}", token_file.display()))?;
    let mut command = Command::new(octoshare);
    command
        .args([
            "reconcile",
            "--worker-pool",
            POOL,
            "--interval",
            "1h",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--webhook-token-file",
        ])
        .arg(&token_file)
        .args(concurrency_args(settings))
        .env_remove("OCTOPUS_ACCESS_TOKEN")
        .env_remove("OCTOSHARE_WEBHOOK_TOKEN")
        .envs(
            connection_env(&emulator)
                .iter()
                .map(|(name, value)| (*name, value.as_str())),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut running = Running {
        child: command
            .spawn()
            .with_context(|| format!("cannot run {}", octoshare.display()))?,
    };
    let lines = log_lines(&mut running.child)?;
    let url = wait_for_event(&lines, "Listening")?["Url"]
        .as_str()
        .context("the Listening line has no Url")?
        .to_owned();
    let startup = wait_for_event(&lines, "Cycle")?;
    ensure!(
        startup["Result"] == "Success",
        "reconcile's first cycle did not succeed: {startup}"
    );
    let _ = std::fs::remove_file(&token_file);

    let source = emulator.space_id("Space 0001").context("no first space")?;
    let new_worker = worker_seed(fleet.workers);
    let new_name = new_worker.name().to_owned();
    emulator.add_worker(&source, new_worker);
    emulator.clear_requests();
    let started = Instant::now();
    post_webhook(&url)?;
    let targets = fleet.target_spaces();
    let latency = loop {
        let created = emulator
            .requests()
            .iter()
            .filter(|request| request.method == "POST" && (200..300).contains(&request.status))
            .count();
        if created >= targets {
            break started.elapsed();
        }
        ensure!(
            started.elapsed() < PATIENCE,
            "{new_name} was shared into {created} of {targets} spaces in {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let requests = Requests::from_log(&emulator.requests());
    let cycle = wait_for_event(&lines, "Cycle")?;
    for index in 2..=fleet.spaces {
        let id = format!("Spaces-{index}");
        ensure!(
            emulator
                .workers(&id)
                .iter()
                .any(|worker| worker["Name"] == new_name.as_str()),
            "{id} does not hold {new_name} after the webhook's cycle"
        );
    }
    drop(running);
    Ok(WebhookResult {
        fleet,
        latency_ms: latency.as_secs_f64() * 1000.0,
        requests,
        lower_bound_ms: lower_bound_ms(requests.total(), settings.concurrency, settings.latency),
        cycle_ms: cycle["DurationMs"].as_f64(),
    })
}

/// The child's stdout, line by line, through a channel (read by a thread).
fn log_lines(child: &mut Child) -> anyhow::Result<Receiver<String>> {
    let stdout = child.stdout.take().context("reconcile's stdout")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    Ok(receiver)
}

/// The next JSON log line whose `Event` is `event`.
fn wait_for_event(lines: &Receiver<String>, event: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && value["Event"] == event
                {
                    return Ok(value);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                bail!("no {event} line from reconcile in {PATIENCE:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                bail!("reconcile ended before its {event} line")
            }
        }
    }
}

/// `POST {url}webhook` with the token; expects 202.
fn post_webhook(url: &str) -> anyhow::Result<()> {
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream =
        TcpStream::connect(&address).with_context(|| format!("cannot connect to {address}"))?;
    let request = format!(
        "POST /webhook HTTP/1.1\r\nHost: {address}\r\nX-OctoShare-Webhook-Token: {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    ensure!(
        status == "202",
        "POST /webhook answered {status}, expected 202"
    );
    Ok(())
}
