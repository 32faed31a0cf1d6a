//! The sidecar's life: connect, authenticate, list tools, serve MCP, and stop on the
//! host's word, on a lost connection or on the parent's death.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::cli::{Cli, Transport};
use crate::errors::{ExitCode, SidecarError};
use crate::http::guard::GuardConfig;
use crate::http::server::{self, ConnectionLimits};
use crate::http::sessions::SessionLimits;
use crate::ipc::client::{self, HostEvent, IpcClient, IpcError};
use crate::ipc::protocol::{method, PROTOCOL_VERSION};
use crate::mcp_handler::{HostFeatures, Shared, SidecarHandler};
use crate::parent_watch;
use crate::session_registry::{ListChanged, SessionRegistry};
use crate::tools::{ToolRegistry, ToolSet};

/// How long the host may take to answer `auth.hello` and `tool.list`.
const HOST_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

type TransportFuture = Pin<Box<dyn Future<Output = Result<ExitCode, SidecarError>> + Send>>;

/// Runs until it is time to exit; the result decides the exit code.
pub async fn run(cli: Cli, token: Arc<str>) -> Result<ExitCode, SidecarError> {
    let parent = cli.parent_pid;
    let parent_died = async move {
        match parent {
            Some(pid) => {
                parent_watch::wait_for_exit(pid).await;
                pid
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        pid = parent_died => Err(SidecarError::ParentDied(pid)),
        result = serve(cli, token) => result,
    }
}

async fn serve(cli: Cli, token: Arc<str>) -> Result<ExitCode, SidecarError> {
    let (reader, writer) = cli
        .ipc
        .connect()
        .await
        .map_err(|source| SidecarError::Connect {
            endpoint: cli.ipc.to_string(),
            source,
        })?;
    let (ipc, mut events) = IpcClient::spawn(reader, writer);
    let features = authenticate(&ipc, &token).await?;
    let tools = list_tools(&ipc).await?;
    tracing::info!(count = tools.all().len(), "host tools listed");
    let shared = Arc::new(Shared {
        ipc: ipc.clone(),
        tools: ToolRegistry::new(tools),
        sessions: SessionRegistry::default(),
        features,
        tool_timeout: Duration::from_millis(cli.tool_timeout_ms),
    });

    let mut transport: TransportFuture = match cli.transport {
        Transport::Http => {
            let listener = server::bind(&cli.host, cli.port, cli.allow_non_loopback).await?;
            let addr = listener.local_addr().map_err(|e| {
                SidecarError::Internal(format!("cannot read the bound address: {e}"))
            })?;
            let guard = GuardConfig {
                loopback_host_only: !cli.allow_non_loopback,
                allowed_origins: cli.allowed_origins.clone(),
                bearer_token: cli.require_auth.then(|| token.clone()),
            };
            let sessions = SessionLimits {
                max_sessions: cli.max_sessions as usize,
                idle_timeout: cli.session_idle_timeout,
            };
            let connections = ConnectionLimits {
                max_connections: cli.max_connections as usize,
                header_timeout: cli.header_timeout,
            };
            let app = server::router(shared.clone(), guard, sessions, cli.header_timeout);
            let url = format!("http://{addr}{}", server::MCP_PATH);
            ready(&ipc, json!({"port": addr.port(), "url": url})).await?;
            announce_ready(addr.port());
            tracing::info!(%url, "serving MCP over HTTP");
            Box::pin(async move {
                server::serve(listener, app, connections).await?;
                Err(SidecarError::Internal("HTTP server stopped".into()))
            })
        }
        Transport::Stdio => {
            ready(&ipc, json!({"port": Value::Null, "url": Value::Null})).await?;
            Box::pin(serve_stdio(shared.clone()))
        }
    };

    let refresh = Arc::new(Notify::new());
    tokio::spawn(refresh_tools(shared.clone(), refresh.clone()));
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(HostEvent::Shutdown { id }) => {
                    tracing::info!("lifecycle.shutdown received");
                    if let Err(error) = ipc.respond(id, json!({})).await {
                        tracing::warn!(%error, "could not answer lifecycle.shutdown");
                    }
                    return Ok(ExitCode::Clean);
                }
                // Coalesces bursts: one re-list covers every change before it starts.
                Some(HostEvent::ToolsChanged) => refresh.notify_one(),
                Some(HostEvent::ResourcesChanged) => shared.sessions.notify_list_changed(ListChanged::Resources),
                Some(HostEvent::PromptsChanged) => shared.sessions.notify_list_changed(ListChanged::Prompts),
                Some(HostEvent::ResourceUpdated(uri)) => {
                    shared.sessions.notify_resource_updated(&uri);
                }
                Some(HostEvent::Closed(reason)) => return Err(SidecarError::IpcLost(reason.to_string())),
                None => return Err(SidecarError::IpcLost("event channel closed".into())),
            },
            result = &mut transport => return result,
        }
    }
}

