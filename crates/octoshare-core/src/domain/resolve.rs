//! Resolution of a space given by name or Id, and of a pool given by name, from lists already
//! read: pure functions, so every rule is unit-tested and every step gets the same answer.

use std::fmt;

use super::names::{NameMatch, Named, find_by_name};
use super::refs::{PoolRef, SpaceRef};
use crate::resources::{Space, SpaceId};

/// A space or pool that a name or Id does not resolve to exactly one of.
///
/// Every variant is "the named thing is not there (or not unambiguously)": the caller fixes the
/// name. Messages name what was looked for and what there is, never a command-line flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No space has this Id or name.
    #[error("no space has the name or Id '{wanted}' ({searched} {} searched)", plural(*searched, "space"))]
    SpaceNotFound {
        /// The name or Id as given (trimmed).
        wanted: String,
        /// How many spaces were searched.
        searched: usize,
    },
    /// Several spaces match the name ignoring case, and not exactly one matches exactly.
    #[error(
        "'{wanted}' names {} spaces ignoring case and none exactly: {}: give the exact name or the space's Id",
        candidates.len(),
        join(candidates)
    )]
    AmbiguousSpace {
        /// The name as given (trimmed).
        wanted: String,
        /// Every space matching ignoring case.
        candidates: Vec<SpaceRef>,
    },
    /// The space has no pool with this name.
    #[error(
        "{space} has no worker pool named '{wanted}' (pools there: {})",
        names_or_none(available)
    )]
    PoolNotFound {
        /// The space searched.
        space: SpaceRef,
        /// The pool name as given (trimmed).
        wanted: String,
        /// The names of the space's pools.
        available: Vec<String>,
    },
    /// Several pools of the space match the name ignoring case, and not exactly one matches
    /// exactly.
    #[error(
        "{space} has {} worker pools named '{wanted}' ignoring case and none exactly: {}: give the exact name",
        candidates.len(),
        join(candidates)
    )]
    AmbiguousPool {
        /// The space searched.
        space: SpaceRef,
        /// The pool name as given (trimmed).
        wanted: String,
        /// Every pool matching ignoring case.
        candidates: Vec<PoolRef>,
    },
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        noun.to_owned()
    } else {
        format!("{noun}s")
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn names_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|name| format!("'{name}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `Spaces-<n>` (any case, surrounding whitespace ignored) as a canonical [`SpaceId`].
pub fn parse_space_id(text: &str) -> Option<SpaceId> {
    let text = text.trim();
    let prefix = text.get(..7)?;
    let number = &text[7..];
    (prefix.eq_ignore_ascii_case("spaces-")
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit()))
    .then(|| SpaceId::new(format!("Spaces-{number}")))
}

/// The space `wanted` names: the space with that Id (`Spaces-N`, any case) if there is one,
/// else the space with that name by the name rule.
pub fn resolve_space<'a>(spaces: &'a [Space], wanted: &str) -> Result<&'a Space, ResolveError> {
    let wanted = wanted.trim();
    if let Some(id) = parse_space_id(wanted)
        && let Some(space) = spaces.iter().find(|space| space.id == id)
    {
        return Ok(space);
    }
    match find_by_name(spaces, wanted) {
        NameMatch::Found(space) => Ok(space),
        NameMatch::Missing => Err(ResolveError::SpaceNotFound {
            wanted: wanted.to_owned(),
            searched: spaces.len(),
        }),
        NameMatch::Ambiguous(candidates) => Err(ResolveError::AmbiguousSpace {
            wanted: wanted.to_owned(),
            candidates: candidates.into_iter().map(SpaceRef::from).collect(),
        }),
    }
}

