//! Measuring: request tallies from the emulator's log, child processes with their peak resident
//! memory, and small statistics.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use octopus_emulator::{Emulator, LoggedRequest, REQUEST_LOG_CAPACITY};
use serde::{Deserialize, Serialize};

/// The hidden subcommand of `octoshare-bench` that runs one program and reports its peak RSS.
pub const MEASURE_RSS_SUBCOMMAND: &str = "measure-rss";

/// What the server saw during one phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Requests {
    /// GET requests.
    pub get: u64,
    /// POST requests.
    pub post: u64,
    /// PUT requests.
    pub put: u64,
    /// DELETE requests.
    pub delete: u64,
    /// Answers that were not 2xx (including 429s and connections closed without an answer).
    pub not_ok: u64,
    /// 429 answers (the server asking the client to slow down).
    pub too_many_requests: u64,
    /// The most requests the server had in flight at one time.
    pub peak_in_flight: u64,
}

impl Requests {
    /// Every request.
    pub fn total(&self) -> u64 {
        self.get + self.post + self.put + self.delete
    }

    /// POST + PUT + DELETE.
    pub fn writes(&self) -> u64 {
        self.post + self.put + self.delete
    }

    /// Tallies a request log.
    pub fn from_log(log: &[LoggedRequest]) -> Requests {
        let mut requests = Requests::default();
        let mut events: Vec<(Instant, i64)> = Vec::with_capacity(log.len() * 2);
        for request in log {
            match request.method.as_str() {
                "GET" => requests.get += 1,
                "POST" => requests.post += 1,
                "PUT" => requests.put += 1,
                "DELETE" => requests.delete += 1,
                _ => {}
            }
            if !(200..300).contains(&request.status) {
                requests.not_ok += 1;
            }
            if request.status == 429 {
                requests.too_many_requests += 1;
            }
            events.push((request.started, 1));
            events.push((request.finished.max(request.started), -1));
        }
        // Ends sort before starts at the same instant: back-to-back requests do not overlap.
        events.sort_unstable();
        let mut in_flight: i64 = 0;
        for (_, delta) in events {
            in_flight += delta;
            requests.peak_in_flight = requests.peak_in_flight.max(in_flight.max(0) as u64);
        }
        requests
    }

    /// `GET 2,587 · POST 1,990` (only the methods used).
    pub fn by_method(&self) -> String {
        let parts: Vec<String> = [
            ("GET", self.get),
            ("POST", self.post),
            ("PUT", self.put),
            ("DELETE", self.delete),
        ]
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(method, count)| format!("{method} {}", thousands(*count)))
        .collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(" · ")
        }
    }
}

/// Takes the requests logged since the last call (and forgets them).
///
/// Fails when the log may have overflowed, since the counts would then be wrong.
pub fn take_requests(emulator: &Emulator) -> anyhow::Result<Requests> {
    let log = emulator.requests();
    emulator.clear_requests();
    if log.len() >= REQUEST_LOG_CAPACITY {
        bail!(
            "the emulator's request log is full ({REQUEST_LOG_CAPACITY} entries): a phase made too many requests to count"
        );
    }
    Ok(Requests::from_log(&log))
}

/// A finished child process.
#[derive(Debug, Clone)]
pub struct ProcessRun {
    /// From spawn to exit.
    pub wall: Duration,
    /// Peak resident set size in KiB, when it was measured.
    pub max_rss_kib: Option<u64>,
    /// Standard output.
    pub stdout: String,
    /// Standard error (logs).
    pub stderr: String,
    /// The exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
}

/// The report the `measure-rss` subcommand writes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RssReport {
    max_rss_kib: u64,
    wall_nanos: u64,
}

/// How to run a program.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The program.
    pub program: &'a Path,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables added to the bench's (connection settings).
    pub env: Vec<(&'static str, String)>,
    /// Run it under `<measurer> measure-rss` to learn its peak RSS.
    pub measurer: Option<&'a Path>,
}

