//! Changing a running emulator: spaces created after start (from Rust, by the schedule, by
//! `POST /api/spaces`), workers registered and removed at runtime or by the schedule.

use std::time::Duration;

use octopus_emulator::{Scenario, SpaceSeed};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_space_added_at_runtime_is_listed_with_its_pool_and_workers() {
    let emulator = start(two_spaces());
    let id = emulator.add_space(
        SpaceSeed::new("Late Team")
            .pool(TF_POOL)
            .worker(polling("late-worker")),
    );
    assert_eq!(id, "Spaces-3");
    let spaces = get_json(&emulator, "/api/spaces/all").await;
    assert!(
        spaces
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["Name"] == "Late Team"))
    );
    let pools = get_json(&emulator, "/api/Spaces-3/workerpools/all").await;
    assert_eq!(pools[1]["Name"], TF_POOL);
    assert_eq!(emulator.workers("Spaces-3").len(), 1);
}

#[test]
#[should_panic(expected = "already exists")]
fn adding_a_space_with_a_taken_name_is_a_test_bug() {
    let emulator = start(two_spaces());
    emulator.add_space(SpaceSeed::new("payments"));
}

#[tokio::test]
async fn post_spaces_creates_a_space_with_its_default_pool_and_policy() {
    let emulator = start(two_spaces());
    let reply = post(
        &emulator,
        "/api/spaces",
        &json!({"Name": "Created", "Description": "by the API", "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": ["Users-1"]}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let space = reply.json();
    assert_eq!(space["Id"], "Spaces-3");
    assert_eq!(space["Slug"], "created");
    assert_eq!(space["SpaceManagersTeams"], json!(["teams-administrators"]));
    assert_eq!(space["SpaceManagersTeamMembers"], json!(["Users-1"]));
    assert_eq!(space["LastModifiedBy"], "admin");
    assert_eq!(get_json(&emulator, "/api/spaces/Spaces-3").await, space);
    let pools = get_json(&emulator, "/api/Spaces-3/workerpools/all").await;
    assert_eq!(pools[0]["Name"], "Default Worker Pool");
    let policies = get_json(&emulator, "/api/Spaces-3/machinepolicies/all").await;
    assert_eq!(policies[0]["Name"], "Default Machine Policy");
}

#[tokio::test]
async fn post_spaces_validates_name_and_managers() {
    let emulator = start(two_spaces());
    let empty = post(&emulator, "/api/spaces", &json!({})).await;
    assert_eq!(
        validation_errors(&empty),
        [
            "Please provide a name for the space.",
            "Please select at least one space manager team or team member."
        ]
    );
    let taken = post(
        &emulator,
        "/api/spaces",
        &json!({"Name": " PAYMENTS ", "SpaceManagersTeams": ["teams-administrators"]}),
    )
    .await;
    assert_eq!(
        validation_errors(&taken),
        ["A space with the name 'PAYMENTS' already exists."]
    );
    let long = post(
        &emulator,
        "/api/spaces",
        &json!({"Name": "x".repeat(51), "SpaceManagersTeamMembers": ["Users-1"]}),
    )
    .await;
    assert_eq!(validation_errors(&long).len(), 1);
    assert_eq!(
        get_json(&emulator, "/api/spaces/all")
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_scheduled_space_appears_later_with_its_workers_and_registrations() {
    let before_start = std::time::Instant::now();
    let emulator = start(
        two_spaces().space(
            SpaceSeed::new("Scheduled")
                .pool(TF_POOL)
                .created_after(Duration::from_millis(100))
                .worker(polling("present-when-created"))
                .register_after(Duration::from_millis(50), polling("registered-early")),
        ),
    );
    let absent = emulator.space_id("Scheduled").is_none();
    // Checked only when this ran before the space was due (a loaded machine may be later).
    if before_start.elapsed() < Duration::from_millis(100) {
        assert!(absent);
    }
    let space = within(30, async {
        loop {
            if let Some(id) = emulator.space_id("Scheduled") {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // A registration due before its space existed happens as soon as the space does.
    let names: Vec<String> = emulator
        .workers(&space)
        .iter()
        .map(|w| w["Name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["present-when-created", "registered-early"]);
}

#[tokio::test]
async fn workers_are_removed_at_runtime_and_by_the_schedule() {
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Default")
                .pool(TF_POOL)
                .worker(polling("stays"))
                .worker(polling("goes"))
                .deregister_after(Duration::from_millis(50), "goes"),
        ),
    );
    within(30, async {
        while emulator.workers("Spaces-1").len() > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(emulator.workers("Spaces-1")[0]["Name"], "stays");
    let id = emulator.add_worker("Spaces-1", polling("added"));
    assert_eq!(emulator.workers("Spaces-1").len(), 2);
    assert!(emulator.remove_worker("Spaces-1", &id));
    assert_eq!(
        get(&emulator, &format!("/api/Spaces-1/workers/{id}"))
            .await
            .status,
        404
    );
}

#[test]
fn schedule_seeds_are_validated() {
    for (document, expected) in [
        (
            r#"{ "spaces": [ { "name": "A", "deregistrations": [ { "afterMs": 1, "worker": "ghost" } ] } ] }"#,
            "no worker named 'ghost'",
        ),
        (
            r#"{ "spaces": [ { "name": "A", "isDefault": true, "createdAfterMs": 5 } ] }"#,
            "default space must exist from the start",
        ),
    ] {
        let error = Scenario::from_json_str(document)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains(expected), "{document}: {error}");
    }
}
