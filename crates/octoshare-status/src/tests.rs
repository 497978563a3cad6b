//! Unit tests of the matrix: one per cell state, the flags, orphans, skipped source workers and
//! the JSON shape.

use super::*;
use octoshare_core::domain::{PoolRef, ResolvedTarget, SpaceRef};
use octoshare_core::{ApiError, Worker};
use serde_json::{Value, json};

const SOURCE_POOL: &str = "WorkerPools-1";
const TARGET_POOL: &str = "WorkerPools-20";

fn worker(id: &str, name: &str, pools: &[&str], endpoint: Value) -> Worker {
    serde_json::from_value(json!({
        "Id": id,
        "Name": name,
        "WorkerPoolIds": pools,
        "IsDisabled": false,
        "HealthStatus": "Healthy",
        "Endpoint": endpoint,
    }))
    .unwrap()
}

fn polling(uri: &str, thumbprint: &str) -> Value {
    json!({"CommunicationStyle": "TentacleActive", "Uri": uri, "Thumbprint": thumbprint})
}

fn source_target() -> ResolvedTarget {
    ResolvedTarget::new(
        SpaceRef::new("Spaces-1", "Default"),
        PoolRef::new(SOURCE_POOL, "Pool"),
    )
}

fn target(n: u32) -> ResolvedTarget {
    ResolvedTarget::new(
        SpaceRef::new(format!("Spaces-{n}"), format!("Team {n}")),
        PoolRef::new(TARGET_POOL, "pool"),
    )
}

fn source_workers() -> Vec<Worker> {
    vec![
        worker(
            "Workers-1",
            "alpha",
            &[SOURCE_POOL],
            polling("poll://alpha/", "AAAA"),
        ),
        worker(
            "Workers-2",
            "beta",
            &[SOURCE_POOL, "WorkerPools-9"],
            polling("poll://beta/", "BBBB"),
        ),
    ]
}

fn read(spaces: Vec<(ResolvedTarget, Result<Vec<Worker>, ApiError>)>) -> FleetRead {
    FleetRead {
        source: source_target(),
        source_workers: source_workers(),
        spaces: spaces
            .into_iter()
            .map(|(target, workers)| SpaceRead { target, workers })
            .collect(),
    }
}

fn state(matrix: &StatusMatrix, row: &str, space: &str) -> CellState {
    matrix
        .workers
        .iter()
        .find(|worker| worker.name == row)
        .unwrap()
        .cells
        .get(&space.into())
        .unwrap()
        .state
}

#[test]
fn the_same_identity_in_the_pool_is_shared_even_under_another_name() {
    let matrix = build(&read(vec![(
        target(2),
        Ok(vec![
            worker(
                "Workers-5",
                "ALPHA",
                &[TARGET_POOL],
                polling("POLL://ALPHA", "aaaa"),
            ),
            worker(
                "Workers-6",
                "beta-renamed",
                &[TARGET_POOL],
                polling("poll://beta/", "BBBB"),
            ),
        ]),
    )]));
    assert_eq!(state(&matrix, "alpha", "Spaces-2"), CellState::Shared);
    assert_eq!(state(&matrix, "beta", "Spaces-2"), CellState::Shared);
    let beta = matrix.workers[1].cells.get(&"Spaces-2".into()).unwrap();
    assert_eq!(beta.registered_as.as_deref(), Some("beta-renamed"));
    assert_eq!(beta.worker_id, Some("Workers-6".into()));
    assert!(!matrix.drift);
    assert_eq!(matrix.totals.shared, 2);
    assert!(!matrix.needs_share(true, true));
}

#[test]
fn nothing_with_the_endpoint_or_the_name_is_missing() {
    let matrix = build(&read(vec![(target(2), Ok(Vec::new()))]));
    assert_eq!(state(&matrix, "alpha", "Spaces-2"), CellState::Missing);
    let cell = matrix.workers[0].cells.get(&"Spaces-2".into()).unwrap();
    assert_eq!(cell.worker_id, None);
    assert_eq!(cell.health_status, None);
    assert!(matrix.drift);
    assert_eq!(matrix.totals.missing, 2);
    assert!(matrix.needs_share(false, false));
}

