//! Dynamic worker pools, proxies and accounts, and the routes the server has (or has not).

use octopus_emulator::{AccountSeed, ProxySeed, Scenario, SpaceSeed, WorkerSeed};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn cloud_like() -> Scenario {
    Scenario::new().space(
        SpaceSeed::new("Default")
            .default_space()
            .pool(TF_POOL)
            .dynamic_pool("Hosted Ubuntu", "UbuntuDefault")
            .proxy(ProxySeed::new("corp-proxy", "proxy.corp.example", 3128).username("svc"))
            .proxy(ProxySeed::new("another-proxy", "proxy2.corp.example", 8080))
            .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
            .account(AccountSeed::username_password("deploy-password", "deploy")),
    )
}

#[tokio::test]
async fn dynamic_pools_have_their_type_and_cannot_add_workers() {
    let emulator = start(cloud_like());
    let pools = get_json(&emulator, "/api/Spaces-1/workerpools/all").await;
    let dynamic = pools
        .as_array()
        .and_then(|p| p.iter().find(|p| p["Name"] == "Hosted Ubuntu"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        keys(&dynamic),
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
            "WorkerType",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
        ]
    );
    assert_eq!(
        (
            dynamic["WorkerPoolType"].clone(),
            dynamic["CanAddWorkers"].clone(),
            dynamic["WorkerType"].clone()
        ),
        (
            json!("DynamicWorkerPool"),
            json!(false),
            json!("UbuntuDefault")
        )
    );
    let static_pool = &pools[1];
    assert_eq!(static_pool["WorkerPoolType"], "StaticWorkerPool");
    assert_eq!(static_pool["CanAddWorkers"], true);
    assert!(static_pool.get("WorkerType").is_none());
}

#[tokio::test]
async fn adding_a_worker_to_a_dynamic_pool_is_refused() {
    let emulator = start(cloud_like());
    let dynamic = pool_id(&emulator, "Spaces-1", "Hosted Ubuntu");
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w", &dynamic),
    )
    .await;
    assert_eq!(
        validation_errors(&reply),
        [format!(
            "The worker pool 'Hosted Ubuntu' ({dynamic}) is a dynamic worker pool; workers cannot be added to it."
        )]
    );
    assert!(emulator.workers("Spaces-1").is_empty());

    // Nor can a PUT move a worker into one.
    let static_pool = pool_id(&emulator, "Spaces-1", TF_POOL);
    let mut worker = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w", &static_pool),
    )
    .await
    .json();
    worker["WorkerPoolIds"] = json!([static_pool, dynamic]);
    let id = worker["Id"].as_str().unwrap_or_default().to_owned();
    let reply = put(&emulator, &format!("/api/Spaces-1/workers/{id}"), &worker).await;
    assert_eq!(validation_errors(&reply).len(), 1);
    assert_eq!(
        emulator.workers("Spaces-1")[0]["WorkerPoolIds"],
        json!([static_pool])
    );
}

#[test]
fn a_seeded_worker_in_a_dynamic_pool_is_a_scenario_error() {
    let error = Scenario::from_json_str(
        r#"{ "spaces": [ { "name": "A", "dynamicWorkerPools": [ { "name": "Hosted", "workerType": "UbuntuDefault" } ],
             "workers": [ { "name": "w", "pools": ["Hosted"], "uri": "poll://abcdefghijklmnopqrst/", "thumbprint": "AB" } ] } ] }"#,
    )
    .err()
    .map(|e| format!("{e:#}"))
    .unwrap_or_default();
    assert!(error.contains("dynamic worker pool"), "{error}");
}

