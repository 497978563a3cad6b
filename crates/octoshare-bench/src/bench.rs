//! Running the scenarios: the runbook's algorithm in-process, octoshare's real release binaries as
//! child processes, each against a fresh emulator with a fixed latency per request.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::StreamExt as _;
use octopus_emulator::{ConcurrencyLimit, Emulator};
use octoshare_core::{Client, Credentials, RetryPolicy, Secret, ServerUrl};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::baseline;
use crate::commands::{CommandsPlan, CommandsResult, run_commands};
use crate::fleet::{Fleet, POOL};
use crate::measure::{Launch, Requests, median, take_requests};

/// Octoshare's default `--concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Latency the emulator adds to every request.
    pub latency: Duration,
    /// `--concurrency` given to octoshare (and used for the lower bound).
    pub concurrency: usize,
    /// The sizes to run, in order.
    pub fleets: Vec<Fleet>,
    /// Where the release binaries are (`octoshare`, `octoshare-discover`, `octoshare-share`).
    pub bin_dir: PathBuf,
    /// The `octoshare-bench` binary, whose `measure-rss` subcommand measures peak RSS; `None`
    /// runs without RSS figures.
    pub measurer: Option<PathBuf>,
    /// How many `octoshare-share --version` runs the start-up time is the median of (0: none).
    pub startup_runs: usize,
    /// Run the runbook's algorithm (the yardstick).
    pub baseline: bool,
    /// Run the throttled scenario ([`run_throttled`]).
    pub throttled: bool,
    /// Measure status, reconcile and retire where built ([`crate::commands`]).
    pub commands: bool,
    /// The shared instance status, the idle reconcile cycle and retire run on.
    pub commands_fleet: Fleet,
}

/// One phase: requests the server saw and wall time.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phase {
    /// Requests, by method.
    pub requests: Requests,
    /// Wall time in milliseconds.
    pub wall_ms: f64,
}

impl Phase {
    pub(crate) fn new(requests: Requests, wall: Duration) -> Phase {
        Phase {
            requests,
            wall_ms: wall.as_secs_f64() * 1000.0,
        }
    }

    /// The sum of two sequential phases.
    fn then(&self, next: &Phase) -> Phase {
        let (a, b) = (self.requests, next.requests);
        Phase {
            requests: Requests {
                get: a.get + b.get,
                post: a.post + b.post,
                put: a.put + b.put,
                delete: a.delete + b.delete,
                not_ok: a.not_ok + b.not_ok,
                too_many_requests: a.too_many_requests + b.too_many_requests,
                peak_in_flight: a.peak_in_flight.max(b.peak_in_flight),
            },
            wall_ms: self.wall_ms + next.wall_ms,
        }
    }
}

/// A phase run as a child process, with its peak RSS.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessPhase {
    /// Requests and wall time.
    #[serde(flatten)]
    pub phase: Phase,
    /// Peak resident set size of the process in KiB.
    pub max_rss_kib: Option<u64>,
}

/// The runbook's algorithm on one fleet.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineResult {
    /// "Get Space List".
    pub discover: Phase,
    /// "Add workers to remaining spaces".
    pub share: Phase,
    /// Both.
    pub total: Phase,
}

/// How the full octoshare run was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunMode {
    /// `octoshare run --worker-pool P` (one process).
    OctoshareRun,
    /// `octoshare-discover`, then `octoshare-share` (two processes; the orchestrator binary
    /// was not available).
    DiscoverThenShare,
}

impl RunMode {
    /// How the mode is shown.
    pub fn describe(self) -> &'static str {
        match self {
            RunMode::OctoshareRun => "`octoshare run --worker-pool P` (one process)",
            RunMode::DiscoverThenShare => {
                "`octoshare-discover` then `octoshare-share` (two processes; `octoshare run` was not built)"
            }
        }
    }
}

/// octoshare on one fleet.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OctoshareResult {
    /// The full run (discover + share), the figure compared with the runbook.
    pub run: ProcessPhase,
    /// `octoshare-discover` alone.
    pub discover: Phase,
    /// `octoshare-share` alone, first run (creates every worker).
    pub share: ProcessPhase,
    /// `octoshare-share` again: nothing to do.
    pub rerun: ProcessPhase,
    /// `octoshare run` again: nothing to do (absent when `octoshare run` was not built).
    pub run_rerun: Option<ProcessPhase>,
}

