//! The MCP surface beyond tools against a mock host: capabilities from the host's hello,
//! resources and their errors, subscriptions pushed to subscribers only, the session DELETE.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn resource_host(method: &str, params: &Value) -> Reply {
    match method {
        "resource.list" => Reply::Result(json!({
            "resources": [{"uri": "test://a", "name": "a"}],
            "resourceTemplates": [{"uriTemplate": "test://t/{id}", "name": "t"}],
        })),
        "resource.read" if params["uri"] == "test://a" => Reply::Result(json!({
            "contents": [{"uri": "test://a", "mimeType": "text/plain", "text": "A"}]
        })),
        "resource.read" => Reply::Error(-32006, format!("resource not found: {}", params["uri"])),
        other => default_handler(other, params),
    }
}

fn start_with_resources() -> (MockHost, Sidecar, u16) {
    let options = HostOptions {
        handler: Arc::new(resource_host),
        capabilities: Some(json!({"resources": {"subscribe": true, "listChanged": true}})),
        ..HostOptions::default()
    };
    start_http_with(options, &[])
}

#[test]
fn a_tools_only_host_advertises_tools_only() {
    let (_host, _sidecar, port) = start_http(&[]);
    let init = http(
        port,
        "POST",
        &[ACCEPT, JSON],
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}})
        .to_string(),
    );
    let caps = &init.messages()[0]["result"]["capabilities"];
    assert_eq!(caps, &json!({"tools": {"listChanged": true}}));
    let session = McpSession::open(port);
    let refused = session.request(1, "resources/list", json!({}));
    assert_eq!(refused["error"]["code"], -32601, "{refused}");
}

#[test]
fn resources_list_read_and_not_found() {
    let (_host, _sidecar, port) = start_with_resources();
    let session = McpSession::open(port);
    let listed = session.request(1, "resources/list", json!({}));
    assert_eq!(listed["result"]["resources"][0]["uri"], "test://a");
    let templates = session.request(2, "resources/templates/list", json!({}));
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["uriTemplate"],
        "test://t/{id}"
    );
    let read = session.request(3, "resources/read", json!({"uri": "test://a"}));
    assert_eq!(read["result"]["contents"][0]["text"], "A");
    let missing = session.request(4, "resources/read", json!({"uri": "test://zz"}));
    assert_eq!(missing["error"]["code"], -32002, "{missing}");
}

#[test]
fn updates_reach_subscribers_only_and_list_changed_reaches_all() {
    let (host, _sidecar, port) = start_with_resources();
    let subscriber = McpSession::open(port);
    let other = McpSession::open(port);
    let mut sub_stream = subscriber.open_stream();
    let mut other_stream = other.open_stream();
    let ok = subscriber.request(1, "resources/subscribe", json!({"uri": "test://a"}));
    assert_eq!(ok["result"], json!({}), "{ok}");

    let sent = Instant::now();
    host.send(
        &json!({"jsonrpc": "2.0", "method": "resource.updated", "params": {"uri": "test://a"}}),
    );
    let got = read_until(&mut sub_stream, "resources/updated", Duration::from_secs(5));
    assert!(got.contains("notifications/resources/updated"), "{got}");
    assert!(got.contains("test://a"), "{got}");
    assert!(
        sent.elapsed() < Duration::from_millis(500),
        "{:?}",
        sent.elapsed()
    );
    let nothing = read_until(
        &mut other_stream,
        "resources/updated",
        Duration::from_millis(300),
    );
    assert!(!nothing.contains("resources/updated"), "{nothing}");

    // After unsubscribe, nothing; list_changed goes to both.
    subscriber.request(2, "resources/unsubscribe", json!({"uri": "test://a"}));
    host.send(
        &json!({"jsonrpc": "2.0", "method": "resource.updated", "params": {"uri": "test://a"}}),
    );
    host.send(&json!({"jsonrpc": "2.0", "method": "resources.changed", "params": {}}));
    let after = read_until(&mut sub_stream, "list_changed", Duration::from_secs(5));
    assert!(
        after.contains("notifications/resources/list_changed"),
        "{after}"
    );
    assert!(!after.contains("resources/updated"), "{after}");
    let other_after = read_until(&mut other_stream, "list_changed", Duration::from_secs(5));
    assert!(
        other_after.contains("notifications/resources/list_changed"),
        "{other_after}"
    );
}

#[test]
fn session_delete_is_answered_200() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);
    let response = http(port, "DELETE", &session.headers(), "");
    assert_eq!(response.status, 200, "{}", response.text());
}