#[test]
fn the_identity_outside_the_pool_is_not_in_pool() {
    let matrix = build(&read(vec![(
        target(2),
        Ok(vec![
            worker(
                "Workers-5",
                "alpha",
                &["WorkerPools-30"],
                polling("poll://alpha/", "AAAA"),
            ),
            // An identity registered twice: the one in the pool decides.
            worker(
                "Workers-7",
                "beta",
                &["WorkerPools-30"],
                polling("poll://beta/", "BBBB"),
            ),
            worker(
                "Workers-8",
                "beta-2",
                &[TARGET_POOL],
                polling("poll://beta/", "BBBB"),
            ),
        ]),
    )]));
    assert_eq!(state(&matrix, "alpha", "Spaces-2"), CellState::NotInPool);
    assert_eq!(state(&matrix, "beta", "Spaces-2"), CellState::Shared);
    assert!(matrix.drift);
    assert!(matrix.needs_share(false, false));
}

#[test]
fn the_name_held_by_another_endpoint_is_stale() {
    let mut stale = worker(
        "Workers-5",
        " Alpha ",
        &[TARGET_POOL],
        polling("poll://alpha-old/", "OLD"),
    );
    stale.is_disabled = true;
    stale.health_status = octoshare_core::HealthStatus::Unavailable;
    let matrix = build(&read(vec![(target(2), Ok(vec![stale]))]));
    assert_eq!(state(&matrix, "alpha", "Spaces-2"), CellState::Stale);
    let cell = matrix.workers[0].cells.get(&"Spaces-2".into()).unwrap();
    assert!(cell.disabled && cell.unhealthy);
    assert_eq!(cell.health_status.as_deref(), Some("Unavailable"));
    // Claimed as stale, so not an orphan as well.
    assert!(matrix.spaces[0].orphans.is_empty());
    assert_eq!(matrix.totals.stale, 1);
    assert!(matrix.needs_share(true, false));
    let only_stale = StatusMatrix {
        totals: StatusTotals {
            stale: 1,
            ..StatusTotals::default()
        },
        ..matrix
    };
    assert!(
        !only_stale.needs_share(false, false),
        "skipped conflicts need no share"
    );
}

#[test]
fn an_unreadable_space_has_unknown_cells_and_its_error() {
    let matrix = build(&read(vec![
        (
            target(2),
            Err(ApiError::NotFound {
                what: "GET /api/Spaces-2/workers/all".to_owned(),
                message: "the space was deleted".to_owned(),
            }),
        ),
        (target(3), Ok(Vec::new())),
    ]));
    assert_eq!(state(&matrix, "alpha", "Spaces-2"), CellState::Unknown);
    assert_eq!(state(&matrix, "alpha", "Spaces-3"), CellState::Missing);
    assert!(matrix.spaces[0].error.is_some());
    assert!(matrix.has_unreadable_spaces());
    assert_eq!(matrix.totals.unknown, 2);
    assert_eq!(matrix.totals.missing, 2);
}

#[test]
fn flags_come_from_the_registration_in_the_space() {
    let mut registration = worker(
        "Workers-5",
        "alpha",
        &[TARGET_POOL],
        polling("poll://alpha/", "AAAA"),
    );
    registration.is_disabled = true;
    registration.health_status = octoshare_core::HealthStatus::Unhealthy;
    let mut unchecked = worker(
        "Workers-6",
        "beta",
        &[TARGET_POOL],
        polling("poll://beta/", "BBBB"),
    );
    unchecked.health_status = octoshare_core::HealthStatus::Unknown;
    let matrix = build(&read(vec![(target(2), Ok(vec![registration, unchecked]))]));
    let alpha = matrix.workers[0].cells.get(&"Spaces-2".into()).unwrap();
    assert_eq!(alpha.state, CellState::Shared);
    assert!(alpha.disabled && alpha.unhealthy);
    let beta = matrix.workers[1].cells.get(&"Spaces-2".into()).unwrap();
    assert!(
        !beta.disabled && !beta.unhealthy,
        "not checked yet is not unhealthy"
    );
    assert_eq!(matrix.totals.disabled, 1);
    assert_eq!(matrix.totals.unhealthy, 1);
    assert!(!matrix.drift, "flags are not drift");
}

