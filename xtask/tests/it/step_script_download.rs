//! The step templates' pinned-release download: with no package and nothing on PATH a step
//! downloads the release archive (built by dist's packaging) from a local HTTP server, checks its
//! SHA-256 before unpacking, caches it per worker and version, and runs the binary; a tampered
//! archive, a 404 and an offline worker behave as documented.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use octoshare_templates::step_templates::{CodegenConfig, ReleasePin};
use serde_json::Value;

use crate::step_script_run::{FAKE_BINARY, FakeLocation, StepRun, run_template};

const VERSION: &str = "9.8.7";
const BINARIES: [&str; 4] = [
    "octoshare",
    "octoshare-discover",
    "octoshare-share",
    "octoshare-wait",
];

/// A local HTTP server: `/release.tar.gz` is the archive, `/tampered.tar.gz` the same with one
/// byte changed, anything else 404. It logs each requested path.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(archive: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let mut tampered = archive.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x01;
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|read| read > 2) {
                    header.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                log.lock().unwrap().push(path.clone());
                let (status, body): (&str, &[u8]) = match path.as_str() {
                    "/release.tar.gz" => ("200 OK", &archive),
                    "/tampered.tar.gz" => ("200 OK", &tampered),
                    _ => ("404 Not Found", b"not found"),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(body);
            }
        });
        Server { base, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The release archive as `cargo xtask dist` packages it, with fake binaries inside.
fn release_archive() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let binaries: Vec<_> = BINARIES
        .iter()
        .map(|name| {
            let path = dir.path().join(name);
            std::fs::write(&path, FAKE_BINARY).unwrap();
            path
        })
        .collect();
    let documents = [xtask::dist::ArchiveEntry::file(
        "README.md",
        b"octoshare".to_vec(),
    )];
    let archive =
        xtask::dist::release_archive(&binaries, &documents, &dir.path().join("dist"), VERSION, 0)
            .unwrap();
    std::fs::read(archive).unwrap()
}

/// The discover template rendered with a pin of `sha256` and `url` as its download default.
fn pinned_template(url: &str, sha256: &str) -> Value {
    let config = CodegenConfig {
        last_modified_by: "tester".to_owned(),
        release: ReleasePin {
            version: VERSION.to_owned(),
            url: url.to_owned(),
            sha256: Some(sha256.to_owned()),
        },
    };
    let template = octoshare_templates::step_templates(&config)
        .unwrap()
        .remove(0);
    assert_eq!(template.name, "OctoShare - Discover Spaces");
    serde_json::from_str(&template.to_json(1, "2030-01-01T00:00:00.000Z").unwrap()).unwrap()
}

fn run(template: &Value, location: FakeLocation, home: &Path) -> StepRun {
    run_template(
        template,
        "octoshare-discover",
        &[("OctoShare.WorkerPool.Name", "Pool")],
        location,
        &[],
        Some(home),
    )
}

