//! The decision table end to end: create, re-run, add to pool, replace/skip stale names, prune,
//! machine policies, spaces without the pool.

use super::support::*;
use octopus_emulator::{Emulator, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::Client;
use octoshare_core::domain::{PoolRef, ResolvedTarget, SpaceRef};
use octoshare_share::{ShareOptions, ShareRequest, ShareTargets};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Adds a source worker whose endpoint carries a field the client does not model, through the
/// API (seeds cannot carry one).
fn add_worker_with_extra_endpoint_field(emulator: &Emulator, space_id: &str, pool_id: &str) {
    let client: Client = client(emulator, &emulator.api_key());
    let body: octoshare_core::NewWorker = serde_json::from_value(json!({
        "Name": "web-extra",
        "SpaceId": space_id,
        "IsDisabled": true,
        "WorkerPoolIds": [pool_id],
        "MachinePolicyId": default_policy_id(emulator, space_id),
        "Endpoint": {
            "CommunicationStyle": "TentacleActive",
            "Uri": uri(99),
            "Thumbprint": thumbprint(99),
            "FutureOctopusField": {"Nested": [1, 2, 3]}
        }
    }))
    .unwrap();
    runtime()
        .block_on(client.workers(&space_id.into()).create(&body))
        .unwrap();
}

fn default_policy_id(emulator: &Emulator, space_id: &str) -> String {
    policy_id(emulator, space_id, "Default Machine Policy")
}

fn policy_id(emulator: &Emulator, space_id: &str, name: &str) -> String {
    let client = client(emulator, &emulator.api_key());
    let policies = runtime()
        .block_on(client.machine_policies(&space_id.into()).all())
        .unwrap();
    policies
        .into_iter()
        .find(|policy| policy.name == name)
        .map(|policy| policy.id.to_string())
        .expect("policy exists")
}

fn worker_named<'a>(workers: &'a [Value], name: &str) -> &'a Value {
    workers
        .iter()
        .find(|worker| worker["Name"] == name)
        .unwrap_or_else(|| panic!("no worker {name} in {workers:#?}"))
}

#[test]
fn share_first_run_creates_every_worker_and_rerun_makes_no_write() {
    let emulator =
        Emulator::start(target_spaces(Scenario::new().space(source_space(2)), 5)).unwrap();
    let source_id = emulator.space_id("Default").unwrap();
    let source_pool = pool_id(&emulator, &source_id, POOL);
    add_worker_with_extra_endpoint_field(&emulator, &source_id, &source_pool);
    let targets: Vec<String> = (1..=5).map(|n| format!("Target {n}")).collect();
    let target_names: Vec<&str> = targets.iter().map(String::as_str).collect();
    let target_ids = ids(&emulator, &target_names);
    emulator.clear_requests();

    let base = share_args(&target_ids);
    let first = run(&emulator, &args(&base, &[]));
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(first.counts(), [15, 0, 0, 0, 0]);
    assert_eq!(emulator.count("POST"), 15);
    assert_eq!(emulator.count("PUT") + emulator.count("DELETE"), 0);

    let source_workers = emulator.workers(&source_id);
    for target_id in target_ids.split(',') {
        let pool = pool_id(&emulator, target_id, POOL);
        let shared = workers_in_pool(&emulator, target_id, &pool);
        assert_eq!(shared.len(), 3, "{target_id}");
        for source in &source_workers {
            let name = source["Name"].as_str().unwrap();
            let copy = worker_named(&shared, name);
            assert_eq!(copy["Endpoint"], source["Endpoint"], "{target_id} {name}");
            assert_eq!(copy["WorkerPoolIds"], json!([pool]));
            assert_eq!(
                copy["MachinePolicyId"],
                json!(default_policy_id(&emulator, target_id))
            );
            assert_eq!(copy["IsDisabled"], source["IsDisabled"]);
            assert_eq!(copy["SpaceId"], json!(target_id));
        }
        let extra = worker_named(&shared, "web-extra");
        assert_eq!(
            extra["Endpoint"]["FutureOctopusField"],
            json!({"Nested": [1, 2, 3]})
        );
        assert_eq!(extra["IsDisabled"], json!(true));
    }
    let highlight = first.stdout.lines().any(|line| line.contains("15 created"));
    assert!(highlight, "{}", first.stdout);

    emulator.clear_requests();
    let second = run(&emulator, &args(&base, &[]));
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(second.counts(), [0, 0, 15, 0, 0]);
    assert_eq!(writes(&emulator), 0);
    for target_id in target_ids.split(',') {
        let gets = gets_in_space(&emulator, target_id);
        assert_eq!(gets, 2, "{target_id}: its pools and its workers");
    }
    let total_gets = emulator.count("GET");
    // /spaces/all, the source's /workerpools/all and one page of pool workers, 2 per target
    // (no machine policy is read: nothing is created).
    assert_eq!(total_gets, 3 + 5 * 2, "{:#?}", emulator.requests());
}

