//! The axum router: one handler per Octopus route. Requests reach it after the outer service
//! (`service.rs`) has logged them, applied load and faults, authenticated and authorised them
//! and mapped legacy and `/api/spaces/{id}/...` routes onto `/api/{spaceId}/...`. A route the
//! server does not have answers 404.

mod leases;
mod library;
mod root;
mod spaces;
mod workers;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use crate::app::App;
use crate::collection::{CollectionRoute, page};
use crate::error::{ApiError, ROUTE_NOT_FOUND, error_response, json_response};
use crate::query::Query;
use crate::store::{NameFilter, WorkerFilter};

type Shared = State<Arc<App>>;
type Answer = Result<Response, ApiError>;

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api", get(root::root))
        .route("/api/", get(root::root))
        .route("/api/users/me", get(root::current_user))
        .route("/api/users/{id}/spaces", get(spaces::user_spaces))
        .route("/api/octopusservernodes/ping", get(root::ping))
        .route("/api/spaces", get(spaces::list).post(spaces::create))
        .route("/api/spaces/all", get(spaces::all))
        .route("/api/spaces/{id}", get(spaces::get_one))
        .route("/api/tasks/{id}", get(leases::task))
        .route("/api/tasks/{id}/cancel", post(leases::cancel))
        .route("/api/{space}", get(root::space_root))
        .route(
            "/api/{space}/workers",
            get(workers::list).post(workers::create),
        )
        .route("/api/{space}/workers/all", get(workers::all))
        .route(
            "/api/{space}/workers/{id}",
            get(workers::get_one)
                .put(workers::update)
                .delete(workers::delete),
        )
        .route("/api/{space}/workerpools", get(workers::list_pools))
        .route("/api/{space}/workerpools/all", get(workers::all_pools))
        .route("/api/{space}/workerpools/{id}", get(workers::get_pool))
        .route(
            "/api/{space}/workerpools/{id}/workers",
            get(workers::pool_workers),
        )
        .route("/api/{space}/workertaskleases", get(leases::list))
        .route("/api/{space}/tasks/{id}", get(leases::space_task))
        .route("/api/{space}/tasks/{id}/cancel", post(leases::space_cancel))
        .route("/api/{space}/machinepolicies", get(library::list_policies))
        .route(
            "/api/{space}/machinepolicies/all",
            get(library::all_policies),
        )
        .route(
            "/api/{space}/machinepolicies/{id}",
            get(library::get_policy),
        )
        .route("/api/{space}/proxies", get(library::list_proxies))
        .route("/api/{space}/proxies/all", get(library::all_proxies))
        .route("/api/{space}/proxies/{id}", get(library::get_proxy))
        .route("/api/{space}/accounts", get(library::list_accounts))
        .route("/api/{space}/accounts/all", get(library::all_accounts))
        .route("/api/{space}/accounts/{id}", get(library::get_account))
        .route(
            "/api/{space}/actiontemplates",
            get(library::list_templates).post(library::create_template),
        )
        .route(
            "/api/{space}/actiontemplates/all",
            get(library::all_templates),
        )
        .route(
            "/api/{space}/actiontemplates/{id}",
            get(library::get_template)
                .put(library::update_template)
                .delete(library::delete_template),
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
    error_response(StatusCode::NOT_FOUND, ROUTE_NOT_FOUND, &[])
}

async fn method_not_allowed() -> Response {
    // Emulator's own text (OctopusClients maps 405 to its own exception; the body is unverified).
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "The requested HTTP method is not allowed for this resource.",
        &[],
    )
}

/// Parses a JSON object body; anything else is a 400 envelope ("No request body was
/// supplied." is one of the 400 texts in the 2020.5 swagger).
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
