//! Bounded sessions and connections: no local client can exhaust memory or descriptors.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// The sidecar's resident-memory goal (README), in KiB.
#[cfg(target_os = "linux")]
const RSS_GOAL_KIB: u64 = 15 * 1000 * 1000 / 1024;

/// What sessions may add to an idle sidecar: the goal minus the release build's idle RSS
/// (4.4 MiB, `cargo xtask bench sidecar`). Tests run the debug build, whose idle RSS is higher
/// but whose sessions cost about the same.
#[cfg(target_os = "linux")]
const SESSION_BUDGET_KIB: u64 = RSS_GOAL_KIB - 4500;

/// "Near idle": the runtime keeps some of its peak (task and timer slots).
#[cfg(target_os = "linux")]
const NEAR_IDLE_KIB: u64 = 3 * 1024;

#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS")
}

#[cfg(target_os = "linux")]
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// `initialize` only, never DELETE: an abandoned session. Returns the session id.
#[cfg(target_os = "linux")]
fn abandoned_session(port: u16) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "flood", "version": "0"}}});
    let response = http(port, "POST", &[ACCEPT, JSON], &init.to_string());
    assert_eq!(response.status, 200, "{}", response.text());
    response.header("mcp-session-id").unwrap().to_owned()
}

#[cfg(target_os = "linux")]
fn session_status(port: u16, id: &str) -> u16 {
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    http(
        port,
        "POST",
        &[
            ACCEPT,
            JSON,
            ("Mcp-Session-Id", id),
            ("MCP-Protocol-Version", PROTOCOL),
        ],
        &list.to_string(),
    )
    .status
}

