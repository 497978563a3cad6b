//! The core behaviour: disable everywhere first, delete idle registrations at once and busy
//! ones only after their leases end, time out leaving them disabled, force, interruption and
//! re-runs, dry runs, and a server without the lease endpoint.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use octopus_emulator::{LeaseSeed, Scenario, SpaceSeed};
use octoshare_retire::{RegistrationState, RetireStatus, WorkerSelector};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::*;

/// `space name -> Workers-N` of the registration being retired.
fn vm_ids(emulator: &octopus_emulator::Emulator) -> HashMap<String, String> {
    SPACES
        .iter()
        .map(|name| {
            let id = emulator
                .workers(&space_id(emulator, name))
                .iter()
                .find(|worker| worker["Thumbprint"] == VM_THUMBPRINT)
                .and_then(|worker| worker["Id"].as_str().map(str::to_owned))
                .unwrap_or_default();
            ((*name).to_owned(), id)
        })
        .collect()
}

fn space_ids(emulator: &octopus_emulator::Emulator, names: &[&str]) -> Vec<String> {
    names.iter().map(|name| space_id(emulator, name)).collect()
}

#[tokio::test]
async fn a_worker_in_five_spaces_busy_in_two_is_disabled_everywhere_then_deleted_as_leases_end() {
    let emulator = start(five_spaces_busy_in_two());
    let ids = vm_ids(&emulator);
    let payments_lease = lease_ids(&emulator, "Payments");
    let mobile_lease = lease_ids(&emulator, "Mobile");
    let released: RefCell<HashMap<&str, Instant>> = RefCell::new(HashMap::new());
    let mut recorder = Recorder {
        on_round: Some(Box::new(|round: &Round| match round.poll {
            1 => {
                released.borrow_mut().insert("Payments", Instant::now());
                assert!(emulator.release_lease(&payments_lease[0]));
            }
            3 => {
                released.borrow_mut().insert("Mobile", Instant::now());
                assert!(emulator.release_lease(&mobile_lease[0]));
            }
            _ => {}
        })),
        ..Recorder::default()
    };
    emulator.clear_requests();
    let outcome = run(
        &client(&emulator),
        &config(WorkerSelector::Name("vm-1".into())),
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(
        outcome.status,
        RetireStatus::Retired,
        "{:#?}",
        recorder.events
    );
    assert_eq!(outcome.retired_worker_count(), 5);
    let all: Vec<String> = outcome
        .retired_space_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(all, space_ids(&emulator, &SPACES_BY_NAME));
    assert!(outcome.still_busy_space_ids().is_empty());
    // Found under its other name in Mobile too.
    assert_eq!(recorder.found.len(), 5);
    assert_eq!(recorder.found[2].worker_name, "mobile-vm-1");
    // Gone from all five; every other machine stays.
    for (index, name) in SPACES.iter().enumerate() {
        assert_eq!(
            worker_names(&emulator, name),
            [format!("other-{}", index + 1)]
        );
    }

    // The drain's schedule: rounds 1 s, 2 s, 4 s apart; the held registrations shrink.
    let schedule: Vec<(Duration, Vec<&str>)> = recorder
        .rounds
        .iter()
        .map(|round| {
            (
                round.elapsed,
                round.busy.iter().map(|(space, _)| space.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        schedule,
        [
            (Duration::ZERO, vec!["Mobile", "Payments"]),
            (Duration::from_secs(1), vec!["Mobile"]),
            (Duration::from_secs(3), vec!["Mobile"]),
            (Duration::from_secs(7), vec![]),
        ]
    );
    assert_eq!(
        recorder.rounds[0].busy,
        [
            ("Mobile".to_owned(), vec!["ServerTasks-2".to_owned()]),
            ("Payments".to_owned(), vec!["ServerTasks-1".to_owned()])
        ]
    );
    assert_eq!(
        recorder.rounds[0].retired, 3,
        "the idle spaces go in the first round"
    );

    // The request log: every PUT (disable) before the first lease read, no DELETE ever refused,
    // and no DELETE of a leased registration before its lease ended.
    let requests = emulator.requests();
    let puts = requests_to(&requests, "PUT", "");
    assert_eq!(puts.len(), 5);
    for put in &puts {
        assert_eq!(put.status, 200);
    }
    let first_lease_read = first(&requests, |r| r.path.ends_with("/workertaskleases")).unwrap();
    assert!(
        puts.iter().all(|put| put.started < first_lease_read),
        "disabled everywhere first"
    );
    let deletes = requests_to(&requests, "DELETE", "");
    assert_eq!(deletes.len(), 5);
    assert!(
        deletes.iter().all(|delete| delete.status == 200),
        "no DELETE was refused"
    );
    drop(recorder);
    let released = released.into_inner();
    for space in ["Payments", "Mobile"] {
        let delete = first(&requests, |r| {
            r.method == "DELETE" && r.path.ends_with(&ids[space])
        })
        .unwrap();
        assert!(
            delete > released[space],
            "{space}'s registration was deleted while leased"
        );
    }
    // The idle spaces' deletes came in the first round, before the second lease read.
    let second_lease_read = requests
        .iter()
        .filter(|r| r.path.ends_with("/workertaskleases"))
        .nth(5)
        .map(|r| r.started)
        .unwrap();
    for space in ["Default", "Data", "Sandbox"] {
        let delete = first(&requests, |r| {
            r.method == "DELETE" && r.path.ends_with(&ids[space])
        })
        .unwrap();
        assert!(
            delete < second_lease_read,
            "{space} was deleted in the first round"
        );
    }
    // One worker listing per space, and the list of spaces once.
    assert_eq!(requests_to(&requests, "GET", "/workers/all").len(), 5);
    assert_eq!(requests_to(&requests, "GET", "/api/spaces/all").len(), 1);
}

#[tokio::test]
async fn a_lease_outliving_the_drain_timeout_leaves_the_worker_disabled_and_reported() {
    let emulator = start(five_spaces_busy_in_two());
    let ids = vm_ids(&emulator);
    let mobile_lease = lease_ids(&emulator, "Mobile");
    let mut recorder = Recorder {
        on_round: Some(Box::new(|round: &Round| {
            if round.poll == 1 {
                emulator.release_lease(&mobile_lease[0]);
            }
        })),
        ..Recorder::default()
    };
    emulator.clear_requests();
    let outcome = run(
        &client(&emulator),
        &config(WorkerSelector::Thumbprint(VM_THUMBPRINT.to_lowercase())),
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(outcome.status, RetireStatus::StillBusy);
    assert_eq!(outcome.retired_worker_count(), 4);
    let busy: Vec<String> = outcome
        .still_busy_space_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(busy, [space_id(&emulator, "Payments")]);
    assert_eq!(outcome.retired_space_ids().len(), 4);
    // Rounds at 0, 1, 3, 7, 15, 25 s and the last one at the 30 s deadline.
    let times: Vec<u64> = recorder
        .rounds
        .iter()
        .map(|round| round.elapsed.as_secs())
        .collect();
    assert_eq!(times, [0, 1, 3, 7, 15, 25, 30]);
    assert_eq!(outcome.drain_polls, 7);

    // Still there, disabled, never sent a DELETE.
    let payments = emulator.workers(&space_id(&emulator, "Payments"));
    let held = payments
        .iter()
        .find(|w| w["Id"] == ids["Payments"].as_str())
        .unwrap();
    assert_eq!(held["IsDisabled"], Value::Bool(true));
    let requests = emulator.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path.ends_with(&ids["Payments"])),
        "a leased registration was sent a DELETE"
    );
    // Reported by task, with the lease's age and the task.
    let report = outcome
        .in_state(RegistrationState::StillBusy)
        .next()
        .unwrap();
    assert_eq!(report.registration.space.name, "Payments");
    let lease = &report.leases[0];
    assert_eq!(
        lease.task_id.as_ref().map(ToString::to_string).as_deref(),
        Some("ServerTasks-1")
    );
    assert!(lease.age_seconds.is_some());
    assert!(
        !lease.older_than_drain_timeout,
        "held for seconds, not 30 s"
    );
    let task = lease.task.as_ref().unwrap();
    assert_eq!(task.description, "Deploy Payments API 1.2.3 to Production");
    assert_eq!(
        (task.state.as_str(), task.is_completed),
        ("Executing", false)
    );
}

#[tokio::test]
async fn force_cancels_the_holding_task_then_deletes() {
    let emulator = start(five_spaces_busy_in_two());
    let ids = vm_ids(&emulator);
    let mut config = config(WorkerSelector::Name("vm-1".into()));
    config.drain_timeout = Duration::from_secs(5);
    config.force = true;
    let mut recorder = Recorder::default();
    emulator.clear_requests();
    let outcome = run(
        &client(&emulator),
        &config,
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(
        outcome.status,
        RetireStatus::Retired,
        "{:#?}",
        recorder.events
    );
    assert_eq!(outcome.retired_worker_count(), 5);
    let forced: Vec<(String, String, bool, Vec<String>)> = outcome
        .forced_tasks
        .iter()
        .map(|task| {
            (
                task.task_id.to_string(),
                task.space.name.clone(),
                task.cancelled,
                task.worker_names.clone(),
            )
        })
        .collect();
    assert_eq!(
        forced,
        [
            (
                "ServerTasks-2".to_owned(),
                "Mobile".to_owned(),
                true,
                vec!["mobile-vm-1".to_owned()]
            ),
            (
                "ServerTasks-1".to_owned(),
                "Payments".to_owned(),
                true,
                vec!["vm-1".to_owned()]
            ),
        ]
    );
    assert_eq!(
        outcome.forced_tasks[1]
            .task
            .as_ref()
            .map(|task| task.description.as_str()),
        Some("Deploy Payments API 1.2.3 to Production")
    );
    assert_eq!(
        emulator.task("ServerTasks-1").unwrap_or_default()["State"],
        "Canceled"
    );
    let requests = emulator.requests();
    let cancel = first(&requests, |r| {
        r.method == "POST" && r.path.ends_with("ServerTasks-1/cancel")
    })
    .unwrap();
    let delete = first(&requests, |r| {
        r.method == "DELETE" && r.path.ends_with(&ids["Payments"])
    })
    .unwrap();
    assert!(cancel < delete);
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "DELETE")
            .all(|r| r.status == 200)
    );
    assert!(recorder.rounds.last().is_some_and(|round| round.forcing));
}

#[tokio::test]
async fn force_cannot_clear_an_orphaned_lease() {
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Default")
                .default_space()
                .pool(POOL)
                .worker(vm("vm-1"))
                .lease(LeaseSeed::on("vm-1").orphaned()),
        ),
    );
    let mut config = config(WorkerSelector::Name("vm-1".into()));
    config.drain_timeout = Duration::ZERO;
    config.force = true;
    config.force_grace = Duration::from_secs(3);
    emulator.clear_requests();
    let mut recorder = Recorder::default();
    let outcome = run(
        &client(&emulator),
        &config,
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(outcome.status, RetireStatus::StillBusy);
    assert_eq!(
        recorder.rounds.len(),
        1,
        "no grace period: no task was cancelled"
    );
    let forced = &outcome.forced_tasks[0];
    assert!(!forced.cancelled);
    assert!(
        forced
            .error
            .as_deref()
            .is_some_and(|e| e.contains("orphaned lease")),
        "{forced:?}"
    );
    let report = &outcome.registrations[0];
    assert!(report.leases[0].is_orphaned());
    assert_eq!(emulator.count("DELETE"), 0);
    assert_eq!(
        emulator.count("POST"),
        0,
        "a finished task is not cancelled"
    );
}

#[tokio::test]
async fn a_second_run_finds_nothing_and_only_reads() {
    let emulator = start(five_spaces_busy_in_two());
    for space in ["Payments", "Mobile"] {
        for lease in lease_ids(&emulator, space) {
            emulator.release_lease(&lease);
        }
    }
    let selector = WorkerSelector::Thumbprint(VM_THUMBPRINT.into());
    let first = run(
        &client(&emulator),
        &config(selector.clone()),
        &mut Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(first.status, RetireStatus::Retired);
    emulator.clear_requests();
    let again = run(
        &client(&emulator),
        &config(selector),
        &mut Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(again.status, RetireStatus::NothingToRetire);
    assert_eq!(again.retired_worker_count(), 0);
    let requests = emulator.requests();
    assert_eq!(
        requests.len(),
        1 + SPACES.len(),
        "the spaces, then one listing per space"
    );
    assert!(requests.iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn an_interrupted_drain_leaves_registrations_disabled_and_a_rerun_finishes() {
    let emulator = start(five_spaces_busy_in_two());
    let cancel = CancellationToken::new();
    let mut recorder = Recorder {
        on_round: Some(Box::new(|round: &Round| {
            if round.poll == 2 {
                cancel.cancel();
            }
        })),
        ..Recorder::default()
    };
    let selector = WorkerSelector::Name("vm-1".into());
    let outcome = run(
        &client(&emulator),
        &config(selector.clone()),
        &mut recorder,
        &cancel,
    )
    .await;
    assert_eq!(outcome.status, RetireStatus::Interrupted);
    assert_eq!(recorder.rounds.len(), 2, "no round after the interruption");
    let held: Vec<&str> = outcome
        .in_state(RegistrationState::Disabled)
        .map(|report| report.registration.space.name.as_str())
        .collect();
    assert_eq!(held, ["Mobile", "Payments"]);
    for space in ["Payments", "Mobile"] {
        let workers = emulator.workers(&space_id(&emulator, space));
        assert!(
            workers
                .iter()
                .any(|w| w["Thumbprint"] == VM_THUMBPRINT && w["IsDisabled"] == true)
        );
    }

    for space in ["Payments", "Mobile"] {
        for lease in lease_ids(&emulator, space) {
            emulator.release_lease(&lease);
        }
    }
    emulator.clear_requests();
    let mut rerun_recorder = Recorder::default();
    let rerun = run(
        &client(&emulator),
        &config(selector),
        &mut rerun_recorder,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(rerun.status, RetireStatus::Retired);
    assert_eq!(rerun.retired_worker_count(), 2);
    assert_eq!(emulator.count("PUT"), 0, "already disabled: no second PUT");
    assert!(
        rerun_recorder
            .events
            .iter()
            .any(|e| e == "Payments already disabled")
    );
    for (index, name) in SPACES.iter().enumerate() {
        assert_eq!(
            worker_names(&emulator, name),
            [format!("other-{}", index + 1)]
        );
    }
}

#[tokio::test]
async fn a_dry_run_only_reads_and_reports_the_busy_spaces() {
    let emulator = start(five_spaces_busy_in_two());
    let mut config = config(WorkerSelector::Name("vm-1".into()));
    config.dry_run = true;
    emulator.clear_requests();
    let outcome = run(
        &read_only_client(&emulator),
        &config,
        &mut Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, RetireStatus::DryRun);
    assert_eq!(
        outcome.retired_worker_count(),
        5,
        "what a real run would retire"
    );
    let busy: Vec<String> = outcome
        .still_busy_space_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(busy, space_ids(&emulator, &["Mobile", "Payments"]));
    assert!(
        outcome
            .registrations
            .iter()
            .all(|r| r.state == RegistrationState::Found)
    );
    assert!(emulator.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(emulator.workers(&space_id(&emulator, "Payments")).len(), 2);
}

#[tokio::test]
async fn without_the_lease_endpoint_a_refused_delete_means_still_busy() {
    let emulator = start(five_spaces_busy_in_two().without_worker_task_leases());
    let payments_lease = lease_ids(&emulator, "Payments");
    let mobile_lease = lease_ids(&emulator, "Mobile");
    let mut recorder = Recorder {
        on_round: Some(Box::new(|round: &Round| {
            if round.poll == 2 {
                emulator.release_lease(&payments_lease[0]);
                emulator.release_lease(&mobile_lease[0]);
            }
        })),
        ..Recorder::default()
    };
    let outcome = run(
        &client(&emulator),
        &config(WorkerSelector::Name("vm-1".into())),
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        outcome.status,
        RetireStatus::Retired,
        "{:#?}",
        recorder.events
    );
    assert_eq!(outcome.spaces_without_lease_endpoint.len(), 5);
    assert_eq!(recorder.rounds.len(), 3);
    // The refusal is reported once per registration, with the server's text.
    let refusals: Vec<&String> = recorder
        .events
        .iter()
        .filter(|e| e.contains("refused"))
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(
        refusals
            .iter()
            .any(|refusal| refusal.starts_with("Payments refused: ")
                && refusal.contains("is currently in use by task ServerTasks-1")),
        "{refusals:?}"
    );
    for (index, name) in SPACES.iter().enumerate() {
        assert_eq!(
            worker_names(&emulator, name),
            [format!("other-{}", index + 1)]
        );
    }
}
