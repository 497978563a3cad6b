//! `octoshare status` against the emulator: a test per cell state, the flags and orphans, exit
//! 5 on drift and 0 after a share, the request budget, agreement with share's own decisions
//! (a dry run's actions are the cells' states; after a share every cell is `Shared` for every
//! kind the domain shares), and the three formats.

use crate::support::{POOL, Run, octoshare, polling, run_of, start};
use octopus_emulator::{AccountSeed, Emulator, Scenario, SpaceSeed, WorkerSeed};
use serde_json::Value;
use std::collections::BTreeMap;

/// The source space "Alpha" has `worker-1` and `worker-2` (polling) and `worker-3` (a listening
/// Tentacle) in the pool. The other spaces are given by the test.
fn fleet(others: Vec<SpaceSeed>) -> Scenario {
    let mut scenario = Scenario::new().space(
        SpaceSeed::new("Alpha")
            .default_space()
            .pool(POOL)
            .worker(polling("worker-1", 1))
            .worker(polling("worker-2", 2))
            .worker(listening("worker-3", 3)),
    );
    for space in others {
        scenario = scenario.space(space);
    }
    scenario
}

/// A polling worker with endpoint number `n` (as `polling`), only in `pool`.
fn polling_in(name: &str, n: u32, pool: &str) -> WorkerSeed {
    WorkerSeed::polling(
        name,
        &format!("poll://w{n:019}/"),
        &format!("{:040X}", 0xABCD_0000_u64 + u64::from(n)),
    )
    .in_pool(pool)
}

fn listening(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::listening(
        name,
        &format!("https://listener-{n}:10933/"),
        &format!("{:040X}", 0xBEEF_0000_u64 + u64::from(n)),
    )
    .in_pool(POOL)
}

/// `octoshare status --output json`: the exit code and the document.
fn status(emulator: &Emulator, extra: &[&str]) -> (i32, Value, Run) {
    let mut args = vec!["status", "--worker-pool", POOL, "--output", "json"];
    args.extend_from_slice(extra);
    let run = run_of(octoshare(emulator).args(&args));
    let document = run.json();
    (run.code, document, run)
}

/// The state of `worker`'s cell in space `space` (by name).
fn cell<'a>(document: &'a Value, worker: &str, space: &str) -> &'a Value {
    let space_id = document["Spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|column| column["Name"] == space)
        .unwrap_or_else(|| panic!("no column {space}: {document:#}"))["Id"]
        .as_str()
        .unwrap();
    let row = document["Workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["Name"] == worker)
        .unwrap_or_else(|| panic!("no row {worker}: {document:#}"));
    &row["Cells"][space_id]
}

fn state<'a>(document: &'a Value, worker: &str, space: &str) -> &'a str {
    cell(document, worker, space)["State"].as_str().unwrap()
}

#[test]
fn a_registration_with_the_endpoint_in_the_pool_is_shared() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta")
            .pool(POOL)
            .worker(polling("worker-1", 1))
            .worker(polling("renamed-2", 2))
            .worker(listening("worker-3", 3)),
    ]));
    let (code, document, run) = status(&emulator, &[]);
    assert_eq!(code, 0, "{run:?}");
    for worker in ["worker-1", "worker-2", "worker-3"] {
        assert_eq!(state(&document, worker, "Beta"), "Shared", "{worker}");
    }
    assert_eq!(
        cell(&document, "worker-2", "Beta")["RegisteredAs"],
        "renamed-2"
    );
    assert_eq!(document["Drift"], false);
    assert_eq!(document["Totals"]["Shared"], 3);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn nothing_with_the_endpoint_or_the_name_is_missing_and_exits_5() {
    let emulator = start(fleet(vec![SpaceSeed::new("Beta").pool(POOL)]));
    let (code, document, run) = status(&emulator, &[]);
    assert_eq!(code, 5, "{run:?}");
    assert_eq!(state(&document, "worker-1", "Beta"), "Missing");
    assert_eq!(cell(&document, "worker-1", "Beta")["WorkerId"], Value::Null);
    assert_eq!(document["Drift"], true);
    assert_eq!(document["ExitCode"], 5);
    assert!(
        document["Error"]
            .as_str()
            .unwrap()
            .starts_with("drift: 3 missing"),
        "{document:#}"
    );
}

#[test]
fn the_endpoint_registered_outside_the_pool_is_not_in_pool() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta")
            .pool(POOL)
            .pool("Other Pool")
            .worker(polling_in("worker-1", 1, "Other Pool")),
    ]));
    let (code, document, _) = status(&emulator, &[]);
    assert_eq!(code, 5);
    assert_eq!(state(&document, "worker-1", "Beta"), "NotInPool");
    assert!(cell(&document, "worker-1", "Beta")["WorkerId"].is_string());
}

