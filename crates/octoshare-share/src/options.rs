//! What a share is asked to do: the spaces to resolve ([`ShareRequest`]) and how to share
//! ([`ShareOptions`]).

use octoshare_core::domain::DEFAULT_CONCURRENCY;

/// What to do when a worker's name is taken in a target space by a registration whose endpoint
/// is not among the source pool's (a VM re-created with the same host name and a new thumbprint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnConflict {
    /// Update the stale registration in place: the source worker's endpoint, and the target pool
    /// added to its pools.
    #[default]
    Replace,
    /// Leave the stale registration alone and report a conflict (a warning, not a failure).
    Skip,
}

/// How to share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareOptions {
    /// Machine policy name for created workers; `None`: each target space's default policy.
    pub machine_policy: Option<String>,
    /// Target spaces worked on at once, and requests in flight at most (0 is read as 1).
    pub concurrency: usize,
    /// Only read and plan: no write is sent (the caller should also use a read-only client).
    pub dry_run: bool,
    /// Delete stale, non-healthy polling workers from the target pools.
    pub prune: bool,
    /// What to do with a stale registration holding a worker's name.
    pub on_conflict: OnConflict,
}

impl Default for ShareOptions {
    fn default() -> ShareOptions {
        ShareOptions {
            machine_policy: None,
            concurrency: DEFAULT_CONCURRENCY,
            dry_run: false,
            prune: false,
            on_conflict: OnConflict::Replace,
        }
    }
}

/// The spaces and pool a standalone share names, before they are resolved
/// ([`crate::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRequest {
    /// The source space (name or `Spaces-N` Id).
    pub from_space: String,
    /// Target spaces (names or Ids) in the order results are reported.
    pub to_spaces: Vec<String>,
    /// The pool name, resolved by the name rule in every space.
    pub worker_pool: String,
}

impl ShareRequest {
    /// A request; `to_spaces` entries are trimmed and blank ones dropped.
    pub fn new(from_space: &str, to_spaces: &[&str], worker_pool: &str) -> ShareRequest {
        ShareRequest {
            from_space: from_space.trim().to_owned(),
            to_spaces: to_spaces
                .iter()
                .map(|entry| entry.trim())
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect(),
            worker_pool: worker_pool.trim().to_owned(),
        }
    }
}

/// Splits a comma-separated list of spaces: entries are trimmed and empty ones dropped
/// (`"Spaces-2, ,Spaces-3,"` → `["Spaces-2", "Spaces-3"]`). Duplicates are kept here; resolution
/// drops them (and says so).
pub fn split_space_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_lists_are_split_trimmed_and_blank_entries_dropped() {
        assert_eq!(
            split_space_list(" Spaces-2, ,Payments ,,"),
            vec!["Spaces-2", "Payments"]
        );
        assert!(split_space_list("").is_empty());
        assert!(split_space_list(" , ").is_empty());
        let request = ShareRequest::new(" Default ", &["Spaces-2", " "], " P ");
        assert_eq!(request.from_space, "Default");
        assert_eq!(request.to_spaces, vec!["Spaces-2"]);
        assert_eq!(request.worker_pool, "P");
        assert_eq!(ShareOptions::default().concurrency, DEFAULT_CONCURRENCY);
    }
}
