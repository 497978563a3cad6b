//! Server tasks: `Task`, `TaskId` and `TasksHandler` (`/api/tasks`), as far as a worker's
//! retirement needs them: what a task holding a worker is, and cancelling it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SpaceId, typed_id};
use crate::client::{Client, api_path};
use crate::error::ApiError;
use crate::page::{deserialize_links, null_as_default};

typed_id!(
    /// A server task id, `ServerTasks-<n>`.
    TaskId
);

/// A server task (a deployment, a runbook run, a health check, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// `ServerTasks-<n>`.
    pub id: TaskId,
    /// The owning space (absent for system tasks and on old servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
    /// The task type, e.g. `Deploy`, `RunbookRun`, `Health`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// What it does, e.g. `Deploy Payments API 1.2.3 to Production`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// `Queued`, `Executing`, `Cancelling`, `Success`, `Failed`, `Canceled`, `TimedOut`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
    /// Whether the task has finished (successfully or not).
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_completed: bool,
    /// When it started (`2016-09-10T12:00:25.788+00:00`), if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Links (`Self`, `Cancel`, `Web`, ...).
    #[serde(default, deserialize_with = "deserialize_links")]
    pub links: std::collections::BTreeMap<String, String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Operations on server tasks; see [`Client::tasks`].
#[derive(Debug, Clone, Copy)]
pub struct TasksHandler<'a> {
    client: &'a Client,
}

impl<'a> TasksHandler<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// One task (`GET /api/tasks/{id}`; needs `TaskView` in the task's space).
    pub fn get(
        &self,
        id: &TaskId,
    ) -> impl Future<Output = Result<Task, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&["tasks", id.as_str()]);
        async move { client.get_json(&path).await }
    }

    /// Cancels a task (`POST` to its `Cancel` link, else `/api/tasks/{id}/cancel`; needs
    /// `TaskCancel`). Octopus ends the task and releases what it holds, its worker leases
    /// included. Never retried blindly: cancelling twice is harmless, but the caller re-reads
    /// the task when the outcome is unknown.
    pub fn cancel(
        &self,
        task: &Task,
    ) -> impl Future<Output = Result<Task, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = task
            .links
            .get("Cancel")
            .filter(|link| !link.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| api_path(&["tasks", task.id.as_str(), "cancel"]));
        async move { client.post_json(&path, &Value::Object(Map::new())).await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_task_decodes() {
        let task: Task = serde_json::from_str(
            r#"{"Id":"ServerTasks-252087","Name":"Deploy","Description":"Deploy OctoFX","State":"Success",
                "StartTime":"2016-09-10T12:00:25.788+00:00","IsCompleted":true,"ErrorMessage":"",
                "Links":{"Self":"/api/tasks/ServerTasks-252087","Cancel":"/api/tasks/ServerTasks-252087/cancel"}}"#,
        )
        .unwrap();
        assert_eq!(task.id.as_str(), "ServerTasks-252087");
        assert!(task.is_completed);
        assert_eq!(task.space_id, None);
        assert_eq!(task.links["Cancel"], "/api/tasks/ServerTasks-252087/cancel");
        assert!(task.extra.contains_key("ErrorMessage"));
    }
}
