//! How a lookup's results are paged, and reading every page.
//!
//! A page that is short, empty too early, or inconsistent with the totals the API
//! announced is an error, never the end of the results (the kit's pagination helpers
//! decide that): gallra concludes from an empty lookup that a person has no data here.

use gallra_plugin_api::http::{
    by_cursor, by_offset, by_page_number, until_short_page, CursorPage, NumberedPage, OffsetPage,
};
use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;
use serde_json::Value;

use crate::pointer;

/// How the results of a lookup are paged. Paging parameters are added to the query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One answer holds every result.
    #[default]
    None,
    /// Numbered pages: `?page=1&per_page=100`, `?page=2&…`.
    Page {
        /// The page-number parameter. Default: `page`.
        #[serde(default = "page")]
        page_param: String,
        /// The page-size parameter; `""` to send none. Default: `per_page`.
        #[serde(default = "per_page")]
        size_param: String,
        /// Results per page (the API's page size when `size_param` is `""`). Default: 100.
        #[serde(default = "hundred")]
        size: u32,
        /// The first page's number. Default: 1.
        #[serde(default = "one")]
        first_page: u32,
        /// JSON pointer to the number of pages, e.g. `/meta/total_pages`. Without it, pages
        /// are read until one holds fewer than `size` results.
        total_pages: Option<String>,
    },
    /// Offset and limit: `?offset=0&limit=100`, `?offset=100&…`.
    Offset {
        /// The offset parameter. Default: `offset`.
        #[serde(default = "offset")]
        offset_param: String,
        /// The limit parameter. Default: `limit`.
        #[serde(default = "limit")]
        limit_param: String,
        /// Results per page. Default: 100.
        #[serde(default = "hundred")]
        limit: u32,
        /// JSON pointer to the total number of results, e.g. `/meta/total`.
        total: String,
    },
    /// A cursor or a next-page link in each answer; absent, null or empty on the last page.
    Cursor {
        /// JSON pointer to the next page's cursor, e.g. `/meta/next_cursor`; it is sent as
        /// `cursor_param`. Set this or `next_link`.
        next_cursor: Option<String>,
        /// The parameter the cursor is sent in, e.g. `cursor`.
        cursor_param: Option<String>,
        /// JSON pointer to the next page's URL, e.g. `/links/next`; it must be on
        /// `base_url`'s origin. Set this or `next_cursor`.
        next_link: Option<String>,
        /// A page-size parameter sent with every page except those fetched by link.
        size_param: Option<String>,
        /// The page size sent in `size_param`.
        size: Option<u32>,
    },
}

fn page() -> String {
    "page".to_owned()
}
fn per_page() -> String {
    "per_page".to_owned()
}
fn offset() -> String {
    "offset".to_owned()
}
fn limit() -> String {
    "limit".to_owned()
}
fn hundred() -> u32 {
    100
}
fn one() -> u32 {
    1
}

/// Which page to fetch next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// The configured request with these query parameters added.
    Params(Vec<(String, String)>),
    /// A URL the previous answer pointed at.
    Link(String),
}

impl Pagination {
    /// Checks sizes, parameter names and pointers, every problem at once; errors name `key`.
    pub fn validate(&self, key: &str) -> Result<(), ConnectorError> {
        let at = |field: &str| format!("{key}.{field}");
        let pointer_ok = |field: &str, p: &str| {
            pointer::check(p).map_err(|e| ConnectorError::config(at(field), e))
        };
        let nonempty = |field: &str, v: &str| {
            if v.trim().is_empty() {
                Err(ConnectorError::config(at(field), "must not be empty"))
            } else {
                Ok(())
            }
        };
        let positive = |field: &str, v: u32| {
            if v == 0 {
                Err(ConnectorError::config(at(field), "must be at least 1"))
            } else {
                Ok(())
            }
        };
        let mut problems = SettingsProblems::new();
        match self {
            Self::None => {}
            Self::Page {
                page_param,
                size,
                total_pages,
                ..
            } => {
                problems.check(nonempty("page_param", page_param));
                problems.check(positive("size", *size));
                if let Some(p) = total_pages {
                    problems.check(pointer_ok("total_pages", p));
                }
            }
            Self::Offset {
                offset_param,
                limit_param,
                limit,
                total,
            } => {
                problems.check(nonempty("offset_param", offset_param));
                problems.check(nonempty("limit_param", limit_param));
                problems.check(positive("limit", *limit));
                problems.check(pointer_ok("total", total));
            }
            Self::Cursor {
                next_cursor,
                cursor_param,
                next_link,
                size_param,
                size,
            } => {
                match (next_cursor, next_link) {
                    (Some(p), None) => {
                        problems.check(pointer_ok("next_cursor", p));
                        match cursor_param {
                            Some(param) => {
                                problems.check(nonempty("cursor_param", param));
                            }
                            None => problems.add(
                                at("cursor_param"),
                                "next_cursor needs the parameter the cursor is sent in, \
                                 e.g. cursor_param = \"cursor\"",
                            ),
                        }
                    }
                    (None, Some(p)) => {
                        problems.check(pointer_ok("next_link", p));
                    }
                    _ => problems.add(
                        key,
                        "cursor pagination needs exactly one of next_cursor (with \
                         cursor_param) or next_link",
                    ),
                }
                match (size_param, size) {
                    (Some(param), Some(size)) => {
                        problems.check(nonempty("size_param", param));
                        problems.check(positive("size", *size));
                    }
                    (None, None) => {}
                    _ => problems.add(at("size"), "set both size_param and size, or neither"),
                }
            }
        }
        problems.into_result()
    }

