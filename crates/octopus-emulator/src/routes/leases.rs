//! Worker task leases and the tasks holding them.
//!
//! `GET /api/{spaceId}/workertaskleases?skip&take` (also `/api/spaces/{id}/workertaskleases`,
//! no legacy route) answers `{"WorkerTaskLeases": <ResourceCollection of WorkerTaskLease>}`;
//! each item has `Exclusive, Id, Name, ServerTaskId, SpaceId, TakenAt, WorkerId, WorkerPoolId`
//! (`OctopusDeploy/docs: src/pages/docs/api/_generated/worker-task-leases.md`). It is the
//! "worker task lease endpoint" released in 2024.2.5816 for "Make worker data available so a
//! worker's status can be determined before being safely deregistered"
//! (<https://github.com/OctopusDeploy/Issues/issues/7707>). The docs mark `skip` and `take` as
//! required; the emulator defaults them (0 and 30) like every other collection.
//!
//! A task is cancelled with `POST` to its `Cancel` link (`/api/tasks/{id}/cancel`; newer
//! clients use `/api/spaces/{spaceId}/tasks/{id}/cancel`), which needs `TaskCancel`.

use axum::extract::{Path, RawQuery, State};
use serde_json::json;

use crate::collection::{CollectionRoute, page};
use crate::error::ApiError;
use crate::query::Query;
use crate::routes::{Answer, Shared, ok};

const LEASE_PARAMETERS: &[&str] = &["skip", "take"];

pub(crate) async fn list(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let leases = store.leases(&space)?;
    let route = CollectionRoute {
        item_type: "WorkerTaskLease",
        path: format!("/api/{}/workertaskleases", store.space(&space)?.id),
        parameters: LEASE_PARAMETERS,
    };
    ok(&json!({ "WorkerTaskLeases": page(&route, &query, leases)? }))
}

/// `GET /api/tasks/{id}`.
pub(crate) async fn task(State(app): Shared, Path(id): Path<String>) -> Answer {
    ok(&app.store().task(&id)?.0)
}

/// `POST /api/tasks/{id}/cancel` (the task's `Cancel` link).
pub(crate) async fn cancel(State(app): Shared, Path(id): Path<String>) -> Answer {
    ok(&app.store().cancel_task(&id)?)
}

/// `POST /api/{spaceId}/tasks/{id}/cancel` (also `/api/spaces/{spaceId}/tasks/{id}/cancel`, the
/// route go-octopusdeploy's `tasks.Cancel` uses): cancels the task if it belongs to that space.
pub(crate) async fn space_cancel(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    let mut store = app.store();
    let space_id = store.space(&space)?.id.clone();
    let (_, task_space) = store.task(&id)?;
    if !task_space.eq_ignore_ascii_case(&space_id) {
        return Err(ApiError::not_found(&id));
    }
    ok(&store.cancel_task(&id)?)
}

/// `GET /api/{spaceId}/tasks/{id}`: the task, if it belongs to that space.
pub(crate) async fn space_task(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    let store = app.store();
    let space_id = store.space(&space)?.id.clone();
    let (task, task_space) = store.task(&id)?;
    if !task_space.eq_ignore_ascii_case(&space_id) {
        return Err(ApiError::not_found(&id));
    }
    ok(&task)
}
