//! `until_short_page`: a listing with no total and no cursor ends at its first short page.

use super::*;
use crate::http::until_short_page;

fn rows(n: u32) -> Vec<u32> {
    (0..n).collect()
}

/// Reads `all` in pages of `size`, recording which pages were asked for.
fn read(all: &[u32], size: usize) -> (Result<Vec<u32>, ConnectorError>, Vec<u32>) {
    let mut asked = Vec::new();
    let got = until_short_page("POST /people/search", size, |n| {
        asked.push(n);
        let start = (n as usize - 1) * size;
        Ok(all.iter().copied().skip(start).take(size).collect())
    })
    .collect();
    (got, asked)
}

#[test]
fn pages_are_read_until_a_short_one() {
    let all = rows(7);
    let (got, asked) = read(&all, 3);
    assert_eq!(got.unwrap(), all);
    assert_eq!(asked, [1, 2, 3]);
}

#[test]
fn a_full_last_page_is_followed_by_an_empty_one() {
    let all = rows(6);
    let (got, asked) = read(&all, 3);
    assert_eq!(got.unwrap(), all);
    assert_eq!(asked, [1, 2, 3]);
    let (got, asked) = read(&[], 3);
    assert_eq!(got.unwrap(), Vec::<u32>::new());
    assert_eq!(asked, [1]);
}

#[test]
fn a_page_longer_than_the_page_size_is_a_permanent_error() {
    let mut asked = 0;
    let result: Result<Vec<u32>, _> = until_short_page("GET /people", 2, |n| {
        asked += 1;
        Ok(if n == 1 { vec![1, 2] } else { vec![3, 4, 5] })
    })
    .collect();
    let error = result.unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("GET /people"), "{message}");
    assert!(message.contains("page 2 held 3 items"), "{message}");
    assert_eq!(asked, 2);
}

#[test]
fn a_failed_page_ends_the_listing_with_its_error_and_nothing_more_is_asked() {
    let mut asked = 0;
    let mut pages = until_short_page("GET /people", 2, |n| {
        asked += 1;
        if n == 2 {
            Err(ConnectorError::transient("page 2 failed"))
        } else {
            Ok(vec![n, n])
        }
    });
    assert_eq!(pages.next().unwrap().unwrap(), 1);
    assert_eq!(pages.next().unwrap().unwrap(), 1);
    assert!(pages.next().unwrap().is_err());
    assert!(pages.next().is_none());
    drop(pages);
    assert_eq!(asked, 2);
}
