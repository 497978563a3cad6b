//! Worker endpoint identity, for every kind of worker in one place: what kind of worker an
//! endpoint is ([`WorkerKind`], the one place that decides which kinds are shared) and what
//! makes two registrations the same machine ([`EndpointIdentity`]).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use crate::resources::Endpoint;

/// A worker's kind, from its endpoint's `CommunicationStyle` (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorkerKind {
    /// A polling Tentacle (`TentacleActive`): what the bootstrap script registers.
    PollingTentacle,
    /// A listening Tentacle (`TentaclePassive`).
    ListeningTentacle,
    /// An SSH target (`Ssh`).
    Ssh,
    /// A Kubernetes agent (`KubernetesTentacle`).
    KubernetesAgent,
    /// Any other communication style, as the server spelled it.
    Other(String),
    /// An endpoint without a communication style.
    Unknown,
}

impl WorkerKind {
    /// The kind of `endpoint`.
    pub fn of(endpoint: &Endpoint) -> WorkerKind {
        let Some(style) = endpoint.communication_style().map(str::trim) else {
            return WorkerKind::Unknown;
        };
        let known = [
            ("TentacleActive", WorkerKind::PollingTentacle),
            ("TentaclePassive", WorkerKind::ListeningTentacle),
            ("Ssh", WorkerKind::Ssh),
            ("KubernetesTentacle", WorkerKind::KubernetesAgent),
        ];
        known
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(style))
            .map_or_else(|| WorkerKind::Other(style.to_owned()), |(_, kind)| kind)
    }

    /// The `CommunicationStyle` Octopus gives this kind (`None` when unknown).
    pub fn communication_style(&self) -> Option<&str> {
        match self {
            WorkerKind::PollingTentacle => Some("TentacleActive"),
            WorkerKind::ListeningTentacle => Some("TentaclePassive"),
            WorkerKind::Ssh => Some("Ssh"),
            WorkerKind::KubernetesAgent => Some("KubernetesTentacle"),
            WorkerKind::Other(style) => Some(style),
            WorkerKind::Unknown => None,
        }
    }

    /// Whether workers of this kind are shared into other spaces (and, being shared, pruned
    /// from a target pool when they leave the source pool): polling and listening Tentacles,
    /// SSH workers and Kubernetes agents. One machine can be registered in several spaces for
    /// each of them; the per-space references they carry (a proxy, an SSH account, see
    /// [`EndpointReference`](super::EndpointReference)) are mapped by name. Other kinds
    /// (offline drops, cloud targets, styles this client does not know) are skipped.
    pub fn is_shared(&self) -> bool {
        matches!(
            self,
            WorkerKind::PollingTentacle
                | WorkerKind::ListeningTentacle
                | WorkerKind::Ssh
                | WorkerKind::KubernetesAgent
        )
    }

    /// Whether this is a polling Tentacle (what the bootstrap script registers).
    pub fn is_polling_tentacle(&self) -> bool {
        matches!(self, WorkerKind::PollingTentacle)
    }

    /// The endpoint fields that identify a machine of this kind (see [`EndpointIdentity`]), for
    /// messages; `None` for kinds without an identity.
    pub fn identity_fields(&self) -> Option<&'static str> {
        match self {
            WorkerKind::PollingTentacle | WorkerKind::ListeningTentacle => {
                Some("a Uri and a Thumbprint")
            }
            WorkerKind::Ssh => Some("a Host, a Port and a Fingerprint"),
            WorkerKind::KubernetesAgent => {
                Some("a Uri and a Thumbprint in its TentacleEndpointConfiguration")
            }
            WorkerKind::Other(_) | WorkerKind::Unknown => None,
        }
    }

    /// A short description for messages: `polling Tentacle`, `listening Tentacle`, `SSH
    /// worker`, `Kubernetes agent`, `OfflineDrop endpoint`, `endpoint of an unknown type`.
    pub fn describe(&self) -> String {
        match self {
            WorkerKind::PollingTentacle => "polling Tentacle".to_owned(),
            WorkerKind::ListeningTentacle => "listening Tentacle".to_owned(),
            WorkerKind::Ssh => "SSH worker".to_owned(),
            WorkerKind::KubernetesAgent => "Kubernetes agent".to_owned(),
            WorkerKind::Other(style) => format!("{style} endpoint"),
            WorkerKind::Unknown => "endpoint of an unknown type".to_owned(),
        }
    }
}

impl fmt::Display for WorkerKind {
    /// The communication style, or `of an unknown type`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.communication_style().unwrap_or("of an unknown type"))
    }
}