#[test]
fn the_name_held_by_another_endpoint_is_stale_with_its_flags() {
    let emulator =
        start(fleet(vec![SpaceSeed::new("Delta").pool(POOL).worker(
            polling("worker-1", 99).health("Unavailable").disabled(true),
        )]));
    let (code, document, _) = status(&emulator, &[]);
    assert_eq!(code, 5);
    let stale = cell(&document, "worker-1", "Delta");
    assert_eq!(stale["State"], "Stale");
    assert_eq!(stale["Disabled"], true);
    assert_eq!(stale["Unhealthy"], true);
    assert_eq!(stale["HealthStatus"], "Unavailable");
    let delta = &document["Spaces"][0];
    assert_eq!(
        delta["Orphans"],
        serde_json::json!([]),
        "claimed as stale, so no orphan"
    );
}

#[test]
fn a_space_that_cannot_be_read_has_unknown_cells() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta").pool(POOL),
        SpaceSeed::new("Locked").pool(POOL),
    ]));
    emulator.add_fault(
        octopus_emulator::Fault::status(500)
            .method("GET")
            .path(&format!(
                "/api/{}/workers/all",
                emulator.space_id("Locked").unwrap()
            )),
    );
    let (code, document, run) = status(&emulator, &["--max-retries", "0"]);
    assert_eq!(code, 5, "{run:?}");
    assert_eq!(state(&document, "worker-1", "Locked"), "Unknown");
    assert_eq!(state(&document, "worker-1", "Beta"), "Missing");
    let locked = document["Spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|space| space["Name"] == "Locked")
        .unwrap();
    assert!(
        locked["Error"].as_str().unwrap().contains("500"),
        "{locked}"
    );
}

#[test]
fn orphans_are_registrations_whose_endpoint_left_the_source_pool() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta")
            .pool(POOL)
            .worker(polling("worker-1", 1))
            .worker(polling("worker-2", 2))
            .worker(listening("worker-3", 3))
            .worker(polling("destroyed-vm", 77).health("Unavailable")),
    ]));
    let (code, document, _) = status(&emulator, &[]);
    assert_eq!(code, 5, "an orphan is drift");
    assert_eq!(document["Totals"]["Shared"], 3);
    assert_eq!(document["Totals"]["Orphans"], 1);
    let orphan = &document["Spaces"][0]["Orphans"][0];
    assert_eq!(orphan["Name"], "destroyed-vm");
    assert_eq!(orphan["HealthStatus"], "Unavailable");
    assert_eq!(orphan["Kind"], "PollingTentacle");
}

#[test]
fn status_reads_the_spaces_their_pools_and_one_worker_list_per_qualifying_space() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta").pool(POOL),
        SpaceSeed::new("Gamma").pool("Something Else"),
        SpaceSeed::new("Delta").pool(POOL),
    ]));
    let (code, _, _) = status(&emulator, &[]);
    assert_eq!(code, 5);
    let requests = emulator.requests();
    let paths: Vec<&str> = requests
        .iter()
        .map(|request| request.path.as_str())
        .collect();
    // 1 space list + 4 pool lists + 3 worker lists (Alpha, Beta, Delta), nothing else.
    assert_eq!(requests.len(), 1 + 4 + 3, "{paths:#?}");
    assert!(requests.iter().all(|request| request.method == "GET"));
    assert_eq!(
        paths
            .iter()
            .filter(|path| path.ends_with("/workers/all"))
            .count(),
        3
    );
}

/// share's dry-run actions, per worker and space name.
fn planned_actions(emulator: &Emulator, on_conflict: &str) -> BTreeMap<(String, String), String> {
    let run = run_of(octoshare(emulator).args([
        "run",
        "--worker-pool",
        POOL,
        "--dry-run",
        "--on-conflict",
        on_conflict,
        "--output",
        "json",
    ]));
    let document = run.json();
    let mut actions = BTreeMap::new();
    for space in document["Report"]["Spaces"].as_array().unwrap() {
        let name = space["Space"]["Name"].as_str().unwrap().to_owned();
        for worker in space["Workers"].as_array().unwrap() {
            actions.insert(
                (worker["Name"].as_str().unwrap().to_owned(), name.clone()),
                worker["Action"].as_str().unwrap().to_owned(),
            );
        }
    }
    actions
}

