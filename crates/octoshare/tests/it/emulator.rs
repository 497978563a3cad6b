//! `octoshare emulator`: serves a scenario until interrupted.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const SCENARIO: &str = r#"{
  "apiKey": "API-SCENARIOKEY00000000000000001",
  "spaces": [
    { "name": "Default", "isDefault": true, "workerPools": ["AWS Worker Pool TF"] },
    { "name": "Payments", "workerPools": ["AWS Worker Pool TF"] },
    { "name": "Mobile" }
  ]
}"#;

/// Starts `octoshare emulator` and returns it with the receiver of its stdout lines.
fn spawn(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_octoshare"))
        .env_clear()
        .arg("emulator")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (child, receiver)
}

/// Reads lines until one contains `needle`; returns that line.
fn line_containing(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|error| panic!("no line containing {needle:?}: {error}"));
        if line.contains(needle) {
            return line;
        }
    }
}

/// The URL in the `listening on http://...` line.
fn url(lines: &mpsc::Receiver<String>) -> String {
    let line = line_containing(lines, "listening on http://");
    line.split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("a URL")
        .to_owned()
}

fn space_names(url: &str, api_key: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let spaces: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/api/spaces/all"))
            .header("X-Octopus-ApiKey", api_key)
            .send()
            .await
            .expect("the emulator answers")
            .error_for_status()
            .expect("200")
            .json()
            .await
            .expect("JSON")
    });
    spaces
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|space| space["Name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn emulator_serves_a_scenario_file_to_an_http_client() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let path = directory.path().join("scenario.json");
    std::fs::write(&path, SCENARIO).expect("written");
    let (mut child, lines) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--scenario",
        path.to_str().expect("UTF-8 path"),
    ]);
    let url = url(&lines);
    let key_line = line_containing(&lines, "API key");
    assert!(
        key_line.contains("API-SCENARIOKEY00000000000000001"),
        "{key_line}"
    );

    let names = space_names(&url, "API-SCENARIOKEY00000000000000001");
    assert_eq!(names, ["Default", "Mobile", "Payments"]);

    child.kill().expect("killed");
    child.wait().expect("reaped");
}

#[cfg(unix)]
#[test]
fn emulator_serves_the_demo_instance_until_interrupted() {
    let (mut child, lines) = spawn(&["--listen", "127.0.0.1:0"]);
    let url = url(&lines);
    let names = space_names(&url, octopus_emulator::DEFAULT_API_KEY);
    assert_eq!(names.len(), 7, "{names:?}");
    line_containing(&lines, "Serving until Ctrl-C");

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let stopped = line_containing(&lines, "emulator stopped after serving");
    assert!(stopped.contains("1 request"), "{stopped}");
    let exit = child.wait().expect("reaped");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn emulator_with_an_invalid_scenario_is_a_usage_error() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let path = directory.path().join("broken.json");
    std::fs::write(&path, r#"{"spaces": [{"nmae": "Default"}]}"#).expect("written");
    let output = Command::new(env!("CARGO_BIN_EXE_octoshare"))
        .env_clear()
        .args(["emulator", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nmae"), "{stderr}");
}
