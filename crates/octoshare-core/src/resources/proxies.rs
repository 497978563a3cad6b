//! Proxies: `Proxy`, `ProxyId` and `ProxiesHandler` (`/api/{space}/proxies`). A proxy belongs
//! to one space; a listening Tentacle or SSH endpoint names one by `ProxyId`.

use serde::{Deserialize, Serialize};

use super::{SpaceId, typed_id};
use crate::client::{Client, api_path};
use crate::error::ApiError;

typed_id!(
    /// A proxy id, `Proxies-<n>`.
    ProxyId
);

/// A proxy, as far as octoshare needs it: Id and name (every other field is ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Proxy {
    /// `Proxies-<n>`.
    pub id: ProxyId,
    /// Display name (unique per space).
    pub name: String,
    /// The owning space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
}

/// Operations on a space's proxies; see [`Client::proxies`].
#[derive(Debug, Clone)]
pub struct ProxiesHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> ProxiesHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every proxy of the space (`GET /api/{space}/proxies/all`).
    pub fn all(&self) -> impl Future<Output = Result<Vec<Proxy>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "proxies", "all"]);
        async move { client.get_json(&path).await }
    }
}
