//! Helpers shared by the workspace's tests (dev-only, never published).
//!
//! - [`tools`]: the external programs the tests run (shellcheck, strace, objdump, the TypeScript
//!   Octopus client, …), one table entry each, and [`tools::require`] that locates one or, under
//!   `CI=true`, fails the test when it is missing. `cargo xtask ci` installs every tool of the
//!   table before the tests run.
//!
//!
//! With the `harness` feature (test crates enable it; `cargo xtask` does not, it links this
//! crate for the `tools` table only):
//!
//! - `process`: `process::Program` runs a binary (clean environment, stdin, timeout) into a
//!   `process::Run` whose output is decoded (service messages, output variables, progress,
//!   JSON, the one error line); `process::Spawned` is a long-running process whose stdout
//!   lines are waited on by condition.
//! - `http::CannedServer`: scripted HTTP answers (`handler(request, n)`), every request
//!   recorded, plain and TLS on one port.
//! - `clock::RecordingClock`: a clock for the Octopus client that records the waits before
//!   retries and returns at once, so backoff and `Retry-After` are asserted as schedules.

#[cfg(feature = "harness")]
pub mod clock;
#[cfg(feature = "harness")]
pub mod http;
#[cfg(feature = "harness")]
pub mod process;
pub mod tools;

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .expect("octoshare-test-support lives two levels below the workspace root")
        .to_path_buf()
}
