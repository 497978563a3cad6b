//! `peak-rss REPORT PROGRAM [ARGS...]`: runs PROGRAM with ARGS (stdin, stdout and stderr
//! inherited), writes `{"Code": <exit code or null>, "MaxRssKib": <peak resident set size>}` to
//! REPORT and exits with the program's code. The figure is `getrusage(RUSAGE_CHILDREN)` of this
//! process, whose only child is PROGRAM: its high-water mark, measured by the kernel, not
//! sampled. The end-to-end suite uses it to show that a hostile answer cannot grow octoshare's
//! memory without bound.

use std::process::{Command, ExitCode};

use nix::sys::resource::{UsageWho, getrusage};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(report), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: peak-rss REPORT PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    let status = match Command::new(&program).args(args).status() {
        Ok(status) => status,
        Err(error) => {
            eprintln!(
                "peak-rss: cannot run {}: {error}",
                program.to_string_lossy()
            );
            return ExitCode::from(2);
        }
    };
    let max_rss_kib = match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(usage) => usage.max_rss(),
        Err(error) => {
            eprintln!("peak-rss: getrusage failed: {error}");
            return ExitCode::from(2);
        }
    };
    let code = status
        .code()
        .map_or_else(|| "null".to_owned(), |code| code.to_string());
    let json = format!("{{\"Code\": {code}, \"MaxRssKib\": {max_rss_kib}}}\n");
    if let Err(error) = std::fs::write(&report, json) {
        eprintln!("peak-rss: cannot write the report: {error}");
        return ExitCode::from(2);
    }
    ExitCode::from(
        status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .unwrap_or(1),
    )
}
