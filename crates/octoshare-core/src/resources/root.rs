//! The `GET /api` root document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::page::deserialize_links;

/// The Octopus root document (`GET /api`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootDocument {
    /// `Octopus Deploy`.
    pub application: String,
    /// Server version, e.g. `2023.1.9626`.
    #[serde(default)]
    pub version: String,
    /// API version, `3.0.0` on every supported server.
    pub api_version: String,
    /// Installation id (a UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<String>,
    /// Links (URI templates) to the API's collections.
    #[serde(default, deserialize_with = "deserialize_links")]
    pub links: BTreeMap<String, String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
