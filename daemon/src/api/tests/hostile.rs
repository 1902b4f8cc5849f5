//! Thousands of generated hostile requests: none gets a 5xx, every error is the JSON form,
//! and no error repeats what was sent.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{json, Map, Value};

use super::{app, bearer, call, send, TOKEN};
use crate::api::{ErrorCode, ROUTES};
use crate::requests::{RequestKind, RequestService};
use gallra_plugin_api::{Identifier, IdentifierKind};

/// Put into generated input wherever a client could put personal data.
const MARKER: &str = "Zq19811218Secret";

/// splitmix64: small, seeded, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn text(&mut self) -> String {
        match self.below(8) {
            0 => MARKER.to_owned(),
            1 => String::new(),
            2 => String::from_utf8_lossy(&self.bytes(40)).into_owned(),
            3 => format!("{MARKER}@example.se"),
            4 => "19811218-9876".to_owned(),
            5 => "\u{0}\u{7f}\u{202e}ä€𝄞".to_owned(),
            6 => self
                .pick(&["erase", "export", "open", "true", "1", "-1", "null"])
                .to_string(),
            _ => "x".repeat(self.below(3000)),
        }
    }

    fn json(&mut self, depth: u32) -> Value {
        let leaf = depth == 0 || self.chance(40);
        match self.below(if leaf { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.chance(50)),
            2 => json!(self.next() as i64),
            3 => json!((self.next() as f64) / 7.0 - 1e18),
            4 => Value::String(self.text()),
            5 => Value::Array((0..self.below(4)).map(|_| self.json(depth - 1)).collect()),
            _ => {
                let mut object = Map::new();
                for _ in 0..self.below(5) {
                    let key =
                        self.pick(&["kind", "identifiers", "email", "reason", "note", MARKER, ""]);
                    object.insert(key.to_string(), self.json(depth - 1));
                }
                Value::Object(object)
            }
        }
    }
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn id_segment(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 | 9..=11 => (1 + rng.below(5)).to_string(),
        1 => rng.next().to_string(),
        2 => format!("-{}", rng.below(100)),
        3 => "9".repeat(1 + rng.below(40)),
        4 => percent_encode(MARKER.as_bytes()),
        5 => percent_encode(&rng.bytes(12)),
        6 => percent_encode(format!("{MARKER}@example.se").as_bytes()),
        7 => "..".to_owned(),
        _ => "0".to_owned(),
    }
}

fn path(rng: &mut Rng) -> String {
    let mut path = match rng.below(10) {
        0..=5 => rng.pick(ROUTES).1.replace("{id}", &id_segment(rng)),
        6 => format!("/v1/{}", percent_encode(MARKER.as_bytes())),
        7 => format!("{}/{}", rng.pick(ROUTES).1, id_segment(rng)),
        8 => format!("{}/", rng.pick(ROUTES).1.replace("{id}", "1")),
        _ => (0..rng.below(5))
            .map(|_| format!("/{}", id_segment(rng)))
            .collect(),
    };
    if path.is_empty() {
        path.push('/');
    }
    if rng.chance(40) {
        let pairs: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                let key = rng.pick(&["open", "limit", "email", MARKER]).to_string();
                let value = match rng.below(5) {
                    0 => "true".to_owned(),
                    1 => rng.below(2000).to_string(),
                    2 => MARKER.to_owned(),
                    _ => percent_encode(&rng.bytes(10)),
                };
                format!("{key}={value}")
            })
            .collect();
        path = format!("{path}?{}", pairs.join("&"));
    }
    path
}

/// A well-formed body for the route `uri` names (mostly), so requests reach the service.
fn valid_body(rng: &mut Rng, uri: &str) -> Value {
    let path = uri.split('?').next().unwrap_or("");
    let which = if rng.chance(80) && path.ends_with("/cancel") {
        1
    } else if rng.chance(80) && path.ends_with("/done") {
        2
    } else if rng.chance(80) && path == "/v1/requests" {
        0
    } else {
        rng.below(3)
    };
    match which {
        0 => json!({"kind": "erase", "identifiers": {"email": format!("{MARKER}@example.se")}}),
        1 => json!({"reason": "duplicate"}),
        _ => json!({"note": "shredded"}),
    }
}

fn body(rng: &mut Rng, uri: &str) -> Vec<u8> {
    match rng.below(11) {
        0 => Vec::new(),
        1 => rng.bytes(300),
        10 => valid_body(rng, uri).to_string().into_bytes(),
        2 | 3 => rng.json(5).to_string().into_bytes(),
        4 | 5 => {
            // A valid body with one thing changed.
            let mut value = valid_body(rng, uri);
            let object = value.as_object_mut().unwrap();
            let key = object.keys().next().unwrap().clone();
            match rng.below(4) {
                0 => {
                    object.insert(key, rng.json(3));
                }
                1 => {
                    object.insert(MARKER.to_owned(), rng.json(2));
                }
                2 => {
                    object.remove(&key);
                }
                _ => {
                    object.insert("identifiers".into(), rng.json(3));
                }
            }
            value.to_string().into_bytes()
        }
        6 => {
            // The right shape with generated values: reaches validation (422) and the service.
            let mut value = valid_body(rng, uri);
            let object = value.as_object_mut().unwrap();
            if object.contains_key("kind") {
                let field = *rng.pick(&["email", "personnummer", "customer_id", "phone", "domain"]);
                object.insert("identifiers".into(), json!({ field: rng.text() }));
                if rng.chance(30) {
                    object.insert("kind".into(), Value::String(rng.text()));
                }
            } else if rng.chance(70) {
                let key = object.keys().next().unwrap().clone();
                object.insert(key, Value::String(rng.text()));
            }
            value.to_string().into_bytes()
        }
        7 => {
            let mut bytes = valid_body(rng, uri).to_string().into_bytes();
            let cut = rng.below(bytes.len());
            bytes.truncate(cut);
            bytes
        }
        8 => {
            let depth = 1 + rng.below(50_000);
            let mut nested = "[".repeat(depth);
            nested.push_str(&"]".repeat(depth));
            nested.into_bytes()
        }
        _ => {
            if rng.chance(10) {
                vec![b'7'; 70 * 1024]
            } else {
                format!(r#"{{"reason":"{}"}}"#, rng.text()).into_bytes()
            }
        }
    }
}

/// Whether `uri`'s path fits a route template (`{id}` matches any one segment).
fn template_matches(template: &str, uri: &str) -> bool {
    let path = uri.split('?').next().unwrap_or("");
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| *t == "{id}" || t == p)
}

