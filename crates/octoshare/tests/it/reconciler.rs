//! A running `octoshare reconcile` for process tests: started against an emulator with
//! `--log-format json`, its log lines decoded as they come, its endpoints called over plain
//! HTTP/1.1, and its end awaited (on `octoshare_test_support::process::Spawned`). Every wait is
//! for a state (a log line, woken by each new line; an answer; the exit with both pipes
//! drained), with a generous deadline only so that a broken build fails instead of hanging.

use octopus_emulator::Emulator;
use octoshare_test_support::process::{Program, Spawned};
use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// How long a wait for a state may take before the test fails (never a timing assertion).
pub const DEADLINE: Duration = Duration::from_secs(90);

/// The webhook secret the tests configure.
pub const TOKEN: &str = "test-webhook-secret-0123456789";

/// A running reconciler.
#[derive(Debug)]
pub struct Reconciler {
    process: Spawned,
    /// `http://127.0.0.1:PORT` when it listens.
    pub url: Option<String>,
}

/// The command, pointed at `emulator` through the environment only.
pub fn command(emulator: &Emulator) -> Program {
    let mut program = Program::new(env!("CARGO_BIN_EXE_octoshare"));
    program
        .env_clear()
        .server(&emulator.url(), &emulator.api_key())
        .args(["--retry-delay", "0ms"]);
    program
}

/// Decodes log lines (each must be one JSON object).
fn decode(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("a log line is not JSON ({error}): {line}"))
        })
        .collect()
}

impl Reconciler {
    /// Starts `octoshare reconcile --worker-pool POOL --log-format json ARGS` and, when `args`
    /// has `--listen`, waits for its `Listening` line.
    pub fn start(mut command: Program, args: &[&str]) -> Reconciler {
        let process = command
            .args([
                "reconcile",
                "--worker-pool",
                crate::support::POOL,
                "--log-format",
                "json",
            ])
            .args(args)
            .spawn();
        let mut reconciler = Reconciler { process, url: None };
        if args.contains(&"--listen") {
            let events = reconciler.wait_for("the Listening line", |events| {
                events.iter().any(|event| event["Event"] == "Listening")
            });
            reconciler.url = events
                .iter()
                .find(|event| event["Event"] == "Listening")
                .and_then(|event| event["Url"].as_str())
                .map(str::to_owned);
        }
        reconciler
    }

    /// Every log line so far, decoded (each must be one JSON object).
    pub fn events(&self) -> Vec<Value> {
        decode(&self.process.lines())
    }

    /// The `Cycle` lines so far.
    pub fn cycles(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event["Event"] == "Cycle")
            .collect()
    }

    /// Stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// Waits until `condition` holds for the log lines (checked on each new line); returns
    /// them. Fails if the process ends its output first or the deadline passes.
    pub fn wait_for(&mut self, what: &str, condition: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.process.wait_for(what, DEADLINE, |lines| {
            let events = decode(lines);
            condition(&events).then_some(events)
        })
    }

    /// Waits for the first `Cycle` line that satisfies `condition`; returns it.
    pub fn wait_for_cycle(&mut self, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
        let events = self.wait_for(what, |events| {
            events
                .iter()
                .any(|event| event["Event"] == "Cycle" && condition(event))
        });
        events
            .into_iter()
            .find(|event| event["Event"] == "Cycle" && condition(event))
            .unwrap()
    }

    /// The number of the last cycle logged (0 before the first).
    pub fn last_cycle(&self) -> u64 {
        self.cycles()
            .last()
            .map_or(0, |cycle| cycle["Cycle"].as_u64().unwrap())
    }

    /// `method path` on the endpoints: the status and the body.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let url = self.url.as_deref().expect("the reconciler listens");
        http(url, method, path, headers, body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.http("GET", path, &[], &[])
    }

    /// `GET /status.json`, decoded.
    pub fn status_json(&self) -> Value {
        let (code, body) = self.get("/status.json");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("/status.json is JSON")
    }

    /// `POST /webhook` with `token` in the header (none: no header); the status code.
    pub fn webhook(&self, token: Option<&str>) -> u16 {
        let headers: Vec<(&str, &str)> = token
            .map(|token| vec![("X-OctoShare-Webhook-Token", token)])
            .unwrap_or_default();
        self.http(
            "POST",
            "/webhook",
            &headers,
            br#"{"EventType":"SubscriptionPayload","Payload":{}}"#,
        )
        .0
    }

    /// Sends `kill -NAME` to the process.
    pub fn signal(&self, name: &str) {
        let id = self.process.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &id])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Waits for the process to end and its pipes to be drained: its exit code, every log
    /// line, stderr.
    pub fn wait_exit(self) -> (i32, Vec<Value>, String) {
        let run = self.process.wait_exit(DEADLINE);
        let lines: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
        (run.code, decode(&lines), run.stderr)
    }
}

/// A minimal HTTP/1.1 client (one request per connection): the status and the body.
pub fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("the endpoints accept connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    // Read the head, then the body by its length (some servers keep the connection open),
    // or to the end.
    let mut response = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = find(&response, b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut buffer).expect("a response");
        assert!(
            read > 0,
            "the connection closed before a response: {response:?}"
        );
        response.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8(response[..head_end].to_vec()).expect("a UTF-8 head");
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let mut body = response[head_end + 4..].to_vec();
    match header("content-length").and_then(|length| length.parse::<usize>().ok()) {
        Some(length) => {
            while body.len() < length {
                let read = stream.read(&mut buffer).expect("the body");
                assert!(read > 0, "the body ended early");
                body.extend_from_slice(&buffer[..read]);
            }
            body.truncate(length);
        }
        None => {
            stream.read_to_end(&mut body).expect("the body");
        }
    }
    let code: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head}"));
    let body = String::from_utf8(body).expect("a UTF-8 body");
    let chunked =
        header("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(&body) } else { body };
    (code, body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn dechunk(mut body: &str) -> String {
    let mut decoded = String::new();
    loop {
        let Some((size, rest)) = body.split_once("\r\n") else {
            return decoded;
        };
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            return decoded;
        }
        decoded.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}
