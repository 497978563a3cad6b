//! The one emitter that owns stdout: Octopus service messages, a JSON document, or plain text.
//!
//! # Modes
//!
//! * `octopus` — human log lines and `##octopus[...]` service messages on stdout (what a step in
//!   an Octopus task log needs). Warnings are wrapped in `stdout-warning`, so Octopus shows them
//!   as warnings without treating them as errors.
//! * `json` — exactly one JSON document on stdout, written by [`Emitter::write_document`] from a
//!   typed document (`crate::json`); its top-level keys include the output-variable names
//!   (lists as arrays, counts as numbers). Human lines go to stderr.
//! * `text` — human output only, on stdout; warnings on stderr.
//!
//! Detail lines ([`Emitter::verbose`]) are `stdout-verbose` in octopus mode and need `-v` in the
//! other two.

use indicatif::{ProgressBar, ProgressStyle};
use octoshare_core::service_message::{LogLevel, ServiceMessage};
use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{Formatter, PrettyFormatter};
use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

/// How a binary writes its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputMode {
    /// Human log lines plus Octopus service messages on stdout.
    Octopus,
    /// One JSON document on stdout; logs on stderr.
    Json,
    /// Human output only.
    Text,
}

/// Writes everything a binary shows the user. Not thread-safe by design: concurrent work reports
/// back to the task that owns the emitter.
pub struct Emitter {
    mode: OutputMode,
    stdout: Box<dyn Write + Send>,
    stderr: Box<dyn Write + Send>,
    document_written: bool,
    progress_bar: Option<ProgressBar>,
    stderr_is_terminal: bool,
    last_progress: Option<(u64, u64, String)>,
    quiet: bool,
    verbose: bool,
    phase: Option<Phase>,
    progress_bar_is_spinner: bool,
    last_percentage: Option<u8>,
}

/// A phase of a multi-phase run (see [`Emitter::begin_phase`]).
#[derive(Debug, Clone)]
struct Phase {
    label: String,
    start: u8,
    end: u8,
}

impl Phase {
    /// Maps a percentage of the phase into the phase's share of the whole run.
    fn scale(&self, percentage: u8) -> u8 {
        let span = u32::from(self.end.saturating_sub(self.start));
        let scaled = u32::from(self.start) + span * u32::from(percentage.min(100)) / 100;
        u8::try_from(scaled).unwrap_or(100)
    }
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// An emitter on the process's stdout and stderr.
    pub fn stdio(mode: OutputMode) -> Emitter {
        let stderr_is_terminal = io::stderr().is_terminal();
        let mut emitter =
            Emitter::with_writers(mode, Box::new(io::stdout()), Box::new(io::stderr()));
        emitter.stderr_is_terminal = stderr_is_terminal;
        emitter
    }

    /// An emitter on the given writers (tests, or a caller capturing output).
    pub fn with_writers(
        mode: OutputMode,
        stdout: Box<dyn Write + Send>,
        stderr: Box<dyn Write + Send>,
    ) -> Emitter {
        Emitter {
            mode,
            stdout,
            stderr,
            document_written: false,
            progress_bar: None,
            stderr_is_terminal: false,
            last_progress: None,
            quiet: false,
            verbose: false,
            phase: None,
            progress_bar_is_spinner: false,
            last_percentage: None,
        }
    }

    /// Suppresses informational lines (`-q`); warnings, outputs and the JSON document stay.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Shows detail lines ([`Emitter::verbose`]) in text and JSON modes (`-v`).
    pub fn set_verbose(&mut self, verbose: bool) {
        self.verbose = verbose;
    }

    /// The output mode.
    pub fn mode(&self) -> OutputMode {
        self.mode
    }

    /// An informational line.
    pub fn info(&mut self, line: &str) {
        if self.quiet {
            return;
        }
        self.human_line(line);
    }

    /// An important line: Octopus shows it in the task summary (`stdout-highlight`).
    pub fn highlight(&mut self, line: &str) {
        if self.mode == OutputMode::Octopus {
            self.wrapped(LogLevel::Highlight, line);
        } else {
            self.human_line(line);
        }
    }

