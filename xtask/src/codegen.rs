//! `cargo xtask codegen`: writes (or, with `--check`, verifies) every generated file under
//! `step-templates/`: the two static formats of the worker bootstrap script and one step template
//! per step binary plus one for `octoshare run`.
//!
//! A step template's `Version` and `$Meta.ExportedAt` change only when its content changes: the
//! template is first rendered with the committed file's `Version` and `ExportedAt`; if that is
//! byte-identical to the committed file nothing is written, otherwise `Version` is bumped and
//! `ExportedAt` set to now. Running codegen twice therefore never bumps anything.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context as _, bail};
pub use octoshare_templates::step_templates::pinned_sha256;
use octoshare_templates::step_templates::{CodegenConfig, release_archive_name, release_pin};
use octoshare_templates::{StepTemplate, generated_bootstrap_files, step_templates};
use serde::Deserialize;

/// The folder, relative to the workspace root, holding every generated file.
pub const OUTPUT_DIR: &str = "step-templates";
/// Codegen's configuration (`LastModifiedBy`, the release URL pattern), relative to the root.
pub const CONFIG_FILE: &str = "templates/codegen.json";
/// The recorded `SHA256SUMS` of the release of the workspace version, relative to the root.
pub const PIN_FILE: &str = "release/SHA256SUMS";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ConfigFile {
    last_modified_by: String,
    release_url: String,
}

/// The configuration codegen renders the templates with: [`CONFIG_FILE`] plus the release pin of
/// `version` from [`PIN_FILE`] (none when that file is missing or names no archive of `version`).
pub fn config(root: &Path, version: &str) -> anyhow::Result<CodegenConfig> {
    let path = root.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: ConfigFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.last_modified_by.trim().is_empty() {
        bail!("{CONFIG_FILE}: LastModifiedBy is empty: set the GitHub user name of the maintainer");
    }
    let pins = read_if_exists(&root.join(PIN_FILE))?.unwrap_or_default();
    let release = release_pin(&file.release_url, &pins, version)?;
    Ok(CodegenConfig {
        last_modified_by: file.last_modified_by,
        release,
    })
}

/// `cargo xtask pin-release SUMS`: records the `SHA256SUMS` of the release of the workspace
/// version (which must list its release archive) in [`PIN_FILE`], then regenerates.
pub fn pin_release(
    root: &Path,
    sums_path: &Path,
    version: &str,
    now: &str,
) -> anyhow::Result<String> {
    let sums = fs::read_to_string(sums_path)
        .with_context(|| format!("reading {}", sums_path.display()))?;
    let archive = release_archive_name(version);
    let Some(sha256) = pinned_sha256(&sums, &archive)? else {
        bail!(
            "{} lists no {archive}: pin the SHA256SUMS of the octoshare {version} release",
            sums_path.display()
        );
    };
    let pin = root.join(PIN_FILE);
    if let Some(parent) = pin.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    fs::write(&pin, &sums).with_context(|| format!("writing {}", pin.display()))?;
    generate(Mode::Overwrite, root, now)?;
    Ok(sha256)
}

/// What [`generate`] does with a file whose contents differ from the generated ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the generated contents (and remove files codegen no longer generates).
    Overwrite,
    /// Change nothing; fail listing every stale file.
    Check,
}

/// Generates every file under `<root>/step-templates/`. `now` is the `$Meta.ExportedAt` given to
/// step templates whose content changed.
///
/// Returns the stale files (relative to `root`), which [`Mode::Overwrite`] has rewritten or
/// removed. In [`Mode::Check`] any stale file is an error naming all of them.
pub fn generate(mode: Mode, root: &Path, now: &str) -> anyhow::Result<Vec<String>> {
    let output_dir = root.join(OUTPUT_DIR);
    let config = config(root, env!("CARGO_PKG_VERSION"))?;
    let mut files: Vec<(String, String)> = generated_bootstrap_files(&config.release)?
        .into_iter()
        .map(|(name, contents)| (name.to_owned(), contents))
        .collect();
    for template in step_templates(&config)? {
        let path = output_dir.join(&template.file_name);
        let committed = read_if_exists(&path)?;
        let contents = versioned_json(&template, committed.as_deref(), now)?;
        files.push((template.file_name, contents));
    }

    let mut stale = Vec::new();
    for (name, contents) in &files {
        if ensure_file_contents(mode, &output_dir.join(name), contents)? {
            stale.push(format!("{OUTPUT_DIR}/{name}"));
        }
    }
    let generated: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    for orphan in orphans(&output_dir, &generated)? {
        if mode == Mode::Overwrite {
            fs::remove_file(output_dir.join(&orphan))
                .with_context(|| format!("removing {OUTPUT_DIR}/{orphan}"))?;
        }
        stale.push(format!("{OUTPUT_DIR}/{orphan} (no longer generated)"));
    }

    if mode == Mode::Check && !stale.is_empty() {
        bail!(
            "{} generated file(s) are stale; run `cargo xtask codegen` and commit the result:\n  {}",
            stale.len(),
            stale.join("\n  ")
        );
    }
    Ok(stale)
}

