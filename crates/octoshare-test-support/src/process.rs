//! Running the workspace's binaries: [`Program`] (a command with a clean environment, stdin
//! and a timeout), [`Run`] (what a finished run produced, decoded: service messages, output
//! variables, progress, JSON, the one error line) and [`Spawned`] (a long-running process
//! whose stdout lines are collected as they come, waited on by condition, never by sleeping).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use octoshare_core::service_message::{ServiceMessage, parse_service_messages};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Variables a test never inherits from the caller's environment.
const SCRUBBED: [&str; 6] = [
    "OCTOPUS_URL",
    "OCTOPUS_API_KEY",
    "OCTOPUS_ACCESS_TOKEN",
    "OCTOPUS_CA_CERT",
    "RUST_BACKTRACE",
    "RUST_LOG",
];

/// How long a run may take before it is killed and the test fails (a guard against a hang,
/// never a timing assertion).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A binary to run: no `OCTOPUS_*`/`RUST_LOG`/`RUST_BACKTRACE` inherited, stdin empty unless
/// given, killed after [`DEFAULT_TIMEOUT`] unless told otherwise.
#[derive(Debug)]
pub struct Program {
    command: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    label: String,
}

impl Program {
    /// The binary at `path` (e.g. `env!("CARGO_BIN_EXE_octoshare-wait")`).
    pub fn new(path: impl AsRef<Path>) -> Program {
        let path = path.as_ref();
        let mut command = Command::new(path);
        for variable in SCRUBBED {
            command.env_remove(variable);
        }
        Program {
            command,
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
            label: path.file_name().map_or_else(
                || path.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Program {
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Program
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets a variable.
    pub fn env(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Program {
        self.command.env(name, value);
        self
    }

    /// Removes a variable.
    pub fn env_remove(&mut self, name: impl AsRef<OsStr>) -> &mut Program {
        self.command.env_remove(name);
        self
    }

    /// Starts from an empty environment (set variables afterwards).
    pub fn env_clear(&mut self) -> &mut Program {
        self.command.env_clear();
        self
    }

    /// `OCTOPUS_URL` and `OCTOPUS_API_KEY`.
    pub fn server(&mut self, url: &str, api_key: &str) -> &mut Program {
        self.env("OCTOPUS_URL", url).env("OCTOPUS_API_KEY", api_key)
    }

    /// The working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Program {
        self.command.current_dir(dir);
        self
    }

    /// What the process reads on stdin.
    pub fn stdin(&mut self, input: impl Into<Vec<u8>>) -> &mut Program {
        self.stdin = Some(input.into());
        self
    }

    /// How long [`Program::run`] waits before killing the process (and failing the test).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Program {
        self.timeout = timeout;
        self
    }

    /// The name failure messages use (default: the binary's file name).
    pub fn label(&mut self, label: impl Into<String>) -> &mut Program {
        self.label = label.into();
        self
    }

    /// The underlying command, for anything not covered here.
    pub fn command(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Runs to the end; panics if it cannot start or outlives the timeout.
    pub fn run(&mut self) -> Run {
        let mut command = assert_cmd::Command::from_std(std::mem::replace(
            &mut self.command,
            Command::new("false"),
        ));
        command.timeout(self.timeout);
        command.write_stdin(self.stdin.clone().unwrap_or_default());
        let output = command
            .output()
            .unwrap_or_else(|error| panic!("{} did not run to the end: {error}", self.label));
        Run::from_output(self.label.clone(), &output)
    }

    /// Starts it in the background with stdout and stderr collected (see [`Spawned`]).
    pub fn spawn(&mut self) -> Spawned {
        let stdin = self.stdin.take();
        self.command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|error| panic!("{} did not start: {error}", self.label));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut pipe, &input);
            });
        }
        Spawned::collect(self.label.clone(), child)
    }
}

