//! `--transport stdio`: MCP on stdin/stdout, no READY line.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

#[test]
fn stdio_transport_serves_mcp_without_a_ready_line() {
    let host = MockHost::start();
    let mut cmd = command(&host.endpoint, &["--transport", "stdio"], Some(TOKEN));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a stdout line");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout is not MCP JSON: {line:?}: {e}"))
    };
    let mut send = |message: Value| {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    };

    let ready = host.wait_for_method("lifecycle.ready");
    assert_eq!(ready["params"]["port"], Value::Null);

    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "stdio-test", "version": "0"}}}),
    );
    let init = next();
    assert_eq!(
        init["id"], 1,
        "first stdout line is the initialize answer, not READY"
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-sidecar");
    assert_eq!(init["result"]["capabilities"]["tools"]["listChanged"], true);
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let listed = next();
    assert_eq!(listed["id"], 2);
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 4);

    send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 20, "b": 22}}}));
    let called = next();
    assert_eq!(called["id"], 3);
    assert_eq!(called["result"]["content"][0]["text"], "42");

    // tools.changed reaches the stdio client as a notification.
    host.send(&json!({"jsonrpc": "2.0", "method": "tools.changed"}));
    let note = next();
    assert_eq!(note["method"], "notifications/tools/list_changed");

    // The MCP client hanging up ends a stdio sidecar cleanly.
    drop(stdin);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    let _ = child.kill();
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}
