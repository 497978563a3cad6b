//! Shared test support: built binaries, the canned HTTP server, the shared-fleet scenario and
//! its expected state, in-process clients and emitters, and figure reporting.

pub mod binaries;
pub mod canned;
pub mod fleet;
pub mod seeds;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octopus_emulator::Emulator;
use octoshare_cli::{Emitter, OutputMode};
use octoshare_core::{Client, Credentials, RetryPolicy, Secret, ServerUrl};

/// A canary API key: any appearance outside a request header is a leak.
pub const CANARY_KEY: &str = "API-CANARY0SECRET0KEY0000000000";

/// An environment variable read as a count, or `default`.
pub fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// Prints one line of figures for RELIABILITY.md (`cargo test -p octoshare-e2e -- --nocapture`).
pub fn report_figures(family: &str, figures: &[(&str, String)]) {
    let parts: Vec<String> = figures
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    println!("figures[{family}]: {}", parts.join(" "));
}

/// A client for `emulator` with `key`, `timeout` per request and `policy`.
pub fn client(emulator: &Emulator, key: &str, timeout: Duration, policy: RetryPolicy) -> Client {
    Client::builder(
        ServerUrl::parse(&emulator.url()).expect("the emulator URL is valid"),
        Credentials::ApiKey(Secret::new(key.to_owned())),
    )
    .request_timeout(timeout)
    .retry_policy(policy)
    .build()
    .expect("a client")
}

/// A current-thread runtime for in-process runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A writer that keeps what was written.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("captured output")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("captured output")).into_owned()
    }
}

/// An octopus-mode emitter writing into `stdout` (stderr discarded).
pub fn capturing_emitter(stdout: &Captured) -> Emitter {
    Emitter::with_writers(
        OutputMode::Octopus,
        Box::new(stdout.clone()),
        Box::new(io::sink()),
    )
}