    /// A detail line: `stdout-verbose` in Octopus mode (the task log hides it until asked);
    /// in the other modes shown only with `-v` ([`Emitter::set_verbose`]).
    pub fn verbose(&mut self, line: &str) {
        match self.mode {
            OutputMode::Octopus => self.wrapped(LogLevel::Verbose, line),
            _ if self.quiet || !self.verbose => {}
            _ => self.human_line(line),
        }
    }

    /// A command's printed result (a page, a document in another format) whose lines are the
    /// renderer's: on stdout line by line, each line made [`inert`], in text and octopus modes,
    /// even with `-q`; nothing in JSON mode, where stdout holds the JSON document. The renderer
    /// keeps server text from breaking its lines (a JSON document from [`inert_json_pretty`],
    /// HTML with control characters as character references); lines that hold names are
    /// better printed one by one with [`Emitter::result_line`].
    pub fn result_text(&mut self, text: &str) {
        if self.mode != OutputMode::Json {
            let lines: Vec<Cow<'_, str>> = text.split('\n').map(inert).collect();
            self.stdout_line(&lines.join("\n"));
        }
    }

    /// One line of a command's printed result (a row of a table): like
    /// [`Emitter::result_text`], the whole line made [`inert`], so a name in it cannot break it.
    pub fn result_line(&mut self, line: &str) {
        if self.mode != OutputMode::Json {
            self.stdout_line(&inert(line));
        }
    }

    /// A warning line: `stdout-warning` in Octopus mode, stderr otherwise.
    pub fn warning(&mut self, line: &str) {
        match self.mode {
            OutputMode::Octopus => self.wrapped(LogLevel::Warning, line),
            _ => self.stderr_line(&format!("warning: {line}")),
        }
    }

    /// Sets output variables: in octopus mode one `setVariable` service message per top-level
    /// key of `outputs` (a typed struct with the variables' names as its serialised keys), its
    /// value as Octopus holds it: text as is, numbers in decimal, lists comma-joined. The JSON
    /// and text modes show outputs through the command's document and summary lines instead.
    pub fn set_outputs<T: Serialize>(&mut self, outputs: &T) {
        if self.mode != OutputMode::Octopus {
            return;
        }
        let Ok(Value::Object(variables)) = serde_json::to_value(outputs) else {
            return;
        };
        for (name, value) in &variables {
            let message = ServiceMessage::set_variable(name, &variable_text(value));
            self.stdout_line(&message.to_line());
        }
    }

