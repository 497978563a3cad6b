//! Reading what the matrix is built from: every worker of the source space and of each other
//! qualifying space, one `GET /api/{spaceId}/workers/all` each, at most `concurrency` at once.

use futures::StreamExt as _;
use octoshare_core::domain::ResolvedTarget;
use octoshare_core::{ApiError, Client};

use crate::matrix::{FleetRead, SpaceRead};

/// Why the matrix could not be read at all (a space that cannot be read is in the matrix
/// instead, with `Unknown` cells).
///
/// Not `#[non_exhaustive]` at the enum level on purpose: the command-line layer maps every
/// variant to an exit code with a `match` that has no wildcard.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// Reading the source space's workers failed.
    #[error("while listing the workers of {}", source.space)]
    ReadSourceWorkers {
        /// The source space and pool.
        source: ResolvedTarget,
        /// Why.
        #[source]
        error: Box<ApiError>,
    },
}

impl StatusError {
    /// The API error behind the failure.
    pub fn api_error(&self) -> &ApiError {
        match self {
            StatusError::ReadSourceWorkers { error, .. } => error,
        }
    }
}

/// Reads the source space's workers (`initial`, filtered to its pool when the matrix is built)
/// and every worker of each space of `remaining`, `concurrency` spaces at once (0 is read as 1),
/// one request per space; the spaces keep `remaining`'s order.
///
/// Fails only when the source space cannot be read; a space of `remaining` that cannot be read
/// is kept with its error.
pub async fn read_fleet(
    client: &Client,
    initial: &ResolvedTarget,
    remaining: &[ResolvedTarget],
    concurrency: usize,
) -> Result<FleetRead, StatusError> {
    let source_workers = client.workers(&initial.space.id);
    let read_source = source_workers.all();
    let read_others = futures::stream::iter(remaining.iter().enumerate())
        .map(|(index, target)| {
            let workers = client.workers(&target.space.id).all();
            async move { (index, workers.await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>();
    let (source, mut others) = futures::join!(read_source, read_others);
    let source_workers = source.map_err(|error| StatusError::ReadSourceWorkers {
        source: initial.clone(),
        error: Box::new(error),
    })?;
    others.sort_unstable_by_key(|(index, _)| *index);
    let spaces = others
        .into_iter()
        .map(|(index, workers)| SpaceRead {
            target: remaining[index].clone(),
            workers,
        })
        .collect();
    Ok(FleetRead {
        source: initial.clone(),
        source_workers,
        spaces,
    })
}
