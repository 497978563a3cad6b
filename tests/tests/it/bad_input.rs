//! The bad-input table: one test per row, each running the relevant binaries and asserting the
//! single stderr line (the `error: ...` line; clap adds its usage lines after a usage error),
//! the exit code, that nothing panicked, and how many requests were made (a 401 is never
//! retried; a page that is not the API is not retried either).
//!
//! Servers the emulator cannot imitate (an HTML page, a redirect loop, a truncated body, another
//! API version) are canned (`support::canned`).

use std::cell::Cell;

use octopus_emulator::{Access, ApiKeySeed, Emulator, Permission, Scenario, SpaceSeed};

use crate::support::binaries::{self, DISCOVER, ORCHESTRATOR, Run, SHARE, WAIT};
use crate::support::canned::{CannedServer, Reply, root_document};
use crate::support::fleet::{Fleet, OTHER_POOL, POOL, SOURCE, polling, worker_ids};
use crate::support::report_figures;

/// A key the canned servers never check.
const SOME_KEY: &str = "API-SOMEKEY000000000000000000";

/// Counts the bad inputs a row tried (one per binary invocation) and reports them when the row
/// ends, for RELIABILITY.md.
struct Row {
    name: &'static str,
    tried: Cell<usize>,
}

impl Row {
    fn new(name: &'static str) -> Row {
        Row {
            name,
            tried: Cell::new(0),
        }
    }

    /// Runs `binary` against `server` with `key` (environment) and `args`, zero retry delay.
    fn invoke(&self, binary: &str, server: &str, key: &str, args: &[&str]) -> Run {
        let mut command = binaries::command(binary);
        command
            .env("OCTOPUS_URL", server)
            .env("OCTOPUS_API_KEY", key)
            .args(args)
            .args(["--retry-delay", "0ms"]);
        self.run(format!("{binary} {}", args.join(" ")), &mut command)
    }

    fn run(&self, label: String, command: &mut std::process::Command) -> Run {
        self.tried.set(self.tried.get() + 1);
        Run::of(label, command)
    }
}

impl Drop for Row {
    fn drop(&mut self) {
        report_figures(
            &format!("bad input: {}", self.name),
            &[("inputs_tried", self.tried.get().to_string())],
        );
    }
}

/// Each step binary, `octoshare run` and `octoshare retire` (in octopus mode, so stderr holds
/// only the error line) with arguments that would succeed against the fleet scenario.
fn steps() -> [(&'static str, Vec<&'static str>); 5] {
    [
        (DISCOVER, vec!["--worker-pool", POOL]),
        (
            WAIT,
            vec![
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "--timeout",
                "2s",
                "--poll-interval",
                "10ms",
            ],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "Target 1",
                "--worker-pool",
                POOL,
            ],
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "--timeout",
                "2s",
                "--poll-interval",
                "10ms",
                "--output",
                "octopus",
            ],
        ),
        (
            ORCHESTRATOR,
            vec![
                "retire",
                "--worker",
                "web-1",
                "--drain-timeout",
                "2s",
                "--poll-interval",
                "10ms",
                "--output",
                "octopus",
            ],
        ),
    ]
}

/// Asserts the exit code and returns the single error line.
#[track_caller]
fn failed_with(run: &Run, code: i32) -> String {
    assert_eq!(run.code, code, "{}", run.describe());
    run.error_line()
}

#[track_caller]
fn assert_contains(line: &str, parts: &[&str], run: &Run) {
    for part in parts {
        assert!(
            line.contains(part),
            "'{part}' not in '{line}'\n{}",
            run.describe()
        );
    }
}

fn fleet_emulator() -> (Emulator, Fleet) {
    let fleet = Fleet {
        source_workers: 2,
        targets: 2,
        every_kind: false,
    };
    (
        Emulator::start(fleet.scenario()).expect("the emulator starts"),
        fleet,
    )
}

#[test]
fn bad_input_unparsable_server_url_is_a_usage_error() {
    let row = Row::new("unparsable server url is a usage error");
    for url in [
        "not a url",
        "ftp://octopus.example.com/",
        "https://",
        "http://h:99999/",
        "https://h/app#/Spaces-1",
    ] {
        for (binary, args) in steps() {
            let run = row.invoke(binary, url, SOME_KEY, &args);
            let line = failed_with(&run, 2);
            assert_contains(&line, &["invalid Octopus server URL"], &run);
        }
    }
}

