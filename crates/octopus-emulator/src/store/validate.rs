//! Request bodies checked as the server checks them, and endpoints put in the server's shape.
//!
//! Texts taken from Octopus's sources say where they come from; every other text is the
//! emulator's own (no public source records the server's wording) and says so.

use serde_json::{Map, Value, json};

use crate::store::filter::same_name;
use crate::store::model::{Space, Worker};

/// Every `CommunicationStyle` Octopus knows (generated `workers.md`).
pub(crate) const COMMUNICATION_STYLES: [&str; 13] = [
    "None",
    "TentaclePassive",
    "TentacleActive",
    "Ssh",
    "OfflineDrop",
    "AzureWebApp",
    "Ftp",
    "AzureCloudService",
    "AzureServiceFabricCluster",
    "Kubernetes",
    "StepPackage",
    "KubernetesTentacle",
    "AwsEcsCluster",
];

/// "Please provide a thumbprint for this machine." — the `[Required]` message of
/// `OctopusClients: Model/Endpoints/TentacleEndpointResource.cs` and
/// `TentacleEndpointConfigurationResource.cs`.
pub(crate) const THUMBPRINT_REQUIRED: &str = "Please provide a thumbprint for this machine.";
/// A PUT that changes the endpoint's type (<https://github.com/OctopusDeploy/Issues/issues/9613>).
pub(crate) const ENDPOINT_TYPE_CHANGED: &str = "Model Endpoint type does not match incoming type";

/// A validated worker body (POST or PUT).
#[derive(Debug)]
pub(crate) struct WorkerInput {
    pub(crate) name: String,
    pub(crate) endpoint: Map<String, Value>,
    pub(crate) worker_pool_ids: Vec<String>,
    pub(crate) machine_policy_id: String,
    pub(crate) is_disabled: bool,
    pub(crate) slug: Option<String>,
    pub(crate) skip_initial_health_check: bool,
}

