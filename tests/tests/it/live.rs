//! The end-to-end runbook against a real Octopus Server, opt-in: set `OCTOPUS_TEST_URL` and
//! `OCTOPUS_TEST_API_KEY` (an API key allowed to create and delete spaces). Without them the live
//! test prints a notice and passes. `docs/live-tests.md` starts a server with docker compose.
//!
//! The live test creates three uniquely named spaces `octoshare-test-<run>-a|b|c`, each with the
//! pool `octoshare-test-<run>-pool`, registers two polling workers (made-up endpoints) in the
//! first, runs discover, wait, share (twice) and `octoshare run` limited to those spaces with
//! `--include-space`, checks the state through the API, and deletes the spaces again (also when
//! the test fails). The same scenario always runs against the emulator too, so the suite's own
//! logic is exercised in every CI run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use octopus_emulator::{Emulator, Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::{Client, Credentials, RetryPolicy, Secret, ServerUrl};
use serde_json::{Value, json};

use crate::support::binaries::{self, DISCOVER, ORCHESTRATOR, Run, SHARE, WAIT};
use crate::support::runtime;

/// Workers registered in the first space.
const WORKERS: [(&str, &str, &str); 2] = [
    (
        "octoshare-test-worker-1",
        "poll://octosharetestworker01/",
        "0C7054A4E0000000000000000000000000000001",
    ),
    (
        "octoshare-test-worker-2",
        "poll://octosharetestworker02/",
        "0C7054A4E0000000000000000000000000000002",
    ),
];

/// The spaces of one run of the scenario, wherever they live.
struct Spaces {
    url: String,
    key: String,
    prefix: String,
    pool: String,
    /// `(name, id)` of `-a` (initial), `-b`, `-c`.
    spaces: Vec<(String, String)>,
    client: Client,
}

fn client(url: &str, key: &str) -> Client {
    Client::builder(
        ServerUrl::parse(url).expect("a valid server URL"),
        Credentials::ApiKey(Secret::new(key.to_owned())),
    )
    .request_timeout(Duration::from_secs(60))
    .retry_policy(RetryPolicy::default())
    .build()
    .expect("a client")
}

/// `octoshare-test-<8 hex digits>`, unique per run.
fn unique_prefix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    format!("octoshare-test-{:08x}", mixed as u32)
}

impl Spaces {
    fn run(&self, binary: &str, args: &[&str]) -> Run {
        let mut command = binaries::command(binary);
        command
            .env("OCTOPUS_URL", &self.url)
            .env("OCTOPUS_API_KEY", &self.key)
            .args(args)
            .args(["--output", "json"]);
        let run = Run::of(format!("{binary} {}", args.join(" ")), &mut command);
        run.assert_no_panic();
        run
    }

    /// `(name, uri, thumbprint)` of the workers in the pool of space `index`, sorted.
    fn pool_workers(&self, index: usize) -> Vec<(String, String, String)> {
        let (_, id) = &self.spaces[index];
        runtime().block_on(async {
            let pools: Vec<Value> = self
                .client
                .get_json(&format!("/api/{id}/workerpools/all"))
                .await
                .expect("pools readable");
            let pool_id = pools
                .iter()
                .find(|pool| pool["Name"] == self.pool.as_str())
                .and_then(|pool| pool["Id"].as_str())
                .expect("the space has the pool")
                .to_owned();
            let workers: Vec<Value> = self
                .client
                .get_json(&format!("/api/{id}/workers/all"))
                .await
                .expect("workers readable");
            let mut found: Vec<(String, String, String)> = workers
                .iter()
                .filter(|worker| {
                    worker["WorkerPoolIds"]
                        .as_array()
                        .is_some_and(|pools| pools.iter().any(|pool| pool == pool_id.as_str()))
                })
                .map(|worker| {
                    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
                    (
                        text(&worker["Name"]),
                        text(&worker["Endpoint"]["Uri"]).to_lowercase(),
                        text(&worker["Endpoint"]["Thumbprint"]).to_uppercase(),
                    )
                })
                .collect();
            found.sort();
            found
        })
    }
}