/// The template's JSON with the committed `Version`/`ExportedAt` when the content is unchanged,
/// otherwise with `Version` bumped (1 for a new template) and `ExportedAt` = `now`.
fn versioned_json(
    template: &StepTemplate,
    committed: Option<&str>,
    now: &str,
) -> anyhow::Result<String> {
    let Some(committed) = committed else {
        return template.to_json(1, now);
    };
    let (version, exported_at) = committed_version(committed);
    let Some(version) = version else {
        // Unreadable: start again rather than guess.
        return template.to_json(1, now);
    };
    if let Some(exported_at) = exported_at {
        let unchanged = template.to_json(version, &exported_at)?;
        if unchanged == committed {
            return Ok(unchanged);
        }
    }
    template.to_json(version + 1, now)
}

/// `Version` and `$Meta.ExportedAt` of a committed template, where readable.
fn committed_version(committed: &str) -> (Option<u64>, Option<String>) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(committed) else {
        return (None, None);
    };
    let version = json.get("Version").and_then(serde_json::Value::as_u64);
    let exported_at = json
        .get("$Meta")
        .and_then(|meta| meta.get("ExportedAt"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    (version, exported_at)
}

/// Makes `path` hold `contents` (in [`Mode::Overwrite`]); returns whether it did not already.
fn ensure_file_contents(mode: Mode, path: &Path, contents: &str) -> anyhow::Result<bool> {
    if read_if_exists(path)?.as_deref() == Some(contents) {
        return Ok(false);
    }
    if mode == Mode::Overwrite {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(true)
}

fn read_if_exists(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read(path) {
        // Not valid UTF-8 (or with a BOM): simply stale, it will be rewritten.
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Files in the output folder that codegen does not generate, sorted.
fn orphans(output_dir: &Path, generated: &BTreeSet<&str>) -> anyhow::Result<Vec<String>> {
    let entries = match fs::read_dir(output_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("listing {}", output_dir.display()));
        }
    };
    let mut orphans = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", output_dir.display()))?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if !generated.contains(name.as_str()) {
            orphans.push(name);
        }
    }
    orphans.sort();
    Ok(orphans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use octoshare_templates::step_templates::ReleasePin;

    fn test_config() -> CodegenConfig {
        CodegenConfig {
            last_modified_by: "someone".to_owned(),
            release: ReleasePin {
                version: "1.2.3".to_owned(),
                url: "https://example.com/octoshare.tar.gz".to_owned(),
                sha256: None,
            },
        }
    }

    fn step_templates() -> anyhow::Result<Vec<StepTemplate>> {
        octoshare_templates::step_templates(&test_config())
    }

    #[test]
    fn pins_are_read_from_sha256sum_lines_and_checked() {
        let archive = release_archive_name("1.2.3");
        let digest = "ab".repeat(32);
        let sums = format!(
            "{}  octoshare.1.2.3.tar.gz\n{digest}  {archive}\n",
            "cd".repeat(32)
        );
        assert_eq!(pinned_sha256(&sums, &archive).unwrap(), Some(digest));
        assert_eq!(
            pinned_sha256(&sums, &release_archive_name("1.2.4")).unwrap(),
            None
        );
        let bad = format!("ABC  {archive}\n");
        assert!(pinned_sha256(&bad, &archive).is_err());
    }

    /// rust-analyzer's pattern: `cargo test` fails when the committed files are stale.
    #[test]
    fn committed_step_templates_are_fresh() {
        let now = crate::timestamp::export_timestamp(std::time::SystemTime::now());
        if let Err(error) = generate(Mode::Check, &crate::project_root(), &now) {
            panic!("{error:#}");
        }
    }

    #[test]
    fn unchanged_content_keeps_version_and_export_time() {
        let template = step_templates().unwrap().remove(0);
        let committed = template.to_json(7, "2026-01-01T00:00:00.000Z").unwrap();
        let json = versioned_json(&template, Some(&committed), "2027-01-01T00:00:00.000Z").unwrap();
        assert_eq!(json, committed);
    }

    #[test]
    fn changed_content_bumps_version_and_export_time() {
        let template = step_templates().unwrap().remove(0);
        let committed = template
            .to_json(7, "2026-01-01T00:00:00.000Z")
            .unwrap()
            .replace(template.name, "Old name");
        let json = versioned_json(&template, Some(&committed), "2027-01-01T00:00:00.000Z").unwrap();
        assert_eq!(
            json,
            template.to_json(8, "2027-01-01T00:00:00.000Z").unwrap()
        );
    }

    #[test]
    fn new_templates_start_at_version_1() {
        let template = step_templates().unwrap().remove(0);
        let json = versioned_json(&template, None, "2027-01-01T00:00:00.000Z").unwrap();
        assert_eq!(
            json,
            template.to_json(1, "2027-01-01T00:00:00.000Z").unwrap()
        );
    }
}
