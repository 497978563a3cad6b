//! Client-backed resolution: read the spaces or a space's pools, then apply the pure rules of
//! [`super::resolve_space`] and [`super::resolve_pool`].

use super::refs::{PoolRef, ResolvedTarget, SpaceRef};
use super::resolve::{ResolveError, parse_space_id, resolve_pool, resolve_space};
use crate::client::Client;
use crate::error::ApiError;
use crate::resources::SpaceId;

/// Why a space or pool could not be looked up: it does not resolve, or reading failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// What was read does not hold exactly one match.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Reading one space by Id failed.
    #[error("while reading space {id}")]
    ReadSpace {
        /// The space's Id.
        id: SpaceId,
        /// Why.
        #[source]
        error: ApiError,
    },
    /// Listing the spaces failed.
    #[error("while listing spaces")]
    ListSpaces(#[source] ApiError),
    /// Listing a space's worker pools failed.
    #[error("while listing the worker pools of {space}")]
    ListPools {
        /// The space.
        space: SpaceRef,
        /// Why.
        #[source]
        error: ApiError,
    },
}

impl LookupError {
    /// The API error behind the failure, if reading failed.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            LookupError::Resolve(_) => None,
            LookupError::ReadSpace { error, .. }
            | LookupError::ListSpaces(error)
            | LookupError::ListPools { error, .. } => Some(error),
        }
    }
}

/// The space `wanted` names (see [`super::resolve_space`]). An Id is read directly
/// (`GET /api/spaces/{id}`, one request); a name, or an Id that does not exist, is looked up in
/// `GET /api/spaces/all`.
pub async fn lookup_space(client: &Client, wanted: &str) -> Result<SpaceRef, LookupError> {
    if let Some(id) = parse_space_id(wanted) {
        match client.spaces().get(&id).await {
            Ok(space) => return Ok(SpaceRef::from(&space)),
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(LookupError::ReadSpace { id, error }),
        }
    }
    let spaces = client
        .spaces()
        .all()
        .await
        .map_err(LookupError::ListSpaces)?;
    Ok(SpaceRef::from(resolve_space(&spaces, wanted)?))
}

/// The pool of `space` named `wanted` (see [`super::resolve_pool`]), from
/// `GET /api/{space}/workerpools/all`.
pub async fn lookup_pool(
    client: &Client,
    space: &SpaceRef,
    wanted: &str,
) -> Result<PoolRef, LookupError> {
    let pools = client
        .worker_pools(&space.id)
        .all_summaries()
        .await
        .map_err(|error| LookupError::ListPools {
            space: space.clone(),
            error,
        })?;
    Ok(PoolRef::from(resolve_pool(space, &pools, wanted)?))
}

/// The space and its pool, looked up by [`lookup_space`] then [`lookup_pool`].
pub async fn lookup_target(
    client: &Client,
    space: &str,
    pool: &str,
) -> Result<ResolvedTarget, LookupError> {
    let space = lookup_space(client, space).await?;
    let pool = lookup_pool(client, &space, pool).await?;
    Ok(ResolvedTarget::new(space, pool))
}
