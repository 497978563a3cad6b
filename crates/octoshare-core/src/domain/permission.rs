//! Which Octopus permission a refused request lacked, in which space: the server's own word
//! when its 403 names one ("... Missing permission: WorkerEdit"), otherwise the permission
//! Octopus checks for that request (worker and worker-pool reads `WorkerView`, worker writes
//! `WorkerEdit`, machine policies `MachinePolicyView`, proxies `ProxyView`, accounts
//! `AccountView`, ...; names from OctopusClients' `Permission.cs`, the route to permission
//! pairing from Octopus's built-in roles).
//!
//! These are *space* permissions: a key can hold `WorkerEdit` in one space and only
//! `WorkerView` in another, so a refusal always names the space it happened in.

use std::fmt;

use crate::error::ApiError;
use crate::resources::SpaceId;

/// An Octopus permission, by the name Octopus gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// View the workers in worker pools (worker and worker-pool reads, task leases).
    WorkerView,
    /// Edit workers and worker pools (every worker write).
    WorkerEdit,
    /// View health check (machine) policies.
    MachinePolicyView,
    /// Edit health check policies.
    MachinePolicyEdit,
    /// View proxies.
    ProxyView,
    /// Edit proxies.
    ProxyEdit,
    /// View accounts.
    AccountView,
    /// Edit accounts.
    AccountEdit,
    /// View step templates.
    ActionTemplateView,
    /// Create step templates.
    ActionTemplateCreate,
    /// Edit step templates.
    ActionTemplateEdit,
    /// Delete step templates.
    ActionTemplateDelete,
    /// View tasks.
    TaskView,
    /// Any other permission the server named, as it spelled it.
    Other(String),
}

const KNOWN: [Permission; 13] = [
    Permission::WorkerView,
    Permission::WorkerEdit,
    Permission::MachinePolicyView,
    Permission::MachinePolicyEdit,
    Permission::ProxyView,
    Permission::ProxyEdit,
    Permission::AccountView,
    Permission::AccountEdit,
    Permission::ActionTemplateView,
    Permission::ActionTemplateCreate,
    Permission::ActionTemplateEdit,
    Permission::ActionTemplateDelete,
    Permission::TaskView,
];

impl Permission {
    /// The name Octopus uses, e.g. `WorkerEdit`.
    pub fn name(&self) -> &str {
        match self {
            Permission::WorkerView => "WorkerView",
            Permission::WorkerEdit => "WorkerEdit",
            Permission::MachinePolicyView => "MachinePolicyView",
            Permission::MachinePolicyEdit => "MachinePolicyEdit",
            Permission::ProxyView => "ProxyView",
            Permission::ProxyEdit => "ProxyEdit",
            Permission::AccountView => "AccountView",
            Permission::AccountEdit => "AccountEdit",
            Permission::ActionTemplateView => "ActionTemplateView",
            Permission::ActionTemplateCreate => "ActionTemplateCreate",
            Permission::ActionTemplateEdit => "ActionTemplateEdit",
            Permission::ActionTemplateDelete => "ActionTemplateDelete",
            Permission::TaskView => "TaskView",
            Permission::Other(name) => name,
        }
    }

    /// The permission a name stands for (known names in any case; others kept as spelled).
    pub fn named(name: &str) -> Permission {
        let name = name.trim();
        KNOWN
            .into_iter()
            .find(|known| known.name().eq_ignore_ascii_case(name))
            .unwrap_or_else(|| Permission::Other(name.to_owned()))
    }

