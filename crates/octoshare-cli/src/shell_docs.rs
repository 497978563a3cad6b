//! Shell completions (clap_complete) and man pages (clap_mangen) generated from the clap
//! commands themselves, so every binary, subcommand and flag is covered without a list to keep.

use clap::ValueEnum;
use clap_complete::Generator as _;
use std::io;

/// A shell octoshare writes completions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (`source` the script, or install it into `bash-completion`'s folder).
    Bash,
    /// Zsh (a `_NAME` file in a folder of `$fpath`).
    Zsh,
    /// Fish (`~/.config/fish/completions/NAME.fish`).
    Fish,
    /// PowerShell (dot-source the script from `$PROFILE`).
    Powershell,
}

impl Shell {
    /// Every shell, in the order above.
    pub const ALL: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell];

    fn generator(self) -> clap_complete::Shell {
        match self {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
        }
    }

    /// The conventional file name of `binary`'s completion script for this shell:
    /// `NAME.bash`, `_NAME`, `NAME.fish`, `_NAME.ps1`.
    pub fn file_name(self, binary: &str) -> String {
        self.generator().file_name(binary)
    }
}

/// The completion script of `command` (named by its own name) for `shell`.
pub fn completions(mut command: clap::Command, shell: Shell) -> Vec<u8> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell.generator(), &mut command, name, &mut script);
    script
}

/// One man page: its file name (`NAME.1`) and its roff source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManPage {
    /// `octoshare.1`, `octoshare-run.1`, `octoshare-share.1`, ...
    pub file_name: String,
    /// The page, in roff (`man -l FILE` renders it).
    pub roff: Vec<u8>,
}

/// The man pages of `command` and of each of its visible subcommands, recursively (a
/// subcommand's page is named `PARENT-SUB.1`), parents first, subcommands in declaration order.
pub fn man_pages(command: clap::Command) -> io::Result<Vec<ManPage>> {
    fn collect(command: clap::Command, pages: &mut Vec<ManPage>) -> io::Result<()> {
        let subcommands: Vec<clap::Command> = command
            .get_subcommands()
            .filter(|subcommand| !subcommand.is_hide_set())
            .cloned()
            .collect();
        let man = clap_mangen::Man::new(command);
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        pages.push(ManPage {
            file_name: man.get_filename(),
            roff,
        });
        for subcommand in subcommands {
            collect(subcommand, pages)?;
        }
        Ok(())
    }
    let mut command = command.disable_help_subcommand(true);
    // Building names the subcommands `PARENT-SUB` (their display name) for their pages.
    command.build();
    let mut pages = Vec::new();
    collect(command, &mut pages)?;
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binaries::{STEP_BINARIES, step_command};

    #[test]
    fn completion_file_names_follow_each_shell() {
        let names: Vec<String> = Shell::ALL
            .iter()
            .map(|shell| shell.file_name("octoshare-share"))
            .collect();
        assert_eq!(
            names,
            [
                "octoshare-share.bash",
                "_octoshare-share",
                "octoshare-share.fish",
                "_octoshare-share.ps1"
            ]
        );
    }

    #[test]
    fn every_step_binary_gets_one_man_page_naming_its_flags() {
        for name in STEP_BINARIES {
            let command = step_command(name).expect("a step binary");
            let pages = man_pages(command.clone()).expect("rendered");
            assert_eq!(pages.len(), 1, "{name}");
            assert_eq!(pages[0].file_name, format!("{name}.1"));
            let roff = String::from_utf8(pages[0].roff.clone()).expect("UTF-8");
            assert!(roff.starts_with(".ie \\n(.g .ds Aq"), "{roff}");
            assert!(roff.contains(&format!(".TH {name} 1")), "{roff}");
            for argument in command.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = argument.get_long() {
                    // roff escapes each `-` of a flag as `\-`.
                    let escaped = format!("\\-\\-{}", long.replace('-', "\\-"));
                    assert!(roff.contains(&escaped), "{name}: --{long} missing");
                }
            }
        }
    }

    #[test]
    fn subcommands_get_pages_named_after_their_parent() {
        let command = clap::Command::new("tool")
            .subcommand(clap::Command::new("one").subcommand(clap::Command::new("deep")))
            .subcommand(clap::Command::new("two"))
            .subcommand(clap::Command::new("secret").hide(true));
        let names: Vec<String> = man_pages(command)
            .expect("rendered")
            .into_iter()
            .map(|page| page.file_name)
            .collect();
        assert_eq!(
            names,
            ["tool.1", "tool-one.1", "tool-one-deep.1", "tool-two.1"]
        );
    }

    #[test]
    fn bash_completions_define_a_function_for_the_binary() {
        let command = step_command("octoshare-wait").expect("a step binary");
        let script = String::from_utf8(completions(command, Shell::Bash)).expect("UTF-8");
        assert!(
            script.contains("complete -F _octoshare__wait") && script.contains("--count"),
            "{script}"
        );
    }
}
