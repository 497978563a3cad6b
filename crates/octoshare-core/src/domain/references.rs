//! The per-space resources a worker's endpoint refers to by Id: a proxy (listening Tentacles,
//! SSH workers, listening Kubernetes agents) and an account (SSH workers). Proxies and accounts
//! belong to one space, so an endpoint shared into another space must refer to that space's
//! proxy or account of the same name; these functions say where the references are and
//! rewrite them.
//!
//! Where each reference lives (OctopusClients' `ListeningTentacleEndpointResource`,
//! `SshEndpointResource`, `ListeningTentacleEndpointConfigurationResource`, all `[Writeable]`):
//!
//! | `CommunicationStyle` | proxy | account |
//! |---|---|---|
//! | `TentaclePassive` | `ProxyId` | — |
//! | `Ssh` | `ProxyId` | `AccountId` |
//! | `KubernetesTentacle` | `TentacleEndpointConfiguration.ProxyId` (listening mode) | — |
//!
//! Polling Tentacles and polling Kubernetes agents refer to nothing per space.

use std::fmt;

use serde_json::{Map, Value};

use super::WorkerKind;
use crate::resources::Endpoint;

/// What kind of per-space resource a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReferenceKind {
    /// A proxy (`ProxyId`, `/api/{space}/proxies`).
    Proxy,
    /// An account (`AccountId`, `/api/{space}/accounts`).
    Account,
}

impl ReferenceKind {
    /// `proxy` or `account`.
    pub fn noun(self) -> &'static str {
        match self {
            ReferenceKind::Proxy => "proxy",
            ReferenceKind::Account => "account",
        }
    }

    /// `proxies` or `accounts`.
    pub fn plural(self) -> &'static str {
        match self {
            ReferenceKind::Proxy => "proxies",
            ReferenceKind::Account => "accounts",
        }
    }

    /// `a proxy` or `an account`.
    pub fn with_article(self) -> &'static str {
        match self {
            ReferenceKind::Proxy => "a proxy",
            ReferenceKind::Account => "an account",
        }
    }

    /// The endpoint field holding the Id: `ProxyId` or `AccountId`.
    pub fn field(self) -> &'static str {
        match self {
            ReferenceKind::Proxy => "ProxyId",
            ReferenceKind::Account => "AccountId",
        }
    }
}

impl fmt::Display for ReferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// One reference an endpoint holds: the kind of resource and its Id in the endpoint's space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointReference {
    /// Proxy or account.
    pub kind: ReferenceKind,
    /// `Proxies-N` or `Accounts-N` as the endpoint holds it (trimmed).
    pub id: String,
}

/// The object holding `kind`'s field in an endpoint of this kind of worker, if it has one.
fn holder_path(kind: &WorkerKind, reference: ReferenceKind) -> Option<&'static [&'static str]> {
    match (kind, reference) {
        (WorkerKind::ListeningTentacle | WorkerKind::Ssh, ReferenceKind::Proxy) => Some(&[]),
        (WorkerKind::Ssh, ReferenceKind::Account) => Some(&[]),
        (WorkerKind::KubernetesAgent, ReferenceKind::Proxy) => {
            Some(&["TentacleEndpointConfiguration"])
        }
        _ => None,
    }
}

fn holder<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Map<String, Value>> {
    path.iter()
        .try_fold(map, |map, key| map.get(*key)?.as_object())
}

fn holder_mut<'a>(
    map: &'a mut Map<String, Value>,
    path: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    path.iter()
        .try_fold(map, |map, key| map.get_mut(*key)?.as_object_mut())
}

/// The proxy and account references of `endpoint` (proxy first), each only when it holds a
/// non-blank Id (`null` means "no proxy": a direct connection).
pub fn endpoint_references(endpoint: &Endpoint) -> Vec<EndpointReference> {
    let kind = WorkerKind::of(endpoint);
    [ReferenceKind::Proxy, ReferenceKind::Account]
        .into_iter()
        .filter_map(|reference| {
            let path = holder_path(&kind, reference)?;
            let id = holder(endpoint.as_map(), path)?
                .get(reference.field())?
                .as_str()?
                .trim();
            (!id.is_empty()).then(|| EndpointReference {
                kind: reference,
                id: id.to_owned(),
            })
        })
        .collect()
}

