//! Iterators over paged listings that never mistake a broken read for the end of the data.
//!
//! gallra erases people because a listing says they are inactive, and concludes that a
//! system holds nothing about someone because a search came back empty. A page that is
//! short, empty too early, or inconsistent with the totals the system announced is therefore
//! an error (transient: try again later), never "that was everything". A failed fetch ends
//! the iteration with that error. Only [`until_short_page`], for listings that announce
//! neither a total nor a cursor, takes a short page as the end: there is nothing else to go
//! by.
//!
//! Each helper takes a `label` for its errors — name the system and the endpoint, e.g.
//! `system "helpdesk": GET /users/search`, and nothing from the query — and a closure that
//! fetches one page. Collect with `.collect::<Result<Vec<_>, _>>()` or stop early.
//!
//! ```
//! use gallra_plugin_api::http::{by_offset, OffsetPage};
//! let rows: Vec<u32> = (0..7).collect();
//! let all: Vec<u32> = by_offset("GET /users", 3, |offset, limit| {
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

    /// The next item: a buffered one, or the first of the pages `read` fetches, until a page
    /// `read` calls the last (it returns the page's items and whether it is the last) or
    /// an error, which ends the iteration.
    fn next_with(
        &mut self,
        mut read: impl FnMut() -> Result<(Vec<T>, bool), ConnectorError>,
    ) -> Option<Result<T, ConnectorError>> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            match read() {
                Ok((items, last)) => {
                    self.done = last;
                    self.items.extend(items);
                }
                Err(error) => {
                    self.done = true;
                    self.items.clear();
                    return Some(Err(error));
                }
            }
        }
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
        let Self {
            label,
            page_size,
            fetch,
            next_page,
            total_pages,
            buffer,
        } = self;
        buffer.next_with(|| {
            let number = *next_page;
            let page = fetch(number)?;
            let total = page.total_pages;
            let len = page.items.len();
            let first_total = *total_pages.get_or_insert(total);
            let problem = if total != first_total {
                Some(format!("the page count went from {first_total} to {total}"))
            } else if len > *page_size {
                Some(format!(
                    "page {number} held {len} items, more than the page size {page_size}"
                ))
            } else if number < total && len < *page_size {
                Some(format!(
                    "page {number} of {total} held {len} items where {page_size} were expected"
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
                return Err(broken(label, problem));
            }
            *next_page += 1;
            Ok((page.items, number >= total))
        })
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
        let Self {
            label,
            limit,
            fetch,
            offset,
            total,
            buffer,
        } = self;
        buffer.next_with(|| {
            let at = *offset;
            let page = fetch(at, *limit)?;
            let len = page.items.len() as u64;
            let first_total = *total.get_or_insert(page.total);
            let announced = page.total;
            let reached = at + len;
            let problem = if announced != first_total {
                Some(format!("the total went from {first_total} to {announced}"))
            } else if len > *limit {
                Some(format!(
                    "the page at offset {at} held {len} items, more than the limit {limit}"
                ))
            } else if reached > announced {
                Some(format!(
                    "{reached} items were listed of a total of {announced}"
                ))
            } else if reached < announced && len < *limit {
                Some(format!(
                    "the page at offset {at} held {len} items where {limit} were expected \
                     ({announced} in all)"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(broken(label, problem));
            }
            *offset = reached;
            Ok((page.items, reached >= announced))
        })
    }
}

/// Iterates a listing that announces no total and no cursor, numbered 1, 2, 3, …: it is
/// read until a page holds fewer than `page_size` items (Copper's people search, many
/// plain REST APIs). A full last page therefore costs one more request, for an empty page.
///
/// `fetch(n)` returns page `n` (from 1; add an offset for APIs that count from 0).
///
/// Errors: a page with more than `page_size` items, permanent (the API's page size is not
/// what the connector thinks, so a short page would not mean the end); any error of
/// `fetch`. Return
/// an error from `fetch` to enforce a cap of the API's (e.g. "never more than N results").
///
/// ```
/// use gallra_plugin_api::http::until_short_page;
/// let rows: Vec<u32> = (0..6).collect();
/// let mut asked = Vec::new();
/// let all: Vec<u32> = until_short_page("POST /people/search", 3, |n| {
///     asked.push(n);
///     Ok(rows.iter().copied().skip((n as usize - 1) * 3).take(3).collect())
/// })
/// .collect::<Result<_, _>>()
/// .unwrap();
/// assert_eq!(all, rows);
/// assert_eq!(asked, [1, 2, 3], "two full pages, then an empty one ends it");
/// ```
pub fn until_short_page<T, F>(
    label: impl Into<String>,
    page_size: usize,
    fetch: F,
) -> UntilShortPage<T, F>
where
    F: FnMut(u32) -> Result<Vec<T>, ConnectorError>,
{
    UntilShortPage {
        label: label.into(),
        page_size: page_size.max(1),
        fetch,
        next_page: 1,
        buffer: Buffer::new(),
    }
}

/// The iterator [`until_short_page`] returns.
pub struct UntilShortPage<T, F> {
    label: String,
    page_size: usize,
    fetch: F,
    next_page: u32,
    buffer: Buffer<T>,
}

impl<T, F> Iterator for UntilShortPage<T, F>
where
    F: FnMut(u32) -> Result<Vec<T>, ConnectorError>,
{
    type Item = Result<T, ConnectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Self {
            label,
            page_size,
            fetch,
            next_page,
            buffer,
        } = self;
        buffer.next_with(|| {
            let number = *next_page;
            let items = fetch(number)?;
            let len = items.len();
            if len > *page_size {
                return Err(ConnectorError::permanent(format!(
                    "{label}: page {number} held {len} items, more than the page size \
                     {page_size}: the API pages differently than asked (is the page size \
                     setting the API's?), so the end of the listing cannot be recognised"
                )));
            }
            *next_page += 1;
            Ok((items, len < *page_size))
        })
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
        let Self {
            label,
            fetch,
            cursor,
            pages,
            buffer,
        } = self;
        buffer.next_with(|| {
            let page = fetch(cursor.as_deref())?;
            *pages += 1;
            let number = *pages;
            let problem = match &page.next {
                Some(_) if page.items.is_empty() => {
                    Some(format!("page {number} is empty but says more follow"))
                }
                Some(next) if cursor.as_ref() == Some(next) => {
                    Some(format!("page {number} points back at itself"))
                }
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(broken(label, problem));
            }
            let last = page.next.is_none();
            *cursor = page.next;
            Ok((page.items, last))
        })
    }
}