/// What makes two registrations of an endpoint the same machine, per kind:
///
/// - polling and listening Tentacles: the `Uri` and the certificate `Thumbprint`;
/// - SSH: `Host`, `Port` and the host key `Fingerprint`;
/// - Kubernetes agents: the `Uri` and `Thumbprint` of `TentacleEndpointConfiguration`.
///
/// Uris, thumbprints and hosts compare trimmed and ignoring ASCII case, a Uri's trailing `/`
/// optional; an SSH fingerprint compares trimmed but exactly (base64 fingerprints are
/// case-sensitive). Equality, ordering and hashing use those normalised values; `Display` shows
/// the values as the server sent them.
#[derive(Debug, Clone)]
pub struct EndpointIdentity {
    key: IdentityKey,
    shown: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum IdentityKey {
    Tentacle {
        uri: String,
        thumbprint: String,
    },
    Ssh {
        host: String,
        port: u64,
        fingerprint: String,
    },
    KubernetesAgent {
        uri: String,
        thumbprint: String,
    },
}

impl EndpointIdentity {
    /// The identity of `endpoint`; `None` for kinds without one, or when a field it needs is
    /// missing or blank.
    pub fn of(endpoint: &Endpoint) -> Option<EndpointIdentity> {
        let fields = endpoint.as_map();
        match WorkerKind::of(endpoint) {
            WorkerKind::PollingTentacle | WorkerKind::ListeningTentacle => {
                let (uri, thumbprint) = (text(fields.get("Uri"))?, text(fields.get("Thumbprint"))?);
                Some(EndpointIdentity {
                    key: IdentityKey::Tentacle {
                        uri: normal_uri(uri),
                        thumbprint: thumbprint.to_ascii_lowercase(),
                    },
                    shown: format!("{uri} (thumbprint {thumbprint})"),
                })
            }
            WorkerKind::Ssh => {
                let host = text(fields.get("Host"))?;
                let port = port(fields.get("Port"))?;
                let fingerprint = text(fields.get("Fingerprint"))?;
                Some(EndpointIdentity {
                    key: IdentityKey::Ssh {
                        host: host.to_ascii_lowercase(),
                        port,
                        fingerprint: fingerprint.to_owned(),
                    },
                    shown: format!("ssh {host}:{port} (fingerprint {fingerprint})"),
                })
            }
            WorkerKind::KubernetesAgent => {
                let tentacle = fields.get("TentacleEndpointConfiguration")?.as_object()?;
                let uri = text(tentacle.get("Uri"))?;
                let thumbprint = text(tentacle.get("Thumbprint"))?;
                Some(EndpointIdentity {
                    key: IdentityKey::KubernetesAgent {
                        uri: normal_uri(uri),
                        thumbprint: thumbprint.to_ascii_lowercase(),
                    },
                    shown: format!("{uri} (thumbprint {thumbprint})"),
                })
            }
            WorkerKind::Other(_) | WorkerKind::Unknown => None,
        }
    }