#[test]
fn orphans_are_shared_kinds_in_the_pool_whose_endpoint_left_the_source() {
    let matrix = build(&read(vec![(
        target(2),
        Ok(vec![
            worker(
                "Workers-5",
                "alpha",
                &[TARGET_POOL],
                polling("poll://alpha/", "AAAA"),
            ),
            worker(
                "Workers-6",
                "beta",
                &[TARGET_POOL],
                polling("poll://beta/", "BBBB"),
            ),
            worker(
                "Workers-7",
                "gone",
                &[TARGET_POOL],
                polling("poll://gone/", "CCCC"),
            ),
            worker(
                "Workers-8",
                "gone-elsewhere",
                &["WorkerPools-30"],
                polling("poll://gone2/", "DDDD"),
            ),
            worker(
                "Workers-9",
                "drop-box",
                &[TARGET_POOL],
                json!({"CommunicationStyle": "OfflineDrop", "Uri": "x", "Thumbprint": "T"}),
            ),
        ]),
    )]));
    let orphans: Vec<&str> = matrix.spaces[0]
        .orphans
        .iter()
        .map(|orphan| orphan.name.as_str())
        .collect();
    assert_eq!(orphans, ["gone"]);
    assert_eq!(matrix.spaces[0].orphans[0].kind, "PollingTentacle");
    assert_eq!(matrix.totals.orphans, 1);
    assert!(matrix.drift);
    assert!(
        !matrix.needs_share(true, false),
        "orphans need a share only when pruning"
    );
    assert!(matrix.needs_share(true, true));
}

#[test]
fn source_workers_that_are_not_shared_have_no_row() {
    let mut fleet = read(vec![(target(2), Ok(Vec::new()))]);
    fleet.source_workers.extend([
        worker(
            "Workers-3",
            "drop-box",
            &[SOURCE_POOL],
            json!({"CommunicationStyle": "OfflineDrop", "Uri": "x", "Thumbprint": "T"}),
        ),
        worker(
            "Workers-4",
            "alpha-copy",
            &[SOURCE_POOL],
            polling("poll://alpha/", "aaaa"),
        ),
        worker(
            "Workers-10",
            "other-pool",
            &["WorkerPools-9"],
            polling("poll://x/", "X"),
        ),
        worker(
            "Workers-11",
            "no-thumbprint",
            &[SOURCE_POOL],
            json!({"CommunicationStyle": "TentacleActive", "Uri": "poll://n/"}),
        ),
    ]);
    let matrix = build(&fleet);
    let rows: Vec<&str> = matrix.workers.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(rows, ["alpha", "beta"]);
    let skipped: Vec<(&str, &str)> = matrix
        .skipped_workers
        .iter()
        .map(|skipped| (skipped.name.as_str(), skipped.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "alpha-copy",
                "it has the same endpoint as 'alpha', which is shared instead"
            ),
            ("drop-box", "workers of kind OfflineDrop are not shared"),
            (
                "no-thumbprint",
                "its endpoint lacks what identifies it (Uri and thumbprint)"
            ),
        ]
    );
}

#[test]
fn the_document_has_pascal_case_keys_and_cells_by_space_id() {
    let matrix = build(&read(vec![
        (target(2), Ok(Vec::new())),
        (target(10), Ok(Vec::new())),
    ]));
    let value = serde_json::to_value(&matrix).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "WorkerPoolName",
            "SourceSpace",
            "Spaces",
            "Workers",
            "SkippedWorkers",
            "Totals",
            "Drift"
        ]
    );
    let cells = value["Workers"][0]["Cells"].as_object().unwrap();
    let ids: Vec<&str> = cells.keys().map(String::as_str).collect();
    assert_eq!(ids, ["Spaces-2", "Spaces-10"], "the columns' order");
    assert_eq!(
        cells["Spaces-2"],
        json!({"State": "Missing", "Disabled": false, "Unhealthy": false, "WorkerId": null, "HealthStatus": null})
    );
    assert_eq!(value["Workers"][0]["Kind"], "PollingTentacle");
    assert_eq!(value["Totals"]["Missing"], 4);
    assert_eq!(value["Drift"], true);
}