impl WorkerInput {
    /// Validates a body against `space`; `existing` is the worker a PUT replaces.
    ///
    /// The top-level `Thumbprint`/`Uri` of the body are ignored: OctopusClients marks them
    /// "Obsoleted as Server 3.4" (`Model/MachineBasedResource.cs`) and the 2026 server's PUT
    /// and POST schemas (generated `workers.md`) have no such fields, so the endpoint wins
    /// when they disagree; responses mirror the endpoint's values.
    pub(crate) fn parse(
        space: &Space,
        body: &Map<String, Value>,
        existing: Option<&Worker>,
    ) -> Result<WorkerInput, Vec<String>> {
        let mut errors = Vec::new();
        check_space_id(space, body, &mut errors);
        if let Some(existing) = existing
            && let Some(id) = body.get("Id").filter(|id| !id.is_null())
            && id
                .as_str()
                .is_none_or(|id| !id.eq_ignore_ascii_case(&existing.id))
        {
            // Emulator's own text.
            errors.push(format!(
                "The Id in the request body ({id}) does not match the Id in the route ({}).",
                existing.id
            ));
        }

        let name = match body.get("Name").and_then(Value::as_str).map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                // The `[Required]` message of older OctopusClients `MachineBasedResource.Name`;
                // the current server's wording is unverified.
                errors.push("Please provide a name for this machine.".into());
                String::new()
            }
        };

        let endpoint = match body.get("Endpoint") {
            Some(Value::Object(endpoint)) => {
                validate_endpoint(space, endpoint, existing, &mut errors);
                fill_endpoint(endpoint.clone())
            }
            _ => {
                // Emulator's own text.
                errors.push("Please provide an endpoint for this machine.".into());
                Map::new()
            }
        };

        let mut worker_pool_ids = Vec::new();
        match body.get("WorkerPoolIds") {
            Some(Value::Array(ids)) if !ids.is_empty() => {
                for id in ids {
                    match id.as_str().and_then(|id| space.pool(id)) {
                        Some(pool) if pool.is_dynamic() => {
                            // Emulator's own text: Octopus refuses workers in a dynamic pool
                            // (`CanAddWorkers: false`), but its wording is not public.
                            errors.push(format!(
                                "The worker pool '{}' ({}) is a dynamic worker pool; workers cannot be added to it.",
                                pool.name, pool.id
                            ));
                        }
                        Some(pool) => {
                            if !worker_pool_ids.contains(&pool.id) {
                                worker_pool_ids.push(pool.id.clone());
                            }
                        }
                        None => errors.push(format!(
                            // Emulator's own text.
                            "The worker pool '{}' could not be found in space {}.",
                            id.as_str().map_or_else(|| id.to_string(), str::to_owned),
                            space.id
                        )),
                    }
                }
            }
            Some(Value::Array(_)) | None | Some(Value::Null) => {
                // Emulator's own text.
                errors.push("Please select at least one worker pool for this worker.".into());
            }
            Some(_) => errors.push("WorkerPoolIds must be an array of worker pool ids.".into()),
        }

        let machine_policy_id = match body.get("MachinePolicyId") {
            None | Some(Value::Null) => existing
                .map(|w| w.machine_policy_id.clone())
                .or_else(|| space.default_policy().map(|p| p.id.clone()))
                .unwrap_or_default(),
            Some(value) => {
                let found = value.as_str().and_then(|id| {
                    space
                        .policies
                        .iter()
                        .find(|p| p.id.eq_ignore_ascii_case(id))
                });
                match found {
                    Some(policy) => policy.id.clone(),
                    None => {
                        // Emulator's own text.
                        errors.push(format!(
                            "The machine policy '{}' could not be found in space {}.",
                            value
                                .as_str()
                                .map_or_else(|| value.to_string(), str::to_owned),
                            space.id
                        ));
                        String::new()
                    }
                }
            }
        };

        let is_disabled = optional_bool(body, "IsDisabled", &mut errors).unwrap_or(false);
        let skip_initial_health_check =
            optional_bool(body, "SkipInitialHealthCheck", &mut errors).unwrap_or(false);
        let slug = body
            .get("Slug")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|slug| !slug.is_empty())
            .map(str::to_owned);

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WorkerInput {
            name,
            endpoint,
            worker_pool_ids,
            machine_policy_id,
            is_disabled,
            slug,
            skip_initial_health_check,
        })
    }
}

/// Refuses a second worker with the same name (trimmed, case-insensitive) in the space.
pub(crate) fn check_unique_worker_name(
    space: &Space,
    name: &str,
    except: Option<&str>,
) -> Result<(), String> {
    let taken = space
        .workers
        .iter()
        .any(|w| Some(w.id.as_str()) != except && same_name(&w.name, name));
    if taken {
        // Emulator's own text; the 2.x server said "A machine named 'X' already exists. Please
        // choose a different name." (https://github.com/OctopusDeploy/Issues/issues/2455).
        return Err(format!(
            "A machine named '{}' already exists in this space. Machine names must be unique within a space.",
            name.trim()
        ));
    }
    Ok(())
}

pub(crate) fn check_space_id(space: &Space, body: &Map<String, Value>, errors: &mut Vec<String>) {
    if let Some(value) = body.get("SpaceId").filter(|v| !v.is_null())
        && value
            .as_str()
            .is_none_or(|id| !id.eq_ignore_ascii_case(&space.id))
    {
        // Emulator's own text.
        errors.push(format!(
            "The SpaceId in the request body ({value}) does not match the space in the route ({}).",
            space.id
        ));
    }
}

pub(crate) fn optional_bool(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<String>,
) -> Option<bool> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(value)) => Some(*value),
        Some(other) => {
            errors.push(format!("{field} must be true or false (got {other})."));
            None
        }
    }
}

