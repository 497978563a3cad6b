//! Workers (`/api/{spaceId}/workers`, paged, `/all`, `/{id}` GET/PUT/DELETE, POST) and worker
//! pools (`/workerpools`, `/all`, `/{id}`, `/{id}/workers`).

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::Value;

use crate::access::Grant;
use crate::error::empty_ok;
use crate::query::Query;
use crate::routes::{Answer, Shared, created, name_filter, object_body, ok, paged, worker_filter};
use crate::store::WorkerFilter;

const WORKER_PARAMETERS: &[&str] = &[
    "skip",
    "take",
    "name",
    "ids",
    "partialName",
    "isDisabled",
    "healthStatuses",
    "commStyles",
    "workerPoolIds",
    "thumbprint",
    "shellNames",
];
const POOL_PARAMETERS: &[&str] = &["skip", "ids", "take", "partialName", "name"];
const POOL_WORKER_PARAMETERS: &[&str] = &[
    "skip",
    "take",
    "partialName",
    "isDisabled",
    "healthStatuses",
    "commStyles",
    "shellNames",
];

pub(crate) async fn list(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let filter = worker_filter(&query)?;
    let store = app.store();
    let workers = store.workers(&space, &filter)?;
    let path = format!("/api/{}/workers", store.space(&space)?.id);
    paged("Worker", path, WORKER_PARAMETERS, &query, workers)
}

pub(crate) async fn all(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let filter = WorkerFilter {
        ids: query.list("ids"),
        thumbprint: query.string("thumbprint").map(str::to_owned),
        ..WorkerFilter::default()
    };
    ok(&Value::Array(app.store().workers(&space, &filter)?))
}

pub(crate) async fn get_one(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    ok(&app.store().worker(&space, &id)?)
}

pub(crate) async fn create(
    State(app): Shared,
    Path(space): Path<String>,
    Extension(grant): Extension<Grant>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    created(&app.store().create_worker(&space, &body, &grant.username)?)
}

pub(crate) async fn update(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
    Extension(grant): Extension<Grant>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    ok(&app
        .store()
        .update_worker(&space, &id, &body, &grant.username)?)
}

pub(crate) async fn delete(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    app.store().delete_worker(&space, &id)?;
    Ok(empty_ok())
}

pub(crate) async fn list_pools(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let pools = store.worker_pools(&space, &name_filter(&query))?;
    let path = format!("/api/{}/workerpools", store.space(&space)?.id);
    paged("WorkerPool", path, POOL_PARAMETERS, &query, pools)
}

pub(crate) async fn all_pools(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    ok(&Value::Array(
        app.store().worker_pools(&space, &name_filter(&query))?,
    ))
}

pub(crate) async fn get_pool(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    ok(&app.store().worker_pool(&space, &id)?)
}

pub(crate) async fn pool_workers(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let filter = WorkerFilter {
        // The pool route has no name/ids/pool/thumbprint filters.
        name: None,
        ids: None,
        worker_pool_ids: None,
        thumbprint: None,
        ..worker_filter(&query)?
    };
    let store = app.store();
    let workers = store.pool_workers(&space, &id, filter)?;
    let pool = store.worker_pool(&space, &id)?;
    let path = format!(
        "/api/{}/workerpools/{}/workers",
        store.space(&space)?.id,
        pool["Id"].as_str().unwrap_or(&id)
    );
    paged("Worker", path, POOL_WORKER_PARAMETERS, &query, workers)
}