#[cfg(target_os = "linux")]
#[test]
fn two_thousand_abandoned_sessions_stay_under_the_rss_goal_and_expire() {
    let (_host, sidecar, port) = start_http(&["--session-idle-timeout", "4s"]);
    let pid = sidecar.pid();
    // A first session and a call, so the idle baseline includes a warmed-up server.
    McpSession::open(port).call_tool(1, "echo", json!({}));
    thread::sleep(Duration::from_millis(300));
    let idle = rss_kib(pid);

    let first = abandoned_session(port);
    let mut peak = idle;
    let mut last = first.clone();
    for i in 1..2000 {
        last = abandoned_session(port);
        if i % 100 == 0 {
            peak = peak.max(rss_kib(pid));
        }
    }
    peak = peak.max(rss_kib(pid));
    eprintln!("RSS idle {idle} KiB, peak with 2,000 abandoned sessions {peak} KiB");
    assert!(
        peak - idle < SESSION_BUDGET_KIB,
        "sessions took {} KiB, over the {SESSION_BUDGET_KIB} KiB budget",
        peak - idle
    );
    // The oldest idle session was evicted; the newest lives; new sessions keep working.
    assert_eq!(session_status(port, &first), 404);
    assert_eq!(session_status(port, &last), 200);
    let fresh = McpSession::open(port);
    assert_eq!(
        fresh.call_tool(2, "add", json!({"a": 1, "b": 2}))["result"]["content"][0]["text"],
        "3"
    );

    // After the idle timeout every session is gone and memory is back near idle.
    // (Not polled per session: a request would keep its session alive.)
    thread::sleep(Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let now = rss_kib(pid);
        if now <= idle + NEAR_IDLE_KIB {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "RSS {now} KiB never came back near idle {idle} KiB"
        );
        thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(session_status(port, &last), 404);
    assert_eq!(session_status(port, &fresh.session_id), 404);
    eprintln!("RSS after the idle timeout {settled} KiB");
}

#[test]
fn every_session_busy_gives_503_with_a_json_rpc_error() {
    let (host, _sidecar, port) = start_http(&["--max-sessions", "2", "--tool-timeout-ms", "3000"]);
    let calls: Vec<_> = (0..2)
        .map(|_| {
            let session = McpSession::open(port);
            thread::spawn(move || session.call_tool(1, "slow", json!({})))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while host_calls(&host) < 2 {
        assert!(
            Instant::now() < deadline,
            "the slow calls never reached the host"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let init = json!({"jsonrpc": "2.0", "id": "i-1", "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "third", "version": "0"}}});
    let refused = http(port, "POST", &[ACCEPT, JSON], &init.to_string());
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    let body = &refused.messages()[0];
    assert_eq!(body["id"], "i-1");
    assert_eq!(body["error"]["code"], -32000);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("busy"),
        "{body}"
    );
    // Once a call ends (the tool timeout), its session is idle again and can be evicted.
    for call in calls {
        assert_eq!(call.join().unwrap()["result"]["isError"], true);
    }
    McpSession::open(port);
}

fn host_calls(host: &MockHost) -> usize {
    host.received()
        .iter()
        .filter(|m| m["method"] == "tool.call")
        .count()
}

/// True once the server has closed `stream` (EOF or reset), false if it is still open.
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 page before the close
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_and_silent_connections_are_closed_within_the_header_timeout() {
    let (_host, sidecar, port) = start_http(&["--header-timeout", "2s"]);
    #[cfg(target_os = "linux")]
    let fds_before = open_descriptors(sidecar.pid());
    let _ = &sidecar;
    let opened = Instant::now();
    let silent: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let mut trickling: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"POST /mcp HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    // One keep-alive connection that made a request and then idles.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        idle,
        "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    #[cfg(target_os = "linux")]
    {
        // The accept loop may trail the connects by a moment.
        let until = Instant::now() + Duration::from_millis(1500);
        let mut held = open_descriptors(sidecar.pid());
        while held < fds_before + 190 && Instant::now() < until {
            thread::sleep(Duration::from_millis(20));
            held = held.max(open_descriptors(sidecar.pid()));
        }
        eprintln!("sidecar descriptors: {fds_before} before, {held} with 201 slow connections");
        assert!(
            held >= fds_before + 190,
            "the connections were not accepted"
        );
    }
    // A real client is served meanwhile.
    let session = McpSession::open(port);
    assert_eq!(
        session.call_tool(1, "add", json!({"a": 2, "b": 3}))["result"]["content"][0]["text"],
        "5"
    );

    // Trickle one header line every 300 ms: each line resets nothing.
    let deadline = opened + Duration::from_secs(2) + Duration::from_secs(5);
    loop {
        for (i, s) in trickling.iter_mut().enumerate() {
            let _ = write!(s, "X-Slow-{i}: {}\r\n", opened.elapsed().as_millis());
        }
        let open_silent = silent.iter().filter(|s| !closed_by_server(s)).count();
        let open_trickling = trickling.iter().filter(|s| !closed_by_server(s)).count();
        let idle_open = !closed_by_server(&idle);
        if open_silent == 0 && open_trickling == 0 && !idle_open {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still open after {:?}: {open_silent} silent, {open_trickling} trickling, idle {idle_open}",
            opened.elapsed()
        );
        thread::sleep(Duration::from_millis(300));
    }
    eprintln!("all slow connections closed after {:?}", opened.elapsed());
    #[cfg(target_os = "linux")]
    {
        thread::sleep(Duration::from_millis(200));
        let after = open_descriptors(sidecar.pid());
        eprintln!("sidecar descriptors after the timeout: {after}");
        assert!(after <= fds_before + 5, "{after} descriptors still open");
    }
}

#[test]
fn connections_over_the_cap_are_closed_at_once() {
    let (_host, _sidecar, port) = start_http(&["--max-connections", "8", "--header-timeout", "2s"]);
    let held: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(("127.0.0.1", port)).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = [0u8; 16];
    let read = extra.read(&mut buf);
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "the ninth connection was kept: {read:?}"
    );
    // Once the held ones time out, clients are served again.
    thread::sleep(Duration::from_secs(3));
    let session = McpSession::open(port);
    assert!(session.request(1, "tools/list", json!({}))["result"]["tools"].is_array());
    drop(held);
}

#[test]
fn a_body_that_never_completes_gets_408() {
    let (_host, _sidecar, port) = start_http(&["--header-timeout", "1s"]);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"jsonrpc\""
    )
    .unwrap();
    let sent = Instant::now();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 408", "{}", String::from_utf8_lossy(&head));
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn responses_announce_the_keep_alive_timeout() {
    let (_host, _sidecar, port) = start_http(&["--header-timeout", "7s"]);
    let response = http(port, "GET", &[("Accept", "text/event-stream")], "");
    assert_eq!(response.header("keep-alive"), Some("timeout=7"));
}
