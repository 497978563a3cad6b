//! Who may do what: Octopus's permission names, per-space access levels and the API keys
//! (or bearer tokens) a scenario defines.
//!
//! Permission names and descriptions are Octopus's own
//! (`OctopusDeploy/OctopusClients: source/Octopus.Server.Client/Model/Permission.cs`); which
//! permission each route needs follows Octopus's built-in roles
//! (`OctopusDeploy/docs: src/pages/docs/security/users-and-teams/default-permissions.md`:
//! "Environment viewer" holds `WorkerView`, `ProxyView`, `AccountView`, `MachinePolicyView`;
//! "Environment manager" adds `WorkerEdit`, `ProxyEdit`, ...).

use std::collections::BTreeMap;
use std::fmt;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// An Octopus permission the emulator checks. Space permissions apply per space; `SpaceView`
/// and `SpaceCreate` are system permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Permission {
    /// View the workers in worker pools (worker and worker-pool reads, task leases).
    WorkerView,
    /// Edit workers and worker pools (every worker write).
    WorkerEdit,
    /// View health check policies (machine policy reads).
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
    /// View summary-level information associated with a task.
    TaskView,
    /// Cancel server tasks.
    TaskCancel,
    /// View spaces (system): list every space, not only those the key has access in.
    SpaceView,
    /// Create spaces (system).
    SpaceCreate,
}

/// Every space permission, in Octopus's order within the built-in roles.
const SPACE_PERMISSIONS: [Permission; 14] = [
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
    Permission::TaskCancel,
];

impl Permission {
    /// The name Octopus uses (`WorkerView`, ...), as in "Missing permission: WorkerView".
    pub fn name(self) -> &'static str {
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
            Permission::TaskCancel => "TaskCancel",
            Permission::SpaceView => "SpaceView",
            Permission::SpaceCreate => "SpaceCreate",
        }
    }

    /// Octopus's description of the permission (`Permission.cs`).
    pub fn description(self) -> &'static str {
        match self {
            Permission::WorkerView => "View the workers in worker pools",
            Permission::WorkerEdit => "Edit workers and worker pools",
            Permission::MachinePolicyView => "View health check policies",
            Permission::MachinePolicyEdit => "Edit health check policies",
            Permission::ProxyView => "View proxies",
            Permission::ProxyEdit => "Edit proxies",
            Permission::AccountView => "View accounts",
            Permission::AccountEdit => "Edit accounts",
            Permission::ActionTemplateView => "View step templates",
            Permission::ActionTemplateCreate => "Create step templates",
            Permission::ActionTemplateEdit => "Edit step templates",
            Permission::ActionTemplateDelete => "Delete step templates",
            Permission::TaskView => "View summary-level information associated with a task",
            Permission::TaskCancel => "Cancel server tasks",
            Permission::SpaceView => "View spaces",
            Permission::SpaceCreate => "Create spaces",
        }
    }

    /// Whether the permission only reads (`...View`).
    pub fn is_view(self) -> bool {
        self.name().ends_with("View")
    }

    /// Whether the permission applies per space (every one but `SpaceView`/`SpaceCreate`).
    pub fn is_space_permission(self) -> bool {
        SPACE_PERMISSIONS.contains(&self)
    }

    /// The `HelpText` of a 403 naming this permission: "This action requires permission to "
    /// and the description with a lower-case first letter (the shape of the `AdministerSystem`
    /// 403 quoted in <https://github.com/OctopusDeploy/Issues/issues/7311>; the other
    /// permissions' texts are inferred from it).
    pub(crate) fn help_text(self) -> String {
        let description = self.description();
        let mut chars = description.chars();
        let lowered = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect::<String>(),
            None => String::new(),
        };
        format!("This action requires permission to {lowered}.")
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a key may do in one space.
///
/// In scenario files: `"full"`, `"readOnly"`, `"none"`, or a list of permission names
/// (`["WorkerView", "ProxyView"]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Access {
    /// Every space permission (an "Environment manager" and more).
    Full,
    /// Every `...View` space permission, no edit (an "Environment viewer").
    ReadOnly,
    /// No permission: the space is not listed and every request into it is refused.
    #[default]
    None,
    /// Exactly these permissions.
    Only(Vec<Permission>),
}

impl Access {
    /// Whether this access grants `permission`.
    pub fn grants(&self, permission: Permission) -> bool {
        match self {
            Access::Full => permission.is_space_permission(),
            Access::ReadOnly => permission.is_space_permission() && permission.is_view(),
            Access::None => false,
            Access::Only(permissions) => permissions.contains(&permission),
        }
    }

