//! `cargo xtask unused-deps`: every dependency a workspace package declares is used by it.
//!
//! The rules, from `cargo metadata` and a scan of each package's Rust sources:
//! - a `[dependencies]` entry is named in `src/` (the library and binaries); one named only by
//!   tests, benches or examples belongs in `[dev-dependencies]`;
//! - a `[dev-dependencies]` entry is named somewhere in the package (tests included);
//! - a `[build-dependencies]` entry is named in `build.rs`;
//! - every `[workspace.dependencies]` entry is used by some member.
//!
//! "Named" means the crate's name in code (the library target's name, or the `package = …`
//! rename) appears as a path root (`name::…`), in `use name` or in `extern crate name`, outside
//! comments and string literals but inside the code blocks of doc comments (doctests build
//! with the package's dependencies). Files pulled in with `#[path = "…"]` count for the package
//! that includes them. A dependency needed for another reason (a feature it turns on, say) is
//! listed in the package's `[package.metadata.cargo-machete] ignored = ["name"]`, the key
//! cargo-machete reads too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

/// Where in a package a source file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// `src/`: the library and binaries.
    Src,
    /// `build.rs`.
    Build,
    /// Everything else: `tests/`, `benches/`, `examples/`.
    Dev,
}

/// A dependency as one package declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The key in the manifest (the package name, or the rename).
    pub key: String,
    /// The name code uses for it.
    pub crate_name: String,
    /// The manifest section.
    pub section: Section,
}

/// A dependency section of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

impl Section {
    fn table(self) -> &'static str {
        match self {
            Section::Normal => "[dependencies]",
            Section::Dev => "[dev-dependencies]",
            Section::Build => "[build-dependencies]",
        }
    }
}

/// Runs the check over the workspace at `root`; fails listing every problem.
pub fn check(root: &Path) -> anyhow::Result<()> {
    let problems = find_problems(root)?;
    if problems.is_empty() {
        println!("every declared dependency is used");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!(
        "{} unused or misplaced dependenc{} (listed above): remove or move them",
        problems.len(),
        if problems.len() == 1 { "y" } else { "ies" }
    )
}

/// Every problem in the workspace at `root`, one line each.
pub fn find_problems(root: &Path) -> anyhow::Result<Vec<String>> {
    let metadata = cargo_metadata(root)?;
    let lib_names = library_names(&metadata);
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .context("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut problems = Vec::new();
    let mut used_by_members = BTreeSet::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if !package["id"]
            .as_str()
            .is_some_and(|id| members.contains(id))
        {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().context("a manifest has a folder")?;
        let declared = declared_dependencies(package, &lib_names);
        used_by_members.extend(
            package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|dependency| {
                    // A renamed dependency (`webpki = { package = "rustls-webpki" }`) is keyed by
                    // its rename in `[workspace.dependencies]`.
                    [dependency["name"].as_str(), dependency["rename"].as_str()]
                })
                .flatten()
                .map(str::to_owned),
        );
        let ignored: BTreeSet<&str> = package["metadata"]["cargo-machete"]["ignored"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let sources = package_sources(dir)?;
        let relative_manifest = manifest
            .strip_prefix(root)
            .unwrap_or(&manifest)
            .display()
            .to_string();
        for dependency in declared {
            if ignored.contains(dependency.key.as_str()) {
                continue;
            }
            let parts: BTreeSet<Part> = sources
                .iter()
                .filter(|(_, code)| names_crate(code, &dependency.crate_name))
                .map(|(part, _)| *part)
                .collect();
            if let Some(problem) = judge(&dependency, &parts) {
                problems.push(format!("{name} ({relative_manifest}): {problem}"));
            }
        }
    }
    for key in workspace_dependency_keys(&root.join("Cargo.toml"))? {
        if !used_by_members.contains(&key) {
            problems.push(format!(
                "Cargo.toml: [workspace.dependencies] `{key}` is used by no member: remove it"
            ));
        }
    }
    Ok(problems)
}

/// What is wrong with `dependency`, given the parts of the package whose code names it.
pub fn judge(dependency: &Declared, parts: &BTreeSet<Part>) -> Option<String> {
    let key = &dependency.key;
    let table = dependency.section.table();
    match dependency.section {
        Section::Normal if parts.contains(&Part::Src) => None,
        Section::Normal if parts.contains(&Part::Dev) => Some(format!(
            "`{key}` is used only by tests, benches or examples: move it from {table} to [dev-dependencies]"
        )),
        Section::Build if parts.contains(&Part::Build) => None,
        Section::Dev if !parts.is_empty() => None,
        _ => Some(format!("`{key}` in {table} is never used: remove it")),
    }
}

fn cargo_metadata(root: &Path) -> anyhow::Result<Value> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("parsing cargo metadata")
}

/// Package name → the name of its library target as code writes it.
fn library_names(metadata: &Value) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        let library = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|target| {
                target["kind"].as_array().into_iter().flatten().any(|kind| {
                    matches!(
                        kind.as_str(),
                        Some("lib" | "rlib" | "dylib" | "proc-macro" | "cdylib" | "staticlib")
                    )
                })
            })
            .and_then(|target| target["name"].as_str());
        names.insert(name.to_owned(), library.unwrap_or(name).replace('-', "_"));
    }
    names
}

