//! MCP over Streamable HTTP: tool calls, errors, timeouts, concurrency, guards.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[test]
fn tool_call_results_and_errors_follow_the_mapping_table() {
    let (_host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);

    let ok = session.call_tool(1, "add", json!({"a": 2, "b": 40}));
    assert_eq!(ok["result"]["isError"], false);
    assert_eq!(
        ok["result"]["content"],
        json!([{"type": "text", "text": "42"}])
    );

    let structured = session.call_tool(2, "echo", json!({"k": [1, 2]}));
    assert_eq!(
        structured["result"]["structuredContent"],
        json!({"k": [1, 2]})
    );

    // handler_error → isError result with the host's text.
    let raised = session.call_tool(3, "boom", json!({}));
    assert_eq!(raised["result"]["isError"], true);
    assert_eq!(raised["result"]["content"][0]["text"], "ValueError: boom");

    // invalid_arguments → JSON-RPC -32602 with the host's message.
    let invalid = session.call_tool(4, "add", json!({"a": 1}));
    assert_eq!(invalid["error"]["code"], -32602);
    assert_eq!(invalid["error"]["message"], "missing required argument: b");

    // Unknown tool → -32602 without asking the host.
    let unknown = session.call_tool(5, "nope", json!({}));
    assert_eq!(unknown["error"]["code"], -32602);
    assert_eq!(unknown["error"]["message"], "unknown tool: nope");
}

#[test]
fn host_side_tool_not_found_maps_to_unknown_tool() {
    let options = HostOptions {
        handler: Arc::new(|name: &str, _: &Value| Reply::Error(-32001, format!("no {name}"))),
        ..HostOptions::default()
    };
    let (_host, _sidecar, port) = start_http_with(options, &[]);
    let session = McpSession::open(port);
    let answer = session.call_tool(1, "echo", json!({}));
    assert_eq!(answer["error"]["code"], -32602);
    assert_eq!(answer["error"]["message"], "unknown tool: echo");
}

#[test]
fn tool_timeout_is_an_error_result_and_the_server_stays_responsive() {
    let (host, _sidecar, port) = start_http(&["--tool-timeout-ms", "700"]);
    let slow = thread::spawn(move || {
        let session = McpSession::open(port);
        let started = Instant::now();
        let answer = session.call_tool(1, "slow", json!({}));
        (answer, started.elapsed())
    });
    // While "slow" hangs, other calls are answered promptly.
    let session = McpSession::open(port);
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let fast = session.call_tool(2, "add", json!({"a": 1, "b": 1}));
    assert_eq!(fast["result"]["content"][0]["text"], "2");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "fast call waited on the slow one"
    );

    let (answer, took) = slow.join().unwrap();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "tool slow timed out after 700 ms"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // And after the timeout everything still works, including over IPC.
    let after = session.call_tool(3, "echo", json!({"after": true}));
    assert_eq!(after["result"]["structuredContent"], json!({"after": true}));
    assert!(host
        .received()
        .iter()
        .any(|m| m["params"]["name"] == "slow"));
}

#[test]
fn fifty_concurrent_calls_from_several_clients_get_their_own_answers() {
    let (host, _sidecar, port) = start_http(&[]);
    let clients: Vec<_> = (0..5)
        .map(|client| {
            thread::spawn(move || {
                let session = Arc::new(McpSession::open(port));
                let calls: Vec<_> = (0..10)
                    .map(|call| {
                        let session = session.clone();
                        thread::spawn(move || {
                            let tag = format!("c{client}-{call}");
                            // Later calls answer sooner, so responses come back out of order.
                            let args = json!({"tag": tag, "delay_ms": (10 - call) * 30});
                            let id = 1000 + call;
                            let answer = session.call_tool(id, "echo", args.clone());
                            assert_eq!(answer["id"], id);
                            assert_eq!(answer["result"]["structuredContent"], args, "{tag}");
                            tag
                        })
                    })
                    .collect();
                calls
                    .into_iter()
                    .map(|c| c.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut tags: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), 50);
    // All fifty went over the single IPC connection with distinct ids.
    let mut ids: Vec<u64> = host
        .received()
        .iter()
        .filter(|m| m["method"] == "tool.call")
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 50);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
}

fn initialize_body() -> String {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}})
    .to_string()
}

