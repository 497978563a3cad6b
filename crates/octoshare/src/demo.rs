//! `octoshare demo`: the README's first command. Starts the embedded Octopus API emulator with
//! the demo's sample instance ([`Scenario::demo`]) on a free loopback port, runs `octoshare run`
//! against it twice — the first run shares three freshly registering Tentacles, a listening
//! Tentacle behind a proxy and a Kubernetes agent, skipping a space the demo's API key may not
//! look inside; the second shows that a re-run changes nothing — explains what happened, and
//! ends with the instance's worker × space matrix as `octoshare status` prints it. No flags, no
//! network, about five seconds.
//!
//! With `--output json` the explanation goes to stderr and stdout holds one document:
//! `{"EmulatorUrl", "Runs": [first, second], "RunRequests": [first, second], "ElapsedMs"}` where
//! each entry of `Runs` is the document `octoshare run --output json` prints and each entry of
//! `RunRequests` counts the requests the emulator logged during that run
//! (`{"Get", "Post", "Put", "Delete"}`); see `docs/json-output.md`.

use crate::run::{self, RunConfig, RunOutcome};
use octopus_emulator::{DEMO_API_KEY, DEMO_POOL, Emulator, LoggedRequest, Scenario};
use octoshare_cli::format_elapsed;
use octoshare_cli::json::{self, DemoDocument, LoggedRequests};
use octoshare_cli::render::status as status_render;
use octoshare_cli::{
    CommonArgs, Emitter, Ending, Exit, ExitError, OutputMode, Shutdown, run_local,
};
use octoshare_core::{Client, Credentials, RetryPolicy, Secret, ServerUrl};
use octoshare_discover::DiscoverConfig;
use octoshare_share::{Action, ShareOptions};
use octoshare_wait::WaitConfig;
use std::io::{self, IsTerminal};
use std::time::{Duration, Instant};

/// How many workers the demo waits for: the three Tentacles the scenario registers, plus the
/// listening Tentacle and the Kubernetes agent already in the pool.
const DEMO_WORKER_COUNT: u64 = 5;

/// Poll interval of the demo's wait: short, so the registrations show as they happen.
const DEMO_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Flags of `octoshare demo`: none of its own (`--output`, `-v` and `-q` apply).
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {}

/// Requests of one run as the emulator logged them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LoggedCounts {
    get: usize,
    post: usize,
    put: usize,
    delete: usize,
}

impl LoggedCounts {
    fn of(requests: &[LoggedRequest]) -> LoggedCounts {
        let count = |method: &str| {
            requests
                .iter()
                .filter(|request| request.method.eq_ignore_ascii_case(method))
                .count()
        };
        LoggedCounts {
            get: count("GET"),
            post: count("POST"),
            put: count("PUT"),
            delete: count("DELETE"),
        }
    }

    fn writes(&self) -> usize {
        self.post + self.put + self.delete
    }

    fn to_document(self) -> LoggedRequests {
        let count = |n: usize| n as u64;
        LoggedRequests {
            get: count(self.get),
            post: count(self.post),
            put: count(self.put),
            delete: count(self.delete),
        }
    }
}

impl std::fmt::Display for LoggedCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} GET, {} POST, {} PUT, {} DELETE",
            self.get, self.post, self.put, self.delete
        )
    }
}

/// Bold headings when stdout is a terminal that accepts colour (`NO_COLOR` unset).
#[derive(Debug, Clone, Copy)]
struct Style {
    ansi: bool,
}

impl Style {
    fn detect(mode: OutputMode) -> Style {
        Style {
            ansi: mode == OutputMode::Text
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
        }
    }

