//! `cargo xtask`: project automation (see `xtask/src/lib.rs`).

use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use xtask::codegen::{self, Mode};
use xtask::{ci, dist, project_root, timestamp};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "octoshare project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate step-templates/ (step-template JSON and configure-worker.sh[.tftpl])
    Codegen {
        /// Change nothing; fail listing every stale file
        #[arg(long)]
        check: bool,
    },
    /// The whole test command: install missing test tools, fmt, clippy, doc, every test
    Ci,
    /// Build release binaries for glibc 2.31+ and package dist/octoshare.<version>.tar.gz
    Dist,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Codegen { check } => {
            let mode = if check { Mode::Check } else { Mode::Overwrite };
            let now = timestamp::export_timestamp(SystemTime::now());
            codegen::generate(mode, &project_root(), &now).map(|changed| {
                if mode == Mode::Overwrite {
                    for file in &changed {
                        println!("updated {file}");
                    }
                }
                if changed.is_empty() {
                    println!("step-templates/ is up to date");
                }
            })
        }
        Command::Dist => dist::dist(&project_root()).map(drop),
        Command::Ci => ci::ci(&project_root()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