/// Status and share decide by the same rules: for every cell, the state is what share's own
/// plan does with that worker in that space.
#[test]
fn every_cell_state_is_what_share_would_do() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta")
            .pool(POOL)
            .pool("Other Pool")
            .worker(polling("worker-1", 1))
            .worker(polling_in("worker-2", 2, "Other Pool"))
            .worker(listening("renamed-3", 3)),
        SpaceSeed::new("Delta")
            .pool(POOL)
            .worker(polling("WORKER-1", 99))
            .worker(polling("worker-2", 1)),
        SpaceSeed::new("Epsilon").pool(POOL),
    ]));
    let (_, document, _) = status(&emulator, &[]);
    for on_conflict in ["replace", "skip"] {
        let actions = planned_actions(&emulator, on_conflict);
        assert_eq!(actions.len(), 9, "{actions:#?}");
        for ((worker, space), action) in &actions {
            let expected = match action.as_str() {
                "Unchanged" => "Shared",
                "AddToPool" => "NotInPool",
                "ReplaceEndpoint" | "Conflict" => "Stale",
                "Create" => "Missing",
                other => panic!("unexpected action {other}"),
            };
            assert_eq!(
                state(&document, worker, space),
                expected,
                "{worker} in {space}: share plans {action} ({on_conflict})"
            );
        }
    }
    let states: Vec<&str> = ["Beta", "Delta", "Epsilon"]
        .iter()
        .flat_map(|space| {
            ["worker-1", "worker-2", "worker-3"]
                .iter()
                .map(|worker| state(&document, worker, space))
                .collect::<Vec<_>>()
        })
        .collect();
    for expected in ["Shared", "NotInPool", "Stale", "Missing"] {
        assert!(
            states.contains(&expected),
            "{expected} not covered: {states:?}"
        );
    }
}

/// After a share every cell is `Shared`, for every kind of worker the domain shares; the kinds
/// it does not share are listed as skipped, not as drift.
#[test]
fn after_a_share_every_cell_is_shared_and_status_exits_0() {
    let target = |name: &str| {
        SpaceSeed::new(name)
            .pool(POOL)
            .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
    };
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Alpha")
                    .default_space()
                    .pool(POOL)
                    .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
                    .worker(polling("poller", 1))
                    .worker(listening("listener", 2))
                    .worker(
                        WorkerSeed::ssh("ssh-box", "ssh-box.example", 22, "SHA256:abcdef")
                            .account("deploy-key")
                            .in_pool(POOL),
                    )
                    .worker(
                        WorkerSeed::kubernetes_agent(
                            "k8s-agent",
                            "poll://k8sagent0000000000001/",
                            "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
                        )
                        .in_pool(POOL),
                    ),
            )
            .space(target("Beta"))
            .space(target("Delta")),
    );
    let (before, _, _) = status(&emulator, &[]);
    assert_eq!(before, 5, "nothing is shared yet");
    let shared = run_of(octoshare(&emulator).args(["run", "--worker-pool", POOL]));
    assert_eq!(shared.code, 0, "{shared:?}");
    let (code, document, run) = status(&emulator, &[]);
    assert_eq!(code, 0, "{run:?}");
    assert_eq!(document["Drift"], false);
    let rows = document["Workers"].as_array().unwrap();
    let kinds: Vec<&str> = rows
        .iter()
        .map(|row| row["Kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"PollingTentacle") && kinds.contains(&"ListeningTentacle"),
        "{kinds:?}"
    );
    assert_eq!(
        rows.len() + document["SkippedWorkers"].as_array().unwrap().len(),
        4,
        "every source worker has a row or a reason"
    );
    for row in rows {
        for (space, cell) in row["Cells"].as_object().unwrap() {
            assert_eq!(cell["State"], "Shared", "{} in {space}", row["Name"]);
        }
    }
    assert_eq!(
        document["Totals"]["Shared"].as_u64().unwrap(),
        2 * rows.len() as u64
    );
}