fn non_empty_str<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    object
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// A `ProxyId`/`AccountId` must name a proxy/account of the worker's own space: proxies and
/// accounts are space-scoped (`OctopusDeploy/docs: administration/spaces`: "If a resource isn't
/// listed below, then it's space-scoped"), so one of another space is not found.
fn check_reference(
    space: &Space,
    endpoint: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<String>,
) {
    let Some(value) = endpoint.get(field).filter(|v| !v.is_null()) else {
        return;
    };
    let id = value.as_str().unwrap_or_default();
    let found = match field {
        "ProxyId" => space.proxy(id).is_some(),
        _ => space.account(id).is_some(),
    };
    if !found {
        let what = if field == "ProxyId" {
            "proxy"
        } else {
            "account"
        };
        // Emulator's own text (the server's is not public).
        errors.push(format!(
            "The {what} '{}' could not be found in space {}.",
            value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned),
            space.id
        ));
    }
}

fn validate_endpoint(
    space: &Space,
    endpoint: &Map<String, Value>,
    existing: Option<&Worker>,
    errors: &mut Vec<String>,
) {
    let Some(style) = endpoint.get("CommunicationStyle").and_then(Value::as_str) else {
        // Emulator's own text.
        errors.push("Please provide a CommunicationStyle for the endpoint.".into());
        return;
    };
    if !COMMUNICATION_STYLES.contains(&style) {
        // Emulator's own text.
        errors.push(format!("'{style}' is not a valid CommunicationStyle."));
        return;
    }
    if let Some(existing) = existing
        && existing.style() != style
    {
        errors.push(ENDPOINT_TYPE_CHANGED.into());
        return;
    }
    match style {
        "TentacleActive" | "TentaclePassive" => {
            validate_tentacle_fields(endpoint, errors);
            if style == "TentaclePassive" {
                check_reference(space, endpoint, "ProxyId", errors);
            }
        }
        "Ssh" => {
            // Emulator's own texts for the SSH fields.
            if non_empty_str(endpoint, "Host").is_none() {
                errors.push("Please provide a host name for this machine.".into());
            }
            match endpoint.get("Port").and_then(Value::as_u64) {
                Some(1..=65535) => {}
                _ => errors.push("Please provide a port between 1 and 65535.".into()),
            }
            if non_empty_str(endpoint, "Fingerprint").is_none() {
                errors.push("Please provide the SSH host key fingerprint for this machine.".into());
            }
            if non_empty_str(endpoint, "AccountId").is_none() {
                errors.push("Please select an account for this machine.".into());
            } else {
                check_reference(space, endpoint, "AccountId", errors);
            }
            check_reference(space, endpoint, "ProxyId", errors);
        }
        "KubernetesTentacle" => match endpoint.get("TentacleEndpointConfiguration") {
            Some(Value::Object(configuration)) => {
                match configuration
                    .get("CommunicationMode")
                    .and_then(Value::as_str)
                {
                    Some("Polling") => {}
                    Some("Listening") => check_reference(space, configuration, "ProxyId", errors),
                    // Emulator's own text; the values are `TentacleCommunicationModeResource`'s.
                    other => errors.push(format!(
                        "'{}' is not a valid CommunicationMode; expected Polling or Listening.",
                        other.unwrap_or_default()
                    )),
                }
                validate_tentacle_fields(configuration, errors);
            }
            // Emulator's own text.
            _ => errors.push(
                "Please provide a TentacleEndpointConfiguration for this Kubernetes agent.".into(),
            ),
        },
        _ => {}
    }
}

fn validate_tentacle_fields(endpoint: &Map<String, Value>, errors: &mut Vec<String>) {
    if non_empty_str(endpoint, "Thumbprint").is_none() {
        errors.push(THUMBPRINT_REQUIRED.into());
    }
    if non_empty_str(endpoint, "Uri").is_none() {
        // Emulator's own text.
        errors.push("Please provide a URI for this machine.".into());
    }
}