    /// Whether this identity holds the certificate `thumbprint` (trimmed, any case): a
    /// Tentacle's (polling or listening) or a Kubernetes agent's Tentacle configuration. SSH
    /// identities hold a host key fingerprint, never a thumbprint. One Tentacle instance has
    /// one certificate, so this finds every registration of that machine's Tentacle, whatever
    /// its Uri (as `Tentacle deregister-worker --multiple` does).
    pub fn has_thumbprint(&self, thumbprint: &str) -> bool {
        let wanted = thumbprint.trim();
        match &self.key {
            IdentityKey::Tentacle { thumbprint, .. }
            | IdentityKey::KubernetesAgent { thumbprint, .. } => {
                !wanted.is_empty() && thumbprint.eq_ignore_ascii_case(wanted)
            }
            IdentityKey::Ssh { .. } => false,
        }
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn port(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn normal_uri(uri: &str) -> String {
    uri.trim_end_matches('/').to_ascii_lowercase()
}

impl PartialEq for EndpointIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for EndpointIdentity {}

impl Hash for EndpointIdentity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for EndpointIdentity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EndpointIdentity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for EndpointIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint(value: Value) -> Endpoint {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn kinds_come_from_the_communication_style_in_any_case() {
        let kind = |style: &str| WorkerKind::of(&endpoint(json!({"CommunicationStyle": style})));
        assert_eq!(kind("TentacleActive"), WorkerKind::PollingTentacle);
        assert_eq!(kind("tentacleactive"), WorkerKind::PollingTentacle);
        assert_eq!(kind("TENTACLEPASSIVE"), WorkerKind::ListeningTentacle);
        assert_eq!(kind("ssh"), WorkerKind::Ssh);
        assert_eq!(kind("KubernetesTentacle"), WorkerKind::KubernetesAgent);
        assert_eq!(kind("OfflineDrop"), WorkerKind::Other("OfflineDrop".into()));
        assert_eq!(WorkerKind::of(&endpoint(json!({}))), WorkerKind::Unknown);
        assert!(kind("tentacleActive").is_shared());
        assert!(kind("TentaclePassive").is_shared());
        assert!(kind("Ssh").is_shared());
        assert!(kind("KubernetesTentacle").is_shared());
        assert!(!kind("OfflineDrop").is_shared());
        assert!(!WorkerKind::Unknown.is_shared());
        assert_eq!(kind("KubernetesTentacle").describe(), "Kubernetes agent");
        assert_eq!(kind("OfflineDrop").describe(), "OfflineDrop endpoint");
        assert_eq!(kind("ssh").to_string(), "Ssh");
        assert_eq!(WorkerKind::Unknown.to_string(), "of an unknown type");
    }

    #[test]
    fn tentacle_identity_ignores_case_and_the_trailing_slash() {
        let a = EndpointIdentity::of(&Endpoint::polling(
            "poll://abcdefghijklmnopqrst/",
            "8A9F3B6D",
        ))
        .unwrap();
        let b = EndpointIdentity::of(&endpoint(json!({
            "CommunicationStyle": "tentacleactive",
            "Uri": " POLL://ABCDEFGHIJKLMNOPQRST",
            "Thumbprint": "8a9f3b6d"
        })))
        .unwrap();
        let c = EndpointIdentity::of(&Endpoint::polling("poll://other/", "8A9F3B6D")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let set: std::collections::HashSet<_> = [a.clone(), b, c].into_iter().collect();
        assert_eq!(set.len(), 2);
        assert_eq!(
            a.to_string(),
            "poll://abcdefghijklmnopqrst/ (thumbprint 8A9F3B6D)"
        );
        let listening = EndpointIdentity::of(&endpoint(json!({
            "CommunicationStyle": "TentaclePassive",
            "Uri": "https://web-01:10933/",
            "Thumbprint": "T"
        })));
        assert!(listening.is_some());
    }

    #[test]
    fn an_identity_needs_every_field_it_is_made_of() {
        for value in [
            json!({"CommunicationStyle": "TentacleActive", "Uri": "poll://a/"}),
            json!({"CommunicationStyle": "TentacleActive", "Uri": " ", "Thumbprint": "T"}),
            json!({"CommunicationStyle": "Ssh", "Host": "box", "Fingerprint": "F"}),
            json!({"CommunicationStyle": "KubernetesTentacle"}),
            json!({"CommunicationStyle": "OfflineDrop", "Uri": "x", "Thumbprint": "T"}),
            json!({"Uri": "poll://a/", "Thumbprint": "T"}),
        ] {
            assert_eq!(
                EndpointIdentity::of(&endpoint(value.clone())),
                None,
                "{value}"
            );
        }
    }

    #[test]
    fn ssh_identity_is_host_port_and_exact_fingerprint() {
        let ssh = |host: &str, port: Value, fingerprint: &str| {
            EndpointIdentity::of(&endpoint(json!({
                "CommunicationStyle": "Ssh", "Host": host, "Port": port, "Fingerprint": fingerprint
            })))
            .unwrap()
        };
        let a = ssh("Box.example", json!(22), "SHA256:AbC");
        assert_eq!(a, ssh("box.EXAMPLE ", json!("22"), " SHA256:AbC"));
        assert_ne!(a, ssh("box.example", json!(2222), "SHA256:AbC"));
        assert_ne!(a, ssh("box.example", json!(22), "SHA256:abc"));
        assert_eq!(a.to_string(), "ssh Box.example:22 (fingerprint SHA256:AbC)");
    }

    #[test]
    fn kubernetes_agent_identity_is_its_tentacle_configuration() {
        let agent = |uri: &str, thumbprint: &str| {
            EndpointIdentity::of(&endpoint(json!({
                "CommunicationStyle": "KubernetesTentacle",
                "TentacleEndpointConfiguration": {
                    "CommunicationMode": "Polling", "Uri": uri, "Thumbprint": thumbprint
                }
            })))
            .unwrap()
        };
        assert_eq!(agent("poll://k8s/", "AB"), agent("POLL://K8S", "ab"));
        assert_ne!(
            agent("poll://k8s/", "AB"),
            EndpointIdentity::of(&Endpoint::polling("poll://k8s/", "AB")).unwrap(),
            "a Kubernetes agent is not the polling Tentacle with the same Uri"
        );
    }

    #[test]
    fn thumbprints_match_tentacles_and_kubernetes_agents_only() {
        let polling = EndpointIdentity::of(&Endpoint::polling("poll://a/", "8A9F3B6D")).unwrap();
        assert!(polling.has_thumbprint(" 8a9f3b6d "));
        assert!(!polling.has_thumbprint("8A9F3B6E"));
        assert!(!polling.has_thumbprint(" "));
        let agent = EndpointIdentity::of(&endpoint(json!({
            "CommunicationStyle": "KubernetesTentacle",
            "TentacleEndpointConfiguration": {"Uri": "poll://k8s/", "Thumbprint": "AB"}
        })))
        .unwrap();
        assert!(agent.has_thumbprint("ab"));
        let ssh = EndpointIdentity::of(&endpoint(json!({
            "CommunicationStyle": "Ssh", "Host": "box", "Port": 22, "Fingerprint": "AB"
        })))
        .unwrap();
        assert!(
            !ssh.has_thumbprint("AB"),
            "a fingerprint is not a thumbprint"
        );
    }
}
