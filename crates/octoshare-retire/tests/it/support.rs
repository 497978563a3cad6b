//! Shared helpers: the five-space fleet, a virtual clock, a recording sink, a client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use octopus_emulator::{Emulator, LeaseSeed, LoggedRequest, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::{Client, Credentials, RetryPolicy, ServerUrl};
use octoshare_retire::{
    Change, DrainClock, DrainProgress, ForcedTask, Registration, RegistrationChange, RetireConfig,
    RetireOutcome, RetireScope, RetireSink, SearchStart, WorkerSelector, retire_with_clock,
};
use tokio_util::sync::CancellationToken;

pub const POOL: &str = "AWS Worker Pool TF";
pub const VM_URI: &str = "poll://vmoneaaaaaaaaaaaaaa/";
pub const VM_THUMBPRINT: &str = "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A";
/// The five spaces, in creation order (`Spaces-1` to `Spaces-5`).
pub const SPACES: [&str; 5] = ["Default", "Payments", "Data", "Mobile", "Sandbox"];
/// The same, in the server's order (by name).
pub const SPACES_BY_NAME: [&str; 5] = ["Data", "Default", "Mobile", "Payments", "Sandbox"];

/// The machine being retired, registered under `name`.
pub fn vm(name: &str) -> WorkerSeed {
    WorkerSeed::polling(name, VM_URI, VM_THUMBPRINT).in_pool(POOL)
}

/// Another machine that must survive.
pub fn survivor(number: u32) -> WorkerSeed {
    WorkerSeed::polling(
        &format!("other-{number}"),
        &format!("poll://other{number:015}/"),
        &format!("{number:040X}"),
    )
    .in_pool(POOL)
}

/// The machine registered in five spaces (as "mobile-vm-1" in Mobile), each space with a
/// survivor; a task holds it in Payments and in Mobile.
pub fn five_spaces_busy_in_two() -> Scenario {
    SPACES
        .iter()
        .enumerate()
        .fold(Scenario::new(), |scenario, (index, name)| {
            let number = u32::try_from(index).unwrap_or_default() + 1;
            let mut space = SpaceSeed::new(name).pool(POOL).worker(survivor(number));
            if index == 0 {
                space = space.default_space();
            }
            let vm_name = if *name == "Mobile" {
                "mobile-vm-1"
            } else {
                "vm-1"
            };
            space = space.worker(vm(vm_name));
            match *name {
                "Payments" => {
                    space = space.lease(
                        LeaseSeed::on("vm-1")
                            .task("Deploy", "Deploy Payments API 1.2.3 to Production"),
                    );
                }
                "Mobile" => {
                    space = space.lease(
                        LeaseSeed::on("mobile-vm-1")
                            .task("RunbookRun", "Run runbook Rotate keys in Mobile"),
                    );
                }
                _ => {}
            }
            scenario.space(space)
        })
}

pub fn start(scenario: Scenario) -> Emulator {
    Emulator::start(scenario).unwrap_or_else(|error| panic!("emulator did not start: {error:#}"))
}

pub fn client(emulator: &Emulator) -> Client {
    client_with_key(emulator, &emulator.api_key())
}

pub fn client_with_key(emulator: &Emulator, key: &str) -> Client {
    Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::api_key(key.to_owned()),
    )
    .retry_policy(RetryPolicy::immediate(2))
    .request_timeout(Duration::from_secs(20))
    .build()
    .unwrap()
}

pub fn read_only_client(emulator: &Emulator) -> Client {
    Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::api_key(emulator.api_key()),
    )
    .retry_policy(RetryPolicy::immediate(2))
    .read_only()
    .build()
    .unwrap()
}

pub fn space_id(emulator: &Emulator, name: &str) -> String {
    emulator
        .space_id(name)
        .unwrap_or_else(|| panic!("no space {name}"))
}

/// The ids of a space's leases now.
pub fn lease_ids(emulator: &Emulator, space_name: &str) -> Vec<String> {
    emulator
        .leases(&space_id(emulator, space_name))
        .iter()
        .filter_map(|lease| lease["Id"].as_str().map(str::to_owned))
        .collect()
}

/// Names of a space's workers now.
pub fn worker_names(emulator: &Emulator, space_name: &str) -> Vec<String> {
    let mut names: Vec<String> = emulator
        .workers(&space_id(emulator, space_name))
        .iter()
        .filter_map(|worker| worker["Name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// A drain clock that jumps: every sleep moves it forward at once.
#[derive(Debug, Default)]
pub struct VirtualClock {
    nanos: AtomicU64,
}

impl DrainClock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
        tokio::task::yield_now()
    }
}

/// One drain round as the sink saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    pub poll: u32,
    pub elapsed: Duration,
    pub retired: usize,
    pub total: usize,
    /// `(space name, task ids)` of the registrations still held.
    pub busy: Vec<(String, Vec<String>)>,
    pub forcing: bool,
}

