//! Worker task leases: `WorkerTaskLease` and `WorkerTaskLeasesHandler`
//! (`/api/{space}/workertaskleases`).
//!
//! A lease is Octopus's record that a server task holds a worker; Octopus refuses to delete a
//! worker while one exists. The endpoint appeared in Octopus 2024.2.5816 ("Make worker data
//! available so a worker's status can be determined before being safely deregistered",
//! OctopusDeploy/Issues#7707); older servers answer 404. Its answer wraps the usual paged
//! collection: `{"WorkerTaskLeases": {"ItemType": "WorkerTaskLease", "Items": [...], ...}}`
//! (generated API docs, `worker-task-leases.md`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SpaceId, TaskId, WorkerId, WorkerPoolId, typed_id};
use crate::client::{Client, PAGE_SIZE, api_path};
use crate::error::ApiError;
use crate::page::{Page, null_as_default};

typed_id!(
    /// A worker task lease id, `WorkerTaskLeases-<n>`.
    WorkerTaskLeaseId
);

/// More pages than this while listing one space's leases is a paging loop.
const MAX_LEASE_PAGES: usize = 1_000;

/// A task's hold on a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerTaskLease {
    /// `WorkerTaskLeases-<n>`.
    pub id: WorkerTaskLeaseId,
    /// The space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
    /// The worker held.
    pub worker_id: WorkerId,
    /// The pool the worker was leased from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_pool_id: Option<WorkerPoolId>,
    /// The task holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_task_id: Option<TaskId>,
    /// The lease's name (the worker's name when it was taken).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Whether the task holds the worker alone.
    #[serde(default, deserialize_with = "null_as_default")]
    pub exclusive: bool,
    /// When it was taken (`2026-01-01T00:00:00.000+00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The lease endpoint's answer: the collection under one key.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LeasesAnswer {
    worker_task_leases: Page<WorkerTaskLease>,
}

/// Operations on a space's worker task leases; see [`Client::worker_task_leases`].
#[derive(Debug, Clone)]
pub struct WorkerTaskLeasesHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> WorkerTaskLeasesHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every lease of the space, all pages (`GET /api/{space}/workertaskleases?skip=0&take=30`
    /// and `Page.Next`; needs `WorkerView`). A server without the endpoint (before 2024.2)
    /// answers [`ApiError::NotFound`].
    pub fn all(
        &self,
    ) -> impl Future<Output = Result<Vec<WorkerTaskLease>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let first = format!(
            "{}?skip=0&take={PAGE_SIZE}",
            api_path(&[self.space.as_str(), "workertaskleases"])
        );
        async move {
            let paging_loop = || ApiError::PagingLoop {
                path: first.clone(),
            };
            let mut visited: HashSet<String> = HashSet::new();
            let mut leases = Vec::new();
            let mut next = Some(first.clone());
            while let Some(path) = next.take() {
                if visited.len() >= MAX_LEASE_PAGES || !visited.insert(path.clone()) {
                    return Err(paging_loop());
                }
                let answer: LeasesAnswer = client.get_json(&path).await?;
                let page = answer.worker_task_leases;
                let empty = page.items.is_empty();
                next = page.next_link().map(str::to_owned);
                if empty && next.is_some() {
                    return Err(paging_loop());
                }
                leases.extend(page.items);
            }
            Ok(leases)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_answer_decodes() {
        let answer: LeasesAnswer = serde_json::from_str(
            r#"{"WorkerTaskLeases":{"ItemType":"WorkerTaskLease","TotalResults":1,"ItemsPerPage":30,
                "NumberOfPages":1,"LastPageNumber":0,
                "Items":[{"Id":"WorkerTaskLeases-1","SpaceId":"Spaces-2","WorkerId":"Workers-1",
                  "WorkerPoolId":"WorkerPools-4","ServerTaskId":"ServerTasks-1","Name":"busy",
                  "Exclusive":false,"TakenAt":"2026-01-01T00:00:00.000+00:00"}],
                "Links":{"Self":"/api/Spaces-2/workertaskleases?skip=0&take=30"}}}"#,
        )
        .unwrap();
        let lease = &answer.worker_task_leases.items[0];
        assert_eq!(lease.worker_id.as_str(), "Workers-1");
        assert_eq!(
            lease.server_task_id.as_ref().map(TaskId::as_str),
            Some("ServerTasks-1")
        );
        assert_eq!(
            lease.taken_at.as_deref(),
            Some("2026-01-01T00:00:00.000+00:00")
        );
        assert_eq!(answer.worker_task_leases.next_link(), None);
    }
}
