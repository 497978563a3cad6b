//! `cargo xtask codegen` (with `--check`): the JSON Schema of every JSON document the binaries
//! print, generated from the documents' types (`octoshare_cli::json`), one file per document
//! under `docs/schemas/`. A stale or orphaned schema fails `--check`.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::codegen::Mode;

/// The folder, relative to the workspace root, holding the schemas.
pub const SCHEMA_DIR: &str = "docs/schemas";

/// Every schema file: `<document>.schema.json` and its contents (pretty, 2-space indent, one
/// trailing newline).
pub fn schema_files() -> anyhow::Result<Vec<(String, String)>> {
    octoshare_cli::json::schemas()
        .into_iter()
        .map(|(name, schema)| {
            let mut text = serde_json::to_string_pretty(&schema)
                .with_context(|| format!("serialising the schema of {name}"))?;
            text.push('\n');
            Ok((format!("{name}.schema.json"), text))
        })
        .collect()
}

/// Writes (or, in [`Mode::Check`], verifies) every schema under `<root>/docs/schemas/`; returns
/// the stale files (relative to `root`). In [`Mode::Check`] any stale file is an error naming
/// all of them.
pub fn generate(mode: Mode, root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join(SCHEMA_DIR);
    let files = schema_files()?;
    let mut stale = Vec::new();
    for (name, contents) in &files {
        let path = dir.join(name);
        let current = match fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", path.display()));
            }
        };
        if current.as_deref() == Some(contents.as_str()) {
            continue;
        }
        if mode == Mode::Overwrite {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        }
        stale.push(format!("{SCHEMA_DIR}/{name}"));
    }
    let generated: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    if let Ok(entries) = fs::read_dir(&dir) {
        let mut orphans: Vec<String> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".schema.json") && !generated.contains(name.as_str()))
            .collect();
        orphans.sort();
        for orphan in orphans {
            if mode == Mode::Overwrite {
                fs::remove_file(dir.join(&orphan))
                    .with_context(|| format!("removing {SCHEMA_DIR}/{orphan}"))?;
            }
            stale.push(format!("{SCHEMA_DIR}/{orphan} (no longer generated)"));
        }
    }
    if mode == Mode::Check && !stale.is_empty() {
        bail!(
            "{} JSON schema(s) are stale; run `cargo xtask codegen` and commit the result:\n  {}",
            stale.len(),
            stale.join("\n  ")
        );
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test` fails when a committed schema does not match the documents' types.
    #[test]
    fn committed_schemas_are_fresh() {
        if let Err(error) = generate(Mode::Check, &crate::project_root()) {
            panic!("{error:#}");
        }
    }

    #[test]
    fn a_changed_or_orphaned_schema_is_stale_and_rewritten() {
        let root = tempfile::tempdir().unwrap();
        let written = generate(Mode::Overwrite, root.path()).unwrap();
        assert_eq!(written.len(), schema_files().unwrap().len());
        generate(Mode::Check, root.path()).unwrap();
        let dir = root.path().join(SCHEMA_DIR);
        fs::write(dir.join("octoshare-wait.schema.json"), "{}\n").unwrap();
        fs::write(dir.join("old.schema.json"), "{}\n").unwrap();
        let error = generate(Mode::Check, root.path()).unwrap_err().to_string();
        assert!(
            error.contains("docs/schemas/octoshare-wait.schema.json"),
            "{error}"
        );
        assert!(
            error.contains("old.schema.json (no longer generated)"),
            "{error}"
        );
        assert_eq!(generate(Mode::Overwrite, root.path()).unwrap().len(), 2);
        generate(Mode::Check, root.path()).unwrap();
        assert!(!dir.join("old.schema.json").exists());
    }
}