/// What a test does after a drain round (release a lease, cancel the run, ...).
pub type RoundHook<'a> = Box<dyn FnMut(&Round) + 'a>;

/// Records every event; `on_round` runs after each drain round.
#[derive(Default)]
pub struct Recorder<'a> {
    pub events: Vec<String>,
    pub rounds: Vec<Round>,
    pub found: Vec<Registration>,
    pub forced: Vec<ForcedTask>,
    pub on_round: Option<RoundHook<'a>>,
}

impl RetireSink for Recorder<'_> {
    fn searching(&mut self, start: &SearchStart<'_>) {
        self.events.push(format!(
            "searching {} spaces for {}",
            start.spaces, start.selector
        ));
    }
    fn space_skipped(&mut self, space: &octoshare_core::domain::SpaceRef, _reason: &str) {
        self.events.push(format!("skipped {}", space.name));
    }
    fn space_failed(&mut self, space: &octoshare_core::domain::SpaceRef, error: &str) {
        self.events
            .push(format!("space failed {}: {error}", space.name));
    }
    fn found(&mut self, registrations: &[Registration]) {
        self.found = registrations.to_vec();
        self.events.push(format!("found {}", registrations.len()));
    }
    fn draining(&mut self, pending: usize, _timeout: Duration) {
        self.events.push(format!("draining {pending}"));
    }
    fn lease_endpoint_missing(&mut self, space: &octoshare_core::domain::SpaceRef, _reason: &str) {
        self.events
            .push(format!("no lease endpoint {}", space.name));
    }
    fn changed(&mut self, change: &RegistrationChange<'_>) {
        let what = match change.change {
            Change::Disabled => "disabled".to_owned(),
            Change::AlreadyDisabled => "already disabled".to_owned(),
            Change::Deleted => "deleted".to_owned(),
            Change::Gone => "gone".to_owned(),
            Change::DeleteRefused(message) => format!("refused: {message}"),
            Change::Failed(error) => format!("failed: {error}"),
        };
        self.events
            .push(format!("{} {what}", change.registration.space.name));
    }
    fn drain_progress(&mut self, progress: &DrainProgress<'_>) {
        let round = Round {
            poll: progress.poll,
            elapsed: progress.elapsed,
            retired: progress.retired,
            total: progress.total,
            busy: progress
                .busy
                .iter()
                .map(|busy| {
                    (
                        busy.registration.space.name.clone(),
                        busy.leases
                            .iter()
                            .filter_map(|lease| lease.task_id.as_ref().map(ToString::to_string))
                            .collect(),
                    )
                })
                .collect(),
            forcing: progress.forcing,
        };
        if let Some(hook) = &mut self.on_round {
            hook(&round);
        }
        self.rounds.push(round);
    }
    fn poll_failed(&mut self, space: &octoshare_core::domain::SpaceRef, error: &str) {
        self.events
            .push(format!("poll failed {}: {error}", space.name));
    }
    fn forcing(&mut self, task: &ForcedTask) {
        self.forced.push(task.clone());
        self.events.push(format!("forcing {}", task.task_id));
    }
}

/// A configuration for `selector` with a 30 s drain timeout.
pub fn config(selector: WorkerSelector) -> RetireConfig {
    let mut config = RetireConfig::new(selector);
    config.drain_timeout = Duration::from_secs(30);
    config
}

/// Runs a retirement of every space with the virtual clock.
pub async fn run(
    client: &Client,
    config: &RetireConfig,
    recorder: &mut Recorder<'_>,
    cancel: &CancellationToken,
) -> RetireOutcome {
    retire_with_clock(
        client,
        &RetireScope::AllSpaces,
        config,
        recorder,
        cancel,
        &VirtualClock::default(),
    )
    .await
    .unwrap_or_else(|error| panic!("retire failed: {error}"))
}

/// Requests of a method to paths ending with `suffix` (case-insensitive).
pub fn requests_to<'a>(
    requests: &'a [LoggedRequest],
    method: &str,
    suffix: &str,
) -> Vec<&'a LoggedRequest> {
    requests
        .iter()
        .filter(|request| {
            request.method == method
                && request
                    .path
                    .to_lowercase()
                    .ends_with(&suffix.to_lowercase())
        })
        .collect()
}

/// The first request's arrival matching the predicate.
pub fn first(
    requests: &[LoggedRequest],
    matches: impl Fn(&LoggedRequest) -> bool,
) -> Option<Instant> {
    requests
        .iter()
        .find(|request| matches(request))
        .map(|request| request.started)
}