fn declared_dependencies(package: &Value, lib_names: &BTreeMap<String, String>) -> Vec<Declared> {
    package["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|dependency| {
            let name = dependency["name"].as_str()?;
            let rename = dependency["rename"].as_str();
            let section = match dependency["kind"].as_str() {
                Some("dev") => Section::Dev,
                Some("build") => Section::Build,
                _ => Section::Normal,
            };
            let crate_name = match rename {
                Some(rename) => rename.replace('-', "_"),
                None => lib_names
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| name.replace('-', "_")),
            };
            Some(Declared {
                key: rename.unwrap_or(name).to_owned(),
                crate_name,
                section,
            })
        })
        .collect()
}

/// The `[workspace.dependencies]` keys of the root manifest.
fn workspace_dependency_keys(manifest: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let mut keys = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[workspace.dependencies]";
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            keys.push(key.trim().trim_matches('"').to_owned());
        }
    }
    Ok(keys)
}

/// The package's Rust sources (cleaned of comments and strings) with the part each is in,
/// following `#[path = "…"]` to files outside the package.
fn package_sources(dir: &Path) -> anyhow::Result<Vec<(Part, String)>> {
    let mut files = Vec::new();
    collect_rs_files(dir, dir, &mut files)?;
    let mut seen: BTreeSet<PathBuf> = files.iter().map(|(_, path)| path.clone()).collect();
    let mut sources = Vec::new();
    while let Some((part, path)) = files.pop() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for included in path_attributes(&text) {
            let included = path.parent().unwrap_or(dir).join(included);
            let included = included.canonicalize().unwrap_or(included);
            if included.is_file() && seen.insert(included.clone()) {
                files.push((part, included));
            }
        }
        sources.push((part, code_of(&text)));
    }
    Ok(sources)
}

fn collect_rs_files(
    package_dir: &Path,
    dir: &Path,
    files: &mut Vec<(Part, PathBuf)>,
) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            let nested_package = dir != package_dir && path.join("Cargo.toml").is_file();
            if name != "target" && name != "node_modules" && name != ".git" && !nested_package {
                collect_rs_files(package_dir, &path, files)?;
            }
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let relative = path.strip_prefix(package_dir).unwrap_or(&path);
            let part = match relative.components().next() {
                Some(first) if first.as_os_str() == "src" => Part::Src,
                Some(first) if first.as_os_str() == "build.rs" => Part::Build,
                _ => Part::Dev,
            };
            let path = path.canonicalize().unwrap_or(path);
            files.push((part, path));
        }
    }
    Ok(())
}

/// The targets of the `#[path = "…"]` attributes in `text`.
fn path_attributes(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("#[path") {
        rest = &rest[start + "#[path".len()..];
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(value) = value.trim_start().strip_prefix('"') else {
            continue;
        };
        if let Some((path, _)) = value.split_once('"') {
            paths.push(path.to_owned());
        }
    }
    paths
}

/// `text` with comments and string and character literals blanked out, except the code blocks
/// of doc comments, which are kept as code.
pub fn code_of(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_doc_fence = false;
    let starts = |i: usize, pattern: &str| {
        pattern
            .chars()
            .enumerate()
            .all(|(offset, c)| chars.get(i + offset) == Some(&c))
    };
    while i < chars.len() {
        if starts(i, "//") {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |offset| i + offset);
            let line: String = chars[i..end].iter().collect();
            let doc = line
                .strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"));
            if let Some(doc) = doc {
                if doc.trim_start().starts_with("```") {
                    in_doc_fence = !in_doc_fence;
                } else if in_doc_fence {
                    let doc = doc.trim_start();
                    // A doctest's hidden lines start with `# `.
                    code.push_str(doc.strip_prefix("# ").unwrap_or(doc));
                }
            }
            code.push(' ');
            i = end;
        } else if starts(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if starts(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if starts(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            code.push(' ');
        } else if chars[i] == '"'
            || (!is_ident_char(i.checked_sub(1).map(|j| chars[j]))
                && ((chars[i] == 'b' && chars.get(i + 1) == Some(&'"'))
                    || (chars[i] == 'r' && matches!(chars.get(i + 1), Some('"' | '#')))
                    || (starts(i, "br") && matches!(chars.get(i + 2), Some('"' | '#')))))
        {
            i = skip_string(&chars, i);
            code.push_str("\"\"");
        } else if chars[i] == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a), kept.
            let close = if chars.get(i + 1) == Some(&'\\') {
                chars
                    .get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&c| c == '\''))
                    .map(|offset| i + 3 + offset)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(close) => {
                    code.push_str("' '");
                    i = close + 1;
                }
                None => {
                    code.push('\'');
                    i += 1;
                }
            }
        } else {
            code.push(chars[i]);
            i += 1;
        }
    }
    code
}