/// What a finished process produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// What was run, for failure messages.
    pub label: String,
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// Wraps a collected output.
    pub fn from_output(label: impl Into<String>, output: &Output) -> Run {
        Run {
            label: label.into(),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `command` to the end (no timeout: prefer [`Program`]).
    pub fn of(label: impl Into<String>, command: &mut Command) -> Run {
        let label = label.into();
        let output = command
            .output()
            .unwrap_or_else(|error| panic!("{label} did not start: {error}"));
        Run::from_output(label, &output)
    }

    /// Every service message on stdout, decoded.
    pub fn messages(&self) -> Vec<ServiceMessage> {
        parse_service_messages(&self.stdout)
    }

    /// The service messages with this name.
    pub fn messages_named(&self, name: &str) -> Vec<ServiceMessage> {
        self.messages()
            .into_iter()
            .filter(|message| message.name == name)
            .collect()
    }

    /// Output variables (`setVariable`), decoded, in the order they were set.
    pub fn output_list(&self) -> Vec<(String, String)> {
        self.messages_named("setVariable")
            .into_iter()
            .map(|message| {
                let name = message.get("name").expect("setVariable has a name");
                let value = message.get("value").expect("setVariable has a value");
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }

    /// Output variables by name; each must be set once.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        let mut outputs = BTreeMap::new();
        for (name, value) in self.output_list() {
            let previous = outputs.insert(name.clone(), value);
            assert!(
                previous.is_none(),
                "output {name} set twice:\n{}",
                self.describe()
            );
        }
        outputs
    }

    /// The last value of an output variable.
    pub fn output(&self, name: &str) -> Option<String> {
        self.output_list()
            .into_iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// An output variable as a number.
    pub fn output_number(&self, name: &str) -> u64 {
        let value = self
            .output(name)
            .unwrap_or_else(|| panic!("no output {name}:\n{}", self.describe()));
        value
            .parse()
            .unwrap_or_else(|_| panic!("output {name} is not a number: {value}"))
    }

    /// `(percentage, message)` of every `progress` message, in order.
    pub fn progress(&self) -> Vec<(u8, String)> {
        self.messages_named("progress")
            .iter()
            .map(|message| {
                let percentage = message.get("percentage").expect("a percentage");
                (
                    percentage.parse().expect("a whole percentage"),
                    message.get("message").expect("a message").to_owned(),
                )
            })
            .collect()
    }

    /// Lines written between `##octopus[stdout-<level>]` and the next level message.
    pub fn lines_at(&self, level: &str) -> Vec<String> {
        let open = format!("##octopus[stdout-{level}]");
        let mut lines = Vec::new();
        let mut inside = false;
        for line in self.stdout.lines() {
            if line == open {
                inside = true;
            } else if line.starts_with("##octopus[stdout-") {
                inside = false;
            } else if inside {
                lines.push(line.to_owned());
            }
        }
        lines
    }

    /// Stdout as the one JSON document it must be.
    #[track_caller]
    pub fn json(&self) -> Value {
        self.json_as()
    }

    /// Stdout deserialised as `T`.
    #[track_caller]
    pub fn json_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not one JSON document ({error}):\n{}",
                self.describe()
            )
        })
    }

    /// Both streams, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "{} exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.label, self.code, self.stdout, self.stderr
        )
    }

    /// Fails if either stream shows a panic, a backtrace hint or a stack trace.
    #[track_caller]
    pub fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            for marker in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
                assert!(
                    !text.contains(marker),
                    "'{marker}' in the output of {}",
                    self.describe()
                );
            }
        }
    }

    /// The one `error: ...` line stderr holds (without the prefix); fails on anything else on
    /// stderr or a panic.
    #[track_caller]
    pub fn error_line(&self) -> String {
        self.assert_no_panic();
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one stderr line from {}",
            self.describe()
        );
        let line = lines[0];
        assert!(
            line.starts_with("error: "),
            "stderr line is not an error line: {}",
            self.describe()
        );
        line.trim_start_matches("error: ").to_owned()
    }

    /// The first line of a clap usage error (clap adds usage lines after it); exactly one
    /// `error:` line.
    #[track_caller]
    pub fn usage_error_line(&self) -> String {
        self.assert_no_panic();
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "expected exactly one error line from {}",
            self.describe()
        );
        errors[0].trim_start_matches("error: ").to_owned()
    }
}

/// Lines collected from a pipe, with a condition variable signalled on each new line and at
/// the end of the stream.
#[derive(Debug, Default)]
struct Lines {
    state: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

/// A process running in the background: stdout lines and stderr are collected by reader
/// threads as they come; [`Spawned::wait_for`] blocks until a condition on the lines holds
/// (woken by each new line, no polling), [`Spawned::wait_exit`] until it ends and both pipes
/// are drained. Killed when dropped.
#[derive(Debug)]
pub struct Spawned {
    label: String,
    child: Child,
    stdout: Arc<Lines>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Spawned {
    /// Collects the stdout and stderr of `child` (both must be piped).
    pub fn collect(label: impl Into<String>, mut child: Child) -> Spawned {
        let stdout = Arc::new(Lines::default());
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            let lines = Arc::clone(&stdout);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines
                        .state
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                        .push(line);
                    lines.changed.notify_all();
                }
                lines.state.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
                lines.changed.notify_all();
            }));
        }
        if let Some(mut pipe) = child.stderr.take() {
            let text = Arc::clone(&stderr);
            readers.push(std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read) = pipe.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    text.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            }));
        }
        Spawned {
            label: label.into(),
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child, for anything not covered here.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Stdout lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Blocks until `condition` returns `Some` for the stdout lines so far (checked again on
    /// every new line) and returns it. Fails if stdout ends first (the process exited) or
    /// `deadline` passes (a guard against a hang, not a timing assertion).
    #[track_caller]
    pub fn wait_for<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut condition: impl FnMut(&[String]) -> Option<T>,
    ) -> T {
        let until = Instant::now() + deadline;
        let mut state = self
            .stdout
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(found) = condition(&state.0) {
                return found;
            }
            let left = until.saturating_duration_since(Instant::now());
            assert!(
                !state.1,
                "{} ended its output before {what}:\n{}\n--- stderr\n{}",
                self.label,
                state.0.join("\n"),
                self.stderr()
            );
            assert!(
                !left.is_zero(),
                "no {what} from {} within {deadline:?}:\n{}\n--- stderr\n{}",
                self.label,
                state.0.join("\n"),
                self.stderr()
            );
            state = self
                .stdout
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Sends SIGTERM (through `kill`, as an operator would).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits for the process to end (killing it and failing after `deadline`, a guard against a
    /// hang) and for both pipes to be drained; returns what it produced.
    #[track_caller]
    pub fn wait_exit(mut self, deadline: Duration) -> Run {
        let until = Instant::now() + deadline;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited on") {
                break status;
            }
            if Instant::now() >= until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not exit within {deadline:?}:\n{}\n--- stderr\n{}",
                    self.label,
                    self.lines().join("\n"),
                    self.stderr()
                );
            }
            // Bounded by the deadline; the exit itself has no event to wait on portably.
            std::thread::sleep(Duration::from_millis(5));
        };
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        let mut stdout = self.lines().join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Run {
            label: self.label.clone(),
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.stderr(),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
