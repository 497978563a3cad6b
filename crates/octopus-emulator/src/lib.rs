//! An in-process emulator of the Octopus Deploy REST API, for tests, benchmarks and
//! `octoshare demo`.
//!
//! It serves the routes octoshare and Octopus's own clients use, with Octopus's shapes and key
//! order: the `/api` and `/api/{spaceId}` root documents, spaces, worker pools, workers,
//! machine policies, action templates (step templates), `/api/octopusservernodes/ping` and
//! `/api/users/me`; paged collections and `/all` arrays; API-key and bearer authentication with
//! Octopus's 401/403 bodies; validation errors as `{"ErrorMessage", "Errors"}`. It is written
//! from Octopus's documented shapes and shares no types with the octoshare client.
//!
//! ```no_run
//! use octopus_emulator::{Emulator, Fault, Scenario, SpaceSeed, WorkerSeed};
//! use std::time::Duration;
//!
//! let emulator = Emulator::start(
//!     Scenario::new()
//!         .space(SpaceSeed::new("Default").default_space().pool("AWS Worker Pool TF"))
//!         .space(
//!             SpaceSeed::new("Payments").pool("AWS Worker Pool TF").register_after(
//!                 Duration::from_millis(100),
//!                 WorkerSeed::polling("worker-1", "poll://abcdefghijklmnopqrst/", "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A")
//!                     .in_pool("AWS Worker Pool TF"),
//!             ),
//!         )
//!         .fault(Fault::status(503).method("POST").path("/api/*/workers").limit(1)),
//! )?;
//! println!("{} with key {}", emulator.url(), emulator.api_key());
//! # anyhow::Ok(())
//! ```
//!
//! # Scenario files
//!
//! [`Scenario::from_file`] reads JSON with camelCase names (this example is
//! `crates/octopus-emulator/scenarios/example.json`). Unknown fields are errors that name
//! their path (`spaces[0].workers[1]: unknown field ...`). Every field except a space's `name`
//! and a worker's `name`, `uri` and `thumbprint` is optional:
//!
//! ```json
#![doc = include_str!("../scenarios/example.json")]
//! ```
//!
//! - `seed` seeds the generator deciding faults with `rate < 1` (and generated GUIDs): the same
//!   seed and request sequence give the same faults.
//! - `latencyMs` delays every request. `rejectDuplicateNames` (default `true`) refuses a second
//!   worker with the same name (trimmed, case-insensitive) in a space.
//! - `apiKey`, `readOnlyApiKey`, `accessToken` replace the built-in credentials
//!   ([`DEFAULT_API_KEY`], [`DEFAULT_READ_ONLY_API_KEY`], [`DEFAULT_ACCESS_TOKEN`]).
//! - Spaces get ids `Spaces-1..` in file order and always have "Default Worker Pool" and
//!   "Default Machine Policy" (both `IsDefault: true`); `workerPools` and `machinePolicies`
//!   add more. A worker's `pools` and `machinePolicy` name them (empty `pools`: the default
//!   pool; no `machinePolicy`: the default policy). `communicationStyle` is `TentacleActive`
//!   (default, `uri` must be `poll://...`) or `TentaclePassive` (`https://...`); `healthStatus`
//!   defaults to `Healthy`; `ageMs` dates `LastModifiedOn` and the last health check back.
//!   Seeds and registrations are not checked for duplicate names.
//! - `registrations` add a worker `afterMs` after the emulator started (applied by a timer and
//!   before every request, so state is right at request time).
//! - `actionTemplates` are bodies as POSTed to `/actiontemplates`.
//! - `faults`: `kind` is `latency` (`ms`), `stall` (`ms`), `status` (`code`, optional
//!   `retryAfterSeconds`), `drop`, `commitThen500` or `commitThenDrop`; see [`FaultKind`].
//!   `method` is optional; `path` defaults to `/**` (`*` = one segment, trailing `/**` = any
//!   suffix, matched case-insensitively against the path as sent); `rate` defaults to 1;
//!   `limit` caps how often it fires. Latency faults add up; the first other fault that fires
//!   decides the request. Fired fault names are recorded in [`LoggedRequest::fault`].
//!
//! # Choices where Octopus's behaviour is not documented
//!
//! - Lists sort like the server: spaces, workers, machine policies and step templates by name
//!   (case-insensitive), worker pools by `SortOrder`. An empty collection reports
//!   `NumberOfPages: 1, LastPageNumber: 0` (unverified).
//! - The root document carries `IsEarlyAccessProgram` (2026 schema) besides the 2023.1 keys.
//! - The duplicate-name text ("A machine named 'X' already exists in this space. Machine names
//!   must be unique within a space."), the 404 text, and the other validation texts besides
//!   "Please provide a thumbprint for this machine." and "Model Endpoint type does not match
//!   incoming type" are unverified.
//! - A body `SpaceId` that differs from the route's space is refused (400).
//! - A worker needs at least one existing `WorkerPoolIds` entry of its space (400 otherwise);
//!   a missing `MachinePolicyId` becomes the space's default policy.
//! - Worker POST/PUT keep every `Endpoint` field the client sent (unknown ones after the known
//!   ones) but drop unknown top-level fields. PUT ignores read-only fields (health, status,
//!   OS, top-level `Thumbprint`/`Uri`) and refuses a change of `CommunicationStyle`.
//! - Step templates keep only the fields of Octopus's model: an export's `$Meta`, `Category`,
//!   `StepPackageId`, GUID `Id` and `LastModifiedBy` are dropped; parameters without `Id` get a
//!   GUID; POST keeps a sent `Version` (default 0) and every PUT increments it. Names are unique
//!   per space (400).
//! - A read-only key gets 403 on every write ("Missing permission: ConfigureServer", or
//!   "ActionTemplateEdit" on `/actiontemplates`); a wrong bearer token gets the invalid-API-key
//!   401. `/api`, `/api/` and the ping are anonymous.
//! - `stall` sleeps and then closes the connection without handling the request, so a client
//!   that timed out can rely on nothing having been committed; `commitThen500` and
//!   `commitThenDrop` apply to whatever the request does (any method).
//! - Route segments are case-insensitive; `/api/spaces/{spaceId}/...` and legacy
//!   `/api/workers...` (default space) map onto `/api/{spaceId}/...`.

mod access;
mod app;
mod collection;
mod control;
mod demo;
mod error;
mod fault;
mod load;
mod query;
mod request_log;
mod routes;
mod routing;
mod scenario;
mod server;
mod service;
mod store;
mod timestamp;

pub use access::{Access, ApiKeySeed, Permission};
pub use app::{DEFAULT_ACCESS_TOKEN, DEFAULT_API_KEY, DEFAULT_READ_ONLY_API_KEY};
pub use control::{HeldLease, RequestHold};
pub use demo::DEMO_POOL;
pub use fault::{Fault, FaultKind};
pub use load::{ConcurrencyLimit, OutageKind, OutageSeed, OverLimit};
pub use request_log::{LoggedRequest, REQUEST_LOG_CAPACITY};
pub use scenario::{
    AccountSeed, DEFAULT_MACHINE_POLICY, DEFAULT_VERSION, DEFAULT_WORKER_POOL, DeregistrationSeed,
    DynamicPoolSeed, LeaseSeed, ProxySeed, RegistrationSeed, Scenario, SpaceSeed, WorkerSeed,
};
pub use server::Emulator;
