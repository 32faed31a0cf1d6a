//! Lifetime: shutdown, lost IPC, parent death, and a misbehaving host.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[test]
fn lifecycle_shutdown_is_answered_then_exits_0() {
    let (host, mut sidecar, _port) = start_http(&[]);
    host.send(
        &json!({"jsonrpc": "2.0", "id": "stop-1", "method": "lifecycle.shutdown", "params": {}}),
    );
    let answer = host
        .wait_for(Duration::from_secs(5), |m| m["id"] == "stop-1")
        .expect("shutdown answered");
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": "stop-1", "result": {}})
    );
    let status = sidecar.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn host_closing_ipc_exits_3_within_a_second() {
    let (host, mut sidecar, _port) = start_http(&[]);
    host.wait_for_method("lifecycle.ready");
    let closed = Instant::now();
    host.close();
    let status = sidecar.wait_exit(Duration::from_secs(5)).expect("exits");
    let took = closed.elapsed();
    assert_eq!(status.code(), Some(3));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(
        sidecar.stderr().contains("IPC connection lost"),
        "{}",
        sidecar.stderr()
    );
}

#[cfg(unix)]
#[test]
fn parent_death_exits_3_within_a_second() {
    let mut parent = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let pid = parent.id().to_string();
    let (_host, mut sidecar, _port) = start_http(&["--parent-pid", &pid]);
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        sidecar.child.try_wait().unwrap().is_none(),
        "alive while the parent lives"
    );
    let killed = Instant::now();
    parent.kill().unwrap();
    parent.wait().unwrap();
    let status = sidecar.wait_exit(Duration::from_secs(5)).expect("exits");
    let took = killed.elapsed();
    assert_eq!(status.code(), Some(3));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(
        sidecar.stderr().contains("parent process"),
        "{}",
        sidecar.stderr()
    );
}

#[test]
fn a_parent_that_is_already_gone_stops_startup() {
    let mut parent = std::process::Command::new(BIN)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = parent.id().to_string();
    parent.wait().unwrap();
    let host = MockHost::start();
    let mut sidecar = Sidecar::spawn(&host.endpoint, &["--parent-pid", &pid]);
    let status = sidecar.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn oversized_line_is_refused_and_the_sidecar_exits() {
    let (host, mut sidecar, _port) = start_http(&[]);
    host.wait_for_method("lifecycle.ready");
    // 16 MiB + 1 bytes of JSON string, then a newline: one byte over the cap.
    let cap = 16 * 1024 * 1024;
    let mut line = Vec::with_capacity(cap + 2);
    line.push(b'"');
    line.resize(cap, b'a');
    line.push(b'"');
    line.push(b'\n');
    assert_eq!(line.len(), cap + 2);
    // The sidecar stops reading mid-line, so this write may fail; that is fine.
    let _ = host.send_raw(&line);
    let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(3), "stderr: {}", sidecar.stderr());
    let refusal = host
        .wait_for(Duration::from_secs(2), |m| m.get("error").is_some())
        .expect("the sidecar said why");
    assert_eq!(refusal["id"], Value::Null);
    assert_eq!(refusal["error"]["code"], -32600);
    assert!(refusal["error"]["message"]
        .as_str()
        .unwrap()
        .contains("16777216"));
}

#[test]
fn a_line_of_exactly_the_cap_is_accepted() {
    let (host, mut sidecar, _port) = start_http(&[]);
    host.wait_for_method("lifecycle.ready");
    // A notification padded to exactly 16 MiB (newline excluded).
    let prefix = br#"{"jsonrpc":"2.0","method":"x.pad","params":{"pad":""#;
    let suffix = br#""}}"#;
    let cap = 16 * 1024 * 1024;
    let mut line = prefix.to_vec();
    line.resize(cap - suffix.len(), b'a');
    line.extend_from_slice(suffix);
    assert_eq!(line.len(), cap);
    line.push(b'\n');
    host.send_raw(&line).unwrap();
    host.send(&json!({"jsonrpc": "2.0", "id": 5, "method": "lifecycle.shutdown"}));
    let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(0), "stderr: {}", sidecar.stderr());
}

#[test]
fn invalid_json_from_host_gets_parse_error_and_exit() {
    let (host, mut sidecar, _port) = start_http(&[]);
    host.wait_for_method("lifecycle.ready");
    host.send_raw(b"{this is not json}\n").unwrap();
    let status = sidecar.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(3));
    let refusal = host
        .wait_for(Duration::from_secs(2), |m| m.get("error").is_some())
        .expect("parse error sent");
    assert_eq!(refusal["id"], Value::Null);
    assert_eq!(refusal["error"]["code"], -32700);
}

#[test]
fn unknown_host_method_gets_32601_and_the_connection_stays() {
    let (host, mut sidecar, port) = start_http(&[]);
    host.wait_for_method("lifecycle.ready");
    host.send(&json!({"jsonrpc": "2.0", "id": 41, "method": "no.such.method", "params": {}}));
    let answer = host
        .wait_for(Duration::from_secs(5), |m| m["id"] == 41)
        .expect("answered");
    assert_eq!(answer["error"]["code"], -32601);
    // Still serving.
    let session = McpSession::open(port);
    assert_eq!(
        session.call_tool(1, "add", json!({"a": 2, "b": 3}))["result"]["content"][0]["text"],
        "5"
    );
    host.send(&json!({"jsonrpc": "2.0", "id": 42, "method": "lifecycle.shutdown"}));
    assert_eq!(
        sidecar.wait_exit(Duration::from_secs(5)).unwrap().code(),
        Some(0)
    );
}
