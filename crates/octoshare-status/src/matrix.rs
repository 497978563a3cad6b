//! The worker × space matrix, built by a pure function from what was read ([`FleetRead`]):
//! one row per shared source worker, one cell per other qualifying space, each space's orphans,
//! the totals and whether anything drifted.

use std::collections::{BTreeMap, HashMap, HashSet};

use octoshare_core::domain::{EndpointIdentity, ResolvedTarget, SpaceRef, WorkerKind, names_match};
use octoshare_core::{ApiError, HealthStatus, SpaceId, Worker, WorkerId, WorkerPoolId};
use schemars::JsonSchema;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// What was read to build a matrix: the source pool's workers and, per other qualifying space,
/// its workers (or why they could not be read).
#[derive(Debug)]
pub struct FleetRead {
    /// The source space and pool.
    pub source: ResolvedTarget,
    /// The workers of the source pool (every kind, as read).
    pub source_workers: Vec<Worker>,
    /// The other qualifying spaces, in the server's order.
    pub spaces: Vec<SpaceRead>,
}

/// One other qualifying space as read.
#[derive(Debug)]
pub struct SpaceRead {
    /// The space and its pool.
    pub target: ResolvedTarget,
    /// Every worker of the space (every pool), or why they could not be read.
    pub workers: Result<Vec<Worker>, ApiError>,
}

impl FleetRead {
    /// The spaces whose workers could not be read, with the error.
    pub fn failures(&self) -> impl Iterator<Item = (&ResolvedTarget, &ApiError)> {
        self.spaces.iter().filter_map(|space| match &space.workers {
            Ok(_) => None,
            Err(error) => Some((&space.target, error)),
        })
    }
}

/// The state of one source worker in one space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
pub enum CellState {
    /// A registration with the same endpoint identity is in the space's pool.
    Shared,
    /// No registration has the endpoint or the name: share would create it.
    Missing,
    /// A registration has the endpoint but is not in the pool: share would add the pool.
    NotInPool,
    /// The name is taken by a registration with another endpoint (a re-created VM's old
    /// registration, say): share replaces its endpoint (`--on-conflict replace`) or reports it.
    Stale,
    /// The space's workers could not be read (its `Error` says why).
    Unknown,
}

impl CellState {
    /// Every state, in the order tables and metrics show them.
    pub const ALL: [CellState; 5] = [
        CellState::Shared,
        CellState::Missing,
        CellState::NotInPool,
        CellState::Stale,
        CellState::Unknown,
    ];

    /// Whether the cell is drift: something share would change.
    pub fn is_drift(self) -> bool {
        matches!(
            self,
            CellState::Missing | CellState::NotInPool | CellState::Stale
        )
    }

    /// The state as the JSON document spells it (`NotInPool`).
    pub fn name(self) -> &'static str {
        match self {
            CellState::Shared => "Shared",
            CellState::Missing => "Missing",
            CellState::NotInPool => "NotInPool",
            CellState::Stale => "Stale",
            CellState::Unknown => "Unknown",
        }
    }

    /// The state in words, as people read it (`not in pool`).
    pub fn label(self) -> &'static str {
        match self {
            CellState::Shared => "shared",
            CellState::Missing => "missing",
            CellState::NotInPool => "not in pool",
            CellState::Stale => "stale",
            CellState::Unknown => "unknown",
        }
    }

    /// The state as a metric label value (`not_in_pool`).
    pub fn snake_name(self) -> &'static str {
        match self {
            CellState::Shared => "shared",
            CellState::Missing => "missing",
            CellState::NotInPool => "not_in_pool",
            CellState::Stale => "stale",
            CellState::Unknown => "unknown",
        }
    }
}

/// One source worker in one space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Cell {
    /// The state.
    pub state: CellState,
    /// The registration in the space is disabled.
    pub disabled: bool,
    /// The registration in the space was found `Unhealthy` or `Unavailable` by its last health
    /// check.
    pub unhealthy: bool,
    /// The registration in the space (`Shared`, `NotInPool`: the one with the endpoint;
    /// `Stale`: the one holding the name); `null` when there is none.
    pub worker_id: Option<WorkerId>,
    /// The registration's `HealthStatus` (`Healthy`, `HasWarnings`, `Unhealthy`,
    /// `Unavailable`, `Unknown`); `null` when there is none.
    pub health_status: Option<String>,
    /// The registration's name when it differs from the source worker's (the same endpoint
    /// registered under another name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_as: Option<String>,
}

impl Cell {
    fn empty(state: CellState) -> Cell {
        Cell {
            state,
            disabled: false,
            unhealthy: false,
            worker_id: None,
            health_status: None,
            registered_as: None,
        }
    }

