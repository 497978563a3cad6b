//! Resource handlers against the emulator: spaces (looked up by id or name), worker pools,
//! machine policies, workers (create, read, update, delete with the endpoint kept exactly)
//! and step templates.

use octopus_emulator::{Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::domain::{
    self, EndpointIdentity, LookupError, NameMatch, ResolveError, SpaceRef, WorkerKind,
};
use octoshare_core::{ActionTemplateId, ApiError, Endpoint, HealthStatus, NewWorker, SpaceId};
use serde_json::{Value, json};

use crate::support::{client, emulator};

const THUMBPRINT: &str = "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A";

fn three_spaces() -> Scenario {
    Scenario::new()
        .space(
            SpaceSeed::new("Default")
                .default_space()
                .pool("Shared Pool")
                .worker(
                    WorkerSeed::polling("worker-1", "poll://abcdefghijklmnopqrst/", THUMBPRINT)
                        .in_pool("Shared Pool")
                        .health("HasWarnings"),
                ),
        )
        .space(
            SpaceSeed::new("Payments")
                .pool("Shared Pool")
                .policy("Polling Policy"),
        )
        .space(SpaceSeed::new("Spaces-77 lookalike"))
}

#[tokio::test]
async fn spaces_are_looked_up_by_id_or_by_name() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let payments = emulator.space_id("Payments").unwrap();

    let by_id = domain::lookup_space(&client, &payments).await.unwrap();
    assert_eq!(by_id.name, "Payments");
    let lower_id = domain::lookup_space(&client, &payments.to_lowercase())
        .await
        .unwrap();
    assert_eq!(lower_id.name, "Payments");
    let by_name = domain::lookup_space(&client, "  payments ").await.unwrap();
    assert_eq!(by_name.id.as_str(), payments);
    let lookalike = domain::lookup_space(&client, "spaces-77 LOOKALIKE")
        .await
        .unwrap();
    assert_eq!(lookalike.name, "Spaces-77 lookalike");
    let space = client
        .spaces()
        .get(&SpaceId::from(payments.as_str()))
        .await
        .unwrap();
    assert_eq!(space.name, "Payments");
    assert!(!space.is_default);
}

#[tokio::test]
async fn an_unknown_space_does_not_resolve_naming_it_and_the_search() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);

    let by_name = domain::lookup_space(&client, "Nope").await.unwrap_err();
    let by_id = domain::lookup_space(&client, "Spaces-999")
        .await
        .unwrap_err();

    assert!(by_name.api_error().is_none());
    assert_eq!(
        by_name.to_string(),
        "no space has the name or Id 'Nope' (3 spaces searched)"
    );
    assert!(
        matches!(
            by_id,
            LookupError::Resolve(ResolveError::SpaceNotFound { ref wanted, searched: 3 }) if wanted == "Spaces-999"
        ),
        "{by_id:?}"
    );
}

#[tokio::test]
async fn worker_pools_and_machine_policies_are_found_by_name() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let payments = SpaceId::from(emulator.space_id("Payments").unwrap());

    let pools = client.worker_pools(&payments).all().await.unwrap();
    let NameMatch::Found(pool) = domain::find_by_name(&pools, "SHARED POOL") else {
        panic!("Shared Pool not found");
    };
    let missing = domain::find_by_name(&pools, "Other");
    let default_policy = client
        .machine_policies(&payments)
        .default_policy()
        .await
        .unwrap()
        .unwrap();
    let policies = client.machine_policies(&payments).all().await.unwrap();
    let NameMatch::Found(polling_policy) = domain::find_by_name(&policies, "polling policy") else {
        panic!("Polling Policy not found");
    };

    assert_eq!(pools.len(), 2, "default pool + Shared Pool");
    assert!(pools.iter().any(|pool| pool.is_default));
    let summaries = client
        .worker_pools(&payments)
        .all_summaries()
        .await
        .unwrap();
    let same: Vec<(&str, &str)> = pools
        .iter()
        .map(|pool| (pool.id.as_str(), pool.name.as_str()))
        .collect();
    let summarised: Vec<(&str, &str)> = summaries
        .iter()
        .map(|pool| (pool.id.as_str(), pool.name.as_str()))
        .collect();
    assert_eq!(
        summarised, same,
        "the summaries are the pools' Ids and names, in order"
    );
    assert_eq!(pool.name, "Shared Pool");
    assert_eq!(pool.space_id.as_ref(), Some(&payments));
    assert_eq!(pool.worker_pool_type.as_deref(), Some("StaticWorkerPool"));
    assert_eq!(missing, NameMatch::Missing);
    assert_eq!(default_policy.name, "Default Machine Policy");
    assert!(default_policy.is_default);
    assert!(!polling_policy.is_default);
}