/// `endpoint` with its `kind` reference set to `id` (every other field kept, in order).
/// Unchanged when endpoints of its kind have no such reference.
pub fn with_reference(endpoint: &Endpoint, kind: ReferenceKind, id: &str) -> Endpoint {
    let Some(path) = holder_path(&WorkerKind::of(endpoint), kind) else {
        return endpoint.clone();
    };
    let mut map = endpoint.as_map().clone();
    if let Some(holder) = holder_mut(&mut map, path) {
        holder.insert(kind.field().to_owned(), Value::String(id.to_owned()));
    }
    Endpoint::from(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint(value: Value) -> Endpoint {
        serde_json::from_value(value).unwrap()
    }

    fn reference(kind: ReferenceKind, id: &str) -> EndpointReference {
        EndpointReference {
            kind,
            id: id.to_owned(),
        }
    }

    #[test]
    fn references_by_kind_of_endpoint() {
        let listening = endpoint(json!({
            "CommunicationStyle": "TentaclePassive", "Uri": "https://l:10933/", "Thumbprint": "T",
            "ProxyId": "Proxies-1"
        }));
        assert_eq!(
            endpoint_references(&listening),
            vec![reference(ReferenceKind::Proxy, "Proxies-1")]
        );
        let ssh = endpoint(json!({
            "CommunicationStyle": "Ssh", "AccountId": "Accounts-4", "Host": "h", "Port": 22,
            "Fingerprint": "F", "ProxyId": "Proxies-2"
        }));
        assert_eq!(
            endpoint_references(&ssh),
            vec![
                reference(ReferenceKind::Proxy, "Proxies-2"),
                reference(ReferenceKind::Account, "Accounts-4")
            ]
        );
        let agent = endpoint(json!({
            "CommunicationStyle": "KubernetesTentacle",
            "TentacleEndpointConfiguration": {"CommunicationMode": "Listening", "Uri": "https://k:10933/", "Thumbprint": "T", "ProxyId": "Proxies-3"}
        }));
        assert_eq!(
            endpoint_references(&agent),
            vec![reference(ReferenceKind::Proxy, "Proxies-3")]
        );
        for none in [
            json!({"CommunicationStyle": "TentaclePassive", "Uri": "u", "Thumbprint": "T", "ProxyId": null}),
            json!({"CommunicationStyle": "TentaclePassive", "Uri": "u", "Thumbprint": "T", "ProxyId": " "}),
            json!({"CommunicationStyle": "TentacleActive", "Uri": "u", "Thumbprint": "T", "ProxyId": "Proxies-1"}),
            json!({"CommunicationStyle": "OfflineDrop", "ProxyId": "Proxies-1"}),
        ] {
            assert!(
                endpoint_references(&endpoint(none.clone())).is_empty(),
                "{none}"
            );
        }
    }

    #[test]
    fn a_reference_is_rewritten_where_it_lives_keeping_every_other_field() {
        let ssh = endpoint(json!({
            "CommunicationStyle": "Ssh", "AccountId": "Accounts-4", "Host": "h", "Port": 22,
            "Fingerprint": "F", "ProxyId": null, "Future": 1
        }));
        let mapped = with_reference(&ssh, ReferenceKind::Account, "Accounts-9");
        assert_eq!(
            serde_json::to_value(&mapped).unwrap(),
            json!({"CommunicationStyle": "Ssh", "AccountId": "Accounts-9", "Host": "h", "Port": 22,
                   "Fingerprint": "F", "ProxyId": null, "Future": 1})
        );
        let agent = endpoint(json!({
            "CommunicationStyle": "KubernetesTentacle",
            "TentacleEndpointConfiguration": {"CommunicationMode": "Listening", "ProxyId": "Proxies-3"},
            "DefaultNamespace": "ns"
        }));
        let mapped = with_reference(&agent, ReferenceKind::Proxy, "Proxies-8");
        assert_eq!(
            mapped.as_map()["TentacleEndpointConfiguration"]["ProxyId"],
            "Proxies-8"
        );
        let polling = endpoint(json!({"CommunicationStyle": "TentacleActive", "Uri": "u"}));
        assert_eq!(
            with_reference(&polling, ReferenceKind::Proxy, "Proxies-1"),
            polling
        );
    }
}
