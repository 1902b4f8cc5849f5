//! The `/metrics` listener, scraped over real HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use gallra::metrics::{
    serve_metrics, serve_metrics_on, CallOutcome, Metrics, MetricsError, Operation, RunOutcome,
    SafeName, TaskOutcome, CONTENT_TYPE,
};
use gallra::requests::RequestKind;
use gallra::store::Action;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Served {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), MetricsError>>,
}

async fn serve(metrics: Metrics) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_metrics_on(listener, metrics, async {
        let _ = stopped.await;
    }));
    Served { addr, stop, task }
}

fn client() -> reqwest::Client {
    // No proxy: a proxy set in the environment must not intercept 127.0.0.1.
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.split(' ').next()?.parse().ok()
    })
}

#[tokio::test]
async fn a_scrape_returns_openmetrics_text_with_the_current_values() {
    let metrics = Metrics::new();
    let served = serve(metrics.clone()).await;
    let crm = SafeName::new("crm").unwrap();
    let policy = SafeName::new("inactive").unwrap();
    metrics.run_finished(
        &policy,
        RunOutcome::Done,
        12,
        Duration::from_secs(3),
        Timestamp::from_second(1_700_000_000).unwrap(),
    );
    metrics.task_finished(&crm, Action::Erase, TaskOutcome::Done);
    metrics.connector_call(
        &crm,
        Operation::Erase,
        CallOutcome::Ok,
        Duration::from_millis(7),
    );
    metrics.request_received(RequestKind::Export);

    let url = format!("http://{}/metrics", served.addr);
    let response = client().get(&url).send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, CONTENT_TYPE);
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"));
    let body = response.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"));
    assert_eq!(sample(&body, "gallra_up"), Some(1.0));
    assert_eq!(
        sample(
            &body,
            r#"gallra_policy_runs_total{policy="inactive",outcome="done"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            r#"gallra_policy_subjects_selected{policy="inactive"}"#
        ),
        Some(12.0)
    );
    assert_eq!(
        sample(
            &body,
            r#"gallra_tasks_total{system="crm",action="erase",outcome="done"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            r#"gallra_connector_call_duration_seconds_count{system="crm",operation="erase"}"#
        ),
        Some(1.0)
    );

    // The next scrape sees what happened since.
    metrics.request_received(RequestKind::Export);
    let body = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&body, r#"gallra_requests_received_total{kind="export"}"#),
        Some(2.0)
    );

    served.stop.send(()).unwrap();
    served.task.await.unwrap().expect("clean stop");
}

#[tokio::test]
async fn only_get_metrics_is_served() {
    let served = serve(Metrics::new()).await;
    let base = format!("http://{}", served.addr);
    let c = client();
    for path in [
        "/",
        "/metrics/",
        "/metrics/x",
        "/api/v1/requests",
        "/favicon.ico",
    ] {
        let status = c
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    let head = c.head(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let post = c.post(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    served.stop.send(()).unwrap();
    served.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_port_in_use_is_reported_with_its_address() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = serve_metrics(addr, Metrics::new(), std::future::pending())
        .await
        .expect_err("the port is taken");
    assert!(matches!(err, MetricsError::Bind { .. }));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
