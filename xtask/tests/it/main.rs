//! Integration tests of `cargo xtask`: the generated step templates (validated as the Octopus
//! Library would, and stricter), their scripts run against a fake binary, codegen's versioning,
//! and dist's packaging and glibc check.

mod cargo_install;
mod codegen;
mod deps;
mod dist;
mod library_check;
mod octostache;
mod script_lint;
#[path = "../../../crates/octoshare-templates/tests/it/shell_lint.rs"]
mod shell_lint;
mod step_script_download;
mod step_script_run;
mod step_template_validation;
mod template_argv;
mod workflow_lint;

use std::path::PathBuf;

/// `step-templates/` of this repository.
pub fn committed_step_templates() -> PathBuf {
    xtask::project_root().join(xtask::codegen::OUTPUT_DIR)
}

/// The committed JSON of each step template, as `(file name, text)`, sorted by file name.
pub fn committed_templates() -> Vec<(String, String)> {
    let mut templates: Vec<(String, String)> = std::fs::read_dir(committed_step_templates())
        .expect("step-templates/ exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    templates.sort();
    templates
}
