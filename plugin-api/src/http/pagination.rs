//! Iterators over paged listings that never mistake a broken read for the end of the data.
//!
//! gallra erases people because a listing says they are inactive, and concludes that a
//! system holds nothing about someone because a search came back empty. A page that is
//! short, empty too early, or inconsistent with the totals the system announced is therefore
//! an error (transient: try again later), never "that was everything". A failed fetch ends
//! the iteration with that error.
//!
//! Each helper takes a `label` for its errors — name the system and the endpoint, e.g.
//! `system "helpdesk": GET /users/search`, and nothing from the query — and a closure that
//! fetches one page. Collect with `.collect::<Result<Vec<_>, _>>()` or stop early.
//!
//! ```
//! use gallra_plugin_api::http::{by_offset, OffsetPage};
//! let rows: Vec<u32> = (0..7).collect();
//! let all: Vec<u32> = by_offset("system \"demo\": GET /users", 3, |offset, limit| {
//!     let page = rows.iter().copied().skip(offset as usize).take(limit as usize).collect();
//!     Ok(OffsetPage { items: page, total: rows.len() as u64 })
//! })
//! .collect::<Result<_, _>>()
//! .unwrap();
//! assert_eq!(all, rows);
//! ```

use std::collections::VecDeque;

use crate::error::ConnectorError;

/// One page of a listing numbered 1, 2, 3, … that says how many pages there are
/// (Fortnox's `@CurrentPage`/`@TotalPages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedPage<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// How many pages the listing has, as this page says (0 or 1 for an empty listing).
    pub total_pages: u32,
}

/// One page of an offset/limit listing that says how many items there are in all
/// (WHMCS's `limitstart`/`limitnum`/`totalresults`, Zendesk search's `count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetPage<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// How many items the whole listing holds, as this page says.
    pub total: u64,
}

/// One page of a cursor listing: the cursor (or next-page URL) is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPage<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Where the next page is: a cursor or a full URL; `None` when this is the last page.
    pub next: Option<String>,
}

fn broken(label: &str, what: String) -> ConnectorError {
    ConnectorError::transient(format!(
        "{label}: {what}; the listing was cut short or changed while it was read, so it is \
         not taken as complete"
    ))
}

/// Shared by the three iterators: the items not yet handed out and whether we stopped.
struct Buffer<T> {
    items: VecDeque<T>,
    done: bool,
}

impl<T> Buffer<T> {
    fn new() -> Self {
        Self {
            items: VecDeque::new(),
            done: false,
        }
    }

    /// Hands out a buffered item, or `None` when a page must be fetched (or we are done).
    fn next_buffered(&mut self) -> Option<Option<Result<T, ConnectorError>>> {
        if let Some(item) = self.items.pop_front() {
            return Some(Some(Ok(item)));
        }
        self.done.then_some(None)
    }

    fn fail(&mut self, error: ConnectorError) -> Option<Result<T, ConnectorError>> {
        self.done = true;
        self.items.clear();
        Some(Err(error))
    }
}

/// Iterates a page-number listing, fetching page 1, 2, … up to `total_pages`.
///
/// Errors: a page other than the last with fewer (or more) than `page_size` items; a last
/// page that is empty although the listing has more than one page; `total_pages` changing
/// between pages; any error of `fetch`.
pub fn by_page_number<T, F>(
    label: impl Into<String>,
    page_size: usize,
    fetch: F,
) -> ByPageNumber<T, F>
where
    F: FnMut(u32) -> Result<NumberedPage<T>, ConnectorError>,
{
    ByPageNumber {
        label: label.into(),
        page_size,
        fetch,
        next_page: 1,
        total_pages: None,
        buffer: Buffer::new(),
    }
}

/// The iterator [`by_page_number`] returns.
pub struct ByPageNumber<T, F> {
    label: String,
    page_size: usize,
    fetch: F,
    next_page: u32,
    total_pages: Option<u32>,
    buffer: Buffer<T>,
}

impl<T, F> Iterator for ByPageNumber<T, F>
where
    F: FnMut(u32) -> Result<NumberedPage<T>, ConnectorError>,
{
    type Item = Result<T, ConnectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(answer) = self.buffer.next_buffered() {
                return answer;
            }
            let number = self.next_page;
            let page = match (self.fetch)(number) {
                Ok(page) => page,
                Err(e) => return self.buffer.fail(e),
            };
            let total = page.total_pages;
            let len = page.items.len();
            let first_total = *self.total_pages.get_or_insert(total);
            let label = &self.label;
            let problem = if total != first_total {
                Some(format!("the page count went from {first_total} to {total}"))
            } else if len > self.page_size {
                Some(format!(
                    "page {number} held {len} items, more than the page size {}",
                    self.page_size
                ))
            } else if number < total && len < self.page_size {
                Some(format!(
                    "page {number} of {total} held {len} items where {} were expected",
                    self.page_size
                ))
            } else if number > 1 && len == 0 {
                Some(format!("page {number} of {total} is empty"))
            } else if total == 0 && len > 0 {
                Some(format!(
                    "page {number} held {len} items of a listing said to have no pages"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                let error = broken(label, problem);
                return self.buffer.fail(error);
            }
            self.buffer.done = number >= total;
            self.buffer.items.extend(page.items);
            self.next_page += 1;
        }
    }
}

