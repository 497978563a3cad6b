//! Octopus's official TypeScript client (`@octopusdeploy/api-client` 3.11.0) against the
//! emulator: runs `tests/ts-client/list-and-create.js` with `node`. The client is the
//! `typescript-client` tool of `octoshare_test_support::tools` (`npm ci` in `tests/ts-client`,
//! done by `cargo xtask ci`): required under `CI=true`, skipped with a notice elsewhere.

use std::path::Path;
use std::process::Command;

use octopus_emulator::{Scenario, SpaceSeed};

use crate::support::*;

#[test]
fn official_typescript_client_lists_spaces_and_creates_a_worker() {
    let Some(node) = octoshare_test_support::tools::require("typescript-client") else {
        return;
    };
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ts-client");
    let emulator = start(
        Scenario::new()
            .space(SpaceSeed::new("Default").default_space().pool(TF_POOL))
            .space(SpaceSeed::new("Payments")),
    );

    let output = Command::new(&node)
        .arg("list-and-create.js")
        .current_dir(&folder)
        .env("OCTOPUS_URL", emulator.url())
        .env("OCTOPUS_API_KEY", emulator.api_key())
        .env("OCTOPUS_SPACE", "Default")
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "space Spaces-1 \"Default\" default=true",
            "space Spaces-2 \"Payments\" default=false",
            "pool WorkerPools-1 \"Default Worker Pool\" StaticWorkerPool default=true",
            "pool WorkerPools-2 \"AWS Worker Pool TF\" StaticWorkerPool default=false",
            "created Workers-1 in Spaces-1 health=Unknown",
        ],
        "stderr:\n{stderr}"
    );
    // The request sequence recorded against a real server (reference octopus-api.md §4).
    let requests: Vec<String> = emulator
        .requests()
        .iter()
        .map(|r| {
            let query = if r.query.is_empty() {
                String::new()
            } else {
                format!("?{}", r.query)
            };
            format!("{} {}{query} -> {}", r.method, r.path, r.status)
        })
        .collect();
    assert_eq!(
        requests,
        [
            "GET /api -> 200",
            "GET /api/spaces?skip=0&take=30 -> 200",
            "GET /api/spaces?partialName=Default&skip=0&take=2147483647 -> 200",
            "GET /api/Spaces-1/workerpools?skip=0&take=30 -> 200",
            "POST /api/Spaces-1/workers -> 201",
        ]
    );

    // A wrong key makes the script print Octopus's 401 message.
    let output = Command::new(&node)
        .arg("list-and-create.js")
        .current_dir(&folder)
        .env("OCTOPUS_URL", emulator.url())
        .env("OCTOPUS_API_KEY", "API-WRONG000000000000000000000000")
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ERROR 401 The API key you provided was not valid."),
        "{stderr}"
    );
}