    /// Whether the key has any permission in the space (so the space is listed for it).
    pub fn any(&self) -> bool {
        match self {
            Access::Full | Access::ReadOnly => true,
            Access::None => false,
            Access::Only(permissions) => !permissions.is_empty(),
        }
    }
}

/// The scenario-file form of [`Access`].
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum AccessDocument {
    Level(String),
    Permissions(Vec<Permission>),
}

impl Serialize for Access {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let document = match self {
            Access::Full => AccessDocument::Level("full".into()),
            Access::ReadOnly => AccessDocument::Level("readOnly".into()),
            Access::None => AccessDocument::Level("none".into()),
            Access::Only(permissions) => AccessDocument::Permissions(permissions.clone()),
        };
        document.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Access {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = AccessDocument::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected \"full\", \"readOnly\", \"none\" or a list of permission names such as [\"WorkerView\"]",
            )
        })?;
        match document {
            AccessDocument::Level(level) => match level.as_str() {
                "full" => Ok(Access::Full),
                "readOnly" => Ok(Access::ReadOnly),
                "none" => Ok(Access::None),
                other => Err(serde::de::Error::custom(format!(
                    "unknown access level `{other}`, expected full, readOnly, none or a list of permission names"
                ))),
            },
            AccessDocument::Permissions(permissions) => Ok(Access::Only(permissions)),
        }
    }
}

/// An API key (or bearer token) with per-space access, as a scenario defines it.
///
/// ```
/// use octopus_emulator::{Access, ApiKeySeed, Permission};
///
/// let key = ApiKeySeed::api_key("API-SCOPEDKEY000000000000000000001")
///     .user("ci-bot")
///     .space("Payments", Access::Full)
///     .space("Mobile", Access::ReadOnly)
///     .space("Sandbox", Access::Only(vec![Permission::WorkerView]));
/// // Every other space: no access (hidden from /api/spaces, 403 inside).
/// # let _ = key;
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeySeed {
    /// Accepted as `X-Octopus-ApiKey` or `?apikey=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// Accepted as `Authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    /// Username (`/api/users/me`, `LastModifiedBy`); default `apikey-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    /// Access in every space not listed in `spaces` (also spaces created later).
    #[serde(default)]
    default_access: Access,
    /// Access per space, by space name.
    #[serde(default)]
    spaces: BTreeMap<String, Access>,
    /// System permissions: `SpaceView` (list every space) and/or `SpaceCreate`.
    #[serde(default)]
    system_permissions: Vec<Permission>,
}

impl ApiKeySeed {
    /// A key sent as `X-Octopus-ApiKey` (or `?apikey=`), with no access anywhere yet.
    pub fn api_key(key: &str) -> Self {
        ApiKeySeed {
            key: Some(key.to_owned()),
            access_token: None,
            user: None,
            default_access: Access::None,
            spaces: BTreeMap::new(),
            system_permissions: Vec::new(),
        }
    }

    /// A token sent as `Authorization: Bearer <token>`, with no access anywhere yet.
    pub fn access_token(token: &str) -> Self {
        ApiKeySeed {
            key: None,
            access_token: Some(token.to_owned()),
            ..ApiKeySeed::api_key("")
        }
    }

    /// Sets the username the key acts as.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    /// Sets the access in the named space.
    pub fn space(mut self, space_name: &str, access: Access) -> Self {
        self.spaces.insert(space_name.to_owned(), access);
        self
    }

    /// Sets the access in every space not named with [`ApiKeySeed::space`].
    pub fn default_access(mut self, access: Access) -> Self {
        self.default_access = access;
        self
    }

    /// Grants a system permission (`SpaceView` or `SpaceCreate`).
    pub fn system_permission(mut self, permission: Permission) -> Self {
        if !self.system_permissions.contains(&permission) {
            self.system_permissions.push(permission);
        }
        self
    }

