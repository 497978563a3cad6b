//! Machine policies: `MachinePolicy`, `MachinePolicyId` and `MachinePoliciesHandler`
//! (`/api/{space}/machinepolicies`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SpaceId, typed_id};
use crate::client::{Client, api_path};
use crate::error::ApiError;
use crate::page::null_as_default;

typed_id!(
    /// A machine policy id, `MachinePolicies-<n>`.
    MachinePolicyId
);

/// A machine policy (health checks, connectivity, clean-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachinePolicy {
    /// `MachinePolicies-<n>`.
    pub id: MachinePolicyId,
    /// Display name.
    pub name: String,
    /// Whether this is the space's default policy.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
    /// The owning space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
    /// Every other field, kept for round trips.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Operations on a space's machine policies; see [`Client::machine_policies`].
#[derive(Debug, Clone)]
pub struct MachinePoliciesHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> MachinePoliciesHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every policy of the space (`GET /api/{space}/machinepolicies/all`).
    pub fn all(
        &self,
    ) -> impl Future<Output = Result<Vec<MachinePolicy>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "machinepolicies", "all"]);
        async move { client.get_json(&path).await }
    }

    /// The space's default policy (`IsDefault`), if any.
    pub fn default_policy(
        &self,
    ) -> impl Future<Output = Result<Option<MachinePolicy>, ApiError>> + Send + use<'a> {
        let all = self.all();
        async move { Ok(all.await?.into_iter().find(|policy| policy.is_default)) }
    }
}
