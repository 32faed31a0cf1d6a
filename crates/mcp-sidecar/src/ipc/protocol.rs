//! IPC protocol version 1 (docs/ipc-protocol.md): message shapes, error codes and
//! how a host error on `tool.call` becomes what the MCP client sees.

use serde_json::{json, Map, Value};

pub const PROTOCOL_VERSION: u64 = 1;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;

pub mod method {
    pub const AUTH_HELLO: &str = "auth.hello";
    pub const TOOL_LIST: &str = "tool.list";
    pub const TOOL_CALL: &str = "tool.call";
    pub const LIFECYCLE_READY: &str = "lifecycle.ready";
    pub const LIFECYCLE_SHUTDOWN: &str = "lifecycle.shutdown";
    pub const TOOLS_CHANGED: &str = "tools.changed";
    pub const TOOL_CANCEL: &str = "tool.cancel";
    pub const RESOURCE_LIST: &str = "resource.list";
    pub const RESOURCE_READ: &str = "resource.read";
    pub const PROMPT_LIST: &str = "prompt.list";
    pub const PROMPT_GET: &str = "prompt.get";
    pub const COMPLETION_COMPLETE: &str = "completion.complete";
    pub const RESOURCES_CHANGED: &str = "resources.changed";
    pub const RESOURCE_UPDATED: &str = "resource.updated";
    pub const PROMPTS_CHANGED: &str = "prompts.changed";
    pub const CALL_LOG: &str = "call.log";
    pub const CALL_PROGRESS: &str = "call.progress";
    pub const SAMPLING_CREATE: &str = "sampling.create";
    pub const ELICITATION_CREATE: &str = "elicitation.create";
}

/// The project's own error codes; each error's `data` is `{"kind": NAME}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    ToolNotFound,
    InvalidArguments,
    Timeout,
    Unauthorized,
    HandlerError,
    ResourceNotFound,
    PromptNotFound,
    CapabilityMissing,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::ToolNotFound,
        ErrorKind::InvalidArguments,
        ErrorKind::Timeout,
        ErrorKind::Unauthorized,
        ErrorKind::HandlerError,
        ErrorKind::ResourceNotFound,
        ErrorKind::PromptNotFound,
        ErrorKind::CapabilityMissing,
    ];

    pub fn code(self) -> i64 {
        match self {
            ErrorKind::ToolNotFound => -32001,
            ErrorKind::InvalidArguments => -32002,
            ErrorKind::Timeout => -32003,
            ErrorKind::Unauthorized => -32004,
            ErrorKind::HandlerError => -32005,
            ErrorKind::ResourceNotFound => -32006,
            ErrorKind::PromptNotFound => -32007,
            ErrorKind::CapabilityMissing => -32008,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ToolNotFound => "tool_not_found",
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::HandlerError => "handler_error",
            ErrorKind::ResourceNotFound => "resource_not_found",
            ErrorKind::PromptNotFound => "prompt_not_found",
            ErrorKind::CapabilityMissing => "capability_missing",
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// A JSON-RPC error object as received from or sent to the host.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// One of our own errors, with `data: {"kind": NAME}`.
    pub fn of_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            code: kind.code(),
            message: message.into(),
            data: Some(json!({"kind": kind.name()})),
        }
    }

    /// Our kind: the code decides; `data.kind` only fills in for an unknown code.
    pub fn kind(&self) -> Option<ErrorKind> {
        ErrorKind::from_code(self.code).or_else(|| {
            self.data
                .as_ref()
                .and_then(|data| data.get("kind"))
                .and_then(Value::as_str)
                .and_then(ErrorKind::from_name)
        })
    }

    fn from_value(value: &Value) -> Option<Self> {
        let object = value.as_object()?;
        Some(Self {
            code: object.get("code")?.as_i64()?,
            message: object
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            data: object.get("data").cloned(),
        })
    }

    fn to_value(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.clone().into());
        if let Some(data) = &self.data {
            error.insert("data".into(), data.clone());
        }
        Value::Object(error)
    }
}