/// The pool of `space` named `wanted` by the name rule, among `pools` (the space's pools as
/// read: full resources or summaries).
pub fn resolve_pool<'a, P>(
    space: &SpaceRef,
    pools: &'a [P],
    wanted: &str,
) -> Result<&'a P, ResolveError>
where
    P: Named,
    for<'p> &'p P: Into<PoolRef>,
{
    let wanted = wanted.trim();
    match find_by_name(pools, wanted) {
        NameMatch::Found(pool) => Ok(pool),
        NameMatch::Missing => Err(ResolveError::PoolNotFound {
            space: space.clone(),
            wanted: wanted.to_owned(),
            available: pools.iter().map(|pool| pool.name().to_owned()).collect(),
        }),
        NameMatch::Ambiguous(candidates) => Err(ResolveError::AmbiguousPool {
            space: space.clone(),
            wanted: wanted.to_owned(),
            candidates: candidates.into_iter().map(Into::into).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::WorkerPoolSummary;

    fn space(id: &str, name: &str) -> Space {
        serde_json::from_value(serde_json::json!({"Id": id, "Name": name})).unwrap()
    }

    fn pool(id: &str, name: &str) -> WorkerPoolSummary {
        serde_json::from_value(serde_json::json!({"Id": id, "Name": name})).unwrap()
    }

    #[test]
    fn space_ids_are_recognised_in_any_case() {
        assert_eq!(
            parse_space_id("Spaces-12"),
            Some(SpaceId::from("Spaces-12"))
        );
        assert_eq!(
            parse_space_id(" spaces-3 "),
            Some(SpaceId::from("Spaces-3"))
        );
        assert_eq!(parse_space_id("Spaces-"), None);
        assert_eq!(parse_space_id("Spaces-1a"), None);
        assert_eq!(parse_space_id("Default"), None);
        assert_eq!(parse_space_id("Späces-1"), None);
    }

    #[test]
    fn a_space_is_named_by_id_first_then_by_name() {
        let spaces = [
            space("Spaces-1", "Default"),
            space("Spaces-2", "Spaces-1"),
            space("Spaces-12", "Payments"),
        ];
        assert_eq!(
            resolve_space(&spaces, "spaces-12").unwrap().name,
            "Payments"
        );
        assert_eq!(
            resolve_space(&spaces, " PAYMENTS ").unwrap().id.as_str(),
            "Spaces-12"
        );
        assert_eq!(resolve_space(&spaces, "Spaces-1").unwrap().name, "Default");
        assert_eq!(
            resolve_space(&spaces, "Nope"),
            Err(ResolveError::SpaceNotFound {
                wanted: "Nope".to_owned(),
                searched: 3
            })
        );
        assert_eq!(
            resolve_space(&spaces, "Spaces-99").unwrap_err().to_string(),
            "no space has the name or Id 'Spaces-99' (3 spaces searched)"
        );
    }

    #[test]
    fn ambiguous_space_names_fail_naming_the_candidates() {
        let spaces = [space("Spaces-1", "Team"), space("Spaces-2", "TEAM")];
        assert_eq!(
            resolve_space(&spaces, "TEAM").unwrap().id.as_str(),
            "Spaces-2"
        );
        let error = resolve_space(&spaces, "team").unwrap_err();
        assert_eq!(
            error.to_string(),
            "'team' names 2 spaces ignoring case and none exactly: Team (Spaces-1), TEAM (Spaces-2): give the exact name or the space's Id"
        );
    }

    #[test]
    fn pools_resolve_by_the_name_rule() {
        let payments = SpaceRef::new("Spaces-2", "Payments");
        let pools = [
            pool("WorkerPools-1", "Default Worker Pool"),
            pool("WorkerPools-2", "AWS"),
            pool("WorkerPools-3", "aws"),
        ];
        let found = |wanted| resolve_pool(&payments, &pools, wanted).map(|pool| pool.id.as_str());
        assert_eq!(found("aws"), Ok("WorkerPools-3"));
        assert_eq!(found("AWS"), Ok("WorkerPools-2"));
        assert_eq!(found("default worker pool"), Ok("WorkerPools-1"));
        assert_eq!(
            resolve_pool(&payments, &pools, "Aws").unwrap_err(),
            ResolveError::AmbiguousPool {
                space: payments.clone(),
                wanted: "Aws".to_owned(),
                candidates: vec![
                    PoolRef::new("WorkerPools-2", "AWS"),
                    PoolRef::new("WorkerPools-3", "aws")
                ],
            }
        );
        assert_eq!(
            resolve_pool(&payments, &pools, " GCP ")
                .unwrap_err()
                .to_string(),
            "Payments (Spaces-2) has no worker pool named 'GCP' (pools there: 'Default Worker Pool', 'AWS', 'aws')"
        );
    }
}
