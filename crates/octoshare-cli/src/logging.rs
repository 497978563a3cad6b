//! Log setup: `tracing` events to stderr, or wrapped in Octopus log-level messages on stdout.
//!
//! Only octoshare's own crates log above `warn`: the HTTP stack's debug output can contain
//! request headers, and the API key travels in a header.

use crate::output::{OutputMode, inert};
use std::io::{self, Write};
use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

const OWN_CRATES: [&str; 7] = [
    "octoshare",
    "octoshare_core",
    "octoshare_cli",
    "octoshare_discover",
    "octoshare_wait",
    "octoshare_share",
    "octopus_emulator",
];

/// Installs the global subscriber. `verbose`/`quiet` are the `-v`/`-q` counts. Calling it twice
/// is harmless (the second call keeps the first subscriber).
pub fn init(mode: OutputMode, verbose: u8, quiet: u8) {
    let own_level = match (quiet, verbose) {
        (q, _) if q > 0 => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let mut directives = String::from("warn");
    for name in OWN_CRATES {
        directives.push_str(&format!(",{name}={own_level}"));
    }
    let filter = tracing_subscriber::EnvFilter::new(directives);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_writer(LogWriterFactory { mode });
    let result = if mode == OutputMode::Octopus {
        builder.with_level(false).try_init()
    } else {
        builder.try_init()
    };
    drop(result);
}

#[derive(Debug, Clone, Copy)]
struct LogWriterFactory {
    mode: OutputMode,
}

impl<'a> MakeWriter<'a> for LogWriterFactory {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter {
            mode: self.mode,
            level: Level::INFO,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LogWriter {
        LogWriter {
            mode: self.mode,
            level: *meta.level(),
        }
    }
}

/// Writes one formatted event: to stderr, or in Octopus mode to stdout between
/// `stdout-warning`/`stdout-verbose` and `stdout-default`, so Octopus neither hides warnings nor
/// reports log lines as errors.
#[derive(Debug)]
struct LogWriter {
    mode: OutputMode,
    level: Level,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.mode == OutputMode::Octopus {
            let open: &[u8] = if self.level <= Level::WARN {
                b"##octopus[stdout-warning]\n"
            } else {
                b"##octopus[stdout-verbose]\n"
            };
            let mut stdout = io::stdout().lock();
            stdout.write_all(open)?;
            stdout.write_all(one_line(buf).as_bytes())?;
            stdout.write_all(b"##octopus[stdout-default]\n")?;
            stdout.flush()?;
        } else {
            let mut stderr = io::stderr().lock();
            stderr.write_all(one_line(buf).as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One formatted event as one line: its text made [`inert`] (line breaks and control
/// characters inside it escaped, `##octopus` defused), then the line end.
fn one_line(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(buf);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let mut line = inert(text).into_owned();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_line_whatever_it_holds() {
        assert_eq!(one_line(b"plain\n"), "plain\n");
        assert_eq!(
            one_line("worker 'evil\nshared 0 workers' \u{202e}##octopus[x]\n".as_bytes()),
            "worker 'evil\\nshared 0 workers' \\u{202e}# #octopus[x]\n"
        );
        assert_eq!(one_line(b"no line end"), "no line end\n");
    }
}
