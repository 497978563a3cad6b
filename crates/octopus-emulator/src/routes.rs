//! The axum router: one handler per Octopus route. Requests reach it after the outer service
//! (see `server.rs`) has logged them, injected faults, authenticated them and mapped legacy
//! and `/api/spaces/{id}/...` routes onto `/api/{spaceId}/...`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Caller};
use crate::collection::{CollectionRoute, page};
use crate::error::{ApiError, empty_ok, error_response, json_response};
use crate::query::Query;
use crate::store::{NameFilter, WorkerFilter};
use crate::timestamp;

type Shared = State<Arc<App>>;
type Answer = Result<Response, ApiError>;

/// Name of the emulated server node (`Octopus-Node` header, ping body).
pub(crate) const NODE_NAME: &str = "EMULATOR";

const SPACE_PARAMETERS: &[&str] = &["skip", "ids", "take", "partialName", "name"];
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
const POLICY_PARAMETERS: &[&str] = &["skip", "take", "ids", "partialName", "name"];
const TEMPLATE_PARAMETERS: &[&str] = &["skip", "take", "ids", "partialName", "name"];

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api", get(root))
        .route("/api/", get(root))
        .route("/api/users/me", get(current_user))
        .route("/api/octopusservernodes/ping", get(ping))
        .route("/api/spaces", get(list_spaces))
        .route("/api/spaces/all", get(all_spaces))
        .route("/api/spaces/{id}", get(get_space))
        .route("/api/{space}", get(space_root))
        .route(
            "/api/{space}/workers",
            get(list_workers).post(create_worker),
        )
        .route("/api/{space}/workers/all", get(all_workers))
        .route(
            "/api/{space}/workers/{id}",
            get(get_worker).put(update_worker).delete(delete_worker),
        )
        .route("/api/{space}/workerpools", get(list_pools))
        .route("/api/{space}/workerpools/all", get(all_pools))
        .route("/api/{space}/workerpools/{id}", get(get_pool))
        .route("/api/{space}/workerpools/{id}/workers", get(pool_workers))
        .route("/api/{space}/machinepolicies", get(list_policies))
        .route("/api/{space}/machinepolicies/all", get(all_policies))
        .route("/api/{space}/machinepolicies/{id}", get(get_policy))
        .route(
            "/api/{space}/actiontemplates",
            get(list_templates).post(create_template),
        )
        .route("/api/{space}/actiontemplates/all", get(all_templates))
        .route(
            "/api/{space}/actiontemplates/{id}",
            get(get_template)
                .put(update_template)
                .delete(delete_template),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

fn ok(body: &Value) -> Answer {
    Ok(json_response(StatusCode::OK, body))
}

fn created(body: &Value) -> Answer {
    Ok(json_response(StatusCode::CREATED, body))
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "The resource you requested was not found.",
        &[],
    )
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "The requested HTTP method is not allowed for this resource.",
        &[],
    )
}

/// Parses a JSON object body; anything else is a 400 envelope.
fn object_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("No request body was supplied."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        )),
        Err(error) => Err(ApiError::bad_request(format!(
            "The request body is not valid JSON: {error}"
        ))),
    }
}

fn name_filter(query: &Query) -> NameFilter {
    NameFilter {
        name: query.string("name").map(str::to_owned),
        partial_name: query.string("partialName").map(str::to_owned),
        ids: query.list("ids"),
    }
}

fn worker_filter(query: &Query) -> Result<WorkerFilter, ApiError> {
    Ok(WorkerFilter {
        name: query.string("name").map(str::to_owned),
        partial_name: query.string("partialName").map(str::to_owned),
        ids: query.list("ids"),
        is_disabled: query.bool("isDisabled")?,
        health_statuses: query.list("healthStatuses"),
        comm_styles: query.list("commStyles"),
        worker_pool_ids: query.list("workerPoolIds"),
        thumbprint: query.string("thumbprint").map(str::to_owned),
        shell_names: query.list("shellNames"),
    })
}

