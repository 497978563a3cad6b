//! `cargo xtask dist`'s packaging and glibc check, on small stand-in binaries (the real build
//! needs cargo-zigbuild and every binary crate).

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use flate2::read::GzDecoder;
use xtask::dist::{
    ArchiveEntry, DOCUMENT_FILES, GlibcVersion, check_glibc, check_no_build_paths,
    glibc_symbols_newer_than, package, package_all, release_archive, sha256_hex, write_checksums,
};

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
fn checksums_are_in_sha256sum_format_sorted_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("octoshare.0.1.0.tar.gz");
    fs::write(&file, b"abc").unwrap();
    let other = dir
        .path()
        .join("octoshare-0.1.0-x86_64-unknown-linux-gnu.tar.gz");
    fs::write(&other, b"").unwrap();
    let path = write_checksums(dir.path(), &[file.as_path(), other.as_path()]).unwrap();
    assert_eq!(
        fs::read_to_string(path).unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  octoshare-0.1.0-x86_64-unknown-linux-gnu.tar.gz\n\
         ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  octoshare.0.1.0.tar.gz\n"
    );
}

/// Every entry of a .tar.gz: path, mode, uid, gid, user name, mtime and contents.
type Listing = Vec<(String, u32, u64, u64, String, u64, Vec<u8>)>;

fn list(archive: &Path) -> Listing {
    let mut reader = tar::Archive::new(GzDecoder::new(fs::File::open(archive).unwrap()));
    reader
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).unwrap();
            let header = entry.header();
            (
                entry.path().unwrap().to_string_lossy().into_owned(),
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                header.username().unwrap().unwrap_or_default().to_owned(),
                header.mtime().unwrap(),
                contents,
            )
        })
        .collect()
}

/// A stand-in `octoshare` answering `completions --binary NAME SHELL` and `man-pages --out-dir
/// DIR` the way the real one does (one script per binary and shell; a page per command).
const STAND_IN_OCTOSHARE: &str = r#"#!/bin/sh
case "$1" in
completions) echo "$4 completions of $3" ;;
man-pages)
  for page in octoshare octoshare-run octoshare-discover octoshare-wait octoshare-share; do
    echo ".TH $page 1" >"$3/$page.1"
  done ;;
*) echo octoshare ;;
esac
"#;

/// A workspace stand-in: the document files and four small "binaries".
fn stand_in_workspace(dir: &Path, mode: u32) -> Vec<std::path::PathBuf> {
    for name in DOCUMENT_FILES {
        fs::write(dir.join(name), format!("{name} text\n")).unwrap();
    }
    let bin = dir.join("target");
    fs::create_dir_all(&bin).unwrap();
    [
        "octoshare",
        "octoshare-discover",
        "octoshare-wait",
        "octoshare-share",
    ]
    .iter()
    .map(|name| {
        let path = bin.join(name);
        let script = if *name == "octoshare" {
            STAND_IN_OCTOSHARE.to_owned()
        } else {
            format!("#!/bin/sh\necho {name}\n")
        };
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    })
    .collect()
}

#[test]
fn the_release_archive_holds_one_folder_with_the_binaries_licenses_and_readme() {
    let dir = tempfile::tempdir().unwrap();
    let binaries = stand_in_workspace(dir.path(), 0o700);
    let files = package_all(
        dir.path(),
        &binaries,
        &dir.path().join("dist"),
        "1.2.3",
        1_700_000_000,
    )
    .unwrap();
    assert_eq!(
        files.release_archive,
        dir.path()
            .join("dist/octoshare-1.2.3-x86_64-unknown-linux-gnu.tar.gz")
    );
    let listing = list(&files.release_archive);
    let names: Vec<(&str, u32)> = listing
        .iter()
        .map(|(path, mode, ..)| (path.as_str(), *mode))
        .collect();
    let top = "octoshare-1.2.3-x86_64-unknown-linux-gnu";
    let mut expected = vec![
        (format!("{top}/"), 0o755),
        (format!("{top}/LICENSE-APACHE"), 0o644),
        (format!("{top}/LICENSE-MIT"), 0o644),
        (format!("{top}/README.md"), 0o644),
        (format!("{top}/completions/"), 0o755),
    ];
    let binaries = [
        "octoshare",
        "octoshare-discover",
        "octoshare-share",
        "octoshare-wait",
    ];
    let mut completions: Vec<String> = binaries
        .iter()
        .flat_map(|name| {
            [
                format!("{name}.bash"),
                format!("_{name}"),
                format!("{name}.fish"),
                format!("_{name}.ps1"),
            ]
        })
        .collect();
    completions.sort();
    expected.extend(
        completions
            .iter()
            .map(|file| (format!("{top}/completions/{file}"), 0o644)),
    );
    expected.push((format!("{top}/man/"), 0o755));
    expected.push((format!("{top}/man/man1/"), 0o755));
    let mut pages: Vec<String> = [
        "octoshare",
        "octoshare-run",
        "octoshare-discover",
        "octoshare-wait",
        "octoshare-share",
    ]
    .iter()
    .map(|page| format!("{top}/man/man1/{page}.1"))
    .collect();
    pages.sort_unstable();
    expected.extend(pages.into_iter().map(|page| (page, 0o644)));
    expected.extend(binaries.iter().map(|name| (format!("{top}/{name}"), 0o755)));
    let names: Vec<(String, u32)> = names
        .into_iter()
        .map(|(path, mode)| (path.to_owned(), mode))
        .collect();
    assert_eq!(names, expected);
    let contents = |path: &str| {
        &listing
            .iter()
            .find(|entry| entry.0 == format!("{top}/{path}"))
            .unwrap_or_else(|| panic!("{path} missing"))
            .6
    };
    assert_eq!(
        contents("completions/_octoshare-share.ps1"),
        b"powershell completions of octoshare-share\n"
    );
    assert_eq!(
        contents("man/man1/octoshare-run.1"),
        b".TH octoshare-run 1\n"
    );
    for (path, _, uid, gid, user, mtime, _) in &listing {
        assert_eq!(
            (*uid, *gid, user.as_str(), *mtime),
            (0, 0, "root", 1_700_000_000),
            "{path}"
        );
    }
    assert_eq!(
        contents("octoshare-discover"),
        b"#!/bin/sh\necho octoshare-discover\n"
    );

    let sums = fs::read_to_string(&files.checksums).unwrap();
    let expected: String = [&files.release_archive, &files.feed_package]
        .iter()
        .map(|path| {
            format!(
                "{}  {}\n",
                sha256_hex(&fs::read(path).unwrap()),
                path.file_name().unwrap().to_string_lossy()
            )
        })
        .collect();
    assert_eq!(sums, expected);
}

