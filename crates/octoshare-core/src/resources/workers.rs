//! Workers: `Worker`, `WorkerId`, `Endpoint`, `HealthStatus`, `NewWorker` and `WorkersHandler`
//! (`/api/{space}/workers`). What kind of worker an endpoint is and what identifies it are the
//! domain's rules (`crate::domain::WorkerKind`, `crate::domain::EndpointIdentity`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{MachinePolicyId, SpaceId, WorkerPoolId, typed_id};
use crate::client::{Client, api_path};
use crate::error::ApiError;
use crate::page::null_as_default;

typed_id!(
    /// A worker id, `Workers-<n>`.
    WorkerId
);

/// A machine's health as Octopus reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    /// Healthy.
    Healthy,
    /// Healthy with warnings.
    HasWarnings,
    /// Reachable but unhealthy.
    Unhealthy,
    /// Not reachable.
    Unavailable,
    /// Not checked yet (also used when the field is missing or null).
    #[default]
    Unknown,
    /// A value this client does not know.
    Other(String),
}

impl HealthStatus {
    /// `Healthy` or `HasWarnings`.
    pub fn counts_as_healthy(&self) -> bool {
        matches!(self, Self::Healthy | Self::HasWarnings)
    }

    /// The Octopus spelling, e.g. `HasWarnings`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Healthy => "Healthy",
            Self::HasWarnings => "HasWarnings",
            Self::Unhealthy => "Unhealthy",
            Self::Unavailable => "Unavailable",
            Self::Unknown => "Unknown",
            Self::Other(other) => other,
        }
    }

    /// Parses the Octopus spelling (case-insensitive); unknown values become `Other`.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "healthy" => Self::Healthy,
            "haswarnings" => Self::HasWarnings,
            "unhealthy" => Self::Unhealthy,
            "unavailable" => Self::Unavailable,
            "unknown" => Self::Unknown,
            _ => Self::Other(text.to_owned()),
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HealthStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HealthStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?
            .map_or(Self::Unknown, |text| Self::parse(&text)))
    }
}

/// A machine endpoint, kept as the exact JSON object the server sent (every field, in order),
/// so copying it to another space or PUTting it back changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Endpoint(Map<String, Value>);

impl Endpoint {
    /// `CommunicationStyle`: `TentacleActive` (polling), `TentaclePassive` (listening), `Ssh`, ...
    pub fn communication_style(&self) -> Option<&str> {
        self.string_field("CommunicationStyle")
    }

    /// `Uri`: `poll://<subscription id>/` for polling Tentacles.
    pub fn uri(&self) -> Option<&str> {
        self.string_field("Uri")
    }

    /// `Thumbprint` of the Tentacle certificate.
    pub fn thumbprint(&self) -> Option<&str> {
        self.string_field("Thumbprint")
    }

    /// A minimal polling endpoint: `CommunicationStyle`, `Uri`, `Thumbprint`.
    pub fn polling(uri: &str, thumbprint: &str) -> Endpoint {
        let mut map = Map::new();
        map.insert(
            "CommunicationStyle".to_owned(),
            Value::from("TentacleActive"),
        );
        map.insert("Uri".to_owned(), Value::from(uri));
        map.insert("Thumbprint".to_owned(), Value::from(thumbprint));
        Endpoint(map)
    }

    /// The raw JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The raw JSON object, owned.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// Whether the endpoint has no fields at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn string_field(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
}

impl From<Map<String, Value>> for Endpoint {
    fn from(map: Map<String, Value>) -> Self {
        Endpoint(map)
    }
}

/// A worker as the server returns it. Unknown fields are kept in `extra`, so a PUT of a
/// modified worker sends back everything the server sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Worker {
    /// `Workers-<n>`.
    pub id: WorkerId,
    /// Display name (unique per space).
    pub name: String,
    /// The owning space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<SpaceId>,
    /// Pools the worker belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub worker_pool_ids: Vec<WorkerPoolId>,
    /// The worker's machine policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_policy_id: Option<MachinePolicyId>,
    /// Whether the worker is disabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_disabled: bool,
    /// Last known health.
    #[serde(default)]
    pub health_status: HealthStatus,
    /// The endpoint, exactly as sent by the server.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Endpoint::is_empty"
    )]
    pub endpoint: Endpoint,
    /// Every other field, kept for round trips.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /api/{space}/workers`: these six fields, `MachinePolicyId` left out when
/// `None` so that the server gives the worker the space's default policy (what Tentacle's own
/// `register-worker` does without `--policy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewWorker {
    /// Display name.
    pub name: String,
    /// The target space.
    pub space_id: SpaceId,
    /// Whether the worker starts disabled.
    pub is_disabled: bool,
    /// Pools to put the worker in.
    pub worker_pool_ids: Vec<WorkerPoolId>,
    /// The machine policy; `None`: the space's default, chosen by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_policy_id: Option<MachinePolicyId>,
    /// The endpoint (for sharing: the source worker's endpoint, unchanged).
    pub endpoint: Endpoint,
}

