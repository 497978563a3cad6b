//! An in-process emulator of the Octopus Deploy REST API, for tests, benchmarks and
//! `octoshare demo`.
//!
//! It serves the routes octoshare and Octopus's own clients use, with Octopus's shapes and key
//! order: the `/api` and `/api/{spaceId}` root documents; spaces (listed as the caller may see
//! them; `POST /api/spaces`); worker pools (static and dynamic); workers of every kind
//! (polling and listening Tentacles, SSH, Kubernetes agents, any other style verbatim);
//! machine policies; proxies; accounts; step templates; worker task leases and the tasks
//! holding them; `/api/octopusservernodes/ping`, `/api/users/me` and `/api/users/{id}/spaces`.
//! Collections are paged or `/all` arrays; keys and bearer tokens carry per-space permissions
//! with Octopus's 401/403 bodies; validation errors are `{"ErrorMessage", "Errors"}`. Load
//! (a concurrency cap, latency that grows with load), outages and injected faults make it
//! misbehave on purpose. It is written from Octopus's documented shapes and shares no types
//! with the octoshare client.
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
//! `crates/octopus-emulator/scenarios/example.json`; `octoshare emulator` serves such files).
//! Unknown fields are errors that name their path (`spaces[0].workers[1]: unknown field ...`).
//! Every field is optional except a space's `name`, a worker's `name` and its kind's identity
//! (see below), a proxy's `name`/`host`, an account's `name`/`accountType`/`username`, a lease's
//! `worker`:
//!
//! ```json
#![doc = include_str!("../scenarios/example.json")]
//! ```
//!
//! Top level:
//! - `seed` seeds the generator deciding faults with `rate < 1` (and generated GUIDs): the same
//!   seed and request sequence give the same faults.
//! - `latencyMs` delays every request; `latencyPerInFlightMs` adds that much per other request
//!   already in flight when a request is admitted (a server slowing down under load).
//! - `concurrencyLimit`: at most `maxInFlight` requests are handled at once (latency included);
//!   `overLimit: "reject"` (default) answers the others at once with `status` (default 429)
//!   and `Retry-After: retryAfterSeconds` if set, committing nothing (logged with fault
//!   `concurrencyLimit`); `overLimit: "queue"` makes them wait for a free slot.
//! - `rejectDuplicateNames` (default `true`) refuses a second worker with the same name
//!   (trimmed, case-insensitive) in a space.
//! - `spacesRouteFamily` (default `true`): serve `/api/spaces/{spaceId}/...`; `false` models a
//!   server before that route family (the 2020.5 swagger has none), answering 404.
//! - `workerTaskLeases` (default `true`): serve `/api/{spaceId}/workertaskleases`; `false`
//!   models a server before 2024.2.5816, answering 404.
//! - `version`, `draining` (ping answers 418).
//! - `apiKey`, `readOnlyApiKey`, `accessToken` replace the built-in credentials
//!   ([`DEFAULT_API_KEY`]: every permission everywhere; [`DEFAULT_READ_ONLY_API_KEY`]: every
//!   `...View` permission everywhere; [`DEFAULT_ACCESS_TOKEN`]: admin bearer token).
//! - `apiKeys`: more credentials ([`ApiKeySeed`]), each a `key` (`X-Octopus-ApiKey` or
//!   `?apikey=`) or an `accessToken` (`Authorization: Bearer`), with `user`, `defaultAccess`,
//!   `spaces` (space name → access) and `systemPermissions` (`SpaceView`, `SpaceCreate`).
//!   An access ([`Access`]) is `"full"` (every space permission), `"readOnly"` (every
//!   `...View`), `"none"` or a list of [`Permission`] names.
//! - `faults`: `kind` is `latency` (`ms`), `stall` (`ms`), `status` (`code`, optional
//!   `retryAfterSeconds`), `drop`, `commitThen500` or `commitThenDrop`; see [`FaultKind`].
//!   `method` is optional; `path` defaults to `/**` (`*` = one segment, trailing `/**` = any
//!   suffix, matched case-insensitively against the path as sent); `rate` defaults to 1;
//!   `limit` caps how often it fires. Latency faults add up; the first other fault that fires
//!   decides the request. Fired fault names are recorded in [`LoggedRequest::fault`].
//! - `outages` ([`OutageSeed`]): from `afterMs` for `durationMs`, every request (even `/api`)
//!   is dropped (`kind: "drop"`) or answered with `code` (`kind: "status"`, default 503,
//!   optional `retryAfterSeconds`); logged with fault `outage`.
//!
//! Spaces get ids `Spaces-1..` in file order (spaces with `createdAfterMs` get theirs when they
//! appear) and always have "Default Worker Pool" and "Default Machine Policy" (both
//! `IsDefault: true`). A space holds:
//! - `workerPools` (static, in sort order) and `dynamicWorkerPools` (`name`, `workerType`;
//!   `WorkerPoolType: DynamicWorkerPool`, `CanAddWorkers: false`, after the static ones);
//! - `machinePolicies`, `proxies` (`name`, `host`, `port` default 80, `username`; `ProxyType`
//!   is `HTTP`), `accounts` (`name`, `accountType` `SshKeyPair` or `UsernamePassword`,
//!   `username`); ids are global: `Proxies-N`, `Accounts-N`;
//! - `workers` ([`WorkerSeed`]): `pools` and `machinePolicy` by name (empty `pools`: the default
//!   pool; no `machinePolicy`: the default policy), `healthStatus` (default `Healthy`),
//!   `isDisabled`, `ageMs` (dates `LastModifiedOn` and the last health check back). By
//!   `communicationStyle`:
//!   - `TentacleActive` (default): `uri` (`poll://...`) and `thumbprint`;
//!   - `TentaclePassive`: `uri` (`https://...`), `thumbprint`, optional `proxy`;
//!   - `Ssh`: `host`, `port` (default 22), `fingerprint`, `account`, optional `proxy` and
//!     `dotNetCorePlatform`;
//!   - `KubernetesTentacle`: `uri`, `thumbprint`, `communicationMode` (`Polling` default, or
//!     `Listening` with an optional `proxy`), `defaultNamespace`;
//!   - any other style: its `endpoint` object, served verbatim.
//!
//!   Seeds are not checked for duplicate names.
//! - `registrations` add a worker `afterMs` after start; `deregistrations` remove every worker
//!   named `worker` `afterMs` after start (both applied by a timer and before every request, so
//!   state is right at request time; a scheduled space's schedule also counts from the start).
//! - `leases` ([`LeaseSeed`]): a task lease on the worker named `worker` from `afterMs`, held
//!   `untilMs` or until [`Emulator::release_lease`]; `taskName`/`taskDescription` describe the
//!   holding task, `orphaned: true` makes that task already `Canceled` while the lease stays,
//!   `exclusive`, `pool`.
//! - `actionTemplates` are bodies as POSTed to `/actiontemplates`.
//! - `createdAfterMs`: the space appears that long after start.
//!
//! # Permissions
//!
//! Every route needs a permission in its space: worker and worker-pool reads `WorkerView`,
//! worker writes `WorkerEdit`, leases `WorkerView`, machine policies `MachinePolicyView`,
//! proxies `ProxyView`, accounts `AccountView`, step templates `ActionTemplateView` /
//! `ActionTemplateCreate` / `ActionTemplateEdit` / `ActionTemplateDelete`, tasks `TaskView` (and
//! `TaskCancel` to cancel one) in the task's space, the space document and space root some access in the space, `POST
//! /api/spaces` the system permission `SpaceCreate`. A refusal is 403 with
//! `{"ErrorMessage": "You do not have permission to perform this action. Please contact your
//! Octopus administrator. Missing permission: WorkerView", "Errors": [], "HelpText": "This
//! action requires permission to view the workers in worker pools."}`. `/api/spaces` and
//! `/api/spaces/all` list only the spaces the caller has some access in (every space with
//! `SpaceView`). A request into a space that does not exist is 404 whatever the key.
//!
//! # Task leases
//!
//! `GET /api/{spaceId}/workertaskleases?skip=0&take=30` answers `{"WorkerTaskLeases":
//! <collection>}` whose items are `{Id, SpaceId, WorkerId, WorkerPoolId, ServerTaskId, Name,
//! Exclusive, TakenAt}`; `GET /api/tasks/{id}` (and `/api/{spaceId}/tasks/{id}`) answers the
//! holding task (`State: Executing` while held, `Success` once released, `Canceled` for an
//! orphaned lease). `DELETE` of a leased worker is refused with 400 ("The worker 'w'
//! (Workers-1) is currently in use by task ServerTasks-1 and cannot be deleted. Try again when
//! the task has finished."); PUT (e.g. `IsDisabled: true`) is allowed. `POST
//! /api/tasks/{id}/cancel` (the task's `Cancel` link; also under `/api/{spaceId}/tasks/`, with
//! `TaskCancel`) ends a running task as `Canceled` and releases its leases; an orphaned lease
//! stays. The request log shows the order a client disabled, polled and deleted.
//!
//! # Runtime control
//!
//! From Rust, a running [`Emulator`] can: add spaces ([`Emulator::add_space`]), add and remove
//! workers, hold and release leases, add keys and change their access
//! ([`Emulator::add_scoped_key`], [`Emulator::set_access`]), start and end an outage
//! ([`Emulator::begin_outage`]), change the concurrency cap and latencies, report requests in
//! flight, queued, the peak and the refusals, hold every admitted request
//! ([`Emulator::hold_requests`]) or only the writes ([`Emulator::hold_writes`]) and wait for a condition on the request log
//! ([`Emulator::wait_for_requests`]), so tests build concurrency without timing windows.
//!
//! # Choices where Octopus's behaviour is not documented
//!
//! - Lists sort like the server: spaces, workers, machine policies, proxies, accounts and step
//!   templates by name (case-insensitive), worker pools by `SortOrder`. An empty collection
//!   reports `NumberOfPages: 1, LastPageNumber: 0` (unverified).
//! - Page links are `Self, Template, Page.All, Page.Previous` (after the first page),
//!   `Page.Next` (when another page exists), `Page.Current, Page.Last`. `Page.Previous` is what
//!   3.x servers sent; whether 2026 servers still send it is unverified.
//! - The root document carries `IsEarlyAccessProgram` (2026 schema) besides the 2023.1 keys.
//! - Texts taken from Octopus's sources: the 401s, the 403 (with `HelpText`), "There was a
//!   problem with your request.", "Please provide a thumbprint for this machine.", "Model
//!   Endpoint type does not match incoming type", "The resource 'X' was not found." (unknown
//!   ids). Every other text is the emulator's own, in Octopus's style (the source comments say
//!   which): the duplicate-name, dynamic-pool, cross-space proxy/account, busy-worker, SSH and
//!   Kubernetes-agent validation texts, the 404 of an unknown route, the 429/503 bodies.
//! - A body `SpaceId` that differs from the route's space is refused (400).
//! - A worker needs at least one existing static `WorkerPoolIds` entry of its space (400
//!   otherwise); a missing `MachinePolicyId` becomes the space's default policy; a `ProxyId`
//!   or `AccountId` must name one of the worker's space.
//! - Worker POST/PUT keep every `Endpoint` field the client sent (unknown ones after the known
//!   ones) but drop unknown top-level fields. PUT ignores read-only fields (health, status,
//!   OS) and the top-level `Thumbprint`/`Uri`: the endpoint wins (OctopusClients marks them
//!   "Obsoleted as Server 3.4"; the 2026 PUT schema has no such fields). It refuses a change of
//!   `CommunicationStyle`. Top-level `Thumbprint`/`Uri` mirror a Tentacle endpoint and are
//!   `null` for every other kind, the Kubernetes agent included (unverified); the `thumbprint`
//!   filter matches a Kubernetes agent's `TentacleEndpointConfiguration.Thumbprint`.
//! - An SSH endpoint's `Uri` is computed as `ssh://host:port/`; a healthy seeded Kubernetes
//!   agent gets `KubernetesAgentDetails`, a healthy Tentacle `TentacleVersionDetails`.
//! - Step templates keep only the fields of Octopus's model: an export's `$Meta`, `Category`,
//!   `StepPackageId`, GUID `Id` and `LastModifiedBy` are dropped; parameters without `Id` get a
//!   GUID; POST keeps a sent `Version` (default 0) and every PUT increments it. Names are unique
//!   per space (400).
//! - A space the caller has no access in answers 403 naming `SpaceView` on its document and
//!   root (the server might answer 404); a wrong bearer token gets the invalid-API-key 401.
//!   `/api`, `/api/` and the ping are anonymous.
//! - `stall` sleeps and then closes the connection without handling the request, so a client
//!   that timed out can rely on nothing having been committed; `commitThen500` and
//!   `commitThenDrop` apply to whatever the request does (any method).
//! - Route segments are case-insensitive; `/api/spaces/{spaceId}/...` and legacy
//!   `/api/workers...` (default space) map onto `/api/{spaceId}/...` for the collections the
//!   generated API docs list under "Also reachable at" (leases have no legacy route).

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
pub use demo::{DEMO_API_KEY, DEMO_POOL, DEMO_PROXY};
pub use fault::{Fault, FaultKind};
pub use load::{ConcurrencyLimit, OutageKind, OutageSeed, OverLimit};
pub use request_log::{LoggedRequest, REQUEST_LOG_CAPACITY};
pub use scenario::{
    AccountSeed, DEFAULT_MACHINE_POLICY, DEFAULT_VERSION, DEFAULT_WORKER_POOL, DeregistrationSeed,
    DynamicPoolSeed, LeaseSeed, ProxySeed, RegistrationSeed, Scenario, SpaceSeed, WorkerSeed,
};
pub use server::Emulator;
