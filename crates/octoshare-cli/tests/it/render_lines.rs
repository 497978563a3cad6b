//! One line per name: arbitrary server-provided names (spaces, pools, workers, error texts from
//! the server) go through every renderer — discover's, wait's and share's events, results,
//! output variables, failure lines and JSON documents — in every output mode, and every printed
//! line is checked: no control character, line separator or bidi override survives, no
//! service message appears except octoshare's own at the start of a line, the number of lines
//! is the same as with plain names (a name cannot add a line), and the output variables and
//! the JSON document still hold the exact names. `octoshare status`'s renderers (the table's
//! rows, the HTML page, the `--format json` text) have a property of their own: the table's
//! shape depends on the names' widths, so the lines are counted from what was rendered.

use octoshare_cli::json::{DiscoverOutputs, ShareDocument, ShareOutputs, WaitOutputs};
use octoshare_cli::output::is_escaped;
use octoshare_cli::render::discover::{self as discover_render, DiscoverRenderer};
use octoshare_cli::render::share::{self as share_render, ShareRenderer};
use octoshare_cli::render::wait::{self as wait_render, WaitRenderer};
use octoshare_cli::{Emitter, OutputMode, inert};
use octoshare_core::domain::{PoolRef, ResolveError, ResolvedTarget, SpaceRef};
use octoshare_core::service_message::parse_service_messages;
use octoshare_core::{ApiError, ServerUrl};
use octoshare_discover::{DiscoverError, DiscoverOutcome, DiscoverSink, SpaceListing, SpaceSearch};
use octoshare_share::{
    Action, Duplicate, FailureKind, Outcome, ShareError, ShareReport, ShareSink, ShareTargets,
    SourceRead, SourceWorkerResult, SpaceDone, SpaceFailure, SpaceResult, SpaceStatus, Target,
    Totals, WorkerFailure, WorkerResult,
};
use octoshare_wait::{
    PollCounted, PollFailed, WaitError, WaitOutcome, WaitSink, WaitStart, WaitStatus,
};
use proptest::prelude::*;
use serde_json::Value;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The names of one scenario: three spaces, a pool, three workers and a text from the server.
#[derive(Debug, Clone)]
struct Names {
    spaces: [String; 3],
    pool: String,
    workers: [String; 3],
    server_text: String,
}

impl Names {
    fn plain() -> Names {
        Names {
            spaces: ["Alpha".into(), "Beta".into(), "Gamma".into()],
            pool: "AWS".into(),
            workers: ["worker-a".into(), "worker-b".into(), "worker-c".into()],
            server_text: "refused".into(),
        }
    }

    fn space(&self, index: usize) -> SpaceRef {
        SpaceRef::new(format!("Spaces-{}", index + 1), self.spaces[index].clone())
    }

    fn target(&self, index: usize) -> ResolvedTarget {
        ResolvedTarget::new(
            self.space(index),
            PoolRef::new(format!("WorkerPools-{}", index + 1), self.pool.clone()),
        )
    }
}

/// Pieces that break lines, reorder text, drive terminals or look like service messages.
fn hostile_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("\t".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{1b}[2J".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{9b}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{2029}".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{2066}".to_owned()),
        Just("\u{2069}".to_owned()),
        Just(
            "##octopus[setVariable name='SW5pdGlhbFNwYWNlSWQ=' value='U3BhY2VzLTY2Ng==']"
                .to_owned()
        ),
        Just("shared 0 workers: all OK".to_owned()),
        Just("'".to_owned()),
        Just("\\n".to_owned()),
        "[a-zA-Z0-9 ,.-]{0,6}",
        any::<char>().prop_map(String::from),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(hostile_piece(), 0..6).prop_map(|pieces| pieces.concat()),
    ]
}

fn names() -> impl Strategy<Value = Names> {
    (
        [name(), name(), name()],
        name(),
        [name(), name(), name()],
        name(),
    )
        .prop_map(|(spaces, pool, workers, server_text)| Names {
            spaces,
            pool,
            workers,
            server_text,
        })
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("UTF-8 output")
    }
}

