//! The command lines of the three step binaries, as library types: the binaries parse them, and
//! `octoshare completions` / `octoshare man-pages` and the tests build their clap commands.

use crate::CommonArgs;
use crate::flags::{DiscoverArgs, RunArgs, ShareArgs, WaitArgs};
use clap::{CommandFactory as _, Parser};

/// Find every space that has worker pool NAME; the first is the initial space.
#[derive(Debug, Parser)]
#[command(name = "octoshare-discover", version, about, long_about = None)]
pub struct DiscoverCli {
    /// The step's own flags.
    #[command(flatten)]
    pub discover: DiscoverArgs,
    /// Connection, output and logging flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Wait until worker pool NAME in a space holds at least N workers.
#[derive(Debug, Parser)]
#[command(name = "octoshare-wait", version, about, long_about = None)]
pub struct WaitCli {
    /// The step's own flags.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Connection, output and logging flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Share the workers of a pool into the same-named pool of other spaces.
#[derive(Debug, Parser)]
#[command(name = "octoshare-share", version, about, long_about = None)]
pub struct ShareCli {
    /// The step's own flags.
    #[command(flatten)]
    pub share: ShareArgs,
    /// Connection, output and logging flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What `octoshare run` parses after `run`, as one parser: [`RunArgs`] with [`CommonArgs`]
/// (global in `octoshare`, so accepted after the subcommand too). For checking an argv the run
/// step template builds without the `octoshare` binary's own `Cli`; a test of `octoshare`
/// checks that its `run` subcommand takes exactly these flags.
#[derive(Debug, Parser)]
#[command(name = "octoshare run", about = None, long_about = None)]
pub struct RunCli {
    /// `run`'s own flags.
    #[command(flatten)]
    pub run: RunArgs,
    /// Connection, output and logging flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The step binaries of this crate (its `[[bin]]` targets), by name.
pub const STEP_BINARIES: [&str; 3] = ["octoshare-discover", "octoshare-wait", "octoshare-share"];

/// The clap command of step binary `name`, or `None` for a name not in [`STEP_BINARIES`].
pub fn step_command(name: &str) -> Option<clap::Command> {
    match name {
        "octoshare-discover" => Some(DiscoverCli::command()),
        "octoshare-wait" => Some(WaitCli::command()),
        "octoshare-share" => Some(ShareCli::command()),
        _ => None,
    }
}

/// The clap commands of every step binary, in [`STEP_BINARIES`] order.
pub fn step_commands() -> Vec<clap::Command> {
    STEP_BINARIES
        .iter()
        .filter_map(|name| step_command(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks of every flag (groups, conflicts, defaults, value names).
    #[test]
    fn flags_pass_clap_debug_assert() {
        for command in step_commands() {
            command.debug_assert();
        }
    }

    #[test]
    fn every_step_binary_has_a_command_of_its_name() {
        assert_eq!(step_commands().len(), STEP_BINARIES.len());
        for (name, command) in STEP_BINARIES.iter().zip(step_commands()) {
            assert_eq!(command.get_name(), *name);
        }
        assert!(step_command("octoshare").is_none());
    }

    /// [`STEP_BINARIES`] is exactly the `[[bin]]` targets of this crate's manifest, so a new
    /// step binary cannot miss its completions and man page.
    #[test]
    fn step_binaries_are_the_manifest_bin_targets() {
        let manifest = include_str!("../Cargo.toml");
        let mut in_bin = false;
        let mut names = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(value) = line.strip_prefix("name = ") {
                names.push(value.trim_matches('"').to_owned());
            }
        }
        let mut expected: Vec<String> = STEP_BINARIES.iter().map(|s| (*s).to_owned()).collect();
        names.sort();
        expected.sort();
        assert_eq!(names, expected);
    }
}