/// Everything measured on one fleet.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    /// The size.
    pub fleet: Fleet,
    /// The runbook's algorithm (absent with `--no-baseline`).
    pub baseline: Option<BaselineResult>,
    /// octoshare.
    pub octoshare: OctoshareResult,
    /// `ceil(octoshare run's requests / concurrency) × latency`, in milliseconds.
    pub lower_bound_ms: f64,
}

impl ScenarioResult {
    /// Baseline time / octoshare run time.
    pub fn speedup(&self) -> Option<f64> {
        self.baseline
            .map(|baseline| baseline.total.wall_ms / self.octoshare.run.phase.wall_ms)
    }

    /// octoshare run time / lower bound.
    pub fn ratio_to_bound(&self) -> f64 {
        if self.lower_bound_ms > 0.0 {
            self.octoshare.run.phase.wall_ms / self.lower_bound_ms
        } else {
            f64::NAN
        }
    }
}

/// A check that the emulator is not what limits octoshare: many concurrent GETs from one
/// client, their time against `ceil(requests / concurrency) × latency`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Calibration {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests sent.
    pub requests: u64,
    /// Wall time in milliseconds.
    pub wall_ms: f64,
    /// The lower bound in milliseconds.
    pub lower_bound_ms: f64,
    /// The most requests the emulator had in flight at one time.
    pub peak_in_flight: u64,
}

/// The server of the throttled scenario serves at most this many requests at once.
pub const THROTTLE_CAP: u32 = 4;
/// ... and refuses the others with 429 and this `Retry-After`, in seconds.
pub const THROTTLE_RETRY_AFTER_SECONDS: u64 = 1;
/// The size the throttled scenario runs at.
pub const THROTTLED_FLEET: Fleet = Fleet {
    spaces: 200,
    workers: 10,
};

/// `octoshare run` against the throttled server, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottledRun {
    /// Requests (the refused ones included) and wall time.
    #[serde(flatten)]
    pub phase: ProcessPhase,
    /// The run's exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// The run's failure line, if it failed.
    pub error: Option<String>,
    /// Whether every target space holds every worker afterwards.
    pub all_shared: bool,
    /// `ceil(requests the server served / cap) × latency`, in milliseconds.
    pub lower_bound_ms: f64,
    /// The most requests the server admitted at one time (at most the cap).
    pub server_peak_in_flight: usize,
}

impl ThrottledRun {
    /// Requests the server served (not refused by the cap).
    pub fn served(&self) -> u64 {
        let requests = self.phase.phase.requests;
        requests.total() - requests.too_many_requests
    }

    /// Whether the run did everything: exit code 0 and every worker shared.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && self.all_shared
    }

    /// Wall time / lower bound.
    pub fn ratio_to_bound(&self) -> f64 {
        self.phase.phase.wall_ms / self.lower_bound_ms
    }
}

/// `octoshare run` against a server that serves at most [`THROTTLE_CAP`] requests at once and
/// refuses the others with 429 and `Retry-After`: with the adaptive limit (the default) and
/// with it fixed (`--fixed-concurrency`, the behaviour before).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottledResult {
    /// The size.
    pub fleet: Fleet,
    /// The server's cap.
    pub cap: u32,
    /// Its `Retry-After`, in seconds.
    pub retry_after_seconds: u64,
    /// Adaptive concurrency (the default).
    pub adaptive: ThrottledRun,
    /// `--fixed-concurrency`.
    pub fixed: ThrottledRun,
}

/// The size the webhook-to-shared latency is measured at.
pub const WEBHOOK_FLEET: Fleet = Fleet {
    spaces: 200,
    workers: 10,
};

/// The commands of `octoshare` the bench measures when the build has them.
pub const MEASURED_COMMANDS: [&str; 3] = ["status", "reconcile", "retire"];

/// A command of `octoshare` the bench looks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandPresence {
    /// The subcommand.
    pub name: String,
    /// Whether this build has it.
    pub built: bool,
}

