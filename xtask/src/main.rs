//! `cargo xtask`: project automation (see `xtask/src/lib.rs`).

use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use xtask::codegen::{self, Mode};
use xtask::{ci, deps, dist, project_root, schemas, timestamp, tools};

mod bench;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "octoshare project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate step-templates/ (step-template JSON and configure-worker.sh[.tftpl]) and docs/schemas/
    Codegen {
        /// Change nothing; fail listing every stale file
        #[arg(long)]
        check: bool,
    },
    /// The whole test command: fmt, unused dependencies, install missing test tools, clippy, doc, every test (CI=true)
    Ci,
    /// Install the external tools the tests use (apt as root, else pinned wheels in target/tools/venv; npm ci)
    Tools,
    /// Fail on a declared dependency that its package never uses (or uses only in tests)
    UnusedDeps,
    /// Build release binaries for glibc 2.31+ and write dist/: the release archive, the Octopus feed package and SHA256SUMS
    Dist,
    /// Run the Octopus Library's checks on the step templates in DIR (before a Library pull request)
    LibraryCheck {
        /// Folder of step-template JSON files
        #[arg(default_value = "step-templates")]
        dir: std::path::PathBuf,
    },
    /// Record the SHA256SUMS of this version's published release in release/ and regenerate the step templates, which then download it
    PinRelease {
        /// The release's SHA256SUMS
        #[arg(default_value = "dist/SHA256SUMS")]
        sums: std::path::PathBuf,
    },
    /// Benchmark octoshare against the original runbook on the emulator (release build; --help for its flags)
    #[command(disable_help_flag = true)]
    Bench {
        /// Flags of the bench, passed through (e.g. --quick, --latency 5ms)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Codegen { check } => {
            let mode = if check { Mode::Check } else { Mode::Overwrite };
            let now = timestamp::export_timestamp(SystemTime::now());
            let templates = codegen::generate(mode, &project_root(), &now);
            let schemas = schemas::generate(mode, &project_root());
            match (templates, schemas) {
                (Ok(mut changed), Ok(schemas)) => {
                    changed.extend(schemas);
                    if mode == Mode::Overwrite {
                        for file in &changed {
                            println!("updated {file}");
                        }
                    }
                    if changed.is_empty() {
                        println!("step-templates/ and docs/schemas/ are up to date");
                    }
                    Ok(())
                }
                (Err(error), _) | (_, Err(error)) => Err(error),
            }
        }
        Command::Dist => dist::dist(&project_root()).map(drop),
        Command::LibraryCheck { dir } => {
            xtask::library_check::check_dir(&dir).and_then(|problems| {
                if problems.is_empty() {
                    println!("{}: every Library check passes", dir.display());
                    Ok(())
                } else {
                    anyhow::bail!(
                        "{} Library check(s) fail:\n  {}",
                        problems.len(),
                        problems.join("\n  ")
                    )
                }
            })
        }
        Command::PinRelease { sums } => {
            let now = timestamp::export_timestamp(SystemTime::now());
            codegen::pin_release(&project_root(), &sums, env!("CARGO_PKG_VERSION"), &now).map(
                |sha256| {
                    println!(
                        "step templates now download the release archive with SHA-256 {sha256}"
                    )
                },
            )
        }
        Command::Ci => ci::ci(&project_root()),
        Command::Tools => tools::install(&project_root()).map(drop),
        Command::UnusedDeps => deps::check(&project_root()),
        Command::Bench { args } => bench::bench(&project_root(), &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