    /// Writes the JSON document (JSON mode only; once): pretty, 2-space indent, one trailing
    /// newline, streamed to stdout without a copy of its text, `##octopus` escaped inside strings.
    pub fn write_document<D: Serialize>(&mut self, document: &D) -> io::Result<()> {
        if self.mode != OutputMode::Json || self.document_written {
            return Ok(());
        }
        self.document_written = true;
        self.finish_progress();
        let mut writer = io::BufWriter::new(&mut self.stdout);
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut writer,
            InertFormatter::<PrettyFormatter>::default(),
        );
        document
            .serialize(&mut serializer)
            .map_err(io::Error::other)?;
        writeln!(writer)?;
        writer.flush()?;
        drop(writer);
        self.stdout.flush()
    }

    /// Reports progress `current` of `total` with a message. Octopus mode: a `progress` service
    /// message; a terminal: a progress bar on stderr; otherwise a plain line when the message changes.
    ///
    /// Inside a phase ([`Emitter::begin_phase`]) the message is prefixed with the phase's label
    /// and the Octopus percentage is scaled into the phase's share of the whole run.
    pub fn progress(&mut self, current: u64, total: u64, message: &str) {
        let labelled = match &self.phase {
            Some(phase) => format!("{}: {message}", phase.label),
            None => message.to_owned(),
        };
        let state = (current, total, labelled.clone());
        if self.last_progress.as_ref() == Some(&state) {
            return;
        }
        self.last_progress = Some(state);
        match self.mode {
            OutputMode::Octopus => {
                let percentage = percentage(current, total);
                let percentage = self
                    .phase
                    .as_ref()
                    .map_or(percentage, |phase| phase.scale(percentage));
                self.octopus_progress(percentage, &labelled);
            }
            _ if self.quiet => {}
            _ if self.stderr_is_terminal => {
                let prefix = self.phase.as_ref().map(|phase| phase.label.clone());
                let restyle = self.progress_bar.is_none() || self.progress_bar_is_spinner;
                let bar = self
                    .progress_bar
                    .get_or_insert_with(|| ProgressBar::new(total));
                bar.set_length(total);
                bar.set_position(current.min(total));
                bar.set_message(inert(message).into_owned());
                if restyle {
                    let template = if prefix.is_some() {
                        "{spinner} {prefix:.bold} [{bar:30}] {pos}/{len} {wide_msg}"
                    } else {
                        "{spinner} [{bar:30}] {pos}/{len} {wide_msg}"
                    };
                    if let Ok(style) = ProgressStyle::with_template(template) {
                        bar.set_style(style.progress_chars("=> "));
                    }
                }
                if let Some(prefix) = prefix {
                    bar.set_prefix(inert(&prefix).into_owned());
                }
                self.progress_bar_is_spinner = false;
            }
            _ => {
                let _ = writeln!(self.stderr, "{}", inert(&labelled));
                let _ = self.stderr.flush();
            }
        }
    }

    /// Ends the current progress display (clears the bar on a terminal).
    pub fn finish_progress(&mut self) {
        if let Some(bar) = self.progress_bar.take() {
            bar.finish_and_clear();
        }
        self.progress_bar_is_spinner = false;
        self.last_progress = None;
    }

    /// Starts one phase of a multi-phase run (`octoshare run`: discover, wait, share) that
    /// covers `percent` of the whole run. Until [`Emitter::end_phase`], progress messages are
    /// prefixed with `label`, and in octopus mode their percentages are scaled into `percent`,
    /// so the task's progress only grows from one phase to the next. Octopus mode reports the
    /// phase's start at once; a terminal shows a spinner with `message` until the phase reports
    /// progress; plain output shows nothing (the caller prints its own heading).
    pub fn begin_phase(&mut self, label: &str, percent: RangeInclusive<u8>, message: &str) {
        self.end_phase();
        let (start, end) = (*percent.start(), (*percent.end()).max(*percent.start()));
        self.phase = Some(Phase {
            label: label.to_owned(),
            start: start.min(100),
            end: end.min(100),
        });
        match self.mode {
            OutputMode::Octopus => {
                self.octopus_progress(start.min(100), &format!("{label}: {message}"));
            }
            _ if self.quiet || !self.stderr_is_terminal => {}
            _ => {
                let spinner = ProgressBar::new_spinner();
                if let Ok(style) =
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                {
                    spinner.set_style(style);
                }
                spinner.set_prefix(inert(label).into_owned());
                spinner.set_message(inert(message).into_owned());
                spinner.enable_steady_tick(Duration::from_millis(100));
                self.progress_bar = Some(spinner);
                self.progress_bar_is_spinner = true;
            }
        }
    }

    /// Ends the phase started by [`Emitter::begin_phase`]: clears its progress display and, in
    /// octopus mode, reports the phase's end percentage (unless progress already reached it).
    pub fn end_phase(&mut self) {
        self.finish_progress();
        if let Some(phase) = self.phase.take()
            && self.mode == OutputMode::Octopus
            && self.last_percentage.is_none_or(|last| last < phase.end)
        {
            self.octopus_progress(phase.end, &format!("{}: done", phase.label));
        }
    }

    /// Attaches a file as an Octopus artifact (`createArtifact`); other modes mention the path.
    pub fn artifact(&mut self, path: &Path, name: &str) {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        match self.mode {
            OutputMode::Octopus => {
                let length = std::fs::metadata(&absolute)
                    .map(|meta| meta.len())
                    .unwrap_or(0);
                let message =
                    ServiceMessage::create_artifact(&absolute.to_string_lossy(), name, length);
                self.stdout_line(&message.to_line());
            }
            _ => self.info(&format!("report written to {}", absolute.display())),
        }
    }

    /// Reports a failure: the error line on stderr, plus `resultMessage` in Octopus mode (the
    /// JSON document carries it as `Error` and `ExitCode`: see `crate::json::Document`).
    pub fn failure(&mut self, message: &str) {
        self.stderr_line(&format!("error: {message}"));
        if self.mode == OutputMode::Octopus {
            self.stdout_line(&ServiceMessage::result_message(&inert(message)).to_line());
        }
    }

    /// Finishes: clears progress and flushes stdout.
    pub fn finish(mut self) -> io::Result<()> {
        self.finish_progress();
        self.stdout.flush()
    }

    fn octopus_progress(&mut self, percentage: u8, message: &str) {
        self.last_percentage = Some(percentage);
        self.stdout_line(&ServiceMessage::progress(percentage, &inert(message)).to_line());
    }

    fn human_line(&mut self, line: &str) {
        if self.mode == OutputMode::Json {
            self.stderr_line(line);
        } else {
            self.stdout_line(&inert(line));
        }
    }

    fn wrapped(&mut self, level: LogLevel, line: &str) {
        let open = ServiceMessage::log_level(level).to_line();
        let close = ServiceMessage::log_level(LogLevel::Default).to_line();
        self.stdout_line(&format!("{open}\n{}\n{close}", inert(line)));
    }

    fn stdout_line(&mut self, line: &str) {
        write_line(self.progress_bar.as_ref(), &mut self.stdout, line);
    }

    fn stderr_line(&mut self, line: &str) {
        write_line(self.progress_bar.as_ref(), &mut self.stderr, &inert(line));
    }
}

