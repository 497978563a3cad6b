//! Octopus JSON for every resource, in a real server's field order, so every route and the
//! [`crate::Emulator`] helpers show the same documents. (Collections: `collection.rs`.)

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::store::filter::slugify;
use crate::store::model::{
    Account, ActionTemplate, Lease, MachinePolicy, Proxy, Space, Task, Worker, WorkerPool,
};
use crate::timestamp;

/// Name of the emulated server node (`Octopus-Node` header, ping body, tasks' `ServerNode`).
pub(crate) const NODE_NAME: &str = "EMULATOR";

/// A `SensitiveValue` as the server shows it: never the value, only whether one is set.
fn sensitive(has_value: bool) -> Value {
    json!({ "HasValue": has_value, "NewValue": null, "Hint": null })
}

/// `SpaceResource` (fixture `space-2024.3.json`).
pub(crate) fn space(space: &Space, server_version: &str) -> Value {
    let id = &space.id;
    let teams: Vec<String> = if space.space_managers_teams.is_empty() {
        vec![
            "teams-administrators".into(),
            "teams-managers".into(),
            format!("teams-spacemanagers-{id}"),
        ]
    } else {
        space.space_managers_teams.clone()
    };
    let mut json = json!({
        "Id": id,
        "Name": space.name,
        "Slug": space.slug,
        "Description": space.description,
        "IsDefault": space.is_default,
        "IsPrivate": false,
        "TaskQueueStopped": space.task_queue_stopped,
        "SpaceManagersTeams": teams,
        "SpaceManagersTeamMembers": space.space_managers_team_members,
        "Icon": null,
        "ExtensionSettings": [],
        "LastModifiedOn": space.last_modified_on,
        "Links": {
            "Self": format!("/api/spaces/{id}"),
            "SpaceHome": format!("/api/{id}"),
            "Web": format!("/app#/spaces/{id}"),
            "Logo": format!("/api/spaces/{id}/logo?cb={server_version}"),
            "Search": format!("/api/spaces/{id}/search"),
        }
    });
    if let (Some(by), Some(object)) = (&space.last_modified_by, json.as_object_mut()) {
        // Spaces created through the API carry who created them; seeded ones (like the
        // fixture's) have no LastModifiedBy.
        let links = object.remove("Links").unwrap_or(Value::Null);
        object.insert("LastModifiedBy".into(), by.as_str().into());
        object.insert("Links".into(), links);
    }
    json
}

/// `WorkerPoolResource`; dynamic pools add `WorkerType` and cannot take workers.
pub(crate) fn pool(space_id: &str, pool: &WorkerPool) -> Value {
    let id = &pool.id;
    let mut json = Map::new();
    json.insert("Id".into(), id.as_str().into());
    json.insert("SpaceId".into(), space_id.into());
    json.insert("Name".into(), pool.name.as_str().into());
    json.insert("Slug".into(), slugify(&pool.name).into());
    json.insert("Description".into(), pool.description.clone().into());
    json.insert("IsDefault".into(), pool.is_default.into());
    json.insert("SortOrder".into(), pool.sort_order.into());
    match &pool.dynamic_worker_type {
        Some(worker_type) => {
            json.insert("WorkerPoolType".into(), "DynamicWorkerPool".into());
            json.insert("CanAddWorkers".into(), false.into());
            json.insert("WorkerType".into(), worker_type.as_str().into());
        }
        None => {
            json.insert("WorkerPoolType".into(), "StaticWorkerPool".into());
            json.insert("CanAddWorkers".into(), true.into());
        }
    }
    json.insert(
        "LastModifiedOn".into(),
        pool.last_modified_on.as_str().into(),
    );
    json.insert("LastModifiedBy".into(), "admin".into());
    json.insert(
        "Links".into(),
        json!({
            "Self": format!("/api/{space_id}/workerpools/{id}"),
            "Workers": format!("/api/{space_id}/workerpools/{id}/workers{{?skip,take,partialName,isDisabled,healthStatuses,commStyles,shellNames}}"),
        }),
    );
    Value::Object(json)
}