/// One decoded line from the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An answer to one of our requests; our ids are always integers.
    Response {
        id: u64,
        outcome: Result<Value, RpcError>,
    },
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// Valid JSON but no JSON-RPC 2.0 message; `id` is echoed in the -32600 reply if present.
    Invalid {
        id: Value,
        reason: String,
    },
}

impl Incoming {
    pub fn classify(message: Value) -> Incoming {
        let Value::Object(mut object) = message else {
            return Incoming::Invalid {
                id: Value::Null,
                reason: "message is not a JSON object (batches are not supported)".into(),
            };
        };
        let id = object.remove("id");
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Incoming::Invalid {
                id: id.unwrap_or(Value::Null),
                reason: "`jsonrpc` must be \"2.0\"".into(),
            };
        }
        if let Some(method) = object.remove("method") {
            let Value::String(method) = method else {
                return Incoming::Invalid {
                    id: id.unwrap_or(Value::Null),
                    reason: "`method` must be a string".into(),
                };
            };
            let params = object.remove("params").unwrap_or_else(|| json!({}));
            return match id {
                Some(id) => Incoming::Request { id, method, params },
                None => Incoming::Notification { method, params },
            };
        }
        let outcome = match (object.remove("result"), object.get("error")) {
            (Some(result), None) => Ok(result),
            (None, Some(error)) => match RpcError::from_value(error) {
                Some(error) => Err(error),
                None => {
                    return Incoming::Invalid {
                        id: id.unwrap_or(Value::Null),
                        reason: "`error` must be an object with an integer `code`".into(),
                    }
                }
            },
            _ => {
                return Incoming::Invalid {
                    id: id.unwrap_or(Value::Null),
                    reason: "a response needs exactly one of `result` and `error`".into(),
                }
            }
        };
        match id.as_ref().and_then(Value::as_u64) {
            Some(id) => Incoming::Response { id, outcome },
            None => Incoming::Invalid {
                id: Value::Null,
                reason: "response id is not one of ours".into(),
            },
        }
    }
}

pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

pub fn response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error_response(id: Value, error: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": error.to_value()})
}

/// What the MCP client gets when the host answers `tool.call` with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolFailure {
    /// JSON-RPC error -32602 to the MCP client.
    InvalidParams(String),
    /// `CallToolResult` with `isError: true` and this text.
    ToolError(String),
    /// JSON-RPC error -32603 to the MCP client.
    Internal(String),
}

/// The mapping table of docs/ipc-protocol.md, "Error codes".
pub fn tool_failure(tool: &str, error: &RpcError) -> ToolFailure {
    match error.kind() {
        Some(ErrorKind::ToolNotFound) => {
            ToolFailure::InvalidParams(format!("unknown tool: {tool}"))
        }
        Some(ErrorKind::InvalidArguments) => ToolFailure::InvalidParams(error.message.clone()),
        Some(ErrorKind::HandlerError)
        | Some(ErrorKind::Timeout)
        | Some(ErrorKind::CapabilityMissing) => ToolFailure::ToolError(error.message.clone()),
        Some(ErrorKind::ResourceNotFound) | Some(ErrorKind::PromptNotFound) => {
            ToolFailure::InvalidParams(error.message.clone())
        }
        Some(ErrorKind::Unauthorized) => {
            ToolFailure::Internal(format!("host refused the call: {}", error.message))
        }
        None if error.code == INVALID_PARAMS => ToolFailure::InvalidParams(error.message.clone()),
        None => ToolFailure::Internal(format!(
            "host error {} on tool {tool}: {}",
            error.code, error.message
        )),
    }
}