#[tokio::test]
async fn thousands_of_hostile_requests_never_get_a_5xx_or_an_echo() {
    let (app, fake) = app(bearer());
    // Requests 1 to 5 exist, so generated ids often name one.
    for _ in 0..5 {
        let email = Identifier::parse(IdentifierKind::Email, "seed@example.se").unwrap();
        fake.submit(RequestKind::Erase, vec![email]).unwrap();
    }
    let codes: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| !c.status().is_server_error())
        .map(|c| c.as_str())
        .collect();
    let methods = [
        "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FROB",
    ];
    let mut rng = Rng(0x6761_6c6c_7261);
    let mut statuses = std::collections::BTreeMap::new();
    let mut sent = 0;
    while sent < 4000 {
        let uri = path(&mut rng);
        // Mostly the method the route takes, so requests get past routing.
        let route_methods: Vec<&str> = ROUTES
            .iter()
            .filter(|(_, template)| template_matches(template, &uri))
            .map(|(m, _)| *m)
            .collect();
        let method = if !route_methods.is_empty() && rng.chance(70) {
            *rng.pick(&route_methods)
        } else {
            *rng.pick(&methods)
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut builder = Request::builder().method(method.clone()).uri(&uri);
        match rng.below(10) {
            0 => {}
            1 => builder = builder.header("authorization", format!("Bearer {MARKER}")),
            2 => builder = builder.header("authorization", "Bearer"),
            _ => builder = builder.header("authorization", format!("Bearer {TOKEN}")),
        }
        match rng.below(6) {
            0 => {}
            1 => builder = builder.header("content-type", "text/plain"),
            2 => builder = builder.header("content-type", MARKER),
            _ => builder = builder.header("content-type", "application/json"),
        }
        let body = body(&mut rng, &uri);
        let described = format!(
            "{method} {uri} {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        let Ok(request) = builder.body(Body::from(body)) else {
            continue; // not a valid HTTP request at all; no server would see it
        };
        sent += 1;
        let answer = send(&app, request).await;
        *statuses.entry(answer.status.as_u16()).or_insert(0) += 1;
        assert!(
            !answer.status.is_server_error(),
            "{described}: {} {}",
            answer.status,
            answer.text
        );
        if answer.status.is_client_error() && method != Method::HEAD {
            assert!(
                codes.contains(&answer.code()),
                "{described}: {}",
                answer.text
            );
            assert!(
                !answer.text.contains(MARKER),
                "{described} echoed: {}",
                answer.text
            );
            assert!(
                !answer.text.contains("19811218"),
                "{described} echoed: {}",
                answer.text
            );
        }
    }
    eprintln!("hostile requests: {sent} sent, by status {statuses:?}");
    // The generator reached past the guards, not only the 400s.
    for status in [200, 201, 400, 401, 404, 405, 413, 422] {
        assert!(
            statuses.contains_key(&status),
            "no {status} in {statuses:?}"
        );
    }
}

/// A personnummer or phone number used as a field name (in the body, nested, or the query
/// string) looks like any name: neither it nor its value comes back in the answer.
#[tokio::test]
async fn a_field_named_by_digits_is_never_repeated_nor_its_value() {
    let (app, fake) = app(bearer());
    let cases = [
        (
            "POST",
            "/v1/requests",
            Some(r#"{"kind":"erase","198112189876":"0701234567"}"#),
        ),
        (
            "POST",
            "/v1/requests",
            Some(r#"{"kind":"erase","identifiers":{"198112189876":"0701234567"}}"#),
        ),
        (
            "POST",
            "/v1/requests/1/cancel",
            Some(r#"{"reason":"x","46701234567":"198112189876"}"#),
        ),
        (
            "POST",
            "/v1/tasks/1/done",
            Some(r#"{"198112189876":1,"note":"x"}"#),
        ),
        ("GET", "/v1/requests?198112189876=0701234567", None),
        ("GET", "/v1/requests?limit=5&46701234567=1", None),
    ];
    for (method, uri, body) in cases {
        let answer = call(&app, method, uri, body).await;
        assert!(
            answer.status.is_client_error(),
            "{uri} {body:?}: {}",
            answer.status
        );
        assert_eq!(
            answer.code(),
            "bad_request",
            "{uri} {body:?}: {}",
            answer.text
        );
        for secret in ["198112189876", "0701234567", "46701234567"] {
            assert!(
                !answer.text.contains(secret),
                "{method} {uri} {body:?} echoed {secret}: {}",
                answer.text
            );
        }
        assert!(answer.text.contains("unknown"), "{}", answer.text);
    }
    assert!(fake.submitted().is_empty());
}
