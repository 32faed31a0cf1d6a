//! POST bodies checked before rmcp sees them: one JSON-RPC message, UTF-8 JSON, the right
//! shape for `tools/call`, read within a deadline; and room for a new session on `initialize`.
//! rmcp alone answers 415 to all of these, and -32601 to bad `tools/call` arguments.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{json, Value};

use super::sessions::BoundedSessionManager;
use crate::ipc::protocol::{INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR};

/// JSON-RPC's implementation-defined server error, for "no session slot free".
pub const SERVER_BUSY: i64 = -32000;

pub struct BodyCheck {
    pub sessions: Arc<BoundedSessionManager>,
    pub max_bytes: usize,
    /// Longest a client may take to send the body once the head is in.
    pub timeout: Duration,
}

/// A request the sidecar answers itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub id: Value,
    pub code: i64,
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, id: Value, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            id,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({"jsonrpc": "2.0", "id": self.id,
                          "error": {"code": self.code, "message": self.message}});
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// What rmcp needs to know early about an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// An `initialize` request (needs a session slot).
    pub initialize: bool,
    /// The request id, `null` for notifications and responses.
    pub id: Value,
}

/// Checks one POST body; `Ok` means rmcp may have it.
pub fn classify(body: &[u8]) -> Result<Accepted, Refusal> {
    let parse_error =
        |message: String| Refusal::new(StatusCode::BAD_REQUEST, Value::Null, PARSE_ERROR, message);
    let text = std::str::from_utf8(body)
        .map_err(|e| parse_error(format!("Parse error: the body is not UTF-8 ({e})")))?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| parse_error(format!("Parse error: the body is not JSON ({e})")))?;
    let invalid = |id: Value, message: &str| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            id,
            INVALID_REQUEST,
            format!("Invalid Request: {message}"),
        )
    };
    let object = match &value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(invalid(Value::Null, "batches are not supported")),
        _ => return Err(invalid(Value::Null, "a message must be a JSON object")),
    };
    // Only a well-formed id is echoed back.
    let id = object
        .get("id")
        .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
        .cloned();
    let echo = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(echo, "`jsonrpc` must be \"2.0\""));
    }
    let method = match object.get("method") {
        Some(Value::String(method)) => Some(method.as_str()),
        Some(_) => return Err(invalid(echo, "`method` must be a string")),
        None => None,
    };
    if let (Some("tools/call"), Some(id)) = (method, &id) {
        check_call_params(object.get("params"))
            .map_err(|message| Refusal::new(StatusCode::OK, id.clone(), INVALID_PARAMS, message))?;
    }
    if let Err(error) = serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
        return Err(invalid(echo, &format!("not an MCP message ({error})")));
    }
    Ok(Accepted {
        initialize: method == Some("initialize") && id.is_some(),
        id: echo,
    })
}

/// `tools/call` params: an object with a string `name` and object (or absent) `arguments`.
fn check_call_params(params: Option<&Value>) -> Result<(), String> {
    let Some(Value::Object(params)) = params else {
        return Err("Invalid params: tools/call needs params {name, arguments}".into());
    };
    if !params.get("name").is_some_and(Value::is_string) {
        return Err("Invalid params: `name` must be a string".into());
    }
    match params.get("arguments") {
        None | Some(Value::Null) | Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(format!(
            "Invalid params: `arguments` must be an object, not {}",
            json_type(other)
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// axum middleware in front of rmcp (after the guard).
pub async fn check(State(check): State<Arc<BodyCheck>>, request: Request, next: Next) -> Response {
    // Other methods carry no body; a non-JSON Content-Type is rmcp's 415 to give.
    if request.method() != Method::POST || !is_json(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let collected =
        tokio::time::timeout(check.timeout, Limited::new(body, check.max_bytes).collect()).await;
    let bytes = match collected {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Payload Too Large: request body exceeds {} bytes",
                    check.max_bytes
                ),
            )
                .into_response()
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "reading a request body failed");
            return (StatusCode::BAD_REQUEST, "Bad Request: unreadable body").into_response();
        }
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "Request Timeout: the body did not arrive in time",
            )
                .into_response()
        }
    };
    let accepted = match classify(&bytes) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            tracing::debug!(?refusal, "refused a request body");
            return refusal.into_response();
        }
    };
    let new_session = accepted.initialize && !parts.headers.contains_key("mcp-session-id");
    if new_session {
        if let Err(error) = check.sessions.make_room().await {
            tracing::warn!(%error, "refused a new MCP session");
            return Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                accepted.id,
                SERVER_BUSY,
                error.to_string(),
            )
            .into_response();
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(body: &[u8]) -> Refusal {
        classify(body).expect_err("should be refused")
    }

    #[test]
    fn parse_errors_are_400_with_minus_32700() {
        for body in [
            &b"{\"jsonrpc\":"[..],
            b"",
            b"nope",
            b"{\"a\":\"\xff\"}",
            b"\xff\xfe",
        ] {
            let r = refusal(body);
            assert_eq!(
                (r.status, r.code, &r.id),
                (StatusCode::BAD_REQUEST, -32700, &Value::Null),
                "{body:?}"
            );
        }
    }

    #[test]
    fn non_messages_are_400_with_minus_32600() {
        for body in [
            "42",
            "[]",
            "\"x\"",
            "null",
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            r#"{"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
        ] {
            let r = refusal(body.as_bytes());
            assert_eq!(
                (r.status, r.code),
                (StatusCode::BAD_REQUEST, -32600),
                "{body}"
            );
        }
        assert_eq!(refusal(br#"{"id":9,"method":"ping"}"#).id, json!(9));
    }

    #[test]
    fn wrong_tool_arguments_are_minus_32602_with_the_id() {
        for arguments in [json!([1, 2]), json!("str"), json!(3), json!(true)] {
            let body = json!({"jsonrpc":"2.0","id":"c1","method":"tools/call",
                              "params":{"name":"add","arguments":arguments}});
            let r = refusal(body.to_string().as_bytes());
            assert_eq!(
                (r.status, r.code, r.id),
                (StatusCode::OK, -32602, json!("c1")),
                "{arguments}"
            );
        }
        let no_name =
            json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"arguments":{}}});
        assert_eq!(refusal(no_name.to_string().as_bytes()).code, -32602);
    }

    #[test]
    fn good_messages_pass() {
        for (body, initialize) in [
            (
                json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
                    "protocolVersion":"2025-06-18","capabilities":{},
                    "clientInfo":{"name":"t","version":"0"}}}),
                true,
            ),
            (
                json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
                       "params":{"name":"add","arguments":{"a":1}}}),
                false,
            ),
            (
                json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}),
                false,
            ),
            (
                json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
                false,
            ),
        ] {
            let accepted = classify(body.to_string().as_bytes()).expect("accepted");
            assert_eq!(accepted.initialize, initialize, "{body}");
        }
    }
}
