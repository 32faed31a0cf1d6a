//! Startup: authentication, the READY line, lifecycle.ready, CLI refusals.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn authenticates_announces_ready_and_lists_tools_over_http() {
    let (host, mut sidecar, port) = start_http(&[]);

    let hello = host.wait_for_method("auth.hello");
    assert_eq!(hello["id"], 0);
    assert_eq!(hello["params"]["token"], TOKEN);
    assert_eq!(hello["params"]["protocol"], 1);
    assert_eq!(hello["params"]["pid"], sidecar.pid());
    assert_eq!(hello["params"]["version"], env!("CARGO_PKG_VERSION"));

    let ready = host.wait_for_method("lifecycle.ready");
    assert!(
        ready.get("id").is_none(),
        "lifecycle.ready is a notification"
    );
    assert_eq!(ready["params"]["port"], port);
    assert_eq!(
        ready["params"]["url"],
        format!("http://127.0.0.1:{port}/mcp")
    );

    // The host saw hello, then tool.list, then ready — in that order.
    let methods: Vec<String> = host
        .received()
        .iter()
        .filter_map(|m| m["method"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(methods, ["auth.hello", "tool.list", "lifecycle.ready"]);

    let session = McpSession::open(port);
    let listed = session.request(1, "tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "add", "slow", "boom"]);
    assert_eq!(tools[1]["inputSchema"]["required"], json!(["a", "b"]));
    assert_eq!(tools[1]["description"], "Add a and b");

    let ping = session.request(2, "ping", json!({}));
    assert_eq!(ping["result"], json!({}));

    // stdout carries the READY line and nothing else.
    host.send(&json!({"jsonrpc": "2.0", "id": 99, "method": "lifecycle.shutdown", "params": {}}));
    let status = sidecar.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(0));
    assert_eq!(sidecar.remaining_stdout(), Vec::<String>::new());
}

#[test]
fn wrong_token_exits_2() {
    let host = MockHost::start();
    let mut sidecar = Sidecar::spawn_cmd(command(&host.endpoint, &[], Some("not-the-token")));
    let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(2), "stderr: {}", sidecar.stderr());
    assert!(
        sidecar.stderr().contains("refused authentication"),
        "{}",
        sidecar.stderr()
    );
    assert!(
        !sidecar.stderr().contains("not-the-token"),
        "token leaked to stderr"
    );
    assert_eq!(sidecar.remaining_stdout(), Vec::<String>::new());
}

#[test]
fn missing_token_exits_2_before_connecting() {
    let host = MockHost::start();
    let mut sidecar = Sidecar::spawn_cmd(command(&host.endpoint, &[], None));
    let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(2));
    assert!(
        sidecar.stderr().contains("MCP_SIDECAR_TOKEN"),
        "{}",
        sidecar.stderr()
    );
    assert!(host.received().is_empty());
}

#[test]
fn empty_token_counts_as_missing() {
    let host = MockHost::start();
    let mut sidecar = Sidecar::spawn_cmd(command(&host.endpoint, &[], Some("")));
    assert_eq!(
        sidecar.wait_exit(Duration::from_secs(10)).unwrap().code(),
        Some(2)
    );
}

#[test]
fn non_loopback_http_host_is_refused() {
    let host = MockHost::start();
    for bind in ["0.0.0.0", "::", "192.0.2.1"] {
        let mut sidecar = Sidecar::spawn(&host.endpoint, &["--host", bind]);
        let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(1), "{bind}");
        assert!(
            sidecar.stderr().contains("--allow-non-loopback"),
            "{}",
            sidecar.stderr()
        );
    }
    assert!(host.received().is_empty(), "refused before connecting");
}

#[test]
fn non_loopback_bind_works_when_allowed() {
    let (_host, _sidecar, port) = start_http(&["--host", "0.0.0.0", "--allow-non-loopback"]);
    let session = McpSession::open(port);
    assert!(session.request(1, "tools/list", json!({}))["result"]["tools"].is_array());
}

#[test]
fn non_loopback_ipc_is_refused() {
    let mut sidecar = Sidecar::spawn_cmd(command("tcp:10.0.0.1:4000", &[], Some(TOKEN)));
    let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        sidecar.stderr().contains("not a loopback address"),
        "{}",
        sidecar.stderr()
    );
}

#[test]
fn bad_cli_values_exit_1_and_help_exits_0() {
    let bad = command(
        "tcp:127.0.0.1:9",
        &["--tool-timeout-ms", "soon"],
        Some(TOKEN),
    )
    .output()
    .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    // The token is never accepted on the command line.
    let argv_token = command("tcp:127.0.0.1:9", &["--token", "x"], Some(TOKEN))
        .output()
        .unwrap();
    assert_eq!(argv_token.status.code(), Some(1));

    let help = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--ipc",
        "--parent-pid",
        "--transport",
        "--host",
        "--port",
        "--tool-timeout-ms",
        "--allowed-origin",
        "--require-auth",
        "--allow-non-loopback",
        "--log-level",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let version = std::process::Command::new(BIN)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("mcp-sidecar {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn busy_http_port_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let host = MockHost::start();
    let mut sidecar = Sidecar::spawn(&host.endpoint, &["--port", &port]);
    let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        sidecar.stderr().contains("cannot bind HTTP"),
        "{}",
        sidecar.stderr()
    );
    assert!(host
        .wait_for(Duration::from_secs(1), |m| m["method"] == "lifecycle.ready")
        .is_none());
}

#[test]
fn unreachable_ipc_exits_3() {
    // Bind then drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sidecar = Sidecar::spawn(&format!("tcp:127.0.0.1:{port}"), &[]);
    assert_eq!(
        sidecar.wait_exit(Duration::from_secs(10)).unwrap().code(),
        Some(3)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn token_is_not_on_the_command_line() {
    let (_host, sidecar, _port) = start_http(&[]);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", sidecar.pid())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(
        cmdline.contains("--ipc"),
        "read the right process: {cmdline}"
    );
    assert!(
        !cmdline.contains(TOKEN),
        "token leaked into argv: {cmdline}"
    );
}

#[cfg(unix)]
#[test]
fn connects_over_a_unix_socket() {
    let host = MockHost::start_unix();
    assert!(host.endpoint.starts_with("unix:/"));
    let sidecar = Sidecar::spawn(&host.endpoint, &[]);
    let port = sidecar.ready_port();
    host.wait_for_method("lifecycle.ready");
    let session = McpSession::open(port);
    let echoed = session.call_tool(1, "echo", json!({"via": "unix"}));
    assert_eq!(
        echoed["result"]["structuredContent"],
        json!({"via": "unix"})
    );
}