/// The step's one failure line (`fail_step` writes `FAIL_STEP: <message>`).
fn failure(run: &StepRun) -> &str {
    assert_eq!(run.exit_code, Some(1), "{}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    lines[0]
        .strip_prefix("FAIL_STEP: ")
        .expect("the step failed through fail_step")
}

#[test]
fn without_package_or_path_the_verified_release_is_downloaded_once_and_run() {
    let archive = release_archive();
    let sha256 = xtask::dist::sha256_hex(&archive);
    let server = Server::start(archive);
    let template = pinned_template(&server.url("/release.tar.gz"), &sha256);
    let home = tempfile::tempdir().unwrap();

    let first = run(&template, FakeLocation::Nowhere, home.path());
    assert_eq!(first.exit_code, Some(0), "{}", first.stderr);
    let cached = home
        .path()
        .join(format!(".cache/octoshare/{VERSION}/bin/octoshare-discover"));
    assert_eq!(
        first.only_invocation().program,
        cached.to_str().unwrap(),
        "the release's binary ran"
    );
    assert_eq!(
        first.only_invocation().arguments[..6],
        [
            "--server",
            "https://octopus.example.com/octopus/",
            "--output",
            "octopus",
            "--worker-pool",
            "Pool"
        ]
    );
    assert_eq!(server.requests(), ["/release.tar.gz"]);
    let cache = cached.parent().unwrap().parent().unwrap();
    assert_eq!(
        std::fs::read_to_string(cache.join("sha256")).unwrap(),
        sha256
    );
    for binary in BINARIES {
        assert!(cache.join("bin").join(binary).is_file(), "{binary}");
    }

    // The next step on this worker reuses the verified copy.
    let second = run(&template, FakeLocation::Nowhere, home.path());
    assert_eq!(second.exit_code, Some(0), "{}", second.stderr);
    assert_eq!(second.only_invocation().program, cached.to_str().unwrap());
    assert_eq!(server.requests(), ["/release.tar.gz"], "downloaded again");
}

#[test]
fn a_tampered_archive_fails_naming_the_url_and_both_digests_and_runs_nothing() {
    let archive = release_archive();
    let sha256 = xtask::dist::sha256_hex(&archive);
    let mut tampered = archive.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let tampered_sha256 = xtask::dist::sha256_hex(&tampered);
    let server = Server::start(archive);
    let url = server.url("/tampered.tar.gz");
    let template = pinned_template(&url, &sha256);
    let home = tempfile::tempdir().unwrap();

    // Even with the binary on PATH: a mismatch is never papered over.
    let run = run(&template, FakeLocation::Path, home.path());
    assert_eq!(
        failure(&run),
        format!(
            "the archive downloaded from {url} has SHA-256 {tampered_sha256}, but this template pins {sha256}: nothing was unpacked or run"
        )
    );
    assert!(run.invocations.is_empty());
    let cache_root = home.path().join(".cache/octoshare");
    let left: Vec<_> = std::fs::read_dir(&cache_root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_404_fails_naming_the_url_and_the_pinned_digest() {
    let archive = release_archive();
    let sha256 = xtask::dist::sha256_hex(&archive);
    let server = Server::start(archive);
    let url = server.url("/v9.8.7/missing.tar.gz");
    let template = pinned_template(&url, &sha256);
    let home = tempfile::tempdir().unwrap();

    let run = run(&template, FakeLocation::Nowhere, home.path());
    let message = failure(&run);
    assert!(
        message.starts_with(&format!("cannot download {url} (curl: (22) ")),
        "{message}"
    );
    assert!(message.contains("404"), "{message}");
    assert!(
        message.ends_with(&format!(
            "); its pinned SHA-256 is {sha256}: fix OctoShare.Download.Url, select the octoshare package in OctoShare.Package or put octoshare-discover on the PATH of the worker"
        )),
        "{message}"
    );
    assert!(run.invocations.is_empty());
}

#[test]
fn an_offline_worker_runs_the_binary_on_path() {
    let archive = release_archive();
    let sha256 = xtask::dist::sha256_hex(&archive);
    // A port nothing listens on: the connection is refused at once.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/release.tar.gz", closed.local_addr().unwrap());
    drop(closed);
    let template = pinned_template(&url, &sha256);
    let home = tempfile::tempdir().unwrap();

    let run = run(&template, FakeLocation::Path, home.path());
    assert_eq!(run.exit_code, Some(0), "{}", run.stderr);
    let invocation = run.only_invocation();
    assert!(
        invocation.program.ends_with("/bin/octoshare-discover")
            && !invocation.program.contains(".cache"),
        "{}",
        invocation.program
    );
    let notice = run
        .stdout
        .lines()
        .find(|line| line.starts_with("Could not download "))
        .expect("a notice says why PATH is used");
    assert!(
        notice.starts_with(&format!("Could not download {url} (curl: (7) ")),
        "{notice}"
    );
    assert!(notice.ends_with(&format!("running {} from PATH", invocation.program)));
}

#[test]
fn a_selected_package_or_an_empty_url_never_downloads() {
    let archive = release_archive();
    let sha256 = xtask::dist::sha256_hex(&archive);
    let server = Server::start(archive);
    let template = pinned_template(&server.url("/release.tar.gz"), &sha256);
    let home = tempfile::tempdir().unwrap();

    let packaged = run(&template, FakeLocation::Package, home.path());
    assert_eq!(packaged.exit_code, Some(0), "{}", packaged.stderr);
    assert!(
        packaged
            .only_invocation()
            .program
            .starts_with(packaged.package_dir.to_str().unwrap())
    );

    let no_url = run_template(
        &template,
        "octoshare-discover",
        &[
            ("OctoShare.WorkerPool.Name", "Pool"),
            ("OctoShare.Download.Url", " "),
        ],
        FakeLocation::Path,
        &[],
        Some(home.path()),
    );
    assert_eq!(no_url.exit_code, Some(0), "{}", no_url.stderr);
    assert!(!no_url.only_invocation().program.contains(".cache"));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}
