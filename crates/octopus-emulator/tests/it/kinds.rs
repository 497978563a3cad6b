//! Every worker kind: listening Tentacles (behind a proxy), SSH workers (with an account),
//! Kubernetes agents, other styles; their shapes, validation and cross-space references.

use octopus_emulator::{AccountSeed, ProxySeed, Scenario, SpaceSeed, WorkerSeed};
use serde_json::{Value, json};

use crate::support::*;

const K8S_URI: &str = "poll://kcxzcv2fpsxkn6tk9u6d/";
const K8S_THUMBPRINT: &str = "96203ED84246201C26A2F4360D7CBC36AC1D232D";
const FINGERPRINT: &str = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8";

/// Default (Spaces-1) and Payments (Spaces-2), each with the TF pool, a proxy "corp-proxy" and
/// accounts "deploy-key" (SSH key pair) / "deploy-password".
fn infrastructure() -> Scenario {
    let space = |name: &str| {
        SpaceSeed::new(name)
            .pool(TF_POOL)
            .proxy(ProxySeed::new("corp-proxy", "proxy.corp.example", 3128).username("svc"))
            .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
            .account(AccountSeed::username_password("deploy-password", "deploy"))
    };
    Scenario::new()
        .space(space("Default").default_space())
        .space(space("Payments"))
}

fn proxy_id(emulator: &octopus_emulator::Emulator, space: &str) -> String {
    emulator.proxies(space)[0]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn account_id(emulator: &octopus_emulator::Emulator, space: &str, name: &str) -> String {
    emulator
        .accounts(space)
        .iter()
        .find(|a| a["Name"] == name)
        .and_then(|a| a["Id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no account {name} in {space}"))
}

fn body(name: &str, pool: &str, endpoint: Value) -> Value {
    json!({ "Name": name, "IsDisabled": false, "WorkerPoolIds": [pool], "Endpoint": endpoint })
}

#[tokio::test]
async fn listening_tentacle_behind_a_proxy_of_its_space_is_accepted() {
    let emulator = start(infrastructure());
    let proxy = proxy_id(&emulator, "Spaces-1");
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body(
            "listener",
            "WorkerPools-2",
            json!({"CommunicationStyle": "TentaclePassive", "Uri": "https://listener:10933/", "Thumbprint": THUMBPRINT, "ProxyId": proxy}),
        ),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let worker = reply.json();
    assert_eq!(worker["Endpoint"]["ProxyId"], proxy.as_str());
    assert_eq!(worker["Thumbprint"], THUMBPRINT);
    assert_eq!(worker["Uri"], "https://listener:10933/");
}

#[tokio::test]
async fn a_proxy_of_another_space_is_refused() {
    let emulator = start(infrastructure());
    let foreign = proxy_id(&emulator, "Spaces-2");
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body(
            "listener",
            "WorkerPools-2",
            json!({"CommunicationStyle": "TentaclePassive", "Uri": "https://listener:10933/", "Thumbprint": THUMBPRINT, "ProxyId": foreign}),
        ),
    )
    .await;
    assert_eq!(
        validation_errors(&reply),
        [format!(
            "The proxy '{foreign}' could not be found in space Spaces-1."
        )]
    );
    assert!(emulator.workers("Spaces-1").is_empty());
}

fn ssh_endpoint(account: &str) -> Value {
    json!({"CommunicationStyle": "Ssh", "Host": "Build-01.corp.example", "Port": 2222, "Fingerprint": FINGERPRINT,
           "AccountId": account, "DotNetCorePlatform": "linux-x64"})
}

