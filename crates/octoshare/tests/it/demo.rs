//! `octoshare demo`: no flags, no network, exit 0.

use crate::support::{octoshare_offline, run_of};

#[test]
fn demo_explains_every_phase_and_the_rerun() {
    let run = run_of(octoshare_offline().arg("demo"));
    assert_eq!(run.code, 0, "{run:?}");
    // The explanation is wrapped: compare with every run of whitespace as one space.
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for text in [
        "octoshare demo",
        "[1/3] discover",
        "[2/3] wait",
        "[3/3] share",
        "Run 1",
        "Run 2",
        "What happened",
        "stale 'aws-tf-worker-01'",
        "gpu-listener-01, a listening Tentacle reached through proxy 'corp-proxy'",
        "k8s-agent-01, a Kubernetes agent",
        "gpu-listener-01 is reached through each space's own proxy of the same name",
        "k8s-agent-01 is registered with its endpoint unchanged",
        "Finance was skipped with a warning: the API key may not read its worker pools (it lacks WorkerView there)",
        "Nothing to do: 15 registrations unchanged; 0 POST, 0 PUT, 0 DELETE",
    ] {
        assert!(words.contains(text), "{text}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("##octopus"), "{}", run.stdout);
    // It ends with the status matrix: every worker shared into every other space.
    let status: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|line| !line.contains("━━ Status ━━"))
        .collect();
    assert!(!status.is_empty(), "{}", run.stdout);
    let rows: Vec<Vec<&str>> = status
        .iter()
        .filter(|line| {
            ["aws-tf-worker-", "gpu-listener-", "k8s-agent-"]
                .iter()
                .any(|prefix| line.starts_with(prefix))
        })
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 5, "{status:#?}");
    for row in &rows {
        assert_eq!(row.len(), 4, "{row:?}");
        assert!(
            row[1..].iter().all(|cell| cell.starts_with("shared")),
            "{row:?}"
        );
    }
    assert_eq!(status.last(), Some(&"no drift: 15 cells shared"));
}

#[test]
fn demo_json_holds_both_runs_and_the_second_writes_nothing() {
    let run = run_of(octoshare_offline().args(["demo", "--output", "json"]));
    assert_eq!(run.code, 0, "{run:?}");
    let document = run.json();
    let first = &document["Runs"][0];
    assert_eq!(first["InitialSpaceName"], "Data Science");
    assert_eq!(first["QualifyingSpaceCount"], 4);
    assert_eq!(first["RegisteredWorkerCount"], 5);
    assert_eq!(first["CreatedWorkerCount"], 14);
    assert_eq!(first["UpdatedWorkerCount"], 1);
    assert_eq!(first["FailedCount"], 0);
    let skipped = &first["Phases"]["Discover"]["Outcome"]["SkippedSpaces"];
    assert_eq!(skipped[0]["Name"], "Finance", "{skipped}");
    // Every shared kind went across: the listening Tentacle and the Kubernetes agent too.
    let shared: Vec<&str> = first["Report"]["SourceWorkers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|worker| worker["Shared"] == true)
        .map(|worker| worker["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        shared,
        [
            "aws-tf-worker-01",
            "aws-tf-worker-02",
            "aws-tf-worker-03",
            "gpu-listener-01",
            "k8s-agent-01"
        ]
    );
    let second = &document["Runs"][1];
    assert_eq!(second["CreatedWorkerCount"], 0);
    assert_eq!(second["UpdatedWorkerCount"], 0);
    assert_eq!(second["UnchangedWorkerCount"], 15);
    let requests = &document["RunRequests"];
    assert_eq!(requests[0]["Post"], 14);
    assert_eq!(requests[0]["Put"], 1);
    for method in ["Post", "Put", "Delete"] {
        assert_eq!(requests[1][method], 0, "{method}: {requests}");
    }
    assert!(
        document["EmulatorUrl"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://127.0.0.1:"))
    );
    // The narration went to stderr.
    assert!(run.stderr.contains("What happened"), "{}", run.stderr);
}

/// SIGTERM while the demo's first run waits for its workers: the demo stops at once and exits
/// 143 with one line saying so (its client and its steps are cancelled like every binary's).
#[cfg(unix)]
#[test]
fn demo_interrupted_exits_143() {
    use std::io::{BufRead as _, BufReader, Read as _};
    use std::process::Stdio;

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_octoshare"))
        .env_clear()
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("readable");
        assert!(read > 0, "the demo ended before its wait phase:\n{seen}");
        seen.push_str(&line);
        if line.contains("[2/3] wait") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    stdout.read_to_string(&mut seen).expect("readable");
    let output = child.wait_with_output().expect("the demo ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{seen}\n{stderr}");
    assert!(
        stderr.contains("error: the demo was interrupted by SIGTERM"),
        "{stderr}"
    );
    assert!(!seen.contains("Run 2"), "{seen}");
}
