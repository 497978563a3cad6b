//! Shared test fixtures: scenarios, running the binary against an emulator, decoding its output.

use octopus_emulator::{Emulator, Scenario, SpaceSeed, WorkerSeed};
use octoshare_cli::render::share::ShareRenderer;
use octoshare_cli::{Emitter, Exit, OutputMode, Shutdown};
use octoshare_core::{Client, Credentials, RetryPolicy, Secret, ServerUrl};
use octoshare_share::{OnConflict, ShareOptions, ShareReport, ShareRequest};
use octoshare_test_support::process::Program;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// The pool shared in every test.
pub const POOL: &str = "AWS Worker Pool TF";

/// A polling subscription id: `poll://` + 20 lowercase alphanumerics + `/`.
pub fn uri(n: u32) -> String {
    format!("poll://w{n:019}/")
}

/// A 40-hex-digit thumbprint.
pub fn thumbprint(n: u32) -> String {
    format!("{:040X}", 0xABCD_0000_u64 + u64::from(n))
}

/// A healthy polling worker `name` with endpoint `n` in the pool.
pub fn polling(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::polling(name, &uri(n), &thumbprint(n)).in_pool(POOL)
}

/// The source space "Default" with `workers` polling workers `web-1..` (endpoints 1..).
pub fn source_space(workers: u32) -> SpaceSeed {
    let mut space = SpaceSeed::new("Default").default_space().pool(POOL);
    for n in 1..=workers {
        space = space.worker(polling(&format!("web-{n}"), n));
    }
    space
}

/// Target spaces "Target 1".."Target n", each with the pool (and a "Fast" policy).
pub fn target_spaces(mut scenario: Scenario, count: u32) -> Scenario {
    for n in 1..=count {
        scenario = scenario.space(
            SpaceSeed::new(&format!("Target {n}"))
                .pool(POOL)
                .pool("Other Pool")
                .policy("Fast"),
        );
    }
    scenario
}

pub use octoshare_test_support::process::Run;

/// Share's five counts on a finished run.
pub trait ShareCounts {
    /// The five counts, in order Created, Updated, Unchanged, Pruned, Failed.
    fn counts(&self) -> [u64; 5];
}

impl ShareCounts for Run {
    fn counts(&self) -> [u64; 5] {
        [
            "CreatedWorkerCount",
            "UpdatedWorkerCount",
            "UnchangedWorkerCount",
            "PrunedWorkerCount",
            "FailedCount",
        ]
        .map(|name| self.output_number(name))
    }
}

/// Runs `octoshare-share` with the admin key.
pub fn run(emulator: &Emulator, arguments: &[&str]) -> Run {
    run_with_key(emulator, &emulator.api_key(), arguments)
}

/// Runs `octoshare-share` with the given API key (env), `--retry-delay 0ms`.
pub fn run_with_key(emulator: &Emulator, key: &str, arguments: &[&str]) -> Run {
    Program::new(env!("CARGO_BIN_EXE_octoshare-share"))
        .server(&emulator.url(), key)
        .args(arguments)
        .args(["--retry-delay", "0ms"])
        .run()
}

/// The usual arguments: from "Default" into `targets`, pool [`POOL`].
pub fn share_args(targets: &str) -> Vec<String> {
    vec![
        "--from-space".into(),
        "Default".into(),
        "--to-spaces".into(),
        targets.into(),
        "--worker-pool".into(),
        POOL.into(),
    ]
}

/// `share_args` plus extra flags, as `&str`s for [`run`].
pub fn args<'a>(base: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect()
}

