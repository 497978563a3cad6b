//! `cargo xtask dist`'s packaging and glibc check, on small stand-in binaries (the real build
//! needs cargo-zigbuild and every binary crate).

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use flate2::read::GzDecoder;
use xtask::dist::{GlibcVersion, check_glibc, glibc_symbols_newer_than, package, write_checksums};

/// objdump (binutils) is there: found, or, under `CI=true`, required.
fn objdump_available() -> bool {
    octoshare_test_support::tools::require("objdump").is_some()
}

#[test]
fn package_holds_the_binaries_under_bin_with_mode_755() {
    let dir = tempfile::tempdir().unwrap();
    let mut binaries = Vec::new();
    for name in ["octoshare", "octoshare-wait"] {
        let path = dir.path().join(name);
        fs::write(&path, format!("binary {name}")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        binaries.push(path);
    }
    let dist = dir.path().join("dist");
    let archive = package(&binaries, &dist, "1.2.3", 1_700_000_000).unwrap();
    assert_eq!(archive, dist.join("octoshare.1.2.3.tar.gz"));

    let mut entries = Vec::new();
    let mut reader = tar::Archive::new(GzDecoder::new(fs::File::open(&archive).unwrap()));
    for entry in reader.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut contents = String::new();
        entry.read_to_string(&mut contents).unwrap();
        let header = entry.header();
        entries.push((
            entry.path().unwrap().to_string_lossy().into_owned(),
            header.mode().unwrap(),
            header.mtime().unwrap(),
            contents,
        ));
    }
    assert_eq!(
        entries,
        [
            ("bin/".to_owned(), 0o755, 1_700_000_000, String::new()),
            (
                "bin/octoshare".to_owned(),
                0o755,
                1_700_000_000,
                "binary octoshare".to_owned()
            ),
            (
                "bin/octoshare-wait".to_owned(),
                0o755,
                1_700_000_000,
                "binary octoshare-wait".to_owned()
            ),
        ]
    );
}

#[test]
fn package_refuses_a_version_octopus_cannot_parse() {
    let dir = tempfile::tempdir().unwrap();
    let error = package(&[], dir.path(), "1.2", 0).unwrap_err();
    assert!(
        error.to_string().contains("not MAJOR.MINOR.PATCH"),
        "{error}"
    );
}

#[test]
fn checksums_are_in_sha256sum_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("octoshare.0.1.0.tar.gz");
    fs::write(&file, b"abc").unwrap();
    write_checksums(dir.path(), &[file.as_path()]).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  octoshare.0.1.0.tar.gz\n"
    );
}

#[test]
fn glibc_check_names_symbols_newer_than_the_limit() {
    if !objdump_available() {
        return;
    }
    let binary = Path::new("/bin/true");
    let ancient = GlibcVersion { major: 2, minor: 0 };
    let too_new = glibc_symbols_newer_than(binary, ancient).unwrap();
    assert!(
        !too_new.is_empty(),
        "/bin/true needs no glibc symbol at all?"
    );
    let error = check_glibc(binary, ancient).unwrap_err().to_string();
    assert!(
        error.starts_with("/bin/true needs a glibc newer than 2.0: "),
        "{error}"
    );
    assert!(error.contains(&format!(
        "{}@GLIBC_{}",
        too_new[0].symbol, too_new[0].version
    )));

    let future = GlibcVersion {
        major: 99,
        minor: 0,
    };
    assert!(glibc_symbols_newer_than(binary, future).unwrap().is_empty());
    check_glibc(binary, future).unwrap();
}

#[test]
fn glibc_check_accepts_files_without_dynamic_symbols_and_reports_missing_binaries() {
    if !objdump_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("octoshare");
    let error = check_glibc(&missing, xtask::dist::MAX_GLIBC).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} was not built", missing.display())
    );
}
