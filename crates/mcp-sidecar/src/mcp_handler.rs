//! The MCP server: answers tools/list from the host's tool list and forwards tools/call,
//! resources, prompts and completions over IPC, with the sidecar's own timeout.

// rmcp marks logging deprecated (SEP-2577), yet every revision we negotiate has it.
#![allow(deprecated)]

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    Prompt, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceTemplate, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ipc::client::{IpcClient, IpcError};
use crate::ipc::protocol::{method, ErrorKind};
use crate::session_registry::{level_rank, SessionRegistry, SessionState};
use crate::tool_call::ToolCall;
use crate::tools::ToolRegistry;

/// What the host serves besides tools, from its `auth.hello` answer (`capabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostFeatures {
    pub resources: bool,
    pub subscribe: bool,
    pub prompts: bool,
    pub completions: bool,
    pub logging: bool,
}

impl HostFeatures {
    /// `{"resources": {"subscribe": true}, "prompts": {}, "completions": {}, "logging": {}}`;
    /// a key that is absent (or an older host that sends none) means "not served".
    pub fn from_hello(result: &Value) -> Self {
        let caps = result.get("capabilities");
        let has = |key: &str| caps.and_then(|c| c.get(key)).is_some_and(Value::is_object);
        Self {
            resources: has("resources"),
            subscribe: caps
                .and_then(|c| c.pointer("/resources/subscribe"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            prompts: has("prompts"),
            completions: has("completions"),
            logging: has("logging"),
        }
    }

    /// What `initialize` advertises: tools always, the rest only when the host has it.
    pub fn capabilities(self) -> ServerCapabilities {
        let mut caps = json!({"tools": {"listChanged": true}});
        if self.resources {
            caps["resources"] = json!({"listChanged": true, "subscribe": self.subscribe});
        }
        if self.prompts {
            caps["prompts"] = json!({"listChanged": true});
        }
        if self.completions {
            caps["completions"] = json!({});
        }
        if self.logging {
            caps["logging"] = json!({});
        }
        serde_json::from_value(caps).unwrap_or_default()
    }
}

/// State shared by every MCP session.
pub struct Shared {
    pub ipc: IpcClient,
    pub tools: ToolRegistry,
    pub sessions: SessionRegistry,
    pub features: HostFeatures,
    pub tool_timeout: Duration,
}

/// One instance per MCP session; all share [`Shared`].
#[derive(Clone)]
pub struct SidecarHandler {
    shared: Arc<Shared>,
    session: Arc<SessionState>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostResources {
    #[serde(default)]
    resources: Vec<Resource>,
    #[serde(default)]
    resource_templates: Vec<ResourceTemplate>,
}

#[derive(Deserialize)]
struct HostPrompts {
    #[serde(default)]
    prompts: Vec<Prompt>,
}

impl SidecarHandler {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            session: Arc::default(),
        }
    }

    /// A host request other than `tool.call`: bounded by the tool timeout, errors mapped.
    async fn ask_host<T: DeserializeOwned>(
        &self,
        host_method: &str,
        params: Value,
    ) -> Result<T, McpError> {
        let request = self.shared.ipc.request(host_method, params);
        let answer = tokio::time::timeout(self.shared.tool_timeout, request)
            .await
            .map_err(|_| {
                McpError::internal_error(
                    format!("the host did not answer {host_method} in time"),
                    None,
                )
            })?;
        let result = match answer {
            Ok(result) => result,
            Err(IpcError::Rpc(error)) => {
                let data = Some(json!({"message": error.message}));
                return Err(match error.kind() {
                    Some(ErrorKind::ResourceNotFound) => McpError::resource_not_found(
                        error.message.clone(),
                        error.data.clone().or(data),
                    ),
                    Some(ErrorKind::PromptNotFound) | Some(ErrorKind::InvalidArguments) => {
                        McpError::invalid_params(error.message, None)
                    }
                    _ if error.code == crate::ipc::protocol::INVALID_PARAMS => {
                        McpError::invalid_params(error.message, None)
                    }
                    _ => McpError::internal_error(error.message, None),
                });
            }
            Err(IpcError::Closed) => {
                return Err(McpError::internal_error(
                    "the host connection is closed",
                    None,
                ))
            }
        };
        serde_json::from_value(result).map_err(|error| {
            McpError::internal_error(
                format!("the host's {host_method} answer is invalid: {error}"),
                None,
            )
        })
    }

    fn require(&self, served: bool, what: &str) -> Result<(), McpError> {
        if served {
            Ok(())
        } else {
            Err(McpError::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                format!("this server has no {what}"),
                None,
            ))
        }
    }
}