/// Writes a line while the progress bar (if any) is hidden, so the bar is redrawn below it
/// instead of the line landing after the bar.
fn write_line(bar: Option<&ProgressBar>, writer: &mut Box<dyn Write + Send>, line: &str) {
    let mut write = || {
        let _ = writeln!(writer, "{line}");
        let _ = writer.flush();
    };
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// The prefix Octopus looks for, anywhere in a step's output, to act on a service message.
const SERVICE_MESSAGE_PREFIX: &str = "##octopus";

/// serde_json's pretty formatter, writing `##octopus` inside JSON strings as `#\u0023octopus`
/// and the characters [`inert`] escapes that JSON leaves raw (DEL, C1 controls, the line and
/// paragraph separators, bidirectional overrides) as `\uXXXX` escapes: the same text once
/// decoded, but Octopus never reads a service message out of the document and no line of it
/// breaks or reads in another order. `##octopus` has no character JSON escapes, so it always
/// lies within one string fragment; raw fragments are JSON text, where both can only be inside
/// a string too (JSON's own C0 escapes are left to serde_json, so whitespace between the
/// tokens of a raw fragment stays as it is).
#[derive(Default)]
struct InertFormatter<F = PrettyFormatter<'static>>(F);

impl<F> InertFormatter<F> {
    fn write_inert<W: ?Sized + Write>(writer: &mut W, text: &str) -> io::Result<()> {
        let needs_escape = |character: char| is_escaped(character) && u32::from(character) >= 0x7f;
        if !text.contains(SERVICE_MESSAGE_PREFIX) && !text.contains(needs_escape) {
            return writer.write_all(text.as_bytes());
        }
        let mut escaped = String::with_capacity(text.len() + 16);
        for character in text.chars() {
            if needs_escape(character) {
                // Every such character is in the Basic Multilingual Plane: one \uXXXX escape.
                escaped.push_str(&format!("\\u{:04x}", u32::from(character)));
            } else {
                escaped.push(character);
            }
        }
        writer.write_all(
            escaped
                .replace(SERVICE_MESSAGE_PREFIX, "#\\u0023octopus")
                .as_bytes(),
        )
    }
}

impl<F: Formatter> Formatter for InertFormatter<F> {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        Self::write_inert(writer, fragment)
    }
    fn write_raw_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        Self::write_inert(writer, fragment)
    }
}

/// `value` as pretty JSON (2-space indent, no trailing newline) written as the JSON document
/// is: the same values once parsed, but `##octopus` and every character [`inert`] escapes are
/// JSON escapes, so each line of it is safe to print in a log as it is.
pub fn inert_json_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut text = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut text,
        InertFormatter::<PrettyFormatter>::default(),
    );
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8(text).unwrap_or_default())
}

