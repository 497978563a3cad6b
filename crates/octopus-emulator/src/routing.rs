//! Which route a request reaches and what it needs: the three route families mapped onto
//! `/api/{spaceId}/...`, and the permission each route requires.
//!
//! "Most space-scoped operations are routable three ways: the current
//! `/spaces/{spaceIdentifier}/…` route, an older `/{spaceId}/…` route, and a legacy route that
//! implicitly targets the default space" (`OctopusDeploy/docs: src/pages/docs/api/_README.md`).
//! Each generated page lists which of them an operation has ("Also reachable at"): worker task
//! leases have no legacy route. The 2020.5 swagger (`go-octopusdeploy: api/octopus_deploy.json`)
//! has no `/api/spaces/{id}/...` family at all, so a scenario can turn it off.

use axum::http::Method;

use crate::access::Permission;

/// Path segments the router matches literally; compared case-insensitively, as Octopus does.
const ROUTE_KEYWORDS: &[&str] = &[
    "api",
    "spaces",
    "all",
    "workers",
    "workerpools",
    "machinepolicies",
    "actiontemplates",
    "proxies",
    "accounts",
    "workertaskleases",
    "tasks",
    "cancel",
    "octopusservernodes",
    "ping",
    "users",
    "me",
];

/// Collections reachable as `/api/spaces/{spaceId}/<collection>` (generated API docs).
const SPACES_FAMILY_COLLECTIONS: &[&str] = &[
    "workers",
    "workerpools",
    "machinepolicies",
    "actiontemplates",
    "proxies",
    "accounts",
    "workertaskleases",
    "tasks",
];

/// Collections with a legacy route to the default space (`/api/workers`, ...).
const LEGACY_COLLECTIONS: &[&str] = &[
    "workers",
    "workerpools",
    "machinepolicies",
    "actiontemplates",
    "proxies",
    "accounts",
];

pub(crate) fn is_space_id(segment: &str) -> bool {
    segment.len() > 7
        && segment[..7].eq_ignore_ascii_case("spaces-")
        && segment[7..].bytes().all(|b| b.is_ascii_digit())
}

/// Maps the three route families onto `/api/{spaceId}/...`: legacy `/api/workers...` goes to
/// the default space, `/api/spaces/{spaceId}/workers...` drops its `spaces` segment (when the
/// family is served). Literal segments are lower-cased and trailing slashes dropped (except on
/// the root `/api/`). Anything else is left for the router to answer 404.
pub(crate) fn route_path(path: &str, default_space: Option<&str>, spaces_family: bool) -> String {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let lower = s.to_ascii_lowercase();
            if ROUTE_KEYWORDS.contains(&lower.as_str()) {
                lower
            } else {
                s.to_owned()
            }
        })
        .collect();
    if segments.first().map(String::as_str) != Some("api") {
        return path.to_owned();
    }
    if segments.len() == 1 {
        return if path.ends_with('/') { "/api/" } else { "/api" }.to_owned();
    }
    if segments.len() >= 4 && segments[1] == "spaces" && is_space_id(&segments[2]) {
        if spaces_family && SPACES_FAMILY_COLLECTIONS.contains(&segments[3].as_str()) {
            segments.remove(1);
        } else {
            // No such route: keep a path the router has no route for.
            segments.insert(1, "unrouted".into());
        }
    } else if LEGACY_COLLECTIONS.contains(&segments[1].as_str())
        && let Some(space) = default_space
    {
        segments.insert(1, space.to_owned());
    }
    format!("/{}", segments.join("/"))
}

/// What a (mapped) route needs from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Anyone, even without credentials.
    Anonymous,
    /// Any valid credentials (what the caller sees may still be filtered).
    Authenticated,
    /// A system permission.
    System(Permission),
    /// Some access in the space (space document, space root).
    SpaceMember(String),
    /// A permission in the space.
    Space(String, Permission),
    /// A task permission (`TaskView`, `TaskCancel`) in the task's space.
    Task(String, Permission),
}

fn edit_or_view(method: &Method, view: Permission, edit: Permission) -> Permission {
    if method == Method::GET || method == Method::HEAD {
        view
    } else {
        edit
    }
}