#[test]
fn the_html_page_has_one_labelled_cell_per_worker_and_space_and_nothing_external() {
    let emulator = start(fleet(vec![
        SpaceSeed::new("Beta")
            .pool(POOL)
            .worker(polling("worker-1", 1)),
        SpaceSeed::new("Delta <script>").pool(POOL),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("status.html");
    let run = run_of(octoshare(&emulator).args([
        "status",
        "--worker-pool",
        POOL,
        "--format",
        "html",
        "--output-file",
        page.to_str().unwrap(),
    ]));
    assert_eq!(run.code, 5, "{run:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    let (_, document, _) = status(&emulator, &[]);
    let cells = html_cells(&html);
    assert_eq!(cells.len(), 3 * 2, "{cells:?}");
    for (space, state, label) in &cells {
        let column = document["Spaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|column| column["Id"] == space.as_str())
            .unwrap();
        assert!(
            ["Shared", "Missing"].contains(&state.as_str()),
            "{state} in {column}"
        );
        assert_eq!(label, &state.to_lowercase());
    }
    assert!(html.contains("Delta &lt;script&gt;"), "names are escaped");
    for external in ["<script", "<link", "@import", "url(", "src="] {
        assert!(!html.contains(external), "{external} in the page");
    }
    assert!(html.contains("id=\"legend\""));
}

/// `(data-space, data-state, label)` of every matrix cell of a page this tool wrote.
pub fn html_cells(html: &str) -> Vec<(String, String, String)> {
    let attribute = |tag: &str, name: &str| -> String {
        let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        tag[start..start + tag[start..].find('"').unwrap()].to_owned()
    };
    html.split("<td class=\"cell ")
        .skip(1)
        .map(|rest| {
            let tag_end = rest.find('>').unwrap();
            let tag = &rest[..tag_end];
            let label_end = rest[tag_end + 1..].find('<').unwrap();
            let label = rest[tag_end + 1..tag_end + 1 + label_end].to_owned();
            (
                attribute(tag, "data-space"),
                attribute(tag, "data-state"),
                label,
            )
        })
        .collect()
}

#[test]
fn text_tables_abbreviate_columns_when_many_spaces_do_not_fit() {
    let mut others = Vec::new();
    for n in 0..12 {
        others.push(SpaceSeed::new(&format!("Team number {n:02}")).pool(POOL));
    }
    let emulator = start(fleet(others));
    let run =
        run_of(
            octoshare(&emulator)
                .env("COLUMNS", "80")
                .args(["status", "--worker-pool", POOL]),
        );
    assert_eq!(run.code, 5, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let row = lines
        .iter()
        .find(|line| line.starts_with("worker-1 "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let codes: Vec<&str> = row.split_whitespace().skip(1).collect();
    assert_eq!(codes, vec!["M"; 12], "{}", run.stdout);
    assert!(
        lines.iter().all(|line| line.chars().count() <= 88),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .iter()
            .any(|line| line.trim() == "1 Team number 00 (Spaces-2)"),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("legend: . shared  M missing"))
    );

    let wide =
        run_of(
            octoshare(&emulator)
                .env("COLUMNS", "1000")
                .args(["status", "--worker-pool", POOL]),
        );
    let header = wide.stdout.lines().nth(1).unwrap();
    assert!(
        header.starts_with("worker ") && header.contains("Team number 11"),
        "{}",
        wide.stdout
    );
}

#[test]
fn octopus_mode_attaches_the_html_page_as_an_artifact() {
    let emulator = start(fleet(vec![SpaceSeed::new("Beta").pool(POOL)]));
    let dir = tempfile::tempdir().unwrap();
    let run = run_of(octoshare(&emulator).current_dir(dir.path()).args([
        "status",
        "--worker-pool",
        POOL,
        "--format",
        "html",
        "--output",
        "octopus",
    ]));
    assert_eq!(run.code, 5, "{run:?}");
    let artifact = run
        .messages()
        .into_iter()
        .find(|message| message.name == "createArtifact")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let path = artifact.get("path").unwrap();
    assert!(path.ends_with("octoshare-status.html"), "{path}");
    assert_eq!(html_cells(&std::fs::read_to_string(path).unwrap()).len(), 3);
}

#[test]
fn bad_input_gets_one_line_and_its_exit_code() {
    let emulator = start(fleet(vec![SpaceSeed::new("Beta").pool(POOL)]));
    let unknown = run_of(octoshare(&emulator).args(["status", "--worker-pool", "Nope"]));
    assert_eq!(unknown.code, 3, "{unknown:?}");
    let html_on_json = run_of(octoshare(&emulator).args([
        "status",
        "--worker-pool",
        POOL,
        "--format",
        "html",
        "--output",
        "json",
    ]));
    assert_eq!(html_on_json.code, 2, "{html_on_json:?}");
    assert_eq!(html_on_json.json()["ExitCode"], 2);
    let not_a_space = run_of(octoshare(&emulator).args([
        "status",
        "--worker-pool",
        POOL,
        "--from-space",
        "Nowhere",
    ]));
    assert_eq!(not_a_space.code, 3, "{not_a_space:?}");
    let refused = run_of(
        octoshare(&emulator)
            .env("OCTOPUS_API_KEY", "API-WRONGWRONGWRONGWRONG00000")
            .args(["status", "--worker-pool", POOL]),
    );
    assert_eq!(refused.code, 6, "{refused:?}");
    for run in [&unknown, &not_a_space, &refused] {
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(run.stderr.starts_with("error: "), "{run:?}");
    }
}