/// `value` as one line of compact JSON, safe to print as a log line as it is (see
/// [`inert_json_pretty`]).
pub fn inert_json_line<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut text = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut text,
        InertFormatter(serde_json::ser::CompactFormatter),
    );
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8(text).unwrap_or_default())
}

/// Makes text safe to print as one human log line: every character that could break the line,
/// forge another or change how it reads is written visibly, and every `##octopus` becomes
/// `# #octopus`. This is the one place that does it: the emitter (every human line, warning,
/// failure, progress message and log line) calls it; service messages octoshare emits itself,
/// output variables' values and the JSON document keep the exact text.
///
/// * **Line breaks and control characters.** Names of spaces, pools and workers come from the
///   server and anyone allowed to name a worker can choose them. A name holding a line feed
///   (`"evil\nshared 0 workers: all OK"`) would print a forged line into the Octopus task log,
///   and an escape character could drive a terminal. LF, CR and tab are written `\n`, `\r`,
///   `\t`; every other C0 or C1 control character, DEL, the Unicode line and paragraph
///   separators (U+2028, U+2029) and the bidirectional embeddings, overrides and isolates
///   (U+202A–U+202E, U+2066–U+2069), which can make a line read in another order than it is
///   written, as `\u{..}` (e.g. `\u{1b}`, `\u{202e}`). A backslash stays as it is, so a name
///   that holds the two characters `\n` prints the same as one holding a line feed: the JSON
///   document tells them apart.
/// * **Service messages.** Octopus acts on `##octopus[...]` anywhere in the output (not only at
///   the start of a line). Printed as is, a crafted name could set another step's output
///   variables or collect a file of the worker (the API key file, say) as an artifact.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) && !text.contains(SERVICE_MESSAGE_PREFIX) {
        return Cow::Borrowed(text);
    }
    let mut line = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        match character {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            escaped if is_escaped(escaped) => {
                line.push_str(&format!("\\u{{{:x}}}", u32::from(escaped)));
            }
            kept => line.push(kept),
        }
    }
    if line.contains(SERVICE_MESSAGE_PREFIX) {
        line = line.replace(SERVICE_MESSAGE_PREFIX, "# #octopus");
    }
    Cow::Owned(line)
}

/// Whether [`inert`] writes `character` as an escape: C0 and C1 control characters and DEL,
/// the Unicode line and paragraph separators, and the bidirectional formatting characters
/// that reorder text (embeddings, overrides, isolates).
pub fn is_escaped(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{2028}' | '\u{2029}')
        || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// An output variable's value as Octopus holds it: text as is, numbers in decimal, lists
/// comma-joined, booleans `True`/`False`, null empty.
fn variable_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(variable_text)
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => value.to_string(),
    }
}

