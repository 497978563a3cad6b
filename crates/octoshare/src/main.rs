//! `octoshare`: shares one fleet of polling Tentacle workers across Octopus spaces — the
//! "sharing workers across spaces" runbook in one binary (`run`), plus a self-contained `demo`,
//! the Octopus API `emulator`, `install` of the step templates, `user-data` for new VMs and
//! `retire` to take a worker out of every space when it is scaled in (`retire-on-shutdown`: at
//! the VM's own shutdown).

mod demo;
mod emulator;
mod install;
mod reconcile;
mod retire;
mod retire_on_shutdown;
mod run;
mod shell;
mod status;
mod user_data;

use clap::{CommandFactory as _, Parser, Subcommand};
use octoshare_cli::CommonArgs;
use std::process::ExitCode;

/// Share one fleet of polling Tentacle workers across Octopus spaces.
///
/// Start with `octoshare demo`: it runs against a built-in Octopus emulator, no server needed.
#[derive(Debug, Parser)]
#[command(name = "octoshare", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Discover the spaces with the pool, wait for the workers (--count), share them into every other space
    #[command(after_help = run::EXIT_CODES_HELP)]
    Run(run::RunArgs),
    /// Keep the pool shared continuously: a cycle every --interval and on POST /webhook, metrics, health and a status page on --listen
    #[command(after_help = reconcile::EXIT_CODES_HELP)]
    Reconcile(reconcile::ReconcileArgs),
    /// Show what octoshare does against a built-in Octopus emulator (no flags, no network)
    Demo(demo::DemoArgs),
    /// Show which worker of the pool is registered in which space (text, json or html; exit 5 on drift)
    #[command(after_help = status::EXIT_CODES_HELP)]
    Status(status::StatusArgs),
    /// Serve the Octopus API emulator for trying octoshare or the step templates locally
    Emulator(emulator::EmulatorArgs),
    /// Import or update octoshare's step templates in Octopus spaces
    #[command(after_help = install::EXIT_CODES_HELP)]
    Install(install::InstallArgs),
    /// Print the bootstrap script that installs a polling Tentacle worker on a new VM
    UserData(user_data::UserDataArgs),
    /// Take a worker out of every space: disable it everywhere, wait until no task holds it, delete it
    #[command(after_help = retire::EXIT_CODES_HELP)]
    Retire(retire::RetireArgs),
    /// Install or remove the systemd unit that retires this VM's worker from every space when the VM shuts down
    RetireOnShutdown(retire_on_shutdown::RetireOnShutdownArgs),
    /// Print the shell completion script of octoshare (or of a step binary, --binary NAME)
    Completions(shell::CompletionsArgs),
    /// Write the man pages of octoshare, its subcommands and the step binaries into a folder
    ManPages(shell::ManPagesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::command(args, &cli.common),
        Command::Status(args) => status::command(args, &cli.common),
        Command::Reconcile(args) => reconcile::command(args, &cli.common),
        Command::Demo(args) => demo::command(args, &cli.common),
        Command::Emulator(args) => emulator::command(args, &cli.common),
        Command::Install(args) => install::command(args, &cli.common),
        Command::UserData(args) => user_data::command(args, &cli.common),
        Command::Retire(args) => retire::command(args, &cli.common),
        Command::RetireOnShutdown(args) => retire_on_shutdown::command(args, &cli.common),
        Command::Completions(args) => shell::completions(args, Cli::command),
        Command::ManPages(args) => shell::man_pages(args, Cli::command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks of every flag (groups, conflicts, defaults, value names).
    #[test]
    fn flags_pass_clap_debug_assert() {
        Cli::command().debug_assert();
    }

    /// The flags of a command: each argument's id, long and short name.
    fn flags(command: &clap::Command) -> Vec<(String, Option<String>, Option<char>)> {
        let mut flags: Vec<_> = command
            .get_arguments()
            .map(|argument| {
                (
                    argument.get_id().to_string(),
                    argument.get_long().map(str::to_owned),
                    argument.get_short(),
                )
            })
            .collect();
        flags.sort();
        flags
    }

    /// `octoshare_cli::binaries::RunCli` (what the step-template tests parse the run template's
    /// argv with) takes exactly the flags `octoshare run` takes, global ones included.
    #[test]
    fn run_cli_takes_the_flags_of_the_run_subcommand() {
        let mut cli = Cli::command();
        cli.build();
        let run = cli.find_subcommand("run").expect("octoshare run");
        let mut expected = octoshare_cli::binaries::RunCli::command();
        expected.build();
        assert_eq!(flags(run), flags(&expected));
    }
}
