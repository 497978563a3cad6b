//! `Scenario::demo()`: the sample instance `octoshare demo` runs against.

use std::time::Duration;

use crate::access::{Access, ApiKeySeed, Permission};
use crate::scenario::{ProxySeed, Scenario, SpaceSeed, WorkerSeed};

/// The pool the demo's Tentacles register into and octoshare shares.
pub const DEMO_POOL: &str = "AWS Worker Pool TF";

/// The API key `octoshare demo` uses: every permission everywhere except in "Finance", where
/// it may only view tasks (so discover sees the space but may not read its worker pools).
pub const DEMO_API_KEY: &str = "API-OCTOSHAREDEMO00000000000001";

/// The proxy the demo's listening Tentacle is reached through; every space with the pool has
/// its own proxy of that name (proxies belong to one space).
pub const DEMO_PROXY: &str = "corp-proxy";

impl Scenario {
    /// A small but realistic instance:
    ///
    /// - seven spaces — "Default" (the default space, no TF pool), "Platform Team",
    ///   "Payments", "Mobile", "Data Science", "Finance" and "Sandbox" (task queue stopped);
    /// - [`DEMO_POOL`] in "Platform Team", "Payments", "Data Science", "Finance" and "Sandbox",
    ///   each of these with its own [`DEMO_PROXY`];
    /// - in "Data Science" (the first space having the pool in server order: spaces sort by
    ///   name), already in the pool: a listening Tentacle `gpu-listener-01` reached through
    ///   [`DEMO_PROXY`] and a Kubernetes agent `k8s-agent-01`; and three polling Tentacles
    ///   (`aws-tf-worker-01..03`, Healthy) that register 1.5 s, 2.5 s and 3.5 s after start;
    /// - a stale registration left from yesterday in "Payments": `aws-tf-worker-01` with a
    ///   different thumbprint and `poll://` id, `Unavailable`;
    /// - [`DEMO_API_KEY`], which may not read "Finance"'s workers (only `TaskView` there);
    /// - a few unrelated listening Tentacles in other pools.
    pub fn demo() -> Self {
        let tf_worker = |n: usize, uri: &str, thumbprint: &str| {
            WorkerSeed::polling(&format!("aws-tf-worker-{n:02}"), uri, thumbprint)
                .in_pool(DEMO_POOL)
        };
        let proxy = |space: &str| {
            ProxySeed::new(
                DEMO_PROXY,
                &format!(
                    "proxy.{}.corp.example",
                    space.to_lowercase().replace(' ', "-")
                ),
                3128,
            )
        };
        Scenario::new()
            .seed(20_260_301)
            .scoped_key(
                ApiKeySeed::api_key(DEMO_API_KEY)
                    .user("octoshare-demo")
                    .default_access(Access::Full)
                    .space("Finance", Access::Only(vec![Permission::TaskView])),
            )
            .space(
                SpaceSeed::new("Default")
                    .default_space()
                    .description("Shared services and the build agents")
                    .pool("Build Agents")
                    .worker(
                        WorkerSeed::listening(
                            "build-agent-01",
                            "https://build-agent-01.corp.example:10933/",
                            "5C1B0E9A7D3F2E4B6A8C0D1E2F3A4B5C6D7E8F90",
                        )
                        .in_pool("Build Agents"),
                    ),
            )
            .space(
                SpaceSeed::new("Platform Team")
                    .description("Shared infrastructure and Kubernetes clusters")
                    .pool(DEMO_POOL)
                    .proxy(proxy("Platform Team"))
                    .pool("Platform Linux Workers")
                    .worker(
                        WorkerSeed::listening(
                            "platform-linux-01",
                            "https://platform-linux-01.corp.example:10933/",
                            "A3F09C1D2E4B5A6978C0D1E2F3A4B5C6D7E8F901",
                        )
                        .in_pool("Platform Linux Workers"),
                    ),
            )
            .space(
                SpaceSeed::new("Payments")
                    .description("Card processing and settlement services")
                    .pool(DEMO_POOL)
                    .proxy(proxy("Payments"))
                    .policy("Payments Strict Policy")
                    .worker(
                        tf_worker(
                            1,
                            "poll://q8w3e5r7t9y1u2i4o6p0/",
                            "0F4E7D2C9B1A83E6F5D4C3B2A1908F7E6D5C4B3A",
                        )
                        .health("Unavailable")
                        .policy("Payments Strict Policy")
                        .age(Duration::from_secs(26 * 3600)),
                    ),
            )
            .space(
                SpaceSeed::new("Mobile")
                    .description("iOS and Android release pipelines")
                    .pool("Mac Build Pool")
                    .worker(
                        WorkerSeed::listening(
                            "mac-mini-01",
                            "https://mac-mini-01.corp.example:10933/",
                            "7E2D9F4A1B6C3E8D5F0A2B4C6D8E0F1A3B5C7D9E",
                        )
                        .in_pool("Mac Build Pool"),
                    ),
            )
            .space(
                SpaceSeed::new("Data Science")
                    .description("Model training and batch scoring")
                    .pool(DEMO_POOL)
                    .proxy(proxy("Data Science"))
                    .worker(
                        WorkerSeed::listening(
                            "gpu-listener-01",
                            "https://gpu-listener-01.corp.example:10933/",
                            "C4D8E2F6A0B3C7D1E5F9A2B6C0D4E8F2A6B0C3D7",
                        )
                        .via_proxy(DEMO_PROXY)
                        .in_pool(DEMO_POOL),
                    )
                    .worker(
                        WorkerSeed::kubernetes_agent(
                            "k8s-agent-01",
                            "poll://kcxzcv2fpsxkn6tk9u6d/",
                            "96203ED84246201C26A2F4360D7CBC36AC1D232D",
                        )
                        .default_namespace("octopus-work")
                        .in_pool(DEMO_POOL),
                    )
                    .register_after(
                        Duration::from_millis(1500),
                        tf_worker(
                            1,
                            "poll://k3n8d2x7q1w9m4b6z5tr/",
                            "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A",
                        ),
                    )
                    .register_after(
                        Duration::from_millis(2500),
                        tf_worker(
                            2,
                            "poll://h7c2v9b4n6m1x3z8l5kj/",
                            "3D7C1B9E5A2F8D4C6B0E1A3F5D7B9C2E4A6F8D0B",
                        ),
                    )
                    .register_after(
                        Duration::from_millis(3500),
                        tf_worker(
                            3,
                            "poll://p4o9i2u7y5t1r8e3w6qa/",
                            "E1B4D7A0C3F6E9B2D5A8C1F4E7B0D3A6C9F2E5B8",
                        ),
                    ),
            )
            .space(
                SpaceSeed::new("Finance")
                    .description("Ledgers and reporting; the demo's key may not look inside")
                    .pool(DEMO_POOL)
                    .proxy(proxy("Finance")),
            )
            .space(
                SpaceSeed::new("Sandbox")
                    .description("Experiments; deployments paused")
                    .task_queue_stopped()
                    .pool(DEMO_POOL)
                    .proxy(proxy("Sandbox")),
            )
    }
}