/// `MachinePolicyResource` with the Go client's `NewMachinePolicy` defaults.
pub(crate) fn policy(space_id: &str, policy: &MachinePolicy) -> Value {
    let id = &policy.id;
    json!({
        "Id": id,
        "SpaceId": space_id,
        "Name": policy.name,
        "Description": "",
        "IsDefault": policy.is_default,
        "MachineHealthCheckPolicy": {
            "PowerShellHealthCheckPolicy": { "RunType": "InheritFromDefault", "ScriptBody": null },
            "BashHealthCheckPolicy": { "RunType": "InheritFromDefault", "ScriptBody": null },
            "HealthCheckInterval": "1.00:00:00",
            "HealthCheckCron": null,
            "HealthCheckCronTimezone": "UTC",
            "HealthCheckType": "RunScript"
        },
        "MachineConnectivityPolicy": { "MachineConnectivityBehavior": "ExpectedToBeOnline" },
        "MachineCleanupPolicy": { "DeleteMachinesBehavior": "DoNotDelete", "DeleteMachinesElapsedTimeSpan": "01:00:00" },
        "MachineUpdatePolicy": {
            "CalamariUpdateBehavior": "UpdateOnDeployment",
            "TentacleUpdateBehavior": "NeverUpdate",
            "KubernetesAgentUpdateBehavior": "Update",
            "TentacleUpdateAccountId": null
        },
        "MachinePackageCacheRetentionPolicy": { "Strategy": "Default" },
        "PollingRequestQueueTimeout": "00:02:00",
        "PollingRequestMaximumMessageProcessingTimeout": "00:10:00",
        "ConnectionRetrySleepInterval": "00:00:01",
        "ConnectionRetryCountLimit": 5,
        "ConnectionRetryTimeLimit": "00:05:00",
        "ConnectionConnectTimeout": "00:01:00",
        "Links": {
            "Self": format!("/api/{space_id}/machinepolicies/{id}"),
            "Machines": format!("/api/{space_id}/machinepolicies/{id}/machines{{?skip,take}}"),
            "Workers": format!("/api/{space_id}/machinepolicies/{id}/workers{{?skip,take}}"),
        }
    })
}

/// `WorkerResource` in the field order of a real server (fixtures `worker-*.json`).
pub(crate) fn worker(space_id: &str, worker: &Worker) -> Value {
    let id = &worker.id;
    json!({
        "Id": id,
        "WorkerPoolIds": worker.worker_pool_ids,
        "SpaceId": space_id,
        "Name": worker.name,
        "Thumbprint": worker.top_level_endpoint_field("Thumbprint"),
        "Uri": worker.top_level_endpoint_field("Uri"),
        "IsDisabled": worker.is_disabled,
        "MachinePolicyId": worker.machine_policy_id,
        "HealthStatus": worker.health_status,
        "HasLatestCalamari": worker.has_latest_calamari,
        "StatusSummary": worker.status_summary,
        "IsInProcess": false,
        "Endpoint": worker.endpoint,
        "OperatingSystem": worker.operating_system,
        "ShellName": worker.shell_name,
        "ShellVersion": worker.shell_version,
        "Architecture": worker.architecture,
        "Slug": worker.slug,
        "SkipInitialHealthCheck": worker.skip_initial_health_check,
        "LastModifiedOn": worker.last_modified_on,
        "LastModifiedBy": worker.last_modified_by,
        "Links": {
            "Self": format!("/api/{space_id}/workers/{id}"),
            "Connection": format!("/api/{space_id}/workers/{id}/connection"),
        }
    })
}

/// `ProxyResource` (fields from generated `proxies.md`; the order is inferred).
pub(crate) fn proxy(space_id: &str, proxy: &Proxy) -> Value {
    let id = &proxy.id;
    json!({
        "Id": id,
        "SpaceId": space_id,
        "Name": proxy.name,
        "Host": proxy.host,
        "Port": proxy.port,
        "ProxyType": "HTTP",
        "Username": proxy.username,
        "Password": sensitive(proxy.username.is_some()),
        "LastModifiedOn": proxy.last_modified_on,
        "LastModifiedBy": "admin",
        "Links": { "Self": format!("/api/{space_id}/proxies/{id}") }
    })
}

/// `SshKeyPairAccountResource` / `UsernamePasswordAccountResource` (fields from
/// `OctopusClients: Model/Accounts/*.cs`; the order is inferred).
pub(crate) fn account(space_id: &str, account: &Account) -> Value {
    let id = &account.id;
    let mut json = Map::new();
    json.insert("Id".into(), id.as_str().into());
    json.insert("SpaceId".into(), space_id.into());
    json.insert("AccountType".into(), account.account_type.as_str().into());
    json.insert("Username".into(), account.username.as_str().into());
    if account.account_type == "SshKeyPair" {
        json.insert("PrivateKeyFile".into(), sensitive(true));
        json.insert("PrivateKeyPassphrase".into(), sensitive(false));
    } else {
        json.insert("Password".into(), sensitive(true));
    }
    json.insert("Name".into(), account.name.as_str().into());
    json.insert("Slug".into(), account.slug.as_str().into());
    json.insert("Description".into(), Value::Null);
    json.insert("EnvironmentIds".into(), json!([]));
    json.insert(
        "TenantedDeploymentParticipation".into(),
        "Untenanted".into(),
    );
    json.insert("TenantTags".into(), json!([]));
    json.insert("TenantIds".into(), json!([]));
    json.insert(
        "LastModifiedOn".into(),
        account.last_modified_on.as_str().into(),
    );
    json.insert("LastModifiedBy".into(), "admin".into());
    json.insert(
        "Links".into(),
        json!({
            "Self": format!("/api/{space_id}/accounts/{id}"),
            "Usages": format!("/api/{space_id}/accounts/{id}/usages"),
        }),
    );
    Value::Object(json)
}

