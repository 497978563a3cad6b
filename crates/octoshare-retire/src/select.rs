//! Which registrations a retirement takes: the [`WorkerSelector`] and the pure matching of the
//! worker listings read (one per space) against it.

use std::collections::HashSet;
use std::fmt;

use octoshare_core::domain::{EndpointIdentity, NameMatch, SpaceRef, WorkerKind, find_by_name};
use octoshare_core::{Worker, WorkerId};
use serde::Serialize;

/// What to retire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerSelector {
    /// `--worker NAME`: the endpoint(s) that the worker named NAME (by the name rule) has in the
    /// spaces where a worker of that name is found. Every registration of those endpoints is
    /// retired, in every space, whatever its name there (names can differ per space). A worker
    /// of that name whose kind has no endpoint identity is retired in its own space only.
    Name(String),
    /// `--thumbprint THUMB` and `--this-machine`: every registration whose endpoint holds that
    /// certificate thumbprint (polling and listening Tentacles, Kubernetes agents), whatever
    /// its Uri: one Tentacle instance has one certificate.
    Thumbprint(String),
}

impl fmt::Display for WorkerSelector {
    /// `worker 'NAME'` or `thumbprint THUMB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerSelector::Name(name) => write!(f, "worker '{}'", name.trim()),
            WorkerSelector::Thumbprint(thumbprint) => write!(f, "thumbprint {}", thumbprint.trim()),
        }
    }
}

/// One registration of the endpoint: a worker record in one space.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Registration {
    /// The space.
    pub space: SpaceRef,
    /// `Workers-N` in that space.
    pub worker_id: WorkerId,
    /// Its name in that space.
    pub worker_name: String,
    /// Its endpoint's `CommunicationStyle` (`TentacleActive`, `Ssh`, ...).
    pub communication_style: String,
    /// The endpoint identity that matched (`poll://.../ (thumbprint ...)`), if its kind has one.
    pub endpoint: Option<String>,
    /// Whether it was already disabled when found.
    pub was_disabled: bool,
    /// The resource as read, sent back whole by the disabling PUT.
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) worker: Worker,
}

impl Registration {
    fn of(space: &SpaceRef, worker: &Worker) -> Registration {
        let kind = WorkerKind::of(&worker.endpoint);
        Registration {
            space: space.clone(),
            worker_id: worker.id.clone(),
            worker_name: worker.name.clone(),
            communication_style: kind.to_string(),
            endpoint: EndpointIdentity::of(&worker.endpoint).map(|identity| identity.to_string()),
            was_disabled: worker.is_disabled,
            worker: worker.clone(),
        }
    }
}

/// One space's worker listing.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) space: SpaceRef,
    pub(crate) workers: Vec<Worker>,
}

/// A space where the selector could not be applied (a name naming several workers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SelectionProblem {
    pub(crate) space: SpaceRef,
    pub(crate) message: String,
}

/// What the listings hold for the selector, in the listings' order.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    pub(crate) registrations: Vec<Registration>,
    pub(crate) problems: Vec<SelectionProblem>,
}

