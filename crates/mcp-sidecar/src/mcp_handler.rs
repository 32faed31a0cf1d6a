//! The MCP server: answers tools/list from the host's tool list and forwards
//! tools/call over IPC, with the sidecar's own timeout.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use serde_json::{json, Value};

use crate::ipc::client::{IpcClient, IpcError};
use crate::ipc::protocol::{self, method, ToolFailure};
use crate::tools::ToolRegistry;

/// Longest we wait for one MCP client to accept a list_changed notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(2);

/// State shared by every MCP session.
pub struct Shared {
    pub ipc: IpcClient,
    pub tools: ToolRegistry,
    pub peers: PeerRegistry,
    pub tool_timeout: Duration,
}

/// Connected MCP clients, for `notifications/tools/list_changed`.
#[derive(Default)]
pub struct PeerRegistry {
    peers: Mutex<Vec<Peer<RoleServer>>>,
}

impl PeerRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Peer<RoleServer>>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn register(&self, peer: Peer<RoleServer>) {
        let mut peers = self.lock();
        peers.retain(|p| !p.is_transport_closed());
        peers.push(peer);
    }

    /// Tells every live session that the tool list changed; never blocks on a slow client.
    pub fn notify_tools_changed(&self) {
        let peers: Vec<_> = {
            let mut peers = self.lock();
            peers.retain(|p| !p.is_transport_closed());
            peers.clone()
        };
        tracing::info!(sessions = peers.len(), "sending tools/list_changed");
        for peer in peers {
            tokio::spawn(async move {
                match tokio::time::timeout(NOTIFY_TIMEOUT, peer.notify_tool_list_changed()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::debug!(%error, "list_changed not delivered"),
                    Err(_) => tracing::debug!("list_changed delivery timed out"),
                }
            });
        }
    }
}

/// One instance per MCP session; all share [`Shared`].
#[derive(Clone)]
pub struct SidecarHandler {
    shared: Arc<Shared>,
}

impl SidecarHandler {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    async fn forward_call(&self, name: &str, arguments: Value) -> Result<CallToolResult, McpError> {
        let timeout = self.shared.tool_timeout;
        let call = self.shared.ipc.request(
            method::TOOL_CALL,
            json!({"name": name, "arguments": arguments}),
        );
        let answer = match tokio::time::timeout(timeout, call).await {
            Ok(answer) => answer,
            Err(_) => {
                let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(tool = name, millis, "tool call timed out");
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    protocol::timeout_text(name, millis),
                )]));
            }
        };
        match answer {
            Ok(result) => Ok(
                serde_json::from_value::<CallToolResult>(result).unwrap_or_else(|error| {
                    CallToolResult::error(vec![ContentBlock::text(format!(
                        "tool {name} returned an invalid result: {error}"
                    ))])
                }),
            ),
            Err(IpcError::Rpc(error)) => match protocol::tool_failure(name, &error) {
                ToolFailure::InvalidParams(message) => Err(McpError::invalid_params(message, None)),
                ToolFailure::ToolError(text) => {
                    Ok(CallToolResult::error(vec![ContentBlock::text(text)]))
                }
                ToolFailure::Internal(message) => Err(McpError::internal_error(message, None)),
            },
            Err(IpcError::Closed) => Err(McpError::internal_error(
                "the host connection is closed",
                None,
            )),
        }
    }
}

impl ServerHandler for SidecarHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(
            "mcp-sidecar",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    // Session-based revisions only: tools/list_changed needs a session to go to.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(
            &ProtocolVersion::LATEST_WITH_INITIALIZE,
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = self.shared.tools.snapshot().all().to_vec();
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.shared.tools.snapshot().get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.as_ref();
        if self.shared.tools.snapshot().get(name).is_none() {
            return Err(McpError::invalid_params(
                format!("unknown tool: {name}"),
                None,
            ));
        }
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        tokio::select! {
            result = self.forward_call(name, arguments) => result.map(CallToolResponse::from),
            // notifications/cancelled: stop waiting; a late host answer is dropped.
            () = context.ct.cancelled() => Err(McpError::internal_error("request cancelled", None)),
        }
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.shared.peers.register(context.peer);
    }
}
