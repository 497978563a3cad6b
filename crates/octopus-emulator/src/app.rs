//! State shared by every connection: the store, armed faults, the request log, credentials.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::fault::FaultEngine;
use crate::scenario::Scenario;
use crate::store::Store;

/// Admin API key accepted unless the scenario sets `apiKey`.
pub const DEFAULT_API_KEY: &str = "API-EMULATORADMIN000000000000001";
/// Read-only API key accepted unless the scenario sets `readOnlyApiKey`.
pub const DEFAULT_READ_ONLY_API_KEY: &str = "API-EMULATORREADONLY000000000002";
/// Bearer token accepted unless the scenario sets `accessToken`.
pub const DEFAULT_ACCESS_TOKEN: &str = "emulator-access-token-0000000003";

/// One request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method, upper-case (`GET`, `POST`, ...).
    pub method: String,
    /// Path as sent, before legacy routes are mapped to the default space.
    pub path: String,
    /// Raw query string without `?` (empty if none).
    pub query: String,
    /// Status sent; `0` when no response was sent (dropped or stalled connection, client gone,
    /// or still in flight).
    pub status: u16,
    /// Names of the injected faults that fired, joined by `+` (e.g. `drop`, `latency+status`).
    pub fault: Option<String>,
    /// When the request arrived.
    pub started: Instant,
    /// When the response was handed to the connection (or the connection was closed).
    pub finished: Instant,
}

/// How many requests the log keeps; older entries are forgotten so a long-running emulator
/// (`octoshare emulator`, benchmarks) does not grow without bound.
pub const REQUEST_LOG_CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    next_sequence: u64,
    entries: VecDeque<(u64, LoggedRequest)>,
}

impl RequestLog {
    /// Records an arriving request; returns its sequence number.
    pub(crate) fn begin(&mut self, method: &str, path: &str, query: &str) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let now = Instant::now();
        if self.entries.len() >= REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back((
            sequence,
            LoggedRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                query: query.to_owned(),
                status: 0,
                fault: None,
                started: now,
                finished: now,
            },
        ));
        sequence
    }

    fn entry(&mut self, sequence: u64) -> Option<&mut LoggedRequest> {
        self.entries
            .iter_mut()
            .rev()
            .find(|(s, _)| *s == sequence)
            .map(|(_, entry)| entry)
    }

    pub(crate) fn set_fault(&mut self, sequence: u64, fault: String) {
        if let Some(entry) = self.entry(sequence) {
            entry.fault = Some(fault);
        }
    }

    pub(crate) fn finish(&mut self, sequence: u64, status: u16) {
        if let Some(entry) = self.entry(sequence) {
            entry.status = status;
            entry.finished = Instant::now();
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries.iter().map(|(_, e)| e.clone()).collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The credentials the emulator accepts.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) api_key: String,
    pub(crate) read_only_api_key: String,
    pub(crate) access_token: String,
}

/// Who made a request (inserted as a request extension after authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    Anonymous,
    Admin,
    ReadOnly,
}

impl Caller {
    pub(crate) fn username(self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Admin => "admin",
            Caller::ReadOnly => "readonly",
        }
    }
}

/// Everything the server's tasks share.
#[derive(Debug)]
pub(crate) struct App {
    store: Mutex<Store>,
    faults: Mutex<FaultEngine>,
    log: Mutex<RequestLog>,
    draining: AtomicBool,
    pub(crate) credentials: Credentials,
    pub(crate) latency: Duration,
    pub(crate) installation_id: String,
    pub(crate) version: String,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    pub(crate) fn new(scenario: &Scenario, started: Instant) -> anyhow::Result<App> {
        let mut store = Store::from_scenario(scenario, started)?;
        let installation_id = store.uuid();
        let version = store.version().to_owned();
        Ok(App {
            store: Mutex::new(store),
            faults: Mutex::new(FaultEngine::new(scenario.seed_value(), scenario.faults())),
            log: Mutex::new(RequestLog::default()),
            draining: AtomicBool::new(scenario.is_draining()),
            credentials: Credentials {
                api_key: scenario
                    .api_key_value()
                    .unwrap_or(DEFAULT_API_KEY)
                    .to_owned(),
                read_only_api_key: scenario
                    .read_only_api_key_value()
                    .unwrap_or(DEFAULT_READ_ONLY_API_KEY)
                    .to_owned(),
                access_token: scenario
                    .access_token_value()
                    .unwrap_or(DEFAULT_ACCESS_TOKEN)
                    .to_owned(),
            },
            latency: scenario.latency_value(),
            installation_id,
            version,
        })
    }

    /// The store, with every registration due by now applied.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = lock(&self.store);
        store.apply_due_registrations(Instant::now());
        store
    }

    /// Registers every scheduled worker that is due by now.
    pub(crate) fn apply_due_registrations(&self) {
        lock(&self.store).apply_due_registrations(Instant::now());
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultEngine> {
        lock(&self.faults)
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Ordering::SeqCst);
    }
}
