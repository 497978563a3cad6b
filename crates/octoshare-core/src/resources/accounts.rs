//! Accounts: `Account`, `AccountId` and `AccountsHandler` (`/api/{space}/accounts`). An account
//! belongs to one space; an SSH endpoint names its credentials by `AccountId`.

use serde::{Deserialize, Serialize};

use super::{SpaceId, typed_id};
use crate::client::{Client, api_path};
use crate::error::ApiError;

typed_id!(
    /// An account id, `Accounts-<n>`.
    AccountId
);

/// An account, as far as octoshare needs it: Id, name and type (every other field, secrets
/// included, is ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// `Accounts-<n>`.
    pub id: AccountId,
    /// Display name (unique per space).
    pub name: String,
    /// `SshKeyPair`, `UsernamePassword`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// The owning space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
}

/// Operations on a space's accounts; see [`Client::accounts`].
#[derive(Debug, Clone)]
pub struct AccountsHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> AccountsHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every account of the space (`GET /api/{space}/accounts/all`).
    pub fn all(&self) -> impl Future<Output = Result<Vec<Account>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "accounts", "all"]);
        async move { client.get_json(&path).await }
    }
}
