//! Worker task leases: the lease endpoint, leases held until released or until a time, the
//! refused DELETE of a busy worker, the tasks holding them, and the request log showing the
//! disable → drain → delete order.

use std::time::Duration;

use octopus_emulator::{LeaseSeed, Scenario, SpaceSeed};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn busy_worker() -> Scenario {
    Scenario::new()
        .space(SpaceSeed::new("Default").default_space().pool(TF_POOL))
        .space(
            SpaceSeed::new("Payments")
                .pool(TF_POOL)
                .worker(polling("busy"))
                .worker(polling("idle"))
                .lease(
                    LeaseSeed::on("busy").task("Deploy", "Deploy Payments API 1.2.3 to Production"),
                ),
        )
}

#[tokio::test]
async fn lease_endpoint_answers_with_the_server_shape() {
    let emulator = start(busy_worker());
    let reply = get_json(&emulator, "/api/Spaces-2/workertaskleases?skip=0&take=30").await;
    assert_eq!(keys(&reply), ["WorkerTaskLeases"]);
    let page = &reply["WorkerTaskLeases"];
    assert_eq!(
        keys(page),
        [
            "ItemType",
            "TotalResults",
            "ItemsPerPage",
            "NumberOfPages",
            "LastPageNumber",
            "Items",
            "Links"
        ]
    );
    assert_eq!(page["ItemType"], "WorkerTaskLease");
    assert_eq!(page["TotalResults"], 1);
    let lease = &page["Items"][0];
    assert_eq!(
        keys(lease),
        [
            "Id",
            "SpaceId",
            "WorkerId",
            "WorkerPoolId",
            "ServerTaskId",
            "Name",
            "Exclusive",
            "TakenAt"
        ]
    );
    assert_eq!(lease["Id"], "WorkerTaskLeases-1");
    assert_eq!(lease["SpaceId"], "Spaces-2");
    assert_eq!(lease["WorkerId"], "Workers-1");
    assert_eq!(
        lease["WorkerPoolId"],
        pool_id(&emulator, "Spaces-2", TF_POOL).as_str()
    );
    assert_eq!(lease["ServerTaskId"], "ServerTasks-1");
    assert_eq!(lease["Name"], "busy");
    assert_eq!(
        page["Links"]["Self"],
        "/api/Spaces-2/workertaskleases?skip=0&take=30"
    );
    // The other space has none; the newer route family reaches the same endpoint.
    let other = get_json(&emulator, "/api/spaces/Spaces-1/workertaskleases").await;
    assert_eq!(other["WorkerTaskLeases"]["TotalResults"], 0);
}

#[tokio::test]
async fn the_holding_task_is_executing_until_the_lease_is_released() {
    let emulator = start(busy_worker());
    let task = get_json(&emulator, "/api/tasks/ServerTasks-1").await;
    assert_eq!(task["State"], "Executing");
    assert_eq!(task["IsCompleted"], false);
    assert_eq!(task["SpaceId"], "Spaces-2");
    assert_eq!(
        task["Description"],
        "Deploy Payments API 1.2.3 to Production"
    );
    assert_eq!(task["Completed"], json!(null));
    assert_eq!(task["Links"]["Self"], "/api/tasks/ServerTasks-1");
    let in_space = get_json(&emulator, "/api/Spaces-2/tasks/ServerTasks-1").await;
    assert_eq!(
        (in_space["Id"].clone(), in_space["State"].clone()),
        (task["Id"].clone(), task["State"].clone())
    );
    assert_eq!(
        get(&emulator, "/api/Spaces-1/tasks/ServerTasks-1")
            .await
            .status,
        404
    );

    assert!(emulator.release_lease("WorkerTaskLeases-1"));
    let done = get_json(&emulator, "/api/tasks/ServerTasks-1").await;
    assert_eq!(
        (
            done["State"].clone(),
            done["IsCompleted"].clone(),
            done["FinishedSuccessfully"].clone()
        ),
        (json!("Success"), json!(true), json!(true))
    );
    assert!(done["Completed"].is_string() && done["CompletedTime"].is_string());
    assert!(emulator.leases("Spaces-2").is_empty());
    assert!(
        !emulator.release_lease("WorkerTaskLeases-1"),
        "already released"
    );
}

#[tokio::test]
async fn deleting_a_leased_worker_is_refused_until_the_lease_ends() {
    let emulator = start(busy_worker());
    let refused = delete(&emulator, "/api/Spaces-2/workers/Workers-1").await;
    assert_eq!(
        validation_errors(&refused),
        [
            "The worker 'busy' (Workers-1) is currently in use by task ServerTasks-1 and cannot be deleted. Try again when the task has finished."
        ]
    );
    assert_eq!(emulator.workers("Spaces-2").len(), 2, "nothing was deleted");
    // The idle worker goes at once.
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-2")
            .await
            .status,
        200
    );
    emulator.release_lease("WorkerTaskLeases-1");
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-1")
            .await
            .status,
        200
    );
    assert!(emulator.workers("Spaces-2").is_empty());
}

