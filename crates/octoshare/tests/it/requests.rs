//! Read only what a decision needs (issue 18): the exact requests `octoshare run` makes, from
//! the emulator's request log, for a fleet mixing every kind of worker. Not timed.
//!
//! With S listed spaces of which Q have the pool:
//! - discover: `/api/spaces/all`, then every space's `/workerpools/all` (1 + S);
//! - wait: one poll of the initial pool (the workers are there);
//! - share: the source pool's workers once, then per target space its `/workers/all`; machine
//!   policies are read only with `--machine-policy` and only by a space that creates a worker
//!   (otherwise the create leaves the policy to the server: the space's default), and only a
//!   copied endpoint that refers to a proxy or account reads the proxies or accounts (of the
//!   source once, of each target once).
//!
//! So a re-run makes 2 GET per qualifying space (its pools, its workers) + 1 per other space +
//! O(1), and no write; a first run of a polling-only fleet makes one GET per target space fewer
//! than before (it no longer reads the policies to find the default).

use crate::support::{POOL, octoshare, polling, run_of, start};
use octopus_emulator::{
    AccountSeed, Emulator, LoggedRequest, ProxySeed, Scenario, SpaceSeed, WorkerSeed,
};

const PROXY: &str = "corp-proxy";
const ACCOUNT: &str = "deploy-key";

/// The source space "Alpha" with a polling Tentacle, a listening Tentacle behind a proxy, an
/// SSH worker (account, proxy) and a Kubernetes agent; `targets` more spaces with the pool,
/// proxy and account; one space without the pool.
fn mixed_fleet(targets: usize) -> Scenario {
    let with_references = |space: SpaceSeed, host: &str| {
        space
            .proxy(ProxySeed::new(PROXY, host, 3128))
            .account(AccountSeed::ssh_key_pair(ACCOUNT, "deploy"))
    };
    let source = with_references(
        SpaceSeed::new("Alpha").default_space().pool(POOL),
        "proxy.alpha.example",
    )
    .worker(polling("worker-1", 1))
    .worker(
        WorkerSeed::listening(
            "listener-1",
            "https://listener-1.corp.example:10933/",
            "5C1B0E9A7D3F2E4B6A8C0D1E2F3A4B5C6D7E8F90",
        )
        .via_proxy(PROXY)
        .in_pool(POOL),
    )
    .worker(
        WorkerSeed::ssh(
            "ssh-1",
            "ssh-1.corp.example",
            22,
            "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
        )
        .account(ACCOUNT)
        .via_proxy(PROXY)
        .in_pool(POOL),
    )
    .worker(
        WorkerSeed::kubernetes_agent(
            "k8s-agent-1",
            "poll://kcxzcv2fpsxkn6tk9u6d/",
            "96203ED84246201C26A2F4360D7CBC36AC1D232D",
        )
        .in_pool(POOL),
    );
    let mut scenario = Scenario::new().space(source);
    for n in 1..=targets {
        scenario = scenario.space(with_references(
            SpaceSeed::new(&format!("Target {n}")).pool(POOL),
            &format!("proxy.target-{n}.example"),
        ));
    }
    scenario.space(SpaceSeed::new("Zulu").pool("Something Else"))
}

fn gets(requests: &[LoggedRequest]) -> usize {
    requests
        .iter()
        .filter(|request| request.method == "GET")
        .count()
}

fn gets_ending(requests: &[LoggedRequest], suffix: &str) -> usize {
    requests
        .iter()
        .filter(|request| request.method == "GET" && request.path.to_lowercase().ends_with(suffix))
        .count()
}

