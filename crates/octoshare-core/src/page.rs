//! `Page<T>`: one page of an Octopus `ResourceCollection`, plus the lenient `Links` decoder
//! shared by every model.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// One page of a paged Octopus collection
/// (`ItemType, TotalResults, ItemsPerPage, NumberOfPages, LastPageNumber, Items, Links`).
///
/// Older and newer envelopes are accepted; fields not modelled here are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Total number of items across all pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_results: Option<u64>,
    /// The page size (`take`) the server used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// Page links (`Self`, `Page.Next`, `Page.Last`, ...); non-string values are ignored.
    #[serde(default, deserialize_with = "deserialize_links")]
    pub links: BTreeMap<String, String>,
    /// Every other field (`ItemType`, `NumberOfPages`, `IsStale`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<T> Page<T> {
    /// The `Page.Next` link, present only when another page exists.
    pub fn next_link(&self) -> Option<&str> {
        self.links
            .get("Page.Next")
            .map(String::as_str)
            .filter(|link| !link.trim().is_empty())
    }
}

/// Decodes a `Links` object, keeping only string values (null or odd values are dropped rather
/// than failing the whole document); a missing or null `Links` gives an empty map.
pub(crate) fn deserialize_links<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<Map<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::String(link) => Some((name, link)),
            _ => None,
        })
        .collect())
}

/// Decodes a value where `null` means the type's default (e.g. `"WorkerPoolIds": null`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_only_when_present() {
        let page: Page<Value> = serde_json::from_str(
            r#"{"ItemType":"Space","TotalResults":31,"ItemsPerPage":30,"Items":[1,2],
                "Links":{"Self":"/api/spaces","Page.Next":"/api/spaces?skip=30&take=30","Odd":null}}"#,
        )
        .unwrap();
        assert_eq!(page.next_link(), Some("/api/spaces?skip=30&take=30"));
        assert_eq!(page.total_results, Some(31));
        assert_eq!(page.extra["ItemType"], "Space");
        assert!(!page.links.contains_key("Odd"));

        let last: Page<Value> =
            serde_json::from_str(r#"{"Items":[],"Links":{"Self":"/api/spaces"}}"#).unwrap();
        assert_eq!(last.next_link(), None);
    }
}