/// Size of one release binary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BinarySize {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Start-up time of `octoshare-share --version`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Startup {
    /// How many runs.
    pub runs: usize,
    /// Median wall time in milliseconds.
    pub median_ms: f64,
    /// Fastest run in milliseconds.
    pub min_ms: f64,
}

/// Everything one bench run measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurements {
    /// How octoshare's full run was made.
    pub run_mode: RunMode,
    /// Per fleet, in run order.
    pub scenarios: Vec<ScenarioResult>,
    /// The throttled server (absent when not run).
    pub throttled: Option<ThrottledResult>,
    /// Which of [`MEASURED_COMMANDS`] this build has.
    #[serde(default)]
    pub commands: Vec<CommandPresence>,
    /// What they measured.
    #[serde(default)]
    pub command_runs: CommandsResult,
    /// Emulator throughput checks.
    pub calibration: Vec<Calibration>,
    /// Release binary sizes.
    pub binaries: Vec<BinarySize>,
    /// Start-up time.
    pub startup: Option<Startup>,
}

/// The release binaries the bench runs.
#[derive(Debug, Clone)]
struct Binaries {
    octoshare: Option<PathBuf>,
    discover: PathBuf,
    share: PathBuf,
}

impl Binaries {
    fn find(dir: &Path) -> anyhow::Result<Binaries> {
        let path = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        let required = |name: &str| -> anyhow::Result<PathBuf> {
            let file = path(name);
            ensure!(
                file.is_file(),
                "{} not found: build it first (cargo xtask bench builds every binary with --release)",
                file.display()
            );
            Ok(file)
        };
        let discover = required("octoshare-discover")?;
        let share = required("octoshare-share")?;
        let octoshare = path("octoshare");
        let octoshare =
            (octoshare.is_file() && has_run_subcommand(&octoshare)).then_some(octoshare);
        Ok(Binaries {
            octoshare,
            discover,
            share,
        })
    }
}