/// The index after the string literal starting at `start` (`"…"`, `b"…"`, `r#"…"#`, `br"…"`).
fn skip_string(chars: &[char], start: usize) -> usize {
    let mut i = start;
    if chars[i] == 'b' {
        i += 1;
    }
    if chars.get(i) == Some(&'r') {
        i += 1;
        let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
        i += hashes + 1; // the opening quote
        while i < chars.len() {
            if chars[i] == '"'
                && chars[i + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|&&c| c == '#')
                    .count()
                    == hashes
            {
                return i + 1 + hashes;
            }
            i += 1;
        }
        return chars.len();
    }
    i += 1; // the opening quote
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

fn is_ident_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Whether `code` (cleaned by [`code_of`]) names crate `name`: `name::`, `use name` or
/// `extern crate name`.
pub fn names_crate(code: &str, name: &str) -> bool {
    let mut from = 0;
    while let Some(offset) = code[from..].find(name) {
        let start = from + offset;
        let end = start + name.len();
        from = end;
        let before = code[..start].chars().next_back();
        let after = code[end..].chars().next();
        if is_ident_char(before) || is_ident_char(after) {
            continue;
        }
        if code[end..].trim_start().starts_with("::") {
            // Not the tail of a longer path (`crate::name::`, `self::name::`).
            let preceding = code[..start].trim_end();
            if !preceding.ends_with("::") || preceding.ends_with(" ::") || preceding == "::" {
                return true;
            }
            continue;
        }
        let preceding = code[..start].trim_end();
        let word_before = preceding
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        if matches!(word_before, "use" | "crate") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_of_blanks_comments_and_strings_but_keeps_doctest_code() {
        let text = r##"
use serde::Serialize; // uses tokio::spawn
/* block tokio::x /* nested */ still */
let s = "glob::Pattern";
let r = r#"futures::x "quoted""#;
let c = '"'; let q = '\''; let b = '\\'; let l: &'static str = "";
/// prose mentioning tracing::info
/// ```
/// # use base64::Engine;
/// let x = flate2::Compression::best();
/// ```
fn f() {}
"##;
        let code = code_of(text);
        for kept in [
            "serde::Serialize",
            "base64::Engine",
            "flate2::Compression",
            "'static",
        ] {
            assert!(code.contains(kept), "{kept} missing from:\n{code}");
        }
        for dropped in ["tokio", "glob", "futures", "tracing", "quoted", "nested"] {
            assert!(!code.contains(dropped), "{dropped} kept in:\n{code}");
        }
    }

    #[test]
    fn names_crate_needs_a_path_root_a_use_or_an_extern_crate() {
        assert!(names_crate("use glob::Pattern;", "glob"));
        assert!(names_crate("let x = glob ::Pattern::new(p);", "glob"));
        assert!(names_crate("#[tokio::main] async fn main() {}", "tokio"));
        assert!(names_crate("use futures;", "futures"));
        assert!(names_crate("pub use {a, b}; extern crate serde;", "serde"));
        assert!(names_crate("let x = ::serde::de::IgnoredAny;", "serde"));
        assert!(names_crate("f(serde_json::json!({}))", "serde_json"));
        assert!(!names_crate("use serde_json::Value;", "serde"));
        assert!(!names_crate("let glob = 1; glob + 1", "glob"));
        assert!(!names_crate("use crate::glob::Pattern;", "glob"));
        assert!(!names_crate("let globs = my_glob::x;", "glob"));
    }

    fn declared(section: Section) -> Declared {
        Declared {
            key: "futures".to_owned(),
            crate_name: "futures".to_owned(),
            section,
        }
    }

    #[test]
    fn judge_sends_test_only_dependencies_to_dev_and_flags_unused_ones() {
        let parts = |list: &[Part]| list.iter().copied().collect::<BTreeSet<Part>>();
        assert_eq!(
            judge(&declared(Section::Normal), &parts(&[Part::Src, Part::Dev])),
            None
        );
        assert_eq!(
            judge(&declared(Section::Normal), &parts(&[Part::Dev])).unwrap(),
            "`futures` is used only by tests, benches or examples: move it from [dependencies] to [dev-dependencies]"
        );
        assert_eq!(
            judge(&declared(Section::Normal), &parts(&[])).unwrap(),
            "`futures` in [dependencies] is never used: remove it"
        );
        assert_eq!(judge(&declared(Section::Dev), &parts(&[Part::Src])), None);
        assert_eq!(
            judge(&declared(Section::Dev), &parts(&[])).unwrap(),
            "`futures` in [dev-dependencies] is never used: remove it"
        );
        assert_eq!(
            judge(&declared(Section::Build), &parts(&[Part::Build])),
            None
        );
        assert!(judge(&declared(Section::Build), &parts(&[Part::Src])).is_some());
    }
}
