//! Octopus's naming rules (unique names, slugs, sort order) and the list filters.

use std::cmp::Ordering;

use crate::store::model::Worker;

/// Case-insensitive, trimmed name equality (Octopus's rule for unique names).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Sorts by name case-insensitively, ties by the numeric part of the id (creation order).
pub(crate) fn by_name(a: (&str, &str), b: (&str, &str)) -> Ordering {
    a.0.to_lowercase()
        .cmp(&b.0.to_lowercase())
        .then_with(|| id_number(a.1).cmp(&id_number(b.1)))
}

fn id_number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `Slug` from a name: lower-case, runs of other characters become one `-`.
pub(crate) fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

pub(crate) fn contains_ignoring_case(list: Option<&[String]>, value: &str) -> bool {
    list.is_none_or(|list| list.iter().any(|item| item.eq_ignore_ascii_case(value)))
}

/// A worker filter as the list routes understand it.
#[derive(Debug, Default)]
pub(crate) struct WorkerFilter {
    pub(crate) name: Option<String>,
    pub(crate) partial_name: Option<String>,
    pub(crate) ids: Option<Vec<String>>,
    pub(crate) is_disabled: Option<bool>,
    pub(crate) health_statuses: Option<Vec<String>>,
    pub(crate) comm_styles: Option<Vec<String>>,
    pub(crate) worker_pool_ids: Option<Vec<String>>,
    pub(crate) thumbprint: Option<String>,
    pub(crate) shell_names: Option<Vec<String>>,
}

impl WorkerFilter {
    pub(crate) fn accepts(&self, worker: &Worker) -> bool {
        self.name
            .as_deref()
            .is_none_or(|name| same_name(name, &worker.name))
            && self
                .partial_name
                .as_deref()
                .is_none_or(|part| worker.name.to_lowercase().contains(&part.to_lowercase()))
            && contains_ignoring_case(self.ids.as_deref(), &worker.id)
            && self.is_disabled.is_none_or(|d| d == worker.is_disabled)
            && contains_ignoring_case(self.health_statuses.as_deref(), &worker.health_status)
            && contains_ignoring_case(self.comm_styles.as_deref(), worker.style())
            && contains_ignoring_case(self.shell_names.as_deref(), &worker.shell_name)
            && self.worker_pool_ids.as_deref().is_none_or(|wanted| {
                worker
                    .worker_pool_ids
                    .iter()
                    .any(|id| wanted.iter().any(|w| w.eq_ignore_ascii_case(id)))
            })
            && self.thumbprint.as_deref().is_none_or(|wanted| {
                worker
                    .thumbprint()
                    .is_some_and(|t| t.eq_ignore_ascii_case(wanted.trim()))
            })
    }
}

/// A name/id filter for spaces, pools, policies, proxies, accounts and step templates.
#[derive(Debug, Default)]
pub(crate) struct NameFilter {
    pub(crate) name: Option<String>,
    pub(crate) partial_name: Option<String>,
    pub(crate) ids: Option<Vec<String>>,
}

impl NameFilter {
    pub(crate) fn accepts(&self, id: &str, name: &str) -> bool {
        contains_ignoring_case(self.ids.as_deref(), id)
            && self
                .name
                .as_deref()
                .is_none_or(|wanted| same_name(wanted, name))
            && self
                .partial_name
                .as_deref()
                .is_none_or(|part| name.to_lowercase().contains(&part.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_collapse_separators() {
        assert_eq!(slugify("AWS Worker Pool TF"), "aws-worker-pool-tf");
        assert_eq!(slugify("  polling--worker_01 "), "polling-worker-01");
    }
}