#[test]
fn share_space_without_the_pool_fails_alone_with_exit_code_5() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(2)), 2)
            .space(SpaceSeed::new("No Pool").pool("Something Else")),
    )
    .unwrap();
    let base = share_args("Target 1,No Pool,Target 2");
    let result = run(&emulator, &args(&base, &[]));
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [4, 0, 0, 0, 1]);
    assert!(
        result
            .stdout
            .contains("no worker pool named 'AWS Worker Pool TF'"),
        "{}",
        result.stdout
    );
    let message = &result.messages_named("resultMessage")[0];
    assert!(
        message
            .get("message")
            .unwrap()
            .contains("1 item failed in 1 of 3 target spaces")
    );
    for name in ["Target 1", "Target 2"] {
        let id = emulator.space_id(name).unwrap();
        assert_eq!(
            workers_in_pool(&emulator, &id, &pool_id(&emulator, &id, POOL)).len(),
            2
        );
    }
}

#[test]
fn share_replaces_a_stale_same_name_registration_in_place() {
    let emulator = Emulator::start(
        Scenario::new().space(source_space(2)).space(
            SpaceSeed::new("Target 1")
                .pool(POOL)
                .pool("Other Pool")
                // Yesterday's VM "web-1": same host name, old thumbprint and subscription id.
                .worker(
                    polling(" WEB-1 ", 501)
                        .in_pool("Other Pool")
                        .health("Unavailable"),
                ),
        ),
    )
    .unwrap();
    let target = emulator.space_id("Target 1").unwrap();
    let stale_id = emulator.workers(&target)[0]["Id"].clone();
    let base = share_args("Target 1");
    let result = run(&emulator, &args(&base, &[]));
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [1, 1, 0, 0, 0]);
    assert_eq!((emulator.count("POST"), emulator.count("PUT")), (1, 1));

    let workers = emulator.workers(&target);
    assert_eq!(workers.len(), 2);
    let replaced = workers.iter().find(|w| w["Id"] == stale_id).unwrap();
    assert_eq!(identity(replaced), (uri(1), thumbprint(1)));
    let pools = replaced["WorkerPoolIds"].as_array().unwrap();
    assert!(pools.contains(&json!(pool_id(&emulator, &target, "Other Pool"))));
    assert!(pools.contains(&json!(pool_id(&emulator, &target, POOL))));

    emulator.clear_requests();
    let again = run(&emulator, &args(&base, &[]));
    assert_eq!(again.counts(), [0, 0, 2, 0, 0]);
    assert_eq!(writes(&emulator), 0);
}

#[test]
fn share_skip_reports_the_stale_registration_as_a_conflict() {
    let emulator = Emulator::start(
        Scenario::new().space(source_space(2)).space(
            SpaceSeed::new("Target 1")
                .pool(POOL)
                .worker(polling("web-1", 501)),
        ),
    )
    .unwrap();
    let base = share_args("Target 1");
    let result = run(
        &emulator,
        &args(&base, &["--on-conflict", "skip", "--prune"]),
    );
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [1, 0, 0, 0, 0]);
    assert_eq!(
        (
            emulator.count("POST"),
            emulator.count("PUT"),
            emulator.count("DELETE")
        ),
        (1, 0, 0)
    );
    let warning = result
        .stdout
        .lines()
        .find(|line| line.starts_with("conflict:"))
        .unwrap_or_else(|| panic!("no conflict line:\n{}", result.stdout));
    assert!(
        warning.contains("'web-1'") && warning.contains("left alone (conflicts are skipped)"),
        "{warning}"
    );
    let target = emulator.space_id("Target 1").unwrap();
    let stale = worker_named(&emulator.workers(&target), "web-1").clone();
    assert_eq!(identity(&stale), (uri(501), thumbprint(501)));
}

#[test]
fn share_replace_of_another_endpoint_type_fails_that_worker_clearly() {
    let emulator = Emulator::start(
        Scenario::new().space(source_space(2)).space(
            SpaceSeed::new("Target 1").pool(POOL).worker(
                WorkerSeed::listening("web-1", "https://web-1:10933/", &thumbprint(501))
                    .in_pool(POOL)
                    .health("Unavailable"),
            ),
        ),
    )
    .unwrap();
    let result = run(&emulator, &args(&share_args("Target 1"), &[]));
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [1, 0, 0, 0, 1]);
    let line = result
        .stdout
        .lines()
        .find(|line| line.starts_with("failed: space 'Target 1'"))
        .unwrap_or_else(|| panic!("no failure line:\n{}", result.stdout));
    assert!(line.contains("worker 'web-1'"), "{line}");
    assert!(
        line.contains("Model Endpoint type does not match incoming type"),
        "{line}"
    );
    assert!(line.contains("delete the stale worker"), "{line}");
}

