//! Streamable HTTP at `/mcp`: rmcp's service behind our guard and body checks, on one TCP
//! listener with our own accept loop (connection cap, header-read and keep-alive timeouts).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::body::{self, BodyCheck};
use super::guard::{self, is_loopback_host, GuardConfig};
use super::sessions::{BoundedSessionManager, SessionLimits};
use crate::errors::SidecarError;
use crate::mcp_handler::{Shared, SidecarHandler};

pub const MCP_PATH: &str = "/mcp";

/// Largest request body (rmcp's default too); bigger ones get 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How many TCP connections may be open at once, and how long a client may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// For a request's head to arrive, counted from the connection's start or the previous
    /// response; so it is also the keep-alive idle timeout. The body gets as long again.
    pub header_timeout: Duration,
}

/// Binds `host:port`, refusing a non-loopback host unless explicitly allowed.
pub async fn bind(
    host: &str,
    port: u16,
    allow_non_loopback: bool,
) -> Result<TcpListener, SidecarError> {
    if !allow_non_loopback && !is_loopback_host(host) {
        return Err(SidecarError::NonLoopbackHost(host.to_owned()));
    }
    let bind_error = |source: io::Error| SidecarError::Bind {
        addr: format!("{host}:{port}"),
        source,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    // `localhost` is pinned to 127.0.0.1 so a resolver cannot move the listener.
    let listener = match host.parse::<IpAddr>() {
        Ok(ip) => TcpListener::bind(SocketAddr::new(ip, port)).await,
        Err(_) if host.eq_ignore_ascii_case("localhost") => {
            TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await
        }
        Err(_) => TcpListener::bind((host, port)).await,
    };
    listener.map_err(bind_error)
}

/// The app: `/mcp` served by rmcp, behind [`guard::guard`] and then [`body::check`].
pub fn router(
    shared: Arc<Shared>,
    guard_config: GuardConfig,
    sessions: SessionLimits,
    header_timeout: Duration,
) -> Router {
    let mut local = LocalSessionManager::default();
    // No SSE priming events: each POST stream carries just its JSON-RPC messages.
    local.session_config.sse_retry = None;
    let session_manager = BoundedSessionManager::new(local, sessions);
    let mut config = StreamableHttpServerConfig::default()
        .with_sse_retry(None)
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    if !guard_config.loopback_host_only {
        // The operator opted into a public bind; their Host names are unknown to us.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(SidecarHandler::new(shared.clone())),
        session_manager.clone(),
        config,
    );
    let check = Arc::new(BodyCheck {
        sessions: session_manager,
        max_bytes: MAX_BODY_BYTES,
        timeout: header_timeout,
    });
    // Tells clients (undici, …) when we close an idle connection, so they do not reuse it late.
    let keep_alive = HeaderValue::from_str(&format!("timeout={}", header_timeout.as_secs())).ok();
    Router::new()
        .route_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn(delete_answers_ok))
        .layer(axum::middleware::from_fn_with_state(check, body::check))
        .layer(axum::middleware::map_response(
            move |mut response: Response| {
                let keep_alive = keep_alive.clone().filter(|_| header_timeout.as_secs() > 0);
                async move {
                    if let Some(value) = keep_alive {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static("keep-alive"), value);
                    }
                    response
                }
            },
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard_config),
            guard::guard,
        ))
}

/// A session `DELETE` that rmcp accepted (202) is answered 200: the official SDK clients take
/// 200 or 204 as a terminated session and log anything else as a failure.
async fn delete_answers_ok(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let is_delete = request.method() == hyper::Method::DELETE;
    let mut response = next.run(request).await;
    if is_delete && response.status() == hyper::StatusCode::ACCEPTED {
        *response.status_mut() = hyper::StatusCode::OK;
    }
    response
}

/// Serves until the process exits.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
) -> Result<(), SidecarError> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    // hyper enforces the header timeout only with a timer; `axum::serve` installs none.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors or a connection reset before accept: wait, do not spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection cap reached; closing a new connection");
            drop(tcp);
            continue;
        };
        // SSE answers go out as several small writes; without NODELAY, Nagle plus the client's
        // delayed ACK adds ~40 ms to every tools/call.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY");
        }
        let connection =
            http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app.clone()));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
}