/// What one step's rendering printed in one mode.
#[derive(Debug)]
struct Printed {
    stdout: String,
    stderr: String,
}

/// Renders with a fresh emitter in `mode` (verbose, so detail lines show too).
fn render(mode: OutputMode, work: impl FnOnce(&mut Emitter)) -> Printed {
    let (stdout, stderr) = (Captured::default(), Captured::default());
    let mut emitter =
        Emitter::with_writers(mode, Box::new(stdout.clone()), Box::new(stderr.clone()));
    emitter.set_verbose(true);
    work(&mut emitter);
    emitter.finish().expect("flushed");
    Printed {
        stdout: stdout.text(),
        stderr: stderr.text(),
    }
}

fn server_error(text: &str) -> ApiError {
    ApiError::Validation {
        method: "POST".into(),
        path: "/api/Spaces-2/workers".into(),
        status: 400,
        message: text.to_owned(),
        errors: vec![text.to_owned()],
    }
}

fn discover_outcome(names: &Names) -> DiscoverOutcome {
    DiscoverOutcome {
        initial: names.target(0),
        remaining: vec![names.target(1), names.target(2)],
        initial_position: 0,
        spaces_listed: 3,
        spaces_searched: 3,
        stopped_task_queues: vec![names.space(2)],
        initial_space_chosen: false,
        skipped_spaces: Vec::new(),
    }
}

fn discover_step(names: &Names, out: &mut Emitter) {
    let server = ServerUrl::parse("https://octopus.example").expect("a server URL");
    let outcome = discover_outcome(names);
    {
        let mut renderer = DiscoverRenderer::new(out);
        renderer.spaces_listed(&SpaceListing {
            worker_pool: &names.pool,
            server: &server,
            listed: 3,
            searched: 3,
            filtered: true,
        });
        renderer.space_searched(&names.space(0), &SpaceSearch::HasPool(names.target(0).pool));
        renderer.space_searched(&names.space(1), &SpaceSearch::NoPool { pools_in_space: 2 });
        renderer.space_searched(&names.space(2), &SpaceSearch::Vanished);
    }
    discover_render::finished(out, &outcome);
    discover_render::set_outputs(out, &outcome);
    let errors = [
        DiscoverError::NoQualifyingSpace {
            worker_pool: names.pool.clone(),
            searched: 3,
            excluded: Some(1),
            skipped: Vec::new(),
        },
        DiscoverError::InitialSpace(ResolveError::SpaceNotFound {
            wanted: names.spaces[1].clone(),
            searched: 3,
        }),
        DiscoverError::InitialSpaceLacksPool {
            space: names.space(1),
            worker_pool: names.pool.clone(),
            qualifying: vec![names.space(0), names.space(2)],
        },
        DiscoverError::AmbiguousPool(ResolveError::AmbiguousPool {
            space: names.space(0),
            wanted: names.pool.clone(),
            candidates: vec![names.target(0).pool, names.target(1).pool],
        }),
        DiscoverError::ListPools {
            space: names.space(2),
            error: Box::new(server_error(&names.server_text)),
        },
    ];
    for error in &errors {
        out.failure(&discover_render::error_message(error));
    }
    out.write_document(&DiscoverOutputs::of(&outcome))
        .expect("written");
}

fn wait_outcome(names: &Names, status: WaitStatus, counted_polls: u32) -> WaitOutcome {
    WaitOutcome {
        target: names.target(0),
        status,
        registered_worker_names: names.workers[..2].to_vec(),
        count: 2,
        required: 3,
        healthy_only: true,
        unhealthy_worker_names: vec![names.workers[2].clone()],
        polls: 4,
        counted_polls,
        last_error: Some(names.server_text.clone()),
        elapsed: Duration::from_millis(4_200),
        timeout: Duration::from_secs(60),
    }
}