    /// Reads every page and returns the records in them.
    ///
    /// `fetch` sends one request and returns its JSON, or `None` when the API answered
    /// "not found" (allowed for the first page only: no results). `results` points at the
    /// records in each answer. More than `max_items` records is an error (the filter was
    /// probably ignored), raised as soon as it is seen. `label` names the system and
    /// endpoint in errors.
    pub fn read_all(
        &self,
        label: &str,
        results: &str,
        max_items: usize,
        mut fetch: impl FnMut(PageRequest) -> Result<Option<Value>, ConnectorError>,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut first = true;
        let mut page = |request: PageRequest| -> Result<Option<Value>, ConnectorError> {
            let answer = fetch(request)?;
            if answer.is_none() && !first {
                return Err(ConnectorError::transient(format!(
                    "{label}: a later page answered \"not found\"; the results changed while \
                     they were read, so they are not taken as complete"
                )));
            }
            first = false;
            Ok(answer)
        };
        let items = |doc: &Value| records(label, doc, results);
        let limited = |all: Vec<Value>| too_many(label, all, max_items);
        match self {
            Self::None => match page(PageRequest::Params(Vec::new()))? {
                None => Ok(Vec::new()),
                Some(doc) => limited(items(&doc)?),
            },
            Self::Page {
                page_param,
                size_param,
                size,
                first_page,
                total_pages,
            } => {
                let params = |number: u32| {
                    let mut params = vec![(page_param.clone(), number.to_string())];
                    if !size_param.is_empty() {
                        params.push((size_param.clone(), size.to_string()));
                    }
                    PageRequest::Params(params)
                };
                match total_pages {
                    Some(total_pointer) => {
                        let pages = by_page_number(label, *size as usize, |n| {
                            let Some(doc) = page(params(first_page + n - 1))? else {
                                return Ok(NumberedPage {
                                    items: Vec::new(),
                                    total_pages: 0,
                                });
                            };
                            let total_pages = count(label, &doc, total_pointer)?;
                            Ok(NumberedPage {
                                items: items(&doc)?,
                                total_pages: u32::try_from(total_pages).unwrap_or(u32::MAX),
                            })
                        });
                        collect_limited(label, pages, max_items)
                    }
                    None => {
                        let pages = until_short_page(label, *size as usize, |n| {
                            match page(params(first_page + n - 1))? {
                                // No results: the end.
                                None => Ok(Vec::new()),
                                Some(doc) => items(&doc),
                            }
                        });
                        collect_limited(label, pages, max_items)
                    }
                }
            }
            Self::Offset {
                offset_param,
                limit_param,
                limit,
                total,
            } => {
                let pages = by_offset(label, u64::from(*limit), |offset, limit| {
                    let request = PageRequest::Params(vec![
                        (offset_param.clone(), offset.to_string()),
                        (limit_param.clone(), limit.to_string()),
                    ]);
                    let Some(doc) = page(request)? else {
                        return Ok(OffsetPage {
                            items: Vec::new(),
                            total: 0,
                        });
                    };
                    Ok(OffsetPage {
                        total: count(label, &doc, total)?,
                        items: items(&doc)?,
                    })
                });
                collect_limited(label, pages, max_items)
            }
            Self::Cursor {
                next_cursor,
                cursor_param,
                next_link,
                size_param,
                size,
            } => {
                let size_params = || match (size_param, size) {
                    (Some(param), Some(size)) => vec![(param.clone(), size.to_string())],
                    _ => Vec::new(),
                };
                let pages = by_cursor(label, |cursor| {
                    let request = match (cursor, cursor_param) {
                        (None, _) => PageRequest::Params(size_params()),
                        (Some(link), _) if next_link.is_some() => {
                            PageRequest::Link(link.to_owned())
                        }
                        (Some(cursor), param) => {
                            let mut params = size_params();
                            params.push((param.clone().unwrap_or_default(), cursor.to_owned()));
                            PageRequest::Params(params)
                        }
                    };
                    let Some(doc) = page(request)? else {
                        return Ok(CursorPage {
                            items: Vec::new(),
                            next: None,
                        });
                    };
                    let pointer = next_cursor
                        .as_deref()
                        .or(next_link.as_deref())
                        .unwrap_or("");
                    Ok(CursorPage {
                        items: items(&doc)?,
                        next: pointer::text(&doc, pointer),
                    })
                });
                collect_limited(label, pages, max_items)
            }
        }
    }
}

