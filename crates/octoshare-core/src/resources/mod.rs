//! Octopus resources: one file per resource with its model, typed id and handler.

pub mod accounts;
pub mod action_templates;
pub mod machine_policies;
pub mod proxies;
pub mod root;
pub mod spaces;
pub mod tasks;
pub mod worker_pools;
pub mod worker_task_leases;
pub mod workers;

pub use accounts::{Account, AccountId, AccountsHandler};
pub use action_templates::{ActionTemplate, ActionTemplateId, ActionTemplatesHandler};
pub use machine_policies::{MachinePoliciesHandler, MachinePolicy, MachinePolicyId};
pub use proxies::{ProxiesHandler, Proxy, ProxyId};
pub use root::RootDocument;
pub use spaces::{Space, SpaceId, SpacesHandler};
pub use tasks::{Task, TaskId, TasksHandler};
pub use worker_pools::{WorkerPool, WorkerPoolId, WorkerPoolSummary, WorkerPoolsHandler};
pub use worker_task_leases::{WorkerTaskLease, WorkerTaskLeaseId, WorkerTaskLeasesHandler};
pub use workers::{Endpoint, HealthStatus, NewWorker, Worker, WorkerId, WorkersHandler};

/// Defines a typed resource id: a `String` newtype, serde-transparent.
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id string.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use typed_id;