/// Whether `octoshare NAME --help` succeeds.
fn has_subcommand(octoshare: &Path, name: &str) -> bool {
    std::process::Command::new(octoshare)
        .args([name, "--help"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether `octoshare run --help` documents `--worker-pool` (the orchestrator is built).
fn has_run_subcommand(octoshare: &Path) -> bool {
    std::process::Command::new(octoshare)
        .args(["run", "--help"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|output| {
            output.status.success()
                && String::from_utf8_lossy(&output.stdout).contains("--worker-pool")
        })
}

/// Runs every scenario; `progress` receives one line per finished step.
pub fn run(settings: &Settings, progress: &mut dyn FnMut(&str)) -> anyhow::Result<Measurements> {
    ensure!(
        settings.concurrency >= 1,
        "the concurrency must be at least 1"
    );
    let binaries = Binaries::find(&settings.bin_dir)?;
    let run_mode = if binaries.octoshare.is_some() {
        RunMode::OctoshareRun
    } else {
        progress(
            "note: `octoshare run` is not built: the full run is octoshare-discover then octoshare-share",
        );
        RunMode::DiscoverThenShare
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot build the bench's tokio runtime")?;

    let mut calibration = Vec::new();
    for concurrency in [settings.concurrency, settings.concurrency * 4] {
        let check = calibrate(&runtime, settings.latency, concurrency)?;
        progress(&format!(
            "emulator check: {} GETs {} at a time in {:.0} ms (lower bound {:.0} ms, peak in flight {})",
            check.requests,
            check.concurrency,
            check.wall_ms,
            check.lower_bound_ms,
            check.peak_in_flight
        ));
        calibration.push(check);
    }

    let mut scenarios = Vec::new();
    let total = settings.fleets.len();
    for (index, fleet) in settings.fleets.iter().enumerate() {
        let label = format!(
            "[{}/{total}] S={} W={}",
            index + 1,
            fleet.spaces,
            fleet.workers
        );
        let baseline = if settings.baseline {
            let result = run_baseline(&runtime, settings.latency, fleet)
                .with_context(|| format!("{label}: the runbook baseline"))?;
            progress(&format!(
                "{label}: runbook {} in {} ({} requests)",
                "baseline",
                crate::report::duration_ms(result.total.wall_ms),
                result.total.requests.total()
            ));
            Some(result)
        } else {
            None
        };
        let octoshare = run_octoshare(settings, &binaries, fleet)
            .with_context(|| format!("{label}: octoshare"))?;
        let lower_bound_ms = lower_bound_ms(
            octoshare.run.phase.requests.total(),
            settings.concurrency,
            settings.latency,
        );
        let result = ScenarioResult {
            fleet: *fleet,
            baseline,
            octoshare,
            lower_bound_ms,
        };
        progress(&format!(
            "{label}: octoshare {} ({} requests, {:.2}× the lower bound){}; re-run {} ({} GETs, {} writes)",
            crate::report::duration_ms(octoshare.run.phase.wall_ms),
            octoshare.run.phase.requests.total(),
            result.ratio_to_bound(),
            result
                .speedup()
                .map(|speedup| format!(", {speedup:.1}× faster than the runbook"))
                .unwrap_or_default(),
            crate::report::duration_ms(octoshare.rerun.phase.wall_ms),
            octoshare.rerun.phase.requests.get,
            octoshare.rerun.phase.requests.writes(),
        ));
        scenarios.push(result);
    }

    let throttled = match (&binaries.octoshare, settings.throttled) {
        (Some(octoshare), true) => {
            let result = run_throttled(settings, octoshare)
                .context("the throttled scenario (octoshare run)")?;
            for (mode, run) in [("adaptive", &result.adaptive), ("fixed", &result.fixed)] {
                progress(&format!(
                    "throttled S={} W={} (cap {}, Retry-After {} s), {mode}: {} in {} ({} refused, {:.2}× the bound)",
                    result.fleet.spaces,
                    result.fleet.workers,
                    result.cap,
                    result.retry_after_seconds,
                    if run.succeeded() {
                        "done".to_owned()
                    } else {
                        format!(
                            "FAILED ({})",
                            run.error.as_deref().unwrap_or("not every worker shared")
                        )
                    },
                    crate::report::duration_ms(run.phase.phase.wall_ms),
                    run.phase.phase.requests.too_many_requests,
                    run.ratio_to_bound(),
                ));
            }
            Some(result)
        }
        (None, true) => {
            progress("note: `octoshare run` is not built: no throttled scenario");
            None
        }
        (_, false) => None,
    };

    let binaries_sizes = binary_sizes(&settings.bin_dir);
    let startup = (settings.startup_runs > 0)
        .then(|| startup_time(&binaries.share, settings.startup_runs))
        .transpose()?;
    let commands: Vec<CommandPresence> = MEASURED_COMMANDS
        .iter()
        .map(|name| CommandPresence {
            name: (*name).to_owned(),
            built: binaries
                .octoshare
                .as_deref()
                .is_some_and(|octoshare| has_subcommand(octoshare, name)),
        })
        .collect();
    let built = |name: &str| {
        commands
            .iter()
            .any(|command| command.name == name && command.built)
    };
    let command_runs = match (&binaries.octoshare, settings.commands) {
        (Some(octoshare), true) => {
            let plan = CommandsPlan {
                fleet: settings.commands_fleet,
                webhook_fleet: WEBHOOK_FLEET,
                status: built("status"),
                reconcile: built("reconcile"),
                retire: built("retire"),
            };
            run_commands(settings, octoshare, &plan, progress)?
        }
        _ => CommandsResult::default(),
    };
    Ok(Measurements {
        run_mode,
        scenarios,
        throttled,
        commands,
        command_runs,
        calibration,
        binaries: binaries_sizes,
        startup,
    })
}

/// `ceil(requests / concurrency) × latency` in milliseconds.
pub fn lower_bound_ms(requests: u64, concurrency: usize, latency: Duration) -> f64 {
    let rounds = requests.div_ceil(concurrency.max(1) as u64);
    rounds as f64 * latency.as_secs_f64() * 1000.0
}

fn start_emulator(fleet: &Fleet, latency: Duration) -> anyhow::Result<Emulator> {
    emulator(fleet.scenario(latency))
}

/// An emulator serving on as many threads as the machine has cores, as a server handles
/// requests in parallel (with one thread the answers of a round of concurrent requests would
/// be handled one after another and counted against the client).
pub(crate) fn emulator(scenario: octopus_emulator::Scenario) -> anyhow::Result<Emulator> {
    Emulator::start_threaded(scenario, emulator_threads()).context("cannot start the emulator")
}

/// The threads the bench's emulators serve on: the machine's cores.
pub fn emulator_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A client for the emulator that sends up to `concurrency` requests at once.
fn client_for(emulator: &Emulator, concurrency: usize) -> anyhow::Result<Client> {
    let server = ServerUrl::parse(&emulator.url())?;
    let credentials = Credentials::ApiKey(Secret::new(emulator.api_key()));
    Ok(Client::builder(server, credentials)
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        })
        .concurrency(concurrency)
        .build()?)
}

/// How many times the runbook's discovery runs per fleet; its time is the median.
pub const BASELINE_DISCOVER_RUNS: usize = 3;

/// The runbook's algorithm against a fresh emulator, checked to have shared every worker.
pub fn run_baseline(
    runtime: &tokio::runtime::Runtime,
    latency: Duration,
    fleet: &Fleet,
) -> anyhow::Result<BaselineResult> {
    let emulator = start_emulator(fleet, latency)?;
    // One request at a time, as the runbook does.
    let client = client_for(&emulator, 1)?;

    // Its discovery is read-only: its time is the median of BASELINE_DISCOVER_RUNS runs, as
    // octoshare-discover's is, since discover's slope is fitted from both.
    let mut phases = Vec::with_capacity(BASELINE_DISCOVER_RUNS);
    let mut discovered = None;
    for _ in 0..BASELINE_DISCOVER_RUNS {
        let started = Instant::now();
        let discovery = runtime
            .block_on(baseline::discover(&client, POOL))?
            .context("the runbook found no space with the pool")?;
        phases.push(Phase::new(take_requests(&emulator)?, started.elapsed()));
        discovered.get_or_insert(discovery);
    }
    let discovery = discovered.context("the runbook's discovery did not run")?;
    let discover = median_phase(&phases, "the runbook's discovery")?;

    let started = Instant::now();
    let shared = runtime.block_on(baseline::share(&client, &discovery, POOL))?;
    let share = Phase::new(take_requests(&emulator)?, started.elapsed());

    ensure!(
        discovery.remaining_space_ids.len() == fleet.target_spaces(),
        "the runbook found {} remaining spaces, expected {}",
        discovery.remaining_space_ids.len(),
        fleet.target_spaces()
    );
    ensure!(
        shared.failed == 0 && shared.created == fleet.workers * fleet.target_spaces(),
        "the runbook created {} workers ({} failed), expected {}",
        shared.created,
        shared.failed,
        fleet.workers * fleet.target_spaces()
    );
    check_shared(&emulator, fleet)?;
    Ok(BaselineResult {
        discover,
        share,
        total: discover.then(&share),
    })
}

/// Every target space holds exactly the fleet's workers.
fn check_shared(emulator: &Emulator, fleet: &Fleet) -> anyhow::Result<()> {
    for index in 2..=fleet.spaces {
        let id = format!("Spaces-{index}");
        let workers = emulator.workers(&id).len();
        ensure!(
            workers == fleet.workers,
            "{id} holds {workers} workers after sharing, expected {}",
            fleet.workers
        );
    }
    Ok(())
}

pub(crate) fn connection_env(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("OCTOPUS_URL", emulator.url()),
        ("OCTOPUS_API_KEY", emulator.api_key()),
    ]
}

fn concurrency_args(settings: &Settings) -> Vec<String> {
    if settings.concurrency == DEFAULT_CONCURRENCY {
        Vec::new()
    } else {
        vec!["--concurrency".to_owned(), settings.concurrency.to_string()]
    }
}

pub(crate) fn json_document(stdout: &str, what: &str) -> anyhow::Result<Value> {
    serde_json::from_str(stdout.trim())
        .with_context(|| format!("{what} did not print one JSON document on stdout"))
}

/// How many times `octoshare-discover` runs per fleet; its time is the median.
pub const DISCOVER_RUNS: usize = 5;

/// octoshare's binaries against fresh emulators: discover, share, share again, and the full run.
fn run_octoshare(
    settings: &Settings,
    binaries: &Binaries,
    fleet: &Fleet,
) -> anyhow::Result<OctoshareResult> {
    let measurer = settings.measurer.as_deref();
    let emulator = start_emulator(fleet, settings.latency)?;
    let env = connection_env(&emulator);

    let mut args = vec![
        "--worker-pool".to_owned(),
        POOL.to_owned(),
        "--output".to_owned(),
        "json".to_owned(),
    ];
    args.extend(concurrency_args(settings));
    let discover_launch = Launch {
        program: &binaries.discover,
        args,
        env: env.clone(),
        measurer: None,
    };
    let discovered = discover_launch.run()?;
    // A discover is short (50 ms to 1.5 s) and read-only: its time is the median of
    // DISCOVER_RUNS runs, since one run of a short process on a shared machine varies by ±10 %
    // and discover's slope is fitted from these times.
    let mut phases = vec![Phase::new(take_requests(&emulator)?, discovered.wall)];
    for _ in 1..DISCOVER_RUNS {
        let again = discover_launch.run()?;
        phases.push(Phase::new(take_requests(&emulator)?, again.wall));
    }
    let discover = median_phase(&phases, "octoshare-discover")?;
    let document = json_document(&discovered.stdout, "octoshare-discover")?;
    let initial = document["InitialSpaceId"]
        .as_str()
        .context("octoshare-discover printed no InitialSpaceId")?
        .to_owned();
    let remaining: Vec<&str> = document["RemainingSpaceIds"]
        .as_array()
        .context("octoshare-discover printed no RemainingSpaceIds list")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        remaining.len() == fleet.target_spaces(),
        "octoshare-discover found {} remaining spaces, expected {}",
        remaining.len(),
        fleet.target_spaces()
    );

    let mut share_args = vec![
        "--from-space".to_owned(),
        initial,
        "--to-spaces".to_owned(),
        remaining.join(","),
        "--worker-pool".to_owned(),
        POOL.to_owned(),
        "--output".to_owned(),
        "json".to_owned(),
    ];
    share_args.extend(concurrency_args(settings));
    let share_launch = Launch {
        program: &binaries.share,
        args: share_args,
        env: env.clone(),
        measurer,
    };
    let first = share_launch.run()?;
    let share = ProcessPhase {
        phase: Phase::new(take_requests(&emulator)?, first.wall),
        max_rss_kib: first.max_rss_kib,
    };
    check_shared(&emulator, fleet).context("after octoshare-share")?;
    let again = share_launch.run()?;
    let rerun = ProcessPhase {
        phase: Phase::new(take_requests(&emulator)?, again.wall),
        max_rss_kib: again.max_rss_kib,
    };
    drop(emulator);

    let (run, run_rerun) = match &binaries.octoshare {
        Some(octoshare) => {
            // The figure compared with the runbook and the bound: the median of RUN_RUNS
            // runs, each on a fresh emulator (a first run changes the instance), each followed
            // by its re-run. Every run must make the same requests.
            let mut firsts = Vec::with_capacity(RUN_RUNS);
            let mut reruns = Vec::with_capacity(RUN_RUNS);
            for _ in 0..RUN_RUNS {
                let emulator = start_emulator(fleet, settings.latency)?;
                let mut args = run_args();
                args.extend(concurrency_args(settings));
                let launch = Launch {
                    program: octoshare,
                    args,
                    env: connection_env(&emulator),
                    measurer,
                };
                let full = launch.run()?;
                let phase = Phase::new(take_requests(&emulator)?, full.wall);
                check_shared(&emulator, fleet).context("after octoshare run")?;
                let again = launch.run()?;
                let rerun_phase = Phase::new(take_requests(&emulator)?, again.wall);
                check_shared(&emulator, fleet).context("after octoshare run's re-run")?;
                firsts.push(ProcessPhase {
                    phase,
                    max_rss_kib: full.max_rss_kib,
                });
                reruns.push(ProcessPhase {
                    phase: rerun_phase,
                    max_rss_kib: again.max_rss_kib,
                });
            }
            (
                median_process_phase(&firsts, "octoshare run")?,
                Some(median_process_phase(&reruns, "octoshare run's re-run")?),
            )
        }
        None => (
            ProcessPhase {
                phase: discover.then(&share.phase),
                max_rss_kib: share.max_rss_kib,
            },
            None,
        ),
    };
    Ok(OctoshareResult {
        run,
        discover,
        share,
        rerun,
        run_rerun,
    })
}

/// How many times `octoshare run` (and its re-run) runs per fleet; its time is the median.
pub const RUN_RUNS: usize = 3;

/// One phase for several runs of the same thing: their median wall time and the highest peak in
/// flight. An error when two runs made different requests (the figures would not describe one
/// run); the peak in flight may differ.
fn median_phase(phases: &[Phase], what: &str) -> anyhow::Result<Phase> {
    let reference = phases
        .first()
        .with_context(|| format!("no run of {what}"))?
        .requests;
    let same = |requests: &Requests| Requests {
        peak_in_flight: 0,
        ..*requests
    };
    let mut walls = Vec::with_capacity(phases.len());
    for phase in phases {
        ensure!(
            same(&phase.requests) == same(&reference),
            "{what} made {reference:?}, then {:?} on the same fleet",
            phase.requests
        );
        walls.push(Duration::from_secs_f64(phase.wall_ms / 1000.0));
    }
    let requests = Requests {
        peak_in_flight: phases
            .iter()
            .map(|phase| phase.requests.peak_in_flight)
            .max()
            .unwrap_or_default(),
        ..reference
    };
    Ok(Phase::new(requests, median(&mut walls)))
}

/// [`median_phase`] of processes, with the largest peak RSS.
fn median_process_phase(phases: &[ProcessPhase], what: &str) -> anyhow::Result<ProcessPhase> {
    let inner: Vec<Phase> = phases.iter().map(|phase| phase.phase).collect();
    Ok(ProcessPhase {
        phase: median_phase(&inner, what)?,
        max_rss_kib: phases.iter().filter_map(|phase| phase.max_rss_kib).max(),
    })
}

/// `octoshare run --worker-pool P --output json`.
fn run_args() -> Vec<String> {
    vec![
        "run".to_owned(),
        "--worker-pool".to_owned(),
        POOL.to_owned(),
        "--output".to_owned(),
        "json".to_owned(),
    ]
}

/// `octoshare run` on [`THROTTLED_FLEET`] against a server serving at most [`THROTTLE_CAP`]
/// requests at once (the others: 429 with `Retry-After`), adaptive then fixed, each on a fresh
/// emulator. A failed run is recorded, not an error.
pub fn run_throttled(settings: &Settings, octoshare: &Path) -> anyhow::Result<ThrottledResult> {
    let fleet = THROTTLED_FLEET;
    let once = |extra: &[&str]| -> anyhow::Result<ThrottledRun> {
        let scenario = fleet.scenario(settings.latency).concurrency_limit(
            ConcurrencyLimit::reject(THROTTLE_CAP).retry_after(THROTTLE_RETRY_AFTER_SECONDS),
        );
        let emulator = emulator(scenario)?;
        let mut args = run_args();
        args.extend(concurrency_args(settings));
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let run = Launch {
            program: octoshare,
            args,
            env: connection_env(&emulator),
            measurer: settings.measurer.as_deref(),
        }
        .run_to_end()?;
        let requests = take_requests(&emulator)?;
        let served = requests.total() - requests.too_many_requests;
        let error = (run.exit_code != Some(0)).then(|| {
            json_document(&run.stdout, "octoshare run")
                .ok()
                .and_then(|document| document["Error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("exit code {:?}", run.exit_code))
        });
        Ok(ThrottledRun {
            phase: ProcessPhase {
                phase: Phase::new(requests, run.wall),
                max_rss_kib: run.max_rss_kib,
            },
            exit_code: run.exit_code,
            error,
            all_shared: check_shared(&emulator, &fleet).is_ok(),
            lower_bound_ms: lower_bound_ms(served, THROTTLE_CAP as usize, settings.latency),
            server_peak_in_flight: emulator.peak_in_flight(),
        })
    };
    Ok(ThrottledResult {
        fleet,
        cap: THROTTLE_CAP,
        retry_after_seconds: THROTTLE_RETRY_AFTER_SECONDS,
        adaptive: once(&[])?,
        fixed: once(&["--fixed-concurrency"])?,
    })
}

/// `requests` GETs, `concurrency` at a time, from one octoshare-core client in this process.
fn calibrate(
    runtime: &tokio::runtime::Runtime,
    latency: Duration,
    concurrency: usize,
) -> anyhow::Result<Calibration> {
    let fleet = Fleet {
        spaces: 1,
        workers: 0,
    };
    let emulator = start_emulator(&fleet, latency)?;
    let client = client_for(&emulator, concurrency)?;
    let requests = (concurrency * 40) as u64;
    let started = Instant::now();
    let failures = runtime.block_on(async {
        futures::stream::iter(0..requests)
            .map(|_| client.get_json::<Value>("/api/Spaces-1/workerpools/all"))
            .buffer_unordered(concurrency)
            .filter(|result| std::future::ready(result.is_err()))
            .count()
            .await
    });
    let wall = started.elapsed();
    if failures > 0 {
        bail!("{failures} of {requests} calibration requests failed");
    }
    let seen = take_requests(&emulator)?;
    Ok(Calibration {
        concurrency,
        requests,
        wall_ms: wall.as_secs_f64() * 1000.0,
        lower_bound_ms: lower_bound_ms(requests, concurrency, latency),
        peak_in_flight: seen.peak_in_flight,
    })
}

fn binary_sizes(dir: &Path) -> Vec<BinarySize> {
    [
        "octoshare",
        "octoshare-discover",
        "octoshare-wait",
        "octoshare-share",
    ]
    .iter()
    .filter_map(|name| {
        let file = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        let bytes = std::fs::metadata(&file).ok()?.len();
        Some(BinarySize {
            name: (*name).to_owned(),
            bytes,
        })
    })
    .collect()
}

fn startup_time(share: &Path, runs: usize) -> anyhow::Result<Startup> {
    let launch = Launch {
        program: share,
        args: vec!["--version".to_owned()],
        env: Vec::new(),
        measurer: None,
    };
    // One warm-up run: the first exec after a build pays for reading the file from disk.
    launch.run()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(launch.run()?.wall);
    }
    let min = times.iter().min().copied().unwrap_or_default();
    let median = median(&mut times);
    Ok(Startup {
        runs,
        median_ms: median.as_secs_f64() * 1000.0,
        min_ms: min.as_secs_f64() * 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(get: u64, peak_in_flight: u64, wall_ms: f64, max_rss_kib: u64) -> ProcessPhase {
        ProcessPhase {
            phase: Phase {
                requests: Requests {
                    get,
                    peak_in_flight,
                    ..Requests::default()
                },
                wall_ms,
            },
            max_rss_kib: Some(max_rss_kib),
        }
    }

    #[test]
    fn runs_are_summed_up_by_their_median_time_and_their_highest_peaks() {
        let runs = [
            phase(10, 16, 300.0, 900),
            phase(10, 14, 100.0, 1_200),
            phase(10, 15, 200.0, 1_000),
        ];
        let summary = median_process_phase(&runs, "x").unwrap();
        assert_eq!(summary.phase.wall_ms, 200.0);
        assert_eq!(summary.phase.requests.get, 10);
        assert_eq!(summary.phase.requests.peak_in_flight, 16);
        assert_eq!(summary.max_rss_kib, Some(1_200));
    }

    #[test]
    fn runs_that_made_different_requests_are_an_error() {
        let runs = [phase(10, 16, 300.0, 900), phase(11, 16, 100.0, 900)];
        let error = median_process_phase(&runs, "octoshare run").unwrap_err();
        assert!(
            error.to_string().starts_with("octoshare run made"),
            "{error}"
        );
        assert!(median_phase(&[], "x").is_err());
    }
}
