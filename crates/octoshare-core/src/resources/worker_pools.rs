//! Worker pools: `WorkerPool`, `WorkerPoolId` and `WorkerPoolsHandler` (`/api/{space}/workerpools`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SpaceId, Worker, typed_id};
use crate::client::{Client, api_path, first_page_path};
use crate::error::ApiError;
use crate::page::null_as_default;

typed_id!(
    /// A worker pool id, `WorkerPools-<n>`.
    WorkerPoolId
);

/// A worker pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerPool {
    /// `WorkerPools-<n>`.
    pub id: WorkerPoolId,
    /// Display name.
    pub name: String,
    /// The owning space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
    /// Whether this is the space's default pool.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
    /// `StaticWorkerPool` or `DynamicWorkerPool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_pool_type: Option<String>,
    /// Whether workers can be added (false for dynamic pools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_add_workers: Option<bool>,
    /// Every other field, kept for round trips.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A worker pool's Id, name and type only, for code that searches pools by name: decoding it
/// skips every other field instead of keeping it, several times cheaper than [`WorkerPool`] per
/// pool (discover reads the pools of every space on the instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerPoolSummary {
    /// `WorkerPools-<n>`.
    pub id: WorkerPoolId,
    /// Display name.
    pub name: String,
    /// `StaticWorkerPool` or `DynamicWorkerPool`.
    #[serde(default)]
    pub worker_pool_type: Option<String>,
    /// Whether workers can be added (false for dynamic pools).
    #[serde(default)]
    pub can_add_workers: Option<bool>,
}

/// Operations on a space's worker pools; see [`Client::worker_pools`].
#[derive(Debug, Clone)]
pub struct WorkerPoolsHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> WorkerPoolsHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every pool of the space (`GET /api/{space}/workerpools/all`).
    pub fn all(&self) -> impl Future<Output = Result<Vec<WorkerPool>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workerpools", "all"]);
        async move { client.get_json(&path).await }
    }

    /// Every pool of the space, Id and name only (`GET /api/{space}/workerpools/all`, the same
    /// request as [`WorkerPoolsHandler::all`]).
    pub fn all_summaries(
        &self,
    ) -> impl Future<Output = Result<Vec<WorkerPoolSummary>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workerpools", "all"]);
        async move { client.get_json(&path).await }
    }

    /// Every worker in the pool, all pages (`GET /api/{space}/workerpools/{id}/workers`).
    pub fn workers(
        &self,
        pool: &WorkerPoolId,
    ) -> impl Future<Output = Result<Vec<Worker>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = first_page_path(&[self.space.as_str(), "workerpools", pool.as_str(), "workers"]);
        async move { client.all_pages(&path).await }
    }
}
