//! Every worker kind, by the identity of its kind; spaces the key cannot read or write.

use octopus_emulator::{
    Access, AccountSeed, ApiKeySeed, Permission, Scenario, SpaceSeed, WorkerSeed,
};
use octoshare_retire::{RegistrationState, RetireStatus, WorkerSelector};
use tokio_util::sync::CancellationToken;

use crate::support::*;

const THUMBPRINT: &str = "1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E";

fn two_spaces(worker: impl Fn(&str) -> WorkerSeed) -> Scenario {
    Scenario::new()
        .space(
            SpaceSeed::new("Default")
                .default_space()
                .pool(POOL)
                .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
                .worker(worker("Default"))
                .worker(survivor(1)),
        )
        .space(
            SpaceSeed::new("Payments")
                .pool(POOL)
                .account(AccountSeed::ssh_key_pair("deploy-key", "deploy"))
                .worker(worker("Payments"))
                .worker(survivor(2)),
        )
}

async fn retire_all(scenario: Scenario, selector: WorkerSelector) {
    let emulator = start(scenario);
    let outcome = run(
        &client(&emulator),
        &config(selector.clone()),
        &mut Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        outcome.status,
        RetireStatus::Retired,
        "{selector}: {outcome:#?}"
    );
    assert_eq!(outcome.retired_worker_count(), 2, "{selector}");
    assert_eq!(
        worker_names(&emulator, "Default"),
        ["other-1"],
        "{selector}"
    );
    assert_eq!(
        worker_names(&emulator, "Payments"),
        ["other-2"],
        "{selector}"
    );
}

#[tokio::test]
async fn listening_tentacles_are_retired_by_thumbprint() {
    retire_all(
        two_spaces(|space| {
            WorkerSeed::listening(&format!("web-{space}"), "https://web-01:10933/", THUMBPRINT)
                .in_pool(POOL)
        }),
        WorkerSelector::Thumbprint(THUMBPRINT.into()),
    )
    .await;
}

#[tokio::test]
async fn ssh_targets_are_retired_by_name_through_host_port_and_fingerprint() {
    retire_all(
        two_spaces(|space| {
            let name = if space == "Default" {
                "ssh-box"
            } else {
                "payments-ssh-box"
            };
            WorkerSeed::ssh(name, "box.example", 22, "SHA256:AbCdEf")
                .account("deploy-key")
                .in_pool(POOL)
        }),
        WorkerSelector::Name("ssh-box".into()),
    )
    .await;
}

#[tokio::test]
async fn kubernetes_agents_are_retired_by_thumbprint() {
    retire_all(
        two_spaces(|_| {
            WorkerSeed::kubernetes_agent("k8s-agent", "poll://k8sagentaaaaaaaaaaa/", THUMBPRINT)
                .in_pool(POOL)
        }),
        WorkerSelector::Thumbprint(THUMBPRINT.into()),
    )
    .await;
}

#[tokio::test]
async fn a_thumbprint_does_not_take_an_ssh_target_with_that_fingerprint() {
    let emulator = start(two_spaces(|_| {
        WorkerSeed::ssh("ssh-box", "box.example", 22, THUMBPRINT)
            .account("deploy-key")
            .in_pool(POOL)
    }));
    let outcome = run(
        &client(&emulator),
        &config(WorkerSelector::Thumbprint(THUMBPRINT.into())),
        &mut Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, RetireStatus::NothingToRetire);
    assert_eq!(worker_names(&emulator, "Default").len(), 2);
}

#[tokio::test]
async fn an_unreadable_space_is_skipped_and_a_refused_write_fails_only_its_space() {
    let key = "API-RETIREBOT0000000000000000001";
    let scenario = five_spaces_busy_in_two().scoped_key(
        ApiKeySeed::api_key(key)
            .default_access(Access::Full)
            .space("Data", Access::ReadOnly)
            .space("Sandbox", Access::Only(vec![Permission::ProxyView])),
    );
    let emulator = start(scenario);
    for space in ["Payments", "Mobile"] {
        for lease in lease_ids(&emulator, space) {
            emulator.release_lease(&lease);
        }
    }
    let mut recorder = Recorder::default();
    let outcome = run(
        &client_with_key(&emulator, key),
        &config(WorkerSelector::Name("vm-1".into())),
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        outcome.status,
        RetireStatus::Failed,
        "{:#?}",
        recorder.events
    );
    assert!(outcome.permission_refused);
    let skipped: Vec<&str> = outcome
        .skipped_spaces
        .iter()
        .map(|s| s.space.name.as_str())
        .collect();
    assert_eq!(skipped, ["Sandbox"]);
    assert!(outcome.skipped_spaces[0].reason.contains("WorkerView"));
    let failed: Vec<&str> = outcome
        .in_state(RegistrationState::Failed)
        .map(|r| r.registration.space.name.as_str())
        .collect();
    assert_eq!(failed, ["Data"]);
    let error = outcome
        .in_state(RegistrationState::Failed)
        .next()
        .and_then(|report| report.error.as_deref())
        .unwrap_or_default();
    assert!(
        error.starts_with("while disabling vm-1") && error.contains("WorkerEdit"),
        "{error}"
    );
    assert_eq!(
        outcome.retired_worker_count(),
        3,
        "Default, Payments and Mobile"
    );
    assert_eq!(worker_names(&emulator, "Data"), ["other-3", "vm-1"]);
}