fn paged(
    item_type: &'static str,
    path: String,
    parameters: &[&'static str],
    query: &Query,
    items: Vec<Value>,
) -> Answer {
    let route = CollectionRoute {
        item_type,
        path,
        parameters,
    };
    ok(&page(&route, query, items)?)
}

// ---- root documents ------------------------------------------------------------------------

/// Links of the root document, in a 2023.1 server's order; `true` marks space-scoped ones
/// (`{space}` is replaced by the space id).
const ROOT_LINKS: &[(&str, &str, bool)] = &[
    (
        "ActionTemplates",
        "/api/{space}/actiontemplates{/id}{?skip,take,ids,partialName}",
        true,
    ),
    (
        "ActionTemplatesCategories",
        "/api/{space}/actiontemplates/categories",
        true,
    ),
    (
        "ActionTemplatesSearch",
        "/api/{space}/actiontemplates/search{?type}",
        true,
    ),
    ("CurrentUser", "/api/users/me", false),
    (
        "DiscoverWorker",
        "/api/{space}/workers/discover{?host,port,type,proxyId}",
        true,
    ),
    (
        "MachinePolicies",
        "/api/{space}/machinepolicies{/id}{?skip,take,ids,partialName}",
        true,
    ),
    (
        "MachinePolicyTemplate",
        "/api/{space}/machinepolicies/template",
        true,
    ),
    (
        "OctopusServerClusterSummary",
        "/api/octopusservernodes/summary",
        false,
    ),
    (
        "OctopusServerNodes",
        "/api/octopusservernodes{/id}{?skip,take,ids,partialName}",
        false,
    ),
    ("SpaceHome", "/api/{spaceId}", false),
    (
        "Spaces",
        "/api/spaces{/id}{?skip,ids,take,partialName}",
        false,
    ),
    ("Web", "/app", false),
    (
        "WorkerOperatingSystems",
        "/api/{space}/workers/operatingsystem/names/all",
        true,
    ),
    (
        "WorkerPools",
        "/api/{space}/workerpools{/id}{?skip,ids,take,partialName}",
        true,
    ),
    (
        "WorkerPoolsDynamicWorkerTypes",
        "/api/{space}/workerpools/dynamicworkertypes",
        true,
    ),
    (
        "WorkerPoolsSortOrder",
        "/api/{space}/workerpools/sortorder",
        true,
    ),
    (
        "WorkerPoolsSummary",
        "/api/{space}/workerpools/summary{?ids,partialName,machinePartialName,isDisabled,healthStatuses,commStyles,hideEmptyWorkerPools,shellNames}",
        true,
    ),
    (
        "WorkerPoolsSupportedTypes",
        "/api/{space}/workerpools/supportedtypes",
        true,
    ),
    (
        "Workers",
        "/api/{space}/workers{/id}{?skip,take,name,ids,partialName,isDisabled,healthStatuses,commStyles,workerPoolIds,thumbprint,shellNames}",
        true,
    ),
    (
        "WorkerShells",
        "/api/{space}/workers/operatingsystem/shells/all",
        true,
    ),
];

fn space_scoped_links(space_id: &str, links: &mut Map<String, Value>) {
    for (name, template, _) in ROOT_LINKS.iter().filter(|(_, _, scoped)| *scoped) {
        links.insert((*name).into(), template.replace("{space}", space_id).into());
    }
}

async fn root(State(app): Shared) -> Answer {
    let default_space = app.store().default_space_id().map(str::to_owned);
    let mut links = Map::new();
    links.insert("Self".into(), "/api".into());
    for (name, template, scoped) in ROOT_LINKS {
        match (scoped, &default_space) {
            (false, _) => {
                links.insert((*name).into(), (*template).into());
            }
            (true, Some(space)) => {
                links.insert((*name).into(), template.replace("{space}", space).into());
            }
            (true, None) => {}
        }
    }
    ok(&json!({
        "Application": "Octopus Deploy",
        "Version": app.version,
        "ApiVersion": "3.0.0",
        "InstallationId": app.installation_id,
        "IsEarlyAccessProgram": false,
        "HasLongTermSupport": false,
        "Links": links,
    }))
}

async fn space_root(State(app): Shared, Path(space): Path<String>) -> Answer {
    let store = app.store();
    let space = store.space(&space)?;
    let mut links = Map::new();
    links.insert("Self".into(), format!("/api/{}", space.id).into());
    space_scoped_links(&space.id, &mut links);
    ok(&json!({
        "Id": space.id,
        "LastModifiedBy": null,
        "LastModifiedOn": null,
        "Links": links,
    }))
}

async fn current_user(Extension(caller): Extension<Caller>) -> Answer {
    let (id, display) = match caller {
        Caller::ReadOnly => ("Users-2", "Read-only User"),
        _ => ("Users-1", "Administrator"),
    };
    ok(&json!({
        "Id": id,
        "Username": caller.username(),
        "DisplayName": display,
        "IsActive": true,
        "IsService": false,
        "EmailAddress": format!("{}@example.com", caller.username()),
        "CanPasswordBeEdited": true,
        "IsRequestor": true,
        "Identities": [],
        "Links": {
            "Self": format!("/api/users/{id}"),
            "Permissions": format!("/api/users/{id}/permissions"),
            "ApiKeys": format!("/api/users/{id}/apikeys{{/id}}{{?skip,take}}"),
        }
    }))
}

async fn ping(State(app): Shared) -> Response {
    let draining = app.is_draining();
    let id = format!("OctopusServerNodes-{NODE_NAME}");
    let body = json!({
        "Id": id,
        "Name": NODE_NAME,
        "IsOffline": false,
        "IsInMaintenanceMode": draining,
        "MaxConcurrentTasks": 5,
        "LastSeen": timestamp::now(),
        "Version": app.version,
        "Links": { "Self": format!("/api/octopusservernodes/{id}") }
    });
    let status = if draining {
        StatusCode::IM_A_TEAPOT
    } else {
        StatusCode::OK
    };
    json_response(status, &body)
}

// ---- spaces --------------------------------------------------------------------------------

async fn list_spaces(State(app): Shared, RawQuery(raw): RawQuery) -> Answer {
    let query = Query::parse(raw.as_deref());
    let spaces = app.store().spaces(&name_filter(&query));
    paged(
        "Space",
        "/api/spaces".into(),
        SPACE_PARAMETERS,
        &query,
        spaces,
    )
}

async fn all_spaces(State(app): Shared, RawQuery(raw): RawQuery) -> Answer {
    let query = Query::parse(raw.as_deref());
    ok(&Value::Array(app.store().spaces(&name_filter(&query))))
}

async fn get_space(State(app): Shared, Path(id): Path<String>) -> Answer {
    let store = app.store();
    let space = store.space(&id)?;
    ok(&store.space_json(space))
}

// ---- worker pools --------------------------------------------------------------------------

async fn list_pools(
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

async fn all_pools(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    ok(&Value::Array(
        app.store().worker_pools(&space, &name_filter(&query))?,
    ))
}

async fn get_pool(State(app): Shared, Path((space, id)): Path<(String, String)>) -> Answer {
    ok(&app.store().worker_pool(&space, &id)?)
}

async fn pool_workers(
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

// ---- workers -------------------------------------------------------------------------------

async fn list_workers(
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

async fn all_workers(
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

async fn get_worker(State(app): Shared, Path((space, id)): Path<(String, String)>) -> Answer {
    ok(&app.store().worker(&space, &id)?)
}

async fn create_worker(
    State(app): Shared,
    Path(space): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    created(
        &app.store()
            .create_worker(&space, &body, caller.username())?,
    )
}

async fn update_worker(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    ok(&app
        .store()
        .update_worker(&space, &id, &body, caller.username())?)
}

async fn delete_worker(State(app): Shared, Path((space, id)): Path<(String, String)>) -> Answer {
    app.store().delete_worker(&space, &id)?;
    Ok(empty_ok())
}

// ---- machine policies ----------------------------------------------------------------------

async fn list_policies(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let policies = store.machine_policies(&space, &name_filter(&query))?;
    let path = format!("/api/{}/machinepolicies", store.space(&space)?.id);
    paged("MachinePolicy", path, POLICY_PARAMETERS, &query, policies)
}

async fn all_policies(State(app): Shared, Path(space): Path<String>) -> Answer {
    ok(&Value::Array(
        app.store()
            .machine_policies(&space, &NameFilter::default())?,
    ))
}

async fn get_policy(State(app): Shared, Path((space, id)): Path<(String, String)>) -> Answer {
    ok(&app.store().machine_policy(&space, &id)?)
}

// ---- action templates ----------------------------------------------------------------------

async fn list_templates(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let templates = store.action_templates(&space, &name_filter(&query))?;
    let path = format!("/api/{}/actiontemplates", store.space(&space)?.id);
    paged(
        "ActionTemplate",
        path,
        TEMPLATE_PARAMETERS,
        &query,
        templates,
    )
}

async fn all_templates(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    ok(&Value::Array(
        app.store().action_templates(&space, &name_filter(&query))?,
    ))
}

async fn get_template(State(app): Shared, Path((space, id)): Path<(String, String)>) -> Answer {
    ok(&app.store().action_template(&space, &id)?)
}

async fn create_template(
    State(app): Shared,
    Path(space): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    created(
        &app.store()
            .create_action_template(&space, &body, caller.username())?,
    )
}

async fn update_template(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    ok(&app
        .store()
        .update_action_template(&space, &id, &body, caller.username())?)
}

async fn delete_template(State(app): Shared, Path((space, id)): Path<(String, String)>) -> Answer {
    app.store().delete_action_template(&space, &id)?;
    Ok(empty_ok())
}
