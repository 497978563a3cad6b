//! Octopus Deploy REST client shared by every octoshare step: server URL handling, credentials,
//! typed resources, paging, retries, error mapping and Octopus service messages.
//!
//! This crate never prints (logging goes through `tracing`) and never reads environment
//! variables; callers pass typed values. Only the client's link resolution builds URLs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), octoshare_core::ApiError> {
//! use octoshare_core::{Client, Credentials, Secret, ServerUrl};
//!
//! let server = ServerUrl::parse("https://octopus.example.com/")?;
//! let credentials = Credentials::ApiKey(Secret::new("API-XXXXXXXXXXXXXXXX".to_owned()));
//! let client = Client::builder(server, credentials).build()?;
//! for space in client.spaces().all().await? {
//!     tracing::info!(space = %space.name, "found space");
//! }
//! # Ok(())
//! # }
//! ```
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![warn(missing_docs)]

mod client;
mod clock;
mod credentials;
pub mod domain;
mod error;
mod page;
pub mod resources;
mod retry;
mod server_url;
pub mod service_message;

pub use client::{
    Client, ClientBuilder, ConcurrencyState, MAX_RESPONSE_BYTES, PROBE_INTERVAL_FACTOR,
    RequestCounts, WRITE_GRACE_PERIOD,
};
pub use clock::{Clock, SystemClock};
pub use credentials::{CredentialKind, Credentials, Secret};
pub use error::{ApiError, CertificateProblem, TransportKind, TransportSource};
pub use page::Page;
pub use resources::{
    Account, AccountId, AccountsHandler, ActionTemplate, ActionTemplateId, ActionTemplatesHandler,
    Endpoint, HealthStatus, MachinePoliciesHandler, MachinePolicy, MachinePolicyId, NewWorker,
    ProxiesHandler, Proxy, ProxyId, RootDocument, Space, SpaceId, SpacesHandler, Task, TaskId,
    TasksHandler, Worker, WorkerId, WorkerPool, WorkerPoolId, WorkerPoolSummary,
    WorkerPoolsHandler, WorkerTaskLease, WorkerTaskLeaseId, WorkerTaskLeasesHandler,
    WorkersHandler,
};
pub use retry::RetryPolicy;
pub use server_url::ServerUrl;
pub use service_message::{LogLevel, ParseError, ServiceMessage};