/// Applies the selector to every listing.
pub(crate) fn select(selector: &WorkerSelector, listings: &[Listing]) -> Selection {
    match selector {
        WorkerSelector::Thumbprint(thumbprint) => select_by(listings, |worker| {
            EndpointIdentity::of(&worker.endpoint)
                .is_some_and(|identity| identity.has_thumbprint(thumbprint))
        }),
        WorkerSelector::Name(name) => {
            let mut identities: HashSet<EndpointIdentity> = HashSet::new();
            let mut named_without_identity: HashSet<(String, WorkerId)> = HashSet::new();
            let mut problems = Vec::new();
            for listing in listings {
                match find_by_name(&listing.workers, name) {
                    NameMatch::Found(worker) => match EndpointIdentity::of(&worker.endpoint) {
                        Some(identity) => {
                            identities.insert(identity);
                        }
                        None => {
                            named_without_identity
                                .insert((listing.space.id.to_string(), worker.id.clone()));
                        }
                    },
                    NameMatch::Missing => {}
                    NameMatch::Ambiguous(candidates) => problems.push(SelectionProblem {
                        space: listing.space.clone(),
                        message: format!(
                            "{} names {} workers ignoring case and none exactly: {}: give the exact name",
                            name.trim(),
                            candidates.len(),
                            candidates
                                .iter()
                                .map(|worker| format!("'{}' ({})", worker.name, worker.id))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }),
                }
            }
            let problem_spaces: HashSet<&SpaceRef> =
                problems.iter().map(|problem| &problem.space).collect();
            let mut selection = Selection::default();
            for listing in listings {
                if problem_spaces.contains(&listing.space) {
                    continue;
                }
                for worker in &listing.workers {
                    let by_identity = EndpointIdentity::of(&worker.endpoint)
                        .is_some_and(|identity| identities.contains(&identity));
                    let by_name = named_without_identity
                        .contains(&(listing.space.id.to_string(), worker.id.clone()));
                    if by_identity || by_name {
                        selection
                            .registrations
                            .push(Registration::of(&listing.space, worker));
                    }
                }
            }
            selection.problems = problems;
            selection
        }
    }
}

fn select_by(listings: &[Listing], matches: impl Fn(&Worker) -> bool) -> Selection {
    let registrations = listings
        .iter()
        .flat_map(|listing| {
            listing
                .workers
                .iter()
                .filter(|worker| matches(worker))
                .map(|worker| Registration::of(&listing.space, worker))
        })
        .collect();
    Selection {
        registrations,
        problems: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn worker(id: &str, name: &str, endpoint: Value) -> Worker {
        serde_json::from_value(json!({
            "Id": id, "Name": name, "IsDisabled": false, "Endpoint": endpoint
        }))
        .unwrap()
    }

    fn polling(uri: &str, thumbprint: &str) -> Value {
        json!({"CommunicationStyle": "TentacleActive", "Uri": uri, "Thumbprint": thumbprint})
    }

    fn listing(id: &str, name: &str, workers: Vec<Worker>) -> Listing {
        Listing {
            space: SpaceRef::new(id, name),
            workers,
        }
    }

    fn found(selection: &Selection) -> Vec<(String, String)> {
        selection
            .registrations
            .iter()
            .map(|r| (r.space.id.to_string(), r.worker_id.to_string()))
            .collect()
    }

    fn fleet() -> Vec<Listing> {
        vec![
            listing(
                "Spaces-1",
                "Default",
                vec![
                    worker("Workers-1", "vm-1", polling("poll://aaaa/", "AB12")),
                    worker("Workers-2", "vm-2", polling("poll://bbbb/", "CD34")),
                ],
            ),
            listing(
                "Spaces-2",
                "Payments",
                // The same Tentacle under another name, and with a listening registration.
                vec![
                    worker("Workers-7", "payments-vm-1", polling("POLL://AAAA", "ab12")),
                    worker(
                        "Workers-8",
                        "vm-1-listening",
                        json!({"CommunicationStyle": "TentaclePassive", "Uri": "https://vm-1:10933/", "Thumbprint": "AB12"}),
                    ),
                ],
            ),
            listing(
                "Spaces-3",
                "Sandbox",
                vec![worker("Workers-9", "vm-2", polling("poll://bbbb/", "CD34"))],
            ),
        ]
    }

    #[test]
    fn a_name_means_the_endpoints_that_name_has_where_it_is_found() {
        let selection = select(&WorkerSelector::Name(" VM-1 ".into()), &fleet());
        assert_eq!(
            found(&selection),
            [
                ("Spaces-1".into(), "Workers-1".into()),
                ("Spaces-2".into(), "Workers-7".into())
            ],
            "the polling endpoint of vm-1 under any name; not the listening registration"
        );
        assert!(selection.problems.is_empty());
    }

    #[test]
    fn a_thumbprint_means_every_registration_of_that_certificate() {
        let selection = select(&WorkerSelector::Thumbprint("ab12".into()), &fleet());
        assert_eq!(
            found(&selection),
            [
                ("Spaces-1".into(), "Workers-1".into()),
                ("Spaces-2".into(), "Workers-7".into()),
                ("Spaces-2".into(), "Workers-8".into())
            ]
        );
        assert_eq!(
            selection.registrations[2].communication_style,
            "TentaclePassive"
        );
        assert!(
            select(&WorkerSelector::Thumbprint("FFFF".into()), &fleet())
                .registrations
                .is_empty()
        );
    }

    #[test]
    fn an_ambiguous_name_is_a_problem_in_its_space_only() {
        let mut listings = fleet();
        listings[2].workers.push(worker(
            "Workers-10",
            "VM-2",
            polling("poll://cccc/", "EF56"),
        ));
        let selection = select(&WorkerSelector::Name("Vm-2".into()), &listings);
        assert_eq!(selection.problems.len(), 1);
        assert_eq!(selection.problems[0].space.id.as_str(), "Spaces-3");
        assert!(
            selection.problems[0]
                .message
                .starts_with("Vm-2 names 2 workers ignoring case and none exactly"),
            "{}",
            selection.problems[0].message
        );
        assert_eq!(found(&selection), [("Spaces-1".into(), "Workers-2".into())]);
    }

    #[test]
    fn a_named_worker_without_an_identity_is_retired_where_it_is() {
        let listings = vec![
            listing(
                "Spaces-1",
                "Default",
                vec![worker(
                    "Workers-1",
                    "drop",
                    json!({"CommunicationStyle": "OfflineDrop"}),
                )],
            ),
            listing(
                "Spaces-2",
                "Payments",
                vec![worker(
                    "Workers-2",
                    "other",
                    json!({"CommunicationStyle": "OfflineDrop"}),
                )],
            ),
        ];
        let selection = select(&WorkerSelector::Name("drop".into()), &listings);
        assert_eq!(found(&selection), [("Spaces-1".into(), "Workers-1".into())]);
        assert_eq!(selection.registrations[0].endpoint, None);
    }

    #[test]
    fn selectors_describe_themselves() {
        assert_eq!(
            WorkerSelector::Name(" vm-1 ".into()).to_string(),
            "worker 'vm-1'"
        );
        assert_eq!(
            WorkerSelector::Thumbprint("AB12".into()).to_string(),
            "thumbprint AB12"
        );
    }
}
