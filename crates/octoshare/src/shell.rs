//! `octoshare completions` (shell completion scripts) and `octoshare man-pages` (roff man
//! pages), for `octoshare` and every step binary, generated from their clap commands.

use anyhow::Context as _;
use clap::Args;
use clap::builder::PossibleValuesParser;
use octoshare_cli::binaries::{STEP_BINARIES, step_command};
use octoshare_cli::shell_docs::{self, Shell};
use octoshare_cli::{Exit, exit_for_error, one_line};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The binary `--binary` names by default.
const OCTOSHARE: &str = "octoshare";

/// `octoshare completions`'s flags.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,

    /// The binary to complete: octoshare or one of the step binaries
    #[arg(long, value_name = "NAME", default_value = OCTOSHARE, value_parser = binary_names())]
    pub binary: String,
}

/// `octoshare man-pages`'s flags.
#[derive(Debug, Args)]
pub struct ManPagesArgs {
    /// The folder to write the pages into (created if missing), e.g. ~/.local/share/man/man1
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

fn binary_names() -> PossibleValuesParser {
    PossibleValuesParser::new(std::iter::once(OCTOSHARE).chain(STEP_BINARIES))
}

/// The clap commands of `octoshare` (built by `octoshare`) and of every step binary.
fn every_command(octoshare: fn() -> clap::Command) -> Vec<clap::Command> {
    std::iter::once(octoshare())
        .chain(STEP_BINARIES.iter().filter_map(|name| step_command(name)))
        .collect()
}

/// Prints the completion script of `args.binary` for `args.shell`.
pub fn completions(args: CompletionsArgs, octoshare: fn() -> clap::Command) -> ExitCode {
    let command = if args.binary == OCTOSHARE {
        Some(octoshare())
    } else {
        step_command(&args.binary)
    };
    let result = command
        .with_context(|| {
            format!(
                "unknown binary {}: name octoshare or a step binary",
                args.binary
            )
        })
        .and_then(|command| {
            let script = shell_docs::completions(command, args.shell);
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&script)
                .and_then(|()| stdout.flush())
                .context("writing the completion script to stdout")
        });
    conclude(result)
}

/// Writes the man pages of `octoshare`, of each of its subcommands and of every step binary
/// into `args.out_dir`, and names each file on stdout.
pub fn man_pages(args: ManPagesArgs, octoshare: fn() -> clap::Command) -> ExitCode {
    conclude(write_man_pages(&args.out_dir, octoshare))
}

fn write_man_pages(out_dir: &Path, octoshare: fn() -> clap::Command) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating {}: check the --out-dir path", out_dir.display()))?;
    let mut stdout = std::io::stdout().lock();
    for command in every_command(octoshare) {
        let name = command.get_name().to_owned();
        let pages = shell_docs::man_pages(command)
            .with_context(|| format!("rendering the man pages of {name}"))?;
        for page in pages {
            let path = out_dir.join(&page.file_name);
            std::fs::write(&path, &page.roff).with_context(|| {
                format!(
                    "writing {}: check that --out-dir is writable",
                    path.display()
                )
            })?;
            writeln!(stdout, "{}", path.display()).context("writing to stdout")?;
        }
    }
    Ok(())
}

fn conclude(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => Exit::Success.into(),
        Err(error) => {
            let exit = exit_for_error(&error);
            let _ = writeln!(std::io::stderr().lock(), "error: {}", one_line(&error));
            exit.into()
        }
    }
}
