//! Per-space permissions: scoped keys and tokens with full, read-only, custom or no access
//! per space; what `/api/spaces` lists for them; 403 bodies naming the missing permission.

use octopus_emulator::{Access, ApiKeySeed, Permission, Scenario, SpaceSeed};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const SCOPED: &str = "API-SCOPEDKEY000000000000000000001";
const TOKEN: &str = "scoped-token-0000000000000000000001";

/// Four spaces; the scoped key has full access in Payments, read-only in Mobile, only
/// `WorkerView` in Sandbox and nothing in Default.
fn scoped_scenario() -> Scenario {
    Scenario::new()
        .space(SpaceSeed::new("Default").default_space().pool(TF_POOL))
        .space(
            SpaceSeed::new("Payments")
                .pool(TF_POOL)
                .worker(polling("w-payments")),
        )
        .space(
            SpaceSeed::new("Mobile")
                .pool(TF_POOL)
                .worker(polling("w-mobile")),
        )
        .space(SpaceSeed::new("Sandbox").pool(TF_POOL))
        .scoped_key(
            ApiKeySeed::api_key(SCOPED)
                .user("ci-bot")
                .space("Payments", Access::Full)
                .space("Mobile", Access::ReadOnly)
                .space("Sandbox", Access::Only(vec![Permission::WorkerView])),
        )
        .scoped_key(ApiKeySeed::access_token(TOKEN).space("Mobile", Access::Full))
}

