//! The reliability suite on every IPC transport of this OS (Unix socket and TCP on POSIX;
//! named pipe and TCP on Windows, and under wine via `cargo xtask test --only rust`):
//! start/stop cycles, host and parent death, 50 concurrent clients, bad peers.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Start/stop cycles per transport; `MCP_SIDECAR_TEST_CYCLES` lowers it where a spawn is slow.
fn cycles() -> usize {
    std::env::var("MCP_SIDECAR_TEST_CYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
}

/// Generous: the promise is one second, a loaded machine (or wine) may add some.
const EXIT_BOUND: Duration = Duration::from_secs(3);

fn shutdown(host: &MockHost, id: &str) {
    host.send(&json!({"jsonrpc": "2.0", "id": id, "method": "lifecycle.shutdown", "params": {}}));
}

#[test]
fn start_stop_cycles_exit_cleanly_on_every_transport() {
    for ipc in transports() {
        let began = Instant::now();
        for cycle in 0..cycles() {
            let host = MockHost::start_on(ipc, HostOptions::default());
            let mut sidecar = Sidecar::spawn(&host.endpoint, &[]);
            sidecar.ready_port();
            let id = format!("stop-{cycle}");
            shutdown(&host, &id);
            let status = sidecar
                .wait_exit(Duration::from_secs(10))
                .unwrap_or_else(|| panic!("{ipc:?} cycle {cycle}: no exit"));
            assert_eq!(
                status.code(),
                Some(0),
                "{ipc:?} cycle {cycle}: {}",
                sidecar.stderr()
            );
            // The host records messages on its own reader thread: give it a moment under load.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !host
                .received()
                .iter()
                .any(|m| m["method"] == "lifecycle.ready")
            {
                assert!(
                    Instant::now() < deadline,
                    "{ipc:?} cycle {cycle}: the host never got lifecycle.ready"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        eprintln!("{ipc:?}: {} cycles in {:?}", cycles(), began.elapsed());
    }
}

#[test]
fn host_closing_the_channel_exits_3_on_every_transport() {
    for ipc in transports() {
        let host = MockHost::start_on(ipc, HostOptions::default());
        let mut sidecar = Sidecar::spawn(&host.endpoint, &[]);
        sidecar.ready_port();
        let closed = Instant::now();
        host.close();
        let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(3), "{ipc:?}: {}", sidecar.stderr());
        assert!(
            closed.elapsed() < EXIT_BOUND,
            "{ipc:?}: {:?}",
            closed.elapsed()
        );
        assert!(
            sidecar.stderr().contains("IPC connection lost"),
            "{}",
            sidecar.stderr()
        );
    }
}

/// This test binary itself, sleeping: a parent process that exists on every OS (and in wine).
fn spawn_parent() -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["helper_parent_sleeps", "--exact", "--ignored", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    common::spawn(&mut cmd)
}

#[test]
#[ignore = "run as a child by parent_death_exits_3_on_every_transport"]
fn helper_parent_sleeps() {
    thread::sleep(Duration::from_secs(60));
}

#[test]
fn parent_death_exits_3_on_every_transport() {
    for ipc in transports() {
        let mut parent = spawn_parent();
        let pid = parent.id().to_string();
        let host = MockHost::start_on(ipc, HostOptions::default());
        let mut sidecar = Sidecar::spawn(&host.endpoint, &["--parent-pid", &pid]);
        sidecar.ready_port();
        thread::sleep(Duration::from_millis(400));
        assert!(
            sidecar.child.try_wait().unwrap().is_none(),
            "{ipc:?}: died early"
        );
        let killed = Instant::now();
        parent.kill().unwrap();
        parent.wait().unwrap();
        let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(3), "{ipc:?}: {}", sidecar.stderr());
        assert!(
            killed.elapsed() < EXIT_BOUND,
            "{ipc:?}: {:?}",
            killed.elapsed()
        );
    }
}

#[test]
fn fifty_concurrent_calls_on_every_transport() {
    for ipc in transports() {
        let host = MockHost::start_on(ipc, HostOptions::default());
        let sidecar = Sidecar::spawn(&host.endpoint, &[]);
        let port = sidecar.ready_port();
        let clients: Vec<_> = (0..5)
            .map(|client| {
                thread::spawn(move || {
                    let session = Arc::new(McpSession::open(port));
                    let calls: Vec<_> = (0..10)
                        .map(|call| {
                            let session = session.clone();
                            thread::spawn(move || {
                                let args = json!({"tag": format!("c{client}-{call}"),
                                                  "delay_ms": (10 - call) * 20});
                                let answer = session.call_tool(100 + call, "echo", args.clone());
                                assert_eq!(answer["result"]["structuredContent"], args);
                            })
                        })
                        .collect();
                    for call in calls {
                        call.join().unwrap();
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        let calls = host
            .received()
            .iter()
            .filter(|m| m["method"] == "tool.call")
            .count();
        assert_eq!(calls, 50, "{ipc:?}");
    }
}

#[test]
fn a_host_with_another_token_is_refused_with_exit_2_on_every_transport() {
    for ipc in transports() {
        let options = HostOptions {
            token: "not-the-sidecars-token".into(),
            ..HostOptions::default()
        };
        let host = MockHost::start_on(ipc, options);
        let mut sidecar = Sidecar::spawn(&host.endpoint, &[]);
        let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(2), "{ipc:?}: {}", sidecar.stderr());
    }
}

#[test]
fn a_host_sending_garbage_loses_the_sidecar_on_every_transport() {
    for ipc in transports() {
        let host = MockHost::start_on(ipc, HostOptions::default());
        let mut sidecar = Sidecar::spawn(&host.endpoint, &[]);
        sidecar.ready_port();
        host.send_raw(b"this is not json\n").unwrap();
        let parse_error = host
            .wait_for(Duration::from_secs(5), |m| m["error"]["code"] == -32700)
            .unwrap_or_else(|| panic!("{ipc:?}: no parse error answer"));
        assert_eq!(parse_error["id"], Value::Null);
        let status = sidecar.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(3), "{ipc:?}: {}", sidecar.stderr());
    }
}

#[test]
fn bad_http_peers_do_not_stop_real_clients_on_every_transport() {
    for ipc in transports() {
        let host = MockHost::start_on(ipc, HostOptions::default());
        let sidecar = Sidecar::spawn(&host.endpoint, &["--header-timeout", "2s"]);
        let port = sidecar.ready_port();
        let mut peers: Vec<TcpStream> = Vec::new();
        for junk in [
            &b"\x16\x03\x01\x02\x00garbage"[..],
            b"GET / HTTP/9.9\r\n\r\n",
            b"",
            b"POST /mcp",
        ] {
            let mut peer = TcpStream::connect(("127.0.0.1", port)).unwrap();
            peer.write_all(junk).unwrap();
            peers.push(peer);
        }
        let session = McpSession::open(port);
        let answer = session.call_tool(1, "add", json!({"a": 20, "b": 22}));
        assert_eq!(answer["result"]["content"][0]["text"], "42", "{ipc:?}");
        drop(peers);
        shutdown(&host, "bye");
        let mut sidecar = sidecar;
        assert_eq!(
            sidecar
                .wait_exit(Duration::from_secs(10))
                .and_then(|s| s.code()),
            Some(0)
        );
    }
}
