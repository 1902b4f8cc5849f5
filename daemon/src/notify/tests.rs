//! Notices through a real SMTP server (the test sink, or a scripted one that refuses) and a
//! real HTTP server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;
use gallra_testkit::smtp_sink::SmtpSink;

const RECIPIENT: &str = "asa.oberg@example.se";

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        from: "Integritet <privacy@hosting.example>".into(),
        starttls: false,
        username: None,
        password: None,
        timeout: Duration::from_secs(10),
    }
}

fn assert_private(err: &NotifyError) {
    let text = format!("{err} {err:?}");
    for secret in [
        RECIPIENT,
        "asa.oberg",
        "Hälsningar",
        "secret-token",
        "/gdpr/",
    ] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
}

#[tokio::test]
async fn an_email_reaches_the_recipient_with_the_exact_subject_and_body() {
    let sink = SmtpSink::start().await.unwrap();
    let subject = "Ditt konto raderas den 2026-05-01 — hälsningar från Gällra";
    let body = "Hej!\n\nDitt konto tas bort den 2026-05-01 om du inte loggar in.\n\
                .En rad som börjar med punkt.\n\
                Åäö ÅÄÖ é ü — en lång rad som fortsätter och fortsätter bortom sjuttiosex tecken \
                så att den måste brytas av kodningen.\n\nHälsningar,\nIntegritetsteamet\n";
    send_email(&settings(sink.port()), RECIPIENT, subject, body)
        .await
        .unwrap();

    let mails = sink.wait_for(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, [RECIPIENT]);
    assert_eq!(mail.from, "privacy@hosting.example");
    assert_eq!(mail.authenticated_as, None);
    assert_eq!(mail.header("Subject").as_deref(), Some(subject));
    assert_eq!(mail.header("To").as_deref(), Some(RECIPIENT));
    assert!(mail.header("Message-ID").is_some());
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .to_ascii_lowercase()
        .starts_with("text/plain; charset=utf-8"));
    // lettre ends DATA with CRLF "." CRLF even after a final line break, which adds an
    // empty line at the end; everything before it is the body as written.
    let received = mail.body_text().replace("\r\n", "\n");
    assert_eq!(received.trim_end_matches('\n'), body.trim_end_matches('\n'));
}

#[tokio::test]
async fn credentials_are_used_on_a_relay_on_this_host() {
    let sink = SmtpSink::start().await.unwrap();
    let mut s = settings(sink.port());
    s.username = Some("gallra".into());
    s.password = Some("hunter2".into());
    send_email(&s, RECIPIENT, "x", "y").await.unwrap();
    let mails = sink.wait_for(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(mails[0].authenticated_as.as_deref(), Some("gallra"));
}

#[test]
fn smtp_settings_debug_hides_the_password() {
    let mut s = settings(25);
    s.password = Some("hunter2".into());
    let debug = format!("{s:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[tokio::test]
async fn a_relay_that_is_down_is_transient_and_the_error_names_no_recipient() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = send_email(&settings(port), RECIPIENT, "Hälsningar", "Hälsningar")
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert_private(&err);
}

#[tokio::test]
async fn invalid_addresses_and_unsafe_settings_are_permanent_and_unnamed() {
    let sink = SmtpSink::start().await.unwrap();
    let err = send_email(&settings(sink.port()), "asa.oberg@", "s", "b")
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(
        err.to_string().contains("recipient is not a valid"),
        "{err}"
    );
    assert!(!err.to_string().contains("asa.oberg"), "{err}");

    let mut remote = settings(587);
    remote.host = "mail.example.se".into();
    remote.username = Some("gallra".into());
    remote.password = Some("hunter2".into());
    let err = send_email(&remote, RECIPIENT, "s", "b").await.unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("unencrypted"), "{err}");

    // STARTTLS required, but the sink does not offer it: nothing is sent.
    let mut tls = settings(sink.port());
    tls.host = "localhost".into();
    tls.starttls = true;
    let err = send_email(&tls, RECIPIENT, "s", "b").await.unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert_private(&err);
    assert!(sink.messages().is_empty());
}

/// A relay that answers RCPT TO with `reply`, echoing the address as real relays do.
async fn refusing_relay(reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 refusing\r\n").await.ok()?;
                while let Some(line) = lines.next_line().await.ok()? {
                    let upper = line.to_ascii_uppercase();
                    let answer = if upper.starts_with("RCPT") {
                        let addr = line.split(':').nth(1).unwrap_or("").trim();
                        format!("{reply} {addr}: refused\r\n")
                    } else if upper.starts_with("QUIT") {
                        "221 bye\r\n".to_owned()
                    } else {
                        "250 OK\r\n".to_owned()
                    };
                    write.write_all(answer.as_bytes()).await.ok()?;
                }
                Some(())
            });
        }
    });
    port
}