#[test]
fn share_prune_removes_only_unhealthy_stale_workers_of_shared_kinds_from_the_target_pool() {
    let emulator = Emulator::start(
        Scenario::new().space(source_space(1)).space(
            SpaceSeed::new("Target 1")
                .pool(POOL)
                .pool("Other Pool")
                .worker(polling("web-1", 1))
                .worker(polling("gone-unavailable", 201).health("Unavailable"))
                .worker(polling("gone-unhealthy", 202).health("Unhealthy"))
                .worker(polling("alive", 203).health("Healthy"))
                .worker(polling("warnings", 204).health("HasWarnings"))
                .worker(
                    polling("both-pools", 205)
                        .in_pool("Other Pool")
                        .health("Unavailable"),
                )
                .worker(
                    WorkerSeed::polling("elsewhere", &uri(206), &thumbprint(206))
                        .in_pool("Other Pool")
                        .health("Unavailable"),
                )
                .worker(
                    WorkerSeed::listening(
                        "listening",
                        "https://listening:10933/",
                        &thumbprint(207),
                    )
                    .in_pool(POOL)
                    .health("Unavailable"),
                )
                .worker(
                    WorkerSeed::with_endpoint(
                        "offline-drop",
                        json!({"CommunicationStyle": "OfflineDrop", "Destination": {"DropFolderPath": "/drop"}}),
                    )
                    .in_pool(POOL)
                    .health("Unavailable"),
                ),
        ),
    )
    .unwrap();
    let target = emulator.space_id("Target 1").unwrap();
    let base = share_args("Target 1");

    let without = run(&emulator, &args(&base, &[]));
    assert_eq!(without.counts(), [0, 0, 1, 0, 0]);
    assert_eq!(writes(&emulator), 0);

    let pruned = run(&emulator, &args(&base, &["--prune"]));
    assert_eq!(pruned.code, 0, "{}\n{}", pruned.stdout, pruned.stderr);
    assert_eq!(pruned.counts(), [0, 0, 1, 4, 0]);
    assert_eq!(
        (
            emulator.count("DELETE"),
            emulator.count("PUT"),
            emulator.count("POST")
        ),
        (3, 1, 0)
    );
    let mut names: Vec<String> = emulator
        .workers(&target)
        .iter()
        .map(|w| w["Name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "alive",
            "both-pools",
            "elsewhere",
            "offline-drop",
            "warnings",
            "web-1"
        ]
    );
    let both = worker_named(&emulator.workers(&target), "both-pools").clone();
    assert_eq!(
        both["WorkerPoolIds"],
        json!([pool_id(&emulator, &target, "Other Pool")])
    );
    // The source space is never pruned.
    let source = emulator.space_id("Default").unwrap();
    assert_eq!(emulator.workers(&source).len(), 1);
}

#[test]
fn share_adds_the_pool_to_an_existing_registration_keeping_its_other_pools() {
    let emulator = Emulator::start(
        Scenario::new().space(source_space(1)).space(
            SpaceSeed::new("Target 1")
                .pool(POOL)
                .pool("Other Pool")
                .worker(
                    WorkerSeed::polling("web-1-renamed", &uri(1), &thumbprint(1).to_lowercase())
                        .in_pool("Other Pool"),
                ),
        ),
    )
    .unwrap();
    let target = emulator.space_id("Target 1").unwrap();
    let result = run(&emulator, &args(&share_args("Target 1"), &[]));
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [0, 1, 0, 0, 0]);
    assert_eq!((emulator.count("POST"), emulator.count("PUT")), (0, 1));
    let workers = emulator.workers(&target);
    assert_eq!(workers.len(), 1);
    assert_eq!(
        workers[0]["WorkerPoolIds"],
        json!([
            pool_id(&emulator, &target, "Other Pool"),
            pool_id(&emulator, &target, POOL)
        ])
    );
    assert_eq!(workers[0]["Name"], "web-1-renamed");
}

