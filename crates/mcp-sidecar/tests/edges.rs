//! Protocol edges on HTTP: bodies that are not one JSON-RPC message, wrong `tools/call`
//! arguments, and Host tricks. One test each.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// POSTs `body` inside an open session; returns the status and the JSON body.
fn post_raw(session: &McpSession, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", session.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
        session.port,
        body.len()
    );
    for (name, value) in session.headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
    let json = serde_json::from_slice(&raw[split + 4..])
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&raw)));
    (status, json)
}

fn assert_error(answer: (u16, Value), status: u16, code: i64, id: Value) {
    let (got_status, body) = answer;
    assert_eq!(got_status, status, "{body}");
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["id"], id, "{body}");
}

#[test]
fn malformed_json_is_400_parse_error() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    assert_error(
        post_raw(&session, br#"{"jsonrpc":"2.0","id":1,"method":"#),
        400,
        -32700,
        Value::Null,
    );
}

#[test]
fn invalid_utf8_is_400_parse_error() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    assert_error(
        post_raw(
            &session,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"x\":\"\xff\xfe\"}",
        ),
        400,
        -32700,
        Value::Null,
    );
}

#[test]
fn a_bare_number_is_400_invalid_request() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    assert_error(post_raw(&session, b"42"), 400, -32600, Value::Null);
}

#[test]
fn an_empty_array_is_400_invalid_request() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    assert_error(post_raw(&session, b"[]"), 400, -32600, Value::Null);
}

#[test]
fn a_batch_is_400_invalid_request_and_nothing_runs() {
    let (host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]);
    assert_error(
        post_raw(&session, batch.to_string().as_bytes()),
        400,
        -32600,
        Value::Null,
    );
    assert!(!host.received().iter().any(|m| m["method"] == "tool.call"));
    // The session is unharmed.
    let listed = session.request(3, "tools/list", json!({}));
    assert!(listed["result"]["tools"].is_array());
}

#[test]
fn array_arguments_are_invalid_params() {
    let (host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    let answer = session.call_tool(7, "add", json!([1, 2]));
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("an array"),
        "{answer}"
    );
    assert!(!host.received().iter().any(|m| m["method"] == "tool.call"));
}

#[test]
fn string_arguments_are_invalid_params() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    let answer = session.call_tool(8, "echo", json!("str"));
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert_eq!(answer["id"], 8);
}

/// Sends a hand-written request head; returns the status code.
fn raw_status(port: u16, head: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "{head}Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    String::from_utf8_lossy(&raw[9..12]).parse().unwrap()
}

fn initialize() -> String {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}})
    .to_string()
}

#[test]
fn two_host_headers_are_forbidden() {
    let (_host, _sidecar, port) = start_http(&[]);
    let body = initialize();
    let head = format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n");
    assert_eq!(raw_status(port, &head, &body), 403);
    let single = format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    assert_eq!(raw_status(port, &single, &body), 200);
}

#[test]
fn a_foreign_absolute_target_is_forbidden() {
    let (_host, _sidecar, port) = start_http(&[]);
    let body = initialize();
    let foreign = format!("POST http://evil.example/mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    assert_eq!(raw_status(port, &foreign, &body), 403);
    let local = format!("POST http://127.0.0.1:{port}/mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    assert_eq!(raw_status(port, &local, &body), 200);
}
