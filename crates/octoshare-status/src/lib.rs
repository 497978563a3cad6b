//! The fleet's status: which worker of the source pool is registered in which other qualifying
//! space, as a worker × space matrix ([`StatusMatrix`]).
//!
//! Reading ([`read_fleet`]) takes discover's resolved targets and makes one
//! `GET /api/{spaceId}/workers/all` per qualifying space (the source space included), so a
//! status costs the space list and one pool list per space (discover) plus one request per
//! qualifying space. Building the matrix ([`build`]) is a pure function of what was read.
//!
//! # Cells
//!
//! | state | the space has ... | what share does |
//! |---|---|---|
//! | `Shared` | a registration with the source worker's endpoint identity in the pool | nothing |
//! | `NotInPool` | a registration with the identity, not in the pool | adds the pool (PUT) |
//! | `Stale` | no such registration, but one holding the worker's name | replaces its endpoint, or reports a conflict |
//! | `Missing` | neither | creates it (POST) |
//! | `Unknown` | (its workers could not be read) | — |
//!
//! Flags `Disabled` and `Unhealthy` (last health check `Unhealthy` or `Unavailable`) come from
//! the registration in the cell. Each space also lists its *orphans*: registrations in its pool,
//! of a kind that is shared, whose endpoint is not the source pool's and that no source worker
//! claims as `Stale` (a destroyed VM's registration, say).
//!
//! The matrix uses the domain's rules — [`octoshare_core::domain::WorkerKind::is_shared`]
//! (which kinds have rows), [`octoshare_core::domain::EndpointIdentity`] (what is the same
//! machine) and the name rule ([`octoshare_core::domain::names_match`]) — in the order share
//! decides in, so a cell says what share would do: after a share every cell is `Shared`.
//! [`StatusMatrix::drift`] is true when a cell is `Missing`, `NotInPool` or `Stale`, or a
//! space has an orphan.
//!
//! The library never prints and never names a flag.

mod matrix;
mod read;

pub use matrix::{
    Cell, CellState, Cells, FleetRead, Orphan, SkippedWorker, SpaceColumn, SpaceRead, StatusMatrix,
    StatusTotals, WorkerRow, build, is_unhealthy, kind_name,
};
pub use read::{StatusError, read_fleet};

#[cfg(test)]
mod tests;