#[test]
fn share_uses_the_named_machine_policy_or_each_space_default() {
    let emulator =
        Emulator::start(target_spaces(Scenario::new().space(source_space(1)), 2)).unwrap();
    let one = emulator.space_id("Target 1").unwrap();
    let two = emulator.space_id("Target 2").unwrap();

    let named = run(
        &emulator,
        &args(&share_args("Target 1"), &["--machine-policy", " fast "]),
    );
    assert_eq!(named.code, 0, "{}\n{}", named.stdout, named.stderr);
    assert_eq!(
        emulator.workers(&one)[0]["MachinePolicyId"],
        json!(policy_id(&emulator, &one, "Fast"))
    );

    let default = run(&emulator, &args(&share_args("Target 2"), &[]));
    assert_eq!(default.code, 0);
    assert_eq!(
        emulator.workers(&two)[0]["MachinePolicyId"],
        json!(default_policy_id(&emulator, &two))
    );
}

#[test]
fn share_missing_named_policy_fails_only_that_space() {
    let emulator = Emulator::start(
        target_spaces(Scenario::new().space(source_space(1)), 1)
            .space(SpaceSeed::new("Slow Space").pool(POOL)),
    )
    .unwrap();
    let result = run(
        &emulator,
        &args(
            &share_args("Slow Space,Target 1"),
            &["--machine-policy", "Fast"],
        ),
    );
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [1, 0, 0, 0, 1]);
    let line = result
        .stdout
        .lines()
        .find(|line| line.starts_with("failed: 'Slow Space'"))
        .unwrap_or_else(|| panic!("{}", result.stdout));
    assert!(line.contains("no machine policy named 'Fast'"), "{line}");
    assert!(line.contains("leave out --machine-policy"), "{line}");
}

#[test]
fn share_rerun_into_an_already_shared_space_makes_no_post_even_with_a_stale_copy_elsewhere() {
    // A worker shared under the same name into another pool of the target space counts as
    // shared once it is in the target pool: add the pool, never POST a second registration.
    let emulator = Emulator::start(
        Scenario::new().space(source_space(3)).space(
            SpaceSeed::new("Target 1")
                .pool(POOL)
                .worker(polling("web-2", 2)),
        ),
    )
    .unwrap();
    let result = run(&emulator, &args(&share_args("Target 1"), &[]));
    assert_eq!(result.counts(), [2, 0, 1, 0, 0]);
    let target = emulator.space_id("Target 1").unwrap();
    let counts = identity_counts(&emulator.workers(&target));
    assert!(counts.values().all(|&count| count == 1), "{counts:?}");
}

#[test]
fn share_of_resolved_targets_reads_only_the_workers_of_each_target() {
    let emulator =
        Emulator::start(target_spaces(Scenario::new().space(source_space(2)), 2)).unwrap();
    let resolved = |name: &str| {
        let id = emulator.space_id(name).unwrap();
        ResolvedTarget::new(
            SpaceRef::new(id.as_str(), name),
            PoolRef::new(pool_id(&emulator, &id, POOL).as_str(), POOL),
        )
    };
    let source = resolved("Default");
    let remaining = [resolved("Target 1"), resolved("Target 2")];
    let client = client(&emulator, &emulator.api_key());
    let share = |targets: &ShareTargets| {
        runtime()
            .block_on(octoshare_share::share(
                &client,
                targets,
                &ShareOptions::default(),
                &mut (),
                &CancellationToken::new(),
            ))
            .unwrap()
    };

    // What discover hands over: every space and pool resolved, so no list is read again.
    let report = share(&ShareTargets::from_discovered(&source, &remaining));
    assert_eq!(report.totals.created, 4);
    let requests = emulator.requests();
    let paths: Vec<String> = requests
        .iter()
        .map(|request| format!("{} {}", request.method, request.path.to_lowercase()))
        .collect();
    assert!(
        !paths
            .iter()
            .any(|path| path.ends_with("/spaces/all") || path.ends_with("/workerpools/all")),
        "{paths:#?}"
    );
    // The source pool's workers, then each target's workers (no policy: the server gives
    // its default); one POST per worker.
    assert_eq!(emulator.count("GET"), 1 + 2, "{paths:#?}");
    assert_eq!(emulator.count("POST"), 4);
    for target in &remaining {
        assert_eq!(emulator.workers(target.space.id.as_str()).len(), 2);
    }

    // Standalone, by name: the spaces and the pools are listed and resolved first.
    emulator.clear_requests();
    let request = ShareRequest::new(source.space.id.as_str(), &["target 1"], POOL);
    let targets = runtime()
        .block_on(octoshare_share::resolve(&client, &request))
        .unwrap();
    let report = share(&targets);
    assert_eq!(report.totals.unchanged, 2);
    let reads = |suffix: &str| {
        emulator
            .requests()
            .iter()
            .filter(|request| request.path.to_lowercase().ends_with(suffix))
            .count()
    };
    assert_eq!(reads("/api/spaces/all"), 1);
    assert_eq!(
        reads("/workerpools/all"),
        2,
        "the source's and the target's"
    );
    assert_eq!(writes(&emulator), 0);
}
