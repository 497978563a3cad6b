//! `octoshare reconcile`: keeps the fleet shared without a runbook. Each cycle is discover →
//! the status matrix → share (no wait) when something drifted → the matrix again; spaces that
//! gain the pool later are picked up by the next cycle. A failing cycle (server down, 5xx,
//! 401, ...) is logged and retried with capped exponential backoff; the process never exits on
//! its own. SIGTERM/SIGINT stop it promptly — the cycle in flight stops waiting (answers,
//! retries, backoff), a write already sent gets the client's 2 s grace period — and, being a
//! service's normal stop, exit 0. `--once` runs one cycle and exits with its code (for cron, CI
//! and scheduled runbook triggers); interrupted, like every one-shot command, with 130/143.
//!
//! With `--listen ADDR` it serves `GET /metrics`, `/healthz`, `/status.json`, `/` and
//! `POST /webhook` ([`http`]); the webhook needs the secret of `--webhook-token-file` or
//! `OCTOSHARE_WEBHOOK_TOKEN` in header `X-OctoShare-Webhook-Token` (404 without a configured
//! secret). One log line per cycle (`--log-format text|json`): what changed, the requests, the
//! duration. `docs/reconcile.md` is the operator's guide.

mod cycle;
mod http;
mod schedule;
mod state;
mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use octoshare_cli::duration::parse_duration;
use octoshare_cli::flags::{
    self, ConcurrencyArgs, ShareOptionsArgs, SpaceSearchArgs, WorkerPoolArgs,
};
use octoshare_cli::json::{
    CycleResult, CycleTrigger, ReconcileCycle, ReconcileDocument, ReconcileLogLine,
};
use octoshare_cli::{
    ApiKeyFileArgs, CommonArgs, Emitter, Ending, Exit, ExitError, OutputMode, Shutdown,
    format_elapsed, run_local,
};
use octoshare_core::Client;
use tokio::sync::Notify;

use cycle::{CycleConfig, CycleOutcome, run_cycle};
use http::Endpoints;
use state::ReconcileState;
use token::{TOKEN_ENV, WebhookToken};

/// The exit codes, as `octoshare reconcile --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 stopped by SIGTERM/SIGINT (or, with --once, the \
cycle succeeded); 2 usage error (or --listen cannot be bound). Without --once it never exits on \
its own: failing cycles are logged and retried. With --once, the cycle's code: 3 no space has the \
pool; 5 some spaces or workers failed; 6 credentials or permission refused; 7 server unreachable; \
130/143 interrupted by SIGINT/SIGTERM.";

/// How long a stop waits for the endpoints' open requests.
const ENDPOINTS_CLOSE: Duration = Duration::from_secs(1);

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human line per cycle
    #[default]
    Text,
    /// One JSON object per line ({"Event": "Cycle", ...})
    Json,
}

/// Flags of `octoshare reconcile`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten, next_help_heading = "Discover")]
    pub pool: WorkerPoolArgs,

    #[command(flatten, next_help_heading = "Discover")]
    pub search: SpaceSearchArgs,

    #[command(flatten, next_help_heading = "Share")]
    pub share: ShareOptionsArgs,

    #[command(flatten, next_help_heading = "Share")]
    pub concurrency: ConcurrencyArgs,

    /// Time between the starts of two cycles, e.g. 60s, 5m
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, help_heading = "Reconcile")]
    pub interval: Duration,

    /// Serve /metrics, /healthz, /status.json, / and POST /webhook on this address, e.g. 127.0.0.1:9464 (default: off)
    #[arg(long, value_name = "ADDR", help_heading = "Reconcile")]
    pub listen: Option<SocketAddr>,

    /// Run one cycle, then exit with its code (share's exit code)
    #[arg(long, conflicts_with = "listen", help_heading = "Reconcile")]
    pub once: bool,

    /// One line per cycle as text or as a JSON object
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text, help_heading = "Reconcile")]
    pub log_format: LogFormat,

    /// The webhook's shared secret, read once from this file (else OCTOSHARE_WEBHOOK_TOKEN); without one POST /webhook answers 404
    #[arg(long, value_name = "PATH", help_heading = "Reconcile")]
    pub webhook_token_file: Option<PathBuf>,

    #[command(flatten)]
    pub key_file: ApiKeyFileArgs,
}