fn run_twice(
    emulator: &Emulator,
    count: &str,
    extra: &[&str],
) -> (Vec<LoggedRequest>, Vec<LoggedRequest>) {
    let mut args = vec![
        "run",
        "--worker-pool",
        POOL,
        "--count",
        count,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    emulator.clear_requests();
    let first = run_of(octoshare(emulator).args(&args));
    assert_eq!(first.code, 0, "{first:?}");
    let first_log = emulator.requests();
    assert_eq!(first.json()["Requests"]["Get"], gets(&first_log));
    emulator.clear_requests();
    let second = run_of(octoshare(emulator).args(&args));
    assert_eq!(second.code, 0, "{second:?}");
    let document = second.json();
    assert_eq!(document["CreatedWorkerCount"], 0);
    assert_eq!(document["FailedCount"], 0);
    (first_log, emulator.requests())
}

#[test]
fn run_rerun_of_a_mixed_fleet_makes_two_gets_per_qualifying_space_and_no_write() {
    let targets = 4;
    let emulator = start(mixed_fleet(targets));
    let spaces = targets + 2; // the source, the targets and the space without the pool
    let qualifying = targets + 1;
    let (first, rerun) = run_twice(&emulator, "4", &[]);

    // Re-run: 1 + S (discover) + 1 (wait) + 1 (source pool) + (Q - 1) (target workers).
    assert_eq!(
        gets(&rerun),
        2 * qualifying + (spaces - qualifying) + 2,
        "{rerun:#?}"
    );
    assert_eq!(rerun.len(), gets(&rerun), "no write");
    for lookup in ["/machinepolicies/all", "/proxies/all", "/accounts/all"] {
        assert_eq!(gets_ending(&rerun, lookup), 0, "{lookup}");
    }

    // First run: the same reads, plus per target its proxies and accounts (it creates a
    // listening and an SSH worker there), the source's proxies and accounts once, and one
    // POST per worker and target; no policy (the server gives its default).
    assert_eq!(gets_ending(&first, "/machinepolicies/all"), 0);
    assert_eq!(gets_ending(&first, "/proxies/all"), targets + 1);
    assert_eq!(gets_ending(&first, "/accounts/all"), targets + 1);
    assert_eq!(gets(&first), gets(&rerun) + 2 * targets + 2, "{first:#?}");
    assert_eq!(
        first
            .iter()
            .filter(|request| request.method == "POST")
            .count(),
        4 * targets
    );
    assert_eq!(
        first.len(),
        gets(&first) + 4 * targets,
        "only POSTs were written"
    );
}

#[test]
fn run_first_run_of_a_polling_fleet_makes_no_more_requests_than_before() {
    let targets = 3;
    let mut scenario = Scenario::new().space(
        SpaceSeed::new("Alpha")
            .default_space()
            .pool(POOL)
            .worker(polling("worker-1", 1))
            .worker(polling("worker-2", 2)),
    );
    for n in 1..=targets {
        scenario = scenario.space(SpaceSeed::new(&format!("Target {n}")).pool(POOL));
    }
    let emulator = start(scenario.clone());
    let (first, rerun) = run_twice(&emulator, "2", &[]);
    let spaces = targets + 1;
    // Before: 1 + S (discover) + 1 (wait) + 1 (source pool) + 2 per target (policies, workers).
    let before = 1 + spaces + 1 + 1 + 2 * targets;
    // Now a target's policies are not read: the server gives created workers its default.
    assert_eq!(gets(&first), before - targets, "{first:#?}");
    assert_eq!(gets(&rerun), 1 + spaces + 1 + 1 + targets, "{rerun:#?}");
    for target in 1..=targets {
        let space = emulator.space_id(&format!("Target {target}")).unwrap();
        let policies = emulator.machine_policies(&space);
        let default = policies
            .iter()
            .find(|policy| policy["IsDefault"] == true)
            .expect("every space has a default policy");
        let workers = emulator.workers(&space);
        assert_eq!(workers.len(), 2);
        for worker in workers {
            assert_eq!(worker["MachinePolicyId"], default["Id"], "{worker}");
        }
    }

    // A named policy is looked up in each target space that creates a worker: exactly the
    // requests of before.
    let emulator = start(scenario);
    let (first, rerun) = run_twice(
        &emulator,
        "2",
        &["--machine-policy", "Default Machine Policy"],
    );
    assert_eq!(gets(&first), before, "{first:#?}");
    assert_eq!(gets_ending(&first, "/machinepolicies/all"), targets);
    assert_eq!(gets(&rerun), 1 + spaces + 1 + 1 + targets, "{rerun:#?}");
}