/// `current / total` as a whole percentage in 0..=100 (100 when `total` is 0).
pub fn percentage(current: u64, total: u64) -> u8 {
    if total == 0 {
        return 100;
    }
    let value = current.min(total).saturating_mul(100) / total;
    u8::try_from(value).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use octoshare_core::service_message::parse_service_messages;
    use std::sync::{Arc, Mutex};

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
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn emitter(mode: OutputMode) -> (Emitter, Captured, Captured) {
        let (stdout, stderr) = (Captured::default(), Captured::default());
        (
            Emitter::with_writers(mode, Box::new(stdout.clone()), Box::new(stderr.clone())),
            stdout,
            stderr,
        )
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Outputs {
        remaining_space_ids: Vec<String>,
        qualifying_space_count: u64,
        empty: String,
    }

    fn outputs() -> Outputs {
        Outputs {
            remaining_space_ids: vec!["Spaces-2".into(), "Spaces-3".into()],
            qualifying_space_count: 3,
            empty: String::new(),
        }
    }

    #[test]
    fn octopus_mode_writes_set_variable_messages() {
        let (mut emitter, stdout, _) = emitter(OutputMode::Octopus);
        emitter.set_outputs(&outputs());
        emitter.write_document(&outputs()).unwrap();
        emitter.finish().unwrap();
        let messages = parse_service_messages(&stdout.text());
        let pairs: Vec<(&str, &str)> = messages
            .iter()
            .map(|m| (m.get("name").unwrap(), m.get("value").unwrap()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("RemainingSpaceIds", "Spaces-2,Spaces-3"),
                ("QualifyingSpaceCount", "3"),
                ("Empty", "")
            ]
        );
        assert!(stdout.text().contains("value=''"));
    }

    #[test]
    fn json_mode_writes_one_document_and_logs_to_stderr() {
        let (mut emitter, stdout, stderr) = emitter(OutputMode::Json);
        emitter.info("listing spaces");
        emitter.warning("space 'Ops' has a stopped task queue");
        emitter.progress(1, 2, "1 of 2");
        emitter.set_outputs(&outputs());
        emitter.write_document(&outputs()).unwrap();
        emitter.write_document(&outputs()).unwrap();
        emitter.finish().unwrap();
        let text = stdout.text();
        let document: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            document,
            serde_json::json!({"RemainingSpaceIds": ["Spaces-2", "Spaces-3"], "QualifyingSpaceCount": 3, "Empty": ""})
        );
        assert!(
            text.starts_with("{\n  \""),
            "pretty, 2-space indent: {text}"
        );
        assert!(text.ends_with("}\n"), "{text}");
        assert!(stderr.text().contains("listing spaces"));
        assert!(stderr.text().contains("warning: space 'Ops'"));
    }

    #[test]
    fn json_strings_stay_inert() {
        #[derive(serde::Serialize)]
        struct Detail {
            name: String,
            counts: Vec<u32>,
        }
        let (mut emitter, stdout, _) = emitter(OutputMode::Json);
        let detail = Detail {
            name: "##octopus[setVariable name='eA==' value='eQ==']".to_owned(),
            counts: vec![1, 2],
        };
        emitter.write_document(&detail).unwrap();
        emitter.finish().unwrap();
        let text = stdout.text();
        assert!(!text.contains("##octopus"), "{text}");
        let document: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            document,
            serde_json::json!({"name": detail.name, "counts": [1, 2]})
        );
    }

    #[test]
    fn octopus_progress_is_a_service_message_written_once_per_change() {
        let (mut emitter, stdout, _) = emitter(OutputMode::Octopus);
        emitter.progress(1, 3, "1 of 3 workers registered");
        emitter.progress(1, 3, "1 of 3 workers registered");
        emitter.progress(3, 3, "3 of 3 workers registered");
        let messages = parse_service_messages(&stdout.text());
        let percentages: Vec<&str> = messages
            .iter()
            .map(|m| m.get("percentage").unwrap())
            .collect();
        assert_eq!(percentages, vec!["33", "100"]);
        assert_eq!(
            messages[0].get("message"),
            Some("1 of 3 workers registered")
        );
    }

    #[test]
    fn text_from_the_server_cannot_become_a_service_message() {
        let injected = format!(
            "worker {}\n{}",
            ServiceMessage::set_variable("InitialSpaceId", "Spaces-666").to_line(),
            ServiceMessage::create_artifact("/etc/octoshare/api-key", "key", 1).to_line()
        );
        for mode in [OutputMode::Octopus, OutputMode::Text, OutputMode::Json] {
            let (mut emitter, stdout, stderr) = emitter(mode);
            emitter.set_verbose(true);
            emitter.info(&injected);
            emitter.highlight(&injected);
            emitter.verbose(&injected);
            emitter.warning(&injected);
            emitter.progress(1, 2, &injected);
            emitter.set_outputs(&serde_json::json!({"Names": injected.clone()}));
            emitter.failure(&injected);
            emitter
                .write_document(
                    &serde_json::json!({"Report": injected.clone(), "Error": injected.clone()}),
                )
                .unwrap();
            emitter.finish().unwrap();
            for text in [stdout.text(), stderr.text()] {
                for message in parse_service_messages(&text) {
                    assert_ne!(message.name, "createArtifact", "{mode:?}: {text}");
                    assert_ne!(
                        message.get("name"),
                        Some("InitialSpaceId"),
                        "{mode:?}: {text}"
                    );
                }
            }
            if mode == OutputMode::Json {
                // The document still holds the exact text.
                let document: Value = serde_json::from_str(&stdout.text()).unwrap();
                assert_eq!(document["Report"], Value::String(injected.clone()));
                assert_eq!(document["Error"], Value::String(injected.clone()));
            }
        }
        assert_eq!(inert("a ###octopus[x] b"), "a ## #octopus[x] b");
        assert_eq!(inert("plain"), "plain");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped_visibly() {
        assert_eq!(
            inert("evil\nshared 0 workers: all OK"),
            "evil\\nshared 0 workers: all OK"
        );
        assert_eq!(inert("Beta\r\nfake line"), "Beta\\r\\nfake line");
        assert_eq!(
            inert("a\tb\u{0}c\u{1b}[31md\u{7f}e\u{85}f\u{9b}g"),
            "a\\tb\\u{0}c\\u{1b}[31md\\u{7f}e\\u{85}f\\u{9b}g"
        );
        assert_eq!(
            inert("x\u{202a}\u{202e}\u{2066}\u{2069}\u{2028}\u{2029}y"),
            "x\\u{202a}\\u{202e}\\u{2066}\\u{2069}\\u{2028}\\u{2029}y"
        );
        // Letters of every script, emoji and marks that do not reorder text stay as they are.
        for kept in [
            "Zürich",
            "東京 worker",
            "שלום",
            "🚀",
            "a\u{200f}b",
            r"C:\Octopus\n",
        ] {
            assert_eq!(inert(kept), kept);
        }
        // Escaping never makes a service message out of what was not one.
        assert_eq!(inert("#\n#octopus"), "#\\n#octopus");
        assert_eq!(
            inert("##\u{7}octopus##octopus"),
            "##\\u{7}octopus# #octopus"
        );
    }

    #[test]
    fn every_mode_prints_a_hostile_name_on_one_line_and_keeps_exact_values() {
        let name = "evil\nshared 0 workers: all OK\r\n\u{202e}##octopus[x]";
        for mode in [OutputMode::Octopus, OutputMode::Text, OutputMode::Json] {
            let (mut emitter, stdout, stderr) = emitter(mode);
            emitter.set_verbose(true);
            emitter.info(name);
            emitter.highlight(name);
            emitter.verbose(name);
            emitter.warning(name);
            emitter.progress(1, 2, name);
            emitter.failure(name);
            emitter.set_outputs(&serde_json::json!({ "Names": name }));
            emitter
                .write_document(&serde_json::json!({ "Names": name }))
                .unwrap();
            emitter.finish().unwrap();
            let (out, err) = (stdout.text(), stderr.text());
            for line in out.lines().chain(err.lines()) {
                assert!(!line.contains(is_escaped), "{mode:?}: {line:?}");
                assert!(
                    !line.starts_with("shared 0 workers") && !line.contains("\u{202e}"),
                    "{mode:?}: {line:?}"
                );
            }
            match mode {
                OutputMode::Octopus => {
                    let messages = parse_service_messages(&out);
                    let value = messages
                        .iter()
                        .find(|message| message.name == "setVariable")
                        .and_then(|message| message.get("value"));
                    assert_eq!(
                        value,
                        Some(name),
                        "the output variable keeps the exact name"
                    );
                }
                OutputMode::Json => {
                    let document: Value = serde_json::from_str(&out).unwrap();
                    assert_eq!(document["Names"], Value::String(name.to_owned()));
                }
                OutputMode::Text => {}
            }
        }
    }

    #[test]
    fn inert_json_keeps_values_and_prints_safe_lines() {
        let value = serde_json::json!({
            "Name": "evil\nshared 0 workers\u{202e}\u{85}\u{2028}##octopus[x]",
            "Count": 2
        });
        for text in [
            inert_json_line(&value).unwrap(),
            inert_json_pretty(&value).unwrap(),
        ] {
            for line in text.lines() {
                assert!(!line.contains(is_escaped), "{line:?}");
                assert!(!line.contains("##octopus"), "{line:?}");
                assert_eq!(inert(line), line, "already inert");
            }
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, value);
        }
        assert_eq!(inert_json_line(&value).unwrap().lines().count(), 1);
    }

    #[test]
    fn result_text_keeps_its_lines_and_escapes_inside_them() {
        let (mut emitter, stdout, _) = emitter(OutputMode::Text);
        emitter.result_text("a\u{1b}[2J\n<td>b</td>\n##octopus[x]");
        emitter.result_line("worker 'evil\nshared 0 workers: all OK'");
        assert_eq!(
            stdout.text(),
            "a\\u{1b}[2J\n<td>b</td>\n# #octopus[x]\nworker 'evil\\nshared 0 workers: all OK'\n"
        );
        let (mut json, stdout, _) = self::emitter(OutputMode::Json);
        json.result_text("table");
        json.result_line("row");
        assert_eq!(stdout.text(), "");
    }

    #[test]
    fn warnings_are_wrapped_for_octopus() {
        let (mut emitter, stdout, _) = emitter(OutputMode::Octopus);
        emitter.warning("careful");
        assert_eq!(
            stdout.text(),
            "##octopus[stdout-warning]\ncareful\n##octopus[stdout-default]\n"
        );
    }

    #[test]
    fn failure_sets_result_message_and_an_error_line() {
        let (mut emitter, stdout, stderr) = emitter(OutputMode::Octopus);
        emitter.failure("no space has the worker pool 'X'");
        let messages = parse_service_messages(&stdout.text());
        assert_eq!(messages[0].name, "resultMessage");
        assert_eq!(
            messages[0].get("message"),
            Some("no space has the worker pool 'X'")
        );
        assert_eq!(stderr.text(), "error: no space has the worker pool 'X'\n");

        let (mut emitter, stdout, stderr) = self::emitter(OutputMode::Json);
        emitter.failure("boom");
        emitter.finish().unwrap();
        assert_eq!(
            stdout.text(),
            "",
            "the document carries the failure in JSON mode"
        );
        assert_eq!(stderr.text(), "error: boom\n");
    }

    #[test]
    fn phases_scale_octopus_progress_into_their_share_of_the_run() {
        let (mut emitter, stdout, _) = emitter(OutputMode::Octopus);
        emitter.begin_phase("discover", 0..=10, "looking for the pool");
        emitter.end_phase();
        emitter.begin_phase("wait", 10..=60, "waiting for 2 workers");
        emitter.progress(1, 2, "1 of 2 workers registered");
        emitter.progress(2, 2, "2 of 2 workers registered");
        emitter.finish_progress();
        emitter.end_phase();
        emitter.begin_phase("share", 60..=100, "sharing");
        emitter.progress(1, 1, "1 of 1 space done");
        emitter.end_phase();
        emitter.progress(1, 2, "outside any phase");
        let messages = parse_service_messages(&stdout.text());
        let progress: Vec<(&str, &str)> = messages
            .iter()
            .map(|m| (m.get("percentage").unwrap(), m.get("message").unwrap()))
            .collect();
        assert_eq!(
            progress,
            vec![
                ("0", "discover: looking for the pool"),
                ("10", "discover: done"),
                ("10", "wait: waiting for 2 workers"),
                ("35", "wait: 1 of 2 workers registered"),
                ("60", "wait: 2 of 2 workers registered"),
                ("60", "share: sharing"),
                ("100", "share: 1 of 1 space done"),
                ("50", "outside any phase"),
            ]
        );
    }

    #[test]
    fn phases_label_plain_progress_lines() {
        let (mut emitter, stdout, stderr) = emitter(OutputMode::Text);
        emitter.begin_phase("wait", 10..=60, "waiting");
        emitter.progress(1, 3, "1 of 3 workers registered");
        emitter.end_phase();
        assert_eq!(stdout.text(), "");
        assert_eq!(stderr.text(), "wait: 1 of 3 workers registered\n");
    }

    #[test]
    fn verbose_lines_need_dash_v_outside_octopus() {
        let (mut emitter, stdout, _) = emitter(OutputMode::Text);
        emitter.verbose("hidden");
        emitter.set_verbose(true);
        emitter.verbose("shown");
        assert_eq!(stdout.text(), "shown\n");
    }

    #[test]
    fn percentage_is_bounded() {
        assert_eq!(percentage(0, 5), 0);
        assert_eq!(percentage(3, 5), 60);
        assert_eq!(percentage(7, 5), 100);
        assert_eq!(percentage(0, 0), 100);
    }
}
