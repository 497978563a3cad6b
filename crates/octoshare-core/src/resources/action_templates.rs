//! Action (step) templates: `ActionTemplate`, `ActionTemplateId` and `ActionTemplatesHandler`
//! (`/api/{space}/actiontemplates`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SpaceId, typed_id};
use crate::client::{Client, api_path};
use crate::error::ApiError;

typed_id!(
    /// An action template id, `ActionTemplates-<n>` (a Library export carries a GUID instead).
    ActionTemplateId
);

/// A step template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionTemplate {
    /// `ActionTemplates-<n>`.
    pub id: ActionTemplateId,
    /// Template name (unique per space).
    pub name: String,
    /// Template version, bumped by the server on every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Every other field (`ActionType`, `Properties`, `Parameters`, ...), kept for round trips.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Operations on a space's step templates; see [`Client::action_templates`].
#[derive(Debug, Clone)]
pub struct ActionTemplatesHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> ActionTemplatesHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every template of the space (`GET /api/{space}/actiontemplates/all`).
    pub fn all(
        &self,
    ) -> impl Future<Output = Result<Vec<ActionTemplate>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "actiontemplates", "all"]);
        async move { client.get_json(&path).await }
    }

    /// Creates a template (`POST /api/{space}/actiontemplates`); never retried blindly.
    pub fn create(
        &self,
        template: &Value,
    ) -> impl Future<Output = Result<ActionTemplate, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "actiontemplates"]);
        let template = template.clone();
        async move { client.post_json(&path, &template).await }
    }

    /// Replaces a template (`PUT /api/{space}/actiontemplates/{id}`).
    pub fn update(
        &self,
        id: &ActionTemplateId,
        template: &Value,
    ) -> impl Future<Output = Result<ActionTemplate, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "actiontemplates", id.as_str()]);
        let template = template.clone();
        async move { client.put_json(&path, &template).await }
    }
}
