//! Target `admin_api_json`: bytes as the body (or path, or query) of an admin API request,
//! sent through the real router over the real request service and a SQLite state store in
//! a temporary directory, in process.
//!
//! The first byte picks the request ([`Route`]) and whether it carries the token; the rest
//! is what the client sent. Every answer must be: 401 without the token; never a 5xx; and
//! every error in the JSON form `{"error":{"code":"…","message":"…"}}`.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use gallra::api::{router, Auth};
use gallra::requests::LocalService;
use gallra::store::SqliteStore;
use tower::ServiceExt;

/// The token the harness's API accepts.
const TOKEN: &str = "fuzz-token-0123456789abcdef";

/// The smallest configuration with a system to fan requests out to.
const CONFIG: &str = r#"
state_dir = "state"
account_source = "panel"

[systems.panel]
plugin = "sql"

[systems.paper]
manual = { instructions = "Shred the signed paper contract, then confirm." }
"#;

/// The admin API over a fresh state store; the store is deleted with it.
pub struct Api {
    runtime: tokio::runtime::Runtime,
    router: Router,
    _state: tempfile::TempDir,
}

impl Api {
    /// A router over a new, empty state store. `/dev/shm` is used when present, so the
    /// fuzzer is not held up by disk syncs.
    pub fn new() -> Api {
        let shm = Path::new("/dev/shm");
        let state = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("a temporary state directory");
        let config_path = state.path().join("gallra.toml");
        let config = gallra::config::parse(CONFIG, &config_path).expect("the harness config");
        let store = SqliteStore::open(&config.state_dir).expect("a state store");
        let service = LocalService::new(Arc::new(config), Arc::new(store));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let router = router(Arc::new(service), Auth::Bearer(vec![TOKEN.into()]));
        Api {
            runtime,
            router,
            _state: state,
        }
    }

    /// Sends the request `data` describes and checks the answer.
    pub fn feed(&self, data: &[u8]) {
        let Some((&first, rest)) = data.split_first() else {
            return;
        };
        let route = Route::from_byte(first);
        let with_token = first & 0x80 == 0;
        // `/v1/requests/` with no id is no route: a 404 for anyone.
        let routed = !(route == Route::Show && rest.is_empty());
        let request = route.request(rest, with_token);
        let (status, body) = self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a readable body");
            (status, body)
        });
        check(route, !with_token && routed, status, &body);
    }
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static API: Api = Api::new();
}

/// Feeds `data` to this thread's API; panics only on a bug.
pub fn feed(data: &[u8]) {
    API.with(|api| api.feed(data));
}

/// Which request the input becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `POST /v1/requests` with the bytes as a JSON body.
    Submit,
    /// The same without a `Content-Type` (taken as JSON).
    SubmitUntyped,
    /// `POST /v1/requests/1/cancel`.
    Cancel,
    /// `POST /v1/tasks/1/done`.
    TaskDone,
    /// `GET /v1/requests?…` with the bytes as the query.
    List,
    /// `GET /v1/requests/…` with the bytes as the id.
    Show,
}

impl Route {
    const ALL: [Route; 6] = [
        Route::Submit,
        Route::SubmitUntyped,
        Route::Cancel,
        Route::TaskDone,
        Route::List,
        Route::Show,
    ];

    fn from_byte(byte: u8) -> Route {
        Self::ALL[usize::from(byte & 0x7f) % Self::ALL.len()]
    }

    fn request(self, rest: &[u8], with_token: bool) -> Request<Body> {
        let (method, uri) = match self {
            Route::Submit | Route::SubmitUntyped => (Method::POST, "/v1/requests".to_owned()),
            Route::Cancel => (Method::POST, "/v1/requests/1/cancel".to_owned()),
            Route::TaskDone => (Method::POST, "/v1/tasks/1/done".to_owned()),
            Route::List => (Method::GET, format!("/v1/requests?{}", encode(rest, b"=&"))),
            Route::Show => (Method::GET, format!("/v1/requests/{}", encode(rest, b""))),
        };
        let mut builder = Request::builder().method(method).uri(uri);
        if with_token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        }
        let body = if self.has_body() {
            if self != Route::SubmitUntyped {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
            }
            Body::from(rest.to_vec())
        } else {
            Body::empty()
        };
        builder.body(body).expect("a well-formed request")
    }

    fn has_body(self) -> bool {
        matches!(
            self,
            Route::Submit | Route::SubmitUntyped | Route::Cancel | Route::TaskDone
        )
    }
}

/// Percent-encodes everything but unreserved characters and `keep`.
fn encode(bytes: &[u8], keep: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What every answer must be, whatever was sent. `guarded`: the request reached a route
/// that needs the token, without it.
fn check(route: Route, guarded: bool, status: StatusCode, body: &[u8]) {
    assert!(
        !status.is_server_error(),
        "{route:?} answered {status} to client input"
    );
    if guarded {
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{route:?} without a token"
        );
    }
    let json: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("{route:?} answered {status} with a body that is not JSON"));
    if status.is_client_error() {
        let error = &json["error"];
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{route:?} answered {status} without the JSON error form"
        );
    }
}