/// The records at `results`: an array's items, or one object; JSON null is no records.
/// Nothing at all there means the answer is not what the settings describe.
fn records(label: &str, doc: &Value, results: &str) -> Result<Vec<Value>, ConnectorError> {
    match doc.pointer(results) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(Value::Null) => Ok(Vec::new()),
        Some(object @ Value::Object(_)) => Ok(vec![object.clone()]),
        Some(_) => Err(ConnectorError::permanent(format!(
            "{label}: the answer holds neither a list nor an object at results = \"{results}\" \
             (check the lookup's results pointer)"
        ))),
        None => Err(ConnectorError::permanent(format!(
            "{label}: the answer has nothing at results = \"{results}\" (check the lookup's \
             results pointer; has the API changed?)"
        ))),
    }
}

/// A non-negative integer at `pointer` (a number or a numeric string).
fn count(label: &str, doc: &Value, pointer: &str) -> Result<u64, ConnectorError> {
    let value = pointer::get(doc, pointer);
    value
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
        .ok_or_else(|| {
            ConnectorError::permanent(format!(
                "{label}: the answer has no count at \"{pointer}\" (check the pagination's \
                 pointers; has the API changed?)"
            ))
        })
}

fn too_many(label: &str, all: Vec<Value>, max: usize) -> Result<Vec<Value>, ConnectorError> {
    if all.len() > max {
        return Err(ConnectorError::permanent(format!(
            "{label}: more than {max} records for one subject (max_records); the API probably \
             ignored the lookup's filter: check the path and set match"
        )));
    }
    Ok(all)
}

