//! `cargo xtask unused-deps` on a small workspace made for the test: every kind of problem is
//! reported, and what is used is not.

use std::fs;
use std::path::Path;
use std::process::Command;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn library(root: &Path, name: &str) {
    write(
        &root.join(name).join("Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
    );
    write(&root.join(name).join("src/lib.rs"), "//! A library.\n");
}

#[test]
fn unused_and_test_only_dependencies_are_reported_and_used_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        r#"[workspace]
members = ["app"]
resolver = "3"

[workspace.dependencies]
used-lib = { path = "used-lib" }
renamed-lib = { path = "renamed-lib" }
test-only = { path = "test-only" }
never-used = { path = "never-used" }
dev-unused = { path = "dev-unused" }
ignored-lib = { path = "ignored-lib" }
nobody = { path = "nobody" }
"#,
    );
    for name in [
        "used-lib",
        "renamed-lib",
        "test-only",
        "never-used",
        "dev-unused",
        "ignored-lib",
        "nobody",
    ] {
        library(root, name);
    }
    write(
        &root.join("app/Cargo.toml"),
        r#"[package]
name = "app"
version = "0.1.0"
edition = "2024"

[dependencies]
used-lib.workspace = true
other = { path = "../renamed-lib", package = "renamed-lib" }
test-only.workspace = true
never-used.workspace = true
ignored-lib.workspace = true

[dev-dependencies]
dev-unused.workspace = true

[package.metadata.cargo-machete]
ignored = ["ignored-lib"]
"#,
    );
    write(
        &root.join("app/src/lib.rs"),
        "//! Uses `never_used::x` only in prose.\nuse used_lib as _;\npub fn f() { let _ = other::X; let _ = \"never_used::y\"; }\n",
    );
    write(
        &root.join("app/tests/it.rs"),
        "//! A test.\n#[test]\nfn t() { let _ = test_only::X; }\n",
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());

    let problems = xtask::deps::find_problems(root).unwrap();
    assert_eq!(
        problems,
        [
            "app (app/Cargo.toml): `never-used` in [dependencies] is never used: remove it",
            "app (app/Cargo.toml): `test-only` is used only by tests, benches or examples: move it from [dependencies] to [dev-dependencies]",
            "app (app/Cargo.toml): `dev-unused` in [dev-dependencies] is never used: remove it",
            "Cargo.toml: [workspace.dependencies] `nobody` is used by no member: remove it",
        ]
    );
}
