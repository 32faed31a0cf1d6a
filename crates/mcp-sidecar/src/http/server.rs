//! Streamable HTTP at `/mcp`: rmcp's service behind our guard, on one TCP listener.

use axum::serve::ListenerExt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use super::guard::{self, is_loopback_host, GuardConfig};
use crate::errors::SidecarError;
use crate::mcp_handler::{Shared, SidecarHandler};

pub const MCP_PATH: &str = "/mcp";

/// An MCP session with no traffic for this long is closed (its client gets 404 and re-initializes).
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

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

/// The app: `/mcp` served by rmcp, every route behind [`guard::guard`].
pub fn router(shared: Arc<Shared>, guard_config: GuardConfig) -> Router {
    let mut session_manager = LocalSessionManager::default();
    // No SSE priming events: each POST stream carries just its JSON-RPC messages.
    session_manager.session_config.sse_retry = None;
    // rmcp drops a session after 5 idle minutes; a local assistant may idle far longer.
    session_manager.session_config.keep_alive = Some(SESSION_IDLE_TIMEOUT);
    let mut config = StreamableHttpServerConfig::default().with_sse_retry(None);
    if !guard_config.loopback_host_only {
        // The operator opted into a public bind; their Host names are unknown to us.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(SidecarHandler::new(shared.clone())),
        Arc::new(session_manager),
        config,
    );
    Router::new()
        .route_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard_config),
            guard::guard,
        ))
}

/// Serves until the process exits.
pub async fn serve(listener: TcpListener, app: Router) -> Result<(), SidecarError> {
    // SSE answers go out as several small writes; without NODELAY, Nagle plus the client's
    // delayed ACK adds ~40 ms to every tools/call.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("could not set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, app)
        .await
        .map_err(|e| SidecarError::Internal(format!("HTTP server failed: {e}")))
}
