//! The admin API and metrics listeners. They outlive a configuration reload: the API keeps
//! answering while the work in hand finishes on the old configuration, and they are opened
//! again only when the reload changes where they listen or which tokens they accept.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::current::CurrentService;
use super::{stopped, ServeError};
use crate::api::{self, Auth};
use crate::config::{ApiConfig, Config};
use crate::metrics::Metrics;
use crate::requests::RequestService;

/// Where the listeners listen and whom they let in: what a reload must keep for them to stay.
#[derive(Clone, PartialEq, Eq)]
pub struct Plan {
    api: ApiConfig,
    tokens: Option<Vec<String>>,
    metrics: Option<SocketAddr>,
}

impl Plan {
    /// The listeners `config` asks for, with its bearer tokens read (a tokens file that
    /// cannot be read refuses the configuration).
    pub fn of(config: &Config) -> Result<Self, ServeError> {
        let tokens = match (config.api.listen, config.api.tokens_file.as_deref()) {
            (Some(_), Some(file)) => Some(api::load_tokens(file)?),
            _ => None,
        };
        Ok(Self {
            api: config.api.clone(),
            tokens,
            metrics: config.metrics_listen,
        })
    }
}

/// Running listeners.
pub struct Listeners {
    plan: Plan,
    service: Arc<CurrentService>,
    pub(super) tasks: JoinSet<Result<(), ServeError>>,
    stop: watch::Sender<bool>,
}

impl Listeners {
    /// Binds every listener of `plan` (so that a port or socket that cannot be had is an
    /// error here, before the service says it is ready), then serves them, handing requests
    /// to `service`.
    pub async fn start(
        plan: Plan,
        service: Arc<dyn RequestService>,
        metrics: &Metrics,
    ) -> Result<Self, ServeError> {
        // All bound before any is served: a failure leaves nothing half-started.
        let unix = match &plan.api.socket {
            Some(socket) => Some((api::bind_unix(socket)?, socket.clone())),
            None => None,
        };
        let tcp = match (plan.api.listen, &plan.tokens) {
            (Some(addr), Some(tokens)) => Some((api::bind_tcp(addr).await?, tokens.clone())),
            _ => None,
        };
        let scrape = match plan.metrics {
            Some(addr) => Some(
                crate::metrics::bind_metrics(addr)
                    .await
                    .map_err(|e| ServeError::Metrics(e.to_string()))?,
            ),
            None => None,
        };
        let service = Arc::new(CurrentService::new(service));
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let shared: Arc<dyn RequestService> = service.clone();
        // The Unix socket without tokens (its file mode guards it), TCP with bearer tokens.
        if let Some((listener, socket)) = unix {
            let router = api::router(Arc::clone(&shared), Auth::None);
            let stopped = stopped(stop_rx.clone());
            tasks.spawn(async move {
                Ok(api::serve_unix_on(listener, &socket, router, stopped).await?)
            });
        }
        if let Some((listener, tokens)) = tcp {
            let router = api::router(shared, Auth::Bearer(tokens));
            let stopped = stopped(stop_rx.clone());
            tasks.spawn(async move { Ok(api::serve_tcp_on(listener, router, stopped).await?) });
        }
        if let Some(listener) = scrape {
            let stopped = stopped(stop_rx);
            let metrics = metrics.clone();
            tasks.spawn(async move {
                crate::metrics::serve_metrics_on(listener, metrics, stopped)
                    .await
                    .map_err(|e| ServeError::Metrics(e.to_string()))
            });
        }
        Ok(Self {
            plan,
            service,
            tasks,
            stop,
        })
    }

    /// Whether these listeners serve `plan` as they are.
    pub fn serve(&self, plan: &Plan) -> bool {
        &self.plan == plan
    }

    /// From now on requests go to `service` (a reloaded configuration's).
    pub fn switch(&self, service: Arc<dyn RequestService>) {
        self.service.switch(service);
    }

    /// Closes the listeners; calls under way are answered first.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(error) = super::flatten(joined) {
                tracing::error!(%error, "a listener stopped with an error");
            }
        }
    }
}