#[tokio::test]
async fn proxies_are_listed_paged_and_by_id_without_their_password() {
    let emulator = start(cloud_like());
    let page = get_json(&emulator, "/api/Spaces-1/proxies?take=1").await;
    assert_eq!(page["ItemType"], "Proxy");
    assert_eq!(page["TotalResults"], 2);
    assert_eq!(page["Items"][0]["Name"], "another-proxy", "sorted by name");
    assert_eq!(
        page["Links"]["Page.Next"],
        "/api/Spaces-1/proxies?skip=1&take=1"
    );
    let all = get_json(&emulator, "/api/Spaces-1/proxies/all").await;
    let corp = all
        .as_array()
        .and_then(|p| p.iter().find(|p| p["Name"] == "corp-proxy"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        keys(&corp),
        [
            "Id",
            "SpaceId",
            "Name",
            "Host",
            "Port",
            "ProxyType",
            "Username",
            "Password",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
        ]
    );
    assert_eq!(corp["ProxyType"], "HTTP");
    assert_eq!(
        corp["Password"],
        json!({"HasValue": true, "NewValue": null, "Hint": null})
    );
    let id = corp["Id"].as_str().unwrap_or_default();
    assert_eq!(
        get_json(&emulator, &format!("/api/Spaces-1/proxies/{id}")).await,
        corp
    );
    // Legacy and newer route families reach the same proxies.
    assert_eq!(get_json(&emulator, "/api/proxies/all").await, all);
    assert_eq!(
        get_json(&emulator, "/api/spaces/Spaces-1/proxies/all").await,
        all
    );
}

#[tokio::test]
async fn accounts_are_listed_with_their_type_and_filtered_by_it() {
    let emulator = start(cloud_like());
    let all = get_json(&emulator, "/api/Spaces-1/accounts/all").await;
    let key_pair = &all[0];
    assert_eq!(key_pair["Name"], "deploy-key");
    assert_eq!(key_pair["AccountType"], "SshKeyPair");
    assert_eq!(key_pair["PrivateKeyFile"]["HasValue"], true);
    assert_eq!(all[1]["AccountType"], "UsernamePassword");
    assert_eq!(all[1]["Password"]["HasValue"], true);
    let filtered = get_json(&emulator, "/api/Spaces-1/accounts?accountType=SshKeyPair").await;
    assert_eq!(filtered["ItemType"], "Account");
    assert_eq!(filtered["TotalResults"], 1);
    let id = key_pair["Id"].as_str().unwrap_or_default();
    assert_eq!(
        &get_json(&emulator, &format!("/api/Spaces-1/accounts/{id}")).await,
        key_pair
    );
}

#[tokio::test]
async fn a_proxy_or_account_id_of_another_space_is_not_found_there() {
    let emulator = start(cloud_like().space(SpaceSeed::new("Other")));
    let proxy = emulator.proxies("Spaces-1")[0]["Id"].clone();
    let reply = get(
        &emulator,
        &format!(
            "/api/Spaces-2/proxies/{}",
            proxy.as_str().unwrap_or_default()
        ),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json()["ErrorMessage"],
        format!(
            "The resource '{}' was not found.",
            proxy.as_str().unwrap_or_default()
        )
    );
}

#[tokio::test]
async fn routes_the_server_does_not_have_are_404_with_an_octopus_body() {
    let emulator = start(two_spaces());
    for path in [
        "/api/Spaces-1/projects",
        "/api/spaces/Spaces-1/projects",
        "/api/workertaskleases",
        "/api/Spaces-1/workers/Workers-1/nonsense",
        "/api/nonsense/deeper/still",
    ] {
        let reply = get(&emulator, path).await;
        assert_eq!(reply.status, 404, "GET {path}");
        assert_eq!(
            reply.json(),
            json!({"ErrorMessage": "The resource you requested was not found.", "Errors": []}),
            "GET {path}"
        );
    }
    let wrong_verb = call(&emulator, Method::PATCH, "/api/Spaces-1/workers", None).await;
    assert_eq!(wrong_verb.status, 405);
}

#[tokio::test]
async fn the_spaces_route_family_is_served_unless_the_scenario_models_an_older_server() {
    let modern = start(two_spaces());
    for path in [
        "/api/spaces/Spaces-2/workers",
        "/api/spaces/Spaces-2/workerpools/all",
        "/api/spaces/Spaces-2/workertaskleases",
    ] {
        assert_eq!(get(&modern, path).await.status, 200, "GET {path}");
    }
    let older = start(two_spaces().without_spaces_route_family());
    let reply = get(&older, "/api/spaces/Spaces-2/workers").await;
    assert_eq!(reply.status, 404);
    // The other families still work there.
    assert_eq!(get(&older, "/api/Spaces-2/workers").await.status, 200);
    assert_eq!(get(&older, "/api/workers").await.status, 200);
}

#[tokio::test]
async fn root_and_space_root_link_to_proxies_accounts_and_tasks() {
    let emulator = start(two_spaces());
    let root = get_json(&emulator, "/api").await;
    assert_eq!(
        root["Links"]["Proxies"],
        "/api/Spaces-1/proxies{/id}{?skip,take,ids,partialName}"
    );
    assert_eq!(
        root["Links"]["Accounts"],
        "/api/Spaces-1/accounts{/id}{?skip,take,ids,partialName,accountType}"
    );
    assert!(
        root["Links"]["Tasks"]
            .as_str()
            .is_some_and(|t| t.starts_with("/api/tasks{/id}"))
    );
    let space_root = get_json(&emulator, "/api/Spaces-2").await;
    assert_eq!(
        space_root["Links"]["Proxies"],
        "/api/Spaces-2/proxies{/id}{?skip,take,ids,partialName}"
    );
    let links: &Value = &space_root["Links"];
    assert!(links.get("Tasks").is_none(), "Tasks is a system link");
}

#[tokio::test]
async fn seeded_kinds_appear_in_the_pool_listing_of_their_pool() {
    let emulator = start(
        cloud_like().space(
            SpaceSeed::new("Agents").pool(TF_POOL).worker(
                WorkerSeed::kubernetes_agent("agent", "poll://kcxzcv2fpsxkn6tk9u6d/", THUMBPRINT)
                    .in_pool(TF_POOL),
            ),
        ),
    );
    let space = space_id(&emulator, "Agents");
    let pool = pool_id(&emulator, &space, TF_POOL);
    let page = get_json(
        &emulator,
        &format!("/api/{space}/workerpools/{pool}/workers"),
    )
    .await;
    assert_eq!(page["TotalResults"], 1);
    assert_eq!(
        page["Items"][0]["Endpoint"]["CommunicationStyle"],
        "KubernetesTentacle"
    );
}