/// Packaging twice, from copies made at other times, with other permissions and in other folders,
/// gives the same bytes. (The binaries' own reproducibility is checked by the release workflow's
/// second build and by dist's build-path check.)
#[test]
fn packaging_twice_gives_byte_identical_archives() {
    let first_dir = tempfile::tempdir().unwrap();
    let first = stand_in_workspace(first_dir.path(), 0o755);
    let first_files = package_all(
        first_dir.path(),
        &first,
        &first_dir.path().join("dist"),
        "0.4.0",
        1_700_000_000,
    )
    .unwrap();

    let second_dir = tempfile::tempdir().unwrap();
    let second_workspace = second_dir.path().join("elsewhere/checkout");
    fs::create_dir_all(&second_workspace).unwrap();
    let mut second = stand_in_workspace(&second_workspace, 0o700);
    second.reverse();
    let second_files = package_all(
        &second_workspace,
        &second,
        &second_dir.path().join("out"),
        "0.4.0",
        1_700_000_000,
    )
    .unwrap();

    for (left, right) in [
        (&first_files.release_archive, &second_files.release_archive),
        (&first_files.feed_package, &second_files.feed_package),
        (&first_files.checksums, &second_files.checksums),
    ] {
        assert_eq!(
            fs::read(left).unwrap(),
            fs::read(right).unwrap(),
            "{}",
            left.display()
        );
    }
    // gzip: no file name and a zero time in the header (RFC 1952: FLG at 3, MTIME at 4..8).
    let bytes = fs::read(&first_files.release_archive).unwrap();
    assert_eq!(bytes[3] & 0x08, 0, "FNAME set");
    assert_eq!(bytes[4..8], [0, 0, 0, 0]);

    let later = package_all(
        first_dir.path(),
        &first,
        &first_dir.path().join("later"),
        "0.4.0",
        1_700_000_001,
    )
    .unwrap();
    assert_ne!(
        fs::read(&later.release_archive).unwrap(),
        fs::read(&first_files.release_archive).unwrap(),
        "the entries' time must come from SOURCE_DATE_EPOCH"
    );
}

#[test]
fn release_archive_entries_are_sorted_whatever_the_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let documents = vec![
        ArchiveEntry::file("doc/zsh/_octoshare", b"z".to_vec()),
        ArchiveEntry::file("README.md", b"r".to_vec()),
        ArchiveEntry::file("doc/bash/octoshare", b"b".to_vec()),
    ];
    let archive = release_archive(&[], &documents, dir.path(), "0.1.0", 0).unwrap();
    let names: Vec<String> = list(&archive).into_iter().map(|entry| entry.0).collect();
    let top = "octoshare-0.1.0-x86_64-unknown-linux-gnu";
    assert_eq!(
        names,
        [
            format!("{top}/"),
            format!("{top}/README.md"),
            format!("{top}/doc/"),
            format!("{top}/doc/bash/"),
            format!("{top}/doc/bash/octoshare"),
            format!("{top}/doc/zsh/"),
            format!("{top}/doc/zsh/_octoshare"),
        ]
    );
}

#[test]
fn a_binary_holding_a_build_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("octoshare");
    fs::write(
        &binary,
        b"\0panicked at /home/builder/.cargo/registry/src/tokio/src/lib.rs\0",
    )
    .unwrap();
    let error = check_no_build_paths(&binary, &["/home/builder/.cargo".to_owned()]).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} contains the build path /home/builder/.cargo: it would differ between machines (check --remap-path-prefix)",
            binary.display()
        )
    );
    check_no_build_paths(&binary, &["/root/work".to_owned()]).unwrap();
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
