//! Spaces: `/api/spaces` (paged), `/api/spaces/all`, `/api/spaces/{id}`, `POST /api/spaces`
//! and `/api/users/{id}/spaces`.
//!
//! A key sees the spaces it has some access in; one with the `SpaceView` system permission
//! sees every space. Evidence: pushing to a space the user has no permissions in fails with
//! "Cannot find the space with name" rather than a permission error
//! (<https://github.com/OctopusDeploy/Issues/issues/5320>), and the CLI resolving `--space`
//! through `/api/spaces` says "Please check the spelling and that you have permissions to view
//! it" (`OctopusDeploy/OctopusCLI: source/Octopus.Cli/Infrastructure/CouldNotFindException.cs`).

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::Value;

use crate::access::Grant;
use crate::error::ApiError;
use crate::query::Query;
use crate::routes::{Answer, Shared, created, name_filter, object_body, ok, paged};

const SPACE_PARAMETERS: &[&str] = &["skip", "ids", "take", "partialName", "name"];

pub(crate) async fn list(
    State(app): Shared,
    Extension(grant): Extension<Grant>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let spaces = app
        .store()
        .spaces(&name_filter(&query), |name| grant.sees_space(name));
    paged(
        "Space",
        "/api/spaces".into(),
        SPACE_PARAMETERS,
        &query,
        spaces,
    )
}

pub(crate) async fn all(
    State(app): Shared,
    Extension(grant): Extension<Grant>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    ok(&Value::Array(
        app.store()
            .spaces(&name_filter(&query), |name| grant.sees_space(name)),
    ))
}

pub(crate) async fn get_one(State(app): Shared, Path(id): Path<String>) -> Answer {
    ok(&app.store().space_json(&id)?)
}

/// `POST /api/spaces` (needs `SpaceCreate`): 201 with the new space.
pub(crate) async fn create(
    State(app): Shared,
    Extension(grant): Extension<Grant>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    created(&app.store().create_space(&body, &grant.username)?)
}

/// `/api/users/{id}/spaces`: the spaces the user has some access in ("Get a list of spaces
/// available to the current authenticated user only", generated `spaces.md`). Only the
/// caller's own id (or `me`) is answered.
pub(crate) async fn user_spaces(
    State(app): Shared,
    Extension(grant): Extension<Grant>,
    Path(id): Path<String>,
) -> Answer {
    if !id.eq_ignore_ascii_case(&grant.user_id) && !id.eq_ignore_ascii_case("me") {
        return Err(ApiError::not_found(&id));
    }
    let store = app.store();
    let spaces = store.spaces(&Default::default(), |name| grant.access_in(name).any());
    ok(&Value::Array(spaces))
}
