//! One `tools/call` forwarded to the host, with what the host sends while it runs: log and
//! progress notifications, and sampling/elicitation requests relayed to the calling client.

// rmcp marks logging and sampling deprecated (SEP-2577), yet every revision we negotiate has them.
#![allow(deprecated)]

use std::time::Duration;

use rmcp::model::{
    CallToolResult, ContentBlock, LoggingMessageNotificationParam, ProgressNotificationParam,
    ProgressToken, ServerRequest,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{json, Value};

use crate::ipc::client::{CallEvent, IpcClient, IpcError};
use crate::ipc::protocol::{self, method, ErrorKind, RpcError, ToolFailure};
use crate::session_registry::SessionState;

/// Everything one call needs; borrowed from the handler for the call's duration.
pub struct ToolCall<'a> {
    pub ipc: &'a IpcClient,
    pub session: &'a SessionState,
    pub context: &'a RequestContext<RoleServer>,
    pub timeout: Duration,
}

impl ToolCall<'_> {
    pub async fn run(&self, name: &str, arguments: Value) -> Result<CallToolResult, McpError> {
        let mut call = self.ipc.open_call();
        let progress_token = self.context.meta.get_progress_token();
        let request = self.ipc.request(
            method::TOOL_CALL,
            json!({
                "name": name,
                "arguments": arguments,
                "call": call.id,
                "progress": progress_token.is_some(),
            }),
        );
        tokio::pin!(request);
        let until = tokio::time::Instant::now() + self.timeout;
        let deadline = tokio::time::sleep_until(until);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                Some(event) = call.events.recv() => {
                    self.handle(event, progress_token.as_ref(), until).await;
                }
                answer = &mut request => {
                    // Messages the host sent before its answer go out before the result.
                    while let Ok(event) = call.events.try_recv() {
                        self.handle(event, progress_token.as_ref(), until).await;
                    }
                    return answer_to_result(name, answer);
                }
                () = &mut deadline => {
                    let millis = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(tool = name, millis, "tool call timed out");
                    self.cancel(call.id);
                    return Ok(CallToolResult::error(vec![ContentBlock::text(
                        protocol::timeout_text(name, millis),
                    )]));
                }
                () = self.context.ct.cancelled() => {
                    // notifications/cancelled: tell the host (ctx.cancelled); a late answer is dropped.
                    self.cancel(call.id);
                    return Err(McpError::internal_error("request cancelled", None));
                }
            }
        }
    }

    fn cancel(&self, call: u64) {
        let ipc = self.ipc.clone();
        tokio::spawn(async move {
            let _ = ipc.notify(method::TOOL_CANCEL, json!({"call": call})).await;
        });
    }

    async fn handle(
        &self,
        event: CallEvent,
        progress_token: Option<&ProgressToken>,
        until: tokio::time::Instant,
    ) {
        let peer = &self.context.peer;
        match event {
            CallEvent::Log(params) => {
                let level = params
                    .get("level")
                    .and_then(Value::as_str)
                    .unwrap_or("info");
                if !self.session.wants_level(level) {
                    return;
                }
                match serde_json::from_value::<LoggingMessageNotificationParam>(strip_call(params))
                {
                    Ok(message) => {
                        if let Err(error) = peer.notify_logging_message(message).await {
                            tracing::debug!(%error, "log message not delivered");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "ignoring a malformed call.log"),
                }
            }
            CallEvent::Progress(params) => {
                let Some(token) = progress_token else {
                    return;
                };
                let mut params = strip_call(params);
                if let Some(object) = params.as_object_mut() {
                    object.insert("progressToken".into(), json!(token));
                }
                match serde_json::from_value::<ProgressNotificationParam>(params) {
                    Ok(progress) => {
                        if let Err(error) = peer.notify_progress(progress).await {
                            tracing::debug!(%error, "progress not delivered");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "ignoring a malformed call.progress"),
                }
            }
            CallEvent::Request { id, method, params } => {
                // A client that never answers costs at most the call's own deadline.
                let answer = tokio::time::timeout_at(until, self.relay(&method, params))
                    .await
                    .unwrap_or_else(|_| {
                        Err(RpcError::of_kind(
                            ErrorKind::Timeout,
                            format!("the MCP client did not answer {method} in time"),
                        ))
                    });
                let sent = match answer {
                    Ok(result) => self.ipc.respond(id, result).await,
                    Err(error) => self.ipc.respond_error(id, &error).await,
                };
                if let Err(error) = sent {
                    tracing::debug!(%error, "answer to the host's {method} not sent");
                }
            }
        }
    }

    /// `sampling.create` / `elicitation.create` → the calling client's answer.
    async fn relay(&self, host_method: &str, params: Value) -> Result<Value, RpcError> {
        let capabilities = self
            .context
            .peer
            .peer_info()
            .map(|info| info.capabilities.clone())
            .unwrap_or_default();
        let (mcp_method, declared, what) = if host_method == method::SAMPLING_CREATE {
            (
                "sampling/createMessage",
                capabilities.sampling.is_some(),
                "sampling",
            )
        } else {
            (
                "elicitation/create",
                capabilities.elicitation.is_some(),
                "elicitation",
            )
        };
        if !declared {
            return Err(RpcError::of_kind(
                ErrorKind::CapabilityMissing,
                format!("the MCP client did not declare the {what} capability"),
            ));
        }
        let inner = params.get("params").cloned().unwrap_or_else(|| json!({}));
        let request: ServerRequest = serde_json::from_value(
            json!({"method": mcp_method, "params": inner}),
        )
        .map_err(|error| {
            RpcError::new(
                protocol::INVALID_PARAMS,
                format!("invalid {host_method} params: {error}"),
            )
        })?;
        let answer = tokio::select! {
            answer = self.context.peer.send_request(request) => answer,
            () = self.context.ct.cancelled() => {
                return Err(RpcError::new(protocol::INTERNAL_ERROR, "the tool call was cancelled"));
            }
        };
        match answer {
            Ok(result) => serde_json::to_value(result).map_err(|error| {
                RpcError::new(
                    protocol::INTERNAL_ERROR,
                    format!("bad client answer: {error}"),
                )
            }),
            Err(rmcp::service::ServiceError::McpError(error)) => Err(RpcError {
                code: i64::from(error.code.0),
                message: error.message.to_string(),
                data: error.data,
            }),
            Err(error) => Err(RpcError::new(
                protocol::INTERNAL_ERROR,
                format!("{mcp_method} failed: {error}"),
            )),
        }
    }
}

fn strip_call(mut params: Value) -> Value {
    if let Some(object) = params.as_object_mut() {
        object.remove("call");
    }
    params
}

fn answer_to_result(
    name: &str,
    answer: Result<Value, IpcError>,
) -> Result<CallToolResult, McpError> {
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