/// A validated `octoshare reconcile`.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// What each cycle does.
    pub cycle: CycleConfig,
    /// Time between the starts of two cycles.
    pub interval: Duration,
    /// Where to serve the endpoints.
    pub listen: Option<SocketAddr>,
    /// One cycle only.
    pub once: bool,
    /// The log lines' format.
    pub log_format: LogFormat,
    /// Where share's report of the last share goes.
    pub report: Option<PathBuf>,
    /// The webhook secret.
    pub token: Option<WebhookToken>,
}

impl ReconcileArgs {
    /// Validates every flag once, before any request (usage errors, exit code 2); reads the
    /// webhook secret (`environment`: `OCTOSHARE_WEBHOOK_TOKEN`'s value).
    pub fn into_config(self, environment: Option<&str>) -> Result<ReconcileConfig, ExitError> {
        if self.interval < Duration::from_millis(10) {
            return Err(ExitError::usage(
                "--interval must be at least 10ms, e.g. --interval 60s",
            ));
        }
        let token = WebhookToken::configured(self.webhook_token_file.as_deref(), environment)?;
        Ok(ReconcileConfig {
            cycle: CycleConfig {
                discover: flags::discover_config(&self.pool, &self.search, &self.concurrency)?,
                share: self.share.options(&self.concurrency)?,
            },
            interval: self.interval,
            listen: self.listen,
            once: self.once,
            log_format: self.log_format,
            // Checked now (exit 2), not when the first cycle ends.
            report: self.share.report_path()?,
            token,
        })
    }
}

/// `octoshare reconcile` as a process.
pub fn command(args: ReconcileArgs, common: &CommonArgs) -> ExitCode {
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        let key_file = args.key_file.clone();
        let environment = std::env::var(TOKEN_ENV).ok();
        let config = args.into_config(environment.as_deref())?;
        let mut builder = key_file
            .apply(common)?
            .client_builder(&shutdown)?
            .concurrency(config.cycle.share.concurrency);
        if config.cycle.share.dry_run {
            builder = builder.read_only();
        }
        let client = builder.build()?;
        reconcile(&client, &config, emitter, &shutdown).await
    })
}

/// Runs cycles until a signal (or, with `--once`, one cycle), serving the endpoints meanwhile.
async fn reconcile(
    client: &Client,
    config: &ReconcileConfig,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> Result<Ending<ReconcileDocument>, ExitError> {
    let state = Arc::new(Mutex::new(ReconcileState::new(config.interval)));
    let wake = Arc::new(Notify::new());
    let server = match config.listen {
        None => None,
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|error| {
                    ExitError::usage(format!(
                        "cannot listen on {address}: {error}: give another --listen address"
                    ))
                })?;
            let bound = listener
                .local_addr()
                .map_err(|error| ExitError::new(Exit::Internal, error.to_string()))?;
            let router = http::router(Endpoints {
                state: Arc::clone(&state),
                wake: Arc::clone(&wake),
                token: config.token.clone(),
                client: client.clone(),
                refresh: config.interval.max(Duration::from_secs(5)),
            });
            let stop = shutdown.clone();
            let task = tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.requested().await })
                    .await;
                if let Err(error) = served {
                    tracing::error!("the HTTP endpoints stopped: {error}");
                }
            });
            log(
                emitter,
                config.log_format,
                &ReconcileLogLine::Listening {
                    url: format!("http://{bound}"),
                },
            );
            Some(task)
        }
    };

    let mut number = 0;
    let mut trigger = CycleTrigger::Startup;
    let last: CycleOutcome = loop {
        number += 1;
        let outcome = run_cycle(client, &config.cycle, number, trigger, shutdown).await;
        if let (Some(path), Some(report)) = (&config.report, &outcome.report)
            && let Err(error) = octoshare_cli::render::share::write_report(report, path)
        {
            emitter.warning(&error);
        }
        log(
            emitter,
            config.log_format,
            &ReconcileLogLine::Cycle(Box::new(outcome.record.clone())),
        );
        let failures = {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            state.record(
                outcome.record.clone(),
                outcome.started,
                outcome.duration,
                outcome.status.clone(),
                outcome.report.clone(),
            );
            state.consecutive_failures()
        };
        let started = outcome.started.0;
        let succeeded = outcome.record.result == CycleResult::Success;
        if config.once || shutdown.is_requested() {
            break outcome;
        }
        let (until, next) = if succeeded {
            (started + config.interval, CycleTrigger::Interval)
        } else {
            let failures = u32::try_from(failures).unwrap_or(u32::MAX);
            (
                std::time::Instant::now() + schedule::retry_delay(config.interval, failures),
                CycleTrigger::Retry,
            )
        };
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(until)) => trigger = next,
            () = wake.notified() => trigger = CycleTrigger::Webhook,
            () = shutdown.requested() => break outcome,
        }
    };

    let cycles = state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .cycles();
    if let Some(server) = server {
        // The endpoints answer from memory: closing them takes no time unless a client holds
        // a request open; the stop does not wait on it for long.
        let _ = tokio::time::timeout(ENDPOINTS_CLOSE, server).await;
    }
    if !config.once {
        log(
            emitter,
            config.log_format,
            &ReconcileLogLine::Stopped {
                signal: shutdown.signal().map(|signal| signal.name().to_owned()),
                cycles,
            },
        );
    }
    let document = state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .document(std::time::Instant::now());
    let exit = if !config.once {
        // A service stopped by a signal: its normal end (systemd and Kubernetes count 143 as a
        // failed stop). A write in flight was settled or, past its grace period, is reported
        // in the cycle's line; the next start re-reads before writing.
        Exit::Success
    } else if last.record.result == CycleResult::Interrupted {
        Exit::Interrupted(octoshare_cli::Signal::Interrupt)
    } else {
        last.exit
    };
    let failure = (exit != Exit::Success)
        .then(|| last.record.error.clone())
        .flatten();
    Ok(Ending {
        exit,
        failure,
        document,
    })
}

