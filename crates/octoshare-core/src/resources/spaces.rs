//! Spaces: `Space`, `SpaceId` and `SpacesHandler` (`/api/spaces`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{names_match, typed_id};
use crate::client::{Client, api_path, first_page_path};
use crate::error::ApiError;
use crate::page::null_as_default;

typed_id!(
    /// A space id, `Spaces-<n>`.
    SpaceId
);

/// An Octopus space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Space {
    /// `Spaces-<n>`.
    pub id: SpaceId,
    /// Display name.
    pub name: String,
    /// URL slug (newer servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Whether this is the default space.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
    /// Whether the space's task queue is stopped.
    #[serde(default, deserialize_with = "null_as_default")]
    pub task_queue_stopped: bool,
    /// Every other field, kept for round trips.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Operations on spaces; see [`Client::spaces`].
#[derive(Debug, Clone, Copy)]
pub struct SpacesHandler<'a> {
    client: &'a Client,
}

impl<'a> SpacesHandler<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every space (`GET /api/spaces/all`), in the server's order.
    pub fn all(&self) -> impl Future<Output = Result<Vec<Space>, ApiError>> + Send + use<'a> {
        let client = self.client;
        async move { client.get_json(&api_path(&["spaces", "all"])).await }
    }

    /// Every space through the paged listing (`GET /api/spaces?skip=0&take=30` and `Page.Next`).
    pub fn list_paged(
        &self,
    ) -> impl Future<Output = Result<Vec<Space>, ApiError>> + Send + use<'a> {
        let client = self.client;
        async move { client.all_pages(&first_page_path(&["spaces"])).await }
    }

    /// One space by id (`GET /api/spaces/{id}`).
    pub fn get(
        &self,
        id: &SpaceId,
    ) -> impl Future<Output = Result<Space, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&["spaces", id.as_str()]);
        async move { client.get_json(&path).await }
    }

    /// Finds a space by id (`Spaces-<n>`) or by name (case-insensitive, whitespace-trimmed).
    ///
    /// An id that does not exist falls back to a name search. A miss is
    /// [`ApiError::NotFound`] naming the space and how many spaces were searched.
    pub fn resolve(
        &self,
        name_or_id: &str,
    ) -> impl Future<Output = Result<Space, ApiError>> + Send + use<'a> {
        let handler = *self;
        let wanted = name_or_id.trim().to_owned();
        async move {
            if let Some(id) = parse_space_id(&wanted) {
                match handler.get(&id).await {
                    Ok(space) => return Ok(space),
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err),
                }
            }
            let spaces = handler.all().await?;
            let n_spaces = spaces.len();
            spaces
                .into_iter()
                .find(|space| {
                    names_match(&space.name, &wanted) || space.id.as_str().eq_ignore_ascii_case(&wanted)
                })
                .ok_or_else(|| ApiError::NotFound {
                    what: format!("space '{wanted}'"),
                    message: format!(
                        "no space has this name or id among the {n_spaces} {} on {}: check the name (matched case-insensitively) or pass the space id (Spaces-N)",
                        if n_spaces == 1 { "space" } else { "spaces" },
                        handler.client.server()
                    ),
                })
        }
    }
}

/// `Spaces-<n>` (any case) as a canonical [`SpaceId`].
fn parse_space_id(text: &str) -> Option<SpaceId> {
    let prefix = text.get(..7)?;
    let number = &text[7..];
    (prefix.eq_ignore_ascii_case("spaces-")
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit()))
    .then(|| SpaceId::new(format!("Spaces-{number}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_ids_are_recognised() {
        assert_eq!(
            parse_space_id("Spaces-12"),
            Some(SpaceId::from("Spaces-12"))
        );
        assert_eq!(parse_space_id("spaces-3"), Some(SpaceId::from("Spaces-3")));
        assert_eq!(parse_space_id("Spaces-"), None);
        assert_eq!(parse_space_id("Spaces-1a"), None);
        assert_eq!(parse_space_id("Default"), None);
        assert_eq!(parse_space_id("Späces-1"), None);
    }

    #[test]
    fn space_fixture_deserializes_and_keeps_unknown_fields() {
        let space: Space = serde_json::from_str(
            r#"{"Id":"Spaces-1","Name":"Default","Slug":"default","IsDefault":true,"TaskQueueStopped":false,"Icon":null}"#,
        )
        .unwrap();
        assert_eq!(space.id.as_str(), "Spaces-1");
        assert!(space.is_default);
        assert!(space.extra.contains_key("Icon"));
    }
}
