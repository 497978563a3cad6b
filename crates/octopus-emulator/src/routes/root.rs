//! Root documents (`/api`, `/api/`, `/api/{spaceId}`), the current user and the node ping.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::access::Grant;
use crate::error::{ApiError, ROUTE_NOT_FOUND, json_response};
use crate::routes::{Answer, Shared, ok};
use crate::routing::is_space_id;
use crate::store::render::NODE_NAME;
use crate::timestamp;

/// Links of the root document, in a 2023.1 server's order; `true` marks space-scoped ones
/// (`{space}` is replaced by the space id).
const ROOT_LINKS: &[(&str, &str, bool)] = &[
    (
        "Accounts",
        "/api/{space}/accounts{/id}{?skip,take,ids,partialName,accountType}",
        true,
    ),
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
    (
        "Proxies",
        "/api/{space}/proxies{/id}{?skip,take,ids,partialName}",
        true,
    ),
    ("SpaceHome", "/api/{spaceId}", false),
    (
        "Spaces",
        "/api/spaces{/id}{?skip,ids,take,partialName}",
        false,
    ),
    (
        "Tasks",
        "/api/tasks{/id}{?skip,active,environment,tenant,runbook,project,name,node,running,states,hasPendingInterruptions,hasWarningsOrErrors,take,ids,partialName,spaces,includeSystem,description,fromCompletedDate,toCompletedDate,fromQueueDate,toQueueDate,fromStartDate,toStartDate}",
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

pub(crate) async fn root(State(app): Shared) -> Answer {
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

pub(crate) async fn space_root(State(app): Shared, Path(space): Path<String>) -> Answer {
    // `/api/{spaceId}` only exists for `Spaces-N` ids ("Must match `Spaces-\d+`", generated
    // `home.md`): anything else is a route the server does not have.
    if !is_space_id(&space) {
        return Err(ApiError::NotFound(ROUTE_NOT_FOUND.into()));
    }
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

/// `/api/users/me`: the user the key or token belongs to.
pub(crate) async fn current_user(Extension(grant): Extension<Grant>) -> Answer {
    let id = &grant.user_id;
    ok(&json!({
        "Id": id,
        "Username": grant.username,
        "DisplayName": grant.display_name,
        "IsActive": true,
        "IsService": false,
        "EmailAddress": format!("{}@example.com", grant.username),
        "CanPasswordBeEdited": true,
        "IsRequestor": true,
        "Identities": [],
        "Links": {
            "Self": format!("/api/users/{id}"),
            "Spaces": format!("/api/users/{id}/spaces"),
            "Permissions": format!("/api/users/{id}/permissions"),
            "ApiKeys": format!("/api/users/{id}/apikeys{{/id}}{{?skip,take}}"),
        }
    }))
}

pub(crate) async fn ping(State(app): Shared) -> Response {
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