/// Takes `known` fields from `sent` in this order (absent ones as `default`), then keeps every
/// other field the client sent, then the resource trailer (`Id`, `LastModifiedOn`,
/// `LastModifiedBy`, `Links`).
fn ordered(
    mut sent: Map<String, Value>,
    known: &[(&str, Value)],
    trailer: bool,
) -> Map<String, Value> {
    let mut filled = Map::new();
    for (field, default) in known {
        let value = sent.remove(*field).unwrap_or_else(|| default.clone());
        filled.insert((*field).to_owned(), value);
    }
    let mut trailing = Map::new();
    if trailer {
        for field in ["Id", "LastModifiedOn", "LastModifiedBy", "Links"] {
            let default = if field == "Links" {
                json!({})
            } else {
                Value::Null
            };
            trailing.insert(field.to_owned(), sent.remove(field).unwrap_or(default));
        }
    }
    filled.extend(sent);
    filled.extend(trailing);
    filled
}

/// Puts an endpoint's fields in the server's order with server defaults for what the client
/// left out, keeping every other field the client sent (after the known ones):
///
/// - `TentacleActive`: `CommunicationStyle, Uri, Thumbprint, TentacleVersionDetails,
///   CertificateSignatureAlgorithm` (reference notes on polling endpoints);
/// - `TentaclePassive`: the same with `ProxyId` after `Uri` (fixture
///   `worker-listening-tentaclepassive.json`);
/// - `Ssh`: `CommunicationStyle, AccountId, Host, Port, Fingerprint, Uri, ProxyId,
///   DotNetCorePlatform` (fixture `worker-ssh.json`); `Uri` is computed as `ssh://host:port/`
///   (`SshEndpointResource.Uri` builds it with `UriBuilder`, which lower-cases the host);
/// - `KubernetesTentacle`: `CommunicationStyle, TentacleEndpointConfiguration
///   {CommunicationMode, Thumbprint, Uri, [ProxyId,] CertificateSignatureAlgorithm},
///   KubernetesAgentDetails, UpgradeLocked, DefaultNamespace` (the members of
///   `KubernetesTentacleEndpointResource` and `TentacleEndpointConfigurationResource` in
///   OctopusClients, and of `go-octopusdeploy: pkg/machines/kubernetes_tentacle_endpoint.go`;
///   the exact order is inferred);
/// - any other style: as sent.
pub(crate) fn fill_endpoint(mut sent: Map<String, Value>) -> Map<String, Value> {
    let style = sent
        .get("CommunicationStyle")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let style_value = Value::String(style.clone());
    match style.as_str() {
        "TentacleActive" => ordered(
            sent,
            &[
                ("CommunicationStyle", style_value),
                ("Uri", Value::Null),
                ("Thumbprint", Value::Null),
                ("TentacleVersionDetails", Value::Null),
                ("CertificateSignatureAlgorithm", Value::Null),
            ],
            true,
        ),
        "TentaclePassive" => ordered(
            sent,
            &[
                ("CommunicationStyle", style_value),
                ("Uri", Value::Null),
                ("ProxyId", Value::Null),
                ("Thumbprint", Value::Null),
                ("TentacleVersionDetails", Value::Null),
                ("CertificateSignatureAlgorithm", Value::Null),
            ],
            true,
        ),
        "Ssh" => {
            let host = non_empty_str(&sent, "Host").map(str::to_lowercase);
            let port = sent.get("Port").and_then(Value::as_u64);
            let uri = match (host, port) {
                (Some(host), Some(port)) => Value::String(format!("ssh://{host}:{port}/")),
                _ => Value::Null,
            };
            sent.remove("Uri");
            ordered(
                sent,
                &[
                    ("CommunicationStyle", style_value),
                    ("AccountId", Value::Null),
                    ("Host", Value::Null),
                    ("Port", Value::Null),
                    ("Fingerprint", Value::Null),
                    ("Uri", uri),
                    ("ProxyId", Value::Null),
                    ("DotNetCorePlatform", Value::Null),
                ],
                true,
            )
        }
        "KubernetesTentacle" => {
            let configuration = match sent.remove("TentacleEndpointConfiguration") {
                Some(Value::Object(configuration)) => {
                    let listening = configuration
                        .get("CommunicationMode")
                        .and_then(Value::as_str)
                        == Some("Listening");
                    let mut known = vec![
                        ("CommunicationMode", Value::Null),
                        ("Thumbprint", Value::Null),
                        ("Uri", Value::Null),
                    ];
                    if listening {
                        known.push(("ProxyId", Value::Null));
                    }
                    known.push(("CertificateSignatureAlgorithm", Value::Null));
                    Value::Object(ordered(configuration, &known, false))
                }
                other => other.unwrap_or(Value::Null),
            };
            ordered(
                sent,
                &[
                    ("CommunicationStyle", style_value),
                    ("TentacleEndpointConfiguration", configuration),
                    ("KubernetesAgentDetails", Value::Null),
                    ("UpgradeLocked", Value::Bool(false)),
                    ("DefaultNamespace", Value::Null),
                ],
                true,
            )
        }
        _ => ordered(sent, &[("CommunicationStyle", style_value)], true),
    }
}

