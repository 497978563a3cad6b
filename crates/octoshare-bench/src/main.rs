//! `octoshare-bench`: octoshare against the original runbook's algorithm on the emulator; run it
//! through `cargo xtask bench`, which builds every binary with `--release` first.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use clap::Parser;
use octoshare_bench::bench::{self, DEFAULT_CONCURRENCY};
use octoshare_bench::measure::{MEASURE_RSS_SUBCOMMAND, measure_rss_main};
use octoshare_bench::report::{self, BenchReport, Machine, PreviousRun};
use octoshare_bench::{Fleet, Settings};

const SPACES: [usize; 4] = [10, 50, 200, 1000];
const WORKERS: [usize; 3] = [3, 10, 50];
/// `--quick` keeps the sizes up to these.
const QUICK_MAX_SPACES: usize = 200;
const QUICK_MAX_WORKERS: usize = 10;
/// Workers of the shared instance the commands run on.
const COMMAND_WORKERS: usize = 10;

/// Benchmark octoshare against the original runbook's algorithm on the Octopus emulator.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask bench", version, about, long_about = None)]
struct Args {
    /// Latency the emulator adds to every request, e.g. 20ms, 5ms, 0ms
    #[arg(long, value_name = "DURATION", default_value = "20ms", value_parser = parse_latency)]
    latency: Duration,

    /// Skip the largest sizes (S=1000, W=50); a few minutes instead of about an hour
    #[arg(long)]
    quick: bool,

    /// Space counts (comma-separated) [default: 10,50,200,1000; 10,50,200 with --quick]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    spaces: Vec<usize>,

    /// Worker counts (comma-separated) [default: 3,10,50; 3,10 with --quick]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    workers: Vec<usize>,

    /// octoshare's --concurrency, also used for the lower bound
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY)]
    concurrency: usize,

    /// Skip the runbook baseline (octoshare's figures only)
    #[arg(long)]
    no_baseline: bool,

    /// Skip the throttled scenario (a server serving 4 requests at once)
    #[arg(long)]
    no_throttled: bool,

    /// Skip status, reconcile and retire
    #[arg(long)]
    no_commands: bool,

    /// Spaces of the shared instance status, reconcile's idle cycle and retire run on [default: 1000; 200 with --quick]
    #[arg(long, value_name = "N")]
    command_spaces: Option<usize>,

    /// Results of the run to compare with [default: bench/results.json, read before it is replaced]
    #[arg(long, value_name = "PATH")]
    previous: Option<PathBuf>,

    /// Directory of the release binaries [default: this binary's directory]
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,

    /// JSON results [default: bench/results.json; bench/results-quick.json with --quick]
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,

    /// Markdown file whose generated part is replaced [default: BENCHMARKS.md; none with --quick]
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,

    /// Write no file, only print the table
    #[arg(long)]
    no_write: bool,

    /// Runs of `octoshare-share --version` the start-up time is the median of
    #[arg(long, value_name = "N", default_value_t = 20)]
    startup_runs: usize,
}