/// The scenario: discover → wait → share → share again → `octoshare run`, with checks.
fn exercise(spaces: &Spaces) {
    let include = format!("{}-*", spaces.prefix);
    let pool = spaces.pool.as_str();
    let (initial_name, initial_id) = &spaces.spaces[0];
    let targets: Vec<&str> = spaces.spaces[1..]
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();

    let discover = spaces.run(
        DISCOVER,
        &["--worker-pool", pool, "--include-space", &include],
    );
    assert_eq!(discover.code, 0, "{}", discover.describe());
    let document = discover.json();
    assert_eq!(
        document["InitialSpaceId"],
        initial_id.as_str(),
        "{}",
        discover.describe()
    );
    assert_eq!(document["InitialSpaceName"], initial_name.as_str());
    assert_eq!(document["RemainingSpaceIds"], json!(targets));
    assert_eq!(document["QualifyingSpaceCount"], 3);

    let wait = spaces.run(
        WAIT,
        &[
            "--space",
            initial_id,
            "--worker-pool",
            pool,
            "--count",
            "2",
            "--timeout",
            "60s",
            "--poll-interval",
            "1s",
        ],
    );
    assert_eq!(wait.code, 0, "{}", wait.describe());
    assert_eq!(wait.json()["RegisteredWorkerCount"], 2);

    let to_spaces = targets.join(",");
    let share = [
        "--from-space",
        initial_id.as_str(),
        "--to-spaces",
        &to_spaces,
        "--worker-pool",
        pool,
    ];
    let first = spaces.run(SHARE, &share);
    assert_eq!(first.code, 0, "{}", first.describe());
    assert_eq!(
        first.json()["CreatedWorkerCount"],
        4,
        "{}",
        first.describe()
    );

    let expected: Vec<(String, String, String)> = {
        let mut expected: Vec<_> = WORKERS
            .iter()
            .map(|(name, uri, thumbprint)| {
                (
                    (*name).to_owned(),
                    (*uri).to_owned(),
                    (*thumbprint).to_owned(),
                )
            })
            .collect();
        expected.sort();
        expected
    };
    for index in 0..3 {
        assert_eq!(
            spaces.pool_workers(index),
            expected,
            "space {}",
            spaces.spaces[index].0
        );
    }

    // A re-run finds everything shared and writes nothing.
    let again = spaces.run(SHARE, &share);
    assert_eq!(again.code, 0, "{}", again.describe());
    let document = again.json();
    assert_eq!(
        (
            &document["CreatedWorkerCount"],
            &document["UpdatedWorkerCount"],
            &document["UnchangedWorkerCount"]
        ),
        (&json!(0), &json!(0), &json!(4)),
        "{}",
        again.describe()
    );

    // The whole runbook in one process (wait included) also changes nothing now.
    let run = spaces.run(
        ORCHESTRATOR,
        &[
            "run",
            "--worker-pool",
            pool,
            "--include-space",
            &include,
            "--count",
            "2",
            "--timeout",
            "60s",
            "--poll-interval",
            "1s",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let document = run.json();
    assert_eq!(document["UnchangedWorkerCount"], 4, "{}", run.describe());
    assert_eq!(document["CreatedWorkerCount"], 0);
    assert_eq!(document["Requests"]["Post"], 0);
    for index in 0..3 {
        assert_eq!(spaces.pool_workers(index), expected);
    }
}

#[test]
fn live_scenario_against_the_emulator() {
    let prefix = unique_prefix();
    let pool = format!("{prefix}-pool");
    let mut initial = SpaceSeed::new(&format!("{prefix}-a")).pool(&pool);
    for (name, uri, thumbprint) in WORKERS {
        initial = initial.worker(WorkerSeed::polling(name, uri, thumbprint).in_pool(&pool));
    }
    let emulator = Emulator::start(
        Scenario::new()
            // Not a test space: --include-space keeps it out even though it has the pool.
            .space(SpaceSeed::new("Default").default_space().pool(&pool))
            .space(initial)
            .space(SpaceSeed::new(&format!("{prefix}-b")).pool(&pool))
            .space(SpaceSeed::new(&format!("{prefix}-c")).pool(&pool)),
    )
    .expect("the emulator starts");
    let spaces = Spaces {
        url: emulator.url(),
        key: emulator.api_key(),
        spaces: ["a", "b", "c"]
            .iter()
            .map(|suffix| {
                let name = format!("{prefix}-{suffix}");
                let id = emulator.space_id(&name).expect("space exists");
                (name, id)
            })
            .collect(),
        client: client(&emulator.url(), &emulator.api_key()),
        prefix,
        pool,
    };
    exercise(&spaces);
}

/// Deletes the spaces it holds when dropped (stopping their task queues first, as Octopus
/// requires), so a failing live test cleans up too.
struct LiveCleanup {
    client: Client,
    space_ids: Vec<String>,
}

impl Drop for LiveCleanup {
    fn drop(&mut self) {
        let client = self.client.clone();
        let ids = std::mem::take(&mut self.space_ids);
        runtime().block_on(async move {
            for id in ids {
                let path = format!("/api/spaces/{id}");
                let result: Result<(), octoshare_core::ApiError> = async {
                    let mut space: Value = client.get_json(&path).await?;
                    space["TaskQueueStopped"] = Value::Bool(true);
                    let _: Value = client.put_json(&path, &space).await?;
                    client.delete(&path).await
                }
                .await;
                match result {
                    Ok(()) => println!("live: deleted test space {id}"),
                    Err(error) => println!(
                        "live: could not delete test space {id}, delete it by hand: {error}"
                    ),
                }
            }
        });
    }
}

/// Creates the three test spaces, their pools and the workers on a real server.
fn create_live_spaces(url: &str, key: &str, cleanup: &mut LiveCleanup) -> Spaces {
    let client = client(url, key);
    let prefix = unique_prefix();
    let pool = format!("{prefix}-pool");
    let spaces = runtime().block_on(async {
        let me: Value = client.get_json("/api/users/me").await.expect("GET /api/users/me");
        let user = me["Id"].as_str().expect("the current user has an Id").to_owned();
        let mut spaces = Vec::new();
        for suffix in ["a", "b", "c"] {
            let name = format!("{prefix}-{suffix}");
            let space: Value = client
                .post_json(
                    "/api/spaces",
                    &json!({
                        "Name": name,
                        "Slug": "",
                        "Description": "Created by the octoshare live tests; deleted when they end.",
                        "IsDefault": false,
                        "TaskQueueStopped": false,
                        "SpaceManagersTeams": [],
                        "SpaceManagersTeamMembers": [user],
                    }),
                )
                .await
                .unwrap_or_else(|error| panic!("creating space {name}: {error}"));
            let id = space["Id"].as_str().expect("a space Id").to_owned();
            cleanup.space_ids.push(id.clone());
            let created: Value = client
                .post_json(
                    &format!("/api/{id}/workerpools"),
                    &json!({"Name": pool, "SpaceId": id, "WorkerPoolType": "StaticWorkerPool", "IsDefault": false}),
                )
                .await
                .unwrap_or_else(|error| panic!("creating pool {pool} in {id}: {error}"));
            let pool_id = created["Id"].as_str().expect("a pool Id").to_owned();
            if suffix == "a" {
                for (worker, uri, thumbprint) in WORKERS {
                    let _: Value = client
                        .post_json(
                            &format!("/api/{id}/workers"),
                            &json!({
                                "Name": worker,
                                "SpaceId": id,
                                "IsDisabled": false,
                                "WorkerPoolIds": [pool_id],
                                "Endpoint": {"CommunicationStyle": "TentacleActive", "Uri": uri, "Thumbprint": thumbprint},
                            }),
                        )
                        .await
                        .unwrap_or_else(|error| panic!("registering {worker} in {id}: {error}"));
                }
            }
            spaces.push((name, id));
        }
        spaces
    });
    Spaces {
        url: url.to_owned(),
        key: key.to_owned(),
        prefix,
        pool,
        spaces,
        client,
    }
}

#[test]
fn live_scenario_against_a_real_octopus_server() {
    let (Ok(url), Ok(key)) = (
        std::env::var("OCTOPUS_TEST_URL"),
        std::env::var("OCTOPUS_TEST_API_KEY"),
    ) else {
        println!(
            "notice: live tests skipped: set OCTOPUS_TEST_URL and OCTOPUS_TEST_API_KEY to run them against a real Octopus Server (docs/live-tests.md)"
        );
        return;
    };
    let mut cleanup = LiveCleanup {
        client: client(&url, &key),
        space_ids: Vec::new(),
    };
    let spaces = create_live_spaces(&url, &key, &mut cleanup);
    println!("live: created {:?} on {url}", spaces.spaces);
    exercise(&spaces);
}