    fn bold(self, text: &str) -> String {
        if self.ansi {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn heading(self, title: &str, detail: &str) -> String {
        let rule = "━━";
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!("  {detail}")
        };
        self.bold(&format!("{rule} {title} {rule}{detail}"))
    }
}

/// `octoshare demo` as a process.
pub fn command(_args: DemoArgs, common: &CommonArgs) -> ExitCode {
    run_local(common, OutputMode::Text, async |emitter, shutdown| {
        demo(emitter, &shutdown).await
    })
}

use std::process::ExitCode;

async fn demo(
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> Result<Ending<DemoDocument>, ExitError> {
    let started = Instant::now();
    let style = Style::detect(emitter.mode());
    let scenario = Scenario::demo();
    let facts = ScenarioFacts::of(&scenario);
    let emulator = Emulator::start(scenario).map_err(|error| {
        ExitError::new(
            Exit::Internal,
            format!("cannot start the embedded emulator: {error:#}"),
        )
    })?;

    introduce(emitter, style, &facts, &emulator);
    let command = format!(
        "octoshare run --worker-pool '{DEMO_POOL}' --count {DEMO_WORKER_COUNT} --poll-interval {}",
        octoshare_cli::format_duration(DEMO_POLL_INTERVAL)
    );
    let config = demo_config();

    emitter.info(&style.heading("Run 1", &command));
    let first = run_once(&emulator, &config, emitter, shutdown).await?;
    emitter.info("");
    emitter.info(&style.heading("Run 2", "the same command again"));
    let second = run_once(&emulator, &config, emitter, shutdown).await?;

    explain(emitter, style, &facts, &first, &second);
    show_status(emitter, style, &emulator, shutdown).await?;
    let result = if second.logged.writes() > 0 {
        Err(ExitError::new(
            Exit::Internal,
            format!(
                "the second run wrote to the server ({}): a re-run should change nothing",
                second.logged
            ),
        ))
    } else {
        Ok(Exit::Success)
    };
    let document = DemoDocument {
        emulator_url: emulator.url(),
        run_requests: vec![first.logged.to_document(), second.logged.to_document()],
        runs: vec![
            first.outcome.into_document(),
            second.outcome.into_document(),
        ],
        elapsed_ms: json::millis(started.elapsed()),
    };
    Ok(Ending::new(document, result))
}

/// What the intro says about the sample instance, read from the scenario itself.
#[derive(Debug)]
struct ScenarioFacts {
    spaces: usize,
    pool_spaces: Vec<String>,
    registrations: Vec<(String, Duration)>,
    registration_space: String,
    stale: Vec<(String, String, Duration)>,
    /// Workers already in the registration space's pool that are not polling Tentacles: their
    /// name and what they are (`a listening Tentacle reached through 'corp-proxy'`).
    others: Vec<(String, String)>,
}

impl ScenarioFacts {
    fn of(scenario: &Scenario) -> ScenarioFacts {
        let pool_spaces: Vec<String> = scenario
            .spaces()
            .iter()
            .filter(|space| space.worker_pools().any(|pool| pool == DEMO_POOL))
            .map(|space| space.name().to_owned())
            .collect();
        let mut registrations = Vec::new();
        let mut registration_space = String::new();
        for space in scenario.spaces() {
            for registration in space.registrations() {
                registrations.push((
                    registration.worker().name().to_owned(),
                    registration.after(),
                ));
                registration_space = space.name().to_owned();
            }
        }
        let mut stale = Vec::new();
        for space in scenario.spaces() {
            for worker in space.workers() {
                if registrations.iter().any(|(name, _)| name == worker.name()) {
                    stale.push((
                        worker.name().to_owned(),
                        space.name().to_owned(),
                        worker.registered_ago(),
                    ));
                }
            }
        }
        let mut others = Vec::new();
        for space in scenario.spaces() {
            if space.name() != registration_space {
                continue;
            }
            for worker in space.workers() {
                if !worker.pools().iter().any(|pool| pool == DEMO_POOL) {
                    continue;
                }
                let what = match (worker.communication_style(), worker.proxy_name()) {
                    ("TentaclePassive", Some(proxy)) => {
                        format!("a listening Tentacle reached through proxy '{proxy}'")
                    }
                    ("TentaclePassive", None) => "a listening Tentacle".to_owned(),
                    ("KubernetesTentacle", _) => "a Kubernetes agent".to_owned(),
                    ("Ssh", _) => "an SSH worker".to_owned(),
                    _ => continue,
                };
                others.push((worker.name().to_owned(), what));
            }
        }
        ScenarioFacts {
            spaces: scenario.spaces().len(),
            pool_spaces,
            registrations,
            registration_space,
            stale,
            others,
        }
    }
}

fn introduce(emitter: &mut Emitter, style: Style, facts: &ScenarioFacts, emulator: &Emulator) {
    emitter.info(&style.bold("octoshare demo"));
    emitter.info("");
    for line in wrap(
        "",
        "Octopus spaces are hard walls: a worker registered in one space is invisible to the \
         others. octoshare lets every space share one fleet of workers (polling and listening \
         Tentacles, SSH workers, Kubernetes agents). It runs the \"sharing workers across \
         spaces\" runbook as one command, `octoshare run`:",
    ) {
        emitter.info(&line);
    }
    for (label, text) in [
        (
            "1 discover",
            format!(
                "find the spaces that have worker pool '{DEMO_POOL}'; the first is the initial space"
            ),
        ),
        (
            "2 wait",
            "until the new VMs' Tentacles have registered in the initial space's pool".to_owned(),
        ),
        (
            "3 share",
            "register the same Tentacles in that pool in every other space".to_owned(),
        ),
    ] {
        paragraph(emitter, label, &text);
    }
    emitter.info("");
    for line in wrap(
        "",
        &format!(
            "No Octopus Server needed: octoshare's built-in Octopus API emulator serves a sample \
             instance at {}:",
            emulator.url()
        ),
    ) {
        emitter.info(&line);
    }
    paragraph(
        emitter,
        "spaces",
        &format!(
            "{}; {} have the pool: {}",
            facts.spaces,
            facts.pool_spaces.len(),
            facts.pool_spaces.join(", ")
        ),
    );
    let names: Vec<&str> = facts
        .registrations
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let delays: Vec<String> = facts
        .registrations
        .iter()
        .map(|(_, after)| format!("{:.1} s", after.as_secs_f64()))
        .collect();
    paragraph(
        emitter,
        "new VMs",
        &format!(
            "{} are booting; their Tentacles ({}) register into {} after {}",
            names.len(),
            names.join(", "),
            facts.registration_space,
            and_list(&delays)
        ),
    );
    if !facts.others.is_empty() {
        let described: Vec<String> = facts
            .others
            .iter()
            .map(|(name, what)| format!("{name}, {what}"))
            .collect();
        paragraph(
            emitter,
            "already in",
            &format!(
                "the pool of {}: {}",
                facts.registration_space,
                and_list(&described)
            ),
        );
    }
    for (name, space, age) in &facts.stale {
        paragraph(
            emitter,
            "leftover",
            &format!(
                "a stale '{name}' in {space}, registered {} ago by a VM that no longer exists",
                hours(*age)
            ),
        );
    }
    emitter.info("");
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Width of the demo's wrapped text.
const TEXT_WIDTH: usize = 96;

/// Prints `text` wrapped, after a label column: `  label     text...` with a hanging indent.
fn paragraph(emitter: &mut Emitter, label: &str, text: &str) {
    for line in wrap(&format!("  {label:<11} "), text) {
        emitter.info(&line);
    }
}

/// Wraps `text` at word boundaries to [`TEXT_WIDTH`], the first line after `lead`, the others
/// indented as far.
fn wrap(lead: &str, text: &str) -> Vec<String> {
    let indent = " ".repeat(lead.chars().count());
    let mut lines = Vec::new();
    let mut line = lead.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        let width = line.chars().count() + 1 + word.chars().count();
        if !empty && width > TEXT_WIDTH {
            lines.push(std::mem::replace(&mut line, indent.clone()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

fn hours(age: Duration) -> String {
    let hours = age.as_secs() / 3600;
    if hours >= 1 {
        format!("{hours}h")
    } else {
        format_elapsed(age)
    }
}

fn demo_config() -> RunConfig {
    RunConfig {
        discover: DiscoverConfig::new(DEMO_POOL),
        wait: Some(WaitConfig {
            count: DEMO_WORKER_COUNT,
            timeout: Duration::from_secs(30),
            poll_interval: DEMO_POLL_INTERVAL,
            healthy_only: false,
        }),
        share: ShareOptions::default(),
        report: None,
    }
}

/// The last section: the status matrix of the demo instance after the re-run, as
/// `octoshare status` prints it.
async fn show_status(
    emitter: &mut Emitter,
    style: Style,
    emulator: &Emulator,
    shutdown: &Shutdown,
) -> Result<(), ExitError> {
    let client = demo_client(emulator, shutdown)?;
    let snapshot = crate::status::snapshot(&client, &DiscoverConfig::new(DEMO_POOL)).await?;
    let matrix = &snapshot.matrix;
    emitter.info("");
    emitter.info(&style.heading(
        "Status",
        &format!("octoshare status --worker-pool '{DEMO_POOL}'"),
    ));
    emitter.info(&status_render::heading(matrix));
    for line in status_render::table(matrix, status_render::terminal_width()) {
        emitter.info(&line);
    }
    emitter.info(&status_render::verdict(matrix));
    Ok(())
}

/// One run against the emulator and what the emulator logged meanwhile.
#[derive(Debug)]
struct DemoRun {
    outcome: RunOutcome,
    logged: LoggedCounts,
}

async fn run_once(
    emulator: &Emulator,
    config: &RunConfig,
    emitter: &mut Emitter,
    shutdown: &Shutdown,
) -> Result<DemoRun, ExitError> {
    let client = demo_client(emulator, shutdown)?;
    emulator.clear_requests();
    let outcome = run::execute(&client, config, emitter, shutdown).await;
    let logged = LoggedCounts::of(&emulator.requests());
    if let Exit::Interrupted(signal) = outcome.exit {
        return Err(ExitError::new(
            outcome.exit,
            format!("the demo was interrupted by {}", signal.name()),
        ));
    }
    if outcome.exit != Exit::Success {
        let reason = outcome.failure.as_deref().unwrap_or("see above");
        return Err(ExitError::new(
            outcome.exit,
            format!("the demo's run did not succeed ({reason}): please report it"),
        ));
    }
    Ok(DemoRun { outcome, logged })
}

/// A client for the emulator with short timeouts and fast retries, cancelled by `shutdown`.
fn demo_client(emulator: &Emulator, shutdown: &Shutdown) -> Result<Client, ExitError> {
    let server = ServerUrl::parse(&emulator.url())?;
    // The demo's own key: it may not look inside one space, as real keys often cannot.
    let credentials = Credentials::ApiKey(Secret::new(DEMO_API_KEY.to_owned()));
    Ok(Client::builder(server, credentials)
        .request_timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .user_agent(concat!("octoshare-demo/", env!("CARGO_PKG_VERSION")))
        .cancellation(shutdown.token())
        .build()?)
}

/// The closing explanation: what each phase found and did, and what the re-run did.
fn explain(
    emitter: &mut Emitter,
    style: Style,
    facts: &ScenarioFacts,
    first: &DemoRun,
    second: &DemoRun,
) {
    emitter.info("");
    emitter.info(&style.heading("What happened", ""));
    if let Some(found) = &first.outcome.discovered {
        let others: Vec<String> = found
            .remaining
            .iter()
            .map(|target| target.space.name.clone())
            .collect();
        let mut text = format!(
            "{} of {} spaces have '{}'. The first, {}, is the initial space, where new VMs \
             register; the others get the same workers: {}.",
            found.qualifying_space_count(),
            found.spaces_listed,
            found.worker_pool_name(),
            found.initial.space.name,
            and_list(&others)
        );
        for stopped in &found.stopped_task_queues {
            text.push_str(&format!(
                " ({}'s task queue is stopped: shared anyway, with a warning.)",
                stopped.name
            ));
        }
        for skipped in &found.skipped_spaces {
            text.push_str(&format!(
                " {} was skipped with a warning: {}. Real API keys often see spaces they may \
                 not look inside; octoshare names the space and the permission, and goes on.",
                skipped.space.name, skipped.reason
            ));
        }
        paragraph(emitter, "discover", &text);
    }
    if let Some(waited) = &first.outcome.waited {
        let mut text = format!(
            "{} workers were in {}'s pool within {} ({} polls, one every {})",
            waited.count,
            waited.target.space.name,
            format_elapsed(waited.elapsed),
            waited.polls,
            octoshare_cli::format_duration(DEMO_POLL_INTERVAL)
        );
        if !facts.others.is_empty() {
            let mut workers = vec![format!("the {} new Tentacles", facts.registrations.len())];
            workers.extend(facts.others.iter().map(|(name, _)| name.clone()));
            text.push_str(&format!(
                ": {}, which were there already",
                and_list(&workers)
            ));
        }
        text.push('.');
        paragraph(emitter, "wait", &text);
    }
    if let Some(report) = &first.outcome.shared {
        let totals = &report.totals;
        let mut text = format!(
            "{} registrations created and {} updated in {} spaces, all pointing at the same \
             machines (the same endpoint: URI and thumbprint), so each worker serves every space.",
            totals.created,
            totals.updated,
            report.spaces.len()
        );
        for (name, what) in &facts.others {
            if what.starts_with("a listening Tentacle reached through") {
                text.push_str(&format!(
                    " {name} is reached through each space's own proxy of the same name: \
                     proxies belong to one space, so octoshare maps them by name (and would \
                     report a space without one instead of writing a broken worker)."
                ));
            } else if what == "a Kubernetes agent" {
                text.push_str(&format!(
                    " {name} is registered with its endpoint unchanged: the agent's Helm \
                     chart registers into one space only, octoshare does the rest."
                ));
            }
        }
        for space in &report.spaces {
            let space_name = space
                .space
                .as_ref()
                .map_or(space.entry.as_str(), |space| space.name.as_str());
            for worker in &space.workers {
                if worker.action == Action::ReplaceEndpoint {
                    text.push_str(&format!(
                        " {space_name} had a stale '{}' from a destroyed VM: octoshare pointed \
                         it at the new Tentacle instead of failing on the duplicate name \
                         (--on-conflict replace).",
                        worker.name
                    ));
                }
            }
        }
        paragraph(emitter, "share", &text);
    }
    if let Some(report) = &second.outcome.shared {
        let verdict = if second.logged.writes() == 0 {
            "Nothing to do"
        } else {
            "Unexpected writes"
        };
        paragraph(
            emitter,
            "re-run",
            &format!(
                "{verdict}: {} registrations unchanged; {} POST, {} PUT, {} DELETE. Safe to run \
                 after every scale-out, or on a schedule.",
                report.totals.unchanged,
                second.logged.post,
                second.logged.put,
                second.logged.delete
            ),
        );
    }
    paragraph(
        emitter,
        "requests",
        &format!(
            "run 1: {}; run 2: {} (from the emulator's request log)",
            first.logged, second.logged
        ),
    );
    emitter.info("");
    emitter.info(&style.heading("Next", ""));
    for (command, what) in [
        (
            "octoshare emulator",
            "serve this sample instance and try the commands yourself",
        ),
        (
            "octoshare user-data --server URL --space NAME --worker-pool NAME",
            "the bootstrap script your VMs run as user data",
        ),
        (
            "octoshare install --server URL",
            "import the step templates into every space",
        ),
        (
            "octoshare run --server URL --worker-pool NAME --count N",
            "the real thing (API key in OCTOPUS_API_KEY)",
        ),
        (
            "octoshare status --server URL --worker-pool NAME",
            "which worker is registered in which space (exit 5 on drift)",
        ),
        (
            "octoshare reconcile --server URL --worker-pool NAME --listen 127.0.0.1:9464",
            "keep it shared: a cycle every minute and on webhooks, metrics and a status page",
        ),
    ] {
        emitter.info(&format!("  {command}"));
        emitter.info(&format!("      {what}"));
    }
}
