//! Writes whose outcome is unknown are settled by reading again, never repeated blindly; a
//! lease read that keeps failing ends as a failure, not a guess.

use std::time::Duration;

use octopus_emulator::Fault;
use octoshare_retire::{RegistrationState, RetireStatus, WorkerSelector};
use tokio_util::sync::CancellationToken;

use crate::support::*;

fn released_fleet() -> octopus_emulator::Emulator {
    let emulator = start(five_spaces_busy_in_two());
    for space in ["Payments", "Mobile"] {
        for lease in lease_ids(&emulator, space) {
            emulator.release_lease(&lease);
        }
    }
    emulator
}

#[tokio::test]
async fn a_disable_or_delete_applied_without_an_answer_is_read_again_not_repeated() {
    let emulator = released_fleet();
    let data = space_id(&emulator, "Data");
    emulator.add_fault(
        Fault::commit_then_500()
            .method("PUT")
            .path(&format!("/api/{data}/workers/*"))
            .limit(1),
    );
    emulator.add_fault(
        Fault::commit_then_drop()
            .method("DELETE")
            .path(&format!("/api/{data}/workers/*"))
            .limit(1),
    );
    emulator.clear_requests();
    let outcome = run(
        &client(&emulator),
        &config(WorkerSelector::Name("vm-1".into())),
        &mut Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, RetireStatus::Retired, "{outcome:#?}");
    assert_eq!(outcome.retired_worker_count(), 5);
    let requests = emulator.requests();
    let data_writes = |method: &str| {
        requests
            .iter()
            .filter(|r| {
                r.method == method && r.path.starts_with(&format!("/api/{data}/workers/Workers-"))
            })
            .count()
    };
    assert_eq!(
        data_writes("PUT"),
        1,
        "the committed PUT was not sent again"
    );
    assert_eq!(
        data_writes("DELETE"),
        1,
        "the committed DELETE was not sent again"
    );
    assert_eq!(data_writes("GET"), 2, "each was settled by one read");
    assert_eq!(worker_names(&emulator, "Data"), ["other-3"]);
}

#[tokio::test]
async fn a_lease_read_failing_until_the_deadline_is_a_failure() {
    let emulator = released_fleet();
    let payments = space_id(&emulator, "Payments");
    emulator.add_fault(Fault::status(503).path(&format!("/api/{payments}/workertaskleases")));
    let mut recorder = Recorder::default();
    let mut config = config(WorkerSelector::Name("vm-1".into()));
    config.drain_timeout = Duration::from_secs(4);
    let outcome = run(
        &client(&emulator),
        &config,
        &mut recorder,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.status, RetireStatus::Failed);
    let failed: Vec<&str> = outcome
        .in_state(RegistrationState::Failed)
        .map(|r| r.registration.space.name.as_str())
        .collect();
    assert_eq!(failed, ["Payments"]);
    assert!(
        recorder
            .events
            .iter()
            .any(|e| e.starts_with("poll failed Payments"))
    );
    assert_eq!(outcome.retired_worker_count(), 4);
    // Never deleted blindly: still there, disabled.
    let workers = emulator.workers(&payments);
    assert!(
        workers
            .iter()
            .any(|w| w["Thumbprint"] == VM_THUMBPRINT && w["IsDisabled"] == true)
    );
}
