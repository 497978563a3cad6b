//! Following `Page.Next` links through a paged collection.

use std::collections::HashSet;

use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::Client;
use super::links::display_path;
use crate::error::ApiError;
use crate::page::Page;
/// More pages than this while following `Page.Next` is treated as a paging loop (default).
pub(super) const DEFAULT_MAX_PAGES: usize = 10_000;

impl Client {
    /// Reads every page of a paged collection, following `Links["Page.Next"]`.
    ///
    /// A next link that was already visited, a `skip` that does not advance, an empty page
    /// that still has a next link, or more pages than [`crate::ClientBuilder::max_pages`] (10 000)
    /// fail with [`ApiError::PagingLoop`].
    pub async fn all_pages<T: DeserializeOwned>(
        &self,
        first_page: &str,
    ) -> Result<Vec<T>, ApiError> {
        let first_url = self.resolve(&Method::GET, first_page)?;
        let paging_loop = || ApiError::PagingLoop {
            path: display_path(&first_url),
        };
        let mut visited: HashSet<String> = HashSet::new();
        let mut items = Vec::new();
        let mut next_url = Some(first_url.clone());
        while let Some(url) = next_url.take() {
            if visited.len() >= self.inner.max_pages || !visited.insert(url.as_str().to_owned()) {
                return Err(paging_loop());
            }
            let page: Page<T> = self.request_json(Method::GET, url.clone(), None).await?;
            let page_was_empty = page.items.is_empty();
            let next_link = page.next_link().map(str::to_owned);
            items.extend(page.items);
            if let Some(link) = next_link {
                let next = self.resolve_link(&Method::GET, &url, "Page.Next", &link)?;
                let skip_went_back = match (skip_of(&url), skip_of(&next)) {
                    (Some(current), Some(following)) => following <= current,
                    _ => false,
                };
                if page_was_empty || skip_went_back {
                    return Err(paging_loop());
                }
                next_url = Some(next);
            }
        }
        Ok(items)
    }
}

pub(super) fn skip_of(url: &Url) -> Option<u64> {
    url.query_pairs()
        .find(|(name, _)| name.eq_ignore_ascii_case("skip"))
        .and_then(|(_, value)| value.parse().ok())
}