/// Fields a step template keeps; anything else (`$Meta`, `Category`, `StepPackageId`, an
/// export's GUID `Id`, `LastModifiedBy`, ...) is dropped, as the server's model would.
const TEMPLATE_FIELDS: [&str; 10] = [
    "Description",
    "ActionType",
    "CommunityActionTemplateId",
    "Packages",
    "GitDependencies",
    "Properties",
    "Parameters",
    "StepPackageVersion",
    "Inputs",
    "Version",
];

/// A validated step template body (POST or PUT).
#[derive(Debug)]
pub(crate) struct TemplateInput {
    pub(crate) name: String,
    pub(crate) version: Option<u64>,
    pub(crate) fields: Map<String, Value>,
}

impl TemplateInput {
    pub(crate) fn parse(
        space: &Space,
        body: &Map<String, Value>,
        existing: Option<&str>,
    ) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        check_space_id(space, body, &mut errors);
        if let Some(existing) = existing
            && let Some(id) = body.get("Id").filter(|id| !id.is_null())
            && id
                .as_str()
                .is_none_or(|id| !id.eq_ignore_ascii_case(existing))
        {
            errors.push(format!(
                "The Id in the request body ({id}) does not match the Id in the route ({existing})."
            ));
        }
        let name = match body.get("Name").and_then(Value::as_str).map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                // `OctopusClients: Model/ActionTemplateResource.cs` `[Required]` message.
                errors.push("Please provide a name for the template.".into());
                String::new()
            }
        };
        if body
            .get("ActionType")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty())
        {
            // `OctopusClients: Model/ActionTemplateResource.cs` `[Required]` message.
            errors.push("Please provide an action type.".into());
        }
        for (field, expected_object) in [
            ("Properties", true),
            ("Parameters", false),
            ("Packages", false),
            ("GitDependencies", false),
        ] {
            match (body.get(field), expected_object) {
                (None | Some(Value::Null), _)
                | (Some(Value::Object(_)), true)
                | (Some(Value::Array(_)), false) => {}
                _ => errors.push(format!(
                    "{field} must be {}.",
                    if expected_object {
                        "an object"
                    } else {
                        "an array"
                    }
                )),
            }
        }
        if let Some(Value::Array(parameters)) = body.get("Parameters")
            && parameters.iter().any(|p| !p.is_object())
        {
            errors.push("Every entry of Parameters must be an object.".into());
        }
        let version = match body.get("Version") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_u64() {
                Some(version) => Some(version),
                None => {
                    errors.push(format!(
                        "Version must be a whole number of at least 0 (got {value})."
                    ));
                    None
                }
            },
        };
        if !name.is_empty()
            && space
                .templates
                .iter()
                .any(|t| Some(t.id.as_str()) != existing && same_name(&t.name, &name))
        {
            // Emulator's own text; step template names are unique per space
            // (https://github.com/OctopusDeploy/Issues/issues/9185).
            errors.push(format!(
                "A step template named '{name}' already exists in this space. Step template names must be unique."
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let fields = TEMPLATE_FIELDS
            .iter()
            .filter(|field| **field != "Version")
            .filter_map(|field| body.get(*field).map(|v| ((*field).to_owned(), v.clone())))
            .collect();
        Ok(TemplateInput {
            name,
            version,
            fields,
        })
    }
}

/// A validated `POST /api/spaces` body.
#[derive(Debug)]
pub(crate) struct SpaceInput {
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) is_default: bool,
    pub(crate) task_queue_stopped: bool,
    pub(crate) space_managers_teams: Vec<String>,
    pub(crate) space_managers_team_members: Vec<String>,
}