    /// The permission a server's refusal names: the word after `Missing permission:` (any
    /// case), as Octopus's 403 body says it.
    pub fn named_in(message: &str) -> Option<Permission> {
        const MARKER: &str = "missing permission:";
        let start = message.to_ascii_lowercase().find(MARKER)? + MARKER.len();
        let name: String = message[start..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        (!name.is_empty()).then(|| Permission::named(&name))
    }

    /// The space permission Octopus checks for `method` on `path` (a path and query as sent,
    /// a virtual directory before `/api` allowed), and the space the path names. `None` for a
    /// request that needs no space permission (the root document, listing spaces, ...).
    pub fn needed_by(method: &str, path: &str) -> Option<(Permission, Option<SpaceId>)> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let api = segments
            .iter()
            .position(|segment| segment.eq_ignore_ascii_case("api"))?;
        let mut rest = &segments[api + 1..];
        let mut space = None;
        if let [first, id, tail @ ..] = rest
            && first.eq_ignore_ascii_case("spaces")
            && super::parse_space_id(id).is_some()
            && !tail.is_empty()
        {
            space = super::parse_space_id(id);
            rest = tail;
        } else if let [id, tail @ ..] = rest
            && let Some(id) = super::parse_space_id(id)
        {
            space = Some(id);
            rest = tail;
        }
        let resource = rest.first()?.to_ascii_lowercase();
        let read = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
        let pick = |view: Permission, edit: Permission| if read { view } else { edit };
        let permission = match resource.as_str() {
            "workers" | "workerpools" | "workertaskleases" => {
                pick(Permission::WorkerView, Permission::WorkerEdit)
            }
            "machinepolicies" => pick(Permission::MachinePolicyView, Permission::MachinePolicyEdit),
            "proxies" => pick(Permission::ProxyView, Permission::ProxyEdit),
            "accounts" => pick(Permission::AccountView, Permission::AccountEdit),
            "actiontemplates" => match method.to_ascii_uppercase().as_str() {
                "POST" => Permission::ActionTemplateCreate,
                "PUT" => Permission::ActionTemplateEdit,
                "DELETE" => Permission::ActionTemplateDelete,
                _ => Permission::ActionTemplateView,
            },
            "tasks" => Permission::TaskView,
            _ => return None,
        };
        Some((permission, space))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A request refused for lack of a permission (403): which one, and in which space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRefusal {
    /// The permission: the one the server named, else the one the request needs.
    pub permission: Permission,
    /// Whether the server's answer named it.
    pub named_by_server: bool,
    /// The space the refused request was made in, when its path names one.
    pub space: Option<SpaceId>,
}

impl PermissionRefusal {
    /// The refusal behind a 403; `None` for any other error (a 401 is the key itself, not a
    /// permission) and for a 403 whose permission is neither named nor known for its request.
    pub fn of(error: &ApiError) -> Option<PermissionRefusal> {
        let ApiError::Forbidden {
            method,
            path,
            message,
        } = error
        else {
            return None;
        };
        PermissionRefusal::from_parts(method, path, message)
    }

    pub(crate) fn from_parts(method: &str, path: &str, message: &str) -> Option<PermissionRefusal> {
        let needed = Permission::needed_by(method, path);
        let space = needed.as_ref().and_then(|(_, space)| space.clone());
        match Permission::named_in(message) {
            Some(permission) => Some(PermissionRefusal {
                permission,
                named_by_server: true,
                space,
            }),
            None => needed.map(|(permission, space)| PermissionRefusal {
                permission,
                named_by_server: false,
                space,
            }),
        }
    }
}

impl fmt::Display for PermissionRefusal {
    /// `WorkerEdit in Spaces-2`, or `WorkerEdit` when no space is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.space {
            Some(space) => write!(f, "{} in {space}", self.permission),
            None => write!(f, "{}", self.permission),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_named_permission_wins() {
        assert_eq!(
            Permission::named_in(
                "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: WorkerEdit"
            ),
            Some(Permission::WorkerEdit)
        );
        assert_eq!(
            Permission::named_in("missing PERMISSION:   workerview."),
            Some(Permission::WorkerView)
        );
        assert_eq!(
            Permission::named_in("Missing permission: AdministerSystem"),
            Some(Permission::Other("AdministerSystem".to_owned()))
        );
        assert_eq!(Permission::named_in("permission denied"), None);
        assert_eq!(Permission::named_in("Missing permission: "), None);
    }

    #[test]
    fn routes_need_their_space_permission() {
        let needed = |method: &str, path: &str| Permission::needed_by(method, path);
        let space = Some(SpaceId::from("Spaces-2"));
        assert_eq!(
            needed("GET", "/api/Spaces-2/workerpools/all"),
            Some((Permission::WorkerView, space.clone()))
        );
        assert_eq!(
            needed("POST", "/octopus/api/spaces-2/workers"),
            Some((Permission::WorkerEdit, space.clone()))
        );
        assert_eq!(
            needed("PUT", "/api/spaces/Spaces-2/workers/Workers-1?x=1"),
            Some((Permission::WorkerEdit, space.clone()))
        );
        assert_eq!(
            needed("GET", "/api/Spaces-2/machinepolicies/all"),
            Some((Permission::MachinePolicyView, space.clone()))
        );
        assert_eq!(
            needed("GET", "/api/Spaces-2/proxies/all"),
            Some((Permission::ProxyView, space.clone()))
        );
        assert_eq!(
            needed("GET", "/api/Spaces-2/accounts/all"),
            Some((Permission::AccountView, space.clone()))
        );
        assert_eq!(
            needed("GET", "/api/workers/all"),
            Some((Permission::WorkerView, None))
        );
        assert_eq!(needed("GET", "/api/spaces/all"), None);
        assert_eq!(needed("GET", "/api/spaces/Spaces-2"), None);
        assert_eq!(needed("GET", "/api"), None);
    }

    #[test]
    fn a_refusal_names_the_permission_and_the_space() {
        let forbidden = |method: &str, path: &str, message: &str| ApiError::Forbidden {
            method: method.to_owned(),
            path: path.to_owned(),
            message: message.to_owned(),
        };
        let refusal = PermissionRefusal::of(&forbidden(
            "POST",
            "/api/Spaces-3/workers",
            "permission denied",
        ))
        .unwrap();
        assert_eq!(refusal.permission, Permission::WorkerEdit);
        assert!(!refusal.named_by_server);
        assert_eq!(refusal.to_string(), "WorkerEdit in Spaces-3");
        let named = PermissionRefusal::of(&forbidden(
            "GET",
            "/api/Spaces-3/workerpools/all",
            "Missing permission: WorkerView",
        ))
        .unwrap();
        assert!(named.named_by_server);
        assert_eq!(named.to_string(), "WorkerView in Spaces-3");
        let not_found = ApiError::NotFound {
            what: "GET /api/Spaces-3".to_owned(),
            message: "gone".to_owned(),
        };
        assert_eq!(PermissionRefusal::of(&not_found), None);
    }
}
