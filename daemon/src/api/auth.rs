//! Who may call the API: on the unix socket, whoever the socket's file mode lets in; on TCP,
//! whoever presents one of the bearer tokens from the token file.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::{Choice, ConstantTimeEq};

use super::errors::{ApiError, HttpError};

/// How callers prove they may use the API.
#[derive(Clone)]
pub enum Auth {
    /// No token: for the unix socket, where the socket's file mode (0660) is the access
    /// control.
    None,
    /// `Authorization: Bearer <token>` with one of these tokens (for TCP).
    Bearer(Vec<String>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("Auth::None"),
            Self::Bearer(tokens) => write!(f, "Auth::Bearer(<{} tokens redacted>)", tokens.len()),
        }
    }
}

impl Auth {
    /// Whether a request with this `Authorization` header value may pass.
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let tokens = match self {
            Self::None => return true,
            Self::Bearer(tokens) => tokens,
        };
        let Some(presented) = authorization.and_then(bearer_token) else {
            return false;
        };
        // Every token is compared, without stopping at a match, so the time taken says
        // nothing about which token matched or how much of one did.
        let mut matched = Choice::from(0);
        for token in tokens {
            matched |= token.as_bytes().ct_eq(presented);
        }
        bool::from(matched)
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 7235).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Reads bearer tokens, one per line; blank lines and lines starting with `#` are skipped.
/// Refuses a file that users other than its owner can read or write, and a file with no
/// token.
pub fn load_tokens(path: &Path) -> Result<Vec<String>, ApiError> {
    let read_error = |source| ApiError::TokenFile {
        path: path.to_owned(),
        source,
    };
    // The mode is read from the open file, so it is the mode of what is read.
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let mode = file.metadata().map_err(read_error)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(ApiError::TokenFileOpen {
            path: path.to_owned(),
            mode: mode & 0o7777,
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(read_error)?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        return Err(ApiError::NoTokens {
            path: path.to_owned(),
        });
    }
    Ok(tokens)
}

/// Middleware: 401 with `WWW-Authenticate: Bearer` unless the request may pass.
pub(super) async fn require(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if auth.allows(header) {
        next.run(request).await
    } else {
        HttpError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn token_file(text: &str, mode: u32) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        file
    }

    #[test]
    fn token_file_skips_comments_and_blank_lines() {
        let file = token_file("# panel\nalpha-token\n\n  beta-token  \n#old\n", 0o600);
        assert_eq!(
            load_tokens(file.path()).unwrap(),
            vec!["alpha-token".to_owned(), "beta-token".to_owned()]
        );
    }

    #[test]
    fn token_file_readable_by_others_is_refused_naming_the_path() {
        for mode in [0o644, 0o640, 0o604, 0o620] {
            let file = token_file("alpha-token\n", mode);
            let err = load_tokens(file.path()).unwrap_err();
            assert!(matches!(err, ApiError::TokenFileOpen { .. }), "{mode:o}");
            let text = err.to_string();
            assert!(text.contains(&file.path().display().to_string()), "{text}");
            assert!(!text.contains("alpha-token"), "{text}");
        }
    }

    #[test]
    fn token_file_without_tokens_or_missing_is_refused() {
        let file = token_file("# nothing here\n\n", 0o600);
        assert!(matches!(
            load_tokens(file.path()),
            Err(ApiError::NoTokens { .. })
        ));
        let missing = Path::new("/nonexistent/gallra/tokens");
        let err = load_tokens(missing).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/gallra/tokens"),
            "{err}"
        );
    }

    #[test]
    fn bearer_accepts_only_a_listed_token() {
        let auth = Auth::Bearer(vec!["alpha-token".into(), "beta-token".into()]);
        assert!(auth.allows(Some(b"Bearer alpha-token")));
        assert!(auth.allows(Some(b"bearer beta-token")));
        for wrong in [
            &b"Bearer alpha-toke"[..],
            b"Bearer alpha-tokenx",
            b"Bearer ",
            b"Basic alpha-token",
            b"alpha-token",
            b"",
        ] {
            assert!(
                !auth.allows(Some(wrong)),
                "{}",
                String::from_utf8_lossy(wrong)
            );
        }
        assert!(!auth.allows(None));
        assert!(Auth::None.allows(None));
    }

    #[test]
    fn debug_never_shows_tokens() {
        let auth = Auth::Bearer(vec!["alpha-token".into()]);
        assert!(!format!("{auth:?}").contains("alpha"));
    }
}