#[tokio::test]
async fn ssh_worker_gets_the_server_shape_and_a_computed_uri() {
    let emulator = start(infrastructure());
    let account = account_id(&emulator, "Spaces-1", "deploy-key");
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body("ssh-01", "WorkerPools-2", ssh_endpoint(&account)),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let worker = reply.json();
    assert_eq!(
        keys(&worker["Endpoint"]),
        [
            "CommunicationStyle",
            "AccountId",
            "Host",
            "Port",
            "Fingerprint",
            "Uri",
            "ProxyId",
            "DotNetCorePlatform",
            "Id",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
        ]
    );
    assert_eq!(
        worker["Endpoint"]["Uri"],
        "ssh://build-01.corp.example:2222/"
    );
    assert_eq!(worker["Endpoint"]["AccountId"], account.as_str());
    // An SSH worker has no top-level Thumbprint/Uri (fixture worker-ssh.json).
    assert_eq!(
        (worker["Thumbprint"].clone(), worker["Uri"].clone()),
        (Value::Null, Value::Null)
    );
}

#[tokio::test]
async fn ssh_worker_needs_host_port_fingerprint_and_an_account_of_its_space() {
    let emulator = start(infrastructure());
    let missing = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body(
            "ssh",
            "WorkerPools-2",
            json!({"CommunicationStyle": "Ssh", "Port": 0}),
        ),
    )
    .await;
    assert_eq!(
        validation_errors(&missing),
        [
            "Please provide a host name for this machine.",
            "Please provide a port between 1 and 65535.",
            "Please provide the SSH host key fingerprint for this machine.",
            "Please select an account for this machine.",
        ]
    );
    let foreign = account_id(&emulator, "Spaces-2", "deploy-key");
    let cross_space = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body("ssh", "WorkerPools-2", ssh_endpoint(&foreign)),
    )
    .await;
    assert_eq!(
        validation_errors(&cross_space),
        [format!(
            "The account '{foreign}' could not be found in space Spaces-1."
        )]
    );
    let account = account_id(&emulator, "Spaces-1", "deploy-key");
    let mut behind_foreign_proxy = ssh_endpoint(&account);
    behind_foreign_proxy["ProxyId"] = json!(proxy_id(&emulator, "Spaces-2"));
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body("ssh", "WorkerPools-2", behind_foreign_proxy),
    )
    .await;
    assert_eq!(validation_errors(&reply).len(), 1);
    assert!(emulator.workers("Spaces-1").is_empty());
}

fn kubernetes_endpoint() -> Value {
    json!({"CommunicationStyle": "KubernetesTentacle",
           "TentacleEndpointConfiguration": {"CommunicationMode": "Polling", "Thumbprint": K8S_THUMBPRINT, "Uri": K8S_URI},
           "DefaultNamespace": "octopus-work"})
}

#[tokio::test]
async fn kubernetes_agent_keeps_its_identity_under_the_endpoint_configuration() {
    let emulator = start(infrastructure());
    let reply = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body("k8s-agent", "WorkerPools-2", kubernetes_endpoint()),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let worker = reply.json();
    assert_eq!(
        keys(&worker["Endpoint"]),
        [
            "CommunicationStyle",
            "TentacleEndpointConfiguration",
            "KubernetesAgentDetails",
            "UpgradeLocked",
            "DefaultNamespace",
            "Id",
            "LastModifiedOn",
            "LastModifiedBy",
            "Links"
        ]
    );
    let configuration = &worker["Endpoint"]["TentacleEndpointConfiguration"];
    assert_eq!(
        keys(configuration),
        [
            "CommunicationMode",
            "Thumbprint",
            "Uri",
            "CertificateSignatureAlgorithm"
        ]
    );
    assert_eq!(configuration["Thumbprint"], K8S_THUMBPRINT);
    assert_eq!(worker["Endpoint"]["KubernetesAgentDetails"], Value::Null);
    assert_eq!(worker["Thumbprint"], Value::Null, "not a Tentacle endpoint");
    // The thumbprint filter finds it through its endpoint configuration.
    let found = get_json(
        &emulator,
        &format!("/api/Spaces-1/workers/all?thumbprint={K8S_THUMBPRINT}"),
    )
    .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let by_style = get_json(
        &emulator,
        "/api/Spaces-1/workers?commStyles=KubernetesTentacle",
    )
    .await;
    assert_eq!(by_style["TotalResults"], 1);
}