/// Writes one log line: in octopus and text modes on stdout, in JSON mode on stderr (stdout
/// holds the final document).
fn log(emitter: &mut Emitter, format: LogFormat, line: &ReconcileLogLine) {
    let text = match format {
        // One line whatever the names hold, the same values once parsed.
        LogFormat::Json => octoshare_cli::output::inert_json_line(line).unwrap_or_default(),
        LogFormat::Text => text_line(line),
    };
    emitter.info(&text);
}

/// A log line in words.
fn text_line(line: &ReconcileLogLine) -> String {
    match line {
        ReconcileLogLine::Listening { url } => format!(
            "reconcile: listening on {url} (GET /metrics, /healthz, /status.json, /; POST /webhook)"
        ),
        ReconcileLogLine::Cycle(cycle) => cycle_text(cycle),
        ReconcileLogLine::Stopped { signal, cycles } => format!(
            "reconcile: stopped{} after {} cycles ({} succeeded, {} failed)",
            signal
                .as_deref()
                .map(|signal| format!(" by {signal}"))
                .unwrap_or_default(),
            cycles.success + cycles.failure,
            cycles.success,
            cycles.failure
        ),
    }
}

fn cycle_text(cycle: &ReconcileCycle) -> String {
    let result = match cycle.result {
        CycleResult::Success => "success",
        CycleResult::Failure => "failure",
        CycleResult::Interrupted => "interrupted",
    };
    let trigger = match cycle.trigger {
        CycleTrigger::Startup => "startup",
        CycleTrigger::Interval => "interval",
        CycleTrigger::Retry => "retry",
        CycleTrigger::Webhook => "webhook",
    };
    let mut line = format!(
        "reconcile: cycle {} ({trigger}): {result} in {}",
        cycle.cycle,
        format_elapsed(Duration::from_millis(cycle.duration_ms))
    );
    if let (Some(spaces), Some(workers)) = (cycle.spaces, cycle.workers) {
        line.push_str(&format!(
            "; {} × {}",
            octoshare_cli::render::plural(workers, "worker"),
            octoshare_cli::render::plural(spaces, "space")
        ));
    }
    if let Some(totals) = &cycle.totals {
        line.push_str(&format!(
            "; {} shared, {} missing, {} not in pool, {} stale, {} unknown, {} orphans",
            totals.shared,
            totals.missing,
            totals.not_in_pool,
            totals.stale,
            totals.unknown,
            totals.orphans
        ));
    }
    match &cycle.changes {
        Some(changes) => {
            line.push_str(&format!(
                "; shared: {} created, {} updated, {} pruned, {} failed",
                changes.created, changes.updated, changes.pruned, changes.failed
            ));
            if changes.not_attempted > 0 {
                line.push_str(&format!(
                    ", {} not attempted (interrupted)",
                    changes.not_attempted
                ));
            }
        }
        None if cycle.error.is_none() => line.push_str("; nothing to share"),
        None => {}
    }
    let requests = &cycle.requests;
    line.push_str(&format!(
        "; requests {} GET, {} POST, {} PUT, {} DELETE",
        requests.get, requests.post, requests.put, requests.delete
    ));
    if let Some(error) = &cycle.error {
        line.push_str(&format!("; error: {error}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TestArgs {
        #[command(flatten)]
        reconcile: ReconcileArgs,
    }

    fn parse(arguments: &[&str]) -> Result<ReconcileConfig, ExitError> {
        let mut all = vec!["octoshare-reconcile"];
        all.extend_from_slice(arguments);
        let args =
            TestArgs::try_parse_from(all).map_err(|error| ExitError::usage(error.to_string()))?;
        args.reconcile.into_config(None)
    }

    #[test]
    fn reconcile_flags_pass_clap_debug_assert() {
        use clap::CommandFactory;
        TestArgs::command().debug_assert();
    }

    #[test]
    fn defaults_and_every_flag() {
        let config = parse(&["--worker-pool", "P"]).unwrap();
        assert_eq!(config.interval, Duration::from_secs(60));
        assert_eq!(config.listen, None);
        assert!(!config.once);
        assert!(config.token.is_none());
        let config = parse(&[
            "--worker-pool",
            "P",
            "--interval",
            "5m",
            "--listen",
            "127.0.0.1:9464",
            "--prune",
            "--on-conflict",
            "skip",
            "--machine-policy",
            "Fast",
            "--concurrency",
            "4",
            "--exclude-space",
            "Sandbox*",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(config.interval, Duration::from_secs(300));
        assert_eq!(config.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(config.cycle.share.prune);
        assert_eq!(config.cycle.share.concurrency, 4);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for arguments in [
            &["--worker-pool", "P", "--interval", "0s"][..],
            &["--worker-pool", "P", "--interval", "5"][..],
            &["--worker-pool", "P", "--listen", "nowhere"][..],
            &["--worker-pool", "P", "--once", "--listen", "127.0.0.1:1"][..],
            &["--worker-pool", " "][..],
        ] {
            assert_eq!(
                parse(arguments).unwrap_err().exit,
                Exit::Usage,
                "{arguments:?}"
            );
        }
    }

    #[test]
    fn a_cycle_line_says_what_changed_and_what_it_cost() {
        let cycle = ReconcileCycle {
            cycle: 4,
            trigger: CycleTrigger::Webhook,
            result: CycleResult::Success,
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            duration_ms: 84,
            spaces: Some(3),
            workers: Some(2),
            drift: Some(false),
            totals: Some(octoshare_status::StatusTotals {
                shared: 6,
                ..Default::default()
            }),
            share_ran: true,
            changes: Some(octoshare_share::Totals {
                created: 1,
                ..Default::default()
            }),
            requests: octoshare_cli::json::Requests {
                get: 9,
                post: 1,
                ..Default::default()
            },
            error: None,
            exit_code: 0,
        };
        assert_eq!(
            cycle_text(&cycle),
            "reconcile: cycle 4 (webhook): success in 84ms; 2 workers × 3 spaces; 6 shared, 0 missing, 0 not in pool, 0 stale, 0 unknown, 0 orphans; shared: 1 created, 0 updated, 0 pruned, 0 failed; requests 9 GET, 1 POST, 0 PUT, 0 DELETE"
        );
        let json = serde_json::to_value(ReconcileLogLine::Cycle(Box::new(cycle))).unwrap();
        assert_eq!(json["Event"], "Cycle");
        assert_eq!(json["Cycle"], 4);
        assert_eq!(json["Requests"]["Get"], 9);
    }
}