    fn of(state: CellState, registration: &Worker, source_name: &str) -> Cell {
        Cell {
            state,
            disabled: registration.is_disabled,
            unhealthy: is_unhealthy(&registration.health_status),
            worker_id: Some(registration.id.clone()),
            health_status: Some(registration.health_status.as_str().to_owned()),
            registered_as: (!names_match(&registration.name, source_name))
                .then(|| registration.name.clone()),
        }
    }
}

/// The cells of one row, by space Id, in the columns' order. Serialised as a JSON object
/// `{"Spaces-2": {...}, ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells(Vec<(SpaceId, Cell)>);

impl Cells {
    /// The cell of `space`.
    pub fn get(&self, space: &SpaceId) -> Option<&Cell> {
        self.0
            .iter()
            .find(|(id, _)| id == space)
            .map(|(_, cell)| cell)
    }

    /// Every cell with its space Id, in the columns' order.
    pub fn iter(&self) -> impl Iterator<Item = (&SpaceId, &Cell)> {
        self.0.iter().map(|(id, cell)| (id, cell))
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the row has no cell (no other qualifying space).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Cells {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, cell) in &self.0 {
            map.serialize_entry(id.as_str(), cell)?;
        }
        map.end()
    }
}

impl JsonSchema for Cells {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cells".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = BTreeMap::<String, Cell>::json_schema(generator);
        schema.insert(
            "description".to_owned(),
            "The row's cells by space Id (`Spaces-N`), one per other qualifying space.".into(),
        );
        schema
    }
}

/// One shared source worker and its cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerRow {
    /// The source worker's name.
    pub name: String,
    /// Its kind: `PollingTentacle`, `ListeningTentacle`, `Ssh`, `KubernetesAgent`, or the
    /// communication style of another kind.
    pub kind: String,
    /// Its Id in the source space.
    pub worker_id: WorkerId,
    /// The source registration is disabled.
    pub disabled: bool,
    /// The source registration's `HealthStatus`.
    pub health_status: String,
    /// One cell per other qualifying space, by space Id.
    pub cells: Cells,
}

/// A registration in a space's pool whose endpoint is not in the source pool (a destroyed VM,
/// say): `share --prune` deletes such polling Tentacles when they are not healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Orphan {
    /// The registration's name.
    pub name: String,
    /// Its Id in that space.
    pub worker_id: WorkerId,
    /// Its kind (see [`WorkerRow::kind`]).
    pub kind: String,
    /// Its `HealthStatus`.
    pub health_status: String,
    /// It is disabled.
    pub disabled: bool,
}

/// One other qualifying space (a column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SpaceColumn {
    /// `Spaces-N`.
    pub id: SpaceId,
    /// The space's name.
    pub name: String,
    /// The pool's Id in this space.
    pub worker_pool_id: WorkerPoolId,
    /// Registrations in the pool whose endpoint left the source pool.
    pub orphans: Vec<Orphan>,
    /// Why the space's workers could not be read (its cells are then `Unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A source worker that has no row: its kind is not shared, or another source worker with the
/// same endpoint is shared instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SkippedWorker {
    /// The source worker's name.
    pub name: String,
    /// Its Id in the source space.
    pub worker_id: WorkerId,
    /// Its kind (see [`WorkerRow::kind`]).
    pub kind: String,
    /// Why it has no row.
    pub reason: String,
}

/// Counts over the whole matrix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct StatusTotals {
    /// Cells in state `Shared`.
    pub shared: u64,
    /// Cells in state `Missing`.
    pub missing: u64,
    /// Cells in state `NotInPool`.
    pub not_in_pool: u64,
    /// Cells in state `Stale`.
    pub stale: u64,
    /// Cells in state `Unknown`.
    pub unknown: u64,
    /// Cells whose registration is disabled.
    pub disabled: u64,
    /// Cells whose registration is unhealthy or unavailable.
    pub unhealthy: u64,
    /// Orphans over every space.
    pub orphans: u64,
}

impl StatusTotals {
    /// The count of cells in `state`.
    pub fn of(&self, state: CellState) -> u64 {
        match state {
            CellState::Shared => self.shared,
            CellState::Missing => self.missing,
            CellState::NotInPool => self.not_in_pool,
            CellState::Stale => self.stale,
            CellState::Unknown => self.unknown,
        }
    }

    fn count(&mut self, cell: &Cell) {
        let counter = match cell.state {
            CellState::Shared => &mut self.shared,
            CellState::Missing => &mut self.missing,
            CellState::NotInPool => &mut self.not_in_pool,
            CellState::Stale => &mut self.stale,
            CellState::Unknown => &mut self.unknown,
        };
        *counter += 1;
        self.disabled += u64::from(cell.disabled);
        self.unhealthy += u64::from(cell.unhealthy);
    }