fn forbidden(permission: &str, help: &str) -> Value {
    json!({
        "ErrorMessage": format!("You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: {permission}"),
        "Errors": [],
        "HelpText": help,
    })
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|s| s["Name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn spaces_listing_shows_only_spaces_the_key_has_access_in() {
    let emulator = start(scoped_scenario());
    let all = call_as(&emulator, SCOPED, Method::GET, "/api/spaces/all", None).await;
    assert_eq!(all.status, 200);
    assert_eq!(names(&all.json()), ["Mobile", "Payments", "Sandbox"]);
    let paged = call_as(&emulator, SCOPED, Method::GET, "/api/spaces", None).await;
    assert_eq!(paged.json()["TotalResults"], 3);
    // The admin and the read-only key hold SpaceView: they see every space.
    let admin = get_json(&emulator, "/api/spaces/all").await;
    assert_eq!(names(&admin).len(), 4);
    let read_only = call_as(
        &emulator,
        &emulator.read_only_api_key(),
        Method::GET,
        "/api/spaces/all",
        None,
    )
    .await;
    assert_eq!(names(&read_only.json()).len(), 4);
}

#[tokio::test]
async fn a_key_with_space_view_lists_spaces_it_cannot_read_inside() {
    let emulator = start(scoped_scenario());
    emulator.add_scoped_key(
        ApiKeySeed::api_key("API-LISTER000000000000000000000001")
            .system_permission(Permission::SpaceView),
    );
    let key = "API-LISTER000000000000000000000001";
    let all = call_as(&emulator, key, Method::GET, "/api/spaces/all", None).await;
    assert_eq!(names(&all.json()).len(), 4);
    let pools = call_as(
        &emulator,
        key,
        Method::GET,
        "/api/Spaces-2/workerpools/all",
        None,
    )
    .await;
    assert_eq!(pools.status, 403);
    assert_eq!(
        pools.json(),
        forbidden(
            "WorkerView",
            "This action requires permission to view the workers in worker pools."
        )
    );
}

#[tokio::test]
async fn full_access_reads_and_writes_workers_in_its_space() {
    let emulator = start(scoped_scenario());
    let pool = pool_id(&emulator, "Spaces-2", TF_POOL);
    let created = call_as(
        &emulator,
        SCOPED,
        Method::POST,
        "/api/Spaces-2/workers",
        Some(&worker_body("new", &pool)),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["LastModifiedBy"], "ci-bot");
    let workers = call_as(
        &emulator,
        SCOPED,
        Method::GET,
        "/api/Spaces-2/workers/all",
        None,
    )
    .await;
    assert_eq!(workers.json().as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn read_only_access_reads_but_writes_are_refused_naming_worker_edit() {
    let emulator = start(scoped_scenario());
    for path in [
        "/api/Spaces-3/workers/all",
        "/api/Spaces-3/workerpools/all",
        "/api/Spaces-3/machinepolicies/all",
        "/api/Spaces-3/proxies/all",
        "/api/Spaces-3/accounts/all",
        "/api/Spaces-3/workertaskleases",
        "/api/Spaces-3",
        "/api/spaces/Spaces-3",
    ] {
        let reply = call_as(&emulator, SCOPED, Method::GET, path, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    }
    let pool = pool_id(&emulator, "Spaces-3", TF_POOL);
    let post = call_as(
        &emulator,
        SCOPED,
        Method::POST,
        "/api/Spaces-3/workers",
        Some(&worker_body("new", &pool)),
    )
    .await;
    let refused = forbidden(
        "WorkerEdit",
        "This action requires permission to edit workers and worker pools.",
    );
    assert_eq!((post.status, post.json()), (403, refused.clone()));
    let worker = emulator.workers("Spaces-3")[0].clone();
    let id = worker["Id"].as_str().unwrap_or_default().to_owned();
    let put = call_as(
        &emulator,
        SCOPED,
        Method::PUT,
        &format!("/api/Spaces-3/workers/{id}"),
        Some(&worker),
    )
    .await;
    assert_eq!((put.status, put.json()), (403, refused.clone()));
    let delete = call_as(
        &emulator,
        SCOPED,
        Method::DELETE,
        &format!("/api/Spaces-3/workers/{id}"),
        None,
    )
    .await;
    assert_eq!((delete.status, delete.json()), (403, refused));
    assert_eq!(emulator.workers("Spaces-3").len(), 1, "nothing changed");
}

#[tokio::test]
async fn no_access_refuses_every_read_naming_the_view_permission() {
    let emulator = start(scoped_scenario());
    for (path, permission, help) in [
        (
            "/api/Spaces-1/workers/all",
            "WorkerView",
            "This action requires permission to view the workers in worker pools.",
        ),
        (
            "/api/Spaces-1/workerpools/all",
            "WorkerView",
            "This action requires permission to view the workers in worker pools.",
        ),
        (
            "/api/Spaces-1/machinepolicies/all",
            "MachinePolicyView",
            "This action requires permission to view health check policies.",
        ),
        (
            "/api/Spaces-1/proxies/all",
            "ProxyView",
            "This action requires permission to view proxies.",
        ),
        (
            "/api/Spaces-1/accounts",
            "AccountView",
            "This action requires permission to view accounts.",
        ),
        (
            "/api/Spaces-1/actiontemplates/all",
            "ActionTemplateView",
            "This action requires permission to view step templates.",
        ),
        (
            "/api/spaces/Spaces-1",
            "SpaceView",
            "This action requires permission to view spaces.",
        ),
        // The legacy route reaches the default space, where the key has nothing.
        (
            "/api/workers/all",
            "WorkerView",
            "This action requires permission to view the workers in worker pools.",
        ),
    ] {
        let reply = call_as(&emulator, SCOPED, Method::GET, path, None).await;
        assert_eq!(
            (reply.status, reply.json()),
            (403, forbidden(permission, help)),
            "GET {path}"
        );
    }
    // A space that does not exist is still 404, not 403.
    let missing = call_as(
        &emulator,
        SCOPED,
        Method::GET,
        "/api/Spaces-99/workers/all",
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_custom_permission_list_grants_exactly_those_permissions() {
    let emulator = start(scoped_scenario());
    let workers = call_as(
        &emulator,
        SCOPED,
        Method::GET,
        "/api/Spaces-4/workerpools/all",
        None,
    )
    .await;
    assert_eq!(workers.status, 200);
    let proxies = call_as(
        &emulator,
        SCOPED,
        Method::GET,
        "/api/Spaces-4/proxies/all",
        None,
    )
    .await;
    assert_eq!(proxies.status, 403);
    assert_eq!(
        proxies.json()["ErrorMessage"]
            .as_str()
            .and_then(|m| m.rsplit(": ").next()),
        Some("ProxyView")
    );
}

#[tokio::test]
async fn scoped_bearer_tokens_carry_their_own_access() {
    let emulator = start(scoped_scenario());
    let as_token = |method: Method, path: &str| {
        client()
            .request(method, format!("{}{path}", emulator.url()))
            .header("Authorization", format!("Bearer {TOKEN}"))
    };
    let mobile = send(as_token(Method::GET, "/api/Spaces-3/workers/all"), None).await;
    assert_eq!(mobile.status, 200);
    let payments = send(as_token(Method::GET, "/api/Spaces-2/workers/all"), None).await;
    assert_eq!(payments.status, 403);
    let spaces = send(as_token(Method::GET, "/api/spaces/all"), None).await;
    assert_eq!(names(&spaces.json()), ["Mobile"]);
    let me = send(as_token(Method::GET, "/api/users/me"), None).await;
    assert_eq!(me.json()["Username"], "apikey-4");
}

#[tokio::test]
async fn current_user_and_its_spaces_reflect_the_key() {
    let emulator = start(scoped_scenario());
    let me = call_as(&emulator, SCOPED, Method::GET, "/api/users/me", None)
        .await
        .json();
    assert_eq!(me["Username"], "ci-bot");
    let spaces_link = me["Links"]["Spaces"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        spaces_link,
        format!(
            "/api/users/{}/spaces",
            me["Id"].as_str().unwrap_or_default()
        )
    );
    let spaces = call_as(&emulator, SCOPED, Method::GET, &spaces_link, None).await;
    assert_eq!(names(&spaces.json()), ["Mobile", "Payments", "Sandbox"]);
    let admin = get_json(&emulator, "/api/users/me").await;
    assert_eq!(
        (admin["Id"].clone(), admin["Username"].clone()),
        (json!("Users-1"), json!("admin"))
    );
    let other = call_as(
        &emulator,
        SCOPED,
        Method::GET,
        "/api/users/Users-1/spaces",
        None,
    )
    .await;
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn access_can_change_at_runtime() {
    let emulator = start(scoped_scenario());
    let path = "/api/Spaces-1/workerpools/all";
    assert_eq!(
        call_as(&emulator, SCOPED, Method::GET, path, None)
            .await
            .status,
        403
    );
    emulator.set_access(SCOPED, "default", Access::ReadOnly);
    assert_eq!(
        call_as(&emulator, SCOPED, Method::GET, path, None)
            .await
            .status,
        200
    );
    // A space created later gets the key's default access (none here).
    let late = emulator.add_space(SpaceSeed::new("Late").pool(TF_POOL));
    let reply = call_as(
        &emulator,
        SCOPED,
        Method::GET,
        &format!("/api/{late}/workers"),
        None,
    )
    .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn scoped_keys_and_their_errors_in_scenario_files() {
    let scenario = Scenario::from_json_str(
        r#"{ "spaces": [ { "name": "A" }, { "name": "B" } ],
             "apiKeys": [ { "key": "API-FILEKEY0000000000000000000001", "user": "file-bot",
                            "defaultAccess": "readOnly", "spaces": { "B": "none", "A": ["WorkerView", "WorkerEdit"] },
                            "systemPermissions": ["SpaceCreate"] } ] }"#,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let emulator = start(scenario);
    let key = "API-FILEKEY0000000000000000000001";
    let all = call_as(&emulator, key, Method::GET, "/api/spaces/all", None).await;
    assert_eq!(names(&all.json()), ["A"]);
    let created = call_as(
        &emulator,
        key,
        Method::POST,
        "/api/spaces",
        Some(&json!({"Name": "C", "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": []})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);

    for (document, expected) in [
        (
            r#"{ "apiKeys": [ { "key": "K", "spaces": { "Nowhere": "full" } } ] }"#,
            "no space named 'Nowhere'",
        ),
        (
            r#"{ "apiKeys": [ { "key": "K", "defaultAccess": "owner" } ] }"#,
            "apiKeys[0].defaultAccess",
        ),
        (
            r#"{ "apiKeys": [ { "user": "x" } ] }"#,
            "`key` or `accessToken`",
        ),
        (
            r#"{ "apiKeys": [ { "key": "K", "systemPermissions": ["WorkerView"] } ] }"#,
            "space permission",
        ),
        (
            r#"{ "apiKeys": [ { "key": "API-EMULATORADMIN000000000000001" } ] }"#,
            "already used",
        ),
    ] {
        let error = Scenario::from_json_str(document)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains(expected), "{document}: {error}");
    }
}

#[tokio::test]
async fn creating_a_space_needs_space_create() {
    let emulator = start(scoped_scenario());
    let body = json!({"Name": "New", "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": []});
    let refused = call_as(&emulator, SCOPED, Method::POST, "/api/spaces", Some(&body)).await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            403,
            forbidden(
                "SpaceCreate",
                "This action requires permission to create spaces."
            )
        )
    );
    assert!(emulator.space_id("New").is_none());
}
