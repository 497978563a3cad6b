//! Spaces: `Space`, `SpaceId` and `SpacesHandler` (`/api/spaces`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::typed_id;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