fn wait_step(names: &Names, out: &mut Emitter) {
    let target = names.target(0);
    {
        let mut renderer = WaitRenderer::new(out);
        renderer.waiting(&WaitStart {
            target: &target,
            required: 3,
            healthy_only: true,
            timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(10),
        });
        renderer.poll_failed(&PollFailed {
            target: &target,
            poll: 1,
            error: &names.server_text,
            time_left: Duration::from_secs(50),
        });
        renderer.counted(&PollCounted {
            target: &target,
            newly_counted: &names.workers[..2],
            count: 2,
            required: 3,
            healthy_only: true,
        });
    }
    let mut satisfied = wait_outcome(names, WaitStatus::Satisfied, 3);
    satisfied.required = 2;
    wait_render::finished(out, &satisfied);
    let last = wait_outcome(names, WaitStatus::Interrupted, 3);
    wait_render::set_outputs(out, &last);
    for (status, counted_polls) in [
        (WaitStatus::TimedOut, 3),
        (WaitStatus::TimedOut, 0),
        (WaitStatus::Interrupted, 3),
        (WaitStatus::Interrupted, 0),
    ] {
        let outcome = wait_outcome(names, status, counted_polls);
        out.failure(&wait_render::unsatisfied_message(&outcome));
    }
    let error = WaitError::ReadWorkers {
        target: target.clone(),
        error: Box::new(server_error(&names.server_text)),
    };
    out.failure(&wait_render::error_message(&error));
    out.write_document(&WaitOutputs::of(&last))
        .expect("written");
}

fn worker_result(name: &str, action: Action, outcome: Outcome, reason: &str) -> WorkerResult {
    WorkerResult {
        name: name.to_owned(),
        worker_id: Some("Workers-9".to_owned()),
        action,
        outcome,
        reason: reason.to_owned(),
        failure: None,
    }
}

fn share_report(names: &Names) -> ShareReport {
    let text = &names.server_text;
    let mut failed = worker_result(&names.workers[2], Action::Create, Outcome::Failed, text);
    failed.failure = Some(WorkerFailure::Refused {
        write: format!("creating worker '{}'", names.workers[2]),
        kind: FailureKind::Rejected,
        message: text.clone(),
    });
    let workers = vec![
        worker_result(&names.workers[0], Action::Create, Outcome::Done, text),
        worker_result(&names.workers[1], Action::Unchanged, Outcome::Done, text),
        worker_result(&names.workers[1], Action::Conflict, Outcome::Done, text),
        worker_result(
            &names.workers[0],
            Action::Delete,
            Outcome::NotAttempted,
            text,
        ),
        failed,
    ];
    let counts = Totals {
        created: 1,
        unchanged: 1,
        conflicts: 1,
        failed: 1,
        not_attempted: 1,
        ..Totals::default()
    };
    let unreadable = SpaceFailure::Unreadable {
        kind: FailureKind::Other,
        message: text.clone(),
        permission: None,
    };
    let spaces = vec![
        SpaceResult {
            entry: names.spaces[1].clone(),
            space: Some(names.space(1)),
            status: SpaceStatus::Failed,
            reason: None,
            failure: None,
            counts,
            workers,
        },
        SpaceResult {
            entry: names.spaces[2].clone(),
            space: Some(names.space(2)),
            status: SpaceStatus::Failed,
            reason: Some(unreadable.to_string()),
            failure: Some(unreadable),
            counts: Totals {
                failed: 1,
                ..Totals::default()
            },
            workers: Vec::new(),
        },
        SpaceResult {
            entry: names.spaces[0].clone(),
            space: None,
            status: SpaceStatus::NotAttempted,
            reason: Some(text.clone()),
            failure: None,
            counts: Totals {
                not_attempted: 1,
                ..Totals::default()
            },
            workers: Vec::new(),
        },
    ];
    ShareReport {
        source_space: names.space(0),
        worker_pool_name: names.pool.clone(),
        dry_run: false,
        interrupted: true,
        totals: Totals {
            created: 1,
            unchanged: 1,
            conflicts: 1,
            failed: 2,
            not_attempted: 2,
            ..Totals::default()
        },
        source_workers: names
            .workers
            .iter()
            .enumerate()
            .map(|(index, worker)| SourceWorkerResult {
                name: worker.clone(),
                worker_id: format!("Workers-{}", index + 1),
                shared: index != 2,
                reason: Some(text.clone()),
            })
            .collect(),
        spaces,
    }
}

