//! Root documents, spaces, pools, policies, step templates, ping, headers and routing.

use octopus_emulator::{Scenario, SpaceSeed};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// Top-level keys of a real 2023.1.9626 root document (fixture `root-2023.1.9626.json`).
const ROOT_2023_1_KEYS: [&str; 6] = [
    "Application",
    "Version",
    "ApiVersion",
    "InstallationId",
    "HasLongTermSupport",
    "Links",
];

/// Links of the same fixture the emulator serves, with their recorded values.
const ROOT_2023_1_LINKS: [(&str, &str); 8] = [
    ("Spaces", "/api/spaces{/id}{?skip,ids,take,partialName}"),
    ("SpaceHome", "/api/{spaceId}"),
    (
        "Workers",
        "/api/Spaces-1/workers{/id}{?skip,take,name,ids,partialName,isDisabled,healthStatuses,commStyles,workerPoolIds,thumbprint,shellNames}",
    ),
    (
        "WorkerPools",
        "/api/Spaces-1/workerpools{/id}{?skip,ids,take,partialName}",
    ),
    (
        "MachinePolicies",
        "/api/Spaces-1/machinepolicies{/id}{?skip,take,ids,partialName}",
    ),
    (
        "ActionTemplates",
        "/api/Spaces-1/actiontemplates{/id}{?skip,take,ids,partialName}",
    ),
    (
        "OctopusServerNodes",
        "/api/octopusservernodes{/id}{?skip,take,ids,partialName}",
    ),
    ("CurrentUser", "/api/users/me"),
];

/// Keys of a real 2024.3 space (fixture `space-2024.3.json`).
const SPACE_2024_3_KEYS: [&str; 13] = [
    "Id",
    "Name",
    "Slug",
    "Description",
    "IsDefault",
    "IsPrivate",
    "TaskQueueStopped",
    "SpaceManagersTeams",
    "SpaceManagersTeamMembers",
    "Icon",
    "ExtensionSettings",
    "LastModifiedOn",
    "Links",
];

#[tokio::test]
async fn root_document_has_the_2023_1_fixture_keys_plus_is_early_access_program() {
    let emulator = start(two_spaces());
    let root = client()
        .get(format!("{}/api", emulator.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(root.status(), 200, "the root document is anonymous");
    let root: Value = root.json().await.unwrap_or_default();
    let mut expected: Vec<&str> = ROOT_2023_1_KEYS.to_vec();
    expected.insert(4, "IsEarlyAccessProgram");
    assert_eq!(keys(&root), expected);
    assert_eq!(root["Application"], "Octopus Deploy");
    assert_eq!(root["ApiVersion"], "3.0.0");
    assert_eq!(root["Version"], "2026.3.0");
    assert_eq!(root["InstallationId"].as_str().map(str::len), Some(36));
    assert_eq!(root["Links"]["Self"], "/api");
    assert_eq!(
        keys(&root["Links"]).first().map(String::as_str),
        Some("Self")
    );
    for (name, value) in ROOT_2023_1_LINKS {
        assert_eq!(root["Links"][name], value, "link {name}");
    }
}

#[tokio::test]
async fn root_is_served_at_api_and_api_slash_and_follows_the_default_space() {
    let scenario = Scenario::new()
        .space(SpaceSeed::new("First"))
        .space(SpaceSeed::new("Main").default_space());
    let emulator = start(scenario);
    let with_slash = get_json(&emulator, "/api/").await;
    assert_eq!(
        with_slash["Links"]["Workers"]
            .as_str()
            .map(|l| l.starts_with("/api/Spaces-2/workers")),
        Some(true)
    );

    let without_default = start(Scenario::new().space(SpaceSeed::new("Only")));
    let root = get_json(&without_default, "/api").await;
    assert!(root["Links"].get("Workers").is_none());
    assert_eq!(
        root["Links"]["Spaces"],
        "/api/spaces{/id}{?skip,ids,take,partialName}"
    );
}

#[tokio::test]
async fn space_root_has_space_scoped_links() {
    let emulator = start(two_spaces());
    let space_root = get_json(&emulator, "/api/Spaces-2").await;
    assert_eq!(
        keys(&space_root),
        ["Id", "LastModifiedBy", "LastModifiedOn", "Links"]
    );
    assert_eq!(space_root["Id"], "Spaces-2");
    assert_eq!(space_root["Links"]["Self"], "/api/Spaces-2");
    assert_eq!(
        space_root["Links"]["WorkerPools"],
        "/api/Spaces-2/workerpools{/id}{?skip,ids,take,partialName}"
    );
    assert!(
        space_root["Links"]["Workers"]
            .as_str()
            .is_some_and(|l| l.starts_with("/api/Spaces-2/workers{/id}"))
    );
    assert_eq!(get(&emulator, "/api/Spaces-9").await.status, 404);
}

#[tokio::test]
async fn space_resource_has_the_2024_3_fixture_shape() {
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Platform Team")
                .default_space()
                .task_queue_stopped(),
        ),
    );
    let space = get_json(&emulator, "/api/spaces/Spaces-1").await;
    assert_eq!(keys(&space), SPACE_2024_3_KEYS);
    assert_eq!(space["Slug"], "platform-team");
    assert_eq!(space["IsDefault"], true);
    assert_eq!(space["TaskQueueStopped"], true);
    assert_eq!(
        space["SpaceManagersTeams"],
        json!([
            "teams-administrators",
            "teams-managers",
            "teams-spacemanagers-Spaces-1"
        ])
    );
    assert_eq!(
        keys(&space["Links"]),
        ["Self", "SpaceHome", "Web", "Logo", "Search"]
    );
    assert_eq!(
        space["Links"]["Logo"],
        "/api/spaces/Spaces-1/logo?cb=2026.3.0"
    );
}