#[tokio::test]
async fn worker_is_shared_into_another_space_with_its_endpoint_unchanged() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let default = SpaceId::from(emulator.space_id("Default").unwrap());
    let payments = SpaceId::from(emulator.space_id("Payments").unwrap());
    let source = client.workers(&default).all().await.unwrap().remove(0);
    assert_eq!(source.health_status, HealthStatus::HasWarnings);
    assert_eq!(
        WorkerKind::of(&source.endpoint),
        WorkerKind::PollingTentacle
    );
    let identity = EndpointIdentity::of(&source.endpoint).expect("a polling worker");
    assert!(identity.to_string().contains(THUMBPRINT), "{identity}");
    let pool = domain::lookup_pool(
        &client,
        &SpaceRef::new(payments.clone(), "Payments"),
        "Shared Pool",
    )
    .await
    .unwrap();
    let policy = client
        .machine_policies(&payments)
        .default_policy()
        .await
        .unwrap()
        .unwrap();

    let created = client
        .workers(&payments)
        .create(&NewWorker {
            name: source.name.clone(),
            space_id: payments.clone(),
            is_disabled: source.is_disabled,
            worker_pool_ids: vec![pool.id.clone()],
            machine_policy_id: Some(policy.id.clone()),
            endpoint: source.endpoint.clone(),
        })
        .await
        .unwrap();

    assert_eq!(created.space_id.as_ref(), Some(&payments));
    assert_eq!(created.worker_pool_ids, vec![pool.id.clone()]);
    assert_eq!(EndpointIdentity::of(&created.endpoint), Some(identity));
    assert_eq!(
        created.endpoint, source.endpoint,
        "endpoint copied field for field"
    );
    let read_back = client.workers(&payments).get(&created.id).await.unwrap();
    assert_eq!(read_back.endpoint, source.endpoint);
    let in_pool = client
        .worker_pools(&payments)
        .workers(&pool.id)
        .await
        .unwrap();
    assert_eq!(in_pool.len(), 1);
}

#[tokio::test]
async fn worker_update_puts_the_full_resource_and_keeps_unknown_fields() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let default = SpaceId::from(emulator.space_id("Default").unwrap());
    let mut worker = client.workers(&default).all().await.unwrap().remove(0);
    let default_pool = client
        .worker_pools(&default)
        .all()
        .await
        .unwrap()
        .into_iter()
        .find(|pool| pool.is_default)
        .unwrap();
    let extra_keys: Vec<String> = worker.extra.keys().cloned().collect();
    worker.worker_pool_ids.push(default_pool.id.clone());

    let updated = client.workers(&default).update(&worker).await.unwrap();

    assert_eq!(updated.worker_pool_ids.len(), 2);
    assert!(updated.worker_pool_ids.contains(&default_pool.id));
    assert_eq!(updated.endpoint, worker.endpoint);
    for key in extra_keys {
        assert!(updated.extra.contains_key(&key), "{key} kept");
    }
    let put = emulator
        .requests()
        .into_iter()
        .find(|request| request.method == "PUT")
        .unwrap();
    assert_eq!(put.path, format!("/api/{default}/workers/{}", worker.id));
}