fn share_step(names: &Names, out: &mut Emitter) {
    let source = names.target(0);
    let report = share_report(names);
    let targets = ShareTargets {
        source: source.clone(),
        worker_pool: names.pool.clone(),
        targets: vec![Target::Source {
            entry: names.spaces[0].clone(),
            space: names.space(0),
        }],
        duplicates: vec![
            Duplicate::SameEntry {
                entry: names.spaces[1].clone(),
            },
            Duplicate::SameSpace {
                entry: names.spaces[2].clone(),
                space: names.space(1),
            },
        ],
    };
    share_render::notes(out, &targets, true);
    {
        let mut renderer = ShareRenderer::new(out);
        renderer.source_read(&SourceRead {
            source: &source,
            workers: &report.source_workers,
            target_spaces: 2,
            dry_run: false,
            prune_disabled: true,
        });
        renderer.space_done(&SpaceDone {
            done: 1,
            total: 3,
            result: &report.spaces[0],
        });
    }
    share_render::finished(out, &report);
    if let Err(error) = share_render::conclude(out, &report, None) {
        out.failure(&error.message);
    }
    for error in [
        ShareError::SourceSpace(ResolveError::AmbiguousSpace {
            wanted: names.spaces[0].clone(),
            candidates: vec![names.space(0), names.space(1)],
        }),
        ShareError::SourcePool(ResolveError::PoolNotFound {
            space: names.space(0),
            wanted: names.pool.clone(),
            available: names.workers.to_vec(),
        }),
        ShareError::ReadSourceWorkers {
            source: source.clone(),
            error: Box::new(server_error(&names.server_text)),
        },
    ] {
        out.failure(&share_render::error_message(&error));
    }
    out.write_document(&ShareDocument {
        outputs: ShareOutputs::of(&report.totals),
        report,
    })
    .expect("written");
}

type Step = fn(&Names, &mut Emitter);

const STEPS: [(&str, Step); 3] = [
    ("discover", discover_step),
    ("wait", wait_step),
    ("share", share_step),
];

const MODES: [OutputMode; 3] = [OutputMode::Octopus, OutputMode::Text, OutputMode::Json];

/// Every line is one line: nothing escaped survives, and `##octopus` only starts octoshare's
/// own service messages (one per line).
fn check_lines(context: &str, text: &str) -> Result<(), TestCaseError> {
    for line in text.split('\n') {
        prop_assert!(
            !line.contains(is_escaped),
            "{context}: a character that breaks or reorders the line: {line:?}"
        );
        let markers = line.matches("##octopus").count();
        prop_assert!(
            markers == 0 || (markers == 1 && line.starts_with("##octopus[")),
            "{context}: an injected service message: {line:?}"
        );
    }
    Ok(())
}