#[test]
fn foreign_origin_is_forbidden_loopback_and_listed_origins_pass() {
    let (_host, _sidecar, port) = start_http(&["--allowed-origin", "https://app.example"]);
    let body = initialize_body();
    for (origin, status) in [
        ("http://evil.example", 403),
        ("https://app.example:8443", 403),
        ("null", 403),
        ("http://localhost:3000", 200),
        (&format!("http://127.0.0.1:{port}") as &str, 200),
        ("https://app.example", 200),
    ] {
        let response = http(port, "POST", &[ACCEPT, JSON, ("Origin", origin)], &body);
        assert_eq!(response.status, status, "{origin}: {}", response.text());
    }
    // The check covers every method, not just POST.
    let get = http(
        port,
        "GET",
        &[
            ("Accept", "text/event-stream"),
            ("Origin", "http://evil.example"),
        ],
        "",
    );
    assert_eq!(get.status, 403);
}

#[test]
fn non_loopback_host_header_is_forbidden() {
    let (_host, _sidecar, port) = start_http(&[]);
    let body = initialize_body();
    let evil = http(
        port,
        "POST",
        &[ACCEPT, JSON, ("Host", "evil.example:80")],
        &body,
    );
    assert_eq!(evil.status, 403);
    let local = http(
        port,
        "POST",
        &[ACCEPT, JSON, ("Host", &format!("localhost:{port}"))],
        &body,
    );
    assert_eq!(local.status, 200, "{}", local.text());
}

#[test]
fn require_auth_needs_the_bearer_token_on_every_request() {
    let (_host, _sidecar, port) = start_http(&["--require-auth"]);
    let body = initialize_body();
    let missing = http(port, "POST", &[ACCEPT, JSON], &body);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    let wrong = http(
        port,
        "POST",
        &[ACCEPT, JSON, ("Authorization", "Bearer wrong")],
        &body,
    );
    assert_eq!(wrong.status, 401);

    let bearer = format!("Bearer {TOKEN}");
    let session = McpSession::open_with(port, &[("Authorization", &bearer)]);
    let listed = session.request(1, "tools/list", json!({}));
    assert!(listed["result"]["tools"].is_array());
    // A request inside the session without the token is refused too.
    let bare = http(
        port,
        "POST",
        &[
            ACCEPT,
            JSON,
            ("Mcp-Session-Id", &session.session_id),
            ("MCP-Protocol-Version", PROTOCOL),
        ],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string(),
    );
    assert_eq!(bare.status, 401);
}

#[test]
fn without_require_auth_no_bearer_is_needed() {
    let (_host, _sidecar, port) = start_http(&[]);
    let response = http(port, "POST", &[ACCEPT, JSON], &initialize_body());
    assert_eq!(response.status, 200);
}

#[test]
fn tools_changed_relists_and_notifies_sessions() {
    let (host, _sidecar, port) = start_http(&[]);
    let session = McpSession::open(port);

    // The standalone GET stream is where server notifications arrive.
    let mut stream = session.open_stream();

    let mut tools = default_tools();
    tools
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "fresh", "inputSchema": {"type": "object"}}));
    host.set_tools(tools);
    host.send(&json!({"jsonrpc": "2.0", "method": "tools.changed", "params": {}}));

    let events = read_until(
        &mut stream,
        "notifications/tools/list_changed",
        Duration::from_secs(5),
    );
    assert!(
        events.contains("notifications/tools/list_changed"),
        "{events}"
    );
    let listed = session.request(1, "tools/list", json!({}));
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"fresh"), "{names:?}");
    // tool.list was asked again after the change.
    let relists = host
        .received()
        .iter()
        .filter(|m| m["method"] == "tool.list")
        .count();
    assert_eq!(relists, 2);
}

#[test]
fn requests_without_a_session_are_rejected() {
    let (_host, _sidecar, port) = start_http(&[]);
    let response = http(
        port,
        "POST",
        &[ACCEPT, JSON],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
    );
    assert_eq!(response.status, 400, "{}", response.text());
}