/// Operations on a space's workers; see [`Client::workers`].
#[derive(Debug, Clone)]
pub struct WorkersHandler<'a> {
    client: &'a Client,
    space: SpaceId,
}

impl<'a> WorkersHandler<'a> {
    pub(crate) fn new(client: &'a Client, space: SpaceId) -> Self {
        Self { client, space }
    }

    /// Every worker of the space (`GET /api/{space}/workers/all`).
    pub fn all(&self) -> impl Future<Output = Result<Vec<Worker>, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workers", "all"]);
        async move { client.get_json(&path).await }
    }

    /// One worker (`GET /api/{space}/workers/{id}`).
    pub fn get(
        &self,
        id: &WorkerId,
    ) -> impl Future<Output = Result<Worker, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workers", id.as_str()]);
        async move { client.get_json(&path).await }
    }

    /// Creates a worker (`POST /api/{space}/workers`). Never retried blindly: on an error with
    /// [`ApiError::outcome_unknown`], re-read the space before deciding to try again.
    pub fn create(
        &self,
        worker: &NewWorker,
    ) -> impl Future<Output = Result<Worker, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workers"]);
        let worker = worker.clone();
        async move { client.post_json(&path, &worker).await }
    }

    /// Replaces a worker with the full resource (`PUT /api/{space}/workers/{id}`).
    pub fn update(
        &self,
        worker: &Worker,
    ) -> impl Future<Output = Result<Worker, ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workers", worker.id.as_str()]);
        let worker = worker.clone();
        async move { client.put_json(&path, &worker).await }
    }

    /// Deletes a worker (`DELETE /api/{space}/workers/{id}`).
    pub fn delete(
        &self,
        id: &WorkerId,
    ) -> impl Future<Output = Result<(), ApiError>> + Send + use<'a> {
        let client = self.client;
        let path = api_path(&[self.space.as_str(), "workers", id.as_str()]);
        async move { client.delete(&path).await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_endpoint_serialises_its_three_fields() {
        let endpoint = Endpoint::polling("poll://abc/", "THUMB");
        assert_eq!(endpoint.communication_style(), Some("TentacleActive"));
        assert_eq!(
            serde_json::to_string(&endpoint).unwrap(),
            r#"{"CommunicationStyle":"TentacleActive","Uri":"poll://abc/","Thumbprint":"THUMB"}"#
        );
    }

    #[test]
    fn health_status_parses_known_and_unknown_values() {
        let statuses: Vec<HealthStatus> = serde_json::from_str(
            r#"["Healthy","HasWarnings","Unhealthy","Unavailable","Unknown",null,"Sleepy"]"#,
        )
        .unwrap();
        assert_eq!(
            statuses,
            vec![
                HealthStatus::Healthy,
                HealthStatus::HasWarnings,
                HealthStatus::Unhealthy,
                HealthStatus::Unavailable,
                HealthStatus::Unknown,
                HealthStatus::Unknown,
                HealthStatus::Other("Sleepy".into()),
            ]
        );
        assert!(HealthStatus::HasWarnings.counts_as_healthy());
        assert!(!HealthStatus::Unknown.counts_as_healthy());
        assert_eq!(
            serde_json::to_string(&HealthStatus::Other("X".into())).unwrap(),
            "\"X\""
        );
    }

    #[test]
    fn new_worker_posts_exactly_six_fields() {
        let worker = NewWorker {
            name: "w1".into(),
            space_id: "Spaces-2".into(),
            is_disabled: false,
            worker_pool_ids: vec!["WorkerPools-3".into()],
            machine_policy_id: Some("MachinePolicies-2".into()),
            endpoint: Endpoint::polling("poll://abc/", "T"),
        };
        let json = serde_json::to_value(&worker).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "Name",
                "SpaceId",
                "IsDisabled",
                "WorkerPoolIds",
                "MachinePolicyId",
                "Endpoint"
            ]
        );
        let server_default = NewWorker {
            machine_policy_id: None,
            ..worker
        };
        let json = serde_json::to_value(&server_default).unwrap();
        assert!(json.get("MachinePolicyId").is_none(), "{json}");
        assert_eq!(json.as_object().unwrap().len(), 5);
    }

    #[test]
    fn worker_tolerates_nulls_and_missing_fields() {
        let worker: Worker = serde_json::from_str(
            r#"{"Id":"Workers-1","Name":"w","WorkerPoolIds":null,"IsDisabled":null,"HealthStatus":null,"Endpoint":null,"Extra":1}"#,
        )
        .unwrap();
        assert!(worker.worker_pool_ids.is_empty());
        assert_eq!(worker.health_status, HealthStatus::Unknown);
        assert!(worker.endpoint.is_empty());
        assert_eq!(worker.extra["Extra"], 1);
    }
}