#[test]
fn bad_input_html_page_is_diagnosed_as_not_an_octopus_server_without_retries() {
    let row = Row::new("html page is diagnosed as not an octopus server without retries");
    let server = CannedServer::start(|_, _| {
        Reply::new(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><body>Sign in to the corporate proxy</body></html>",
        )
    });
    for (binary, args) in steps() {
        let before = server.requests().len();
        let run = row.invoke(binary, &server.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(
            &line,
            &[
                "is not an Octopus Deploy server",
                "HTML page",
                "check the server URL",
            ],
            &run,
        );
        // The failing request once, then one GET /api to diagnose it: no retries.
        let made = server.requests().len() - before;
        assert!(
            made <= 2,
            "{made} requests for an HTML page: {:#?}",
            server.requests()
        );
    }
}

#[test]
fn bad_input_html_error_page_from_a_proxy_is_retried_only_as_a_5xx() {
    let row = Row::new("html 502 page from a proxy is retried as a 5xx, within the limit");
    let server = CannedServer::start(|_, _| {
        Reply::new(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
        )
    });
    for (binary, args) in steps() {
        let before = server.requests().len();
        let mut args = args.clone();
        args.extend(["--max-retries", "2"]);
        let run = row.invoke(binary, &server.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(
            &line,
            &["server error 502 after 3 attempts", "HTML page"],
            &run,
        );
        // A GET on a 5xx: the first attempt and 2 retries, nothing more.
        assert_eq!(
            server.requests().len() - before,
            3,
            "{:#?}",
            server.requests()
        );
    }
}

#[test]
fn bad_input_404_on_api_is_diagnosed_as_a_wrong_url() {
    let row = Row::new("404 on api is diagnosed as a wrong url");
    let server = CannedServer::start(|_, _| Reply::new(404, "text/plain", "Not Found"));
    for (binary, args) in steps() {
        let before = server.requests().len();
        let run = row.invoke(binary, &server.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(
            &line,
            &[
                "is not an Octopus Deploy server",
                "GET /api returned 404",
                "virtual directory",
            ],
            &run,
        );
        let made = server.requests().len() - before;
        assert!(made <= 2, "{made} requests: {:#?}", server.requests());
    }
}

#[test]
fn bad_input_non_json_body_is_diagnosed_without_retries() {
    let row = Row::new("non json body is diagnosed without retries");
    let server =
        CannedServer::start(|_, _| Reply::new(200, "text/plain", "hello from a web server"));
    for (binary, args) in steps() {
        let before = server.requests().len();
        let run = row.invoke(binary, &server.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(
            &line,
            &[
                "is not an Octopus Deploy server",
                "did not return JSON",
                "hello from",
            ],
            &run,
        );
        assert!(server.requests().len() - before <= 2);
    }
}

#[test]
fn bad_input_api_version_outside_3_0_is_refused() {
    let row = Row::new("api version outside 3 0 is refused");
    // A server whose /api says API 4.0 and which does not serve the 3.0 routes.
    let server = CannedServer::start(|request, _| {
        if request.target == "/api" || request.target == "/api/" {
            Reply::json(200, &root_document("4.0.0"))
        } else {
            // A web application's fallback page for every route it does not know.
            Reply::new(200, "text/html", "<!DOCTYPE html><html>app</html>")
        }
    });
    for (binary, args) in steps() {
        let run = row.invoke(binary, &server.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(
            &line,
            &[
                "is not an Octopus Deploy server",
                "API version '4.0.0'",
                "3.0.x",
            ],
            &run,
        );
    }
}

#[test]
fn bad_input_truncated_bodies_fail_cleanly() {
    let row = Row::new("truncated bodies fail cleanly");
    // A body cut short of its Content-Length: a transport failure, retried like any (GET).
    let cut =
        CannedServer::start(|_, _| Reply::json(200, r#"[{"Id":"Spaces-1","Na"#).truncated(400));
    for (binary, args) in steps() {
        let before = cut.requests().len();
        let mut args = args.clone();
        args.extend(["--max-retries", "2"]);
        let run = row.invoke(binary, &cut.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(&line, &["closed before the whole response arrived"], &run);
        assert_eq!(cut.requests().len() - before, 3, "{:#?}", cut.requests());
    }
    // A complete response holding half a JSON document: a decode error naming where it broke.
    let half = CannedServer::start(|request, _| {
        if request.target == "/api" {
            Reply::json(200, &root_document("3.0.0"))
        } else {
            Reply::json(200, r#"[{"Id":"Spaces-1","Name":"Default","#)
        }
    });
    for (binary, args) in steps() {
        let before = half.requests().len();
        let run = row.invoke(binary, &half.url(), SOME_KEY, &args);
        let line = failed_with(&run, 1);
        assert_contains(
            &line,
            &[
                "GET /api/spaces/all returned a response that cannot be read",
                "EOF",
            ],
            &run,
        );
        assert!(half.requests().len() - before <= 2);
    }
}

#[test]
fn bad_input_redirect_loop_is_reported_and_not_retried() {
    let row = Row::new("redirect loop is reported and not retried");
    let server = CannedServer::start(|request, _| Reply::redirect(&request.target));
    for (binary, args) in steps() {
        let before = server.requests().len();
        let run = row.invoke(binary, &server.url(), SOME_KEY, &args);
        let line = failed_with(&run, 7);
        assert_contains(&line, &["redirect loop", "check the server URL"], &run);
        // One request and its 5 followed redirects (plus at most the same for GET /api).
        let made = server.requests().len() - before;
        assert!(made <= 12, "{made} requests for a redirect loop");
    }
}

#[test]
fn bad_input_wrong_key_is_refused_once_with_exit_6() {
    let row = Row::new("wrong key is refused once with exit 6");
    let (emulator, _) = fleet_emulator();
    for (binary, args) in steps() {
        emulator.clear_requests();
        let run = row.invoke(
            binary,
            &emulator.url(),
            "API-WRONGKEY0000000000000000000",
            &args,
        );
        let line = failed_with(&run, 6);
        assert_contains(
            &line,
            &["API key rejected by", "(401)", "check OCTOPUS_API_KEY"],
            &run,
        );
        assert_eq!(
            emulator.requests().len(),
            1,
            "a 401 was retried: {:#?}",
            emulator.requests()
        );
    }
    // No key at all: a usage error before any request.
    for (binary, args) in steps() {
        emulator.clear_requests();
        let run = row.invoke(binary, &emulator.url(), "", &args);
        let line = failed_with(&run, 2);
        assert_contains(&line, &["no credentials given", "OCTOPUS_API_KEY"], &run);
        assert!(emulator.requests().is_empty());
    }
}

#[test]
fn bad_input_read_only_key_reads_but_every_write_is_refused_once() {
    let row = Row::new("read only key reads but every write is refused once");
    let (emulator, fleet) = fleet_emulator();
    let key = emulator.read_only_api_key();
    for (binary, args) in steps() {
        if binary == SHARE || binary == ORCHESTRATOR {
            continue;
        }
        let run = row.invoke(binary, &emulator.url(), &key, &args);
        assert_eq!(run.code, 0, "{}", run.describe());
    }
    let ids_before = worker_ids(&emulator, &fleet.all_space_names());
    let targets = fleet.target_ids(&emulator);
    let share = [
        "--from-space",
        SOURCE,
        "--to-spaces",
        &targets,
        "--worker-pool",
        POOL,
    ];
    let run = ["run", "--worker-pool", POOL, "--output", "octopus"];
    for (binary, args) in [(SHARE, &share[..]), (ORCHESTRATOR, &run[..])] {
        emulator.clear_requests();
        let run = row.invoke(binary, &emulator.url(), &key, args);
        let line = failed_with(&run, 6);
        assert_contains(
            &line,
            &["permission refused: the API key needs WorkerEdit in 'Target 1' ("],
            &run,
        );
        assert!(!line.contains("ConfigureServer"), "{line}");
        let refused: Vec<_> = emulator
            .requests()
            .into_iter()
            .filter(|request| request.method != "GET")
            .collect();
        assert!(!refused.is_empty(), "{}", run.describe());
        assert!(
            refused.iter().all(|request| request.status == 403),
            "{refused:#?}"
        );
        // A refused write is never sent again (writes already in flight are refused too).
        let mut targets: Vec<(&str, &str)> = refused
            .iter()
            .map(|request| (request.method.as_str(), request.path.as_str()))
            .collect();
        targets.sort_unstable();
        let sent = targets.len();
        targets.dedup();
        assert_eq!(
            targets.len(),
            sent,
            "a refused write was retried: {refused:#?}"
        );
        assert_eq!(worker_ids(&emulator, &fleet.all_space_names()), ids_before);
    }
}

#[test]
fn bad_input_a_space_the_key_may_not_look_inside_is_skipped_or_named_with_worker_view() {
    let row = Row::new("a space the key may not look inside (403 WorkerView)");
    const KEY: &str = "API-NOWORKERVIEWINTARGET10000001";
    let fleet = Fleet {
        source_workers: 2,
        targets: 2,
        every_kind: false,
    };
    let emulator = Emulator::start(
        fleet.scenario().scoped_key(
            ApiKeySeed::api_key(KEY)
                .default_access(Access::Full)
                .space("Target 1", Access::Only(vec![Permission::ProxyView])),
        ),
    )
    .expect("the emulator starts");
    let url = emulator.url();
    let target_1 = emulator.space_id("Target 1").expect("Target 1 exists");
    let skipped = format!(
        "space Target 1 ({target_1}) skipped: the API key may not read its worker pools (it lacks the WorkerView permission there)"
    );

    // wait on it: exit 6 naming the permission and the space.
    let run = row.invoke(
        WAIT,
        &url,
        KEY,
        &["--space", "Target 1", "--worker-pool", POOL, "--count", "1"],
    );
    let line = failed_with(&run, 6);
    assert_contains(
        &line,
        &[
            "(403)",
            "Missing permission: WorkerView",
            &format!("grant WorkerView in {target_1}"),
        ],
        &run,
    );

    // share into it and another space: the other is shared, this one fails (exit 5).
    let run = row.invoke(
        SHARE,
        &url,
        KEY,
        &[
            "--from-space",
            SOURCE,
            "--to-spaces",
            "Target 1,Target 2",
            "--worker-pool",
            POOL,
        ],
    );
    let line = failed_with(&run, 5);
    assert_contains(
        &line,
        &[&format!(
            "permission refused: the API key needs WorkerView in 'Target 1' ({target_1})"
        )],
        &run,
    );
    assert_eq!(run.output("CreatedWorkerCount").as_deref(), Some("1"));

    // discover and run skip the space with a warning and go on (exit 0; run finds Target 2
    // already shared).
    let run = row.invoke(DISCOVER, &url, KEY, &["--worker-pool", POOL]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_contains(&run.stdout, &[&skipped], &run);
    let run = row.invoke(
        ORCHESTRATOR,
        &url,
        KEY,
        &["run", "--worker-pool", POOL, "--output", "text"],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_contains(&run.stderr, &[&skipped], &run);
}

#[test]
fn bad_input_a_dynamic_pool_never_takes_a_worker() {
    let row = Row::new("a dynamic worker pool given as --worker-pool");
    const HOSTED: &str = "Hosted Ubuntu";
    let emulator = Emulator::start(
        Scenario::new()
            .space(
                SpaceSeed::new(SOURCE)
                    .default_space()
                    .dynamic_pool(HOSTED, "UbuntuDefault"),
            )
            .space(SpaceSeed::new("Target 1").pool(HOSTED)),
    )
    .expect("the emulator starts");
    let url = emulator.url();
    let key = emulator.api_key();
    let dynamic = "is a dynamic worker pool";
    let cases: [(&str, Vec<&str>, i32, &[&str]); 4] = [
        (
            WAIT,
            vec!["--space", SOURCE, "--worker-pool", HOSTED, "--count", "1"],
            3,
            &[dynamic, "give a static pool in --worker-pool"],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "Target 1",
                "--worker-pool",
                HOSTED,
            ],
            3,
            &["source pool 'Hosted Ubuntu'", dynamic],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                "Target 1",
                "--to-spaces",
                SOURCE,
                "--worker-pool",
                HOSTED,
            ],
            5,
            &["1 item failed in 1 of 1 target spaces"],
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                HOSTED,
                "--initial-space",
                SOURCE,
                "--output",
                "octopus",
            ],
            3,
            &["--initial-space Default (Spaces-1) was skipped", dynamic],
        ),
    ];
    for (binary, args, code, parts) in cases {
        let run = row.invoke(binary, &url, &key, &args);
        let line = failed_with(&run, code);
        assert_contains(&line, parts, &run);
    }
    let writes = emulator
        .requests()
        .iter()
        .filter(|request| request.method != "GET")
        .count();
    assert_eq!(writes, 0, "a dynamic pool never gets a write");
}

#[test]
fn bad_input_unknown_space_pool_and_policy_names() {
    let row = Row::new("unknown space pool and policy names");
    let (emulator, fleet) = fleet_emulator();
    let url = emulator.url();
    let key = emulator.api_key();
    let cases: Vec<(&str, Vec<&str>, i32, &[&str])> = vec![
        (
            DISCOVER,
            vec!["--worker-pool", "No Such Pool"],
            3,
            &[
                "no space has a worker pool named 'No Such Pool'",
                "check --worker-pool",
            ],
        ),
        (
            DISCOVER,
            vec!["--worker-pool", POOL, "--initial-space", "Nowhere"],
            3,
            &["Nowhere"],
        ),
        (
            WAIT,
            vec!["--space", "Nowhere", "--worker-pool", POOL, "--count", "1"],
            3,
            &["Nowhere"],
        ),
        (
            WAIT,
            vec![
                "--space",
                SOURCE,
                "--worker-pool",
                "No Such Pool",
                "--count",
                "1",
            ],
            3,
            &["No Such Pool"],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                "Nowhere",
                "--to-spaces",
                "Target 1",
                "--worker-pool",
                POOL,
            ],
            3,
            &[
                "no space has the name or Id 'Nowhere'",
                "check --from-space",
            ],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "Target 1",
                "--worker-pool",
                "No Such Pool",
            ],
            3,
            &[
                "has no worker pool named 'No Such Pool'",
                "check --worker-pool",
            ],
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "Nowhere,Target 1",
                "--worker-pool",
                POOL,
            ],
            5,
            &["failed in 1 of 2 target spaces"],
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                "No Such Pool",
                "--output",
                "octopus",
            ],
            3,
            &["no space has a worker pool named 'No Such Pool'"],
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                POOL,
                "--initial-space",
                "Nowhere",
                "--output",
                "octopus",
            ],
            3,
            &["Nowhere"],
        ),
    ];
    for (binary, args, code, parts) in cases {
        let run = row.invoke(binary, &url, &key, &args);
        let line = failed_with(&run, code);
        assert_contains(&line, parts, &run);
    }
    // An unknown --machine-policy fails a space only where a worker is to be created there (the
    // policy applies to created workers only, and is not read otherwise): on a fresh fleet,
    // every target needs a create.
    let (fresh, _) = fleet_emulator();
    let policy_cases: [(&str, Vec<&str>); 2] = [
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "Target 1",
                "--worker-pool",
                POOL,
                "--machine-policy",
                "No Such Policy",
            ],
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                POOL,
                "--machine-policy",
                "No Such Policy",
                "--output",
                "octopus",
            ],
        ),
    ];
    for (binary, args) in policy_cases {
        let run = row.invoke(binary, &fresh.url(), &fresh.api_key(), &args);
        let line = failed_with(&run, 5);
        assert_contains(&line, &["failed"], &run);
        assert_contains(
            &run.stdout,
            &["the space has no machine policy named 'No Such Policy'"],
            &run,
        );
    }
    assert_eq!(fresh.count("POST"), 0, "nothing created without the policy");
    // The known target of the mixed list was still shared; the policy case changed nothing more.
    let target = emulator.space_id("Target 1").expect("Target 1");
    let names: Vec<String> = emulator
        .workers(&target)
        .iter()
        .filter_map(|worker| worker["Name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"web-2".to_owned()), "{names:?}");
    let _ = fleet;
}

#[test]
fn bad_input_invalid_durations_and_counts_are_usage_errors() {
    let row = Row::new("invalid durations and counts are usage errors");
    let (emulator, _) = fleet_emulator();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            DISCOVER,
            vec!["--worker-pool", POOL, "--request-timeout", "5x"],
            "--request-timeout",
        ),
        (
            WAIT,
            vec![
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "--timeout",
                "forever",
            ],
            "--timeout",
        ),
        (
            WAIT,
            vec![
                "--space",
                SOURCE,
                "--worker-pool",
                POOL,
                "--count",
                "1",
                "--poll-interval=-1s",
            ],
            "--poll-interval",
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "",
                "--worker-pool",
                POOL,
                "--retry-delay",
                "1 fortnight",
            ],
            "--retry-delay",
        ),
        (
            WAIT,
            vec!["--space", SOURCE, "--worker-pool", POOL, "--count", "0"],
            "--count",
        ),
        (
            WAIT,
            vec!["--space", SOURCE, "--worker-pool", POOL, "--count=-3"],
            "--count",
        ),
        (
            WAIT,
            vec!["--space", SOURCE, "--worker-pool", POOL, "--count", "many"],
            "--count",
        ),
        (
            DISCOVER,
            vec!["--worker-pool", POOL, "--concurrency", "0"],
            "--concurrency",
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "",
                "--worker-pool",
                POOL,
                "--concurrency",
                "0",
            ],
            "--concurrency",
        ),
        (
            SHARE,
            vec![
                "--from-space",
                SOURCE,
                "--to-spaces",
                "",
                "--worker-pool",
                POOL,
                "--max-retries=-1",
            ],
            "--max-retries",
        ),
        (
            ORCHESTRATOR,
            vec![
                "run",
                "--worker-pool",
                POOL,
                "--count",
                "2",
                "--timeout",
                "forever",
            ],
            "--timeout",
        ),
        (
            ORCHESTRATOR,
            vec!["run", "--worker-pool", POOL, "--count", "0"],
            "--count",
        ),
        (
            ORCHESTRATOR,
            vec!["run", "--worker-pool", POOL, "--concurrency=-2"],
            "--concurrency",
        ),
        (
            ORCHESTRATOR,
            vec!["retire", "--worker", "web-1", "--drain-timeout", "soon"],
            "--drain-timeout",
        ),
        (
            ORCHESTRATOR,
            vec!["retire", "--worker", "web-1", "--poll-interval", "0s"],
            "--poll-interval",
        ),
        (
            ORCHESTRATOR,
            vec!["retire", "--thumbprint", "not-a-thumbprint"],
            "--thumbprint",
        ),
        (ORCHESTRATOR, vec!["retire"], "--worker"),
        (
            ORCHESTRATOR,
            vec!["retire", "--worker", "web-1", "--this-machine"],
            "--this-machine",
        ),
        (
            ORCHESTRATOR,
            vec!["retire", "--worker", "web-1", "--force", "--dry-run"],
            "--dry-run",
        ),
        (
            ORCHESTRATOR,
            vec!["retire", "--worker", "web-1", "--tentacle-config", "/x"],
            "--this-machine",
        ),
    ];
    for (binary, args, flag) in cases {
        let mut command = binaries::command(binary);
        command
            .env("OCTOPUS_URL", emulator.url())
            .env("OCTOPUS_API_KEY", emulator.api_key())
            .args(&args);
        let run = row.run(format!("{binary} {}", args.join(" ")), &mut command);
        assert_eq!(run.code, 2, "{}", run.describe());
        let line = run.usage_error_line();
        assert!(
            line.contains(flag),
            "'{flag}' not in '{line}'\n{}",
            run.describe()
        );
    }
    // A zero request timeout parses but cannot work: refused before any request.
    emulator.clear_requests();
    let run = row.invoke(
        DISCOVER,
        &emulator.url(),
        &emulator.api_key(),
        &["--worker-pool", POOL, "--request-timeout", "0s"],
    );
    let line = failed_with(&run, 2);
    assert_contains(&line, &["--request-timeout must be more than 0s"], &run);
    assert!(emulator.requests().is_empty());
}