#[tokio::test]
async fn every_space_gets_a_default_pool_and_policy_and_ids_are_global_per_type() {
    let emulator = start(two_spaces());
    for (space, pool_ids, policy_id) in [
        (
            "Spaces-1",
            ["WorkerPools-1", "WorkerPools-2"],
            "MachinePolicies-1",
        ),
        (
            "Spaces-2",
            ["WorkerPools-3", "WorkerPools-4"],
            "MachinePolicies-2",
        ),
    ] {
        let pools = get_json(&emulator, &format!("/api/{space}/workerpools/all")).await;
        let default_pool = &pools[0];
        assert_eq!(
            keys(default_pool),
            [
                "Id",
                "SpaceId",
                "Name",
                "Slug",
                "Description",
                "IsDefault",
                "SortOrder",
                "WorkerPoolType",
                "CanAddWorkers",
                "LastModifiedOn",
                "LastModifiedBy",
                "Links"
            ]
        );
        assert_eq!(default_pool["Name"], "Default Worker Pool");
        assert_eq!(default_pool["IsDefault"], true);
        assert_eq!(default_pool["WorkerPoolType"], "StaticWorkerPool");
        assert_eq!(default_pool["SpaceId"], space);
        assert_eq!(pools[0]["Id"], pool_ids[0]);
        assert_eq!(pools[1]["Id"], pool_ids[1]);
        assert_eq!(pools[1]["IsDefault"], false);
        assert_eq!(
            default_pool["Links"]["Workers"],
            format!(
                "/api/{space}/workerpools/{}/workers{{?skip,take,partialName,isDisabled,healthStatuses,commStyles,shellNames}}",
                pool_ids[0]
            )
        );
        let pool = get_json(
            &emulator,
            &format!("/api/{space}/workerpools/{}", pool_ids[1]),
        )
        .await;
        assert_eq!(pool["Name"], TF_POOL);

        let policy = get_json(
            &emulator,
            &format!("/api/{space}/machinepolicies/{policy_id}"),
        )
        .await;
        assert_eq!(policy["Name"], "Default Machine Policy");
        assert_eq!(policy["IsDefault"], true);
        assert_eq!(
            policy["MachineHealthCheckPolicy"]["HealthCheckInterval"],
            "1.00:00:00"
        );
        assert_eq!(policy["ConnectionConnectTimeout"], "00:01:00");
        assert_eq!(keys(&policy["Links"]), ["Self", "Machines", "Workers"]);
        let policies = get_json(&emulator, &format!("/api/{space}/machinepolicies")).await;
        assert_eq!(policies["ItemType"], "MachinePolicy");
    }
}

