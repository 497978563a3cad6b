//! Project automation behind `cargo xtask`: `codegen` writes the committed files under
//! `step-templates/` and the JSON schemas under `docs/schemas/`, `dist` builds and packages the
//! release binaries, `library-check` runs the Octopus Library's checks on a folder of step
//! templates, `ci` is the whole test command, `tools` installs the external tools the tests use,
//! `deps` checks that every declared dependency is used.

use std::path::{Path, PathBuf};

pub mod ci;
pub mod codegen;
pub mod deps;
pub mod dist;
pub mod library_check;
pub mod schemas;
pub mod timestamp;
pub mod tools;

/// The workspace root (the parent of this package's directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
