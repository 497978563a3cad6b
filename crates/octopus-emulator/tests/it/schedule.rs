//! Scheduled registrations and the demo scenario.

use std::time::{Duration, Instant};

use octopus_emulator::{DEMO_POOL, Scenario, SpaceSeed};

use crate::support::*;

#[tokio::test]
async fn scheduled_registration_appears_after_its_delay() {
    let started = Instant::now();
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Default")
                .default_space()
                .pool(TF_POOL)
                .register_after(Duration::from_millis(150), polling("late-worker")),
        ),
    );
    let before = get_json(&emulator, "/api/Spaces-1/workers").await;
    // Only answered before the registration was due can the list be empty: on a loaded
    // machine the first answer may come later, so this is checked only when it did not.
    let answered = emulator.requests()[0].finished;
    if answered < started + Duration::from_millis(150) {
        assert_eq!(before["TotalResults"], 0);
    }

    // A bound for a loaded machine, not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = before;
    while after["TotalResults"] == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = get_json(&emulator, "/api/Spaces-1/workers").await;
    }
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(after["TotalResults"], 1);
    assert_eq!(after["Items"][0]["Name"], "late-worker");
    assert_eq!(after["Items"][0]["HealthStatus"], "Healthy");
}

#[tokio::test]
async fn a_due_registration_is_visible_to_the_first_request_after_it() {
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Default")
                .pool(TF_POOL)
                .register_after(Duration::from_millis(50), polling("w1"))
                .register_after(Duration::from_millis(60), polling("w2")),
        ),
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    let workers = get_json(&emulator, "/api/Spaces-1/workers/all").await;
    assert_eq!(workers.as_array().map(Vec::len), Some(2));
    assert_eq!(workers[0]["Id"], "Workers-1");
    assert_eq!(emulator.workers("Spaces-1").len(), 2);
}

#[tokio::test]
async fn demo_scenario_has_seven_spaces_five_tf_pools_and_a_stale_same_name_worker() {
    let scenario = Scenario::demo();
    assert_eq!(scenario.spaces().len(), 7);
    let with_pool: Vec<&str> = scenario
        .spaces()
        .iter()
        .filter(|s| s.worker_pools().any(|p| p == DEMO_POOL))
        .map(|s| s.name())
        .collect();
    assert_eq!(with_pool.len(), 5);

    let emulator = start(scenario.clone());
    // Registrations go to the first space with the pool in server (name) order.
    let spaces = get_json(&emulator, "/api/spaces").await;
    let first_with_pool = spaces["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Name"].as_str())
        .find(|name| with_pool.contains(name))
        .unwrap_or_default()
        .to_owned();
    let registering: Vec<&SpaceSeed> = scenario
        .spaces()
        .iter()
        .filter(|s| !s.registrations().is_empty())
        .collect();
    assert_eq!(registering.len(), 1);
    assert_eq!(registering[0].name(), first_with_pool);
    let delays: Vec<u128> = registering[0]
        .registrations()
        .iter()
        .map(|r| r.after().as_millis())
        .collect();
    assert_eq!(delays, [1500, 2500, 3500]);
    assert!(get_json(&emulator, "/api/spaces?name=Default").await["Items"][0]["IsDefault"] == true);

    // The stale registration: same name as a registering Tentacle, other thumbprint, Unavailable.
    let fresh = registering[0].registrations()[0].worker();
    let stale = emulator
        .space_id("Payments")
        .map(|id| emulator.workers(&id))
        .unwrap_or_default();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["Name"], fresh.name());
    assert_eq!(stale[0]["HealthStatus"], "Unavailable");
    assert_ne!(stale[0]["Thumbprint"], fresh.thumbprint());
    assert_ne!(stale[0]["Uri"], fresh.uri());
    let seeded_today = emulator.workers("Spaces-1");
    assert!(
        stale[0]["LastModifiedOn"].as_str() < seeded_today[0]["LastModifiedOn"].as_str(),
        "the stale worker dates from yesterday: {} vs {}",
        stale[0]["LastModifiedOn"],
        seeded_today[0]["LastModifiedOn"]
    );
    for registration in registering[0].registrations() {
        let worker = registration.worker();
        assert!(worker.uri().starts_with("poll://") && worker.uri().len() == "poll://".len() + 21);
        assert_eq!(worker.thumbprint().len(), 40);
        assert!(
            worker
                .thumbprint()
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
}
