//! Every kind of worker that can be shared, end to end: polling and listening Tentacles, SSH
//! workers and Kubernetes agents are shared with their proxy and account mapped by name, a
//! re-run writes nothing and reads no proxy, account or policy, stale registrations are
//! replaced, gone ones pruned; a missing proxy or account fails that worker alone; a dynamic
//! target pool and a key without `WorkerEdit` are reported clearly.

use super::support::*;
use octopus_emulator::{Access, ApiKeySeed, Emulator, Scenario, SpaceSeed, WorkerSeed};
use serde_json::Value;

fn worker<'a>(workers: &'a [Value], name: &str) -> &'a Value {
    workers
        .iter()
        .find(|worker| worker["Name"] == name)
        .unwrap_or_else(|| panic!("no worker {name} in {workers:#?}"))
}

fn names(workers: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = workers
        .iter()
        .map(|worker| worker["Name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The report of a `--output json` run.
fn report(run: &Run) -> Value {
    let document: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not one JSON document ({error}):\n{}", run.stdout));
    document["Report"].clone()
}

/// `(worker name, Action, Outcome, FailureKind, Reason)` of a space in a report.
fn results(report: &Value, space_id: &str) -> Vec<(String, String, String, Value, String)> {
    let space = report["Spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|space| space["Space"]["Id"] == space_id)
        .unwrap_or_else(|| panic!("no space {space_id} in {report:#}"));
    space["Workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|worker| {
            (
                worker["Name"].as_str().unwrap().to_owned(),
                worker["Action"].as_str().unwrap().to_owned(),
                worker["Outcome"].as_str().unwrap().to_owned(),
                worker["FailureKind"].clone(),
                worker["Reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn share_every_kind_maps_proxies_and_accounts_and_a_rerun_reads_none_of_them() {
    let emulator = Emulator::start(
        Scenario::new()
            .space(mixed_source_space())
            .space(target_space("Target 1", true, true))
            .space(target_space("Target 2", true, true)),
    )
    .unwrap();
    let source = emulator.space_id("Default").unwrap();
    let base = share_args("Target 1,Target 2");

    emulator.clear_requests();
    let first = run(&emulator, &args(&base, &["--output", "json"]));
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let first_report = report(&first);
    assert_eq!(first_report["Totals"]["Created"], 8);
    assert_eq!(first_report["Totals"]["Failed"], 0);
    let skipped: Vec<&Value> = first_report["SourceWorkers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|worker| worker["Shared"] == false)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["Name"], "drop-1");
    assert!(
        skipped[0]["Reason"]
            .as_str()
            .unwrap()
            .ends_with("its endpoint is OfflineDrop"),
        "{skipped:?}"
    );
    assert!(
        first
            .stderr
            .contains("source worker 'drop-1' (Workers-5) is not shared"),
        "{}",
        first.stderr
    );
    // The source's proxies and accounts were read once, each target's once; no machine
    // policies (the creates leave them to the server: the space's default).
    assert_eq!(reads_of(&emulator, "proxies"), 3);
    assert_eq!(reads_of(&emulator, "accounts"), 3);
    assert_eq!(reads_of(&emulator, "machinepolicies"), 0);

    let source_workers = emulator.workers(&source);
    for target_name in ["Target 1", "Target 2"] {
        let target = emulator.space_id(target_name).unwrap();
        let proxy = reference_id(&emulator, &target, "proxies", PROXY);
        let account = reference_id(&emulator, &target, "accounts", ACCOUNT);
        assert_ne!(proxy, reference_id(&emulator, &source, "proxies", PROXY));
        let copies = emulator.workers(&target);
        assert_eq!(
            names(&copies),
            ["k8s-1", "listener-1", "ssh-1", "web-1"],
            "{target_name}"
        );
        let listener = worker(&copies, "listener-1");
        assert_eq!(listener["Endpoint"]["ProxyId"], proxy.as_str());
        assert_eq!(
            listener["Endpoint"]["Uri"],
            worker(&source_workers, "listener-1")["Endpoint"]["Uri"]
        );
        let ssh = worker(&copies, "ssh-1");
        assert_eq!(ssh["Endpoint"]["AccountId"], account.as_str());
        assert_eq!(ssh["Endpoint"]["ProxyId"], proxy.as_str());
        let source_ssh = &worker(&source_workers, "ssh-1")["Endpoint"];
        for field in ["Host", "Port", "Fingerprint", "DotNetCorePlatform"] {
            assert_eq!(ssh["Endpoint"][field], source_ssh[field], "{field}");
        }
        // A Kubernetes agent's endpoint is shared unchanged.
        assert_eq!(
            worker(&copies, "k8s-1")["Endpoint"],
            worker(&source_workers, "k8s-1")["Endpoint"]
        );
    }

    emulator.clear_requests();
    let second = run(&emulator, &args(&base, &["--output", "json"]));
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert_eq!(report(&second)["Totals"]["Unchanged"], 8);
    assert_eq!(writes(&emulator), 0);
    assert_eq!(reads_of(&emulator, "proxies"), 0);
    assert_eq!(reads_of(&emulator, "accounts"), 0);
    assert_eq!(reads_of(&emulator, "machinepolicies"), 0);
    // /spaces/all, the source's pools and its pool's workers, then 2 per target.
    assert_eq!(
        emulator.count("GET"),
        3 + 2 * 2,
        "{:#?}",
        emulator.requests()
    );
}

#[test]
fn share_a_missing_proxy_or_account_fails_that_worker_alone_naming_it() {
    let emulator = Emulator::start(
        Scenario::new()
            .space(mixed_source_space())
            .space(target_space("No Proxy", false, true))
            .space(target_space("No Account", true, false)),
    )
    .unwrap();
    let no_proxy = emulator.space_id("No Proxy").unwrap();
    let no_account = emulator.space_id("No Account").unwrap();
    let base = share_args("No Proxy,No Account");

    for dry_run in [true, false] {
        emulator.clear_requests();
        let extra: &[&str] = if dry_run {
            &["--output", "json", "--dry-run"]
        } else {
            &["--output", "json"]
        };
        let result = run(&emulator, &args(&base, extra));
        assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
        let report = report(&result);
        assert_eq!(report["Totals"]["Failed"], 3, "dry run {dry_run}");

        let outcome = if dry_run { "Planned" } else { "Done" };
        let in_no_proxy = results(&report, &no_proxy);
        let failed: Vec<&(String, String, String, Value, String)> = in_no_proxy
            .iter()
            .filter(|result| result.2 == "Failed")
            .collect();
        assert_eq!(failed.len(), 2, "{in_no_proxy:#?}");
        for (name, action, _, kind, reason) in failed {
            assert!(["listener-1", "ssh-1"].contains(&name.as_str()), "{name}");
            assert_eq!(action, "Create");
            assert_eq!(kind, "NotFound");
            assert_eq!(
                reason,
                "the space has no proxy named 'corp-proxy' (the source worker's proxy, which its copy must use; proxies there: none): nothing was written for this worker"
            );
        }
        assert!(
            in_no_proxy
                .iter()
                .filter(|result| result.0 == "web-1" || result.0 == "k8s-1")
                .all(|result| result.2 == outcome),
            "{in_no_proxy:#?}"
        );
        let in_no_account = results(&report, &no_account);
        let ssh = in_no_account
            .iter()
            .find(|result| result.0 == "ssh-1")
            .unwrap();
        assert_eq!(ssh.2, "Failed");
        assert!(
            ssh.4
                .starts_with("the space has no account named 'deploy-key'"),
            "{ssh:?}"
        );
        assert!(
            result.stderr.contains(&format!(
                "failed: space 'No Account' ({no_account}), worker 'ssh-1': the space has no account named 'deploy-key'"
            )),
            "{}",
            result.stderr
        );
        assert!(
            result.stderr.contains(
                "; create an account of that name in this space, then run the step again"
            ),
            "{}",
            result.stderr
        );
    }
    // Nothing was written for the failed workers: only the others exist in the targets.
    assert_eq!(
        names(&emulator.workers(&no_proxy)),
        ["k8s-1", "web-1"],
        "no listening or SSH copy without the proxy"
    );
    assert_eq!(
        names(&emulator.workers(&no_account)),
        ["k8s-1", "listener-1", "web-1"]
    );
    // The server never saw a POST with a foreign proxy or account.
    assert!(
        emulator
            .requests()
            .iter()
            .all(|request| request.status < 400),
        "{:#?}",
        emulator.requests()
    );
}

#[test]
fn share_replaces_stale_registrations_of_every_kind_mapping_their_references() {
    // "Target 1" already has each worker's name, registered with an old endpoint (a machine
    // rebuilt with a new certificate or host key); the stale listening and SSH registrations
    // use the target's own proxy and account.
    let stale_space = target_space("Target 1", true, true)
        .worker(listening("listener-1", 92).health("Unavailable"))
        .worker(ssh("ssh-1", 93).health("Unavailable"))
        .worker(kubernetes_agent("k8s-1", 94).health("Unavailable"))
        .worker(polling("web-1", 91).health("Unavailable"));
    let emulator = Emulator::start(
        Scenario::new()
            .space(mixed_source_space())
            .space(stale_space),
    )
    .unwrap();
    let source = emulator.space_id("Default").unwrap();
    let target = emulator.space_id("Target 1").unwrap();
    let ids_before: Vec<String> = emulator
        .workers(&target)
        .iter()
        .map(|worker| worker["Id"].as_str().unwrap().to_owned())
        .collect();
    let base = share_args("Target 1");

    let replaced = run(&emulator, &args(&base, &["--output", "json", "--prune"]));
    assert_eq!(replaced.code, 0, "{}\n{}", replaced.stdout, replaced.stderr);
    let report = report(&replaced);
    let actions: Vec<(String, String)> = results(&report, &target)
        .into_iter()
        .map(|(name, action, ..)| (name, action))
        .collect();
    assert_eq!(
        actions,
        [
            ("k8s-1".to_owned(), "ReplaceEndpoint".to_owned()),
            ("listener-1".to_owned(), "ReplaceEndpoint".to_owned()),
            ("ssh-1".to_owned(), "ReplaceEndpoint".to_owned()),
            ("web-1".to_owned(), "ReplaceEndpoint".to_owned()),
        ]
    );
    assert_eq!((emulator.count("PUT"), emulator.count("POST")), (4, 0));
    let workers = emulator.workers(&target);
    let ids_after: Vec<String> = workers
        .iter()
        .map(|worker| worker["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids_after, ids_before, "replaced in place, never pruned");
    let source_workers = emulator.workers(&source);
    let proxy = reference_id(&emulator, &target, "proxies", PROXY);
    let listener = &worker(&workers, "listener-1")["Endpoint"];
    assert_eq!(
        listener["Thumbprint"],
        worker(&source_workers, "listener-1")["Endpoint"]["Thumbprint"]
    );
    assert_eq!(listener["ProxyId"], proxy.as_str());
    let ssh = &worker(&workers, "ssh-1")["Endpoint"];
    assert_eq!(
        ssh["Fingerprint"],
        worker(&source_workers, "ssh-1")["Endpoint"]["Fingerprint"]
    );
    assert_eq!(
        ssh["AccountId"],
        reference_id(&emulator, &target, "accounts", ACCOUNT).as_str()
    );
    assert_eq!(
        worker(&workers, "k8s-1")["Endpoint"]["TentacleEndpointConfiguration"],
        worker(&source_workers, "k8s-1")["Endpoint"]["TentacleEndpointConfiguration"]
    );

    emulator.clear_requests();
    let again = run(&emulator, &args(&base, &["--prune"]));
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(again.counts(), [0, 0, 4, 0, 0]);
    assert_eq!(writes(&emulator), 0);
}

#[test]
fn share_prunes_gone_workers_of_every_kind_and_keeps_healthy_ones() {
    let target = target_space("Target 1", true, true)
        .worker(listening("old-listener", 52).health("Unavailable"))
        .worker(ssh("old-ssh", 53).health("Unknown"))
        .worker(kubernetes_agent("old-agent", 54).health("Unhealthy"))
        .worker(polling("old-polling", 51).health("Unavailable"))
        .worker(kubernetes_agent("live-agent", 55).health("Healthy"));
    let emulator =
        Emulator::start(Scenario::new().space(mixed_source_space()).space(target)).unwrap();
    let target = emulator.space_id("Target 1").unwrap();
    let result = run(&emulator, &args(&share_args("Target 1"), &["--prune"]));
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [4, 0, 0, 4, 0]);
    assert_eq!(emulator.count("DELETE"), 4);
    assert_eq!(
        names(&emulator.workers(&target)),
        ["k8s-1", "listener-1", "live-agent", "ssh-1", "web-1"]
    );
}

#[test]
fn share_into_a_dynamic_pool_fails_that_space_alone_and_never_writes_there() {
    let emulator = Emulator::start(
        Scenario::new()
            .space(source_space(2))
            .space(SpaceSeed::new("Cloud").dynamic_pool(POOL, "UbuntuDefault"))
            .space(SpaceSeed::new("Target 1").pool(POOL)),
    )
    .unwrap();
    let cloud = emulator.space_id("Cloud").unwrap();
    let result = run(
        &emulator,
        &args(&share_args("Cloud,Target 1"), &["--output", "json"]),
    );
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    let report = report(&result);
    let space = &report["Spaces"][0];
    assert_eq!(space["Space"]["Id"], cloud.as_str());
    assert_eq!(space["Status"], "Failed");
    assert_eq!(space["FailureKind"], "DynamicPool");
    let reason = space["Reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "is a dynamic worker pool: Octopus does not allow adding workers to a dynamic pool"
        ),
        "{reason}"
    );
    assert_eq!(report["Spaces"][1]["Counts"]["Created"], 2);
    let mut in_cloud: Vec<(String, String)> = emulator
        .requests()
        .iter()
        .filter(|request| request.path.starts_with(&format!("/api/{cloud}/")))
        .map(|request| (request.method.clone(), request.path.clone()))
        .collect();
    in_cloud.sort();
    assert_eq!(
        in_cloud,
        [
            ("GET".to_owned(), format!("/api/{cloud}/workerpools/all")),
            ("GET".to_owned(), format!("/api/{cloud}/workers/all")),
        ],
        "only its pools and workers were read"
    );
    assert!(
        result.stderr.contains("drop the space from --to-spaces"),
        "{}",
        result.stderr
    );
}

const SCOPED_KEY: &str = "API-SCOPEDSHAREKEY0000000000001";

fn scoped(scenario: Scenario, access: &[(&str, Access)]) -> Emulator {
    let key = access.iter().fold(
        ApiKeySeed::api_key(SCOPED_KEY).space("Default", Access::ReadOnly),
        |key, (space, access)| key.space(space, access.clone()),
    );
    Emulator::start(scenario.scoped_key(key)).unwrap()
}

#[test]
fn share_refused_writes_name_worker_edit_and_exit_6_only_when_every_write_was_refused() {
    let scenario = || {
        Scenario::new()
            .space(source_space(2))
            .space(SpaceSeed::new("Target 1").pool(POOL))
            .space(SpaceSeed::new("Target 2").pool(POOL))
    };
    // Read-only in both targets: every write refused.
    let emulator = scoped(
        scenario(),
        &[
            ("Target 1", Access::ReadOnly),
            ("Target 2", Access::ReadOnly),
        ],
    );
    let (target_1, target_2) = (
        emulator.space_id("Target 1").unwrap(),
        emulator.space_id("Target 2").unwrap(),
    );
    let result = run_with_key(
        &emulator,
        SCOPED_KEY,
        &args(&share_args("Target 1,Target 2"), &[]),
    );
    assert_eq!(result.code, 6, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stderr.contains(&format!(
            "permission refused: the API key needs WorkerEdit in 'Target 1' ({target_1}), WorkerEdit in 'Target 2' ({target_2})"
        )),
        "{}",
        result.stderr
    );
    assert!(
        result.stdout.contains(&format!(
            "grant WorkerEdit in {target_1} to the user behind the API key"
        )),
        "{}",
        result.stdout
    );
    assert!(!result.stderr.contains("ConfigureServer"));

    // Full access in Target 2: its writes are done, Target 1's refused — a partial failure.
    let emulator = scoped(
        scenario(),
        &[("Target 1", Access::ReadOnly), ("Target 2", Access::Full)],
    );
    let result = run_with_key(
        &emulator,
        SCOPED_KEY,
        &args(&share_args("Target 1,Target 2"), &[]),
    );
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.output_number("CreatedWorkerCount"), 2);
    assert!(
        result.stderr.contains(&format!(
            "permission refused: the API key needs WorkerEdit in 'Target 1' ({})",
            emulator.space_id("Target 1").unwrap()
        )),
        "{}",
        result.stderr
    );
}

#[test]
fn share_refused_reads_name_the_permission_of_the_space() {
    // WorkerView only in Target 1: its workers can be read, its policies not (a create
    // needs them when a policy is named). No access at all in Target 2 except ProxyView: its workers are refused.
    let emulator = scoped(
        Scenario::new()
            .space(source_space(1))
            .space(SpaceSeed::new("Target 1").pool(POOL))
            .space(SpaceSeed::new("Target 2").pool(POOL)),
        &[
            (
                "Target 1",
                Access::Only(vec![
                    octopus_emulator::Permission::WorkerView,
                    octopus_emulator::Permission::WorkerEdit,
                ]),
            ),
            (
                "Target 2",
                Access::Only(vec![octopus_emulator::Permission::ProxyView]),
            ),
        ],
    );
    let target_1 = emulator.space_id("Target 1").unwrap();
    let target_2 = emulator.space_id("Target 2").unwrap();
    // A named policy must be read in each space that creates a worker.
    let result = run_with_key(
        &emulator,
        SCOPED_KEY,
        &args(
            &share_args("Target 1,Target 2"),
            &["--machine-policy", "Default Machine Policy"],
        ),
    );
    assert_eq!(result.code, 6, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stderr.contains(&format!(
            "the API key needs MachinePolicyView in 'Target 1' ({target_1}), WorkerView in 'Target 2' ({target_2})"
        )),
        "{}",
        result.stderr
    );
    assert_eq!(writes(&emulator), 0);

    // Without one, the server gives created workers the space's default: Target 1 needs no
    // MachinePolicyView and is shared; Target 2 still cannot be read.
    let result = run_with_key(
        &emulator,
        SCOPED_KEY,
        &args(&share_args("Target 1,Target 2"), &[]),
    );
    assert_eq!(result.code, 5, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result.stderr.contains(&format!(
            "the API key needs WorkerView in 'Target 2' ({target_2})"
        )),
        "{}",
        result.stderr
    );
    assert!(
        !result.stderr.contains("MachinePolicyView"),
        "{}",
        result.stderr
    );
    assert_eq!(emulator.workers(&target_1).len(), 1);
    assert!(emulator.workers(&target_2).is_empty());
}

#[test]
fn share_a_source_reference_without_its_target_counterpart_in_a_rerun_still_reads_nothing() {
    // A listening Tentacle already shared by hand into a space without the proxy (direct
    // connection there): it is the same machine, so the re-run leaves it alone and never
    // looks for a proxy.
    let emulator = Emulator::start(
        Scenario::new()
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .pool(POOL)
                    .proxy(octopus_emulator::ProxySeed::new(PROXY, "proxy", 3128))
                    .worker(listening("listener-1", 2)),
            )
            .space(
                SpaceSeed::new("Target 1").pool(POOL).worker(
                    WorkerSeed::listening(
                        "listener-1",
                        "https://listener-1.corp.example:10933/",
                        &thumbprint(2),
                    )
                    .in_pool(POOL),
                ),
            ),
    )
    .unwrap();
    emulator.clear_requests();
    let result = run(&emulator, &args(&share_args("Target 1"), &[]));
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert_eq!(result.counts(), [0, 0, 1, 0, 0]);
    assert_eq!(reads_of(&emulator, "proxies"), 0);
}