#[tokio::test]
async fn smtp_replies_are_classified_and_their_text_is_never_repeated() {
    let cases = [
        ("550 5.1.1", false),
        ("451 4.3.0", true),
        ("452 4.2.2", true),
    ];
    for (reply, transient) in cases {
        let port = refusing_relay(reply).await;
        let err = send_email(&settings(port), RECIPIENT, "s", "b")
            .await
            .unwrap_err();
        assert_eq!(err.is_transient(), transient, "{reply}: {err}");
        assert!(err.to_string().contains(&reply[..3]), "{err}");
        assert_private(&err);
    }
}

/// What the webhook received: the Authorization header and the JSON body, per call.
type Calls = Vec<(Option<String>, serde_json::Value)>;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Calls>>);

async fn webhook_server() -> (String, Seen) {
    async fn record(
        State(seen): State<Seen>,
        headers: HeaderMap,
        Json(body): Json<serde_json::Value>,
    ) -> StatusCode {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        seen.0.lock().unwrap().push((auth, body));
        StatusCode::NO_CONTENT
    }
    let seen = Seen::default();
    let app = Router::new()
        .route("/gdpr/ok", post(record))
        .route(
            "/gdpr/busy",
            post(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route(
            "/gdpr/limited",
            post(|| async { StatusCode::TOO_MANY_REQUESTS }),
        )
        .route("/gdpr/bad", post(|| async { StatusCode::BAD_REQUEST }))
        .route(
            "/gdpr/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

#[tokio::test]
async fn a_webhook_answering_204_is_delivered_with_bearer_and_body() {
    let (base, seen) = webhook_server().await;
    let body = serde_json::json!({"request": 42, "email": RECIPIENT, "delete_by": "2026-05-01"});
    post_webhook(
        &format!("{base}/gdpr/ok"),
        Some("secret-token"),
        &body,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen, [(Some("Bearer secret-token".to_owned()), body)]);
}

#[tokio::test]
async fn webhook_statuses_are_transient_or_permanent_and_errors_stay_private() {
    let (base, _) = webhook_server().await;
    let body = serde_json::json!({"email": RECIPIENT});
    let cases = [
        ("/gdpr/busy", true, "503"),
        ("/gdpr/limited", true, "429"),
        ("/gdpr/bad", false, "400"),
        ("/gdpr/missing", false, "404"),
    ];
    for (path, transient, status) in cases {
        let err = post_webhook(
            &format!("{base}{path}?token=secret-token"),
            Some("secret-token"),
            &body,
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(err.is_transient(), transient, "{path}: {err}");
        let text = err.to_string();
        assert!(text.contains(status), "{text}");
        assert!(text.contains(base.trim_start_matches("http://")), "{text}");
        assert_private(&err);
    }
}

#[tokio::test]
async fn a_webhook_that_is_slow_or_down_is_transient() {
    let (base, _) = webhook_server().await;
    let body = serde_json::json!({});
    let err = post_webhook(
        &format!("{base}/gdpr/slow"),
        None,
        &body,
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = post_webhook(
        &format!("http://127.0.0.1:{port}/gdpr/x"),
        None,
        &body,
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_private(&err);
}

#[tokio::test]
async fn a_webhook_url_that_is_invalid_or_plain_http_to_another_host_is_refused() {
    let body = serde_json::json!({});
    for url in [
        "not a url /gdpr/",
        "http://partner.example/gdpr/delete",
        "ftp://partner.example/gdpr/delete",
    ] {
        let err = post_webhook(url, None, &body, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(!err.is_transient(), "{url}: {err}");
        assert_private(&err);
    }
}