#[tokio::test]
async fn ping_answers_200_then_418_with_the_node_body_while_draining() {
    let emulator = start(two_spaces());
    let url = format!("{}/api/octopusservernodes/ping", emulator.url());
    let online = client()
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(online.status(), 200);
    let body: Value = online.json().await.unwrap_or_default();
    assert_eq!(
        keys(&body),
        [
            "Id",
            "Name",
            "IsOffline",
            "IsInMaintenanceMode",
            "MaxConcurrentTasks",
            "LastSeen",
            "Version",
            "Links"
        ]
    );

    emulator.set_draining(true);
    let draining = client()
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(draining.status(), 418);
    let body: Value = draining.json().await.unwrap_or_default();
    assert_eq!(body["Name"], "EMULATOR");
    assert_eq!(body["IsInMaintenanceMode"], true);

    emulator.set_draining(false);
    assert_eq!(
        client()
            .get(&url)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok(),
        Some(200)
    );
}

#[tokio::test]
async fn responses_carry_octopus_headers() {
    let emulator = start(two_spaces());
    let reply = get(&emulator, "/api/spaces").await;
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json; charset=utf-8");
    assert_eq!(header("octopus-node"), "name=EMULATOR; version=2026.3.0");
    assert_eq!(header("x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn unknown_ids_and_routes_are_404_envelopes_and_wrong_verbs_405() {
    let emulator = start(two_spaces());
    for path in [
        "/api/Spaces-9/workers",
        "/api/Spaces-1/workers/Workers-99",
        "/api/spaces/Spaces-9",
        "/api/Spaces-1/workerpools/WorkerPools-99",
        "/api/Spaces-1/machinepolicies/MachinePolicies-99",
        "/api/Spaces-1/actiontemplates/ActionTemplates-99",
        "/api/Spaces-1/nonsense",
    ] {
        let reply = get(&emulator, path).await;
        assert_eq!(reply.status, 404, "{path}");
        let body = reply.json();
        assert_eq!(keys(&body), ["ErrorMessage", "Errors"], "{path}");
        assert_eq!(body["Errors"], json!([]));
    }
    let reply = call(&emulator, Method::PATCH, "/api/Spaces-1/workers", None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(keys(&reply.json()), ["ErrorMessage", "Errors"]);
}

#[tokio::test]
async fn legacy_and_spaces_prefixed_routes_reach_the_same_resources() {
    let emulator = start(two_spaces());
    let legacy = get_json(&emulator, "/api/workerpools/all").await;
    let scoped = get_json(&emulator, "/api/Spaces-1/workerpools/all").await;
    assert_eq!(legacy, scoped);
    let newer = get_json(&emulator, "/api/spaces/Spaces-2/workerpools/all").await;
    assert_eq!(
        newer,
        get_json(&emulator, "/api/Spaces-2/workerpools/all").await
    );
    let mixed_case = get_json(&emulator, "/API/spaces-2/WorkerPools/All").await;
    assert_eq!(mixed_case, newer);
    let reply = post(
        &emulator,
        "/api/workers",
        &worker_body("legacy-1", "WorkerPools-2"),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json()["SpaceId"], "Spaces-1");
}

/// A trimmed Library export (fixture `actiontemplate-library-export-2026.1.json`).
fn library_export() -> Value {
    json!({
        "Id": "3e8e043d-9ea3-4789-a61e-3251bfdfd71b",
        "Name": "Testery - Delete Environment",
        "Description": "Delete an environment in your Testery Account",
        "ActionType": "Octopus.Script",
        "Version": 1,
        "CommunityActionTemplateId": null,
        "Packages": [],
        "GitDependencies": [],
        "Properties": {
            "Octopus.Action.Script.ScriptSource": "Inline",
            "Octopus.Action.Script.Syntax": "Bash",
            "Octopus.Action.Script.ScriptBody": "echo hi"
        },
        "Parameters": [
            { "Id": "7d2ac4ee-f35f-443b-aceb-8a7db165f420", "Name": "TesteryToken", "Label": "Token",
              "HelpText": "API token", "DefaultValue": "", "DisplaySettings": { "Octopus.ControlType": "SingleLineText" } },
            { "Name": "NoId", "Label": "No id", "HelpText": null, "DefaultValue": "x", "DisplaySettings": {} }
        ],
        "StepPackageId": "Octopus.Script",
        "$Meta": { "ExportedAt": "2026-02-13T21:33:29.423Z", "OctopusVersion": "2026.1.7285", "Type": "ActionTemplate" },
        "LastModifiedBy": "wgunn-testery",
        "Category": "testery"
    })
}

#[tokio::test]
async fn action_templates_import_update_and_delete() {
    let emulator = start(two_spaces());
    let created = post(
        &emulator,
        "/api/Spaces-2/actiontemplates",
        &library_export(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let template = created.json();
    assert_eq!(
        keys(&template),
        [
            "Id",
            "Name",
            "Description",
            "ActionType",
            "Version",
            "CommunityActionTemplateId",
            "Packages",
            "GitDependencies",
            "Properties",
            "Parameters",
            "SpaceId",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
        ]
    );
    assert_eq!(template["Id"], "ActionTemplates-1");
    assert_eq!(template["SpaceId"], "Spaces-2");
    assert_eq!(template["Version"], 1);
    assert_eq!(template["LastModifiedBy"], "admin");
    assert_eq!(
        template["Parameters"][0]["Id"],
        "7d2ac4ee-f35f-443b-aceb-8a7db165f420"
    );
    assert_eq!(
        template["Parameters"][1]["Id"].as_str().map(str::len),
        Some(36)
    );
    assert_eq!(
        keys(&template["Links"]),
        ["Self", "Usage", "Logo", "ActionsUpdate", "Versions"]
    );

    let mut duplicate = library_export();
    duplicate["Name"] = json!("  testery - delete ENVIRONMENT ");
    let refused = post(&emulator, "/api/Spaces-2/actiontemplates", &duplicate).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["ErrorMessage"],
        "There was a problem with your request."
    );
    // Other spaces have their own names.
    assert_eq!(
        post(&emulator, "/api/Spaces-1/actiontemplates", &duplicate)
            .await
            .status,
        201
    );

    let missing = post(
        &emulator,
        "/api/Spaces-2/actiontemplates",
        &json!({"Name": "x"}),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.json()["Errors"],
        json!(["Please provide an action type."])
    );

    let mut changed = template.clone();
    changed["Description"] = json!("changed");
    let updated = call(
        &emulator,
        Method::PUT,
        "/api/Spaces-2/actiontemplates/ActionTemplates-1",
        Some(&changed),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json()["Version"], 2);
    assert_eq!(updated.json()["Description"], "changed");

    let listed = get_json(
        &emulator,
        "/api/Spaces-2/actiontemplates?partialName=testery",
    )
    .await;
    assert_eq!(listed["ItemType"], "ActionTemplate");
    assert_eq!(listed["TotalResults"], 1);
    assert_eq!(emulator.action_templates("Spaces-2").len(), 1);

    let deleted = call(
        &emulator,
        Method::DELETE,
        "/api/Spaces-2/actiontemplates/ActionTemplates-1",
        None,
    )
    .await;
    assert_eq!((deleted.status, deleted.text.as_str()), (200, ""));
    assert_eq!(
        get(&emulator, "/api/Spaces-2/actiontemplates/ActionTemplates-1")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn current_user_is_served_for_the_key_owner() {
    let emulator = start(two_spaces());
    let me = get_json(&emulator, "/api/users/me").await;
    assert_eq!(me["Username"], "admin");
}