#[test]
fn bad_input_empty_and_duplicated_to_spaces() {
    let row = Row::new("empty and duplicated to spaces");
    let (emulator, fleet) = fleet_emulator();
    for empty in ["", " , ,"] {
        let run = row.invoke(
            SHARE,
            &emulator.url(),
            &emulator.api_key(),
            &[
                "--from-space",
                SOURCE,
                "--to-spaces",
                empty,
                "--worker-pool",
                POOL,
            ],
        );
        run.assert_no_panic();
        assert_eq!(run.code, 0, "{}", run.describe());
        assert_eq!(run.output("CreatedWorkerCount").as_deref(), Some("0"));
        assert!(run.stderr.trim().is_empty(), "{}", run.describe());
    }
    assert_eq!(
        emulator.count("POST") + emulator.count("PUT") + emulator.count("DELETE"),
        0
    );

    // The same space four times (Id twice, name in two letter cases) and once more as the source.
    let ids_before = worker_ids(&emulator, &fleet.all_space_names());
    let target_1 = emulator.space_id("Target 1").expect("Target 1");
    let target_2 = emulator.space_id("Target 2").expect("Target 2");
    let list = format!("{target_1}, {target_1},target 1,TARGET 1,{SOURCE},{target_2}");
    let run = row.invoke(
        SHARE,
        &emulator.url(),
        &emulator.api_key(),
        &[
            "--from-space",
            SOURCE,
            "--to-spaces",
            &list,
            "--worker-pool",
            POOL,
        ],
    );
    run.assert_no_panic();
    assert_eq!(run.code, 0, "{}", run.describe());
    fleet.assert_converged(&emulator, false, &ids_before, "duplicated --to-spaces");
    // Target 1: web-2 created, web-1 added to the pool; Target 2: web-1 created, web-2 replaced.
    assert_eq!(emulator.count("POST"), 2, "{:#?}", emulator.requests());
    assert_eq!(emulator.count("PUT"), 2, "{:#?}", emulator.requests());
}

