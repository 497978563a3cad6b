//! Paged collections (`ResourceCollection`): envelope, key order and `Page.*` links.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::query::{Query, encode_value};

/// `take` when the client sends none.
pub(crate) const DEFAULT_TAKE: u64 = 30;
/// `take` of `Page.All` (int.MaxValue).
pub(crate) const TAKE_ALL: u64 = i32::MAX as u64;

/// How one collection route describes itself.
#[derive(Debug)]
pub(crate) struct CollectionRoute<'a> {
    /// `ItemType`, e.g. `Worker`.
    pub(crate) item_type: &'static str,
    /// Path without query, e.g. `/api/Spaces-1/workers`.
    pub(crate) path: String,
    /// Template parameters in Octopus's order; must include `skip` and `take`.
    pub(crate) parameters: &'a [&'static str],
}

/// Builds the envelope for `items` (already filtered and sorted) as Octopus does:
/// `ItemType, TotalResults, ItemsPerPage, NumberOfPages, LastPageNumber, Items, Links`
/// (fixture `events-collection-2023.1-page0.json`), links `Self, Template, Page.All,
/// Page.Previous (only after the first page), Page.Next (only when another page exists),
/// Page.Current, Page.Last`.
///
/// `Page.Previous` and its place between `Page.All` and `Page.Next` come from 3.x servers
/// (OctopusClients canned responses `machines/Machines-1/tasks.skip=30.GET.json`); whether a
/// 2026 server still sends it is unverified, so clients must not depend on it.
///
/// With no results the emulator reports `NumberOfPages: 1, LastPageNumber: 0` (what a real
/// server reports there is unverified). `take=0` yields an empty page and no `Page.Next`.
pub(crate) fn page(
    route: &CollectionRoute<'_>,
    query: &Query,
    items: Vec<Value>,
) -> Result<Value, ApiError> {
    let skip = query.count("skip")?.unwrap_or(0);
    let take = query.count("take")?.unwrap_or(DEFAULT_TAKE);
    let total = items.len() as u64;
    let number_of_pages = if take == 0 {
        1
    } else {
        total.div_ceil(take).max(1)
    };
    let last_page_number = number_of_pages - 1;
    let page_items: Vec<Value> = items
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .collect();

    let link = |skip: u64, take: u64| link(route, query, skip, take);
    let mut links = Map::new();
    links.insert("Self".into(), link(skip, take).into());
    links.insert(
        "Template".into(),
        format!("{}{{?{}}}", route.path, route.parameters.join(",")).into(),
    );
    links.insert("Page.All".into(), link(0, TAKE_ALL).into());
    if skip > 0 {
        links.insert(
            "Page.Previous".into(),
            link(skip.saturating_sub(take), take).into(),
        );
    }
    if take > 0 && skip.saturating_add(take) < total {
        links.insert("Page.Next".into(), link(skip + take, take).into());
    }
    links.insert("Page.Current".into(), link(skip, take).into());
    links.insert(
        "Page.Last".into(),
        link(last_page_number * take, take).into(),
    );

    Ok(json!({
        "ItemType": route.item_type,
        "TotalResults": total,
        "ItemsPerPage": take,
        "NumberOfPages": number_of_pages,
        "LastPageNumber": last_page_number,
        "Items": page_items,
        "Links": links,
    }))
}

/// A page link: the template's parameters in template order, `skip` and `take` always, filters
/// only when the request carried them.
fn link(route: &CollectionRoute<'_>, query: &Query, skip: u64, take: u64) -> String {
    let mut parts = Vec::new();
    for parameter in route.parameters {
        let value = match *parameter {
            "skip" => Some(skip.to_string()),
            "take" => Some(take.to_string()),
            other => query.echo(other),
        };
        if let Some(value) = value {
            parts.push(format!("{parameter}={}", encode_value(&value)));
        }
    }
    format!("{}?{}", route.path, parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> CollectionRoute<'static> {
        CollectionRoute {
            item_type: "Worker",
            path: "/api/Spaces-1/workers".into(),
            parameters: &["skip", "take", "name", "partialName"],
        }
    }

    #[test]
    fn middle_page_links_keep_filters_in_template_order() {
        let query = Query::parse(Some("partialName=w&take=2&skip=2"));
        let items = (0..5).map(|n| json!(n)).collect();
        let page = page(&route(), &query, items).unwrap_or_default();
        assert_eq!(page["NumberOfPages"], 3);
        assert_eq!(page["LastPageNumber"], 2);
        assert_eq!(
            page["Links"]["Page.Next"],
            "/api/Spaces-1/workers?skip=4&take=2&partialName=w"
        );
        assert_eq!(
            page["Links"]["Page.Last"],
            "/api/Spaces-1/workers?skip=4&take=2&partialName=w"
        );
        assert_eq!(
            page["Links"]["Page.Previous"],
            "/api/Spaces-1/workers?skip=0&take=2&partialName=w"
        );
    }

    #[test]
    fn empty_collection_has_one_page() {
        let page = page(&route(), &Query::default(), Vec::new()).unwrap_or_default();
        assert_eq!(page["NumberOfPages"], 1);
        assert_eq!(page["LastPageNumber"], 0);
        assert!(page["Links"].get("Page.Next").is_none());
    }
}