fn string_list(body: &Map<String, Value>, field: &str, errors: &mut Vec<String>) -> Vec<String> {
    match body.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            errors.push(format!("{field} must be an array of ids."));
            Vec::new()
        }
    }
}

impl SpaceInput {
    /// Checks a new space: `Name` of 1 to 50 characters and `Slug` of at most 50 (generated
    /// `spaces.md`), at least one space manager team or member (Octopus's "Add a Space"
    /// example: "At least one manager team or member must be provided"), and a name no other
    /// space has. The texts are the emulator's own.
    pub(crate) fn parse(
        body: &Map<String, Value>,
        taken: impl Fn(&str) -> bool,
    ) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let name = body
            .get("Name")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            errors.push("Please provide a name for the space.".into());
        } else if name.chars().count() > 50 {
            errors.push("The space name must be at most 50 characters long.".into());
        } else if taken(&name) {
            errors.push(format!("A space with the name '{name}' already exists."));
        }
        let slug = body
            .get("Slug")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if slug.as_deref().is_some_and(|s| s.chars().count() > 50) {
            errors.push("The space slug must be at most 50 characters long.".into());
        }
        let space_managers_teams = string_list(body, "SpaceManagersTeams", &mut errors);
        let space_managers_team_members =
            string_list(body, "SpaceManagersTeamMembers", &mut errors);
        if space_managers_teams.is_empty() && space_managers_team_members.is_empty() {
            errors.push("Please select at least one space manager team or team member.".into());
        }
        let is_default = optional_bool(body, "IsDefault", &mut errors).unwrap_or(false);
        let task_queue_stopped =
            optional_bool(body, "TaskQueueStopped", &mut errors).unwrap_or(false);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SpaceInput {
            name,
            slug,
            description: body
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            is_default,
            task_queue_stopped,
            space_managers_teams,
            space_managers_team_members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_unknown_fields_after_known_ones() {
        let sent = json!({"Thumbprint": "AB", "Custom": 1, "CommunicationStyle": "TentacleActive", "Uri": "poll://x/"});
        let filled = fill_endpoint(sent.as_object().cloned().unwrap_or_default());
        let keys: Vec<&str> = filled.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "CommunicationStyle",
                "Uri",
                "Thumbprint",
                "TentacleVersionDetails",
                "CertificateSignatureAlgorithm",
                "Custom",
                "Id",
                "LastModifiedOn",
                "LastModifiedBy",
                "Links"
            ]
        );
    }

    #[test]
    fn ssh_uri_is_computed_from_host_and_port() {
        let sent = json!({"CommunicationStyle": "Ssh", "Host": "Host.Example", "Port": 2222, "Uri": "ssh://wrong/"});
        let filled = fill_endpoint(sent.as_object().cloned().unwrap_or_default());
        assert_eq!(filled["Uri"], "ssh://host.example:2222/");
    }
}