/// Returns what the host serves besides tools (its answer's `capabilities`).
async fn authenticate(ipc: &IpcClient, token: &str) -> Result<HostFeatures, SidecarError> {
    let hello = ipc.request(method::AUTH_HELLO, client::hello_params(token));
    let result = match tokio::time::timeout(HOST_ANSWER_TIMEOUT, hello).await {
        Err(_) => {
            return Err(SidecarError::HostSilent(
                method::AUTH_HELLO,
                HOST_ANSWER_TIMEOUT.as_secs(),
            ))
        }
        Ok(Err(IpcError::Rpc(error))) => return Err(SidecarError::AuthRefused(error.message)),
        Ok(Err(IpcError::Closed)) => {
            return Err(SidecarError::IpcLost(
                "the host closed the connection during auth.hello".into(),
            ))
        }
        Ok(Ok(result)) => result,
    };
    match result.get("protocol") {
        None => Ok(HostFeatures::from_hello(&result)),
        Some(version) if version.as_u64() == Some(PROTOCOL_VERSION) => {
            Ok(HostFeatures::from_hello(&result))
        }
        Some(version) => Err(SidecarError::ProtocolMismatch(version.to_string())),
    }
}

async fn list_tools(ipc: &IpcClient) -> Result<ToolSet, SidecarError> {
    let request = ipc.request(method::TOOL_LIST, json!({}));
    let result = match tokio::time::timeout(HOST_ANSWER_TIMEOUT, request).await {
        Err(_) => {
            return Err(SidecarError::HostSilent(
                method::TOOL_LIST,
                HOST_ANSWER_TIMEOUT.as_secs(),
            ))
        }
        Ok(Err(IpcError::Rpc(error))) => {
            return Err(SidecarError::HostError {
                method: method::TOOL_LIST,
                message: error.message,
            })
        }
        Ok(Err(IpcError::Closed)) => {
            return Err(SidecarError::IpcLost(
                "the host closed the connection during tool.list".into(),
            ))
        }
        Ok(Ok(result)) => result,
    };
    ToolSet::from_host(&result).map_err(|e| SidecarError::HostError {
        method: method::TOOL_LIST,
        message: e.to_string(),
    })
}

async fn ready(ipc: &IpcClient, params: Value) -> Result<(), SidecarError> {
    ipc.notify(method::LIFECYCLE_READY, params)
        .await
        .map_err(|_| {
            SidecarError::IpcLost("the host closed the connection before lifecycle.ready".into())
        })
}

/// The one line stdout ever carries in HTTP mode.
fn announce_ready(port: u16) {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "READY {port}").and_then(|()| stdout.flush());
    if let Err(error) = written {
        // The host also learns the port from lifecycle.ready, so keep serving.
        tracing::warn!(%error, "could not print the READY line");
    }
}

async fn serve_stdio(shared: Arc<Shared>) -> Result<ExitCode, SidecarError> {
    let handler = SidecarHandler::new(shared);
    match handler.serve(rmcp::transport::stdio()).await {
        Ok(running) => {
            let reason = running.waiting().await;
            tracing::info!(?reason, "stdio MCP session ended");
        }
        Err(error) => tracing::warn!(%error, "stdio MCP client went away before initializing"),
    }
    // The MCP client hung up: a normal end for a stdio server.
    Ok(ExitCode::Clean)
}

async fn refresh_tools(shared: Arc<Shared>, trigger: Arc<Notify>) {
    loop {
        trigger.notified().await;
        let request = shared.ipc.request(method::TOOL_LIST, json!({}));
        match tokio::time::timeout(HOST_ANSWER_TIMEOUT, request).await {
            Ok(Ok(result)) => match ToolSet::from_host(&result) {
                Ok(set) => {
                    tracing::info!(count = set.all().len(), "host tools changed");
                    shared.tools.replace(set);
                    shared.sessions.notify_list_changed(ListChanged::Tools);
                }
                Err(error) => tracing::warn!(%error, "ignoring a bad tool list"),
            },
            Ok(Err(error)) => tracing::warn!(%error, "tool.list after tools.changed failed"),
            Err(_) => tracing::warn!("tool.list after tools.changed timed out"),
        }
    }
}