impl ServerHandler for SidecarHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(self.shared.features.capabilities())
            .with_server_info(Implementation::new(
                "mcp-sidecar",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    // Session-based revisions only: notifications need a session to go to.
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
        let call = ToolCall {
            ipc: &self.shared.ipc,
            session: &self.session,
            context: &context,
            timeout: self.shared.tool_timeout,
        };
        call.run(name, arguments).await.map(CallToolResponse::from)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.require(self.shared.features.resources, "resources")?;
        let host: HostResources = self.ask_host(method::RESOURCE_LIST, json!({})).await?;
        Ok(ListResourcesResult::with_all_items(host.resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        self.require(self.shared.features.resources, "resources")?;
        let host: HostResources = self.ask_host(method::RESOURCE_LIST, json!({})).await?;
        Ok(ListResourceTemplatesResult::with_all_items(
            host.resource_templates,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.require(self.shared.features.resources, "resources")?;
        let result: ReadResourceResult = self
            .ask_host(method::RESOURCE_READ, json!({"uri": request.uri}))
            .await?;
        Ok(result.into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.require(self.shared.features.subscribe, "resource subscriptions")?;
        self.session.subscribe(&request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.require(self.shared.features.subscribe, "resource subscriptions")?;
        self.session.unsubscribe(&request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.require(self.shared.features.prompts, "prompts")?;
        let host: HostPrompts = self.ask_host(method::PROMPT_LIST, json!({})).await?;
        Ok(ListPromptsResult::with_all_items(host.prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.require(self.shared.features.prompts, "prompts")?;
        let params =
            json!({"name": request.name, "arguments": request.arguments.unwrap_or_default()});
        let result: GetPromptResult = self.ask_host(method::PROMPT_GET, params).await?;
        Ok(result.into())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.require(self.shared.features.completions, "completions")?;
        let params = json!({"ref": request.r#ref, "argument": request.argument});
        let host: Value = self.ask_host(method::COMPLETION_COMPLETE, params).await?;
        let values: Vec<String> = host
            .get("values")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let total = values.len();
        // The spec caps one answer at 100 values; hasMore tells the client there were more.
        let shown: Vec<String> = values.into_iter().take(100).collect();
        let completion = json!({"values": shown, "total": total, "hasMore": total > 100});
        serde_json::from_value(json!({"completion": completion}))
            .map_err(|error| McpError::internal_error(error.to_string(), None))
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.require(self.shared.features.logging, "logging")?;
        let level = serde_json::to_value(request.level).unwrap_or(Value::Null);
        let rank = level
            .as_str()
            .and_then(level_rank)
            .ok_or_else(|| McpError::invalid_params("unknown log level", None))?;
        self.session.set_min_level(rank);
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.shared
            .sessions
            .register(context.peer, self.session.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertises_only_what_the_host_has() {
        let none = HostFeatures::from_hello(&json!({"protocol": 1}));
        assert_eq!(none, HostFeatures::default());
        let caps = serde_json::to_value(none.capabilities()).unwrap();
        assert_eq!(caps, json!({"tools": {"listChanged": true}}));

        let all = HostFeatures::from_hello(&json!({"capabilities": {
            "resources": {"subscribe": true}, "prompts": {}, "completions": {}, "logging": {}
        }}));
        assert!(all.resources && all.subscribe && all.prompts && all.completions && all.logging);
        let caps = serde_json::to_value(all.capabilities()).unwrap();
        assert_eq!(
            caps["resources"],
            json!({"listChanged": true, "subscribe": true})
        );
        assert_eq!(caps["prompts"], json!({"listChanged": true}));
        assert_eq!(caps["logging"], json!({}));
        assert_eq!(caps["completions"], json!({}));
    }
}