/// The values of the `setVariable` messages, by name.
fn variables(stdout: &str) -> Vec<(String, String)> {
    parse_service_messages(stdout)
        .into_iter()
        .filter(|message| message.name == "setVariable")
        .map(|message| {
            (
                message.get("name").unwrap_or_default().to_owned(),
                message.get("value").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The exact values a step's outputs must hold.
fn expected_values(step: &str, names: &Names) -> Vec<(&'static str, Value)> {
    match step {
        "discover" => vec![
            ("InitialSpaceName", Value::from(names.spaces[0].clone())),
            ("WorkerPoolName", Value::from(names.pool.clone())),
            (
                "RemainingSpaceNames",
                Value::from(names.spaces[1..].to_vec()),
            ),
        ],
        "wait" => vec![(
            "RegisteredWorkerNames",
            Value::from(names.workers[..2].to_vec()),
        )],
        _ => vec![],
    }
}

fn variable_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .map(variable_text)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_renderer_prints_any_name_on_one_line_and_keeps_exact_values(names in names()) {
        for (step, run) in STEPS {
            for mode in MODES {
                let context = format!("{step} in {mode:?}");
                let hostile = render(mode, |out| run(&names, out));
                let plain = render(mode, |out| run(&Names::plain(), out));
                check_lines(&format!("{context}, stdout"), &hostile.stdout)?;
                check_lines(&format!("{context}, stderr"), &hostile.stderr)?;
                prop_assert_eq!(
                    hostile.stdout.lines().count(),
                    plain.stdout.lines().count(),
                    "{}: a name changed the number of stdout lines:\n{}",
                    context,
                    hostile.stdout
                );
                prop_assert_eq!(
                    hostile.stderr.lines().count(),
                    plain.stderr.lines().count(),
                    "{}: a name changed the number of stderr lines:\n{}",
                    context,
                    hostile.stderr
                );
                // The names are shown (escaped), not dropped.
                let human = match mode {
                    OutputMode::Json => &hostile.stderr,
                    _ => &hostile.stdout,
                };
                let shown: [&str; 2] = match step {
                    "discover" => [&names.spaces[0], &names.pool],
                    "wait" => [&names.pool, &names.workers[0]],
                    _ => [&names.workers[0], &names.spaces[1]],
                };
                for name in shown {
                    prop_assert!(
                        human.contains(inert(name).as_ref()),
                        "{}: {:?} not shown:\n{}", context, name, human
                    );
                }
                let expected = expected_values(step, &names);
                match mode {
                    OutputMode::Octopus => {
                        let set = variables(&hostile.stdout);
                        for (variable, value) in &expected {
                            let found = set.iter().find(|(name, _)| name == variable);
                            prop_assert_eq!(
                                found.map(|(_, text)| text.clone()),
                                Some(variable_text(value)),
                                "{}: {}", context, variable
                            );
                        }
                    }
                    OutputMode::Json => {
                        let document: Value = serde_json::from_str(&hostile.stdout)
                            .map_err(|error| TestCaseError::fail(format!("{context}: {error}")))?;
                        for (variable, value) in &expected {
                            prop_assert_eq!(&document[*variable], value, "{}", context);
                        }
                        if step == "share" {
                            prop_assert_eq!(
                                &document["Report"]["SourceSpace"]["Name"],
                                &Value::from(names.spaces[0].clone())
                            );
                        }
                    }
                    OutputMode::Text => {}
                }
            }
        }
    }
}

/// The issue's own examples: a forged summary line and a forged line after a space's name.
#[test]
fn the_forged_lines_of_the_issue_stay_inside_their_line() {
    let names = Names {
        spaces: [
            "Beta\r\nfake line".to_owned(),
            "Gamma".to_owned(),
            "Delta".to_owned(),
        ],
        pool: "AWS".to_owned(),
        workers: [
            "evil\nshared 0 workers: all OK".to_owned(),
            "b".to_owned(),
            "c".to_owned(),
        ],
        server_text: "ok".to_owned(),
    };
    for (step, run) in STEPS {
        for mode in MODES {
            let printed = render(mode, |out| run(&names, out));
            for line in printed.stdout.lines().chain(printed.stderr.lines()) {
                assert_ne!(line, "fake line", "{step} in {mode:?}");
                assert!(
                    !line.starts_with("shared 0 workers"),
                    "{step} in {mode:?}: {line}"
                );
            }
        }
    }
    assert_eq!(inert("Beta\r\nfake line"), "Beta\\r\\nfake line");
}

/// The status matrix of `names`: the source space (the first) holds the three workers; the
/// second space has the first worker registered (under the second worker's name, so `Stale`
/// and `RegisteredAs` hold names too) and an orphan named after the third; the third space
/// could not be read, with the server's text as its error.
fn status_document(names: &Names) -> octoshare_cli::json::StatusDocument {
    use octoshare_core::Worker;
    use octoshare_status::{FleetRead, SpaceRead};
    let worker = |id: &str, name: &str, pool: &str, uri: &str| -> Worker {
        serde_json::from_value(serde_json::json!({
            "Id": id,
            "Name": name,
            "WorkerPoolIds": [pool],
            "IsDisabled": false,
            "HealthStatus": "Healthy",
            "Endpoint": {"CommunicationStyle": "TentacleActive", "Uri": uri, "Thumbprint": "AAAA"},
        }))
        .expect("a worker")
    };
    let source_workers = (0..3)
        .map(|index| {
            worker(
                &format!("Workers-{}", index + 1),
                &names.workers[index],
                "WorkerPools-1",
                &format!("poll://worker-{index}/"),
            )
        })
        .collect();
    let read = FleetRead {
        source: names.target(0),
        source_workers,
        spaces: vec![
            SpaceRead {
                target: names.target(1),
                workers: Ok(vec![
                    worker(
                        "Workers-11",
                        &names.workers[1],
                        "WorkerPools-2",
                        "poll://worker-0/",
                    ),
                    worker(
                        "Workers-12",
                        &names.workers[2],
                        "WorkerPools-2",
                        "poll://gone/",
                    ),
                ]),
            },
            SpaceRead {
                target: names.target(2),
                workers: Err(server_error(&names.server_text)),
            },
        ],
    };
    octoshare_cli::json::StatusDocument {
        matrix: octoshare_status::build(&read),
        server_url: "https://octopus.example/".to_owned(),
        generated_at: "2026-01-01T00:00:00Z".to_owned(),
        requests: octoshare_cli::json::Requests::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// `octoshare status`'s renderers, printed as the command prints them: the table's rows one
    /// by one, the HTML page and the `--format json` text as results, the failure line, the
    /// JSON document. Every printed line is checked; each row is still one line, the page and
    /// the JSON text keep their own lines; the page carries no raw control character; the JSON
    /// document and the `--format json` text hold the exact names.
    #[test]
    fn status_renderers_print_any_name_on_one_line(names in names()) {
        use octoshare_cli::render::status as status_render;
        let document = status_document(&names);
        let matrix = &document.matrix;
        let mut rows = vec![status_render::heading(matrix)];
        rows.extend(status_render::table(matrix, 120));
        rows.push(status_render::verdict(matrix));
        let page = status_render::html(&document, None);
        prop_assert!(
            page.split('\n').all(|line| !line.contains(is_escaped)),
            "a raw control character in the page"
        );
        let json_text = octoshare_cli::output::inert_json_pretty(&octoshare_cli::json::Document {
            body: Some(&document),
            failure: None,
        })
        .expect("serialised");
        let parsed: Value = serde_json::from_str(&json_text).expect("JSON");
        let failure = format!(
            "{} in pool '{}'",
            status_render::verdict(matrix),
            matrix.worker_pool_name
        );
        for mode in MODES {
            let context = format!("status in {mode:?}");
            let printed = render(mode, |out| {
                for row in &rows {
                    out.result_line(row);
                }
                out.result_text(&page);
                out.result_text(&json_text);
                out.failure(&failure);
                out.write_document(&octoshare_cli::json::Document {
                    body: Some(&document),
                    failure: None,
                })
                .expect("written");
            });
            check_lines(&format!("{context}, stdout"), &printed.stdout)?;
            check_lines(&format!("{context}, stderr"), &printed.stderr)?;
            let documents = [parsed.clone()].into_iter().chain(
                (mode == OutputMode::Json)
                    .then(|| serde_json::from_str::<Value>(&printed.stdout).expect("the document")),
            );
            for document in documents {
                prop_assert_eq!(&document["WorkerPoolName"], &Value::from(names.pool.clone()));
                prop_assert_eq!(&document["Spaces"][0]["Name"], &Value::from(names.spaces[1].clone()));
                prop_assert_eq!(&document["Spaces"][1]["Name"], &Value::from(names.spaces[2].clone()));
                let workers: Vec<Value> = document["Workers"]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .map(|row| row["Name"].clone())
                    .collect();
                for name in &names.workers {
                    prop_assert!(workers.contains(&Value::from(name.clone())), "{}: {:?}", context, name);
                }
            }
            if mode != OutputMode::Json {
                // What the failure line itself prints on stdout in this mode.
                let failure_lines = render(mode, |out| out.failure("plain")).stdout.lines().count();
                let expected = rows.len()
                    + page.split('\n').count()
                    + json_text.split('\n').count()
                    + failure_lines;
                prop_assert_eq!(
                    printed.stdout.lines().count(),
                    expected,
                    "{}: a name changed the number of lines:\n{}",
                    context,
                    printed.stdout
                );
            }
        }
    }
}
