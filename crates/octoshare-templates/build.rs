//! Embeds the release pin's two sources — `templates/codegen.json` (the release URL pattern) and
//! `release/SHA256SUMS` (absent until a release of this version is recorded) — so that
//! `octoshare user-data` renders the bootstrap script with the same pin `cargo xtask codegen`
//! gives the committed files and the step templates.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let codegen = root.join("templates/codegen.json");
    let sums = root.join("release/SHA256SUMS");
    println!("cargo:rerun-if-changed={}", codegen.display());
    println!("cargo:rerun-if-changed={}", sums.display());
    println!("cargo:rerun-if-changed={}", root.join("release").display());
    let codegen_text = std::fs::read_to_string(&codegen)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", codegen.display()));
    let sums_text = std::fs::read_to_string(&sums).unwrap_or_default();
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("release_pin.rs");
    let source = format!(
        "/// `templates/codegen.json` at build time.\npub(crate) const CODEGEN_JSON: &str = {codegen_text:?};\n/// `release/SHA256SUMS` at build time (empty when absent).\npub(crate) const SHA256SUMS: &str = {sums_text:?};\n"
    );
    std::fs::write(&out, source)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", out.display()));
}