impl Launch<'_> {
    /// Runs the program to the end; fails when it exits unsuccessfully (naming its stderr).
    pub fn run(&self) -> anyhow::Result<ProcessRun> {
        let run = self.run_to_end()?;
        if run.exit_code != Some(0) {
            bail!(
                "`{}` failed ({}); its stderr ends with:\n{}",
                shown_command(self.program, &self.args),
                describe_exit(run.exit_code),
                tail(&run.stderr, 20)
            );
        }
        Ok(run)
    }

    /// Runs the program to the end, whatever its exit code (fails only when it cannot run).
    pub fn run_to_end(&self) -> anyhow::Result<ProcessRun> {
        let report_path = self.measurer.map(|_| rss_report_path());
        let mut command = match (self.measurer, &report_path) {
            (Some(measurer), Some(report)) => {
                let mut command = Command::new(measurer);
                command
                    .arg(MEASURE_RSS_SUBCOMMAND)
                    .arg(report)
                    .arg(self.program)
                    .args(&self.args);
                command
            }
            _ => {
                let mut command = Command::new(self.program);
                command.args(&self.args);
                command
            }
        };
        command
            .env_remove("OCTOPUS_ACCESS_TOKEN")
            .envs(self.env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null());
        let started = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        let mut wall = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let shown = shown_command(self.program, &self.args);
        let exit_code = output.status.code();
        let mut max_rss_kib = None;
        if let Some(report_path) = &report_path {
            let text = std::fs::read_to_string(report_path)
                .with_context(|| format!("`{shown}`: the RSS report is missing"))?;
            let _ = std::fs::remove_file(report_path);
            let report: RssReport = serde_json::from_str(&text)
                .with_context(|| format!("`{shown}`: unreadable RSS report"))?;
            max_rss_kib = Some(report.max_rss_kib);
            wall = Duration::from_nanos(report.wall_nanos);
        }
        Ok(ProcessRun {
            wall,
            max_rss_kib,
            stdout,
            stderr,
            exit_code,
        })
    }
}

fn rss_report_path() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "octoshare-bench-rss-{}-{}.json",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The `measure-rss REPORT PROGRAM [ARGS...]` subcommand: runs PROGRAM with the inherited
/// standard streams, writes `{"maxRssKib", "wallNanos"}` to REPORT and returns PROGRAM's exit
/// code. Running in a process of its own makes `getrusage(RUSAGE_CHILDREN)` exact: PROGRAM is
/// the only child it ever waits for.
pub fn measure_rss_main(args: &[String]) -> anyhow::Result<i32> {
    let [report, program, rest @ ..] = args else {
        bail!("usage: octoshare-bench {MEASURE_RSS_SUBCOMMAND} REPORT PROGRAM [ARGS...]");
    };
    let started = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    let wall = started.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .context("getrusage(RUSAGE_CHILDREN) failed")?;
    // Linux reports ru_maxrss in KiB.
    let report_json = serde_json::to_string(&RssReport {
        max_rss_kib: u64::try_from(usage.max_rss()).unwrap_or(0),
        wall_nanos: u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX),
    })?;
    std::fs::write(report, report_json).with_context(|| format!("cannot write {report}"))?;
    Ok(status.code().unwrap_or(1))
}

fn describe_exit(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_owned(),
    }
}

fn shown_command(program: &Path, args: &[String]) -> String {
    let name = program
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut shown = name;
    for arg in args {
        shown.push(' ');
        if arg.chars().count() > 60 {
            shown.extend(arg.chars().take(57));
            shown.push_str("...");
        } else {
            shown.push_str(arg);
        }
    }
    shown
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `12,345`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Median of some durations (the lower middle one for an even count).
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort_unstable();
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

/// Least-squares slope and intercept of `y` over `x`; `None` with fewer than two distinct `x`.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    Some((slope, mean_y - slope * mean_x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn fit_of_a_line_is_exact() {
        let points = [(10.0, 3.0), (50.0, 11.0), (200.0, 41.0)];
        let (slope, intercept) = linear_fit(&points).unwrap();
        assert!((slope - 0.2).abs() < 1e-9);
        assert!((intercept - 1.0).abs() < 1e-9);
        assert_eq!(linear_fit(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn median_takes_the_middle() {
        let mut values = [3, 1, 2].map(Duration::from_millis);
        assert_eq!(median(&mut values), Duration::from_millis(2));
    }
}