fn parse_latency(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "ms"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 20ms or 1s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        _ => Err(format!("'{text}': use ms or s, e.g. 20ms")),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(MEASURE_RSS_SUBCOMMAND) {
        return match measure_rss_main(&argv[2..]) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(1)
            }
        };
    }
    let args = Args::parse();
    match bench_main(args, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench_main(args: Args, argv: &[String]) -> anyhow::Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let fleets = fleets(&args);
    if fleets.is_empty() {
        bail!("no sizes to run: check --spaces and --workers");
    }
    if let Some(size) = fleets.iter().find(|fleet| fleet.spaces < 2) {
        bail!(
            "S={} is too small: the workers are shared from the first space into the others",
            size.spaces
        );
    }
    let this_binary = std::env::current_exe().context("cannot locate octoshare-bench itself")?;
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => this_binary
            .parent()
            .context("octoshare-bench has no parent directory")?
            .to_path_buf(),
    };
    let command = shown_command(argv);
    let machine = Machine::probe();
    if let Some([one, _, _]) = machine.load_before {
        eprintln!(
            "{command}: {} sizes on {} cores, load average {one:.2}{}",
            fleets.len(),
            machine.cores,
            if one > machine.cores as f64 * 0.5 {
                " (a busy machine makes octoshare's timings noisy)"
            } else {
                ""
            }
        );
    }
    let settings = Settings {
        latency: args.latency,
        concurrency: args.concurrency,
        fleets,
        bin_dir,
        measurer: Some(this_binary),
        startup_runs: args.startup_runs,
        baseline: !args.no_baseline,
        throttled: !args.no_throttled,
        commands: !args.no_commands,
        commands_fleet: Fleet {
            spaces: args
                .command_spaces
                .unwrap_or(if args.quick { QUICK_MAX_SPACES } else { 1000 })
                .max(2),
            workers: COMMAND_WORKERS,
        },
    };
    let previous_path = args
        .previous
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench/results.json"));
    let previous = match PreviousRun::read(&previous_path) {
        Ok(previous) => previous,
        Err(error) => {
            eprintln!("warning: no previous figures: {error:#}");
            None
        }
    };
    let started_at = report::rfc3339(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    // The commit measured is the one the binaries were just built from, not the one checked
    // out when a long run ends.
    let commit = git_commit();
    let started = Instant::now();
    let measurements = bench::run(&settings, &mut |line| eprintln!("{line}"))?;
    let mut machine = machine;
    machine.load_after = report::load_average();
    let report = BenchReport::new(
        command,
        started_at,
        started.elapsed(),
        commit,
        machine,
        args.latency,
        args.concurrency,
        args.quick,
        measurements,
        previous,
    );
    println!("{}", report.markdown());

    if !args.no_write {
        let json = args.json.clone().unwrap_or_else(|| {
            PathBuf::from(if args.quick {
                "bench/results-quick.json"
            } else {
                "bench/results.json"
            })
        });
        report.write_json(&json)?;
        eprintln!("wrote {}", json.display());
        let markdown = args
            .markdown
            .clone()
            .or_else(|| (!args.quick).then(|| PathBuf::from("BENCHMARKS.md")));
        if let Some(markdown) = markdown {
            report.write_markdown(&markdown)?;
            eprintln!("wrote {}", markdown.display());
        }
    }
    Ok(())
}

fn fleets(args: &Args) -> Vec<Fleet> {
    let pick = |given: &[usize], all: &[usize], quick_max: usize| -> Vec<usize> {
        if !given.is_empty() {
            given.to_vec()
        } else if args.quick {
            all.iter().copied().filter(|n| *n <= quick_max).collect()
        } else {
            all.to_vec()
        }
    };
    let spaces = pick(&args.spaces, &SPACES, QUICK_MAX_SPACES);
    let workers = pick(&args.workers, &WORKERS, QUICK_MAX_WORKERS);
    spaces
        .iter()
        .flat_map(|&spaces| {
            workers
                .iter()
                .map(move |&workers| Fleet { spaces, workers })
        })
        .collect()
}

/// `cargo xtask bench ARGS`, without the flags the xtask adds itself.
fn shown_command(argv: &[String]) -> String {
    let mut shown = String::from("cargo xtask bench");
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--bin-dir" {
            args.next();
            continue;
        }
        if arg.starts_with("--bin-dir=") {
            continue;
        }
        shown.push(' ');
        shown.push_str(arg);
    }
    shown
}

/// The commit measured, `+dirty` when the work tree differs from it.
fn git_commit() -> Option<String> {
    let commit = report::command_output("git", &["rev-parse", "--short=12", "HEAD"])?;
    let dirty = std::process::Command::new("git")
        .args([
            "diff",
            "--quiet",
            "HEAD",
            "--",
            "crates",
            "Cargo.toml",
            "Cargo.lock",
        ])
        .status()
        .is_ok_and(|status| status.code() == Some(1));
    Some(if dirty {
        format!("{commit}+dirty")
    } else {
        commit
    })
}