#[tokio::test]
async fn kubernetes_agent_needs_its_endpoint_configuration() {
    let emulator = start(infrastructure());
    let without = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body(
            "k8s",
            "WorkerPools-2",
            json!({"CommunicationStyle": "KubernetesTentacle"}),
        ),
    )
    .await;
    assert_eq!(
        validation_errors(&without),
        ["Please provide a TentacleEndpointConfiguration for this Kubernetes agent."]
    );
    let mut endpoint = kubernetes_endpoint();
    endpoint["TentacleEndpointConfiguration"]["CommunicationMode"] = json!("Carrier pigeon");
    endpoint["TentacleEndpointConfiguration"]["Thumbprint"] = json!("");
    let invalid = post(
        &emulator,
        "/api/Spaces-1/workers",
        &body("k8s", "WorkerPools-2", endpoint),
    )
    .await;
    assert_eq!(
        validation_errors(&invalid),
        [
            "'Carrier pigeon' is not a valid CommunicationMode; expected Polling or Listening.",
            "Please provide a thumbprint for this machine.",
        ]
    );
}

#[tokio::test]
async fn seeded_workers_of_every_kind_resolve_their_proxy_and_account() {
    let scenario = Scenario::new().space(
        SpaceSeed::new("Default")
            .pool(TF_POOL)
            .proxy(ProxySeed::new("corp-proxy", "proxy", 3128))
            .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
            .worker(
                WorkerSeed::listening("listener", "https://listener:10933/", THUMBPRINT)
                    .via_proxy("corp-proxy")
                    .in_pool(TF_POOL),
            )
            .worker(
                WorkerSeed::ssh("ssh", "ssh-host", 22, FINGERPRINT)
                    .account("deploy-key")
                    .dot_net_core_platform("linux-x64")
                    .in_pool(TF_POOL),
            )
            .worker(
                WorkerSeed::kubernetes_agent("agent", K8S_URI, K8S_THUMBPRINT)
                    .default_namespace("work")
                    .in_pool(TF_POOL),
            )
            .worker(
                WorkerSeed::kubernetes_agent("listening-agent", "https://agent:10933/", K8S_THUMBPRINT)
                    .listening_mode()
                    .via_proxy("corp-proxy"),
            )
            .worker(WorkerSeed::with_endpoint(
                "offline",
                json!({"CommunicationStyle": "OfflineDrop", "Destination": {"DropFolderPath": "/drop"}}),
            )),
    );
    let emulator = start(scenario);
    let workers = emulator.workers("Spaces-1");
    let by_name = |name: &str| {
        workers
            .iter()
            .find(|w| w["Name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no worker {name}"))
    };
    assert_eq!(by_name("listener")["Endpoint"]["ProxyId"], "Proxies-1");
    let ssh = by_name("ssh");
    assert_eq!(ssh["Endpoint"]["AccountId"], "Accounts-1");
    assert_eq!(ssh["Endpoint"]["Uri"], "ssh://ssh-host:22/");
    let agent = by_name("agent");
    assert_eq!(
        agent["Endpoint"]["TentacleEndpointConfiguration"]["Uri"],
        K8S_URI
    );
    // A healthy seeded agent reports what a health check learns.
    assert_eq!(
        agent["Endpoint"]["KubernetesAgentDetails"]["UpgradeStatus"],
        "NoUpgrades"
    );
    assert_eq!(agent["Endpoint"]["DefaultNamespace"], "work");
    let listening = by_name("listening-agent");
    assert_eq!(
        listening["Endpoint"]["TentacleEndpointConfiguration"]["ProxyId"],
        "Proxies-1"
    );
    let offline = by_name("offline");
    assert_eq!(offline["Endpoint"]["CommunicationStyle"], "OfflineDrop");
    assert_eq!(
        offline["Endpoint"]["Destination"]["DropFolderPath"],
        "/drop"
    );
}