#[test]
fn bad_input_names_with_quotes_commas_unicode_and_spaces() {
    let row = Row::new("names with quotes commas unicode and spaces");
    const SPACE: &str = "Zürich \"Ops\", Team ✓";
    // Sorts after SPACE, so SPACE is the initial space.
    const PEER: &str = "Ω peer 'space'";
    const POOL_NAME: &str = "Pool 'Ü' \"x\", y";
    const WORKER: &str = "wörker \"1\", 'a' ✓";
    let emulator = Emulator::start(
        Scenario::new()
            .space(
                SpaceSeed::new(SPACE)
                    .pool(POOL_NAME)
                    .worker(polling(WORKER, 7).in_pool(POOL_NAME)),
            )
            .space(SpaceSeed::new(PEER).pool(POOL_NAME).pool(OTHER_POOL)),
    )
    .expect("the emulator starts");
    let (url, key) = (emulator.url(), emulator.api_key());
    // Leading and trailing spaces and another ASCII letter case still match.
    let padded_pool = format!("  {}  ", POOL_NAME.replace('x', "X").replace('y', "Y"));
    let run = row.invoke(DISCOVER, &url, &key, &["--worker-pool", &padded_pool]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.output("InitialSpaceName").as_deref(), Some(SPACE));
    assert_eq!(run.output("WorkerPoolName").as_deref(), Some(POOL_NAME));
    assert_eq!(run.output("RemainingSpaceNames").as_deref(), Some(PEER));
    let remaining = run.output("RemainingSpaceIds").expect("RemainingSpaceIds");

    let padded_space = format!(" {SPACE} ");
    let run = row.invoke(
        WAIT,
        &url,
        &key,
        &[
            "--space",
            &padded_space,
            "--worker-pool",
            &padded_pool,
            "--count",
            "1",
            "--timeout",
            "2s",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.output("RegisteredWorkerNames").as_deref(), Some(WORKER));

    let run = row.invoke(
        SHARE,
        &url,
        &key,
        &[
            "--from-space",
            &padded_space,
            "--to-spaces",
            &remaining,
            "--worker-pool",
            &padded_pool,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(run.output("CreatedWorkerCount").as_deref(), Some("1"));
    let peer = emulator.space_id(PEER).expect("peer space");
    let names: Vec<String> = emulator
        .workers(&peer)
        .iter()
        .filter_map(|worker| worker["Name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, [WORKER]);

    // A space name with a comma cannot be given in the comma-separated --to-spaces: it splits,
    // and the halves are reported as unknown spaces (the Ids from discover always work).
    let run = row.invoke(
        SHARE,
        &url,
        &key,
        &[
            "--from-space",
            PEER,
            "--to-spaces",
            SPACE,
            "--worker-pool",
            POOL_NAME,
        ],
    );
    let line = failed_with(&run, 5);
    assert_contains(&line, &["failed in 2 of 2 target spaces"], &run);
}

/// `--report` that cannot be written (under `/proc`, an existing directory, under a file) is a
/// usage error before the first request. Before: share performed every write, then exited 5
/// "cannot create the directory".
#[test]
fn bad_input_unwritable_report_path_is_refused_before_any_request() {
    let row = Row::new("unwritable report path is refused before any request");
    let (emulator, fleet) = fleet_emulator();
    let scratch = tempfile::tempdir().expect("a temp dir");
    let file = scratch.path().join("a-file");
    std::fs::write(&file, "x").expect("written");
    let directory = scratch.path().display().to_string();
    let under_file = file.join("report.json").display().to_string();
    let mut paths = vec![
        (directory.as_str(), "it is a directory"),
        (under_file.as_str(), "Not a directory"),
    ];
    if std::path::Path::new("/proc/self").exists() {
        paths.push(("/proc/nope/report.json", "cannot be created"));
    }
    let targets = fleet.target_ids(&emulator);
    for (path, reason) in paths {
        for (binary, args) in [
            (
                SHARE,
                vec![
                    "--from-space",
                    SOURCE,
                    "--to-spaces",
                    targets.as_str(),
                    "--worker-pool",
                    POOL,
                    "--report",
                    path,
                ],
            ),
            (
                ORCHESTRATOR,
                vec![
                    "run",
                    "--worker-pool",
                    POOL,
                    "--output",
                    "octopus",
                    "--report",
                    path,
                ],
            ),
        ] {
            emulator.clear_requests();
            let run = row.invoke(binary, &emulator.url(), &emulator.api_key(), &args);
            let line = failed_with(&run, 2);
            assert_contains(
                &line,
                &["cannot write the report to", reason, "check --report"],
                &run,
            );
            // Checked before anything was sent: no write, no read either.
            assert_eq!(emulator.requests(), Vec::new(), "{}", run.describe());
        }
    }
    // Nothing was created while checking.
    let mut left: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("readable")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    left.sort();
    assert_eq!(left, ["a-file"]);
    assert!(!std::path::Path::new("/proc/nope").exists());
}

#[test]
fn bad_input_retire_unknown_pool_read_only_key_and_unreadable_tentacle() {
    let row = Row::new("retire: unknown pool, read-only key, unreadable tentacle");
    let (emulator, fleet) = fleet_emulator();
    let url = emulator.url();
    let key = emulator.api_key();
    // A pool no space has: exit 3 naming the flag, nothing written.
    let run = row.invoke(
        ORCHESTRATOR,
        &url,
        &key,
        &[
            "retire",
            "--worker",
            "web-1",
            "--worker-pool",
            "No Such Pool",
            "--output",
            "octopus",
        ],
    );
    let line = failed_with(&run, 3);
    assert_contains(&line, &["No Such Pool", "check --worker-pool"], &run);
    // A key that may only read: every disable refused once with 403 naming WorkerEdit, exit 6,
    // nothing deleted (no DELETE is sent for a registration that could not be disabled).
    emulator.clear_requests();
    let ids_before = worker_ids(&emulator, &fleet.all_space_names());
    let run = row.invoke(
        ORCHESTRATOR,
        &url,
        &emulator.read_only_api_key(),
        &[
            "retire",
            "--worker",
            "web-1",
            "--drain-timeout",
            "2s",
            "--output",
            "octopus",
        ],
    );
    let line = failed_with(&run, 6);
    assert_contains(&line, &["while disabling web-1", "WorkerEdit"], &run);
    let writes: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.method != "GET")
        .collect();
    assert!(
        !writes.is_empty() && writes.iter().all(|w| w.method == "PUT" && w.status == 403),
        "{writes:#?}"
    );
    assert_eq!(worker_ids(&emulator, &fleet.all_space_names()), ids_before);
    // --this-machine without a Tentacle: a usage error before any request.
    emulator.clear_requests();
    for args in [
        vec![
            "retire",
            "--this-machine",
            "--tentacle-path",
            "/nonexistent/Tentacle",
            "--output",
            "octopus",
        ],
        vec![
            "retire",
            "--this-machine",
            "--tentacle-config",
            "/nonexistent/tentacle.config",
            "--output",
            "octopus",
        ],
    ] {
        let run = row.invoke(ORCHESTRATOR, &url, &key, &args);
        let line = failed_with(&run, 2);
        assert_contains(
            &line,
            &["--this-machine", "/nonexistent/", "give --thumbprint"],
            &run,
        );
    }
    assert!(emulator.requests().is_empty());
}