    /// Cells that are drift (`Missing`, `NotInPool`, `Stale`).
    pub fn drift_cells(&self) -> u64 {
        self.missing + self.not_in_pool + self.stale
    }
}

/// The fleet's matrix: which source worker is registered where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct StatusMatrix {
    /// The pool's name as the source space spells it.
    pub worker_pool_name: String,
    /// The space whose pool is the source of truth.
    pub source_space: SpaceRef,
    /// The other qualifying spaces (the columns), in the server's order.
    pub spaces: Vec<SpaceColumn>,
    /// The shared source workers (the rows), sorted by name.
    pub workers: Vec<WorkerRow>,
    /// Source workers without a row, and why.
    pub skipped_workers: Vec<SkippedWorker>,
    /// Counts by state.
    pub totals: StatusTotals,
    /// Whether anything differs from the source pool: a cell `Missing`, `NotInPool` or
    /// `Stale`, or an orphan.
    pub drift: bool,
}

impl StatusMatrix {
    /// Whether a share would change something: a cell `Missing` or `NotInPool`, a `Stale` one
    /// when stale registrations are replaced (`replace_stale`), or an orphan when pruning.
    pub fn needs_share(&self, replace_stale: bool, prune: bool) -> bool {
        self.totals.missing > 0
            || self.totals.not_in_pool > 0
            || (replace_stale && self.totals.stale > 0)
            || (prune && self.totals.orphans > 0)
    }

    /// Whether some space could not be read.
    pub fn has_unreadable_spaces(&self) -> bool {
        self.spaces.iter().any(|space| space.error.is_some())
    }
}

/// The kind of a worker as the matrix names it.
pub fn kind_name(kind: &WorkerKind) -> String {
    match kind {
        WorkerKind::PollingTentacle => "PollingTentacle".to_owned(),
        WorkerKind::ListeningTentacle => "ListeningTentacle".to_owned(),
        WorkerKind::Ssh => "Ssh".to_owned(),
        WorkerKind::KubernetesAgent => "KubernetesAgent".to_owned(),
        WorkerKind::Other(style) => style.clone(),
        WorkerKind::Unknown => "Unknown".to_owned(),
    }
}

/// Whether a health status counts as unhealthy for the matrix's flag: the last health check
/// found the machine `Unhealthy` or `Unavailable` (`Unknown`, not checked yet, does not).
pub fn is_unhealthy(health: &HealthStatus) -> bool {
    matches!(health, HealthStatus::Unhealthy | HealthStatus::Unavailable)
}

/// The identity of a registration of a kind the domain shares ([`WorkerKind::is_shared`]);
/// `None` for every other registration, which share never matches either.
fn shared_identity(worker: &Worker) -> Option<EndpointIdentity> {
    if !WorkerKind::of(&worker.endpoint).is_shared() {
        return None;
    }
    EndpointIdentity::of(&worker.endpoint)
}

/// A source worker that gets a row.
struct SourceRow<'a> {
    worker: &'a Worker,
    identity: EndpointIdentity,
}