#[tokio::test]
async fn the_request_log_shows_disable_then_lease_polls_then_delete() {
    let emulator = start(busy_worker());
    emulator.clear_requests();
    let mut worker = get_json(&emulator, "/api/Spaces-2/workers/Workers-1").await;
    worker["IsDisabled"] = json!(true);
    assert_eq!(
        put(&emulator, "/api/Spaces-2/workers/Workers-1", &worker)
            .await
            .status,
        200
    );
    let busy = |leases: &serde_json::Value| {
        leases["WorkerTaskLeases"]["Items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|l| l["WorkerId"] == "Workers-1"))
    };
    assert!(busy(
        &get_json(&emulator, "/api/Spaces-2/workertaskleases").await
    ));
    emulator.release_lease("WorkerTaskLeases-1");
    assert!(!busy(
        &get_json(&emulator, "/api/Spaces-2/workertaskleases").await
    ));
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-1")
            .await
            .status,
        200
    );

    let order: Vec<(String, String, u16)> = emulator
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    let expected = [
        ("GET", "/api/Spaces-2/workers/Workers-1", 200),
        ("PUT", "/api/Spaces-2/workers/Workers-1", 200),
        ("GET", "/api/Spaces-2/workertaskleases", 200),
        ("GET", "/api/Spaces-2/workertaskleases", 200),
        ("DELETE", "/api/Spaces-2/workers/Workers-1", 200),
    ]
    .map(|(m, p, s)| (m.to_owned(), p.to_owned(), s));
    assert_eq!(order, expected);
}

#[tokio::test]
async fn a_lease_held_at_runtime_is_listed_until_released() {
    let emulator = start(busy_worker());
    let held = emulator.hold_lease("Spaces-2", LeaseSeed::on("idle").exclusive());
    assert_eq!(held.lease_id, "WorkerTaskLeases-2");
    assert_eq!(held.task_id, "ServerTasks-2");
    let lease = emulator
        .leases("Spaces-2")
        .into_iter()
        .find(|l| l["Id"] == held.lease_id.as_str())
        .unwrap_or_default();
    assert_eq!(
        (lease["WorkerId"].clone(), lease["Exclusive"].clone()),
        (json!("Workers-2"), json!(true))
    );
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-2")
            .await
            .status,
        400
    );
    assert!(emulator.release_lease(&held.lease_id));
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-2")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_lease_held_until_a_time_ends_on_its_own() {
    let emulator = start(busy_worker());
    let held = emulator.hold_lease(
        "Spaces-2",
        LeaseSeed::on("idle").until(Duration::from_millis(50)),
    );
    // The timer ends it without any request; wait (bounded) for the task to complete.
    let task_id = held.task_id.clone();
    within(30, async {
        while emulator
            .task(&task_id)
            .is_some_and(|t| t["State"] == "Executing")
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(
        emulator.task(&held.task_id).unwrap_or_default()["State"],
        "Success"
    );
    let left: Vec<serde_json::Value> = emulator
        .leases("Spaces-2")
        .into_iter()
        .map(|l| l["Id"].clone())
        .collect();
    assert_eq!(
        left,
        [json!("WorkerTaskLeases-1")],
        "only the scenario's lease is left"
    );
}

#[tokio::test]
async fn an_orphaned_lease_outlives_its_finished_task() {
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Default")
                .pool(TF_POOL)
                .worker(polling("stuck"))
                .lease(LeaseSeed::on("stuck").orphaned()),
        ),
    );
    let task = emulator.task("ServerTasks-1").unwrap_or_default();
    assert_eq!(
        (task["State"].clone(), task["IsCompleted"].clone()),
        (json!("Canceled"), json!(true))
    );
    assert_eq!(emulator.leases("Spaces-1").len(), 1);
    assert_eq!(
        delete(&emulator, "/api/Spaces-1/workers/Workers-1")
            .await
            .status,
        400
    );
    emulator.release_lease("WorkerTaskLeases-1");
    assert_eq!(
        emulator.task("ServerTasks-1").unwrap_or_default()["State"],
        "Canceled",
        "releasing does not rewrite a finished task"
    );
}

#[tokio::test]
async fn removing_a_worker_at_runtime_ends_its_leases() {
    let emulator = start(busy_worker());
    assert!(emulator.remove_worker("Spaces-2", "Workers-1"));
    assert!(emulator.leases("Spaces-2").is_empty());
    assert_eq!(
        emulator.task("ServerTasks-1").unwrap_or_default()["State"],
        "Success"
    );
    assert!(!emulator.remove_worker("Spaces-2", "Workers-1"));
}