/// The requirement of a mapped path. Worker and worker-pool reads need `WorkerView`, writes
/// `WorkerEdit` (Octopus's descriptions: "View the workers in worker pools", "Edit workers and
/// worker pools"); leases are worker data (`WorkerView`, inferred).
pub(crate) fn requirement(method: &Method, path: &str) -> Requirement {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api"] | ["api", "octopusservernodes", "ping"] => Requirement::Anonymous,
        [first, ..] if *first != "api" => Requirement::Anonymous,
        ["api", "users", ..] => Requirement::Authenticated,
        ["api", "spaces"] if method == Method::POST => Requirement::System(Permission::SpaceCreate),
        ["api", "spaces"] | ["api", "spaces", "all"] => Requirement::Authenticated,
        ["api", "spaces", id] => Requirement::SpaceMember((*id).to_owned()),
        ["api", "tasks", id] => Requirement::Task((*id).to_owned(), Permission::TaskView),
        ["api", "tasks", id, "cancel"] => {
            Requirement::Task((*id).to_owned(), Permission::TaskCancel)
        }
        ["api", space] if is_space_id(space) => Requirement::SpaceMember((*space).to_owned()),
        ["api", space, collection, rest @ ..] if is_space_id(space) => {
            let space = (*space).to_owned();
            let permission = match *collection {
                "workers" | "workerpools" => {
                    edit_or_view(method, Permission::WorkerView, Permission::WorkerEdit)
                }
                "workertaskleases" => Permission::WorkerView,
                "machinepolicies" => edit_or_view(
                    method,
                    Permission::MachinePolicyView,
                    Permission::MachinePolicyEdit,
                ),
                "proxies" => edit_or_view(method, Permission::ProxyView, Permission::ProxyEdit),
                "accounts" => {
                    edit_or_view(method, Permission::AccountView, Permission::AccountEdit)
                }
                "actiontemplates" => match *method {
                    Method::POST => Permission::ActionTemplateCreate,
                    Method::PUT | Method::PATCH => Permission::ActionTemplateEdit,
                    Method::DELETE => Permission::ActionTemplateDelete,
                    _ => Permission::ActionTemplateView,
                },
                "tasks" => {
                    return match rest {
                        [id] => Requirement::Task((*id).to_owned(), Permission::TaskView),
                        [id, "cancel"] => {
                            Requirement::Task((*id).to_owned(), Permission::TaskCancel)
                        }
                        _ => Requirement::Authenticated,
                    };
                }
                _ => return Requirement::Authenticated,
            };
            Requirement::Space(space, permission)
        }
        _ => Requirement::Authenticated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_newer_routes_map_to_space_routes() {
        assert_eq!(
            route_path("/api/workers", Some("Spaces-1"), true),
            "/api/Spaces-1/workers"
        );
        assert_eq!(
            route_path("/API/Workers/Workers-3/", Some("Spaces-1"), true),
            "/api/Spaces-1/workers/Workers-3"
        );
        assert_eq!(
            route_path("/api/spaces/Spaces-2/workerpools/all", None, true),
            "/api/Spaces-2/workerpools/all"
        );
        assert_eq!(
            route_path("/api/spaces/Spaces-2", None, true),
            "/api/spaces/Spaces-2"
        );
        assert_eq!(route_path("/api/", None, true), "/api/");
        assert_eq!(route_path("/api/workers", None, true), "/api/workers");
    }

    #[test]
    fn routes_the_server_does_not_have_stay_unrouted() {
        assert_eq!(
            route_path("/api/spaces/Spaces-2/workers", None, false),
            "/api/unrouted/spaces/Spaces-2/workers"
        );
        assert_eq!(
            route_path("/api/spaces/Spaces-2/projects", None, true),
            "/api/unrouted/spaces/Spaces-2/projects"
        );
        // Worker task leases have no legacy route.
        assert_eq!(
            route_path("/api/workertaskleases", Some("Spaces-1"), true),
            "/api/workertaskleases"
        );
    }

    #[test]
    fn reads_need_view_and_writes_need_edit() {
        let space = "Spaces-1".to_owned();
        assert_eq!(
            requirement(&Method::GET, "/api/Spaces-1/workerpools/all"),
            Requirement::Space(space.clone(), Permission::WorkerView)
        );
        assert_eq!(
            requirement(&Method::PUT, "/api/Spaces-1/workers/Workers-1"),
            Requirement::Space(space.clone(), Permission::WorkerEdit)
        );
        assert_eq!(
            requirement(&Method::POST, "/api/Spaces-1/actiontemplates"),
            Requirement::Space(space, Permission::ActionTemplateCreate)
        );
        assert_eq!(
            requirement(&Method::POST, "/api/spaces"),
            Requirement::System(Permission::SpaceCreate)
        );
        assert_eq!(requirement(&Method::GET, "/api/"), Requirement::Anonymous);
    }
}