/// Builds the matrix from what was read.
///
/// Rows are the source pool's workers of a shared kind with an endpoint identity, sorted by
/// name (case-insensitively, then Id); of several with one identity the first is the row and the
/// others are skipped, as share shares only the first. Per space, for each row, in this order
/// (the order share decides in):
///
/// 1. a registration with the row's identity in the pool → `Shared`; with the identity but in
///    none of its pools → `NotInPool`;
/// 2. else a registration holding the row's name (trimmed, case-insensitive) → `Stale`;
/// 3. else → `Missing`.
///
/// A space that could not be read has `Unknown` cells. A space's orphans are the
/// registrations in its pool of a shared kind whose identity is not the source pool's and that
/// no row claimed as `Stale`.
pub fn build(read: &FleetRead) -> StatusMatrix {
    let source_pool = &read.source.pool.id;
    let mut candidates: Vec<&Worker> = read
        .source_workers
        .iter()
        .filter(|worker| worker.worker_pool_ids.contains(source_pool))
        .collect();
    candidates.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut rows: Vec<SourceRow<'_>> = Vec::new();
    let mut owners: HashMap<EndpointIdentity, usize> = HashMap::new();
    let mut skipped_workers = Vec::new();
    for worker in candidates {
        let kind = WorkerKind::of(&worker.endpoint);
        let skip = |reason: String| SkippedWorker {
            name: worker.name.clone(),
            worker_id: worker.id.clone(),
            kind: kind_name(&kind),
            reason,
        };
        match shared_identity(worker) {
            None if !kind.is_shared() => skipped_workers.push(skip(format!(
                "workers of kind {} are not shared",
                kind_name(&kind)
            ))),
            None => skipped_workers.push(skip(
                "its endpoint lacks what identifies it (Uri and thumbprint)".to_owned(),
            )),
            Some(identity) => match owners.get(&identity) {
                Some(&owner) => skipped_workers.push(skip(format!(
                    "it has the same endpoint as '{}', which is shared instead",
                    rows[owner].worker.name
                ))),
                None => {
                    owners.insert(identity.clone(), rows.len());
                    rows.push(SourceRow { worker, identity });
                }
            },
        }
    }

    let mut spaces = Vec::with_capacity(read.spaces.len());
    let mut cells: Vec<Vec<(SpaceId, Cell)>> = vec![Vec::new(); rows.len()];
    for space in &read.spaces {
        let space_id = space.target.space.id.clone();
        let pool_id = &space.target.pool.id;
        let workers = match &space.workers {
            Ok(workers) => workers,
            Err(error) => {
                for row_cells in &mut cells {
                    row_cells.push((space_id.clone(), Cell::empty(CellState::Unknown)));
                }
                spaces.push(SpaceColumn {
                    id: space_id,
                    name: space.target.space.name.clone(),
                    worker_pool_id: pool_id.clone(),
                    orphans: Vec::new(),
                    error: Some(error.to_string()),
                });
                continue;
            }
        };
        let identities: Vec<Option<EndpointIdentity>> =
            workers.iter().map(shared_identity).collect();
        let mut claimed_stale: HashSet<&WorkerId> = HashSet::new();
        for (row, row_cells) in rows.iter().zip(&mut cells) {
            let cell = cell_for(row, workers, &identities, pool_id);
            if cell.state == CellState::Stale
                && let Some(id) = &cell.worker_id
                && let Some(worker) = workers.iter().find(|worker| &worker.id == id)
            {
                claimed_stale.insert(&worker.id);
            }
            row_cells.push((space_id.clone(), cell));
        }
        let orphans = workers
            .iter()
            .zip(&identities)
            .filter(|(worker, identity)| {
                worker.worker_pool_ids.contains(pool_id)
                    && identity
                        .as_ref()
                        .is_some_and(|identity| !owners.contains_key(identity))
                    && !claimed_stale.contains(&worker.id)
            })
            .map(|(worker, _)| Orphan {
                name: worker.name.clone(),
                worker_id: worker.id.clone(),
                kind: kind_name(&WorkerKind::of(&worker.endpoint)),
                health_status: worker.health_status.as_str().to_owned(),
                disabled: worker.is_disabled,
            })
            .collect();
        spaces.push(SpaceColumn {
            id: space_id,
            name: space.target.space.name.clone(),
            worker_pool_id: pool_id.clone(),
            orphans,
            error: None,
        });
    }

    let mut totals = StatusTotals::default();
    let workers: Vec<WorkerRow> = rows
        .iter()
        .zip(cells)
        .map(|(row, row_cells)| {
            for (_, cell) in &row_cells {
                totals.count(cell);
            }
            WorkerRow {
                name: row.worker.name.clone(),
                kind: kind_name(&WorkerKind::of(&row.worker.endpoint)),
                worker_id: row.worker.id.clone(),
                disabled: row.worker.is_disabled,
                health_status: row.worker.health_status.as_str().to_owned(),
                cells: Cells(row_cells),
            }
        })
        .collect();
    totals.orphans = spaces.iter().map(|space| space.orphans.len() as u64).sum();
    let drift = totals.drift_cells() > 0 || totals.orphans > 0;
    StatusMatrix {
        worker_pool_name: read.source.pool.name.clone(),
        source_space: read.source.space.clone(),
        spaces,
        workers,
        skipped_workers,
        totals,
        drift,
    }
}

/// The cell of one row in one readable space (see [`build`]).
fn cell_for(
    row: &SourceRow<'_>,
    workers: &[Worker],
    identities: &[Option<EndpointIdentity>],
    pool_id: &WorkerPoolId,
) -> Cell {
    let name = &row.worker.name;
    let mut same_identity: Vec<&Worker> = workers
        .iter()
        .zip(identities)
        .filter(|(_, identity)| identity.as_ref() == Some(&row.identity))
        .map(|(worker, _)| worker)
        .collect();
    // The registration share would pick: in the pool first, then the same name, then by Id.
    same_identity.sort_by_key(|worker| {
        (
            !worker.worker_pool_ids.contains(pool_id),
            !names_match(&worker.name, name),
            worker.id.clone(),
        )
    });
    if let Some(registration) = same_identity.first() {
        let state = if registration.worker_pool_ids.contains(pool_id) {
            CellState::Shared
        } else {
            CellState::NotInPool
        };
        return Cell::of(state, registration, name);
    }
    match workers
        .iter()
        .find(|worker| names_match(&worker.name, name))
    {
        Some(holder) => Cell::of(CellState::Stale, holder, name),
        None => Cell::empty(CellState::Missing),
    }
}