/// Iterates an offset/limit listing, asking `fetch(offset, limit)` for offsets 0, `limit`,
/// 2·`limit`, … until the announced total is reached.
///
/// Errors: a page with fewer items than `limit` (an empty one included) before the total is
/// reached; more items than the total or than `limit`; the total changing between pages; any
/// error of `fetch`.
pub fn by_offset<T, F>(label: impl Into<String>, limit: u64, fetch: F) -> ByOffset<T, F>
where
    F: FnMut(u64, u64) -> Result<OffsetPage<T>, ConnectorError>,
{
    ByOffset {
        label: label.into(),
        limit: limit.max(1),
        fetch,
        offset: 0,
        total: None,
        buffer: Buffer::new(),
    }
}

/// The iterator [`by_offset`] returns.
pub struct ByOffset<T, F> {
    label: String,
    limit: u64,
    fetch: F,
    offset: u64,
    total: Option<u64>,
    buffer: Buffer<T>,
}

impl<T, F> Iterator for ByOffset<T, F>
where
    F: FnMut(u64, u64) -> Result<OffsetPage<T>, ConnectorError>,
{
    type Item = Result<T, ConnectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(answer) = self.buffer.next_buffered() {
                return answer;
            }
            let offset = self.offset;
            let page = match (self.fetch)(offset, self.limit) {
                Ok(page) => page,
                Err(e) => return self.buffer.fail(e),
            };
            let total = page.total;
            let len = page.items.len() as u64;
            let first_total = *self.total.get_or_insert(total);
            let reached = offset + len;
            let problem = if total != first_total {
                Some(format!("the total went from {first_total} to {total}"))
            } else if len > self.limit {
                Some(format!(
                    "the page at offset {offset} held {len} items, more than the limit {}",
                    self.limit
                ))
            } else if reached > total {
                Some(format!("{reached} items were listed of a total of {total}"))
            } else if reached < total && len < self.limit {
                Some(format!(
                    "the page at offset {offset} held {len} items where {} were expected \
                     ({total} in all)",
                    self.limit
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                let error = broken(&self.label, problem);
                return self.buffer.fail(error);
            }
            self.buffer.done = reached >= total;
            self.buffer.items.extend(page.items);
            self.offset = reached;
        }
    }
}

/// Iterates a cursor (or next-link) listing: `fetch(None)` for the first page, then
/// `fetch(Some(next))` until a page has no `next`.
///
/// Errors: an empty page that still has a `next` (a listing that cannot say whether it is
/// done); a `next` equal to the cursor just used (a loop); any error of `fetch`.
pub fn by_cursor<T, F>(label: impl Into<String>, fetch: F) -> ByCursor<T, F>
where
    F: FnMut(Option<&str>) -> Result<CursorPage<T>, ConnectorError>,
{
    ByCursor {
        label: label.into(),
        fetch,
        cursor: None,
        pages: 0,
        buffer: Buffer::new(),
    }
}

/// The iterator [`by_cursor`] returns.
pub struct ByCursor<T, F> {
    label: String,
    fetch: F,
    cursor: Option<String>,
    pages: u64,
    buffer: Buffer<T>,
}

impl<T, F> Iterator for ByCursor<T, F>
where
    F: FnMut(Option<&str>) -> Result<CursorPage<T>, ConnectorError>,
{
    type Item = Result<T, ConnectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(answer) = self.buffer.next_buffered() {
                return answer;
            }
            let page = match (self.fetch)(self.cursor.as_deref()) {
                Ok(page) => page,
                Err(e) => return self.buffer.fail(e),
            };
            self.pages += 1;
            let number = self.pages;
            let problem = match &page.next {
                Some(_) if page.items.is_empty() => {
                    Some(format!("page {number} is empty but says more follow"))
                }
                Some(next) if self.cursor.as_ref() == Some(next) => {
                    Some(format!("page {number} points back at itself"))
                }
                _ => None,
            };
            if let Some(problem) = problem {
                let error = broken(&self.label, problem);
                return self.buffer.fail(error);
            }
            self.buffer.done = page.next.is_none();
            self.buffer.items.extend(page.items);
            self.cursor = page.next;
        }
    }
}
