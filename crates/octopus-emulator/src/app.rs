//! State shared by every connection: the store, armed faults, the request log, the keys, the
//! load gate, outages and the hold switch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::access::{Access, ApiKeySeed, Grant, Permission, Scope, set_space_access};
use crate::fault::FaultEngine;
use crate::load::{LoadGate, Outages, millis};
use crate::request_log::RequestLog;
use crate::scenario::Scenario;
use crate::store::Store;

/// Admin API key accepted unless the scenario sets `apiKey`.
pub const DEFAULT_API_KEY: &str = "API-EMULATORADMIN000000000000001";
/// Read-only API key accepted unless the scenario sets `readOnlyApiKey`.
pub const DEFAULT_READ_ONLY_API_KEY: &str = "API-EMULATORREADONLY000000000002";
/// Bearer token accepted unless the scenario sets `accessToken`.
pub const DEFAULT_ACCESS_TOKEN: &str = "emulator-access-token-0000000003";

/// Every credential the emulator accepts, with what each may do.
#[derive(Debug)]
pub(crate) struct KeyRing {
    pub(crate) api_key: String,
    pub(crate) read_only_api_key: String,
    pub(crate) access_token: String,
    api_keys: HashMap<String, Grant>,
    tokens: HashMap<String, Grant>,
    next_user: u64,
}

impl KeyRing {
    fn new(scenario: &Scenario) -> Self {
        let api_key = scenario
            .api_key_value()
            .unwrap_or(DEFAULT_API_KEY)
            .to_owned();
        let read_only_api_key = scenario
            .read_only_api_key_value()
            .unwrap_or(DEFAULT_READ_ONLY_API_KEY)
            .to_owned();
        let access_token = scenario
            .access_token_value()
            .unwrap_or(DEFAULT_ACCESS_TOKEN)
            .to_owned();
        let mut ring = KeyRing {
            api_keys: HashMap::new(),
            tokens: HashMap::new(),
            next_user: 3,
            api_key: api_key.clone(),
            read_only_api_key: read_only_api_key.clone(),
            access_token: access_token.clone(),
        };
        ring.api_keys
            .insert(api_key, Grant::administrator("Users-1", "admin"));
        ring.api_keys.insert(
            read_only_api_key,
            Grant {
                user_id: "Users-2".into(),
                username: "readonly".into(),
                display_name: "Read-only User".into(),
                scope: Scope::Scoped {
                    default_access: Access::ReadOnly,
                    spaces: Default::default(),
                    system: vec![Permission::SpaceView],
                },
            },
        );
        ring.tokens
            .insert(access_token, Grant::administrator("Users-1", "admin"));
        for seed in scenario.scoped_keys() {
            ring.add(seed);
        }
        ring
    }

    /// Adds (or replaces) a scoped key or token.
    pub(crate) fn add(&mut self, seed: &ApiKeySeed) {
        let user_id = format!("Users-{}", self.next_user);
        let fallback = format!("apikey-{}", self.next_user);
        self.next_user += 1;
        let grant = Grant::scoped(user_id, seed, &fallback);
        if let Some(key) = seed.key() {
            self.api_keys.insert(key.to_owned(), grant);
        } else if let Some(token) = seed.token() {
            self.tokens.insert(token.to_owned(), grant);
        }
    }

    pub(crate) fn by_key(&self, key: &str) -> Option<&Grant> {
        self.api_keys.get(key)
    }

    pub(crate) fn by_token(&self, token: &str) -> Option<&Grant> {
        self.tokens.get(token)
    }

    /// Changes a scoped credential's access in one space; `false` if there is no scoped key or
    /// token like that.
    pub(crate) fn set_access(
        &mut self,
        credential: &str,
        space_name: &str,
        access: Access,
    ) -> bool {
        let grant = match self.api_keys.get_mut(credential) {
            Some(grant) => Some(grant),
            None => self.tokens.get_mut(credential),
        };
        grant.is_some_and(|grant| set_space_access(grant, space_name, access))
    }
}

/// Everything the server's tasks share.
#[derive(Debug)]
pub(crate) struct App {
    store: Mutex<Store>,
    faults: Mutex<FaultEngine>,
    log: Mutex<RequestLog>,
    keys: Mutex<KeyRing>,
    draining: AtomicBool,
    latency_ms: AtomicU64,
    latency_per_in_flight_ms: AtomicU64,
    pub(crate) gate: LoadGate,
    pub(crate) outages: Outages,
    /// How many `RequestHold`s are alive; requests wait while it is not 0.
    pub(crate) holds: watch::Sender<u32>,
    /// How many write-only `RequestHold`s are alive; POST/PUT/DELETE wait while it is not 0.
    pub(crate) write_holds: watch::Sender<u32>,
    /// Wakes the schedule timer when events are added at runtime.
    pub(crate) schedule_changed: Notify,
    pub(crate) spaces_route_family: bool,
    pub(crate) worker_task_leases: bool,
    pub(crate) installation_id: String,
    pub(crate) version: String,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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
            keys: Mutex::new(KeyRing::new(scenario)),
            draining: AtomicBool::new(scenario.is_draining()),
            latency_ms: AtomicU64::new(millis(scenario.latency_value())),
            latency_per_in_flight_ms: AtomicU64::new(millis(
                scenario.latency_per_in_flight_value(),
            )),
            gate: LoadGate::new(scenario.concurrency_limit_value()),
            outages: Outages::new(started, scenario.outages()),
            holds: watch::Sender::new(0),
            write_holds: watch::Sender::new(0),
            schedule_changed: Notify::new(),
            spaces_route_family: scenario.serves_spaces_route_family(),
            worker_task_leases: scenario.serves_worker_task_leases(),
            installation_id,
            version,
        })
    }

    /// The store, with every scheduled event due by now applied.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = lock(&self.store);
        store.apply_due(Instant::now());
        store
    }

    /// Applies every scheduled event that is due by now.
    pub(crate) fn apply_due(&self) {
        lock(&self.store).apply_due(Instant::now());
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultEngine> {
        lock(&self.faults)
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    pub(crate) fn keys(&self) -> MutexGuard<'_, KeyRing> {
        lock(&self.keys)
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Ordering::SeqCst);
    }

    /// The fixed latency of every request.
    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::SeqCst))
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.latency_ms.store(millis(latency), Ordering::SeqCst);
    }

    /// The extra latency per other request in flight.
    pub(crate) fn latency_per_in_flight(&self) -> Duration {
        Duration::from_millis(self.latency_per_in_flight_ms.load(Ordering::SeqCst))
    }

    pub(crate) fn set_latency_per_in_flight(&self, slope: Duration) {
        self.latency_per_in_flight_ms
            .store(millis(slope), Ordering::SeqCst);
    }
}