#[tokio::test]
async fn task_reads_need_task_view_in_the_task_space() {
    let emulator = start(busy_worker());
    let key = "API-NOTASKS0000000000000000000001";
    emulator.add_scoped_key(octopus_emulator::ApiKeySeed::api_key(key).space(
        "Payments",
        octopus_emulator::Access::Only(vec![octopus_emulator::Permission::WorkerView]),
    ));
    let task = call_as(
        &emulator,
        key,
        Method::GET,
        "/api/tasks/ServerTasks-1",
        None,
    )
    .await;
    assert_eq!(task.status, 403);
    assert!(
        task.json()["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.ends_with("Missing permission: TaskView"))
    );
    let leases = call_as(
        &emulator,
        key,
        Method::GET,
        "/api/Spaces-2/workertaskleases",
        None,
    )
    .await;
    assert_eq!(leases.status, 200);
}

#[test]
fn lease_seeds_are_validated() {
    for (lease, expected) in [
        (r#"{ "worker": "ghost" }"#, "no worker named 'ghost'"),
        (
            r#"{ "worker": "w", "afterMs": 10, "untilMs": 5 }"#,
            "before `afterMs`",
        ),
        (
            r#"{ "worker": "w", "pool": "Nope" }"#,
            "no static worker pool named 'Nope'",
        ),
    ] {
        let document = format!(
            r#"{{ "spaces": [ {{ "name": "A", "workers": [ {{ "name": "w", "uri": "poll://abcdefghijklmnopqrst/", "thumbprint": "AB" }} ], "leases": [ {lease} ] }} ] }}"#
        );
        let error = Scenario::from_json_str(&document)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            error.contains(expected) && error.contains("leases[0]"),
            "{lease}: {error}"
        );
    }
}

#[tokio::test]
async fn cancelling_a_running_task_releases_its_lease() {
    let emulator = start(busy_worker());
    let task = get_json(&emulator, "/api/tasks/ServerTasks-1").await;
    let cancel = task["Links"]["Cancel"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(cancel, "/api/tasks/ServerTasks-1/cancel");
    let reply = post(&emulator, &cancel, &json!({})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        (
            reply.json()["State"].clone(),
            reply.json()["IsCompleted"].clone()
        ),
        (json!("Canceled"), json!(true))
    );
    assert!(
        emulator.leases("Spaces-2").is_empty(),
        "the lease ended with its task"
    );
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn cancelling_through_the_space_routes_needs_the_task_space() {
    let emulator = start(busy_worker());
    // Another space's route does not reach the task.
    let elsewhere = post(
        &emulator,
        "/api/Spaces-1/tasks/ServerTasks-1/cancel",
        &json!({}),
    )
    .await;
    assert_eq!(elsewhere.status, 404);
    assert_eq!(emulator.leases("Spaces-2").len(), 1);
    let reply = post(
        &emulator,
        "/api/spaces/Spaces-2/tasks/ServerTasks-1/CANCEL",
        &json!({}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(emulator.leases("Spaces-2").is_empty());
}

#[tokio::test]
async fn cancelling_does_not_clear_an_orphaned_lease() {
    let emulator = start(
        Scenario::new().space(
            SpaceSeed::new("Default")
                .pool(TF_POOL)
                .worker(polling("stuck"))
                .lease(LeaseSeed::on("stuck").orphaned()),
        ),
    );
    let reply = post(&emulator, "/api/tasks/ServerTasks-1/cancel", &json!({})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["State"], "Canceled");
    assert_eq!(emulator.leases("Spaces-1").len(), 1, "still orphaned");
    assert_eq!(
        delete(&emulator, "/api/Spaces-1/workers/Workers-1")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn cancelling_needs_task_cancel() {
    let emulator = start(busy_worker());
    let key = "API-NOCANCEL000000000000000000001";
    emulator.add_scoped_key(octopus_emulator::ApiKeySeed::api_key(key).space(
        "Payments",
        octopus_emulator::Access::Only(vec![
            octopus_emulator::Permission::WorkerView,
            octopus_emulator::Permission::TaskView,
        ]),
    ));
    let refused = call_as(
        &emulator,
        key,
        Method::POST,
        "/api/tasks/ServerTasks-1/cancel",
        Some(&json!({})),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.json()["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.ends_with("Missing permission: TaskCancel"))
    );
    assert_eq!(emulator.leases("Spaces-2").len(), 1);
}

#[tokio::test]
async fn a_server_before_the_lease_endpoint_answers_404() {
    let emulator = start(busy_worker().without_worker_task_leases());
    assert_eq!(
        get(&emulator, "/api/Spaces-2/workertaskleases")
            .await
            .status,
        404
    );
    assert_eq!(
        get(&emulator, "/api/spaces/Spaces-2/workertaskleases")
            .await
            .status,
        404
    );
    // The lease still blocks the delete: the refusal is the only way to learn it.
    assert_eq!(
        delete(&emulator, "/api/Spaces-2/workers/Workers-1")
            .await
            .status,
        400
    );
}
