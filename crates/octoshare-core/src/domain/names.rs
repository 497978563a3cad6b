//! The name rule: Octopus names are compared trimmed and case-insensitively (PowerShell's `-eq`
//! in the original runbook); when several names match that way, an exact (trimmed,
//! case-sensitive) match wins, otherwise the name is ambiguous.

use crate::resources::{
    Account, MachinePolicy, Proxy, Space, Worker, WorkerPool, WorkerPoolSummary,
};

/// Something with an Octopus display name.
pub trait Named {
    /// The name as the server spells it.
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($type:ty),* $(,)?) => {
        $(impl Named for $type {
            fn name(&self) -> &str {
                &self.name
            }
        })*
    };
}

named!(
    Space,
    WorkerPool,
    WorkerPoolSummary,
    MachinePolicy,
    Proxy,
    Account,
    Worker,
    super::SpaceRef,
    super::PoolRef,
);

/// Whether two names are the same for Octopus: trimmed, case-insensitive (Unicode lower case).
pub fn names_match(left: &str, right: &str) -> bool {
    let (left, right) = (left.trim(), right.trim());
    left == right || left.to_lowercase() == right.to_lowercase()
}

/// What [`find_by_name`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch<'a, T> {
    /// Exactly one item has the name (or, of several that match ignoring case, exactly one
    /// matches exactly).
    Found(&'a T),
    /// No item has the name.
    Missing,
    /// Several items match ignoring case and not exactly one of them matches exactly: every
    /// case-insensitive match, in the list's order.
    Ambiguous(Vec<&'a T>),
}

/// Finds the item named `wanted` by the name rule.
pub fn find_by_name<'a, T: Named>(items: &'a [T], wanted: &str) -> NameMatch<'a, T> {
    let wanted = wanted.trim();
    let candidates: Vec<&T> = items
        .iter()
        .filter(|item| names_match(item.name(), wanted))
        .collect();
    match candidates.as_slice() {
        [] => NameMatch::Missing,
        [only] => NameMatch::Found(only),
        _ => {
            let mut exact = candidates
                .iter()
                .filter(|item| item.name().trim() == wanted);
            match (exact.next(), exact.next()) {
                (Some(found), None) => NameMatch::Found(found),
                _ => NameMatch::Ambiguous(candidates),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Item(&'static str);

    impl Named for Item {
        fn name(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn names_compare_trimmed_and_case_insensitively() {
        assert!(names_match("AWS Worker Pool TF", " aws worker pool tf "));
        assert!(names_match("Équipe", "ÉQUIPE"));
        assert!(!names_match("AWS Worker Pool TF", "AWS Worker Pool"));
    }

    #[test]
    fn one_case_insensitive_match_is_found() {
        let items = [Item("Default"), Item("AWS Worker Pool TF")];
        assert_eq!(
            find_by_name(&items, " aws worker pool tf "),
            NameMatch::Found(&items[1])
        );
        assert_eq!(find_by_name(&items, "GCP"), NameMatch::Missing);
    }

    #[test]
    fn of_several_matches_the_exact_one_wins_else_it_is_ambiguous() {
        let items = [Item("AWS"), Item("Default"), Item("aws")];
        assert_eq!(find_by_name(&items, "aws"), NameMatch::Found(&items[2]));
        assert_eq!(find_by_name(&items, " AWS "), NameMatch::Found(&items[0]));
        assert_eq!(
            find_by_name(&items, "Aws"),
            NameMatch::Ambiguous(vec![&items[0], &items[2]])
        );
        let twins = [Item("aws"), Item(" aws")];
        assert_eq!(
            find_by_name(&twins, "aws"),
            NameMatch::Ambiguous(vec![&twins[0], &twins[1]])
        );
    }
}
