//! Building and running the application. Tests build it on port 0 with a fresh database; `roster serve` builds it
//! from the command line.
use crate::config::Config;
use crate::guard::Guards;
use crate::store::Db;
use crate::store::sessions::Sessions;
use crate::web::{AppState, router};
use anyhow::Context;
use leptos::prelude::LeptosOptions;
use roster::service::Services;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

/// SIGHUP reopens the `--audit-log` file, after logrotate has moved it.
fn spawn_reopen_on_hangup(audit: crate::audit_log::AuditStream) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; the audit log will not be reopened on rotation");
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reopening the audit log");
            audit.reopen();
        }
    });
}

pub struct Application {
    listener: TcpListener,
    /// `--metrics-listen`: its own listener and router.
    metrics: Option<(TcpListener, axum::Router)>,
    router: axum::Router,
    public_url: String,
    setup_token: Option<String>,
    pub services: Services,
    header_timeout: Duration,
}

impl Application {
    /// Connects, migrates (a failure stops here with the reason), binds, and wires everything.
    pub async fn build(config: &Config) -> anyhow::Result<Application> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let audit = config.audit_stream(false)?;
        if let Some(audit) = audit.clone().filter(|a| a.is_file()) {
            spawn_reopen_on_hangup(audit);
        }
        let store = db.store_with_audit(audit);
        let sessions = Sessions::new(store.clone());
        let cleanup = sessions.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = cleanup.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
        let hours = |h: u32| Duration::from_secs(u64::from(h) * 3600);
        let mut services = Services::new(store);
        services.admins =
            services.admins.with_session_lifetime(hours(config.session_lifetime_hours).as_millis() as i64);
        let (policy, keys) = (config.network_policy()?, config.secret_keys()?);
        if !keys.is_set() {
            tracing::warn!(
                "webhook signing secrets are stored in clear: set --secret-key-file (ROSTER_SECRET_KEY_FILE) to seal them"
            );
        }
        services.sso = services.sso.clone().with_keys(keys.clone()).with_client(Arc::new(crate::oidc::Oidc::new()?));
        if services.sso.reseal_secret().await? {
            tracing::info!("sealed the single sign-on client secret with the key file's first key");
        }
        let sender = Arc::new(crate::webhooks::HttpSender::new(policy.clone())?);
        services.webhooks =
            services.webhooks.with_policy(config.webhook_allow_http, policy).with_keys(keys).with_sender(sender);
        let resealed = services.webhooks.reseal_secrets().await?;
        if resealed > 0 {
            tracing::info!(secrets = resealed, "sealed webhook signing secrets with the key file's first key");
        }
        services.webhooks.spawn_delivery();
        // Entries from before the log's hash chain (an upgrade) get their hashes before anything else is written.
        services.audit.seal_backlog().await?;
        let setup_token = services.admins.issue_setup_token().await?;
        spawn_log_pruning(services.clone(), config.log_retention_days, config.event_retention_days);
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_url = config.public_url(addr);
        let guards = Guards::new(
            config.public_url.as_deref(),
            config.trusted_proxy_header.as_deref(),
            Duration::from_secs(config.request_timeout_secs.max(1)),
        )?;
        let site = crate::site::Site::resolve(config.site_root.as_deref());
        let leptos = LeptosOptions::builder()
            .output_name("roster")
            .site_root(site.root())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let state = AppState::new(services.clone(), public_url.clone(), leptos);
        let router = router(state, sessions, Arc::new(guards), hours(config.session_idle_hours), site);
        let header_timeout = Duration::from_secs(config.header_timeout_secs.max(1));
        let metrics = match config.metrics_listen {
            Some(addr) => {
                let handle = crate::metrics::install()?;
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} for metrics (--metrics-listen)"))?;
                tracing::info!("metrics at http://{}/metrics", listener.local_addr()?);
                let scrape = crate::metrics::Scrape { handle, services: services.clone(), db: db.clone() };
                Some((listener, crate::metrics::router(scrape)))
            }
            None => None,
        };
        Ok(Application { listener, metrics, router, public_url, setup_token, services, header_timeout })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Where `/metrics` is served, when `--metrics-listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The one-time first-run token, when no admin exists yet.
    pub fn setup_token(&self) -> Option<&str> {
        self.setup_token.as_deref()
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if let Some((listener, router)) = self.metrics {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        crate::serve::serve(self.listener, self.router, self.header_timeout, shutdown()).await
    }
}

/// Prunes the provisioning log (keeping `days` days) and directory events (keeping `event_days`) every hour,
/// starting a minute after start.
fn spawn_log_pruning(services: Services, days: u32, event_days: u32) {
    let ms = |d: u32| i64::from(d) * 24 * 3600 * 1000;
    let (retention, event_retention) = (ms(days), ms(event_days));
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        loop {
            match services.settings.prune_log(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, days, "pruned the provisioning log"),
                Err(e) => tracing::warn!(error = %e, "could not prune the provisioning log"),
            }
            match services.directory.prune_events(event_retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, days = event_days, "pruned directory events"),
                Err(e) => tracing::warn!(error = %e, "could not prune directory events"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