    /// The API key, if this is one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The bearer token, if this is one.
    pub fn token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    pub(crate) fn user_name(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn validate(&self, space_names: &[&str]) -> anyhow::Result<()> {
        match (&self.key, &self.access_token) {
            (Some(key), None) if !key.trim().is_empty() => {}
            (None, Some(token)) if !token.trim().is_empty() => {}
            (Some(_), Some(_)) => bail!("set either `key` or `accessToken`, not both"),
            _ => bail!("needs a non-empty `key` or `accessToken`"),
        }
        for name in self.spaces.keys() {
            if !space_names
                .iter()
                .any(|space| space.trim().eq_ignore_ascii_case(name.trim()))
            {
                bail!("`spaces`: the scenario has no space named '{name}'");
            }
        }
        if let Some(permission) = self
            .system_permissions
            .iter()
            .find(|p| p.is_space_permission())
        {
            bail!(
                "`systemPermissions`: {permission} is a space permission; give it per space in `spaces` or `defaultAccess`"
            );
        }
        Ok(())
    }
}

/// What one caller may do, resolved when the request is authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    /// `Users-N`.
    pub(crate) user_id: String,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) scope: Scope,
}

#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// `/api`, `/api/`, the ping: no credentials needed.
    Anonymous,
    /// Every permission in every space, and every system permission.
    Administrator,
    /// Access per space name (lower-cased, trimmed), a default, and system permissions.
    Scoped {
        default_access: Access,
        spaces: BTreeMap<String, Access>,
        system: Vec<Permission>,
    },
}

impl Grant {
    pub(crate) fn anonymous() -> Self {
        Grant {
            user_id: "Users-0".into(),
            username: "anonymous".into(),
            display_name: "Anonymous".into(),
            scope: Scope::Anonymous,
        }
    }

    pub(crate) fn administrator(user_id: &str, username: &str) -> Self {
        Grant {
            user_id: user_id.into(),
            username: username.into(),
            display_name: "Administrator".into(),
            scope: Scope::Administrator,
        }
    }

    /// Access of a scoped key built from a seed.
    pub(crate) fn scoped(user_id: String, seed: &ApiKeySeed, fallback_name: &str) -> Self {
        let username = seed.user_name().unwrap_or(fallback_name).to_owned();
        Grant {
            user_id,
            display_name: username.clone(),
            username,
            scope: Scope::Scoped {
                default_access: seed.default_access.clone(),
                spaces: seed
                    .spaces
                    .iter()
                    .map(|(name, access)| (space_key(name), access.clone()))
                    .collect(),
                system: seed.system_permissions.clone(),
            },
        }
    }

    /// The access this caller has in the space with this name.
    pub(crate) fn access_in(&self, space_name: &str) -> Access {
        match &self.scope {
            Scope::Anonymous => Access::None,
            Scope::Administrator => Access::Full,
            Scope::Scoped {
                default_access,
                spaces,
                ..
            } => spaces
                .get(&space_key(space_name))
                .cloned()
                .unwrap_or_else(|| default_access.clone()),
        }
    }

    /// Whether the caller holds a system permission.
    pub(crate) fn has_system(&self, permission: Permission) -> bool {
        match &self.scope {
            Scope::Anonymous => false,
            Scope::Administrator => true,
            Scope::Scoped { system, .. } => system.contains(&permission),
        }
    }

    /// Whether `/api/spaces` lists this space for the caller: every space with `SpaceView`,
    /// otherwise the spaces the caller has some access in.
    pub(crate) fn sees_space(&self, space_name: &str) -> bool {
        self.has_system(Permission::SpaceView) || self.access_in(space_name).any()
    }
}

/// How access maps are keyed: trimmed, lower-cased space names.
pub(crate) fn space_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Sets the access in one space on a scoped grant (runtime changes).
pub(crate) fn set_space_access(grant: &mut Grant, space_name: &str, access: Access) -> bool {
    match &mut grant.scope {
        Scope::Scoped { spaces, .. } => {
            spaces.insert(space_key(space_name), access);
            true
        }
        Scope::Anonymous | Scope::Administrator => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_text_lowers_the_first_letter_of_the_description() {
        assert_eq!(
            Permission::WorkerView.help_text(),
            "This action requires permission to view the workers in worker pools."
        );
    }

    #[test]
    fn access_levels_round_trip_and_grant_what_they_say() {
        for (text, access) in [
            ("\"full\"", Access::Full),
            ("\"readOnly\"", Access::ReadOnly),
            ("\"none\"", Access::None),
            (
                "[\"WorkerView\"]",
                Access::Only(vec![Permission::WorkerView]),
            ),
        ] {
            let parsed: Access = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(parsed, access);
            assert_eq!(serde_json::to_string(&access).unwrap_or_default(), text);
        }
        assert!(Access::ReadOnly.grants(Permission::WorkerView));
        assert!(!Access::ReadOnly.grants(Permission::WorkerEdit));
        assert!(!Access::Full.grants(Permission::SpaceCreate));
        assert!(serde_json::from_str::<Access>("\"owner\"").is_err());
    }
}
