//! The yardstick: the original runbook's request pattern ("Sharing workers across spaces",
//! Octopus blog), replayed with the octoshare-core client. Not product code.
//!
//! What it sends, one request at a time, exactly in the runbook's order:
//!
//! - **Get Space List**: `Get-OctopusItems /api/spaces` (pages of `?skip=N&take=30` while a page
//!   is full), then for every space in turn `Get-OctopusItems /api/{spaceId}/workerPools`; a
//!   space qualifies when it has a pool of that name (PowerShell `-contains`, case-insensitive);
//!   the first qualifying space is the initial one.
//! - **Add workers to remaining spaces**: `Get-OctopusItems` of the initial space's pools and of
//!   the pool's workers; then for every remaining space in turn: its pools, its machine
//!   policies (to find "Default Machine Policy"), and one `POST /api/{spaceId}/workers` per
//!   worker, one after another. A failed POST is a warning and the loop goes on.
//!
//! The POST body is the runbook's: `Name`, `MachinePolicyId`, `IsDisabled`, `HealthStatus`,
//! `HasLatestCalamari`, `IsInProcess = true`, the copied endpoint and `WorkerPoolIds`. The
//! runbook's PowerShell hashtable spells the endpoint key `EndPoint`; Octopus binds JSON names
//! case-insensitively, the emulator does not, so the key is sent as `Endpoint` (the same request
//! to Octopus).

use octoshare_core::{ApiError, Client, Page};
use serde_json::{Value, json};

/// The runbook's page size (Octopus's default `take`).
const RUNBOOK_PAGE_SIZE: u64 = 30;

/// The machine policy the runbook looks up by name in every space.
const DEFAULT_MACHINE_POLICY: &str = "Default Machine Policy";

/// What "Get Space List" found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookDiscovery {
    /// `InitialSpaceId`: the first space with the pool.
    pub initial_space_id: String,
    /// `RemainingSpaceIds`: the other spaces with the pool, in the server's order.
    pub remaining_space_ids: Vec<String>,
}

/// What "Add workers to remaining spaces" did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookShare {
    /// Workers read from the initial space's pool.
    pub source_workers: usize,
    /// POSTs that succeeded.
    pub created: usize,
    /// POSTs that failed (the runbook writes a warning and goes on).
    pub failed: usize,
    /// Remaining spaces without the pool (skipped silently by the runbook).
    pub spaces_without_pool: usize,
}

/// `Get-OctopusItems`: GET `{path}?skip=N&take=30`, following while the page is full.
async fn get_items(client: &Client, path: &str) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    let mut skip = 0;
    loop {
        let page: Page<Value> = client
            .get_json(&format!("{path}?skip={skip}&take={RUNBOOK_PAGE_SIZE}"))
            .await?;
        let on_page = page.items.len() as u64;
        let per_page = page.items_per_page.unwrap_or(RUNBOOK_PAGE_SIZE);
        items.extend(page.items);
        if on_page == 0 || on_page != per_page {
            return Ok(items);
        }
        skip += per_page;
    }
}

fn text<'a>(item: &'a Value, field: &str) -> &'a str {
    item.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// PowerShell's `-eq` on strings: case-insensitive.
fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn find_named<'a>(items: &'a [Value], name: &str) -> Option<&'a Value> {
    items
        .iter()
        .find(|item| same_name(text(item, "Name"), name))
}

/// Runbook step 1, "Get Space List". `Ok(None)` when no space has the pool.
pub async fn discover(client: &Client, pool: &str) -> Result<Option<RunbookDiscovery>, ApiError> {
    let spaces = get_items(client, "/api/spaces").await?;
    let mut found: Option<RunbookDiscovery> = None;
    for space in &spaces {
        let id = text(space, "Id");
        let pools = get_items(client, &format!("/api/{id}/workerPools")).await?;
        if find_named(&pools, pool).is_none() {
            continue;
        }
        match &mut found {
            None => {
                found = Some(RunbookDiscovery {
                    initial_space_id: id.to_owned(),
                    remaining_space_ids: Vec::new(),
                });
            }
            Some(found) => found.remaining_space_ids.push(id.to_owned()),
        }
    }
    Ok(found)
}

/// Runbook step 4, "Add workers to remaining spaces".
pub async fn share(
    client: &Client,
    discovery: &RunbookDiscovery,
    pool: &str,
) -> Result<RunbookShare, ApiError> {
    let initial = &discovery.initial_space_id;
    let initial_pools = get_items(client, &format!("/api/{initial}/workerPools")).await?;
    let workers = match find_named(&initial_pools, pool) {
        Some(initial_pool) => {
            let pool_id = text(initial_pool, "Id");
            get_items(
                client,
                &format!("/api/{initial}/workerPools/{pool_id}/workers"),
            )
            .await?
        }
        // The runbook would call `/workerPools//workers` and fail; nothing to share either way.
        None => Vec::new(),
    };
    let mut outcome = RunbookShare {
        source_workers: workers.len(),
        ..RunbookShare::default()
    };
    for space_id in &discovery.remaining_space_ids {
        let pools = get_items(client, &format!("/api/{space_id}/workerPools")).await?;
        let Some(target_pool) = find_named(&pools, pool) else {
            outcome.spaces_without_pool += 1;
            continue;
        };
        let policies = get_items(client, &format!("/api/{space_id}/machinepolicies")).await?;
        let policy_id = find_named(&policies, DEFAULT_MACHINE_POLICY)
            .map(|policy| policy["Id"].clone())
            .unwrap_or(Value::Null);
        for worker in &workers {
            let body = json!({
                "Name": worker["Name"],
                "MachinePolicyId": policy_id,
                "IsDisabled": worker["IsDisabled"],
                "HealthStatus": worker["HealthStatus"],
                "HasLatestCalamari": worker["HasLatestCalamari"],
                "IsInProcess": true,
                "Endpoint": worker["Endpoint"],
                "WorkerPoolIds": [target_pool["Id"]],
            });
            match client
                .post_json::<Value, Value>(&format!("/api/{space_id}/workers"), &body)
                .await
            {
                Ok(_) => outcome.created += 1,
                Err(_) => outcome.failed += 1,
            }
        }
    }
    Ok(outcome)
}