/// The text of the sidecar's own timeout result.
pub fn timeout_text(tool: &str, timeout_ms: u64) -> String {
    format!("tool {tool} timed out after {timeout_ms} ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_match_the_doc() {
        let table: Vec<(&str, i64)> = ErrorKind::ALL
            .iter()
            .map(|kind| (kind.name(), kind.code()))
            .collect();
        assert_eq!(
            table,
            vec![
                ("tool_not_found", -32001),
                ("invalid_arguments", -32002),
                ("timeout", -32003),
                ("unauthorized", -32004),
                ("handler_error", -32005),
                ("resource_not_found", -32006),
                ("prompt_not_found", -32007),
                ("capability_missing", -32008),
            ]
        );
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ErrorKind::from_code(-32000), None);
    }

    fn host_error(code: i64, message: &str) -> RpcError {
        RpcError::new(code, message)
    }

    #[test]
    fn tool_call_errors_map_per_table() {
        assert_eq!(
            tool_failure("add", &host_error(-32001, "no such tool")),
            ToolFailure::InvalidParams("unknown tool: add".into())
        );
        assert_eq!(
            tool_failure("add", &host_error(-32002, "missing required key: a")),
            ToolFailure::InvalidParams("missing required key: a".into())
        );
        assert_eq!(
            tool_failure("add", &host_error(-32005, "ValueError: boom")),
            ToolFailure::ToolError("ValueError: boom".into())
        );
        assert_eq!(
            tool_failure("add", &host_error(-32003, "tool add timed out after 5 ms")),
            ToolFailure::ToolError("tool add timed out after 5 ms".into())
        );
        assert!(matches!(
            tool_failure("add", &host_error(-32004, "nope")),
            ToolFailure::Internal(_)
        ));
        assert_eq!(
            tool_failure("add", &host_error(-32602, "bad params")),
            ToolFailure::InvalidParams("bad params".into())
        );
        assert!(matches!(
            tool_failure("add", &host_error(-32603, "oops")),
            ToolFailure::Internal(_)
        ));
    }

    #[test]
    fn data_kind_backs_up_an_unknown_code() {
        let mut error = host_error(-32099, "KeyError: 'x'");
        error.data = Some(json!({"kind": "handler_error"}));
        assert_eq!(
            tool_failure("t", &error),
            ToolFailure::ToolError("KeyError: 'x'".into())
        );
    }

    #[test]
    fn timeout_text_is_exact() {
        assert_eq!(
            timeout_text("slow", 250),
            "tool slow timed out after 250 ms"
        );
    }

    #[test]
    fn classifies_messages() {
        assert_eq!(
            Incoming::classify(json!({"jsonrpc":"2.0","id":3,"result":{"tools":[]}})),
            Incoming::Response {
                id: 3,
                outcome: Ok(json!({"tools":[]}))
            }
        );
        assert_eq!(
            Incoming::classify(
                json!({"jsonrpc":"2.0","id":0,"error":{"code":-32004,"message":"bad token","data":{"kind":"unauthorized"}}})
            ),
            Incoming::Response {
                id: 0,
                outcome: Err(RpcError {
                    code: -32004,
                    message: "bad token".into(),
                    data: Some(json!({"kind":"unauthorized"}))
                })
            }
        );
        assert_eq!(
            Incoming::classify(json!({"jsonrpc":"2.0","id":"s1","method":"lifecycle.shutdown"})),
            Incoming::Request {
                id: json!("s1"),
                method: "lifecycle.shutdown".into(),
                params: json!({})
            }
        );
        assert_eq!(
            Incoming::classify(json!({"jsonrpc":"2.0","method":"tools.changed","params":{}})),
            Incoming::Notification {
                method: "tools.changed".into(),
                params: json!({})
            }
        );
    }

    #[test]
    fn classifies_invalid_messages() {
        for message in [
            json!([1, 2]),
            json!({"id": 1, "method": "x"}),
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1}}),
            json!({"jsonrpc":"2.0","id":"x","result":1}),
            json!({"jsonrpc":"2.0","id":1,"method":7}),
        ] {
            assert!(
                matches!(
                    Incoming::classify(message.clone()),
                    Incoming::Invalid { .. }
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn builds_wire_messages() {
        assert_eq!(
            error_response(Value::Null, &RpcError::new(PARSE_ERROR, "bad")),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}})
        );
        assert_eq!(
            request(4, "tool.list", json!({})),
            json!({"jsonrpc":"2.0","id":4,"method":"tool.list","params":{}})
        );
    }
}