#[tokio::test]
async fn worker_delete_removes_it() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let default = SpaceId::from(emulator.space_id("Default").unwrap());
    let worker = client.workers(&default).all().await.unwrap().remove(0);

    client.workers(&default).delete(&worker.id).await.unwrap();

    assert!(
        client
            .workers(&default)
            .get(&worker.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(client.workers(&default).all().await.unwrap().is_empty());
}

#[tokio::test]
async fn polling_endpoint_built_by_the_client_is_accepted() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let payments = SpaceId::from(emulator.space_id("Payments").unwrap());
    let pool = domain::lookup_pool(
        &client,
        &SpaceRef::new(payments.clone(), "Payments"),
        "Shared Pool",
    )
    .await
    .unwrap();
    let policy = client
        .machine_policies(&payments)
        .default_policy()
        .await
        .unwrap()
        .unwrap();

    let created = client
        .workers(&payments)
        .create(&NewWorker {
            name: "fresh".into(),
            space_id: payments.clone(),
            is_disabled: true,
            worker_pool_ids: vec![pool.id],
            machine_policy_id: Some(policy.id.clone()),
            endpoint: Endpoint::polling("poll://zzzzzzzzzzzzzzzzzzzz/", THUMBPRINT),
        })
        .await
        .unwrap();
    assert_eq!(created.machine_policy_id.as_ref(), Some(&policy.id));
    // Without a policy the server gives the space's default (as for Tentacle's own
    // `register-worker` without `--policy`).
    let defaulted = client
        .workers(&payments)
        .create(&NewWorker {
            name: "defaulted".into(),
            space_id: payments.clone(),
            is_disabled: false,
            worker_pool_ids: created.worker_pool_ids.clone(),
            machine_policy_id: None,
            endpoint: Endpoint::polling("poll://yyyyyyyyyyyyyyyyyyyy/", THUMBPRINT),
        })
        .await
        .unwrap();
    assert_eq!(defaulted.machine_policy_id, Some(policy.id));

    assert!(created.is_disabled);
    assert_eq!(created.health_status, HealthStatus::Unknown);
    assert_eq!(
        WorkerKind::of(&created.endpoint),
        WorkerKind::PollingTentacle
    );
    assert_eq!(created.endpoint.uri(), Some("poll://zzzzzzzzzzzzzzzzzzzz/"));
}

#[tokio::test]
async fn step_templates_are_created_listed_and_updated() {
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let payments = SpaceId::from(emulator.space_id("Payments").unwrap());
    let export: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/octopus/actiontemplate-library-export-2026.1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let templates = client.action_templates(&payments);

    let created = templates.create(&export).await.unwrap();
    let listed = templates.all().await.unwrap();
    let mut changed = serde_json::to_value(&created).unwrap();
    changed["Description"] = json!("changed by the test");
    let updated = templates.update(&created.id, &changed).await.unwrap();

    assert_eq!(created.name, export["Name"].as_str().unwrap());
    assert!(
        created.id.as_str().starts_with("ActionTemplates-"),
        "{}",
        created.id
    );
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);
    assert_eq!(updated.extra["Description"], "changed by the test");
    assert!(
        updated.version > created.version,
        "{:?} > {:?}",
        updated.version,
        created.version
    );
    let unknown = templates
        .update(&ActionTemplateId::from("ActionTemplates-999"), &changed)
        .await
        .unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");
}

#[tokio::test]
async fn handler_futures_outlive_their_handler_and_are_send() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let emulator = emulator(three_spaces());
    let client = client(&emulator);
    let spaces = client.spaces().all().await.unwrap();

    // Futures built in a closure from a temporary handler, as a concurrent fan-out would.
    let futures: Vec<_> = spaces
        .iter()
        .map(|space| assert_send(client.worker_pools(&space.id).all()))
        .collect();
    let mut n_pools = 0;
    for future in futures {
        n_pools += future.await.unwrap().len();
    }
    let resolve = assert_send(domain::lookup_space(&client, "payments"));
    let policies = assert_send(client.machine_policies(&spaces[0].id).default_policy());

    assert_eq!(n_pools, 2 + 2 + 1, "default pools plus two shared pools");
    assert_eq!(resolve.await.unwrap().name, "Payments");
    assert!(policies.await.unwrap().is_some());
}

#[test]
fn client_and_errors_can_cross_threads() {
    fn assert_send_sync_static<T: Send + Sync + 'static>() {}
    assert_send_sync_static::<octoshare_core::Client>();
    assert_send_sync_static::<ApiError>();
}