/// Comma-joined Ids of the spaces named.
pub fn ids(emulator: &Emulator, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| emulator.space_id(name).expect("space exists"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes (POST/PUT/DELETE) in the emulator's log.
pub fn writes(emulator: &Emulator) -> usize {
    ["POST", "PUT", "DELETE"]
        .iter()
        .map(|method| emulator.count(method))
        .sum()
}

/// GET requests whose path is under `/api/{space_id}/`.
pub fn gets_in_space(emulator: &Emulator, space_id: &str) -> usize {
    let prefix = format!("/api/{space_id}/");
    emulator
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path.starts_with(&prefix))
        .count()
}

/// The `Id` of the pool named `name` in a space.
pub fn pool_id(emulator: &Emulator, space_id: &str, name: &str) -> String {
    emulator
        .worker_pools(space_id)
        .iter()
        .find(|pool| pool["Name"] == name)
        .and_then(|pool| pool["Id"].as_str())
        .expect("pool exists")
        .to_owned()
}

/// Workers of a space in the pool `pool_id`.
pub fn workers_in_pool(emulator: &Emulator, space_id: &str, pool_id: &str) -> Vec<Value> {
    emulator
        .workers(space_id)
        .into_iter()
        .filter(|worker| {
            worker["WorkerPoolIds"]
                .as_array()
                .is_some_and(|pools| pools.iter().any(|id| id == pool_id))
        })
        .collect()
}

/// `(Uri, Thumbprint)` of a worker JSON, normalised.
pub fn identity(worker: &Value) -> (String, String) {
    (
        worker["Endpoint"]["Uri"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase(),
        worker["Endpoint"]["Thumbprint"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase(),
    )
}

/// How many workers of the pool carry each identity.
pub fn identity_counts(workers: &[Value]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for worker in workers {
        *counts.entry(identity(worker)).or_insert(0) += 1;
    }
    counts
}

/// A client on the emulator with zero-delay retries.
pub fn client(emulator: &Emulator, key: &str) -> Client {
    Client::builder(
        ServerUrl::parse(&emulator.url()).unwrap(),
        Credentials::ApiKey(Secret::new(key.to_owned())),
    )
    .retry_policy(RetryPolicy::immediate(3))
    .build()
    .unwrap()
}

/// A current-thread runtime for in-process runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Captures what an emitter writes.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What an in-process share is asked to do: the spaces to resolve and the options.
#[derive(Debug, Clone)]
pub struct ShareConfig {
    pub request: ShareRequest,
    pub options: ShareOptions,
}

impl ShareConfig {
    /// The defaults of the flags.
    pub fn new(from_space: &str, to_spaces: &[&str], worker_pool: &str) -> ShareConfig {
        ShareConfig {
            request: ShareRequest::new(from_space, to_spaces, worker_pool),
            options: ShareOptions {
                on_conflict: OnConflict::Replace,
                ..ShareOptions::default()
            },
        }
    }
}

/// The exit code a share's report ends with.
pub fn exit_of(report: &ShareReport) -> Exit {
    octoshare_cli::exit::exit_for_share_verdict(report.verdict())
}

/// Runs the library in-process: resolve, then share, rendered in octopus mode into the
/// returned text.
pub async fn share_in_process(
    client: &Client,
    config: &ShareConfig,
    shutdown: &Shutdown,
) -> (Result<ShareReport, String>, String) {
    let stdout = Captured::default();
    let mut emitter = Emitter::with_writers(
        OutputMode::Octopus,
        Box::new(stdout.clone()),
        Box::new(io::sink()),
    );
    let result = match octoshare_share::resolve(client, &config.request).await {
        Ok(targets) => octoshare_share::share(
            client,
            &targets,
            &config.options,
            &mut ShareRenderer::new(&mut emitter),
            &shutdown.token(),
        )
        .await
        .map_err(|error| octoshare_cli::error_line(&error)),
        Err(error) => Err(octoshare_cli::error_line(&error)),
    };
    if let Ok(report) = &result {
        octoshare_cli::render::share::finished(&mut emitter, report);
    }
    (result, stdout.text())
}

/// The proxy every listening and SSH worker of [`mixed_source_space`] goes through.
pub const PROXY: &str = "corp-proxy";

/// The SSH account of [`mixed_source_space`]'s SSH worker.
pub const ACCOUNT: &str = "deploy-key";

/// A listening Tentacle `name` with endpoint `n` in the pool, behind [`PROXY`].
pub fn listening(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::listening(
        name,
        &format!("https://{name}.corp.example:10933/"),
        &thumbprint(n),
    )
    .via_proxy(PROXY)
    .in_pool(POOL)
}

/// An SSH worker `name` on port `22` with fingerprint `n`, using [`ACCOUNT`] behind [`PROXY`].
pub fn ssh(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::ssh(
        name,
        &format!("{name}.corp.example"),
        22,
        &format!("SHA256:fingerprint{n:04}"),
    )
    .account(ACCOUNT)
    .via_proxy(PROXY)
    .dot_net_core_platform("linux-x64")
    .in_pool(POOL)
}

/// A polling Kubernetes agent `name` with subscription and thumbprint `n`.
pub fn kubernetes_agent(name: &str, n: u32) -> WorkerSeed {
    WorkerSeed::kubernetes_agent(name, &format!("poll://k{n:019}/"), &thumbprint(n))
        .default_namespace("octopus-work")
        .in_pool(POOL)
}

/// A target space with the pool and, when asked, a proxy named [`PROXY`] and an account named
/// [`ACCOUNT`] (their Ids differ from the source's: proxies and accounts belong to one space).
pub fn target_space(name: &str, proxy: bool, account: bool) -> SpaceSeed {
    use octopus_emulator::{AccountSeed, ProxySeed};
    let mut space = SpaceSeed::new(name).pool(POOL);
    if proxy {
        let host = format!("proxy.{}.example", name.to_lowercase().replace(' ', "-"));
        space = space.proxy(ProxySeed::new(PROXY, &host, 3128));
    }
    if account {
        space = space.account(AccountSeed::ssh_key_pair(ACCOUNT, "deploy"));
    }
    space
}

/// The source space "Default" with one worker of every shared kind — polling `web-1`,
/// listening `listener-1` (behind [`PROXY`]), SSH `ssh-1` (account [`ACCOUNT`], behind
/// [`PROXY`]), Kubernetes agent `k8s-1` — and an offline drop `drop-1` that is not shared.
pub fn mixed_source_space() -> SpaceSeed {
    use octopus_emulator::{AccountSeed, ProxySeed};
    SpaceSeed::new("Default")
        .default_space()
        .pool(POOL)
        .proxy(ProxySeed::new(PROXY, "proxy.corp.example", 3128))
        .account(AccountSeed::ssh_key_pair(ACCOUNT, "deploy"))
        .worker(polling("web-1", 1))
        .worker(listening("listener-1", 2))
        .worker(ssh("ssh-1", 3))
        .worker(kubernetes_agent("k8s-1", 4))
        .worker(
            WorkerSeed::with_endpoint(
                "drop-1",
                serde_json::json!({"CommunicationStyle": "OfflineDrop", "Destination": {"DropFolderPath": "/drop"}}),
            )
            .in_pool(POOL),
        )
}

/// The `Id` of the proxy or account named `name` in a space (`kind`: `proxies`/`accounts`).
pub fn reference_id(emulator: &Emulator, space_id: &str, kind: &str, name: &str) -> String {
    let items = match kind {
        "proxies" => emulator.proxies(space_id),
        _ => emulator.accounts(space_id),
    };
    items
        .iter()
        .find(|item| item["Name"] == name)
        .and_then(|item| item["Id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} named {name} in {space_id}"))
        .to_owned()
}

/// GET requests whose path contains `/{resource}/` (e.g. `proxies`, `machinepolicies`).
pub fn reads_of(emulator: &Emulator, resource: &str) -> usize {
    let needle = format!("/{resource}/");
    emulator
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path.to_lowercase().contains(&needle))
        .count()
}