fn collect_limited(
    label: &str,
    pages: impl Iterator<Item = Result<Value, ConnectorError>>,
    max: usize,
) -> Result<Vec<Value>, ConnectorError> {
    let all = pages
        .take(max.saturating_add(1))
        .collect::<Result<Vec<_>, _>>()?;
    too_many(label, all, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Pagination {
        serde_json::from_value(v).unwrap()
    }

    /// A fake API of `n` users that pages by query parameters.
    fn users(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!({ "id": i })).collect()
    }

    fn param(request: &PageRequest, name: &str) -> Option<usize> {
        match request {
            PageRequest::Params(params) => params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.parse().unwrap()),
            PageRequest::Link(_) => None,
        }
    }

    #[test]
    fn the_tag_and_unknown_fields_are_checked() {
        assert_eq!(parse(json!({"type": "none"})), Pagination::None);
        let err = serde_json::from_value::<Pagination>(json!({"type": "page", "sise": 3}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sise"), "{err}");
        assert!(serde_json::from_value::<Pagination>(json!({"type": "pages"})).is_err());
    }

    #[test]
    fn numbered_pages_are_read_to_the_announced_total() {
        let all = users(7);
        let p = parse(json!({"type": "page", "size": 3, "total_pages": "/meta/pages"}));
        let mut requests = 0;
        let got = p
            .read_all("t", "/data", 100, |r| {
                requests += 1;
                let n = param(&r, "page").unwrap();
                assert_eq!(param(&r, "per_page"), Some(3));
                let data: Vec<Value> = all.iter().skip((n - 1) * 3).take(3).cloned().collect();
                Ok(Some(json!({"data": data, "meta": {"pages": 3}})))
            })
            .unwrap();
        assert_eq!(got, all);
        assert_eq!(requests, 3);
    }

    #[test]
    fn a_short_page_before_the_total_is_an_error() {
        let p = parse(json!({"type": "page", "size": 3, "total_pages": "/meta/pages"}));
        let err = p
            .read_all("GET /u", "/data", 100, |r| {
                let n = param(&r, "page").unwrap();
                let data = if n == 1 { users(3) } else { users(1) };
                Ok(Some(json!({"data": data, "meta": {"pages": 3}})))
            })
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[test]
    fn without_a_total_pages_are_read_until_a_short_one() {
        let all = users(6);
        let p = parse(json!({"type": "page", "size": 3, "first_page": 0, "size_param": ""}));
        let mut seen = Vec::new();
        let got = p
            .read_all("t", "", 100, |r| {
                let n = param(&r, "page").unwrap();
                assert_eq!(param(&r, "per_page"), None);
                seen.push(n);
                Ok(Some(Value::Array(
                    all.iter().skip(n * 3).take(3).cloned().collect(),
                )))
            })
            .unwrap();
        assert_eq!(got, all);
        assert_eq!(
            seen,
            vec![0, 1, 2],
            "a full last page needs one more, empty, page"
        );
    }

    #[test]
    fn offsets_are_read_to_the_total() {
        let all = users(5);
        let p = parse(json!({"type": "offset", "limit": 2, "total": "/total"}));
        let got = p
            .read_all("t", "/items", 100, |r| {
                let offset = param(&r, "offset").unwrap();
                let limit = param(&r, "limit").unwrap();
                let items: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
                Ok(Some(json!({"items": items, "total": "5"})))
            })
            .unwrap();
        assert_eq!(got, all);
    }

    #[test]
    fn cursors_and_links_are_followed() {
        let all = users(5);
        let by_cursor = parse(
            json!({"type": "cursor", "next_cursor": "/next", "cursor_param": "after", "size_param": "n", "size": 2}),
        );
        let got = by_cursor
            .read_all("t", "/data", 100, |r| {
                let at = param(&r, "after").unwrap_or(0);
                assert_eq!(param(&r, "n"), Some(2));
                let data: Vec<Value> = all.iter().skip(at).take(2).cloned().collect();
                let next = (at + 2 < all.len()).then(|| (at + 2).to_string());
                Ok(Some(json!({"data": data, "next": next})))
            })
            .unwrap();
        assert_eq!(got, all);

        let by_link = parse(json!({"type": "cursor", "next_link": "/links/next"}));
        let got = by_link
            .read_all("t", "/data", 100, |r| {
                let at = match r {
                    PageRequest::Params(_) => 0,
                    PageRequest::Link(link) => link.trim_start_matches("/u?from=").parse().unwrap(),
                };
                let data: Vec<Value> = all.iter().skip(at).take(2).cloned().collect();
                let next = (at + 2 < all.len()).then(|| format!("/u?from={}", at + 2));
                Ok(Some(json!({"data": data, "links": {"next": next}})))
            })
            .unwrap();
        assert_eq!(got, all);
    }

    #[test]
    fn not_found_is_no_results_on_the_first_page_only() {
        let got = Pagination::None
            .read_all("t", "/data", 100, |_| Ok(None))
            .unwrap();
        assert!(got.is_empty());
        let p = parse(json!({"type": "page", "size": 1}));
        let err = p
            .read_all("t", "/data", 100, |r| {
                Ok((param(&r, "page") == Some(1)).then(|| json!({"data": [{"id": 1}]})))
            })
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[test]
    fn a_missing_results_pointer_is_an_error_and_null_is_empty() {
        let err = Pagination::None
            .read_all("t", "/data", 100, |_| Ok(Some(json!({"items": []}))))
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Permanent { .. }), "{err:?}");
        let none = Pagination::None
            .read_all("t", "/data", 100, |_| Ok(Some(json!({"data": null}))))
            .unwrap();
        assert!(none.is_empty());
        let one = Pagination::None
            .read_all("t", "/data", 100, |_| Ok(Some(json!({"data": {"id": 1}}))))
            .unwrap();
        assert_eq!(one, vec![json!({"id": 1})]);
    }

    #[test]
    fn more_than_max_items_stops_early() {
        let p = parse(json!({"type": "page", "size": 2}));
        let mut requests = 0;
        let err = p
            .read_all("t", "", 3, |_| {
                requests += 1;
                Ok(Some(json!([{"id": 1}, {"id": 2}])))
            })
            .unwrap_err();
        assert!(err.to_string().contains("max_records"), "{err}");
        assert_eq!(
            requests, 2,
            "an API that ignores the page parameter is not read forever"
        );
    }

    #[test]
    fn cursor_settings_need_one_source_of_the_next_page() {
        let both = parse(
            json!({"type": "cursor", "next_cursor": "/c", "cursor_param": "c", "next_link": "/l"}),
        );
        assert!(both.validate("lookup[0].pagination").is_err());
        let no_param = parse(json!({"type": "cursor", "next_cursor": "/c"}));
        let err = no_param.validate("lookup[0].pagination").unwrap_err();
        assert!(
            matches!(err, ConnectorError::Config { ref key, .. } if key == "lookup[0].pagination.cursor_param")
        );
        let bad_pointer = parse(json!({"type": "offset", "total": "meta.total"}));
        let err = bad_pointer.validate("lookup[1].pagination").unwrap_err();
        assert!(
            matches!(err, ConnectorError::Config { ref key, .. } if key == "lookup[1].pagination.total")
        );
    }
}