/// `ActionTemplateResource` (`go-octopusdeploy: api/action_template_example.json` links).
pub(crate) fn template(space_id: &str, template: &ActionTemplate, server_version: &str) -> Value {
    let id = &template.id;
    let field = |name: &str, default: Value| -> Value {
        match template.fields.get(name) {
            Some(Value::Null) | None => default,
            Some(value) => value.clone(),
        }
    };
    let mut json = Map::new();
    json.insert("Id".into(), id.as_str().into());
    json.insert("Name".into(), template.name.as_str().into());
    json.insert("Description".into(), field("Description", Value::Null));
    json.insert("ActionType".into(), field("ActionType", Value::Null));
    json.insert("Version".into(), template.version.into());
    json.insert(
        "CommunityActionTemplateId".into(),
        field("CommunityActionTemplateId", Value::Null),
    );
    json.insert("Packages".into(), field("Packages", json!([])));
    json.insert(
        "GitDependencies".into(),
        field("GitDependencies", json!([])),
    );
    json.insert("Properties".into(), field("Properties", json!({})));
    json.insert("Parameters".into(), field("Parameters", json!([])));
    for optional in ["StepPackageVersion", "Inputs"] {
        if let Some(value) = template.fields.get(optional) {
            json.insert(optional.into(), value.clone());
        }
    }
    json.insert("SpaceId".into(), space_id.into());
    json.insert(
        "LastModifiedOn".into(),
        template.last_modified_on.as_str().into(),
    );
    json.insert(
        "LastModifiedBy".into(),
        template.last_modified_by.as_str().into(),
    );
    json.insert(
        "Links".into(),
        json!({
            "Self": format!("/api/{space_id}/actiontemplates/{id}"),
            "Usage": format!("/api/{space_id}/actiontemplates/{id}/usage"),
            "Logo": format!("/api/{space_id}/actiontemplates/{id}/logo?cb={server_version}"),
            "ActionsUpdate": format!("/api/{space_id}/actiontemplates/{id}/actionsUpdate"),
            "Versions": format!("/api/{space_id}/actiontemplates/{id}/versions/{{version}}"),
        }),
    );
    Value::Object(json)
}

/// A `WorkerTaskLease` item (fields from generated `worker-task-leases.md`; the order is
/// inferred: the generated docs list fields alphabetically).
pub(crate) fn lease(space_id: &str, lease: &Lease) -> Value {
    json!({
        "Id": lease.id,
        "SpaceId": space_id,
        "WorkerId": lease.worker_id,
        "WorkerPoolId": lease.worker_pool_id,
        "ServerTaskId": lease.task_id,
        "Name": lease.name,
        "Exclusive": lease.exclusive,
        "TakenAt": lease.taken_at,
    })
}

fn duration_text(from: SystemTime, to: SystemTime) -> String {
    let seconds = to.duration_since(from).map(|d| d.as_secs()).unwrap_or(0);
    match seconds {
        0..=1 => "1 second".to_owned(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "1 minute".to_owned(),
        120..=3599 => format!("{} minutes", seconds / 60),
        3600..=7199 => "1 hour".to_owned(),
        _ => format!("{} hours", seconds / 3600),
    }
}

/// `TaskResource` (field order of the OctopusClients canned task responses, plus `SpaceId`
/// and `ProjectId` of the current model).
pub(crate) fn task(task: &Task) -> Value {
    let id = &task.id;
    let end = task.completed_time.unwrap_or_else(SystemTime::now);
    let state = task.state.as_str();
    json!({
        "Id": id,
        "SpaceId": task.space_id,
        "Name": task.name,
        "Description": task.description,
        "Arguments": {},
        "State": state,
        "Completed": task.completed_time.map(timestamp::human),
        "QueueTime": timestamp::format(task.queue_time),
        "QueueTimeExpiry": null,
        "StartTime": timestamp::format(task.start_time),
        "LastUpdatedTime": timestamp::format(task.completed_time.unwrap_or(task.start_time)),
        "CompletedTime": task.completed_time.map(timestamp::format),
        "ServerNode": NODE_NAME,
        "Duration": duration_text(task.start_time, end),
        "ErrorMessage": if state == "Canceled" { "The task was canceled." } else { "" },
        "HasBeenPickedUpByProcessor": true,
        "IsCompleted": task.is_completed(),
        "FinishedSuccessfully": state == "Success",
        "HasPendingInterruptions": false,
        "CanRerun": false,
        "HasWarningsOrErrors": matches!(state, "Failed" | "Canceled" | "TimedOut"),
        "ProjectId": null,
        "Links": {
            "Self": format!("/api/tasks/{id}"),
            "Web": format!("/app#/{}/tasks/{id}", task.space_id),
            "Raw": format!("/api/tasks/{id}/raw"),
            "Rerun": format!("/api/tasks/rerun/{id}"),
            "Cancel": format!("/api/tasks/{id}/cancel"),
            "QueuedBehind": format!("/api/tasks/{id}/queued-behind{{?skip}}"),
            "Details": format!("/api/tasks/{id}/details{{?verbose,tail}}"),
            "Artifacts": format!("/api/artifacts?regarding={id}"),
            "Interruptions": format!("/api/interruptions?regarding={id}"),
        }
    })
}