#[test]
fn seeds_of_each_kind_are_validated() {
    for (document, expected) in [
        (
            r#"{ "name": "s", "communicationStyle": "Ssh", "host": "h", "fingerprint": "f" }"#,
            "needs an `account`",
        ),
        (
            r#"{ "name": "s", "communicationStyle": "Ssh", "host": "h", "fingerprint": "f", "account": "nope" }"#,
            "no account named 'nope'",
        ),
        (
            r#"{ "name": "t", "uri": "poll://abcdefghijklmnopqrst/", "thumbprint": "AB", "proxy": "p" }"#,
            "`proxy` does not apply to a TentacleActive worker",
        ),
        (
            r#"{ "name": "k", "communicationStyle": "KubernetesTentacle", "uri": "https://x/", "thumbprint": "AB" }"#,
            "must start with poll://",
        ),
        (
            r#"{ "name": "o", "communicationStyle": "OfflineDrop" }"#,
            "needs its `endpoint` object",
        ),
    ] {
        let scenario =
            format!(r#"{{ "spaces": [ {{ "name": "A", "workers": [ {document} ] }} ] }}"#);
        let error = Scenario::from_json_str(&scenario)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains(expected), "{document}: {error}");
        assert!(error.contains("workers[0]"), "{error}");
    }
}

#[tokio::test]
async fn put_cannot_change_the_endpoint_type_of_any_kind() {
    let emulator = start(infrastructure());
    let account = account_id(&emulator, "Spaces-1", "deploy-key");
    let kinds = [
        worker_body("polling", "WorkerPools-2")["Endpoint"].clone(),
        ssh_endpoint(&account),
        kubernetes_endpoint(),
    ];
    for (index, endpoint) in kinds.iter().enumerate() {
        let mut worker = post(
            &emulator,
            "/api/Spaces-1/workers",
            &body(&format!("w{index}"), "WorkerPools-2", endpoint.clone()),
        )
        .await
        .json();
        let other = &kinds[(index + 1) % kinds.len()];
        worker["Endpoint"] = other.clone();
        let id = worker["Id"].as_str().unwrap_or_default().to_owned();
        let reply = put(&emulator, &format!("/api/Spaces-1/workers/{id}"), &worker).await;
        assert_eq!(
            validation_errors(&reply),
            ["Model Endpoint type does not match incoming type"],
            "kind {index}"
        );
    }
}

#[tokio::test]
async fn put_takes_thumbprint_and_uri_from_the_endpoint_not_the_top_level_mirrors() {
    let emulator = start(two_spaces());
    let mut worker = post(
        &emulator,
        "/api/Spaces-1/workers",
        &worker_body("w", "WorkerPools-2"),
    )
    .await
    .json();
    // The mirrors disagree with the endpoint: the endpoint wins (the top-level fields are
    // "Obsoleted as Server 3.4" and absent from the server's PUT schema).
    worker["Thumbprint"] = json!("00112233445566778899AABBCCDDEEFF00112233");
    worker["Uri"] = json!("poll://zzzzzzzzzzzzzzzzzzzz/");
    let reply = put(&emulator, "/api/Spaces-1/workers/Workers-1", &worker).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let updated = reply.json();
    assert_eq!(updated["Thumbprint"], THUMBPRINT);
    assert_eq!(updated["Uri"], POLL_URI);
    // Changing the endpoint changes the mirrors.
    worker["Endpoint"]["Thumbprint"] = json!("00112233445566778899AABBCCDDEEFF00112233");
    let reply = put(&emulator, "/api/Spaces-1/workers/Workers-1", &worker).await;
    assert_eq!(
        reply.json()["Thumbprint"],
        "00112233445566778899AABBCCDDEEFF00112233"
    );
}
