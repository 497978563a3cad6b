//! What only some writes need, read when such a write is about to be sent and at most once per
//! space: a target space's machine policies (for a create), and the proxies and accounts of the
//! source and target spaces (to map a copied endpoint's `ProxyId`/`AccountId` by name).
//!
//! Each list sits in a [`tokio::sync::OnceCell`]: the steps of a space run concurrently, the
//! first one that needs a list reads it and the others wait for that same read. A space whose
//! plan needs no create and no copied endpoint reads none of them, so a re-run that changes
//! nothing makes only the reads a decision needs (its workers, and its pools when they are not
//! known yet).

use crate::apply::Runner;
use crate::plan::choose_policy;
use crate::report::{FailureKind, SpaceFailure, WorkerFailure};
use octoshare_core::domain::{
    NameMatch, Named, PermissionRefusal, ReferenceKind, endpoint_references, find_by_name,
    with_reference,
};
use octoshare_core::{ApiError, Endpoint, MachinePolicy, MachinePolicyId, SpaceId};
use tokio::sync::OnceCell;

/// A read that failed, kept so every step needing it reports the same failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadFailure {
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
    pub(crate) permission: Option<String>,
}

impl ReadFailure {
    fn of(error: &ApiError) -> ReadFailure {
        ReadFailure {
            kind: FailureKind::of(error),
            message: error.to_string(),
            permission: PermissionRefusal::of(error).map(|refusal| refusal.permission.to_string()),
        }
    }
}

/// A proxy or account: its Id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedItem {
    id: String,
    name: String,
}

impl Named for NamedItem {
    fn name(&self) -> &str {
        &self.name
    }
}

type Listing<T> = OnceCell<Result<Vec<T>, ReadFailure>>;

/// A space's proxies and accounts, each read at most once.
#[derive(Debug, Default)]
struct References {
    proxies: Listing<NamedItem>,
    accounts: Listing<NamedItem>,
}

impl References {
    /// The space's proxies or accounts, read on first use (`/proxies/all`, `/accounts/all`).
    async fn list(
        &self,
        runner: &Runner<'_>,
        space: &SpaceId,
        kind: ReferenceKind,
    ) -> Result<Vec<NamedItem>, ReadFailure> {
        let cell = match kind {
            ReferenceKind::Proxy => &self.proxies,
            ReferenceKind::Account => &self.accounts,
        };
        cell.get_or_init(|| async {
            let client = runner.client;
            let read =
                match kind {
                    ReferenceKind::Proxy => {
                        runner
                            .limited(client.proxies(space).all())
                            .await
                            .map(|proxies| {
                                proxies
                                    .into_iter()
                                    .map(|proxy| NamedItem {
                                        id: proxy.id.into_string(),
                                        name: proxy.name,
                                    })
                                    .collect()
                            })
                    }
                    ReferenceKind::Account => runner
                        .limited(client.accounts(space).all())
                        .await
                        .map(|accounts| {
                            accounts
                                .into_iter()
                                .map(|account| NamedItem {
                                    id: account.id.into_string(),
                                    name: account.name,
                                })
                                .collect()
                        }),
                };
            read.map_err(|error| ReadFailure::of(&error))
        })
        .await
        .clone()
    }
}

/// The source space's proxies and accounts, shared by every target space.
#[derive(Debug)]
pub(crate) struct SourceLookups {
    space: SpaceId,
    references: References,
}

impl SourceLookups {
    /// Nothing read yet for `space`.
    pub(crate) fn new(space: SpaceId) -> SourceLookups {
        SourceLookups {
            space,
            references: References::default(),
        }
    }
}

/// One target space's machine policies, proxies and accounts, each read at most once.
#[derive(Debug)]
pub(crate) struct SpaceLookups {
    space: SpaceId,
    policies: Listing<MachinePolicy>,
    references: References,
}

impl SpaceLookups {
    /// Nothing read yet for `space`.
    pub(crate) fn new(space: SpaceId) -> SpaceLookups {
        SpaceLookups {
            space,
            policies: OnceCell::new(),
            references: References::default(),
        }
    }

    /// The machine policy of created workers: `None` (the space's default, given by the
    /// server) unless `--machine-policy` names one; then the space's policies are read on first
    /// use (`/machinepolicies/all`) and the name chosen among them ([`choose_policy`]). A read
    /// that fails, or a name the space lacks, is a problem of the whole space.
    pub(crate) async fn policy(
        &self,
        runner: &Runner<'_>,
    ) -> Result<Option<MachinePolicyId>, SpaceFailure> {
        let Some(name) = runner.machine_policy else {
            return Ok(None);
        };
        let policies = self
            .policies
            .get_or_init(|| async {
                runner
                    .limited(runner.client.machine_policies(&self.space).all())
                    .await
                    .map_err(|error| ReadFailure::of(&error))
            })
            .await;
        match policies {
            Ok(policies) => choose_policy(policies, name).map(Some),
            Err(failure) => Err(SpaceFailure::Unreadable {
                kind: failure.kind,
                message: failure.message.clone(),
                permission: failure.permission.clone(),
            }),
        }
    }

    /// `endpoint` (a source worker's) with each proxy and account reference replaced by the
    /// Id of this space's proxy or account of the same name (the name rule). Reads the source
    /// space's and this space's lists on first use; an endpoint without references reads
    /// nothing. Fails, for this worker only, when a name has no match (or several) here.
    pub(crate) async fn mapped_endpoint(
        &self,
        runner: &Runner<'_>,
        endpoint: &Endpoint,
    ) -> Result<Endpoint, WorkerFailure> {
        let mut mapped = endpoint.clone();
        for reference in endpoint_references(endpoint) {
            let kind = reference.kind;
            let unreadable =
                |in_source: bool, failure: ReadFailure| WorkerFailure::ReferencesUnreadable {
                    reference: kind,
                    in_source,
                    kind: failure.kind,
                    message: failure.message,
                    permission: failure.permission,
                };
            let source = &runner.source_lookups;
            let source_items = source
                .references
                .list(runner, &source.space, kind)
                .await
                .map_err(|failure| unreadable(true, failure))?;
            let name = source_items
                .iter()
                .find(|item| item.id.eq_ignore_ascii_case(&reference.id))
                .map(|item| item.name.clone())
                .ok_or_else(|| WorkerFailure::SourceReferenceNotFound {
                    reference: kind,
                    id: reference.id.clone(),
                })?;
            let target_items = self
                .references
                .list(runner, &self.space, kind)
                .await
                .map_err(|failure| unreadable(false, failure))?;
            let id = match find_by_name(&target_items, &name) {
                NameMatch::Found(item) => item.id.clone(),
                NameMatch::Missing => {
                    return Err(WorkerFailure::ReferenceNotFound {
                        reference: kind,
                        name,
                        available: target_items.iter().map(|item| item.name.clone()).collect(),
                    });
                }
                NameMatch::Ambiguous(candidates) => {
                    return Err(WorkerFailure::AmbiguousReference {
                        reference: kind,
                        name,
                        candidates: candidates.iter().map(|item| item.name.clone()).collect(),
                    });
                }
            };
            mapped = with_reference(&mapped, kind, &id);
        }
        Ok(mapped)
    }
}
